/* Stored responses of POSTs with an Idempotency-Key (the key is scoped
 * to the caller).  The request cycle (fcgi/idem.c) replays them. */
#ifndef CORE_OP_IDEM_H
#define CORE_OP_IDEM_H

#include <stdint.h>

#include "core/model.h"

struct db;

/*
 * The stored response of (caller, key): TALLY_OK (OUT: *out; free
 * out->response with free(3)), TALLY_E_NOTFOUND, or a database code.
 */
int	 op_idem_get(struct db *, const char *caller, const char *key,
	    struct db_idem *out);
/*
 * Store a response in the caller's transaction, beside the effect it
 * answers.  TALLY_E_DUPLICATE when the key was stored meanwhile.
 */
int	 op_idem_put_tx(struct db *, const char *caller, const char *key,
	    const char *hash, int status, const char *response, int64_t now);
/* Forget the stored response of (caller, key). */
int	 op_idem_delete(struct db *, const char *caller, const char *key);

#endif
