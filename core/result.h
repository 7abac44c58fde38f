/* Result codes shared by every layer of tally; append only, never renumber. */
#ifndef CORE_RESULT_H
#define CORE_RESULT_H

/*
 * Like curl's CURLE_*: a new code is appended before TALLY__MAX, an existing
 * one keeps its number forever.  fcgi/http_error.c maps each code to an HTTP
 * status and an API error code.
 */
enum tally_rc {
	TALLY_OK = 0,
	TALLY_E_NOMEM,		/* allocation failed */
	TALLY_E_INVALID,	/* bad input: missing field, wrong type, range */
	TALLY_E_JSON,		/* body is not JSON */
	TALLY_E_UNAUTHORIZED,	/* missing/invalid token or key */
	TALLY_E_INSUFFICIENT,	/* the wallet cannot cover the amount */
	TALLY_E_INACTIVE,	/* the gate: product not active */
	TALLY_E_FORBIDDEN,	/* authenticated, not allowed */
	TALLY_E_NOTFOUND,	/* unknown object or route */
	TALLY_E_METHOD,		/* known path, wrong method */
	TALLY_E_CONFLICT,	/* state does not allow it */
	TALLY_E_TOOBIG,		/* body or value over its limit */
	TALLY_E_MEDIA,		/* wrong content type */
	TALLY_E_RATELIMIT,	/* too many failed attempts */
	TALLY_E_INTERNAL,	/* a bug */
	TALLY_E_UNAVAILABLE,	/* database unreachable */
	TALLY_E_OVERFLOW,	/* integer arithmetic overflowed */
	TALLY_E_SIGNATURE,	/* webhook signature wrong or stale */
	TALLY_E_RETRY,		/* deadlock or lock wait: retry the transaction */
	TALLY_E_DUPLICATE,	/* unique key hit: already done */
	TALLY_E_CONFIG,		/* configuration missing or bad */
	TALLY_E_EXPIRED,	/* token expired */
	TALLY_E_NOTYET,		/* token not yet valid (nbf) */
	TALLY_E_IO,		/* file or network I/O failed */
	TALLY_E_PROVIDER,	/* a payment provider failed or is unreachable */
	TALLY_E_PAYMENT,	/* the payment was declined or needs the payer */
	TALLY_E_QUOTA,		/* the period's quota is spent */
	TALLY_E_COUPON_UNKNOWN,	/* no coupon has this code */
	TALLY_E_COUPON_INACTIVE,	/* the coupon was deactivated */
	TALLY_E_COUPON_EXPIRED,	/* the coupon's expiry date passed */
	TALLY_E_COUPON_EXHAUSTED,	/* max_redemptions reached */
	TALLY_E_COUPON_INAPPLICABLE,	/* not for this product/plan/package */
	TALLY_E_COUPON_REDEEMED,	/* this account redeemed it already */
	TALLY_E_COUPON_APPLIED,	/* the target has an active coupon */
	TALLY__MAX
};

/* A short English description of rc; never NULL. */
const char	*core_strerror(int rc);

#endif
