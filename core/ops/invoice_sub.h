/* Invoice-billed subscriptions (product billing = invoice): activation
 * with a first invoice, renewal invoices, and what payment and expiry do
 * to them.  Each *_tx runs inside the caller's transaction. */
#ifndef CORE_OP_INVOICE_SUB_H
#define CORE_OP_INVOICE_SUB_H

#include <stdint.h>

#include "core/config.h"
#include "core/model.h"

struct db;
struct db_sub;
struct op_invoice_counts;

/*
 * Activate an invoice-billed product: a subscription in
 * pending_activation with a first invoice to pay (the pending one again
 * when it is still payable).  An active subscription keeps running (the
 * interval applies from the next renewal).  coupon (may be NULL) is
 * applied to the subscription first, so the first invoice carries its
 * discount (one it takes all of is paid at once and the subscription is
 * active); with a first invoice still payable it is TALLY_E_CONFLICT
 * (that amount may be on a checkout already); errors as
 * op_coupon_apply_tx.  OUT: *s, *inv (inv->id 0 when none is due).
 */
int	 op_invoice_sub_activate_tx(struct db *, const struct core_config *,
	    const struct tally_account *, const struct core_product *p,
	    int iv, const char *coupon, int64_t now, struct db_sub *s,
	    struct db_invoice *inv);
/*
 * What the paid invoice inv does to its subscription (none: nothing):
 * the first invoice starts the period now, a renewal extends it from the
 * old end; a stale one is logged and changes nothing.
 */
int	 op_invoice_sub_paid_tx(struct db *, const struct db_invoice *inv,
	    int64_t now);
/*
 * Whether the subscription invoice old may be reissued at now: the cycle
 * it pays for is still the current one, or it is the first invoice of a
 * run still waiting.  TALLY_OK (OUT: *expires, the new invoice's expiry)
 * or TALLY_E_CONFLICT.
 */
int	 op_invoice_sub_reissuable_tx(struct db *, const struct core_config *,
	    const struct db_invoice *old, int64_t now, int64_t *expires);
/* Invoice subscriptions unpaid at their period end expire (or end as
 * canceled), with their events, in the caller's transaction.
 * OUT: *ended. */
int	 op_invoice_sub_end_due(struct db *, const struct core_config *,
	    int64_t now, uint64_t *ended);

/* Job: renewal invoices for invoice-billed subscriptions, emailed. */
int	 op_invoice_renewals(struct db *, const struct core_config *,
	    int64_t now, struct op_invoice_counts *);

#endif
