/* Operator queries: the ledger check, the outbox backlog, the
 * scheduler's run records. */
#ifndef DB_DB_ADMIN_H
#define DB_DB_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct db;

/* Accounts, their balances' total and the ledger's rows.  OUT: *s. */
int	 db_ledger_summary(struct db *, struct db_ledger_summary *s);
/*
 * Accounts whose balance differs from the sum of their ledger, by id, at
 * most max, all read in one statement (one consistent snapshot).
 * OUT: rows[0..*n).
 */
int	 db_ledger_diffs(struct db *, size_t max, struct db_ledger_diff *rows,
	    size_t *n);
/* The sum of one account's ledger.  OUT: *sum. */
int	 db_ledger_sum(struct db *, int64_t account_id, int64_t *sum);

/* The outbox backlog at now.  OUT: *s. */
int	 db_outbox_stats(struct db *, int64_t now, struct db_outbox_stats *s);
/*
 * Messages not delivered: given up (failed), or pending and either
 * created at or before cutoff or tried at least once; oldest first, at
 * most max.  OUT: rows[0..*n).
 */
int	 db_outbox_stuck(struct db *, int64_t cutoff, size_t max,
	    struct db_outbox_row *rows, size_t *n);

/*
 * Add one run of job: started at started, ms long, failed with error or
 * not (error NULL).  Outside a transaction; one statement.
 */
int	 db_job_record(struct db *, const char *job, int64_t started,
	    int64_t ms, const char *error);
/* Add one tick whose job was skipped (its lock held elsewhere). */
int	 db_job_skipped(struct db *, const char *job);
/* Add n to the job's count name. */
int	 db_job_count_add(struct db *, const char *job, const char *name,
	    int64_t n);
/* The records, by job, at most max.  OUT: rows[0..*n). */
int	 db_job_list(struct db *, size_t max, struct db_job_run *rows,
	    size_t *n);
int	 db_job_counts(struct db *, size_t max, struct db_job_count *rows,
	    size_t *n);

#endif
