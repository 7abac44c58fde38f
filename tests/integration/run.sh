#!/usr/bin/env bash
# Integration tests: a private stack (MariaDB, lighttpd + tally-fcgi, SMTP
# sink) in a temporary folder, and node's test runner against it.
# usage: tests/integration/run.sh [test files...]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

free_port() {
	local p
	for p in $(seq "$1" $(($1 + 200))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	return 1
}

export TALLY_VAR=$(mktemp -d /tmp/tally-it.XXXXXX)
export TALLY_CONFIG=$TALLY_VAR/tally.conf
export TALLY_NO_SCHEDULER=1
PORT=$(free_port 18080)
SMTP_PORT=$(free_port 12525)

export TALLY_SERVICE_KEY=$(openssl rand -hex 24)
export TALLY_ADMIN_KEY=$(openssl rand -hex 24)
export TALLY_JWT_SECRET=$(openssl rand -hex 32)
sed -e "s/^jwt_secret =.*/jwt_secret = $TALLY_JWT_SECRET/" \
    -e "s/^service_key =.*/service_key = $TALLY_SERVICE_KEY/" \
    -e "s/^admin_key =.*/admin_key = $TALLY_ADMIN_KEY/" \
    -e "s/^encryption_key =.*/encryption_key = $(openssl rand -hex 32)/" \
    -e "s/^listen =.*/listen = 127.0.0.1:$PORT/" \
    -e "s|^public_url =.*|public_url = http://127.0.0.1:$PORT|" \
    -e "s|^url = smtp://.*|url = smtp://127.0.0.1:$SMTP_PORT|" \
    -e "s/^signup_credits =.*/signup_credits = 25/" \
    -e "s|^cors_origins =.*|cors_origins = http://app.example.com|" \
    config.sample >"$TALLY_CONFIG"
# A second paid plan, for plan changes.
printf '\n[plan.relay_pro]\nname = Pro relay\nmonthly = 1200\n' >>"$TALLY_CONFIG"

# ini_set SECTION KEY VALUE: set a key inside one section of the config.
ini_set() {
	awk -v sec="[$1]" -v key="$2" -v val="$3" '
		/^[ \t]*\[/ { insec = ($0 == sec) }
		insec && $1 == key && $2 == "=" { print key " = " val; next }
		{ print }' "$TALLY_CONFIG" >"$TALLY_CONFIG.new" && mv "$TALLY_CONFIG.new" "$TALLY_CONFIG"
}

# Local stand-ins for the providers that cannot run here, speaking their
# documented wire formats (tests/standins/).
STRIPE_PORT=$(free_port 14242)
BTCPAY_PORT=$(free_port 14343)
export STRIPE_STANDIN_URL=http://127.0.0.1:$STRIPE_PORT
export BTCPAY_STANDIN_URL=http://127.0.0.1:$BTCPAY_PORT
export STRIPE_SECRET_KEY=sk_test_$(openssl rand -hex 12)
export STRIPE_WEBHOOK_SECRET=whsec_$(openssl rand -hex 16)
export BTCPAY_API_KEY=$(openssl rand -hex 20)
export BTCPAY_STORE_ID=store$(openssl rand -hex 6)
export BTCPAY_WEBHOOK_SECRET=$(openssl rand -hex 16)
ini_set stripe api_base "$STRIPE_STANDIN_URL"
ini_set stripe secret_key "$STRIPE_SECRET_KEY"
ini_set stripe webhook_secret "$STRIPE_WEBHOOK_SECRET"
ini_set lightning api_base "$BTCPAY_STANDIN_URL"
ini_set lightning api_key "$BTCPAY_API_KEY"
ini_set lightning store_id "$BTCPAY_STORE_ID"
ini_set lightning webhook_secret "$BTCPAY_WEBHOOK_SECRET"

standin_pids=
start_standin() { # NAME ARGS...: start, wait for its "listening" line
	local name=$1 i
	shift
	node "tests/standins/$name.mjs" "$@" >"$TALLY_VAR/$name-standin.log" 2>&1 &
	standin_pids="$standin_pids $!"
	for i in $(seq 1 100); do
		grep -q "listening" "$TALLY_VAR/$name-standin.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "the $name stand-in did not start:" >&2
	cat "$TALLY_VAR/$name-standin.log" >&2
	return 1
}

cleanup() {
	local rc=$?
	# shellcheck disable=SC2086
	[ -n "$standin_pids" ] && kill $standin_pids 2>/dev/null
	deploy/tally-dev stop || true
	if [ $rc -ne 0 ] && [ -d "$TALLY_VAR" ]; then
		echo "--- last lines of the responder log ($TALLY_VAR/fcgi.log)"
		tail -n 30 "$TALLY_VAR/fcgi.log" 2>/dev/null || true
	fi
	rm -rf "$TALLY_VAR"
	exit $rc
}
trap cleanup EXIT INT TERM

deploy/tally-dev start

if [ ! -d tests/standins/node_modules ]; then
	npm ci --prefix tests/standins --no-audit --no-fund --loglevel=error
fi
start_standin stripe --port "$STRIPE_PORT" --api-key "$STRIPE_SECRET_KEY" \
    --webhook-url "http://127.0.0.1:$PORT/api/v1/webhooks/stripe" \
    --webhook-secret "$STRIPE_WEBHOOK_SECRET"
start_standin btcpay --port "$BTCPAY_PORT" --api-key "$BTCPAY_API_KEY" \
    --store-id "$BTCPAY_STORE_ID" \
    --webhook-url "http://127.0.0.1:$PORT/api/v1/webhooks/lightning" \
    --webhook-secret "$BTCPAY_WEBHOOK_SECRET"

export TALLY_URL=http://127.0.0.1:$PORT
export TALLY_ROOT=$ROOT
export TALLY_DB_SOCKET=$TALLY_VAR/mariadb.sock
export TALLY_MAILDIR=$TALLY_VAR/mail

if [ $# -eq 0 ]; then
	set -- tests/integration/*.test.mjs
fi
node --test --test-concurrency=1 "$@"
