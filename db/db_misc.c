/* Idempotency keys and audit log queries. */
#include <stdlib.h>
#include <string.h>

#include "core/result.h"
#include "db/db.h"
#include "db/db_misc.h"

#define IDEM_RESPONSE_MAX	(256 * 1024)

enum idem_sql {
	IDEM_GET,
	IDEM_PUT,
	IDEM_PURGE,
	IDEM_DELETE,
	IDEM__MAX
};

static const char *const idem_sqls[IDEM__MAX] = {
	[IDEM_GET] =
	    "SELECT request_hash, status, response, UNIX_TIMESTAMP(created_at) "
	    "FROM idempotency_keys WHERE caller = ? AND idem_key = ?",
	[IDEM_PUT] =
	    "INSERT INTO idempotency_keys (caller, idem_key, request_hash, "
	    "status, response, created_at) "
	    "VALUES (?, ?, ?, ?, ?, FROM_UNIXTIME(?))",
	[IDEM_PURGE] =
	    "DELETE FROM idempotency_keys WHERE created_at < FROM_UNIXTIME(?) "
	    "LIMIT ?",
	[IDEM_DELETE] =
	    "DELETE FROM idempotency_keys WHERE caller = ? AND idem_key = ?",
};

enum audit_sql {
	AUDIT_INSERT,
	AUDIT_LIST,
	AUDIT__MAX
};

static const char *const audit_sqls[AUDIT__MAX] = {
	[AUDIT_INSERT] =
	    "INSERT INTO audit_log (actor, action, target, details, created_at)"
	    " VALUES (?, ?, ?, ?, FROM_UNIXTIME(?))",
	[AUDIT_LIST] =
	    "SELECT actor, action, target, details, UNIX_TIMESTAMP(created_at)"
	    " FROM audit_log ORDER BY id DESC LIMIT ?",
};

int
db_idem_get(struct db *db, const char *caller, const char *key,
    struct db_idem *out)
{
	struct db_stmt	*st = db_stmt(db, DB_G_IDEM, IDEM_GET,
	    idem_sqls[IDEM_GET]);
	int		 rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_exec(db, st, "ss", caller, key)) != TALLY_OK)
		return rc;
	if ((out->response = malloc(IDEM_RESPONSE_MAX)) == NULL) {
		db_done(st);
		return TALLY_E_NOMEM;
	}
	rc = db_fetch(db, st, "sisi", out->hash, sizeof(out->hash),
	    &out->status, out->response, (size_t)IDEM_RESPONSE_MAX,
	    &out->created_at);
	db_done(st);
	if (rc != TALLY_OK) {
		free(out->response);
		out->response = NULL;
	}
	return rc;
}

int
db_idem_put(struct db *db, const char *caller, const char *key,
    const char *hash, int status, const char *response, int64_t now)
{
	if (strlen(response) >= IDEM_RESPONSE_MAX)
		return TALLY_E_TOOBIG;
	return db_exec(db, db_stmt(db, DB_G_IDEM, IDEM_PUT,
	    idem_sqls[IDEM_PUT]), "sssisi", caller, key, hash,
	    (int64_t)status, response, now);
}

int
db_idem_purge(struct db *db, int64_t cutoff, int64_t limit, uint64_t *n)
{
	struct db_stmt	*st = db_stmt(db, DB_G_IDEM, IDEM_PURGE,
	    idem_sqls[IDEM_PURGE]);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", cutoff, limit)) == TALLY_OK)
		*n = db_affected(st);
	return rc;
}

int
db_idem_delete(struct db *db, const char *caller, const char *key)
{
	return db_exec(db, db_stmt(db, DB_G_IDEM, IDEM_DELETE,
	    idem_sqls[IDEM_DELETE]), "ss", caller, key);
}

int
db_audit_insert(struct db *db, const char *actor, const char *action,
    const char *target, const char *details, int64_t now)
{
	return db_exec(db, db_stmt(db, DB_G_AUDIT, AUDIT_INSERT,
	    audit_sqls[AUDIT_INSERT]), "ssssi", actor, action, target,
	    details, now);
}

int
db_audit_list(struct db *db, size_t max, struct db_audit *rows, size_t *n)
{
	struct db_stmt	*st = db_stmt(db, DB_G_AUDIT, AUDIT_LIST,
	    audit_sqls[AUDIT_LIST]);
	struct db_audit	*r;
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "i", (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max) {
		r = &rows[*n];
		rc = db_fetch(db, st, "ssssi", r->actor, sizeof(r->actor),
		    r->action, sizeof(r->action), r->target, sizeof(r->target),
		    r->details, sizeof(r->details), &r->created_at);
		if (rc != TALLY_OK)
			break;
		(*n)++;
	}
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

