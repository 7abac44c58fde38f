/* Job purge: forget Idempotency-Key responses after 24 hours and failed
 * gift redemptions after a day (the rate limit looks back 10 minutes). */
#include "core/result.h"
#include "db/db.h"
#include "db/db_gift.h"
#include "db/db_misc.h"
#include "sched/sched.h"

#define IDEM_TTL	(24 * 60 * 60)
#define FAILURE_TTL	(24 * 60 * 60)
#define BATCH		1000

int
job_purge(struct sched_ctx *ctx, json_t *counts)
{
	uint64_t	 n, total = 0, failures = 0;
	int		 rc;

	/* Small batches keep each DELETE's locks short. */
	do {
		rc = db_idem_purge(ctx->db, ctx->now - IDEM_TTL, BATCH, &n);
		total += n;
	} while (rc == TALLY_OK && n == BATCH && !*ctx->stop);
	if (rc == TALLY_OK)
		rc = db_gift_failures_purge(ctx->db, ctx->now - FAILURE_TTL,
		    &failures);
	json_object_set_new(counts, "idempotency_keys",
	    json_integer((json_int_t)total));
	json_object_set_new(counts, "gift_failures",
	    json_integer((json_int_t)failures));
	return rc;
}
