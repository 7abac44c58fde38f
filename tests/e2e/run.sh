#!/usr/bin/env bash
# End-to-end tests of the billing page: a private stack (MariaDB, lighttpd +
# tally-fcgi, SMTP sink; the scheduler is run by the tests) in a temporary
# folder, as tests/integration/run.sh starts it, and node's test runner
# driving Debian's Chromium through playwright-core.  Screenshots land in
# tests/e2e/output/.
# usage: tests/e2e/run.sh [test files...]
#        tests/e2e/run.sh --serve     start the stack, print a link with a
#                                     token, wait for Ctrl-C (to try the page)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/e2e
cd "$ROOT"

CHROMIUM=${TALLY_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
	echo "e2e: $CHROMIUM is missing: apt-get install chromium" >&2
	exit 1
fi
[ -x bin/tally-fcgi ] || { echo "e2e: build first: make" >&2; exit 1; }
if [ ! -d "$HERE/node_modules/playwright-core" ] || [ ! -d "$HERE/node_modules/qrcode-generator" ]; then
	(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi
[ -f www/vendor/qrcode.js ] || "$HERE/vendor.sh"

free_port() {
	local p
	for p in $(seq "$1" $(($1 + 200))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	return 1
}

TALLY_VAR=$(mktemp -d /tmp/tally-e2e.XXXXXX)
export TALLY_VAR
export TALLY_CONFIG=$TALLY_VAR/tally.conf
export TALLY_NO_SCHEDULER=1
PORT=$(free_port 18380)
SMTP_PORT=$(free_port 12725)

TALLY_SERVICE_KEY=$(openssl rand -hex 24)
TALLY_ADMIN_KEY=$(openssl rand -hex 24)
TALLY_JWT_SECRET=$(openssl rand -hex 32)
export TALLY_SERVICE_KEY TALLY_ADMIN_KEY TALLY_JWT_SECRET
sed -e "s/^jwt_secret =.*/jwt_secret = $TALLY_JWT_SECRET/" \
    -e "s/^service_key =.*/service_key = $TALLY_SERVICE_KEY/" \
    -e "s/^admin_key =.*/admin_key = $TALLY_ADMIN_KEY/" \
    -e "s/^encryption_key =.*/encryption_key = $(openssl rand -hex 32)/" \
    -e "s/^listen =.*/listen = 127.0.0.1:$PORT/" \
    -e "s|^public_url =.*|public_url = http://127.0.0.1:$PORT|" \
    -e "s|^url = smtp://.*|url = smtp://127.0.0.1:$SMTP_PORT|" \
    config.sample >"$TALLY_CONFIG"

# ini_set SECTION KEY VALUE: set a key inside one section of the config.
ini_set() {
	awk -v sec="[$1]" -v key="$2" -v val="$3" '
		/^[ \t]*\[/ { insec = ($0 == sec) }
		insec && $1 == key && $2 == "=" { print key " = " val; next }
		{ print }' "$TALLY_CONFIG" >"$TALLY_CONFIG.new" && mv "$TALLY_CONFIG.new" "$TALLY_CONFIG"
}

# The Stripe and BTCPay stand-ins (tests/standins/), when the tree has them:
# tally's [stripe] and [lightning] point at them, and they sign their
# webhooks with the secrets tally checks.
STANDINS=
if [ -f tests/standins/stripe.mjs ] && [ -f tests/standins/btcpay.mjs ]; then
	STANDINS=1
	STRIPE_PORT=$(free_port 14442)
	BTCPAY_PORT=$(free_port 14543)
	export STRIPE_STANDIN_URL=http://127.0.0.1:$STRIPE_PORT
	export BTCPAY_STANDIN_URL=http://127.0.0.1:$BTCPAY_PORT
	STRIPE_SECRET_KEY=sk_test_$(openssl rand -hex 12)
	STRIPE_WEBHOOK_SECRET=whsec_$(openssl rand -hex 16)
	BTCPAY_API_KEY=$(openssl rand -hex 20)
	BTCPAY_STORE_ID=store$(openssl rand -hex 6)
	BTCPAY_WEBHOOK_SECRET=$(openssl rand -hex 16)
	ini_set stripe api_base "$STRIPE_STANDIN_URL"
	ini_set stripe secret_key "$STRIPE_SECRET_KEY"
	ini_set stripe webhook_secret "$STRIPE_WEBHOOK_SECRET"
	ini_set lightning api_base "$BTCPAY_STANDIN_URL"
	ini_set lightning api_key "$BTCPAY_API_KEY"
	ini_set lightning store_id "$BTCPAY_STORE_ID"
	ini_set lightning webhook_secret "$BTCPAY_WEBHOOK_SECRET"
fi

standin_pids=
start_standin() { # NAME ARGS...: start, wait for its "listening" line
	local name=$1 _
	shift
	node "tests/standins/$name.mjs" "$@" >"$TALLY_VAR/$name-standin.log" 2>&1 &
	standin_pids="$standin_pids $!"
	for _ in $(seq 1 100); do
		grep -q "listening" "$TALLY_VAR/$name-standin.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "e2e: the $name stand-in did not start:" >&2
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

export TALLY_URL=http://127.0.0.1:$PORT
deploy/tally-dev start

if [ -n "$STANDINS" ]; then
	if [ ! -d tests/standins/node_modules ]; then
		npm ci --prefix tests/standins --no-audit --no-fund --loglevel=error
	fi
	start_standin stripe --port "$STRIPE_PORT" --api-key "$STRIPE_SECRET_KEY" \
	    --webhook-url "$TALLY_URL/api/v1/webhooks/stripe" \
	    --webhook-secret "$STRIPE_WEBHOOK_SECRET"
	start_standin btcpay --port "$BTCPAY_PORT" --api-key "$BTCPAY_API_KEY" \
	    --store-id "$BTCPAY_STORE_ID" \
	    --webhook-url "$TALLY_URL/api/v1/webhooks/lightning" \
	    --webhook-secret "$BTCPAY_WEBHOOK_SECRET"
fi

export TALLY_ROOT=$ROOT
export TALLY_DB_SOCKET=$TALLY_VAR/mariadb.sock
export TALLY_E2E_OUTPUT=${TALLY_E2E_OUTPUT:-$HERE/output}
export TALLY_CHROMIUM=$CHROMIUM
mkdir -p "$TALLY_E2E_OUTPUT"

if [ "${1:-}" = --serve ]; then
	tok=$(bin/tally-admin mint-token --sub dev-user --email dev@example.com --ttl 86400)
	curl -fsS -H "X-Admin-Key: $TALLY_ADMIN_KEY" -H 'Content-Type: application/json' \
	    "$TALLY_URL/api/v1/admin/credits/adjust" \
	    -d '{"user_id":"dev-user","amount":1000,"reason":"e2e --serve","actor":"e2e"}' >/dev/null
	echo "open: $TALLY_URL/#token=$tok"
	echo "admin key: $TALLY_ADMIN_KEY   jwt secret: $TALLY_JWT_SECRET   var: $TALLY_VAR"
	echo "stand-ins: stripe ${STRIPE_STANDIN_URL:-none}   btcpay ${BTCPAY_STANDIN_URL:-none}"
	echo "Ctrl-C stops it"
	while :; do sleep 1; done
fi

if [ $# -eq 0 ]; then
	set -- tests/e2e/*.test.mjs
fi
node --test --test-concurrency=1 "$@"
