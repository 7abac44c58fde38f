/* Job expire-purchases: card purchases whose Checkout Session expired. */
#include "core/ops/card.h"
#include "core/result.h"
#include "sched/sched.h"

/*
 * Pending card purchases past their Checkout Session's expiry become
 * expired.  Lightning purchases are left to reconcile-lightning, which
 * asks BTCPay first, so that a payment made at the last moment is never
 * expired here.
 */
int
job_expire_purchases(struct sched_ctx *ctx, json_t *counts)
{
	uint64_t	 n = 0;
	int		 rc;

	rc = op_card_expire_purchases(ctx->db, ctx->now, &n);
	json_object_set_new(counts, "expired", json_integer((json_int_t)n));
	return rc;
}
