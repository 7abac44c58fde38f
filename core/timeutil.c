/* UTC calendar arithmetic (Howard Hinnant's days-from-civil algorithms). */
#include <stdio.h>
#include <string.h>

#include "result.h"
#include "timeutil.h"

#define TIME_MIN	(-62135596800LL)	/* 0001-01-01T00:00:00Z */
#define TIME_MAX	(253402300799LL)	/* 9999-12-31T23:59:59Z */
#define CIVIL_LIMIT	(31556952000000LL)	/* a million years */

/* Floor division: C's / truncates toward zero. */
static int64_t
fdiv(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int64_t
core_days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = fdiv(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
core_civil_from_time(int64_t t, struct core_civil *c)
{
	int64_t	 z, era, doe, yoe, doy, mp, secs;

	/* A million years either way is far past anything billed; clamping
	 * there keeps every step below from overflowing. */
	if (t < -CIVIL_LIMIT)
		t = -CIVIL_LIMIT;
	else if (t > CIVIL_LIMIT)
		t = CIVIL_LIMIT;
	secs = t % 86400;
	if (secs < 0)
		secs += 86400;
	z = (t - secs) / 86400;
	z += 719468;
	era = fdiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->year = yoe + era * 400 + (c->month <= 2);
	c->hour = (int)(secs / 3600);
	c->min = (int)(secs % 3600 / 60);
	c->sec = (int)(secs % 60);
}

int64_t
core_time_from_civil(const struct core_civil *c)
{
	return core_days_from_civil(c->year, c->month, c->day) * 86400 +
	    c->hour * 3600 + c->min * 60 + c->sec;
}

int
core_days_in_month(int64_t y, int m)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int	 leap;

	if (m < 1 || m > 12)
		return 0;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 ? 28 + leap : days[m - 1];
}

/* Read exactly n digits at *p into *v. */
static int
digits(const char **p, int n, int *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

int
core_time_parse_iso(const char *s, int64_t *t)
{
	struct core_civil c;
	const char	*p = s;
	int		 y, v;

	memset(&c, 0, sizeof(c));
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &c.month) ||
	    *p++ != '-' || digits(&p, 2, &c.day))
		return TALLY_E_INVALID;
	c.year = y;
	if (c.month < 1 || c.month > 12 || c.day < 1 ||
	    c.day > core_days_in_month(c.year, c.month))
		return TALLY_E_INVALID;
	if (*p != '\0') {
		if (*p != 'T' && *p != ' ')
			return TALLY_E_INVALID;
		p++;
		if (digits(&p, 2, &c.hour) || *p++ != ':' ||
		    digits(&p, 2, &c.min) || *p++ != ':' ||
		    digits(&p, 2, &c.sec))
			return TALLY_E_INVALID;
		if (c.hour > 23 || c.min > 59 || c.sec > 59)
			return TALLY_E_INVALID;
		if (*p == '.') {	/* fractions are accepted and dropped */
			p++;
			if (digits(&p, 1, &v))
				return TALLY_E_INVALID;
			while (*p >= '0' && *p <= '9')
				p++;
		}
		if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
			return TALLY_E_INVALID;
	}
	*t = core_time_from_civil(&c);
	return TALLY_OK;
}

/* v (0-99) as two decimal digits at p. */
static void
two_digits(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

void
core_time_format_iso(int64_t t, char *buf, size_t bufsz)
{
	struct core_civil c;
	int		 y;

	core_civil_from_time(t, &c);
	if (c.year < 0 || c.year > 9999 || bufsz < 21) {
		snprintf(buf, bufsz, "%04lld-%02d-%02dT%02d:%02d:%02dZ",
		    (long long)c.year, c.month, c.day, c.hour, c.min, c.sec);
		return;
	}
	/* Digit by digit: every timestamp of every JSON answer comes
	 * through here, and snprintf parses its format each time. */
	y = (int)c.year;
	two_digits(buf, y / 100);
	two_digits(buf + 2, y % 100);
	buf[4] = '-';
	two_digits(buf + 5, c.month);
	buf[7] = '-';
	two_digits(buf + 8, c.day);
	buf[10] = 'T';
	two_digits(buf + 11, c.hour);
	buf[13] = ':';
	two_digits(buf + 14, c.min);
	buf[16] = ':';
	two_digits(buf + 17, c.sec);
	buf[19] = 'Z';
	buf[20] = '\0';
}

int
core_time_add_months(int64_t anchor, int64_t n, int64_t *out)
{
	struct core_civil c;
	int64_t		 m0, ay;
	int		 dim, aday;

	/* Years 1 to 9999 are all a bill needs, and keep every step below
	 * far from int64's limits. */
	if (n < -120000 || n > 120000 || anchor < TIME_MIN || anchor > TIME_MAX)
		return TALLY_E_OVERFLOW;
	core_civil_from_time(anchor, &c);
	aday = c.day;
	m0 = c.year * 12 + (c.month - 1) + n;
	ay = fdiv(m0, 12);
	if (ay < 1 || ay > 9999)
		return TALLY_E_OVERFLOW;
	c.year = ay;
	c.month = (int)(m0 - ay * 12) + 1;
	dim = core_days_in_month(c.year, c.month);
	c.day = aday > dim ? dim : aday;
	*out = core_time_from_civil(&c);
	return TALLY_OK;
}

static int
parse_day(const char *s, int64_t *t)
{
	return strlen(s) == 10 ? core_time_parse_iso(s, t) : TALLY_E_INVALID;
}

int
core_day_range(const char *from, const char *to, int64_t now,
    int default_days, int max_days, int64_t *f, int64_t *t,
    const char **field)
{
	int64_t	 a, b;

	*field = NULL;
	if (to != NULL && *to != '\0') {
		if (parse_day(to, &b) != TALLY_OK) {
			*field = "to";
			return TALLY_E_INVALID;
		}
	} else
		b = now - ((now % 86400) + 86400) % 86400;
	if (from != NULL && *from != '\0') {
		if (parse_day(from, &a) != TALLY_OK) {
			*field = "from";
			return TALLY_E_INVALID;
		}
	} else
		a = b - (int64_t)(default_days - 1) * 86400;
	if (a > b || (b - a) / 86400 + 1 > max_days) {
		*field = "range";
		return TALLY_E_INVALID;
	}
	*f = a;
	*t = b;
	return TALLY_OK;
}
