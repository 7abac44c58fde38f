/* Coupon and redemption queries. */
#include <stdio.h>
#include <string.h>

#include "core/result.h"
#include "db/db.h"
#include "db/db_coupon.h"

enum coupon_sql {
	C_INSERT,
	C_GET,
	C_LOCK_KEY,
	C_LIST,
	C_DEACTIVATE,
	C_BUMP,
	R_INSERT,
	R_LOCK,
	R_ACTIVE_SUB,
	R_ACTIVE_PLANS,
	R_OF_PURCHASE,
	R_LIST,
	R_UPDATE,
	R_SET_PURCHASE,
	P_SET_BONUS,
	C__MAX
};

#define COUPON_COLS "c.id, c.code, c.code_key, c.name, " \
	"COALESCE(c.percent_off, 0), COALESCE(c.amount_off, 0), c.currency, " \
	"c.applies_to, c.duration, COALESCE(c.duration_periods, 0), " \
	"COALESCE(c.max_redemptions, -1), c.times_redeemed, " \
	"UNIX_TIMESTAMP(c.expires_at), c.active, c.created_by, " \
	"UNIX_TIMESTAMP(c.created_at), UNIX_TIMESTAMP(c.deactivated_at)"

#define REDEMPTION_COLS "r.id, r.coupon_id, r.account_id, r.target, " \
	"r.subscription_id, r.product, r.purchase_id, r.status, " \
	"r.periods_used, r.last_period, UNIX_TIMESTAMP(r.created_at), " \
	"UNIX_TIMESTAMP(r.ended_at), " COUPON_COLS

#define REDEMPTION_FROM " FROM coupon_redemptions r JOIN coupons c ON " \
	"c.id = r.coupon_id "

static const char *const sqls[C__MAX] = {
	[C_INSERT] =
	    "INSERT INTO coupons (code, code_key, name, percent_off, "
	    "amount_off, currency, applies_to, duration, duration_periods, "
	    "max_redemptions, expires_at, created_by, created_at) VALUES (?, "
	    "?, NULLIF(?, ''), NULLIF(?, 0), NULLIF(?, 0), ?, NULLIF(?, ''), "
	    "?, NULLIF(?, 0), NULLIF(?, -1), FROM_UNIXTIME(NULLIF(?, 0)), ?, "
	    "FROM_UNIXTIME(?))",
	[C_GET] = "SELECT " COUPON_COLS " FROM coupons c WHERE c.id = ?",
	[C_LOCK_KEY] = "SELECT " COUPON_COLS " FROM coupons c WHERE "
	    "c.code_key = ? FOR UPDATE",
	[C_LIST] = "SELECT " COUPON_COLS " FROM coupons c ORDER BY c.id DESC "
	    "LIMIT ?",
	[C_DEACTIVATE] = "UPDATE coupons SET active = 0, deactivated_at = "
	    "FROM_UNIXTIME(?) WHERE id = ? AND active = 1",
	[C_BUMP] = "UPDATE coupons SET times_redeemed = times_redeemed + 1 "
	    "WHERE id = ?",
	[R_INSERT] =
	    "INSERT INTO coupon_redemptions (coupon_id, account_id, target, "
	    "subscription_id, product, purchase_id, status, created_at) "
	    "VALUES (?, ?, ?, NULLIF(?, 0), NULLIF(?, ''), NULLIF(?, 0), "
	    "'active', FROM_UNIXTIME(?))",
	[R_LOCK] = "SELECT " REDEMPTION_COLS REDEMPTION_FROM
	    "WHERE r.coupon_id = ? AND r.account_id = ? FOR UPDATE",
	[R_ACTIVE_SUB] = "SELECT " REDEMPTION_COLS REDEMPTION_FROM
	    "WHERE r.subscription_id = ? AND r.target = 'subscription' AND "
	    "r.status = 'active' ORDER BY r.id LIMIT 1 FOR UPDATE",
	[R_ACTIVE_PLANS] = "SELECT " REDEMPTION_COLS REDEMPTION_FROM
	    "WHERE r.account_id = ? AND r.target = 'plans' AND "
	    "r.status = 'active' ORDER BY r.id LIMIT 1 FOR UPDATE",
	[R_OF_PURCHASE] = "SELECT " REDEMPTION_COLS REDEMPTION_FROM
	    "WHERE r.purchase_id = ?",
	[R_LIST] = "SELECT " REDEMPTION_COLS REDEMPTION_FROM
	    "WHERE r.account_id = ? ORDER BY r.id DESC LIMIT ?",
	[R_UPDATE] = "UPDATE coupon_redemptions SET periods_used = ?, "
	    "last_period = ?, status = ?, ended_at = IF(? = 'ended', "
	    "FROM_UNIXTIME(?), NULL) WHERE id = ?",
	[R_SET_PURCHASE] = "UPDATE coupon_redemptions SET purchase_id = ? "
	    "WHERE id = ?",
	[P_SET_BONUS] = "UPDATE purchases SET bonus_credits = ?, "
	    "coupon_code = ? WHERE id = ?",
};

static struct db_stmt *
stmt(struct db *db, enum coupon_sql id)
{
	return db_stmt(db, DB_G_COUPON, id, sqls[id]);
}

#define COUPON_FMT "isssiisssiiiiisii"
#define COUPON_ARGS(c) &(c)->id, (c)->code, sizeof((c)->code), \
	(c)->code_key, sizeof((c)->code_key), (c)->name, sizeof((c)->name), \
	&(c)->percent_off, &(c)->amount_off, (c)->currency, \
	sizeof((c)->currency), (c)->applies_to, sizeof((c)->applies_to), \
	(c)->duration, sizeof((c)->duration), &(c)->duration_periods, \
	&(c)->max_redemptions, &(c)->times_redeemed, &(c)->expires_at, \
	&active, (c)->created_by, sizeof((c)->created_by), &(c)->created_at, \
	&(c)->deactivated_at

static int
fetch_coupon(struct db *db, struct db_stmt *st, struct db_coupon *c)
{
	int64_t	 active = 0;
	int	 rc;

	memset(c, 0, sizeof(*c));
	rc = db_fetch(db, st, COUPON_FMT, COUPON_ARGS(c));
	c->active = active != 0;
	return rc;
}

static int
fetch_redemption(struct db *db, struct db_stmt *st, struct db_redemption *r)
{
	struct db_coupon *c = &r->coupon;
	int64_t	 active = 0;
	int	 rc;

	memset(r, 0, sizeof(*r));
	rc = db_fetch(db, st, "iiisisisiiii" COUPON_FMT, &r->id, &r->coupon_id,
	    &r->account_id, r->target, sizeof(r->target), &r->subscription_id,
	    r->product, sizeof(r->product), &r->purchase_id, r->status,
	    sizeof(r->status), &r->periods_used, &r->last_period,
	    &r->created_at, &r->ended_at, COUPON_ARGS(c));
	c->active = active != 0;
	return rc;
}

int
db_coupon_insert(struct db *db, struct db_coupon *c, int64_t now)
{
	struct db_stmt	*st = stmt(db, C_INSERT);
	int		 rc;

	rc = db_exec(db, st, "sssiisssiiisi", c->code, c->code_key, c->name,
	    c->percent_off, c->amount_off, c->currency, c->applies_to,
	    c->duration, c->duration_periods, c->max_redemptions,
	    c->expires_at, c->created_by, now);
	if (rc == TALLY_OK) {
		c->id = db_insert_id(st);
		c->created_at = now;
		c->active = 1;
	}
	return rc;
}

static int
one_coupon(struct db *db, struct db_stmt *st, struct db_coupon *c)
{
	int	 rc = fetch_coupon(db, st, c);

	db_done(st);
	return rc;
}

int
db_coupon_get(struct db *db, int64_t id, struct db_coupon *c)
{
	struct db_stmt	*st = stmt(db, C_GET);
	int		 rc;

	if ((rc = db_exec(db, st, "i", id)) != TALLY_OK)
		return rc;
	return one_coupon(db, st, c);
}

int
db_coupon_lock_by_key(struct db *db, const char *key, struct db_coupon *c)
{
	struct db_stmt	*st = stmt(db, C_LOCK_KEY);
	int		 rc;

	if ((rc = db_exec(db, st, "s", key)) != TALLY_OK)
		return rc;
	return one_coupon(db, st, c);
}

int
db_coupon_list(struct db *db, size_t max, struct db_coupon *cs, size_t *n)
{
	struct db_stmt	*st = stmt(db, C_LIST);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "i", (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max && (rc = fetch_coupon(db, st, &cs[*n])) == TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_coupon_deactivate(struct db *db, int64_t id, int64_t now)
{
	return db_exec(db, stmt(db, C_DEACTIVATE), "ii", now, id);
}

int
db_coupon_bump(struct db *db, int64_t id)
{
	return db_exec(db, stmt(db, C_BUMP), "i", id);
}

int
db_redemption_insert(struct db *db, struct db_redemption *r, int64_t now)
{
	struct db_stmt	*st = stmt(db, R_INSERT);
	int		 rc;

	rc = db_exec(db, st, "iisisii", r->coupon_id, r->account_id, r->target,
	    r->subscription_id, r->product, r->purchase_id, now);
	if (rc == TALLY_OK) {
		r->id = db_insert_id(st);
		r->created_at = now;
		snprintf(r->status, sizeof(r->status), "active");
	}
	return rc;
}

static int
one_redemption(struct db *db, struct db_stmt *st, struct db_redemption *r)
{
	int	 rc = fetch_redemption(db, st, r);

	db_done(st);
	return rc;
}

int
db_redemption_lock(struct db *db, int64_t coupon_id, int64_t account_id,
    struct db_redemption *r)
{
	struct db_stmt	*st = stmt(db, R_LOCK);
	int		 rc;

	if ((rc = db_exec(db, st, "ii", coupon_id, account_id)) != TALLY_OK)
		return rc;
	return one_redemption(db, st, r);
}

int
db_redemption_active(struct db *db, int64_t account_id,
    int64_t subscription_id, struct db_redemption *r)
{
	struct db_stmt	*st;
	int		 rc;

	if (subscription_id != 0) {
		st = stmt(db, R_ACTIVE_SUB);
		rc = db_exec(db, st, "i", subscription_id);
	} else {
		st = stmt(db, R_ACTIVE_PLANS);
		rc = db_exec(db, st, "i", account_id);
	}
	if (rc != TALLY_OK)
		return rc;
	return one_redemption(db, st, r);
}

int
db_redemption_of_purchase(struct db *db, int64_t purchase_id,
    struct db_redemption *r)
{
	struct db_stmt	*st = stmt(db, R_OF_PURCHASE);
	int		 rc;

	if ((rc = db_exec(db, st, "i", purchase_id)) != TALLY_OK)
		return rc;
	return one_redemption(db, st, r);
}

int
db_redemption_list(struct db *db, int64_t account_id, size_t max,
    struct db_redemption *rs, size_t *n)
{
	struct db_stmt	*st = stmt(db, R_LIST);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", account_id, (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max && (rc = fetch_redemption(db, st, &rs[*n])) ==
	    TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_redemption_update(struct db *db, const struct db_redemption *r,
    int64_t now)
{
	return db_exec(db, stmt(db, R_UPDATE), "iissii", r->periods_used,
	    r->last_period, r->status, r->status, now, r->id);
}

int
db_redemption_set_purchase(struct db *db, int64_t id, int64_t purchase_id)
{
	return db_exec(db, stmt(db, R_SET_PURCHASE), "ii", purchase_id, id);
}

int
db_purchase_set_bonus(struct db *db, int64_t purchase_id, int64_t bonus,
    const char *code)
{
	return db_exec(db, stmt(db, P_SET_BONUS), "isi", bonus, code,
	    purchase_id);
}
