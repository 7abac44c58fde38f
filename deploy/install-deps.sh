#!/bin/sh
# Install the Debian packages a target needs, when any is missing.
# usage: deploy/install-deps.sh build|test|run|bench|galera
set -eu
build="pkg-config gcc make libfcgi-dev libmariadb-dev libjansson-dev \
libcurl4-openssl-dev libssl-dev libsecp256k1-dev libwebsockets-dev nodejs npm"
runtime="mariadb-server mariadb-client lighttpd apache2-bin libfcgi-bin \
python3-aiosmtpd curl openssl"
case "${1:-build}" in
build) want="$build" ;;
test) want="$build $runtime libcmocka-dev chromium mandoc" ;;
run) want="$build $runtime" ;;
bench) want="$build $runtime wrk valgrind" ;;
# tests/galera/run.sh: the Galera provider, rsync for state transfers.
galera) want="$build $runtime galera-4 rsync" ;;
*) echo "usage: $0 build|test|run|bench|galera" >&2; exit 2 ;;
esac
missing=
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		# A node from elsewhere (nvm, the image) is as good as Debian's.
		if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then
			continue
		fi
		if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then
			continue
		fi
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
