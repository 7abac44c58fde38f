/* Dunning rules: the retry schedule of an invoice whose automatic
 * payment failed (billing.dunning_days), with no I/O. */
#ifndef CORE_DUNNING_H
#define CORE_DUNNING_H

#include <stddef.h>
#include <stdint.h>

#define CORE_DUNNING_MAX	10	/* retries in a schedule at most */
#define CORE_DUNNING_DAY_MAX	365	/* the latest retry, in days */

/*
 * Parse a schedule: whole days after the first failure, comma separated,
 * strictly ascending, each 1..CORE_DUNNING_DAY_MAX, at most
 * CORE_DUNNING_MAX of them ("1,3,5,7"; spaces around the commas are
 * fine).  "" or "none" is the empty schedule (no retries).
 * TALLY_OK or TALLY_E_INVALID (then *n is 0).  OUT: days[0..*n).
 */
int	 core_dunning_parse(const char *s, int64_t *days, size_t max,
	    size_t *n);

/*
 * When retry k (1-based) of a schedule is due: failed_at plus days[k-1]
 * days.  0 when there is no such retry, or when it would fall at or
 * after expires_at (0: the invoice never expires), since an expired
 * invoice ends the dunning.
 */
int64_t	 core_dunning_due(const int64_t *days, size_t n, int64_t failed_at,
	    int64_t expires_at, int64_t k);

/* The retries of the schedule that fall before expires_at. */
int64_t	 core_dunning_count(const int64_t *days, size_t n, int64_t failed_at,
	    int64_t expires_at);

/*
 * The retry to make at now, after retries up to `made` were made: the
 * latest k > made that is due by now (retries missed while no scheduler
 * ran are skipped, not made in a burst), or 0 when none is due.
 */
int64_t	 core_dunning_pick(const int64_t *days, size_t n, int64_t failed_at,
	    int64_t expires_at, int64_t made, int64_t now);

/* When the first retry after `made` is due; 0 when none is left. */
int64_t	 core_dunning_next(const int64_t *days, size_t n, int64_t failed_at,
	    int64_t expires_at, int64_t made);

#endif
