#!/usr/bin/env bash
# Integration tests: a private stack (MariaDB, lighttpd + tally-fcgi, SMTP
# sink, Stripe and BTCPay stand-ins; tests/stack.sh) in a temporary folder,
# and node's test runner against it.
# usage: tests/integration/run.sh [test files...]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
# shellcheck source=tests/stack.sh
source tests/stack.sh

# TALLY_WEB=apache: the same tests with Apache in front (deploy/apache.conf)
# instead of lighttpd, on ports of their own.
if [ "${TALLY_WEB:-lighttpd}" = apache ]; then
	stack_init it-apache 18480
else
	stack_init it 18080
fi
stack_ini_set billing signup_credits 25
stack_ini_set http cors_origins http://app.example.com
# A second paid plan, for plan changes.
printf '\n[plan.relay_pro]\nname = Pro relay\nmonthly = 1200\n' >>"$TALLY_CONFIG"
stack_start

if [ $# -eq 0 ]; then
	set -- tests/integration/*.test.mjs
fi
node --test --test-concurrency=1 "$@"
