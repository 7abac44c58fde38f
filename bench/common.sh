# Shared by the bench/*.sh scripts; source it, do not run it.
#
# bench_start_stack starts a private tally stack in a temporary TALLY_VAR on
# free loopback ports, the way tests/integration/run.sh does (generated
# config, TALLY_NO_SCHEDULER=1, deploy/tally-dev start), then replaces the
# lighttpd that tally-dev started with one of ours: the same
# deploy/lighttpd.conf template plus a "/hello/" fastcgi route to
# bench/hello.c, spawned by that same lighttpd (bin-path, max-procs 2, like
# the API).  An EXIT trap stops everything it started and removes the folder.
#
# Afterwards: BENCH_URL, BENCH_PORT, BENCH_DB_SOCKET, TALLY_VAR (= the temp
# folder), TALLY_CONFIG, TALLY_SERVICE_KEY, TALLY_ADMIN_KEY.
#
# Then: bench_wrk NAME ARGS (one wrk --latency run, parsed into WRK_RPS,
# WRK_P99_MS, WRK_REQUESTS, WRK_BAD, WRK_SOCKERR, and BENCH_OTHER_CPU: the
# CPU other processes took meanwhile), bench_sql, bench_cc, bench_fg,
# bench_ratio, bench_disturbed, bench_say, bench_die.
#
# Environment: BENCH_SECONDS (default 10), BENCH_WARMUP (default 2),
# BENCH_THREADS (wrk -t, default 2), BENCH_CONNECTIONS (wrk -c, default 32),
# BENCH_KEEP=1 keeps the temp folder (logs) after the run.

# shellcheck shell=bash
set -euo pipefail

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$BENCH_ROOT"

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_WARMUP=${BENCH_WARMUP:-2}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-32}
BENCH_TMP=
BENCH_LIGHTTPD_PID=
BENCH_CHILD=

bench_say() { printf 'bench: %s\n' "$*" >&2; }
bench_die() { bench_say "$*"; exit 1; }

bench_need() { # COMMAND...
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
		    bench_die "$c is missing (deploy/install-deps.sh bench)"
	done
}

bench_free_port() { # FIRST: the first port from FIRST that nothing listens on
	local p
	for p in $(seq "$1" $(($1 + 200))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	return 1
}

# bench_alive PID: running and not a zombie (lighttpd's exited children stay
# zombies for a while, and kill -0 counts those as alive).
bench_alive() {
	local state
	[ -r "/proc/$1/stat" ] || return 1
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

bench_wait_gone() { # PID [TENTHS]
	for _ in $(seq 1 "${2:-100}"); do
		bench_alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

# bench_fg CMD...: run a long command (wrk, a load generator) as a child and
# wait for it: bash runs a trap only once the foreground command is done,
# while `wait` returns at once on a signal, so TERM/INT stop the script
# promptly; the cleanup ends the child.
bench_fg() {
	local rc=0
	"$@" &
	BENCH_CHILD=$!
	wait "$BENCH_CHILD" || rc=$?
	BENCH_CHILD=
	return "$rc"
}

# bench_stop_pid PID: TERM, wait up to 10 s, then KILL.  Only pids we started.
bench_stop_pid() {
	[ -n "$1" ] || return 0
	bench_alive "$1" || return 0
	kill -TERM "$1" 2>/dev/null || true
	bench_wait_gone "$1" || { kill -KILL "$1" 2>/dev/null || true; bench_wait_gone "$1" 20 || true; }
}

bench_children() { # PID: the pids whose parent is PID
	ps -o pid= --ppid "$1" 2>/dev/null || true
}

# Stop a lighttpd we (or tally-dev, for us) started, and the responders it
# spawned, by pid.  lighttpd TERMs its bin-path children itself; waiting for
# them makes sure nothing of ours is left serving.
bench_stop_lighttpd() { # PID
	local kids k
	[ -n "$1" ] || return 0
	kids=$(bench_children "$1")
	bench_stop_pid "$1"
	for k in $kids; do
		bench_wait_gone "$k" 50 || bench_stop_pid "$k"
	done
}

# The cleanup, by pid only.  Not `deploy/tally-dev stop`: its
# `pkill -f "^$ROOT/bin/tally-fcgi"` would also end the responders of any
# other stack running from this checkout (make run, the integration tests).
# MariaDB and the SMTP sink are stopped the way tally-dev stops them.
bench_cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	bench_stop_pid "$BENCH_CHILD"
	if [ -n "$BENCH_TMP" ] && [ -d "$BENCH_TMP" ]; then
		bench_stop_lighttpd "$BENCH_LIGHTTPD_PID"
		if [ -f "$BENCH_TMP/lighttpd.started" ]; then
			bench_stop_lighttpd "$(cat "$BENCH_TMP/lighttpd.started")"
		fi
		if [ -f "$BENCH_TMP/smtp.started" ]; then
			bench_stop_pid "$(cat "$BENCH_TMP/smtp.started")"
		fi
		if [ -f "$BENCH_TMP/mariadb.started" ]; then
			pid=$(cat "$BENCH_TMP/mariadb.started")
			mariadb-admin --no-defaults -S "$BENCH_TMP/mariadb.sock" -uroot \
			    shutdown >/dev/null 2>&1 || true
			bench_stop_pid "$pid"
		fi
		if [ "$rc" -ne 0 ]; then
			bench_say "failed; last lines of $BENCH_TMP/fcgi.log and lighttpd.error.log:"
			tail -n 20 "$BENCH_TMP/fcgi.log" "$BENCH_TMP/lighttpd.error.log" >&2 2>/dev/null || true
		fi
		if [ "${BENCH_KEEP:-0}" = 1 ]; then
			bench_say "kept $BENCH_TMP"
		else
			rm -rf "$BENCH_TMP"
		fi
	fi
	exit "$rc"
}

# bench_init: the temp folder and the trap; call before anything else.
bench_init() {
	bench_need cc pkg-config wrk lighttpd mariadbd mariadb-admin mariadb \
	    curl openssl awk ps
	if [ ! -x "$BENCH_ROOT/bin/tally-fcgi" ] || [ ! -x "$BENCH_ROOT/bin/tally-admin" ]; then
		bench_die "build first: make all"
	fi
	BENCH_TMP=$(mktemp -d /tmp/tally-bench.XXXXXX)
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# bench_cc OUT SRC PKG...: compile a benchmark program into the temp folder.
bench_cc() {
	local out=$1 src=$2
	shift 2
	# shellcheck disable=SC2046
	cc -O2 -Wall -o "$BENCH_TMP/$out" "$BENCH_ROOT/$src" \
	    $(pkg-config --cflags --libs "$@") -pthread ||
	    bench_die "cannot compile $src"
}

# The lighttpd config: deploy/lighttpd.conf filled in as tally-dev does,
# plus the hello route on the same server.  The responder is a copy of
# bin/tally-fcgi in the temp folder: a snapshot that a concurrent `make`
# cannot swap mid-run, and out of reach of `tally-dev stop` in other stacks
# of this checkout (its pkill -f "^$ROOT/bin/tally-fcgi" would otherwise
# kill our responders in the middle of a measurement).
bench_lighttpd_conf() { # HOST PORT > conf
	local threads
	# As many hello threads as tally-fcgi has ([http] threads, default 4).
	threads=${TALLY_HTTP_THREADS:-$(awk '
		/^[ \t]*\[/ { gsub(/[ \t]/, ""); insec = ($0 == "[http]"); next }
		insec && /^[ \t]*threads[ \t]*=/ { sub(/^[^=]*=[ \t]*/, ""); print; exit }
	' "$TALLY_CONFIG")}
	sed -e "s|@ROOT@/bin/tally-fcgi|$BENCH_TMP/tally-fcgi|g" \
	    -e "s|@ROOT@|$BENCH_ROOT|g" -e "s|@VAR@|$TALLY_VAR|g" \
	    -e "s|@CONFIG@|$TALLY_CONFIG|g" -e "s|@HOST@|$1|g" -e "s|@PORT@|$2|g" \
	    "$BENCH_ROOT/deploy/lighttpd.conf"
	cat <<EOF

# bench/common.sh: a hello-world responder next to the API, same pool shape.
fastcgi.server += (
  "/hello/" => ((
    "bin-path" => "$BENCH_TMP/hello",
    "socket" => "$TALLY_VAR/hello.sock",
    "max-procs" => 2,
    "check-local" => "disable",
    "bin-environment" => ( "BENCH_HELLO_THREADS" => "${threads:-4}" ),
  )),
)
# The template may add response headers to everything outside /api/ (the
# static site's); /hello/ stands for the API, so it gets none either.
\$HTTP["url"] =~ "^/hello/" {
  setenv.set-response-header = ()
}
EOF
}

bench_start_stack() {
	local smtp_port

	bench_cc hello bench/hello.c fcgi
	cp "$BENCH_ROOT/bin/tally-fcgi" "$BENCH_TMP/tally-fcgi"
	export TALLY_VAR=$BENCH_TMP
	export TALLY_CONFIG=$BENCH_TMP/tally.conf
	export TALLY_NO_SCHEDULER=1
	# A random start: concurrent runs seldom race for the same port.
	BENCH_PORT=$(bench_free_port $((18480 + RANDOM % 500)))
	smtp_port=$(bench_free_port $((12625 + RANDOM % 500)))
	TALLY_SERVICE_KEY=$(openssl rand -hex 24)
	TALLY_ADMIN_KEY=$(openssl rand -hex 24)
	export TALLY_SERVICE_KEY TALLY_ADMIN_KEY
	sed -e "s/^jwt_secret =.*/jwt_secret = $(openssl rand -hex 32)/" \
	    -e "s/^service_key =.*/service_key = $TALLY_SERVICE_KEY/" \
	    -e "s/^admin_key =.*/admin_key = $TALLY_ADMIN_KEY/" \
	    -e "s/^encryption_key =.*/encryption_key = $(openssl rand -hex 32)/" \
	    -e "s/^listen =.*/listen = 127.0.0.1:$BENCH_PORT/" \
	    -e "s|^public_url =.*|public_url = http://127.0.0.1:$BENCH_PORT|" \
	    -e "s|^url = smtp://.*|url = smtp://127.0.0.1:$smtp_port|" \
	    config.sample >"$TALLY_CONFIG"
	chmod 600 "$TALLY_CONFIG"
	# BENCH_QUOTA=N: Cloud Sync with quota.requests = N (the gate counts).
	if [ -n "${BENCH_QUOTA:-}" ]; then
		sed -i "s/^;quota.requests = 10000$/quota.requests = $BENCH_QUOTA/" "$TALLY_CONFIG"
		grep -q "^quota.requests = $BENCH_QUOTA$" "$TALLY_CONFIG" ||
		    bench_die "no quota line to enable in config.sample"
	fi

	bench_say "starting a private stack in $BENCH_TMP (port $BENCH_PORT);" \
	    "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
	deploy/tally-dev start 2>"$BENCH_TMP/tally-dev.log" ||
	    { cat "$BENCH_TMP/tally-dev.log" >&2; bench_die "deploy/tally-dev start failed"; }

	# Replace tally-dev's lighttpd by ours: same template, plus /hello/.
	bench_stop_lighttpd "$(cat "$BENCH_TMP/lighttpd.started")"
	rm -f "$BENCH_TMP/lighttpd.started"
	bench_lighttpd_conf 127.0.0.1 "$BENCH_PORT" >"$BENCH_TMP/lighttpd-bench.conf"
	lighttpd -tt -f "$BENCH_TMP/lighttpd-bench.conf" >/dev/null ||
	    bench_die "lighttpd rejected $BENCH_TMP/lighttpd-bench.conf"
	# setsid: lighttpd signals its process group when it stops.
	setsid lighttpd -D -f "$BENCH_TMP/lighttpd-bench.conf" </dev/null \
	    >>"$BENCH_TMP/fcgi.log" 2>&1 &
	BENCH_LIGHTTPD_PID=$!
	echo "$BENCH_LIGHTTPD_PID" >"$BENCH_TMP/lighttpd.started"
	BENCH_URL=http://127.0.0.1:$BENCH_PORT
	BENCH_DB_SOCKET=$BENCH_TMP/mariadb.sock
	for _ in $(seq 1 100); do
		if curl -fs "$BENCH_URL/api/v1/health" >/dev/null 2>&1 &&
		    curl -fs "$BENCH_URL/hello/" >/dev/null 2>&1; then
			bench_say "lighttpd on $BENCH_URL: /api/ -> tally-fcgi, /hello/ -> hello"
			return 0
		fi
		bench_alive "$BENCH_LIGHTTPD_PID" || break
		sleep 0.1
	done
	bench_die "lighttpd, tally-fcgi or hello did not come up"
}

bench_sql() { # QUERY: tab-separated rows on stdout
	mariadb --no-defaults -S "$BENCH_DB_SOCKET" -uroot -N -B tally -e "$1"
}

# CPU accounting, to tell a clean measurement from one disturbed by other
# work on the machine (the benchmark host is shared): bench_cpu_mark before
# a run, bench_cpu_other after it sets BENCH_OTHER_CPU to the CPUs used by
# processes that are neither our stack nor our children (wrk, baseline),
# averaged over the run.
bench_our_ticks() { # utime+stime of our stack's processes, in clock ticks
	local pids p
	pids="$BENCH_LIGHTTPD_PID $(bench_children "${BENCH_LIGHTTPD_PID:-0}")"
	for p in mariadb smtp; do
		[ -f "$BENCH_TMP/$p.started" ] && pids="$pids $(cat "$BENCH_TMP/$p.started")"
	done
	for p in $pids; do cat "/proc/$p/stat" 2>/dev/null || true; done |
	    awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { printf "%d\n", t }'
}
bench_busy_ticks() { # all processes' CPU time since boot, in clock ticks
	# user + nice + system: irq/softirq time (loopback traffic of our own
	# runs, mostly) is not charged to any process, so it is left out.
	awk '/^cpu / { printf "%d\n", $2 + $3 + $4; exit }' /proc/stat
}
bench_kids_ticks() { # CPU of this shell's finished children, in clock ticks
	# `times` in this very shell (a $(...) subshell has its own children).
	times >"$BENCH_TMP/times"
	awk -v hz="$(getconf CLK_TCK)" 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
		printf "%d\n", t * hz }' "$BENCH_TMP/times"
}
bench_cpu_mark() {
	bench_kids_ticks >"$BENCH_TMP/kids"
	_BM_BUSY=$(bench_busy_ticks) _BM_OURS=$(bench_our_ticks)
	_BM_KIDS=$(cat "$BENCH_TMP/kids") _BM_T=$(date +%s.%N)
}
bench_cpu_other() { # NAME
	local busy ours kids t
	busy=$(bench_busy_ticks) ours=$(bench_our_ticks) t=$(date +%s.%N)
	bench_kids_ticks >"$BENCH_TMP/kids"
	kids=$(cat "$BENCH_TMP/kids")
	# shellcheck disable=SC2034  # read by the scripts that source this
	BENCH_OTHER_CPU=$(awk -v b=$((busy - _BM_BUSY)) -v o=$((ours - _BM_OURS)) \
	    -v k=$((kids - _BM_KIDS)) -v t="$t" -v t0="$_BM_T" -v hz="$(getconf CLK_TCK)" \
	    'BEGIN { x = (b - o - k) / hz / (t - t0); printf "%.2f", (x < 0 ? 0 : x) }')
}

# bench_disturbed WHAT CPU...: warn when any run kept had other work beside it.
bench_disturbed() {
	local what=$1 x
	shift
	for x in "$@"; do
		if awk -v x="$x" 'BEGIN { exit !(x > 0.15) }'; then
			bench_say "warning: $what: other processes took up to $x CPU of $(nproc)" \
			    "during the runs kept: the figures are disturbed"
			return
		fi
	done
}

# bench_wrk NAME ARGS...: one wrk run with --latency; its output is kept in
# $BENCH_TMP/NAME.wrk and parsed into WRK_RPS, WRK_P99_MS, WRK_REQUESTS,
# WRK_BAD (non-2xx/3xx responses) and WRK_SOCKERR (socket errors).
bench_wrk() {
	local name=$1 f
	shift
	f=$BENCH_TMP/$name.wrk
	bench_cpu_mark
	bench_fg wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" --latency "$@" >"$f" 2>&1 ||
	    { cat "$f" >&2; bench_die "wrk failed ($name)"; }
	bench_cpu_other "$name"
	# shellcheck disable=SC2034  # read by the scripts that source this
	read -r WRK_RPS WRK_P99_MS WRK_REQUESTS WRK_BAD WRK_SOCKERR < <(awk '
		function ms(v) {
			if (v ~ /us$/) return v / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /m$/) return v * 60000
			if (v ~ /s$/) return v * 1000
			return v + 0
		}
		/^Requests\/sec:/ { rps = $2 }
		/^ +99%/ { p99 = ms($2) }
		/ requests in / { reqs = $1 }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		/Socket errors:/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
		END { printf "%.0f %.2f %d %d %d\n", rps, p99, reqs, bad, err }' "$f")
	if [ "$WRK_BAD" -ne 0 ] || [ "$WRK_SOCKERR" -ne 0 ]; then
		bench_say "$name: $WRK_BAD non-2xx responses, $WRK_SOCKERR socket errors (see $f)"
	fi
}

bench_ratio() { # A B: A/B with two decimals
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

bench_ratio4() { # A B: A/B with four decimals (a round's ratio, for a median)
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.4f", a / b; else print 0 }'
}

# bench_median X...: the median of the numbers (the mean of the middle two
# for an even count), as given (no rounding) for an odd count.
bench_median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2];
		      else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_rounds_line R...: "ratio M (median of N rounds: r1, r2, ...)" from
# the rounds' ratios, each with two decimals.
bench_rounds_line() {
	local m list
	m=$(bench_median "$@")
	list=$(printf '%.2f, ' "$@")
	list=${list%, }
	printf 'ratio %.2f (median of %d rounds: %s)' "$m" "$#" "$list"
}
