/* MariaDB connection, statement cache, binding helpers and transactions. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "core/config.h"
#include "core/result.h"
#include "db/db.h"

#define DB_MAX_PARAMS	24
#define DB_MAX_COLS	32
#define DB_TX_TRIES	8

/* Transaction control and the connection check: constant text, no values. */
enum ctl_sql {
	CTL_BEGIN,
	CTL_PING,
	CTL_LOCK,
	CTL_UNLOCK,
	CTL__MAX
};

static const char *const ctl_sqls[CTL__MAX] = {
	[CTL_BEGIN] = "START TRANSACTION",
	[CTL_PING] = "SELECT 1",
	[CTL_LOCK] = "SELECT GET_LOCK(?, 0)",
	[CTL_UNLOCK] = "SELECT RELEASE_LOCK(?)",
};

/*
 * Every connection runs in UTC with strict SQL modes; READ COMMITTED keeps
 * InnoDB from taking gap locks, so concurrent debits of different accounts
 * do not deadlock on the ledger's indexes.
 */
static const char init_sql[] =
	"SET time_zone = '+00:00', "
	"sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
	"ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'";
static const char isolation_sql[] =
	"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";

int
db_library_init(void)
{
	return mysql_library_init(0, NULL, NULL) == 0 ? TALLY_OK :
	    TALLY_E_INTERNAL;
}

void
db_library_end(void)
{
	mysql_library_end();
}

struct db *
db_new(const struct core_config *cfg)
{
	struct db	*db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->cfg = cfg;
	return db;
}

static void
db_close(struct db *db)
{
	int	 g, i;

	for (g = 0; g < DB_G__MAX; g++)
		for (i = 0; i < DB_GROUP_STMTS; i++)
			if (db->cache[g][i].st != NULL) {
				mysql_stmt_close(db->cache[g][i].st);
				db->cache[g][i].st = NULL;
			}
	if (db->conn != NULL)
		mysql_close(db->conn);
	db->conn = NULL;
	db->in_tx = 0;
	db->multi = 0;
	db->call_open = 0;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_close(db);
	free(db);
}

/* Open a connection with the settings every tally connection shares. */
static MYSQL *
db_open(const struct core_config *cfg, int with_db, unsigned long flags,
    char *err, size_t errsz)
{
	MYSQL		*c;
	unsigned int	 timeout = 5, rwtimeout = 60;
	const char	*host = NULL, *sock = NULL;

	if ((c = mysql_init(NULL)) == NULL) {
		snprintf(err, errsz, "mysql_init failed");
		return NULL;
	}
	mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &rwtimeout);
	mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &rwtimeout);
	mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* Connector/C runs each MYSQL_INIT_COMMAND in turn. */
	mysql_options(c, MYSQL_INIT_COMMAND, init_sql);
	mysql_options(c, MYSQL_INIT_COMMAND, isolation_sql);
	if (cfg->db_host[0] != '\0')
		host = cfg->db_host;
	else
		sock = cfg->db_socket[0] != '\0' ? cfg->db_socket : NULL;
	if (mysql_real_connect(c, host, cfg->db_user, cfg->db_password,
	    with_db ? cfg->db_name : NULL, (unsigned int)cfg->db_port, sock,
	    flags) == NULL) {
		snprintf(err, errsz, "%s", mysql_error(c));
		mysql_close(c);
		return NULL;
	}
	return c;
}

int
db_connect(struct db *db)
{
	if (db->conn != NULL && !db->dead)
		return TALLY_OK;
	db_close(db);
	db->dead = 0;
	db->conn = db_open(db->cfg, 1, 0, db->err, sizeof(db->err));
	if (db->conn == NULL) {
		db->ncount[DB_ERR_UNAVAILABLE]++;
		return TALLY_E_UNAVAILABLE;
	}
	return TALLY_OK;
}

/* Classify a server or client error number. */
int
db_classify(struct db *db, unsigned int no, const char *msg)
{
	snprintf(db->err, sizeof(db->err), "%u: %s", no, msg);
	switch (no) {
	case 0:
		return TALLY_OK;
	case 1062:	/* ER_DUP_ENTRY */
		return TALLY_E_DUPLICATE;
	case 1690:	/* BIGINT value is out of range */
		return TALLY_E_OVERFLOW;
	case 1205:	/* ER_LOCK_WAIT_TIMEOUT */
	case 1213:	/* ER_LOCK_DEADLOCK; also Galera's certification
			 * failure (at COMMIT) and its brute-force abort of a
			 * local transaction by a replicated one (at any
			 * statement): db_tx and db_call run the whole
			 * transaction again */
		db->ncount[DB_ERR_RETRY]++;
		return TALLY_E_RETRY;
	case 1047:	/* Galera: "WSREP has not yet prepared node for
			 * application use" (the node is joining, or cut off
			 * from the cluster's primary component): a 503 the
			 * client may retry, on another node */
		db->ncount[DB_ERR_UNAVAILABLE]++;
		return TALLY_E_UNAVAILABLE;
	case 1053:	/* server shutdown in progress */
	case 1243:	/* unknown prepared statement: connection was reset */
	case 1927:	/* connection was killed */
	case 2002:
	case 2003:
	case 2006:	/* server has gone away */
	case 2013:	/* lost connection during query */
	case 2055:
	case 4031:	/* disconnected for inactivity */
		db->dead = 1;
		db->ncount[DB_ERR_UNAVAILABLE]++;
		return TALLY_E_UNAVAILABLE;
	default:
		db->ncount[DB_ERR_OTHER]++;
		return TALLY_E_INTERNAL;
	}
}

struct db_stmt *
db_stmt(struct db *db, enum db_group g, int idx, const char *sql)
{
	if (idx < 0 || idx >= DB_GROUP_STMTS || (int)g < 0 || g >= DB_G__MAX)
		return NULL;
	/* Prepared lazily by db_exec, on whichever connection is current. */
	db->cache[g][idx].sql = sql;
	db->cache[g][idx].db = db;
	return &db->cache[g][idx];
}

static int
prepare(struct db *db, struct db_stmt *s)
{
	MYSQL_STMT	*st;
	int		 rc;

	if (s->st != NULL && !db->dead)
		return TALLY_OK;
	if (db->dead && db->in_tx)
		return TALLY_E_UNAVAILABLE;
	if ((rc = db_connect(db)) != TALLY_OK)
		return rc;
	if ((st = mysql_stmt_init(db->conn)) == NULL)
		return TALLY_E_NOMEM;
	if (mysql_stmt_prepare(st, s->sql, strlen(s->sql)) != 0) {
		rc = db_classify(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		mysql_stmt_close(st);
		return rc == TALLY_OK ? TALLY_E_INTERNAL : rc;
	}
	s->st = st;
	return TALLY_OK;
}

static int
exec_once(struct db *db, MYSQL_STMT *st, const char *fmt, va_list ap)
{
	MYSQL_BIND	 b[DB_MAX_PARAMS];
	int64_t		 ints[DB_MAX_PARAMS];
	my_bool		 nulls[DB_MAX_PARAMS];
	unsigned long	 lens[DB_MAX_PARAMS];
	size_t		 i, n = strlen(fmt);
	const char	*str;
	int		 rc;

	if (n > DB_MAX_PARAMS || n != mysql_stmt_param_count(st)) {
		snprintf(db->err, sizeof(db->err), "bind: %zu params for %lu",
		    n, mysql_stmt_param_count(st));
		return TALLY_E_INTERNAL;
	}
	memset(b, 0, sizeof(b));
	for (i = 0; i < n; i++) {
		nulls[i] = 0;
		b[i].is_null = &nulls[i];
		switch (fmt[i]) {
		case 'i':
			ints[i] = va_arg(ap, int64_t);
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &ints[i];
			break;
		case 's':
			str = va_arg(ap, const char *);
			b[i].buffer_type = MYSQL_TYPE_STRING;
			if (str == NULL) {
				nulls[i] = 1;
				break;
			}
			lens[i] = strlen(str);
			b[i].buffer = (void *)(uintptr_t)str;
			b[i].buffer_length = lens[i];
			b[i].length = &lens[i];
			break;
		case 'b':
			b[i].buffer_type = MYSQL_TYPE_BLOB;
			b[i].buffer = (void *)(uintptr_t)va_arg(ap,
			    const void *);
			lens[i] = (unsigned long)va_arg(ap, size_t);
			b[i].buffer_length = lens[i];
			b[i].length = &lens[i];
			break;
		default:
			snprintf(db->err, sizeof(db->err), "bind: format %c",
			    fmt[i]);
			return TALLY_E_INTERNAL;
		}
	}
	if (n > 0 && mysql_stmt_bind_param(st, b) != 0)
		return db_classify(db, mysql_stmt_errno(st),
		    mysql_stmt_error(st));
	if (mysql_stmt_execute(st) != 0) {
		/*
		 * Only "could not send" (2006) proves the server never saw
		 * it; anything else may have run.
		 */
		if (mysql_stmt_errno(st) != 2006)
			db->sent = 1;
		return db_classify(db, mysql_stmt_errno(st),
		    mysql_stmt_error(st));
	}
	db->sent = 1;
	if (mysql_stmt_field_count(st) > 0 && mysql_stmt_store_result(st) != 0) {
		rc = db_classify(db, mysql_stmt_errno(st),
		    mysql_stmt_error(st));
		return rc == TALLY_OK ? TALLY_E_INTERNAL : rc;
	}
	return TALLY_OK;
}

int
db_exec(struct db *db, struct db_stmt *s, const char *fmt, ...)
{
	va_list	 ap;
	int	 rc, attempt;

	if (s == NULL)
		return TALLY_E_INTERNAL;
	if (db->in_tx && db->tx_failed != TALLY_OK)
		return db->tx_failed;
	for (attempt = 0; ; attempt++) {
		if ((rc = prepare(db, s)) == TALLY_OK) {
			va_start(ap, fmt);
			rc = exec_once(db, s->st, fmt, ap);
			va_end(ap);
		}
		/*
		 * Outside a transaction, a connection the server dropped
		 * (idle timeout, restart, KILL) is replaced once.  Inside
		 * one, the whole transaction failed: db_tx decides.
		 */
		if (rc != TALLY_E_UNAVAILABLE || db->in_tx || attempt == 1 ||
		    db->conn == NULL)
			return rc;
	}
}

int
db_fetch(struct db *db, struct db_stmt *s, const char *fmt, ...)
{
	MYSQL_STMT	*st = s != NULL ? s->st : NULL;
	MYSQL_BIND	 b[DB_MAX_COLS];
	my_bool		 nulls[DB_MAX_COLS], errs[DB_MAX_COLS];
	unsigned long	 lens[DB_MAX_COLS];
	void		*bufs[DB_MAX_COLS];
	int		*isnull[DB_MAX_COLS];
	size_t		 caps[DB_MAX_COLS];
	va_list		 ap;
	size_t		 i, n = strlen(fmt);
	int		 rc;

	if (st == NULL)
		return TALLY_E_INTERNAL;
	if (n > DB_MAX_COLS || n != mysql_stmt_field_count(st)) {
		snprintf(db->err, sizeof(db->err), "fetch: %zu outputs for %u",
		    n, mysql_stmt_field_count(st));
		return TALLY_E_INTERNAL;
	}
	memset(b, 0, sizeof(b));
	va_start(ap, fmt);
	for (i = 0; i < n; i++) {
		b[i].is_null = &nulls[i];
		b[i].error = &errs[i];
		b[i].length = &lens[i];
		isnull[i] = NULL;
		caps[i] = 0;
		switch (fmt[i]) {
		case 'I':
		case 'i':
			bufs[i] = va_arg(ap, int64_t *);
			if (fmt[i] == 'I')
				isnull[i] = va_arg(ap, int *);
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = bufs[i];
			break;
		case 'S':
		case 's':
			bufs[i] = va_arg(ap, char *);
			caps[i] = va_arg(ap, size_t);
			if (fmt[i] == 'S')
				isnull[i] = va_arg(ap, int *);
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = bufs[i];
			/* One byte is kept for the NUL we add. */
			b[i].buffer_length = caps[i] - 1;
			break;
		default:
			va_end(ap);
			return TALLY_E_INTERNAL;
		}
	}
	va_end(ap);
	if (mysql_stmt_bind_result(st, b) != 0)
		return db_classify(db, mysql_stmt_errno(st),
		    mysql_stmt_error(st));
	rc = mysql_stmt_fetch(st);
	if (rc == MYSQL_NO_DATA)
		return TALLY_E_NOTFOUND;
	if (rc == 1)
		return db_classify(db, mysql_stmt_errno(st),
		    mysql_stmt_error(st));
	for (i = 0; i < n; i++) {
		if (isnull[i] != NULL)
			*isnull[i] = nulls[i] != 0;
		if (fmt[i] == 'i' || fmt[i] == 'I') {
			if (nulls[i])
				*(int64_t *)bufs[i] = 0;
			continue;
		}
		if (nulls[i]) {
			((char *)bufs[i])[0] = '\0';
			continue;
		}
		if (lens[i] >= caps[i]) {
			snprintf(db->err, sizeof(db->err),
			    "column %zu truncated", i);
			return TALLY_E_INTERNAL;
		}
		((char *)bufs[i])[lens[i]] = '\0';
	}
	return TALLY_OK;
}

void
db_done(struct db_stmt *s)
{
	int	 rc;

	if (s == NULL || s->st == NULL)
		return;
	mysql_stmt_free_result(s->st);
	/*
	 * A CALL answers its rows and then a status of its own: read what
	 * follows, or the connection is out of step for the next statement.
	 * That status can be an error after rows that looked complete: on
	 * Galera, a replicated write set that aborts the open transaction
	 * while the routine ends is reported there (1213), the transaction
	 * rolled back.  Noted in tx_failed, for db_tx to run it again.
	 */
	while (mysql_stmt_more_results(s->st)) {
		if ((rc = mysql_stmt_next_result(s->st)) > 0) {
			if (s->db != NULL && s->db->in_tx &&
			    s->db->tx_failed == TALLY_OK) {
				rc = db_classify(s->db,
				    mysql_stmt_errno(s->st),
				    mysql_stmt_error(s->st));
				s->db->tx_failed = rc != TALLY_OK ? rc :
				    TALLY_E_INTERNAL;
			}
			break;
		}
		if (rc < 0)
			break;
		mysql_stmt_free_result(s->st);
	}
}

uint64_t
db_affected(struct db_stmt *s)
{
	return (uint64_t)mysql_stmt_affected_rows(s->st);
}

int64_t
db_insert_id(struct db_stmt *s)
{
	return (int64_t)mysql_stmt_insert_id(s->st);
}

/* A constant control statement: no values, so the plain text protocol. */
static int
db_ctl(struct db *db, enum ctl_sql which)
{
	const char	*sql = ctl_sqls[which];
	MYSQL_RES	*res;

	if (mysql_real_query(db->conn, sql, strlen(sql)) != 0)
		return db_classify(db, mysql_errno(db->conn),
		    mysql_error(db->conn));
	if ((res = mysql_store_result(db->conn)) != NULL)
		mysql_free_result(res);
	return TALLY_OK;
}

static void
backoff(int attempt)
{
	struct timespec	 ts;
	unsigned char	 r = 0;

	RAND_bytes(&r, 1);
	/* 1-2 ms, doubling: 1, 2, 4 ... ms plus jitter, at most ~130 ms. */
	ts.tv_sec = 0;
	ts.tv_nsec = ((1L << attempt) * 1000000L) + (long)r * 4000L;
	nanosleep(&ts, NULL);
}

int
db_tx(struct db *db, db_tx_fn fn, void *arg)
{
	int	 attempt, rc;

	for (attempt = 0; attempt < DB_TX_TRIES; attempt++) {
		if ((rc = db_connect(db)) != TALLY_OK)
			return rc;
		rc = db_ctl(db, CTL_BEGIN);
		if (rc == TALLY_E_UNAVAILABLE && attempt == 0) {
			/* A stale connection: nothing ran yet, so reconnect. */
			continue;
		}
		if (rc != TALLY_OK)
			return rc;
		db->in_tx = 1;
		db->tx_failed = TALLY_OK;
		rc = fn(db, arg);
		/* A statement failed after its rows: the transaction may be
		 * gone, whatever fn made of it. */
		if (db->tx_failed != TALLY_OK)
			rc = db->tx_failed;
		db->tx_failed = TALLY_OK;
		if (rc == TALLY_E_UNAVAILABLE && db->dead && attempt == 0) {
			/* The server dropped the connection before COMMIT, so
			 * it rolled the transaction back: run it again. */
			db->in_tx = 0;
			continue;
		}
		if (rc == TALLY_OK) {
			/*
			 * On Galera the COMMIT is where a write set that
			 * conflicts with one committed on another node fails
			 * certification: error 1213, classified as
			 * TALLY_E_RETRY, so fn runs again from BEGIN below
			 * (with the same arguments, hence the same
			 * idempotency and effect keys).
			 */
			if (mysql_commit(db->conn) == 0) {
				db->in_tx = 0;
				return TALLY_OK;
			}
			rc = db_classify(db, mysql_errno(db->conn),
			    mysql_error(db->conn));
			if (rc == TALLY_OK)
				rc = TALLY_E_INTERNAL;
		}
		db->in_tx = 0;
		if (!db->dead)
			mysql_rollback(db->conn);
		if (rc != TALLY_E_RETRY)
			return rc;
		backoff(attempt);
	}
	return TALLY_E_RETRY;
}

/*
 * Whether the idle connection was closed by the server (restart, idle
 * timeout, KILL): the server never speaks unasked, so a readable socket
 * between statements means an error packet or end of file is waiting.
 * One poll(2), no round trip.
 */
static int
idle_conn_dead(struct db *db)
{
	struct pollfd	 p;

	if (db->conn == NULL)
		return 0;
	p.fd = (int)mysql_get_socket(db->conn);
	p.events = POLLIN;
	p.revents = 0;
	if (p.fd < 0)
		return 1;
	return poll(&p, 1, 0) != 0;
}

int
db_call(struct db *db, db_tx_fn fn, void *arg)
{
	int	 attempt, rc;

	for (attempt = 0; attempt < DB_TX_TRIES; attempt++) {
		if (db->conn != NULL && !db->dead && idle_conn_dead(db))
			db->dead = 1;
		if ((rc = db_connect(db)) != TALLY_OK)
			return rc;
		/*
		 * in_tx: db_exec must not send it again on a new connection
		 * by itself; whether it ran is decided here.
		 */
		db->in_tx = 1;
		db->sent = 0;
		db->tx_failed = TALLY_OK;
		db->call_open = 0;
		rc = fn(db, arg);
		if (db->call_open) {
			/*
			 * fn's first call left its transaction open and fn
			 * gave up before the call that ends it (or that call
			 * failed): end it, so that nothing of it is kept and
			 * its locks go now, not at the next statement.  A
			 * lost connection has ended it already.
			 */
			if (!db->dead && db->conn != NULL)
				mysql_rollback(db->conn);
			db->call_open = 0;
		}
		db->in_tx = 0;
		/*
		 * An error in a routine's closing status after its answer row
		 * (tx_failed) changes nothing here: a routine run on its own
		 * commits before it answers (0007_ledger_routines.sql), and
		 * fn could run nothing after it (db_exec refused).
		 */
		db->tx_failed = TALLY_OK;
		if (rc == TALLY_E_UNAVAILABLE && db->dead && !db->sent &&
		    attempt == 0)
			continue;	/* it never reached the server */
		if (rc != TALLY_E_RETRY)
			return rc;
		/* The routine rolled its transaction back: run it again. */
		backoff(attempt);
	}
	return TALLY_E_RETRY;
}

int
db_multi_statements(struct db *db)
{
	if (db->multi)
		return TALLY_OK;
	if (mysql_set_server_option(db->conn,
	    MYSQL_OPTION_MULTI_STATEMENTS_ON) != 0)
		return db_classify(db, mysql_errno(db->conn),
		    mysql_error(db->conn));
	db->multi = 1;
	return TALLY_OK;
}

int
db_ping(struct db *db)
{
	struct db_stmt	*st;
	int64_t		 one;
	int		 rc;

	st = db_stmt(db, DB_G_CTL, CTL_PING, ctl_sqls[CTL_PING]);
	if ((rc = db_exec(db, st, "")) != TALLY_OK)
		return TALLY_E_UNAVAILABLE;
	rc = db_fetch(db, st, "i", &one);
	db_done(st);
	return rc == TALLY_OK && one == 1 ? TALLY_OK : TALLY_E_UNAVAILABLE;
}

int
db_lock_try(struct db *db, const char *name)
{
	struct db_stmt	*st;
	int64_t		 got = 0;
	int		 rc;

	st = db_stmt(db, DB_G_CTL, CTL_LOCK, ctl_sqls[CTL_LOCK]);
	if ((rc = db_exec(db, st, "s", name)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "i", &got);
	db_done(st);
	if (rc != TALLY_OK)
		return rc;
	return got == 1 ? TALLY_OK : TALLY_E_CONFLICT;
}

void
db_unlock(struct db *db, const char *name)
{
	struct db_stmt	*st;
	int64_t		 r;

	st = db_stmt(db, DB_G_CTL, CTL_UNLOCK, ctl_sqls[CTL_UNLOCK]);
	if (db_exec(db, st, "s", name) == TALLY_OK) {
		(void)db_fetch(db, st, "i", &r);
		db_done(st);
	}
}
