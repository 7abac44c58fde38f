/* Job deliver-events: send due events to the [webhook.NAME] endpoints. */
#include "core/ops/event.h"
#include "core/result.h"
#include "sched/sched.h"

/* Per endpoint and tick; a failing endpoint stops at its first failure. */
#define PER_TICK	500

int
job_deliver_events(struct sched_ctx *ctx, json_t *counts)
{
	struct op_event_counts c;
	int		 rc;

	rc = op_event_deliver(ctx->db, ctx->cfg, ctx->now, PER_TICK,
	    ctx->stop, &c);
	json_object_set_new(counts, "delivered", json_integer(c.delivered));
	json_object_set_new(counts, "retried", json_integer(c.retried));
	json_object_set_new(counts, "failed", json_integer(c.failed));
	json_object_set_new(counts, "busy", json_integer(c.busy));
	return rc;
}
