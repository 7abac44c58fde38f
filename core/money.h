/* Money: int64 minor units with overflow-checked arithmetic. */
#ifndef CORE_MONEY_H
#define CORE_MONEY_H

#include <stddef.h>
#include <stdint.h>

/* *out = a + b; TALLY_OK or TALLY_E_OVERFLOW (then *out is untouched). */
int	 core_money_add(int64_t a, int64_t b, int64_t *out);
/* *out = a - b; TALLY_OK or TALLY_E_OVERFLOW. */
int	 core_money_sub(int64_t a, int64_t b, int64_t *out);
/* *out = a * b; TALLY_OK or TALLY_E_OVERFLOW. */
int	 core_money_mul(int64_t a, int64_t b, int64_t *out);

/*
 * Parse a whole decimal string (optional leading '-', digits only, no
 * spaces) into *out.  TALLY_OK, TALLY_E_INVALID or TALLY_E_OVERFLOW.
 */
int	 core_parse_int64(const char *s, int64_t *out);


/* Digits after the decimal point of an ISO 4217 currency (2 by default). */
int	 core_currency_exponent(const char *currency);

/*
 * Format minor units as a plain decimal string in currency: 12345 EUR is
 * "123.45", 5 JPY is "5", -1 EUR is "-0.01".  No floating point.
 * OUT: buf (at least 32 bytes).
 */
void	 core_money_format(int64_t minor, const char *currency, char *buf,
	    size_t bufsz);

/*
 * The one rounding rule: *out = round_half_up(value * num / den), computed
 * with a 128-bit intermediate, for value, num >= 0 and den > 0 (proration,
 * partial refunds).  TALLY_OK, TALLY_E_INVALID (negative input, den <= 0)
 * or TALLY_E_OVERFLOW (the result does not fit in int64).
 */
int	 core_money_muldiv(int64_t value, int64_t num, int64_t den,
	    int64_t *out);

/*
 * Parse a plain decimal amount ("5", "5.0", "12.34") in currency into
 * minor units; more decimals than the currency has (unless zeros), signs,
 * exponents and spaces are rejected.  TALLY_OK, TALLY_E_INVALID or
 * TALLY_E_OVERFLOW.
 */
int	 core_money_parse(const char *s, const char *currency, int64_t *minor);

#endif
