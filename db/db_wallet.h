/* Queries of the wallet tables: accounts and the ledger. */
#ifndef DB_WALLET_H
#define DB_WALLET_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct db;

/* TALLY_OK, TALLY_E_NOTFOUND, or a db_exec() code. OUT: *a. */
int	 db_account_get(struct db *, const char *user_id,
	    struct tally_account *a);
/* The account with primary key id. TALLY_OK or TALLY_E_NOTFOUND. */
int	 db_account_get_by_id(struct db *, int64_t id, struct tally_account *a);
/* Insert an empty account; TALLY_E_DUPLICATE if it exists already. */
int	 db_account_insert(struct db *, const char *user_id,
	    const char *email, const char *locale, int64_t now);
int	 db_account_set_profile(struct db *, int64_t id, const char *email,
	    const char *locale, int64_t now);
/* Lock the account row for this transaction. OUT: *balance. */
int	 db_account_lock(struct db *, int64_t id, int64_t *balance);

/*
 * Add amount (signed) to the balance and write the ledger row, inside the
 * caller's transaction.  effect_key (may be NULL) makes the effect unique.
 * Returns TALLY_OK, TALLY_E_INSUFFICIENT (would go below zero; nothing
 * written), TALLY_E_OVERFLOW, TALLY_E_DUPLICATE (effect done already) or a
 * db_exec() code.  OUT: *tx.
 */
int	 db_ledger_apply(struct db *, int64_t account_id, const char *kind,
	    int64_t amount, const char *operation, const char *description,
	    const char *effect_key, int64_t now, struct tally_tx *tx);
/* A balance change for db_ledger_call (0007_ledger_routines.sql). */
struct db_ledger_change {
	int64_t		 account_id;	/* 0: the account of user_id */
	const char	*user_id;
	const char	*kind;
	int64_t		 amount;	/* signed */
	const char	*operation, *description;	/* may be NULL */
	const char	*effect_key;	/* may be NULL */
	int64_t		 now;
	const char	*email, *locale; /* stored when given (may be NULL) */
	int		 own_tx;	/* 1: the call commits by itself */
};

struct db_ledger_result {
	int64_t		 account_id;
	int64_t		 balance;	/* after (or unchanged) */
	struct tally_tx	 tx;		/* the new ledger row */
};

/*
 * Apply c in one round trip.  TALLY_OK, TALLY_E_NOTFOUND (no such account),
 * TALLY_E_INSUFFICIENT, TALLY_E_DUPLICATE (the effect key exists), or a
 * db_exec() code (TALLY_E_OVERFLOW, TALLY_E_RETRY ...); on any error
 * nothing was changed.  OUT: *r.
 */
int	 db_ledger_call(struct db *, const struct db_ledger_change *c,
	    struct db_ledger_result *r);
/*
 * As db_ledger_call, but an own-transaction call (c->own_tx) may share one
 * round trip and one transaction with the calls other threads of this
 * process make at the same moment ([database] batch_debits; see
 * db_combine.c).  Same answers, same exactness.
 */
int	 db_ledger_call_shared(struct db *, const struct db_ledger_change *c,
	    struct db_ledger_result *r);
/* The tally_ledger_* routines' status column as a TALLY_* code. */
int	 db_ledger_status(int64_t status);
/* The [webhook.*] endpoints that want the event of a change of amount. */
const char *db_ledger_hooks(struct db *, int64_t amount);
/*
 * Refund usage row txid of the account (account_id, or 0 and user_id) in
 * one round trip, once.  TALLY_E_NOTFOUND (no such account, or no such
 * row of it), TALLY_E_INVALID (not a usage), TALLY_E_DUPLICATE (refunded).
 */
int	 db_ledger_refund_call(struct db *, int64_t account_id,
	    const char *user_id, int64_t txid, int64_t now, int own_tx,
	    struct db_ledger_result *r);
/*
 * The wallet of user_id, made if missing (email stored when given), with
 * credits granted once as the signup grant, in one round trip
 * (tally_account_init).  OUT: *a (balance after), *granted.
 */
int	 db_account_init_call(struct db *, const char *user_id,
	    const char *email, int64_t credits, int64_t now, int own_tx,
	    struct tally_account *a, int *granted);
/*
 * Up to max rows with id < before (0: from the newest), newest first.
 * OUT: txs[0..*n).
 */
int	 db_ledger_list(struct db *, int64_t account_id, int64_t before,
	    size_t max, struct tally_tx *txs, size_t *n);

/*
 * Usage statistics of account_id (0: all accounts; an id no account has:
 * none) for the UTC days of
 * [from, to]: per day, oldest first, or per operation, most credits first;
 * at most max rows.
 */
int	 db_usage_stats(struct db *, int64_t account_id, int64_t from,
	    int64_t to, int by_operation, struct tally_usage_row *rows,
	    size_t max, size_t *n);

#endif
