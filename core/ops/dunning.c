/* Dunning: retries of an invoice's failed automatic payment on the
 * schedule billing.dunning_days, each one payments row, each failure one
 * email, until a retry succeeds, the schedule ends or the invoice is paid
 * some other way or expires. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/dunning.h"
#include "core/ops/card.h"
#include "core/ops/dunning.h"
#include "core/ops/invoice.h"
#include "core/ops/log.h"
#include "core/plan.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_dunning.h"
#include "db/db_invoice.h"
#include "db/db_pay.h"
#include "db/db_wallet.h"

#define REASON_MAX	240		/* as the cascade's */
#define DEFER_SECONDS	3600		/* a retry that failed to run */

/* When the retry after `made` of inv (failed at failed_at) falls. */
static int64_t
next_retry(const struct core_config *cfg, int64_t failed_at,
    const struct db_invoice *inv, int64_t made)
{
	return core_dunning_next(cfg->dunning_days, cfg->ndunning, failed_at,
	    inv->expires_at, made);
}

/* How many retries the schedule holds for inv, as the customer is told
 * ("attempt 2 of 4"); never fewer than were made (a schedule shortened,
 * or an expiry moved, after they were). */
static int64_t
planned(const struct core_config *cfg, int64_t failed_at,
    const struct db_invoice *inv, int64_t made)
{
	int64_t	 n = core_dunning_count(cfg->dunning_days, cfg->ndunning,
	    failed_at, inv->expires_at);

	return n > made ? n : made;
}

int
op_dunning_start_tx(struct db *db, const struct core_config *cfg,
    const struct db_invoice *inv, const char *reason, int64_t now)
{
	json_t		*extra = NULL;
	char		 key[96], when[32];
	int64_t		 next = next_retry(cfg, now, inv, 0);
	int		 rc;

	rc = db_dunning_insert(db, inv->id, now, core_dunning_count(
	    cfg->dunning_days, cfg->ndunning, now, inv->expires_at), next,
	    next != 0 ? "retrying" : "exhausted", reason, now);
	if (rc != TALLY_OK && rc != TALLY_E_DUPLICATE)
		return rc;
	if (next != 0) {
		op_invoice_mail_time(next, when, sizeof(when));
		if ((extra = json_pack("{s:s}", "next_retry", when)) == NULL)
			return TALLY_E_NOMEM;
	}
	/* One notice per invoice, whichever text it takes. */
	snprintf(key, sizeof(key), "invoice:%lld:invoice_due",
	    (long long)inv->id);
	rc = op_invoice_mail_key_tx(db, cfg, inv, next != 0 ?
	    "invoice_due_retry" : "invoice_due", key, reason, extra, now);
	json_decref(extra);
	return rc;
}

/*
 * Retry k of invoice inv for account a: credits first, then the saved
 * card, with exactly one payments row: the successful payment, the card's
 * attempt, or (no card) the wallet's refusal.  *paid, or why it failed
 * (why) and the method tried last.
 */
static int
retry_pay(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, const struct db_invoice *inv, int64_t k,
    int64_t now, int *paid, char *method, size_t methodsz, char *why,
    size_t whysz)
{
	struct db_invoice after;
	char		 cref[96], kref[96], msg[512], pref[256];
	int		 rc, result;

	*paid = 0;
	why[0] = '\0';
	snprintf(cref, sizeof(cref), "invoice:%lld:retry:%lld:credits",
	    (long long)inv->id, (long long)k);
	snprintf(kref, sizeof(kref), "tally-invoice-%lld-retry-%lld-card",
	    (long long)inv->id, (long long)k);
	if (cfg->pay_from_credits) {
		snprintf(method, methodsz, "credits");
		rc = op_invoice_pay_credits_tx(db, cfg, a, inv->id, now, &after);
		if (rc == TALLY_OK) {
			*paid = 1;
			return db_payment_insert(db, a->id, cref, "credits",
			    inv->total, inv->currency, "succeeded", NULL, NULL,
			    now);
		}
		if (rc != TALLY_E_INSUFFICIENT)
			return rc;
		snprintf(why, whysz, "Your credit balance (%lld) does not "
		    "cover the invoice.", (long long)a->balance);
	}
	/* Lightning auto-pay (NWC) is the first automatic attempt only (the
	 * cascade asks the wallet outside any transaction); retries use
	 * credits and the saved card. */
	if ((rc = op_card_charge_saved(db, cfg, a->id, inv->total, kref, now,
	    &result, msg, sizeof(msg), pref, sizeof(pref))) != TALLY_OK)
		return rc;
	if (result == CARD_CHARGED) {
		*paid = 1;
		snprintf(method, methodsz, "card");
		return op_invoice_paid_tx(db, cfg, inv->id, inv->total,
		    inv->currency, "card", pref, now);
	}
	if (result != CARD_NONE) {
		/* op_card_charge_saved wrote the attempt's payments row. */
		snprintf(method, methodsz, "card");
		snprintf(why, whysz, "The card payment failed: %s", msg);
		return TALLY_OK;
	}
	if (cfg->pay_from_credits)
		return db_payment_insert(db, a->id, cref, "credits", inv->total,
		    inv->currency, "declined", NULL, why, now);
	snprintf(method, methodsz, "card");
	snprintf(why, whysz, "No payment method is set up.");
	return db_payment_insert(db, a->id, kref, "card", inv->total,
	    inv->currency, "skipped", NULL, why, now);
}

/* Email the account that retry k of inv failed, once per attempt. */
static int
retry_mail(struct db *db, const struct core_config *cfg,
    const struct db_invoice *inv, int64_t failed_at, int64_t k,
    int64_t next, const char *reason, int64_t now)
{
	json_t		*extra;
	char		 key[96], when[32];
	int64_t		 total;
	int		 rc;

	total = planned(cfg, failed_at, inv, k);
	op_invoice_mail_time(next, when, sizeof(when));
	extra = json_pack("{s:I,s:I,s:s}", "attempt", (json_int_t)k,
	    "attempts", (json_int_t)total, "next_retry", when);
	if (extra == NULL)
		return TALLY_E_NOMEM;
	snprintf(key, sizeof(key), "invoice:%lld:dunning:%lld",
	    (long long)inv->id, (long long)k);
	rc = op_invoice_mail_key_tx(db, cfg, inv, next != 0 ?
	    "dunning_retry" : "dunning_final", key, reason, extra, now);
	json_decref(extra);
	return rc;
}

struct dun {
	const struct core_config *cfg;
	int64_t		 now, invoice_id;
	int		 found, paid, failed, ended;
};

/* What ends a dunning without a retry: the invoice is no longer open. */
static const char *
end_state(const struct db_invoice *inv, int64_t now)
{
	if (strcmp(inv->status, "paid") == 0)
		return "paid";
	if (strcmp(inv->status, "expired") == 0 ||
	    (inv->expires_at != 0 && inv->expires_at <= now))
		return "expired";
	if (strcmp(inv->status, "pending") != 0)
		return "closed";
	return NULL;
}

static int
retry_tx(struct db *db, void *arg)
{
	struct dun	*d = arg;
	const struct core_config *cfg = d->cfg;
	struct db_dunning row;
	struct db_invoice inv;
	struct tally_account a;
	const char	*end;
	char		 why[700], reason[REASON_MAX + 1], method[16];
	int64_t		 k, next;
	int		 rc, paid;

	d->found = d->paid = d->failed = d->ended = 0;
	d->invoice_id = 0;
	rc = db_dunning_claim(db, d->now, &row);
	if (rc == TALLY_E_NOTFOUND)
		return TALLY_OK;
	if (rc != TALLY_OK)
		return rc;
	d->found = 1;
	d->invoice_id = row.invoice_id;
	if ((rc = db_invoice_lock(db, row.invoice_id, &inv)) != TALLY_OK)
		return rc;
	if ((end = end_state(&inv, d->now)) != NULL) {
		d->ended = 1;
		return db_dunning_update(db, inv.id, row.attempt, row.attempt, 0,
		    end, NULL, d->now);
	}
	k = core_dunning_pick(cfg->dunning_days, cfg->ndunning, row.failed_at,
	    inv.expires_at, row.attempt, d->now);
	if (k != 0 && (rc = db_dunning_attempt_take(db, inv.id, k, d->now)) !=
	    TALLY_OK && rc != TALLY_E_DUPLICATE)
		return rc;
	if (k == 0 || rc == TALLY_E_DUPLICATE) {
		/*
		 * Nothing due after all (billing.dunning_days changed since
		 * this was scheduled), or this retry was made before: it is
		 * never made twice.  Wait for the next one, if any.
		 */
		if (k == 0)
			k = row.attempt;
		next = next_retry(cfg, row.failed_at, &inv, k);
		d->ended = next == 0;
		return db_dunning_update(db, inv.id, k, planned(cfg,
		    row.failed_at, &inv, k), next, next != 0 ? "retrying" :
		    "exhausted", NULL, d->now);
	}
	if ((rc = db_account_get_by_id(db, inv.account_id, &a)) != TALLY_OK ||
	    (rc = retry_pay(db, cfg, &a, &inv, k, d->now, &paid, method,
	    sizeof(method), why, sizeof(why))) != TALLY_OK)
		return rc;
	if (paid) {
		d->paid = 1;
		if ((rc = db_dunning_attempt_set(db, inv.id, k, "paid", method,
		    NULL)) != TALLY_OK)
			return rc;
		return db_dunning_update(db, inv.id, k, k, 0, "paid", NULL,
		    d->now);
	}
	d->failed = 1;
	core_summarize(why, REASON_MAX, reason);
	next = next_retry(cfg, row.failed_at, &inv, k);
	if ((rc = db_dunning_attempt_set(db, inv.id, k, "failed", method,
	    reason)) != TALLY_OK ||
	    (rc = db_dunning_update(db, inv.id, k, planned(cfg,
	    row.failed_at, &inv, k), next, next != 0 ? "retrying" :
	    "exhausted", reason, d->now)) != TALLY_OK)
		return rc;
	return retry_mail(db, cfg, &inv, row.failed_at, k, next, reason,
	    d->now);
}

int
op_dunning_run(struct db *db, const struct core_config *cfg, int64_t now,
    volatile int *stop, struct op_dunning_counts *c)
{
	struct dun	 d;
	int		 rc;

	memset(c, 0, sizeof(*c));
	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.now = now;
	for (;;) {
		if (stop != NULL && *stop)
			break;
		d.invoice_id = 0;
		if ((rc = db_tx(db, retry_tx, &d)) != TALLY_OK) {
			c->errors++;
			if (d.invoice_id == 0)
				return rc;
			/* Set this one aside for an hour (it stays payable by
			 * hand) so that it never holds up the others. */
			core_log("error", "dunning.retry_failed", json_pack(
			    "{s:I,s:s,s:s}", "invoice_id",
			    (json_int_t)d.invoice_id, "error", core_strerror(rc),
			    "db", db->err));
			if (db_dunning_defer(db, d.invoice_id, now +
			    DEFER_SECONDS) != TALLY_OK)
				return rc;
			continue;
		}
		if (!d.found)
			break;
		c->retried += d.paid + d.failed;
		c->paid += d.paid;
		c->failed += d.failed;
		c->ended += d.ended;
	}
	return TALLY_OK;
}
