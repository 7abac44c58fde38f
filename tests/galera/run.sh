#!/usr/bin/env bash
# tally on a three-node MariaDB Galera cluster, on loopback (make
# test-galera; not part of make check: it takes a few minutes of both
# cores).  Three mariadbd nodes with deploy/mariadb.cnf + deploy/galera.cnf,
# two responder pools (lighttpd + tally-fcgi) on nodes 1 and 2.  First the
# integration suite (tests/integration/, its own stack and database on
# node 1; the tests that stop MariaDB skip), its data then compared on the
# three nodes; then a debit load against one pool and then both, two
# schedulers on nodes 1 and 2 at once over due subscriptions, debits of a
# few hot accounts through both pools at once (certification conflicts:
# there must be some), then SIGKILL of node 2 under load and its rejoin.
# Checks: every 2xx debit is in the ledger once, no debit twice, every
# ledger sums to its balance, every subscription charged once, failures
# are clean 503s (or retried on the other pool), the node rejoins; last,
# node 1 alone (non-primary) answers 503.  Prints debits/s on one node and
# on the cluster, and the conflicts counted by the nodes.
#
# usage: tests/galera/run.sh [SECONDS per load phase, default 10]
# GALERA_KEEP=1 keeps the temp folder (logs, datadirs) after a pass too.
# GALERA_SUITE=0 leaves the integration suite out, GALERA_SUITE="FILES"
# runs those test files only; GALERA_SUITE_ONLY=1 stops after the suite.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${1:-10}
WORKERS=${GALERA_WORKERS:-16}
NLOAD=200	# debit accounts
NSUB=2000	# due subscriptions
NHOT=4		# hot accounts, debited on two nodes at once
SUITE=${GALERA_SUITE:-1}
# shellcheck source=../stack.sh
. "$ROOT/tests/stack.sh"	# stack_free_port, stack_ini_set

"$ROOT/deploy/install-deps.sh" galera
[ -x "$ROOT/bin/tally-fcgi" ] || { echo "build first: make" >&2; exit 1; }

W=$(mktemp -d /tmp/tally-galera.XXXXXX)
FAIL=0
say() { printf 'galera: %s\n' "$*"; }
bad() { printf 'galera: FAIL: %s\n' "$*"; FAIL=1; }
root_flag() { [ "$(id -u)" -eq 0 ] && printf -- '--user=root'; true; }

base=$((21000 + RANDOM % 200 * 10))
declare -a SQLP GCP ISTP SSTP
p=$base
for i in 1 2 3; do
	SQLP[i]=$(stack_free_port "$p"); p=$((SQLP[i] + 1))
	GCP[i]=$(stack_free_port "$p"); p=$((GCP[i] + 1))
	ISTP[i]=$(stack_free_port "$p"); p=$((ISTP[i] + 1))
	SSTP[i]=$(stack_free_port "$p"); p=$((SSTP[i] + 1))
done
GCOMM="gcomm://127.0.0.1:${GCP[1]},127.0.0.1:${GCP[2]},127.0.0.1:${GCP[3]}"

node_sql() { # N SQL: query node N over its socket
	mariadb --no-defaults -S "$W/n$1/sock" -uroot --local-infile=1 -N -B -e "$2"
}
q() { node_sql "${QN:-1}" "USE tally; $1"; }

start_node() { # N [--wsrep-new-cluster]
	local n=$1
	shift
	rm -f "$W/n$n/sock"
	# Each node: tally's server settings, then Galera's, then its own
	# addresses (later lines win).
	setsid mariadbd --defaults-file="$W/node.cnf" --datadir="$W/n$n/data" \
	    --socket="$W/n$n/sock" --port="${SQLP[n]}" --bind-address=127.0.0.1 \
	    --pid-file="$W/n$n/pid" --log-error="$W/n$n/err.log" $(root_flag) \
	    --innodb-buffer-pool-size=64M --max-connections=500 \
	    --wsrep-cluster-address="$GCOMM" --wsrep-node-name="node$n" \
	    --wsrep-node-address="127.0.0.1:${GCP[n]}" \
	    --wsrep-node-incoming-address="127.0.0.1:${SQLP[n]}" \
	    --wsrep-sst-receive-address="127.0.0.1:${SSTP[n]}" \
	    --wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:${GCP[n]};ist.recv_addr=127.0.0.1:${ISTP[n]};gcache.size=64M" \
	    "$@" </dev/null >>"$W/n$n/out" 2>&1 &
	echo $! >"$W/n$n/started"
}

wait_size() { # N SIZE SECONDS: node N is synced in a cluster of SIZE
	local i s st
	for i in $(seq 1 $(($3 * 5))); do
		s=$(node_sql "$1" "SHOW STATUS LIKE 'wsrep_cluster_size'" 2>/dev/null | cut -f2) || true
		st=$(node_sql "$1" "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2) || true
		[ "$s" = "$2" ] && [ "$st" = Synced ] && return 0
		sleep 0.2
	done
	return 1
}

cleanup() {
	local rc=$? n
	for n in 1 2; do
		[ -d "$W/pool$n" ] && TALLY_VAR=$W/pool$n TALLY_CONFIG=$W/pool$n/tally.conf \
		    "$ROOT/deploy/tally-dev" stop >/dev/null 2>&1 || true
	done
	for n in 3 2 1; do
		[ -f "$W/n$n/started" ] || continue
		node_sql "$n" shutdown >/dev/null 2>&1 ||
		    mariadb-admin --no-defaults -S "$W/n$n/sock" -uroot shutdown >/dev/null 2>&1 || true
	done
	for n in 3 2 1; do
		[ -f "$W/n$n/started" ] || continue
		local pid
		pid=$(cat "$W/n$n/started")
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	if [ $rc -ne 0 ] || [ $FAIL -ne 0 ] || [ -n "${GALERA_KEEP:-}" ]; then
		for n in 1 2 3; do
			echo "--- node $n: errors in $W/n$n/err.log"
			grep -a "ERROR\|WSREP_SST" "$W/n$n/err.log" | tail -n 15 2>/dev/null || true
		done
		echo "--- kept $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT INT TERM

# 1. Three nodes.
cat "$ROOT/deploy/mariadb.cnf" "$ROOT/deploy/galera.cnf" >"$W/node.cnf"
for n in 1 2 3; do
	mkdir -p "$W/n$n/data"
	mariadb-install-db --no-defaults --auth-root-authentication-method=normal \
	    --datadir="$W/n$n/data" $(root_flag) --skip-test-db >"$W/n$n/install.log" 2>&1 ||
	    { cat "$W/n$n/install.log"; exit 1; }
	# The rsync state transfer's daemon, started by root, writes as
	# nobody (it sets no uid): let it into the joiner's datadir.
	if [ "$(id -u)" -eq 0 ]; then
		chmod 755 "$W" "$W/n$n"
		chmod -R a+rwX "$W/n$n/data"
	fi
done
t0=$(date +%s)
start_node 1 --wsrep-new-cluster
wait_size 1 1 60 || { bad "node 1 did not start a cluster"; exit 1; }
start_node 2
wait_size 2 2 120 || { bad "node 2 did not join"; exit 1; }
start_node 3
wait_size 3 3 120 || { bad "node 3 did not join"; exit 1; }
say "cluster of 3 up in $(($(date +%s) - t0)) s (sql ports ${SQLP[1]} ${SQLP[2]} ${SQLP[3]})"
# tally connects over TCP as root with no password (config.sample).
node_sql 1 "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
    GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION"
node_sql 1 "SELECT GET_LOCK('tally.galera.probe', 0), RELEASE_LOCK('tally.galera.probe')" \
    >"$W/getlock.out" 2>&1 || true
say "GET_LOCK under wsrep: $(tr '\t\n' '  ' <"$W/getlock.out")"

# 2. Two pools, one config each: the same secrets, another node.
export TALLY_SERVICE_KEY
TALLY_SERVICE_KEY=$(openssl rand -hex 24)
jwt=$(openssl rand -hex 32) adm=$(openssl rand -hex 24) enc=$(openssl rand -hex 32)
declare -a URL
for n in 1 2; do
	mkdir -p "$W/pool$n"
	export TALLY_CONFIG=$W/pool$n/tally.conf
	hp=$(stack_free_port $((p + 100 * n)))
	sp=$(stack_free_port $((hp + 1)))
	sed -e "s/^jwt_secret =.*/jwt_secret = $jwt/" \
	    -e "s/^service_key =.*/service_key = $TALLY_SERVICE_KEY/" \
	    -e "s/^admin_key =.*/admin_key = $adm/" \
	    -e "s/^encryption_key =.*/encryption_key = $enc/" \
	    -e "s/^listen =.*/listen = 127.0.0.1:$hp/" \
	    -e "s|^public_url =.*|public_url = http://127.0.0.1:$hp|" \
	    -e "s|^url = smtp://.*|url = smtp://127.0.0.1:$sp|" \
	    "$ROOT/config.sample" >"$TALLY_CONFIG"
	stack_ini_set database host 127.0.0.1
	stack_ini_set database port "${SQLP[n]}"
	URL[n]=http://127.0.0.1:$hp
	# migrate runs on node 1 first (tally-dev start runs it); the DDL
	# replicates (TOI), so node 2's pool finds nothing to do.
	TALLY_VAR=$W/pool$n TALLY_NO_SCHEDULER=1 "$ROOT/deploy/tally-dev" start \
	    2>>"$W/pool$n/start.log" || { cat "$W/pool$n/start.log"; bad "pool $n"; exit 1; }
done
say "pools: ${URL[1]} (node 1), ${URL[2]} (node 2)"
unset TALLY_CONFIG

# 3. The integration suite with its stack's database on node 1
# (tests/stack.sh, TALLY_TEST_DB_SOCKET: a database of its own, dropped
# at the end; the tests that stop MariaDB skip).  Its responders and its
# SQL checks both use node 1, so reads see the writes; the other nodes
# apply every write set and must end with the same data: the suite's
# database is kept (TALLY_TEST_DB_KEEP), every table's checksum compared
# on the three nodes, then dropped.
if [ "$SUITE" != 0 ]; then
	if [ "$SUITE" = 1 ]; then
		set -- "$ROOT"/tests/integration/*.test.mjs
	else
		# shellcheck disable=SC2086
		set -- $SUITE
	fi
	t0=$(date +%s)
	if (cd "$ROOT" && TALLY_TEST_DB_SOCKET=$W/n1/sock TALLY_TEST_DB_KEEP=1 \
	    tests/integration/run.sh "$@") >"$W/suite.log" 2>&1; then
		suite_rc=0
	else
		suite_rc=$?
	fi
	res=$(grep -aE '^# (tests|pass|fail|cancelled|skipped) ' "$W/suite.log" | tr -d '#' | tr '\n' ',' | sed 's/^ //;s/,$//;s/,  */, /g')
	say "integration suite on node 1 ($# files): $res, in $(($(date +%s) - t0)) s (log: $W/suite.log)"
	grep -a '^ *ok .* # SKIP' "$W/suite.log" | sed 's/^ *ok [0-9]* - /galera:   skipped: /'
	if [ "$suite_rc" -ne 0 ]; then
		grep -a '^not ok\|^    not ok' "$W/suite.log" | sed 's/^ */galera:   /' | head -20
		bad "the integration suite on node 1 exited $suite_rc"
	fi
	sdb=$(sed -n 's/^database: external, .* database \(tally_[a-z0-9_]*\)$/\1/p' "$W/suite.log")
	if [ -n "$sdb" ]; then
		tables=$(node_sql 1 "SET SESSION group_concat_max_len = 65536; SELECT GROUP_CONCAT(CONCAT('\`', table_name, '\`')) FROM information_schema.tables
		    WHERE table_schema = '$sdb' AND table_type = 'BASE TABLE'")
		for n in 1 2 3; do
			# wsrep_sync_wait: after every write set committed anywhere.
			node_sql "$n" "SET SESSION wsrep_sync_wait = 1; USE $sdb; CHECKSUM TABLE $tables" >"$W/sum$n.txt"
		done
		if cmp -s "$W/sum1.txt" "$W/sum2.txt" && cmp -s "$W/sum1.txt" "$W/sum3.txt"; then
			say "the suite's database $sdb: $(wc -l <"$W/sum1.txt") tables, $(node_sql 1 "SELECT SUM(table_rows)
			    FROM information_schema.tables WHERE table_schema = '$sdb'") rows (about), the same checksums on the 3 nodes"
		else
			bad "the suite's database differs between the nodes: $(diff "$W/sum1.txt" "$W/sum2.txt" | head -5) $(diff "$W/sum1.txt" "$W/sum3.txt" | head -5)"
		fi
		node_sql 1 "DROP DATABASE \`$sdb\`"
	else
		bad "the suite did not say which database it used"
	fi
	wait_size 1 3 30 || bad "the cluster is not 3 synced nodes after the suite"
	[ -n "${GALERA_SUITE_ONLY:-}" ] && { [ $FAIL -eq 0 ] && say ok; exit $FAIL; }
fi

# Accounts for the debits, and due subscriptions (bulkSubs in
# tests/integration/lib.mjs): a large balance, a funding ledger row.
q "INSERT INTO accounts (user_id, balance, created_at, updated_at)
    SELECT CONCAT('gl-', LPAD(seq, 5, '0')), 1000000, UTC_TIMESTAMP(), UTC_TIMESTAMP() FROM seq_1_to_$NLOAD;
  INSERT INTO accounts (user_id, balance, created_at, updated_at)
    SELECT CONCAT('gs-', LPAD(seq, 5, '0')), 100, UTC_TIMESTAMP(), UTC_TIMESTAMP() FROM seq_1_to_$NSUB;
  INSERT INTO ledger (account_id, kind, amount, balance_after, description, created_at)
    SELECT id, 'adjustment', balance, balance, 'galera funding', UTC_TIMESTAMP() FROM accounts
    WHERE user_id LIKE 'gl-%' OR user_id LIKE 'gs-%' ORDER BY id;
  SET @s = UTC_TIMESTAMP() - INTERVAL 1 MONTH - INTERVAL 1 HOUR;
  INSERT INTO subscriptions (account_id, user_id, product, status, billing_interval, anchor_at, end_months,
      current_period_start, current_period_end, next_charge_at, cancel_at_period_end, created_at, updated_at)
    SELECT id, user_id, 'cloud_sync', 'active', 'monthly', @s, 1, @s, @s + INTERVAL 1 MONTH,
      @s + INTERVAL 1 MONTH, 0, UTC_TIMESTAMP(), UTC_TIMESTAMP() FROM accounts WHERE user_id LIKE 'gs-%' ORDER BY id"

load() { # SECONDS OUT URL[,URL]
	node "$ROOT/tests/galera/load.mjs" "$1" "$WORKERS" "$NLOAD" gl "$3" >"$W/$2.json"
}
# Certification conflicts so far, per node: a local transaction that
# failed certification at COMMIT (cert_failures), or that a replicated
# write set aborted mid-way (bf_aborts); both reach tally as error 1213.
conflicts() { # N: "cert_failures bf_aborts" of node N
	node_sql "$1" "SHOW GLOBAL STATUS WHERE Variable_name IN
	    ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')" |
	    awk '$1 ~ /cert/ { c = $2 } $1 ~ /bf/ { b = $2 } END { print c + 0, b + 0 }'
}
declare -a CF BF
conflicts_mark() { local n; for n in 1 2; do read -r "CF[$n]" "BF[$n]" <<<"$(conflicts "$n")"; done; }
conflicts_since() { # since conflicts_mark: per node in CONFLICTS, the sum in NCONF
	local n c b
	NCONF=0 CONFLICTS=
	for n in 1 2; do
		read -r c b <<<"$(conflicts "$n")"
		CONFLICTS="$CONFLICTS${CONFLICTS:+; }node $n: $((c - CF[n])) cert failures, $((b - BF[n])) BF aborts"
		NCONF=$((NCONF + c - CF[n] + b - BF[n]))
	done
}
# tally's own count of transactions it ran again (1213, lock wait
# timeout): tally_db_errors_total{kind="retry"} of a pool.
pool_retries() { # N
	curl -s -H "X-Admin-Key: $adm" "${URL[$1]}/api/v1/admin/metrics" |
	    sed -n 's/^tally_db_errors_total{kind="retry"} \([0-9]*\)$/\1/p'
}
rate() { # OUT: 2xx debits per second
	node -e 'const o=JSON.parse(require("fs").readFileSync(process.argv[1]));
	    console.log((o.ok.length/o.seconds).toFixed(0), JSON.stringify(o.statuses), "retries", o.retries)' "$W/$1.json"
}

# 4. Throughput: one pool on one node, then both pools on two nodes.
load "$SECS" one "${URL[1]}"
say "debits, one pool on node 1:    $(rate one) /s"
load "$SECS" two "${URL[1]},${URL[2]}"
say "debits, two pools, nodes 1+2:  $(rate two) /s"

# 5. Two schedulers at once, on nodes 1 and 2, over the due subscriptions:
# both claim the same rows (SKIP LOCKED skips only rows locked on the
# same node), so their charges collide at certification.
conflicts_mark
r1=$(pool_retries 1) r2=$(pool_retries 2)
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for n in 1 2; do
	(cd "$ROOT" && TALLY_CONFIG=$W/pool$n/tally.conf "$ROOT/bin/tally-scheduler" --once --now "$now" \
	    >"$W/sched$n.out" 2>"$W/sched$n.log") &
	eval "sp$n=\$!"
done
# shellcheck disable=SC2154
wait "$sp1" || bad "scheduler on node 1 exited $?"
# shellcheck disable=SC2154
wait "$sp2" || bad "scheduler on node 2 exited $?"
for n in 1 2; do
	grep '"sched.job"' "$W/sched$n.log" | grep -q '"error"' &&
	    bad "scheduler on node $n: a job failed: $(grep '"error"' "$W/sched$n.log" | head -3)"
	say "scheduler $n, charge-recurring: $(grep 'charge-recurring' "$W/sched$n.log" | head -1 | cut -c1-300)"
done
read -r charged twice unbalanced <<<"$(q "SELECT
    (SELECT COUNT(*) FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE a.user_id LIKE 'gs-%' AND l.kind = 'subscription'),
    (SELECT COUNT(*) FROM (SELECT l.account_id FROM ledger l JOIN accounts a ON a.id = l.account_id
        WHERE a.user_id LIKE 'gs-%' AND l.kind = 'subscription' GROUP BY l.account_id HAVING COUNT(*) > 1) x),
    (SELECT COUNT(*) FROM accounts a WHERE a.user_id LIKE 'gs-%' AND a.balance <> 70)")"
say "subscriptions: $charged of $NSUB charged, $twice charged twice, $unbalanced with a balance other than 70"
[ "$charged" = "$NSUB" ] && [ "$twice" = 0 ] && [ "$unbalanced" = 0 ] || bad "subscription charges"
conflicts_since
say "certification conflicts of the two schedulers: $CONFLICTS"

# 6. A forced certification conflict: many debits at once of the same few
# accounts through both pools (nodes 1 and 2), so that two nodes write
# one account row at the same moment.  The loser's COMMIT fails
# certification (or a replicated write set aborts it): error 1213, and
# tally runs the transaction again on the new balance.  The last hot
# account has little money: concurrent debits of it must end in 402,
# never below zero.  Checked: there were conflicts (the retry path ran),
# no answer but 200, 402 and 503, every 2xx debit in the ledger once and
# no other, every hot ledger summing to its balance, none negative.
q "INSERT INTO accounts (user_id, balance, created_at, updated_at)
    SELECT CONCAT('gh-', LPAD(seq, 5, '0')), IF(seq = $NHOT, 100, 1000000), UTC_TIMESTAMP(), UTC_TIMESTAMP()
    FROM seq_1_to_$NHOT;
  INSERT INTO ledger (account_id, kind, amount, balance_after, description, created_at)
    SELECT id, 'adjustment', balance, balance, 'galera funding', UTC_TIMESTAMP() FROM accounts
    WHERE user_id LIKE 'gh-%' ORDER BY id"
conflicts_mark
h1=$(pool_retries 1) h2=$(pool_retries 2)
GALERA_OP=galera-hot node "$ROOT/tests/galera/load.mjs" "$SECS" $((WORKERS * 2)) "$NHOT" gh \
    "${URL[1]},${URL[2]}" >"$W/hot.json"
conflicts_since
say "hot accounts ($NHOT, $((WORKERS * 2)) clients on both pools): $(rate hot) /s"
say "certification conflicts of the hot debits: $CONFLICTS"
say "transactions tally ran again (tally_db_errors_total{kind=\"retry\"}): hot debits: pool 1 $(($(pool_retries 1) - h1)), pool 2 $(($(pool_retries 2) - h2)); both phases: $(($(pool_retries 1) - r1 + $(pool_retries 2) - r2))"
[ "$NCONF" -gt 0 ] || bad "no certification conflict on the hot accounts: the retry path was not exercised"
node -e '
const o = JSON.parse(require("fs").readFileSync(process.argv[1]));
const bad = Object.keys(o.statuses).filter((s) => !["200", "402", "503"].includes(s));
if (bad.length) console.error(`answers other than 200, 402, 503: ${JSON.stringify(o.statuses)}`);
require("fs").writeFileSync(process.argv[2], o.ok.map(([k, u, tx]) => `${k}\t${u}\t${tx}`).join("\n") + "\n");
' "$W/hot.json" "$W/hot-ok.tsv" 2>"$W/hot-unclean.txt"
[ -s "$W/hot-unclean.txt" ] && bad "hot debits: $(cat "$W/hot-unclean.txt")"
q "CREATE TABLE galera_hot_ok (k VARCHAR(64) PRIMARY KEY, user_id VARCHAR(64), tx BIGINT) ENGINE=InnoDB;
  LOAD DATA LOCAL INFILE '$W/hot-ok.tsv' INTO TABLE galera_hot_ok (k, user_id, tx)"
read -r nok missing extra unbal neg <<<"$(q "SELECT (SELECT COUNT(*) FROM galera_hot_ok),
    (SELECT COUNT(*) FROM galera_hot_ok o LEFT JOIN ledger l ON l.id = o.tx AND l.description = o.k
        AND l.kind = 'usage' AND l.amount = -1 WHERE l.id IS NULL),
    (SELECT COUNT(*) FROM ledger l LEFT JOIN galera_hot_ok o ON o.tx = l.id
        WHERE l.operation = 'galera-hot' AND o.k IS NULL),
    (SELECT COUNT(*) FROM accounts a WHERE a.user_id LIKE 'gh-%'
        AND a.balance <> (SELECT COALESCE(SUM(amount), 0) FROM ledger l WHERE l.account_id = a.id)),
    (SELECT COUNT(*) FROM accounts a WHERE a.user_id LIKE 'gh-%' AND a.balance < 0)")"
say "hot accounts: $nok 2xx debits, $missing not in the ledger, $extra in the ledger without a 2xx, $unbal ledgers that do not sum to their balance, $neg balances below zero"
[ "$nok" -gt 0 ] && [ "$missing" = 0 ] && [ "$extra" = 0 ] && [ "$unbal" = 0 ] && [ "$neg" = 0 ] ||
    bad "hot account debits"

# 7. SIGKILL node 2 under load on both pools, then restart it.
load $((SECS + 10)) kill "${URL[1]},${URL[2]}" &
lp=$!
sleep $((SECS / 2 + 1))
kill -KILL "$(cat "$W/n2/started")"
say "node 2 killed (SIGKILL) under load"
sleep 3
# As galera_recovery does for systemd: after a crash the node's state
# file has no position (seqno -1), so read it from InnoDB first; with it
# the node rejoins by an incremental transfer (IST) from the others'
# write-set cache, not a full copy.
[ "$(id -u)" -eq 0 ] && chmod -R a+rwX "$W/n2/data"
mariadbd --defaults-file="$W/node.cnf" --datadir="$W/n2/data" $(root_flag) \
    --innodb-buffer-pool-size=64M --wsrep-recover --wsrep-cluster-address=gcomm:// \
    --skip-networking --socket="$W/n2/recover.sock" --log-error="$W/n2/recover.log" \
    >/dev/null 2>&1 || true
pos=$(sed -n 's/.*WSREP: Recovered position: *\([0-9a-f-]*:[0-9-]*\).*/\1/p' \
    "$W/n2/recover.log" 2>/dev/null | tail -1) || true
say "node 2 recovered position: ${pos:-none}"
start_node 2 ${pos:+--wsrep-start-position="$pos"}
wait "$lp" || bad "the load during the kill exited $?"
say "debits while node 2 died and came back: $(rate kill) /s"
if wait_size 2 3 180; then
	# The rsync script runs for an IST too; the provider's own line
	# tells which it was.
	ist=$(sed -n 's/.*Receiving IST: \([0-9]*\) writesets.*/\1/p' "$W/n2/err.log" | tail -1)
	if [ -n "$ist" ]; then
		say "node 2 rejoined by IST ($ist write sets): cluster size 3, synced"
	else
		say "node 2 rejoined by a full state transfer (SST): cluster size 3, synced"
	fi
else
	bad "node 2 did not rejoin"
fi

# 8. The checks, on node 1 and again on node 2 (the rejoined one).
node -e '
const fs = require("fs");
const rows = [];
for (const f of process.argv.slice(1)) {
  const o = JSON.parse(fs.readFileSync(f));
  for (const [k, u, tx] of o.ok) rows.push(`${k}\t${u}\t${tx}`);
  for (const [k, u, st] of o.failed) if (st !== 503 && st !== "neterr" && st !== 502)
    console.error(`unclean failure ${st} for ${k}`);
}
fs.writeFileSync(process.argv[1].replace(/one\.json$/, "ok.tsv"), rows.join("\n") + "\n");
' "$W/one.json" "$W/two.json" "$W/kill.json" 2>"$W/unclean.txt"
[ -s "$W/unclean.txt" ] && bad "failures other than 503 / lost connection: $(sort "$W/unclean.txt" | uniq -c | head -5)"
nok=$(wc -l <"$W/ok.tsv")
for QN in 1 2; do
	export QN
	q "CREATE TABLE IF NOT EXISTS galera_ok (k VARCHAR(64) PRIMARY KEY, user_id VARCHAR(64), tx BIGINT) ENGINE=InnoDB" 2>/dev/null
	if [ "$QN" = 1 ]; then
		q "LOAD DATA LOCAL INFILE '$W/ok.tsv' INTO TABLE galera_ok (k, user_id, tx)"
	fi
	read -r missing dup unbal <<<"$(q "SELECT
	    (SELECT COUNT(*) FROM galera_ok o LEFT JOIN ledger l ON l.id = o.tx AND l.description = o.k
	        AND l.kind = 'usage' AND l.amount = -1 WHERE l.id IS NULL),
	    (SELECT COUNT(*) FROM (SELECT description FROM ledger WHERE kind = 'usage' AND operation = 'galera'
	        GROUP BY description HAVING COUNT(*) > 1) x),
	    (SELECT COUNT(*) FROM accounts a WHERE a.balance <> (SELECT COALESCE(SUM(amount), 0) FROM ledger l WHERE l.account_id = a.id))")"
	say "node $QN: $nok 2xx debits, $missing not in the ledger, $dup debited twice, $unbal ledgers that do not sum to their balance"
	[ "$missing" = 0 ] && [ "$dup" = 0 ] && [ "$unbal" = 0 ] || bad "ledger on node $QN"
done
unset QN
say "responder errors logged by pool 2 while node 2 was away: $(grep -a '"lvl":"error"' "$W/pool2/fcgi.log" |
    grep -ao '"db":"[0-9]*' | sort | uniq -c | tr '\n' ' ')"

# 9. A node cut off from the majority: kill nodes 2 and 3, node 1 (one of
# three) leaves the primary component and answers every statement with
# error 1047.  Its pool must answer 503 (retry elsewhere), not 500.
kill -KILL "$(cat "$W/n3/started")" "$(cat "$W/n2/started")"
for _ in $(seq 1 100); do
	st=$(node_sql 1 "SHOW STATUS LIKE 'wsrep_cluster_status'" 2>/dev/null | cut -f2) || true
	[ "$st" = non-Primary ] && break
	sleep 0.2
done
code=$(curl -s -o "$W/np.json" -w '%{http_code}' -H "X-Service-Key: $TALLY_SERVICE_KEY" \
    "${URL[1]}/api/v1/internal/credits/balance/gl-00001") || true
say "node 1 alone ($st): the balance answers $code $(head -c 200 "$W/np.json")"
[ "$code" = 503 ] || bad "a non-primary node must give 503, not $code"
[ $FAIL -eq 0 ] && say "ok"
exit $FAIL
