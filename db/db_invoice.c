/* Invoice engine queries. */
#include <stdio.h>
#include <string.h>

#include "core/plan.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_invoice.h"

enum inv_sql {
	I_SEQ_BUMP,
	I_SEQ_READ,
	I_INSERT,
	I_GET,
	I_LOCK,
	I_LIST,
	I_BY_CYCLE,
	I_PAID,
	I_PAID_REF,
	I_EXPIRE,
	I_CASCADE_CLAIM,
	I_CASCADE_DONE,
	I_ITEM_INSERT,
	I_ITEM_INSERT_LINE,
	I_ITEM_OPEN_PLANS,
	I_ITEM_LIST,
	I_ITEM_OPEN,
	I_ITEM_CLAIM,
	I_ITEM_ACCOUNTS,
	I_ACT_INSERT,
	I_ACT_BEFORE,
	I_ACT_ALL_BEFORE,
	I_ANCHOR_LOCK,
	I_ANCHOR_SET,
	I_ANCHOR_ACCOUNTS,
	I_RENEWAL,
	I__MAX
};

#define INV_COLS "id, account_id, number, status, kind, currency, total, " \
	"UNIX_TIMESTAMP(period_start), UNIX_TIMESTAMP(period_end), " \
	"UNIX_TIMESTAMP(expires_at), UNIX_TIMESTAMP(paid_at), paid_via, " \
	"subscription_id, cycle_key, UNIX_TIMESTAMP(created_at)"

/*
 * The user's views (I_GET, I_LIST) also read the invoice's dunning row,
 * if any (migration 0011; a plain read, no lock).  Its columns have
 * names of their own, so INV_COLS stays unambiguous.
 */
#define INV_VIEW_COLS INV_COLS ", UNIX_TIMESTAMP(d.failed_at), d.attempt, " \
	"d.planned, UNIX_TIMESTAMP(d.next_at), d.reason"
#define INV_VIEW_FROM "invoices LEFT JOIN dunning d ON d.invoice_id = " \
	"invoices.id"

static const char *const sqls[I__MAX] = {
	[I_SEQ_BUMP] =
	    "UPDATE accounts SET invoice_seq = invoice_seq + 1 WHERE id = ?",
	[I_SEQ_READ] = "SELECT invoice_seq FROM accounts WHERE id = ?",
	[I_INSERT] =
	    "INSERT INTO invoices (account_id, seq, number, status, kind, "
	    "currency, total, period_start, period_end, expires_at, "
	    "subscription_id, cycle_key, created_at) VALUES (?, ?, ?, "
	    "'pending', ?, ?, ?, FROM_UNIXTIME(NULLIF(?, 0)), "
	    "FROM_UNIXTIME(NULLIF(?, 0)), FROM_UNIXTIME(NULLIF(?, 0)), "
	    "NULLIF(?, 0), ?, FROM_UNIXTIME(?))",
	[I_GET] = "SELECT " INV_VIEW_COLS " FROM " INV_VIEW_FROM " WHERE "
	    "id = ? AND account_id = ?",
	[I_LOCK] = "SELECT " INV_COLS " FROM invoices WHERE id = ? FOR UPDATE",
	[I_LIST] = "SELECT " INV_VIEW_COLS " FROM " INV_VIEW_FROM " WHERE "
	    "account_id = ? ORDER BY id DESC LIMIT ?",
	[I_BY_CYCLE] = "SELECT " INV_COLS " FROM invoices WHERE cycle_key = ? "
	    "FOR UPDATE",
	[I_PAID] = "UPDATE invoices SET status = 'paid', paid_via = ?, "
	    "paid_ref = ?, paid_at = FROM_UNIXTIME(?) WHERE id = ?",
	[I_PAID_REF] = "SELECT paid_ref FROM invoices WHERE id = ?",
	[I_EXPIRE] = "UPDATE invoices SET status = 'expired' WHERE "
	    "status = 'pending' AND expires_at <= FROM_UNIXTIME(?)",
	[I_CASCADE_CLAIM] =
	    "SELECT id FROM invoices WHERE cascade_done = 0 AND "
	    "status = 'pending' AND kind = 'usage' ORDER BY id LIMIT ? "
	    "FOR UPDATE SKIP LOCKED",
	[I_CASCADE_DONE] = "UPDATE invoices SET cascade_done = 1 WHERE id = ?",
	[I_ITEM_INSERT] =
	    "INSERT INTO invoice_items (account_id, invoice_id, description, "
	    "amount, resource_id, plan, source_key, created_at) VALUES (?, "
	    "NULLIF(?, 0), LEFT(?, 500), ?, ?, ?, ?, FROM_UNIXTIME(?))",
	[I_ITEM_INSERT_LINE] =
	    "INSERT INTO invoice_items (account_id, invoice_id, description, "
	    "amount, resource_id, plan, redemption_id, created_at) VALUES (?, "
	    "?, LEFT(?, 500), ?, ?, ?, NULLIF(?, 0), FROM_UNIXTIME(?))",
	[I_ITEM_OPEN_PLANS] =
	    "SELECT COALESCE(plan, ''), SUM(amount) FROM invoice_items WHERE "
	    "account_id = ? AND invoice_id IS NULL AND id <= ? GROUP BY plan "
	    "ORDER BY plan LIMIT ?",
	[I_ITEM_LIST] =
	    "SELECT id, description, amount, resource_id, plan, "
	    "redemption_id FROM invoice_items WHERE invoice_id = ? "
	    "ORDER BY id LIMIT ?",
	[I_ITEM_OPEN] =
	    "SELECT COALESCE(SUM(amount), 0), COUNT(*), COALESCE(MAX(id), 0) "
	    "FROM invoice_items WHERE account_id = ? AND invoice_id IS NULL "
	    "FOR UPDATE",
	[I_ITEM_CLAIM] =
	    "UPDATE invoice_items SET invoice_id = ? WHERE account_id = ? AND "
	    "invoice_id IS NULL AND id <= ?",
	[I_ITEM_ACCOUNTS] =
	    "SELECT DISTINCT account_id FROM invoice_items WHERE "
	    "invoice_id IS NULL AND account_id > ? ORDER BY account_id LIMIT ?",
	[I_ACT_INSERT] =
	    "INSERT INTO activities (account_id, resource_id, type, plan, at, "
	    "created_at) VALUES (?, ?, ?, ?, FROM_UNIXTIME(?), FROM_UNIXTIME(?))",
	[I_ACT_BEFORE] =
	    "SELECT id, resource_id, type, plan, UNIX_TIMESTAMP(at) FROM "
	    "activities WHERE account_id = ? AND resource_id = ? AND "
	    "(at < FROM_UNIXTIME(?) OR (at = FROM_UNIXTIME(?) AND id < ?)) "
	    "ORDER BY at, id LIMIT ?",
	[I_ACT_ALL_BEFORE] =
	    "SELECT id, resource_id, type, plan, UNIX_TIMESTAMP(at) FROM "
	    "activities WHERE account_id = ? AND at < FROM_UNIXTIME(?) "
	    "ORDER BY resource_id, at, id LIMIT ?",
	[I_ANCHOR_LOCK] =
	    "SELECT UNIX_TIMESTAMP(billing_anchor) FROM accounts WHERE id = ? "
	    "FOR UPDATE",
	[I_ANCHOR_SET] =
	    "UPDATE accounts SET billing_anchor = FROM_UNIXTIME(?) WHERE id = ?",
	[I_ANCHOR_ACCOUNTS] =
	    "SELECT id, UNIX_TIMESTAMP(billing_anchor) FROM accounts WHERE "
	    "billing_anchor IS NOT NULL AND id > ? ORDER BY id LIMIT ?",
	[I_RENEWAL] =
	    "INSERT INTO plan_renewals (account_id, period_start, created_at) "
	    "VALUES (?, FROM_UNIXTIME(?), FROM_UNIXTIME(?))",
};

static struct db_stmt *
stmt(struct db *db, enum inv_sql id)
{
	return db_stmt(db, DB_G_INVOICE, id, sqls[id]);
}

int
db_invoice_next_seq(struct db *db, int64_t account_id, int64_t *seq)
{
	struct db_stmt	*st;
	int		 rc;

	if ((rc = db_exec(db, stmt(db, I_SEQ_BUMP), "i", account_id)) !=
	    TALLY_OK)
		return rc;
	st = stmt(db, I_SEQ_READ);
	if ((rc = db_exec(db, st, "i", account_id)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "i", seq);
	db_done(st);
	return rc;
}

int
db_invoice_insert(struct db *db, struct db_invoice *inv, int64_t seq,
    int64_t now)
{
	struct db_stmt	*st = stmt(db, I_INSERT);
	int		 rc;

	rc = db_exec(db, st, "iisssiiiiisi", inv->account_id, seq,
	    inv->number, inv->kind, inv->currency, inv->total,
	    inv->period_start, inv->period_end, inv->expires_at,
	    inv->subscription_id, inv->cycle_key[0] ? inv->cycle_key : NULL,
	    now);
	if (rc == TALLY_OK) {
		inv->id = db_insert_id(st);
		inv->created_at = now;
		snprintf(inv->status, sizeof(inv->status), "pending");
	}
	return rc;
}

static int
fetch(struct db *db, struct db_stmt *st, struct db_invoice *i)
{
	memset(i, 0, sizeof(*i));
	return db_fetch(db, st, "iissssiiiiisisi", &i->id, &i->account_id,
	    i->number, sizeof(i->number), i->status, sizeof(i->status),
	    i->kind, sizeof(i->kind), i->currency, sizeof(i->currency),
	    &i->total, &i->period_start, &i->period_end, &i->expires_at,
	    &i->paid_at, i->paid_via, sizeof(i->paid_via),
	    &i->subscription_id, i->cycle_key, sizeof(i->cycle_key),
	    &i->created_at);
}

/* A row of a user's view: the invoice and its dunning columns. */
static int
fetch_view(struct db *db, struct db_stmt *st, struct db_invoice *i)
{
	memset(i, 0, sizeof(*i));
	return db_fetch(db, st, "iissssiiiiisisiiiiis", &i->id,
	    &i->account_id, i->number, sizeof(i->number), i->status,
	    sizeof(i->status), i->kind, sizeof(i->kind), i->currency,
	    sizeof(i->currency), &i->total, &i->period_start, &i->period_end,
	    &i->expires_at, &i->paid_at, i->paid_via, sizeof(i->paid_via),
	    &i->subscription_id, i->cycle_key, sizeof(i->cycle_key),
	    &i->created_at, &i->dunning_failed_at, &i->dunning_attempt, &i->dunning_planned,
	    &i->dunning_next_at,
	    i->dunning_reason, sizeof(i->dunning_reason));
}

static int
one(struct db *db, struct db_stmt *st, struct db_invoice *i)
{
	int	 rc = fetch(db, st, i);

	db_done(st);
	return rc;
}

int
db_invoice_get(struct db *db, int64_t account_id, int64_t id,
    struct db_invoice *i)
{
	struct db_stmt	*st = stmt(db, I_GET);
	int		 rc;

	if ((rc = db_exec(db, st, "ii", id, account_id)) != TALLY_OK)
		return rc;
	rc = fetch_view(db, st, i);
	db_done(st);
	return rc;
}

int
db_invoice_lock(struct db *db, int64_t id, struct db_invoice *i)
{
	struct db_stmt	*st = stmt(db, I_LOCK);
	int		 rc;

	if ((rc = db_exec(db, st, "i", id)) != TALLY_OK)
		return rc;
	return one(db, st, i);
}

int
db_invoice_by_cycle(struct db *db, const char *key, struct db_invoice *i)
{
	struct db_stmt	*st = stmt(db, I_BY_CYCLE);
	int		 rc;

	if ((rc = db_exec(db, st, "s", key)) != TALLY_OK)
		return rc;
	return one(db, st, i);
}

int
db_invoice_list(struct db *db, int64_t account_id, size_t max,
    struct db_invoice *is, size_t *n)
{
	struct db_stmt	*st = stmt(db, I_LIST);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", account_id, (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max && (rc = fetch_view(db, st, &is[*n])) == TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_invoice_set_paid(struct db *db, int64_t id, const char *via,
    const char *ref, int64_t now)
{
	return db_exec(db, stmt(db, I_PAID), "ssii", via, ref, now, id);
}

int
db_invoice_paid_ref(struct db *db, int64_t id, char *ref, size_t refsz)
{
	struct db_stmt	*st = stmt(db, I_PAID_REF);
	int		 rc;

	ref[0] = '\0';
	if ((rc = db_exec(db, st, "i", id)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "s", ref, refsz);
	db_done(st);
	return rc;
}

int
db_invoice_expire_due(struct db *db, int64_t now, uint64_t *n)
{
	struct db_stmt	*st = stmt(db, I_EXPIRE);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "i", now)) == TALLY_OK)
		*n = db_affected(st);
	return rc;
}

/* Fetch a column of ids. */
static int
ids(struct db *db, struct db_stmt *st, size_t max, int64_t *out, size_t *n)
{
	int	 rc = TALLY_OK;

	*n = 0;
	while (*n < max && (rc = db_fetch(db, st, "i", &out[*n])) == TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_invoice_claim_cascade(struct db *db, size_t max, int64_t *out, size_t *n)
{
	struct db_stmt	*st = stmt(db, I_CASCADE_CLAIM);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "i", (int64_t)max)) != TALLY_OK)
		return rc;
	return ids(db, st, max, out, n);
}

int
db_invoice_cascade_done(struct db *db, int64_t id)
{
	return db_exec(db, stmt(db, I_CASCADE_DONE), "i", id);
}

int
db_item_insert(struct db *db, int64_t account_id, int64_t invoice_id,
    const char *description, int64_t amount, const char *resource_id,
    const char *plan, const char *source_key, int64_t now)
{
	return db_exec(db, stmt(db, I_ITEM_INSERT), "iisisssi", account_id,
	    invoice_id, description, amount, resource_id, plan, source_key,
	    now);
}

int
db_item_insert_line(struct db *db, int64_t account_id, int64_t invoice_id,
    const char *description, int64_t amount, const char *resource_id,
    const char *plan, int64_t redemption_id, int64_t now)
{
	return db_exec(db, stmt(db, I_ITEM_INSERT_LINE), "iisissii",
	    account_id, invoice_id, description, amount, resource_id, plan,
	    redemption_id, now);
}

static int
items_fetch(struct db *db, struct db_stmt *st, size_t max,
    struct db_item *items, size_t *n)
{
	struct db_item	*it;
	int		 rc = TALLY_OK;

	*n = 0;
	while (*n < max) {
		it = &items[*n];
		memset(it, 0, sizeof(*it));
		rc = db_fetch(db, st, "isissi", &it->id, it->description,
		    sizeof(it->description), &it->amount, it->resource_id,
		    sizeof(it->resource_id), it->plan, sizeof(it->plan),
		    &it->redemption_id);
		if (rc != TALLY_OK)
			break;
		(*n)++;
	}
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_item_list(struct db *db, int64_t invoice_id, size_t max,
    struct db_item *items, size_t *n)
{
	struct db_stmt	*st = stmt(db, I_ITEM_LIST);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", invoice_id, (int64_t)max)) != TALLY_OK)
		return rc;
	return items_fetch(db, st, max, items, n);
}

int
db_item_open_plans(struct db *db, int64_t account_id, int64_t max_id,
    size_t max, char (*plans)[64], int64_t *sums, size_t *n)
{
	struct db_stmt	*st = stmt(db, I_ITEM_OPEN_PLANS);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "iii", account_id, max_id, (int64_t)max)) !=
	    TALLY_OK)
		return rc;
	while (*n < max && (rc = db_fetch(db, st, "si", plans[*n], (size_t)64,
	    &sums[*n])) == TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_item_open(struct db *db, int64_t account_id, int64_t *sum,
    int64_t *count, int64_t *max_id)
{
	struct db_stmt	*st = stmt(db, I_ITEM_OPEN);
	int		 rc;

	if ((rc = db_exec(db, st, "i", account_id)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "iii", sum, count, max_id);
	db_done(st);
	return rc;
}

int
db_item_claim(struct db *db, int64_t account_id, int64_t invoice_id,
    int64_t max_id)
{
	return db_exec(db, stmt(db, I_ITEM_CLAIM), "iii", invoice_id,
	    account_id, max_id);
}

int
db_item_open_accounts(struct db *db, int64_t after_id, size_t max,
    int64_t *out, size_t *n)
{
	struct db_stmt	*st = stmt(db, I_ITEM_ACCOUNTS);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", after_id, (int64_t)max)) != TALLY_OK)
		return rc;
	return ids(db, st, max, out, n);
}

int
db_activity_insert(struct db *db, int64_t account_id, const char *resource,
    const char *type, const char *plan, int64_t at, int64_t now,
    int64_t *id)
{
	struct db_stmt	*st = stmt(db, I_ACT_INSERT);
	int		 rc;

	rc = db_exec(db, st, "isssii", account_id, resource, type, plan, at,
	    now);
	if (rc == TALLY_OK)
		*id = db_insert_id(st);
	return rc;
}

static int
activities(struct db *db, struct db_stmt *st, size_t max,
    struct db_activity *as, size_t *n)
{
	struct db_activity *a;
	char		 type[16];
	int		 rc = TALLY_OK;

	*n = 0;
	while (*n < max) {
		a = &as[*n];
		memset(a, 0, sizeof(*a));
		rc = db_fetch(db, st, "isssi", &a->id, a->resource_id,
		    sizeof(a->resource_id), type, sizeof(type), a->plan,
		    sizeof(a->plan), &a->at);
		if (rc != TALLY_OK)
			break;
		a->type = core_activity_parse(type);
		(*n)++;
	}
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_activity_before(struct db *db, int64_t account_id, const char *resource,
    int64_t at, int64_t id, size_t max, struct db_activity *as, size_t *n)
{
	struct db_stmt	*st = stmt(db, I_ACT_BEFORE);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "isiiii", account_id, resource, at, at, id,
	    (int64_t)max)) != TALLY_OK)
		return rc;
	return activities(db, st, max, as, n);
}

int
db_activity_all_before(struct db *db, int64_t account_id, int64_t t,
    size_t max, struct db_activity *as, size_t *n)
{
	struct db_stmt	*st = stmt(db, I_ACT_ALL_BEFORE);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "iii", account_id, t, (int64_t)max)) !=
	    TALLY_OK)
		return rc;
	return activities(db, st, max, as, n);
}

int
db_anchor_lock(struct db *db, int64_t account_id, int64_t *anchor)
{
	struct db_stmt	*st = stmt(db, I_ANCHOR_LOCK);
	int		 rc;

	if ((rc = db_exec(db, st, "i", account_id)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "i", anchor);
	db_done(st);
	return rc;
}

int
db_anchor_set(struct db *db, int64_t account_id, int64_t anchor)
{
	return db_exec(db, stmt(db, I_ANCHOR_SET), "ii", anchor, account_id);
}

int
db_anchor_accounts(struct db *db, int64_t after_id, size_t max,
    int64_t *out, int64_t *anchors, size_t *n)
{
	struct db_stmt	*st = stmt(db, I_ANCHOR_ACCOUNTS);
	int		 rc = TALLY_OK;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", after_id, (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max && (rc = db_fetch(db, st, "ii", &out[*n],
	    &anchors[*n])) == TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_renewal_take(struct db *db, int64_t account_id, int64_t start,
    int64_t now)
{
	return db_exec(db, stmt(db, I_RENEWAL), "iii", account_id, start, now);
}
