/* Queries of idempotency keys and the audit log. */
#ifndef DB_MISC_H
#define DB_MISC_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct db;

/* TALLY_OK (OUT: *out), TALLY_E_NOTFOUND, or a db_exec() code. */
int	 db_idem_get(struct db *, const char *caller, const char *key,
	    struct db_idem *out);
/* Store a response; TALLY_E_DUPLICATE when the key was stored meanwhile. */
int	 db_idem_put(struct db *, const char *caller, const char *key,
	    const char *hash, int status, const char *response, int64_t now);
/* Delete keys created before cutoff, at most limit of them.  OUT: *n. */
int	 db_idem_purge(struct db *, int64_t cutoff, int64_t limit,
	    uint64_t *n);
int	 db_idem_delete(struct db *, const char *caller, const char *key);

int	 db_audit_insert(struct db *, const char *actor, const char *action,
	    const char *target, const char *details_json, int64_t now);
/* Newest first. OUT: rows[0..*n). */
int	 db_audit_list(struct db *, size_t max, struct db_audit *rows,
	    size_t *n);

#endif
