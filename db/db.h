/* MariaDB access: one connection per thread, cached prepared statements,
 * typed parameter binding, and a transaction helper that retries. */
#ifndef DB_DB_H
#define DB_DB_H

#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

struct core_config;

/* Statement groups: one file of queries per table group. */
enum db_group {
	DB_G_CTL,
	DB_G_WALLET,
	DB_G_IDEM,
	DB_G_AUDIT,
	DB_G_PAY,
	DB_G_LN,
	DB_G_INVOICE,
	DB_G_SUB,
	DB_G_OUTBOX,
	DB_G_GIFT,
	DB_G_COUPON,
	DB_G_ADMIN,
	DB_G_USAGE,
	DB_G_EVENT,
	DB_G_DUNNING,
	DB_G__MAX
};

#define DB_GROUP_STMTS	32

/*
 * A prepared statement that survives reconnects: st is re-prepared on the
 * new connection, so callers keep their pointer.
 */
struct db_stmt {
	MYSQL_STMT	*st;
	const char	*sql;
	struct db	*db;		/* the handle it belongs to */
};

/* Counted per handle, for the metrics (only ever grow): errors, then the
 * debit packets this handle led (db_combine.c). */
enum db_count {
	DB_ERR_UNAVAILABLE,	/* cannot connect, or the connection was lost */
	DB_ERR_RETRY,		/* deadlock or lock wait timeout */
	DB_ERR_OTHER,		/* any other server error (not a duplicate key) */
	DB_CNT_BATCHES,		/* packets of several debits sent */
	DB_CNT_BATCHED,		/* debits in them */
	DB_CNT_ALONE,		/* packets rolled back, their debits run alone */
	DB_CNT__MAX
};

struct db {
	const struct core_config *cfg;
	MYSQL		*conn;
	int		 dead;		/* reconnect before the next use */
	int		 in_tx;
	int		 sent;		/* a statement reached the server */
	int		 multi;		/* multi-statement packets are on */
	/*
	 * A routine run under db_call started a transaction that a later
	 * routine of the same fn is to end (the two calls of an activation,
	 * db_sub_activate_lock): set by the db/ function of the first call,
	 * cleared by that of the last.  Still set when fn returns: db_call
	 * rolls the transaction back.
	 */
	int		 call_open;
	/*
	 * A statement of the open transaction failed after it had answered
	 * its rows (a CALL's closing status, read by db_done): its TALLY_E_*.
	 * The server may have rolled the whole transaction back then (a
	 * deadlock; on Galera, a local transaction aborted by a replicated
	 * write set), after which each further statement would commit on
	 * its own: db_exec runs none until db_tx or db_call decides.
	 */
	int		 tx_failed;
	struct db_stmt	 cache[DB_G__MAX][DB_GROUP_STMTS];
	char		 err[256];	/* last server error, for logs */
	uint64_t	 ncount[DB_CNT__MAX];
};

/*
 * Error number no (message msg) as a TALLY_* code, kept in db->err and
 * counted; a lost connection marks db dead.  For db/ files that speak to
 * db->conn directly.
 */
int	 db_classify(struct db *, unsigned int no, const char *msg);
/* Let this connection take multi-statement text packets (once). */
int	 db_multi_statements(struct db *);

/* Call once before threads start / after they end. */
int	 db_library_init(void);
void	 db_library_end(void);

/* A handle that connects lazily. Owned by the caller: db_free(). */
struct db *db_new(const struct core_config *cfg);
void	 db_free(struct db *);

/*
 * Connect now if not connected (or reconnect after the server went away).
 * TALLY_OK or TALLY_E_UNAVAILABLE.
 */
int	 db_connect(struct db *);

/*
 * The prepared statement idx of group g with text sql, prepared on first
 * use on this connection.  NULL when the database is unavailable (then
 * db->err says why).
 */
struct db_stmt *db_stmt(struct db *, enum db_group g, int idx,
	    const char *sql);

/*
 * Bind parameters and execute.  Outside a transaction a statement that
 * finds the connection gone (server restart, idle timeout, KILL) is run
 * once more on a fresh connection; statements run outside transactions
 * are reads or idempotent writes.  fmt has one letter per parameter:
 *   'i' int64_t; 's' const char * (NULL binds SQL NULL);
 *   'b' const void *, size_t (binary).
 * A statement with a result set has its rows buffered; read them with
 * db_fetch() and end with db_done().  Returns TALLY_OK, TALLY_E_DUPLICATE
 * (1062), TALLY_E_RETRY (deadlock 1213, lock wait 1205),
 * TALLY_E_UNAVAILABLE (the server went away) or TALLY_E_INTERNAL.
 */
int	 db_exec(struct db *, struct db_stmt *, const char *fmt, ...);

/*
 * Fetch the next row into the outputs described by fmt:
 *   'i' int64_t * (NULL reads as 0); 'I' int64_t *, int *isnull;
 *   's' char *buf, size_t cap (NULL reads as "");
 *   'S' char *buf, size_t cap, int *isnull.
 * Returns TALLY_OK (a row), TALLY_E_NOTFOUND (no more rows),
 * or TALLY_E_INTERNAL (also when a string did not fit: a bug).
 */
int	 db_fetch(struct db *, struct db_stmt *, const char *fmt, ...);
/* Release the buffered result of the last db_exec(). */
void	 db_done(struct db_stmt *);
uint64_t db_affected(struct db_stmt *);
int64_t	 db_insert_id(struct db_stmt *);

typedef int (*db_tx_fn)(struct db *, void *arg);

/*
 * Run fn inside one transaction and commit it.  fn returns TALLY_OK to
 * commit, or any other code to roll back and return that code; a deadlock
 * or lock wait timeout (TALLY_E_RETRY) is retried up to 8 times with a
 * short randomised backoff, so fn must be safe to run again.
 */
int	 db_tx(struct db *, db_tx_fn fn, void *arg);

/*
 * Run fn, which makes one self-committing call (a routine that starts and
 * commits its own transaction), with db_tx's retries: a deadlock or lock
 * wait timeout rolled the routine back, so it is run again.  A connection
 * found closed before the call is replaced first; one lost while the
 * call was on its way is TALLY_E_UNAVAILABLE, never sent twice, since it
 * may have committed.  fn may also make a pair of calls of which the
 * first leaves its transaction open for the last to commit (call_open):
 * when fn returns with it still open (it gave up in between, or the last
 * call failed), db_call rolls it back before it answers or runs fn again.
 */
int	 db_call(struct db *, db_tx_fn fn, void *arg);

/*
 * A named server lock held by this connection until db_unlock() or the
 * connection ends (not released by ROLLBACK).  TALLY_OK when taken,
 * TALLY_E_CONFLICT when another connection holds it.
 */
int	 db_lock_try(struct db *, const char *name);
void	 db_unlock(struct db *, const char *name);

/* SELECT 1: TALLY_OK or TALLY_E_UNAVAILABLE. */
int	 db_ping(struct db *);

/*
 * Apply the NNNN_name.sql files of dir not yet recorded in
 * schema_migrations, in order, each once; creates the database first.
 * Writes one line per applied file to log (may be NULL).
 * TALLY_OK, TALLY_E_IO, TALLY_E_UNAVAILABLE or TALLY_E_INTERNAL (err says).
 */
int	 db_migrate(const struct core_config *, const char *dir,
	    void (*log)(const char *name), char *err, size_t errsz);

#endif
