/* Proration, activity items and error summaries. */
#include <string.h>

#include "money.h"
#include "plan.h"
#include "result.h"

int
core_prorate(int64_t price, int64_t remaining, int64_t len, int64_t *out)
{
	if (len <= 0 || price < 0)
		return TALLY_E_INVALID;
	if (remaining < 0)
		remaining = 0;
	if (remaining > len)
		remaining = len;
	return core_money_muldiv(price, remaining, len, out);
}

static const char *const activity_names[ACT__MAX] = {
	"create", "update", "activate", "deactivate"
};

int
core_activity_parse(const char *s)
{
	int	 i;

	for (i = 0; i < ACT__MAX; i++)
		if (strcmp(s, activity_names[i]) == 0)
			return i;
	return -1;
}

void
core_resource_apply(struct core_resource_state *st, int type,
    const char *plan)
{
	switch (type) {
	case ACT_CREATE:
		st->exists = 1;
		st->active = 1;
		break;
	case ACT_ACTIVATE:
		st->exists = 1;
		st->active = 1;
		break;
	case ACT_DEACTIVATE:
		st->active = 0;
		return;		/* the plan stays for a later activate */
	case ACT_UPDATE:
		st->exists = 1;
		break;
	default:
		return;
	}
	if (plan != NULL && *plan != '\0' && strlen(plan) < sizeof(st->plan))
		memcpy(st->plan, plan, strlen(plan) + 1);
}

int
core_prorate_switch(int64_t old_price, int64_t new_price, int64_t remaining,
    int64_t len, int64_t *out)
{
	int64_t	 a, b;
	int	 rc;

	/* Each side rounded on its own, then the difference: both shares lie
	 * in [0, INT64_MAX], so the subtraction cannot overflow. */
	if ((rc = core_prorate(new_price, remaining, len, &a)) != TALLY_OK ||
	    (rc = core_prorate(old_price, remaining, len, &b)) != TALLY_OK)
		return rc;
	*out = a - b;
	return TALLY_OK;
}

int
core_activity_is_switch(const struct core_resource_state *before, int type)
{
	if (!before->active)
		return 0;
	return type == ACT_CREATE || type == ACT_ACTIVATE ||
	    type == ACT_UPDATE;
}

int
core_activity_amount(const struct core_resource_state *before, int type,
    int64_t old_price, int64_t new_price, int same_plan, int64_t remaining,
    int64_t len, int64_t *amount, int *has_item)
{
	int64_t	 a = 0;
	int	 rc;

	*amount = 0;
	*has_item = 0;
	/* A running resource changing plan is billed the same way whichever
	 * type carries the change; the same plan again is no change. */
	if (core_activity_is_switch(before, type)) {
		if (same_plan)
			return TALLY_OK;
		if ((rc = core_prorate_switch(old_price, new_price, remaining,
		    len, &a)) != TALLY_OK)
			return rc;
		*amount = a;
		*has_item = a != 0;
		return TALLY_OK;
	}
	switch (type) {
	case ACT_CREATE:
	case ACT_ACTIVATE:
		/* Not running: the new plan's rest of the period.  A
		 * deactivate credited the old plan's rest already. */
		if (new_price <= 0)
			return TALLY_OK;
		if ((rc = core_prorate(new_price, remaining, len, &a)) !=
		    TALLY_OK)
			return rc;
		break;
	case ACT_DEACTIVATE:
		if (!before->active || old_price <= 0)
			return TALLY_OK;
		if ((rc = core_prorate(old_price, remaining, len, &a)) !=
		    TALLY_OK)
			return rc;
		a = -a;
		break;
	case ACT_UPDATE:
		/* Not running: the plan is taken for a later activate,
		 * which charges it; nothing is billed now. */
		return TALLY_OK;
	default:
		return TALLY_E_INVALID;
	}
	*amount = a;
	*has_item = a != 0;
	return TALLY_OK;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	    c == '\v';
}

void
core_summarize(const char *in, size_t max, char *out)
{
	size_t	 o = 0, keep, need;
	int	 space = 0, cut = 0;

	while (is_space(*in))
		in++;
	for (; *in != '\0'; in++) {
		if (is_space(*in)) {
			space = 1;
			continue;
		}
		need = space ? 2 : 1;
		if (o + need > max) {
			cut = 1;
			break;
		}
		if (space) {
			out[o++] = ' ';
			space = 0;
		}
		out[o++] = *in;
	}
	out[o] = '\0';
	if (!cut || max < 3)
		return;
	/* Room for "...", never splitting a UTF-8 sequence. */
	keep = max - 3 < o ? max - 3 : o;
	while (keep > 0 && ((unsigned char)out[keep] & 0xC0) == 0x80)
		keep--;
	while (keep > 0 && out[keep - 1] == ' ')
		keep--;
	memcpy(out + keep, "...", 4);
}
