/* Lightning payments through BTCPay Server, shared by credit purchases
 * and invoices: present a payable BOLT11, settle exactly once. */
#ifndef CORE_OP_LIGHTNING_H
#define CORE_OP_LIGHTNING_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/config.h"
#include "core/model.h"

struct db;

/*
 * The Lightning payment to show for subject (type "purchase" or
 * "invoice", id), in the caller's transaction: the newest BTCPay invoice
 * while it stays payable for another minute (after asking BTCPay whether it
 * was paid meanwhile; then *paid is set and it is settled here), else a
 * new BTCPay invoice for amount.  TALLY_E_PROVIDER when BTCPay fails.
 * OUT: *ln, *paid.
 */
int	 op_ln_present_tx(struct db *, const struct core_config *,
	    const char *type, int64_t id, int64_t account_id, int64_t amount,
	    int64_t now, struct db_ln *ln, int *paid, char *err, size_t errsz);

/* The Lightning payment of BTCPay invoice id (no lock).  TALLY_OK or
 * TALLY_E_NOTFOUND.  OUT: *ln. */
int	 op_ln_get(struct db *, const char *btcpay_invoice, struct db_ln *ln);
/*
 * Refresh the subject's newest Lightning payment from BTCPay (a webhook
 * may have been lost): settle it, or mark it expired or invalid.
 */
int	 op_ln_refresh_tx(struct db *, const struct core_config *,
	    const char *type, int64_t id, int64_t now);
/* The same in a transaction of its own (a handler's reading refresh). */
int	 op_ln_refresh(struct db *, const struct core_config *,
	    const char *type, int64_t id, int64_t now);

/* A pending Lightning purchase of package pk, with the bonus of coupon
 * (may be NULL; see op_purchase_insert_tx).  OUT: *p, *ln. */
int	 op_ln_purchase_tx(struct db *, const struct core_config *,
	    const struct tally_account *, const struct core_package *pk,
	    const char *coupon, int64_t now, struct tally_purchase *p,
	    struct db_ln *ln, char *err, size_t errsz);

/* Apply a verified BTCPay webhook (after its dedupe row was written). */
int	 op_ln_webhook_tx(struct db *, const struct core_config *,
	    const json_t *event, int64_t now);

struct op_ln_counts {
	int64_t	 checked, settled, expired, errors;
};

/* Ask BTCPay about open payments older than a minute, at most max. */
int	 op_ln_reconcile(struct db *, const struct core_config *, int64_t now,
	    int64_t max, struct op_ln_counts *);

#endif
