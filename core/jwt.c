/* JWT (JWS compact) verification for HS256/RS256/ES256 and HS256 minting. */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "jwt.h"
#include "result.h"

#define JWT_MAX_TOKEN		8192	/* bytes of a compact token */
#define JWT_HS256_LEN		32	/* HMAC-SHA256 output */
#define JWT_P256_LEN		32	/* P-256 coordinate and scalar */
#define JWT_ES256_LEN		(2 * JWT_P256_LEN)	/* raw R||S */
#define JWT_RSA_MIN_BITS	2048
#define JWT_RSA_MAX_BITS	16384
#define JWT_RSA_MAX_E		512	/* bytes of a JWK "e": sanity */

enum jwt_alg {
	JWT_ALG_NONE = 0,
	JWT_ALG_HS256,
	JWT_ALG_RS256,
	JWT_ALG_ES256
};

struct jwt_key {
	char		*kid;		/* NULL: the JWK has none */
	size_t		 kidlen;
	enum jwt_alg	 alg;		/* JWT_ALG_RS256 or _ES256 */
	EVP_PKEY	*pkey;		/* public key */
};

struct core_jwt_keys {
	unsigned char	*secret;	/* HS256 secret; NULL: no HS256 */
	size_t		 secretlen;
	struct jwt_key	*keys;		/* from the JWKS */
	size_t		 nkeys;
};

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Decode len base64url characters at in (no padding, no whitespace).
 * Non-canonical input, a length of 4n+1 or stray bits in the last
 * character, is rejected so that a token has exactly one encoding.
 * OUT: *out (to free(3), NUL-terminated after *outlen bytes), *outlen.
 * Returns TALLY_OK, TALLY_E_INVALID or TALLY_E_NOMEM.
 */
static int
b64url_decode(const char *in, size_t len, unsigned char **out,
    size_t *outlen)
{
	unsigned char	*buf;
	unsigned int	 acc = 0, bits = 0;
	size_t		 i, n, o = 0;
	int		 v;

	*out = NULL;
	*outlen = 0;
	if (len % 4 == 1)
		return TALLY_E_INVALID;
	n = len / 4 * 3 + (len % 4 != 0 ? len % 4 - 1 : 0);
	if ((buf = malloc(n + 1)) == NULL)
		return TALLY_E_NOMEM;
	for (i = 0; i < len; i++) {
		if ((v = b64url_value((unsigned char)in[i])) < 0)
			goto bad;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	/* acc holds the bits left over; canonical encodings leave zeros. */
	if (acc != 0 || o != n)
		goto bad;
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return TALLY_OK;
bad:
	free(buf);
	return TALLY_E_INVALID;
}

/* Characters b64url_encode() writes for n bytes; n is bounded by callers. */
static size_t
b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 != 0 ? n % 3 + 1 : 0);
}

/* Write b64url_len(n) characters (no NUL) to out; returns that count. */
static size_t
b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t		 i, o = 0;
	unsigned int	 v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned int)in[i] << 16 | (unsigned int)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64url_alphabet[(v >> 18) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 12) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 6) & 0x3f];
		out[o++] = b64url_alphabet[v & 0x3f];
	}
	if (n - i == 1) {
		v = (unsigned int)in[i] << 16;
		out[o++] = b64url_alphabet[(v >> 18) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 12) & 0x3f];
	} else if (n - i == 2) {
		v = (unsigned int)in[i] << 16 | (unsigned int)in[i + 1] << 8;
		out[o++] = b64url_alphabet[(v >> 18) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 12) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 6) & 0x3f];
	}
	return o;
}

/* Whether the JSON string v is exactly s. */
static int
json_str_eq(const json_t *v, const char *s)
{
	size_t	 n;

	if (!json_is_string(v))
		return 0;
	n = json_string_length(v);
	return strlen(s) == n && memcmp(json_string_value(v), s, n) == 0;
}

/* The rc for a failed json_load*: out of memory, else bad. */
static int
json_load_rc(const json_error_t *err, int bad)
{
	if (json_error_code(err) == json_error_out_of_memory)
		return TALLY_E_NOMEM;
	return bad;
}

/*
 * The HMAC algorithm, fetched once per process: HMAC() looks it and the
 * digest up again on every call, which the gate pays on every request.
 */
static EVP_MAC		*hmac_alg;
static pthread_once_t	 hmac_once = PTHREAD_ONCE_INIT;

static void
hmac_fetch(void)
{
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/*
 * Each thread keeps one HMAC-SHA256 context keyed with the last key it
 * used (the configured secret, in practice): a request then costs a
 * re-init with the same key, no allocation and no lookup.  The key is
 * compared by content, so a context never serves another key.
 */
struct hmac_cache {
	EVP_MAC_CTX	*ctx;
	unsigned char	 key[256];
	size_t		 keylen;	/* 0: ctx has no cached key */
};

static __thread struct hmac_cache hmac_tls;

static int
hmac_cached(const unsigned char *key, size_t keylen,
    const unsigned char *data, size_t datalen, unsigned char *md,
    size_t *mdlen)
{
	struct hmac_cache *c = &hmac_tls;
	OSSL_PARAM	 params[2];
	int		 same;

	pthread_once(&hmac_once, hmac_fetch);
	if (hmac_alg == NULL)
		return -1;
	if (c->ctx == NULL && (c->ctx = EVP_MAC_CTX_new(hmac_alg)) == NULL)
		return -1;
	same = keylen <= sizeof(c->key) && keylen == c->keylen &&
	    CRYPTO_memcmp(key, c->key, keylen) == 0;
	if (same) {
		/* A NULL key re-initialises with the one set before. */
		if (EVP_MAC_init(c->ctx, NULL, 0, NULL) != 1)
			return -1;
	} else {
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		OPENSSL_cleanse(c->key, sizeof(c->key));
		c->keylen = 0;
		if (EVP_MAC_init(c->ctx, key, keylen, params) != 1)
			return -1;
		if (keylen <= sizeof(c->key)) {
			memcpy(c->key, key, keylen);
			c->keylen = keylen;
		}
	}
	if (EVP_MAC_update(c->ctx, data, datalen) != 1 ||
	    EVP_MAC_final(c->ctx, md, mdlen, EVP_MAX_MD_SIZE) != 1)
		return -1;
	return 0;
}

void
core_jwt_thread_end(void)
{
	EVP_MAC_CTX_free(hmac_tls.ctx);
	hmac_tls.ctx = NULL;
	OPENSSL_cleanse(hmac_tls.key, sizeof(hmac_tls.key));
	hmac_tls.keylen = 0;
}

/* HMAC-SHA256 of data under key into mac.  Returns 0 or -1. */
static int
hs256(const unsigned char *key, size_t keylen, const unsigned char *data,
    size_t datalen, unsigned char mac[JWT_HS256_LEN])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	size_t		 mdlen = 0;
	int		 rc = -1;

	if (keylen == 0 || keylen > INT_MAX)
		return -1;
	if (hmac_cached(key, keylen, data, datalen, md, &mdlen) == 0 &&
	    mdlen == JWT_HS256_LEN) {
		memcpy(mac, md, JWT_HS256_LEN);
		rc = 0;
	}
	OPENSSL_cleanse(md, sizeof(md));
	return rc;
}

/*
 * Build a public EVP_PKEY of type ("RSA", "EC") from params and check it.
 * Returns TALLY_OK, TALLY_E_CONFIG or TALLY_E_NOMEM.  OUT: *out.
 */
static int
pkey_fromdata(const char *type, OSSL_PARAM *params, EVP_PKEY **out)
{
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*pkey = NULL;
	int		 rc = TALLY_E_CONFIG;

	*out = NULL;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL)
		return TALLY_E_NOMEM;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	EVP_PKEY_CTX_free(ctx);
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
		rc = TALLY_E_NOMEM;
		goto out;
	}
	if (EVP_PKEY_public_check(ctx) != 1)
		goto out;
	*out = pkey;
	pkey = NULL;
	rc = TALLY_OK;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/*
 * Decode the base64url string member name of jwk.
 * Returns TALLY_OK, TALLY_E_CONFIG or TALLY_E_NOMEM.  OUT: *out, *outlen.
 */
static int
jwk_b64(const json_t *jwk, const char *name, unsigned char **out,
    size_t *outlen)
{
	const json_t	*v;
	int		 rc;

	*out = NULL;
	*outlen = 0;
	if ((v = json_object_get(jwk, name)) == NULL || !json_is_string(v))
		return TALLY_E_CONFIG;
	rc = b64url_decode(json_string_value(v), json_string_length(v), out,
	    outlen);
	if (rc == TALLY_E_INVALID)
		rc = TALLY_E_CONFIG;
	return rc;
}

/*
 * The public key of an RSA JWK; *out stays NULL for a key we skip
 * (modulus under JWT_RSA_MIN_BITS or over JWT_RSA_MAX_BITS).
 * Returns TALLY_OK, TALLY_E_CONFIG or TALLY_E_NOMEM.
 */
static int
jwk_rsa(const json_t *jwk, EVP_PKEY **out)
{
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	BIGNUM		*n = NULL, *e = NULL;
	unsigned char	*nb = NULL, *eb = NULL;
	size_t		 nlen, elen;
	int		 bits, rc;

	*out = NULL;
	if ((rc = jwk_b64(jwk, "n", &nb, &nlen)) != TALLY_OK ||
	    (rc = jwk_b64(jwk, "e", &eb, &elen)) != TALLY_OK)
		goto out;
	rc = TALLY_E_CONFIG;
	if (nlen == 0 || elen == 0 || elen > JWT_RSA_MAX_E)
		goto out;
	if (nlen > JWT_RSA_MAX_BITS / 8 + 1) {
		rc = TALLY_OK;		/* too big: skipped */
		goto out;
	}
	rc = TALLY_E_NOMEM;
	if ((n = BN_bin2bn(nb, (int)nlen, NULL)) == NULL ||
	    (e = BN_bin2bn(eb, (int)elen, NULL)) == NULL)
		goto out;
	bits = BN_num_bits(n);
	if (bits < JWT_RSA_MIN_BITS || bits > JWT_RSA_MAX_BITS) {
		rc = TALLY_OK;		/* weak or huge: skipped */
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	rc = pkey_fromdata("RSA", params, out);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(nb);
	free(eb);
	return rc;
}

/*
 * The public key of an EC JWK; *out stays NULL for a curve other than
 * P-256, which we skip.  Returns TALLY_OK, TALLY_E_CONFIG or TALLY_E_NOMEM.
 */
static int
jwk_ec(const json_t *jwk, EVP_PKEY **out)
{
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	const json_t	*crv;
	unsigned char	*x = NULL, *y = NULL;
	unsigned char	 pub[1 + 2 * JWT_P256_LEN];
	size_t		 xlen, ylen;
	int		 rc;

	*out = NULL;
	if ((crv = json_object_get(jwk, "crv")) == NULL || !json_is_string(crv))
		return TALLY_E_CONFIG;
	if (!json_str_eq(crv, "P-256"))
		return TALLY_OK;
	if ((rc = jwk_b64(jwk, "x", &x, &xlen)) != TALLY_OK ||
	    (rc = jwk_b64(jwk, "y", &y, &ylen)) != TALLY_OK)
		goto out;
	rc = TALLY_E_CONFIG;
	if (xlen != JWT_P256_LEN || ylen != JWT_P256_LEN)
		goto out;
	pub[0] = 0x04;		/* uncompressed point */
	memcpy(pub + 1, x, JWT_P256_LEN);
	memcpy(pub + 1 + JWT_P256_LEN, y, JWT_P256_LEN);
	rc = TALLY_E_NOMEM;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, sizeof(pub)) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	rc = pkey_fromdata("EC", params, out);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return rc;
}

/*
 * Load one JWK into *key; key->pkey stays NULL for a key we skip: kty
 * other than RSA and EC, "use" other than "sig", an "alg" other than
 * RS256 (RSA) or ES256 (EC), an unsupported curve or size.
 * Returns TALLY_OK, TALLY_E_CONFIG or TALLY_E_NOMEM.
 */
static int
jwk_load(const json_t *jwk, struct jwt_key *key)
{
	const json_t	*kty, *use, *alg, *kid;
	const char	*want;
	enum jwt_alg	 type;
	EVP_PKEY	*pkey = NULL;
	int		 rc;

	memset(key, 0, sizeof(*key));
	if (!json_is_object(jwk))
		return TALLY_E_CONFIG;
	if ((kty = json_object_get(jwk, "kty")) == NULL || !json_is_string(kty))
		return TALLY_E_CONFIG;
	if ((kid = json_object_get(jwk, "kid")) != NULL && !json_is_string(kid))
		return TALLY_E_CONFIG;
	if ((use = json_object_get(jwk, "use")) != NULL) {
		if (!json_is_string(use))
			return TALLY_E_CONFIG;
		if (!json_str_eq(use, "sig"))
			return TALLY_OK;
	}
	if (json_str_eq(kty, "RSA")) {
		type = JWT_ALG_RS256;
		want = "RS256";
	} else if (json_str_eq(kty, "EC")) {
		type = JWT_ALG_ES256;
		want = "ES256";
	} else
		return TALLY_OK;
	if ((alg = json_object_get(jwk, "alg")) != NULL) {
		if (!json_is_string(alg))
			return TALLY_E_CONFIG;
		if (!json_str_eq(alg, want))
			return TALLY_OK;
	}
	if (type == JWT_ALG_RS256)
		rc = jwk_rsa(jwk, &pkey);
	else
		rc = jwk_ec(jwk, &pkey);
	if (rc != TALLY_OK || pkey == NULL)
		return rc;
	if (kid != NULL) {
		key->kidlen = json_string_length(kid);
		if ((key->kid = malloc(key->kidlen + 1)) == NULL) {
			EVP_PKEY_free(pkey);
			return TALLY_E_NOMEM;
		}
		memcpy(key->kid, json_string_value(kid), key->kidlen);
		key->kid[key->kidlen] = '\0';
	}
	key->alg = type;
	key->pkey = pkey;
	return TALLY_OK;
}

/*
 * Load the RS256/ES256 keys of the JWKS document text into k.
 * Returns TALLY_OK, TALLY_E_CONFIG or TALLY_E_NOMEM.
 */
static int
jwks_load(struct core_jwt_keys *k, const char *text)
{
	json_error_t	 err;
	json_t		*doc, *arr, *jwk;
	size_t		 i;
	int		 rc = TALLY_OK;

	if ((doc = json_loads(text, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return json_load_rc(&err, TALLY_E_CONFIG);
	if (!json_is_object(doc) ||
	    (arr = json_object_get(doc, "keys")) == NULL ||
	    !json_is_array(arr)) {
		rc = TALLY_E_CONFIG;
		goto out;
	}
	if (json_array_size(arr) == 0)
		goto out;
	if ((k->keys = calloc(json_array_size(arr), sizeof(*k->keys))) ==
	    NULL) {
		rc = TALLY_E_NOMEM;
		goto out;
	}
	json_array_foreach(arr, i, jwk) {
		if ((rc = jwk_load(jwk, &k->keys[k->nkeys])) != TALLY_OK)
			goto out;
		if (k->keys[k->nkeys].pkey != NULL)
			k->nkeys++;
	}
out:
	json_decref(doc);
	return rc;
}

int
core_jwt_keys_new(const char *hs_secret, const char *jwks_json,
    struct core_jwt_keys **out)
{
	struct core_jwt_keys	*k;
	size_t			 n;
	int			 rc = TALLY_OK;

	if (out == NULL)
		return TALLY_E_CONFIG;
	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return TALLY_E_NOMEM;
	ERR_set_mark();
	if (hs_secret != NULL && *hs_secret != '\0') {
		if ((n = strlen(hs_secret)) > INT_MAX) {
			rc = TALLY_E_CONFIG;
			goto out;
		}
		if ((k->secret = malloc(n)) == NULL) {
			rc = TALLY_E_NOMEM;
			goto out;
		}
		memcpy(k->secret, hs_secret, n);
		k->secretlen = n;
	}
	if (jwks_json != NULL && *jwks_json != '\0' &&
	    (rc = jwks_load(k, jwks_json)) != TALLY_OK)
		goto out;
	if (k->secret == NULL && k->nkeys == 0)
		rc = TALLY_E_CONFIG;
out:
	ERR_pop_to_mark();
	if (rc != TALLY_OK) {
		core_jwt_keys_free(k);
		return rc;
	}
	*out = k;
	return TALLY_OK;
}

void
core_jwt_keys_free(struct core_jwt_keys *k)
{
	size_t	 i;

	if (k == NULL)
		return;
	if (k->secret != NULL) {
		OPENSSL_cleanse(k->secret, k->secretlen);
		free(k->secret);
	}
	for (i = 0; i < k->nkeys; i++) {
		EVP_PKEY_free(k->keys[i].pkey);
		free(k->keys[i].kid);
	}
	free(k->keys);
	free(k);
}

static int	 decode_json(const char *, size_t, json_t **);
static int	 parse_header(const json_t *, enum jwt_alg *, const char **,
		    size_t *);
static int	 header_of(const char *, size_t, enum jwt_alg *,
		    const char **, size_t *, json_t **);

size_t
core_jwt_keys_count(const struct core_jwt_keys *k)
{
	return k == NULL ? 0 : k->nkeys;
}

/*
 * Whether the token's header names an RS256/ES256 key k has no match for
 * (see jwt.h).  Only the header is decoded.
 */
int
core_jwt_needs_key(const struct core_jwt_keys *k, const char *token,
    size_t len)
{
	const struct jwt_key	*key;
	const char		*dot, *kid;
	json_t			*hdr = NULL;
	enum jwt_alg		 alg;
	size_t			 i, kidlen;
	int			 needs = 0;

	if (token == NULL || len == 0 || len > JWT_MAX_TOKEN ||
	    (dot = memchr(token, '.', len)) == NULL || dot == token)
		return 0;
	ERR_set_mark();
	if (header_of(token, (size_t)(dot - token), &alg, &kid, &kidlen,
	    &hdr) != TALLY_OK || (alg != JWT_ALG_RS256 && alg != JWT_ALG_ES256))
		goto out;
	needs = 1;
	for (i = 0; k != NULL && i < k->nkeys; i++) {
		key = &k->keys[i];
		if (key->alg != alg)
			continue;
		if (kid == NULL || (key->kid != NULL && key->kidlen == kidlen &&
		    memcmp(key->kid, kid, kidlen) == 0)) {
			needs = 0;
			break;
		}
	}
out:
	json_decref(hdr);
	ERR_pop_to_mark();
	return needs;
}

/*
 * Whether the Cache-Control directive d (n bytes, trimmed) is name,
 * ignoring case; OUT: *arg, the text after "name=" (NULL without one).
 */
static int
cc_directive(const char *d, size_t n, const char *name, const char **arg,
    size_t *arglen)
{
	size_t	 nl = strlen(name);

	*arg = NULL;
	*arglen = 0;
	if (n < nl || strncasecmp(d, name, nl) != 0)
		return 0;
	if (n == nl)
		return 1;
	if (d[nl] != '=')
		return 0;
	*arg = d + nl + 1;
	*arglen = n - nl - 1;
	return 1;
}

int64_t
core_jwks_max_age(const char *cc, int64_t min, int64_t max, int64_t def)
{
	const char	*p, *end, *arg;
	size_t		 n, arglen, i;
	int64_t		 age = def, v;
	int		 found = 0, nocache = 0, ok;

	for (p = cc; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		/* no-cache="field" is about some header fields only. */
		if ((cc_directive(p, n, "no-store", &arg, &arglen) ||
		    cc_directive(p, n, "no-cache", &arg, &arglen)) &&
		    arg == NULL) {
			nocache = 1;
			continue;
		}
		if (found || !cc_directive(p, n, "max-age", &arg, &arglen) ||
		    arg == NULL)
			continue;
		/* RFC 9111 5.2: delta-seconds, perhaps quoted. */
		if (arglen >= 2 && arg[0] == '"' && arg[arglen - 1] == '"') {
			arg++;
			arglen -= 2;
		}
		ok = arglen > 0;
		for (v = 0, i = 0; ok && i < arglen; i++) {
			if (arg[i] < '0' || arg[i] > '9')
				ok = 0;
			else if (v > (INT64_MAX - 9) / 10)
				v = INT64_MAX;
			else if (v <= max)	/* bigger is clamped anyway */
				v = v * 10 + (arg[i] - '0');
		}
		if (ok) {
			age = v;
			found = 1;
		}
	}
	if (nocache)
		age = min;
	if (age < min)
		age = min;
	if (age > max)
		age = max;
	return age;
}

/*
 * Convert a raw JWS ES256 signature R||S to DER for EVP_DigestVerify.
 * Returns TALLY_OK, TALLY_E_UNAUTHORIZED or TALLY_E_NOMEM.
 * OUT: *der (to free(3)), *derlen.
 */
static int
es256_der(const unsigned char *sig, size_t siglen, unsigned char **der,
    size_t *derlen)
{
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r = NULL, *s = NULL;
	unsigned char	*buf = NULL, *p;
	int		 n, rc = TALLY_E_NOMEM;

	*der = NULL;
	*derlen = 0;
	if (siglen != JWT_ES256_LEN)
		return TALLY_E_UNAUTHORIZED;
	if ((r = BN_bin2bn(sig, JWT_P256_LEN, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + JWT_P256_LEN, JWT_P256_LEN, NULL)) == NULL ||
	    (es = ECDSA_SIG_new()) == NULL ||
	    ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;		/* owned by es */
	if ((n = i2d_ECDSA_SIG(es, NULL)) <= 0) {
		rc = TALLY_E_UNAUTHORIZED;
		goto out;
	}
	if ((buf = malloc((size_t)n)) == NULL)
		goto out;
	p = buf;
	if (i2d_ECDSA_SIG(es, &p) != n) {
		rc = TALLY_E_UNAUTHORIZED;
		goto out;
	}
	*der = buf;
	*derlen = (size_t)n;
	buf = NULL;
	rc = TALLY_OK;
out:
	free(buf);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

/*
 * Verify sig over msg with the RS256 or ES256 key.
 * Returns TALLY_OK, TALLY_E_UNAUTHORIZED or TALLY_E_NOMEM.
 */
static int
pkey_verify(const struct jwt_key *key, const unsigned char *msg,
    size_t msglen, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX	*md = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	unsigned char	*der = NULL;
	const unsigned char *vsig = sig;
	size_t		 vlen = siglen;
	int		 rc;

	if (key->alg == JWT_ALG_ES256) {
		if ((rc = es256_der(sig, siglen, &der, &vlen)) != TALLY_OK)
			return rc;
		vsig = der;
	}
	rc = TALLY_E_NOMEM;
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto out;
	rc = TALLY_E_UNAUTHORIZED;
	if (EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL,
	    key->pkey, NULL) != 1)
		goto out;
	if (key->alg == JWT_ALG_RS256 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
		goto out;
	if (EVP_DigestVerify(md, vsig, vlen, msg, msglen) == 1)
		rc = TALLY_OK;
out:
	EVP_MD_CTX_free(md);
	free(der);
	return rc;
}

/*
 * Check the signature sig of the signing input msg for alg.  HS256 uses
 * the HS256 secret only; RS256 and ES256 use the JWKS keys of that type
 * (and of that kid when kid is not NULL).
 * Returns TALLY_OK, TALLY_E_UNAUTHORIZED or TALLY_E_NOMEM.
 */
static int
check_sig(const struct core_jwt_keys *k, enum jwt_alg alg, const char *kid,
    size_t kidlen, const unsigned char *msg, size_t msglen,
    const unsigned char *sig, size_t siglen)
{
	const struct jwt_key	*key;
	unsigned char		 mac[JWT_HS256_LEN];
	size_t			 i;
	int			 rc;

	if (alg == JWT_ALG_HS256) {
		if (k->secret == NULL || siglen != JWT_HS256_LEN)
			return TALLY_E_UNAUTHORIZED;
		if (hs256(k->secret, k->secretlen, msg, msglen, mac) != 0)
			return TALLY_E_UNAUTHORIZED;
		rc = CRYPTO_memcmp(mac, sig, JWT_HS256_LEN) == 0 ?
		    TALLY_OK : TALLY_E_UNAUTHORIZED;
		OPENSSL_cleanse(mac, sizeof(mac));
		return rc;
	}
	if (alg != JWT_ALG_RS256 && alg != JWT_ALG_ES256)
		return TALLY_E_UNAUTHORIZED;
	if (alg == JWT_ALG_ES256 && siglen != JWT_ES256_LEN)
		return TALLY_E_UNAUTHORIZED;
	for (i = 0; i < k->nkeys; i++) {
		key = &k->keys[i];
		if (key->alg != alg)
			continue;
		if (kid != NULL && (key->kid == NULL || key->kidlen != kidlen ||
		    memcmp(key->kid, kid, kidlen) != 0))
			continue;
		rc = pkey_verify(key, msg, msglen, sig, siglen);
		if (rc != TALLY_E_UNAUTHORIZED)
			return rc;
	}
	return TALLY_E_UNAUTHORIZED;
}

/*
 * Check the JOSE header: an object with "alg" HS256, RS256 or ES256, an
 * optional string "kid" and no "crit" (we implement no extension).
 * Returns TALLY_OK or TALLY_E_UNAUTHORIZED.  OUT: *alg, *kid, *kidlen.
 */
static int
parse_header(const json_t *hdr, enum jwt_alg *alg, const char **kid,
    size_t *kidlen)
{
	const json_t	*v;

	*alg = JWT_ALG_NONE;
	*kid = NULL;
	*kidlen = 0;
	if (!json_is_object(hdr))
		return TALLY_E_UNAUTHORIZED;
	v = json_object_get(hdr, "alg");
	if (json_str_eq(v, "HS256"))
		*alg = JWT_ALG_HS256;
	else if (json_str_eq(v, "RS256"))
		*alg = JWT_ALG_RS256;
	else if (json_str_eq(v, "ES256"))
		*alg = JWT_ALG_ES256;
	else
		return TALLY_E_UNAUTHORIZED;
	if (json_object_get(hdr, "crit") != NULL)
		return TALLY_E_UNAUTHORIZED;
	if ((v = json_object_get(hdr, "kid")) != NULL) {
		if (!json_is_string(v))
			return TALLY_E_UNAUTHORIZED;
		*kid = json_string_value(v);
		*kidlen = json_string_length(v);
	}
	return TALLY_OK;
}

/*
 * Copy the string claim name of pl into dst of size dstsz.  Absent is
 * fine unless required; empty is fine unless required; too long (no room
 * for the NUL), not a string or with a NUL inside is not.
 * Returns TALLY_OK or TALLY_E_UNAUTHORIZED.
 */
static int
claim_string(const json_t *pl, const char *name, char *dst, size_t dstsz,
    int required)
{
	const json_t	*v;
	const char	*s;
	size_t		 n;

	dst[0] = '\0';
	if ((v = json_object_get(pl, name)) == NULL)
		return required ? TALLY_E_UNAUTHORIZED : TALLY_OK;
	if (!json_is_string(v))
		return TALLY_E_UNAUTHORIZED;
	s = json_string_value(v);
	n = json_string_length(v);
	if ((required && n == 0) || n >= dstsz || memchr(s, '\0', n) != NULL)
		return TALLY_E_UNAUTHORIZED;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return TALLY_OK;
}

/* Whether the "aud" claim v (string or array of strings) contains aud. */
static int
aud_ok(const json_t *v, const char *aud)
{
	json_t	*e;
	size_t	 i;
	int	 found = 0;

	if (json_is_string(v))
		return json_str_eq(v, aud);
	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return 0;
		if (json_str_eq(e, aud))
			found = 1;
	}
	return found;
}

/*
 * Check the claims of the (already authenticated) payload pl at now.
 * Returns TALLY_OK, TALLY_E_UNAUTHORIZED, TALLY_E_EXPIRED or
 * TALLY_E_NOTYET.  OUT: *c.
 */
static int
parse_claims(const json_t *pl, int64_t now, const char *iss, const char *aud,
    struct core_jwt_claims *c)
{
	const json_t	*exp, *nbf;
	int		 rc;

	if (!json_is_object(pl))
		return TALLY_E_UNAUTHORIZED;
	if ((exp = json_object_get(pl, "exp")) == NULL || !json_is_integer(exp))
		return TALLY_E_UNAUTHORIZED;
	c->exp = json_integer_value(exp);
	if ((nbf = json_object_get(pl, "nbf")) != NULL) {
		if (!json_is_integer(nbf))
			return TALLY_E_UNAUTHORIZED;
		c->nbf = json_integer_value(nbf);
	}
	if ((rc = claim_string(pl, "sub", c->sub, sizeof(c->sub), 1)) !=
	    TALLY_OK)
		return rc;
	if ((rc = claim_string(pl, "email", c->email, sizeof(c->email), 0)) !=
	    TALLY_OK)
		return rc;
	if ((rc = claim_string(pl, "locale", c->locale, sizeof(c->locale),
	    0)) != TALLY_OK)
		return rc;
	if (iss != NULL && *iss != '\0' &&
	    !json_str_eq(json_object_get(pl, "iss"), iss))
		return TALLY_E_UNAUTHORIZED;
	if (aud != NULL && *aud != '\0' &&
	    !aud_ok(json_object_get(pl, "aud"), aud))
		return TALLY_E_UNAUTHORIZED;
	return core_jwt_claims_current(c, now);
}

/*
 * Decode the base64url JSON part of len bytes at s.
 * Returns TALLY_OK, TALLY_E_UNAUTHORIZED or TALLY_E_NOMEM.  OUT: *out.
 */
static int
decode_json(const char *s, size_t len, json_t **out)
{
	json_error_t	 err;
	unsigned char	*buf;
	size_t		 n;
	int		 rc;

	*out = NULL;
	if ((rc = b64url_decode(s, len, &buf, &n)) != TALLY_OK)
		return rc == TALLY_E_INVALID ? TALLY_E_UNAUTHORIZED : rc;
	*out = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &err);
	free(buf);
	if (*out == NULL)
		return json_load_rc(&err, TALLY_E_UNAUTHORIZED);
	return TALLY_OK;
}

/*
 * The header segment is the same bytes on every token one issuer mints
 * ({"alg":"HS256","typ":"JWT"}, or with its key's kid), so each thread
 * keeps the last one it decoded and what parse_header() made of it, and
 * a request then decodes only its payload.  Only a header that passed is
 * kept, and a segment is compared in full, so no other bytes ever take
 * its place; what it says is public, in every token.
 */
struct hdr_memo {
	char		 seg[256];
	size_t		 seglen;	/* 0: nothing kept */
	enum jwt_alg	 alg;
	char		 kid[192];
	size_t		 kidlen;
	int		 has_kid;
};

static __thread struct hdr_memo hdr_tls;

/*
 * The header of a token (its first len bytes, seg).  OUT: *alg, *kid,
 * *kidlen as parse_header(); *kid lives until this thread's next call,
 * or, for a header too long to keep, as long as *hold, which the caller
 * releases with json_decref().
 */
static int
header_of(const char *seg, size_t len, enum jwt_alg *alg, const char **kid,
    size_t *kidlen, json_t **hold)
{
	struct hdr_memo	*m = &hdr_tls;
	int		 rc;

	*hold = NULL;
	if (m->seglen != 0 && m->seglen == len &&
	    memcmp(m->seg, seg, len) == 0) {
		*alg = m->alg;
		*kid = m->has_kid ? m->kid : NULL;
		*kidlen = m->kidlen;
		return TALLY_OK;
	}
	if ((rc = decode_json(seg, len, hold)) != TALLY_OK ||
	    (rc = parse_header(*hold, alg, kid, kidlen)) != TALLY_OK)
		return rc;
	if (len > sizeof(m->seg) || *kidlen > sizeof(m->kid))
		return TALLY_OK;
	memcpy(m->seg, seg, len);
	m->seglen = len;
	m->alg = *alg;
	m->has_kid = *kid != NULL;
	m->kidlen = *kidlen;
	if (*kid != NULL) {
		memcpy(m->kid, *kid, *kidlen);
		*kid = m->kid;
	}
	return TALLY_OK;
}

int
core_jwt_claims_current(const struct core_jwt_claims *c, int64_t now)
{
	if (now >= c->exp)
		return TALLY_E_EXPIRED;
	if (now < c->nbf)		/* 0 when absent */
		return TALLY_E_NOTYET;
	return TALLY_OK;
}

int
core_jwt_verify(const struct core_jwt_keys *k, const char *token,
    size_t len, int64_t now, const char *iss, const char *aud,
    struct core_jwt_claims *claims)
{
	struct core_jwt_claims	 c;
	json_t			*hdr = NULL, *pl = NULL;
	const char		*dot1, *dot2, *end, *kid;
	unsigned char		*sig = NULL;
	size_t			 siglen, kidlen;
	enum jwt_alg		 alg;
	int			 rc;

	memset(&c, 0, sizeof(c));
	if (claims != NULL)
		memset(claims, 0, sizeof(*claims));
	if (k == NULL || token == NULL || len == 0 || len > JWT_MAX_TOKEN)
		return TALLY_E_UNAUTHORIZED;
	end = token + len;
	if ((dot1 = memchr(token, '.', len)) == NULL ||
	    (dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1))) == NULL ||
	    memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)) != NULL ||
	    dot1 == token || dot2 == dot1 + 1)
		return TALLY_E_UNAUTHORIZED;

	ERR_set_mark();
	if ((rc = header_of(token, (size_t)(dot1 - token), &alg, &kid,
	    &kidlen, &hdr)) != TALLY_OK)
		goto out;
	if ((rc = b64url_decode(dot2 + 1, (size_t)(end - dot2 - 1), &sig,
	    &siglen)) != TALLY_OK) {
		if (rc == TALLY_E_INVALID)
			rc = TALLY_E_UNAUTHORIZED;
		goto out;
	}
	/* Nothing of the payload is looked at before this succeeds. */
	if ((rc = check_sig(k, alg, kid, kidlen, (const unsigned char *)token,
	    (size_t)(dot2 - token), sig, siglen)) != TALLY_OK)
		goto out;
	if ((rc = decode_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), &pl)) !=
	    TALLY_OK ||
	    (rc = parse_claims(pl, now, iss, aud, &c)) != TALLY_OK)
		goto out;
	if (claims != NULL)
		*claims = c;
out:
	free(sig);
	json_decref(hdr);
	json_decref(pl);
	ERR_pop_to_mark();
	return rc;
}

int
core_jwt_sign_hs256(const char *secret, const json_t *claims, char **out)
{
	static const char	 hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char		 mac[JWT_HS256_LEN];
	char			*payload, *tok = NULL;
	size_t			 seclen, plen, tlen, off;
	int			 rc = TALLY_E_INVALID;

	if (out == NULL)
		return TALLY_E_INVALID;
	*out = NULL;
	if (secret == NULL || *secret == '\0' || !json_is_object(claims))
		return TALLY_E_INVALID;
	if ((seclen = strlen(secret)) > INT_MAX)
		return TALLY_E_INVALID;
	if ((payload = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS)) ==
	    NULL)
		return TALLY_E_NOMEM;
	/* A token core_jwt_verify() would refuse is not minted. */
	if ((plen = strlen(payload)) > JWT_MAX_TOKEN)
		goto out;
	tlen = b64url_len(sizeof(hdr) - 1) + 1 + b64url_len(plen) + 1 +
	    b64url_len(JWT_HS256_LEN);
	if (tlen > JWT_MAX_TOKEN)
		goto out;
	rc = TALLY_E_NOMEM;
	if ((tok = malloc(tlen + 1)) == NULL)
		goto out;
	off = b64url_encode((const unsigned char *)hdr, sizeof(hdr) - 1, tok);
	tok[off++] = '.';
	off += b64url_encode((const unsigned char *)payload, plen, tok + off);
	ERR_set_mark();
	if (hs256((const unsigned char *)secret, seclen,
	    (const unsigned char *)tok, off, mac) != 0) {
		ERR_pop_to_mark();
		rc = TALLY_E_INVALID;
		goto out;
	}
	ERR_pop_to_mark();
	tok[off++] = '.';
	off += b64url_encode(mac, sizeof(mac), tok + off);
	tok[off] = '\0';
	*out = tok;
	tok = NULL;
	rc = TALLY_OK;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	free(tok);
	free(payload);
	return rc;
}
