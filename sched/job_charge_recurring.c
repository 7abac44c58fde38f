/* Job charge-recurring: renew, pause or end due credit subscriptions. */
#include "core/ops/subscription.h"
#include "core/result.h"
#include "sched/sched.h"

int
job_charge_recurring(struct sched_ctx *ctx, json_t *counts)
{
	struct op_charge_counts c;
	int		 rc;

	rc = op_charge_recurring(ctx->db, ctx->cfg, ctx->now, ctx->stop, &c);
	json_object_set_new(counts, "charged", json_integer(c.charged));
	json_object_set_new(counts, "paused", json_integer(c.paused));
	json_object_set_new(counts, "ended", json_integer(c.ended));
	json_object_set_new(counts, "errors", json_integer(c.errors));
	return rc;
}
