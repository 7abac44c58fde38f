/* Per-resource plan rules: proration, activity items, state from the
 * activity log, error summaries (no I/O). */
#ifndef CORE_PLAN_H
#define CORE_PLAN_H

#include <stddef.h>
#include <stdint.h>

/*
 * The prorated share of price for remaining of len seconds:
 * round_half_up(price * remaining / len), 128-bit intermediate (the one
 * rounding rule, core_money_muldiv).  remaining is clamped to [0, len].
 * TALLY_OK, TALLY_E_INVALID (len <= 0, price < 0) or TALLY_E_OVERFLOW.
 */
int	 core_prorate(int64_t price, int64_t remaining, int64_t len,
	    int64_t *out);

enum core_activity {
	ACT_CREATE,
	ACT_UPDATE,
	ACT_ACTIVATE,
	ACT_DEACTIVATE,
	ACT__MAX
};

/* "create" etc.; -1 for an unknown name. */
int	 core_activity_parse(const char *);

/* A resource's state as the activity log leaves it. */
struct core_resource_state {
	int	 exists;
	int	 active;
	char	 plan[64];	/* empty: none */
};

/* Apply one activity (type, plan may be NULL) to a state. */
void	 core_resource_apply(struct core_resource_state *, int type,
	    const char *plan);

/*
 * The item for a change of plan of a running resource with remaining of
 * len seconds left in the period: the new plan's share minus the old
 * plan's share, each side prorated on its own (core_prorate), so an
 * upgrade and the matching downgrade mirror exactly.  *out is negative
 * for a cheaper plan (a credit) and 0 for the same price.  The one
 * plan-switch rule, whichever activity type carries the change.
 * TALLY_OK, or core_prorate's errors.
 */
int	 core_prorate_switch(int64_t old_price, int64_t new_price,
	    int64_t remaining, int64_t len, int64_t *out);

/*
 * 1 when an activity of type on a resource in state before is a change of
 * plan of a running resource (update, create or activate of one that is
 * active), billed by core_prorate_switch; 0 otherwise.
 */
int	 core_activity_is_switch(const struct core_resource_state *before,
	    int type);

/*
 * The item amount an activity produces, given the resource's state before
 * it and the plans' monthly prices (old_price for the state's plan,
 * new_price for the activity's plan; 0 for free or none).  On a running
 * resource, update, create and activate are all plan switches
 * (core_prorate_switch; nothing for the same plan).  On one that is not
 * running, create and activate charge the new plan's rest of the period
 * and update only changes the plan for a later activate.  Deactivate
 * credits the current plan's rest of a running resource.  Nothing for a
 * free plan.  *amount may be negative (a credit); *has_item is 0 when no
 * item is due.  TALLY_OK, TALLY_E_INVALID (unknown type, bad period or
 * price) or TALLY_E_OVERFLOW.
 */
int	 core_activity_amount(const struct core_resource_state *before,
	    int type, int64_t old_price, int64_t new_price, int same_plan,
	    int64_t remaining, int64_t len, int64_t *amount, int *has_item);

/*
 * Summarise an error for a customer: whitespace runs collapsed to one
 * space, trimmed, at most max bytes including a trailing "..." when cut
 * (never inside a UTF-8 sequence).  OUT: out (max + 1 bytes).
 */
void	 core_summarize(const char *in, size_t max, char *out);

#endif
