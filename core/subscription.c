/* Subscription periods and state transitions. */
#include <string.h>

#include "config.h"
#include "result.h"
#include "subscription.h"
#include "timeutil.h"

static const char *const names[SUB__MAX] = {
	[SUB_NONE] = "inactive",
	[SUB_ACTIVE] = "active",
	[SUB_PAUSED] = "paused",
	[SUB_CANCELED] = "canceled",
	[SUB_EXPIRED] = "expired",
	[SUB_PENDING] = "pending_activation",
};

const char *
core_sub_status_name(int s)
{
	return s >= 0 && s < SUB__MAX ? names[s] : "inactive";
}

int
core_sub_status_parse(const char *s)
{
	int	 i;

	for (i = 0; i < SUB__MAX; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int
core_period_bounds(int64_t anchor, int64_t months, int interval,
    int64_t *start, int64_t *end)
{
	int64_t	 len = core_interval_months(interval), m2;

	if (len == 0 || months < 0)
		return TALLY_E_INVALID;
	if (__builtin_add_overflow(months, len, &m2))
		return TALLY_E_OVERFLOW;
	if (core_time_add_months(anchor, months, start) != TALLY_OK ||
	    core_time_add_months(anchor, m2, end) != TALLY_OK)
		return TALLY_E_OVERFLOW;
	return TALLY_OK;
}

int
core_period_find(int64_t anchor, int interval, int64_t t, int64_t *k,
    int64_t *start, int64_t *end)
{
	struct core_civil a, c;
	int64_t		 len = core_interval_months(interval), i;
	int		 rc;

	if (len == 0 || t < anchor)
		return TALLY_E_INVALID;
	/* Outside years 1..9999 the civil dates are clamped, and
	 * core_period_bounds refuses those times anyway. */
	core_civil_from_time(anchor, &a);
	core_civil_from_time(t, &c);
	i = ((c.year - a.year) * 12 + (c.month - a.month)) / len;
	/* Period i starts in month a.month + i * len, on a day clamped to
	 * that month: the estimate is right or one period too far (and that
	 * one may end past year 9999 when the right one does not). */
	rc = core_period_bounds(anchor, i * len, interval, start, end);
	if (i > 0 && (rc == TALLY_E_OVERFLOW || (rc == TALLY_OK &&
	    t < *start))) {
		i--;
		rc = core_period_bounds(anchor, i * len, interval, start, end);
		/* Stepped back from an overflow: t's period is the one past
		 * year 9999. */
		if (rc == TALLY_OK && t >= *end)
			return TALLY_E_OVERFLOW;
	}
	if (rc != TALLY_OK)
		return rc;
	if (t < *start || t >= *end)
		return TALLY_E_INTERNAL;	/* the estimate above was wrong */
	if (k != NULL)
		*k = i;
	return TALLY_OK;
}

int
core_sub_on_activate(int status, int cancel_flag, int entitled)
{
	switch (status) {
	case SUB_ACTIVE:
		/* Reactivating before the end keeps the paid period. */
		if (cancel_flag)
			return entitled ? SUBACT_UNCANCEL : SUBACT_START;
		return SUBACT_KEEP;
	case SUB_NONE:
	case SUB_PAUSED:
	case SUB_CANCELED:
	case SUB_EXPIRED:
		return SUBACT_START;
	default:
		return SUBACT_CONFLICT;
	}
}

int
core_sub_on_deactivate(int status, int cancel_flag)
{
	switch (status) {
	case SUB_ACTIVE:
		return cancel_flag ? SUBACT_KEEP : SUBACT_CANCEL_AT_END;
	case SUB_PAUSED:
	case SUB_PENDING:
		/* Nothing paid runs on: end it now. */
		return SUBACT_CANCEL_NOW;
	case SUB_CANCELED:
	case SUB_EXPIRED:
		return SUBACT_KEEP;
	default:
		return SUBACT_NOTFOUND;
	}
}

int
core_sub_on_change_interval(int status)
{
	switch (status) {
	case SUB_ACTIVE:
	case SUB_PAUSED:
		return SUBACT_SET_INTERVAL;
	case SUB_NONE:
		return SUBACT_NOTFOUND;
	default:
		return SUBACT_CONFLICT;
	}
}

int
core_sub_on_due(int cancel_flag, int64_t balance, int64_t price)
{
	if (cancel_flag)
		return SUBACT_END;
	return balance >= price ? SUBACT_RENEW : SUBACT_PAUSE;
}

int
core_sub_entitled(int status, int cancel_flag, int64_t period_end,
    int64_t now, int renews_lazily)
{
	if (status != SUB_ACTIVE)
		return 0;
	if (now < period_end)
		return 1;
	return renews_lazily && !cancel_flag;
}
