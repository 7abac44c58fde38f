/* Human-readable text for each result code. */
#include "result.h"

static const char *const texts[TALLY__MAX] = {
	[TALLY_OK] = "ok",
	[TALLY_E_NOMEM] = "out of memory",
	[TALLY_E_INVALID] = "invalid request",
	[TALLY_E_JSON] = "body is not valid JSON",
	[TALLY_E_UNAUTHORIZED] = "unauthorized",
	[TALLY_E_INSUFFICIENT] = "insufficient credits",
	[TALLY_E_INACTIVE] = "subscription inactive",
	[TALLY_E_FORBIDDEN] = "forbidden",
	[TALLY_E_NOTFOUND] = "not found",
	[TALLY_E_METHOD] = "method not allowed",
	[TALLY_E_CONFLICT] = "conflict",
	[TALLY_E_TOOBIG] = "too large",
	[TALLY_E_MEDIA] = "unsupported media type",
	[TALLY_E_RATELIMIT] = "rate limited",
	[TALLY_E_INTERNAL] = "internal error",
	[TALLY_E_UNAVAILABLE] = "database unavailable",
	[TALLY_E_OVERFLOW] = "integer overflow",
	[TALLY_E_SIGNATURE] = "invalid signature",
	[TALLY_E_RETRY] = "transaction must be retried",
	[TALLY_E_DUPLICATE] = "duplicate key",
	[TALLY_E_CONFIG] = "configuration error",
	[TALLY_E_EXPIRED] = "token expired",
	[TALLY_E_NOTYET] = "token not yet valid",
	[TALLY_E_IO] = "I/O error",
	[TALLY_E_PROVIDER] = "payment provider error",
	[TALLY_E_PAYMENT] = "payment declined",
	[TALLY_E_QUOTA] = "quota exceeded",
	[TALLY_E_COUPON_UNKNOWN] = "unknown coupon",
	[TALLY_E_COUPON_INACTIVE] = "coupon deactivated",
	[TALLY_E_COUPON_EXPIRED] = "coupon expired",
	[TALLY_E_COUPON_EXHAUSTED] = "coupon used up",
	[TALLY_E_COUPON_INAPPLICABLE] = "coupon not applicable",
	[TALLY_E_COUPON_REDEEMED] = "coupon redeemed already",
	[TALLY_E_COUPON_APPLIED] = "a coupon is applied already",
};

const char *
core_strerror(int rc)
{
	if (rc < 0 || rc >= TALLY__MAX || texts[rc] == 0)
		return "unknown error";
	return texts[rc];
}
