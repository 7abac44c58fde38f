#!/bin/sh
# The documentation against the code, without a stack (part of `make lint`):
# the manual pages lint clean, every configuration key is documented
# (config-keys.mjs), and docs/openapi.json matches the router (openapi.mjs).
set -u
cd "$(dirname "$0")/../.."
fail=0
if command -v mandoc >/dev/null 2>&1; then
	# -Wwarning: warnings and errors; style hints (-Wstyle) are not failures.
	mandoc -Tlint -Wwarning man/*.[1-9] || fail=1
elif command -v groff >/dev/null 2>&1; then
	out=$(groff -mandoc -z -ww man/*.[1-9] 2>&1)
	[ -z "$out" ] || { echo "$out"; fail=1; }
else
	echo "docs: man pages not linted (no mandoc or groff: deploy/install-deps.sh test installs mandoc)"
fi
[ $fail -eq 0 ] && echo "docs: man pages lint clean"
node tests/docs/config-keys.mjs || fail=1
node tests/docs/openapi.mjs || fail=1
exit $fail
