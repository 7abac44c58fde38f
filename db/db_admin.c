/* Operator queries: the ledger check, the outbox backlog, the
 * scheduler's run records. */
#include <string.h>

#include "core/result.h"
#include "db/db.h"
#include "db/db_admin.h"

enum admin_sql {
	ADM_LEDGER_SUMMARY,
	ADM_LEDGER_DIFFS,
	ADM_LEDGER_SUM,
	ADM_OUTBOX_STATS,
	ADM_OUTBOX_STUCK,
	ADM_JOB_RECORD,
	ADM_JOB_SKIPPED,
	ADM_JOB_COUNT,
	ADM_JOB_LIST,
	ADM_JOB_COUNTS,
	ADM__MAX
};

static const char *const sqls[ADM__MAX] = {
	[ADM_LEDGER_SUMMARY] =
	    "SELECT COUNT(*), CAST(COALESCE(SUM(balance), 0) AS SIGNED), "
	    "(SELECT COUNT(*) FROM ledger) FROM accounts",
	/* The ledger grouped once, joined to every account. */
	[ADM_LEDGER_DIFFS] =
	    "SELECT a.id, a.user_id, a.balance, "
	    "CAST(COALESCE(l.total, 0) AS SIGNED) FROM accounts a "
	    "LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM ledger "
	    "GROUP BY account_id) l ON l.account_id = a.id "
	    "WHERE a.balance <> COALESCE(l.total, 0) ORDER BY a.id LIMIT ?",
	[ADM_LEDGER_SUM] =
	    "SELECT CAST(COALESCE(SUM(amount), 0) AS SIGNED) FROM ledger "
	    "WHERE account_id = ?",
	/* Reads only the pending and failed rows (k_outbox_due). */
	[ADM_OUTBOX_STATS] =
	    "SELECT CAST(COALESCE(SUM(status = 'pending'), 0) AS SIGNED), "
	    "CAST(COALESCE(SUM(status = 'pending' AND "
	    "next_attempt_at <= FROM_UNIXTIME(?)), 0) AS SIGNED), "
	    "CAST(COALESCE(SUM(status = 'pending' AND attempts > 0), 0) "
	    "AS SIGNED), "
	    "CAST(COALESCE(SUM(status = 'failed'), 0) AS SIGNED), "
	    "CAST(COALESCE(UNIX_TIMESTAMP(MIN(IF(status = 'pending', "
	    "created_at, NULL))), 0) AS SIGNED) "
	    "FROM outbox WHERE status IN ('pending', 'failed')",
	[ADM_OUTBOX_STUCK] =
	    "SELECT id, dedupe_key, template, recipient, status, attempts, "
	    "UNIX_TIMESTAMP(created_at), UNIX_TIMESTAMP(next_attempt_at), "
	    "COALESCE(last_error, '') FROM outbox WHERE status = 'failed' OR "
	    "(status = 'pending' AND (created_at <= FROM_UNIXTIME(?) OR "
	    "attempts > 0)) ORDER BY id LIMIT ?",
	[ADM_JOB_RECORD] =
	    "INSERT INTO scheduler_runs (job, runs, failures, total_ms, "
	    "last_ms, last_started_at, last_ok_at, last_error) "
	    "VALUES (?, 1, ? IS NOT NULL, ?, ?, FROM_UNIXTIME(?), "
	    "IF(? IS NULL, FROM_UNIXTIME(?), NULL), "
	    "LEFT(?, 255)) ON DUPLICATE KEY UPDATE runs = runs + 1, "
	    "failures = failures + VALUES(failures), "
	    "total_ms = total_ms + VALUES(total_ms), "
	    "last_ms = VALUES(last_ms), "
	    "last_started_at = VALUES(last_started_at), "
	    "last_ok_at = COALESCE(VALUES(last_ok_at), last_ok_at), "
	    "last_error = VALUES(last_error)",
	[ADM_JOB_SKIPPED] =
	    "INSERT INTO scheduler_runs (job, skipped) VALUES (?, 1) "
	    "ON DUPLICATE KEY UPDATE skipped = skipped + 1",
	[ADM_JOB_COUNT] =
	    "INSERT INTO scheduler_job_counts (job, name, total) "
	    "VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE "
	    "total = total + VALUES(total)",
	[ADM_JOB_LIST] =
	    "SELECT job, runs, failures, skipped, total_ms, last_ms, "
	    "CAST(COALESCE(UNIX_TIMESTAMP(last_started_at), 0) AS SIGNED), "
	    "CAST(COALESCE(UNIX_TIMESTAMP(last_ok_at), 0) AS SIGNED), "
	    "COALESCE(last_error, '') FROM scheduler_runs ORDER BY job LIMIT ?",
	[ADM_JOB_COUNTS] =
	    "SELECT job, name, total FROM scheduler_job_counts "
	    "ORDER BY job, name LIMIT ?",
};

static struct db_stmt *
stmt(struct db *db, enum admin_sql id)
{
	return db_stmt(db, DB_G_ADMIN, id, sqls[id]);
}

int
db_ledger_summary(struct db *db, struct db_ledger_summary *s)
{
	struct db_stmt	*st = stmt(db, ADM_LEDGER_SUMMARY);
	int		 rc;

	memset(s, 0, sizeof(*s));
	if ((rc = db_exec(db, st, "")) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "iii", &s->accounts, &s->balance_total,
	    &s->ledger_rows);
	db_done(st);
	return rc;
}

int
db_ledger_diffs(struct db *db, size_t max, struct db_ledger_diff *rows,
    size_t *n)
{
	struct db_stmt	*st = stmt(db, ADM_LEDGER_DIFFS);
	struct db_ledger_diff *r;
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "i", (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max) {
		r = &rows[*n];
		rc = db_fetch(db, st, "isii", &r->account_id, r->user_id,
		    sizeof(r->user_id), &r->balance, &r->ledger_sum);
		if (rc != TALLY_OK)
			break;
		(*n)++;
	}
	db_done(st);
	return rc == TALLY_E_NOTFOUND || rc == TALLY_OK ? TALLY_OK : rc;
}

int
db_ledger_sum(struct db *db, int64_t account_id, int64_t *sum)
{
	struct db_stmt	*st = stmt(db, ADM_LEDGER_SUM);
	int		 rc;

	*sum = 0;
	if ((rc = db_exec(db, st, "i", account_id)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "i", sum);
	db_done(st);
	return rc;
}

int
db_outbox_stats(struct db *db, int64_t now, struct db_outbox_stats *s)
{
	struct db_stmt	*st = stmt(db, ADM_OUTBOX_STATS);
	int		 rc;

	memset(s, 0, sizeof(*s));
	if ((rc = db_exec(db, st, "i", now)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "iiiii", &s->pending, &s->pending_due,
	    &s->retrying, &s->failed, &s->oldest_pending_at);
	db_done(st);
	return rc;
}

int
db_outbox_stuck(struct db *db, int64_t cutoff, size_t max,
    struct db_outbox_row *rows, size_t *n)
{
	struct db_stmt	*st = stmt(db, ADM_OUTBOX_STUCK);
	struct db_outbox_row *r;
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", cutoff, (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max) {
		r = &rows[*n];
		rc = db_fetch(db, st, "issssiiis", &r->id, r->dedupe_key,
		    sizeof(r->dedupe_key), r->template, sizeof(r->template),
		    r->recipient, sizeof(r->recipient), r->status,
		    sizeof(r->status), &r->attempts, &r->created_at,
		    &r->next_attempt_at, r->last_error, sizeof(r->last_error));
		if (rc != TALLY_OK)
			break;
		(*n)++;
	}
	db_done(st);
	return rc == TALLY_E_NOTFOUND || rc == TALLY_OK ? TALLY_OK : rc;
}

int
db_job_record(struct db *db, const char *job, int64_t started, int64_t ms,
    const char *error)
{
	/* A success is recorded as of the job's end. */
	return db_exec(db, stmt(db, ADM_JOB_RECORD), "ssiiisis", job, error,
	    ms, ms, started, error, started + ms / 1000, error);
}

int
db_job_skipped(struct db *db, const char *job)
{
	return db_exec(db, stmt(db, ADM_JOB_SKIPPED), "s", job);
}

int
db_job_count_add(struct db *db, const char *job, const char *name,
    int64_t n)
{
	return db_exec(db, stmt(db, ADM_JOB_COUNT), "ssi", job, name, n);
}

int
db_job_list(struct db *db, size_t max, struct db_job_run *rows, size_t *n)
{
	struct db_stmt	*st = stmt(db, ADM_JOB_LIST);
	struct db_job_run *r;
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "i", (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max) {
		r = &rows[*n];
		rc = db_fetch(db, st, "siiiiiiis", r->job, sizeof(r->job),
		    &r->runs, &r->failures, &r->skipped, &r->total_ms,
		    &r->last_ms, &r->last_started_at, &r->last_ok_at,
		    r->last_error, sizeof(r->last_error));
		if (rc != TALLY_OK)
			break;
		(*n)++;
	}
	db_done(st);
	return rc == TALLY_E_NOTFOUND || rc == TALLY_OK ? TALLY_OK : rc;
}

int
db_job_counts(struct db *db, size_t max, struct db_job_count *rows,
    size_t *n)
{
	struct db_stmt	*st = stmt(db, ADM_JOB_COUNTS);
	struct db_job_count *r;
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "i", (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max) {
		r = &rows[*n];
		rc = db_fetch(db, st, "ssi", r->job, sizeof(r->job), r->name,
		    sizeof(r->name), &r->total);
		if (rc != TALLY_OK)
			break;
		(*n)++;
	}
	db_done(st);
	return rc == TALLY_E_NOTFOUND || rc == TALLY_OK ? TALLY_OK : rc;
}
