/* Unit tests for core/coupon.c: codes, terms, periods, and property tests
 * of the discount rule over random invoices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coupon.h"
#include "result.h"

static void
test_code_normalize(void **state)
{
	static const struct {
		const char	*in, *code, *key;
	} ok[] = {
		{ "summer-20", "SUMMER-20", "SUMMER20" },
		{ "  Summer-20\t", "SUMMER-20", "SUMMER20" },
		{ "SUMMER20", "SUMMER20", "SUMMER20" },
		{ "a", "A", "A" },
		{ "x_y-z", "X_Y-Z", "X_YZ" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", /* 32 */
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345" },
	};
	static const char *const bad[] = { "", "   ", "-", "---",
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "a b", "a.b", "<script>",
	    "\xc3\xa4", "a\nb", "%41" };
	char	 code[CORE_COUPON_CODE_MAX + 1], key[CORE_COUPON_CODE_MAX + 1];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(core_coupon_code_normalize(ok[i].in, code,
		    key), TALLY_OK);
		assert_string_equal(code, ok[i].code);
		assert_string_equal(key, ok[i].key);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (core_coupon_code_normalize(bad[i], code, key) !=
		    TALLY_E_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(core_coupon_code_normalize(NULL, code, key),
	    TALLY_E_INVALID);
}

static void
test_usable(void **state)
{
	(void)state;
	assert_int_equal(core_coupon_usable(1, 0, -1, 1000, 100), TALLY_OK);
	assert_int_equal(core_coupon_usable(0, 0, -1, 0, 100),
	    TALLY_E_COUPON_INACTIVE);
	assert_int_equal(core_coupon_usable(1, 100, -1, 0, 100),
	    TALLY_E_COUPON_EXPIRED);
	assert_int_equal(core_coupon_usable(1, 101, -1, 0, 100), TALLY_OK);
	assert_int_equal(core_coupon_usable(1, 0, 3, 3, 100),
	    TALLY_E_COUPON_EXHAUSTED);
	assert_int_equal(core_coupon_usable(1, 0, 3, 2, 100), TALLY_OK);
	assert_int_equal(core_coupon_usable(1, 0, 0, 0, 100),
	    TALLY_E_COUPON_EXHAUSTED);
	/* Precedence: deactivated, then expired, then used up. */
	assert_int_equal(core_coupon_usable(0, 50, 1, 1, 100),
	    TALLY_E_COUPON_INACTIVE);
	assert_int_equal(core_coupon_usable(1, 50, 1, 1, 100),
	    TALLY_E_COUPON_EXPIRED);
}

static void
test_applies(void **state)
{
	(void)state;
	assert_true(core_coupon_applies(NULL, "product:pro"));
	assert_true(core_coupon_applies("", "plan:x"));
	assert_true(core_coupon_applies("product:pro plan:relay",
	    "plan:relay"));
	assert_true(core_coupon_applies("product:pro plan:relay",
	    "product:pro"));
	assert_false(core_coupon_applies("product:pro plan:relay",
	    "product:pr"));
	assert_false(core_coupon_applies("product:pro", "product:pro2"));
	assert_false(core_coupon_applies("product:pro", "plan:pro"));
	assert_false(core_coupon_applies("package:starter", "product:pro"));
}

static void
test_covers(void **state)
{
	struct core_coupon_terms once = { 10, 0, CORE_COUPON_ONCE, 0 };
	struct core_coupon_terms three = { 10, 0, CORE_COUPON_REPEATING, 3 };
	struct core_coupon_terms ever = { 10, 0, CORE_COUPON_FOREVER, 0 };
	int	 np;

	(void)state;
	assert_true(core_coupon_covers(&once, 0, 0, 1000, &np));
	assert_int_equal(np, 1);
	/* The same period again (a reissue): covered, not counted. */
	assert_true(core_coupon_covers(&once, 1, 1000, 1000, &np));
	assert_int_equal(np, 0);
	assert_false(core_coupon_covers(&once, 1, 1000, 2000, &np));
	assert_int_equal(np, 0);
	assert_false(core_coupon_covers(&once, 1, 2000, 1000, &np));
	assert_true(core_coupon_covers(&three, 2, 2000, 3000, &np));
	assert_int_equal(np, 1);
	assert_false(core_coupon_covers(&three, 3, 3000, 4000, &np));
	assert_true(core_coupon_covers(&ever, 1000, 3000, 4000, &np));
	assert_int_equal(np, 1);
}

static void
test_discount_table(void **state)
{
	static const struct {
		int64_t	 pct, amt;
		int64_t	 a[4];
		int	 e[4];
		size_t	 n;
		int64_t	 discount, discountable;
	} t[] = {
		/* 10 % of 2900 */
		{ 10, 0, { 2900 }, { 1 }, 1, 290, 2900 },
		/* half up: 15 % of 10 = 1.5 -> 2; of 3 = 0.45 -> 0 */
		{ 15, 0, { 10 }, { 1 }, 1, 2, 10 },
		{ 15, 0, { 3 }, { 1 }, 1, 0, 3 },
		/* 50 % of 1 = 0.5 -> 1 */
		{ 50, 0, { 1 }, { 1 }, 1, 1, 1 },
		/* once per invoice, not per line: 33 % of 1+1+1 = 0.99 -> 1
		 * (per line it would be 0) */
		{ 33, 0, { 1, 1, 1 }, { 1, 1, 1 }, 3, 1, 3 },
		{ 100, 0, { 500, 500 }, { 1, 1 }, 2, 1000, 1000 },
		/* only eligible lines */
		{ 50, 0, { 500, 2900 }, { 1, 0 }, 2, 250, 500 },
		{ 50, 0, { 500, 2900 }, { 0, 0 }, 2, 0, 0 },
		/* a credit line of an eligible plan lowers what is eligible */
		{ 100, 0, { 500, -300 }, { 1, 1 }, 2, 200, 200 },
		/* a credit of another plan: never below zero in total */
		{ 100, 0, { 500, -300 }, { 1, 0 }, 2, 200, 200 },
		/* fixed amounts, capped */
		{ 0, 1000, { 2900 }, { 1 }, 1, 1000, 2900 },
		{ 0, 5000, { 2900 }, { 1 }, 1, 2900, 2900 },
		{ 0, 5000, { 0 }, { 1 }, 1, 0, 0 },
		{ 0, 5000, { -10 }, { 1 }, 1, 0, 0 },
		{ 0, 1, { 0 }, { 1 }, 0, 0, 0 },
		/* the largest totals */
		{ 100, 0, { INT64_MAX }, { 1 }, 1, INT64_MAX, INT64_MAX },
		{ 99, 0, { INT64_MAX }, { 1 }, 1, 9131138316486228049LL,
		    INT64_MAX },
		{ 0, INT64_MAX, { INT64_MAX }, { 1 }, 1, INT64_MAX,
		    INT64_MAX },
	};
	struct core_coupon_terms ct;
	int64_t	 d, b;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&ct, 0, sizeof(ct));
		ct.percent_off = t[i].pct;
		ct.amount_off = t[i].amt;
		ct.duration = CORE_COUPON_FOREVER;
		assert_int_equal(core_coupon_discount(&ct, t[i].a, t[i].e,
		    t[i].n, &d, &b), TALLY_OK);
		if (d != t[i].discount || b != t[i].discountable)
			fail_msg("case %zu: discount %lld of %lld, want %lld of "
			    "%lld", i, (long long)d, (long long)b,
			    (long long)t[i].discount,
			    (long long)t[i].discountable);
	}
}

static void
test_discount_errors(void **state)
{
	struct core_coupon_terms ct = { 0, 0, CORE_COUPON_ONCE, 0 };
	int64_t	 a[2] = { INT64_MAX, 1 }, d, b;
	int	 e[2] = { 1, 1 };

	(void)state;
	/* Neither or both of percent and amount. */
	assert_int_equal(core_coupon_discount(&ct, a, e, 1, &d, &b),
	    TALLY_E_INVALID);
	ct.percent_off = 10;
	ct.amount_off = 10;
	assert_int_equal(core_coupon_discount(&ct, a, e, 1, &d, &b),
	    TALLY_E_INVALID);
	ct.amount_off = 0;
	ct.percent_off = 101;
	assert_int_equal(core_coupon_terms_valid(&ct), TALLY_E_INVALID);
	ct.percent_off = 10;
	ct.duration = CORE_COUPON_REPEATING;
	assert_int_equal(core_coupon_terms_valid(&ct), TALLY_E_INVALID);
	ct.duration_periods = 1;
	assert_int_equal(core_coupon_terms_valid(&ct), TALLY_OK);
	/* Lines whose sum overflows are an error, not a wrap. */
	assert_int_equal(core_coupon_discount(&ct, a, e, 2, &d, &b),
	    TALLY_E_OVERFLOW);
}

static void
test_bonus(void **state)
{
	struct core_coupon_terms ct = { 10, 0, CORE_COUPON_ONCE, 0 };
	int64_t	 bonus;

	(void)state;
	assert_int_equal(core_coupon_bonus(&ct, 500, &bonus), TALLY_OK);
	assert_int_equal(bonus, 50);
	assert_int_equal(core_coupon_bonus(&ct, 5, &bonus), TALLY_OK);
	assert_int_equal(bonus, 1);	/* 0.5 rounds up */
	assert_int_equal(core_coupon_bonus(&ct, 4, &bonus), TALLY_OK);
	assert_int_equal(bonus, 0);
	assert_int_equal(core_coupon_bonus(&ct, 0, &bonus), TALLY_E_INVALID);
	ct.percent_off = 0;
	ct.amount_off = 250;
	assert_int_equal(core_coupon_bonus(&ct, 500, &bonus), TALLY_OK);
	assert_int_equal(bonus, 250);
}

/*
 * Property tests.  A small xorshift generator with a fixed seed makes
 * every run the same (set TALLY_PROP_SEED to explore others); rand(3) is
 * not used (make lint).
 */
static uint64_t prng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
prng(void)
{
	uint64_t x = prng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return prng_state = x;
}

/* A value in [lo, hi] (hi - lo < 2^63). */
static int64_t
between(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(prng() % (uint64_t)(hi - lo + 1));
}

/* A line amount: mostly everyday prices, sometimes credits, sometimes
 * huge, sometimes the edges. */
static int64_t
random_amount(int64_t scale)
{
	switch (prng() % 10) {
	case 0:
		return -between(0, scale);
	case 1:
		return between(0, 3);
	case 2:
		return between(0, scale) * 1000003;
	default:
		return between(1, scale);
	}
}

#define PROP_ITERATIONS	200000
#define PROP_LINES	12

static void
test_discount_properties(void **state)
{
	struct core_coupon_terms ct;
	const char *seed = getenv("TALLY_PROP_SEED");
	int64_t	 a[PROP_LINES + 1], d, b, total, scale;
	__int128 subtotal, elig, exact, lines, want;
	int	 e[PROP_LINES + 1], rc;
	size_t	 n, i, iter, checked = 0;

	(void)state;
	if (seed != NULL && *seed != '\0')
		prng_state = strtoull(seed, NULL, 0) | 1;
	for (iter = 0; iter < PROP_ITERATIONS; iter++) {
		memset(&ct, 0, sizeof(ct));
		ct.duration = CORE_COUPON_ONCE;
		scale = prng() % 4 == 0 ? 100 : 100000;
		if (prng() % 2)
			ct.percent_off = between(1, 100);
		else
			ct.amount_off = prng() % 8 == 0 ? INT64_MAX :
			    between(1, scale * 3);
		n = (size_t)between(0, PROP_LINES);
		subtotal = elig = 0;
		for (i = 0; i < n; i++) {
			a[i] = random_amount(scale);
			e[i] = prng() % 3 != 0;
			subtotal += a[i];
			if (e[i])
				elig += a[i];
		}
		rc = core_coupon_discount(&ct, a, e, n, &d, &b);
		assert_int_equal(rc, TALLY_OK);
		/* Invoices are made only for a positive net; check the
		 * rule on every input all the same. */
		want = elig < subtotal ? elig : subtotal;
		if (want < 0)
			want = 0;
		if ((__int128)b != want)
			fail_msg("iteration %zu: discountable %lld", iter,
			    (long long)b);
		/* The discount never exceeds the discountable amount. */
		if (d < 0 || d > b)
			fail_msg("iteration %zu: discount %lld of %lld", iter,
			    (long long)d, (long long)b);
		/* No invoice total below zero. */
		total = (int64_t)(subtotal - d);
		if (subtotal > 0 && total < 0)
			fail_msg("iteration %zu: total %lld", iter,
			    (long long)total);
		/* The lines with the discount line sum to the total. */
		a[n] = -d;
		for (lines = 0, i = 0; i <= n; i++)
			lines += a[i];
		if (lines != (__int128)total)
			fail_msg("iteration %zu: lines do not sum to the total",
			    iter);
		/* Percent: within half a minor unit of the exact share,
		 * rounded half up. */
		if (ct.percent_off > 0) {
			exact = (__int128)b * ct.percent_off;
			if ((__int128)d * 100 - exact > 50 ||
			    exact - (__int128)d * 100 >= 50)
				fail_msg("iteration %zu: %lld%% of %lld gave %lld",
				    iter, (long long)ct.percent_off,
				    (long long)b, (long long)d);
		} else if (d != (ct.amount_off < b ? ct.amount_off : b))
			fail_msg("iteration %zu: fixed discount %lld", iter,
			    (long long)d);
		if (subtotal > 0)
			checked++;
	}
	/* The generator must have produced real invoices, not only noise. */
	assert_true(checked > PROP_ITERATIONS / 2);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_code_normalize),
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_applies),
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_discount_table),
		cmocka_unit_test(test_discount_errors),
		cmocka_unit_test(test_bonus),
		cmocka_unit_test(test_discount_properties),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
