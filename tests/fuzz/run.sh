#!/bin/sh
# Build and run the libFuzzer harnesses of tests/fuzz.
#
#   tests/fuzz/run.sh replay           gcc + replay.c + ASan/UBSan: feed each
#                                      seed corpus once (what `make check` runs)
#   tests/fuzz/run.sh fuzz [SECONDS]   clang -fsanitize=fuzzer,address,undefined:
#                                      fuzz each harness SECONDS (default 30)
#
# FUZZ_HARNESSES="money time" runs only those harnesses.
#
# The core is compiled from the Makefile's CORE_SRC with the same
# sanitizers.  Output goes to $FUZZ_OUT (default build/fuzz); new inputs
# found while fuzzing stay there, crashes are written there as
# <harness>-crash-*.  Exit status 0 when every harness passed.
set -u
cd "$(dirname "$0")/../.." || exit 2

# FUZZ_HARNESSES picks some (e.g. "money time"), to run a few at a time.
HARNESSES=${FUZZ_HARNESSES:-"jwt config route json signature webhook request form money time gift template"}
OUT=${FUZZ_OUT:-build/fuzz}
SEEDS=${FUZZ_SEEDS:-tests/fuzz/corpus}
WARN="-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2"
BASE="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -I. -Icore -Itests/fuzz"
PKG_CFLAGS=$(pkg-config --cflags jansson libcrypto libsecp256k1 2>/dev/null)
PKG_LIBS=$(pkg-config --libs jansson libcrypto libsecp256k1 2>/dev/null)
[ -n "$PKG_LIBS" ] || PKG_LIBS="-ljansson -lcrypto -lsecp256k1"

usage() {
	echo "usage: $0 replay | fuzz [seconds]" >&2
	exit 2
}

# The rule sources of libcore.a, as the Makefile lists them.
core_src() {
	src=$(make -s --no-print-directory \
	    --eval 'fuzz-print-core-src: ; @echo $(CORE_SRC)' \
	    fuzz-print-core-src 2>/dev/null)
	if [ -z "$src" ]; then
		src=$(ls core/*.c)
	fi
	echo "$src"
}

# build_core CC FLAGS DIR: compile every core source into DIR.
build_core() {
	mkdir -p "$3"
	rm -f "$3"/*.o
	for s in $(core_src); do
		o="$3/$(basename "$s" .c).o"
		# shellcheck disable=SC2086
		if ! $1 $BASE $WARN $PKG_CFLAGS $2 -c "$s" -o "$o" \
		    2>>"$3/build.log"; then
			echo "build of $s failed; see $3/build.log" >&2
			return 1
		fi
	done
}

# Max input length and extra libFuzzer options per harness.
fuzz_opts() {
	case $1 in
	jwt)	echo "-max_len=9000" ;;
	config)	echo "-max_len=4096 -dict=tests/fuzz/config.dict" ;;
	route)	echo "-max_len=1024" ;;
	json)	echo "-max_len=4096 -dict=tests/fuzz/json.dict" ;;
	signature) echo "-max_len=4096 -dict=tests/fuzz/signature.dict" ;;
	webhook) echo "-max_len=8192 -dict=tests/fuzz/webhook.dict" ;;
	request) echo "-max_len=1024 -dict=tests/fuzz/request.dict" ;;
	form)	echo "-max_len=12000" ;;
	money)	echo "-max_len=64" ;;
	time)	echo "-max_len=64 -dict=tests/fuzz/time.dict" ;;
	gift)	echo "-max_len=512" ;;
	template) echo "-max_len=4096 -dict=tests/fuzz/template.dict" ;;
	esac
}

pass=0
fail=0

replay() {
	dir=$OUT/replay
	san="-fsanitize=address,undefined -fno-sanitize-recover=all"
	mkdir -p "$dir"
	if ! build_core "${CC:-gcc}" "$san" "$dir/core"; then
		for h in $HARNESSES; do
			echo "FAIL fuzz_$h: core did not build"
		done
		fail=$(echo "$HARNESSES" | wc -w)
		return
	fi
	for h in $HARNESSES; do
		bin=$dir/fuzz_$h
		log=$dir/fuzz_$h.log
		# shellcheck disable=SC2086
		if ! ${CC:-gcc} $BASE $WARN -Werror $PKG_CFLAGS $san \
		    -o "$bin" "tests/fuzz/fuzz_$h.c" tests/fuzz/replay.c \
		    "$dir"/core/*.o $PKG_LIBS >"$log" 2>&1; then
			echo "FAIL fuzz_$h: does not build; see $log"
			fail=$((fail + 1))
			continue
		fi
		# An empty corpus would check nothing: that fails too.
		if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		    "$bin" "$SEEDS/$h" >"$log" 2>&1 &&
		    ! tail -n 1 "$log" | grep -q '^0 inputs$'; then
			echo "PASS fuzz_$h: $(tail -n 1 "$log") replayed"
			pass=$((pass + 1))
		else
			echo "FAIL fuzz_$h: see $log"
			{ grep -m 1 -e 'ERROR: ' -e 'runtime error' "$log" ||
			    tail -n 2 "$log"; } | sed 's/^/    /'
			fail=$((fail + 1))
		fi
	done
}

fuzz() {
	secs=$1
	dir=$OUT/libfuzzer
	cc=${FUZZ_CC:-clang}
	san="-fsanitize=address,undefined -fno-sanitize-recover=all"
	mkdir -p "$dir"
	if ! build_core "$cc" "$san -fsanitize=fuzzer-no-link" "$dir/core"; then
		for h in $HARNESSES; do
			echo "FAIL fuzz_$h: core did not build"
		done
		fail=$(echo "$HARNESSES" | wc -w)
		return
	fi
	for h in $HARNESSES; do
		bin=$dir/fuzz_$h
		log=$dir/fuzz_$h.log
		work=$dir/corpus/$h
		mkdir -p "$work"
		# shellcheck disable=SC2086
		if ! $cc $BASE $WARN -Werror $PKG_CFLAGS $san -fsanitize=fuzzer \
		    -o "$bin" "tests/fuzz/fuzz_$h.c" "$dir"/core/*.o \
		    $PKG_LIBS >"$log" 2>&1; then
			echo "FAIL fuzz_$h: does not build; see $log"
			fail=$((fail + 1))
			continue
		fi
		# shellcheck disable=SC2046
		if ASAN_OPTIONS=detect_leaks=1 \
		    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		    "$bin" -max_total_time="$secs" -print_final_stats=1 \
		    -artifact_prefix="$dir/$h-" $(fuzz_opts "$h") \
		    "$work" "$SEEDS/$h" >"$log" 2>&1; then
			runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
			    "$log")
			echo "PASS fuzz_$h: ${secs}s, ${runs:-?} runs," \
			    "$(ls "$work" | wc -l) corpus files"
			pass=$((pass + 1))
		else
			echo "FAIL fuzz_$h: see $log"
			{ grep -m 1 -e 'ERROR: ' -e 'runtime error' "$log" ||
			    tail -n 2 "$log"; } | sed 's/^/    /'
			sed -n 's/.*Test unit written to /    input: /p' "$log"
			fail=$((fail + 1))
		fi
	done
}

case ${1:-} in
replay)
	[ $# -eq 1 ] || usage
	replay
	;;
fuzz)
	secs=${2:-30}
	case $secs in
	''|*[!0-9]*) usage ;;
	esac
	fuzz "$secs"
	;;
*)
	usage
	;;
esac
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
