/* Card payments with Stripe: credit purchases by Checkout, saved cards,
 * off-session charges, and the effects of Stripe's webhooks. */
#ifndef CORE_OP_CARD_H
#define CORE_OP_CARD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/config.h"
#include "core/model.h"

struct db;

/* The account's purchase id (another account's is TALLY_E_NOTFOUND).
 * OUT: *p. */
int	 op_purchase_get(struct db *, int64_t account_id, int64_t id,
	    struct tally_purchase *p);
/* The account's purchases, newest first, at most max.  OUT: ps[0..*n). */
int	 op_purchase_list(struct db *, int64_t account_id, size_t max,
	    struct tally_purchase *ps, size_t *n);
/*
 * Insert a pending purchase of package pk by method (card, lightning),
 * with the bonus of coupon (may be NULL; errors of op_coupon_purchase_tx).
 */
int	 op_purchase_insert_tx(struct db *, const struct core_config *,
	    const struct tally_account *, const struct core_package *pk,
	    const char *method, const char *coupon, int64_t expires_at,
	    int64_t now, struct tally_purchase *p);

/*
 * Create a pending purchase of package pk and its Checkout Session, in the
 * caller's transaction (so a failed Stripe call leaves nothing behind).
 * TALLY_E_PROVIDER when Stripe cannot be reached or refuses (err says).
 * OUT: *p with checkout_url.
 */
int	 op_card_purchase_tx(struct db *, const struct core_config *,
	    const struct tally_account *, const struct core_package *pk,
	    const char *coupon, int64_t now, struct tally_purchase *p,
	    char *err, size_t errsz);

/*
 * A Checkout Session in setup mode for the account, creating its Stripe
 * customer once (idempotency key from the account id).  OUT: url.
 */
int	 op_card_setup(struct db *, const struct core_config *,
	    const struct tally_account *, int64_t now, char *url, size_t urlsz,
	    char *err, size_t errsz);

/* Forget the saved card (and detach it at Stripe, best effort). */
int	 op_card_remove(struct db *, const struct core_config *,
	    const struct tally_account *, int64_t now);

enum op_card_result {
	CARD_CHARGED,		/* the money was taken */
	CARD_DECLINED,		/* the bank said no (message says why) */
	CARD_NEEDS_AUTH,	/* the customer must authenticate (3DS) */
	CARD_NONE,		/* no saved card */
	CARD_ERROR		/* Stripe unreachable or failing */
};

/*
 * Charge the account's saved card amount (minor units of
 * billing.currency) off-session with a confirmed PaymentIntent whose
 * idempotency key is reference, so a retry never charges twice; records
 * the attempt in payments.  OUT: *result, message (Stripe's reason),
 * provider_ref (the PaymentIntent id, may be empty).  Returns TALLY_OK
 * whenever *result is set, else a database code.
 */
int	 op_card_charge_saved(struct db *, const struct core_config *,
	    int64_t account_id, int64_t amount, const char *reference,
	    int64_t now, int *result, char *message, size_t msgsz,
	    char *provider_ref, size_t refsz);

/*
 * The same for the account of user_id (an operator's manual charge):
 * TALLY_E_NOTFOUND when no such account exists.
 */
int	 op_card_charge_user(struct db *, const struct core_config *,
	    const char *user_id, int64_t amount, const char *reference,
	    int64_t now, int *result, char *message, size_t msgsz,
	    char *provider_ref, size_t refsz);
/*
 * Pending card purchases whose Checkout Session expired (expires_at
 * before now) become expired.  OUT: *n.
 */
int	 op_card_expire_purchases(struct db *, int64_t now, uint64_t *n);
/*
 * Apply a verified Stripe event in the caller's transaction, after its
 * dedupe row was written.  Unknown types are ignored (TALLY_OK).
 */
int	 op_card_webhook_tx(struct db *, const struct core_config *,
	    const json_t *event, int64_t now);

/* A Checkout Session paying invoice id.  OUT: url. */
int	 op_card_invoice_checkout(const struct core_config *,
	    int64_t invoice_id, const char *number, int64_t total,
	    const char *email, int64_t now, char *url, size_t urlsz, char *err,
	    size_t errsz);

/*
 * Credit a paid purchase once (ledger effect key purchase:ID, and its
 * coupon's bonus as a row of kind bonus, purchase:ID:bonus) and mark it
 * succeeded; shared by card and Lightning.  amount and currency are what
 * the provider says was paid: a mismatch is logged and not credited
 * (TALLY_E_CONFLICT).
 */
int	 op_purchase_paid_tx(struct db *, struct tally_purchase *,
	    int64_t amount, const char *currency, const char *payment_ref,
	    int64_t now);

#endif
