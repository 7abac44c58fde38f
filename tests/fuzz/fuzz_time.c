/* libFuzzer harness: ISO 8601 parsing (the API's "at", "--now") and the
 * calendar arithmetic billing periods are built on. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "result.h"
#include "timeutil.h"

#define TIME_MIN	(-62135596800LL)	/* 0001-01-01T00:00:00Z */
#define TIME_MAX	(253402300799LL)	/* 9999-12-31T23:59:59Z */

static void
check_string(const char *s)
{
	struct core_civil c;
	char		 buf[40];
	int64_t		 t, back;

	if (core_time_parse_iso(s, &t) != TALLY_OK)
		return;
	/* Years 0000-9999 only, and the text says the same time again. */
	if (t < TIME_MIN - 366 * 86400LL || t > TIME_MAX)
		abort();
	core_time_format_iso(t, buf, sizeof(buf));
	if (core_time_parse_iso(buf, &back) != TALLY_OK || back != t)
		abort();
	if (strncmp(buf, s, 10) != 0)
		abort();
	core_civil_from_time(t, &c);
	if (core_time_from_civil(&c) != t)
		abort();
}

static void
check_numbers(int64_t t, int64_t n)
{
	struct core_civil a, b;
	int64_t		 out, back;
	int		 rc, dim;

	core_civil_from_time(t, &a);
	if (a.month < 1 || a.month > 12 || a.day < 1 ||
	    a.day > core_days_in_month(a.year, a.month) || a.hour < 0 ||
	    a.hour > 23 || a.min < 0 || a.min > 59 || a.sec < 0 || a.sec > 59)
		abort();
	if (t >= -31556952000000LL && t <= 31556952000000LL &&
	    core_time_from_civil(&a) != t)
		abort();

	n %= 200000;
	rc = core_time_add_months(t, n, &out);
	if (rc != TALLY_OK) {
		if (rc != TALLY_E_OVERFLOW)
			abort();
		return;
	}
	core_civil_from_time(out, &b);
	/* n calendar months on, the day kept or clamped, the time kept. */
	if ((b.year * 12 + b.month) - (a.year * 12 + a.month) != n)
		abort();
	dim = core_days_in_month(b.year, b.month);
	if (b.day != (a.day > dim ? dim : a.day) || b.hour != a.hour ||
	    b.min != a.min || b.sec != a.sec)
		abort();
	/* Back again lands on the anchor when no day was clamped. */
	if (a.day <= dim && (core_time_add_months(out, -n, &back) !=
	    TALLY_OK || back != t))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t	 v[2] = { 0, 0 };
	char	*s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_string(s);
	free(s);
	memcpy(v, data, size < sizeof(v) ? size : sizeof(v));
	check_numbers(v[0], v[1]);
	/* Within the billing years, where most anchors are. */
	check_numbers(TIME_MIN + (int64_t)((uint64_t)v[0] %
	    (uint64_t)(TIME_MAX - TIME_MIN)), v[1] % 1200);
	return 0;
}
