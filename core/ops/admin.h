/* What an operator asks at 3 a.m. (tally-admin): does every balance equal
 * its ledger, what is the state of one user, which emails did not go out. */
#ifndef CORE_OP_ADMIN_H
#define CORE_OP_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct db;

/*
 * The ledger check: the totals (OUT: *sum) and the accounts whose balance
 * differs from the sum of their ledger rows, at most max (OUT:
 * rows[0..*n)), read in one statement.  TALLY_OK or a database code.
 */
int	 op_admin_ledger_check(struct db *, size_t max,
	    struct db_ledger_summary *sum, struct db_ledger_diff *rows,
	    size_t *n);

#define OP_ADMIN_SUBS		32
#define OP_ADMIN_LEDGER		100
#define OP_ADMIN_INVOICES	100

/* One user as the operator sees it. */
struct op_admin_user {
	struct tally_account account;
	int64_t		 ledger_sum;
	struct db_sub	 subs[OP_ADMIN_SUBS];
	size_t		 nsubs;
	struct tally_tx	 ledger[OP_ADMIN_LEDGER];	/* newest first */
	size_t		 nledger;
	struct db_invoice pending[OP_ADMIN_INVOICES];	/* newest first */
	size_t		 npending;
};

/*
 * user_id's account, its ledger's sum, subscriptions, last nledger (at
 * most OP_ADMIN_LEDGER) ledger rows and pending invoices; nothing is
 * created.  TALLY_E_NOTFOUND when the user has no account.  OUT: *u
 * (large: allocate it).
 */
int	 op_admin_user(struct db *, const char *user_id, size_t nledger,
	    struct op_admin_user *u);

/*
 * Outbox messages that did not go out: given up, or pending and created
 * at or before cutoff or tried already; oldest first, at most max.
 * OUT: rows[0..*n).
 */
int	 op_admin_outbox_stuck(struct db *, int64_t cutoff, size_t max,
	    struct db_outbox_row *rows, size_t *n);

#endif
