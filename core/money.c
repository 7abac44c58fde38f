/* Overflow-checked integer money arithmetic and the one integer parser. */
#include <errno.h>
#include <stdlib.h>

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
