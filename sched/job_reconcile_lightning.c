/* Job reconcile-lightning: ask BTCPay about open Lightning payments
 * whose webhook may be lost. */
#include "core/ops/lightning.h"
#include "core/result.h"
#include "sched/sched.h"

#define RECONCILE_PER_TICK	500

int
job_reconcile_lightning(struct sched_ctx *ctx, json_t *counts)
{
	struct op_ln_counts c = { 0, 0, 0, 0 };
	int		 rc = TALLY_OK;

	if (ctx->cfg->ln_api_base[0] != '\0')
		rc = op_ln_reconcile(ctx->db, ctx->cfg, ctx->now,
		    RECONCILE_PER_TICK, &c);
	json_object_set_new(counts, "checked", json_integer(c.checked));
	json_object_set_new(counts, "settled", json_integer(c.settled));
	json_object_set_new(counts, "expired", json_integer(c.expired));
	json_object_set_new(counts, "errors", json_integer(c.errors));
	return rc;
}
