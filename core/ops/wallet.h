/* Wallet operations: accounts, debits, refunds, grants, adjustments.
 * Functions named *_tx run inside the caller's transaction (db_tx). */
#ifndef CORE_OP_WALLET_H
#define CORE_OP_WALLET_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/model.h"

struct db;

/*
 * The account of user_id, created if missing; email and locale (may be
 * NULL) are stored when they differ from what is known.
 * TALLY_OK or a database code.  OUT: *a.
 */
int	 op_account_ensure(struct db *, const char *user_id,
	    const char *email, const char *locale, int64_t now,
	    struct tally_account *a);

/* Whose wallet a call changes. */
struct op_wallet_who {
	int64_t		 account_id;	/* 0: the account of user_id */
	const char	*user_id;
	/* The caller's profile from its token, stored when it changed
	 * (may be NULL); with create, a missing account is made first. */
	const char	*email, *locale;
	int		 create;
};

/*
 * Debit amount > 0 as a usage, in one database call.  own_tx: no
 * transaction is open, the call commits by itself (http_call); else it
 * runs in the caller's.  TALLY_E_INSUFFICIENT and every error change
 * nothing; TALLY_E_NOTFOUND: no such account (and not who->create).
 * OUT: *out (its balance_after is the new balance).
 */
int	 op_credits_use(struct db *, const struct op_wallet_who *,
	    int64_t amount, const char *operation, const char *description,
	    int64_t now, int own_tx, struct tally_tx *out);

/*
 * Refund usage transaction txid of the account, once, in one database
 * call: TALLY_E_NOTFOUND (no such account or transaction of it),
 * TALLY_E_INVALID (not a usage), TALLY_E_CONFLICT (refunded already).
 */
int	 op_credits_refund(struct db *, const struct op_wallet_who *,
	    int64_t txid, int64_t now, int own_tx, struct tally_tx *out);

/*
 * The wallet of user_id, made if missing (email stored when given), with
 * billing.signup_credits granted once, in one database call (own_tx as
 * for op_credits_use).  OUT: *a (its balance after), *granted.
 */
int	 op_credits_init(struct db *, const struct core_config *,
	    const char *user_id, const char *email, int64_t now, int own_tx,
	    struct tally_account *a, int *granted);

/* The id of user_id's account; 0 when it has none yet (none is made). */
int	 op_account_id(struct db *, const char *user_id, int64_t *id);

/* The balance of user_id's wallet; 0 when it has none yet. */
int	 op_account_balance(struct db *, const char *user_id,
	    int64_t *balance);

/* Up to max ledger rows with id < before (0: newest), newest first. */
int	 op_ledger_list(struct db *, int64_t account_id, int64_t before,
	    size_t max, struct tally_tx *txs, size_t *n);


/*
 * Usage statistics of account_id (0: every account) for the UTC days
 * from..to (midnights, core_day_range): per day or per operation
 * (by_operation), at most max rows.
 */
int	 op_usage_stats(struct db *, int64_t account_id, int64_t from,
	    int64_t to, int by_operation, struct tally_usage_row *rows,
	    size_t max, size_t *n);

/* A signed admin adjustment with its audit row. */
int	 op_credits_adjust_tx(struct db *, const struct tally_account *,
	    int64_t amount, const char *reason, const char *actor, int64_t now,
	    struct tally_tx *out);

#endif
