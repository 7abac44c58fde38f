/* Unit tests for core/money.c: checked arithmetic and the integer parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "money.h"
#include "result.h"

/* Left in *out by a call that must not write it. */
#define SENTINEL	((int64_t)0x5a5a5a5a5a5a5a5a)

enum op {
	OP_ADD,
	OP_SUB,
	OP_MUL
};

struct arith {
	enum op	 op;
	int64_t	 a, b;
	int	 want;
	int64_t	 res;		/* when want == TALLY_OK */
};

static const char *
opname(enum op op)
{
	return op == OP_ADD ? "+" : op == OP_SUB ? "-" : "*";
}

static void
run_arith(const struct arith *c, size_t n)
{
	int64_t	 out;
	size_t	 i;
	int	 rc;

	for (i = 0; i < n; i++) {
		out = SENTINEL;
		switch (c[i].op) {
		case OP_ADD:
			rc = core_money_add(c[i].a, c[i].b, &out);
			break;
		case OP_SUB:
			rc = core_money_sub(c[i].a, c[i].b, &out);
			break;
		default:
			rc = core_money_mul(c[i].a, c[i].b, &out);
			break;
		}
		if (rc != c[i].want)
			fail_msg("case %zu: %lld %s %lld: rc %d, want %d", i,
			    (long long)c[i].a, opname(c[i].op),
			    (long long)c[i].b, rc, c[i].want);
		if (rc == TALLY_OK && out != c[i].res)
			fail_msg("case %zu: %lld %s %lld = %lld, want %lld", i,
			    (long long)c[i].a, opname(c[i].op),
			    (long long)c[i].b, (long long)out,
			    (long long)c[i].res);
		/* On overflow *out is left untouched. */
		if (rc != TALLY_OK && out != SENTINEL)
			fail_msg("case %zu: *out written on overflow", i);
	}
}

static void
test_add(void **state)
{
	static const struct arith	 cases[] = {
		{ OP_ADD, 0, 0, TALLY_OK, 0 },
		{ OP_ADD, 1, 0, TALLY_OK, 1 },
		{ OP_ADD, 0, 1, TALLY_OK, 1 },
		{ OP_ADD, 1, 1, TALLY_OK, 2 },
		{ OP_ADD, -1, 1, TALLY_OK, 0 },
		{ OP_ADD, 500, -1800, TALLY_OK, -1300 },
		{ OP_ADD, INT64_MAX, 0, TALLY_OK, INT64_MAX },
		{ OP_ADD, INT64_MAX - 1, 1, TALLY_OK, INT64_MAX },
		{ OP_ADD, INT64_MAX, 1, TALLY_E_OVERFLOW, 0 },
		{ OP_ADD, 1, INT64_MAX, TALLY_E_OVERFLOW, 0 },
		{ OP_ADD, INT64_MAX, INT64_MAX, TALLY_E_OVERFLOW, 0 },
		{ OP_ADD, INT64_MAX, INT64_MIN, TALLY_OK, -1 },
		{ OP_ADD, INT64_MIN, 0, TALLY_OK, INT64_MIN },
		{ OP_ADD, INT64_MIN, -1, TALLY_E_OVERFLOW, 0 },
		{ OP_ADD, -1, INT64_MIN, TALLY_E_OVERFLOW, 0 },
		{ OP_ADD, INT64_MIN, INT64_MIN, TALLY_E_OVERFLOW, 0 },
		{ OP_ADD, INT64_MIN + 1, -1, TALLY_OK, INT64_MIN },
	};

	(void)state;
	run_arith(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_sub(void **state)
{
	static const struct arith	 cases[] = {
		{ OP_SUB, 0, 0, TALLY_OK, 0 },
		{ OP_SUB, 1, 0, TALLY_OK, 1 },
		{ OP_SUB, 0, 1, TALLY_OK, -1 },
		{ OP_SUB, 1, 1, TALLY_OK, 0 },
		{ OP_SUB, 500, 1800, TALLY_OK, -1300 },
		{ OP_SUB, INT64_MAX, 0, TALLY_OK, INT64_MAX },
		{ OP_SUB, INT64_MAX, INT64_MAX, TALLY_OK, 0 },
		{ OP_SUB, INT64_MAX, -1, TALLY_E_OVERFLOW, 0 },
		{ OP_SUB, 0, INT64_MIN, TALLY_E_OVERFLOW, 0 },
		{ OP_SUB, -1, INT64_MIN, TALLY_OK, INT64_MAX },
		{ OP_SUB, 0, INT64_MAX, TALLY_OK, -INT64_MAX },
		{ OP_SUB, -1, INT64_MAX, TALLY_OK, INT64_MIN },
		{ OP_SUB, -2, INT64_MAX, TALLY_E_OVERFLOW, 0 },
		{ OP_SUB, INT64_MIN, 1, TALLY_E_OVERFLOW, 0 },
		{ OP_SUB, INT64_MIN, 0, TALLY_OK, INT64_MIN },
		{ OP_SUB, INT64_MIN, INT64_MIN, TALLY_OK, 0 },
		{ OP_SUB, INT64_MIN, INT64_MAX, TALLY_E_OVERFLOW, 0 },
	};

	(void)state;
	run_arith(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_mul(void **state)
{
	static const struct arith	 cases[] = {
		{ OP_MUL, 0, 0, TALLY_OK, 0 },
		{ OP_MUL, 1, 0, TALLY_OK, 0 },
		{ OP_MUL, 0, INT64_MAX, TALLY_OK, 0 },
		{ OP_MUL, INT64_MIN, 0, TALLY_OK, 0 },
		{ OP_MUL, 1, 1, TALLY_OK, 1 },
		{ OP_MUL, 30, 12, TALLY_OK, 360 },
		{ OP_MUL, -30, 12, TALLY_OK, -360 },
		{ OP_MUL, INT64_MAX, 1, TALLY_OK, INT64_MAX },
		{ OP_MUL, INT64_MAX, -1, TALLY_OK, -INT64_MAX },
		{ OP_MUL, INT64_MIN, 1, TALLY_OK, INT64_MIN },
		{ OP_MUL, INT64_MIN, -1, TALLY_E_OVERFLOW, 0 },
		{ OP_MUL, -1, INT64_MIN, TALLY_E_OVERFLOW, 0 },
		{ OP_MUL, INT64_MAX, 2, TALLY_E_OVERFLOW, 0 },
		{ OP_MUL, INT64_MAX / 2, 2, TALLY_OK, INT64_MAX - 1 },
		{ OP_MUL, INT64_MAX / 2 + 1, 2, TALLY_E_OVERFLOW, 0 },
		{ OP_MUL, INT64_MIN / 2, 2, TALLY_OK, INT64_MIN },
		{ OP_MUL, INT64_MIN / 2 - 1, 2, TALLY_E_OVERFLOW, 0 },
		/* 2^32 * 2^31 = 2^63, one past INT64_MAX. */
		{ OP_MUL, INT64_C(4294967296), INT64_C(2147483648),
		    TALLY_E_OVERFLOW, 0 },
		{ OP_MUL, INT64_C(4294967296), -INT64_C(2147483648), TALLY_OK,
		    INT64_MIN },
		{ OP_MUL, INT64_C(3037000499), INT64_C(3037000499), TALLY_OK,
		    INT64_C(9223372030926249001) },
		{ OP_MUL, INT64_C(3037000500), INT64_C(3037000500),
		    TALLY_E_OVERFLOW, 0 },
		{ OP_MUL, INT64_C(1000000000000), INT64_C(1000000000000),
		    TALLY_E_OVERFLOW, 0 },
		{ OP_MUL, INT64_MAX, INT64_MAX, TALLY_E_OVERFLOW, 0 },
		{ OP_MUL, INT64_MIN, INT64_MIN, TALLY_E_OVERFLOW, 0 },
	};

	(void)state;
	run_arith(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_parse_int64(void **state)
{
	static const struct {
		const char	*s;
		int		 want;
		int64_t		 res;
	} cases[] = {
		{ "0", TALLY_OK, 0 },
		{ "-0", TALLY_OK, 0 },
		{ "1", TALLY_OK, 1 },
		{ "-1", TALLY_OK, -1 },
		{ "00", TALLY_OK, 0 },
		{ "007", TALLY_OK, 7 },
		{ "2900", TALLY_OK, 2900 },
		{ "9223372036854775807", TALLY_OK, INT64_MAX },
		{ "-9223372036854775807", TALLY_OK, -INT64_MAX },
		{ "-9223372036854775808", TALLY_OK, INT64_MIN },
		{ "0000000000000000000000000000009223372036854775807",
		    TALLY_OK, INT64_MAX },
		{ "9223372036854775808", TALLY_E_OVERFLOW, 0 },
		{ "-9223372036854775809", TALLY_E_OVERFLOW, 0 },
		{ "18446744073709551616", TALLY_E_OVERFLOW, 0 },
		{ "99999999999999999999999999999999999999", TALLY_E_OVERFLOW,
		    0 },
		{ "", TALLY_E_INVALID, 0 },
		{ "-", TALLY_E_INVALID, 0 },
		{ "--1", TALLY_E_INVALID, 0 },
		{ "+1", TALLY_E_INVALID, 0 },
		{ "+", TALLY_E_INVALID, 0 },
		{ " 1", TALLY_E_INVALID, 0 },
		{ "\t1", TALLY_E_INVALID, 0 },
		{ "1 ", TALLY_E_INVALID, 0 },
		{ "1\n", TALLY_E_INVALID, 0 },
		{ "- 1", TALLY_E_INVALID, 0 },
		{ "0x10", TALLY_E_INVALID, 0 },
		{ "1e3", TALLY_E_INVALID, 0 },
		{ "1.0", TALLY_E_INVALID, 0 },
		{ "1,000", TALLY_E_INVALID, 0 },
		{ "1_000", TALLY_E_INVALID, 0 },
		{ "12a", TALLY_E_INVALID, 0 },
		{ "a12", TALLY_E_INVALID, 0 },
		{ "1-", TALLY_E_INVALID, 0 },
		{ "\xd9\xa1", TALLY_E_INVALID, 0 },	/* ARABIC-INDIC ONE */
		{ "9223372036854775808x", TALLY_E_INVALID, 0 },
	};
	int64_t	 out;
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = SENTINEL;
		rc = core_parse_int64(cases[i].s, &out);
		if (rc != cases[i].want)
			fail_msg("\"%s\": rc %d, want %d", cases[i].s, rc,
			    cases[i].want);
		if (rc == TALLY_OK && out != cases[i].res)
			fail_msg("\"%s\": %lld, want %lld", cases[i].s,
			    (long long)out, (long long)cases[i].res);
		if (rc != TALLY_OK && out != SENTINEL)
			fail_msg("\"%s\": *out written on failure", cases[i].s);
	}

	/* NULL is invalid input, not a crash. */
	out = SENTINEL;
	assert_int_equal(core_parse_int64(NULL, &out), TALLY_E_INVALID);
	assert_true(out == SENTINEL);
}

/* An oversized string of digits: overflow; of zeros: zero. */
static void
test_parse_int64_long(void **state)
{
	char	 buf[4096];
	int64_t	 out;

	(void)state;
	memset(buf, '9', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	assert_int_equal(core_parse_int64(buf, &out), TALLY_E_OVERFLOW);
	buf[0] = '-';
	assert_int_equal(core_parse_int64(buf, &out), TALLY_E_OVERFLOW);

	memset(buf, '0', sizeof(buf) - 1);
	buf[sizeof(buf) - 2] = '1';
	out = SENTINEL;
	assert_int_equal(core_parse_int64(buf, &out), TALLY_OK);
	assert_true(out == 1);

	buf[100] = 'x';
	assert_int_equal(core_parse_int64(buf, &out), TALLY_E_INVALID);
}

/* Every value printed with %lld parses back to itself. */
static void
test_parse_int64_roundtrip(void **state)
{
	static const int64_t	 vals[] = {
		0, 1, -1, 9, 10, 99, 100, 2900, -2900, INT32_MAX,
		(int64_t)INT32_MAX + 1, INT32_MIN, (int64_t)INT32_MIN - 1,
		INT64_MAX, INT64_MAX - 1, INT64_MIN, INT64_MIN + 1,
	};
	char	 buf[32];
	int64_t	 out;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		snprintf(buf, sizeof(buf), "%lld", (long long)vals[i]);
		assert_int_equal(core_parse_int64(buf, &out), TALLY_OK);
		if (out != vals[i])
			fail_msg("%s parsed as %lld", buf, (long long)out);
	}
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_sub),
		cmocka_unit_test(test_mul),
		cmocka_unit_test(test_parse_int64),
		cmocka_unit_test(test_parse_int64_long),
		cmocka_unit_test(test_parse_int64_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
