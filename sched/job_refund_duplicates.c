/* Job refund-duplicates: ask Stripe for the refunds of second card
 * payments that are still pending (the webhook's own try failed, or the
 * process stopped between the commit and the call). */
#include "core/ops/duplicate.h"
#include "core/result.h"
#include "sched/sched.h"

#define REFUNDS_PER_TICK	200

int
job_refund_duplicates(struct sched_ctx *ctx, json_t *counts)
{
	struct op_refund_counts c = { 0, 0, 0 };
	int		 rc = TALLY_OK;

	if (ctx->cfg->stripe_secret_key[0] != '\0')
		rc = op_dup_refunds_run(ctx->db, ctx->cfg, ctx->now,
		    REFUNDS_PER_TICK, &c);
	json_object_set_new(counts, "refunded", json_integer(c.refunded));
	json_object_set_new(counts, "retried", json_integer(c.retried));
	json_object_set_new(counts, "failed", json_integer(c.failed));
	return rc;
}
