/* Quota counters: units used per user, product, metric and period. */
#ifndef DB_USAGE_H
#define DB_USAGE_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* One counter increment. */
struct db_usage_add {
	const char	*user_id;
	const char	*product;
	const char	*metric;
	int64_t		 period_start;
	int64_t		 n;
};

/*
 * Add to many counters, made if missing, in one statement: json is an
 * array of [user_id, product, metric, period_start, n], in primary-key
 * order (so that two writers never wait on each other in a cycle).
 */
int	 db_usage_add_json(struct db *, const char *json, int64_t now);

/*
 * Add n to one counter only if it stays at most limit: TALLY_OK, or
 * TALLY_E_QUOTA (nothing added).  OUT: *used, the counter after (or as
 * it is, when refused).
 */
int	 db_usage_take(struct db *, const struct db_usage_add *add,
	    int64_t limit, int64_t now, int64_t *used);

/* The counter's value; 0 when there is none. */
int	 db_usage_get(struct db *, const char *user_id, const char *product,
	    const char *metric, int64_t period_start, int64_t *used);

#endif
