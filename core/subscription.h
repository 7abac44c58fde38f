/* Subscription rules: billing periods and the state machine (no I/O). */
#ifndef CORE_SUBSCRIPTION_H
#define CORE_SUBSCRIPTION_H

#include <stdint.h>

enum core_sub_status {
	SUB_NONE,		/* no subscription row */
	SUB_ACTIVE,
	SUB_PAUSED,
	SUB_CANCELED,
	SUB_EXPIRED,
	SUB_PENDING,		/* pending_activation (invoice products) */
	SUB__MAX
};

/* "active" etc.; SUB_NONE is "inactive". */
const char *core_sub_status_name(int);
/* The status for a name; -1 when unknown. */
int	 core_sub_status_parse(const char *);

/*
 * The period that starts months_from_anchor calendar months after anchor
 * and lasts interval (core_interval_*) months; both ends are computed from
 * the anchor, so Jan 31 steps to Feb 28/29 and then to Mar 31.
 * TALLY_OK, TALLY_E_INVALID (bad interval) or TALLY_E_OVERFLOW.
 * OUT: *start, *end.
 */
int	 core_period_bounds(int64_t anchor, int64_t months_from_anchor,
	    int interval, int64_t *start, int64_t *end);

/*
 * The period of that calendar (anchor, interval) containing t: period k
 * is core_period_bounds(anchor, k * months, interval), so every period
 * is computed from the anchor, never stepped from the last one.  This and
 * core_period_bounds are the only calendar stepping the operations use.
 * TALLY_OK, TALLY_E_INVALID (bad interval, or t before anchor) or
 * TALLY_E_OVERFLOW (outside the years 1 to 9999).
 * OUT: *k (may be NULL), *start, *end with start <= t < end.
 */
int	 core_period_find(int64_t anchor, int interval, int64_t t, int64_t *k,
	    int64_t *start, int64_t *end);

enum core_sub_action {
	SUBACT_START,		/* charge now; a new period starts now */
	SUBACT_UNCANCEL,	/* clear cancel_at_period_end; charge nothing */
	SUBACT_KEEP,		/* nothing to change */
	SUBACT_CANCEL_AT_END,	/* set cancel_at_period_end */
	SUBACT_CANCEL_NOW,	/* status canceled now (nothing is owed) */
	SUBACT_SET_INTERVAL,	/* new interval from the next charge */
	SUBACT_RENEW,		/* charge the next period */
	SUBACT_PAUSE,		/* credits short: pause */
	SUBACT_END,		/* canceled at period end: end */
	SUBACT_NOTFOUND,	/* nothing to act on */
	SUBACT_CONFLICT		/* the state does not allow it */
};

/*
 * What activate does for a credit product in this state.  cancel_flag is
 * cancel_at_period_end; entitled is whether the current period still
 * runs (now < current_period_end).
 */
int	 core_sub_on_activate(int status, int cancel_flag, int entitled);
/* What deactivate does. */
int	 core_sub_on_deactivate(int status, int cancel_flag);
/* What change-interval does. */
int	 core_sub_on_change_interval(int status);
/* What the recurring charge does for a due active subscription. */
int	 core_sub_on_due(int cancel_flag, int64_t balance, int64_t price);

/*
 * Whether a subscription gives access at now: active, and either its
 * period still runs or (a credit subscription that is not canceled) the
 * renewal charge is merely pending on the scheduler.
 */
int	 core_sub_entitled(int status, int cancel_flag, int64_t period_end,
	    int64_t now, int renews_lazily);

#endif
