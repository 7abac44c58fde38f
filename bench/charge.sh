#!/usr/bin/env bash
# The recurring charge at scale: N due credit subscriptions (one account
# each, funded) inserted in bulk (MariaDB's sequence engine), then one `tally-scheduler --once --now`
# after their period end, timed.  Prints one line per size:
#   charge: 10000 subscriptions in 4.1 s (410 us each)
# The per-subscription cost should stay flat as N grows (linear total);
# the goal is 100k in under 20 s (GOAL_100K_S), and the last line says how
# the 100k run (when BENCH_SIZES has it) compares:
#   charge: 100k goal < 20 s: 5.2 s, met
# Every run is checked: each subscription charged exactly once and every
# account's ledger sums to its balance.
#
# Environment: BENCH_SIZES (default "10000 100000").
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"

BENCH_SIZES=${BENCH_SIZES:-10000 100000}
GOAL_100K_S=20
goal_line=

bench_init
bench_start_stack

offset=0
for n in $BENCH_SIZES; do
	prefix="charge-$n-"
	bench_say "inserting $n due subscriptions"
	# Accounts with 100 credits (and the ledger row that says so), each
	# with a monthly Cloud Sync subscription whose period ended in 2030.
	bench_sql "
	    INSERT INTO accounts (user_id, balance, created_at, updated_at)
	    SELECT CONCAT('$prefix', seq), 100, NOW(), NOW() FROM seq_1_to_$n;
	    INSERT INTO ledger (account_id, kind, amount, balance_after, operation,
	        created_at)
	    SELECT id, 'adjustment', 100, 100, 'bench', NOW() FROM accounts
	    WHERE user_id LIKE '$prefix%';
	    INSERT INTO subscriptions (account_id, user_id, product, status,
	        billing_interval, anchor_at, end_months, current_period_start, current_period_end,
	        next_charge_at, created_at, updated_at)
	    SELECT id, user_id, 'cloud_sync', 'active', 'monthly',
	        '2030-01-01 00:00:00', 1,
	        '2030-01-01 00:00:00', '2030-02-01 00:00:00', '2030-02-01 00:00:00',
	        NOW(), NOW() FROM accounts WHERE user_id LIKE '$prefix%';"
	start=$(date +%s%N)
	bin/tally-scheduler --once --now 2030-02-01T00:00:01Z 2>"$BENCH_TMP/charge-$n.log" ||
	    bench_die "the scheduler failed; see $BENCH_TMP/charge-$n.log"
	end=$(date +%s%N)
	charged=$(bench_sql "SELECT COUNT(*) FROM ledger l JOIN accounts a ON a.id = l.account_id
	    WHERE a.user_id LIKE '$prefix%' AND l.kind = 'subscription'")
	off=$(bench_sql "SELECT COUNT(*) FROM accounts a WHERE a.user_id LIKE '$prefix%' AND
	    a.balance <> (SELECT SUM(amount) FROM ledger l WHERE l.account_id = a.id)")
	[ "$charged" = "$n" ] || bench_die "$charged charges for $n subscriptions"
	[ "$off" = 0 ] || bench_die "$off accounts whose ledger does not sum to the balance"
	ns=$((end - start))
	awk -v n="$n" -v ns="$ns" 'BEGIN {
	    printf "charge: %d subscriptions in %.1f s (%.0f us each)\n", n, ns / 1e9, ns / n / 1000 }'
	if [ "$n" = 100000 ]; then
		goal_line=$(awk -v ns="$ns" -v g="$GOAL_100K_S" 'BEGIN {
		    printf "charge: 100k goal < %d s: %.1f s, %s\n", g, ns / 1e9,
		        (ns / 1e9 < g ? "met" : "MISSED") }')
	fi
	# The next size starts clean: these are no longer due.
	bench_sql "UPDATE subscriptions s JOIN accounts a ON a.id = s.account_id
	    SET s.status = 'canceled', s.next_charge_at = NULL WHERE a.user_id LIKE '$prefix%'"
	offset=$((offset + n))
done
[ -z "$goal_line" ] || echo "$goal_line"
