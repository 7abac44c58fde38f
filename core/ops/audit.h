/* The audit log as operators read it. */
#ifndef CORE_OP_AUDIT_H
#define CORE_OP_AUDIT_H

#include <stddef.h>

#include "core/model.h"

struct db;

/* The newest entries first, at most max.  OUT: rows[0..*n). */
int	 op_audit_list(struct db *, size_t max, struct db_audit *rows,
	    size_t *n);

#endif
