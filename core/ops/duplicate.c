/* A second payment of a paid invoice made whole: a card payment refunded
 * at Stripe, a Lightning payment credited to the wallet; exactly once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/form.h"
#include "core/money.h"
#include "core/ops/duplicate.h"
#include "core/ops/log.h"
#include "core/ops/mail.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_invoice.h"
#include "db/db_misc.h"
#include "db/db_pay.h"
#include "db/db_wallet.h"
#include "net/stripe.h"

/*
 * How a second card payment is refunded exactly once, though the refund
 * is a network call that cannot join the database transaction:
 *
 * 1. The webhook (or the saved-card payment) that finds the invoice paid
 *    by another payment writes, in its own transaction together with the
 *    webhook's dedupe row, a payments row 'refund_pending' whose
 *    reference ("tally-invoice-ID-refund-PI") is unique: a redelivered or
 *    concurrent event about the same payment finds the invoice row locked,
 *    then the reference taken, and does nothing.  The audit row and the
 *    email commit with it.  The row is an outbox entry for the refund.
 * 2. After that commit, the webhook handler (and every tick of the
 *    scheduler's refund-duplicates job, for anything left over) claims
 *    the due row: one UPDATE that counts the attempt and moves its next
 *    attempt ahead, so two workers never make the same attempt at once.
 * 3. POST /v1/refunds {payment_intent} with that reference as the
 *    Idempotency-Key.  A crash or a lost answer between the call and the
 *    record leaves the row pending, and the retry sends the same key:
 *    Stripe answers with the refund it made the first time.  Even past
 *    Stripe's 24 hours of idempotency, the refund is of the whole payment,
 *    so a second one is refused as charge_already_refunded, which is
 *    recorded as refunded too.  Nothing is lost (the row stays until
 *    Stripe answered) and nothing is doubled (one key, one full refund).
 */

#define REFUND_BATCH	20
#define REFUND_ATTEMPTS	16
#define BACKOFF_MAX	(6 * 3600)

/* The details of an invoice.second_payment audit row (malloc'd). */
static char *
audit_details(const struct db_invoice *inv, const struct tally_account *a,
    const char *paid_ref, const char *via, const char *ref, int64_t amount,
    const char *currency, const char *resolution)
{
	json_t	*d;
	char	*s;

	d = json_pack("{s:I,s:s,s:s,s:s,s:s?,s:s,s:s,s:I,s:s,s:s}",
	    "invoice_id", (json_int_t)inv->id, "number", inv->number,
	    "user_id", a->user_id, "paid_via", inv->paid_via, "paid_ref",
	    paid_ref[0] ? paid_ref : NULL, "method", via, "payment_ref", ref,
	    "amount", (json_int_t)amount, "currency", currency, "resolution",
	    resolution);
	s = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	return s;
}

/* Audit, log and (unless template is NULL) email one second payment. */
static int
record(struct db *db, const struct core_config *cfg,
    const struct db_invoice *inv, const struct tally_account *a,
    const char *paid_ref, const char *via, const char *ref, int64_t amount,
    const char *currency, const char *resolution, const char *template,
    const char *mail_key, json_t *params, int64_t now)
{
	char	*details, target[48];
	int	 rc, queued;

	details = audit_details(inv, a, paid_ref, via, ref, amount, currency,
	    resolution);
	if (details == NULL)
		return TALLY_E_NOMEM;
	snprintf(target, sizeof(target), "invoice:%lld", (long long)inv->id);
	rc = db_audit_insert(db, "tally", "invoice.second_payment", target,
	    details, now);
	core_log(strcmp(resolution, "manual") == 0 ? "error" : "warn",
	    "invoice.second_payment", json_loads(details, 0, NULL));
	free(details);
	if (rc != TALLY_OK || template == NULL)
		return rc;
	return op_mail_enqueue_tx(db, cfg, a, template, mail_key, params, now,
	    &queued);
}

int
op_dup_payment_tx(struct db *db, const struct core_config *cfg,
    const struct db_invoice *inv, const char *via, const char *ref,
    int64_t amount, const char *currency, int64_t now)
{
	struct tally_account a;
	struct tally_tx	 tx;
	json_t		*params;
	char		 paid_ref[256], reference[192], cur[4], money[40], unit[40];
	char		 msg[300], desc[96], url[600];
	int		 card, n, rc;

	/* Credits and payments by hand are refused unless pending: only a
	 * provider's payment can arrive second. */
	if (ref == NULL || *ref == '\0' || currency == NULL)
		return TALLY_OK;
	if ((rc = db_invoice_paid_ref(db, inv->id, paid_ref,
	    sizeof(paid_ref))) != TALLY_OK)
		return rc;
	if (strcmp(paid_ref, ref) == 0)
		return TALLY_OK;	/* the same payment: another event */
	if (paid_ref[0] == '\0' && strcmp(inv->paid_via, "credits") != 0 &&
	    strcmp(inv->paid_via, "manual") != 0) {
		/* Paid by a provider before payments were named (or by one
		 * that named none): it may be this very payment. */
		core_log("warn", "invoice.payment_unmatched", json_pack(
		    "{s:I,s:s,s:s,s:s}", "invoice_id", (json_int_t)inv->id,
		    "paid_via", inv->paid_via, "method", via, "payment_ref",
		    ref));
		return TALLY_OK;
	}
	card = strcmp(via, "card") == 0;
	if (!card && strcmp(via, "lightning") != 0)
		return TALLY_OK;
	n = snprintf(reference, sizeof(reference), "tally-invoice-%lld-%s-%s",
	    (long long)inv->id, card ? "refund" : "credit", ref);
	if (n < 0 || (size_t)n >= sizeof(reference)) {
		/* Provider ids are far shorter; never act on a cut key. */
		core_log("error", "invoice.second_payment_ref", json_pack(
		    "{s:I,s:s}", "invoice_id", (json_int_t)inv->id,
		    "payment_ref", ref));
		return TALLY_OK;
	}
	snprintf(cur, sizeof(cur), "%s", currency);
	for (n = 0; cur[n] != '\0'; n++)
		if (cur[n] >= 'a' && cur[n] <= 'z')
			cur[n] = (char)(cur[n] - 32);
	if ((rc = db_account_get_by_id(db, inv->account_id, &a)) != TALLY_OK)
		return rc;
	core_money_format(amount, cur, money, sizeof(money));

	if (!card && strcasecmp(cur, cfg->currency) != 0) {
		/* Credits are minor units of the billing currency; there is no
		 * rate here to turn another currency into them. */
		snprintf(msg, sizeof(msg), "second payment of invoice %s in %s,"
		    " the wallet is in %s: not credited, settle it by hand",
		    inv->number, cur, cfg->currency);
		rc = db_payment_add(db, a.id, reference, via, amount, cur,
		    "error", ref, msg, 0, now);
		if (rc == TALLY_E_DUPLICATE)
			return TALLY_OK;
		if (rc != TALLY_OK)
			return rc;
		return record(db, cfg, inv, &a, paid_ref, via, ref, amount, cur,
		    "manual", NULL, NULL, NULL, now);
	}
	snprintf(msg, sizeof(msg), "second payment of invoice %s (paid via "
	    "%s): %s", inv->number, inv->paid_via, card ? "refund pending" :
	    "credited to the wallet");
	/* The exactly-once gate: this reference is recorded once. */
	rc = db_payment_add(db, a.id, reference, via, amount, cur, card ?
	    "refund_pending" : "credited", ref, msg, card ? now : 0, now);
	if (rc == TALLY_E_DUPLICATE)
		return TALLY_OK;
	if (rc != TALLY_OK)
		return rc;
	if (!card) {
		snprintf(desc, sizeof(desc), "Invoice %s paid twice: Lightning "
		    "payment credited", inv->number);
		rc = db_ledger_apply(db, a.id, TX_REFUND, amount,
		    "second_payment", desc, reference, now, &tx);
		if (rc != TALLY_OK)
			return rc == TALLY_E_DUPLICATE ? TALLY_E_INTERNAL : rc;
		a.balance = tx.balance_after;
	}
	snprintf(url, sizeof(url), "%s/?invoice=%lld", cfg->http_public_url,
	    (long long)inv->id);
	/* What one credit is worth, in the currency's own notation. */
	core_money_format(1, cur, unit, sizeof(unit));
	params = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "number",
	    inv->number, "amount", money, "currency", cur, "invoice_url", url,
	    "credits", (json_int_t)amount, "balance", (json_int_t)a.balance,
	    "unit", unit);
	if (params == NULL)
		return TALLY_E_NOMEM;
	rc = record(db, cfg, inv, &a, paid_ref, via, ref, amount, cur, card ?
	    "refund" : "credit", card ? "payment_refunded" :
	    "payment_credited", reference, params, now);
	json_decref(params);
	return rc;
}

/* ------------------------------------------------------------ refunds */

struct refund_end {
	const struct db_refund *r;
	const char	*status, *message;
	int64_t		 now;
};

/* A refund that ended for good: its row and, when it failed, an audit row
 * for the operator who must now settle it. */
static int
refund_end_tx(struct db *db, void *arg)
{
	struct refund_end *e = arg;
	json_t		*d;
	char		*details;
	int		 rc;

	if ((rc = db_refund_finish(db, e->r->id, e->status, e->message)) !=
	    TALLY_OK || strcmp(e->status, "refund_failed") != 0)
		return rc;
	d = json_pack("{s:s,s:s,s:I,s:s,s:s}", "reference", e->r->reference,
	    "payment_ref", e->r->provider_ref, "amount",
	    (json_int_t)e->r->amount, "currency", e->r->currency, "error",
	    e->message);
	details = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	if (details == NULL)
		return TALLY_E_NOMEM;
	rc = db_audit_insert(db, "tally", "invoice.second_payment_refund_failed",
	    e->r->reference, details, e->now);
	free(details);
	return rc;
}

/* One attempt at refund r (claimed).  OUT: *outcome 1 refunded, 2 retry,
 * 3 failed. */
static int
refund_one(struct db *db, const struct core_config *cfg,
    const struct db_refund *r, int64_t now, int *outcome)
{
	struct refund_end e;
	struct core_form f;
	json_t		*obj = NULL;
	const char	*code, *rid, *rst;
	char		 err[300], msg[400];
	long		 status;
	int		 rc;

	core_form_init(&f);
	core_form_add(&f, "payment_intent", r->provider_ref);
	core_form_add(&f, "reason", "duplicate");
	core_form_add(&f, "metadata[reference]", r->reference);
	core_form_add_int(&f, "metadata[account_id]", r->account_id);
	/* No amount: the whole payment goes back, which is also what makes
	 * a late repeat past the idempotency window harmless. */
	rc = net_stripe_call(cfg, "/v1/refunds", &f, r->reference, &obj,
	    &status, err, sizeof(err));
	code = json_string_value(json_object_get(json_object_get(obj, "error"),
	    "code"));
	rid = json_string_value(json_object_get(obj, "id"));
	rst = json_string_value(json_object_get(obj, "status"));
	e.r = r;
	e.now = now;
	e.message = msg;
	if (rc == TALLY_OK && rid != NULL && (rst == NULL ||
	    (strcmp(rst, "failed") != 0 && strcmp(rst, "canceled") != 0))) {
		snprintf(msg, sizeof(msg), "refunded: %s (%s)", rid,
		    rst != NULL ? rst : "created");
		e.status = "refunded";
	} else if (rc == TALLY_E_INVALID && code != NULL &&
	    strcmp(code, "charge_already_refunded") == 0) {
		snprintf(msg, sizeof(msg), "refunded: Stripe had refunded the "
		    "payment already");
		e.status = "refunded";
	} else if (rc == TALLY_OK || (rc == TALLY_E_INVALID && status != 409) ||
	    rc == TALLY_E_INTERNAL || r->attempts + 1 >= REFUND_ATTEMPTS) {
		/* Refused for good (a 409 is the same key still in flight). */
		snprintf(msg, sizeof(msg), "refund failed: %s", rc == TALLY_OK ?
		    (rst != NULL ? rst : "no refund id") : err);
		e.status = "refund_failed";
	} else
		e.status = NULL;
	json_decref(obj);
	if (e.status == NULL) {
		*outcome = 2;
		snprintf(msg, sizeof(msg), "refund attempt %lld failed: %s",
		    (long long)(r->attempts + 1), err);
		core_log("warn", "invoice.second_payment_refund_retry",
		    json_pack("{s:s,s:I,s:s}", "reference", r->reference,
		    "attempt", (json_int_t)(r->attempts + 1), "error", err));
		return db_refund_note(db, r->id, msg);
	}
	*outcome = strcmp(e.status, "refunded") == 0 ? 1 : 3;
	core_log(*outcome == 1 ? "info" : "error",
	    "invoice.second_payment_refund", json_pack("{s:s,s:s,s:s}",
	    "reference", r->reference, "status", e.status, "message", msg));
	return db_tx(db, refund_end_tx, &e);
}

int
op_dup_refunds_run(struct db *db, const struct core_config *cfg, int64_t now,
    int64_t max, struct op_refund_counts *c)
{
	struct db_refund *rs;
	int64_t		 done = 0, backoff;
	size_t		 n, i;
	int		 rc, claimed, outcome;

	memset(c, 0, sizeof(*c));
	if ((rs = calloc(REFUND_BATCH, sizeof(*rs))) == NULL)
		return TALLY_E_NOMEM;
	do {
		if ((rc = db_refund_due(db, now, REFUND_BATCH, rs, &n)) !=
		    TALLY_OK)
			break;
		for (i = 0; i < n && done < max; i++, done++) {
			backoff = 60LL << (rs[i].attempts < 12 ?
			    rs[i].attempts : 12);
			if (backoff > BACKOFF_MAX)
				backoff = BACKOFF_MAX;
			/* The claim is the lease: a crash after it leaves
			 * the row to the attempt after the backoff. */
			if ((rc = db_refund_claim(db, rs[i].id, now, now +
			    backoff, &claimed)) != TALLY_OK)
				break;
			if (!claimed)
				continue;	/* another worker has it */
			if ((rc = refund_one(db, cfg, &rs[i], now, &outcome)) !=
			    TALLY_OK)
				break;
			if (outcome == 1)
				c->refunded++;
			else if (outcome == 2)
				c->retried++;
			else
				c->failed++;
		}
	} while (rc == TALLY_OK && n == REFUND_BATCH && done < max);
	free(rs);
	return rc;
}
