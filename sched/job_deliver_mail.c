/* Job deliver-mail: send due outbox messages over SMTP. */
#include "core/ops/mail.h"
#include "core/result.h"
#include "sched/sched.h"

#define PER_TICK	500

int
job_deliver_mail(struct sched_ctx *ctx, json_t *counts)
{
	struct op_mail_counts c;
	int		 rc;

	rc = op_mail_deliver(ctx->db, ctx->cfg, ctx->now, PER_TICK, &c);
	json_object_set_new(counts, "sent", json_integer(c.sent));
	json_object_set_new(counts, "retried", json_integer(c.retried));
	json_object_set_new(counts, "failed", json_integer(c.failed));
	return rc;
}
