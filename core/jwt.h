/* JSON Web Token verification (HS256, RS256, ES256) and HS256 minting. */
#ifndef CORE_JWT_H
#define CORE_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct core_jwt_keys;

/* Claims tally uses; strings are NUL-terminated and truncated never: a
 * longer claim makes verification fail with TALLY_E_UNAUTHORIZED. */
struct core_jwt_claims {
	char	 sub[256];
	char	 email[321];	/* empty when absent */
	char	 locale[16];	/* empty when absent */
	int64_t	 exp;
	int64_t	 nbf;		/* 0 when absent */
};

/*
 * Build a key set from an HS256 secret (may be NULL or empty: no HS256)
 * and the text of a JWKS document (may be NULL: no RS256/ES256 keys).
 * JWKS keys of kty RSA (n, e) and EC P-256 (crv, x, y) are loaded; others
 * are skipped.  Returns TALLY_OK, TALLY_E_CONFIG (bad JWKS, or no key at
 * all) or TALLY_E_NOMEM.  OUT: *out, freed with core_jwt_keys_free().
 */
int	 core_jwt_keys_new(const char *hs_secret, const char *jwks_json,
	    struct core_jwt_keys **out);
void	 core_jwt_keys_free(struct core_jwt_keys *);

/* The number of RS256/ES256 keys in the set (0 for NULL). */
size_t	 core_jwt_keys_count(const struct core_jwt_keys *);

/*
 * Whether the token (len bytes) asks for a public key the set (may be
 * NULL) does not have: its header is RS256 or ES256 and names a "kid" no
 * key of that type has, or names none and the set has no key of that
 * type.  0 for anything else (HS256, a malformed token, a known kid): a
 * fresh key set could not make such a token pass.  Nothing is verified.
 */
int	 core_jwt_needs_key(const struct core_jwt_keys *, const char *token,
	    size_t len);

/*
 * How long to keep a fetched JWKS, in seconds, from the response's
 * Cache-Control header value (may be NULL or empty): its max-age, or min
 * for no-store and no-cache, or def when there is neither (or max-age is
 * malformed); the result is clamped to min..max (min <= max).
 */
int64_t	 core_jwks_max_age(const char *cache_control, int64_t min,
	    int64_t max, int64_t def);

/*
 * Verify a compact JWS token of len bytes at time now (Unix seconds).
 * Only HS256, RS256 and ES256 are accepted (never "none"); the algorithm
 * must match the key's type; with a "kid" header the JWKS key of that kid
 * is used, else each key of the right type is tried.  exp is required;
 * nbf is checked when present; iss and aud are checked when non-NULL and
 * non-empty (aud may be a string or an array).  sub is required.
 * Returns TALLY_OK, TALLY_E_UNAUTHORIZED (malformed, bad signature,
 * wrong iss/aud, unknown alg), TALLY_E_EXPIRED or TALLY_E_NOTYET.
 * OUT: *claims.
 */
int	 core_jwt_verify(const struct core_jwt_keys *, const char *token,
	    size_t len, int64_t now, const char *iss, const char *aud,
	    struct core_jwt_claims *claims);

/*
 * Whether the claims of a token that passed core_jwt_verify() still hold
 * at now: TALLY_OK, TALLY_E_EXPIRED or TALLY_E_NOTYET, as core_jwt_verify()
 * of the same token with the same keys would answer at now.
 */
int	 core_jwt_claims_current(const struct core_jwt_claims *, int64_t now);

/*
 * Sign claims (a JSON object, not modified) with HS256 and secret.
 * OUT: *out, a NUL-terminated token to free(3).
 * Returns TALLY_OK, TALLY_E_INVALID or TALLY_E_NOMEM.
 */
int	 core_jwt_sign_hs256(const char *secret, const json_t *claims,
	    char **out);

/*
 * Free this thread's cached HMAC context (a thread that verified or
 * signed HS256 tokens calls it before it ends; harmless otherwise).
 */
void	 core_jwt_thread_end(void);

#endif
