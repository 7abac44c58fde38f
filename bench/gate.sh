#!/usr/bin/env bash
# The gate: GET /sync/index.html through lighttpd, where tally answers the
# FastCGI AUTHORIZER request (JWT check + one indexed query, no cache) and
# lighttpd then serves the file, against the hello-world libfcgi responder
# behind the same lighttpd.  Prints one line:
#   gate: tally N req/s p99 X ms | hello M req/s p99 Y ms | ratio R (median of 3 rounds: ...)
# (the goal is >= 0.7).  Alternating rounds, the median of their ratios,
# as status.sh.
#
# Environment: as bench/status.sh; BENCH_QUOTA=N gives Cloud Sync a
# quota.requests of N, so that the gate counts each request it lets
# through (the line then starts "gate +quota:").
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"

BENCH_ROUNDS=${BENCH_ROUNDS:-3}

bench_init
bench_start_stack

user=bench-gate
token=$(bin/tally-admin mint-token --sub "$user" --ttl 3600)
auth="Authorization: Bearer $token"
gate_url=$BENCH_URL/sync/index.html
hello_url=$BENCH_URL/hello/

# A user with an active Cloud Sync subscription.
curl -fsS -H "X-Admin-Key: $TALLY_ADMIN_KEY" -H 'Content-Type: application/json' \
    -d "{\"user_id\":\"$user\",\"amount\":1000,\"reason\":\"bench\",\"actor\":\"bench\"}" \
    "$BENCH_URL/api/v1/admin/credits/adjust" >/dev/null || bench_die "funding failed"
curl -fsS -H "$auth" -H 'Content-Type: application/json' -d '{"interval":"monthly"}' \
    "$BENCH_URL/api/v1/subscriptions/cloud_sync/activate" | grep -q '"active"' ||
    bench_die "activation failed"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$gate_url")
[ "$code" = 200 ] || bench_die "the gate answered $code, not 200"

bench_say "warm-up ${BENCH_WARMUP}s each, then $BENCH_ROUNDS rounds of ${BENCH_SECONDS}s" \
    "each (wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS)"
bench_wrk gate-tally-warmup -d"${BENCH_WARMUP}s" -H "$auth" "$gate_url"
bench_wrk gate-hello-warmup -d"${BENCH_WARMUP}s" "$hello_url"

t_rps=() t_p99=() h_rps=() h_p99=() ratios=() bad=0
for r in $(seq 1 "$BENCH_ROUNDS"); do
	bench_wrk "gate-tally-$r" -d"${BENCH_SECONDS}s" -H "$auth" "$gate_url"
	bad=$((bad + WRK_BAD + WRK_SOCKERR))
	line="round $r: gate $WRK_RPS req/s p99 $WRK_P99_MS ms"
	t_rps+=("$WRK_RPS") t_p99+=("$WRK_P99_MS")
	bench_wrk "gate-hello-$r" -d"${BENCH_SECONDS}s" "$hello_url"
	bad=$((bad + WRK_BAD + WRK_SOCKERR))
	h_rps+=("$WRK_RPS") h_p99+=("$WRK_P99_MS")
	ratios+=("$(bench_ratio4 "${t_rps[-1]}" "$WRK_RPS")")
	bench_say "$line | hello $WRK_RPS req/s p99 $WRK_P99_MS ms" \
	    "| ratio $(printf %.2f "${ratios[-1]}")"
done
if [ "$bad" -ne 0 ]; then
	bench_say "warning: $bad failed requests: the figures are not clean"
fi
echo "gate${BENCH_QUOTA:+ +quota}: tally $(bench_median "${t_rps[@]}") req/s" \
    "p99 $(bench_median "${t_p99[@]}") ms | hello $(bench_median "${h_rps[@]}") req/s" \
    "p99 $(bench_median "${h_p99[@]}") ms | $(bench_rounds_line "${ratios[@]}")"
