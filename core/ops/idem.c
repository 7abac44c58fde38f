/* Stored responses over db/db_misc.c. */
#include <stdlib.h>
#include <string.h>

#include "core/ops/idem.h"
#include "core/result.h"
#include "db/db_misc.h"

int
op_idem_lookup(struct db *db, const char *caller, const char *key,
    const char *hash, int64_t now, int *status, char **response)
{
	struct db_idem	 st;
	int		 rc;

	*response = NULL;
	if ((rc = db_idem_get(db, caller, key, &st)) != TALLY_OK)
		return rc;
	if (now - st.created_at >= OP_IDEM_TTL) {
		/* Expired: the key may be used afresh. */
		free(st.response);
		rc = db_idem_delete(db, caller, key);
		return rc == TALLY_OK ? TALLY_E_NOTFOUND : rc;
	}
	if (strcmp(st.hash, hash) != 0) {
		free(st.response);
		return TALLY_E_CONFLICT;
	}
	*status = (int)st.status;
	*response = st.response;
	return TALLY_OK;
}

int
op_idem_store_tx(struct db *db, const char *caller, const char *key,
    const char *hash, int status, const char *response, int64_t now)
{
	return db_idem_put(db, caller, key, hash, status, response, now);
}
