/* Email outbox queries. */
#include <string.h>

#include "core/result.h"
#include "db/db.h"
#include "db/db_outbox.h"

enum outbox_sql {
	OUT_INSERT,
	OUT_CLAIM,
	OUT_SENT,
	OUT_FAILED,
	OUT__MAX
};

static const char *const sqls[OUT__MAX] = {
	[OUT_INSERT] =
	    "INSERT INTO outbox (dedupe_key, template, locale, recipient, "
	    "params, next_attempt_at, created_at) "
	    "VALUES (?, ?, ?, ?, ?, FROM_UNIXTIME(?), FROM_UNIXTIME(?))",
	[OUT_CLAIM] =
	    "SELECT id, dedupe_key, template, locale, recipient, params, "
	    "attempts FROM outbox WHERE status = 'pending' AND "
	    "next_attempt_at <= FROM_UNIXTIME(?) ORDER BY next_attempt_at, id "
	    "LIMIT 1 FOR UPDATE SKIP LOCKED",
	[OUT_SENT] =
	    "UPDATE outbox SET status = 'sent', attempts = attempts + 1, "
	    "sent_at = FROM_UNIXTIME(?), last_error = NULL WHERE id = ?",
	[OUT_FAILED] =
	    "UPDATE outbox SET attempts = ?, next_attempt_at = FROM_UNIXTIME(?),"
	    " last_error = LEFT(?, 500), status = IF(?, 'failed', 'pending') "
	    "WHERE id = ?",
};

static struct db_stmt *
stmt(struct db *db, enum outbox_sql id)
{
	return db_stmt(db, DB_G_OUTBOX, id, sqls[id]);
}

int
db_outbox_insert(struct db *db, const char *dedupe_key, const char *template,
    const char *locale, const char *recipient, const char *params_json,
    int64_t now)
{
	int	 rc;

	rc = db_exec(db, stmt(db, OUT_INSERT), "sssssii", dedupe_key,
	    template, locale, recipient, params_json, now, now);
	return rc == TALLY_E_DUPLICATE ? TALLY_OK : rc;
}

int
db_outbox_claim(struct db *db, int64_t now, struct db_mail *m)
{
	struct db_stmt	*st = stmt(db, OUT_CLAIM);
	int		 rc;

	memset(m, 0, sizeof(*m));
	if ((rc = db_exec(db, st, "i", now)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "isssssi", &m->id, m->dedupe_key,
	    sizeof(m->dedupe_key), m->template, sizeof(m->template), m->locale,
	    sizeof(m->locale), m->recipient, sizeof(m->recipient), m->params,
	    sizeof(m->params), &m->attempts);
	db_done(st);
	return rc;
}

int
db_outbox_mark_sent(struct db *db, int64_t id, int64_t now)
{
	return db_exec(db, stmt(db, OUT_SENT), "ii", now, id);
}

int
db_outbox_mark_failed(struct db *db, int64_t id, int64_t attempts,
    int64_t next_at, const char *error, int final)
{
	return db_exec(db, stmt(db, OUT_FAILED), "iisii", attempts, next_at,
	    error, (int64_t)final, id);
}
