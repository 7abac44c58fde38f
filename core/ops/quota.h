/*
 * Quotas per subscription period (a product's quota.METRIC): the gate's
 * request counting, batched per responder process, and the reads and
 * records of the usage routes.
 */
#ifndef OPS_QUOTA_H
#define OPS_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct db;

/* A quota's state in a period. */
struct op_quota {
	char	 metric[CORE_ID_MAX];
	int64_t	 limit;
	int64_t	 used;
};

/*
 * Start the per-process batching of the gate's counts: a thread that
 * writes what the gate counted every flush_ms (gate.quota_flush_ms) in
 * one statement.  Call once before the responder threads; op_quota_stop()
 * writes what is left and ends it.  TALLY_OK (nothing started when no
 * product has a quota).
 */
int	 op_quota_start(const struct core_config *);
void	 op_quota_stop(void);

/*
 * The gate counts one "requests" unit of product p for user in the period
 * that started at period_start.  TALLY_OK (counted, or p has no requests
 * quota), TALLY_E_QUOTA (the period's quota is spent; nothing counted),
 * or a database error.  OUT: *q (limit -1 when there is no quota).
 *
 * Far from the limit a unit is counted in memory and written with the
 * process's next batch (the counter as the database has it is re-read at
 * most once a second a user); within 1% of the limit (at least 10 units)
 * each unit is taken from the database row itself, which is exact across
 * processes.
 */
int	 op_quota_gate(struct db *, const struct core_product *p,
	    const char *user, int64_t period_start, int64_t now,
	    struct op_quota *q);

/*
 * The quotas of product p for user in the period from period_start, as
 * the database has them (the gate's last batch may still be on its way):
 * at most CORE_QUOTA_MAX.  OUT: q[0..*n).
 */
int	 op_quota_read(struct db *, const struct core_product *p,
	    const char *user, int64_t period_start, struct op_quota *q,
	    size_t *n);

/* One subscription's quotas in its current period. */
struct op_quota_product {
	const struct core_product *p;
	char		 status[24];
	int64_t		 period_start, period_end;
	struct op_quota	 q[CORE_QUOTA_MAX];
	size_t		 nq;
};

/*
 * Every product with quotas that user has a subscription to, with its
 * quotas as the database has them: at most CORE_CATALOG_MAX.
 */
int	 op_quota_list(struct db *, const struct core_config *,
	    const char *user, struct op_quota_product *out, size_t *n);

/*
 * POST /internal/usage/record, in the request's transaction: product
 * must carry a quota of metric and user have a subscription to it
 * (TALLY_E_INVALID with *field "product"/"metric", TALLY_E_NOTFOUND).
 * OUT: *out, the subscription's period and the quota after it.
 */
int	 op_quota_record(struct db *, const struct core_config *,
	    const char *user, const char *product, const char *metric,
	    int64_t amount, int64_t now, struct op_quota_product *out,
	    const char **field);

#endif
