/* Subscription operations over db/db_sub.c and the wallet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/ops/log.h"
#include "core/money.h"
#include "core/ops/mail.h"
#include "core/ops/subscription.h"
#include "core/result.h"
#include "core/subscription.h"
#include "core/timeutil.h"
#include "db/db.h"
#include "db/db_wallet.h"

#define CHARGE_BATCH	200

int
op_sub_get(struct db *db, int64_t account_id, const char *product,
    struct db_sub *s)
{
	return db_sub_get(db, account_id, product, 0, s);
}

int
op_sub_list(struct db *db, int64_t account_id, size_t max,
    struct db_sub *subs, size_t *n)
{
	return db_sub_list(db, account_id, max, subs, n);
}

int
op_sub_get_by_user(struct db *db, const char *user_id, const char *product,
    struct db_sub *s)
{
	return db_sub_get_by_user(db, user_id, product, s);
}

int
op_sub_status(const struct db_sub *s)
{
	int	 st;

	if (s == NULL || s->id == 0)
		return SUB_NONE;
	st = core_sub_status_parse(s->status);
	return st < 0 ? SUB_NONE : st;
}

static void
set_status(struct db_sub *s, int status)
{
	snprintf(s->status, sizeof(s->status), "%s",
	    core_sub_status_name(status));
}

/* Debit the interval that starts at s->period_start; the effect key
 * (subscription, run, period start) makes a second charge of the same
 * period impossible. */
static int
charge_period(struct db *db, const struct core_product *p,
    const struct db_sub *s, int iv, int64_t now)
{
	struct tally_tx	 tx;
	char		 key[96], desc[200], from[32], to[32];
	int		 rc;

	snprintf(key, sizeof(key), "sub:%lld:%lld:%lld", (long long)s->id,
	    (long long)s->run_no, (long long)s->period_start);
	core_time_format_iso(s->period_start, from, sizeof(from));
	core_time_format_iso(s->period_end, to, sizeof(to));
	snprintf(desc, sizeof(desc), "%s, %s, %.10s to %.10s", p->name,
	    core_interval_name(iv), from, to);
	rc = db_ledger_apply(db, s->account_id, TX_SUBSCRIPTION,
	    -p->price[iv], p->id, desc, key, now, &tx);
	/* Charged already (a re-run after a crash): the period is paid. */
	return rc == TALLY_E_DUPLICATE ? TALLY_OK : rc;
}

/* A fresh run: anchor now, first period charged. */
static int
start_run(struct db *db, const struct core_product *p, struct db_sub *s,
    int iv, int64_t now)
{
	int	 rc;

	s->anchor_at = now;
	s->end_months = core_interval_months(iv);
	if ((rc = core_period_bounds(now, 0, iv, &s->period_start,
	    &s->period_end)) != TALLY_OK)
		return rc;
	snprintf(s->interval, sizeof(s->interval), "%s",
	    core_interval_name(iv));
	set_status(s, SUB_ACTIVE);
	s->next_charge_at = s->period_end;
	s->cancel_at_period_end = 0;
	s->paused_at = 0;
	s->run_no++;
	if (s->id == 0 && (rc = db_sub_insert(db, s, now)) != TALLY_OK)
		return rc;
	if ((rc = charge_period(db, p, s, iv, now)) != TALLY_OK)
		return rc;
	return db_sub_update(db, s, now);
}

int
op_sub_activate_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, const struct core_product *p, int iv,
    int64_t now, struct db_sub *s)
{
	int64_t	 balance;
	int	 rc, act;

	(void)cfg;
	/* The account row lock serialises a user's concurrent activations:
	 * the second finds the subscription the first created. */
	if ((rc = db_account_lock(db, a->id, &balance)) != TALLY_OK)
		return rc;
	rc = db_sub_get(db, a->id, p->id, 1, s);
	if (rc == TALLY_E_NOTFOUND) {
		memset(s, 0, sizeof(*s));
		s->account_id = a->id;
		snprintf(s->product, sizeof(s->product), "%s", p->id);
	} else if (rc != TALLY_OK)
		return rc;
	act = core_sub_on_activate(op_sub_status(s),
	    (int)s->cancel_at_period_end, now < s->period_end);
	switch (act) {
	case SUBACT_START:
		return start_run(db, p, s, iv, now);
	case SUBACT_UNCANCEL:
	case SUBACT_KEEP:
		/* Asking for another interval while active changes it from
		 * the next charge, as change-interval does. */
		snprintf(s->interval, sizeof(s->interval), "%s",
		    core_interval_name(iv));
		s->cancel_at_period_end = 0;
		s->next_charge_at = s->period_end;
		return db_sub_update(db, s, now);
	default:
		return TALLY_E_CONFLICT;
	}
}

int
op_sub_deactivate_tx(struct db *db, const struct tally_account *a,
    const struct core_product *p, int64_t now, struct db_sub *s)
{
	int	 rc;

	if ((rc = db_sub_get(db, a->id, p->id, 1, s)) != TALLY_OK)
		return rc;
	switch (core_sub_on_deactivate(op_sub_status(s),
	    (int)s->cancel_at_period_end)) {
	case SUBACT_CANCEL_AT_END:
		/* Still due at period end, where the job ends it. */
		s->cancel_at_period_end = 1;
		return db_sub_update(db, s, now);
	case SUBACT_CANCEL_NOW:
		set_status(s, SUB_CANCELED);
		s->next_charge_at = 0;
		return db_sub_update(db, s, now);
	case SUBACT_KEEP:
		return TALLY_OK;
	default:
		return TALLY_E_NOTFOUND;
	}
}

int
op_sub_change_interval_tx(struct db *db, const struct tally_account *a,
    const struct core_product *p, int iv, int64_t now, struct db_sub *s)
{
	int	 rc;

	if ((rc = db_sub_get(db, a->id, p->id, 1, s)) != TALLY_OK)
		return rc;
	switch (core_sub_on_change_interval(op_sub_status(s))) {
	case SUBACT_SET_INTERVAL:
		snprintf(s->interval, sizeof(s->interval), "%s",
		    core_interval_name(iv));
		return db_sub_update(db, s, now);
	case SUBACT_NOTFOUND:
		return TALLY_E_NOTFOUND;
	default:
		return TALLY_E_CONFLICT;
	}
}

/* Pause s and queue its notice, once per period. */
static int
pause_sub(struct db *db, const struct core_config *cfg,
    const struct core_product *p, struct db_sub *s, int iv, int64_t balance,
    int64_t now)
{
	struct tally_account a;
	json_t		*params;
	char		 key[96], end[32];
	int		 rc, queued;

	set_status(s, SUB_PAUSED);
	s->paused_at = now;
	s->next_charge_at = 0;
	if ((rc = db_sub_update(db, s, now)) != TALLY_OK)
		return rc;
	if ((rc = db_account_get_by_id(db, s->account_id, &a)) != TALLY_OK)
		return rc;
	core_time_format_iso(s->period_end, end, sizeof(end));
	end[10] = '\0';	/* the date is what a reader needs */
	params = json_pack("{s:s,s:I,s:I,s:s,s:s}", "product",
	    p != NULL ? p->name : s->product, "amount",
	    (json_int_t)(p != NULL && iv >= 0 ? p->price[iv] : 0), "balance",
	    (json_int_t)balance, "interval", s->interval, "period_end", end);
	if (params == NULL)
		return TALLY_E_NOMEM;
	snprintf(key, sizeof(key), "paused:sub:%lld:%lld", (long long)s->id,
	    (long long)s->period_end);
	rc = op_mail_enqueue_tx(db, cfg, &a, "paused", key, params, now,
	    &queued);
	json_decref(params);
	return rc;
}

/* One due subscription, inside the batch's transaction. */
static int
charge_one(struct db *db, const struct core_config *cfg, struct db_sub *s,
    int64_t now, struct op_charge_counts *c)
{
	const struct core_product *p = core_config_product(cfg, s->product);
	int64_t		 balance;
	int		 iv = core_interval_parse(s->interval), rc;

	if ((rc = db_account_lock(db, s->account_id, &balance)) != TALLY_OK)
		return rc;
	if (p == NULL || p->billing != CORE_BILLING_CREDITS || iv < 0 ||
	    p->price[iv] <= 0) {
		/* Gone from the catalog: never charge a price we do not
		 * know; pause so that the row stops being due. */
		core_log("error", "sub.unknown_price", json_pack("{s:I,s:s,s:s}",
		    "subscription_id", (json_int_t)s->id, "product", s->product,
		    "interval", s->interval));
		c->errors++;
		return pause_sub(db, cfg, p, s, -1, balance, now);
	}
	switch (core_sub_on_due((int)s->cancel_at_period_end, balance,
	    p->price[iv])) {
	case SUBACT_END:
		set_status(s, SUB_CANCELED);
		s->next_charge_at = 0;
		c->ended++;
		return db_sub_update(db, s, now);
	case SUBACT_PAUSE:
		c->paused++;
		return pause_sub(db, cfg, p, s, iv, balance, now);
	default:
		break;
	}
	/* The next period starts where the last ended, computed from the
	 * anchor in the (possibly changed) interval's months. */
	s->period_start = s->period_end;
	s->end_months += core_interval_months(iv);
	if ((rc = core_time_add_months(s->anchor_at, s->end_months,
	    &s->period_end)) != TALLY_OK)
		return rc;
	s->next_charge_at = s->period_end;
	if ((rc = charge_period(db, p, s, iv, now)) != TALLY_OK)
		return rc;
	c->charged++;
	return db_sub_update(db, s, now);
}

struct batch {
	const struct core_config *cfg;
	int64_t		 now;
	size_t		 n;
	struct op_charge_counts c;	/* this batch's; added on commit */
	struct db_sub	 subs[CHARGE_BATCH];
};

static int
charge_batch(struct db *db, void *arg)
{
	struct batch	*b = arg;
	size_t		 i;
	int		 rc;

	memset(&b->c, 0, sizeof(b->c));
	if ((rc = db_sub_claim_due(db, b->now, CHARGE_BATCH, b->subs,
	    &b->n)) != TALLY_OK)
		return rc;
	for (i = 0; i < b->n; i++)
		if ((rc = charge_one(db, b->cfg, &b->subs[i], b->now,
		    &b->c)) != TALLY_OK)
			return rc;
	return TALLY_OK;
}

int
op_charge_recurring(struct db *db, const struct core_config *cfg,
    int64_t now, volatile int *stop, struct op_charge_counts *c)
{
	struct batch	*b;
	int		 rc = TALLY_OK;

	memset(c, 0, sizeof(*c));
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return TALLY_E_NOMEM;
	b->cfg = cfg;
	b->now = now;
	do {
		if ((rc = db_tx(db, charge_batch, b)) != TALLY_OK) {
			c->errors++;
			break;
		}
		c->charged += b->c.charged;
		c->paused += b->c.paused;
		c->ended += b->c.ended;
		c->errors += b->c.errors;
	} while (b->n == CHARGE_BATCH && (stop == NULL || !*stop));
	free(b);
	return rc;
}
