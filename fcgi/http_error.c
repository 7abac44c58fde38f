/* The one table from result codes to HTTP status and API error code. */
#include "core/result.h"
#include "fcgi/http.h"

struct http_error {
	int		 status;
	const char	*code;
	const char	*message;
};

static const struct http_error errors[TALLY__MAX] = {
	[TALLY_OK] = { 200, "ok", "ok" },
	[TALLY_E_NOMEM] = { 500, "internal_error", "out of memory" },
	[TALLY_E_INVALID] = { 400, "invalid_request", "invalid request" },
	[TALLY_E_JSON] = { 400, "invalid_json", "body is not valid JSON" },
	[TALLY_E_UNAUTHORIZED] = { 401, "unauthorized",
	    "missing or invalid credentials" },
	[TALLY_E_INSUFFICIENT] = { 402, "insufficient_credits",
	    "not enough credits; nothing was changed" },
	[TALLY_E_INACTIVE] = { 402, "subscription_inactive",
	    "the subscription for this product is not active" },
	[TALLY_E_FORBIDDEN] = { 403, "forbidden", "not allowed" },
	[TALLY_E_NOTFOUND] = { 404, "not_found", "not found" },
	[TALLY_E_METHOD] = { 405, "method_not_allowed",
	    "method not allowed on this path" },
	[TALLY_E_CONFLICT] = { 409, "conflict",
	    "the current state does not allow this" },
	[TALLY_E_TOOBIG] = { 413, "payload_too_large",
	    "request body is too large" },
	[TALLY_E_MEDIA] = { 415, "unsupported_media_type",
	    "Content-Type must be application/json" },
	[TALLY_E_RATELIMIT] = { 429, "rate_limited",
	    "too many failed attempts; try again later" },
	[TALLY_E_INTERNAL] = { 500, "internal_error",
	    "internal error; the request id is logged" },
	[TALLY_E_UNAVAILABLE] = { 503, "unavailable",
	    "the database cannot be reached; try again" },
	[TALLY_E_OVERFLOW] = { 400, "invalid_request",
	    "amount out of range" },
	[TALLY_E_SIGNATURE] = { 400, "invalid_signature",
	    "signature missing, wrong, or outside the time tolerance" },
	[TALLY_E_RETRY] = { 503, "unavailable",
	    "the database is busy; try again" },
	[TALLY_E_DUPLICATE] = { 409, "conflict", "already exists" },
	[TALLY_E_CONFIG] = { 500, "internal_error", "configuration error" },
	[TALLY_E_EXPIRED] = { 401, "unauthorized", "token expired" },
	[TALLY_E_NOTYET] = { 401, "unauthorized", "token not yet valid" },
	[TALLY_E_IO] = { 500, "internal_error", "I/O error" },
	[TALLY_E_PAYMENT] = { 402, "payment_failed", "the payment was "
	    "declined; nothing was charged" },
	[TALLY_E_QUOTA] = { 429, "quota_exceeded", "the quota of this "
	    "period is spent" },
	[TALLY_E_PROVIDER] = { 502, "provider_error", "the payment provider "
	    "could not be reached or refused the request; nothing was "
	    "charged, try again" },
	[TALLY_E_COUPON_UNKNOWN] = { 404, "coupon_not_found",
	    "no coupon has this code" },
	[TALLY_E_COUPON_INACTIVE] = { 409, "coupon_inactive",
	    "this coupon is no longer offered" },
	[TALLY_E_COUPON_EXPIRED] = { 409, "coupon_expired",
	    "this coupon has expired" },
	[TALLY_E_COUPON_EXHAUSTED] = { 409, "coupon_exhausted",
	    "this coupon has been used as often as it may be" },
	[TALLY_E_COUPON_INAPPLICABLE] = { 409, "coupon_not_applicable",
	    "this coupon does not apply to that product, plan or package" },
	[TALLY_E_COUPON_REDEEMED] = { 409, "coupon_already_redeemed",
	    "this account has redeemed this coupon already" },
	[TALLY_E_COUPON_APPLIED] = { 409, "coupon_already_applied",
	    "a coupon is applied there already" },
};

void
http_error_lookup(int rc, int *status, const char **code,
    const char **message)
{
	if (rc <= 0 || rc >= TALLY__MAX || errors[rc].code == NULL)
		rc = TALLY_E_INTERNAL;
	*status = errors[rc].status;
	*code = errors[rc].code;
	*message = errors[rc].message;
}
