/* Nostr for NIP-47: keys and BIP-340 signatures through libsecp256k1,
 * NIP-04 and NIP-44 v2 through OpenSSL (AES-CBC, ChaCha20, HKDF, HMAC). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "nostr.h"
#include "result.h"

#define NWC_SCHEME	"nostr+walletconnect://"
#define NIP44_MIN_PLAIN	1
#define NIP44_MAX_PLAIN	65535
/* Limits of a NIP-44 v2 payload (base64) and its decoded bytes. */
#define NIP44_MIN_B64	132
#define NIP44_MAX_B64	87472
#define NIP44_MIN_RAW	99
#define NIP44_MAX_RAW	65603
/* A NIP-04 message we would ever send or accept. */
#define NIP04_MAX	65536

/* ------------------------------------------------------------ helpers */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2n hex digits (either case) into out[n]. */
static int
unhex(const char *s, size_t slen, unsigned char *out, size_t n)
{
	size_t	 i;
	int	 hi, lo;

	if (slen != 2 * n)
		return TALLY_E_INVALID;
	for (i = 0; i < n; i++) {
		if ((hi = hexval((unsigned char)s[2 * i])) < 0 ||
		    (lo = hexval((unsigned char)s[2 * i + 1])) < 0)
			return TALLY_E_INVALID;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return TALLY_OK;
}

static void
tohex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Standard base64 with padding.  OUT: malloc'd, NUL-terminated. */
static char *
b64_encode(const unsigned char *in, size_t n)
{
	char	*out;

	if (n > 1 << 24 || (out = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return out;
}

/*
 * Strict base64 (standard alphabet, padded, length a multiple of 4) of
 * the n characters at in.  OUT: *out (malloc'd), *outlen.
 */
static int
b64_decode(const char *in, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char	*buf;
	size_t		 i, pad = 0;
	int		 len;

	*out = NULL;
	if (n == 0 || n % 4 != 0 || n > 1 << 24)
		return TALLY_E_INVALID;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '=' && i >= n - 2) {
			pad++;
			continue;
		}
		if (pad > 0 || !((c >= 'A' && c <= 'Z') || (c >= 'a' &&
		    c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
		    c == '/'))
			return TALLY_E_INVALID;
	}
	if ((buf = malloc(n / 4 * 3 + 1)) == NULL)
		return TALLY_E_NOMEM;
	len = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n);
	if (len < 0 || (size_t)len < pad) {
		free(buf);
		return TALLY_E_INVALID;
	}
	*out = buf;
	*outlen = (size_t)len - pad;
	return TALLY_OK;
}

/*
 * A context for one operation, randomised against side channels when it
 * signs.  Made per call: the scheduler signs a handful of events a tick.
 */
static secp256k1_context *
ctx_new(void)
{
	secp256k1_context *ctx;
	unsigned char	 seed[32];

	if ((ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE)) == NULL)
		return NULL;
	if (RAND_bytes(seed, sizeof(seed)) != 1 ||
	    !secp256k1_context_randomize(ctx, seed)) {
		secp256k1_context_destroy(ctx);
		return NULL;
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	return ctx;
}

/* The even-y point whose x is pub (hex). */
static int
parse_xonly(const secp256k1_context *ctx, const char *pub,
    secp256k1_pubkey *pk)
{
	unsigned char	 buf[33];

	buf[0] = 0x02;
	if (pub == NULL || unhex(pub, strlen(pub), buf + 1, 32) != TALLY_OK ||
	    !secp256k1_ec_pubkey_parse(ctx, pk, buf, sizeof(buf)))
		return TALLY_E_INVALID;
	return TALLY_OK;
}

/* ------------------------------------------------- connection strings */

void
core_nwc_wipe(struct core_nwc *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}

/* Percent-decode the n characters at s into out (outsz with the NUL). */
static int
pct_decode(const char *s, size_t n, char *out, size_t outsz)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= n)
				return TALLY_E_INVALID;
			if ((hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0)
				return TALLY_E_INVALID;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (o + 1 >= outsz)
			return TALLY_E_TOOBIG;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return TALLY_OK;
}

/* A relay URL we can dial: ws:// or wss://, a host, no space or control. */
static int
relay_ok(const char *u)
{
	const char	*host;
	size_t		 i;

	if (strncmp(u, "wss://", 6) == 0)
		host = u + 6;
	else if (strncmp(u, "ws://", 5) == 0)
		host = u + 5;
	else
		return 0;
	if (*host == '\0' || *host == '/' || *host == ':')
		return 0;
	for (i = 0; u[i] != '\0'; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
			return 0;
	return 1;
}

int
core_nwc_parse(const char *url, struct core_nwc *out, const char **why)
{
	secp256k1_context *ctx = NULL;
	secp256k1_pubkey pk;
	const char	*q, *p, *amp, *eq;
	int		 have_secret = 0, rc = TALLY_E_INVALID;
	char		 val[1025];

	memset(out, 0, sizeof(*out));
	*why = "the connection string must start with nostr+walletconnect://";
	if (url == NULL || strncmp(url, NWC_SCHEME, strlen(NWC_SCHEME)) != 0)
		return TALLY_E_INVALID;
	p = url + strlen(NWC_SCHEME);
	if ((q = strchr(p, '?')) == NULL) {
		*why = "the connection string has no relay= and secret=";
		return TALLY_E_INVALID;
	}
	*why = "the wallet's public key must be 64 hex digits";
	if (q - p != 64)
		return TALLY_E_INVALID;
	{
		unsigned char raw[32];

		if (unhex(p, 64, raw, 32) != TALLY_OK)
			return TALLY_E_INVALID;
		tohex(raw, 32, out->wallet);
	}
	if ((ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE)) == NULL)
		return TALLY_E_NOMEM;
	*why = "the wallet's public key is not a point of secp256k1";
	if (parse_xonly(ctx, out->wallet, &pk) != TALLY_OK)
		goto out;
	for (p = q + 1; *p != '\0'; p = *amp != '\0' ? amp + 1 : amp) {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL)
			continue;
		if ((size_t)(eq - p) == 5 && strncmp(p, "relay", 5) == 0) {
			if (out->relay[0] != '\0')
				continue;	/* the first relay is ours */
			*why = "the relay must be a ws:// or wss:// URL of at "
			    "most 1024 characters";
			if (pct_decode(eq + 1, (size_t)(amp - eq - 1), val,
			    sizeof(val)) != TALLY_OK || !relay_ok(val))
				goto out;
			memcpy(out->relay, val, strlen(val) + 1);
		} else if ((size_t)(eq - p) == 6 &&
		    strncmp(p, "secret", 6) == 0) {
			*why = "the connection string names more than one "
			    "secret";
			if (have_secret)
				goto out;
			*why = "the secret must be 64 hex digits";
			if (unhex(eq + 1, (size_t)(amp - eq - 1), out->secret,
			    32) != TALLY_OK)
				goto out;
			*why = "the secret is not a valid private key";
			if (!secp256k1_ec_seckey_verify(ctx, out->secret))
				goto out;
			have_secret = 1;
		}
	}
	*why = "the connection string has no relay=";
	if (out->relay[0] == '\0')
		goto out;
	*why = "the connection string has no secret=";
	if (!have_secret)
		goto out;
	*why = "the secret is not a valid private key";
	if (core_nostr_pubkey(out->secret, out->pubkey) != TALLY_OK)
		goto out;
	*why = NULL;
	rc = TALLY_OK;
out:
	secp256k1_context_destroy(ctx);
	OPENSSL_cleanse(val, sizeof(val));
	if (rc != TALLY_OK)
		core_nwc_wipe(out);
	return rc;
}

/* --------------------------------------------------------------- keys */

int
core_nostr_pubkey(const unsigned char sec[32], char pub[65])
{
	secp256k1_context *ctx;
	secp256k1_keypair kp;
	secp256k1_xonly_pubkey xo;
	unsigned char	 raw[32];
	int		 rc = TALLY_E_INVALID;

	if ((ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE)) == NULL)
		return TALLY_E_NOMEM;
	if (secp256k1_keypair_create(ctx, &kp, sec) &&
	    secp256k1_keypair_xonly_pub(ctx, &xo, NULL, &kp) &&
	    secp256k1_xonly_pubkey_serialize(ctx, raw, &xo)) {
		tohex(raw, 32, pub);
		rc = TALLY_OK;
	}
	OPENSSL_cleanse(&kp, sizeof(kp));
	secp256k1_context_destroy(ctx);
	return rc;
}

/* The ECDH "hash" both NIPs want: the shared point's x, unhashed. */
static int
copy_x(unsigned char *out, const unsigned char *x32, const unsigned char *y32,
    void *data)
{
	(void)y32;
	(void)data;
	memcpy(out, x32, 32);
	return 1;
}

int
core_nostr_ecdh(const unsigned char sec[32], const char *pub,
    unsigned char x[32])
{
	secp256k1_context *ctx;
	secp256k1_pubkey pk;
	int		 rc = TALLY_E_INVALID;

	if ((ctx = ctx_new()) == NULL)
		return TALLY_E_NOMEM;
	if (parse_xonly(ctx, pub, &pk) == TALLY_OK &&
	    secp256k1_ec_seckey_verify(ctx, sec) &&
	    secp256k1_ecdh(ctx, x, &pk, sec, copy_x, NULL))
		rc = TALLY_OK;
	secp256k1_context_destroy(ctx);
	return rc;
}

/* ------------------------------------------------------------- NIP-44 */

/* HKDF-SHA256 in one of its two halves (OpenSSL's EVP_KDF "HKDF"). */
static int
hkdf(int mode, const unsigned char *key, size_t keylen,
    const unsigned char *salt_or_info, size_t silen, unsigned char *out,
    size_t outlen)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx;
	OSSL_PARAM	 params[5], *p = params;
	int		 ok;

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return TALLY_E_INTERNAL;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return TALLY_E_NOMEM;
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)key, keylen);
	*p++ = OSSL_PARAM_construct_octet_string(mode ==
	    EVP_KDF_HKDF_MODE_EXTRACT_ONLY ? OSSL_KDF_PARAM_SALT :
	    OSSL_KDF_PARAM_INFO, (void *)salt_or_info, silen);
	*p = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kctx, out, outlen, params);
	EVP_KDF_CTX_free(kctx);
	return ok == 1 ? TALLY_OK : TALLY_E_INTERNAL;
}

int
core_nip44_conversation_key(const unsigned char sec[32], const char *pub,
    unsigned char key[32])
{
	unsigned char	 x[32];
	int		 rc;

	if ((rc = core_nostr_ecdh(sec, pub, x)) != TALLY_OK)
		return rc;
	rc = hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, x, 32,
	    (const unsigned char *)"nip44-v2", 8, key, 32);
	OPENSSL_cleanse(x, sizeof(x));
	return rc;
}

int
core_nip44_message_keys(const unsigned char key[32],
    const unsigned char nonce[32], unsigned char chacha_key[32],
    unsigned char chacha_nonce[12], unsigned char hmac_key[32])
{
	unsigned char	 okm[76];
	int		 rc;

	if ((rc = hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, key, 32, nonce, 32, okm,
	    sizeof(okm))) != TALLY_OK)
		return rc;
	memcpy(chacha_key, okm, 32);
	memcpy(chacha_nonce, okm + 32, 12);
	memcpy(hmac_key, okm + 44, 32);
	OPENSSL_cleanse(okm, sizeof(okm));
	return TALLY_OK;
}

size_t
core_nip44_padded_len(size_t len)
{
	size_t	 next_power = 1, chunk;

	if (len < NIP44_MIN_PLAIN)
		return 0;
	if (len <= 32)
		return 32;
	/* 1 << (floor(log2(len - 1)) + 1): the power of two above len - 1. */
	while (next_power <= len - 1)
		next_power <<= 1;
	chunk = next_power <= 256 ? 32 : next_power / 8;
	return chunk * ((len - 1) / chunk + 1);
}

/* ChaCha20 (RFC 8439, counter 0) of n bytes; encryption is decryption. */
static int
chacha20(const unsigned char key[32], const unsigned char nonce[12],
    const unsigned char *in, size_t n, unsigned char *out)
{
	EVP_CIPHER_CTX	*ctx;
	unsigned char	 iv[16];
	int		 len, ok;

	/* OpenSSL's IV is the 32-bit little-endian counter, then the nonce. */
	memset(iv, 0, 4);
	memcpy(iv + 4, nonce, 12);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return TALLY_E_NOMEM;
	ok = EVP_EncryptInit_ex(ctx, EVP_chacha20(), NULL, key, iv) == 1 &&
	    EVP_EncryptUpdate(ctx, out, &len, in, (int)n) == 1 &&
	    (size_t)len == n;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? TALLY_OK : TALLY_E_INTERNAL;
}

/* HMAC-SHA256(hmac_key, nonce || ciphertext). */
static int
nip44_mac(const unsigned char hmac_key[32], const unsigned char nonce[32],
    const unsigned char *ct, size_t n, unsigned char mac[32])
{
	unsigned char	*aad;
	unsigned int	 maclen = 0;
	int		 ok;

	if ((aad = malloc(32 + n)) == NULL)
		return TALLY_E_NOMEM;
	memcpy(aad, nonce, 32);
	memcpy(aad + 32, ct, n);
	ok = HMAC(EVP_sha256(), hmac_key, 32, aad, 32 + n, mac, &maclen) !=
	    NULL && maclen == 32;
	free(aad);
	return ok ? TALLY_OK : TALLY_E_INTERNAL;
}

int
core_nip44_encrypt(const unsigned char key[32], const unsigned char *nonce,
    const char *plain, size_t len, char **payload)
{
	unsigned char	 n[32], ck[32], cn[12], hk[32], mac[32];
	unsigned char	*padded = NULL, *raw = NULL;
	size_t		 plen;
	int		 rc;

	*payload = NULL;
	if (len < NIP44_MIN_PLAIN || len > NIP44_MAX_PLAIN ||
	    (plen = core_nip44_padded_len(len)) == 0)
		return TALLY_E_INVALID;
	if (nonce != NULL)
		memcpy(n, nonce, 32);
	else if (RAND_bytes(n, 32) != 1)
		return TALLY_E_INTERNAL;
	if ((rc = core_nip44_message_keys(key, n, ck, cn, hk)) != TALLY_OK)
		return rc;
	rc = TALLY_E_NOMEM;
	/* [u16 big-endian length][plaintext][zeros] to the padded size. */
	if ((padded = calloc(1, 2 + plen)) == NULL ||
	    (raw = malloc(1 + 32 + 2 + plen + 32)) == NULL)
		goto out;
	padded[0] = (unsigned char)(len >> 8);
	padded[1] = (unsigned char)(len & 0xff);
	memcpy(padded + 2, plain, len);
	raw[0] = 2;
	memcpy(raw + 1, n, 32);
	if ((rc = chacha20(ck, cn, padded, 2 + plen, raw + 33)) != TALLY_OK ||
	    (rc = nip44_mac(hk, n, raw + 33, 2 + plen, mac)) != TALLY_OK)
		goto out;
	memcpy(raw + 33 + 2 + plen, mac, 32);
	rc = (*payload = b64_encode(raw, 1 + 32 + 2 + plen + 32)) != NULL ?
	    TALLY_OK : TALLY_E_NOMEM;
out:
	if (padded != NULL)
		OPENSSL_clear_free(padded, 2 + plen);
	free(raw);
	OPENSSL_cleanse(ck, sizeof(ck));
	OPENSSL_cleanse(hk, sizeof(hk));
	return rc;
}

int
core_nip44_decrypt(const unsigned char key[32], const char *payload,
    char **plain, size_t *len)
{
	unsigned char	 ck[32], cn[12], hk[32], mac[32];
	unsigned char	*raw = NULL, *padded = NULL;
	size_t		 plen = strlen(payload), rawlen = 0, ctlen, ulen;
	int		 rc = TALLY_E_INVALID;

	*plain = NULL;
	*len = 0;
	/* '#' announces a future, unsupported version. */
	if (plen == 0 || payload[0] == '#' || plen < NIP44_MIN_B64 ||
	    plen > NIP44_MAX_B64)
		return TALLY_E_INVALID;
	if ((rc = b64_decode(payload, plen, &raw, &rawlen)) != TALLY_OK)
		return rc;
	rc = TALLY_E_INVALID;
	if (rawlen < NIP44_MIN_RAW || rawlen > NIP44_MAX_RAW || raw[0] != 2)
		goto out;
	ctlen = rawlen - 1 - 32 - 32;
	if ((rc = core_nip44_message_keys(key, raw + 1, ck, cn, hk)) !=
	    TALLY_OK || (rc = nip44_mac(hk, raw + 1, raw + 33, ctlen, mac)) !=
	    TALLY_OK)
		goto out;
	rc = TALLY_E_INVALID;
	if (CRYPTO_memcmp(mac, raw + 33 + ctlen, 32) != 0)
		goto out;
	if ((padded = malloc(ctlen + 1)) == NULL) {
		rc = TALLY_E_NOMEM;
		goto out;
	}
	if ((rc = chacha20(ck, cn, raw + 33, ctlen, padded)) != TALLY_OK)
		goto out;
	rc = TALLY_E_INVALID;
	ulen = (size_t)padded[0] << 8 | padded[1];
	if (ulen == 0 || 2 + ulen > ctlen ||
	    ctlen != 2 + core_nip44_padded_len(ulen))
		goto out;
	memmove(padded, padded + 2, ulen);
	padded[ulen] = '\0';
	*plain = (char *)padded;
	*len = ulen;
	padded = NULL;
	rc = TALLY_OK;
out:
	free(raw);
	if (padded != NULL)
		OPENSSL_clear_free(padded, ctlen + 1);
	OPENSSL_cleanse(ck, sizeof(ck));
	OPENSSL_cleanse(hk, sizeof(hk));
	return rc;
}

/* ------------------------------------------------------------- NIP-04 */

int
core_nip04_encrypt(const unsigned char shared[32], const unsigned char *iv,
    const char *plain, size_t len, char **payload)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	unsigned char	 v[16], *ct = NULL;
	char		*a = NULL, *b = NULL;
	int		 n1 = 0, n2 = 0, rc = TALLY_E_INTERNAL;

	*payload = NULL;
	if (len == 0 || len > NIP04_MAX)
		return TALLY_E_INVALID;
	if (iv != NULL)
		memcpy(v, iv, 16);
	else if (RAND_bytes(v, 16) != 1)
		return TALLY_E_INTERNAL;
	if ((ct = malloc(len + 16)) == NULL ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL) {
		rc = TALLY_E_NOMEM;
		goto out;
	}
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, shared, v) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &n1, (const unsigned char *)plain,
	    (int)len) != 1 || EVP_EncryptFinal_ex(ctx, ct + n1, &n2) != 1)
		goto out;
	rc = TALLY_E_NOMEM;
	if ((a = b64_encode(ct, (size_t)(n1 + n2))) == NULL ||
	    (b = b64_encode(v, 16)) == NULL ||
	    (*payload = malloc(strlen(a) + 4 + strlen(b) + 1)) == NULL)
		goto out;
	snprintf(*payload, strlen(a) + 4 + strlen(b) + 1, "%s?iv=%s", a, b);
	rc = TALLY_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	free(ct);
	free(a);
	free(b);
	return rc;
}

int
core_nip04_decrypt(const unsigned char shared[32], const char *payload,
    char **plain, size_t *len)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	const char	*sep;
	unsigned char	*ct = NULL, *iv = NULL, *out = NULL;
	size_t		 ctlen = 0, ivlen = 0;
	int		 n1 = 0, n2 = 0, rc;

	*plain = NULL;
	*len = 0;
	if ((sep = strstr(payload, "?iv=")) == NULL ||
	    (size_t)(sep - payload) > 2 * NIP04_MAX)
		return TALLY_E_INVALID;
	if ((rc = b64_decode(payload, (size_t)(sep - payload), &ct,
	    &ctlen)) != TALLY_OK ||
	    (rc = b64_decode(sep + 4, strlen(sep + 4), &iv, &ivlen)) !=
	    TALLY_OK)
		goto out;
	rc = TALLY_E_INVALID;
	if (ivlen != 16 || ctlen == 0 || ctlen % 16 != 0)
		goto out;
	if ((out = malloc(ctlen + 16 + 1)) == NULL ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL) {
		rc = TALLY_E_NOMEM;
		goto out;
	}
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, shared, iv) != 1 ||
	    EVP_DecryptUpdate(ctx, out, &n1, ct, (int)ctlen) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out + n1, &n2) != 1)
		goto out;
	out[n1 + n2] = '\0';
	*plain = (char *)out;
	*len = (size_t)(n1 + n2);
	out = NULL;
	rc = TALLY_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	free(ct);
	free(iv);
	free(out);
	return rc;
}

/* ------------------------------------------------------------- events */

int
core_nostr_event_id(const char *pubkey, int64_t created_at, int64_t kind,
    const json_t *tags, const char *content, char id[65])
{
	json_t		*arr;
	char		*ser;
	unsigned char	 h[SHA256_DIGEST_LENGTH];

	/* NIP-01: no whitespace, UTF-8 as is, only the short escapes and
	 * \u00XX for other controls: jansson's compact form, without
	 * escaping "/" (JSON_ESCAPE_SLASH is not set). */
	arr = json_pack("[i,s,I,I,O,s]", 0, pubkey, (json_int_t)created_at,
	    (json_int_t)kind, (json_t *)tags, content);
	if (arr == NULL)
		return TALLY_E_INVALID;
	ser = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (ser == NULL)
		return TALLY_E_NOMEM;
	SHA256((const unsigned char *)ser, strlen(ser), h);
	free(ser);
	tohex(h, sizeof(h), id);
	return TALLY_OK;
}

int
core_nostr_sign(const unsigned char sec[32], const char *msg,
    const unsigned char *aux, char sig[129])
{
	secp256k1_context *ctx;
	secp256k1_keypair kp;
	unsigned char	 m[32], a[32], s[64];
	int		 rc = TALLY_E_INVALID;

	if (unhex(msg, strlen(msg), m, 32) != TALLY_OK)
		return TALLY_E_INVALID;
	if (aux != NULL)
		memcpy(a, aux, 32);
	else if (RAND_bytes(a, 32) != 1)
		return TALLY_E_INTERNAL;
	if ((ctx = ctx_new()) == NULL)
		return TALLY_E_NOMEM;
	if (secp256k1_keypair_create(ctx, &kp, sec) &&
	    secp256k1_schnorrsig_sign32(ctx, s, m, &kp, a)) {
		tohex(s, 64, sig);
		rc = TALLY_OK;
	}
	OPENSSL_cleanse(&kp, sizeof(kp));
	secp256k1_context_destroy(ctx);
	return rc;
}

int
core_nostr_verify(const char *pub, const unsigned char *msg, size_t msglen,
    const char *sig)
{
	secp256k1_xonly_pubkey xo;
	unsigned char	 p[32], s[64];

	if (pub == NULL || sig == NULL ||
	    unhex(pub, strlen(pub), p, 32) != TALLY_OK ||
	    unhex(sig, strlen(sig), s, 64) != TALLY_OK ||
	    !secp256k1_xonly_pubkey_parse(secp256k1_context_static, &xo, p) ||
	    !secp256k1_schnorrsig_verify(secp256k1_context_static, s, msg,
	    msglen, &xo))
		return TALLY_E_SIGNATURE;
	return TALLY_OK;
}

int
core_nostr_event_check(const json_t *ev)
{
	const char	*id, *pub, *sig, *content;
	const json_t	*tags, *t;
	char		 want[65];
	unsigned char	 m[32];
	size_t		 i, j;

	id = json_string_value(json_object_get(ev, "id"));
	pub = json_string_value(json_object_get(ev, "pubkey"));
	sig = json_string_value(json_object_get(ev, "sig"));
	content = json_string_value(json_object_get(ev, "content"));
	tags = json_object_get(ev, "tags");
	if (id == NULL || pub == NULL || sig == NULL || content == NULL ||
	    !json_is_integer(json_object_get(ev, "created_at")) ||
	    !json_is_integer(json_object_get(ev, "kind")) ||
	    !json_is_array(tags))
		return TALLY_E_INVALID;
	json_array_foreach(tags, i, t) {
		const json_t *v;

		if (!json_is_array(t))
			return TALLY_E_INVALID;
		json_array_foreach(t, j, v)
			if (!json_is_string(v))
				return TALLY_E_INVALID;
	}
	if (core_nostr_event_id(pub, json_integer_value(json_object_get(ev,
	    "created_at")), json_integer_value(json_object_get(ev, "kind")),
	    tags, content, want) != TALLY_OK)
		return TALLY_E_INVALID;
	/* The id is not secret, but compare it as carefully as the rest. */
	if (strlen(id) != 64 || CRYPTO_memcmp(id, want, 64) != 0 ||
	    unhex(want, 64, m, 32) != TALLY_OK)
		return TALLY_E_SIGNATURE;
	return core_nostr_verify(pub, m, 32, sig);
}

/* ------------------------------------------------------------- NIP-47 */

/* The first value of the first tag named name, or NULL. */
static const char *
tag_value(const json_t *ev, const char *name)
{
	const json_t	*t;
	const char	*n;
	size_t		 i;

	json_array_foreach(json_object_get(ev, "tags"), i, t) {
		n = json_string_value(json_array_get(t, 0));
		if (n != NULL && strcmp(n, name) == 0)
			return json_string_value(json_array_get(t, 1));
	}
	return NULL;
}

enum core_nwc_enc
core_nwc_info_encryption(const json_t *info)
{
	const char	*v = tag_value(info, "encryption");
	const char	*p;
	size_t		 n = strlen("nip44_v2");

	/* A space-separated list; look for the whole word. */
	for (p = v; p != NULL && (p = strstr(p, "nip44_v2")) != NULL; p += n)
		if ((p == v || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return NWC_NIP44;
	return NWC_NIP04;
}

int
core_nwc_pay_request(const struct core_nwc *c, const char *bolt11,
    int64_t created_at, enum core_nwc_enc enc, json_t **event)
{
	json_t		*req, *tags = NULL;
	unsigned char	 key[32];
	char		*plain = NULL, *content = NULL, id[65], sig[129];
	int		 rc;

	*event = NULL;
	req = json_pack("{s:s,s:{s:s}}", "method", "pay_invoice", "params",
	    "invoice", bolt11);
	plain = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (plain == NULL)
		return TALLY_E_NOMEM;
	if (enc == NWC_NIP44) {
		if ((rc = core_nip44_conversation_key(c->secret, c->wallet,
		    key)) == TALLY_OK)
			rc = core_nip44_encrypt(key, NULL, plain, strlen(plain),
			    &content);
		tags = json_pack("[[s,s],[s,s]]", "p", c->wallet, "encryption",
		    "nip44_v2");
	} else {
		if ((rc = core_nostr_ecdh(c->secret, c->wallet, key)) ==
		    TALLY_OK)
			rc = core_nip04_encrypt(key, NULL, plain, strlen(plain),
			    &content);
		tags = json_pack("[[s,s]]", "p", c->wallet);
	}
	OPENSSL_cleanse(key, sizeof(key));
	free(plain);
	if (rc == TALLY_OK && tags == NULL)
		rc = TALLY_E_NOMEM;
	if (rc == TALLY_OK)
		rc = core_nostr_event_id(c->pubkey, created_at,
		    NOSTR_KIND_NWC_REQUEST, tags, content, id);
	if (rc == TALLY_OK)
		rc = core_nostr_sign(c->secret, id, NULL, sig);
	if (rc == TALLY_OK && (*event = json_pack("{s:s,s:s,s:I,s:i,s:O,s:s,"
	    "s:s}", "id", id, "pubkey", c->pubkey, "created_at",
	    (json_int_t)created_at, "kind", NOSTR_KIND_NWC_REQUEST, "tags",
	    tags, "content", content, "sig", sig)) == NULL)
		rc = TALLY_E_NOMEM;
	json_decref(tags);
	free(content);
	return rc;
}

/* Copy s (or "") into dst, cut at dstsz - 1 bytes. */
static void
copy_str(const char *s, char *dst, size_t dstsz)
{
	snprintf(dst, dstsz, "%s", s != NULL ? s : "");
}

int
core_nwc_read_response(const struct core_nwc *c, const json_t *ev,
    const char *request_id, struct core_nwc_result *r)
{
	const char	*e, *p, *pub, *content, *type;
	const json_t	*err, *res;
	json_t		*body;
	unsigned char	 key[32];
	char		*plain = NULL;
	size_t		 len;
	int		 rc;

	memset(r, 0, sizeof(*r));
	e = tag_value(ev, "e");
	p = tag_value(ev, "p");
	pub = json_string_value(json_object_get(ev, "pubkey"));
	if (json_integer_value(json_object_get(ev, "kind")) !=
	    NOSTR_KIND_NWC_RESPONSE || e == NULL || strcmp(e, request_id) != 0)
		return TALLY_E_NOTFOUND;
	/* It claims to answer our request: it must be the wallet's, to us,
	 * and signed. */
	if (pub == NULL || strcmp(pub, c->wallet) != 0 || p == NULL ||
	    strcmp(p, c->pubkey) != 0)
		return TALLY_E_SIGNATURE;
	if ((rc = core_nostr_event_check(ev)) != TALLY_OK)
		return rc;
	content = json_string_value(json_object_get(ev, "content"));
	if (strstr(content, "?iv=") != NULL) {
		if ((rc = core_nostr_ecdh(c->secret, c->wallet, key)) ==
		    TALLY_OK)
			rc = core_nip04_decrypt(key, content, &plain, &len);
	} else if ((rc = core_nip44_conversation_key(c->secret, c->wallet,
	    key)) == TALLY_OK)
		rc = core_nip44_decrypt(key, content, &plain, &len);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != TALLY_OK)
		return TALLY_E_INVALID;
	body = json_loadb(plain, len, JSON_REJECT_DUPLICATES, NULL);
	free(plain);
	if (!json_is_object(body)) {
		json_decref(body);
		return TALLY_E_INVALID;
	}
	type = json_string_value(json_object_get(body, "result_type"));
	err = json_object_get(body, "error");
	res = json_object_get(body, "result");
	rc = TALLY_OK;
	if (json_is_object(err)) {
		copy_str(json_string_value(json_object_get(err, "code")),
		    r->code, sizeof(r->code));
		copy_str(json_string_value(json_object_get(err, "message")),
		    r->message, sizeof(r->message));
		if (r->code[0] == '\0')
			copy_str("OTHER", r->code, sizeof(r->code));
	} else if ((type == NULL || strcmp(type, "pay_invoice") == 0) &&
	    json_is_object(res) && json_is_string(json_object_get(res,
	    "preimage"))) {
		r->ok = 1;
		copy_str(json_string_value(json_object_get(res, "preimage")),
		    r->preimage, sizeof(r->preimage));
	} else
		rc = TALLY_E_INVALID;
	json_decref(body);
	return rc;
}
