/* Webhook signatures: Stripe-Signature and BTCPay-Sig (no I/O). */
#ifndef CORE_SIGNATURE_H
#define CORE_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#define CORE_STRIPE_TOLERANCE	300	/* seconds */

/*
 * Verify a Stripe-Signature header ("t=TS,v1=HEX[,v1=HEX...][,v0=...]")
 * over the raw body, as Stripe documents it: every v1 is a candidate,
 * HMAC-SHA256 of "TS." + body keyed with the whole webhook secret,
 * compared in constant time, and |now - TS| must be within tolerance.
 * TALLY_OK or TALLY_E_SIGNATURE.
 */
int	 core_stripe_verify(const char *header, const char *body, size_t len,
	    const char *secret, int64_t now, int64_t tolerance);

/*
 * Verify a BTCPay-Sig header ("sha256=HEX"): HMAC-SHA256 of the raw body
 * with the webhook secret, constant time.  TALLY_OK or TALLY_E_SIGNATURE.
 */
int	 core_btcpay_verify(const char *header, const char *body, size_t len,
	    const char *secret);

/* Lower-case hex HMAC-SHA256 of data with key. OUT: out (65 bytes). */
void	 core_hmac_sha256_hex(const char *key, const void *data, size_t len,
	    char *out);

#endif
