/* The key set user tokens are verified with: fixed, or fetched from
 * auth.jwks_url and kept fresh for every thread of the process. */
#ifndef CORE_OPS_JWKS_H
#define CORE_OPS_JWKS_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/jwt.h"

struct op_jwks;

/*
 * Build the key set of cfg (which must outlive it) at time now, before
 * threads start: auth.jwt_secret and auth.jwks_file, or auth.jwt_secret
 * and the set fetched from auth.jwks_url.  A fetch that fails is fatal
 * only when strict is set (tally-admin check-config); otherwise it is
 * logged and retried (see README "Authentication"), and until then only
 * HS256 tokens pass.  Returns TALLY_OK, TALLY_E_CONFIG (a jwks_file that
 * cannot be read or holds no usable key, a failed strict fetch) with one
 * line in err naming the key, or TALLY_E_NOMEM.  OUT: *out, freed with
 * op_jwks_free() once no thread uses it.
 */
int	 op_jwks_new(const struct core_config *cfg, int64_t now, int strict,
	    struct op_jwks **out, char *err, size_t errsz);
void	 op_jwks_free(struct op_jwks *);

/*
 * Verify a bearer token of len bytes at now (core_jwt_verify with the
 * configured issuer and audience).  With auth.jwks_url, a set past its
 * max-age is fetched again first (by one thread; the others go on with
 * the set they have), and a token whose RS256/ES256 key is not in the
 * set makes one fetch, at most every auth.jwks_refetch_seconds, and is
 * verified again.  When the set is fresh this takes no lock and does no
 * I/O.  Each thread keeps the last tokens that passed: the same token
 * again, under the same set, is answered from its exp and nbf alone.
 * Thread-safe.  Returns what core_jwt_verify() returns; OUT: *claims.
 */
int	 op_jwks_verify(struct op_jwks *, const char *token, size_t len,
	    int64_t now, struct core_jwt_claims *claims);

/*
 * Let go of the set this thread holds (a thread that called
 * op_jwks_verify() calls it before it ends; harmless otherwise).
 */
void	 op_jwks_thread_end(struct op_jwks *);

#endif
