/* The invoice engine: numbering, claiming outstanding items, reading,
 * payment and its effects, reissue, expiry, and the invoice emails.
 * Invoice subscriptions are in invoice_sub.h, per-resource plans in
 * plan.h, the payment cascade in cascade.h. */
#ifndef CORE_OP_INVOICE_H
#define CORE_OP_INVOICE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/config.h"
#include "core/model.h"

struct db;

struct op_item {
	const char	*description;
	int64_t		 amount;
	const char	*resource_id;	/* may be NULL */
	const char	*plan;		/* may be NULL */
	int64_t		 redemption_id;	/* a coupon's discount line; 0: not */
};

/*
 * A new pending invoice of items (total = their sum, which must be
 * positive) with the account's next gap-free number TLY-YYYY-NNNNNN, in
 * the caller's transaction.  cycle_key (may be NULL) makes it unique.
 * OUT: *inv.
 */
int	 op_invoice_create_tx(struct db *, const struct core_config *,
	    int64_t account_id, const char *kind, const struct op_item *items,
	    size_t n, int64_t period_start, int64_t period_end,
	    int64_t expires_at, int64_t subscription_id, const char *cycle_key,
	    int64_t now, struct db_invoice *inv);

/*
 * Claim the account's outstanding items onto a new invoice when they net
 * positive; a net credit stays outstanding.  OUT: *created, *inv.
 */
int	 op_invoice_claim_tx(struct db *, const struct core_config *,
	    int64_t account_id, int64_t now, int *created,
	    struct db_invoice *inv);

/* The account's invoice id; another account's is TALLY_E_NOTFOUND.
 * OUT: *inv. */
int	 op_invoice_get(struct db *, int64_t account_id, int64_t id,
	    struct db_invoice *inv);
/* The account's invoices, newest first, at most max.
 * OUT: invs[0..*n). */
int	 op_invoice_list(struct db *, int64_t account_id, size_t max,
	    struct db_invoice *invs, size_t *n);
/* The items of invoice id, at most max.  OUT: items[0..*n). */
int	 op_invoice_items(struct db *, int64_t invoice_id, size_t max,
	    struct db_item *items, size_t *n);

/*
 * Record that invoice id was paid amount (currency) via a method, by the
 * provider payment ref (a Stripe PaymentIntent, a BTCPay invoice; NULL
 * for credits and by hand), and apply its effect (a subscription starts
 * or extends).  Paid already is TALLY_OK: by the same payment, nothing
 * happens; by another, that second payment is refunded or credited once
 * (op_dup_payment_tx).  A void invoice or a mismatching amount is
 * TALLY_E_CONFLICT (logged).
 */
int	 op_invoice_paid_tx(struct db *, const struct core_config *,
	    int64_t id, int64_t amount, const char *currency, const char *via,
	    const char *ref, int64_t now);

/*
 * Pay the account's invoice id from its wallet (ledger invoice_payment)
 * in the caller's transaction.  TALLY_E_NOTFOUND, TALLY_E_CONFLICT (not
 * pending: see inv->status), TALLY_E_INSUFFICIENT.  OUT: *inv (after).
 */
int	 op_invoice_pay_credits_tx(struct db *, const struct core_config *,
	    const struct tally_account *, int64_t id, int64_t now,
	    struct db_invoice *inv);

/*
 * The Lightning payment for invoice id, in the caller's transaction (see
 * op_ln_present_tx).  When it turns out paid meanwhile (a lost webhook),
 * *paid is set and *inv is the invoice after it.  OUT: *inv, *ln, *paid.
 */
int	 op_invoice_pay_lightning_tx(struct db *, const struct core_config *,
	    int64_t id, int64_t now, struct db_invoice *inv, struct db_ln *ln,
	    int *paid, char *err, size_t errsz);
/*
 * Charge the account's saved card now for its invoice *inv (an explicit
 * payer's click; each minute's click is one attempt to Stripe) and, when
 * charged, record it paid in a transaction of its own.  TALLY_OK whenever
 * *result (enum op_card_result) is set, else a database code.
 * OUT: *result, message (the decline reason), *inv (after).
 */
int	 op_invoice_pay_saved_card(struct db *, const struct core_config *,
	    const struct tally_account *, struct db_invoice *inv, int64_t now,
	    int *result, char *message, size_t msgsz);
/* Admin: mark a pending invoice paid by hand, with an audit row. */
int	 op_invoice_mark_paid_tx(struct db *, const struct core_config *,
	    int64_t id, const char *actor, const char *reference,
	    const char *note, int64_t now, struct db_invoice *inv);

/*
 * A new invoice in place of the account's expired or void invoice id,
 * with the same items and period, while what it pays for is still due (a
 * subscription's current cycle, or usage).  TALLY_E_CONFLICT otherwise.
 */
int	 op_invoice_reissue_tx(struct db *, const struct core_config *,
	    const struct tally_account *, int64_t id, int64_t now,
	    struct db_invoice *inv);

/* Everything the printable document of an invoice shows. */
struct op_invoice_doc {
	struct db_invoice	 inv;
	struct db_item		*items;		/* malloc'd: op_invoice_doc_free */
	size_t			 nitems;
};

/*
 * The account's invoice id with its lines, for its document; another
 * account's is TALLY_E_NOTFOUND.  OUT: *doc (free with
 * op_invoice_doc_free, also after an error).
 */
int	 op_invoice_document(struct db *, int64_t account_id, int64_t id,
	    struct op_invoice_doc *doc);
void	 op_invoice_doc_free(struct op_invoice_doc *);

/* What the invoice and plan jobs did, for their log lines. */
struct op_invoice_counts {
	int64_t	 renewals, invoices, paid, emailed, expired, ended, errors;
};

/*
 * Email the account that invoice inv is issued (template "invoice") or
 * due ("invoice_due", with reason), in the caller's transaction, once
 * per invoice and template.
 */
int	 op_invoice_mail_tx(struct db *, const struct core_config *,
	    const struct db_invoice *inv, const char *template,
	    const char *reason, int64_t now);
/*
 * The same with the outbox dedupe key given, and extra params (a JSON
 * object, may be NULL, not stolen) beside the invoice's number, amount,
 * currency, invoice_url, expires and reason.
 */
int	 op_invoice_mail_key_tx(struct db *, const struct core_config *,
	    const struct db_invoice *inv, const char *template,
	    const char *key, const char *reason, const json_t *extra,
	    int64_t now);
/* A time as the invoice emails write it ("2026-11-21 04:00 UTC"; "-"
 * for 0).  OUT: buf. */
void	 op_invoice_mail_time(int64_t t, char *buf, size_t bufsz);

/* Job: expire pending invoices and ended invoice subscriptions. */
int	 op_invoice_expiry(struct db *, const struct core_config *,
	    int64_t now, struct op_invoice_counts *);

/* Callers from before the split (fcgi/h_subscriptions.c) find
 * op_invoice_sub_activate_tx here; new code includes invoice_sub.h. */
#include "core/ops/invoice_sub.h"

#endif
