/* Calendar arithmetic in UTC on Unix seconds, without libc time zones. */
#ifndef CORE_TIMEUTIL_H
#define CORE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

struct core_civil {
	int64_t	 year;
	int	 month;		/* 1..12 */
	int	 day;		/* 1..31 */
	int	 hour, min, sec;
};

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t	 core_days_from_civil(int64_t y, int m, int d);
/* Unix seconds to a civil UTC time (clamped a million years either
 * way of 1970). OUT: *c. */
void	 core_civil_from_time(int64_t t, struct core_civil *c);
/* A civil UTC time to Unix seconds (fields must be in range). */
int64_t	 core_time_from_civil(const struct core_civil *c);
int	 core_days_in_month(int64_t year, int month);

/*
 * Parse "YYYY-MM-DDTHH:MM:SSZ" (also "+00:00", or a bare date meaning
 * midnight).  TALLY_OK or TALLY_E_INVALID.  OUT: *t.
 */
int	 core_time_parse_iso(const char *s, int64_t *t);
/* Format as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
void	 core_time_format_iso(int64_t t, char *buf, size_t bufsz);

/*
 * The time n calendar months after anchor, keeping the anchor's day of
 * month, clamped to the month's last day (Jan 31 + 1 = Feb 28/29, + 2 =
 * Mar 31), and its time of day.  TALLY_OK, or TALLY_E_OVERFLOW outside
 * the years 1 to 9999.  OUT: *out.
 */
int	 core_time_add_months(int64_t anchor, int64_t n, int64_t *out);

/*
 * The inclusive range of UTC days a statistics query names: from and to
 * as "YYYY-MM-DD", each optional (NULL or ""): to defaults to now's day,
 * from to default_days - 1 days before to.  TALLY_OK with *f and *t the
 * midnights of the first and last day, or TALLY_E_INVALID with *field
 * naming what is wrong: "from" or "to" (not a date), "range" (from after
 * to, or more than max_days days).
 */
int	 core_day_range(const char *from, const char *to, int64_t now,
	    int default_days, int max_days, int64_t *f, int64_t *t,
	    const char **field);

#endif
