/* The invoice engine over db/db_invoice.c: numbering, claiming
 * outstanding items, reading, paying (credits, Lightning, saved card, by
 * hand), reissuing, expiring, and the invoice emails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/money.h"
#include "core/ops/card.h"
#include "core/ops/duplicate.h"
#include "core/ops/event.h"
#include "core/ops/coupon.h"
#include "core/ops/invoice.h"
#include "core/ops/invoice_sub.h"
#include "core/ops/lightning.h"
#include "core/ops/log.h"
#include "core/ops/mail.h"
#include "core/result.h"
#include "core/subscription.h"
#include "core/timeutil.h"
#include "db/db.h"
#include "db/db_invoice.h"
#include "db/db_misc.h"
#include "db/db_wallet.h"

#define ITEMS_MAX	500

/*
 * Give inv the account's next gap-free number and insert it.  The number
 * is taken under the account's row lock, so a rolled-back invoice gives
 * its number back.
 */
static int
insert_numbered(struct db *db, struct db_invoice *inv, int64_t now)
{
	struct core_civil c;
	int64_t		 seq;
	int		 rc;

	if ((rc = db_invoice_next_seq(db, inv->account_id, &seq)) != TALLY_OK)
		return rc;
	core_civil_from_time(now, &c);
	snprintf(inv->number, sizeof(inv->number), "TLY-%04lld-%06lld",
	    (long long)c.year, (long long)seq);
	return db_invoice_insert(db, inv, seq, now);
}

/* An invoice a coupon took all of is paid at once (and has its effect). */
static int
paid_by_coupon(struct db *db, const struct core_config *cfg,
    struct db_invoice *inv, int64_t now)
{
	int	 rc;

	if ((rc = op_invoice_paid_tx(db, cfg, inv->id, 0, inv->currency,
	    "coupon", NULL, now)) != TALLY_OK)
		return rc;
	return db_invoice_lock(db, inv->id, inv);
}

int
op_invoice_create_tx(struct db *db, const struct core_config *cfg,
    int64_t account_id, const char *kind, const struct op_item *items,
    size_t n, int64_t period_start, int64_t period_end, int64_t expires_at,
    int64_t subscription_id, const char *cycle_key, int64_t now,
    struct db_invoice *inv)
{
	int64_t		 total = 0;
	size_t		 i;
	int		 rc, discounted = 0;

	for (i = 0; i < n; i++) {
		if ((rc = core_money_add(total, items[i].amount, &total)) !=
		    TALLY_OK)
			return rc;
		discounted |= items[i].redemption_id != 0;
	}
	/* Only a coupon brings a total to 0 (core_coupon_discount). */
	if (total < 0 || (total == 0 && !discounted))
		return TALLY_E_INVALID;
	memset(inv, 0, sizeof(*inv));
	inv->account_id = account_id;
	snprintf(inv->kind, sizeof(inv->kind), "%s", kind);
	snprintf(inv->currency, sizeof(inv->currency), "%s", cfg->currency);
	inv->total = total;
	inv->period_start = period_start;
	inv->period_end = period_end;
	inv->expires_at = expires_at;
	inv->subscription_id = subscription_id;
	if (cycle_key != NULL)
		snprintf(inv->cycle_key, sizeof(inv->cycle_key), "%s",
		    cycle_key);
	if ((rc = insert_numbered(db, inv, now)) != TALLY_OK)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = db_item_insert_line(db, account_id, inv->id,
		    items[i].description, items[i].amount, items[i].resource_id,
		    items[i].plan, items[i].redemption_id, now)) != TALLY_OK)
			return rc;
	if ((rc = op_event_tx(db, CORE_EV_INVOICE_CREATED, inv->id, now)) !=
	    TALLY_OK)
		return rc;
	return total == 0 ? paid_by_coupon(db, cfg, inv, now) : TALLY_OK;
}

int
op_invoice_claim_tx(struct db *db, const struct core_config *cfg,
    int64_t account_id, int64_t now, int *created, struct db_invoice *inv)
{
	struct op_item	 line;
	char		 plans[CORE_CATALOG_MAX + 1][64], desc[128];
	int64_t		 sum, count, max_id, anchor, period = 0, end;
	int64_t		 sums[CORE_CATALOG_MAX + 1];
	size_t		 np;
	int		 rc;

	*created = 0;
	if ((rc = db_item_open(db, account_id, &sum, &count, &max_id)) !=
	    TALLY_OK)
		return rc;
	/* A net credit stays outstanding and reduces the next invoice. */
	if (count == 0 || sum <= 0)
		return TALLY_OK;
	/* A coupon on the plans: its line, counted in the billing period
	 * the claim falls in. */
	if ((rc = db_anchor_lock(db, account_id, &anchor)) != TALLY_OK)
		return rc;
	if (anchor != 0 && anchor <= now && (rc = core_period_find(anchor,
	    CORE_INTERVAL_MONTHLY, now, NULL, &period, &end)) != TALLY_OK)
		return rc;
	if ((rc = db_item_open_plans(db, account_id, max_id,
	    CORE_CATALOG_MAX + 1, plans, sums, &np)) != TALLY_OK ||
	    (rc = op_coupon_discount_plans_tx(db, account_id, period, plans,
	    sums, np, now, &line, desc, sizeof(desc))) != TALLY_OK)
		return rc;
	memset(inv, 0, sizeof(*inv));
	inv->account_id = account_id;
	snprintf(inv->kind, sizeof(inv->kind), "usage");
	snprintf(inv->currency, sizeof(inv->currency), "%s", cfg->currency);
	if ((rc = core_money_add(sum, line.amount, &inv->total)) != TALLY_OK)
		return rc;
	if ((rc = insert_numbered(db, inv, now)) != TALLY_OK ||
	    (rc = db_item_claim(db, account_id, inv->id, max_id)) != TALLY_OK)
		return rc;
	if (line.amount != 0 && (rc = db_item_insert_line(db, account_id,
	    inv->id, line.description, line.amount, NULL, NULL,
	    line.redemption_id, now)) != TALLY_OK)
		return rc;
	*created = 1;
	if ((rc = op_event_tx(db, CORE_EV_INVOICE_CREATED, inv->id, now)) !=
	    TALLY_OK)
		return rc;
	return inv->total == 0 ? paid_by_coupon(db, cfg, inv, now) : TALLY_OK;
}

int
op_invoice_get(struct db *db, int64_t account_id, int64_t id,
    struct db_invoice *inv)
{
	return db_invoice_get(db, account_id, id, inv);
}

int
op_invoice_list(struct db *db, int64_t account_id, size_t max,
    struct db_invoice *invs, size_t *n)
{
	return db_invoice_list(db, account_id, max, invs, n);
}

int
op_invoice_items(struct db *db, int64_t invoice_id, size_t max,
    struct db_item *items, size_t *n)
{
	return db_item_list(db, invoice_id, max, items, n);
}

int
op_invoice_document(struct db *db, int64_t account_id, int64_t id,
    struct op_invoice_doc *doc)
{
	int	 rc;

	memset(doc, 0, sizeof(*doc));
	if ((rc = db_invoice_get(db, account_id, id, &doc->inv)) != TALLY_OK)
		return rc;
	if ((doc->items = calloc(ITEMS_MAX, sizeof(*doc->items))) == NULL)
		return TALLY_E_NOMEM;
	return db_item_list(db, id, ITEMS_MAX, doc->items, &doc->nitems);
}

void
op_invoice_doc_free(struct op_invoice_doc *doc)
{
	free(doc->items);
	doc->items = NULL;
	doc->nitems = 0;
}

int
op_invoice_paid_tx(struct db *db, const struct core_config *cfg, int64_t id,
    int64_t amount, const char *currency, const char *via, const char *ref,
    int64_t now)
{
	struct db_invoice inv;
	int		 rc;

	if ((rc = db_invoice_lock(db, id, &inv)) != TALLY_OK)
		return rc;
	/* Paid already: another event about the same payment changes
	 * nothing; a second payment is given back (under the row lock, so
	 * concurrent reports of it are one). */
	if (strcmp(inv.status, "paid") == 0)
		return op_dup_payment_tx(db, cfg, &inv, via, ref, amount,
		    currency, now);
	if (strcmp(inv.status, "void") == 0 || amount != inv.total ||
	    currency == NULL || strcasecmp(currency, inv.currency) != 0) {
		core_log("error", "invoice.payment_mismatch", json_pack(
		    "{s:I,s:s,s:I,s:I,s:s}", "invoice_id", (json_int_t)id,
		    "status", inv.status, "total", (json_int_t)inv.total,
		    "paid", (json_int_t)amount, "via", via));
		return TALLY_E_CONFLICT;
	}
	/* Paid after it expired (a late Lightning payment): paid is paid. */
	if ((rc = db_invoice_set_paid(db, id, via, ref != NULL && *ref ? ref :
	    NULL, now)) != TALLY_OK ||
	    (rc = op_event_tx(db, CORE_EV_INVOICE_PAID, id, now)) != TALLY_OK)
		return rc;
	inv.paid_at = now;
	return op_invoice_sub_paid_tx(db, &inv, now);
}

int
op_invoice_pay_credits_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, int64_t id, int64_t now,
    struct db_invoice *inv)
{
	struct tally_tx	 tx;
	char		 key[64], desc[96];
	int		 rc;

	if ((rc = db_invoice_lock(db, id, inv)) != TALLY_OK)
		return rc;
	if (inv->account_id != a->id)
		return TALLY_E_NOTFOUND;
	if (strcmp(inv->status, "pending") != 0)
		return TALLY_E_CONFLICT;
	snprintf(key, sizeof(key), "invoice:%lld", (long long)inv->id);
	snprintf(desc, sizeof(desc), "Invoice %s", inv->number);
	rc = db_ledger_apply(db, a->id, TX_INVOICE_PAYMENT, -inv->total,
	    "invoice", desc, key, now, &tx);
	if (rc == TALLY_E_DUPLICATE)
		return TALLY_E_CONFLICT;
	if (rc != TALLY_OK)
		return rc;
	if ((rc = op_invoice_paid_tx(db, cfg, inv->id, inv->total,
	    inv->currency, "credits", NULL, now)) != TALLY_OK)
		return rc;
	return db_invoice_lock(db, id, inv);
}

int
op_invoice_pay_lightning_tx(struct db *db, const struct core_config *cfg,
    int64_t id, int64_t now, struct db_invoice *inv, struct db_ln *ln,
    int *paid, char *err, size_t errsz)
{
	int	 rc;

	*paid = 0;
	if ((rc = db_invoice_lock(db, id, inv)) != TALLY_OK)
		return rc;
	if ((rc = op_ln_present_tx(db, cfg, "invoice", inv->id,
	    inv->account_id, inv->total, now, ln, paid, err, errsz)) !=
	    TALLY_OK)
		return rc;
	/* Settled just now: show the invoice as it is after that. */
	return *paid ? db_invoice_lock(db, id, inv) : TALLY_OK;
}

struct card_paid {
	const struct core_config *cfg;
	const struct db_invoice *inv;
	const char	*pi;		/* the PaymentIntent that paid */
	int64_t		 now;
};

static int
card_paid_tx(struct db *db, void *arg)
{
	struct card_paid *c = arg;

	return op_invoice_paid_tx(db, c->cfg, c->inv->id, c->inv->total,
	    c->inv->currency, "card", c->pi, c->now);
}

int
op_invoice_pay_saved_card(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, struct db_invoice *inv, int64_t now,
    int *result, char *message, size_t msgsz)
{
	struct card_paid cp;
	struct op_refund_counts rf;
	char		 ref[96], pref[256];
	int		 rc;

	/* Each minute's click is its own attempt; retries within it are
	 * the same attempt to Stripe.  No transaction is held over the
	 * call to Stripe. */
	snprintf(ref, sizeof(ref), "tally-invoice-%lld-card-%lld",
	    (long long)inv->id, (long long)(now / 60));
	rc = op_card_charge_saved(db, cfg, a->id, inv->total, ref, now, result,
	    message, msgsz, pref, sizeof(pref));
	if (rc != TALLY_OK || *result != CARD_CHARGED)
		return rc;
	cp.cfg = cfg;
	cp.inv = inv;
	cp.pi = pref;
	cp.now = now;
	if ((rc = db_tx(db, card_paid_tx, &cp)) != TALLY_OK)
		return rc;
	/* Paid meanwhile by other means: this charge goes back now. */
	if ((rc = op_dup_refunds_run(db, cfg, now, 5, &rf)) != TALLY_OK)
		core_log("error", "invoice.second_payment_refunds", json_pack(
		    "{s:s,s:s}", "error", core_strerror(rc), "db", db->err));
	return db_invoice_get(db, a->id, inv->id, inv);
}

int
op_invoice_mark_paid_tx(struct db *db, const struct core_config *cfg,
    int64_t id, const char *actor, const char *reference, const char *note,
    int64_t now, struct db_invoice *inv)
{
	struct tally_account a;
	json_t	*d;
	char	*details, target[48];
	int	 rc;

	if ((rc = db_invoice_lock(db, id, inv)) != TALLY_OK)
		return rc;
	if (strcmp(inv->status, "pending") != 0)
		return TALLY_E_CONFLICT;
	if ((rc = op_invoice_paid_tx(db, cfg, id, inv->total, inv->currency,
	    "manual", NULL, now)) != TALLY_OK)
		return rc;
	if ((rc = db_account_get_by_id(db, inv->account_id, &a)) != TALLY_OK)
		return rc;
	/* Numbers are per account: the id and the user say which one. */
	d = json_pack("{s:I,s:s,s:s,s:I,s:s?,s:s?}", "invoice_id",
	    (json_int_t)inv->id, "number", inv->number, "user_id", a.user_id,
	    "total", (json_int_t)inv->total, "reference", reference, "note",
	    note);
	details = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	if (details == NULL)
		return TALLY_E_NOMEM;
	snprintf(target, sizeof(target), "invoice:%lld", (long long)inv->id);
	rc = db_audit_insert(db, actor, "invoice.mark_paid", target, details,
	    now);
	free(details);
	if (rc != TALLY_OK)
		return rc;
	return db_invoice_lock(db, id, inv);
}

void
op_invoice_mail_time(int64_t t, char *buf, size_t bufsz)
{
	char	 iso[32];

	if (t == 0) {
		snprintf(buf, bufsz, "-");
		return;
	}
	/* "2026-11-21 04:00 UTC": what a reader needs, in any locale. */
	core_time_format_iso(t, iso, sizeof(iso));
	snprintf(buf, bufsz, "%.10s %.5s UTC", iso, iso + 11);
}

int
op_invoice_mail_key_tx(struct db *db, const struct core_config *cfg,
    const struct db_invoice *inv, const char *template, const char *key,
    const char *reason, const json_t *extra, int64_t now)
{
	struct tally_account a;
	json_t		*params;
	char		 amount[40], url[600], exp[32];
	int		 rc, queued;

	if ((rc = db_account_get_by_id(db, inv->account_id, &a)) != TALLY_OK)
		return rc;
	core_money_format(inv->total, inv->currency, amount, sizeof(amount));
	snprintf(url, sizeof(url), "%s/?invoice=%lld", cfg->http_public_url,
	    (long long)inv->id);
	op_invoice_mail_time(inv->expires_at, exp, sizeof(exp));
	params = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "number", inv->number,
	    "amount", amount, "currency", inv->currency, "invoice_url", url,
	    "expires", exp, "reason", reason != NULL ? reason : "");
	if (params == NULL || (extra != NULL &&
	    json_object_update(params, (json_t *)extra) != 0)) {
		json_decref(params);
		return TALLY_E_NOMEM;
	}
	rc = op_mail_enqueue_tx(db, cfg, &a, template, key, params, now,
	    &queued);
	json_decref(params);
	return rc;
}

int
op_invoice_mail_tx(struct db *db, const struct core_config *cfg,
    const struct db_invoice *inv, const char *template, const char *reason,
    int64_t now)
{
	char	 key[96];

	snprintf(key, sizeof(key), "invoice:%lld:%s", (long long)inv->id,
	    template);
	return op_invoice_mail_key_tx(db, cfg, inv, template, key, reason,
	    NULL, now);
}

int
op_invoice_reissue_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, int64_t id, int64_t now,
    struct db_invoice *inv)
{
	struct db_invoice old;
	struct db_item	*items;
	struct op_item	 ops[ITEMS_MAX];
	char		 key[64];
	int64_t		 expires = 0;
	size_t		 n, i;
	int		 rc;

	if ((rc = db_invoice_lock(db, id, &old)) != TALLY_OK)
		return rc;
	if (old.account_id != a->id)
		return TALLY_E_NOTFOUND;
	if (strcmp(old.status, "expired") != 0 &&
	    strcmp(old.status, "void") != 0)
		return TALLY_E_CONFLICT;
	snprintf(key, sizeof(key), "reissue:%lld", (long long)old.id);
	if (db_invoice_by_cycle(db, key, inv) == TALLY_OK)
		return TALLY_OK;	/* reissued before: that one */
	if (old.subscription_id != 0 && (rc = op_invoice_sub_reissuable_tx(db,
	    cfg, &old, now, &expires)) != TALLY_OK)
		return rc;
	if ((items = calloc(ITEMS_MAX, sizeof(*items))) == NULL)
		return TALLY_E_NOMEM;
	rc = db_item_list(db, old.id, ITEMS_MAX, items, &n);
	for (i = 0; rc == TALLY_OK && i < n; i++) {
		ops[i].description = items[i].description;
		ops[i].amount = items[i].amount;
		ops[i].resource_id = items[i].resource_id[0] ?
		    items[i].resource_id : NULL;
		ops[i].plan = items[i].plan[0] ? items[i].plan : NULL;
		/* The discount of the cycle goes with it, counted once. */
		ops[i].redemption_id = items[i].redemption_id;
	}
	if (rc == TALLY_OK)
		rc = op_invoice_create_tx(db, cfg, a->id, old.kind, ops, n,
		    old.period_start, old.period_end, expires,
		    old.subscription_id, key, now, inv);
	free(items);
	return rc;
}

struct expiry {
	const struct core_config *cfg;
	int64_t		 now;
	uint64_t	 n;
};

/* Pending invoices past expires_at, with their invoice.expired events
 * (written first: that statement locks the rows the UPDATE changes). */
static int
expire_invoices_tx(struct db *db, void *arg)
{
	struct expiry	*e = arg;
	int		 rc;

	if ((rc = op_event_invoice_expire_due_tx(db, e->now)) != TALLY_OK)
		return rc;
	return db_invoice_expire_due(db, e->now, &e->n);
}

static int
end_subs_tx(struct db *db, void *arg)
{
	struct expiry	*e = arg;

	return op_invoice_sub_end_due(db, e->cfg, e->now, &e->n);
}

int
op_invoice_expiry(struct db *db, const struct core_config *cfg, int64_t now,
    struct op_invoice_counts *c)
{
	struct expiry	 e = { cfg, now, 0 };
	int		 rc;

	memset(c, 0, sizeof(*c));
	/* Each set-based change commits with its events. */
	if ((rc = db_tx(db, expire_invoices_tx, &e)) != TALLY_OK)
		return rc;
	c->expired = (int64_t)e.n;
	if ((rc = db_tx(db, end_subs_tx, &e)) != TALLY_OK)
		return rc;
	c->ended = (int64_t)e.n;
	return TALLY_OK;
}
