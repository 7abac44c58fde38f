#!/usr/bin/env bash
# GET /api/v1/internal/subscriptions/cloud_sync/status/USER (service key,
# one read) against a hello-world libfcgi responder (bench/hello.c) behind
# the same lighttpd, with the same pool shape.  Prints one line:
#   status: tally N req/s p99 X ms | hello M req/s p99 Y ms | ratio R (median of 3 rounds: ...)
# where ratio = tally req/s / hello req/s (the goal is >= 0.7).
#
# The runs alternate (tally, hello, tally, hello ...); each round gives a
# ratio, and the line gives the median of the rounds' ratios (and the median
# req/s and p99 of each side), as the goal is stated.  Each round is also
# shown on stderr with the CPU other processes took.
#
# Environment: BENCH_SECONDS (10) per measured run, BENCH_ROUNDS (3),
# BENCH_WARMUP (2), BENCH_THREADS (wrk -t, 2), BENCH_CONNECTIONS (wrk -c,
# 32), BENCH_KEEP=1 keeps the temp folder (wrk outputs, logs).
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"

BENCH_ROUNDS=${BENCH_ROUNDS:-3}

bench_init
bench_start_stack

user=bench-status
token=$(bin/tally-admin mint-token --sub "$user" --ttl 3600)
auth="X-Service-Key: $TALLY_SERVICE_KEY"
tally_url=$BENCH_URL/api/v1/internal/subscriptions/cloud_sync/status/$user
hello_url=$BENCH_URL/hello/

# A user with an active Cloud Sync subscription; check both answer.
curl -fsS -H "X-Admin-Key: $TALLY_ADMIN_KEY" -H 'Content-Type: application/json' \
    -d "{\"user_id\":\"$user\",\"amount\":1000,\"reason\":\"bench\",\"actor\":\"bench\"}" \
    "$BENCH_URL/api/v1/admin/credits/adjust" >/dev/null || bench_die "funding failed"
curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"interval":"monthly"}' \
    "$BENCH_URL/api/v1/subscriptions/cloud_sync/activate" | grep -q '"active"' ||
    bench_die "activation failed"
curl -fsS -H "$auth" "$tally_url" | grep -q '"active":true' ||
    bench_die "GET $tally_url did not answer active"
curl -fsS "$hello_url" | grep -q '"balance"' ||
    bench_die "GET $hello_url did not answer with a balance"

bench_say "warm-up ${BENCH_WARMUP}s each, then $BENCH_ROUNDS rounds of ${BENCH_SECONDS}s" \
    "each (wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS)"
bench_wrk status-tally-warmup -d"${BENCH_WARMUP}s" -H "$auth" "$tally_url"
bench_wrk status-hello-warmup -d"${BENCH_WARMUP}s" "$hello_url"

t_rps=() t_p99=() t_other=() h_rps=() h_p99=() h_other=() ratios=() bad=0
for r in $(seq 1 "$BENCH_ROUNDS"); do
	bench_wrk "status-tally-$r" -d"${BENCH_SECONDS}s" -H "$auth" "$tally_url"
	bad=$((bad + WRK_BAD + WRK_SOCKERR))
	line="round $r: tally $WRK_RPS req/s p99 $WRK_P99_MS ms (other CPU $BENCH_OTHER_CPU)"
	t_rps+=("$WRK_RPS") t_p99+=("$WRK_P99_MS") t_other+=("$BENCH_OTHER_CPU")
	bench_wrk "status-hello-$r" -d"${BENCH_SECONDS}s" "$hello_url"
	bad=$((bad + WRK_BAD + WRK_SOCKERR))
	h_rps+=("$WRK_RPS") h_p99+=("$WRK_P99_MS") h_other+=("$BENCH_OTHER_CPU")
	ratios+=("$(bench_ratio4 "${t_rps[-1]}" "$WRK_RPS")")
	bench_say "$line | hello $WRK_RPS req/s p99 $WRK_P99_MS ms (other CPU $BENCH_OTHER_CPU)" \
	    "| ratio $(printf %.2f "${ratios[-1]}")"
done

bench_disturbed status "$(bench_median "${t_other[@]}")" "$(bench_median "${h_other[@]}")"
if [ "$bad" -ne 0 ]; then
	bench_say "warning: $bad failed requests: the figures are not clean"
fi
echo "status: tally $(bench_median "${t_rps[@]}") req/s p99 $(bench_median "${t_p99[@]}") ms" \
    "| hello $(bench_median "${h_rps[@]}") req/s p99 $(bench_median "${h_p99[@]}") ms" \
    "| $(bench_rounds_line "${ratios[@]}")"
