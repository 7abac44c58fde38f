#!/usr/bin/env bash
# Concurrent debits: POST /api/v1/internal/credits/use through lighttpd and
# tally-fcgi (wrk + bench/debit.lua), against bench/debit_baseline.c doing
# the same transaction straight on the same MariaDB tables with as many
# connections as wrk has.  Two cases: debits spread over BENCH_USERS
# accounts, and every debit on one account (a single hot row).  Prints:
#   debit: tally N/s | baseline M/s | ratio R (50 users, 32 connections)
#   debit: tally N/s | baseline M/s | ratio R (1 user, 32 connections)
#   ledger: ...   (sum(ledger) == balance for every account, and counts)
# where ratio = tally / baseline (the goal is >= 0.6).
#
# Each case: a warm-up, then BENCH_ROUNDS rounds of wrk and the baseline in
# turn; the ratio is the median of the rounds' ratios.  Every round is shown
# on stderr.
#
# Environment: BENCH_SECONDS (10) per measured run, BENCH_ROUNDS (3),
# BENCH_WARMUP (2), BENCH_THREADS (wrk -t, 2), BENCH_CONNECTIONS (wrk -c and
# baseline connections, 32), BENCH_BASELINE_CONNECTIONS (default: the same as wrk;
# e.g. 8 = tally's own pool of database connections, 2 processes x 4
# threads), BENCH_USERS (50), BENCH_KEEP=1.
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"

BENCH_USERS=${BENCH_USERS:-50}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_BASELINE_CONNECTIONS=${BENCH_BASELINE_CONNECTIONS:-${BENCH_CONNECTIONS:-32}}
FUNDS=1000000000000	# far more than any run can spend

bench_init
bench_cc debit_baseline bench/debit_baseline.c libmariadb
bench_start_stack

fund() { # USER_ID
	curl -fsS -o /dev/null -X POST "$BENCH_URL/api/v1/admin/credits/adjust" \
	    -H "X-Admin-Key: $TALLY_ADMIN_KEY" -H 'Content-Type: application/json' \
	    -d "{\"user_id\":\"$1\",\"amount\":$FUNDS,\"reason\":\"bench funding\",\"actor\":\"bench\"}" ||
	    bench_die "funding $1 failed"
}

account_ids() { # PREFIX N: comma-separated account ids of PREFIX1..PREFIXN
	local i list=
	for i in $(seq 1 "$2"); do list="$list,'$1$i'"; done
	bench_sql "SELECT id FROM accounts WHERE user_id IN (${list#,})" | paste -sd, -
}

bench_say "funding $BENCH_USERS + 1 accounts"
for i in $(seq 1 "$BENCH_USERS"); do fund "bench-u$i"; done
fund bench-solo1
many_ids=$(account_ids bench-u "$BENCH_USERS")
solo_ids=$(account_ids bench-solo 1)
if [ "$(tr ',' '\n' <<<"$many_ids" | wc -l)" -ne "$BENCH_USERS" ] || [ -z "$solo_ids" ]; then
	bench_die "the funded accounts are not all there"
fi

url=$BENCH_URL/api/v1/internal/credits/use
wrk_ok=0	# 2xx responses wrk saw, warm-ups included
base_ok=0	# debits the baseline reported
bad=0		# failed requests in the measured runs

# run_case LABEL PREFIX N IDS: a wrk warm-up, then BENCH_ROUNDS rounds of
# wrk and the baseline in turn; the line gives the median of the rounds'
# ratios and each side's median rate.
run_case() {
	local label=$1 prefix=$2 n=$3 ids=$4 r out rps ops line conns=
	local t_rps=() t_p99=() t_other=() b_rps=() b_other=() ratios=()
	[ "$BENCH_BASELINE_CONNECTIONS" = "$BENCH_CONNECTIONS" ] ||
	    conns=", baseline $BENCH_BASELINE_CONNECTIONS"
	bench_wrk "debit-$prefix-warmup" -d"${BENCH_WARMUP}s" -s bench/debit.lua "$url" \
	    -- "$TALLY_SERVICE_KEY" "$prefix" "$n"
	wrk_ok=$((wrk_ok + WRK_REQUESTS - WRK_BAD))
	for r in $(seq 1 "$BENCH_ROUNDS"); do
		bench_wrk "debit-$prefix-$r" -d"${BENCH_SECONDS}s" -s bench/debit.lua "$url" \
		    -- "$TALLY_SERVICE_KEY" "$prefix" "$n"
		wrk_ok=$((wrk_ok + WRK_REQUESTS - WRK_BAD))
		bad=$((bad + WRK_BAD + WRK_SOCKERR))
		# Successful debits per second only (a non-2xx is no debit).
		rps=$(awk -v r="$WRK_RPS" -v n="$WRK_REQUESTS" -v b="$WRK_BAD" \
		    'BEGIN { printf "%.0f", (n > 0 ? r * (n - b) / n : 0) }')
		line="$label, round $r: tally $rps/s p99 $WRK_P99_MS ms (other CPU $BENCH_OTHER_CPU)"
		t_rps+=("$rps") t_p99+=("$WRK_P99_MS") t_other+=("$BENCH_OTHER_CPU")
		sleep 1
		bench_cpu_mark
		out=$BENCH_TMP/debit-$prefix-$r.baseline
		bench_fg "$BENCH_TMP/debit_baseline" -S "$BENCH_DB_SOCKET" \
		    -c "$BENCH_BASELINE_CONNECTIONS" -s "$BENCH_SECONDS" -a "$ids" \
		    -o baseline >"$out" 2>&1 ||
		    bench_die "debit_baseline failed ($label): $(cat "$out")"
		bench_cpu_other "baseline"
		out=$(cat "$out")
		rps=$(sed -n 's/.*ops_per_s=\([0-9]*\).*/\1/p' <<<"$out")
		ops=$(sed -n 's/.*ops=\([0-9]*\) .*/\1/p' <<<"$out")
		base_ok=$((base_ok + ops))
		b_rps+=("$rps") b_other+=("$BENCH_OTHER_CPU")
		ratios+=("$(bench_ratio4 "${t_rps[-1]}" "$rps")")
		bench_say "$line | baseline $rps/s (other CPU $BENCH_OTHER_CPU)" \
		    "| ratio $(printf %.2f "${ratios[-1]}")"
		sleep 1
	done
	bench_disturbed "debit, $label" "$(bench_median "${t_other[@]}")" \
	    "$(bench_median "${b_other[@]}")"
	echo "debit: tally $(bench_median "${t_rps[@]}")/s | baseline" \
	    "$(bench_median "${b_rps[@]}")/s | $(bench_rounds_line "${ratios[@]}")" \
	    "($label, $BENCH_CONNECTIONS connections$conns, p99 tally" \
	    "$(bench_median "${t_p99[@]}") ms)"
}

bench_say "each case: wrk ${BENCH_WARMUP}s warm-up, then $BENCH_ROUNDS rounds of wrk" \
    "${BENCH_SECONDS}s and the baseline ${BENCH_SECONDS}s (wrk -t$BENCH_THREADS" \
    "-c$BENCH_CONNECTIONS, baseline $BENCH_BASELINE_CONNECTIONS connections)"
run_case "$BENCH_USERS users" bench-u "$BENCH_USERS" "$many_ids"
run_case "1 user" bench-solo 1 "$solo_ids"
if [ "$bad" -ne 0 ]; then
	bench_say "warning: $bad failed requests: the figures are not clean"
fi

# The ledger invariant, per account: the rows sum to the balance, the last
# row's balance_after is the balance, and no two rows share a balance_after
# (every debit saw the one before it).
read -r naccounts badsum badlast dupafter < <(bench_sql "
	SELECT COUNT(*),
	       COALESCE(SUM(a.balance <> COALESCE(s.total, 0)), 0),
	       COALESCE(SUM(a.balance <> COALESCE(l.balance_after, -1)), 0),
	       COALESCE(SUM(s.n - s.nafter), 0)
	FROM accounts a
	LEFT JOIN (SELECT account_id, SUM(amount) AS total, COUNT(*) AS n,
	                  COUNT(DISTINCT balance_after) AS nafter, MAX(id) AS last_id
	           FROM ledger GROUP BY account_id) s ON s.account_id = a.id
	LEFT JOIN ledger l ON l.id = s.last_id
	WHERE a.user_id LIKE 'bench-%'")
read -r tally_rows base_rows < <(bench_sql "
	SELECT COALESCE(SUM(operation = 'bench'), 0), COALESCE(SUM(operation = 'baseline'), 0)
	FROM ledger WHERE kind = 'usage'")
ok=ok
if [ "$badsum" -ne 0 ] || [ "$badlast" -ne 0 ] || [ "$dupafter" -ne 0 ] ||
    [ "$base_rows" -ne "$base_ok" ] || [ "$tally_rows" -lt "$wrk_ok" ]; then
	ok=FAILED
fi
echo "ledger: $ok: $naccounts accounts, sum(ledger) != balance: $badsum," \
    "last balance_after != balance: $badlast, repeated balance_after: $dupafter;" \
    "usage rows tally $tally_rows (wrk saw $wrk_ok 2xx, $((tally_rows - wrk_ok)) in flight at stop)," \
    "baseline $base_rows (reported $base_ok)"
[ "$ok" = ok ]
