/* Job purge: forget Idempotency-Key responses after 24 hours and failed
 * gift redemptions after a day (the rate limit looks back 10 minutes). */
#include "core/ops/purge.h"
#include "core/result.h"
#include "sched/sched.h"

#define IDEM_TTL	(24 * 60 * 60)
#define FAILURE_TTL	(24 * 60 * 60)
#define BATCH		1000

int
job_purge(struct sched_ctx *ctx, json_t *counts)
{
	uint64_t	 total = 0, failures = 0;
	int		 rc;

	rc = op_purge_idempotency(ctx->db, ctx->now - IDEM_TTL, BATCH,
	    ctx->stop, &total);
	if (rc == TALLY_OK)
		rc = op_purge_gift_failures(ctx->db, ctx->now - FAILURE_TTL,
		    &failures);
	json_object_set_new(counts, "idempotency_keys",
	    json_integer((json_int_t)total));
	json_object_set_new(counts, "gift_failures",
	    json_integer((json_int_t)failures));
	return rc;
}
