/* Unit tests for core/plan.c: proration (the one rounding rule on real
 * calendar months), activity items and plan-change deltas (one switch
 * rule for update, create and activate), resource state
 * rebuilt from an activity log, and error summaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plan.h"
#include "result.h"
#include "timeutil.h"

/* Left in *out by a call that must not write it. */
#define SENTINEL	((int64_t)0x5a5a5a5a5a5a5a5a)
#define DAY		86400LL
#define P40		1099511627776LL		/* 2^40 */

/* Where in the period an activity happens (or seconds after its start). */
#define AT_START	0
#define AT_MIDDLE	(-1)
#define AT_LAST_SECOND	(-2)
#define AT_END		(-3)

static int64_t
iso(const char *s)
{
	int64_t	 t = 0;

	assert_int_equal(core_time_parse_iso(s, &t), TALLY_OK);
	return t;
}

/* The calendar month that starts at start: its end. */
static int64_t
month_end(int64_t start)
{
	int64_t	 end = 0;

	assert_int_equal(core_time_add_months(start, 1, &end), TALLY_OK);
	return end;
}

/* Seconds left in [start, end) for an activity at `at` (an AT_ code or an
 * offset from the start). */
static int64_t
remaining(int64_t start, int64_t end, int64_t at)
{
	switch (at) {
	case AT_MIDDLE:
		return (end - start) / 2;
	case AT_LAST_SECOND:
		return 1;
	case AT_END:
		return 0;
	default:
		return end - (start + at);
	}
}

struct prorate_case {
	const char	*start;		/* first instant of a calendar month */
	int		 days;		/* its length, checked */
	int64_t		 price;
	int64_t		 at;
	int64_t		 want;
};

/*
 * The proration table: start, middle and last second of 28-, 29-, 30- and
 * 31-day months for prices 1, 499, 500 and 2^40.  Hand values:
 * round_half_up(price * left / len); 499/2 = 249.5 -> 250, 1/2 -> 1.
 */
static void
test_prorate_table(void **state)
{
	static const struct prorate_case t[] = {
		/* February 2031: 28 days (2 419 200 s). */
		{ "2031-02-01T00:00:00Z", 28, 1, AT_START, 1 },
		{ "2031-02-01T00:00:00Z", 28, 1, AT_MIDDLE, 1 },
		{ "2031-02-01T00:00:00Z", 28, 1, AT_LAST_SECOND, 0 },
		{ "2031-02-01T00:00:00Z", 28, 499, AT_START, 499 },
		{ "2031-02-01T00:00:00Z", 28, 499, AT_MIDDLE, 250 },
		{ "2031-02-01T00:00:00Z", 28, 499, AT_LAST_SECOND, 0 },
		{ "2031-02-01T00:00:00Z", 28, 500, AT_START, 500 },
		{ "2031-02-01T00:00:00Z", 28, 500, AT_MIDDLE, 250 },
		{ "2031-02-01T00:00:00Z", 28, 500, AT_LAST_SECOND, 0 },
		{ "2031-02-01T00:00:00Z", 28, P40, AT_START, P40 },
		{ "2031-02-01T00:00:00Z", 28, P40, AT_MIDDLE, P40 / 2 },
		/* 2^40 / 2419200 = 454493.89 */
		{ "2031-02-01T00:00:00Z", 28, P40, AT_LAST_SECOND, 454494 },
		/* 18 days left: 500 * 18 / 28 = 321.43 */
		{ "2031-02-01T00:00:00Z", 28, 500, 10 * DAY, 321 },
		/* February 2032 (leap year): 29 days (2 505 600 s). */
		{ "2032-02-01T00:00:00Z", 29, 1, AT_START, 1 },
		{ "2032-02-01T00:00:00Z", 29, 1, AT_MIDDLE, 1 },
		{ "2032-02-01T00:00:00Z", 29, 1, AT_LAST_SECOND, 0 },
		{ "2032-02-01T00:00:00Z", 29, 499, AT_START, 499 },
		{ "2032-02-01T00:00:00Z", 29, 499, AT_MIDDLE, 250 },
		{ "2032-02-01T00:00:00Z", 29, 499, AT_LAST_SECOND, 0 },
		{ "2032-02-01T00:00:00Z", 29, 500, AT_START, 500 },
		{ "2032-02-01T00:00:00Z", 29, 500, AT_MIDDLE, 250 },
		{ "2032-02-01T00:00:00Z", 29, 500, AT_LAST_SECOND, 0 },
		{ "2032-02-01T00:00:00Z", 29, P40, AT_START, P40 },
		{ "2032-02-01T00:00:00Z", 29, P40, AT_MIDDLE, P40 / 2 },
		/* 2^40 / 2505600 = 438821.69 */
		{ "2032-02-01T00:00:00Z", 29, P40, AT_LAST_SECOND, 438822 },
		/* 19 days left: 500 * 19 / 29 = 327.59 */
		{ "2032-02-01T00:00:00Z", 29, 500, 10 * DAY, 328 },
		/* April 2032: 30 days (2 592 000 s). */
		{ "2032-04-01T00:00:00Z", 30, 1, AT_START, 1 },
		{ "2032-04-01T00:00:00Z", 30, 1, AT_MIDDLE, 1 },
		{ "2032-04-01T00:00:00Z", 30, 1, AT_LAST_SECOND, 0 },
		{ "2032-04-01T00:00:00Z", 30, 499, AT_START, 499 },
		{ "2032-04-01T00:00:00Z", 30, 499, AT_MIDDLE, 250 },
		{ "2032-04-01T00:00:00Z", 30, 499, AT_LAST_SECOND, 0 },
		{ "2032-04-01T00:00:00Z", 30, 500, AT_START, 500 },
		{ "2032-04-01T00:00:00Z", 30, 500, AT_MIDDLE, 250 },
		{ "2032-04-01T00:00:00Z", 30, 500, AT_LAST_SECOND, 0 },
		{ "2032-04-01T00:00:00Z", 30, P40, AT_START, P40 },
		{ "2032-04-01T00:00:00Z", 30, P40, AT_MIDDLE, P40 / 2 },
		/* 2^40 / 2592000 = 424194.30 */
		{ "2032-04-01T00:00:00Z", 30, P40, AT_LAST_SECOND, 424194 },
		/* 10 days left: 500 / 3 = 166.67; 499 / 3 = 166.33 */
		{ "2032-04-01T00:00:00Z", 30, 500, 20 * DAY, 167 },
		{ "2032-04-01T00:00:00Z", 30, 499, 20 * DAY, 166 },
		/* One day left: 500 / 30 = 16.67 */
		{ "2032-04-01T00:00:00Z", 30, 500, 29 * DAY, 17 },
		/* January 2032: 31 days (2 678 400 s). */
		{ "2032-01-01T00:00:00Z", 31, 1, AT_START, 1 },
		{ "2032-01-01T00:00:00Z", 31, 1, AT_MIDDLE, 1 },
		{ "2032-01-01T00:00:00Z", 31, 1, AT_LAST_SECOND, 0 },
		{ "2032-01-01T00:00:00Z", 31, 499, AT_START, 499 },
		{ "2032-01-01T00:00:00Z", 31, 499, AT_MIDDLE, 250 },
		{ "2032-01-01T00:00:00Z", 31, 499, AT_LAST_SECOND, 0 },
		{ "2032-01-01T00:00:00Z", 31, 500, AT_START, 500 },
		{ "2032-01-01T00:00:00Z", 31, 500, AT_MIDDLE, 250 },
		{ "2032-01-01T00:00:00Z", 31, 500, AT_LAST_SECOND, 0 },
		{ "2032-01-01T00:00:00Z", 31, P40, AT_START, P40 },
		{ "2032-01-01T00:00:00Z", 31, P40, AT_MIDDLE, P40 / 2 },
		/* 2^40 / 2678400 = 410510.61 */
		{ "2032-01-01T00:00:00Z", 31, P40, AT_LAST_SECOND, 410511 },
		/* 21 days left: 500 * 21 / 31 = 338.71; one day: 16.13 */
		{ "2032-01-01T00:00:00Z", 31, 500, 10 * DAY, 339 },
		{ "2032-01-01T00:00:00Z", 31, 500, 30 * DAY, 16 },
		/* A period from a mid-month anchor: Jan 10 to Feb 10 2032
		 * (31 days), Feb 10 to Mar 10 (29 days). */
		{ "2032-01-10T00:00:00Z", 31, 500, 15 * DAY + DAY / 2, 250 },
		{ "2032-02-10T00:00:00Z", 29, 500, 14 * DAY + DAY / 2, 250 },
		/* The period's end: nothing left. */
		{ "2032-01-01T00:00:00Z", 31, 500, AT_END, 0 },
		{ "2031-02-01T00:00:00Z", 28, P40, AT_END, 0 },
	};
	int64_t	 start, end, left, v;
	size_t	 i;
	char	 msg[160];

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		start = iso(t[i].start);
		end = month_end(start);
		snprintf(msg, sizeof(msg), "case %zu: %s %d days price %lld",
		    i, t[i].start, t[i].days, (long long)t[i].price);
		if (end - start != t[i].days * DAY)
			fail_msg("%s: the month is %lld s long", msg,
			    (long long)(end - start));
		left = remaining(start, end, t[i].at);
		v = SENTINEL;
		if (core_prorate(t[i].price, left, end - start, &v) !=
		    TALLY_OK)
			fail_msg("%s: not TALLY_OK", msg);
		if (v != t[i].want)
			fail_msg("%s: got %lld, want %lld", msg, (long long)v,
			    (long long)t[i].want);
	}
}

struct prorate_raw {
	int64_t	 price, left, len, want;
	int	 rc;
};

/* Clamping, errors, and the extremes of the 128-bit intermediate. */
static void
test_prorate_limits(void **state)
{
	static const struct prorate_raw t[] = {
		/* remaining is clamped to [0, len] */
		{ 500, -1, 2592000, 0, TALLY_OK },
		{ 500, INT64_MIN, 2592000, 0, TALLY_OK },
		{ 500, 2592001, 2592000, 500, TALLY_OK },
		{ 500, INT64_MAX, 2592000, 500, TALLY_OK },
		{ 0, 1296000, 2592000, 0, TALLY_OK },
		/* half up, exactly at one half */
		{ 1, 1, 2, 1, TALLY_OK },
		{ 3, 1, 2, 2, TALLY_OK },
		{ 5, 1, 4, 1, TALLY_OK },	/* 1.25 */
		{ 7, 1, 4, 2, TALLY_OK },	/* 1.75 */
		/* no overflow where the result fits */
		{ INT64_MAX, 1, 1, INT64_MAX, TALLY_OK },
		{ INT64_MAX, 2678400, 2678400, INT64_MAX, TALLY_OK },
		{ INT64_MAX, 1339200, 2678400, INT64_MAX / 2 + 1, TALLY_OK },
		{ INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, TALLY_OK },
		/* bad input changes nothing */
		{ -1, 1, 2, 0, TALLY_E_INVALID },
		{ INT64_MIN, 1, 2, 0, TALLY_E_INVALID },
		{ 500, 1, 0, 0, TALLY_E_INVALID },
		{ 500, 1, -2592000, 0, TALLY_E_INVALID },
	};
	int64_t	 v;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = SENTINEL;
		if (core_prorate(t[i].price, t[i].left, t[i].len, &v) !=
		    t[i].rc)
			fail_msg("case %zu: rc", i);
		if (t[i].rc == TALLY_OK && v != t[i].want)
			fail_msg("case %zu: got %lld, want %lld", i,
			    (long long)v, (long long)t[i].want);
		if (t[i].rc != TALLY_OK && v != SENTINEL)
			fail_msg("case %zu: *out written on error", i);
	}
}

/* Every second of a 28-day month: monotone in the time left, within half
 * a cent of the exact share, and the start/end values exact. */
static void
test_prorate_monotone(void **state)
{
	const int64_t	 len = 28 * DAY, prices[] = { 1, 499, 500, P40 };
	int64_t		 left, v, prev;
	__int128	 exact2;
	size_t		 p;

	(void)state;
	for (p = 0; p < sizeof(prices) / sizeof(prices[0]); p++) {
		prev = -1;
		for (left = 0; left <= len; left += 37) {
			assert_int_equal(core_prorate(prices[p], left, len,
			    &v), TALLY_OK);
			assert_true(v >= prev);
			/* |2 * len * v - 2 * price * left| <= len */
			exact2 = (__int128)2 * len * v -
			    (__int128)2 * prices[p] * left;
			assert_true(exact2 <= len && exact2 >= -len);
			prev = v;
		}
	}
}

struct amount_case {
	const char	*name;
	struct core_resource_state before;
	int		 type;
	int64_t		 old_price, new_price;
	int		 same_plan;
	int64_t		 left, len;
	int64_t		 want;
	int		 has;
};

#define BASIC(active)	{ 1, (active), "relay_basic" }
#define NONE		{ 0, 0, "" }

/*
 * Items for each activity type, plan-change deltas (each side prorated,
 * then the difference: upgrade and downgrade mirror), and every "no item"
 * rule.  Hand values as in the proration table.
 */
static void
test_activity_amounts(void **state)
{
	static const struct amount_case t[] = {
		/* create / activate charge the new plan's rest */
		{ "create, full month", NONE, ACT_CREATE, 0, 500, 0,
		    31 * DAY, 31 * DAY, 500, 1 },
		{ "create, 21 of 31 days", NONE, ACT_CREATE, 0, 500, 0,
		    21 * DAY, 31 * DAY, 339, 1 },
		{ "activate a deactivated one, 11 of 31 days", BASIC(0),
		    ACT_ACTIVATE, 500, 500, 1, 11 * DAY, 31 * DAY, 177, 1 },
		{ "create at the last second: rounds to nothing", NONE,
		    ACT_CREATE, 0, 500, 0, 1, 31 * DAY, 0, 0 },
		{ "create on a free plan", NONE, ACT_CREATE, 0, 0, 0,
		    10 * DAY, 30 * DAY, 0, 0 },
		{ "create what runs already", BASIC(1), ACT_CREATE, 500, 500,
		    1, 10 * DAY, 30 * DAY, 0, 0 },
		{ "activate what runs already", BASIC(1), ACT_ACTIVATE, 500,
		    500, 1, 10 * DAY, 30 * DAY, 0, 0 },
		/* create / activate of a running one with another plan: a
		 * plan switch, billed as update is */
		{ "create a running one on another plan, 500 -> 1200",
		    BASIC(1), ACT_CREATE, 500, 1200, 0, 10 * DAY, 30 * DAY,
		    233, 1 },
		{ "activate a running one on another plan, 500 -> 1200",
		    BASIC(1), ACT_ACTIVATE, 500, 1200, 0, 10 * DAY, 30 * DAY,
		    233, 1 },
		{ "create a running one on another plan, 1200 -> 500",
		    { 1, 1, "relay_pro" }, ACT_CREATE, 1200, 500, 0, 10 * DAY,
		    30 * DAY, -233, 1 },
		{ "activate a running one on another plan, 1200 -> 500",
		    { 1, 1, "relay_pro" }, ACT_ACTIVATE, 1200, 500, 0,
		    10 * DAY, 30 * DAY, -233, 1 },
		{ "activate a running one onto a free plan", BASIC(1),
		    ACT_ACTIVATE, 500, 0, 0, 10 * DAY, 30 * DAY, -167, 1 },
		{ "create a running one on another plan of the same price",
		    BASIC(1), ACT_CREATE, 500, 500, 0, 10 * DAY, 30 * DAY, 0,
		    0 },
		/* activate of a deactivated one with another plan: the new
		 * plan's rest (the deactivate credited the old one's) */
		{ "activate a deactivated one on another plan, 10 of 30 days",
		    BASIC(0), ACT_ACTIVATE, 500, 1200, 0, 10 * DAY, 30 * DAY,
		    400, 1 },
		{ "create a deactivated one on another plan, 10 of 30 days",
		    BASIC(0), ACT_CREATE, 500, 1200, 0, 10 * DAY, 30 * DAY,
		    400, 1 },
		/* deactivate credits the current plan's rest */
		{ "deactivate, 15.5 of 31 days", BASIC(1), ACT_DEACTIVATE,
		    500, 0, 0, 31 * DAY / 2, 31 * DAY, -250, 1 },
		{ "deactivate, 10 of 30 days", BASIC(1), ACT_DEACTIVATE, 500,
		    500, 1, 10 * DAY, 30 * DAY, -167, 1 },
		{ "deactivate at the start: the whole month back", BASIC(1),
		    ACT_DEACTIVATE, 500, 500, 1, 29 * DAY, 29 * DAY, -500, 1 },
		{ "deactivate at the last second", BASIC(1), ACT_DEACTIVATE,
		    500, 500, 1, 1, 29 * DAY, 0, 0 },
		{ "deactivate an inactive one", BASIC(0), ACT_DEACTIVATE, 500,
		    500, 1, 10 * DAY, 30 * DAY, 0, 0 },
		{ "deactivate one never created", NONE, ACT_DEACTIVATE, 0, 0,
		    0, 10 * DAY, 30 * DAY, 0, 0 },
		{ "deactivate a free one", { 1, 1, "free" }, ACT_DEACTIVATE,
		    0, 0, 1, 10 * DAY, 30 * DAY, 0, 0 },
		/* update: the difference, each side rounded on its own */
		{ "upgrade 500 -> 1200, 10 of 30 days", BASIC(1), ACT_UPDATE,
		    500, 1200, 0, 10 * DAY, 30 * DAY, 233, 1 },
		{ "downgrade 1200 -> 500, 10 of 30 days", { 1, 1, "relay_pro" },
		    ACT_UPDATE, 1200, 500, 0, 10 * DAY, 30 * DAY, -233, 1 },
		{ "upgrade 500 -> 1200, 15.5 of 31 days", BASIC(1),
		    ACT_UPDATE, 500, 1200, 0, 31 * DAY / 2, 31 * DAY, 350, 1 },
		{ "upgrade 500 -> 1200, 1 of 29 days (41 - 17)", BASIC(1),
		    ACT_UPDATE, 500, 1200, 0, DAY, 29 * DAY, 24, 1 },
		{ "upgrade at the period start: the full difference",
		    BASIC(1), ACT_UPDATE, 500, 1200, 0, 30 * DAY, 30 * DAY,
		    700, 1 },
		{ "upgrade at the period end: nothing", BASIC(1), ACT_UPDATE,
		    500, 1200, 0, 0, 30 * DAY, 0, 0 },
		{ "499 -> 500 at mid-month: both round to 250", { 1, 1, "a" },
		    ACT_UPDATE, 499, 500, 0, 14 * DAY, 28 * DAY, 0, 0 },
		{ "free -> 500, 10 of 30 days", { 1, 1, "free" }, ACT_UPDATE,
		    0, 500, 0, 10 * DAY, 30 * DAY, 167, 1 },
		{ "500 -> free, 10 of 30 days", BASIC(1), ACT_UPDATE, 500, 0,
		    0, 10 * DAY, 30 * DAY, -167, 1 },
		{ "500 -> 2^40, 7 of 31 days", BASIC(1), ACT_UPDATE, 500, P40,
		    0, 7 * DAY, 31 * DAY, 248276819062LL, 1 },
		{ "update to the same plan", BASIC(1), ACT_UPDATE, 500, 500,
		    1, 10 * DAY, 30 * DAY, 0, 0 },
		{ "update to another plan of the same price", BASIC(1),
		    ACT_UPDATE, 500, 500, 0, 10 * DAY, 30 * DAY, 0, 0 },
		{ "update an inactive one", BASIC(0), ACT_UPDATE, 500, 1200,
		    0, 10 * DAY, 30 * DAY, 0, 0 },
	};
	int64_t	 amount;
	size_t	 i;
	int	 has;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		amount = SENTINEL;
		has = -1;
		if (core_activity_amount(&t[i].before, t[i].type,
		    t[i].old_price, t[i].new_price, t[i].same_plan, t[i].left,
		    t[i].len, &amount, &has) != TALLY_OK)
			fail_msg("%s: not TALLY_OK", t[i].name);
		if (amount != t[i].want || has != t[i].has)
			fail_msg("%s: got %lld (item %d), want %lld (item %d)",
			    t[i].name, (long long)amount, has,
			    (long long)t[i].want, t[i].has);
	}
}

/* An upgrade and the matching downgrade mirror exactly, at any time. */
static void
test_update_mirrors(void **state)
{
	static const int64_t pairs[][2] = {
		{ 500, 1200 }, { 1, 2 }, { 499, 500 }, { 0, 500 },
		{ 500, P40 }, { 333, 777 },
	};
	struct core_resource_state on = { 1, 1, "x" };
	const int64_t	 len = 31 * DAY;
	int64_t		 up, down, left;
	size_t		 i;
	int		 h1, h2;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		for (left = 0; left <= len; left += 3607) {
			assert_int_equal(core_activity_amount(&on, ACT_UPDATE,
			    pairs[i][0], pairs[i][1], 0, left, len, &up, &h1),
			    TALLY_OK);
			assert_int_equal(core_activity_amount(&on, ACT_UPDATE,
			    pairs[i][1], pairs[i][0], 0, left, len, &down,
			    &h2), TALLY_OK);
			assert_true(up == -down);
			assert_int_equal(h1, h2);
			assert_int_equal(h1, up != 0);
			assert_true(up >= 0);
		}
}

struct switch_case {
	const char	*name;
	int64_t		 old_price, new_price, left, len;
	int64_t		 want;
	int		 rc;
};

/*
 * core_prorate_switch: the new plan's share minus the old plan's, each
 * rounded half up on its own.  Hand values: round_half_up(price * left /
 * len) per side.
 */
static void
test_prorate_switch(void **state)
{
	static const struct switch_case t[] = {
		{ "500 -> 1200, 10 of 30 days (400 - 167)", 500, 1200,
		    10 * DAY, 30 * DAY, 233, TALLY_OK },
		{ "1200 -> 500, 10 of 30 days", 1200, 500, 10 * DAY, 30 * DAY,
		    -233, TALLY_OK },
		{ "500 -> 1200, 20.75 of 31 days (803 - 335)", 500, 1200,
		    20 * DAY + 18 * 3600, 31 * DAY, 468, TALLY_OK },
		{ "1200 -> 500, 12 of 31 days (194 - 465)", 1200, 500,
		    12 * DAY, 31 * DAY, -271, TALLY_OK },
		{ "500 -> 1200, 1 of 29 days (41 - 17)", 500, 1200, DAY,
		    29 * DAY, 24, TALLY_OK },
		{ "at the period start: the full difference", 500, 1200,
		    30 * DAY, 30 * DAY, 700, TALLY_OK },
		{ "more than the period left: clamped", 500, 1200, 31 * DAY,
		    30 * DAY, 700, TALLY_OK },
		{ "at the period end: nothing", 500, 1200, 0, 30 * DAY, 0,
		    TALLY_OK },
		{ "negative time left: nothing", 500, 1200, -DAY, 30 * DAY, 0,
		    TALLY_OK },
		{ "the same price: nothing", 500, 500, 10 * DAY, 30 * DAY, 0,
		    TALLY_OK },
		{ "499 -> 500 at mid-month: both round to 250", 499, 500,
		    14 * DAY, 28 * DAY, 0, TALLY_OK },
		{ "1 -> 2 at one half: both round to 1", 1, 2, 1, 2, 0,
		    TALLY_OK },
		{ "free -> 500, 10 of 30 days", 0, 500, 10 * DAY, 30 * DAY,
		    167, TALLY_OK },
		{ "500 -> free, 10 of 30 days", 500, 0, 10 * DAY, 30 * DAY,
		    -167, TALLY_OK },
		{ "0 -> 2^40, 7 of 31 days", 0, P40, 7 * DAY, 31 * DAY,
		    248276819175LL, TALLY_OK },
		{ "INT64_MAX -> 0, the whole period", INT64_MAX, 0, 31 * DAY,
		    31 * DAY, -INT64_MAX, TALLY_OK },
		{ "0 -> INT64_MAX, the whole period", 0, INT64_MAX, 31 * DAY,
		    31 * DAY, INT64_MAX, TALLY_OK },
		{ "INT64_MAX -> INT64_MAX", INT64_MAX, INT64_MAX, DAY,
		    31 * DAY, 0, TALLY_OK },
		{ "negative old price", -500, 1200, DAY, 30 * DAY, 0,
		    TALLY_E_INVALID },
		{ "negative new price", 500, -1, DAY, 30 * DAY, 0,
		    TALLY_E_INVALID },
		{ "empty period", 500, 1200, 0, 0, 0, TALLY_E_INVALID },
		{ "negative period", 500, 1200, DAY, -30 * DAY, 0,
		    TALLY_E_INVALID },
	};
	int64_t	 v;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = SENTINEL;
		if (core_prorate_switch(t[i].old_price, t[i].new_price,
		    t[i].left, t[i].len, &v) != t[i].rc)
			fail_msg("%s: rc", t[i].name);
		if (t[i].rc == TALLY_OK && v != t[i].want)
			fail_msg("%s: got %lld, want %lld", t[i].name,
			    (long long)v, (long long)t[i].want);
		if (t[i].rc != TALLY_OK && v != SENTINEL)
			fail_msg("%s: *out written on error", t[i].name);
	}
}

/*
 * On a running resource, create, activate and update with another plan
 * are one and the same switch (core_prorate_switch), at any time; with
 * the same plan none of them bills anything.  On a stopped one only
 * create and activate bill (the new plan's rest).
 */
static void
test_switch_every_type(void **state)
{
	static const int64_t pairs[][2] = {
		{ 500, 1200 }, { 1200, 500 }, { 1, 2 }, { 499, 500 },
		{ 0, 500 }, { 500, 0 }, { 500, P40 }, { 333, 777 },
	};
	static const int types[] = { ACT_CREATE, ACT_ACTIVATE, ACT_UPDATE };
	struct core_resource_state on = { 1, 1, "x" }, off = { 1, 0, "x" };
	const int64_t	 len = 29 * DAY;
	int64_t		 want, got, rest, left;
	size_t		 i, k;
	int		 has;

	(void)state;
	for (k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		assert_int_equal(core_activity_is_switch(&on, types[k]), 1);
	assert_int_equal(core_activity_is_switch(&on, ACT_DEACTIVATE), 0);
	assert_int_equal(core_activity_is_switch(&on, ACT__MAX), 0);
	assert_int_equal(core_activity_is_switch(&on, -1), 0);
	for (k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		assert_int_equal(core_activity_is_switch(&off, types[k]), 0);
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		for (left = 0; left <= len; left += 7919) {
			assert_int_equal(core_prorate_switch(pairs[i][0],
			    pairs[i][1], left, len, &want), TALLY_OK);
			assert_int_equal(core_prorate(pairs[i][1], left, len,
			    &rest), TALLY_OK);
			for (k = 0; k < sizeof(types) / sizeof(types[0]);
			    k++) {
				assert_int_equal(core_activity_amount(&on,
				    types[k], pairs[i][0], pairs[i][1], 0,
				    left, len, &got, &has), TALLY_OK);
				assert_true(got == want);
				assert_int_equal(has, want != 0);
				/* The same plan again: nothing. */
				assert_int_equal(core_activity_amount(&on,
				    types[k], pairs[i][0], pairs[i][0], 1,
				    left, len, &got, &has), TALLY_OK);
				assert_true(got == 0);
				assert_int_equal(has, 0);
				/* Stopped: create and activate charge the
				 * new plan's rest, update nothing. */
				assert_int_equal(core_activity_amount(&off,
				    types[k], pairs[i][0], pairs[i][1], 0,
				    left, len, &got, &has), TALLY_OK);
				if (types[k] == ACT_UPDATE)
					assert_true(got == 0);
				else
					assert_true(got == rest);
				assert_int_equal(has, got != 0);
			}
		}
}

static void
test_activity_errors(void **state)
{
	struct core_resource_state st = BASIC(1);
	int64_t	 amount = SENTINEL;
	int	 has = -1;

	(void)state;
	assert_int_equal(core_activity_amount(&st, ACT__MAX, 500, 500, 1,
	    DAY, 30 * DAY, &amount, &has), TALLY_E_INVALID);
	assert_int_equal(has, 0);
	assert_int_equal(core_activity_amount(&st, -1, 500, 500, 1, DAY,
	    30 * DAY, &amount, &has), TALLY_E_INVALID);
	assert_int_equal(has, 0);
	/* A bad period length is an error, not an item. */
	st.active = 0;
	assert_int_equal(core_activity_amount(&st, ACT_CREATE, 0, 500, 0,
	    DAY, 0, &amount, &has), TALLY_E_INVALID);
	assert_int_equal(has, 0);
	st.active = 1;
	assert_int_equal(core_activity_amount(&st, ACT_DEACTIVATE, 500, 0, 0,
	    DAY, -1, &amount, &has), TALLY_E_INVALID);
	assert_int_equal(has, 0);
	/* Negative prices are refused. */
	assert_int_equal(core_activity_amount(&st, ACT_UPDATE, -500, 1200, 0,
	    DAY, 30 * DAY, &amount, &has), TALLY_E_INVALID);
	assert_int_equal(has, 0);
}

static void
test_activity_parse(void **state)
{
	static const struct {
		const char	*s;
		int		 want;
	} t[] = {
		{ "create", ACT_CREATE }, { "update", ACT_UPDATE },
		{ "activate", ACT_ACTIVATE }, { "deactivate", ACT_DEACTIVATE },
		{ "", -1 }, { "Create", -1 }, { "CREATE", -1 },
		{ "create ", -1 }, { " create", -1 }, { "delete", -1 },
		{ "activated", -1 }, { "deactivat", -1 }, { "creat", -1 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (core_activity_parse(t[i].s) != t[i].want)
			fail_msg("\"%s\": got %d, want %d", t[i].s,
			    core_activity_parse(t[i].s), t[i].want);
}

struct step {
	int		 type;
	const char	*plan;
};

struct state_case {
	const char	*name;
	struct step	 log[8];
	size_t		 n;
	struct core_resource_state want;
};

/* A resource's state as its activity log leaves it. */
static void
test_state_from_log(void **state)
{
	static const struct state_case t[] = {
		{ "empty log", { { 0, NULL } }, 0, { 0, 0, "" } },
		{ "create", { { ACT_CREATE, "relay_basic" } }, 1,
		    { 1, 1, "relay_basic" } },
		{ "create, deactivate: the plan stays",
		    { { ACT_CREATE, "relay_basic" }, { ACT_DEACTIVATE, NULL } },
		    2, { 1, 0, "relay_basic" } },
		{ "deactivate with a plan does not change it",
		    { { ACT_CREATE, "relay_basic" },
		    { ACT_DEACTIVATE, "relay_pro" } }, 2,
		    { 1, 0, "relay_basic" } },
		{ "create, deactivate, activate: the old plan again",
		    { { ACT_CREATE, "relay_basic" }, { ACT_DEACTIVATE, NULL },
		    { ACT_ACTIVATE, NULL } }, 3, { 1, 1, "relay_basic" } },
		{ "activate with a plan takes it",
		    { { ACT_CREATE, "relay_basic" }, { ACT_DEACTIVATE, NULL },
		    { ACT_ACTIVATE, "relay_pro" } }, 3,
		    { 1, 1, "relay_pro" } },
		{ "update changes the plan, keeps it active",
		    { { ACT_CREATE, "relay_basic" },
		    { ACT_UPDATE, "relay_pro" } }, 2, { 1, 1, "relay_pro" } },
		{ "update while inactive: plan changes, still inactive",
		    { { ACT_CREATE, "relay_basic" }, { ACT_DEACTIVATE, NULL },
		    { ACT_UPDATE, "relay_pro" } }, 3, { 1, 0, "relay_pro" } },
		{ "update, then activate: the updated plan",
		    { { ACT_CREATE, "relay_basic" }, { ACT_DEACTIVATE, NULL },
		    { ACT_UPDATE, "relay_pro" }, { ACT_ACTIVATE, NULL } }, 4,
		    { 1, 1, "relay_pro" } },
		{ "update with an empty plan keeps the plan",
		    { { ACT_CREATE, "relay_basic" }, { ACT_UPDATE, "" } }, 2,
		    { 1, 1, "relay_basic" } },
		{ "a plan id of 64 bytes or more is not taken",
		    { { ACT_CREATE, "relay_basic" }, { ACT_UPDATE,
		    "pppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
		    "pppppppp" } }, 2, { 1, 1, "relay_basic" } },
		{ "a plan id of 63 bytes is",
		    { { ACT_CREATE, "relay_basic" }, { ACT_UPDATE,
		    "ppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
		    "pppppppp" } }, 2, { 1, 1,
		    "ppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
		    "pppppppp" } },
		{ "deactivate before any create",
		    { { ACT_DEACTIVATE, NULL } }, 1, { 0, 0, "" } },
		{ "an unknown type changes nothing",
		    { { ACT_CREATE, "relay_basic" }, { ACT__MAX, "relay_pro" },
		    { 99, "x" } }, 3, { 1, 1, "relay_basic" } },
		{ "deactivated twice, activated once",
		    { { ACT_CREATE, "relay_basic" }, { ACT_DEACTIVATE, NULL },
		    { ACT_DEACTIVATE, NULL }, { ACT_ACTIVATE, NULL } }, 4,
		    { 1, 1, "relay_basic" } },
	};
	struct core_resource_state st;
	size_t	 i, j;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&st, 0, sizeof(st));
		for (j = 0; j < t[i].n; j++)
			core_resource_apply(&st, t[i].log[j].type,
			    t[i].log[j].plan);
		if (st.exists != t[i].want.exists ||
		    st.active != t[i].want.active ||
		    strcmp(st.plan, t[i].want.plan) != 0)
			fail_msg("%s: got {%d, %d, \"%s\"}", t[i].name,
			    st.exists, st.active, st.plan);
	}
}

/* The monthly price of a plan id in the log tests (0: free or none). */
static int64_t
price_of(const char *plan)
{
	if (plan == NULL || *plan == '\0' || strcmp(plan, "free") == 0)
		return 0;
	if (strcmp(plan, "relay_basic") == 0)
		return 500;
	if (strcmp(plan, "relay_pro") == 0)
		return 1200;
	fail_msg("unknown plan %s", plan);
	return -1;
}

struct act {
	const char	*at;
	const char	*resource;
	int		 type;
	const char	*plan;
	int64_t		 want;		/* the item; 0: none */
};

/*
 * A month of activities as op_activity_record_tx bills them: each one's
 * "before" state rebuilt from the earlier entries of its resource, its
 * item from core_activity_amount, and at the boundary the state of every
 * resource (what the renewal bills).  Period: 2032-01-10 to 2032-02-10
 * (31 days).
 */
static void
test_month_from_log(void **state)
{
	static const struct act log[] = {
		{ "2032-01-10T00:00:00Z", "r1", ACT_CREATE, "relay_basic", 500 },
		{ "2032-01-12T00:00:00Z", "r3", ACT_CREATE, "free", 0 },
		/* 21 of 31 days: 338.71 */
		{ "2032-01-20T00:00:00Z", "r2", ACT_CREATE, "relay_basic", 339 },
		/* 15.5 of 31 days */
		{ "2032-01-25T12:00:00Z", "r1", ACT_DEACTIVATE, NULL, -250 },
		{ "2032-01-25T12:00:00Z", "r2", ACT_UPDATE, "relay_pro", 350 },
		{ "2032-01-25T12:00:00Z", "r3", ACT_UPDATE, "relay_basic", 250 },
		{ "2032-01-26T00:00:00Z", "r2", ACT_UPDATE, "relay_pro", 0 },
		{ "2032-01-27T00:00:00Z", "r4", ACT_DEACTIVATE, NULL, 0 },
		/* 11 of 31 days: 177.42 */
		{ "2032-01-30T00:00:00Z", "r1", ACT_ACTIVATE, NULL, 177 },
		{ "2032-01-31T00:00:00Z", "r1", ACT_ACTIVATE, NULL, 0 },
		{ "2032-02-09T23:59:59Z", "r5", ACT_CREATE, "relay_pro", 0 },
		{ "2032-02-09T23:59:59Z", "r3", ACT_DEACTIVATE, NULL, 0 },
	};
	const size_t	 n = sizeof(log) / sizeof(log[0]);
	struct core_resource_state before, st;
	const char	*newplan, *res[] = { "r1", "r2", "r3", "r4", "r5" };
	int64_t		 start, end, at, amount, total = 0, renewal = 0;
	size_t		 i, j;
	int		 has;

	(void)state;
	start = iso("2032-01-10T00:00:00Z");
	end = month_end(start);
	assert_true(end == iso("2032-02-10T00:00:00Z"));
	for (i = 0; i < n; i++) {
		memset(&before, 0, sizeof(before));
		for (j = 0; j < i; j++)
			if (strcmp(log[j].resource, log[i].resource) == 0)
				core_resource_apply(&before, log[j].type,
				    log[j].plan);
		newplan = log[i].plan != NULL && *log[i].plan != '\0' ?
		    log[i].plan : before.plan;
		at = iso(log[i].at);
		assert_int_equal(core_activity_amount(&before, log[i].type,
		    price_of(before.plan), price_of(newplan),
		    strcmp(before.plan, newplan) == 0, end - at, end - start,
		    &amount, &has), TALLY_OK);
		if (amount != log[i].want || has != (log[i].want != 0))
			fail_msg("entry %zu (%s %s): got %lld, want %lld", i,
			    log[i].at, log[i].resource, (long long)amount,
			    (long long)log[i].want);
		total += amount;
	}
	/* 500 + 339 - 250 + 350 + 250 + 177 */
	assert_true(total == 1366);
	/* At the boundary: r1 basic, r2 pro, r5 pro active; r3 deactivated
	 * (on basic), r4 never existed. */
	for (j = 0; j < sizeof(res) / sizeof(res[0]); j++) {
		memset(&st, 0, sizeof(st));
		for (i = 0; i < n; i++)
			if (strcmp(log[i].resource, res[j]) == 0)
				core_resource_apply(&st, log[i].type,
				    log[i].plan);
		if (st.active)
			renewal += price_of(st.plan);
		if (strcmp(res[j], "r3") == 0) {
			assert_int_equal(st.active, 0);
			assert_string_equal(st.plan, "relay_basic");
		}
		if (strcmp(res[j], "r4") == 0)
			assert_int_equal(st.exists, 0);
	}
	assert_true(renewal == 500 + 1200 + 1200);
}

/* ------------------------------------------------------------ summaries */

struct sum_case {
	const char	*name;
	const char	*in;
	size_t		 max;
	const char	*want;
};

static char *
rep(const char *unit, size_t times)
{
	size_t	 u = strlen(unit), i;
	char	*s;

	s = malloc(u * times + 1);
	assert_non_null(s);
	for (i = 0; i < times; i++)
		memcpy(s + i * u, unit, u);
	s[u * times] = '\0';
	return s;
}

static char *
cat3(const char *a, const char *b, const char *c)
{
	size_t	 la = strlen(a), lb = strlen(b), lc = strlen(c);
	char	*s = malloc(la + lb + lc + 1);

	assert_non_null(s);
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

/* Whether s is well-formed UTF-8 (no sequence cut short). */
static int
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int	 n, i;

	while (*p != '\0') {
		if (*p < 0x80)
			n = 0;
		else if ((*p & 0xE0) == 0xC0)
			n = 1;
		else if ((*p & 0xF0) == 0xE0)
			n = 2;
		else if ((*p & 0xF8) == 0xF0)
			n = 3;
		else
			return 0;
		p++;
		for (i = 0; i < n; i++, p++)
			if ((*p & 0xC0) != 0x80)
				return 0;
	}
	return 1;
}

static void
check_sum(const char *name, const char *in, size_t max, const char *want)
{
	char	 out[512];

	assert_true(max < sizeof(out));
	memset(out, 'Z', sizeof(out));
	core_summarize(in, max, out);
	/* Nothing written past the max + 1 bytes it may use. */
	assert_true(out[max + 1] == 'Z');
	if (strcmp(out, want) != 0)
		fail_msg("%s: got \"%s\" (%zu bytes), want \"%s\" (%zu bytes)",
		    name, out, strlen(out), want, strlen(want));
	assert_true(strlen(out) <= max);
	assert_true(utf8_ok(out));
}

static void
test_summarize_table(void **state)
{
	static const struct sum_case t[] = {
		{ "empty", "", 240, "" },
		{ "only whitespace", " \t\r\n  \n", 240, "" },
		{ "collapse and trim",
		    "  card_declined:   Your card\twas\n\ndeclined.  \r\n", 240,
		    "card_declined: Your card was declined." },
		{ "every whitespace inside collapses", "a\r\nb\fc\vd\t \te",
		    240, "a b c d e" },
		{ "short enough: unchanged", "hello world", 11,
		    "hello world" },
		{ "one byte over: cut with ...", "hello world", 10,
		    "hello w..." },
		{ "no space before the ...", "hello world", 8, "hello..." },
		{ "max 3: only ...", "hello world", 3, "..." },
		{ "UTF-8 kept whole", "Gr\xc3\xbc\xc3\x9f" "e", 240,
		    "Gr\xc3\xbc\xc3\x9f" "e" },
		/* "Grüße aus Köln": ü cut after its first byte at 4 -> 2 */
		{ "UTF-8 not split before ...",
		    "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln", 6, "Gr..." },
		{ "UTF-8 2-byte ends right at the cut",
		    "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln", 7,
		    "Gr\xc3\xbc..." },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		check_sum(t[i].name, t[i].in, t[i].max, t[i].want);
}

/* The 240-byte reason of the payment cascade. */
static void
test_summarize_240(void **state)
{
	char	*in, *want, *a236, *a237, *a240, *x;

	(void)state;
	a236 = rep("a", 236);
	a237 = rep("a", 237);
	a240 = rep("a", 240);

	/* exactly 240: kept whole, no "..." */
	check_sum("240 bytes", a240, 240, a240);
	/* 241: 237 + "..." = 240 */
	in = cat3(a240, "b", "");
	want = cat3(a237, "...", "");
	check_sum("241 bytes", in, 240, want);
	free(in);
	free(want);
	/* 240 after collapsing, much longer before: kept whole */
	in = cat3("   ", a236, "  \t\n  \r\n  b \n\t c  \n");
	want = cat3(a236, " b c", "");
	check_sum("240 once collapsed", in, 240, want);
	free(in);
	free(want);
	/* a space right before the cut is not left before the "..." */
	in = cat3(a236, " ", "bbbbbbbbbb");
	want = cat3(a236, "...", "");
	check_sum("space at the cut", in, 240, want);
	free(in);
	free(want);
	/* 2-byte é x 200 = 400 bytes: 118 whole (236 bytes) + "..." */
	in = rep("\xc3\xa9", 200);
	x = rep("\xc3\xa9", 118);
	want = cat3(x, "...", "");
	check_sum("2-byte sequences", in, 240, want);
	free(in);
	free(x);
	free(want);
	/* "x" + 3-byte € x 100: 237 is inside a €; 78 whole + "..." */
	x = rep("\xe2\x82\xac", 100);
	in = cat3("x", x, "");
	free(x);
	x = rep("\xe2\x82\xac", 78);
	want = cat3("x", x, "...");
	check_sum("3-byte sequences", in, 240, want);
	free(in);
	free(x);
	free(want);
	/* 4-byte emoji x 80 = 320 bytes: 59 whole (236 bytes) + "..." */
	in = rep("\xf0\x9f\x98\x80", 80);
	x = rep("\xf0\x9f\x98\x80", 59);
	want = cat3(x, "...", "");
	check_sum("4-byte sequences", in, 240, want);
	free(in);
	free(x);
	free(want);
	/* A long provider message as the cascade builds it. */
	x = rep("Your card was declined.   \n", 20);
	in = cat3("The card payment failed: card_declined: ", x, "");
	free(x);
	{
		char	 out[241];

		core_summarize(in, 240, out);
		assert_true(strlen(out) <= 240);
		assert_true(strlen(out) >= 234);
		assert_non_null(strstr(out, "card_declined: Your card was "
		    "declined. Your card"));
		assert_null(strstr(out, "  "));
		assert_null(strchr(out, '\n'));
		assert_string_equal(out + strlen(out) - 3, "...");
	}
	free(in);
	free(a236);
	free(a237);
	free(a240);
}

/* The header says "trimmed": every whitespace character the collapse
 * knows (\f and \v included) must also be trimmed at the start. */
static void
test_summarize_trims_all_whitespace(void **state)
{
	(void)state;
	check_sum("leading \\f\\v", "\f\vlead", 240, "lead");
	check_sum("leading \\v then text", "\v reason", 240, "reason");
	check_sum("trailing \\f\\v", "tail\f\v", 240, "tail");
}

/* What the summary must be: whitespace runs as one space, trimmed. */
static char *
collapsed(const char *in)
{
	char	*out = malloc(strlen(in) + 1);
	size_t	 o = 0;
	int	 space = 0;

	assert_non_null(out);
	for (; *in != '\0'; in++) {
		if (strchr(" \t\r\n\f\v", *in) != NULL) {
			space = o > 0;
			continue;
		}
		if (space)
			out[o++] = ' ';
		space = 0;
		out[o++] = *in;
	}
	out[o] = '\0';
	return out;
}

/* Random mixes of text, whitespace and multi-byte characters. */
static void
test_summarize_properties(void **state)
{
	static const char *const parts[] = {
		"a", "bc", "declined", " ", "  ", "\t", "\n", "\r\n", " \t ",
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", ".", ":",
	};
	static const size_t maxes[] = { 3, 4, 5, 10, 17, 64, 239, 240, 241 };
	char		 in[2048], *want, out[256];
	size_t		 len, i, m, wl, ol, k;
	unsigned int	 seed = 12345;

	(void)state;
	for (i = 0; i < 3000; i++) {
		len = 0;
		k = (size_t)(rand_r(&seed) % 200);
		in[0] = '\0';
		while (k-- > 0) {
			const char *p = parts[rand_r(&seed) %
			    (sizeof(parts) / sizeof(parts[0]))];

			if (len + strlen(p) + 1 > sizeof(in))
				break;
			memcpy(in + len, p, strlen(p) + 1);
			len += strlen(p);
		}
		want = collapsed(in);
		wl = strlen(want);
		for (m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
			memset(out, 'Z', sizeof(out));
			core_summarize(in, maxes[m], out);
			ol = strlen(out);
			assert_true(ol <= maxes[m]);
			assert_true(utf8_ok(out));
			assert_null(strstr(out, "  "));
			if (ol > 0) {
				assert_true(out[0] != ' ');
				assert_true(out[ol - 1] != ' ');
			}
			if (wl <= maxes[m]) {
				assert_string_equal(out, want);
				continue;
			}
			/* cut: a prefix of the collapsed text, then "..." */
			assert_true(ol >= 3);
			assert_string_equal(out + ol - 3, "...");
			assert_memory_equal(out, want, ol - 3);
			/* losing at most a partial character and a space */
			assert_true(ol + 4 >= maxes[m]);
		}
		free(want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prorate_table),
		cmocka_unit_test(test_prorate_limits),
		cmocka_unit_test(test_prorate_monotone),
		cmocka_unit_test(test_activity_amounts),
		cmocka_unit_test(test_update_mirrors),
		cmocka_unit_test(test_prorate_switch),
		cmocka_unit_test(test_switch_every_type),
		cmocka_unit_test(test_activity_errors),
		cmocka_unit_test(test_activity_parse),
		cmocka_unit_test(test_state_from_log),
		cmocka_unit_test(test_month_from_log),
		cmocka_unit_test(test_summarize_table),
		cmocka_unit_test(test_summarize_240),
		cmocka_unit_test(test_summarize_trims_all_whitespace),
		cmocka_unit_test(test_summarize_properties),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
