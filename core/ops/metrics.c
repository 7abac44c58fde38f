/* The database's part of the metrics, and the scheduler's job record. */
#include <string.h>

#include "core/ops/metrics.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_admin.h"

int
op_metrics_read(struct db *db, int64_t now, struct op_metrics_db *m)
{
	int	 rc;

	m->njobs = m->ncounts = 0;
	if ((rc = db_outbox_stats(db, now, &m->outbox)) != TALLY_OK)
		return rc;
	if ((rc = db_job_list(db, OP_METRICS_JOBS, m->jobs, &m->njobs)) !=
	    TALLY_OK)
		return rc;
	return db_job_counts(db, OP_METRICS_COUNTS, m->counts, &m->ncounts);
}

struct record {
	const char	*job, *error;
	int64_t		 started, ms;
	const json_t	*counts;
};

static int
record_tx(struct db *db, void *arg)
{
	const struct record *r = arg;
	const char	*name;
	json_t		*v;
	int		 rc;

	if ((rc = db_job_record(db, r->job, r->started, r->ms, r->error)) !=
	    TALLY_OK)
		return rc;
	if (!json_is_object(r->counts))
		return TALLY_OK;
	/* The job's counts; "ms" and the like are not counts of work. */
	json_object_foreach((json_t *)r->counts, name, v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    strcmp(name, "ms") == 0 || strlen(name) > 64)
			continue;
		if ((rc = db_job_count_add(db, r->job, name,
		    (int64_t)json_integer_value(v))) != TALLY_OK)
			return rc;
	}
	return TALLY_OK;
}

int
op_metrics_job_record(struct db *db, const char *job, int64_t started,
    int64_t ms, const char *error, const json_t *counts)
{
	struct record	 r = { job, error, started, ms, counts };

	return db_tx(db, record_tx, &r);
}

int
op_metrics_job_skipped(struct db *db, const char *job)
{
	return db_job_skipped(db, job);
}
