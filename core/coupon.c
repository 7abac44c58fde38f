/* Coupon rules: code normalisation, terms, and the discount arithmetic. */
#include <stdio.h>
#include <string.h>

#include "coupon.h"
#include "money.h"
#include "result.h"

int
core_coupon_code_normalize(const char *in, char *code, char *key)
{
	size_t	 n, i, o = 0, k = 0;
	int	 c;

	if (in == NULL)
		return TALLY_E_INVALID;
	while (*in == ' ' || *in == '\t')
		in++;
	n = strlen(in);
	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t'))
		n--;
	if (n == 0 || n > CORE_COUPON_CODE_MAX)
		return TALLY_E_INVALID;
	for (i = 0; i < n; i++) {
		c = (unsigned char)in[i];
		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return TALLY_E_INVALID;
		code[o++] = (char)c;
		if (c != '-')
			key[k++] = (char)c;
	}
	code[o] = '\0';
	key[k] = '\0';
	return k > 0 ? TALLY_OK : TALLY_E_INVALID;
}

static const char *const durations[] = { "once", "repeating", "forever" };

int
core_coupon_duration_parse(const char *s)
{
	int	 i;

	for (i = 0; s != NULL && i < 3; i++)
		if (strcmp(s, durations[i]) == 0)
			return i;
	return -1;
}

const char *
core_coupon_duration_name(int d)
{
	return d >= 0 && d < 3 ? durations[d] : "";
}

int
core_coupon_usable(int active, int64_t expires_at, int64_t max_redemptions,
    int64_t times_redeemed, int64_t now)
{
	if (!active)
		return TALLY_E_COUPON_INACTIVE;
	if (expires_at != 0 && expires_at <= now)
		return TALLY_E_COUPON_EXPIRED;
	if (max_redemptions >= 0 && times_redeemed >= max_redemptions)
		return TALLY_E_COUPON_EXHAUSTED;
	return TALLY_OK;
}

int
core_coupon_applies(const char *list, const char *target)
{
	size_t	 n, tlen = strlen(target);

	if (list == NULL || *list == '\0')
		return 1;
	while (*list != '\0') {
		while (*list == ' ')
			list++;
		n = strcspn(list, " ");
		if (n > 0 && n == tlen && strncmp(list, target, n) == 0)
			return 1;
		list += n;
	}
	return 0;
}

int
core_coupon_terms_valid(const struct core_coupon_terms *t)
{
	if ((t->percent_off > 0) == (t->amount_off > 0))
		return TALLY_E_INVALID;
	if (t->percent_off < 0 || t->percent_off > 100 || t->amount_off < 0)
		return TALLY_E_INVALID;
	if (t->duration < CORE_COUPON_ONCE || t->duration > CORE_COUPON_FOREVER)
		return TALLY_E_INVALID;
	if (t->duration == CORE_COUPON_REPEATING && t->duration_periods < 1)
		return TALLY_E_INVALID;
	return TALLY_OK;
}

int
core_coupon_covers(const struct core_coupon_terms *t, int64_t periods_used,
    int64_t last_period, int64_t period, int *new_period)
{
	int64_t	 limit;

	*new_period = 0;
	if (periods_used > 0 && period == last_period)
		return 1;
	/* Periods only move forward: an older one is not discounted anew. */
	if (periods_used > 0 && period < last_period)
		return 0;
	switch (t->duration) {
	case CORE_COUPON_ONCE:
		limit = 1;
		break;
	case CORE_COUPON_REPEATING:
		limit = t->duration_periods;
		break;
	default:
		*new_period = 1;
		return 1;
	}
	if (periods_used >= limit)
		return 0;
	*new_period = 1;
	return 1;
}

int
core_coupon_discount(const struct core_coupon_terms *t,
    const int64_t *amounts, const int *eligible, size_t n,
    int64_t *discount, int64_t *discountable)
{
	int64_t	 subtotal = 0, elig = 0, base;
	size_t	 i;
	int	 rc;

	*discount = 0;
	*discountable = 0;
	if (core_coupon_terms_valid(t) != TALLY_OK)
		return TALLY_E_INVALID;
	for (i = 0; i < n; i++) {
		if ((rc = core_money_add(subtotal, amounts[i], &subtotal)) !=
		    TALLY_OK)
			return rc;
		if (eligible[i] && (rc = core_money_add(elig, amounts[i],
		    &elig)) != TALLY_OK)
			return rc;
	}
	base = elig < subtotal ? elig : subtotal;
	if (base <= 0)
		return TALLY_OK;
	*discountable = base;
	if (t->percent_off > 0)
		return core_money_muldiv(base, t->percent_off, 100, discount);
	*discount = t->amount_off < base ? t->amount_off : base;
	return TALLY_OK;
}

int
core_coupon_bonus(const struct core_coupon_terms *t, int64_t credits,
    int64_t *bonus)
{
	if (core_coupon_terms_valid(t) != TALLY_OK || credits <= 0)
		return TALLY_E_INVALID;
	if (t->percent_off > 0)
		return core_money_muldiv(credits, t->percent_off, 100, bonus);
	*bonus = t->amount_off;
	return TALLY_OK;
}
