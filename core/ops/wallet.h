/* Wallet operations: accounts, debits, refunds, grants, adjustments.
 * Functions named *_tx run inside the caller's transaction (db_tx). */
#ifndef CORE_OP_WALLET_H
#define CORE_OP_WALLET_H

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

/* Debit amount > 0 as a usage.  TALLY_E_INSUFFICIENT changes nothing. */
int	 op_credits_use_tx(struct db *, int64_t account_id, int64_t amount,
	    const char *operation, const char *description, int64_t now,
	    struct tally_tx *out);

/*
 * Refund usage transaction txid of the account, once: TALLY_E_NOTFOUND
 * (no such transaction of this account), TALLY_E_INVALID (not a usage),
 * TALLY_E_CONFLICT (refunded already).
 */
int	 op_credits_refund_tx(struct db *, int64_t account_id, int64_t txid,
	    int64_t now, struct tally_tx *out);

/*
 * Grant billing.signup_credits once per account.  OUT: *granted is 1 when
 * this call granted them (a ledger row in *out).
 */
int	 op_credits_init_tx(struct db *, const struct core_config *,
	    int64_t account_id, int64_t now, int *granted,
	    struct tally_tx *out);

/* A signed admin adjustment with its audit row. */
int	 op_credits_adjust_tx(struct db *, const struct tally_account *,
	    int64_t amount, const char *reason, const char *actor, int64_t now,
	    struct tally_tx *out);

#endif
