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

# shellcheck source=tests/stack.sh
source tests/stack.sh
stack_init e2e 18380
# The sample's quota on Cloud Sync, for the usage card.
sed -i 's/^;quota.requests = 10000$/quota.requests = 10000/' "$TALLY_CONFIG"
grep -q '^quota.requests = 10000$' "$TALLY_CONFIG" || { echo "e2e: no quota line to enable in the config" >&2; exit 1; }
stack_start

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
