/* Unit tests for core/dunning.c: parsing billing.dunning_days, and when
 * each retry of an invoice falls (never at or after its expiry; missed
 * retries skipped, not made in a burst). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dunning.h"
#include "result.h"

#define DAY	86400LL
#define T0	1900000000LL	/* the first failure */

static void
test_parse(void **state)
{
	static const struct {
		const char	*s;
		int		 rc;
		size_t		 n;
		int64_t		 days[CORE_DUNNING_MAX];
	} cases[] = {
		{ "1,3,5,7", TALLY_OK, 4, { 1, 3, 5, 7 } },
		{ " 1 , 3,5 ,7 ", TALLY_OK, 4, { 1, 3, 5, 7 } },
		{ "2", TALLY_OK, 1, { 2 } },
		{ "365", TALLY_OK, 1, { 365 } },
		{ "1,2,3,4,5,6,7,8,9,10", TALLY_OK, 10,
		    { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 } },
		{ "", TALLY_OK, 0, { 0 } },
		{ "   ", TALLY_OK, 0, { 0 } },
		{ "none", TALLY_OK, 0, { 0 } },
		{ "1,2,3,4,5,6,7,8,9,10,11", TALLY_E_INVALID, 0, { 0 } },
		{ "0", TALLY_E_INVALID, 0, { 0 } },
		{ "366", TALLY_E_INVALID, 0, { 0 } },
		{ "-1", TALLY_E_INVALID, 0, { 0 } },
		{ "+1", TALLY_E_INVALID, 0, { 0 } },
		{ "3,1", TALLY_E_INVALID, 0, { 0 } },
		{ "1,1", TALLY_E_INVALID, 0, { 0 } },
		{ "1,,3", TALLY_E_INVALID, 0, { 0 } },
		{ "1,3,", TALLY_E_INVALID, 0, { 0 } },
		{ ",1", TALLY_E_INVALID, 0, { 0 } },
		{ "1;3", TALLY_E_INVALID, 0, { 0 } },
		{ "1 3", TALLY_E_INVALID, 0, { 0 } },
		{ "1.5", TALLY_E_INVALID, 0, { 0 } },
		{ "1d", TALLY_E_INVALID, 0, { 0 } },
		{ "99999999999999999999999", TALLY_E_INVALID, 0, { 0 } },
		{ "None", TALLY_E_INVALID, 0, { 0 } },
	};
	int64_t	 days[CORE_DUNNING_MAX];
	size_t	 i, j, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 99;
		assert_int_equal(core_dunning_parse(cases[i].s, days,
		    CORE_DUNNING_MAX, &n), cases[i].rc);
		if (n != cases[i].n)
			fail_msg("\"%s\": %zu days, want %zu", cases[i].s, n,
			    cases[i].n);
		for (j = 0; j < n; j++)
			assert_int_equal(days[j], cases[i].days[j]);
	}
	/* A smaller buffer is a limit too. */
	assert_int_equal(core_dunning_parse("1,2,3", days, 2, &n),
	    TALLY_E_INVALID);
	assert_int_equal(n, 0);
}

static void
test_due(void **state)
{
	static const int64_t	 days[] = { 1, 3, 5, 7 };
	static const struct {
		int64_t	 expires, k, want;
	} cases[] = {
		{ 0, 0, 0 },
		{ 0, -1, 0 },
		{ 0, 1, T0 + DAY },
		{ 0, 2, T0 + 3 * DAY },
		{ 0, 4, T0 + 7 * DAY },
		{ 0, 5, 0 },
		/* Never at or after the expiry. */
		{ T0 + 7 * DAY, 4, 0 },
		{ T0 + 7 * DAY + 1, 4, T0 + 7 * DAY },
		{ T0 + 2 * DAY, 1, T0 + DAY },
		{ T0 + 2 * DAY, 2, 0 },
		{ T0 + DAY, 1, 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (core_dunning_due(days, 4, T0, cases[i].expires,
		    cases[i].k) != cases[i].want)
			fail_msg("case %zu: k %lld", i, (long long)cases[i].k);
	/* No schedule, no retries; a time near the end of int64 too. */
	assert_int_equal(core_dunning_due(days, 0, T0, 0, 1), 0);
	assert_int_equal(core_dunning_due(days, 4, INT64_MAX - DAY + 1, 0, 1), 0);
	assert_int_equal(core_dunning_count(days, 4, T0, 0), 4);
	assert_int_equal(core_dunning_count(days, 4, T0, T0 + 5 * DAY), 2);
	assert_int_equal(core_dunning_count(days, 4, T0, T0 + 5 * DAY + 1),
	    3);
	assert_int_equal(core_dunning_count(days, 4, T0, T0 + DAY), 0);
	assert_int_equal(core_dunning_count(days, 0, T0, 0), 0);
}

static void
test_pick(void **state)
{
	static const int64_t	 days[] = { 1, 3, 5, 7 };
	static const struct {
		int64_t	 expires, made, now, pick, next;
	} cases[] = {
		/* Just failed: nothing due; the first retry tomorrow. */
		{ 0, 0, T0, 0, T0 + DAY },
		{ 0, 0, T0 + DAY - 1, 0, T0 + DAY },
		{ 0, 0, T0 + DAY, 1, T0 + DAY },
		{ 0, 1, T0 + DAY, 0, T0 + 3 * DAY },
		{ 0, 1, T0 + 3 * DAY, 2, T0 + 3 * DAY },
		{ 0, 3, T0 + 7 * DAY, 4, T0 + 7 * DAY },
		{ 0, 4, T0 + 30 * DAY, 0, 0 },
		/* Missed retries (no scheduler for a week): only the latest. */
		{ 0, 0, T0 + 6 * DAY, 3, T0 + DAY },
		{ 0, 1, T0 + 8 * DAY, 4, T0 + 3 * DAY },
		/* The expiry ends it, even when a retry was due before. */
		{ T0 + 4 * DAY, 1, T0 + 3 * DAY, 2, T0 + 3 * DAY },
		{ T0 + 4 * DAY, 2, T0 + 6 * DAY, 0, 0 },
		{ T0 + 4 * DAY, 0, T0 + 9 * DAY, 2, T0 + DAY },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (core_dunning_pick(days, 4, T0, cases[i].expires,
		    cases[i].made, cases[i].now) != cases[i].pick)
			fail_msg("case %zu: pick", i);
		if (core_dunning_next(days, 4, T0, cases[i].expires,
		    cases[i].made) != cases[i].next)
			fail_msg("case %zu: next", i);
	}
	assert_int_equal(core_dunning_pick(days, 0, T0, 0, 0, T0 + 99 * DAY),
	    0);
	assert_int_equal(core_dunning_next(days, 0, T0, 0, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_pick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
