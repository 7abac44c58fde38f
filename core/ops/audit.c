/* Reading the audit log over db/db_misc.c (rows are written by the
 * operations that change state, in their transactions). */
#include "core/ops/audit.h"
#include "db/db_misc.h"

int
op_audit_list(struct db *db, size_t max, struct db_audit *rows, size_t *n)
{
	return db_audit_list(db, max, rows, n);
}
