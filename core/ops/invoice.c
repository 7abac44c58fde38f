/* The invoice engine over db/db_invoice.c, the wallet and the providers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/ops/log.h"
#include "core/money.h"
#include "core/ops/card.h"
#include "core/ops/invoice.h"
#include "core/ops/lightning.h"
#include "core/ops/mail.h"
#include "core/ops/subscription.h"
#include "core/plan.h"
#include "core/result.h"
#include "core/subscription.h"
#include "core/timeutil.h"
#include "db/db.h"
#include "db/db_invoice.h"
#include "db/db_misc.h"
#include "db/db_pay.h"
#include "db/db_sub.h"
#include "db/db_wallet.h"

#define ITEMS_MAX	500
#define BATCH		100
#define ACTIVITIES_MAX	2000
#define REASON_MAX	240

/*
 * Give inv the account's next gap-free number and insert it.  The number
 * is taken under the account's row lock, so a rolled-back invoice gives
 * its number back.
 */
static int
insert_numbered(struct db *db, struct db_invoice *inv, int64_t now)
{
	struct core_civil c;
	int64_t		 seq;
	int		 rc;

	if ((rc = db_invoice_next_seq(db, inv->account_id, &seq)) != TALLY_OK)
		return rc;
	core_civil_from_time(now, &c);
	snprintf(inv->number, sizeof(inv->number), "TLY-%04lld-%06lld",
	    (long long)c.year, (long long)seq);
	return db_invoice_insert(db, inv, seq, now);
}

int
op_invoice_create_tx(struct db *db, const struct core_config *cfg,
    int64_t account_id, const char *kind, const struct op_item *items,
    size_t n, int64_t period_start, int64_t period_end, int64_t expires_at,
    int64_t subscription_id, const char *cycle_key, int64_t now,
    struct db_invoice *inv)
{
	int64_t		 total = 0;
	size_t		 i;
	int		 rc;

	for (i = 0; i < n; i++)
		if ((rc = core_money_add(total, items[i].amount, &total)) !=
		    TALLY_OK)
			return rc;
	if (total <= 0)
		return TALLY_E_INVALID;
	memset(inv, 0, sizeof(*inv));
	inv->account_id = account_id;
	snprintf(inv->kind, sizeof(inv->kind), "%s", kind);
	snprintf(inv->currency, sizeof(inv->currency), "%s", cfg->currency);
	inv->total = total;
	inv->period_start = period_start;
	inv->period_end = period_end;
	inv->expires_at = expires_at;
	inv->subscription_id = subscription_id;
	if (cycle_key != NULL)
		snprintf(inv->cycle_key, sizeof(inv->cycle_key), "%s",
		    cycle_key);
	if ((rc = insert_numbered(db, inv, now)) != TALLY_OK)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = db_item_insert(db, account_id, inv->id,
		    items[i].description, items[i].amount, items[i].resource_id,
		    items[i].plan, NULL, now)) != TALLY_OK)
			return rc;
	return TALLY_OK;
}

int
op_invoice_claim_tx(struct db *db, const struct core_config *cfg,
    int64_t account_id, int64_t now, int *created, struct db_invoice *inv)
{
	int64_t		 sum, count, max_id;
	int		 rc;

	*created = 0;
	if ((rc = db_item_open(db, account_id, &sum, &count, &max_id)) !=
	    TALLY_OK)
		return rc;
	/* A net credit stays outstanding and reduces the next invoice. */
	if (count == 0 || sum <= 0)
		return TALLY_OK;
	memset(inv, 0, sizeof(*inv));
	inv->account_id = account_id;
	snprintf(inv->kind, sizeof(inv->kind), "usage");
	snprintf(inv->currency, sizeof(inv->currency), "%s", cfg->currency);
	inv->total = sum;
	if ((rc = insert_numbered(db, inv, now)) != TALLY_OK ||
	    (rc = db_item_claim(db, account_id, inv->id, max_id)) != TALLY_OK)
		return rc;
	*created = 1;
	return TALLY_OK;
}

int
op_invoice_get(struct db *db, int64_t account_id, int64_t id,
    struct db_invoice *inv)
{
	return db_invoice_get(db, account_id, id, inv);
}

int
op_invoice_list(struct db *db, int64_t account_id, size_t max,
    struct db_invoice *invs, size_t *n)
{
	return db_invoice_list(db, account_id, max, invs, n);
}

int
op_invoice_items(struct db *db, int64_t invoice_id, size_t max,
    struct db_item *items, size_t *n)
{
	return db_item_list(db, invoice_id, max, items, n);
}

/* The months an invoice's subscription interval spans. */
static int
sub_interval(const struct db_sub *s)
{
	int	 iv = core_interval_parse(s->interval);

	return iv < 0 ? CORE_INTERVAL_MONTHLY : iv;
}

/* What a paid invoice does to its subscription. */
static int
apply_to_subscription(struct db *db, const struct db_invoice *inv,
    int64_t now)
{
	struct db_sub	 s;
	int		 rc, iv;

	if (inv->subscription_id == 0)
		return TALLY_OK;
	if ((rc = db_sub_lock_id(db, inv->subscription_id, &s)) != TALLY_OK)
		return rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
	iv = sub_interval(&s);
	if (op_sub_status(&s) == SUB_PENDING) {
		/* The first invoice: the period starts when it is paid. */
		s.anchor_at = now;
		s.end_months = core_interval_months(iv);
		if ((rc = core_period_bounds(now, 0, iv, &s.period_start,
		    &s.period_end)) != TALLY_OK)
			return rc;
	} else if (inv->period_start == s.period_end &&
	    (op_sub_status(&s) == SUB_ACTIVE ||
	    op_sub_status(&s) == SUB_EXPIRED)) {
		/* A renewal extends from the old end, not from today. */
		s.period_start = s.period_end;
		s.end_months += core_interval_months(iv);
		if ((rc = core_time_add_months(s.anchor_at, s.end_months,
		    &s.period_end)) != TALLY_OK)
			return rc;
	} else {
		core_log("warn", "invoice.stale_payment", json_pack(
		    "{s:I,s:I}", "invoice_id", (json_int_t)inv->id,
		    "subscription_id", (json_int_t)s.id));
		return TALLY_OK;
	}
	snprintf(s.status, sizeof(s.status), "active");
	s.next_charge_at = 0;
	s.paused_at = 0;
	return db_sub_update(db, &s, now);
}

int
op_invoice_paid_tx(struct db *db, const struct core_config *cfg, int64_t id,
    int64_t amount, const char *currency, const char *via, int64_t now)
{
	struct db_invoice inv;
	int		 rc;

	(void)cfg;
	if ((rc = db_invoice_lock(db, id, &inv)) != TALLY_OK)
		return rc;
	if (strcmp(inv.status, "paid") == 0)
		return TALLY_OK;
	if (strcmp(inv.status, "void") == 0 || amount != inv.total ||
	    currency == NULL || strcasecmp(currency, inv.currency) != 0) {
		core_log("error", "invoice.payment_mismatch", json_pack(
		    "{s:I,s:s,s:I,s:I,s:s}", "invoice_id", (json_int_t)id,
		    "status", inv.status, "total", (json_int_t)inv.total,
		    "paid", (json_int_t)amount, "via", via));
		return TALLY_E_CONFLICT;
	}
	/* Paid after it expired (a late Lightning payment): paid is paid. */
	if ((rc = db_invoice_set_paid(db, id, via, now)) != TALLY_OK)
		return rc;
	inv.paid_at = now;
	return apply_to_subscription(db, &inv, now);
}

int
op_invoice_pay_credits_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, int64_t id, int64_t now,
    struct db_invoice *inv)
{
	struct tally_tx	 tx;
	char		 key[64], desc[96];
	int		 rc;

	if ((rc = db_invoice_lock(db, id, inv)) != TALLY_OK)
		return rc;
	if (inv->account_id != a->id)
		return TALLY_E_NOTFOUND;
	if (strcmp(inv->status, "pending") != 0)
		return TALLY_E_CONFLICT;
	snprintf(key, sizeof(key), "invoice:%lld", (long long)inv->id);
	snprintf(desc, sizeof(desc), "Invoice %s", inv->number);
	rc = db_ledger_apply(db, a->id, TX_INVOICE_PAYMENT, -inv->total,
	    "invoice", desc, key, now, &tx);
	if (rc == TALLY_E_DUPLICATE)
		return TALLY_E_CONFLICT;
	if (rc != TALLY_OK)
		return rc;
	if ((rc = op_invoice_paid_tx(db, cfg, inv->id, inv->total,
	    inv->currency, "credits", now)) != TALLY_OK)
		return rc;
	return db_invoice_lock(db, id, inv);
}

int
op_invoice_pay_lightning_tx(struct db *db, const struct core_config *cfg,
    int64_t id, int64_t now, struct db_invoice *inv, struct db_ln *ln,
    int *paid, char *err, size_t errsz)
{
	int	 rc;

	*paid = 0;
	if ((rc = db_invoice_lock(db, id, inv)) != TALLY_OK)
		return rc;
	if ((rc = op_ln_present_tx(db, cfg, "invoice", inv->id,
	    inv->account_id, inv->total, now, ln, paid, err, errsz)) !=
	    TALLY_OK)
		return rc;
	/* Settled just now: show the invoice as it is after that. */
	return *paid ? db_invoice_lock(db, id, inv) : TALLY_OK;
}

struct card_paid {
	const struct core_config *cfg;
	const struct db_invoice *inv;
	int64_t		 now;
};

static int
card_paid_tx(struct db *db, void *arg)
{
	struct card_paid *c = arg;

	return op_invoice_paid_tx(db, c->cfg, c->inv->id, c->inv->total,
	    c->inv->currency, "card", c->now);
}

int
op_invoice_pay_saved_card(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, struct db_invoice *inv, int64_t now,
    int *result, char *message, size_t msgsz)
{
	struct card_paid cp;
	char		 ref[96], pref[256];
	int		 rc;

	/* Each minute's click is its own attempt; retries within it are
	 * the same attempt to Stripe.  No transaction is held over the
	 * call to Stripe. */
	snprintf(ref, sizeof(ref), "tally-invoice-%lld-card-%lld",
	    (long long)inv->id, (long long)(now / 60));
	rc = op_card_charge_saved(db, cfg, a->id, inv->total, ref, now, result,
	    message, msgsz, pref, sizeof(pref));
	if (rc != TALLY_OK || *result != CARD_CHARGED)
		return rc;
	cp.cfg = cfg;
	cp.inv = inv;
	cp.now = now;
	if ((rc = db_tx(db, card_paid_tx, &cp)) != TALLY_OK)
		return rc;
	return db_invoice_get(db, a->id, inv->id, inv);
}

int
op_invoice_mark_paid_tx(struct db *db, const struct core_config *cfg,
    int64_t id, const char *actor, const char *reference, const char *note,
    int64_t now, struct db_invoice *inv)
{
	struct tally_account a;
	json_t	*d;
	char	*details, target[48];
	int	 rc;

	if ((rc = db_invoice_lock(db, id, inv)) != TALLY_OK)
		return rc;
	if (strcmp(inv->status, "pending") != 0)
		return TALLY_E_CONFLICT;
	if ((rc = op_invoice_paid_tx(db, cfg, id, inv->total, inv->currency,
	    "manual", now)) != TALLY_OK)
		return rc;
	if ((rc = db_account_get_by_id(db, inv->account_id, &a)) != TALLY_OK)
		return rc;
	/* Numbers are per account: the id and the user say which one. */
	d = json_pack("{s:I,s:s,s:s,s:I,s:s?,s:s?}", "invoice_id",
	    (json_int_t)inv->id, "number", inv->number, "user_id", a.user_id,
	    "total", (json_int_t)inv->total, "reference", reference, "note",
	    note);
	details = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	if (details == NULL)
		return TALLY_E_NOMEM;
	snprintf(target, sizeof(target), "invoice:%lld", (long long)inv->id);
	rc = db_audit_insert(db, actor, "invoice.mark_paid", target, details,
	    now);
	free(details);
	if (rc != TALLY_OK)
		return rc;
	return db_invoice_lock(db, id, inv);
}

/* Email the account that invoice inv is issued or due. */
static int
mail_invoice(struct db *db, const struct core_config *cfg,
    const struct db_invoice *inv, const char *template, const char *reason,
    int64_t now)
{
	struct tally_account a;
	json_t		*params;
	char		 key[96], amount[40], url[600], exp[32];
	int		 rc, queued;

	if ((rc = db_account_get_by_id(db, inv->account_id, &a)) != TALLY_OK)
		return rc;
	core_money_format(inv->total, inv->currency, amount, sizeof(amount));
	snprintf(url, sizeof(url), "%s/?invoice=%lld", cfg->http_public_url,
	    (long long)inv->id);
	if (inv->expires_at != 0) {
		core_time_format_iso(inv->expires_at, exp, sizeof(exp));
		exp[10] = ' ';
		exp[16] = '\0';
		snprintf(exp + 16, sizeof(exp) - 16, " UTC");
	} else
		snprintf(exp, sizeof(exp), "-");
	params = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "number", inv->number,
	    "amount", amount, "currency", inv->currency, "invoice_url", url,
	    "expires", exp, "reason", reason != NULL ? reason : "");
	if (params == NULL)
		return TALLY_E_NOMEM;
	snprintf(key, sizeof(key), "invoice:%lld:%s", (long long)inv->id,
	    template);
	rc = op_mail_enqueue_tx(db, cfg, &a, template, key, params, now,
	    &queued);
	json_decref(params);
	return rc;
}

/* The first or a renewal invoice of subscription s for [start, end). */
static int
sub_invoice(struct db *db, const struct core_config *cfg,
    const struct core_product *p, const struct db_sub *s, int iv,
    int64_t start, int64_t end, const char *cycle_key, int64_t now,
    struct db_invoice *inv)
{
	struct op_item	 item;
	char		 desc[256], from[32], to[32];

	core_time_format_iso(start, from, sizeof(from));
	core_time_format_iso(end, to, sizeof(to));
	snprintf(desc, sizeof(desc), "%s, %s, %.10s to %.10s", p->name,
	    core_interval_name(iv), from, to);
	memset(&item, 0, sizeof(item));
	item.description = desc;
	item.amount = p->price[iv];
	return op_invoice_create_tx(db, cfg, s->account_id, "subscription",
	    &item, 1, start, end, now + p->invoice_ttl_hours * 3600, s->id,
	    cycle_key, now, inv);
}

int
op_invoice_sub_activate_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, const struct core_product *p, int iv,
    int64_t now, struct db_sub *s, struct db_invoice *inv)
{
	struct db_invoice cur;
	char		 key[96];
	int64_t		 end, balance;
	int		 rc, st;

	memset(inv, 0, sizeof(*inv));
	if ((rc = db_account_lock(db, a->id, &balance)) != TALLY_OK)
		return rc;
	rc = db_sub_get(db, a->id, p->id, 1, s);
	if (rc == TALLY_E_NOTFOUND) {
		memset(s, 0, sizeof(*s));
		s->account_id = a->id;
		snprintf(s->product, sizeof(s->product), "%s", p->id);
	} else if (rc != TALLY_OK)
		return rc;
	st = op_sub_status(s);
	if (st == SUB_ACTIVE && (now < s->period_end ||
	    !s->cancel_at_period_end)) {
		snprintf(s->interval, sizeof(s->interval), "%s",
		    core_interval_name(iv));
		s->cancel_at_period_end = 0;
		return db_sub_update(db, s, now);
	}
	snprintf(s->interval, sizeof(s->interval), "%s",
	    core_interval_name(iv));
	if (st == SUB_PENDING && s->id != 0) {
		/* The first invoice again while it can still be paid. */
		snprintf(key, sizeof(key), "first:%lld:%lld", (long long)s->id,
		    (long long)s->run_no);
		if (db_invoice_by_cycle(db, key, &cur) == TALLY_OK &&
		    strcmp(cur.status, "pending") == 0 &&
		    cur.expires_at > now) {
			*inv = cur;
			return TALLY_OK;
		}
	}
	/* A new run waits for its first invoice to be paid. */
	snprintf(s->status, sizeof(s->status), "pending_activation");
	s->anchor_at = now;
	s->period_start = now;
	if ((rc = core_time_add_months(now, core_interval_months(iv), &end)) !=
	    TALLY_OK)
		return rc;
	s->period_end = end;
	s->next_charge_at = 0;
	s->cancel_at_period_end = 0;
	s->paused_at = 0;
	s->run_no++;
	if (s->id == 0 && (rc = db_sub_insert(db, s, now)) != TALLY_OK)
		return rc;
	snprintf(key, sizeof(key), "first:%lld:%lld", (long long)s->id,
	    (long long)s->run_no);
	if ((rc = sub_invoice(db, cfg, p, s, iv, now, end, key, now, inv)) !=
	    TALLY_OK)
		return rc;
	s->end_months = core_interval_months(iv);
	return db_sub_update(db, s, now);
}

int
op_invoice_reissue_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, int64_t id, int64_t now,
    struct db_invoice *inv)
{
	const struct core_product *p = NULL;
	struct db_invoice old;
	struct db_item	*items;
	struct op_item	 ops[ITEMS_MAX];
	struct db_sub	 s;
	char		 key[64];
	int64_t		 expires = 0;
	size_t		 n, i;
	int		 rc;

	if ((rc = db_invoice_lock(db, id, &old)) != TALLY_OK)
		return rc;
	if (old.account_id != a->id)
		return TALLY_E_NOTFOUND;
	if (strcmp(old.status, "expired") != 0 &&
	    strcmp(old.status, "void") != 0)
		return TALLY_E_CONFLICT;
	snprintf(key, sizeof(key), "reissue:%lld", (long long)old.id);
	if (db_invoice_by_cycle(db, key, inv) == TALLY_OK)
		return TALLY_OK;	/* reissued before: that one */
	if (old.subscription_id != 0) {
		/* Only while the cycle it pays for is still the current one
		 * (or the first invoice of a run still waiting). */
		if ((rc = db_sub_lock_id(db, old.subscription_id, &s)) !=
		    TALLY_OK)
			return rc;
		if (!((op_sub_status(&s) == SUB_ACTIVE &&
		    old.period_start == s.period_end && now < s.period_end) ||
		    (op_sub_status(&s) == SUB_PENDING &&
		    old.period_start == s.period_start)))
			return TALLY_E_CONFLICT;
		p = core_config_product(cfg, s.product);
		expires = now + (p != NULL ? p->invoice_ttl_hours : 48) * 3600;
	}
	if ((items = calloc(ITEMS_MAX, sizeof(*items))) == NULL)
		return TALLY_E_NOMEM;
	rc = db_item_list(db, old.id, ITEMS_MAX, items, &n);
	for (i = 0; rc == TALLY_OK && i < n; i++) {
		ops[i].description = items[i].description;
		ops[i].amount = items[i].amount;
		ops[i].resource_id = items[i].resource_id[0] ?
		    items[i].resource_id : NULL;
		ops[i].plan = items[i].plan[0] ? items[i].plan : NULL;
	}
	if (rc == TALLY_OK)
		rc = op_invoice_create_tx(db, cfg, a->id, old.kind, ops, n,
		    old.period_start, old.period_end, expires,
		    old.subscription_id, key, now, inv);
	free(items);
	return rc;
}

/* The period of the plan calendar (from anchor) that contains t. */
static int
plan_period(int64_t anchor, int64_t t, int64_t *start, int64_t *end)
{
	struct core_civil a, c;
	int64_t		 k;
	int		 rc;

	core_civil_from_time(anchor, &a);
	core_civil_from_time(t, &c);
	k = (c.year - a.year) * 12 + (c.month - a.month);
	if (k < 0)
		k = 0;
	/* The estimate can be one month late or early around month ends. */
	for (;;) {
		if ((rc = core_time_add_months(anchor, k, start)) != TALLY_OK ||
		    (rc = core_time_add_months(anchor, k + 1, end)) != TALLY_OK)
			return rc;
		if (t < *start && k > 0)
			k--;
		else if (t >= *end)
			k++;
		else
			return TALLY_OK;
	}
}

static int64_t
plan_price(const struct core_config *cfg, const char *plan)
{
	const struct core_plan *p;

	if (plan == NULL || *plan == '\0' ||
	    (p = core_config_plan(cfg, plan)) == NULL)
		return 0;
	return p->monthly;
}

static const char *
plan_name(const struct core_config *cfg, const char *plan)
{
	const struct core_plan *p = core_config_plan(cfg, plan);

	return p != NULL ? p->name : plan;
}

int
op_activity_record_tx(struct db *db, const struct core_config *cfg,
    int64_t account_id, const char *resource, const char *type,
    const char *plan, int64_t at, int64_t now, int *duplicate)
{
	struct core_resource_state before;
	struct db_activity *log;
	const char	*newplan;
	char		 key[64], desc[700], from[32], to[32];
	int64_t		 id, anchor, start, end, amount, oldp, newp;
	size_t		 n, i;
	int		 rc, t = core_activity_parse(type), has;

	*duplicate = 0;
	if (t < 0)
		return TALLY_E_INVALID;
	/* The anchor row lock orders this account's activities. */
	if ((rc = db_anchor_lock(db, account_id, &anchor)) != TALLY_OK)
		return rc;
	rc = db_activity_insert(db, account_id, resource, type, plan, at, now,
	    &id);
	if (rc == TALLY_E_DUPLICATE) {
		*duplicate = 1;
		return TALLY_OK;
	}
	if (rc != TALLY_OK)
		return rc;
	/* The resource's state just before this activity, from its log. */
	if ((log = calloc(ACTIVITIES_MAX, sizeof(*log))) == NULL)
		return TALLY_E_NOMEM;
	rc = db_activity_before(db, account_id, resource, at, id,
	    ACTIVITIES_MAX, log, &n);
	memset(&before, 0, sizeof(before));
	for (i = 0; rc == TALLY_OK && i < n; i++)
		core_resource_apply(&before, log[i].type, log[i].plan);
	free(log);
	if (rc != TALLY_OK)
		return rc;
	newplan = plan != NULL && *plan != '\0' ? plan : before.plan;
	oldp = plan_price(cfg, before.plan);
	newp = plan_price(cfg, newplan);
	if (anchor == 0) {
		/* Nothing is billed before the first billable activity. */
		if (newp <= 0 || t == ACT_DEACTIVATE ||
		    (t == ACT_UPDATE && !before.active))
			return TALLY_OK;
		anchor = at;
		if ((rc = db_anchor_set(db, account_id, anchor)) != TALLY_OK)
			return rc;
	}
	if (at < anchor)
		return TALLY_OK;
	if ((rc = plan_period(anchor, at, &start, &end)) != TALLY_OK)
		return rc;
	rc = core_activity_amount(&before, t, oldp, newp,
	    strcmp(before.plan, newplan) == 0, end - at, end - start, &amount,
	    &has);
	if (rc != TALLY_OK || !has)
		return rc;
	core_time_format_iso(at, from, sizeof(from));
	core_time_format_iso(end, to, sizeof(to));
	snprintf(desc, sizeof(desc), "%s %.200s: %s, %.10s to %.10s%s",
	    t == ACT_DEACTIVATE ? "Credit for" : "Charge for", resource,
	    t == ACT_UPDATE ? "plan change" : plan_name(cfg, t ==
	    ACT_DEACTIVATE ? before.plan : newplan), from, to, " (prorated)");
	snprintf(key, sizeof(key), "activity:%lld", (long long)id);
	rc = db_item_insert(db, account_id, 0, desc, amount, resource,
	    t == ACT_DEACTIVATE ? before.plan : newplan, key, now);
	return rc == TALLY_E_DUPLICATE ? TALLY_OK : rc;
}

/* Renewal items for the account's period starting at start. */
static int
renew_period(struct db *db, const struct core_config *cfg,
    int64_t account_id, int64_t start, int64_t end, int64_t now)
{
	struct core_resource_state st;
	struct db_activity *log;
	char		 key[1200], desc[700], from[32], to[32];
	int64_t		 price;
	size_t		 n, i;
	int		 rc;

	if ((log = calloc(ACTIVITIES_MAX, sizeof(*log))) == NULL)
		return TALLY_E_NOMEM;
	/* Every resource's state at the boundary, rebuilt from its log. */
	rc = db_activity_all_before(db, account_id, start, ACTIVITIES_MAX,
	    log, &n);
	memset(&st, 0, sizeof(st));
	for (i = 0; rc == TALLY_OK && i < n; i++) {
		core_resource_apply(&st, log[i].type, log[i].plan);
		if (i + 1 < n && strcmp(log[i + 1].resource_id,
		    log[i].resource_id) == 0)
			continue;
		/* The last activity of this resource: bill its state. */
		price = plan_price(cfg, st.plan);
		if (st.active && price > 0) {
			core_time_format_iso(start, from, sizeof(from));
			core_time_format_iso(end, to, sizeof(to));
			snprintf(desc, sizeof(desc), "%s for %.200s, %.10s to "
			    "%.10s", plan_name(cfg, st.plan),
			    log[i].resource_id, from, to);
			snprintf(key, sizeof(key), "renewal:%lld:%lld:%.100s",
			    (long long)account_id, (long long)start,
			    log[i].resource_id);
			/* The source key is capped by the column: a long
			 * resource id would collide, so hash it in. */
			if (strlen(log[i].resource_id) > 100)
				snprintf(key, sizeof(key), "renewal:%lld:%lld:#%lld",
				    (long long)account_id, (long long)start,
				    (long long)log[i].id);
			rc = db_item_insert(db, account_id, 0, desc, price,
			    log[i].resource_id, st.plan, key, now);
			if (rc == TALLY_E_DUPLICATE)
				rc = TALLY_OK;
		}
		memset(&st, 0, sizeof(st));
	}
	free(log);
	return rc;
}

struct plan_account {
	const struct core_config *cfg;
	int64_t		 id, anchor, now;
	int		 renewed, invoiced;
};

/* One account: take every period start up to now not renewed yet
 * (newest first, stopping at the first taken), then claim. */
static int
plan_account_tx(struct db *db, void *arg)
{
	struct plan_account *pa = arg;
	struct db_invoice inv;
	int64_t		 k, start, end, anchor;
	struct core_civil a, c;
	int		 rc, created;

	pa->renewed = pa->invoiced = 0;
	if ((rc = db_anchor_lock(db, pa->id, &anchor)) != TALLY_OK)
		return rc;
	core_civil_from_time(anchor, &a);
	core_civil_from_time(pa->now, &c);
	k = anchor == 0 ? 0 : (c.year - a.year) * 12 + (c.month - a.month) + 1;
	for (; k >= 1; k--) {
		if ((rc = core_time_add_months(anchor, k, &start)) != TALLY_OK)
			return rc;
		if (start > pa->now)
			continue;
		rc = db_renewal_take(db, pa->id, start, pa->now);
		if (rc == TALLY_E_DUPLICATE)
			break;		/* this and all before were done */
		if (rc != TALLY_OK)
			return rc;
		if ((rc = core_time_add_months(anchor, k + 1, &end)) !=
		    TALLY_OK || (rc = renew_period(db, pa->cfg, pa->id, start,
		    end, pa->now)) != TALLY_OK)
			return rc;
		pa->renewed++;
	}
	if ((rc = op_invoice_claim_tx(db, pa->cfg, pa->id, pa->now, &created,
	    &inv)) != TALLY_OK)
		return rc;
	pa->invoiced = created;
	return TALLY_OK;
}

/* The cascade for one usage invoice: credits, then the saved card; else
 * the customer is emailed a link and the reason. */
struct cascade {
	const struct core_config *cfg;
	int64_t		 now, id;
	int		 found, paid, emailed;
};

static int
cascade_tx(struct db *db, void *arg)
{
	struct cascade	*c = arg;
	struct tally_account a;
	struct db_invoice inv;
	int64_t		 id;
	size_t		 n;
	char		 ref[64], msg[512], pref[256], reason[REASON_MAX + 1];
	char		 why[700];
	int		 rc, result;

	c->found = c->paid = c->emailed = 0;
	c->id = 0;
	if ((rc = db_invoice_claim_cascade(db, 1, &id, &n)) != TALLY_OK ||
	    n == 0)
		return rc;
	c->found = 1;
	c->id = id;
	if ((rc = db_invoice_lock(db, id, &inv)) != TALLY_OK ||
	    (rc = db_invoice_cascade_done(db, id)) != TALLY_OK ||
	    (rc = db_account_get_by_id(db, inv.account_id, &a)) != TALLY_OK)
		return rc;
	why[0] = '\0';
	if (c->cfg->pay_from_credits) {
		rc = op_invoice_pay_credits_tx(db, c->cfg, &a, id, c->now, &inv);
		snprintf(ref, sizeof(ref), "invoice:%lld:credits",
		    (long long)id);
		if (rc == TALLY_OK) {
			c->paid = 1;
			return db_payment_insert(db, a.id, ref, "credits",
			    inv.total, inv.currency, "succeeded", NULL, NULL,
			    c->now);
		}
		if (rc != TALLY_E_INSUFFICIENT)
			return rc;
		snprintf(why, sizeof(why), "Your credit balance (%lld) does "
		    "not cover the invoice.", (long long)a.balance);
		if ((rc = db_payment_insert(db, a.id, ref, "credits", inv.total,
		    inv.currency, "declined", NULL, why, c->now)) != TALLY_OK &&
		    rc != TALLY_E_DUPLICATE)
			return rc;
	}
	/* Lightning auto-pay (NWC) would come here; it is not built yet. */
	snprintf(ref, sizeof(ref), "tally-invoice-%lld-card", (long long)id);
	if ((rc = op_card_charge_saved(db, c->cfg, a.id, inv.total, ref,
	    c->now, &result, msg, sizeof(msg), pref, sizeof(pref))) !=
	    TALLY_OK)
		return rc;
	if (result == CARD_CHARGED) {
		c->paid = 1;
		return op_invoice_paid_tx(db, c->cfg, id, inv.total,
		    inv.currency, "card", c->now);
	}
	if (result != CARD_NONE)
		snprintf(why, sizeof(why), "The card payment failed: %s", msg);
	else if (why[0] == '\0')
		snprintf(why, sizeof(why), "No payment method is set up.");
	core_summarize(why, REASON_MAX, reason);
	c->emailed = 1;
	return mail_invoice(db, c->cfg, &inv, "invoice_due", reason, c->now);
}

int
op_plan_billing(struct db *db, const struct core_config *cfg, int64_t now,
    volatile int *stop, struct op_invoice_counts *c)
{
	struct plan_account pa;
	struct cascade	 cc;
	int64_t		 ids[BATCH], anchors[BATCH], after = 0;
	size_t		 n, i;
	int		 rc;

	memset(c, 0, sizeof(*c));
	/* Renew every anchored account whose period started, then claim. */
	do {
		if ((rc = db_anchor_accounts(db, after, BATCH, ids, anchors,
		    &n)) != TALLY_OK)
			return rc;
		for (i = 0; i < n; i++) {
			pa.cfg = cfg;
			pa.id = ids[i];
			pa.anchor = anchors[i];
			pa.now = now;
			if (db_tx(db, plan_account_tx, &pa) != TALLY_OK) {
				c->errors++;
				continue;
			}
			c->renewals += pa.renewed;
			c->invoices += pa.invoiced;
			after = ids[i];
		}
		if (n > 0)
			after = ids[n - 1];
	} while (n == BATCH && (stop == NULL || !*stop));
	/* Accounts without an anchor may still have outstanding items. */
	after = 0;
	do {
		if ((rc = db_item_open_accounts(db, after, BATCH, ids, &n)) !=
		    TALLY_OK)
			return rc;
		for (i = 0; i < n; i++) {
			pa.cfg = cfg;
			pa.id = ids[i];
			pa.now = now;
			if (db_tx(db, plan_account_tx, &pa) != TALLY_OK)
				c->errors++;
			else
				c->invoices += pa.invoiced;
		}
		if (n > 0)
			after = ids[n - 1];
	} while (n == BATCH && (stop == NULL || !*stop));
	/* The payment cascade, one invoice per transaction. */
	cc.cfg = cfg;
	cc.now = now;
	for (;;) {
		if (stop != NULL && *stop)
			break;
		if ((rc = db_tx(db, cascade_tx, &cc)) != TALLY_OK) {
			c->errors++;
			if (cc.id == 0)
				break;
			/* Set this one aside (it stays payable by hand) so
			 * that it never holds up the others. */
			core_log("error", "invoice.cascade_failed", json_pack(
			    "{s:I,s:s,s:s}", "invoice_id", (json_int_t)cc.id,
			    "error", core_strerror(rc), "db", db->err));
			if (db_invoice_cascade_done(db, cc.id) != TALLY_OK)
				break;
			continue;
		}
		if (!cc.found)
			break;
		c->paid += cc.paid;
		c->emailed += cc.emailed;
	}
	return TALLY_OK;
}

struct renewals {
	const struct core_config *cfg;
	const struct core_product *p;
	int64_t		 now;
	size_t		 n;
	int64_t		 made;
	struct db_sub	 subs[BATCH];
};

static int
renewals_tx(struct db *db, void *arg)
{
	struct renewals	*r = arg;
	struct db_invoice inv;
	struct db_sub	*s;
	char		 key[128];
	int64_t		 end;
	size_t		 i;
	int		 rc, iv;

	r->made = 0;
	if ((rc = db_sub_claim_renewals(db, r->p->id, r->now +
	    r->p->renewal_lead_hours * 3600, BATCH, r->subs, &r->n)) !=
	    TALLY_OK)
		return rc;
	for (i = 0; i < r->n; i++) {
		s = &r->subs[i];
		iv = sub_interval(s);
		if (r->p->price[iv] <= 0)
			continue;
		if ((rc = core_time_add_months(s->anchor_at, s->end_months +
		    core_interval_months(iv), &end)) != TALLY_OK)
			return rc;
		/* One renewal invoice per cycle: the key says which. */
		snprintf(key, sizeof(key), "renew:%lld:%lld:%lld",
		    (long long)s->id, (long long)s->run_no,
		    (long long)s->period_end);
		rc = sub_invoice(db, r->cfg, r->p, s, iv, s->period_end, end,
		    key, r->now, &inv);
		if (rc == TALLY_E_DUPLICATE)
			continue;
		if (rc != TALLY_OK ||
		    (rc = mail_invoice(db, r->cfg, &inv, "invoice", NULL,
		    r->now)) != TALLY_OK)
			return rc;
		r->made++;
	}
	return TALLY_OK;
}

int
op_invoice_renewals(struct db *db, const struct core_config *cfg,
    int64_t now, struct op_invoice_counts *c)
{
	struct renewals	*r;
	size_t		 i;
	int		 rc = TALLY_OK;

	memset(c, 0, sizeof(*c));
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return TALLY_E_NOMEM;
	r->cfg = cfg;
	r->now = now;
	for (i = 0; i < cfg->nproducts && rc == TALLY_OK; i++) {
		if (cfg->products[i].billing != CORE_BILLING_INVOICE)
			continue;
		r->p = &cfg->products[i];
		do {
			if ((rc = db_tx(db, renewals_tx, r)) != TALLY_OK) {
				c->errors++;
				break;
			}
			c->renewals += r->made;
		} while (r->n == BATCH);
	}
	free(r);
	return rc;
}

int
op_invoice_expiry(struct db *db, const struct core_config *cfg, int64_t now,
    struct op_invoice_counts *c)
{
	uint64_t	 n;
	size_t		 i;
	int		 rc;

	memset(c, 0, sizeof(*c));
	if ((rc = db_invoice_expire_due(db, now, &n)) != TALLY_OK)
		return rc;
	c->expired = (int64_t)n;
	/* Unpaid when the period ends: the subscription expires (access
	 * checks already refuse it lazily; this makes the status say so). */
	for (i = 0; i < cfg->nproducts; i++) {
		if (cfg->products[i].billing != CORE_BILLING_INVOICE)
			continue;
		if ((rc = db_sub_end_due(db, cfg->products[i].id, now, &n)) !=
		    TALLY_OK)
			return rc;
		c->ended += (int64_t)n;
	}
	return TALLY_OK;
}
