#!/usr/bin/env bash
# The responder's own work per request, in instructions counted by
# callgrind (valgrind): the internal status read, the /sync/ gate, a debit
# (POST /internal/credits/use) and the hello-world responder, each run
# standalone as lighttpd spawns it and sent the records lighttpd sends
# (bench/instr.py).  Prints one line:
#   instr: status N | gate N | debit N | hello N (instructions per request ...)
# The counts do not move with the machine's load, so they show a change in
# the code's cost that requests per second, with their +-15 % on a shared
# 2-core VM, cannot; they leave out system calls and the database.
#
# Environment: BENCH_INSTR_REQUESTS (300) per route, BENCH_KEEP=1.
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"

bench_need valgrind callgrind_control python3
bench_init
bench_start_stack

user=bench-instr debtor=bench-instr-debits
token=$(bin/tally-admin mint-token --sub "$user" --ttl 3600)
for u in "$user" "$debtor"; do
	curl -fsS -H "X-Admin-Key: $TALLY_ADMIN_KEY" -H 'Content-Type: application/json' \
	    -d "{\"user_id\":\"$u\",\"amount\":100000,\"reason\":\"bench\",\"actor\":\"bench\"}" \
	    "$BENCH_URL/api/v1/admin/credits/adjust" >/dev/null || bench_die "funding failed"
done
curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"interval":"monthly"}' \
    "$BENCH_URL/api/v1/subscriptions/cloud_sync/activate" | grep -q '"active"' ||
    bench_die "activation failed"

bench_say "callgrind: ${BENCH_INSTR_REQUESTS:-300} requests per route after a warm-up"
BENCH_TOKEN=$token BENCH_USER=$user BENCH_DEBIT_USER=$debtor \
    python3 bench/instr.py "$BENCH_TMP/tally-fcgi" "$BENCH_TMP/hello" ||
    bench_die "the instruction count failed"
