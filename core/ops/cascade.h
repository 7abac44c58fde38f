/* The payment cascade of usage invoices. */
#ifndef CORE_OP_CASCADE_H
#define CORE_OP_CASCADE_H

#include <stdint.h>

#include "core/config.h"

struct db;
struct op_invoice_counts;

/*
 * Try to pay each usage invoice whose cascade has not run, one invoice
 * per transaction (SKIP LOCKED, so several schedulers share the work):
 * from the credit wallet (billing.pay_from_credits), then by Lightning
 * auto-pay when the account stored an NWC connection (op_nwc_*: asked
 * outside any transaction, paid only once BTCPay settles), then the saved
 * card off-session; when all fail the account is emailed a link and the
 * reason (at most 240 characters), and the invoice goes into dunning
 * (op_dunning_start_tx: retried on billing.dunning_days).  An invoice
 * whose attempt fails is set aside (still payable by hand) so it never
 * holds up the others.  Stops early when *stop is set (stop may be
 * NULL).  Adds to c->paid, c->emailed, c->errors.
 */
int	 op_cascade_run(struct db *, const struct core_config *, int64_t now,
	    volatile int *stop, struct op_invoice_counts *c);

#endif
