/* Job plan-billing: per-resource plans' renewal items at period starts
 * (once per account and period), outstanding items claimed onto
 * invoices, and the payment cascade on each new invoice. */
#include "core/ops/invoice.h"
#include "core/ops/plan.h"
#include "core/result.h"
#include "sched/sched.h"

int
job_plan_billing(struct sched_ctx *ctx, json_t *counts)
{
	struct op_invoice_counts c;
	int		 rc;

	rc = op_plan_billing(ctx->db, ctx->cfg, ctx->now, ctx->stop, &c);
	json_object_set_new(counts, "renewals", json_integer(c.renewals));
	json_object_set_new(counts, "invoices", json_integer(c.invoices));
	json_object_set_new(counts, "paid", json_integer(c.paid));
	json_object_set_new(counts, "emailed", json_integer(c.emailed));
	json_object_set_new(counts, "errors", json_integer(c.errors));
	return rc;
}
