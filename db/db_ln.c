/* Lightning payment queries. */
#include <string.h>

#include "core/result.h"
#include "db/db.h"
#include "db/db_ln.h"

enum ln_sql {
	LN_INSERT,
	LN_LATEST,
	LN_LOCK,
	LN_STATUS,
	LN_OPEN,
	LN_GET,
	LN_NWC_INSERT,
	LN_NWC_LOCK,
	LN_NWC_GET,
	LN_NWC_SET_EVENT,
	LN_NWC_STATUS,
	LN_NWC_PAYMENT_SETTLED,
	LN__MAX
};

#define LN_COLS "btcpay_invoice, subject_type, subject_id, account_id, " \
	"amount, currency, bolt11, checkout_url, status, " \
	"UNIX_TIMESTAMP(expires_at), UNIX_TIMESTAMP(created_at)"

static const char *const sqls[LN__MAX] = {
	[LN_INSERT] =
	    "INSERT INTO lightning_payments (btcpay_invoice, subject_type, "
	    "subject_id, account_id, amount, currency, bolt11, checkout_url, "
	    "expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
	    "FROM_UNIXTIME(?), FROM_UNIXTIME(?))",
	[LN_LATEST] =
	    "SELECT " LN_COLS " FROM lightning_payments WHERE subject_type = ? "
	    "AND subject_id = ? ORDER BY created_at DESC, expires_at DESC "
	    "LIMIT 1 FOR UPDATE",
	[LN_LOCK] =
	    "SELECT " LN_COLS " FROM lightning_payments "
	    "WHERE btcpay_invoice = ? FOR UPDATE",
	[LN_STATUS] =
	    "UPDATE lightning_payments SET status = ? WHERE btcpay_invoice = ?",
	[LN_GET] =
	    "SELECT " LN_COLS " FROM lightning_payments WHERE btcpay_invoice = ?",
	/* Keyset paging on (created_at, btcpay_invoice): payments that stay
	 * open never hide newer ones from a later page. */
	[LN_OPEN] =
	    "SELECT " LN_COLS " FROM lightning_payments WHERE status = 'new' "
	    "AND created_at < FROM_UNIXTIME(?) AND (created_at > "
	    "FROM_UNIXTIME(?) OR (created_at = FROM_UNIXTIME(?) AND "
	    "btcpay_invoice > ?)) ORDER BY created_at, btcpay_invoice LIMIT ?",
};

#define NWC_COLS "invoice_id, account_id, btcpay_invoice, " \
	"COALESCE(request_id, ''), COALESCE(request_event, ''), status, " \
	"COALESCE(message, '')"

static const char *const nwc_sqls[] = {
	[LN_NWC_INSERT] =
	    "INSERT INTO nwc_attempts (invoice_id, account_id, btcpay_invoice, "
	    "status, created_at, updated_at) VALUES (?, ?, ?, 'new', "
	    "FROM_UNIXTIME(?), FROM_UNIXTIME(?))",
	[LN_NWC_LOCK] =
	    "SELECT " NWC_COLS " FROM nwc_attempts WHERE invoice_id = ? "
	    "FOR UPDATE",
	[LN_NWC_GET] =
	    "SELECT " NWC_COLS " FROM nwc_attempts WHERE invoice_id = ?",
	/* Only the first event stored counts: a run that raced another
	 * sends the one that won. */
	[LN_NWC_SET_EVENT] =
	    "UPDATE nwc_attempts SET request_id = ?, request_event = ?, "
	    "status = 'sent', updated_at = FROM_UNIXTIME(?) WHERE "
	    "invoice_id = ? AND request_event IS NULL",
	[LN_NWC_STATUS] =
	    "UPDATE nwc_attempts SET status = ?, message = LEFT(?, 500), "
	    "updated_at = FROM_UNIXTIME(?) WHERE invoice_id = ?",
	[LN_NWC_PAYMENT_SETTLED] =
	    "UPDATE payments SET status = 'succeeded', provider_ref = ?, "
	    "message = NULL WHERE reference = ?",
};

static struct db_stmt *
stmt(struct db *db, enum ln_sql id)
{
	return db_stmt(db, DB_G_LN, id, id >= LN_NWC_INSERT ? nwc_sqls[id] :
	    sqls[id]);
}

static int
fetch(struct db *db, struct db_stmt *st, struct db_ln *l)
{
	memset(l, 0, sizeof(*l));
	return db_fetch(db, st, "ssiiissssii", l->btcpay_invoice,
	    sizeof(l->btcpay_invoice), l->subject_type, sizeof(l->subject_type),
	    &l->subject_id, &l->account_id, &l->amount, l->currency,
	    sizeof(l->currency), l->bolt11, sizeof(l->bolt11), l->checkout_url,
	    sizeof(l->checkout_url), l->status, sizeof(l->status),
	    &l->expires_at, &l->created_at);
}

static int
one(struct db *db, struct db_stmt *st, struct db_ln *l)
{
	int	 rc = fetch(db, st, l);

	db_done(st);
	return rc;
}

int
db_ln_insert(struct db *db, const struct db_ln *l, int64_t now)
{
	return db_exec(db, stmt(db, LN_INSERT), "ssiiisssii", l->btcpay_invoice,
	    l->subject_type, l->subject_id, l->account_id, l->amount,
	    l->currency, l->bolt11, l->checkout_url, l->expires_at, now);
}

int
db_ln_latest(struct db *db, const char *type, int64_t id, struct db_ln *l)
{
	struct db_stmt	*st = stmt(db, LN_LATEST);
	int		 rc;

	if ((rc = db_exec(db, st, "si", type, id)) != TALLY_OK)
		return rc;
	return one(db, st, l);
}

int
db_ln_lock(struct db *db, const char *inv, struct db_ln *l)
{
	struct db_stmt	*st = stmt(db, LN_LOCK);
	int		 rc;

	if ((rc = db_exec(db, st, "s", inv)) != TALLY_OK)
		return rc;
	return one(db, st, l);
}

int
db_ln_set_status(struct db *db, const char *inv, const char *status)
{
	return db_exec(db, stmt(db, LN_STATUS), "ss", status, inv);
}

int
db_ln_open(struct db *db, int64_t before, int64_t after_t,
    const char *after_id, size_t max, struct db_ln *ls, size_t *n)
{
	struct db_stmt	*st = stmt(db, LN_OPEN);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "iiisi", before, after_t, after_t, after_id,
	    (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max && (rc = fetch(db, st, &ls[*n])) == TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_ln_get(struct db *db, const char *inv, struct db_ln *l)
{
	struct db_stmt	*st = stmt(db, LN_GET);
	int		 rc;

	if ((rc = db_exec(db, st, "s", inv)) != TALLY_OK)
		return rc;
	return one(db, st, l);
}

static int
nwc_one(struct db *db, struct db_stmt *st, struct db_nwc *a)
{
	int	 rc;

	memset(a, 0, sizeof(*a));
	rc = db_fetch(db, st, "iisssss", &a->invoice_id, &a->account_id,
	    a->btcpay_invoice, sizeof(a->btcpay_invoice), a->request_id,
	    sizeof(a->request_id), a->request_event, sizeof(a->request_event),
	    a->status, sizeof(a->status), a->message, sizeof(a->message));
	db_done(st);
	return rc;
}

int
db_nwc_insert(struct db *db, int64_t invoice_id, int64_t account_id,
    const char *btcpay_invoice, int64_t now)
{
	return db_exec(db, stmt(db, LN_NWC_INSERT), "iisii", invoice_id,
	    account_id, btcpay_invoice, now, now);
}

int
db_nwc_get(struct db *db, int64_t invoice_id, int lock, struct db_nwc *a)
{
	struct db_stmt	*st = stmt(db, lock ? LN_NWC_LOCK : LN_NWC_GET);
	int		 rc;

	if ((rc = db_exec(db, st, "i", invoice_id)) != TALLY_OK)
		return rc;
	return nwc_one(db, st, a);
}

int
db_nwc_set_event(struct db *db, int64_t invoice_id, const char *request_id,
    const char *event, int64_t now, int *stored)
{
	struct db_stmt	*st = stmt(db, LN_NWC_SET_EVENT);
	int		 rc;

	*stored = 0;
	if ((rc = db_exec(db, st, "ssii", request_id, event, now,
	    invoice_id)) == TALLY_OK)
		*stored = db_affected(st) == 1;
	return rc;
}

int
db_nwc_set_status(struct db *db, int64_t invoice_id, const char *status,
    const char *message, int64_t now)
{
	return db_exec(db, stmt(db, LN_NWC_STATUS), "ssii", status, message,
	    now, invoice_id);
}

int
db_nwc_payment_settled(struct db *db, const char *reference,
    const char *provider_ref)
{
	return db_exec(db, stmt(db, LN_NWC_PAYMENT_SETTLED), "ss",
	    provider_ref, reference);
}
