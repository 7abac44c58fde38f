/* Dunning: an invoice whose automatic payment failed is tried again on
 * the schedule billing.dunning_days until it is paid or expires. */
#ifndef CORE_OP_DUNNING_H
#define CORE_OP_DUNNING_H

#include <stdint.h>

#include "core/config.h"
#include "core/model.h"

struct db;

/*
 * In the caller's transaction (the cascade's, when it failed): put
 * invoice inv in dunning with reason, its first retry on the schedule
 * (none when the schedule is empty or every retry would fall after the
 * invoice expires), and email the account the reason, the link and,
 * when there is one, the date of the first retry.  Once per invoice.
 */
int	 op_dunning_start_tx(struct db *, const struct core_config *,
	    const struct db_invoice *inv, const char *reason, int64_t now);

struct op_dunning_counts {
	int64_t	 retried, paid, failed, ended, errors;
};

/*
 * Job: make every retry due by now, one invoice per transaction (claimed
 * FOR UPDATE SKIP LOCKED, so several schedulers share the work and never
 * take one invoice twice).  A retry takes (invoice, attempt) first, then
 * tries the credit wallet (billing.pay_from_credits) and the saved card
 * (off-session, the attempt in its idempotency key), and writes one
 * payments row; a failure emails the account once for that attempt with
 * the reason and the next date.  Retries missed while no scheduler ran
 * are skipped: only the latest due one is made.  An invoice paid, voided
 * or expired meanwhile leaves dunning untried; a success ends it.  Stops
 * early when *stop is set (stop may be NULL).  OUT: *c.
 */
int	 op_dunning_run(struct db *, const struct core_config *, int64_t now,
	    volatile int *stop, struct op_dunning_counts *c);

#endif
