/* Gift operations over db/db_gift.c and the wallet. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/gift.h"
#include "core/ops/event.h"
#include "core/ops/gift.h"
#include "core/ops/mail.h"
#include "core/ops/subscription.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_gift.h"
#include "db/db_wallet.h"

#define CODE_TRIES	4

/* Email the target of a personalized gift its code. */
static int
notify_target(struct db *db, const struct core_config *cfg,
    const struct tally_account *creator, const struct db_gift *g,
    int64_t now)
{
	struct tally_account to;
	json_t		*params;
	char		 key[64], shown[CORE_GIFT_SHOWN];
	int		 rc, queued;

	memset(&to, 0, sizeof(to));
	snprintf(to.email, sizeof(to.email), "%s", g->target_email);
	/* The creator probably writes in the recipient's language. */
	snprintf(to.locale, sizeof(to.locale), "%s", creator->locale);
	core_gift_code_format(g->code, shown);
	params = json_pack("{s:s,s:I,s:s}", "code", shown, "credits",
	    (json_int_t)g->credits, "message", g->has_message ? g->message :
	    "");
	if (params == NULL)
		return TALLY_E_NOMEM;
	snprintf(key, sizeof(key), "gift:%lld:notify", (long long)g->id);
	rc = op_mail_enqueue_tx(db, cfg, &to, "gift", key, params, now,
	    &queued);
	json_decref(params);
	return rc;
}

int
op_gift_create_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *creator, int64_t credits, const char *type,
    const char *target, const char *message, int64_t now, struct db_gift *g)
{
	struct tally_tx	 tx;
	char		 key[64], desc[64];
	int64_t		 balance;
	int		 rc = TALLY_E_INTERNAL, i;

	/*
	 * The account row first: the gift's foreign key takes a shared lock
	 * on it, and concurrent gifts of one user that each hold that lock
	 * while asking for the ledger's exclusive one deadlock in turn.
	 */
	if ((rc = db_account_lock(db, creator->id, &balance)) != TALLY_OK)
		return rc;
	if (balance < credits)
		return TALLY_E_INSUFFICIENT;
	memset(g, 0, sizeof(*g));
	g->creator_account_id = creator->id;
	g->credits = credits;
	snprintf(g->type, sizeof(g->type), "%s", type);
	if (target != NULL) {
		g->has_target = 1;
		snprintf(g->target_email, sizeof(g->target_email), "%s",
		    target);
	}
	if (message != NULL) {
		g->has_message = 1;
		snprintf(g->message, sizeof(g->message), "%s", message);
	}
	/* 89 random bits make a collision absurd, but the unique key
	 * decides, never luck. */
	for (i = 0; i < CODE_TRIES; i++) {
		if ((rc = core_gift_code_new(g->code)) != TALLY_OK)
			return rc;
		if ((rc = db_gift_insert(db, g, now)) != TALLY_E_DUPLICATE)
			break;
	}
	if (rc != TALLY_OK)
		return rc;
	snprintf(key, sizeof(key), "gift:%lld:sent", (long long)g->id);
	snprintf(desc, sizeof(desc), "Gift #%lld", (long long)g->id);
	if ((rc = db_ledger_apply(db, creator->id, TX_GIFT_SENT, -credits,
	    "gift", desc, key, now, &tx)) != TALLY_OK)
		return rc;
	if (g->has_target)
		return notify_target(db, cfg, creator, g, now);
	return TALLY_OK;
}

/* Credit g to the account and mark it redeemed. */
static int
credit_gift(struct db *db, const struct tally_account *a, struct db_gift *g,
    int64_t now, struct tally_tx *tx)
{
	char	 key[64], desc[64];
	int	 rc;

	snprintf(key, sizeof(key), "gift:%lld:received", (long long)g->id);
	snprintf(desc, sizeof(desc), "Gift #%lld", (long long)g->id);
	rc = db_ledger_apply(db, a->id, TX_GIFT_RECEIVED, g->credits, "gift",
	    desc, key, now, tx);
	if (rc == TALLY_E_DUPLICATE)
		return TALLY_E_CONFLICT;
	if (rc != TALLY_OK)
		return rc;
	if ((rc = db_gift_set_status(db, g->id, "redeemed", a->id, now)) !=
	    TALLY_OK)
		return rc;
	snprintf(g->status, sizeof(g->status), "redeemed");
	g->redeemed_by = a->id;
	g->redeemed_at = now;
	if ((rc = op_event_tx(db, CORE_EV_GIFT_REDEEMED, g->id, now)) !=
	    TALLY_OK)
		return rc;
	/* A top-up: paused subscriptions may start again. */
	return op_sub_topup_tx(db, a->id, now, NULL);
}

int
op_gift_redeem_tx(struct db *db, const struct tally_account *a,
    const char *code, int64_t now, struct db_gift *g, struct tally_tx *tx)
{
	char	 mine[400];
	int	 rc;

	/* The row lock makes concurrent redeemers queue: one wins, the
	 * others then see it redeemed. */
	if ((rc = db_gift_get_by_code(db, code, 1, g)) != TALLY_OK)
		return rc;
	if (strcmp(g->status, "active") != 0)
		return TALLY_E_CONFLICT;
	if (strcmp(g->type, "personalized") == 0) {
		if (a->email[0] == '\0' || core_email_normalize(a->email, mine,
		    sizeof(mine)) != TALLY_OK ||
		    strcmp(mine, g->target_email) != 0)
			return TALLY_E_FORBIDDEN;
	} else if (g->creator_account_id == a->id)
		return TALLY_E_CONFLICT;
	return credit_gift(db, a, g, now, tx);
}

int
op_gift_cancel_tx(struct db *db, const struct tally_account *creator,
    int64_t id, int64_t now, struct db_gift *g)
{
	struct tally_tx	 tx;
	char		 key[64], desc[64];
	int		 rc;

	if ((rc = db_gift_lock_by_id(db, id, g)) != TALLY_OK)
		return rc;
	/* Another user's gift does not exist, as far as they can tell. */
	if (g->creator_account_id != creator->id)
		return TALLY_E_NOTFOUND;
	if (strcmp(g->status, "active") != 0)
		return TALLY_E_CONFLICT;
	snprintf(key, sizeof(key), "gift:%lld:refund", (long long)g->id);
	snprintf(desc, sizeof(desc), "Gift #%lld canceled", (long long)g->id);
	rc = db_ledger_apply(db, creator->id, TX_GIFT_REFUND, g->credits,
	    "gift", desc, key, now, &tx);
	if (rc == TALLY_E_DUPLICATE)
		return TALLY_E_CONFLICT;
	if (rc != TALLY_OK)
		return rc;
	if ((rc = db_gift_set_status(db, g->id, "canceled", 0, now)) !=
	    TALLY_OK)
		return rc;
	snprintf(g->status, sizeof(g->status), "canceled");
	/* The credits back to the creator are a top-up too. */
	return op_sub_topup_tx(db, creator->id, now, NULL);
}

int
op_gift_redeem_pending_tx(struct db *db, const struct tally_account *a,
    const char *email, int64_t now, size_t max, struct db_gift *gs,
    size_t *n, int64_t *balance)
{
	struct tally_tx	 tx;
	size_t		 i;
	int		 rc;

	if ((rc = db_account_lock(db, a->id, balance)) != TALLY_OK)
		return rc;
	if ((rc = db_gift_lock_pending_for(db, email, max, gs, n)) != TALLY_OK)
		return rc;
	for (i = 0; i < *n; i++) {
		if ((rc = credit_gift(db, a, &gs[i], now, &tx)) != TALLY_OK)
			return rc;
		*balance = tx.balance_after;
	}
	return TALLY_OK;
}

struct attempt {
	int64_t	 account_id, now, id, retry_after;
};

static int
attempt_tx(struct db *db, void *arg)
{
	struct attempt	*a = arg;
	int64_t		 balance, count, oldest;
	int		 rc;

	if ((rc = db_account_lock(db, a->account_id, &balance)) != TALLY_OK)
		return rc;
	if ((rc = db_gift_failures(db, a->account_id,
	    a->now - GIFT_FAIL_WINDOW, &count, &oldest)) != TALLY_OK)
		return rc;
	if (count >= GIFT_FAIL_MAX) {
		a->retry_after = oldest + GIFT_FAIL_WINDOW - a->now;
		if (a->retry_after < 1)
			a->retry_after = 1;
		return TALLY_E_RATELIMIT;
	}
	return db_gift_failure_add(db, a->account_id, a->now, &a->id);
}

int
op_gift_attempt_begin(struct db *db, int64_t account_id, int64_t now,
    int64_t *attempt, int64_t *retry_after)
{
	struct attempt	 a = { account_id, now, 0, 0 };
	int		 rc;

	rc = db_tx(db, attempt_tx, &a);
	*attempt = a.id;
	*retry_after = a.retry_after;
	return rc;
}

int
op_gift_attempt_ok(struct db *db, int64_t attempt)
{
	return db_gift_failure_delete(db, attempt);
}

int
op_gift_by_code(struct db *db, const char *code, struct db_gift *g)
{
	return db_gift_get_by_code(db, code, 0, g);
}

int
op_gift_list(struct db *db, int64_t account_id, int received, size_t max,
    struct db_gift *gs, size_t *n)
{
	if (received)
		return db_gift_list_received(db, account_id, max, gs, n);
	return db_gift_list_created(db, account_id, max, gs, n);
}
