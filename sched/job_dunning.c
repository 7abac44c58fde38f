/* Job dunning: retry the automatic payment of invoices whose cascade
 * failed, on billing.dunning_days, each retry once. */
#include "core/ops/dunning.h"
#include "core/result.h"
#include "sched/sched.h"

int
job_dunning(struct sched_ctx *ctx, json_t *counts)
{
	struct op_dunning_counts c;
	int		 rc;

	rc = op_dunning_run(ctx->db, ctx->cfg, ctx->now, ctx->stop, &c);
	json_object_set_new(counts, "retried", json_integer(c.retried));
	json_object_set_new(counts, "paid", json_integer(c.paid));
	json_object_set_new(counts, "failed", json_integer(c.failed));
	json_object_set_new(counts, "ended", json_integer(c.ended));
	json_object_set_new(counts, "errors", json_integer(c.errors));
	return rc;
}
