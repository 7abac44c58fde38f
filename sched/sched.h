/* The scheduler's jobs: one file each (job_*.c), run once per tick. */
#ifndef SCHED_SCHED_H
#define SCHED_SCHED_H

#include <stdint.h>

#include <jansson.h>

#include "core/config.h"

struct db;

struct sched_ctx {
	const struct core_config *cfg;
	struct db	*db;
	int64_t		 now;		/* the tick's time (--now shifts it) */
	volatile int	*stop;		/* set when SIGTERM arrived */
};

/*
 * A job does its work and fills counts (a JSON object) for its log line.
 * Returns TALLY_OK or an error code; the tick goes on with the next job.
 */
struct sched_job {
	const char	*name;
	int		(*run)(struct sched_ctx *, json_t *counts);
	/* 1: several schedulers may run it at once (its own row claims
	 * keep it correct), so it takes no job lock. */
	int		 concurrent;
};

int	 job_charge_recurring(struct sched_ctx *, json_t *counts);
int	 job_deliver_mail(struct sched_ctx *, json_t *counts);
int	 job_deliver_events(struct sched_ctx *, json_t *counts);
int	 job_purge(struct sched_ctx *, json_t *counts);
int	 job_invoice_renewals(struct sched_ctx *, json_t *counts);
int	 job_plan_billing(struct sched_ctx *, json_t *counts);
int	 job_invoice_expiry(struct sched_ctx *, json_t *counts);
int	 job_expire_purchases(struct sched_ctx *, json_t *counts);
int	 job_reconcile_lightning(struct sched_ctx *, json_t *counts);
int	 job_refund_duplicates(struct sched_ctx *, json_t *counts);
int	 job_dunning(struct sched_ctx *, json_t *counts);

#endif
