# A private tally stack for the test harnesses (tests/integration/run.sh,
# tests/e2e/run.sh); source it, do not run it.
#
#   stack_init NAME BASE   a temp TALLY_VAR, free loopback ports from BASE,
#                          a config from config.sample with fresh secrets,
#                          [stripe] and [lightning] pointed at the stand-ins;
#                          the EXIT trap stops everything and removes it
#   stack_ini_set S K V    change a config key before stack_start
#   stack_start            MariaDB, SMTP sink, lighttpd + tally-fcgi (no
#                          scheduler: tests run it), the Stripe, BTCPay and
#                          Nostr relay + NWC wallet stand-ins
#                          (tests/standins/)
#
# A test may start second stacks with another config (startStack in
# tests/integration/lib.mjs) under $TALLY_VAR/stacks/; the trap stops them
# too.
#
# An external database server instead of the private MariaDB (make
# test-galera runs the integration suite against a Galera node this way):
#
#   TALLY_TEST_DB_SOCKET=PATH          its Unix socket, or
#   TALLY_TEST_DB_HOST=HOST [TALLY_TEST_DB_PORT=PORT, default 3306]
#
# user root without a password (as config.sample).  stack_start then starts
# no mariadbd: the stack's config points at that server with a database of
# its own, tally_NAME_<random> (created by the normal migrate step), which
# the EXIT trap drops (TALLY_TEST_DB_KEEP=1: keeps it, for a look at the
# data afterwards).  Tests that stop or restart the database skip
# themselves (TALLY_DB_EXTERNAL=1).
#
# Exported afterwards: TALLY_VAR, TALLY_CONFIG, TALLY_URL, TALLY_ROOT,
# TALLY_DB_SOCKET (or TALLY_DB_HOST and TALLY_DB_PORT for an external
# server over TCP), TALLY_DB_NAME, TALLY_DB_EXTERNAL (1 or 0), TALLY_MAILDIR, TALLY_SERVICE_KEY, TALLY_ADMIN_KEY,
# TALLY_JWT_SECRET, STRIPE_STANDIN_URL, STRIPE_SECRET_KEY,
# STRIPE_WEBHOOK_SECRET, BTCPAY_STANDIN_URL, BTCPAY_API_KEY, BTCPAY_STORE_ID,
# BTCPAY_WEBHOOK_SECRET, NWC_STANDIN_URL.
# shellcheck shell=bash

STACK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

stack_free_port() { # FIRST: the first port from FIRST that nothing listens on
	local p
	for p in $(seq "$1" $(($1 + 200))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	return 1
}

stack_ini_set() { # SECTION KEY VALUE
	awk -v sec="[$1]" -v key="$2" -v val="$3" '
		/^[ \t]*\[/ { insec = ($0 == sec) }
		insec && $1 == key && $2 == "=" { print key " = " val; next }
		{ print }' "$TALLY_CONFIG" >"$TALLY_CONFIG.new" &&
	    mv "$TALLY_CONFIG.new" "$TALLY_CONFIG"
}

stack_init() { # NAME BASE
	local name=$1 base=$2
	# Stacks started at the same moment (several checkouts on one machine)
	# would find the same free ports and race for them: start from a
	# random offset.
	base=$((base + RANDOM % 300 * 3))
	TALLY_VAR=$(mktemp -d "/tmp/tally-$name.XXXXXX")
	export TALLY_VAR TALLY_CONFIG=$TALLY_VAR/tally.conf TALLY_NO_SCHEDULER=1
	STACK_PORT=$(stack_free_port "$base")
	STACK_SMTP_PORT=$(stack_free_port $((base - 5555)))
	STACK_STRIPE_PORT=$(stack_free_port $((base - 3838)))
	STACK_BTCPAY_PORT=$(stack_free_port $((base - 3737)))
	STACK_NWC_PORT=$(stack_free_port $((base - 3636)))
	TALLY_SERVICE_KEY=$(openssl rand -hex 24)
	TALLY_ADMIN_KEY=$(openssl rand -hex 24)
	TALLY_JWT_SECRET=$(openssl rand -hex 32)
	export TALLY_SERVICE_KEY TALLY_ADMIN_KEY TALLY_JWT_SECRET
	sed -e "s/^jwt_secret =.*/jwt_secret = $TALLY_JWT_SECRET/" \
	    -e "s/^service_key =.*/service_key = $TALLY_SERVICE_KEY/" \
	    -e "s/^admin_key =.*/admin_key = $TALLY_ADMIN_KEY/" \
	    -e "s/^encryption_key =.*/encryption_key = $(openssl rand -hex 32)/" \
	    -e "s/^listen =.*/listen = 127.0.0.1:$STACK_PORT/" \
	    -e "s|^public_url =.*|public_url = http://127.0.0.1:$STACK_PORT|" \
	    -e "s|^url = smtp://.*|url = smtp://127.0.0.1:$STACK_SMTP_PORT|" \
	    "$STACK_ROOT/config.sample" >"$TALLY_CONFIG"

	# The providers that cannot run here get stand-ins that speak their
	# documented wire formats; tally is pointed at them.
	export STRIPE_STANDIN_URL=http://127.0.0.1:$STACK_STRIPE_PORT
	export BTCPAY_STANDIN_URL=http://127.0.0.1:$STACK_BTCPAY_PORT
	# The Nostr relay and NWC wallets: its control API and its relay URL.
	export NWC_STANDIN_URL=http://127.0.0.1:$STACK_NWC_PORT
	export STRIPE_SECRET_KEY=sk_test_$(openssl rand -hex 12)
	export STRIPE_WEBHOOK_SECRET=whsec_$(openssl rand -hex 16)
	export BTCPAY_API_KEY=$(openssl rand -hex 20)
	export BTCPAY_STORE_ID=store$(openssl rand -hex 6)
	export BTCPAY_WEBHOOK_SECRET=$(openssl rand -hex 16)
	stack_ini_set stripe api_base "$STRIPE_STANDIN_URL"
	stack_ini_set stripe secret_key "$STRIPE_SECRET_KEY"
	stack_ini_set stripe webhook_secret "$STRIPE_WEBHOOK_SECRET"
	stack_ini_set lightning api_base "$BTCPAY_STANDIN_URL"
	stack_ini_set lightning api_key "$BTCPAY_API_KEY"
	stack_ini_set lightning store_id "$BTCPAY_STORE_ID"
	stack_ini_set lightning webhook_secret "$BTCPAY_WEBHOOK_SECRET"
	# A wallet that does not answer should not hold a test up for 30 s.
	stack_ini_set nwc timeout_seconds 3

	export TALLY_URL=http://127.0.0.1:$STACK_PORT
	export TALLY_ROOT=$STACK_ROOT
	export TALLY_DB_NAME=tally TALLY_DB_EXTERNAL=0
	export TALLY_DB_SOCKET=$TALLY_VAR/mariadb.sock
	if [ -n "${TALLY_TEST_DB_SOCKET:-}" ] || [ -n "${TALLY_TEST_DB_HOST:-}" ]; then
		TALLY_DB_EXTERNAL=1
		TALLY_DB_NAME=tally_${name//[^A-Za-z0-9]/_}_$(openssl rand -hex 4)
		stack_ini_set database name "$TALLY_DB_NAME"
		if [ -n "${TALLY_TEST_DB_SOCKET:-}" ]; then
			TALLY_DB_SOCKET=$TALLY_TEST_DB_SOCKET
			stack_ini_set database socket "$TALLY_DB_SOCKET"
		else
			unset TALLY_DB_SOCKET
			export TALLY_DB_HOST=$TALLY_TEST_DB_HOST
			export TALLY_DB_PORT=${TALLY_TEST_DB_PORT:-3306}
			stack_ini_set database host "$TALLY_DB_HOST"
			stack_ini_set database port "$TALLY_DB_PORT"
		fi
	fi
	export TALLY_MAILDIR=$TALLY_VAR/mail
	STACK_PIDS=
	trap stack_cleanup EXIT INT TERM
}

stack_standin() { # NAME ARGS...: start, wait for its "listening" line
	local name=$1 _
	shift
	node "$STACK_ROOT/tests/standins/$name.mjs" "$@" \
	    >"$TALLY_VAR/$name-standin.log" 2>&1 &
	STACK_PIDS="$STACK_PIDS $!"
	for _ in $(seq 1 100); do
		grep -q "listening" "$TALLY_VAR/$name-standin.log" 2>/dev/null &&
		    return 0
		sleep 0.1
	done
	echo "the $name stand-in did not start:" >&2
	cat "$TALLY_VAR/$name-standin.log" >&2
	return 1
}

stack_start() {
	if [ "$TALLY_DB_EXTERNAL" = 1 ]; then
		# shellcheck disable=SC2046
		mariadb-admin --no-defaults $(stack_db_args) -uroot ping >/dev/null || {
			echo "the external database ($(stack_db_args | tr '\n' ' ')) does not answer" >&2
			return 1
		}
		echo "database: external, $(stack_db_args | tr '\n' ' ')database $TALLY_DB_NAME" >&2
	fi
	"$STACK_ROOT/deploy/tally-dev" start
	# Missing, or older than the lock file (a pull added a package).
	if [ ! -f "$STACK_ROOT/tests/standins/node_modules/.package-lock.json" ] ||
	    [ "$STACK_ROOT/tests/standins/package-lock.json" -nt \
	    "$STACK_ROOT/tests/standins/node_modules/.package-lock.json" ]; then
		npm ci --prefix "$STACK_ROOT/tests/standins" --no-audit --no-fund \
		    --loglevel=error
	fi
	stack_standin stripe --port "$STACK_STRIPE_PORT" \
	    --api-key "$STRIPE_SECRET_KEY" \
	    --webhook-url "$TALLY_URL/api/v1/webhooks/stripe" \
	    --webhook-secret "$STRIPE_WEBHOOK_SECRET"
	stack_standin btcpay --port "$STACK_BTCPAY_PORT" \
	    --api-key "$BTCPAY_API_KEY" --store-id "$BTCPAY_STORE_ID" \
	    --webhook-url "$TALLY_URL/api/v1/webhooks/lightning" \
	    --webhook-secret "$BTCPAY_WEBHOOK_SECRET"
	stack_standin nwc --port "$STACK_NWC_PORT" \
	    --btcpay-url "$BTCPAY_STANDIN_URL"
}

# The mariadb client's connection options for the stack's server.
stack_db_args() {
	if [ -n "${TALLY_DB_SOCKET:-}" ]; then
		printf '%s\n' -S "$TALLY_DB_SOCKET"
	else
		printf '%s\n' -h "$TALLY_DB_HOST" -P "$TALLY_DB_PORT" --protocol=TCP
	fi
}

stack_cleanup() {
	local rc=$?
	# shellcheck disable=SC2086
	[ -n "$STACK_PIDS" ] && kill $STACK_PIDS 2>/dev/null
	# Second stacks a test started (startStack in tests/integration/lib.mjs)
	# and did not stop, because it failed or node died: each has its own
	# TALLY_VAR below ours and shares our MariaDB, so they go first.
	local d
	for d in "$TALLY_VAR"/stacks/*/; do
		[ -f "$d/lighttpd.started" ] || continue
		TALLY_VAR=$d TALLY_CONFIG=$d/tally.conf \
		    "$STACK_ROOT/deploy/tally-dev" stop || true
	done
	"$STACK_ROOT/deploy/tally-dev" stop || true
	# An external server keeps running; only our database goes.
	if [ "${TALLY_DB_EXTERNAL:-0}" = 1 ] && [ -z "${TALLY_TEST_DB_KEEP:-}" ]; then
		# shellcheck disable=SC2046
		mariadb --no-defaults $(stack_db_args) -uroot \
		    -e "DROP DATABASE IF EXISTS \`$TALLY_DB_NAME\`" ||
		    echo "could not drop the database $TALLY_DB_NAME" >&2
	fi
	if [ $rc -ne 0 ] && [ -d "$TALLY_VAR" ]; then
		echo "--- last lines of the responder log ($TALLY_VAR/fcgi.log)"
		tail -n 30 "$TALLY_VAR/fcgi.log" 2>/dev/null || true
	fi
	rm -rf "$TALLY_VAR"
	exit $rc
}
