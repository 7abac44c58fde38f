/* Dunning queries. */
#include <string.h>

#include "core/result.h"
#include "db/db.h"
#include "db/db_dunning.h"

enum dun_sql {
	D_INSERT,
	D_CLAIM,
	D_UPDATE,
	D_DEFER,
	D_ATTEMPT_TAKE,
	D_ATTEMPT_SET,
	D__MAX
};

static const char *const sqls[D__MAX] = {
	[D_INSERT] =
	    "INSERT INTO dunning (invoice_id, failed_at, attempt, planned, "
	    "next_at, state, reason, updated_at) VALUES (?, FROM_UNIXTIME(?), "
	    "0, ?, FROM_UNIXTIME(NULLIF(?, 0)), ?, LEFT(?, 255), "
	    "FROM_UNIXTIME(?))",
	/*
	 * One invoice per transaction: the job holds this row while it asks
	 * the card provider, and another scheduler skips it (it takes the
	 * next one, or none).  k_dunning_due finds the due rows.
	 */
	[D_CLAIM] =
	    "SELECT invoice_id, UNIX_TIMESTAMP(failed_at), attempt FROM dunning "
	    "WHERE next_at <= FROM_UNIXTIME(?) ORDER BY next_at, invoice_id "
	    "LIMIT 1 FOR UPDATE SKIP LOCKED",
	[D_UPDATE] =
	    "UPDATE dunning SET attempt = ?, planned = GREATEST(?, ?), "
	    "next_at = FROM_UNIXTIME(NULLIF(?, 0)), state = ?, "
	    "reason = COALESCE(LEFT(?, 255), reason), "
	    "updated_at = FROM_UNIXTIME(?) WHERE invoice_id = ?",
	[D_DEFER] =
	    "UPDATE dunning SET next_at = GREATEST(next_at, FROM_UNIXTIME(?)) "
	    "WHERE invoice_id = ? AND next_at IS NOT NULL",
	[D_ATTEMPT_TAKE] =
	    "INSERT INTO dunning_attempts (invoice_id, attempt, result, "
	    "created_at) VALUES (?, ?, 'started', FROM_UNIXTIME(?))",
	[D_ATTEMPT_SET] =
	    "UPDATE dunning_attempts SET result = ?, method = ?, "
	    "reason = LEFT(?, 255) WHERE invoice_id = ? AND attempt = ?",
};

static struct db_stmt *
stmt(struct db *db, enum dun_sql id)
{
	return db_stmt(db, DB_G_DUNNING, id, sqls[id]);
}

int
db_dunning_insert(struct db *db, int64_t invoice_id, int64_t failed_at,
    int64_t planned, int64_t next_at, const char *state, const char *reason,
    int64_t now)
{
	return db_exec(db, stmt(db, D_INSERT), "iiiissi", invoice_id,
	    failed_at, planned, next_at, state, reason, now);
}

int
db_dunning_claim(struct db *db, int64_t now, struct db_dunning *d)
{
	struct db_stmt	*st = stmt(db, D_CLAIM);
	int		 rc;

	memset(d, 0, sizeof(*d));
	if ((rc = db_exec(db, st, "i", now)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "iii", &d->invoice_id, &d->failed_at,
	    &d->attempt);
	db_done(st);
	return rc;
}

int
db_dunning_update(struct db *db, int64_t invoice_id, int64_t attempt,
    int64_t planned, int64_t next_at, const char *state, const char *reason,
    int64_t now)
{
	return db_exec(db, stmt(db, D_UPDATE), "iiiissii", attempt, planned,
	    attempt, next_at, state, reason, now, invoice_id);
}

int
db_dunning_defer(struct db *db, int64_t invoice_id, int64_t until)
{
	return db_exec(db, stmt(db, D_DEFER), "ii", until, invoice_id);
}

int
db_dunning_attempt_take(struct db *db, int64_t invoice_id, int64_t attempt,
    int64_t now)
{
	return db_exec(db, stmt(db, D_ATTEMPT_TAKE), "iii", invoice_id,
	    attempt, now);
}

int
db_dunning_attempt_set(struct db *db, int64_t invoice_id, int64_t attempt,
    const char *result, const char *method, const char *reason)
{
	return db_exec(db, stmt(db, D_ATTEMPT_SET), "sssii", result, method,
	    reason, invoice_id, attempt);
}
