/* Overflow-checked integer money arithmetic and the one integer parser. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "result.h"

int
core_money_add(int64_t a, int64_t b, int64_t *out)
{
	int64_t	 r;

	if (__builtin_add_overflow(a, b, &r))
		return TALLY_E_OVERFLOW;
	*out = r;
	return TALLY_OK;
}

int
core_money_sub(int64_t a, int64_t b, int64_t *out)
{
	int64_t	 r;

	if (__builtin_sub_overflow(a, b, &r))
		return TALLY_E_OVERFLOW;
	*out = r;
	return TALLY_OK;
}

int
core_money_mul(int64_t a, int64_t b, int64_t *out)
{
	int64_t	 r;

	if (__builtin_mul_overflow(a, b, &r))
		return TALLY_E_OVERFLOW;
	*out = r;
	return TALLY_OK;
}

int
core_parse_int64(const char *s, int64_t *out)
{
	const char	*p = s;
	char		*end;
	long long	 v;

	if (s == NULL || *p == '\0')
		return TALLY_E_INVALID;
	if (*p == '-')
		p++;
	/* strtoll accepts spaces, '+' and "0x"; the API does not. */
	if (*p < '0' || *p > '9')
		return TALLY_E_INVALID;
	for (; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return TALLY_E_INVALID;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return TALLY_E_OVERFLOW;
	if (*end != '\0')
		return TALLY_E_INVALID;
	*out = (int64_t)v;
	return TALLY_OK;
}

int
core_currency_exponent(const char *cur)
{
	static const char *const zero[] = { "BIF", "CLP", "DJF", "GNF", "ISK",
	    "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
	    "XAF", "XOF", "XPF" };
	static const char *const three[] = { "BHD", "IQD", "JOD", "KWD", "LYD",
	    "OMR", "TND" };
	size_t	 i;

	for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		if (strcmp(cur, zero[i]) == 0)
			return 0;
	for (i = 0; i < sizeof(three) / sizeof(three[0]); i++)
		if (strcmp(cur, three[i]) == 0)
			return 3;
	return 2;
}

void
core_money_format(int64_t minor, const char *currency, char *buf,
    size_t bufsz)
{
	uint64_t	 mag, scale = 1;
	int		 exp = core_currency_exponent(currency), i;

	/* The magnitude of INT64_MIN does not fit in int64_t. */
	mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
	for (i = 0; i < exp; i++)
		scale *= 10;
	if (exp == 0)
		snprintf(buf, bufsz, "%s%llu", minor < 0 ? "-" : "",
		    (unsigned long long)mag);
	else
		snprintf(buf, bufsz, "%s%llu.%0*llu", minor < 0 ? "-" : "",
		    (unsigned long long)(mag / scale), exp,
		    (unsigned long long)(mag % scale));
}

int
core_money_muldiv(int64_t value, int64_t num, int64_t den, int64_t *out)
{
	__int128	 p, q, r;

	if (value < 0 || num < 0 || den <= 0)
		return TALLY_E_INVALID;
	p = (__int128)value * num;
	q = p / den;
	r = p % den;
	/* Half up: a remainder of at least half the divisor rounds up. */
	if (2 * r >= den)
		q++;
	if (q > INT64_MAX)
		return TALLY_E_OVERFLOW;
	*out = (int64_t)q;
	return TALLY_OK;
}

int
core_money_parse(const char *s, const char *currency, int64_t *minor)
{
	int64_t		 v = 0;
	int		 exp = core_currency_exponent(currency), frac = -1;
	int		 digits = 0;

	if (s == NULL || *s == '\0')
		return TALLY_E_INVALID;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (frac >= 0 || digits == 0)
				return TALLY_E_INVALID;
			frac = 0;
			continue;
		}
		if (*s < '0' || *s > '9')
			return TALLY_E_INVALID;
		if (frac >= 0 && ++frac > exp) {
			/* Extra decimals are allowed only as zeros. */
			if (*s != '0')
				return TALLY_E_INVALID;
			continue;
		}
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, *s - '0', &v))
			return TALLY_E_OVERFLOW;
		digits++;
	}
	if (frac == 0)
		return TALLY_E_INVALID;	/* "5." */
	for (frac = frac < 0 ? 0 : (frac > exp ? exp : frac); frac < exp;
	    frac++)
		if (__builtin_mul_overflow(v, 10, &v))
			return TALLY_E_OVERFLOW;
	*minor = v;
	return TALLY_OK;
}
