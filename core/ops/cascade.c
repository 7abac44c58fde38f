/* The payment cascade of usage invoices: credit wallet, then the saved
 * card (Lightning auto-pay will sit between them); when all fail the
 * account is emailed a link to pay by hand, with the reason, and the
 * invoice goes into dunning (core/ops/dunning.c retries it). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/ops/card.h"
#include "core/ops/cascade.h"
#include "core/ops/event.h"
#include "core/ops/dunning.h"
#include "core/ops/invoice.h"
#include "core/ops/log.h"
#include "core/plan.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_invoice.h"
#include "db/db_pay.h"
#include "db/db_wallet.h"

#define REASON_MAX	240

/* The cascade for one usage invoice: credits, then the saved card; else
 * the customer is emailed a link and the reason. */
struct cascade {
	const struct core_config *cfg;
	int64_t		 now, id;
	int		 found, paid, emailed;
};

static int
cascade_tx(struct db *db, void *arg)
{
	struct cascade	*c = arg;
	struct tally_account a;
	struct db_invoice inv;
	int64_t		 id;
	size_t		 n;
	char		 ref[64], msg[512], pref[256], reason[REASON_MAX + 1];
	char		 why[700];
	int		 rc, result;

	c->found = c->paid = c->emailed = 0;
	c->id = 0;
	if ((rc = db_invoice_claim_cascade(db, 1, &id, &n)) != TALLY_OK ||
	    n == 0)
		return rc;
	c->found = 1;
	c->id = id;
	if ((rc = db_invoice_lock(db, id, &inv)) != TALLY_OK ||
	    (rc = db_invoice_cascade_done(db, id)) != TALLY_OK ||
	    (rc = db_account_get_by_id(db, inv.account_id, &a)) != TALLY_OK)
		return rc;
	why[0] = '\0';
	if (c->cfg->pay_from_credits) {
		rc = op_invoice_pay_credits_tx(db, c->cfg, &a, id, c->now, &inv);
		snprintf(ref, sizeof(ref), "invoice:%lld:credits",
		    (long long)id);
		if (rc == TALLY_OK) {
			c->paid = 1;
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
	/* Lightning auto-pay (NWC) would come here; it is not built yet. */
	snprintf(ref, sizeof(ref), "tally-invoice-%lld-card", (long long)id);
	if ((rc = op_card_charge_saved(db, c->cfg, a.id, inv.total, ref,
	    c->now, &result, msg, sizeof(msg), pref, sizeof(pref))) !=
	    TALLY_OK)
		return rc;
	if (result == CARD_CHARGED) {
		c->paid = 1;
		return op_invoice_paid_tx(db, c->cfg, id, inv.total,
		    inv.currency, "card", pref, c->now);
	}
	if (result != CARD_NONE)
		snprintf(why, sizeof(why), "The card payment failed: %s", msg);
	else if (why[0] == '\0')
		snprintf(why, sizeof(why), "No payment method is set up.");
	core_summarize(why, REASON_MAX, reason);
	c->emailed = 1;
	/* The email, and the retries on billing.dunning_days. */
	return op_dunning_start_tx(db, c->cfg, &inv, reason, c->now);
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
		if ((rc = db_tx(db, cascade_tx, &cc)) != TALLY_OK) {
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
