/* Forgetting what is kept only for a while: stored Idempotency-Key
 * responses and failed gift redemptions. */
#ifndef CORE_OP_PURGE_H
#define CORE_OP_PURGE_H

#include <stdint.h>

struct db;

/*
 * Delete stored Idempotency-Key responses created before cutoff, in
 * batches of batch rows (each DELETE's locks stay short), until none are
 * left or *stop is set (stop may be NULL).  OUT: *n deleted.
 */
int	 op_purge_idempotency(struct db *, int64_t cutoff, int64_t batch,
	    volatile int *stop, uint64_t *n);
/* Delete failed gift redemptions recorded before cutoff.  OUT: *n. */
int	 op_purge_gift_failures(struct db *, int64_t cutoff, uint64_t *n);

#endif
