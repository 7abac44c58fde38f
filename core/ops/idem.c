/* Idempotency-Key responses over db/db_misc.c. */
#include "core/ops/idem.h"
#include "db/db_misc.h"

int
op_idem_get(struct db *db, const char *caller, const char *key,
    struct db_idem *out)
{
	return db_idem_get(db, caller, key, out);
}

int
op_idem_put_tx(struct db *db, const char *caller, const char *key,
    const char *hash, int status, const char *response, int64_t now)
{
	return db_idem_put(db, caller, key, hash, status, response, now);
}

int
op_idem_delete(struct db *db, const char *caller, const char *key)
{
	return db_idem_delete(db, caller, key);
}
