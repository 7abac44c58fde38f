/* Jobs invoice-renewals, plan-billing and invoice-expiry. */
#include "core/ops/invoice.h"
#include "core/result.h"
#include "sched/sched.h"

/* Renewal invoices renewal_lead_hours before a period ends, one per
 * cycle (the invoice's cycle key), each emailed. */
int
job_invoice_renewals(struct sched_ctx *ctx, json_t *counts)
{
	struct op_invoice_counts c;
	int		 rc;

	rc = op_invoice_renewals(ctx->db, ctx->cfg, ctx->now, &c);
	json_object_set_new(counts, "invoices", json_integer(c.renewals));
	json_object_set_new(counts, "errors", json_integer(c.errors));
	return rc;
}

/* Per-resource plans: renewal items at period starts (once per account
 * and period), outstanding items claimed onto invoices, and the payment
 * cascade on each new invoice. */
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

/* Pending invoices past expires_at expire; invoice subscriptions unpaid
 * at their period end expire. */
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
