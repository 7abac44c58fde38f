/* libFuzzer harness: core_jwt_verify() on arbitrary tokens and claims. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>

#include "fuzz.h"
#include "jwt.h"
#include "result.h"

#define NOW		INT64_C(1700000000)
#define SECRET		"tally-fuzz-secret-0123456789abcdef"
#define MAX_CLAIMS	8192

/*
 * An ES256 key as well, so that the JWKS path and the R||S to DER
 * conversion run: the public key is the P-256 generator (private key 1).
 */
#define JWKS	"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"ec1\",\"crv\":\"P-256\"," \
		"\"x\":\"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY\"," \
		"\"y\":\"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU\"}]}"

static struct core_jwt_keys	*keys;

static size_t
b64url(const unsigned char *in, size_t n, char *out)
{
	static const char	 abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t			 i, o = 0;
	uint32_t		 v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
		out[o++] = abc[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
	}
	return o;
}

/* The contract of core_jwt_verify(), checked on every call. */
static void
verify(const char *tok, size_t len, const char *iss, const char *aud)
{
	static const struct core_jwt_claims	 zero;
	struct core_jwt_claims			 c;
	int					 rc;

	memset(&c, 0xa5, sizeof(c));
	rc = core_jwt_verify(keys, tok, len, NOW, iss, aud, &c);
	switch (rc) {
	case TALLY_OK:
		if (c.sub[0] == '\0' ||
		    memchr(c.sub, '\0', sizeof(c.sub)) == NULL ||
		    memchr(c.email, '\0', sizeof(c.email)) == NULL ||
		    memchr(c.locale, '\0', sizeof(c.locale)) == NULL ||
		    c.exp <= NOW || c.nbf > NOW)
			abort();
		break;
	case TALLY_E_UNAUTHORIZED:
	case TALLY_E_EXPIRED:
	case TALLY_E_NOTYET:
	case TALLY_E_NOMEM:
		/* Nothing of a refused token is handed out. */
		if (memcmp(&c, &zero, sizeof(c)) != 0)
			abort();
		break;
	default:
		abort();
	}
}

/*
 * Input starting with '{' is a claims set, signed here with SECRET so
 * that the claim checks behind the signature are reached; anything else
 * is a token as a client would send it.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char		 mac[32];
	unsigned int		 maclen = 0;
	char			*tok;
	size_t			 n;

	if (keys == NULL &&
	    core_jwt_keys_new(SECRET, JWKS, &keys) != TALLY_OK)
		abort();
	if (size == 0 || data[0] != '{') {
		verify((const char *)data, size, NULL, NULL);
		verify((const char *)data, size, "https://idp.example",
		    "tally");
		/* What decides a JWKS refetch reads the header alone. */
		(void)core_jwt_needs_key(keys, (const char *)data, size);
		(void)core_jwt_needs_key(NULL, (const char *)data, size);
		/* And a Cache-Control value, as a server would send it. */
		if (size < 512 && (tok = malloc(size + 1)) != NULL) {
			memcpy(tok, data, size);
			tok[size] = '\0';
			if (core_jwks_max_age(tok, 60, 86400, 3600) < 60)
				abort();
			free(tok);
		}
		return 0;
	}
	if (size > MAX_CLAIMS)
		return 0;
	if ((tok = malloc(2 * (sizeof(hdr) + size + 32) + 3)) == NULL)
		return 0;
	n = b64url((const unsigned char *)hdr, sizeof(hdr) - 1, tok);
	tok[n++] = '.';
	n += b64url(data, size, tok + n);
	if (HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
	    (const unsigned char *)tok, n, mac, &maclen) == NULL ||
	    maclen != sizeof(mac))
		abort();
	tok[n++] = '.';
	n += b64url(mac, sizeof(mac), tok + n);
	verify(tok, n, NULL, NULL);
	verify(tok, n, "https://idp.example", "tally");
	free(tok);
	return 0;
}
