/* Quota counters (migration 0015). */
#include <string.h>

#include "core/result.h"
#include "db/db.h"
#include "db/db_usage.h"

enum usage_sql {
	U_ADD_JSON,
	U_TAKE,
	U_GET,
	U__MAX
};

static const char *const sqls[U__MAX] = {
	/* The gate's batched flush: every counter of the batch in one
	 * statement. */
	[U_ADD_JSON] =
	    "INSERT INTO usage_counters (user_id, product, metric, "
	    "period_start, used, updated_at) SELECT j.u, j.p, j.m, "
	    "FROM_UNIXTIME(j.s), j.n, FROM_UNIXTIME(?) FROM JSON_TABLE(?, "
	    "'$[*]' COLUMNS (u VARCHAR(255) CHARACTER SET utf8mb4 PATH '$[0]', "
	    "p VARCHAR(63) CHARACTER SET utf8mb4 PATH '$[1]', "
	    "m VARCHAR(63) CHARACTER SET utf8mb4 PATH '$[2]', "
	    "s BIGINT PATH '$[3]', n BIGINT PATH '$[4]')) j "
	    "ON DUPLICATE KEY UPDATE used = used + VALUES(used), "
	    "updated_at = VALUES(updated_at)",
	/*
	 * Near the limit, one unit at a time and exact across processes:
	 * the row lock orders the takers; a take that would pass the limit
	 * changes nothing (0 rows affected).
	 */
	[U_TAKE] =
	    "INSERT INTO usage_counters (user_id, product, metric, "
	    "period_start, used, updated_at) VALUES (?, ?, ?, FROM_UNIXTIME(?), "
	    "?, FROM_UNIXTIME(?)) ON DUPLICATE KEY UPDATE "
	    "updated_at = IF(used + VALUES(used) <= ?, VALUES(updated_at), "
	    "updated_at), used = IF(used + VALUES(used) <= ?, "
	    "used + VALUES(used), used)",
	[U_GET] =
	    "SELECT used FROM usage_counters WHERE user_id = ? AND "
	    "product = ? AND metric = ? AND period_start = FROM_UNIXTIME(?)",
};

static struct db_stmt *
stmt(struct db *db, enum usage_sql id)
{
	return db_stmt(db, DB_G_USAGE, id, sqls[id]);
}

int
db_usage_add_json(struct db *db, const char *json, int64_t now)
{
	return db_exec(db, stmt(db, U_ADD_JSON), "is", now, json);
}

int
db_usage_get(struct db *db, const char *user_id, const char *product,
    const char *metric, int64_t period_start, int64_t *used)
{
	struct db_stmt	*st = stmt(db, U_GET);
	int		 rc;

	*used = 0;
	if ((rc = db_exec(db, st, "sssi", user_id, product, metric,
	    period_start)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "i", used);
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_usage_take(struct db *db, const struct db_usage_add *a, int64_t limit,
    int64_t now, int64_t *used)
{
	struct db_stmt	*st = stmt(db, U_TAKE);
	int		 rc;

	*used = 0;
	if (a->n > limit)
		goto refused;
	if ((rc = db_exec(db, st, "sssiiiii", a->user_id, a->product,
	    a->metric, a->period_start, a->n, now, limit, limit)) !=
	    TALLY_OK)
		return rc;
	if (db_affected(st) == 0)
		goto refused;
	if ((rc = db_usage_get(db, a->user_id, a->product, a->metric,
	    a->period_start, used)) != TALLY_OK)
		return rc;
	return TALLY_OK;
refused:
	if ((rc = db_usage_get(db, a->user_id, a->product, a->metric,
	    a->period_start, used)) != TALLY_OK)
		return rc;
	return TALLY_E_QUOTA;
}
