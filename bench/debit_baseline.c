/*
 * debit_baseline: the same debit as POST /api/v1/internal/credits/use,
 * straight against MariaDB with no HTTP, FastCGI or tally code in between,
 * so bench/debit.sh can tell what the service costs on top of the database.
 *
 * N threads, one connection each (session settings as tally's: UTC, strict
 * modes, READ COMMITTED), each looping for the given time:
 *
 *   START TRANSACTION
 *   UPDATE accounts SET balance = balance - 1 WHERE id = ? AND balance >= 1
 *   INSERT INTO ledger (account_id, kind, amount, balance_after, operation,
 *       created_at) SELECT id, 'usage', -1, balance, ?, UTC_TIMESTAMP()
 *       FROM accounts WHERE id = ?       -- the row we hold locked
 *   COMMIT
 *
 * with prepared statements, on an account picked at random among the ones
 * given.  Deadlocks (1213) and lock-wait timeouts (1205) are rolled back and
 * retried; any other error stops the program.  Only committed debits count.
 *
 * cc -O2 -o debit_baseline bench/debit_baseline.c \
 *     $(pkg-config --cflags --libs libmariadb) -pthread
 * usage: debit_baseline -S SOCKET [-D DB] -c CONNECTIONS -s SECONDS
 *            -a ID,ID,...  [-o OPERATION]
 * prints: baseline: ops=N seconds=S ops_per_s=R retries=T
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#define MAX_CONNS	1024
#define MAX_IDS		100000

static const char *sock, *dbname = "tally", *operation = "baseline";
static long long	 ids[MAX_IDS];
static size_t		 nids;
static atomic_int	 stop_flag, failed;
static pthread_barrier_t start_barrier;

struct worker {
	pthread_t	 th;
	int		 index;
	long long	 ops, retries;
};

static const char upd_sql[] =
	"UPDATE accounts SET balance = balance - 1 "
	"WHERE id = ? AND balance >= 1";
static const char ins_sql[] =
	"INSERT INTO ledger (account_id, kind, amount, balance_after, "
	"operation, created_at) SELECT id, 'usage', -1, balance, ?, "
	"UTC_TIMESTAMP() FROM accounts WHERE id = ?";

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
fail(struct worker *w, const char *what, unsigned int no, const char *msg)
{
	fprintf(stderr, "debit_baseline: thread %d: %s: %u %s\n", w->index,
	    what, no, msg);
	atomic_store(&failed, 1);
	atomic_store(&stop_flag, 1);
}

static int
retryable(unsigned int no)
{
	return no == 1213 || no == 1205;
}

static void *
worker(void *arg)
{
	struct worker	*w = arg;
	MYSQL		*c;
	MYSQL_STMT	*upd = NULL, *ins = NULL;
	MYSQL_BIND	 ub[1], ib[2];
	long long	 id = 0;
	unsigned long	 oplen = strlen(operation);
	uint64_t	 rnd = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->index + 1);
	unsigned int	 no;
	int		 ready = 0;

	mysql_thread_init();
	if ((c = mysql_init(NULL)) == NULL)
		goto out;
	mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(c, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00', "
	    "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
	    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'");
	mysql_options(c, MYSQL_INIT_COMMAND,
	    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	if (mysql_real_connect(c, NULL, "root", NULL, dbname, 0, sock, 0) ==
	    NULL) {
		fail(w, "connect", mysql_errno(c), mysql_error(c));
		goto out;
	}
	if ((upd = mysql_stmt_init(c)) == NULL ||
	    (ins = mysql_stmt_init(c)) == NULL ||
	    mysql_stmt_prepare(upd, upd_sql, sizeof(upd_sql) - 1) != 0 ||
	    mysql_stmt_prepare(ins, ins_sql, sizeof(ins_sql) - 1) != 0) {
		fail(w, "prepare", mysql_errno(c), mysql_error(c));
		goto out;
	}
	memset(ub, 0, sizeof(ub));
	ub[0].buffer_type = MYSQL_TYPE_LONGLONG;
	ub[0].buffer = &id;
	memset(ib, 0, sizeof(ib));
	ib[0].buffer_type = MYSQL_TYPE_STRING;
	ib[0].buffer = (void *)(uintptr_t)operation;
	ib[0].buffer_length = oplen;
	ib[0].length = &oplen;
	ib[1].buffer_type = MYSQL_TYPE_LONGLONG;
	ib[1].buffer = &id;
	if (mysql_stmt_bind_param(upd, ub) != 0 ||
	    mysql_stmt_bind_param(ins, ib) != 0) {
		fail(w, "bind", mysql_stmt_errno(upd), mysql_stmt_error(upd));
		goto out;
	}
	ready = 1;
out:
	pthread_barrier_wait(&start_barrier);
	while (ready && !atomic_load_explicit(&stop_flag,
	    memory_order_relaxed)) {
		/* xorshift64: a random account of the given ones. */
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		id = ids[rnd % nids];
		if (mysql_query(c, "START TRANSACTION") != 0) {
			fail(w, "START TRANSACTION", mysql_errno(c),
			    mysql_error(c));
			break;
		}
		if (mysql_stmt_execute(upd) != 0) {
			no = mysql_stmt_errno(upd);
			if (retryable(no))
				goto retry;
			fail(w, "UPDATE", no, mysql_stmt_error(upd));
			break;
		}
		if (mysql_stmt_affected_rows(upd) != 1) {
			fail(w, "UPDATE", 0, "no row changed: account missing "
			    "or its balance is exhausted");
			break;
		}
		if (mysql_stmt_execute(ins) != 0) {
			no = mysql_stmt_errno(ins);
			if (retryable(no))
				goto retry;
			fail(w, "INSERT", no, mysql_stmt_error(ins));
			break;
		}
		if (mysql_commit(c) != 0) {
			no = mysql_errno(c);
			if (retryable(no))
				goto retry;
			fail(w, "COMMIT", no, mysql_error(c));
			break;
		}
		w->ops++;
		continue;
retry:
		w->retries++;
		mysql_rollback(c);
	}
	if (upd != NULL)
		mysql_stmt_close(upd);
	if (ins != NULL)
		mysql_stmt_close(ins);
	if (c != NULL)
		mysql_close(c);
	mysql_thread_end();
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: debit_baseline -S SOCKET [-D DB] -c CONNECTIONS"
	    " -s SECONDS -a ID,ID,... [-o OPERATION]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static struct worker ws[MAX_CONNS];
	struct timespec	 ts;
	char		*list = NULL, *p, *end;
	double		 seconds = 10, t0, t1;
	long long	 ops = 0, retries = 0;
	long		 nconn = 0;
	int		 ch, i;

	while ((ch = getopt(argc, argv, "S:D:c:s:a:o:")) != -1)
		switch (ch) {
		case 'S': sock = optarg; break;
		case 'D': dbname = optarg; break;
		case 'c': nconn = strtol(optarg, NULL, 10); break;
		case 's': seconds = strtod(optarg, NULL); break;
		case 'a': list = optarg; break;
		case 'o': operation = optarg; break;
		default: usage();
		}
	if (sock == NULL || list == NULL || nconn < 1 || nconn > MAX_CONNS ||
	    seconds <= 0)
		usage();
	for (p = list; *p != '\0' && nids < MAX_IDS; p = end) {
		errno = 0;
		ids[nids] = strtoll(p, &end, 10);
		if (end == p || errno != 0 || ids[nids] <= 0)
			usage();
		nids++;
		if (*end == ',')
			end++;
	}
	if (nids == 0)
		usage();
	if (mysql_library_init(0, NULL, NULL) != 0) {
		fprintf(stderr, "debit_baseline: mysql_library_init failed\n");
		return 1;
	}
	pthread_barrier_init(&start_barrier, NULL, (unsigned)nconn + 1);
	for (i = 0; i < nconn; i++) {
		ws[i].index = i;
		if (pthread_create(&ws[i].th, NULL, worker, &ws[i]) != 0) {
			fprintf(stderr, "debit_baseline: pthread_create\n");
			return 1;
		}
	}
	/* Every thread is connected and prepared: the clock starts here. */
	pthread_barrier_wait(&start_barrier);
	t0 = now_s();
	ts.tv_sec = 0;
	ts.tv_nsec = 20 * 1000 * 1000;
	while (!atomic_load(&stop_flag) && now_s() - t0 < seconds)
		nanosleep(&ts, NULL);
	atomic_store(&stop_flag, 1);
	for (i = 0; i < nconn; i++) {
		pthread_join(ws[i].th, NULL);
		ops += ws[i].ops;
		retries += ws[i].retries;
	}
	t1 = now_s();	/* includes the transactions in flight at the stop */
	mysql_library_end();
	printf("baseline: ops=%lld seconds=%.2f ops_per_s=%.0f retries=%lld\n",
	    ops, t1 - t0, (double)ops / (t1 - t0), retries);
	return atomic_load(&failed) ? 1 : 0;
}
