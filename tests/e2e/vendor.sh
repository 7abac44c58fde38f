#!/usr/bin/env bash
# Copy the billing page's one third-party library into www/vendor/: the ES
# module build of qrcode-generator (MIT, no dependencies), pinned in
# tests/e2e/package.json and package-lock.json.  Run by make before the page
# is served or installed; node_modules/ and the copy are not committed.
# usage: tests/e2e/vendor.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SRC=$HERE/node_modules/qrcode-generator
DEST=$ROOT/www/vendor/qrcode.js

if [ ! -f "$SRC/dist/qrcode.mjs" ]; then
	command -v npm >/dev/null || { echo "vendor.sh: npm is needed (apt-get install npm)" >&2; exit 1; }
	(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi
version=$(node -p "require('$SRC/package.json').version")
# .js, not .mjs: the web server maps .js to text/javascript, which module
# scripts need (with X-Content-Type-Options: nosniff).
tmp=$(mktemp "$DEST.XXXXXX")
{
	printf '// qrcode-generator %s (MIT), copied from node_modules by tests/e2e/vendor.sh.\n' "$version"
	cat "$SRC/dist/qrcode.mjs"
} >"$tmp"
chmod 644 "$tmp"
mv "$tmp" "$DEST"
echo "vendor.sh: www/vendor/qrcode.js is qrcode-generator $version"
