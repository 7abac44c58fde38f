/* Subscription operations: activate, deactivate, change interval, and the
 * recurring charge both the scheduler and the internal route run. */
#ifndef CORE_OP_SUBSCRIPTION_H
#define CORE_OP_SUBSCRIPTION_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/model.h"

struct db;

/* Reads: the account's subscription of product (TALLY_E_NOTFOUND), all
 * of them (up to max, by product), both with the invoice_id of a
 * pending_activation one, and one by user id in one read (the gate and
 * the internal status route; no invoice_id). */
int	 op_sub_get(struct db *, int64_t account_id, const char *product,
	    struct db_sub *s);
int	 op_sub_list(struct db *, int64_t account_id, size_t max,
	    struct db_sub *subs, size_t *n);
int	 op_sub_get_by_user(struct db *, const char *user_id,
	    const char *product, struct db_sub *s);

/*
 * In the caller's transaction: lock the account row (it serialises a
 * user's activations) and read its subscription of product for update;
 * with none, *s is a fresh row (id 0) of that account and product.
 */
int	 op_sub_lock_tx(struct db *, int64_t account_id, const char *product,
	    struct db_sub *s);

/* The status enum (core/subscription.h) of a row; SUB_NONE for none. */
int	 op_sub_status(const struct db_sub *);

/*
 * Activate credit-billed product p on interval iv for the token's user
 * who (who->create: an account is made first when there is none, as the
 * auth layer makes it; who->email, locale stored when they differ), in
 * two database calls: the account and subscription locked and read, the
 * decision taken here (core_sub_on_activate), the row written and the
 * first interval charged when a run starts (new, paused, canceled,
 * expired).  own_tx: no transaction is open, the first call starts one
 * and the second ends it (run it under op_store_call, which rolls back a
 * transaction left open and runs the calls again on a deadlock); else
 * both run in the caller's (op_store_tx).  TALLY_E_INSUFFICIENT: nothing
 * was changed (own_tx), or the caller must roll back;
 * TALLY_E_CONFLICT for a state that does not allow it.  OUT: *s (the
 * subscription after the change).
 */
struct op_wallet_who;
int	 op_sub_activate_call(struct db *, const struct op_wallet_who *who,
	    const struct core_product *p, int iv, int64_t now, int own_tx,
	    struct db_sub *s);
/* Cancel at period end (or now when nothing paid runs).  TALLY_E_NOTFOUND
 * without a subscription. */
int	 op_sub_deactivate_tx(struct db *, const struct tally_account *,
	    const struct core_product *p, int64_t now, struct db_sub *s);
/* The new interval applies from the next charge; nothing is charged now. */
int	 op_sub_change_interval_tx(struct db *, const struct tally_account *,
	    const struct core_product *p, int iv, int64_t now,
	    struct db_sub *s);

struct op_charge_counts {
	int64_t	 charged, paused, ended, errors;
};

/*
 * Charge every credit subscription due at now: debit the next interval
 * and advance the period, pause (and queue the "paused" email) when the
 * credits are short, or end one canceled at period end.  Batches of
 * subscriptions are claimed with FOR UPDATE SKIP LOCKED and each batch
 * commits as one transaction: its accounts are locked in one statement,
 * each subscription is decided in claim order against its account's
 * running balance, and the renewals are written with three set-based
 * statements (ledger rows, balances, next periods); pauses and ends go row
 * by row.  Each (subscription, period start) is charged at most once by
 * the ledger's unique effect key: a batch that finds one charged already
 * is rolled back and done again row by row, where the duplicate counts as
 * paid.  stop (may be NULL) is polled between batches.  Returns TALLY_OK,
 * or the error of the batch that failed (the run stops there; counted in
 * c->errors).
 */
int	 op_charge_recurring(struct db *, const struct core_config *,
	    int64_t now, volatile int *stop, struct op_charge_counts *);

/*
 * After credits raised account_id's balance, in the same transaction
 * (the account's row locked by that credit, or here when not yet): with
 * billing.reactivate_on_topup (read from the handle's configuration,
 * db_new), reactivate its paused credit subscriptions that the balance
 * now covers, oldest first, as a manual activate does: the price of the
 * subscription's interval charged now, a new period from now.  One still
 * short stays paused.  With the setting off this does nothing at all;
 * on, it costs one read without locks when nothing is paused.  Called
 * only where credits go up (never by debits).  OUT: *reactivated (may be
 * NULL).
 */
int	 op_sub_topup_tx(struct db *, int64_t account_id, int64_t now,
	    int *reactivated);

#endif
