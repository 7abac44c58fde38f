/* The database as the binaries see it: the connection's life, named
 * locks and the health check.  Handlers and jobs hold a struct db only as
 * an opaque handle they pass to operations; only core/ops/ calls db/. */
#ifndef CORE_OPS_STORE_H
#define CORE_OPS_STORE_H

#include <stddef.h>
#include <stdint.h>

struct core_config;
struct db;

/* Once per process, before threads start / after they end. */
int	 op_store_library_init(void);
void	 op_store_library_end(void);
/* Once per thread that uses a connection, before and after. */
void	 op_store_thread_init(void);
void	 op_store_thread_end(void);

/* A handle that connects lazily; op_store_free() releases it. */
struct db *op_store_new(const struct core_config *);
void	 op_store_free(struct db *);
/* Connect now: TALLY_OK or TALLY_E_UNAVAILABLE. */
int	 op_store_connect(struct db *);
/* The server answers: TALLY_OK or TALLY_E_UNAVAILABLE. */
int	 op_store_ping(struct db *);
/* The last server error on this handle, for logs ("" if none). */
const char *op_store_error(const struct db *);
/* Forget the last error (at the start of a request). */
void	 op_store_error_clear(struct db *);
/*
 * What this handle has counted since it was made.  The errors it met, by
 * kind: [0] the server unreachable or the connection lost, [1] deadlocks
 * and lock wait timeouts, [2] any other server error (duplicate keys, an
 * expected outcome, are not counted); then the debit packets it led
 * (db_combine.c): [3] packets sent, [4] debits in them, [5] packets
 * rolled back.  OUT: out[0..OP_STORE_COUNTS).
 */
#define OP_STORE_ERRORS	3
#define OP_STORE_COUNTS	6
void	 op_store_counts(const struct db *, uint64_t out[OP_STORE_COUNTS]);

/*
 * Run fn(db, arg) in one transaction and commit it; fn returns TALLY_OK
 * to commit, or any other code to roll back and return it.  A deadlock
 * or lock wait timeout runs fn again (a few times), so fn must be safe to
 * repeat.  For callers that put several operations' *_tx effects (and an
 * idempotency row) into one transaction.
 */
typedef int (*op_store_tx_fn)(struct db *, void *arg);
int	 op_store_tx(struct db *, op_store_tx_fn fn, void *arg);

/*
 * Run fn, which makes one self-committing call (a ledger routine with
 * own_tx), with the same retries; a connection found closed is replaced
 * before the call, one lost during it is TALLY_E_UNAVAILABLE and never
 * sent twice (see db_call()).
 */
int	 op_store_call(struct db *, op_store_tx_fn fn, void *arg);

/*
 * A named server lock for this connection: TALLY_OK when taken,
 * TALLY_E_CONFLICT when another connection holds it.
 */
int	 op_store_lock_try(struct db *, const char *name);
void	 op_store_unlock(struct db *, const char *name);

/* Apply pending migrations from dir (see db_migrate). */
int	 op_store_migrate(const struct core_config *, const char *dir,
	    void (*log)(const char *name), char *err, size_t errsz);

#endif
