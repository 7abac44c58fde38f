/* Coupon rules: codes, terms, and the discount and bonus arithmetic (no I/O). */
#ifndef CORE_COUPON_H
#define CORE_COUPON_H

#include <stddef.h>
#include <stdint.h>

#define CORE_COUPON_CODE_MAX	32	/* characters of a code */
#define CORE_COUPON_TARGETS_MAX	4000	/* bytes of the applies_to list */

enum core_coupon_duration {
	CORE_COUPON_ONCE,	/* one billing period */
	CORE_COUPON_REPEATING,	/* duration_periods billing periods */
	CORE_COUPON_FOREVER
};

/* What a coupon takes off: exactly one of percent_off, amount_off is > 0. */
struct core_coupon_terms {
	int64_t	 percent_off;	/* 1..100, or 0 */
	int64_t	 amount_off;	/* minor units (credits on a purchase), or 0 */
	int	 duration;	/* enum core_coupon_duration */
	int64_t	 duration_periods;	/* CORE_COUPON_REPEATING: >= 1 */
};

/*
 * The stored form of what a person typed: surrounding spaces dropped,
 * ASCII letters in capitals; 1 to 32 of A-Z, 0-9, '-' and '_'.  OUT: code
 * (CORE_COUPON_CODE_MAX + 1 bytes) as shown, key (the same size) what is
 * compared: code without dashes, so "summer-20", "SUMMER20" and
 * " Summer-20 " are one coupon.  TALLY_OK or TALLY_E_INVALID.
 */
int	 core_coupon_code_normalize(const char *in, char *code, char *key);

/* "once", "repeating", "forever" -> enum; -1 when unknown. */
int	 core_coupon_duration_parse(const char *);
const char *core_coupon_duration_name(int);

/*
 * Whether a coupon is usable at now: TALLY_OK, or TALLY_E_COUPON_INACTIVE
 * (deactivated), TALLY_E_COUPON_EXPIRED (expires_at, when not 0, is at or
 * before now), TALLY_E_COUPON_EXHAUSTED (max_redemptions, when >= 0, all
 * used).  In that order of precedence.
 */
int	 core_coupon_usable(int active, int64_t expires_at,
	    int64_t max_redemptions, int64_t times_redeemed, int64_t now);

/*
 * Whether target ("product:pro", "plan:relay_basic", "package:starter")
 * is in the space-separated list applies_to; an empty list holds every
 * target.  1 or 0.
 */
int	 core_coupon_applies(const char *applies_to, const char *target);

/*
 * Whether a redemption that has discounted periods_used billing periods,
 * the last starting at last_period, discounts an invoice for the period
 * starting at period: the same period again always (a reissue, a second
 * usage invoice of the month); a new one while periods remain.  1 or 0.
 * OUT: *new_period (1 when period counts as one more).
 */
int	 core_coupon_covers(const struct core_coupon_terms *,
	    int64_t periods_used, int64_t last_period, int64_t period,
	    int *new_period);

/*
 * THE DISCOUNT RULE, the one place it is written.  One discount line per
 * invoice and redemption, computed on the whole invoice (not per line):
 *
 *   subtotal      = the sum of all n lines (credits are negative lines)
 *   eligible      = the sum of the lines the coupon applies to
 *                   (eligible[i] != 0), credits of those included
 *   discountable  = max(0, min(eligible, subtotal))
 *   percent_off:    discount = round_half_up(discountable * percent / 100)
 *                   (core_money_muldiv, exact with a 128-bit product)
 *   amount_off:     discount = min(amount_off, discountable)
 *
 * so 0 <= discount <= discountable <= max(0, subtotal): the invoice total
 * subtotal - discount is never below zero (it is 0 when the coupon takes
 * all), and a percent discount is within half a minor unit of the exact
 * share.  Rounding once per invoice rather than per line keeps that
 * bound for the invoice as a whole.
 * TALLY_OK, TALLY_E_INVALID (bad terms) or TALLY_E_OVERFLOW (the lines'
 * sum does not fit in int64).  OUT: *discount (>= 0), *discountable.
 */
int	 core_coupon_discount(const struct core_coupon_terms *,
	    const int64_t *amounts, const int *eligible, size_t n,
	    int64_t *discount, int64_t *discountable);

/*
 * The bonus credits a coupon adds to a purchase of credits (> 0):
 * round_half_up(credits * percent / 100), or amount_off credits.
 * TALLY_OK, TALLY_E_INVALID or TALLY_E_OVERFLOW.  OUT: *bonus.
 */
int	 core_coupon_bonus(const struct core_coupon_terms *, int64_t credits,
	    int64_t *bonus);

/* TALLY_OK when the terms are well formed, else TALLY_E_INVALID. */
int	 core_coupon_terms_valid(const struct core_coupon_terms *);

#endif
