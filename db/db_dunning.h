/* Queries of the dunning tables (migration 0011): an invoice's retries
 * of its failed automatic payment. */
#ifndef DB_DUNNING_H
#define DB_DUNNING_H

#include <stdint.h>

struct db;

/* An invoice in dunning, as the dunning job claims it. */
struct db_dunning {
	int64_t	 invoice_id;
	int64_t	 failed_at;	/* day 0 of the schedule */
	int64_t	 attempt;	/* the last retry made; 0: none */
};

/*
 * Start the dunning of invoice_id: failed at failed_at, `planned`
 * retries, the first due at next_at (0: none), in state, with reason.
 * TALLY_E_DUPLICATE when the invoice is in dunning already.
 */
int	 db_dunning_insert(struct db *, int64_t invoice_id, int64_t failed_at,
	    int64_t planned, int64_t next_at, const char *state,
	    const char *reason, int64_t now);
/*
 * Claim the invoice whose retry is the most overdue (next_at <= now),
 * FOR UPDATE SKIP LOCKED, so several schedulers never take the same one.
 * TALLY_OK, TALLY_E_NOTFOUND (none due), or a db_exec() code.  OUT: *d.
 */
int	 db_dunning_claim(struct db *, int64_t now, struct db_dunning *d);
/* Write the state after a retry (or its end): the retries planned now
 * (at least attempt); reason NULL keeps the last one. */
int	 db_dunning_update(struct db *, int64_t invoice_id, int64_t attempt,
	    int64_t planned, int64_t next_at, const char *state,
	    const char *reason, int64_t now);
/* Move a retry that could not be run (an error) to until. */
int	 db_dunning_defer(struct db *, int64_t invoice_id, int64_t until);
/*
 * Take retry `attempt` of invoice_id before it is tried:
 * TALLY_E_DUPLICATE when it was taken before (it is never made twice).
 */
int	 db_dunning_attempt_take(struct db *, int64_t invoice_id,
	    int64_t attempt, int64_t now);
/* Record how retry `attempt` ended: result "paid" or "failed". */
int	 db_dunning_attempt_set(struct db *, int64_t invoice_id,
	    int64_t attempt, const char *result, const char *method,
	    const char *reason);

#endif
