/* libFuzzer harness: money parsing, formatting and checked arithmetic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "money.h"
#include "result.h"

/* core_parse_int64 worked out with a 128-bit accumulator. */
static int
ref_int64(const char *s, int64_t *out)
{
	__int128	 v = 0;
	int		 neg = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s == '\0')
		return TALLY_E_INVALID;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return TALLY_E_INVALID;
		if (v <= (__int128)INT64_MAX + 1)
			v = v * 10 + (*s - '0');
	}
	if (neg)
		v = -v;
	if (v > INT64_MAX || v < INT64_MIN)
		return TALLY_E_OVERFLOW;
	*out = (int64_t)v;
	return TALLY_OK;
}

static void
check_string(const char *s)
{
	static const char *const cur[] = { "EUR", "JPY", "KWD", "" };
	char	 buf[32];
	int64_t	 a = 0, b = 0, m, back;
	size_t	 i;
	int	 r1, r2;

	r1 = core_parse_int64(s, &a);
	r2 = ref_int64(s, &b);
	if (r1 != r2 || (r1 == TALLY_OK && a != b))
		abort();
	for (i = 0; i < sizeof(cur) / sizeof(cur[0]); i++) {
		r1 = core_money_parse(s, cur[i], &m);
		if (r1 != TALLY_OK)
			continue;
		if (m < 0 || strchr(s, '-') != NULL)
			abort();
		/* Formatted and parsed again, the same amount. */
		core_money_format(m, cur[i], buf, sizeof(buf));
		if (core_money_parse(buf, cur[i], &back) != TALLY_OK ||
		    back != m)
			abort();
	}
}

static void
check_numbers(int64_t a, int64_t b, int64_t c)
{
	static const char *const cur[] = { "EUR", "JPY", "KWD" };
	__int128	 p, q, r;
	char		 buf[32], small[8];
	int64_t		 out, want, back;
	size_t		 i;
	int		 rc;

	out = 7;
	rc = core_money_add(a, b, &out);
	if ((rc == TALLY_OK) == __builtin_add_overflow(a, b, &want) ||
	    (rc == TALLY_OK && out != want) || (rc != TALLY_OK && out != 7))
		abort();
	rc = core_money_sub(a, b, &out);
	if ((rc == TALLY_OK) == __builtin_sub_overflow(a, b, &want) ||
	    (rc == TALLY_OK && out != want))
		abort();
	rc = core_money_mul(a, b, &out);
	if ((rc == TALLY_OK) == __builtin_mul_overflow(a, b, &want) ||
	    (rc == TALLY_OK && out != want))
		abort();

	rc = core_money_muldiv(a, b, c, &out);
	if (a < 0 || b < 0 || c <= 0) {
		if (rc != TALLY_E_INVALID)
			abort();
	} else {
		p = (__int128)a * b;
		q = p / c;
		r = p - q * c;
		if (r * 2 >= c)
			q++;
		if ((q > INT64_MAX) != (rc == TALLY_E_OVERFLOW) ||
		    (rc == TALLY_OK && out != (int64_t)q))
			abort();
	}

	for (i = 0; i < sizeof(cur) / sizeof(cur[0]); i++) {
		core_money_format(a, cur[i], buf, sizeof(buf));
		if (strlen(buf) >= sizeof(buf) - 1)
			abort();
		/* The magnitude reads back, also for INT64_MIN's. */
		if (a >= 0 && (core_money_parse(buf, cur[i], &back) !=
		    TALLY_OK || back != a))
			abort();
		if (a < 0 && (buf[0] != '-' || (a > INT64_MIN &&
		    (core_money_parse(buf + 1, cur[i], &back) != TALLY_OK ||
		    back != -a))))
			abort();
		core_money_format(a, cur[i], small, sizeof(small));
		if (strlen(small) >= sizeof(small))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t	 v[3] = { 0, 0, 1 };
	char	*s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_string(s);
	free(s);
	memcpy(v, data, size < sizeof(v) ? size : sizeof(v));
	check_numbers(v[0], v[1], v[2]);
	return 0;
}
