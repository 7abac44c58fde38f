/* Queries of gifts and failed redemptions. */
#ifndef DB_GIFT_H
#define DB_GIFT_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct db;

/* Insert g (its id is set); TALLY_E_DUPLICATE when the code exists. */
int	 db_gift_insert(struct db *, struct db_gift *g, int64_t now);
/* By bare code; with lock, FOR UPDATE.  TALLY_OK or TALLY_E_NOTFOUND. */
int	 db_gift_get_by_code(struct db *, const char *code, int lock,
	    struct db_gift *g);
/* By id, FOR UPDATE. */
int	 db_gift_lock_by_id(struct db *, int64_t id, struct db_gift *g);
/* Set the status (redeemed: by, at; canceled: at). */
int	 db_gift_set_status(struct db *, int64_t id, const char *status,
	    int64_t redeemed_by, int64_t now);
/* Created by / redeemed by an account, newest first. */
int	 db_gift_list_created(struct db *, int64_t account_id, size_t max,
	    struct db_gift *gs, size_t *n);
int	 db_gift_list_received(struct db *, int64_t account_id, size_t max,
	    struct db_gift *gs, size_t *n);
/* Active personalized gifts for a normalised email, FOR UPDATE. */
int	 db_gift_lock_pending_for(struct db *, const char *email, size_t max,
	    struct db_gift *gs, size_t *n);

/* Record an attempt (OUT: *id); delete it again when it succeeded. */
int	 db_gift_failure_add(struct db *, int64_t account_id, int64_t now,
	    int64_t *id);
int	 db_gift_failure_delete(struct db *, int64_t id);
/* Failures since since: OUT: *count, *oldest (0 when none). */
int	 db_gift_failures(struct db *, int64_t account_id, int64_t since,
	    int64_t *count, int64_t *oldest);
int	 db_gift_failures_purge(struct db *, int64_t before, uint64_t *n);

#endif
