/* Idempotency-Key: stored responses, replayed for the same request,
 * written in the same transaction as the effect they describe. */
#ifndef CORE_OPS_IDEM_H
#define CORE_OPS_IDEM_H

#include <stdint.h>

struct db;

/* How long a stored response answers for its key (API.md: 24 h). */
#define OP_IDEM_TTL	(24 * 60 * 60)

/*
 * The stored response of (caller, key) for a request whose hash is hash.
 * TALLY_OK (OUT: *status, *response: malloc'd, free(3)), TALLY_E_NOTFOUND
 * (none, or expired and forgotten now), TALLY_E_CONFLICT (stored for
 * another request), or a database code.
 */
int	 op_idem_lookup(struct db *, const char *caller, const char *key,
	    const char *hash, int64_t now, int *status, char **response);

/*
 * Store the response inside the caller's transaction.  TALLY_E_DUPLICATE
 * when the key was stored meanwhile (then roll back and replay).
 */
int	 op_idem_store_tx(struct db *, const char *caller, const char *key,
	    const char *hash, int status, const char *response, int64_t now);

#endif
