/* Outbound event deliveries: the outbox rows and their delivery state. */
#include <stdio.h>
#include <string.h>

#include "core/result.h"
#include "db/db.h"
#include "db/db_event.h"

enum event_sql {
	EV_SUB,
	EV_INVOICE,
	EV_PURCHASE,
	EV_GIFT,
	EV_PAYMENT,
	EV_LEDGER_KEYS,
	EV_SUB_END_DUE,
	EV_INVOICE_EXPIRE_DUE,
	EV_ENDPOINT_ENSURE,
	EV_ENDPOINT_LOCK,
	EV_HEAD,
	EV_DELIVERED,
	EV_FAILED,
	EV_LIST,
	EV_GET,
	EV_RESEND,
	EV__MAX
};

#define ISO(c)	"DATE_FORMAT(" c ", '%Y-%m-%dT%H:%i:%sZ')"

/*
 * The data objects, one per source table (x), with the account (a) of
 * the user the event is about.  Ids are strings and times ISO 8601, as
 * in the REST API; a missing value is null.
 */
#define SUB_DATA "JSON_OBJECT('user_id', a.user_id, 'subscription', " \
	"JSON_OBJECT('id', CAST(x.id AS CHAR), 'product', x.product, " \
	"'status', x.status, 'interval', x.billing_interval, " \
	"'current_period_start', " ISO("x.current_period_start") ", " \
	"'current_period_end', " ISO("x.current_period_end") ", " \
	"'next_charge_at', " ISO("x.next_charge_at") ", " \
	"'cancel_at_period_end', x.cancel_at_period_end <> 0, " \
	"'paused_at', " ISO("x.paused_at") ", " \
	"'ended_at', " ISO("x.ended_at") "))"
#define INVOICE_DATA "JSON_OBJECT('user_id', a.user_id, 'invoice', " \
	"JSON_OBJECT('id', CAST(x.id AS CHAR), 'number', x.number, " \
	"'status', x.status, 'kind', x.kind, 'currency', x.currency, " \
	"'total', x.total, 'period_start', " ISO("x.period_start") ", " \
	"'period_end', " ISO("x.period_end") ", " \
	"'expires_at', " ISO("x.expires_at") ", " \
	"'paid_at', " ISO("x.paid_at") ", 'paid_via', x.paid_via, " \
	"'subscription_id', CAST(x.subscription_id AS CHAR), " \
	"'created_at', " ISO("x.created_at") "))"
#define PURCHASE_DATA "JSON_OBJECT('user_id', a.user_id, 'purchase', " \
	"JSON_OBJECT('id', CAST(x.id AS CHAR), 'package', x.package, " \
	"'credits', x.credits, 'amount', x.amount, 'currency', x.currency, " \
	"'method', x.method, 'status', x.status, " \
	"'created_at', " ISO("x.created_at") ", " \
	"'completed_at', " ISO("x.completed_at") "))"
/* The redeemer's event; the code is left out (it was a bearer secret). */
#define GIFT_DATA "JSON_OBJECT('user_id', a.user_id, 'gift', " \
	"JSON_OBJECT('id', CAST(x.id AS CHAR), 'credits', x.credits, " \
	"'type', x.type, 'status', x.status, 'message', x.message, " \
	"'creator_user_id', (SELECT c.user_id FROM accounts c " \
	"WHERE c.id = x.creator_account_id), " \
	"'created_at', " ISO("x.created_at") ", " \
	"'redeemed_at', " ISO("x.redeemed_at") "))"
#define PAYMENT_DATA "JSON_OBJECT('user_id', a.user_id, 'payment', " \
	"JSON_OBJECT('id', CAST(x.id AS CHAR), 'reference', x.reference, " \
	"'method', x.method, 'amount', x.amount, 'currency', x.currency, " \
	"'status', x.status, 'reason', x.message, " \
	"'created_at', " ISO("x.created_at") "))"
/* As tally_ledger_event() in migration 0010 writes it. */
#define LEDGER_DATA "JSON_OBJECT('user_id', a.user_id, " \
	"'balance', x.balance_after, 'transaction', " \
	"JSON_OBJECT('id', CAST(x.id AS CHAR), 'kind', x.kind, " \
	"'amount', x.amount, 'balance_after', x.balance_after, " \
	"'operation', x.operation, 'description', x.description, " \
	"'created_at', " ISO("x.created_at") "))"

/*
 * One delivery per (object, endpoint) in the objects' order.  The event
 * id is the same for every endpoint of one event: derived from the
 * caller's random nonce and the object's position (or id).
 */
#define INS "INSERT INTO webhook_deliveries (event_id, endpoint, type, " \
	"account_id, data, created_at, queued_at, next_attempt_at) " \
	"SELECT CONCAT('evt_', LEFT(SHA2(CONCAT(?, ':', j.ord), 256), 24)), " \
	"h.name, ?, a.id, "
#define TIMES ", FROM_UNIXTIME(?), FROM_UNIXTIME(?), FROM_UNIXTIME(?) "
#define HOOKS "JOIN JSON_TABLE(?, '$[*]' COLUMNS (name VARCHAR(64) " \
	"CHARACTER SET utf8mb4 PATH '$')) h "
#define BY_IDS(table, acct) "FROM JSON_TABLE(?, '$[*]' COLUMNS (" \
	"ord FOR ORDINALITY, id BIGINT PATH '$')) j JOIN " table " x " \
	"ON x.id = j.id JOIN accounts a ON a.id = x." acct " " HOOKS \
	"ORDER BY j.ord"
/* The set-based ones name each event by the row's id. */
#define INS_ROW "INSERT INTO webhook_deliveries (event_id, endpoint, " \
	"type, account_id, data, created_at, queued_at, next_attempt_at) " \
	"SELECT CONCAT('evt_', LEFT(SHA2(CONCAT(?, ':', x.id), 256), 24)), " \
	"h.name, ?, a.id, "

#define DELIVERY_COLS "id, event_id, endpoint, type, data, " \
	"UNIX_TIMESTAMP(created_at), UNIX_TIMESTAMP(queued_at), status, " \
	"attempts, UNIX_TIMESTAMP(next_attempt_at), " \
	"UNIX_TIMESTAMP(last_attempt_at), last_status, last_error, " \
	"UNIX_TIMESTAMP(delivered_at), resend_of"

static const char *const sqls[EV__MAX] = {
	[EV_SUB] = INS SUB_DATA TIMES BY_IDS("subscriptions", "account_id"),
	[EV_INVOICE] = INS INVOICE_DATA TIMES
	    BY_IDS("invoices", "account_id"),
	[EV_PURCHASE] = INS PURCHASE_DATA TIMES
	    BY_IDS("purchases", "account_id"),
	[EV_GIFT] = INS GIFT_DATA TIMES BY_IDS("gifts", "redeemed_by"),
	/* Payment attempts by their unique reference. */
	[EV_PAYMENT] = INS PAYMENT_DATA TIMES
	    "FROM JSON_TABLE(?, '$[*]' COLUMNS (ord FOR ORDINALITY, "
	    "k VARCHAR(191) CHARACTER SET utf8mb4 PATH '$')) j "
	    "JOIN payments x ON x.reference = j.k "
	    "JOIN accounts a ON a.id = x.account_id " HOOKS "ORDER BY j.ord",
	/* A batch's ledger rows, found by their unique effect keys. */
	[EV_LEDGER_KEYS] = INS LEDGER_DATA TIMES
	    "FROM JSON_TABLE(?, '$[*]' COLUMNS (ord FOR ORDINALITY, "
	    "k VARCHAR(191) CHARACTER SET utf8mb4 PATH '$')) j "
	    "JOIN ledger x ON x.effect_key = j.k "
	    "JOIN accounts a ON a.id = x.account_id " HOOKS "ORDER BY j.ord",
	/*
	 * The rows db_sub_end_due / db_invoice_expire_due are about to
	 * change, locked here (a locking read in READ COMMITTED), so that
	 * their UPDATE that follows changes exactly these.  The data shows
	 * the state after that UPDATE.
	 */
	[EV_SUB_END_DUE] = INS_ROW "JSON_SET(" SUB_DATA ", "
	    "'$.subscription.status', IF(x.cancel_at_period_end, 'canceled', "
	    "'expired'), '$.subscription.ended_at', "
	    ISO("x.current_period_end") ")" TIMES
	    "FROM subscriptions x JOIN accounts a ON a.id = x.account_id "
	    HOOKS "WHERE x.product = ? AND x.status = 'active' AND "
	    "x.current_period_end <= FROM_UNIXTIME(?) AND "
	    "x.cancel_at_period_end = ? ORDER BY x.current_period_end, x.id "
	    "FOR UPDATE",
	[EV_INVOICE_EXPIRE_DUE] = INS_ROW "JSON_SET(" INVOICE_DATA ", "
	    "'$.invoice.status', 'expired')" TIMES
	    "FROM invoices x JOIN accounts a ON a.id = x.account_id " HOOKS
	    "WHERE x.status = 'pending' AND x.expires_at <= FROM_UNIXTIME(?) "
	    "ORDER BY x.expires_at, x.id FOR UPDATE",
	[EV_ENDPOINT_ENSURE] =
	    "INSERT IGNORE INTO webhook_endpoints (name, created_at) "
	    "VALUES (?, FROM_UNIXTIME(?))",
	/* Held while the endpoint's head delivery is sent: one sender per
	 * endpoint; another scheduler skips it and goes on. */
	[EV_ENDPOINT_LOCK] =
	    "SELECT name FROM webhook_endpoints WHERE name = ? "
	    "FOR UPDATE SKIP LOCKED",
	[EV_HEAD] =
	    "SELECT " DELIVERY_COLS " FROM webhook_deliveries "
	    "WHERE endpoint = ? AND status = 'pending' ORDER BY id LIMIT 1",
	[EV_DELIVERED] =
	    "UPDATE webhook_deliveries SET status = 'delivered', "
	    "attempts = attempts + 1, last_attempt_at = FROM_UNIXTIME(?), "
	    "last_status = ?, last_error = NULL, "
	    "delivered_at = FROM_UNIXTIME(?) WHERE id = ?",
	[EV_FAILED] =
	    "UPDATE webhook_deliveries SET attempts = ?, "
	    "last_attempt_at = FROM_UNIXTIME(?), last_status = NULLIF(?, 0), "
	    "last_error = LEFT(?, 500), next_attempt_at = FROM_UNIXTIME(?), "
	    "status = IF(?, 'failed', 'pending') WHERE id = ?",
	[EV_LIST] =
	    "SELECT " DELIVERY_COLS " FROM webhook_deliveries "
	    "WHERE (? = '' OR endpoint = ?) AND (? = '' OR status = ?) "
	    "AND id < ? ORDER BY id DESC LIMIT ?",
	[EV_GET] =
	    "SELECT " DELIVERY_COLS " FROM webhook_deliveries WHERE id = ?",
	[EV_RESEND] =
	    "INSERT INTO webhook_deliveries (event_id, endpoint, type, "
	    "account_id, data, created_at, queued_at, next_attempt_at, "
	    "resend_of) SELECT event_id, endpoint, type, account_id, data, "
	    "created_at, FROM_UNIXTIME(?), FROM_UNIXTIME(?), id "
	    "FROM webhook_deliveries WHERE id = ?",
};

static const enum event_sql by_src[DB_EVSRC__MAX] = {
	[DB_EVSRC_SUB] = EV_SUB,
	[DB_EVSRC_INVOICE] = EV_INVOICE,
	[DB_EVSRC_PURCHASE] = EV_PURCHASE,
	[DB_EVSRC_GIFT] = EV_GIFT,
	[DB_EVSRC_PAYMENT] = EV_PAYMENT,
	[DB_EVSRC_LEDGER] = EV_LEDGER_KEYS,
};

static struct db_stmt *
stmt(struct db *db, enum event_sql id)
{
	return db_stmt(db, DB_G_EVENT, id, sqls[id]);
}

int
db_event_insert(struct db *db, enum db_event_src src, const char *type,
    const char *objs_json, const char *hooks_json, const char *nonce,
    int64_t now, uint64_t *n)
{
	struct db_stmt	*st;
	int		 rc;

	*n = 0;
	if ((int)src < 0 || src >= DB_EVSRC__MAX)
		return TALLY_E_INTERNAL;
	st = stmt(db, by_src[src]);
	if ((rc = db_exec(db, st, "ssiiiss", nonce, type, now, now, now,
	    objs_json, hooks_json)) == TALLY_OK)
		*n = db_affected(st);
	return rc;
}

int
db_event_sub_end_due(struct db *db, const char *product, int cancel,
    const char *type, const char *hooks_json, const char *nonce, int64_t now)
{
	return db_exec(db, stmt(db, EV_SUB_END_DUE), "ssiiissii", nonce, type,
	    now, now, now, hooks_json, product, now, (int64_t)(cancel != 0));
}

int
db_event_invoice_expire_due(struct db *db, const char *type,
    const char *hooks_json, const char *nonce, int64_t now)
{
	return db_exec(db, stmt(db, EV_INVOICE_EXPIRE_DUE), "ssiiisi", nonce,
	    type, now, now, now, hooks_json, now);
}

int
db_event_endpoint_ensure(struct db *db, const char *endpoint, int64_t now)
{
	return db_exec(db, stmt(db, EV_ENDPOINT_ENSURE), "si", endpoint, now);
}

int
db_event_endpoint_lock(struct db *db, const char *endpoint)
{
	struct db_stmt	*st = stmt(db, EV_ENDPOINT_LOCK);
	char		 name[65];
	int		 rc;

	if ((rc = db_exec(db, st, "s", endpoint)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "s", name, sizeof(name));
	db_done(st);
	return rc == TALLY_E_NOTFOUND ? TALLY_E_CONFLICT : rc;
}

static int
fetch(struct db *db, struct db_stmt *st, struct db_delivery *d)
{
	memset(d, 0, sizeof(*d));
	return db_fetch(db, st, "issssiisiiiisii", &d->id, d->event_id,
	    sizeof(d->event_id), d->endpoint, sizeof(d->endpoint), d->type,
	    sizeof(d->type), d->data, sizeof(d->data), &d->created_at,
	    &d->queued_at, d->status, sizeof(d->status), &d->attempts,
	    &d->next_attempt_at, &d->last_attempt_at, &d->last_status,
	    d->last_error, sizeof(d->last_error), &d->delivered_at,
	    &d->resend_of);
}

int
db_event_head(struct db *db, const char *endpoint, struct db_delivery *d)
{
	struct db_stmt	*st = stmt(db, EV_HEAD);
	int		 rc;

	if ((rc = db_exec(db, st, "s", endpoint)) != TALLY_OK)
		return rc;
	rc = fetch(db, st, d);
	db_done(st);
	return rc;
}

int
db_event_delivered(struct db *db, int64_t id, int64_t http_status,
    int64_t now)
{
	return db_exec(db, stmt(db, EV_DELIVERED), "iiii", now, http_status,
	    now, id);
}

int
db_event_failed(struct db *db, int64_t id, int64_t attempts,
    int64_t http_status, const char *error, int64_t next_at, int final,
    int64_t now)
{
	return db_exec(db, stmt(db, EV_FAILED), "iiisiii", attempts, now,
	    http_status, error, next_at, (int64_t)(final != 0), id);
}

int
db_event_list(struct db *db, const char *endpoint, const char *status,
    int64_t before, size_t max, struct db_delivery *rows, size_t *n)
{
	struct db_stmt	*st = stmt(db, EV_LIST);
	const char	*e = endpoint != NULL ? endpoint : "";
	const char	*s = status != NULL ? status : "";
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ssssii", e, e, s, s,
	    before > 0 ? before : INT64_MAX, (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max && (rc = fetch(db, st, &rows[*n])) == TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_event_get(struct db *db, int64_t id, struct db_delivery *d)
{
	struct db_stmt	*st = stmt(db, EV_GET);
	int		 rc;

	if ((rc = db_exec(db, st, "i", id)) != TALLY_OK)
		return rc;
	rc = fetch(db, st, d);
	db_done(st);
	return rc;
}

int
db_event_resend(struct db *db, int64_t id, int64_t now, int64_t *new_id)
{
	struct db_stmt	*st = stmt(db, EV_RESEND);
	int		 rc;

	*new_id = 0;
	if ((rc = db_exec(db, st, "iii", now, now, id)) != TALLY_OK)
		return rc;
	if (db_affected(st) != 1)
		return TALLY_E_NOTFOUND;
	*new_id = db_insert_id(st);
	return TALLY_OK;
}
