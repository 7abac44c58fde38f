/* Job invoice-renewals: renewal invoices renewal_lead_hours before a
 * period ends, one per cycle (the invoice's cycle key), each emailed. */
#include "core/ops/invoice.h"
#include "core/ops/invoice_sub.h"
#include "core/result.h"
#include "sched/sched.h"

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
