/* Purges over db/db_misc.c and db/db_gift.c. */
#include "core/ops/purge.h"
#include "core/result.h"
#include "db/db_gift.h"
#include "db/db_misc.h"

int
op_purge_idempotency(struct db *db, int64_t cutoff, int64_t batch,
    volatile int *stop, uint64_t *n)
{
	uint64_t	 k;
	int		 rc;

	*n = 0;
	do {
		rc = db_idem_purge(db, cutoff, batch, &k);
		*n += k;
	} while (rc == TALLY_OK && k == (uint64_t)batch &&
	    (stop == NULL || !*stop));
	return rc;
}

int
op_purge_gift_failures(struct db *db, int64_t cutoff, uint64_t *n)
{
	return db_gift_failures_purge(db, cutoff, n);
}
