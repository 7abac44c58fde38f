/* Subscription operations over db/db_sub.c and the wallet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/event.h"
#include "core/idgen.h"
#include "core/ops/event.h"
#include "core/ops/log.h"
#include "core/money.h"
#include "core/ops/mail.h"
#include "core/ops/subscription.h"
#include "core/ops/wallet.h"
#include "core/result.h"
#include "core/subscription.h"
#include "core/timeutil.h"
#include "db/db.h"
#include "db/db_sub.h"
#include "db/db_wallet.h"

/*
 * Subscriptions claimed per transaction.  A batch holds its accounts'
 * row locks until it commits (tens of milliseconds at this size), and
 * costs a constant number of round trips whatever its size.
 */
#define CHARGE_BATCH	1000

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
op_sub_lock_tx(struct db *db, int64_t account_id, const char *product,
    struct db_sub *s)
{
	/* The account row lock serialises a user's concurrent activations:
	 * the second finds the subscription the first created. */
	return db_sub_lock_account(db, account_id, product, s);
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

/* The ledger description of the charge of s's current period. */
static void
charge_desc(const struct core_product *p, const struct db_sub *s, int iv,
    char *desc, size_t descsz)
{
	char	 from[32], to[32];

	core_time_format_iso(s->period_start, from, sizeof(from));
	core_time_format_iso(s->period_end, to, sizeof(to));
	snprintf(desc, descsz, "%s, %s, %.10s to %.10s", p->name,
	    core_interval_name(iv), from, to);
}

/* The ledger text of the charge of s's current period: the effect key
 * (subscription, run, period start; tally_sub_activate_write builds the
 * same in SQL) and the description. */
static void
charge_text(const struct core_product *p, const struct db_sub *s, int iv,
    char *key, size_t keysz, char *desc, size_t descsz)
{
	snprintf(key, keysz, "sub:%lld:%lld:%lld", (long long)s->id,
	    (long long)s->run_no, (long long)s->period_start);
	charge_desc(p, s, iv, desc, descsz);
}

/* Debit the interval that starts at s->period_start; the effect key
 * (subscription, run, period start) makes a second charge of the same
 * period impossible. */
static int
charge_period(struct db *db, const struct core_product *p,
    const struct db_sub *s, int iv, int64_t now)
{
	struct tally_tx	 tx;
	char		 key[96], desc[200];
	int		 rc;

	charge_text(p, s, iv, key, sizeof(key), desc, sizeof(desc));
	rc = db_ledger_apply(db, s->account_id, TX_SUBSCRIPTION,
	    -p->price[iv], p->id, desc, key, now, &tx);
	/* Charged already (a re-run after a crash): the period is paid. */
	return rc == TALLY_E_DUPLICATE ? TALLY_OK : rc;
}

/* s as a fresh run on interval iv: anchored now, its first period from
 * now, active, the next run number (the row is not written). */
static int
start_values(struct db_sub *s, int iv, int64_t now)
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
	return TALLY_OK;
}

/* s, active (or set to end), asked for again on interval iv: it keeps its
 * paid period, and another interval applies from the next charge, as
 * change-interval does. */
static void
keep_values(struct db_sub *s, int iv)
{
	snprintf(s->interval, sizeof(s->interval), "%s",
	    core_interval_name(iv));
	s->cancel_at_period_end = 0;
	s->next_charge_at = s->period_end;
}

/* A fresh run: anchor now, first period charged. */
static int
start_run(struct db *db, const struct core_product *p, struct db_sub *s,
    int iv, int64_t now)
{
	int	 rc;

	if ((rc = start_values(s, iv, now)) != TALLY_OK)
		return rc;
	/* The row takes its final values first; a refused charge rolls the
	 * whole transaction back with it. */
	rc = s->id == 0 ? db_sub_insert(db, s, now) : db_sub_update(db, s, now);
	if (rc != TALLY_OK ||
	    (rc = charge_period(db, p, s, iv, now)) != TALLY_OK)
		return rc;
	return op_event_tx(db, CORE_EV_SUB_ACTIVATED, s->id, now);
}

/*
 * Trip 2 of an activation: write s as decided (start: a new run whose
 * first period is charged) and end the transaction (own_tx).
 */
static int
activate_write(struct db *db, const struct core_product *p, struct db_sub *s,
    int iv, int start, int64_t now, int own_tx)
{
	struct db_sub_charge c;
	char		 desc[200], nonce[33];
	int		 rc;

	memset(&c, 0, sizeof(c));
	if (start) {
		/* The effect key is built by the routine, in charge_text's
		 * format, from the id a new row gets there. */
		charge_desc(p, s, iv, desc, sizeof(desc));
		c.price = p->price[iv];
		c.kind = TX_SUBSCRIPTION;
		c.description = desc;
		c.debit_hooks = db_ledger_hooks(db, -p->price[iv]);
		c.sub_hooks = core_event_hooks(db->cfg, CORE_EV_SUB_ACTIVATED);
		c.event_type = core_event_name(CORE_EV_SUB_ACTIVATED);
		if (c.sub_hooks != NULL) {
			if ((rc = core_random_hex(16, nonce)) != TALLY_OK)
				return rc;
			c.nonce = nonce;
		}
	}
	return db_sub_activate_write(db, s, &c, now, own_tx);
}

int
op_sub_activate_call(struct db *db, const struct op_wallet_who *who,
    const struct core_product *p, int iv, int64_t now, int own_tx,
    struct db_sub *s)
{
	struct tally_account a;
	int		 rc, act;

	/* Trip 1: the account and the subscription locked. */
	rc = db_sub_activate_lock(db, who->user_id, p->id, who->email,
	    who->locale, now, own_tx, s);
	if (rc == TALLY_E_NOTFOUND && who->create) {
		/*
		 * A first request: the account is made as the auth layer
		 * makes it (empty, committed by itself), then locked.  Rare,
		 * so the extra trips do not matter.
		 */
		if ((rc = op_account_ensure(db, who->user_id, who->email,
		    who->locale, now, &a)) != TALLY_OK)
			return rc;
		rc = db_sub_activate_lock(db, who->user_id, p->id, who->email,
		    who->locale, now, own_tx, s);
	}
	if (rc != TALLY_OK)
		return rc;
	/*
	 * The decision, in C, on the locked row; an error or a conflict
	 * returns with the transaction open, and db_call (own_tx) or db_tx
	 * rolls it back.
	 */
	act = core_sub_on_activate(op_sub_status(s),
	    (int)s->cancel_at_period_end, now < s->period_end);
	switch (act) {
	case SUBACT_START:
		/* Credits short: the routine refuses the charge and rolls
		 * the row back with it, in the same trip. */
		if ((rc = start_values(s, iv, now)) != TALLY_OK)
			return rc;
		return activate_write(db, p, s, iv, 1, now, own_tx);
	case SUBACT_UNCANCEL:
	case SUBACT_KEEP:
		keep_values(s, iv);
		return activate_write(db, p, s, iv, 0, now, own_tx);
	default:
		return TALLY_E_CONFLICT;
	}
}

int
op_sub_topup_tx(struct db *db, int64_t account_id, int64_t now,
    int *reactivated)
{
	const struct core_config *cfg = db->cfg;
	const struct core_product *p;
	struct db_sub	 s;
	int64_t		 ids[CORE_CATALOG_MAX], balance;
	size_t		 n, i;
	int		 rc, iv;

	if (reactivated != NULL)
		*reactivated = 0;
	if (cfg == NULL || !cfg->reactivate_on_topup)
		return TALLY_OK;
	if ((rc = db_sub_paused_ids(db, account_id, CORE_CATALOG_MAX, ids,
	    &n)) != TALLY_OK || n == 0)
		return rc;
	/* The balance under the account's row lock (the top-up's own). */
	if ((rc = db_account_lock(db, account_id, &balance)) != TALLY_OK)
		return rc;
	for (i = 0; i < n; i++) {
		/* Locked and read again: only a subscription still paused is
		 * reactivated, so a second top-up finds it active. */
		if ((rc = db_sub_lock_id(db, ids[i], &s)) != TALLY_OK)
			return rc;
		p = core_config_product(cfg, s.product);
		iv = core_interval_parse(s.interval);
		if (op_sub_status(&s) != SUB_PAUSED || p == NULL ||
		    p->billing != CORE_BILLING_CREDITS || iv < 0 ||
		    p->price[iv] <= 0 || balance < p->price[iv] ||
		    core_sub_on_activate(SUB_PAUSED,
		    (int)s.cancel_at_period_end, now < s.period_end) !=
		    SUBACT_START)
			continue;
		if ((rc = start_run(db, p, &s, iv, now)) != TALLY_OK)
			return rc;
		balance -= p->price[iv];
		if (reactivated != NULL)
			(*reactivated)++;
		core_log("info", "sub.reactivated_on_topup", json_pack(
		    "{s:I,s:s,s:I}", "subscription_id", (json_int_t)s.id,
		    "product", s.product, "charged",
		    (json_int_t)p->price[iv]));
	}
	return TALLY_OK;
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
		if ((rc = db_sub_update(db, s, now)) != TALLY_OK)
			return rc;
		return op_event_tx(db, CORE_EV_SUB_CANCELED, s->id, now);
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
	if ((rc = db_sub_update(db, s, now)) != TALLY_OK ||
	    (rc = op_event_tx(db, CORE_EV_SUB_PAUSED, s->id, now)) != TALLY_OK)
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
	/* With billing.reactivate_on_topup the notice says a top-up is all
	 * it takes (not for a price we do not know: that one stays). */
	rc = op_mail_enqueue_tx(db, cfg, &a, cfg->reactivate_on_topup &&
	    p != NULL && iv >= 0 ? "paused_auto" : "paused", key, params, now,
	    &queued);
	json_decref(params);
	return rc;
}

/* Move s to its next period: it starts where the last ended, and ends
 * computed from the anchor in the (possibly changed) interval's months. */
static int
next_period(struct db_sub *s, int iv)
{
	int64_t	 start, end;
	int	 rc;

	/* The one calendar function: the period end_months after the
	 * anchor, one interval long. */
	if ((rc = core_period_bounds(s->anchor_at, s->end_months, iv, &start,
	    &end)) != TALLY_OK)
		return rc;
	s->period_start = s->period_end;
	s->period_end = end;
	s->end_months += core_interval_months(iv);
	s->next_charge_at = s->period_end;
	return TALLY_OK;
}

/*
 * What a due subscription needs that is not a plain renewal, with the
 * account locked and its balance known: pause (unknown price or credits
 * short) or end.  *renew is set when it is a renewal instead, with *pp,
 * *ivp the product and interval to charge.
 */
static int
due_other(struct db *db, const struct core_config *cfg, struct db_sub *s,
    int64_t balance, int64_t now, struct op_charge_counts *c,
    const struct core_product **pp, int *ivp, int *renew)
{
	const struct core_product *p = core_config_product(cfg, s->product);
	int		 iv = core_interval_parse(s->interval), rc;

	*renew = 0;
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
		if ((rc = db_sub_update(db, s, now)) != TALLY_OK)
			return rc;
		return op_event_tx(db, CORE_EV_SUB_CANCELED, s->id, now);
	case SUBACT_PAUSE:
		c->paused++;
		return pause_sub(db, cfg, p, s, iv, balance, now);
	default:
		*pp = p;
		*ivp = iv;
		*renew = 1;
		return TALLY_OK;
	}
}

/* One due subscription, row by row (four round trips): the path for a
 * batch in which some period had been charged already. */
static int
charge_one(struct db *db, const struct core_config *cfg, struct db_sub *s,
    int64_t now, struct op_charge_counts *c)
{
	const struct core_product *p = NULL;
	int64_t		 balance;
	int		 iv = -1, rc, renew;

	if ((rc = db_account_lock(db, s->account_id, &balance)) != TALLY_OK)
		return rc;
	if ((rc = due_other(db, cfg, s, balance, now, c, &p, &iv,
	    &renew)) != TALLY_OK || !renew)
		return rc;
	if ((rc = next_period(s, iv)) != TALLY_OK)
		return rc;
	if ((rc = charge_period(db, p, s, iv, now)) != TALLY_OK)
		return rc;
	c->charged++;
	if ((rc = db_sub_update(db, s, now)) != TALLY_OK)
		return rc;
	return op_event_tx(db, CORE_EV_SUB_RENEWED, s->id, now);
}

/* An account of the batch: its locked balance, then the balance after
 * the batch's renewals so far, and their sum. */
struct batch_acct {
	int64_t		 id;
	int64_t		 balance;
	int64_t		 delta;
};

struct batch {
	const struct core_config *cfg;
	int64_t		 now;
	int		 per_row;	/* this batch row by row */
	size_t		 n, nacct;
	struct op_charge_counts c;	/* this batch's; added on commit */
	struct db_sub	 subs[CHARGE_BATCH];
	struct batch_acct accts[CHARGE_BATCH];
	int64_t		 ids[CHARGE_BATCH], balances[CHARGE_BATCH];
	int64_t		 renewed[CHARGE_BATCH];	/* subscription ids */
};

static int
acct_cmp(const void *a, const void *b)
{
	const struct batch_acct *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static struct batch_acct *
acct_find(struct batch *b, int64_t id)
{
	struct batch_acct key = { .id = id };

	return bsearch(&key, b->accts, b->nacct, sizeof(b->accts[0]),
	    acct_cmp);
}

/* Lock the batch's accounts in one statement, in id order; fills
 * b->accts (sorted by id, each once) with their balances. */
static int
lock_accounts(struct db *db, struct batch *b)
{
	struct batch_acct *a;
	json_t		*ids;
	char		*text = NULL;
	size_t		 i, n;
	int		 rc = TALLY_E_NOMEM;

	for (i = 0; i < b->n; i++)
		b->accts[i] = (struct batch_acct){ .id = b->subs[i].account_id };
	qsort(b->accts, b->n, sizeof(b->accts[0]), acct_cmp);
	for (i = 0, b->nacct = 0; i < b->n; i++)
		if (b->nacct == 0 || b->accts[b->nacct - 1].id != b->accts[i].id)
			b->accts[b->nacct++] = b->accts[i];
	if ((ids = json_array()) == NULL)
		return TALLY_E_NOMEM;
	for (i = 0; i < b->nacct; i++)
		if (json_array_append_new(ids, json_integer(b->accts[i].id)))
			goto out;
	if ((text = json_dumps(ids, JSON_COMPACT)) == NULL)
		goto out;
	if ((rc = db_sub_lock_accounts(db, text, CHARGE_BATCH, b->ids,
	    b->balances, &n)) != TALLY_OK)
		goto out;
	rc = n == b->nacct ? TALLY_OK : TALLY_E_INTERNAL;
	for (i = 0; i < n && rc == TALLY_OK; i++) {
		if ((a = acct_find(b, b->ids[i])) == NULL)
			rc = TALLY_E_INTERNAL;
		else
			a->balance = b->balances[i];
	}
out:
	free(text);
	json_decref(ids);
	return rc;
}

/* Add the renewal of s (moved to its new period already) to charges. */
static int
add_charge(json_t *charges, const struct core_product *p,
    const struct db_sub *s, int iv, int64_t balance_after)
{
	char	 key[96], desc[200];

	charge_text(p, s, iv, key, sizeof(key), desc, sizeof(desc));
	return json_array_append_new(charges, json_pack(
	    "{s:I,s:I,s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:I}",
	    "account", (json_int_t)s->account_id,
	    "amount", (json_int_t)-p->price[iv],
	    "balance_after", (json_int_t)balance_after,
	    "operation", p->id, "description", desc, "effect_key", key,
	    "sub", (json_int_t)s->id, "end_months", (json_int_t)s->end_months,
	    "start", (json_int_t)s->period_start,
	    "end", (json_int_t)s->period_end)) == 0 ? TALLY_OK :
	    TALLY_E_NOMEM;
}

/*
 * The events of a batch's renewals, set-based like its writes: one
 * statement per event type that some endpoint wants (credits.debited
 * for the ledger rows, found by their effect keys; subscription.renewed),
 * none when no endpoint wants either.
 */
static int
bulk_events(struct db *db, struct batch *b, json_t *charges, size_t n)
{
	json_t	*keys;
	char	*text;
	size_t	 i;
	int	 rc;

	if (op_event_wanted(db, CORE_EV_CREDITS_DEBITED)) {
		if ((keys = json_array()) == NULL)
			return TALLY_E_NOMEM;
		for (i = 0; i < n; i++)
			json_array_append(keys, json_object_get(
			    json_array_get(charges, i), "effect_key"));
		text = json_dumps(keys, JSON_COMPACT);
		json_decref(keys);
		if (text == NULL)
			return TALLY_E_NOMEM;
		rc = op_event_ledger_keys_tx(db, CORE_EV_CREDITS_DEBITED, text,
		    b->now);
		free(text);
		if (rc != TALLY_OK)
			return rc;
	}
	if (!op_event_wanted(db, CORE_EV_SUB_RENEWED))
		return TALLY_OK;
	for (i = 0; i < n; i++)
		b->renewed[i] = (int64_t)json_integer_value(json_object_get(
		    json_array_get(charges, i), "sub"));
	return op_event_many_tx(db, CORE_EV_SUB_RENEWED, b->renewed, n,
	    b->now);
}

/*
 * The batch's renewals in a constant number of round trips: lock every
 * account of the batch at once, decide each subscription in order in C
 * (an account's balance goes down with each of its renewals), then write
 * all ledger rows, balances and periods with three set-based statements.
 * Pauses and ends (few) go row by row in the same transaction.
 * TALLY_E_DUPLICATE when some period was charged already: the caller
 * rolls back and takes the batch row by row.
 */
static int
charge_bulk(struct db *db, struct batch *b)
{
	const struct core_product *p;
	struct batch_acct *a;
	struct db_sub	*s;
	json_t		*charges, *bals = NULL;
	char		*ctext = NULL, *btext = NULL;
	size_t		 i, ncharges, naccts = 0;
	int		 iv, rc, renew;

	if ((rc = lock_accounts(db, b)) != TALLY_OK)
		return rc;
	if ((charges = json_array()) == NULL)
		return TALLY_E_NOMEM;
	for (i = 0; i < b->n; i++) {
		s = &b->subs[i];
		if ((a = acct_find(b, s->account_id)) == NULL) {
			rc = TALLY_E_INTERNAL;
			goto out;
		}
		if ((rc = due_other(db, b->cfg, s, a->balance, b->now, &b->c,
		    &p, &iv, &renew)) != TALLY_OK)
			goto out;
		if (!renew)
			continue;
		if ((rc = next_period(s, iv)) != TALLY_OK)
			goto out;
		/* core_sub_on_due renews only when the balance covers the
		 * price, so neither can go below zero. */
		a->balance -= p->price[iv];
		a->delta -= p->price[iv];
		if ((rc = add_charge(charges, p, s, iv, a->balance)) !=
		    TALLY_OK)
			goto out;
	}
	if ((ncharges = json_array_size(charges)) == 0)
		goto out;
	rc = TALLY_E_NOMEM;
	if ((bals = json_array()) == NULL)
		goto out;
	for (i = 0; i < b->nacct; i++) {
		a = &b->accts[i];
		if (a->delta == 0)
			continue;
		if (json_array_append_new(bals, json_pack("[I,I,I]",
		    (json_int_t)a->id, (json_int_t)a->delta,
		    (json_int_t)a->balance)))
			goto out;
		naccts++;
	}
	if ((ctext = json_dumps(charges, JSON_COMPACT)) == NULL ||
	    (btext = json_dumps(bals, JSON_COMPACT)) == NULL)
		goto out;
	if ((rc = db_sub_charge_apply(db, TX_SUBSCRIPTION, ctext, ncharges,
	    btext, naccts, b->now)) != TALLY_OK ||
	    (rc = bulk_events(db, b, charges, ncharges)) != TALLY_OK)
		goto out;
	b->c.charged += (int64_t)ncharges;
out:
	free(ctext);
	free(btext);
	json_decref(charges);
	json_decref(bals);
	return rc;
}

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
	if (b->n == 0)
		return TALLY_OK;
	if (!b->per_row)
		return charge_bulk(db, b);
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
	for (;;) {
		rc = db_tx(db, charge_batch, b);
		if (rc == TALLY_E_DUPLICATE && !b->per_row) {
			/*
			 * Some period of the batch was charged already (a
			 * row restored from a backup, say): the set-based
			 * writes were rolled back.  The next batch goes
			 * row by row, where a duplicate means "paid".
			 */
			core_log("warn", "sub.charge_batch_duplicate",
			    json_pack("{s:I}", "batch", (json_int_t)b->n));
			b->per_row = 1;
			continue;
		}
		if (rc != TALLY_OK) {
			c->errors++;
			break;
		}
		c->charged += b->c.charged;
		c->paused += b->c.paused;
		c->ended += b->c.ended;
		c->errors += b->c.errors;
		b->per_row = 0;
		if (b->n < CHARGE_BATCH || (stop != NULL && *stop))
			break;
	}
	free(b);
	return rc;
}
