/* Queries of the subscriptions table. */
#ifndef DB_SUB_H
#define DB_SUB_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct db;


/*
 * TALLY_OK or TALLY_E_NOTFOUND.  With lock, FOR UPDATE; without, the
 * user's view: s->invoice_id is read too.  OUT: *s.
 */
int	 db_sub_get(struct db *, int64_t account_id, const char *product,
	    int lock, struct db_sub *s);
/* An account's subscriptions, with invoice_id. OUT: subs[0..*n). */
int	 db_sub_list(struct db *, int64_t account_id, size_t max,
	    struct db_sub *subs, size_t *n);
/*
 * The subscription of user_id (by account user id) for product, in one
 * slim read: only status, interval, cancel_at_period_end, period_end and
 * paused_at are read (and product); id is -1, the rest 0.
 */
int	 db_sub_get_by_user(struct db *, const char *user_id,
	    const char *product, struct db_sub *s);
/*
 * Lock the account row and its subscription of product (if any) in one
 * statement; with none, *s is a fresh row (id 0) of that account and
 * product.  TALLY_E_NOTFOUND when the account does not exist.
 */
int	 db_sub_lock_account(struct db *, int64_t account_id,
	    const char *product, struct db_sub *s);
/*
 * A credit subscription's activation in two calls (migration 0017), for
 * a state machine that stays in C.  The first: store the token's email
 * and locale (those not NULL or empty that differ, committed by
 * themselves), start the transaction when own_tx, lock the account of
 * user_id and its subscription of product, and answer both as
 * db_sub_lock_account does.  TALLY_E_NOTFOUND when the user has no
 * account (nothing is locked, no transaction left open).  With own_tx
 * the transaction stays open (db->call_open) until
 * db_sub_activate_write, or until db_call rolls it back.
 * OUT: *s.
 */
int	 db_sub_activate_lock(struct db *, const char *user_id,
	    const char *product, const char *email, const char *locale,
	    int64_t now, int own_tx, struct db_sub *s);

/* What the second call charges and reports (price 0: nothing). */
struct db_sub_charge {
	int64_t		 price;		/* > 0: the first period of a new run */
	const char	*kind;		/* the ledger row's kind */
	const char	*description;	/* the ledger row's */
	const char	*debit_hooks;	/* credits.debited endpoints, or NULL */
	const char	*sub_hooks;	/* event_type's endpoints, or NULL */
	const char	*event_type;	/* e.g. "subscription.activated" */
	const char	*nonce;		/* the event id's seed (op_event_tx) */
};

/*
 * The second call, in the first one's transaction: write s (INSERT when
 * s->id is 0, then s->id is set; else UPDATE), charge c->price when > 0
 * with the effect key "sub:<id>:<run_no>:<period_start>" (a period
 * charged before counts as paid) and write the event, then COMMIT when
 * own_tx.  TALLY_E_INSUFFICIENT when the credits are short: with own_tx
 * the routine rolled everything back; without, the caller must.  Or a
 * db_exec() code.
 */
int	 db_sub_activate_write(struct db *, struct db_sub *s,
	    const struct db_sub_charge *c, int64_t now, int own_tx);

/* Insert s (its id is set). */
int	 db_sub_insert(struct db *, struct db_sub *s, int64_t now);
/* Write every mutable column of s back. */
int	 db_sub_update(struct db *, const struct db_sub *s, int64_t now);
/*
 * Claim up to max due active subscriptions (next_charge_at <= now) with
 * FOR UPDATE SKIP LOCKED, oldest due first.  OUT: subs[0..*n).
 */
int	 db_sub_claim_due(struct db *, int64_t now, size_t max,
	    struct db_sub *subs, size_t *n);

int	 db_sub_lock_id(struct db *, int64_t id, struct db_sub *s);
/* The ids of the account's paused subscriptions (a read without locks),
 * at most max.  OUT: ids[0..*n). */
int	 db_sub_paused_ids(struct db *, int64_t account_id, size_t max,
	    int64_t *ids, size_t *n);
/*
 * Claim active subscriptions of product whose period ends by horizon and
 * that have no renewal invoice for the cycle (SKIP LOCKED).
 */
int	 db_sub_claim_renewals(struct db *, const char *product,
	    int64_t horizon, size_t max, struct db_sub *subs, size_t *n);
/* End product's active subscriptions whose period is over: canceled
 * when set to end, else expired.  OUT: *n. */
int	 db_sub_end_due(struct db *, const char *product, int64_t now,
	    uint64_t *n);

/*
 * Lock (FOR UPDATE, waiting) the accounts whose ids the JSON array
 * ids_json lists, each id once.  OUT: ids[0..*n) and their balances, in
 * no particular order; an id missing from the result has no account.
 */
int	 db_sub_lock_accounts(struct db *, const char *ids_json, size_t max,
	    int64_t *ids, int64_t *balances, size_t *n);
/*
 * Write a batch of renewals decided by the caller, whose accounts it has
 * locked, in three statements: the ledger rows (ledger kind `kind`),
 * the balances, the subscriptions' next periods.
 *   charges_json: an array of {"account", "amount", "balance_after",
 *     "operation", "description", "effect_key", "sub", "end_months",
 *     "start", "end"} (times in Unix seconds), one per renewal, an
 *     account's in the order of its balance_after sequence;
 *   balances_json: an array of [account id, change, balance after], one
 *     per account of charges_json.
 * TALLY_E_DUPLICATE when a charge's effect key exists already (nothing of
 * the batch written, but the caller must still roll back);
 * TALLY_E_INTERNAL when a count differs from ncharges / naccounts; or a
 * db_exec() code.  Only in the caller's transaction.
 */
int	 db_sub_charge_apply(struct db *, const char *kind,
	    const char *charges_json, size_t ncharges,
	    const char *balances_json, size_t naccounts, int64_t now);

#endif
