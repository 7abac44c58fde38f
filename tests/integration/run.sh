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

cleanup() {
	local rc=$?
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

export TALLY_URL=http://127.0.0.1:$PORT
export TALLY_ROOT=$ROOT
export TALLY_DB_SOCKET=$TALLY_VAR/mariadb.sock
export TALLY_MAILDIR=$TALLY_VAR/mail

if [ $# -eq 0 ]; then
	set -- tests/integration/*.test.mjs
fi
node --test --test-concurrency=1 "$@"
