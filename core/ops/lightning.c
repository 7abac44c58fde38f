/* BTCPay invoices behind purchases and invoices; settlement exactly once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ops/log.h"
#include "core/money.h"
#include "core/ops/card.h"
#include "core/ops/invoice.h"
#include "core/ops/lightning.h"
#include "core/ops/nwc.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_ln.h"
#include "db/db_pay.h"
#include "net/btcpay.h"

/* An invoice that expires within this many seconds is not shown again. */
#define REUSE_MARGIN	60
/* Payments younger than this are left to their webhook. */
#define RECONCILE_AGE	60
#define RECONCILE_BATCH	100

/* The subject's state follows its Lightning payment's end. */
static int
subject_ended(struct db *db, const struct db_ln *l, const char *status)
{
	struct tally_purchase p;
	int		 rc;

	if (strcmp(l->subject_type, "purchase") != 0)
		return TALLY_OK;	/* an invoice stays payable otherwise */
	if ((rc = db_purchase_lock(db, l->subject_id, &p)) != TALLY_OK)
		return rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
	/* Only the purchase's current BTCPay invoice decides its fate. */
	if (strcmp(p.status, "pending") != 0 ||
	    strcmp(p.provider_ref, l->btcpay_invoice) != 0)
		return TALLY_OK;
	return db_purchase_set_status(db, p.id, strcmp(status, "expired") == 0 ?
	    "expired" : "failed", 0, NULL);
}

/*
 * Settle l after BTCPay confirmed it (inv): never trust a webhook's word
 * alone, the invoice must be Settled for the amount we asked.
 */
static int
settle(struct db *db, const struct core_config *cfg, const struct db_ln *l,
    const struct net_btcpay_invoice *inv, int64_t now)
{
	struct tally_purchase p;
	int64_t		 paid;
	int		 rc;

	if (strcmp(l->status, "settled") == 0)
		return TALLY_OK;
	if (core_money_parse(inv->amount, l->currency, &paid) != TALLY_OK ||
	    paid != l->amount || strcasecmp(inv->currency, l->currency) != 0) {
		core_log("error", "lightning.amount_mismatch", json_pack(
		    "{s:s,s:I,s:s,s:s,s:s}", "btcpay_invoice", l->btcpay_invoice,
		    "expected", (json_int_t)l->amount, "currency", l->currency,
		    "btcpay_amount", inv->amount, "btcpay_currency",
		    inv->currency));
		return TALLY_OK;
	}
	if ((rc = db_ln_set_status(db, l->btcpay_invoice, "settled")) !=
	    TALLY_OK)
		return rc;
	if (strcmp(l->subject_type, "purchase") == 0) {
		if ((rc = db_purchase_lock(db, l->subject_id, &p)) != TALLY_OK)
			return rc;
		rc = op_purchase_paid_tx(db, &p, l->amount, l->currency,
		    l->btcpay_invoice, now);
		return rc == TALLY_E_CONFLICT ? TALLY_OK : rc;
	}
	/* Settled after the invoice was paid otherwise: credited to the
	 * wallet once (op_dup_payment_tx), as Lightning cannot be sent
	 * back by the service. */
	rc = op_invoice_paid_tx(db, cfg, l->subject_id, l->amount, l->currency,
	    "lightning", l->btcpay_invoice, now);
	if (rc != TALLY_OK && rc != TALLY_E_CONFLICT)
		return rc;
	/* Paid by Lightning auto-pay: its attempt and payments row say so. */
	return op_nwc_settled_tx(db, l->subject_id, l->btcpay_invoice,
	    l->amount, l->currency, now);
}

/* Ask BTCPay about l and act on its answer. OUT: *state (its status). */
static int
check(struct db *db, const struct core_config *cfg, struct db_ln *l,
    int64_t now, char *state, size_t statesz)
{
	struct net_btcpay_invoice inv;
	char		 err[256];
	int		 rc;

	state[0] = '\0';
	rc = net_btcpay_get(cfg, l->btcpay_invoice, &inv, err, sizeof(err));
	if (rc == TALLY_E_NOTFOUND) {
		snprintf(state, statesz, "Invalid");
		snprintf(l->status, sizeof(l->status), "invalid");
		if ((rc = db_ln_set_status(db, l->btcpay_invoice, "invalid")) !=
		    TALLY_OK)
			return rc;
		return subject_ended(db, l, "invalid");
	}
	if (rc != TALLY_OK)
		return rc;
	snprintf(state, statesz, "%s", inv.status);
	if (strcmp(inv.status, "Settled") == 0)
		return settle(db, cfg, l, &inv, now);
	if (strcmp(inv.status, "Expired") == 0 ||
	    strcmp(inv.status, "Invalid") == 0) {
		snprintf(l->status, sizeof(l->status), "%s",
		    inv.status[0] == 'E' ? "expired" : "invalid");
		if ((rc = db_ln_set_status(db, l->btcpay_invoice, l->status)) !=
		    TALLY_OK)
			return rc;
		return subject_ended(db, l, l->status);
	}
	return TALLY_OK;
}

int
op_ln_present_tx(struct db *db, const struct core_config *cfg,
    const char *type, int64_t id, int64_t account_id, int64_t amount,
    int64_t now, struct db_ln *ln, int *paid, char *err, size_t errsz)
{
	struct net_btcpay_invoice inv;
	char		 state[32];
	int		 rc;

	*paid = 0;
	rc = db_ln_latest(db, type, id, ln);
	if (rc != TALLY_OK && rc != TALLY_E_NOTFOUND)
		return rc;
	if (rc == TALLY_OK && strcmp(ln->status, "new") == 0) {
		if ((rc = check(db, cfg, ln, now, state, sizeof(state))) !=
		    TALLY_OK)
			return rc;
		if (strcmp(state, "Settled") == 0 ||
		    strcmp(state, "Processing") == 0) {
			/* Paid (or paid and confirming): nothing to show. */
			*paid = 1;
			return TALLY_OK;
		}
		if (strcmp(ln->status, "new") == 0 &&
		    ln->expires_at > now + REUSE_MARGIN &&
		    ln->amount == amount)
			return TALLY_OK;	/* still payable: reuse it */
	} else if (rc == TALLY_OK && strcmp(ln->status, "settled") == 0) {
		*paid = 1;
		return TALLY_OK;
	}
	rc = net_btcpay_create(cfg, amount, type, id, cfg->ln_invoice_minutes,
	    &inv, err, errsz);
	if (rc != TALLY_OK) {
		core_log("error", "btcpay.create_failed", json_pack(
		    "{s:s,s:I,s:s}", "subject", type, "id", (json_int_t)id,
		    "error", err));
		return TALLY_E_PROVIDER;
	}
	memset(ln, 0, sizeof(*ln));
	snprintf(ln->btcpay_invoice, sizeof(ln->btcpay_invoice), "%s", inv.id);
	snprintf(ln->subject_type, sizeof(ln->subject_type), "%s", type);
	ln->subject_id = id;
	ln->account_id = account_id;
	ln->amount = amount;
	snprintf(ln->currency, sizeof(ln->currency), "%s", cfg->currency);
	snprintf(ln->bolt11, sizeof(ln->bolt11), "%s", inv.bolt11);
	snprintf(ln->checkout_url, sizeof(ln->checkout_url), "%s",
	    inv.checkout_url);
	snprintf(ln->status, sizeof(ln->status), "new");
	ln->expires_at = inv.expires_at > 0 ? inv.expires_at :
	    now + cfg->ln_invoice_minutes * 60;
	ln->created_at = now;
	return db_ln_insert(db, ln, now);
}

int
op_ln_get(struct db *db, const char *btcpay_invoice, struct db_ln *ln)
{
	return db_ln_get(db, btcpay_invoice, ln);
}

int
op_ln_refresh_tx(struct db *db, const struct core_config *cfg,
    const char *type, int64_t id, int64_t now)
{
	struct db_ln	 ln;
	char		 state[32];
	int		 rc;

	rc = db_ln_latest(db, type, id, &ln);
	if (rc == TALLY_E_NOTFOUND)
		return TALLY_OK;
	if (rc != TALLY_OK || strcmp(ln.status, "new") != 0)
		return rc;
	return check(db, cfg, &ln, now, state, sizeof(state));
}

struct refresh {
	const struct core_config *cfg;
	const char	*type;
	int64_t		 id, now;
};

static int
refresh_tx(struct db *db, void *arg)
{
	struct refresh	*r = arg;

	return op_ln_refresh_tx(db, r->cfg, r->type, r->id, r->now);
}

int
op_ln_refresh(struct db *db, const struct core_config *cfg, const char *type,
    int64_t id, int64_t now)
{
	struct refresh	 r = { cfg, type, id, now };

	return db_tx(db, refresh_tx, &r);
}

int
op_ln_purchase_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, const struct core_package *pk,
    const char *coupon, int64_t now, struct tally_purchase *p,
    struct db_ln *ln, char *err, size_t errsz)
{
	int	 rc, paid;

	if ((rc = op_purchase_insert_tx(db, cfg, a, pk, "lightning", coupon,
	    now + cfg->ln_invoice_minutes * 60, now, p)) != TALLY_OK)
		return rc;
	if ((rc = op_ln_present_tx(db, cfg, "purchase", p->id, a->id,
	    p->amount, now, ln, &paid, err, errsz)) != TALLY_OK)
		return rc;
	snprintf(p->provider_ref, sizeof(p->provider_ref), "%s",
	    ln->btcpay_invoice);
	snprintf(p->checkout_url, sizeof(p->checkout_url), "%s",
	    ln->checkout_url);
	p->expires_at = ln->expires_at;
	return db_purchase_set_checkout(db, p->id, p->provider_ref,
	    p->checkout_url, p->expires_at);
}

int
op_ln_webhook_tx(struct db *db, const struct core_config *cfg,
    const json_t *event, int64_t now)
{
	struct db_ln	 ln;
	const char	*type = json_string_value(json_object_get(event, "type"));
	const char	*inv = json_string_value(json_object_get(event,
	    "invoiceId"));
	char		 state[32];
	int		 rc;

	if (type == NULL || inv == NULL)
		return TALLY_OK;
	if (strcmp(type, "InvoiceSettled") != 0 &&
	    strcmp(type, "InvoiceExpired") != 0 &&
	    strcmp(type, "InvoiceInvalid") != 0)
		return TALLY_OK;
	if ((rc = db_ln_lock(db, inv, &ln)) != TALLY_OK)
		return rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
	/*
	 * Whatever the event says, BTCPay's own invoice decides: a settled
	 * one is checked for its amount, and a redelivery of the same
	 * invoice finds it settled already (exactly once per invoice).
	 */
	return check(db, cfg, &ln, now, state, sizeof(state));
}

struct reconcile_one {
	const struct core_config *cfg;
	const char	*id;
	int64_t		 now;
	char		 state[32];
};

/* One payment, in its own short transaction. */
static int
reconcile_tx(struct db *db, void *arg)
{
	struct reconcile_one *r = arg;
	struct db_ln	 cur;
	int		 rc;

	r->state[0] = '\0';
	if ((rc = db_ln_lock(db, r->id, &cur)) != TALLY_OK)
		return rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
	if (strcmp(cur.status, "new") != 0)
		return TALLY_OK;
	return check(db, r->cfg, &cur, r->now, r->state, sizeof(r->state));
}

int
op_ln_reconcile(struct db *db, const struct core_config *cfg, int64_t now,
    int64_t max, struct op_ln_counts *c)
{
	struct reconcile_one r;
	struct db_ln	*ls;
	char		 after_id[256] = "";
	int64_t		 after_t = 0;
	size_t		 n, i;
	int		 rc;

	memset(c, 0, sizeof(*c));
	if ((ls = calloc(RECONCILE_BATCH, sizeof(*ls))) == NULL)
		return TALLY_E_NOMEM;
	do {
		rc = db_ln_open(db, now - RECONCILE_AGE, after_t, after_id,
		    RECONCILE_BATCH, ls, &n);
		for (i = 0; rc == TALLY_OK && i < n && c->checked < max; i++) {
			r.cfg = cfg;
			r.id = ls[i].btcpay_invoice;
			r.now = now;
			c->checked++;
			if (db_tx(db, reconcile_tx, &r) != TALLY_OK) {
				c->errors++;
				continue;
			}
			if (strcmp(r.state, "Settled") == 0)
				c->settled++;
			else if (strcmp(r.state, "Expired") == 0 ||
			    strcmp(r.state, "Invalid") == 0)
				c->expired++;
		}
		if (n > 0) {
			after_t = ls[n - 1].created_at;
			snprintf(after_id, sizeof(after_id), "%s",
			    ls[n - 1].btcpay_invoice);
		}
	} while (rc == TALLY_OK && n == RECONCILE_BATCH && c->checked < max);
	free(ls);
	return rc;
}
