/* Job invoice-expiry: pending invoices past expires_at expire; invoice
 * subscriptions unpaid at their period end expire. */
#include "core/ops/invoice.h"
#include "core/result.h"
#include "sched/sched.h"

int
job_invoice_expiry(struct sched_ctx *ctx, json_t *counts)
{
	struct op_invoice_counts c;
	int		 rc;

	rc = op_invoice_expiry(ctx->db, ctx->cfg, ctx->now, &c);
	json_object_set_new(counts, "invoices_expired", json_integer(c.expired));
	json_object_set_new(counts, "subscriptions_ended",
	    json_integer(c.ended));
	return rc;
}
