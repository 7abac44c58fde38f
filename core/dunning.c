/* Dunning schedules: parsing billing.dunning_days and the retry times. */
#include <string.h>

#include "dunning.h"
#include "money.h"
#include "result.h"

#define DAY	86400

int
core_dunning_parse(const char *s, int64_t *days, size_t max, size_t *n)
{
	char		 num[24];
	const char	*p = s, *e;
	size_t		 len;
	int64_t		 d;

	*n = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || strcmp(p, "none") == 0)
		return TALLY_OK;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		for (e = p; *e >= '0' && *e <= '9'; e++)
			;
		len = (size_t)(e - p);
		if (len == 0 || len >= sizeof(num))
			goto bad;
		memcpy(num, p, len);
		num[len] = '\0';
		if (core_parse_int64(num, &d) != TALLY_OK || d < 1 ||
		    d > CORE_DUNNING_DAY_MAX || *n == max ||
		    (*n > 0 && d <= days[*n - 1]))
			goto bad;
		days[(*n)++] = d;
		for (p = e; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0')
			return TALLY_OK;
		if (*p++ != ',')
			goto bad;
	}
bad:
	*n = 0;
	return TALLY_E_INVALID;
}

int64_t
core_dunning_due(const int64_t *days, size_t n, int64_t failed_at,
    int64_t expires_at, int64_t k)
{
	int64_t	 at;

	if (k < 1 || (uint64_t)k > n)
		return 0;
	/* days are at most CORE_DUNNING_DAY_MAX (parse checks), so only
	 * failed_at can push this out of range. */
	if (__builtin_add_overflow(failed_at, days[k - 1] * DAY, &at))
		return 0;
	if (expires_at != 0 && at >= expires_at)
		return 0;
	return at;
}

int64_t
core_dunning_count(const int64_t *days, size_t n, int64_t failed_at,
    int64_t expires_at)
{
	int64_t	 k;

	/* The schedule ascends: the first retry past the expiry ends it. */
	for (k = 1; (uint64_t)k <= n; k++)
		if (core_dunning_due(days, n, failed_at, expires_at, k) == 0)
			break;
	return k - 1;
}

int64_t
core_dunning_pick(const int64_t *days, size_t n, int64_t failed_at,
    int64_t expires_at, int64_t made, int64_t now)
{
	int64_t	 k, at, pick = 0;

	for (k = made < 0 ? 1 : made + 1; (uint64_t)k <= n; k++) {
		at = core_dunning_due(days, n, failed_at, expires_at, k);
		if (at == 0 || at > now)
			break;
		pick = k;
	}
	return pick;
}

int64_t
core_dunning_next(const int64_t *days, size_t n, int64_t failed_at,
    int64_t expires_at, int64_t made)
{
	return core_dunning_due(days, n, failed_at, expires_at,
	    made < 0 ? 1 : made + 1);
}
