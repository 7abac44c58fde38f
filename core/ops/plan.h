/* Per-resource plans (catalog plan.*): resource activities, prorated
 * items, renewal items at period starts, and their invoicing. */
#ifndef CORE_OP_PLAN_H
#define CORE_OP_PLAN_H

#include <stdint.h>

#include "core/config.h"

struct db;
struct op_invoice_counts;

/*
 * Record a resource activity (idempotent by resource, type, at) and its
 * prorated item, setting the billing anchor on the first billable one.
 * OUT: *duplicate (recorded before: nothing done).
 */
int	 op_activity_record_tx(struct db *, const struct core_config *,
	    int64_t account_id, const char *resource, const char *type,
	    const char *plan, int64_t at, int64_t now, int *duplicate);

/* Job: plan renewals at period starts, claims, and the payment cascade
 * (op_cascade_run) on the invoices claimed. */
int	 op_plan_billing(struct db *, const struct core_config *, int64_t now,
	    volatile int *stop, struct op_invoice_counts *);

#endif
