/* Wallet operations over db/db_wallet.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/ops/log.h"
#include "core/ops/subscription.h"
#include "core/ops/wallet.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_misc.h"
#include "db/db_wallet.h"

int
op_account_ensure(struct db *db, const char *user_id, const char *email,
    const char *locale, int64_t now, struct tally_account *a)
{
	int	 rc, change;

	rc = db_account_get(db, user_id, a);
	if (rc == TALLY_E_NOTFOUND) {
		rc = db_account_insert(db, user_id, email, locale, now);
		/* A concurrent first request created it: just as good. */
		if (rc != TALLY_OK && rc != TALLY_E_DUPLICATE)
			return rc;
		return db_account_get(db, user_id, a);
	}
	if (rc != TALLY_OK)
		return rc;
	change = (email != NULL && *email != '\0' &&
	    strcmp(email, a->email) != 0) ||
	    (locale != NULL && *locale != '\0' &&
	    strcmp(locale, a->locale) != 0);
	if (!change)
		return TALLY_OK;
	if (email != NULL && *email != '\0')
		snprintf(a->email, sizeof(a->email), "%s", email);
	if (locale != NULL && *locale != '\0')
		snprintf(a->locale, sizeof(a->locale), "%s", locale);
	return db_account_set_profile(db, a->id,
	    a->email[0] ? a->email : NULL, a->locale[0] ? a->locale : NULL,
	    now);
}

int
op_credits_use(struct db *db, const struct op_wallet_who *who,
    int64_t amount, const char *operation, const char *description,
    int64_t now, int own_tx, struct tally_tx *out)
{
	struct db_ledger_change c;
	struct db_ledger_result r;
	struct tally_account a;
	int		 rc;

	if (amount <= 0)
		return TALLY_E_INVALID;
	memset(&c, 0, sizeof(c));
	c.account_id = who->account_id;
	c.user_id = who->user_id;
	c.kind = TX_USAGE;
	c.amount = -amount;
	c.operation = operation;
	c.description = description;
	c.now = now;
	c.email = who->email;
	c.locale = who->locale;
	c.own_tx = own_tx;
	rc = db_ledger_call_shared(db, &c, &r);
	if (rc == TALLY_E_NOTFOUND && who->create && who->account_id == 0) {
		/* A first request: the account starts empty, as a balance
		 * read would have made it; then the debit is answered. */
		if ((rc = op_account_ensure(db, who->user_id, who->email,
		    who->locale, now, &a)) != TALLY_OK)
			return rc;
		rc = db_ledger_call_shared(db, &c, &r);
	}
	if (rc == TALLY_OK)
		*out = r.tx;
	return rc;
}

struct topup {
	int64_t		 account_id, now;
};

static int
topup_tx(struct db *db, void *arg)
{
	struct topup	*t = arg;

	return op_sub_topup_tx(db, t->account_id, t->now, NULL);
}

/*
 * The top-up check after a routine that raised the balance: inside the
 * caller's transaction, or (the routine committed on its own) right after
 * it in a short one of its own, whose failure is logged but does not undo
 * or fail the credit.  Nothing at all unless billing.reactivate_on_topup.
 */
static int
after_credit(struct db *db, int64_t account_id, int64_t now, int own_tx)
{
	struct topup	 t;
	int		 rc;

	if (db->cfg == NULL || !db->cfg->reactivate_on_topup)
		return TALLY_OK;
	if (!own_tx)
		return op_sub_topup_tx(db, account_id, now, NULL);
	t.account_id = account_id;
	t.now = now;
	if ((rc = db_tx(db, topup_tx, &t)) != TALLY_OK)
		core_log("error", "sub.topup_check_failed", json_pack(
		    "{s:I,s:s}", "account_id", (json_int_t)account_id, "error",
		    core_strerror(rc)));
	return TALLY_OK;
}

int
op_credits_refund(struct db *db, const struct op_wallet_who *who,
    int64_t txid, int64_t now, int own_tx, struct tally_tx *out)
{
	struct db_ledger_result r;
	int		 rc;

	rc = db_ledger_refund_call(db, who->account_id,
	    who->account_id == 0 ? who->user_id : NULL, txid, now, own_tx, &r);
	if (rc == TALLY_OK) {
		*out = r.tx;
		rc = after_credit(db, r.account_id, now, own_tx);
	}
	return rc == TALLY_E_DUPLICATE ? TALLY_E_CONFLICT : rc;
}

int
op_credits_init(struct db *db, const struct core_config *cfg,
    const char *user_id, const char *email, int64_t now, int own_tx,
    struct tally_account *a, int *granted)
{
	int	 rc;

	rc = db_account_init_call(db, user_id, email, cfg->signup_credits,
	    now, own_tx, a, granted);
	/*
	 * A wallet made by this call has no subscription to reactivate: the
	 * hot path (a new user's grant) stays one trip.  The grant of an
	 * account that existed before is a top-up like any other.
	 */
	if (rc == TALLY_OK && *granted && a->created_at != now)
		rc = after_credit(db, a->id, now, own_tx);
	return rc;
}

/* user_id's account, or a zeroed one (TALLY_OK) when there is none yet. */
static int
account_or_none(struct db *db, const char *user_id, struct tally_account *a)
{
	int	 rc;

	rc = db_account_get(db, user_id, a);
	if (rc != TALLY_OK)
		memset(a, 0, sizeof(*a));
	return rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
op_account_id(struct db *db, const char *user_id, int64_t *id)
{
	struct tally_account a;
	int		 rc;

	rc = account_or_none(db, user_id, &a);
	*id = a.id;
	return rc;
}

int
op_account_balance(struct db *db, const char *user_id, int64_t *balance)
{
	struct tally_account a;
	int		 rc;

	/* No account yet: nothing to spend. */
	rc = account_or_none(db, user_id, &a);
	*balance = a.balance;
	return rc;
}

int
op_ledger_list(struct db *db, int64_t account_id, int64_t before,
    size_t max, struct tally_tx *txs, size_t *n)
{
	return db_ledger_list(db, account_id, before, max, txs, n);
}

int
op_usage_stats(struct db *db, int64_t account_id, int64_t from, int64_t to,
    int by_operation, struct tally_usage_row *rows, size_t max, size_t *n)
{
	return db_usage_stats(db, account_id, from, to, by_operation, rows,
	    max, n);
}

int
op_credits_adjust_tx(struct db *db, const struct tally_account *a,
    int64_t amount, const char *reason, const char *actor, int64_t now,
    struct tally_tx *out)
{
	json_t	*d;
	char	*details;
	int	 rc;

	if (amount == 0)
		return TALLY_E_INVALID;
	rc = db_ledger_apply(db, a->id, TX_ADJUSTMENT, amount, "adjustment",
	    reason, NULL, now, out);
	if (rc != TALLY_OK)
		return rc;
	d = json_pack("{s:I,s:s,s:I,s:I}", "amount", (json_int_t)amount,
	    "reason", reason, "transaction_id", (json_int_t)out->id,
	    "balance_after", (json_int_t)out->balance_after);
	details = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	if (details == NULL)
		return TALLY_E_NOMEM;
	rc = db_audit_insert(db, actor, "credits.adjust", a->user_id, details,
	    now);
	free(details);
	/* A positive adjustment is a top-up. */
	if (rc == TALLY_OK && amount > 0)
		rc = op_sub_topup_tx(db, a->id, now, NULL);
	return rc;
}
