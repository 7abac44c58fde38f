/* libFuzzer harness: the Stripe-Signature and BTCPay-Sig verifiers. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "money.h"
#include "result.h"
#include "signature.h"

#define SECRET	"whsec_fuzz0123456789abcdef"
#define NOW	1700000000LL

/* Case-insensitive equality of n bytes. */
static int
ieq(const char *a, const char *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return 0;
	return 1;
}

/*
 * What core_stripe_verify must answer, worked out another way: one "t"
 * item of 1-31 characters, a positive integer within tolerance, and some
 * "v1" item equal (any case) to the HMAC of "t.body".
 */
static int
ref_stripe(const char *h, const char *body, size_t len)
{
	const char	*p, *end, *eq;
	char		 ts[32], want[65], *msg;
	int64_t		 t = 0;
	size_t		 n;
	int		 have = 0, ok = 0;

	if (strlen(h) > 4096)
		return TALLY_E_SIGNATURE;
	for (p = h; ; p = end + 1) {
		end = p + strcspn(p, ",");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == p + 1 && p[0] == 't') {
			n = (size_t)(end - eq - 1);
			if (have || n == 0 || n >= sizeof(ts))
				return TALLY_E_SIGNATURE;
			memcpy(ts, eq + 1, n);
			ts[n] = '\0';
			if (core_parse_int64(ts, &t) != TALLY_OK || t <= 0)
				return TALLY_E_SIGNATURE;
			have = 1;
		}
		if (*end == '\0')
			break;
	}
	if (!have || NOW - t > 300 || t - NOW > 300)
		return TALLY_E_SIGNATURE;
	if ((msg = malloc(strlen(ts) + 1 + len + 1)) == NULL)
		return -1;
	snprintf(msg, strlen(ts) + 2, "%s.", ts);
	memcpy(msg + strlen(ts) + 1, body, len);
	core_hmac_sha256_hex(SECRET, msg, strlen(ts) + 1 + len, want);
	free(msg);
	for (p = h; ; p = end + 1) {
		end = p + strcspn(p, ",");
		if (end - p == 67 && strncmp(p, "v1=", 3) == 0 &&
		    ieq(p + 3, want, 64))
			ok = 1;
		if (*end == '\0')
			break;
	}
	return ok ? TALLY_OK : TALLY_E_SIGNATURE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*buf, *nl, *header, *body, hex[65], good[128];
	char		 msg[64];
	size_t		 len;
	int		 rc, want;

	/* "header\nbody"; the body may hold any byte, NUL included. */
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	nl = memchr(buf, '\n', size);
	header = buf;
	body = nl != NULL ? nl + 1 : buf + size;
	if (nl != NULL)
		*nl = '\0';
	len = (size_t)(buf + size - body);

	rc = core_stripe_verify(header, body, len, SECRET, NOW, 300);
	want = ref_stripe(header, body, len);
	if (want >= 0 && rc != want)
		abort();
	rc = core_btcpay_verify(header, body, len, SECRET);
	core_hmac_sha256_hex(SECRET, body, len, hex);
	if ((rc == TALLY_OK) != (strlen(header) == 71 &&
	    strncmp(header, "sha256=", 7) == 0 && ieq(header + 7, hex, 64)))
		abort();

	/* The body signed properly verifies; stale or tampered does not. */
	snprintf(good, sizeof(good), "sha256=%s", hex);
	if (core_btcpay_verify(good, body, len, SECRET) != TALLY_OK)
		abort();
	if (core_btcpay_verify(good, body, len, SECRET "x") == TALLY_OK)
		abort();
	snprintf(msg, sizeof(msg), "%lld.", NOW - 299);
	{
		char	*m = malloc(strlen(msg) + len + 1);

		if (m == NULL)
			goto out;
		memcpy(m, msg, strlen(msg));
		memcpy(m + strlen(msg), body, len);
		core_hmac_sha256_hex(SECRET, m, strlen(msg) + len, hex);
		free(m);
	}
	snprintf(good, sizeof(good), "t=%lld,v1=%s,v0=00", NOW - 299, hex);
	if (core_stripe_verify(good, body, len, SECRET, NOW, 300) != TALLY_OK)
		abort();
	if (core_stripe_verify(good, body, len, SECRET, NOW + 2, 300) ==
	    TALLY_OK)
		abort();
	if (len > 0) {
		body[0] ^= 1;
		if (core_stripe_verify(good, body, len, SECRET, NOW, 300) ==
		    TALLY_OK)
			abort();
	}
	if (core_stripe_verify(NULL, body, len, SECRET, NOW, 300) == TALLY_OK ||
	    core_stripe_verify(good, body, len, "", NOW, 300) == TALLY_OK ||
	    core_btcpay_verify(NULL, body, len, SECRET) == TALLY_OK)
		abort();
out:
	free(buf);
	return 0;
}
