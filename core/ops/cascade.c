/* The payment cascade of usage invoices: credit wallet, Lightning
 * auto-pay (NWC), then the saved card; when all fail the account is
 * emailed a link to pay by hand, with the reason, and the invoice goes
 * into dunning (core/ops/dunning.c retries it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/ops/card.h"
#include "core/ops/cascade.h"
#include "core/ops/event.h"
#include "core/ops/dunning.h"
#include "core/ops/invoice.h"
#include "core/ops/log.h"
#include "core/ops/nwc.h"
#include "core/plan.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_invoice.h"
#include "db/db_ln.h"
#include "db/db_pay.h"
#include "db/db_wallet.h"

#define REASON_MAX	240

/*
 * The cascade for one usage invoice: credits, then Lightning auto-pay
 * (NWC), then the saved card; else the customer is emailed a link and
 * the reason.  The wallet is asked between two transactions, never
 * inside one: its answer may take nwc.timeout_seconds, and BTCPay's
 * webhook for the payment must be able to settle the invoice meanwhile.
 */
struct cascade {
	const struct core_config *cfg;
	int64_t		 now, id, account_id;
	int		 found, paid, emailed;
	int		 nwc;		/* ask the wallet, then finish_tx */
	struct op_nwc_outcome o;
};

/* The saved card, else the email with the reason (why: so far). */
static int
card_or_mail(struct db *db, struct cascade *c, const struct db_invoice *inv,
    char *why, size_t whysz)
{
	char		 ref[64], msg[512], pref[256], reason[REASON_MAX + 1];
	int		 rc, result;

	snprintf(ref, sizeof(ref), "tally-invoice-%lld-card",
	    (long long)inv->id);
	if ((rc = op_card_charge_saved(db, c->cfg, inv->account_id, inv->total,
	    ref, c->now, &result, msg, sizeof(msg), pref, sizeof(pref))) !=
	    TALLY_OK)
		return rc;
	if (result == CARD_CHARGED) {
		c->paid = 1;
		return op_invoice_paid_tx(db, c->cfg, inv->id, inv->total,
		    inv->currency, "card", pref, c->now);
	}
	if (result != CARD_NONE)
		snprintf(why, whysz, "The card payment failed: %s", msg);
	else if (why[0] == '\0')
		snprintf(why, whysz, "No payment method is set up.");
	core_summarize(why, REASON_MAX, reason);
	c->emailed = 1;
	/* The email, and the retries on billing.dunning_days. */
	return op_dunning_start_tx(db, c->cfg, inv, reason, c->now);
}

/* Whether a run before this one asked (or was asking) the wallet. */
static int
nwc_in_flight(struct db *db, int64_t invoice_id, int *yes)
{
	struct db_nwc	*att;
	int		 rc;

	*yes = 0;
	if ((att = calloc(1, sizeof(*att))) == NULL)
		return TALLY_E_NOMEM;
	rc = db_nwc_get(db, invoice_id, 0, att);
	*yes = rc == TALLY_OK && (strcmp(att->status, "new") == 0 ||
	    strcmp(att->status, "sent") == 0 ||
	    strcmp(att->status, "answered") == 0);
	free(att);
	return rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

static int
cascade_tx(struct db *db, void *arg)
{
	struct cascade	*c = arg;
	struct tally_account a;
	struct db_invoice inv;
	int64_t		 id;
	size_t		 n;
	char		 ref[64], why[700];
	int		 rc, state, in_flight;

	c->found = c->paid = c->emailed = c->nwc = 0;
	c->id = 0;
	if ((rc = db_invoice_claim_cascade(db, 1, &id, &n)) != TALLY_OK ||
	    n == 0)
		return rc;
	c->found = 1;
	c->id = id;
	if ((rc = db_invoice_lock(db, id, &inv)) != TALLY_OK ||
	    (rc = db_account_get_by_id(db, inv.account_id, &a)) != TALLY_OK ||
	    (rc = nwc_in_flight(db, id, &in_flight)) != TALLY_OK)
		return rc;
	why[0] = '\0';
	/* After a crash while the wallet was being asked, the wallet comes
	 * first: it may have paid, and BTCPay is asked before anything. */
	if (c->cfg->pay_from_credits && !in_flight) {
		rc = op_invoice_pay_credits_tx(db, c->cfg, &a, id, c->now, &inv);
		snprintf(ref, sizeof(ref), "invoice:%lld:credits",
		    (long long)id);
		if (rc == TALLY_OK) {
			c->paid = 1;
			if ((rc = db_invoice_cascade_done(db, id)) != TALLY_OK)
				return rc;
			return db_payment_insert(db, a.id, ref, "credits",
			    inv.total, inv.currency, "succeeded", NULL, NULL,
			    c->now);
		}
		if (rc != TALLY_E_INSUFFICIENT)
			return rc;
		snprintf(why, sizeof(why), "Your credit balance (%lld) does "
		    "not cover the invoice.", (long long)a.balance);
		rc = db_payment_insert(db, a.id, ref, "credits", inv.total,
		    inv.currency, "declined", NULL, why, c->now);
		if (rc == TALLY_OK)
			rc = op_event_payment_tx(db, CORE_EV_PAYMENT_FAILED,
			    ref, c->now);
		if (rc != TALLY_OK && rc != TALLY_E_DUPLICATE)
			return rc;
	}
	if ((rc = op_nwc_begin_tx(db, c->cfg, &a, &inv, c->now, &state, why,
	    sizeof(why))) != TALLY_OK)
		return rc;
	if (state == NWC_GO) {
		/* Commit the attempt; the invoice stays claimable (a crash
		 * now is resumed by the next run) until finish_tx. */
		c->nwc = 1;
		c->account_id = a.id;
		return TALLY_OK;
	}
	if ((rc = db_invoice_cascade_done(db, id)) != TALLY_OK)
		return rc;
	if (state == NWC_PAID) {
		c->paid = 1;
		return TALLY_OK;
	}
	if (state == NWC_SKIP && c->cfg->pay_from_credits && !in_flight)
		snprintf(why, sizeof(why), "Your credit balance (%lld) does "
		    "not cover the invoice.", (long long)a.balance);
	return card_or_mail(db, c, &inv, why, sizeof(why));
}

/* After the wallet was asked: BTCPay decides, then the card or the mail. */
static int
finish_tx(struct db *db, void *arg)
{
	struct cascade	*c = arg;
	struct db_invoice inv;
	char		 why[700];
	int		 rc, paid, wait;

	c->paid = c->emailed = 0;
	if ((rc = db_invoice_lock(db, c->id, &inv)) != TALLY_OK ||
	    (rc = db_invoice_cascade_done(db, c->id)) != TALLY_OK ||
	    (rc = op_nwc_finish_tx(db, c->cfg, &inv, &c->o, c->now, &paid,
	    &wait, why, sizeof(why))) != TALLY_OK)
		return rc;
	if (paid) {
		c->paid = 1;
		return TALLY_OK;
	}
	if (wait || strcmp(inv.status, "pending") != 0)
		return TALLY_OK;
	return card_or_mail(db, c, &inv, why, sizeof(why));
}


int
op_cascade_run(struct db *db, const struct core_config *cfg, int64_t now,
    volatile int *stop, struct op_invoice_counts *c)
{
	struct cascade	 cc;
	int		 rc;

	cc.cfg = cfg;
	cc.now = now;
	for (;;) {
		if (stop != NULL && *stop)
			break;
		rc = db_tx(db, cascade_tx, &cc);
		if (rc == TALLY_OK && cc.found && cc.nwc &&
		    (rc = op_nwc_exchange(db, cfg, cc.id, cc.account_id, now,
		    &cc.o)) == TALLY_OK)
			rc = db_tx(db, finish_tx, &cc);
		if (rc != TALLY_OK) {
			c->errors++;
			if (cc.id == 0)
				break;
			/* Set this one aside (it stays payable by hand) so
			 * that it never holds up the others. */
			core_log("error", "invoice.cascade_failed", json_pack(
			    "{s:I,s:s,s:s}", "invoice_id", (json_int_t)cc.id,
			    "error", core_strerror(rc), "db", db->err));
			if (db_invoice_cascade_done(db, cc.id) != TALLY_OK)
				break;
			continue;
		}
		if (!cc.found)
			break;
		c->paid += cc.paid;
		c->emailed += cc.emailed;
	}
	return TALLY_OK;
}
