/* Job purge-idempotency: forget Idempotency-Key responses after 24 hours. */
#include "core/result.h"
#include "db/db.h"
#include "db/db_misc.h"
#include "sched/sched.h"

#define IDEM_TTL	(24 * 60 * 60)
#define BATCH		1000

int
job_purge_idempotency(struct sched_ctx *ctx, json_t *counts)
{
	uint64_t	 n, total = 0;
	int		 rc;

	/* Small batches keep each DELETE's locks short. */
	do {
		rc = db_idem_purge(ctx->db, ctx->now - IDEM_TTL, BATCH, &n);
		total += n;
	} while (rc == TALLY_OK && n == BATCH && !*ctx->stop);
	json_object_set_new(counts, "purged", json_integer((json_int_t)total));
	return rc;
}
