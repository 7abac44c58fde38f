/* Operator reads for tally-admin: the ledger check, a user, the outbox. */
#include <string.h>

#include "core/ops/admin.h"
#include "core/result.h"
#include "db/db_admin.h"
#include "db/db_invoice.h"
#include "db/db_sub.h"
#include "db/db_wallet.h"

int
op_admin_ledger_check(struct db *db, size_t max,
    struct db_ledger_summary *sum, struct db_ledger_diff *rows, size_t *n)
{
	int	 rc;

	*n = 0;
	if ((rc = db_ledger_summary(db, sum)) != TALLY_OK)
		return rc;
	return db_ledger_diffs(db, max, rows, n);
}

int
op_admin_user(struct db *db, const char *user_id, size_t nledger,
    struct op_admin_user *u)
{
	struct db_invoice *all;
	size_t		 n, i;
	int		 rc;

	memset(u, 0, sizeof(*u));
	if ((rc = db_account_get(db, user_id, &u->account)) != TALLY_OK)
		return rc;
	if ((rc = db_ledger_sum(db, u->account.id, &u->ledger_sum)) !=
	    TALLY_OK)
		return rc;
	if ((rc = db_sub_list(db, u->account.id, OP_ADMIN_SUBS, u->subs,
	    &u->nsubs)) != TALLY_OK)
		return rc;
	if (nledger > OP_ADMIN_LEDGER)
		nledger = OP_ADMIN_LEDGER;
	if (nledger > 0 && (rc = db_ledger_list(db, u->account.id, 0,
	    nledger, u->ledger, &u->nledger)) != TALLY_OK)
		return rc;
	/* The newest invoices, of which the pending ones. */
	all = u->pending;
	if ((rc = db_invoice_list(db, u->account.id, OP_ADMIN_INVOICES, all,
	    &n)) != TALLY_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if (strcmp(all[i].status, "pending") != 0)
			continue;
		if (u->npending != i)
			all[u->npending] = all[i];
		u->npending++;
	}
	return TALLY_OK;
}

int
op_admin_outbox_stuck(struct db *db, int64_t cutoff, size_t max,
    struct db_outbox_row *rows, size_t *n)
{
	return db_outbox_stuck(db, cutoff, max, rows, n);
}
