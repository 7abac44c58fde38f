/* Purchase, billing profile, webhook event and payment queries. */
#include <stdio.h>
#include <string.h>

#include "core/result.h"
#include "db/db.h"
#include "db/db_pay.h"

enum pay_sql {
	P_PURCHASE_INSERT,
	P_PURCHASE_GET,
	P_PURCHASE_LOCK,
	P_PURCHASE_LOCK_PROVIDER,
	P_PURCHASE_LOCK_PAYMENT,
	P_PURCHASE_LIST,
	P_PURCHASE_CHECKOUT,
	P_PURCHASE_STATUS,
	P_PURCHASE_REFUND,
	P_PURCHASE_EXPIRE,
	P_PROFILE_GET,
	P_PROFILE_BY_CUSTOMER,
	P_PROFILE_CUSTOMER,
	P_PROFILE_CARD,
	P_PROFILE_NWC,
	P_WEBHOOK_SEEN,
	P_PAYMENT_INSERT,
	P_PAYMENT_ADD,
	P_REFUND_DUE,
	P_REFUND_CLAIM,
	P_REFUND_FINISH,
	P_REFUND_NOTE,
	P__MAX
};

#define PURCHASE_COLS "id, package, credits, amount, currency, method, " \
	"status, UNIX_TIMESTAMP(created_at), UNIX_TIMESTAMP(completed_at), " \
	"account_id, provider_ref, checkout_url, payment_ref, " \
	"UNIX_TIMESTAMP(expires_at), refunded_amount, credits_reversed, " \
	"credits_unrecovered, bonus_credits, coupon_code"

#define PROFILE_COLS "account_id, stripe_customer, card_pm, card_brand, " \
	"card_last4, nwc_sealed"

static const char *const sqls[P__MAX] = {
	[P_PURCHASE_INSERT] =
	    "INSERT INTO purchases (account_id, package, credits, amount, "
	    "currency, method, status, created_at, expires_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, 'pending', FROM_UNIXTIME(?), "
	    "FROM_UNIXTIME(?))",
	[P_PURCHASE_GET] =
	    "SELECT " PURCHASE_COLS " FROM purchases "
	    "WHERE id = ? AND account_id = ?",
	[P_PURCHASE_LOCK] =
	    "SELECT " PURCHASE_COLS " FROM purchases WHERE id = ? FOR UPDATE",
	[P_PURCHASE_LOCK_PROVIDER] =
	    "SELECT " PURCHASE_COLS " FROM purchases "
	    "WHERE method = ? AND provider_ref = ? FOR UPDATE",
	[P_PURCHASE_LOCK_PAYMENT] =
	    "SELECT " PURCHASE_COLS " FROM purchases "
	    "WHERE payment_ref = ? FOR UPDATE",
	[P_PURCHASE_LIST] =
	    "SELECT " PURCHASE_COLS " FROM purchases WHERE account_id = ? "
	    "ORDER BY id DESC LIMIT ?",
	[P_PURCHASE_CHECKOUT] =
	    "UPDATE purchases SET provider_ref = ?, checkout_url = ?, "
	    "expires_at = FROM_UNIXTIME(?) WHERE id = ?",
	[P_PURCHASE_STATUS] =
	    "UPDATE purchases SET status = ?, "
	    "completed_at = IF(? = 0, completed_at, FROM_UNIXTIME(?)), "
	    "payment_ref = COALESCE(?, payment_ref) WHERE id = ?",
	[P_PURCHASE_REFUND] =
	    "UPDATE purchases SET refunded_amount = ?, credits_reversed = ?, "
	    "credits_unrecovered = ? WHERE id = ?",
	[P_PURCHASE_EXPIRE] =
	    "UPDATE purchases SET status = 'expired' WHERE status = 'pending' "
	    "AND method = ? AND expires_at <= FROM_UNIXTIME(?)",
	[P_PROFILE_GET] =
	    "SELECT " PROFILE_COLS " FROM billing_profiles WHERE account_id = ?",
	[P_PROFILE_BY_CUSTOMER] =
	    "SELECT " PROFILE_COLS " FROM billing_profiles "
	    "WHERE stripe_customer = ?",
	[P_PROFILE_CUSTOMER] =
	    "INSERT INTO billing_profiles (account_id, stripe_customer, "
	    "updated_at) VALUES (?, ?, FROM_UNIXTIME(?)) ON DUPLICATE KEY "
	    "UPDATE stripe_customer = VALUES(stripe_customer), "
	    "updated_at = VALUES(updated_at)",
	[P_PROFILE_CARD] =
	    "INSERT INTO billing_profiles (account_id, card_pm, card_brand, "
	    "card_last4, updated_at) VALUES (?, ?, ?, ?, FROM_UNIXTIME(?)) "
	    "ON DUPLICATE KEY UPDATE card_pm = VALUES(card_pm), "
	    "card_brand = VALUES(card_brand), card_last4 = VALUES(card_last4), "
	    "updated_at = VALUES(updated_at)",
	[P_PROFILE_NWC] =
	    "INSERT INTO billing_profiles (account_id, nwc_sealed, updated_at) "
	    "VALUES (?, ?, FROM_UNIXTIME(?)) ON DUPLICATE KEY UPDATE "
	    "nwc_sealed = VALUES(nwc_sealed), updated_at = VALUES(updated_at)",
	[P_WEBHOOK_SEEN] =
	    "INSERT INTO webhook_events (provider, event_id, type, received_at)"
	    " VALUES (?, ?, ?, FROM_UNIXTIME(?))",
	/*
	 * The same reference is the same attempt; an attempt that ended in
	 * an error (Stripe unreachable) learns its real outcome from the
	 * retry.  status is assigned last: MariaDB evaluates the
	 * assignments in order and the earlier ones test the old value.
	 */
	[P_PAYMENT_INSERT] =
	    "INSERT INTO payments (account_id, reference, method, amount, "
	    "currency, status, provider_ref, message, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, LEFT(?, 500), FROM_UNIXTIME(?)) "
	    "ON DUPLICATE KEY UPDATE "
	    "provider_ref = IF(status = 'error', VALUES(provider_ref), "
	    "provider_ref), message = IF(status = 'error', VALUES(message), "
	    "message), status = IF(status = 'error', VALUES(status), status)",
	/* Unlike P_PAYMENT_INSERT, a reference seen before is an error
	 * (1062): the caller's "done already". */
	[P_PAYMENT_ADD] =
	    "INSERT INTO payments (account_id, reference, method, amount, "
	    "currency, status, provider_ref, message, next_attempt_at, "
	    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, LEFT(?, 500), "
	    "FROM_UNIXTIME(NULLIF(?, 0)), FROM_UNIXTIME(?))",
	[P_REFUND_DUE] =
	    "SELECT id, account_id, reference, amount, currency, provider_ref, "
	    "attempts FROM payments WHERE status = 'refund_pending' AND "
	    "next_attempt_at <= FROM_UNIXTIME(?) ORDER BY next_attempt_at, id "
	    "LIMIT ?",
	[P_REFUND_CLAIM] =
	    "UPDATE payments SET attempts = attempts + 1, "
	    "next_attempt_at = FROM_UNIXTIME(?) WHERE id = ? AND "
	    "status = 'refund_pending' AND next_attempt_at <= FROM_UNIXTIME(?)",
	[P_REFUND_FINISH] =
	    "UPDATE payments SET status = ?, message = LEFT(?, 500), "
	    "next_attempt_at = NULL WHERE id = ? AND status = 'refund_pending'",
	[P_REFUND_NOTE] =
	    "UPDATE payments SET message = LEFT(?, 500) WHERE id = ? AND "
	    "status = 'refund_pending'",
};

static struct db_stmt *
stmt(struct db *db, enum pay_sql id)
{
	return db_stmt(db, DB_G_PAY, id, sqls[id]);
}

static int
fetch_purchase(struct db *db, struct db_stmt *st, struct tally_purchase *p)
{
	memset(p, 0, sizeof(*p));
	return db_fetch(db, st, "isiisssiiisssiiiiis", &p->id, p->package,
	    sizeof(p->package), &p->credits, &p->amount, p->currency,
	    sizeof(p->currency), p->method, sizeof(p->method), p->status,
	    sizeof(p->status), &p->created_at, &p->completed_at,
	    &p->account_id, p->provider_ref, sizeof(p->provider_ref),
	    p->checkout_url, sizeof(p->checkout_url), p->payment_ref,
	    sizeof(p->payment_ref), &p->expires_at, &p->refunded_amount,
	    &p->credits_reversed, &p->credits_unrecovered, &p->bonus_credits,
	    p->coupon_code, sizeof(p->coupon_code));
}

static int
one_purchase(struct db *db, struct db_stmt *st, struct tally_purchase *p)
{
	int	 rc = fetch_purchase(db, st, p);

	db_done(st);
	return rc;
}

int
db_purchase_insert(struct db *db, struct tally_purchase *p, int64_t now)
{
	struct db_stmt	*st = stmt(db, P_PURCHASE_INSERT);
	int		 rc;

	rc = db_exec(db, st, "isiissii", p->account_id, p->package,
	    p->credits, p->amount, p->currency, p->method, now, p->expires_at);
	if (rc == TALLY_OK) {
		p->id = db_insert_id(st);
		p->created_at = now;
		snprintf(p->status, sizeof(p->status), "pending");
	}
	return rc;
}

int
db_purchase_get(struct db *db, int64_t account_id, int64_t id,
    struct tally_purchase *p)
{
	struct db_stmt	*st = stmt(db, P_PURCHASE_GET);
	int		 rc;

	if ((rc = db_exec(db, st, "ii", id, account_id)) != TALLY_OK)
		return rc;
	return one_purchase(db, st, p);
}

int
db_purchase_lock(struct db *db, int64_t id, struct tally_purchase *p)
{
	struct db_stmt	*st = stmt(db, P_PURCHASE_LOCK);
	int		 rc;

	if ((rc = db_exec(db, st, "i", id)) != TALLY_OK)
		return rc;
	return one_purchase(db, st, p);
}

int
db_purchase_lock_by_provider(struct db *db, const char *method,
    const char *ref, struct tally_purchase *p)
{
	struct db_stmt	*st = stmt(db, P_PURCHASE_LOCK_PROVIDER);
	int		 rc;

	if ((rc = db_exec(db, st, "ss", method, ref)) != TALLY_OK)
		return rc;
	return one_purchase(db, st, p);
}

int
db_purchase_lock_by_payment(struct db *db, const char *ref,
    struct tally_purchase *p)
{
	struct db_stmt	*st = stmt(db, P_PURCHASE_LOCK_PAYMENT);
	int		 rc;

	if ((rc = db_exec(db, st, "s", ref)) != TALLY_OK)
		return rc;
	return one_purchase(db, st, p);
}

int
db_purchase_list(struct db *db, int64_t account_id, size_t max,
    struct tally_purchase *ps, size_t *n)
{
	struct db_stmt	*st = stmt(db, P_PURCHASE_LIST);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", account_id, (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max && (rc = fetch_purchase(db, st, &ps[*n])) == TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_purchase_set_checkout(struct db *db, int64_t id, const char *ref,
    const char *url, int64_t expires_at)
{
	return db_exec(db, stmt(db, P_PURCHASE_CHECKOUT), "ssii", ref, url,
	    expires_at, id);
}

int
db_purchase_set_status(struct db *db, int64_t id, const char *status,
    int64_t completed_at, const char *payment_ref)
{
	return db_exec(db, stmt(db, P_PURCHASE_STATUS), "siisi", status,
	    completed_at, completed_at, payment_ref, id);
}

int
db_purchase_set_refund(struct db *db, int64_t id, int64_t refunded,
    int64_t reversed, int64_t unrecovered)
{
	return db_exec(db, stmt(db, P_PURCHASE_REFUND), "iiii", refunded,
	    reversed, unrecovered, id);
}

int
db_purchase_expire(struct db *db, const char *method, int64_t now,
    uint64_t *n)
{
	struct db_stmt	*st = stmt(db, P_PURCHASE_EXPIRE);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "si", method, now)) == TALLY_OK)
		*n = db_affected(st);
	return rc;
}

static int
fetch_profile(struct db *db, struct db_stmt *st, struct db_profile *p)
{
	int	 rc;

	memset(p, 0, sizeof(*p));
	rc = db_fetch(db, st, "isssss", &p->account_id, p->stripe_customer,
	    sizeof(p->stripe_customer), p->card_pm, sizeof(p->card_pm),
	    p->card_brand, sizeof(p->card_brand), p->card_last4,
	    sizeof(p->card_last4), p->nwc_sealed, sizeof(p->nwc_sealed));
	db_done(st);
	if (rc != TALLY_OK)
		memset(p, 0, sizeof(*p));
	return rc;
}

int
db_profile_get(struct db *db, int64_t account_id, struct db_profile *p)
{
	struct db_stmt	*st = stmt(db, P_PROFILE_GET);
	int		 rc;

	if ((rc = db_exec(db, st, "i", account_id)) != TALLY_OK)
		return rc;
	return fetch_profile(db, st, p);
}

int
db_profile_by_customer(struct db *db, const char *customer,
    struct db_profile *p)
{
	struct db_stmt	*st = stmt(db, P_PROFILE_BY_CUSTOMER);
	int		 rc;

	if ((rc = db_exec(db, st, "s", customer)) != TALLY_OK)
		return rc;
	return fetch_profile(db, st, p);
}

int
db_profile_set_customer(struct db *db, int64_t account_id,
    const char *customer, int64_t now)
{
	return db_exec(db, stmt(db, P_PROFILE_CUSTOMER), "isi", account_id,
	    customer, now);
}

int
db_profile_set_card(struct db *db, int64_t account_id, const char *pm,
    const char *brand, const char *last4, int64_t now)
{
	return db_exec(db, stmt(db, P_PROFILE_CARD), "isssi", account_id, pm,
	    pm != NULL ? brand : NULL, pm != NULL ? last4 : NULL, now);
}

int
db_profile_set_nwc(struct db *db, int64_t account_id, const char *sealed,
    int64_t now)
{
	return db_exec(db, stmt(db, P_PROFILE_NWC), "isi", account_id, sealed,
	    now);
}

int
db_webhook_seen(struct db *db, const char *provider, const char *id,
    const char *type, int64_t now)
{
	return db_exec(db, stmt(db, P_WEBHOOK_SEEN), "sssi", provider, id,
	    type, now);
}

int
db_payment_insert(struct db *db, int64_t account_id, const char *ref,
    const char *method, int64_t amount, const char *currency,
    const char *status, const char *provider_ref, const char *message,
    int64_t now)
{
	return db_exec(db, stmt(db, P_PAYMENT_INSERT), "ississssi", account_id,
	    ref, method, amount, currency, status, provider_ref, message, now);
}

int
db_payment_add(struct db *db, int64_t account_id, const char *ref,
    const char *method, int64_t amount, const char *currency,
    const char *status, const char *provider_ref, const char *message,
    int64_t next_attempt_at, int64_t now)
{
	return db_exec(db, stmt(db, P_PAYMENT_ADD), "ississssii", account_id,
	    ref, method, amount, currency, status, provider_ref, message,
	    next_attempt_at, now);
}

int
db_refund_due(struct db *db, int64_t now, size_t max, struct db_refund *rs,
    size_t *n)
{
	struct db_stmt	*st = stmt(db, P_REFUND_DUE);
	struct db_refund *r;
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", now, (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max) {
		r = &rs[*n];
		memset(r, 0, sizeof(*r));
		if ((rc = db_fetch(db, st, "iisissi", &r->id, &r->account_id,
		    r->reference, sizeof(r->reference), &r->amount, r->currency,
		    sizeof(r->currency), r->provider_ref,
		    sizeof(r->provider_ref), &r->attempts)) != TALLY_OK)
			break;
		(*n)++;
	}
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_refund_claim(struct db *db, int64_t id, int64_t now, int64_t next,
    int *claimed)
{
	struct db_stmt	*st = stmt(db, P_REFUND_CLAIM);
	int		 rc;

	*claimed = 0;
	if ((rc = db_exec(db, st, "iii", next, id, now)) == TALLY_OK)
		*claimed = db_affected(st) == 1;
	return rc;
}

int
db_refund_finish(struct db *db, int64_t id, const char *status,
    const char *message)
{
	return db_exec(db, stmt(db, P_REFUND_FINISH), "ssi", status, message,
	    id);
}

int
db_refund_note(struct db *db, int64_t id, const char *message)
{
	return db_exec(db, stmt(db, P_REFUND_NOTE), "si", message, id);
}
