#!/usr/bin/env bash
# make bench: every benchmark in one run, then the four figures the
# performance goals are stated in, each beside the baseline measured in the
# same run (README "Performance"):
#   status   internal subscription status vs hello-world libfcgi   goal >= 0.7
#   gate     the /sync/ authorizer vs the same hello                goal >= 0.7
#   debit    POST /internal/credits/use vs the same transaction
#            straight on MariaDB, 32 connections                    goal >= 0.6
#   renewals 100k due credit subscriptions, one scheduler           goal < 20 s
# and, beside them, the responder's instructions per request (callgrind),
# which do not move with the machine's load (bench/instr.sh).
# Each script checks exactness on its own (debits: every ledger sums to its
# balance; renewals: each subscription charged once) and fails otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp "${TMPDIR:-/tmp}/tally-bench.XXXXXX")
trap 'rm -f "$out"' EXIT
rc=0
for b in status gate debit charge instr; do
	echo "== bench/$b.sh" >&2
	bench/$b.sh | tee -a "$out" || rc=1
done
# The gate again, counting every request for a quota far from its limit.
echo "== BENCH_QUOTA=1000000000 bench/gate.sh" >&2
BENCH_QUOTA=1000000000 bench/gate.sh | tee -a "$out" || rc=1
echo
echo "== summary (this machine, this run)"
grep -E '^(status|gate|gate \+quota):' "$out" | sed -E 's/^([a-z +]+): (.*)\| ratio (.*)$/\1 ratio \3 (goal 0.7): \2/'
grep -E '^debit:' "$out" | head -n 1 | sed -E 's/^debit: (.*)\| ratio ([0-9.]+) (.*)$/debit ratio \2 (goal 0.6) \3: \1/'
grep -E '^charge: 100000 ' "$out" | sed -E 's/^charge: (.*)$/renewals: \1 (goal < 20 s)/'
grep -E '^ledger:' "$out" | head -n 1
grep -E '^instr:' "$out"
exit $rc
