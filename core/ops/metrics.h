/* What the metrics read from the database (the outbox backlog, the
 * scheduler's record) and what the scheduler records there. */
#ifndef CORE_OP_METRICS_H
#define CORE_OP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/model.h"

struct db;

#define OP_METRICS_JOBS		64
#define OP_METRICS_COUNTS	256

/* The database's part of a scrape. */
struct op_metrics_db {
	struct db_outbox_stats outbox;
	struct db_job_run jobs[OP_METRICS_JOBS];
	size_t		 njobs;
	struct db_job_count counts[OP_METRICS_COUNTS];
	size_t		 ncounts;
};

/*
 * Read the outbox backlog at now and the scheduler's record, three reads
 * outside any transaction.  TALLY_OK or a database code.  OUT: *m.
 */
int	 op_metrics_read(struct db *, int64_t now, struct op_metrics_db *m);

/*
 * Record one run of a scheduler job: started at (wall clock) started, ms
 * long, failed with error (NULL: it succeeded), and the integer members
 * of counts added to the job's counts.  One transaction; a failure to
 * record is returned, and the job's own work stands either way.
 */
int	 op_metrics_job_record(struct db *, const char *job, int64_t started,
	    int64_t ms, const char *error, const json_t *counts);

/* Record a tick that skipped job: another scheduler held its lock. */
int	 op_metrics_job_skipped(struct db *, const char *job);

#endif
