/* Unit tests for core/jwt.c: HS256/RS256/ES256 verification, HS256 minting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "jwt.h"
#include "result.h"

#define NOW		1700000000
#define SECRET		"tally-unit-test-secret-0123456789abcdef"
#define MAXSIG		1024

/*
 * Header and payload texts in the tables use ' for " to stay readable;
 * dq() turns them into JSON.  Times are relative to NOW.
 */
#define H_HS		"{'alg':'HS256','typ':'JWT'}"
#define H_RS		"{'alg':'RS256','typ':'JWT','kid':'rsa1'}"
#define H_ES		"{'alg':'ES256','typ':'JWT','kid':'ec1'}"
#define P_OK		"{'sub':'user-1','exp':1700003600}"
#define P_OTHER		"{'sub':'admin','exp':1700003600}"
#define P_FULL		"{'sub':'user-1','email':'u@example.com'," \
			"'locale':'de-DE','exp':1700003600,'nbf':1699999000," \
			"'iss':'https://idp.example','aud':'tally'}"

#define S10		"xxxxxxxxxx"
#define S50		S10 S10 S10 S10 S10
#define S250		S50 S50 S50 S50 S50
#define S300		S250 S50

enum keyset {
	KS_HS,		/* SECRET only */
	KS_JWKS,	/* the JWKS only */
	KS_ALL,		/* SECRET and the JWKS */
	KS_PEM,		/* the RSA public key PEM as HS256 secret */
	KS__MAX
};

enum signer {
	S_HS,		/* HS256 with SECRET */
	S_HS_WRONG,	/* HS256 with another secret */
	S_HS512,	/* HMAC-SHA512 with SECRET */
	S_EMPTY,	/* no signature at all */
	S_HS_N,		/* HS256 keyed with the RSA modulus bytes */
	S_HS_PEM,	/* HS256 keyed with the RSA public key PEM */
	S_RSA,		/* RS256, JWKS key "rsa1" */
	S_RSA_OTHER,	/* RS256, a key that is not usable in the JWKS */
	S_EC,		/* ES256 raw R||S, JWKS key "ec1" */
	S_EC0,		/* ES256 raw R||S, JWKS key "ec0" */
	S_EC_OTHER,	/* ES256 raw R||S, a key not in the JWKS */
	S_EC_DER	/* ES256 with "ec1" but left in DER */
};

enum mutation {
	M_NONE,
	M_PAYLOAD,	/* payload replaced by alt after signing */
	M_SIG_FLIP,	/* a bit of the signature flipped */
	M_SIG_SHORT,	/* the last signature byte dropped */
	M_SIG_LONG,	/* a zero byte appended to the signature */
	M_SIG_ZERO,	/* the signature zeroed, same length */
	M_SIG_NONCANON,	/* stray low bits in the last base64 character */
	M_SIG_PAD,	/* "=" padding after the signature */
	M_SIG_BADCHAR,	/* '+' (base64, not base64url) in the signature */
	M_PAYLOAD_BAD,	/* '/' in the payload part */
	M_DOT,		/* a fourth part */
	M_NUL_TAIL,	/* len counts the terminating NUL */
	M_LEN_SHORT	/* len one byte short */
};

struct vcase {
	const char	*name;
	enum keyset	 ks;
	const char	*header;
	const char	*payload;
	enum signer	 signer;
	enum mutation	 mut;
	const char	*alt;		/* payload for M_PAYLOAD */
	const char	*iss;
	const char	*aud;
	int		 want;
};

struct fixture {
	EVP_PKEY		*rsa, *rsa_other, *ec, *ec0, *ec_other;
	unsigned char		*n;	/* modulus of rsa */
	size_t			 nlen;
	char			*pem;	/* public key of rsa */
	char			*jwks;
	char			*b64n, *b64e, *b64x, *b64y;
	struct core_jwt_keys	*ks[KS__MAX];
};

static struct fixture	 fx;

/* A copy of s with ' turned into ". */
static char *
dq(const char *s)
{
	char	*r, *p;

	r = strdup(s);
	assert_non_null(r);
	for (p = r; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

/* base64url without padding, via OpenSSL's base64 (not the code tested). */
static char *
b64(const void *in, size_t len)
{
	char	*out, *p, *q;

	out = malloc(4 * ((len + 2) / 3) + 1);
	assert_non_null(out);
	assert_true(len <= INT32_MAX);
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	for (p = q = out; *p != '\0'; p++) {
		if (*p == '=')
			continue;
		*q++ = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	}
	*q = '\0';
	return out;
}

/* base64url of the text s. */
static char *
b64s(const char *s)
{
	return b64(s, strlen(s));
}

/* a "." b ("." c when c is not NULL), freshly allocated. */
static char *
join(const char *a, const char *b, const char *c)
{
	size_t	 n;
	char	*r;

	n = strlen(a) + 1 + strlen(b) + (c != NULL ? 1 + strlen(c) : 0) + 1;
	r = malloc(n);
	assert_non_null(r);
	if (c != NULL)
		snprintf(r, n, "%s.%s.%s", a, b, c);
	else
		snprintf(r, n, "%s.%s", a, b);
	return r;
}

/* A copy of tmpl with each "@N@", "@E@", "@X@", "@Y@" replaced. */
static char *
subst(const char *tmpl)
{
	const char	*names[] = { "@N@", "@E@", "@X@", "@Y@" };
	const char	*vals[4];
	const char	*p, *v;
	char		*r;
	size_t		 o = 0, i;
	int		 pass;

	vals[0] = fx.b64n;
	vals[1] = fx.b64e;
	vals[2] = fx.b64x;
	vals[3] = fx.b64y;
	r = NULL;
	for (pass = 0; pass < 2; pass++) {
		o = 0;
		for (p = tmpl; *p != '\0';) {
			v = NULL;
			for (i = 0; i < 4; i++)
				if (strncmp(p, names[i], 3) == 0)
					v = vals[i];
			if (v != NULL) {
				if (r != NULL)
					memcpy(r + o, v, strlen(v));
				o += strlen(v);
				p += 3;
			} else {
				if (r != NULL)
					r[o] = *p == '\'' ? '"' : *p;
				o++;
				p++;
			}
		}
		if (pass == 0) {
			r = malloc(o + 1);
			assert_non_null(r);
		}
	}
	r[o] = '\0';
	return r;
}

static void
hmac(const EVP_MD *md, const void *key, size_t keylen,
    const unsigned char *in, size_t len, unsigned char *sig, size_t *siglen)
{
	unsigned int	 n = 0;

	assert_non_null(HMAC(md, key, (int)keylen, in, len, sig, &n));
	*siglen = n;
}

static void
digest_sign(EVP_PKEY *pkey, const unsigned char *in, size_t len,
    unsigned char *sig, size_t *siglen)
{
	EVP_MD_CTX	*md;

	md = EVP_MD_CTX_new();
	assert_non_null(md);
	*siglen = MAXSIG;
	assert_int_equal(EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL,
	    pkey, NULL), 1);
	assert_int_equal(EVP_DigestSign(md, sig, siglen, in, len), 1);
	EVP_MD_CTX_free(md);
}

/* ES256 as JWS wants it: the DER ECDSA signature as raw R||S. */
static void
es256_sign(EVP_PKEY *pkey, const unsigned char *in, size_t len,
    unsigned char *sig, size_t *siglen)
{
	unsigned char	 der[MAXSIG];
	const unsigned char *p = der;
	const BIGNUM	*r, *s;
	ECDSA_SIG	*es;
	size_t		 derlen;

	digest_sign(pkey, in, len, der, &derlen);
	es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	assert_non_null(es);
	ECDSA_SIG_get0(es, &r, &s);
	assert_int_equal(BN_bn2binpad(r, sig, 32), 32);
	assert_int_equal(BN_bn2binpad(s, sig + 32, 32), 32);
	*siglen = 64;
	ECDSA_SIG_free(es);
}

static void
sign(enum signer signer, const char *in, unsigned char *sig, size_t *siglen)
{
	const unsigned char	*m = (const unsigned char *)in;
	size_t			 len = strlen(in);

	*siglen = 0;
	switch (signer) {
	case S_HS:
		hmac(EVP_sha256(), SECRET, strlen(SECRET), m, len, sig, siglen);
		break;
	case S_HS_WRONG:
		hmac(EVP_sha256(), "not-the-secret", 14, m, len, sig, siglen);
		break;
	case S_HS512:
		hmac(EVP_sha512(), SECRET, strlen(SECRET), m, len, sig, siglen);
		break;
	case S_EMPTY:
		break;
	case S_HS_N:
		hmac(EVP_sha256(), fx.n, fx.nlen, m, len, sig, siglen);
		break;
	case S_HS_PEM:
		hmac(EVP_sha256(), fx.pem, strlen(fx.pem), m, len, sig, siglen);
		break;
	case S_RSA:
		digest_sign(fx.rsa, m, len, sig, siglen);
		break;
	case S_RSA_OTHER:
		digest_sign(fx.rsa_other, m, len, sig, siglen);
		break;
	case S_EC:
		es256_sign(fx.ec, m, len, sig, siglen);
		break;
	case S_EC0:
		es256_sign(fx.ec0, m, len, sig, siglen);
		break;
	case S_EC_OTHER:
		es256_sign(fx.ec_other, m, len, sig, siglen);
		break;
	case S_EC_DER:
		digest_sign(fx.ec, m, len, sig, siglen);
		break;
	}
}

/* The token of vc and, in *len, the length to pass to core_jwt_verify. */
static char *
build(const struct vcase *vc, size_t *len)
{
	static const char	 abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char		 sig[MAXSIG + 1];
	char			*h, *p, *s, *t, *input, *tmp, *c;
	size_t			 siglen;

	tmp = dq(vc->header);
	h = b64s(tmp);
	free(tmp);
	tmp = dq(vc->payload);
	p = b64s(tmp);
	free(tmp);
	input = join(h, p, NULL);
	sign(vc->signer, input, sig, &siglen);
	free(input);

	switch (vc->mut) {
	case M_PAYLOAD:
		free(p);
		tmp = dq(vc->alt);
		p = b64s(tmp);
		free(tmp);
		break;
	case M_SIG_FLIP:
		sig[siglen / 2] ^= 0x01;
		break;
	case M_SIG_SHORT:
		siglen--;
		break;
	case M_SIG_LONG:
		sig[siglen++] = 0;
		break;
	case M_SIG_ZERO:
		memset(sig, 0, siglen);
		break;
	default:
		break;
	}
	s = b64(sig, siglen);
	if (vc->mut == M_SIG_NONCANON) {
		assert_true(siglen % 3 != 0);
		c = strchr(abc, s[strlen(s) - 1]);
		assert_non_null(c);
		s[strlen(s) - 1] = abc[(c - abc) ^ 1];
	} else if (vc->mut == M_SIG_BADCHAR)
		s[0] = '+';
	else if (vc->mut == M_PAYLOAD_BAD)
		p[1] = '/';
	if (vc->mut == M_SIG_PAD || vc->mut == M_DOT) {
		tmp = malloc(strlen(s) + 8);
		assert_non_null(tmp);
		snprintf(tmp, strlen(s) + 8, "%s%s", s,
		    vc->mut == M_SIG_PAD ? "=" : ".e30");
		free(s);
		s = tmp;
	}
	t = join(h, p, s);
	free(h);
	free(p);
	free(s);
	*len = strlen(t);
	if (vc->mut == M_NUL_TAIL)
		(*len)++;
	else if (vc->mut == M_LEN_SHORT)
		(*len)--;
	return t;
}

static void
run_cases(const struct vcase *cases, size_t ncases)
{
	struct core_jwt_claims	 claims;
	size_t			 i, len;
	char			*tok;
	int			 rc, pass;

	/*
	 * Each token twice: the thread keeps the last header it decoded
	 * (header_of() in core/jwt.c), so the second pass takes every
	 * header that passed from there, and must answer the same.
	 */
	for (i = 0; i < ncases; i++) {
		tok = build(&cases[i], &len);
		for (pass = 1; pass <= 2; pass++) {
			memset(&claims, 0xa5, sizeof(claims));
			rc = core_jwt_verify(fx.ks[cases[i].ks], tok, len, NOW,
			    cases[i].iss, cases[i].aud, &claims);
			if (rc != cases[i].want)
				fail_msg("case \"%s\", pass %d: got %d (%s), "
				    "want %d (%s)", cases[i].name, pass, rc,
				    core_strerror(rc), cases[i].want,
				    core_strerror(cases[i].want));
			if (rc == TALLY_OK)
				assert_true(claims.sub[0] != '\0');
			else
				assert_int_equal(claims.sub[0], '\0');
		}
		free(tok);
	}
}

#define RUN(t)	run_cases((t), sizeof(t) / sizeof((t)[0]))

static void
test_hs256(void **state)
{
	static const struct vcase	 cases[] = {
	{ "good", KS_HS, H_HS, P_OK, S_HS, M_NONE, NULL, NULL, NULL,
	    TALLY_OK },
	{ "good, secret and JWKS", KS_ALL, H_HS, P_OK, S_HS, M_NONE, NULL,
	    NULL, NULL, TALLY_OK },
	{ "good, kid ignored", KS_ALL, "{'alg':'HS256','kid':'rsa1'}", P_OK,
	    S_HS, M_NONE, NULL, NULL, NULL, TALLY_OK },
	{ "good, all claims", KS_HS, H_HS, P_FULL, S_HS, M_NONE, NULL,
	    "https://idp.example", "tally", TALLY_OK },
	{ "expired", KS_HS, H_HS, "{'sub':'u','exp':1699999999}", S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_E_EXPIRED },
	{ "expires now", KS_HS, H_HS, "{'sub':'u','exp':1700000000}", S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_E_EXPIRED },
	{ "expires next second", KS_HS, H_HS, "{'sub':'u','exp':1700000001}",
	    S_HS, M_NONE, NULL, NULL, NULL, TALLY_OK },
	{ "nbf in future", KS_HS, H_HS,
	    "{'sub':'u','exp':1700003600,'nbf':1700000060}", S_HS, M_NONE,
	    NULL, NULL, NULL, TALLY_E_NOTYET },
	{ "nbf now", KS_HS, H_HS,
	    "{'sub':'u','exp':1700003600,'nbf':1700000000}", S_HS, M_NONE,
	    NULL, NULL, NULL, TALLY_OK },
	{ "nbf not integer", KS_HS, H_HS,
	    "{'sub':'u','exp':1700003600,'nbf':'1'}", S_HS, M_NONE, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "expired and bad signature", KS_HS, H_HS,
	    "{'sub':'u','exp':1}", S_HS_WRONG, M_NONE, NULL, NULL, NULL,
	    TALLY_E_UNAUTHORIZED },
	{ "wrong key", KS_HS, H_HS, P_OK, S_HS_WRONG, M_NONE, NULL, NULL,
	    NULL, TALLY_E_UNAUTHORIZED },
	{ "no HS256 secret configured", KS_JWKS, H_HS, P_OK, S_HS, M_NONE,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "alg none, empty signature", KS_HS, "{'alg':'none'}", P_OK,
	    S_EMPTY, M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "alg none, with signature", KS_HS, "{'alg':'none'}", P_OK, S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "alg None", KS_HS, "{'alg':'None'}", P_OK, S_EMPTY, M_NONE, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "alg hs256 (case)", KS_HS, "{'alg':'hs256'}", P_OK, S_HS, M_NONE,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "alg HS512", KS_HS, "{'alg':'HS512'}", P_OK, S_HS512, M_NONE, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "alg HS512, HS256 signature", KS_HS, "{'alg':'HS512'}", P_OK, S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "HS512 signature under HS256", KS_HS, H_HS, P_OK, S_HS512, M_NONE,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "alg missing", KS_HS, "{'typ':'JWT'}", P_OK, S_HS, M_NONE, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "alg not a string", KS_HS, "{'alg':256}", P_OK, S_HS, M_NONE, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "alg twice", KS_HS, "{'alg':'HS256','alg':'none'}", P_OK, S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "crit header", KS_HS, "{'alg':'HS256','crit':['exp']}", P_OK, S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "kid not a string", KS_HS, "{'alg':'HS256','kid':1}", P_OK, S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "header is an array", KS_HS, "['HS256']", P_OK, S_HS, M_NONE,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "tampered payload", KS_HS, H_HS, P_OK, S_HS, M_PAYLOAD, P_OTHER,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "tampered payload, exp extended", KS_HS, H_HS,
	    "{'sub':'u','exp':1}", S_HS, M_PAYLOAD,
	    "{'sub':'u','exp':1800000000}", NULL, NULL,
	    TALLY_E_UNAUTHORIZED },
	{ "signature bit flipped", KS_HS, H_HS, P_OK, S_HS, M_SIG_FLIP, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "signature truncated", KS_HS, H_HS, P_OK, S_HS, M_SIG_SHORT, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "signature extended", KS_HS, H_HS, P_OK, S_HS, M_SIG_LONG, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "empty signature", KS_HS, H_HS, P_OK, S_EMPTY, M_NONE, NULL, NULL,
	    NULL, TALLY_E_UNAUTHORIZED },
	{ "signature non-canonical base64", KS_HS, H_HS, P_OK, S_HS,
	    M_SIG_NONCANON, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "signature padded", KS_HS, H_HS, P_OK, S_HS, M_SIG_PAD, NULL, NULL,
	    NULL, TALLY_E_UNAUTHORIZED },
	{ "signature with '+'", KS_HS, H_HS, P_OK, S_HS, M_SIG_BADCHAR, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "payload with '/'", KS_HS, H_HS, P_OK, S_HS, M_PAYLOAD_BAD, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "four parts", KS_HS, H_HS, P_OK, S_HS, M_DOT, NULL, NULL, NULL,
	    TALLY_E_UNAUTHORIZED },
	{ "len counts the NUL", KS_HS, H_HS, P_OK, S_HS, M_NUL_TAIL, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "len one short", KS_HS, H_HS, P_OK, S_HS, M_LEN_SHORT, NULL, NULL,
	    NULL, TALLY_E_UNAUTHORIZED },
	{ "missing exp", KS_HS, H_HS, "{'sub':'u'}", S_HS, M_NONE, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "exp a string", KS_HS, H_HS, "{'sub':'u','exp':'1700003600'}",
	    S_HS, M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "exp a real", KS_HS, H_HS, "{'sub':'u','exp':1700003600.5}", S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "exp null", KS_HS, H_HS, "{'sub':'u','exp':null}", S_HS, M_NONE,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "missing sub", KS_HS, H_HS, "{'exp':1700003600}", S_HS, M_NONE,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "empty sub", KS_HS, H_HS, "{'sub':'','exp':1700003600}", S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "sub a number", KS_HS, H_HS, "{'sub':42,'exp':1700003600}", S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "sub 255 bytes", KS_HS, H_HS,
	    "{'sub':'" S250 "xxxxx','exp':1700003600}", S_HS, M_NONE, NULL,
	    NULL, NULL, TALLY_OK },
	{ "sub 256 bytes", KS_HS, H_HS,
	    "{'sub':'" S250 "xxxxxx','exp':1700003600}", S_HS, M_NONE, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "email 320 bytes", KS_HS, H_HS,
	    "{'sub':'u','email':'" S300 S10 S10 "','exp':1700003600}", S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_OK },
	{ "email 321 bytes", KS_HS, H_HS,
	    "{'sub':'u','email':'" S300 S10 S10 "x','exp':1700003600}", S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "email not a string", KS_HS, H_HS,
	    "{'sub':'u','email':['a'],'exp':1700003600}", S_HS, M_NONE, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "locale 15 bytes", KS_HS, H_HS,
	    "{'sub':'u','locale':'abcdefghijklmno','exp':1700003600}", S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_OK },
	{ "locale 16 bytes", KS_HS, H_HS,
	    "{'sub':'u','locale':'abcdefghijklmnop','exp':1700003600}", S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "payload an array", KS_HS, H_HS, "[1700003600]", S_HS, M_NONE,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "payload not JSON", KS_HS, H_HS, "sub=u;exp=1700003600", S_HS,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "payload duplicate sub", KS_HS, H_HS,
	    "{'sub':'u','sub':'admin','exp':1700003600}", S_HS, M_NONE, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "header not JSON", KS_HS, "alg=HS256", P_OK, S_HS, M_NONE, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "empty header", KS_HS, "", P_OK, S_HS, M_NONE, NULL, NULL, NULL,
	    TALLY_E_UNAUTHORIZED },
	{ "empty payload", KS_HS, H_HS, "", S_HS, M_NONE, NULL, NULL, NULL,
	    TALLY_E_UNAUTHORIZED },
	};

	(void)state;
	RUN(cases);
}

static void
test_iss_aud(void **state)
{
	static const struct vcase	 cases[] = {
	{ "iss match", KS_HS, H_HS, P_FULL, S_HS, M_NONE, NULL,
	    "https://idp.example", NULL, TALLY_OK },
	{ "iss mismatch", KS_HS, H_HS, P_FULL, S_HS, M_NONE, NULL,
	    "https://evil.example", NULL, TALLY_E_UNAUTHORIZED },
	{ "iss prefix", KS_HS, H_HS, P_FULL, S_HS, M_NONE, NULL,
	    "https://idp.exampl", NULL, TALLY_E_UNAUTHORIZED },
	{ "iss missing", KS_HS, H_HS, P_OK, S_HS, M_NONE, NULL,
	    "https://idp.example", NULL, TALLY_E_UNAUTHORIZED },
	{ "iss not checked when empty", KS_HS, H_HS, P_OK, S_HS, M_NONE,
	    NULL, "", "", TALLY_OK },
	{ "iss a number", KS_HS, H_HS, "{'sub':'u','exp':1700003600,'iss':1}",
	    S_HS, M_NONE, NULL, "1", NULL, TALLY_E_UNAUTHORIZED },
	{ "aud match", KS_HS, H_HS, P_FULL, S_HS, M_NONE, NULL, NULL,
	    "tally", TALLY_OK },
	{ "aud mismatch", KS_HS, H_HS, P_FULL, S_HS, M_NONE, NULL, NULL,
	    "other", TALLY_E_UNAUTHORIZED },
	{ "aud missing", KS_HS, H_HS, P_OK, S_HS, M_NONE, NULL, NULL,
	    "tally", TALLY_E_UNAUTHORIZED },
	{ "aud array match", KS_HS, H_HS,
	    "{'sub':'u','exp':1700003600,'aud':['a','tally','b']}", S_HS,
	    M_NONE, NULL, NULL, "tally", TALLY_OK },
	{ "aud array mismatch", KS_HS, H_HS,
	    "{'sub':'u','exp':1700003600,'aud':['a','tallyx']}", S_HS, M_NONE,
	    NULL, NULL, "tally", TALLY_E_UNAUTHORIZED },
	{ "aud empty array", KS_HS, H_HS,
	    "{'sub':'u','exp':1700003600,'aud':[]}", S_HS, M_NONE, NULL,
	    NULL, "tally", TALLY_E_UNAUTHORIZED },
	{ "aud array with a number", KS_HS, H_HS,
	    "{'sub':'u','exp':1700003600,'aud':['tally',7]}", S_HS, M_NONE,
	    NULL, NULL, "tally", TALLY_E_UNAUTHORIZED },
	{ "aud an object", KS_HS, H_HS,
	    "{'sub':'u','exp':1700003600,'aud':{'tally':true}}", S_HS,
	    M_NONE, NULL, NULL, "tally", TALLY_E_UNAUTHORIZED },
	{ "iss and aud match", KS_HS, H_HS, P_FULL, S_HS, M_NONE, NULL,
	    "https://idp.example", "tally", TALLY_OK },
	{ "iss ok, aud wrong", KS_HS, H_HS, P_FULL, S_HS, M_NONE, NULL,
	    "https://idp.example", "billing", TALLY_E_UNAUTHORIZED },
	{ "aud mismatch beats expiry", KS_HS, H_HS,
	    "{'sub':'u','exp':1,'aud':'x'}", S_HS, M_NONE, NULL, NULL,
	    "tally", TALLY_E_UNAUTHORIZED },
	};

	(void)state;
	RUN(cases);
}

static void
test_rs256(void **state)
{
	static const struct vcase	 cases[] = {
	{ "good", KS_JWKS, H_RS, P_OK, S_RSA, M_NONE, NULL, NULL, NULL,
	    TALLY_OK },
	{ "good, secret too", KS_ALL, H_RS, P_OK, S_RSA, M_NONE, NULL, NULL,
	    NULL, TALLY_OK },
	{ "good without kid", KS_JWKS, "{'alg':'RS256'}", P_OK, S_RSA,
	    M_NONE, NULL, NULL, NULL, TALLY_OK },
	{ "good, all claims", KS_JWKS, H_RS, P_FULL, S_RSA, M_NONE, NULL,
	    "https://idp.example", "tally", TALLY_OK },
	{ "expired", KS_JWKS, H_RS, "{'sub':'u','exp':1600000000}", S_RSA,
	    M_NONE, NULL, NULL, NULL, TALLY_E_EXPIRED },
	{ "tampered payload", KS_JWKS, H_RS, P_OK, S_RSA, M_PAYLOAD, P_OTHER,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "signature bit flipped", KS_JWKS, H_RS, P_OK, S_RSA, M_SIG_FLIP,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "signature truncated", KS_JWKS, H_RS, P_OK, S_RSA, M_SIG_SHORT,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "signature zero", KS_JWKS, H_RS, P_OK, S_RSA, M_SIG_ZERO, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "signature non-canonical", KS_JWKS, H_RS, P_OK, S_RSA,
	    M_SIG_NONCANON, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "empty signature", KS_JWKS, H_RS, P_OK, S_EMPTY, M_NONE, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "wrong kid", KS_JWKS, "{'alg':'RS256','kid':'nope'}", P_OK, S_RSA,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "kid of the EC key", KS_JWKS, "{'alg':'RS256','kid':'ec1'}", P_OK,
	    S_RSA, M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "kid of the oct key", KS_JWKS, "{'alg':'RS256','kid':'sym'}", P_OK,
	    S_RSA, M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "key not in JWKS", KS_JWKS, "{'alg':'RS256'}", P_OK, S_RSA_OTHER,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "kid of a use=enc key", KS_JWKS, "{'alg':'RS256','kid':'rsa-enc'}",
	    P_OK, S_RSA_OTHER, M_NONE, NULL, NULL, NULL,
	    TALLY_E_UNAUTHORIZED },
	{ "kid of an alg=RS512 key", KS_JWKS,
	    "{'alg':'RS256','kid':'rsa-512'}", P_OK, S_RSA_OTHER, M_NONE,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "no JWKS configured", KS_HS, H_RS, P_OK, S_RSA, M_NONE, NULL, NULL,
	    NULL, TALLY_E_UNAUTHORIZED },
	{ "RS512 header", KS_JWKS, "{'alg':'RS512','kid':'rsa1'}", P_OK,
	    S_RSA, M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "PS256 header", KS_JWKS, "{'alg':'PS256','kid':'rsa1'}", P_OK,
	    S_RSA, M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "ES256 header, RSA signature", KS_JWKS,
	    "{'alg':'ES256','kid':'rsa1'}", P_OK, S_RSA, M_NONE, NULL, NULL,
	    NULL, TALLY_E_UNAUTHORIZED },
	{ "RS256 header, EC signature", KS_JWKS,
	    "{'alg':'RS256','kid':'ec1'}", P_OK, S_EC, M_NONE, NULL, NULL,
	    NULL, TALLY_E_UNAUTHORIZED },
	{ "missing sub", KS_JWKS, H_RS, "{'exp':1700003600}", S_RSA, M_NONE,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	};

	(void)state;
	RUN(cases);
}

static void
test_es256(void **state)
{
	static const struct vcase	 cases[] = {
	{ "good", KS_JWKS, H_ES, P_OK, S_EC, M_NONE, NULL, NULL, NULL,
	    TALLY_OK },
	{ "good, other JWKS EC key", KS_JWKS, "{'alg':'ES256','kid':'ec0'}",
	    P_OK, S_EC0, M_NONE, NULL, NULL, NULL, TALLY_OK },
	{ "good without kid (second key)", KS_JWKS, "{'alg':'ES256'}", P_OK,
	    S_EC, M_NONE, NULL, NULL, NULL, TALLY_OK },
	{ "good without kid (first key)", KS_JWKS, "{'alg':'ES256'}", P_OK,
	    S_EC0, M_NONE, NULL, NULL, NULL, TALLY_OK },
	{ "good, secret too", KS_ALL, H_ES, P_FULL, S_EC, M_NONE, NULL,
	    "https://idp.example", "tally", TALLY_OK },
	{ "not yet valid", KS_JWKS, H_ES,
	    "{'sub':'u','exp':1700003600,'nbf':1700000001}", S_EC, M_NONE,
	    NULL, NULL, NULL, TALLY_E_NOTYET },
	{ "tampered payload", KS_JWKS, H_ES, P_OK, S_EC, M_PAYLOAD, P_OTHER,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "signature bit flipped", KS_JWKS, H_ES, P_OK, S_EC, M_SIG_FLIP,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "signature 63 bytes", KS_JWKS, H_ES, P_OK, S_EC, M_SIG_SHORT, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "signature 65 bytes", KS_JWKS, H_ES, P_OK, S_EC, M_SIG_LONG, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "signature zero", KS_JWKS, H_ES, P_OK, S_EC, M_SIG_ZERO, NULL, NULL,
	    NULL, TALLY_E_UNAUTHORIZED },
	{ "signature non-canonical", KS_JWKS, H_ES, P_OK, S_EC,
	    M_SIG_NONCANON, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "signature in DER", KS_JWKS, H_ES, P_OK, S_EC_DER, M_NONE, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "wrong kid", KS_JWKS, "{'alg':'ES256','kid':'nope'}", P_OK, S_EC,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "kid of the other EC key", KS_JWKS, "{'alg':'ES256','kid':'ec0'}",
	    P_OK, S_EC, M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "kid of the RSA key", KS_JWKS, "{'alg':'ES256','kid':'rsa1'}",
	    P_OK, S_EC, M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "kid of the P-384 key", KS_JWKS, "{'alg':'ES256','kid':'p384'}",
	    P_OK, S_EC, M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "key not in JWKS", KS_JWKS, "{'alg':'ES256'}", P_OK, S_EC_OTHER,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "ES384 header", KS_JWKS, "{'alg':'ES384','kid':'ec1'}", P_OK, S_EC,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "no JWKS configured", KS_HS, H_ES, P_OK, S_EC, M_NONE, NULL, NULL,
	    NULL, TALLY_E_UNAUTHORIZED },
	};

	(void)state;
	RUN(cases);
}

static void
test_alg_confusion(void **state)
{
	static const struct vcase	 cases[] = {
	{ "HS256 keyed with n, JWKS only", KS_JWKS, H_HS, P_OK, S_HS_N,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "HS256 keyed with n, kid rsa1", KS_JWKS,
	    "{'alg':'HS256','kid':'rsa1'}", P_OK, S_HS_N, M_NONE, NULL, NULL,
	    NULL, TALLY_E_UNAUTHORIZED },
	{ "HS256 keyed with n, secret and JWKS", KS_ALL, H_HS, P_OK, S_HS_N,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "HS256 keyed with PEM, JWKS only", KS_JWKS, H_HS, P_OK, S_HS_PEM,
	    M_NONE, NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "HS256 keyed with PEM, kid rsa1", KS_ALL,
	    "{'alg':'HS256','kid':'rsa1'}", P_OK, S_HS_PEM, M_NONE, NULL,
	    NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "RS256 header, HMAC with n", KS_JWKS, H_RS, P_OK, S_HS_N, M_NONE,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "ES256 header, HMAC with SECRET", KS_ALL, H_ES, P_OK, S_HS, M_NONE,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	{ "RS256 header, HMAC with SECRET", KS_ALL, H_RS, P_OK, S_HS, M_NONE,
	    NULL, NULL, NULL, TALLY_E_UNAUTHORIZED },
	/* Control: the forgery itself is sound when the PEM IS the secret. */
	{ "control: PEM configured as secret", KS_PEM, H_HS, P_OK, S_HS_PEM,
	    M_NONE, NULL, NULL, NULL, TALLY_OK },
	};

	(void)state;
	RUN(cases);
}

static void
test_malformed(void **state)
{
	static const struct {
		const char	*name;
		const char	*token;
	} cases[] = {
		{ "empty", "" },
		{ "one part", "abc" },
		{ "two parts", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0" },
		{ "two parts, trailing dot",
		    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0." },
		{ "dots only", ".." },
		{ "three dots", "..." },
		{ "empty header", ".eyJzdWIiOiJ1In0.c2ln" },
		{ "empty payload", "eyJhbGciOiJIUzI1NiJ9..c2ln" },
		{ "bad base64 header",
		    "eyJ!bGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln" },
		{ "padded header",
		    "eyJhbGciOiJIUzI1NiJ9=.eyJzdWIiOiJ1In0.c2ln" },
		{ "header length 4n+1", "eyJhb.eyJzdWIiOiJ1In0.c2ln" },
		{ "space in header",
		    "eyJhbGci OiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln" },
		{ "non-JSON header", "bm90IGpzb24.eyJzdWIiOiJ1In0.c2ln" },
		{ "header JSON string", "IkhTMjU2Ig.eyJzdWIiOiJ1In0.c2ln" },
		{ "header JSON with trailing garbage",
		    "eyJhbGciOiJIUzI1NiJ9eA.eyJzdWIiOiJ1In0.c2ln" },
		{ "newline at end",
		    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln\n" },
	};
	struct core_jwt_claims	 claims;
	size_t			 i;
	int			 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = core_jwt_verify(fx.ks[KS_ALL], cases[i].token,
		    strlen(cases[i].token), NOW, NULL, NULL, &claims);
		if (rc != TALLY_E_UNAUTHORIZED)
			fail_msg("case \"%s\": got %d (%s)", cases[i].name, rc,
			    core_strerror(rc));
	}
	/* NULL arguments. */
	assert_int_equal(core_jwt_verify(NULL, "a.b.c", 5, NOW, NULL, NULL,
	    &claims), TALLY_E_UNAUTHORIZED);
	assert_int_equal(core_jwt_verify(fx.ks[KS_HS], NULL, 5, NOW, NULL,
	    NULL, &claims), TALLY_E_UNAUTHORIZED);
}

/* An HS256 token with header and a "pad" claim of n bytes. */
static char *
padded_token(const char *header, size_t n, size_t *len)
{
	struct vcase	 vc;
	json_t		*claims;
	char		*pad, *text, *tok;

	pad = calloc(1, n + 1);
	assert_non_null(pad);
	memset(pad, 'p', n);
	claims = json_pack("{s:s,s:I,s:s}", "sub", "u", "exp",
	    (json_int_t)NOW + 60, "pad", pad);
	assert_non_null(claims);
	free(pad);
	text = json_dumps(claims, JSON_COMPACT);
	assert_non_null(text);
	json_decref(claims);
	memset(&vc, 0, sizeof(vc));
	vc.header = header;
	vc.payload = text;
	vc.signer = S_HS;
	tok = build(&vc, len);
	free(text);
	return tok;
}

/*
 * A valid HS256 token of exactly len bytes, built here since
 * core_jwt_sign_hs256() refuses to go over the limit.  base64url never
 * has 4k+1 characters, so the header varies as well as the payload.
 */
static char *
token_of_len(size_t len)
{
	static const char *const headers[] = {
		"{'alg':'HS256'}", "{'alg':'HS256','x':'a'}",
		"{'alg':'HS256','x':'ab'}", "{'alg':'HS256','x':'abc'}",
	};
	char	*tok;
	size_t	 h, n, tl;

	for (h = 0; h < sizeof(headers) / sizeof(headers[0]); h++) {
		for (n = len * 3 / 4 - 100; n < len * 3 / 4; n++) {
			tok = padded_token(headers[h], n, &tl);
			if (tl == len)
				return tok;
			free(tok);
		}
	}
	fail_msg("no token of %zu bytes", len);
	return NULL;
}

static void
test_size_limit(void **state)
{
	static const struct {
		size_t	 len;
		int	 want;
	} cases[] = {
		{ 8190, TALLY_OK },
		{ 8191, TALLY_OK },
		{ 8192, TALLY_OK },
		{ 8193, TALLY_E_UNAUTHORIZED },
		{ 8194, TALLY_E_UNAUTHORIZED },
		{ 9000, TALLY_E_UNAUTHORIZED },
	};
	struct core_jwt_claims	 claims;
	json_t			*big;
	char			*tok, *pad;
	size_t			 i;
	int			 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tok = token_of_len(cases[i].len);
		rc = core_jwt_verify(fx.ks[KS_HS], tok, strlen(tok), NOW, NULL,
		    NULL, &claims);
		free(tok);
		if (rc != cases[i].want)
			fail_msg("len %zu: got %d want %d", cases[i].len, rc,
			    cases[i].want);
	}

	/* Minting refuses claims that would exceed the limit. */
	pad = calloc(1, 7000);
	assert_non_null(pad);
	memset(pad, 'p', 6999);
	big = json_pack("{s:s,s:I,s:s}", "sub", "u", "exp",
	    (json_int_t)NOW + 60, "pad", pad);
	assert_non_null(big);
	free(pad);
	tok = (char *)1;
	assert_int_equal(core_jwt_sign_hs256(SECRET, big, &tok),
	    TALLY_E_INVALID);
	assert_null(tok);
	json_decref(big);
}

static void
test_claims_out(void **state)
{
	static const struct vcase	 full = { "full", KS_HS, H_HS, P_FULL,
	    S_HS, M_NONE, NULL, NULL, NULL, TALLY_OK };
	static const struct vcase	 expired = { "expired", KS_HS, H_HS,
	    "{'sub':'u','email':'e@x','exp':1}", S_HS, M_NONE, NULL, NULL,
	    NULL, TALLY_E_EXPIRED };
	struct core_jwt_claims	 c, zero;
	char			*tok;
	size_t			 len;

	(void)state;
	memset(&zero, 0, sizeof(zero));

	tok = build(&full, &len);
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(core_jwt_verify(fx.ks[KS_HS], tok, len, NOW,
	    "https://idp.example", "tally", &c), TALLY_OK);
	assert_string_equal(c.sub, "user-1");
	assert_string_equal(c.email, "u@example.com");
	assert_string_equal(c.locale, "de-DE");
	assert_int_equal(c.exp, 1700003600);
	assert_int_equal(c.nbf, 1699999000);
	/* claims may be NULL. */
	assert_int_equal(core_jwt_verify(fx.ks[KS_HS], tok, len, NOW, NULL,
	    NULL, NULL), TALLY_OK);
	/* The claims alone answer for the token at any time, as it would. */
	{
		static const int64_t	 at[] = { 0, 1699999000 - 1,
		    1699999000, NOW, 1700003600 - 1, 1700003600,
		    1700003600 + 1, INT64_MAX };
		size_t			 i;

		for (i = 0; i < sizeof(at) / sizeof(at[0]); i++)
			assert_int_equal(core_jwt_claims_current(&c, at[i]),
			    core_jwt_verify(fx.ks[KS_HS], tok, len, at[i],
			    "https://idp.example", "tally", NULL));
		assert_int_equal(core_jwt_claims_current(&c, 1699999000 - 1),
		    TALLY_E_NOTYET);
		assert_int_equal(core_jwt_claims_current(&c, 1700003600),
		    TALLY_E_EXPIRED);
	}
	free(tok);

	/* Absent optional claims are empty / zero. */
	{
		static const struct vcase	 min = { "min", KS_HS, H_HS,
		    P_OK, S_HS, M_NONE, NULL, NULL, NULL, TALLY_OK };

		tok = build(&min, &len);
		memset(&c, 0x5a, sizeof(c));
		assert_int_equal(core_jwt_verify(fx.ks[KS_HS], tok, len, NOW,
		    NULL, NULL, &c), TALLY_OK);
		assert_string_equal(c.sub, "user-1");
		assert_string_equal(c.email, "");
		assert_string_equal(c.locale, "");
		assert_int_equal(c.nbf, 0);
		free(tok);
	}

	/* On failure nothing of the token is handed out. */
	tok = build(&expired, &len);
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(core_jwt_verify(fx.ks[KS_HS], tok, len, NOW, NULL,
	    NULL, &c), TALLY_E_EXPIRED);
	assert_memory_equal(&c, &zero, sizeof(c));
	free(tok);
}

static void
test_sign(void **state)
{
	static const char *const	 subs[] = {
		"a", "ab", "abc", "abcd", "abcde", "abcdef",
		"\xc3\xa9t\xc3\xa9",
	};
	struct core_jwt_claims	 c;
	json_t			*claims, *arr;
	struct vcase		 vc;
	char			*tok, *text, *ref;
	const char		*dot;
	size_t			 i, len;

	(void)state;
	claims = json_pack("{s:s,s:I,s:s}", "sub", "u", "exp",
	    (json_int_t)NOW + 60, "email", "u@example.com");
	arr = json_array();
	assert_non_null(claims);
	assert_non_null(arr);

	/* Bad arguments. */
	tok = (char *)1;
	assert_int_equal(core_jwt_sign_hs256(NULL, claims, &tok),
	    TALLY_E_INVALID);
	assert_null(tok);
	assert_int_equal(core_jwt_sign_hs256("", claims, &tok),
	    TALLY_E_INVALID);
	assert_int_equal(core_jwt_sign_hs256(SECRET, NULL, &tok),
	    TALLY_E_INVALID);
	assert_int_equal(core_jwt_sign_hs256(SECRET, arr, &tok),
	    TALLY_E_INVALID);
	assert_int_equal(core_jwt_sign_hs256(SECRET, claims, NULL),
	    TALLY_E_INVALID);
	json_decref(arr);

	/* Same bytes as a token built independently in this file. */
	assert_int_equal(core_jwt_sign_hs256(SECRET, claims, &tok), TALLY_OK);
	assert_non_null(tok);
	dot = strchr(tok, '.');
	assert_non_null(dot);
	assert_int_equal(dot - tok, 36);
	assert_memory_equal(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37);
	text = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(text);
	memset(&vc, 0, sizeof(vc));
	vc.header = H_HS;
	vc.payload = text;
	vc.signer = S_HS;
	ref = build(&vc, &len);
	assert_string_equal(tok, ref);
	free(ref);
	free(text);
	assert_int_equal(core_jwt_verify(fx.ks[KS_HS], tok, strlen(tok), NOW,
	    NULL, NULL, &c), TALLY_OK);
	assert_string_equal(c.sub, "u");
	assert_string_equal(c.email, "u@example.com");
	/* The claims were not modified. */
	assert_int_equal(json_object_size(claims), 3);
	/* And another secret does not verify it. */
	assert_int_equal(core_jwt_verify(fx.ks[KS_JWKS], tok, strlen(tok), NOW,
	    NULL, NULL, &c), TALLY_E_UNAUTHORIZED);
	free(tok);
	json_decref(claims);

	/* Round trips across every base64 tail length. */
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		claims = json_pack("{s:s,s:I}", "sub", subs[i], "exp",
		    (json_int_t)NOW + 60);
		assert_non_null(claims);
		assert_int_equal(core_jwt_sign_hs256(SECRET, claims, &tok),
		    TALLY_OK);
		assert_int_equal(core_jwt_verify(fx.ks[KS_ALL], tok,
		    strlen(tok), NOW, NULL, NULL, &c), TALLY_OK);
		assert_string_equal(c.sub, subs[i]);
		free(tok);
		json_decref(claims);
	}
}

static void
test_keys_new(void **state)
{
	static const struct {
		const char	*name;
		const char	*secret;
		const char	*jwks;	/* via subst() */
		int		 want;
	} cases[] = {
		{ "nothing", NULL, NULL, TALLY_E_CONFIG },
		{ "empty secret", "", NULL, TALLY_E_CONFIG },
		{ "empty secret, empty JWKS", "", "", TALLY_E_CONFIG },
		{ "secret", SECRET, NULL, TALLY_OK },
		{ "secret, empty key set", SECRET, "{'keys':[]}", TALLY_OK },
		{ "empty key set", NULL, "{'keys':[]}", TALLY_E_CONFIG },
		{ "not JSON", SECRET, "keys", TALLY_E_CONFIG },
		{ "not an object", SECRET, "[]", TALLY_E_CONFIG },
		{ "no keys", SECRET, "{}", TALLY_E_CONFIG },
		{ "keys an object", SECRET, "{'keys':{}}", TALLY_E_CONFIG },
		{ "key not an object", SECRET, "{'keys':[1]}", TALLY_E_CONFIG },
		{ "kty missing", SECRET, "{'keys':[{'n':'@N@'}]}",
		    TALLY_E_CONFIG },
		{ "RSA", NULL,
		    "{'keys':[{'kty':'RSA','kid':'k','n':'@N@','e':'@E@'}]}",
		    TALLY_OK },
		{ "RSA without kid", NULL,
		    "{'keys':[{'kty':'RSA','n':'@N@','e':'@E@'}]}", TALLY_OK },
		{ "EC", NULL,
		    "{'keys':[{'kty':'EC','crv':'P-256','x':'@X@','y':'@Y@'}]}",
		    TALLY_OK },
		{ "only oct keys", NULL, "{'keys':[{'kty':'oct','k':'AA'}]}",
		    TALLY_E_CONFIG },
		{ "only a P-384 key", NULL,
		    "{'keys':[{'kty':'EC','crv':'P-384','x':'AA','y':'AA'}]}",
		    TALLY_E_CONFIG },
		{ "only a use=enc key", NULL,
		    "{'keys':[{'kty':'RSA','use':'enc','n':'@N@','e':'@E@'}]}",
		    TALLY_E_CONFIG },
		{ "only an alg=RS512 key", NULL,
		    "{'keys':[{'kty':'RSA','alg':'RS512','n':'@N@',"
		    "'e':'@E@'}]}",
		    TALLY_E_CONFIG },
		{ "only a 1032-bit RSA key", NULL,
		    "{'keys':[{'kty':'RSA','n':'" S50 S50 S50 S10 S10 "xx',"
		    "'e':'AQAB'}]}",
		    TALLY_E_CONFIG },
		{ "a 1032-bit RSA key is skipped", SECRET,
		    "{'keys':[{'kty':'RSA','n':'" S50 S50 S50 S10 S10 "xx',"
		    "'e':'AQAB'}]}", TALLY_OK },
		{ "skipped keys and a good one", NULL,
		    "{'keys':[{'kty':'oct','k':'AA'},"
		    "{'kty':'OKP','crv':'Ed25519','x':'AA'},"
		    "{'kty':'EC','crv':'P-256','x':'@X@','y':'@Y@'}]}",
		    TALLY_OK },
		{ "RSA n missing", SECRET, "{'keys':[{'kty':'RSA','e':'@E@'}]}",
		    TALLY_E_CONFIG },
		{ "RSA n bad base64", SECRET,
		    "{'keys':[{'kty':'RSA','n':'@N@=','e':'@E@'}]}",
		    TALLY_E_CONFIG },
		{ "RSA e empty", SECRET,
		    "{'keys':[{'kty':'RSA','n':'@N@','e':''}]}",
		    TALLY_E_CONFIG },
		{ "RSA e even", SECRET,
		    "{'keys':[{'kty':'RSA','n':'@N@','e':'AQAA'}]}",
		    TALLY_E_CONFIG },
		{ "RSA n a number", SECRET,
		    "{'keys':[{'kty':'RSA','n':5,'e':'@E@'}]}",
		    TALLY_E_CONFIG },
		{ "kid a number", SECRET,
		    "{'keys':[{'kty':'RSA','kid':1,'n':'@N@','e':'@E@'}]}",
		    TALLY_E_CONFIG },
		{ "EC crv missing", SECRET,
		    "{'keys':[{'kty':'EC','x':'@X@','y':'@Y@'}]}",
		    TALLY_E_CONFIG },
		{ "EC x short", SECRET,
		    "{'keys':[{'kty':'EC','crv':'P-256','x':'AAAA',"
		    "'y':'@Y@'}]}",
		    TALLY_E_CONFIG },
		{ "EC y missing", SECRET,
		    "{'keys':[{'kty':'EC','crv':'P-256','x':'@X@'}]}",
		    TALLY_E_CONFIG },
		{ "EC point not on the curve", SECRET,
		    "{'keys':[{'kty':'EC','crv':'P-256','x':'@Y@','y':'@X@'}]}",
		    TALLY_E_CONFIG },
		{ "duplicate member", SECRET,
		    "{'keys':[],'keys':[]}", TALLY_E_CONFIG },
	};
	struct core_jwt_keys	*k;
	char			*jwks;
	size_t			 i;
	int			 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jwks = cases[i].jwks != NULL ? subst(cases[i].jwks) : NULL;
		k = (struct core_jwt_keys *)1;
		rc = core_jwt_keys_new(cases[i].secret, jwks, &k);
		free(jwks);
		if (rc != cases[i].want)
			fail_msg("case \"%s\": got %d (%s), want %d",
			    cases[i].name, rc, core_strerror(rc),
			    cases[i].want);
		if (rc == TALLY_OK)
			assert_non_null(k);
		else
			assert_null(k);
		core_jwt_keys_free(k);
	}
	core_jwt_keys_free(NULL);
	assert_int_equal(core_jwt_keys_new(SECRET, NULL, NULL),
	    TALLY_E_CONFIG);
}

static char *
bn_b64(EVP_PKEY *pkey, const char *param, unsigned char **bin, size_t *binlen)
{
	BIGNUM		*bn = NULL;
	unsigned char	*buf;
	char		*r;
	int		 n;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		return NULL;
	n = BN_num_bytes(bn);
	buf = malloc((size_t)n + 1);
	if (buf == NULL) {
		BN_free(bn);
		return NULL;
	}
	BN_bn2bin(bn, buf);
	BN_free(bn);
	r = b64(buf, (size_t)n);
	if (bin != NULL) {
		*bin = buf;
		*binlen = (size_t)n;
	} else
		free(buf);
	return r;
}

/* The x and y coordinates of an EC key, base64url. */
static int
ec_xy(EVP_PKEY *pkey, char **x, char **y)
{
	unsigned char	 pub[65];
	size_t		 len = 0;

	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    sizeof(pub), &len) != 1 || len != 65 || pub[0] != 0x04)
		return -1;
	*x = b64(pub + 1, 32);
	*y = b64(pub + 33, 32);
	return 0;
}

static json_t *
jwk_rsa(EVP_PKEY *pkey, const char *kid, const char *use, const char *alg)
{
	json_t	*o;
	char	*n, *e;

	n = bn_b64(pkey, OSSL_PKEY_PARAM_RSA_N, NULL, NULL);
	e = bn_b64(pkey, OSSL_PKEY_PARAM_RSA_E, NULL, NULL);
	o = json_pack("{s:s,s:s,s:s,s:s}", "kty", "RSA", "kid", kid, "n", n,
	    "e", e);
	free(n);
	free(e);
	if (o != NULL && use != NULL)
		json_object_set_new(o, "use", json_string(use));
	if (o != NULL && alg != NULL)
		json_object_set_new(o, "alg", json_string(alg));
	return o;
}

static json_t *
jwk_ec(EVP_PKEY *pkey, const char *kid)
{
	json_t	*o;
	char	*x = NULL, *y = NULL;

	if (ec_xy(pkey, &x, &y) != 0)
		return NULL;
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "kid", kid,
	    "crv", "P-256", "x", x, "y", y, "use", "sig");
	free(x);
	free(y);
	return o;
}

static char *
pubkey_pem(EVP_PKEY *pkey)
{
	BIO	*bio;
	char	*data, *r = NULL;
	long	 len;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_PUBKEY(bio, pkey) == 1 &&
	    (len = BIO_get_mem_data(bio, &data)) > 0 &&
	    (r = malloc((size_t)len + 1)) != NULL) {
		memcpy(r, data, (size_t)len);
		r[len] = '\0';
	}
	BIO_free(bio);
	return r;
}

/* Which tokens a refetch of the key set could help (core_jwt_needs_key). */
static void
test_needs_key(void **state)
{
	static const struct {
		const char	*name;
		int		 ks;	/* enum keyset, or -1 for NULL */
		const char	*header;	/* NULL: token is raw */
		const char	*raw;
		int		 want;
	} cases[] = {
	{ "known RSA kid", KS_JWKS, "{'alg':'RS256','kid':'rsa1'}", NULL, 0 },
	{ "unknown RSA kid", KS_JWKS, "{'alg':'RS256','kid':'rsa2'}", NULL,
	    1 },
	{ "kid of an EC key, RS256", KS_JWKS, "{'alg':'RS256','kid':'ec1'}",
	    NULL, 1 },
	{ "kid of a skipped key", KS_JWKS,
	    "{'alg':'RS256','kid':'rsa-enc'}", NULL, 1 },
	{ "known EC kid", KS_JWKS, "{'alg':'ES256','kid':'ec0'}", NULL, 0 },
	{ "unknown EC kid", KS_ALL, "{'alg':'ES256','kid':'ec9'}", NULL, 1 },
	{ "RS256 without kid, RSA key present", KS_JWKS, "{'alg':'RS256'}",
	    NULL, 0 },
	{ "RS256 without kid, no RSA key", KS_HS, "{'alg':'RS256'}", NULL,
	    1 },
	{ "no set at all", -1, "{'alg':'ES256','kid':'ec1'}", NULL, 1 },
	{ "HS256", KS_HS, "{'alg':'HS256','kid':'x'}", NULL, 0 },
	{ "HS256, no set", -1, "{'alg':'HS256'}", NULL, 0 },
	{ "RS512", KS_JWKS, "{'alg':'RS512','kid':'new'}", NULL, 0 },
	{ "none", KS_JWKS, "{'alg':'none','kid':'new'}", NULL, 0 },
	{ "kid not a string", KS_JWKS, "{'alg':'RS256','kid':7}", NULL, 0 },
	{ "crit", KS_JWKS, "{'alg':'RS256','kid':'new','crit':['x']}", NULL,
	    0 },
	{ "header not an object", KS_JWKS, "['RS256']", NULL, 0 },
	{ "header not JSON", KS_JWKS, "{'alg':'RS256'", NULL, 0 },
	{ "header not base64url", KS_JWKS, NULL, "e30+.e30.x", 0 },
	{ "empty", KS_JWKS, NULL, "", 0 },
	{ "no dot", KS_JWKS, NULL, "eyJhbGciOiJSUzI1NiJ9", 0 },
	{ "empty header", KS_JWKS, NULL, ".e30.x", 0 },
	};
	size_t	 i;
	char	*h, *hb, *tok;
	const struct core_jwt_keys *k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k = cases[i].ks < 0 ? NULL : fx.ks[cases[i].ks];
		if (cases[i].header != NULL) {
			h = dq(cases[i].header);
			hb = b64s(h);
			tok = join(hb, "e30", "c2ln");
			free(h);
			free(hb);
		} else {
			tok = strdup(cases[i].raw);
			assert_non_null(tok);
		}
		if (core_jwt_needs_key(k, tok, strlen(tok)) != cases[i].want)
			fail_msg("%s: want %d", cases[i].name, cases[i].want);
		free(tok);
	}
	assert_int_equal(core_jwt_needs_key(fx.ks[KS_JWKS], NULL, 0), 0);
	assert_int_equal(core_jwt_keys_count(NULL), 0);
	assert_int_equal(core_jwt_keys_count(fx.ks[KS_HS]), 0);
	assert_int_equal(core_jwt_keys_count(fx.ks[KS_JWKS]), 3);
	assert_int_equal(core_jwt_keys_count(fx.ks[KS_ALL]), 3);
}

/* How long a fetched JWKS is kept (core_jwks_max_age). */
static void
test_jwks_max_age(void **state)
{
	static const struct {
		const char	*cc;
		int64_t		 min, max, def, want;
	} cases[] = {
	{ NULL, 60, 86400, 3600, 3600 },
	{ "", 60, 86400, 3600, 3600 },
	{ "max-age=300", 60, 86400, 3600, 300 },
	{ "public, max-age=300", 60, 86400, 3600, 300 },
	{ "private,max-age=200,must-revalidate", 60, 86400, 3600, 200 },
	{ "MAX-AGE=300", 60, 86400, 3600, 300 },
	{ "max-age=\"120\"", 60, 86400, 3600, 120 },
	{ "max-age=60", 60, 86400, 3600, 60 },
	{ "max-age=59", 60, 86400, 3600, 60 },
	{ "max-age=0", 60, 86400, 3600, 60 },
	{ "max-age=86400", 60, 86400, 3600, 86400 },
	{ "max-age=86401", 60, 86400, 3600, 86400 },
	{ "max-age=99999999999999999999999999", 60, 86400, 3600, 86400 },
	{ "max-age=99999999999999999999999999", 1, INT64_MAX, 5, INT64_MAX },
	{ "max-age=120, max-age=600", 60, 86400, 3600, 120 },
	{ "no-store", 60, 86400, 3600, 60 },
	{ "No-Cache, max-age=600", 60, 86400, 3600, 60 },
	{ "max-age=600, no-cache=\"Set-Cookie\"", 60, 86400, 3600, 600 },
	{ "no-cachex", 60, 86400, 3600, 3600 },
	{ "max-ages=5", 60, 86400, 3600, 3600 },
	{ "s-maxage=100", 60, 86400, 3600, 3600 },
	{ "max-age=abc", 60, 86400, 3600, 3600 },
	{ "max-age=12a", 60, 86400, 3600, 3600 },
	{ "max-age=-5", 60, 86400, 3600, 3600 },
	{ "max-age=", 60, 86400, 3600, 3600 },
	{ "max-age", 60, 86400, 3600, 3600 },
	{ "max-age=\"\"", 60, 86400, 3600, 3600 },
	{ "max-age = 300", 60, 86400, 3600, 3600 },
	{ " max-age=300 ", 60, 86400, 3600, 300 },
	{ ",,max-age=300,,", 60, 86400, 3600, 300 },
	{ "max-age=3", 1, 10, 3600, 3 },
	{ "max-age=30", 1, 10, 3600, 10 },
	{ NULL, 60, 86400, 10, 60 },
	{ NULL, 60, 600, 3600, 600 },
	};
	size_t	 i;
	int64_t	 got;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = core_jwks_max_age(cases[i].cc, cases[i].min, cases[i].max,
		    cases[i].def);
		if (got != cases[i].want)
			fail_msg("\"%s\" [%lld..%lld]: %lld, want %lld",
			    cases[i].cc ? cases[i].cc : "(null)",
			    (long long)cases[i].min, (long long)cases[i].max,
			    (long long)got, (long long)cases[i].want);
	}
}

static int
group_setup(void **state)
{
	json_t	*doc, *keys;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	fx.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	fx.rsa_other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	fx.ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	fx.ec0 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	fx.ec_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (fx.rsa == NULL || fx.rsa_other == NULL || fx.ec == NULL ||
	    fx.ec0 == NULL || fx.ec_other == NULL)
		return -1;
	fx.b64n = bn_b64(fx.rsa, OSSL_PKEY_PARAM_RSA_N, &fx.n, &fx.nlen);
	fx.b64e = bn_b64(fx.rsa, OSSL_PKEY_PARAM_RSA_E, NULL, NULL);
	if (fx.b64n == NULL || fx.b64e == NULL ||
	    ec_xy(fx.ec, &fx.b64x, &fx.b64y) != 0 ||
	    (fx.pem = pubkey_pem(fx.rsa)) == NULL)
		return -1;

	/*
	 * Usable: rsa1, ec0, ec1.  Skipped: the oct key, the P-384 key, and
	 * rsa_other twice (use "enc", alg "RS512").
	 */
	keys = json_array();
	json_array_append_new(keys, json_pack("{s:s,s:s,s:s}", "kty", "oct",
	    "kid", "sym", "k", "c2VjcmV0"));
	json_array_append_new(keys, jwk_rsa(fx.rsa_other, "rsa-enc", "enc",
	    NULL));
	json_array_append_new(keys, jwk_rsa(fx.rsa, "rsa1", "sig", "RS256"));
	json_array_append_new(keys, jwk_rsa(fx.rsa_other, "rsa-512", NULL,
	    "RS512"));
	json_array_append_new(keys, json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty",
	    "EC", "kid", "p384", "crv", "P-384", "x", "AA", "y", "AA"));
	json_array_append_new(keys, jwk_ec(fx.ec0, "ec0"));
	json_array_append_new(keys, jwk_ec(fx.ec, "ec1"));
	if (json_array_size(keys) != 7) {
		json_decref(keys);
		return -1;
	}
	doc = json_pack("{s:o}", "keys", keys);
	fx.jwks = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (fx.jwks == NULL)
		return -1;

	if (core_jwt_keys_new(SECRET, NULL, &fx.ks[KS_HS]) != TALLY_OK ||
	    core_jwt_keys_new(NULL, fx.jwks, &fx.ks[KS_JWKS]) != TALLY_OK ||
	    core_jwt_keys_new(SECRET, fx.jwks, &fx.ks[KS_ALL]) != TALLY_OK ||
	    core_jwt_keys_new(fx.pem, NULL, &fx.ks[KS_PEM]) != TALLY_OK)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < KS__MAX; i++)
		core_jwt_keys_free(fx.ks[i]);
	EVP_PKEY_free(fx.rsa);
	EVP_PKEY_free(fx.rsa_other);
	EVP_PKEY_free(fx.ec);
	EVP_PKEY_free(fx.ec0);
	EVP_PKEY_free(fx.ec_other);
	free(fx.n);
	free(fx.pem);
	free(fx.jwks);
	free(fx.b64n);
	free(fx.b64e);
	free(fx.b64x);
	free(fx.b64y);
	memset(&fx, 0, sizeof(fx));
	return 0;
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_keys_new),
		cmocka_unit_test(test_hs256),
		cmocka_unit_test(test_iss_aud),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_claims_out),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_rs256),
		cmocka_unit_test(test_es256),
		cmocka_unit_test(test_alg_confusion),
		cmocka_unit_test(test_needs_key),
		cmocka_unit_test(test_jwks_max_age),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
