/* Gift queries. */
#include <stdio.h>
#include <string.h>

#include "core/result.h"
#include "db/db.h"
#include "db/db_gift.h"

enum gift_sql {
	G_INSERT,
	G_BY_CODE,
	G_BY_CODE_LOCK,
	G_BY_ID_LOCK,
	G_SET_STATUS,
	G_LIST_CREATED,
	G_LIST_RECEIVED,
	G_PENDING_FOR,
	G_FAIL_ADD,
	G_FAIL_COUNT,
	G_FAIL_PURGE,
	G_FAIL_DELETE,
	G__MAX
};

#define GIFT_COLS "id, code, creator_account_id, credits, type, " \
	"target_email, message, status, redeemed_by, " \
	"UNIX_TIMESTAMP(created_at), UNIX_TIMESTAMP(redeemed_at)"

static const char *const sqls[G__MAX] = {
	[G_INSERT] =
	    "INSERT INTO gifts (code, creator_account_id, credits, type, "
	    "target_email, message, status, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, 'active', FROM_UNIXTIME(?))",
	[G_BY_CODE] = "SELECT " GIFT_COLS " FROM gifts WHERE code = ?",
	[G_BY_CODE_LOCK] =
	    "SELECT " GIFT_COLS " FROM gifts WHERE code = ? FOR UPDATE",
	[G_BY_ID_LOCK] =
	    "SELECT " GIFT_COLS " FROM gifts WHERE id = ? FOR UPDATE",
	[G_SET_STATUS] =
	    "UPDATE gifts SET status = ?, redeemed_by = NULLIF(?, 0), "
	    "redeemed_at = IF(? = 'redeemed', FROM_UNIXTIME(?), redeemed_at), "
	    "canceled_at = IF(? = 'canceled', FROM_UNIXTIME(?), canceled_at) "
	    "WHERE id = ?",
	[G_LIST_CREATED] =
	    "SELECT " GIFT_COLS " FROM gifts WHERE creator_account_id = ? "
	    "ORDER BY id DESC LIMIT ?",
	/* The ledger row orders redemptions within one second too. */
	[G_LIST_RECEIVED] =
	    "SELECT g.id, g.code, g.creator_account_id, g.credits, g.type, "
	    "g.target_email, g.message, g.status, g.redeemed_by, "
	    "UNIX_TIMESTAMP(g.created_at), UNIX_TIMESTAMP(g.redeemed_at) "
	    "FROM gifts g LEFT JOIN ledger l "
	    "ON l.effect_key = CONCAT('gift:', g.id, ':received') "
	    "WHERE g.redeemed_by = ? ORDER BY l.id DESC, g.id DESC LIMIT ?",
	[G_PENDING_FOR] =
	    "SELECT " GIFT_COLS " FROM gifts WHERE target_email = ? AND "
	    "status = 'active' AND type = 'personalized' ORDER BY id LIMIT ? "
	    "FOR UPDATE",
	[G_FAIL_ADD] =
	    "INSERT INTO gift_redeem_failures (account_id, failed_at) "
	    "VALUES (?, FROM_UNIXTIME(?))",
	[G_FAIL_COUNT] =
	    "SELECT COUNT(*), COALESCE(UNIX_TIMESTAMP(MIN(failed_at)), 0) "
	    "FROM gift_redeem_failures WHERE account_id = ? AND "
	    "failed_at > FROM_UNIXTIME(?)",
	[G_FAIL_DELETE] = "DELETE FROM gift_redeem_failures WHERE id = ?",
	[G_FAIL_PURGE] =
	    "DELETE FROM gift_redeem_failures WHERE failed_at < FROM_UNIXTIME(?)"
	    " LIMIT 10000",
};

static struct db_stmt *
stmt(struct db *db, enum gift_sql id)
{
	return db_stmt(db, DB_G_GIFT, id, sqls[id]);
}

static int
fetch(struct db *db, struct db_stmt *st, struct db_gift *g)
{
	int	 rc, notarget = 0, nomsg = 0;

	memset(g, 0, sizeof(*g));
	rc = db_fetch(db, st, "isiisSSsiii", &g->id, g->code, sizeof(g->code),
	    &g->creator_account_id, &g->credits, g->type, sizeof(g->type),
	    g->target_email, sizeof(g->target_email), &notarget, g->message,
	    sizeof(g->message), &nomsg, g->status, sizeof(g->status),
	    &g->redeemed_by, &g->created_at, &g->redeemed_at);
	g->has_target = !notarget;
	g->has_message = !nomsg;
	return rc;
}

static int
one(struct db *db, struct db_stmt *st, struct db_gift *g)
{
	int	 rc = fetch(db, st, g);

	db_done(st);
	return rc;
}

static int
many(struct db *db, struct db_stmt *st, size_t max, struct db_gift *gs,
    size_t *n)
{
	int	 rc = TALLY_OK;

	*n = 0;
	while (*n < max && (rc = fetch(db, st, &gs[*n])) == TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_gift_insert(struct db *db, struct db_gift *g, int64_t now)
{
	struct db_stmt	*st = stmt(db, G_INSERT);
	int		 rc;

	rc = db_exec(db, st, "siisssi", g->code, g->creator_account_id,
	    g->credits, g->type, g->has_target ? g->target_email : NULL,
	    g->has_message ? g->message : NULL, now);
	if (rc == TALLY_OK) {
		g->id = db_insert_id(st);
		g->created_at = now;
		snprintf(g->status, sizeof(g->status), "active");
	}
	return rc;
}

int
db_gift_get_by_code(struct db *db, const char *code, int lock,
    struct db_gift *g)
{
	struct db_stmt	*st = stmt(db, lock ? G_BY_CODE_LOCK : G_BY_CODE);
	int		 rc;

	if ((rc = db_exec(db, st, "s", code)) != TALLY_OK)
		return rc;
	return one(db, st, g);
}

int
db_gift_lock_by_id(struct db *db, int64_t id, struct db_gift *g)
{
	struct db_stmt	*st = stmt(db, G_BY_ID_LOCK);
	int		 rc;

	if ((rc = db_exec(db, st, "i", id)) != TALLY_OK)
		return rc;
	return one(db, st, g);
}

int
db_gift_set_status(struct db *db, int64_t id, const char *status,
    int64_t redeemed_by, int64_t now)
{
	return db_exec(db, stmt(db, G_SET_STATUS), "sisisii", status,
	    redeemed_by, status, now, status, now, id);
}

int
db_gift_list_created(struct db *db, int64_t account_id, size_t max,
    struct db_gift *gs, size_t *n)
{
	struct db_stmt	*st = stmt(db, G_LIST_CREATED);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", account_id, (int64_t)max)) != TALLY_OK)
		return rc;
	return many(db, st, max, gs, n);
}

int
db_gift_list_received(struct db *db, int64_t account_id, size_t max,
    struct db_gift *gs, size_t *n)
{
	struct db_stmt	*st = stmt(db, G_LIST_RECEIVED);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", account_id, (int64_t)max)) != TALLY_OK)
		return rc;
	return many(db, st, max, gs, n);
}

int
db_gift_lock_pending_for(struct db *db, const char *email, size_t max,
    struct db_gift *gs, size_t *n)
{
	struct db_stmt	*st = stmt(db, G_PENDING_FOR);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "si", email, (int64_t)max)) != TALLY_OK)
		return rc;
	return many(db, st, max, gs, n);
}

int
db_gift_failure_add(struct db *db, int64_t account_id, int64_t now,
    int64_t *id)
{
	struct db_stmt	*st = stmt(db, G_FAIL_ADD);
	int		 rc;

	if ((rc = db_exec(db, st, "ii", account_id, now)) == TALLY_OK)
		*id = db_insert_id(st);
	return rc;
}

int
db_gift_failure_delete(struct db *db, int64_t id)
{
	return db_exec(db, stmt(db, G_FAIL_DELETE), "i", id);
}

int
db_gift_failures(struct db *db, int64_t account_id, int64_t since,
    int64_t *count, int64_t *oldest)
{
	struct db_stmt	*st = stmt(db, G_FAIL_COUNT);
	int		 rc;

	if ((rc = db_exec(db, st, "ii", account_id, since)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "ii", count, oldest);
	db_done(st);
	return rc;
}

int
db_gift_failures_purge(struct db *db, int64_t before, uint64_t *n)
{
	struct db_stmt	*st = stmt(db, G_FAIL_PURGE);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "i", before)) == TALLY_OK)
		*n = db_affected(st);
	return rc;
}
