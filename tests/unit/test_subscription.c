/* Unit tests: billing periods and subscription state transitions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "result.h"
#include "subscription.h"
#include "timeutil.h"

static int64_t
at(const char *iso)
{
	int64_t	 t = 0;

	assert_int_equal(core_time_parse_iso(iso, &t), TALLY_OK);
	return t;
}

static void
assert_time(int64_t t, const char *want)
{
	char	 buf[32];

	core_time_format_iso(t, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

struct period_case {
	const char	*anchor;
	int64_t		 months;
	int		 iv;
	const char	*start, *end;
};

static const struct period_case periods[] = {
	/* Month ends are clamped per period, never carried forward. */
	{ "2026-01-31T10:00:00Z", 0, CORE_INTERVAL_MONTHLY,
	  "2026-01-31T10:00:00Z", "2026-02-28T10:00:00Z" },
	{ "2026-01-31T10:00:00Z", 1, CORE_INTERVAL_MONTHLY,
	  "2026-02-28T10:00:00Z", "2026-03-31T10:00:00Z" },
	{ "2026-01-31T10:00:00Z", 2, CORE_INTERVAL_MONTHLY,
	  "2026-03-31T10:00:00Z", "2026-04-30T10:00:00Z" },
	/* Leap years. */
	{ "2028-01-31T00:00:00Z", 0, CORE_INTERVAL_MONTHLY,
	  "2028-01-31T00:00:00Z", "2028-02-29T00:00:00Z" },
	{ "2028-02-29T12:00:00Z", 0, CORE_INTERVAL_YEARLY,
	  "2028-02-29T12:00:00Z", "2029-02-28T12:00:00Z" },
	{ "2028-02-29T12:00:00Z", 48, CORE_INTERVAL_YEARLY,
	  "2032-02-29T12:00:00Z", "2033-02-28T12:00:00Z" },
	{ "2100-01-31T00:00:00Z", 0, CORE_INTERVAL_MONTHLY,
	  "2100-01-31T00:00:00Z", "2100-02-28T00:00:00Z" },
	/* Quarterly across a year end, from a 31st. */
	{ "2026-10-31T23:59:59Z", 0, CORE_INTERVAL_QUARTERLY,
	  "2026-10-31T23:59:59Z", "2027-01-31T23:59:59Z" },
	{ "2026-11-30T08:00:00Z", 0, CORE_INTERVAL_QUARTERLY,
	  "2026-11-30T08:00:00Z", "2027-02-28T08:00:00Z" },
	{ "2026-11-30T08:00:00Z", 3, CORE_INTERVAL_QUARTERLY,
	  "2027-02-28T08:00:00Z", "2027-05-30T08:00:00Z" },
	/* An ordinary date. */
	{ "2026-11-21T04:00:00Z", 0, CORE_INTERVAL_MONTHLY,
	  "2026-11-21T04:00:00Z", "2026-12-21T04:00:00Z" },
};

static void
test_period_table(void **state)
{
	int64_t	 s, e;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
		assert_int_equal(core_period_bounds(at(periods[i].anchor),
		    periods[i].months, periods[i].iv, &s, &e), TALLY_OK);
		assert_time(s, periods[i].start);
		assert_time(e, periods[i].end);
	}
}

/* Twelve monthly steps from Jan 31 of a leap year hit every month end. */
static void
test_period_twelve_months(void **state)
{
	static const char *const ends[12] = {
		"2028-02-29", "2028-03-31", "2028-04-30", "2028-05-31",
		"2028-06-30", "2028-07-31", "2028-08-31", "2028-09-30",
		"2028-10-31", "2028-11-30", "2028-12-31", "2029-01-31",
	};
	int64_t	 anchor = at("2028-01-31T06:30:00Z"), s, e, prev_end;
	char	 buf[32];
	int	 m;

	(void)state;
	prev_end = anchor;
	for (m = 0; m < 12; m++) {
		assert_int_equal(core_period_bounds(anchor, m,
		    CORE_INTERVAL_MONTHLY, &s, &e), TALLY_OK);
		/* Periods tile: each starts where the last ended. */
		assert_true(s == prev_end);
		core_time_format_iso(e, buf, sizeof(buf));
		assert_memory_equal(buf, ends[m], 10);
		assert_string_equal(buf + 10, "T06:30:00Z");
		prev_end = e;
	}
}

static void
test_period_bad(void **state)
{
	int64_t	 s, e;

	(void)state;
	assert_int_equal(core_period_bounds(0, 0, 7, &s, &e), TALLY_E_INVALID);
	assert_int_equal(core_period_bounds(0, -1, CORE_INTERVAL_MONTHLY, &s,
	    &e), TALLY_E_INVALID);
	assert_int_equal(core_period_bounds(0, INT64_MAX,
	    CORE_INTERVAL_MONTHLY, &s, &e), TALLY_E_OVERFLOW);
}

/* core_period_find: which period of the calendar holds t. */
struct find_case {
	const char	*anchor;
	int		 iv;
	const char	*t;
	int64_t		 k;
	const char	*start, *end;
};

static const struct find_case finds[] = {
	/* Jan 31 -> Feb 28 -> Mar 31: the boundary second on each side. */
	{ "2026-01-31T10:00:00Z", CORE_INTERVAL_MONTHLY, "2026-01-31T10:00:00Z",
	  0, "2026-01-31T10:00:00Z", "2026-02-28T10:00:00Z" },
	{ "2026-01-31T10:00:00Z", CORE_INTERVAL_MONTHLY, "2026-02-28T09:59:59Z",
	  0, "2026-01-31T10:00:00Z", "2026-02-28T10:00:00Z" },
	{ "2026-01-31T10:00:00Z", CORE_INTERVAL_MONTHLY, "2026-02-28T10:00:00Z",
	  1, "2026-02-28T10:00:00Z", "2026-03-31T10:00:00Z" },
	{ "2026-01-31T10:00:00Z", CORE_INTERVAL_MONTHLY, "2026-03-31T09:59:59Z",
	  1, "2026-02-28T10:00:00Z", "2026-03-31T10:00:00Z" },
	{ "2026-01-31T10:00:00Z", CORE_INTERVAL_MONTHLY, "2026-03-31T10:00:00Z",
	  2, "2026-03-31T10:00:00Z", "2026-04-30T10:00:00Z" },
	/* Early in a month whose period starts late in it. */
	{ "2026-01-31T10:00:00Z", CORE_INTERVAL_MONTHLY, "2026-04-01T00:00:00Z",
	  2, "2026-03-31T10:00:00Z", "2026-04-30T10:00:00Z" },
	/* Leap days. */
	{ "2028-01-31T00:00:00Z", CORE_INTERVAL_MONTHLY, "2028-02-28T23:59:59Z",
	  0, "2028-01-31T00:00:00Z", "2028-02-29T00:00:00Z" },
	{ "2028-01-31T00:00:00Z", CORE_INTERVAL_MONTHLY, "2028-02-29T00:00:00Z",
	  1, "2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z" },
	{ "2024-02-29T12:00:00Z", CORE_INTERVAL_YEARLY, "2025-02-28T11:59:59Z",
	  0, "2024-02-29T12:00:00Z", "2025-02-28T12:00:00Z" },
	{ "2024-02-29T12:00:00Z", CORE_INTERVAL_YEARLY, "2025-02-28T12:00:00Z",
	  1, "2025-02-28T12:00:00Z", "2026-02-28T12:00:00Z" },
	{ "2024-02-29T12:00:00Z", CORE_INTERVAL_YEARLY, "2028-03-01T00:00:00Z",
	  4, "2028-02-29T12:00:00Z", "2029-02-28T12:00:00Z" },
	{ "2100-01-31T00:00:00Z", CORE_INTERVAL_MONTHLY, "2100-03-01T00:00:00Z",
	  1, "2100-02-28T00:00:00Z", "2100-03-31T00:00:00Z" },
	/* Year ends. */
	{ "2025-12-31T23:00:00Z", CORE_INTERVAL_MONTHLY, "2026-01-01T00:00:00Z",
	  0, "2025-12-31T23:00:00Z", "2026-01-31T23:00:00Z" },
	{ "2025-12-31T23:00:00Z", CORE_INTERVAL_MONTHLY, "2026-12-31T23:00:00Z",
	  12, "2026-12-31T23:00:00Z", "2027-01-31T23:00:00Z" },
	{ "2025-12-31T23:00:00Z", CORE_INTERVAL_MONTHLY, "2026-12-31T22:59:59Z",
	  11, "2026-11-30T23:00:00Z", "2026-12-31T23:00:00Z" },
	/* Quarters from a 30th, across February. */
	{ "2026-11-30T08:00:00Z", CORE_INTERVAL_QUARTERLY,
	  "2027-02-28T07:59:59Z", 0, "2026-11-30T08:00:00Z",
	  "2027-02-28T08:00:00Z" },
	{ "2026-11-30T08:00:00Z", CORE_INTERVAL_QUARTERLY,
	  "2027-02-28T08:00:00Z", 1, "2027-02-28T08:00:00Z",
	  "2027-05-30T08:00:00Z" },
	/* Far from the anchor, and the last period before year 10000. */
	{ "2000-01-31T00:00:00Z", CORE_INTERVAL_MONTHLY, "2099-12-31T00:00:00Z",
	  1199, "2099-12-31T00:00:00Z", "2100-01-31T00:00:00Z" },
	{ "9999-10-31T00:00:00Z", CORE_INTERVAL_MONTHLY, "9999-12-01T00:00:00Z",
	  1, "9999-11-30T00:00:00Z", "9999-12-31T00:00:00Z" },
};

static void
test_period_find_table(void **state)
{
	int64_t	 k, s, e;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(finds) / sizeof(finds[0]); i++) {
		k = -1;
		if (core_period_find(at(finds[i].anchor), finds[i].iv,
		    at(finds[i].t), &k, &s, &e) != TALLY_OK)
			fail_msg("case %zu: not TALLY_OK", i);
		if (k != finds[i].k)
			fail_msg("case %zu: k %lld, want %lld", i, (long long)k,
			    (long long)finds[i].k);
		assert_time(s, finds[i].start);
		assert_time(e, finds[i].end);
	}
}

/* Refusals: bad interval, t before the anchor, the int64 extremes. */
static void
test_period_find_bad(void **state)
{
	static const struct {
		int64_t	 anchor;
		int	 iv;
		int64_t	 t;
		int	 want;
	} cases[] = {
		{ 0, 7, 0, TALLY_E_INVALID },
		{ 0, -1, 0, TALLY_E_INVALID },
		{ 1000, CORE_INTERVAL_MONTHLY, 999, TALLY_E_INVALID },
		{ 0, CORE_INTERVAL_MONTHLY, INT64_MAX, TALLY_E_OVERFLOW },
		{ INT64_MIN, CORE_INTERVAL_MONTHLY, 0, TALLY_E_OVERFLOW },
		{ INT64_MIN, CORE_INTERVAL_YEARLY, INT64_MIN, TALLY_E_OVERFLOW },
		{ INT64_MAX, CORE_INTERVAL_MONTHLY, INT64_MAX, TALLY_E_OVERFLOW },
		{ INT64_MAX - 1, CORE_INTERVAL_MONTHLY, INT64_MIN,
		  TALLY_E_INVALID },
		/* 9999-12-31T00:00:00Z: its period would end in year 10000. */
		{ 253402214400LL, CORE_INTERVAL_MONTHLY, 253402214400LL,
		  TALLY_E_OVERFLOW },
	};
	int64_t	 k, s, e;
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = core_period_find(cases[i].anchor, cases[i].iv, cases[i].t,
		    &k, &s, &e);
		if (rc != cases[i].want)
			fail_msg("case %zu: %s, want %s", i, core_strerror(rc),
			    core_strerror(cases[i].want));
	}
}

/* Every six hours over five years from awkward anchors: the period found
 * holds t, is period k of core_period_bounds, and k never goes back. */
static void
test_period_find_walk(void **state)
{
	static const char *const anchors[] = {
		"2027-01-31T06:30:00Z", "2028-02-29T00:00:00Z",
		"2027-03-30T23:59:59Z", "2026-12-31T12:00:00Z",
		"2027-05-01T00:00:00Z",
	};
	static const int ivs[] = { CORE_INTERVAL_MONTHLY,
	    CORE_INTERVAL_QUARTERLY, CORE_INTERVAL_YEARLY };
	int64_t	 anchor, t, k, last, s, e, bs, be;
	size_t	 a, v;

	(void)state;
	for (a = 0; a < sizeof(anchors) / sizeof(anchors[0]); a++)
		for (v = 0; v < sizeof(ivs) / sizeof(ivs[0]); v++) {
			anchor = at(anchors[a]);
			last = 0;
			for (t = anchor; t < anchor + 5 * 366 * 86400;
			    t += 6 * 3600 + 1) {
				assert_int_equal(core_period_find(anchor,
				    ivs[v], t, &k, &s, &e), TALLY_OK);
				assert_true(s <= t && t < e);
				assert_true(k >= last && k <= last + 1);
				assert_int_equal(core_period_bounds(anchor,
				    k * core_interval_months(ivs[v]), ivs[v],
				    &bs, &be), TALLY_OK);
				assert_true(bs == s && be == e);
				last = k;
			}
		}
	/* k is optional. */
	assert_int_equal(core_period_find(anchor, CORE_INTERVAL_MONTHLY,
	    anchor, NULL, &s, &e), TALLY_OK);
}

struct act_case {
	int	 status, cancel, entitled, want;
};

static void
test_activate_transitions(void **state)
{
	static const struct act_case t[] = {
		{ SUB_NONE, 0, 0, SUBACT_START },
		{ SUB_PAUSED, 0, 0, SUBACT_START },
		{ SUB_CANCELED, 1, 0, SUBACT_START },
		{ SUB_EXPIRED, 0, 0, SUBACT_START },
		{ SUB_ACTIVE, 0, 1, SUBACT_KEEP },
		{ SUB_ACTIVE, 1, 1, SUBACT_UNCANCEL },
		/* Canceled at period end and the end passed: a new run. */
		{ SUB_ACTIVE, 1, 0, SUBACT_START },
		{ SUB_PENDING, 0, 0, SUBACT_CONFLICT },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(core_sub_on_activate(t[i].status, t[i].cancel,
		    t[i].entitled), t[i].want);
}

static void
test_other_transitions(void **state)
{
	(void)state;
	assert_int_equal(core_sub_on_deactivate(SUB_ACTIVE, 0),
	    SUBACT_CANCEL_AT_END);
	assert_int_equal(core_sub_on_deactivate(SUB_ACTIVE, 1), SUBACT_KEEP);
	assert_int_equal(core_sub_on_deactivate(SUB_PAUSED, 0),
	    SUBACT_CANCEL_NOW);
	assert_int_equal(core_sub_on_deactivate(SUB_CANCELED, 1), SUBACT_KEEP);
	assert_int_equal(core_sub_on_deactivate(SUB_NONE, 0), SUBACT_NOTFOUND);
	assert_int_equal(core_sub_on_change_interval(SUB_ACTIVE),
	    SUBACT_SET_INTERVAL);
	assert_int_equal(core_sub_on_change_interval(SUB_PAUSED),
	    SUBACT_SET_INTERVAL);
	assert_int_equal(core_sub_on_change_interval(SUB_CANCELED),
	    SUBACT_CONFLICT);
	assert_int_equal(core_sub_on_change_interval(SUB_NONE),
	    SUBACT_NOTFOUND);
	/* Due: end, renew with exactly enough, pause one short. */
	assert_int_equal(core_sub_on_due(1, 1000, 30), SUBACT_END);
	assert_int_equal(core_sub_on_due(0, 30, 30), SUBACT_RENEW);
	assert_int_equal(core_sub_on_due(0, 29, 30), SUBACT_PAUSE);
	assert_int_equal(core_sub_on_due(0, 0, 30), SUBACT_PAUSE);
}

static void
test_entitled(void **state)
{
	int64_t	 end = 1000;

	(void)state;
	assert_true(core_sub_entitled(SUB_ACTIVE, 0, end, 999, 0));
	assert_false(core_sub_entitled(SUB_ACTIVE, 0, end, 1000, 0));
	/* A credit subscription awaiting its renewal charge stays on... */
	assert_true(core_sub_entitled(SUB_ACTIVE, 0, end, 5000, 1));
	/* ...unless it is set to end. */
	assert_false(core_sub_entitled(SUB_ACTIVE, 1, end, 1000, 1));
	assert_true(core_sub_entitled(SUB_ACTIVE, 1, end, 999, 1));
	assert_false(core_sub_entitled(SUB_PAUSED, 0, end, 10, 1));
	assert_false(core_sub_entitled(SUB_CANCELED, 0, end, 10, 1));
	assert_false(core_sub_entitled(SUB_PENDING, 0, end, 10, 1));
}

static void
test_status_names(void **state)
{
	int	 i;

	(void)state;
	for (i = 0; i < SUB__MAX; i++)
		assert_int_equal(core_sub_status_parse(core_sub_status_name(i)),
		    i);
	assert_int_equal(core_sub_status_parse("bogus"), -1);
	assert_string_equal(core_sub_status_name(SUB_PENDING),
	    "pending_activation");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_period_table),
		cmocka_unit_test(test_period_twelve_months),
		cmocka_unit_test(test_period_bad),
		cmocka_unit_test(test_period_find_table),
		cmocka_unit_test(test_period_find_bad),
		cmocka_unit_test(test_period_find_walk),
		cmocka_unit_test(test_activate_transitions),
		cmocka_unit_test(test_other_transitions),
		cmocka_unit_test(test_entitled),
		cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
