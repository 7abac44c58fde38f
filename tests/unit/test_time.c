/* Unit tests for core/timeutil.c: civil dates, ISO 8601, adding months. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "result.h"
#include "timeutil.h"

#define DAY		INT64_C(86400)
#define SENTINEL	((int64_t)0x5a5a5a5a5a5a5a5a)

/* Named dates, days since the epoch computed independently (Python). */
static void
test_days_from_civil(void **state)
{
	static const struct {
		int64_t	 y;
		int	 m, d;
		int64_t	 days;
	} cases[] = {
		{ 1970, 1, 1, 0 },
		{ 1970, 1, 2, 1 },
		{ 1969, 12, 31, -1 },
		{ 1968, 2, 29, -672 },
		{ 2000, 2, 28, 11015 },
		{ 2000, 2, 29, 11016 },
		{ 2000, 3, 1, 11017 },
		{ 2026, 1, 31, 20484 },
		{ 2038, 1, 19, 24855 },
		{ 2038, 1, 20, 24856 },
		{ 2100, 2, 28, 47540 },
		{ 2100, 3, 1, 47541 },	/* 2100 is not a leap year */
		{ 2400, 2, 29, 157113 },
		{ 2400, 3, 1, 157114 },
		{ 1900, 3, 1, -25508 },
		{ 1600, 1, 1, -135140 },
		{ 1, 1, 1, -719162 },
		{ 0, 3, 1, -719468 },
		{ 0, 2, 29, -719469 },	/* year 0 is a leap year */
		{ 0, 1, 1, -719528 },
		{ 9999, 12, 31, 2932896 },
	};
	struct core_civil	 c;
	int64_t			 got;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = core_days_from_civil(cases[i].y, cases[i].m, cases[i].d);
		if (got != cases[i].days)
			fail_msg("%04lld-%02d-%02d: %lld, want %lld",
			    (long long)cases[i].y, cases[i].m, cases[i].d,
			    (long long)got, (long long)cases[i].days);
		core_civil_from_time(cases[i].days * DAY, &c);
		if (c.year != cases[i].y || c.month != cases[i].m ||
		    c.day != cases[i].d || c.hour != 0 || c.min != 0 ||
		    c.sec != 0)
			fail_msg("day %lld: %lld-%d-%d, want %lld-%d-%d",
			    (long long)cases[i].days, (long long)c.year,
			    c.month, c.day, (long long)cases[i].y, cases[i].m,
			    cases[i].d);
	}
}

static void
test_days_in_month(void **state)
{
	static const struct {
		int64_t	 y;
		int	 m, want;
	} cases[] = {
		{ 2026, 1, 31 }, { 2026, 2, 28 }, { 2026, 3, 31 },
		{ 2026, 4, 30 }, { 2026, 5, 31 }, { 2026, 6, 30 },
		{ 2026, 7, 31 }, { 2026, 8, 31 }, { 2026, 9, 30 },
		{ 2026, 10, 31 }, { 2026, 11, 30 }, { 2026, 12, 31 },
		{ 2028, 2, 29 }, { 2000, 2, 29 }, { 2100, 2, 28 },
		{ 1900, 2, 28 }, { 2400, 2, 29 }, { 0, 2, 29 },
		{ -4, 2, 29 }, { -1, 2, 28 }, { -100, 2, 28 }, { -400, 2, 29 },
		{ 2026, 0, 0 }, { 2026, 13, 0 }, { 2026, -1, 0 },
	};
	size_t	 i;
	int	 got;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = core_days_in_month(cases[i].y, cases[i].m);
		if (got != cases[i].want)
			fail_msg("%lld-%d: %d, want %d", (long long)cases[i].y,
			    cases[i].m, got, cases[i].want);
	}
}

/*
 * Every day from 1600-01-01 to 2500-12-31 in order: consecutive day
 * numbers, and civil_from_time() gives the same date back at several
 * times of day.  Then before the epoch, far back.
 */
static void
test_civil_roundtrip(void **state)
{
	static const int	 tods[] = { 0, 1, 3599, 43200, 86399 };
	struct core_civil	 c;
	int64_t			 y, prev, days, t;
	int			 m, d;
	size_t			 k;

	(void)state;
	prev = core_days_from_civil(1599, 12, 31);
	for (y = 1600; y <= 2500; y++)
		for (m = 1; m <= 12; m++)
			for (d = 1; d <= core_days_in_month(y, m); d++) {
				days = core_days_from_civil(y, m, d);
				if (days != prev + 1)
					fail_msg("%lld-%d-%d: %lld after %lld",
					    (long long)y, m, d,
					    (long long)days, (long long)prev);
				prev = days;
				for (k = 0; k < 5; k++) {
					t = days * DAY + tods[k];
					core_civil_from_time(t, &c);
					if (c.year != y || c.month != m ||
					    c.day != d || c.hour * 3600 +
					    c.min * 60 + c.sec != tods[k])
						fail_msg("%lld: wrong civil",
						    (long long)t);
					if (core_time_from_civil(&c) != t)
						fail_msg("%lld: no round trip",
						    (long long)t);
				}
			}

	/* Negative times: the second before the epoch and far back. */
	core_civil_from_time(-1, &c);
	assert_true(c.year == 1969);
	assert_int_equal(c.month, 12);
	assert_int_equal(c.day, 31);
	assert_int_equal(c.hour, 23);
	assert_int_equal(c.min, 59);
	assert_int_equal(c.sec, 59);
	for (t = -DAY * 800000; t < 0; t += 7 * DAY + 3601) {
		core_civil_from_time(t, &c);
		assert_true(c.month >= 1 && c.month <= 12);
		assert_true(c.day >= 1 &&
		    c.day <= core_days_in_month(c.year, c.month));
		if (core_time_from_civil(&c) != t)
			fail_msg("%lld: no round trip", (long long)t);
	}
}

/* Against glibc's timegm()/gmtime_r() (64-bit time_t) as an oracle. */
static void
test_civil_vs_libc(void **state)
{
	struct core_civil	 c;
	struct tm		 tm;
	uint64_t		 x = 88172645463325252ULL;
	int64_t			 t;
	time_t			 tt;
	int			 i;

	(void)state;
	assert_true(sizeof(time_t) == 8);
	for (i = 0; i < 200000; i++) {
		/* xorshift64: times from about 1270 to 2670. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t = (int64_t)(x % (UINT64_C(44) << 30)) -
		    (INT64_C(22) << 30);
		tt = (time_t)t;
		assert_non_null(gmtime_r(&tt, &tm));
		core_civil_from_time(t, &c);
		if (c.year != tm.tm_year + 1900 || c.month != tm.tm_mon + 1 ||
		    c.day != tm.tm_mday || c.hour != tm.tm_hour ||
		    c.min != tm.tm_min || c.sec != tm.tm_sec)
			fail_msg("%lld: %lld-%d-%d %d:%d:%d", (long long)t,
			    (long long)c.year, c.month, c.day, c.hour, c.min,
			    c.sec);
		if ((int64_t)timegm(&tm) != core_time_from_civil(&c))
			fail_msg("%lld: timegm differs", (long long)t);
	}
}

static void
test_parse_iso(void **state)
{
	static const struct {
		const char	*s;
		int		 want;
		int64_t		 t;
	} cases[] = {
		{ "1970-01-01T00:00:00Z", TALLY_OK, 0 },
		{ "1970-01-01T00:00:01Z", TALLY_OK, 1 },
		{ "1969-12-31T23:59:59Z", TALLY_OK, -1 },
		{ "1970-01-01", TALLY_OK, 0 },
		{ "2026-01-31", TALLY_OK, 20484 * DAY },
		{ "2026-01-31T00:00:00Z", TALLY_OK, 20484 * DAY },
		{ "2026-01-31T13:45:07Z", TALLY_OK,
		    20484 * DAY + 13 * 3600 + 45 * 60 + 7 },
		{ "2026-01-31T13:45:07+00:00", TALLY_OK,
		    20484 * DAY + 13 * 3600 + 45 * 60 + 7 },
		{ "2026-01-31 13:45:07Z", TALLY_OK,
		    20484 * DAY + 13 * 3600 + 45 * 60 + 7 },
		{ "2026-01-31T23:59:59Z", TALLY_OK, 20485 * DAY - 1 },
		{ "2000-02-29T12:00:00Z", TALLY_OK, 11016 * DAY + 43200 },
		{ "2400-02-29", TALLY_OK, 157113 * DAY },
		{ "2038-01-19T03:14:07Z", TALLY_OK, INT32_MAX },
		{ "2038-01-19T03:14:08Z", TALLY_OK, (int64_t)INT32_MAX + 1 },
		{ "9999-12-31T23:59:59Z", TALLY_OK, 2932897 * DAY - 1 },
		{ "0000-01-01", TALLY_OK, -719528 * DAY },
		/* Fractions are accepted and dropped. */
		{ "2026-01-31T13:45:07.5Z", TALLY_OK,
		    20484 * DAY + 13 * 3600 + 45 * 60 + 7 },
		{ "2026-01-31T13:45:07.999999999Z", TALLY_OK,
		    20484 * DAY + 13 * 3600 + 45 * 60 + 7 },
		{ "2026-01-31T13:45:07.123+00:00", TALLY_OK,
		    20484 * DAY + 13 * 3600 + 45 * 60 + 7 },
		{ "2026-01-31T13:45:07.Z", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13:45:07.", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13:45:07.5", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13:45:07.5x", TALLY_E_INVALID, 0 },
		/* Out-of-range fields. */
		{ "2026-13-01", TALLY_E_INVALID, 0 },
		{ "2026-00-01", TALLY_E_INVALID, 0 },
		{ "2026-01-00", TALLY_E_INVALID, 0 },
		{ "2026-01-32", TALLY_E_INVALID, 0 },
		{ "2026-04-31", TALLY_E_INVALID, 0 },
		{ "2026-02-30", TALLY_E_INVALID, 0 },
		{ "2026-02-29", TALLY_E_INVALID, 0 },
		{ "2100-02-29", TALLY_E_INVALID, 0 },
		{ "1900-02-29", TALLY_E_INVALID, 0 },
		{ "2026-01-01T24:00:00Z", TALLY_E_INVALID, 0 },
		{ "2026-01-01T23:60:00Z", TALLY_E_INVALID, 0 },
		{ "2026-01-01T23:59:60Z", TALLY_E_INVALID, 0 },
		{ "2026-01-01T99:99:99Z", TALLY_E_INVALID, 0 },
		/* Zones other than UTC, and no zone at all. */
		{ "2026-01-31T13:45:07", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13:45:07+01:00", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13:45:07-00:00", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13:45:07+0000", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13:45:07+00", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13:45:07z", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13:45:07ZZ", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13:45:07Z ", TALLY_E_INVALID, 0 },
		/* Shape. */
		{ "", TALLY_E_INVALID, 0 },
		{ "2026", TALLY_E_INVALID, 0 },
		{ "2026-01", TALLY_E_INVALID, 0 },
		{ "2026-01-3", TALLY_E_INVALID, 0 },
		{ "2026-1-31", TALLY_E_INVALID, 0 },
		{ "26-01-31", TALLY_E_INVALID, 0 },
		{ "02026-01-31", TALLY_E_INVALID, 0 },
		{ "-2026-01-31", TALLY_E_INVALID, 0 },
		{ "+2026-01-31", TALLY_E_INVALID, 0 },
		{ " 2026-01-31", TALLY_E_INVALID, 0 },
		{ "2026-01-31 ", TALLY_E_INVALID, 0 },
		{ "2026/01/31", TALLY_E_INVALID, 0 },
		{ "20260131", TALLY_E_INVALID, 0 },
		{ "2026-01-31Z", TALLY_E_INVALID, 0 },
		{ "2026-01-31T", TALLY_E_INVALID, 0 },
		{ "2026-01-31t13:45:07Z", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13:45Z", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13:45:7Z", TALLY_E_INVALID, 0 },
		{ "2026-01-31T1:45:07Z", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13-45-07Z", TALLY_E_INVALID, 0 },
		{ "2026-01-31T13:45:07Z\n", TALLY_E_INVALID, 0 },
		{ "2026-0a-31", TALLY_E_INVALID, 0 },
	};
	int64_t	 t;
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = SENTINEL;
		rc = core_time_parse_iso(cases[i].s, &t);
		if (rc != cases[i].want)
			fail_msg("\"%s\": rc %d, want %d", cases[i].s, rc,
			    cases[i].want);
		if (rc == TALLY_OK && t != cases[i].t)
			fail_msg("\"%s\": %lld, want %lld", cases[i].s,
			    (long long)t, (long long)cases[i].t);
		if (rc != TALLY_OK && t != SENTINEL)
			fail_msg("\"%s\": *t written on failure", cases[i].s);
	}
}

static void
test_format_iso(void **state)
{
	static const struct {
		int64_t		 t;
		const char	*s;
	} cases[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ 1, "1970-01-01T00:00:01Z" },
		{ -1, "1969-12-31T23:59:59Z" },
		{ -DAY, "1969-12-31T00:00:00Z" },
		{ 11016 * DAY + 43200, "2000-02-29T12:00:00Z" },
		{ 20484 * DAY + 49507, "2026-01-31T13:45:07Z" },
		{ INT32_MAX, "2038-01-19T03:14:07Z" },
		{ 47540 * DAY, "2100-02-28T00:00:00Z" },
		{ 47541 * DAY, "2100-03-01T00:00:00Z" },
		{ 157113 * DAY, "2400-02-29T00:00:00Z" },
		{ 2932897 * DAY - 1, "9999-12-31T23:59:59Z" },
		{ -719162 * DAY, "0001-01-01T00:00:00Z" },
	};
	char	 buf[64];
	int64_t	 t;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		core_time_format_iso(cases[i].t, buf, sizeof(buf));
		if (strcmp(buf, cases[i].s) != 0)
			fail_msg("%lld: \"%s\", want \"%s\"",
			    (long long)cases[i].t, buf, cases[i].s);
		/* And it parses back. */
		assert_int_equal(core_time_parse_iso(buf, &t), TALLY_OK);
		assert_true(t == cases[i].t);
	}

	/* Every 9,973rd second from year 1 to 9999 against gmtime_r(). */
	for (t = -719162 * DAY; t < 2932897 * DAY; t += 9973 * 97) {
		time_t		 tt = (time_t)t;
		struct tm	 tm;
		char		 want[64];

		assert_non_null(gmtime_r(&tt, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		core_time_format_iso(t, buf, sizeof(buf));
		if (strcmp(buf, want) != 0)
			fail_msg("%lld: \"%s\", want \"%s\"", (long long)t, buf,
			    want);
	}

	/* The documented minimum of 21 bytes is enough; fewer truncates. */
	core_time_format_iso(0, buf, 21);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	memset(buf, 'x', sizeof(buf));
	core_time_format_iso(0, buf, 5);
	assert_string_equal(buf, "1970");
	assert_int_equal(buf[5], 'x');
}

static int64_t
iso(const char *s)
{
	int64_t	 t = 0;

	if (core_time_parse_iso(s, &t) != TALLY_OK)
		fail_msg("bad date in test: %s", s);
	return t;
}

static void
test_add_months(void **state)
{
	static const struct {
		const char	*anchor;
		int64_t		 n;
		const char	*want;
	} cases[] = {
		{ "2026-01-15T00:00:00Z", 0, "2026-01-15T00:00:00Z" },
		{ "2026-01-31T00:00:00Z", 0, "2026-01-31T00:00:00Z" },
		{ "2026-01-15T00:00:00Z", 1, "2026-02-15T00:00:00Z" },
		/* Clamped to the month's end, leap years included. */
		{ "2026-01-31T00:00:00Z", 1, "2026-02-28T00:00:00Z" },
		{ "2028-01-31T00:00:00Z", 1, "2028-02-29T00:00:00Z" },
		{ "2100-01-31T00:00:00Z", 1, "2100-02-28T00:00:00Z" },
		{ "2000-01-31T00:00:00Z", 1, "2000-02-29T00:00:00Z" },
		{ "2026-01-30T00:00:00Z", 1, "2026-02-28T00:00:00Z" },
		{ "2026-01-29T00:00:00Z", 1, "2026-02-28T00:00:00Z" },
		{ "2026-01-28T00:00:00Z", 1, "2026-02-28T00:00:00Z" },
		{ "2026-01-31T00:00:00Z", 3, "2026-04-30T00:00:00Z" },
		{ "2026-03-31T00:00:00Z", 1, "2026-04-30T00:00:00Z" },
		{ "2026-05-31T00:00:00Z", 1, "2026-06-30T00:00:00Z" },
		/* From the anchor, never from the clamped date. */
		{ "2026-01-31T00:00:00Z", 2, "2026-03-31T00:00:00Z" },
		{ "2026-01-30T00:00:00Z", 2, "2026-03-30T00:00:00Z" },
		{ "2026-11-30T00:00:00Z", 3, "2027-02-28T00:00:00Z" },
		{ "2026-11-30T00:00:00Z", 6, "2027-05-30T00:00:00Z" },
		{ "2026-08-31T00:00:00Z", 6, "2027-02-28T00:00:00Z" },
		{ "2026-08-31T00:00:00Z", 9, "2027-05-31T00:00:00Z" },
		/* Backwards. */
		{ "2026-03-31T00:00:00Z", -1, "2026-02-28T00:00:00Z" },
		{ "2028-03-31T00:00:00Z", -1, "2028-02-29T00:00:00Z" },
		{ "2026-03-31T00:00:00Z", -2, "2026-01-31T00:00:00Z" },
		{ "2026-01-15T00:00:00Z", -1, "2025-12-15T00:00:00Z" },
		{ "2026-01-31T00:00:00Z", -2, "2025-11-30T00:00:00Z" },
		{ "2026-01-31T00:00:00Z", -12, "2025-01-31T00:00:00Z" },
		{ "2026-01-31T00:00:00Z", -13, "2024-12-31T00:00:00Z" },
		/* Across the year boundary. */
		{ "2026-12-15T00:00:00Z", 1, "2027-01-15T00:00:00Z" },
		{ "2026-12-31T00:00:00Z", 1, "2027-01-31T00:00:00Z" },
		{ "2026-12-31T00:00:00Z", 2, "2027-02-28T00:00:00Z" },
		{ "2027-12-31T00:00:00Z", 2, "2028-02-29T00:00:00Z" },
		{ "2026-11-15T00:00:00Z", 2, "2027-01-15T00:00:00Z" },
		{ "2026-12-01T00:00:00Z", 12, "2027-12-01T00:00:00Z" },
		{ "2026-12-01T00:00:00Z", 13, "2028-01-01T00:00:00Z" },
		{ "2026-12-01T00:00:00Z", 24, "2028-12-01T00:00:00Z" },
		{ "1970-01-31T00:00:00Z", -1, "1969-12-31T00:00:00Z" },
		{ "1969-12-31T23:59:59Z", 1, "1970-01-31T23:59:59Z" },
		{ "1969-12-31T23:59:59Z", 2, "1970-02-28T23:59:59Z" },
		/* Leap days: yearly from Feb 29. */
		{ "2024-02-29T00:00:00Z", 12, "2025-02-28T00:00:00Z" },
		{ "2024-02-29T00:00:00Z", 24, "2026-02-28T00:00:00Z" },
		{ "2024-02-29T00:00:00Z", 48, "2028-02-29T00:00:00Z" },
		{ "2024-02-29T00:00:00Z", -48, "2020-02-29T00:00:00Z" },
		{ "2024-02-29T00:00:00Z", 1, "2024-03-29T00:00:00Z" },
		{ "2000-02-29T00:00:00Z", 1200, "2100-02-28T00:00:00Z" },
		{ "2000-02-29T00:00:00Z", 4800, "2400-02-29T00:00:00Z" },
		/* The time of day is kept. */
		{ "2026-01-31T13:45:07Z", 1, "2026-02-28T13:45:07Z" },
		{ "2026-01-31T23:59:59Z", 1, "2026-02-28T23:59:59Z" },
		{ "2026-01-31T23:59:59Z", 2, "2026-03-31T23:59:59Z" },
		{ "2026-03-31T00:00:01Z", -1, "2026-02-28T00:00:01Z" },
		/* Intervals as billing uses them: 1, 3, 12 months. */
		{ "2026-05-31T08:00:00Z", 3, "2026-08-31T08:00:00Z" },
		{ "2026-11-30T08:00:00Z", 12, "2027-11-30T08:00:00Z" },
		/* Large n. */
		{ "2026-01-31T00:00:00Z", 1200, "2126-01-31T00:00:00Z" },
		{ "2026-01-31T00:00:00Z", 95687, "9999-12-31T00:00:00Z" },
		{ "2026-01-31T00:00:00Z", -24300, "0001-01-31T00:00:00Z" },
	};
	char	 buf[64];
	int64_t	 out;
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = SENTINEL;
		rc = core_time_add_months(iso(cases[i].anchor), cases[i].n,
		    &out);
		if (rc != TALLY_OK)
			fail_msg("%s %+lld: rc %d", cases[i].anchor,
			    (long long)cases[i].n, rc);
		core_time_format_iso(out, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("%s %+lld months: %s, want %s",
			    cases[i].anchor, (long long)cases[i].n, buf,
			    cases[i].want);
	}
}

/* Every month end of a 12-month run from Jan 31 2028 (a leap year). */
static void
test_add_months_run(void **state)
{
	static const char *const	 want[] = {
		"2028-01-31T09:30:00Z", "2028-02-29T09:30:00Z",
		"2028-03-31T09:30:00Z", "2028-04-30T09:30:00Z",
		"2028-05-31T09:30:00Z", "2028-06-30T09:30:00Z",
		"2028-07-31T09:30:00Z", "2028-08-31T09:30:00Z",
		"2028-09-30T09:30:00Z", "2028-10-31T09:30:00Z",
		"2028-11-30T09:30:00Z", "2028-12-31T09:30:00Z",
		"2029-01-31T09:30:00Z", "2029-02-28T09:30:00Z",
	};
	struct core_civil	 c;
	char			 buf[64];
	int64_t			 anchor, out, n, y, prev;
	int			 m, d, tm;

	(void)state;
	anchor = iso("2028-01-31T09:30:00Z");
	for (n = 0; n < (int64_t)(sizeof(want) / sizeof(want[0])); n++) {
		assert_int_equal(core_time_add_months(anchor, n, &out),
		    TALLY_OK);
		core_time_format_iso(out, buf, sizeof(buf));
		if (strcmp(buf, want[n]) != 0)
			fail_msg("+%lld: %s, want %s", (long long)n, buf,
			    want[n]);
	}

	/*
	 * Every anchor day of 2027-2028 against 1..36 months on: the day is
	 * min(anchor day, month length), the time of day is kept, and the
	 * results only ever move forward.
	 */
	for (y = 2027; y <= 2028; y++)
		for (m = 1; m <= 12; m++)
			for (d = 1; d <= core_days_in_month(y, m); d++) {
				anchor = core_days_from_civil(y, m, d) * DAY +
				    77777;
				prev = anchor;
				for (n = 1; n <= 36; n++) {
					assert_int_equal(core_time_add_months(
					    anchor, n, &out), TALLY_OK);
					core_civil_from_time(out, &c);
					tm = (int)((m - 1 + n) % 12) + 1;
					if (c.month != tm)
						fail_msg("month %d, want %d",
						    c.month, tm);
					if (c.year != y + (m - 1 + n) / 12)
						fail_msg("wrong year");
					if (c.day != (d < core_days_in_month(
					    c.year, c.month) ? d :
					    core_days_in_month(c.year,
					    c.month)))
						fail_msg("wrong day");
					assert_true(out % DAY == 77777);
					assert_true(out > prev);
					prev = out;
				}
			}
}

/*
 * The documented bounds: results in the years 1 to 9999, anchors in the
 * same range; anything else is TALLY_E_OVERFLOW and leaves *out alone.
 */
static void
test_add_months_limits(void **state)
{
	struct core_civil	 c;
	int64_t			 anchor, out;

	(void)state;
	anchor = iso("2026-01-31T12:00:00Z");

	/* 9999-12-31 is the last month a result may fall in. */
	assert_int_equal(core_time_add_months(anchor, (9999 - 2026) * 12 + 11,
	    &out), TALLY_OK);
	core_civil_from_time(out, &c);
	assert_true(c.year == 9999);
	assert_int_equal(c.month, 12);
	assert_int_equal(c.day, 31);
	assert_int_equal(c.hour, 12);

	/* 0001-01-31 is the first. */
	assert_int_equal(core_time_add_months(anchor, -(2025 * 12), &out),
	    TALLY_OK);
	core_civil_from_time(out, &c);
	assert_true(c.year == 1);
	assert_int_equal(c.month, 1);
	assert_int_equal(c.day, 31);

	out = SENTINEL;
	assert_int_equal(core_time_add_months(anchor, (9999 - 2026) * 12 + 12,
	    &out), TALLY_E_OVERFLOW);
	assert_int_equal(core_time_add_months(anchor, -(2025 * 12) - 1, &out),
	    TALLY_E_OVERFLOW);
	assert_int_equal(core_time_add_months(anchor, INT64_MAX, &out),
	    TALLY_E_OVERFLOW);
	assert_int_equal(core_time_add_months(anchor, INT64_MIN, &out),
	    TALLY_E_OVERFLOW);
	assert_true(out == SENTINEL);
}

/*
 * Anchors at the ends of int64_t are refused, never computed with signed
 * overflow (UBSan would abort), and formatting them does not overflow.
 */
static void
test_add_months_extreme_anchor(void **state)
{
	struct core_civil	 c;
	int64_t			 out = SENTINEL;
	char			 buf[64];

	(void)state;
	assert_int_equal(core_time_add_months(INT64_MAX, 0, &out),
	    TALLY_E_OVERFLOW);
	assert_int_equal(core_time_add_months(INT64_MAX, 1, &out),
	    TALLY_E_OVERFLOW);
	assert_int_equal(core_time_add_months(INT64_MIN, 0, &out),
	    TALLY_E_OVERFLOW);
	assert_true(out == SENTINEL);
	/* 9999-12-31T23:59:59Z itself is fine. */
	assert_int_equal(core_time_add_months(253402300799LL, 0, &out),
	    TALLY_OK);
	assert_true(out == 253402300799LL);
	core_civil_from_time(INT64_MIN, &c);
	core_civil_from_time(INT64_MAX, &c);
	core_time_format_iso(INT64_MIN, buf, sizeof(buf));
	assert_true(strlen(buf) > 0);
}

/* The day range of a statistics query: defaults, bounds, bad input. */
static void
test_day_range(void **state)
{
	/* 2026-12-06T15:30:00Z */
	const int64_t	 now = 1796571000, day = 1796515200;
	int64_t		 f = -1, t = -1;
	const char	*why;

	(void)state;
	assert_int_equal(core_day_range(NULL, NULL, now, 30, 366, &f, &t,
	    &why), TALLY_OK);
	assert_int_equal(t, day);
	assert_int_equal(f, day - 29 * 86400);
	assert_null(why);
	assert_int_equal(core_day_range("2026-01-01", "2026-01-01", now, 30,
	    366, &f, &t, &why), TALLY_OK);
	assert_int_equal(f, t);
	assert_int_equal(core_day_range("2026-11-01", "", now, 30, 366, &f,
	    &t, &why), TALLY_OK);
	assert_int_equal(t, day);
	/* A leap year is 366 days: allowed; one day more is not. */
	assert_int_equal(core_day_range("2024-01-01", "2024-12-31", now, 30,
	    366, &f, &t, &why), TALLY_OK);
	assert_int_equal((t - f) / 86400 + 1, 366);
	f = t = -1;
	assert_int_equal(core_day_range("2023-12-31", "2024-12-31", now, 30,
	    366, &f, &t, &why), TALLY_E_INVALID);
	assert_string_equal(why, "range");
	assert_int_equal(f, -1);
	assert_int_equal(core_day_range("2026-02-02", "2026-02-01", now, 30,
	    366, &f, &t, &why), TALLY_E_INVALID);
	assert_string_equal(why, "range");
	assert_int_equal(core_day_range("2026-02-30", NULL, now, 30, 366, &f,
	    &t, &why), TALLY_E_INVALID);
	assert_string_equal(why, "from");
	assert_int_equal(core_day_range(NULL, "2026-02-01T00:00:00Z", now, 30,
	    366, &f, &t, &why), TALLY_E_INVALID);
	assert_string_equal(why, "to");
	assert_int_equal(core_day_range("26-1-1", NULL, now, 30, 366, &f, &t,
	    &why), TALLY_E_INVALID);
	assert_string_equal(why, "from");
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_days_from_civil),
		cmocka_unit_test(test_days_in_month),
		cmocka_unit_test(test_civil_roundtrip),
		cmocka_unit_test(test_civil_vs_libc),
		cmocka_unit_test(test_parse_iso),
		cmocka_unit_test(test_format_iso),
		cmocka_unit_test(test_add_months),
		cmocka_unit_test(test_add_months_run),
		cmocka_unit_test(test_add_months_limits),
		/* Last: under UBSan it ends the process. */
		cmocka_unit_test(test_add_months_extreme_anchor),
		cmocka_unit_test(test_day_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
