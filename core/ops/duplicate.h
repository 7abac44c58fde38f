/* A second payment of an invoice that is paid already: refunded through
 * the card provider, or credited to the wallet for Lightning; once. */
#ifndef CORE_OP_DUPLICATE_H
#define CORE_OP_DUPLICATE_H

#include <stdint.h>

#include "core/config.h"
#include "core/model.h"

struct db;

/*
 * Invoice inv, locked and paid, received another payment of amount in
 * currency via "card" (ref: the Stripe PaymentIntent) or "lightning"
 * (ref: the BTCPay invoice), in the caller's transaction.  The same
 * provider payment as the one that paid it (another event about it) and a
 * payment without a ref change nothing.  Otherwise, once per (invoice,
 * ref) however often and however concurrently it is reported:
 *   card: a payments row 'refund_pending' (the refund's outbox: Stripe is
 *     asked outside the transaction, by op_dup_refunds_run);
 *   lightning: the amount credited to the wallet (1 credit = 1 minor unit
 *     of the billing currency; a payment in another currency is left to an
 *     operator: payments row 'error'), payments row 'credited';
 * each with an audit row (invoice.second_payment) and an email to the
 * account (payment_refunded, payment_credited), all committed with the
 * caller's transaction.  TALLY_OK or a database code.
 */
int	 op_dup_payment_tx(struct db *, const struct core_config *,
	    const struct db_invoice *inv, const char *via, const char *ref,
	    int64_t amount, const char *currency, int64_t now);

struct op_refund_counts {
	int64_t	 refunded, retried, failed;
};

/*
 * Ask Stripe for the refunds that are pending and due at now, at most
 * max, each outside any transaction: claim it (its next attempt moves
 * ahead, so no other worker makes the same attempt), POST /v1/refunds
 * with the payment's reference as Idempotency-Key, then record the answer
 * ('refunded', or 'refund_failed' with an audit row when Stripe refuses
 * for good or after the last attempt; otherwise it is retried later with
 * backoff).  TALLY_OK or a database code.  OUT: *c.
 */
int	 op_dup_refunds_run(struct db *, const struct core_config *,
	    int64_t now, int64_t max, struct op_refund_counts *c);

#endif
