/* HMAC-SHA256 webhook signature checks. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "idgen.h"
#include "money.h"
#include "result.h"
#include "signature.h"

#define HEADER_MAX	4096

void
core_hmac_sha256_hex(const char *key, const void *data, size_t len,
    char *out)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	HMAC(EVP_sha256(), key, (int)strlen(key), data, len, md, &mdlen);
	core_hex(md, mdlen, out);
	OPENSSL_cleanse(md, sizeof(md));
}

/* Constant-time equality of two 64-character hex strings, any case. */
static int
hex_equal(const char *got, size_t gotlen, const char *want)
{
	char	 norm[65];
	size_t	 i;

	if (gotlen != 64)
		return 0;
	for (i = 0; i < 64; i++)
		norm[i] = (char)tolower((unsigned char)got[i]);
	norm[64] = '\0';
	return CRYPTO_memcmp(norm, want, 64) == 0;
}

int
core_stripe_verify(const char *header, const char *body, size_t len,
    const char *secret, int64_t now, int64_t tolerance)
{
	const char	*p, *end, *eq;
	char		 ts[32], want[65], *signed_payload;
	int64_t		 t = 0;
	size_t		 n;
	int		 have_t = 0, match = 0, nv1 = 0;

	if (header == NULL || secret == NULL || *secret == '\0' ||
	    strlen(header) > HEADER_MAX)
		return TALLY_E_SIGNATURE;
	/* First the timestamp: it is part of what was signed. */
	for (p = header; *p != '\0'; p = *end ? end + 1 : end) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL)
			continue;
		if (eq - p == 1 && p[0] == 't') {
			n = (size_t)(end - eq - 1);
			if (have_t || n == 0 || n >= sizeof(ts))
				return TALLY_E_SIGNATURE;
			memcpy(ts, eq + 1, n);
			ts[n] = '\0';
			if (core_parse_int64(ts, &t) != TALLY_OK || t <= 0)
				return TALLY_E_SIGNATURE;
			have_t = 1;
		}
	}
	if (!have_t || llabs((long long)(now - t)) > tolerance)
		return TALLY_E_SIGNATURE;
	n = strlen(ts) + 1 + len;
	if ((signed_payload = malloc(n)) == NULL)
		return TALLY_E_NOMEM;
	memcpy(signed_payload, ts, strlen(ts));
	signed_payload[strlen(ts)] = '.';
	memcpy(signed_payload + strlen(ts) + 1, body, len);
	core_hmac_sha256_hex(secret, signed_payload, n, want);
	free(signed_payload);
	/* Every v1 is a candidate (secret rotation sends two). */
	for (p = header; *p != '\0'; p = *end ? end + 1 : end) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL || eq - p != 2 || p[0] != 'v' || p[1] != '1')
			continue;
		nv1++;
		/* No early exit: every candidate costs the same. */
		match |= hex_equal(eq + 1, (size_t)(end - eq - 1), want);
	}
	OPENSSL_cleanse(want, sizeof(want));
	return nv1 > 0 && match ? TALLY_OK : TALLY_E_SIGNATURE;
}

int
core_btcpay_verify(const char *header, const char *body, size_t len,
    const char *secret)
{
	char	 want[65];
	int	 ok;

	if (header == NULL || secret == NULL || *secret == '\0' ||
	    strncmp(header, "sha256=", 7) != 0)
		return TALLY_E_SIGNATURE;
	core_hmac_sha256_hex(secret, body, len, want);
	ok = hex_equal(header + 7, strlen(header + 7), want);
	OPENSSL_cleanse(want, sizeof(want));
	return ok ? TALLY_OK : TALLY_E_SIGNATURE;
}
