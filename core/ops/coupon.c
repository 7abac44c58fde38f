/* Coupons over db/db_coupon.c: the operator's catalog, redemptions on
 * subscriptions, plans and purchases, and the discount lines they put on
 * invoices.  The coupon's row lock orders its redemptions, so a coupon
 * with max_redemptions is redeemed exactly that often however many
 * requests race for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/coupon.h"
#include "core/money.h"
#include "core/ops/coupon.h"
#include "core/ops/invoice.h"
#include "core/ops/subscription.h"
#include "core/result.h"
#include "core/subscription.h"
#include "db/db.h"
#include "db/db_coupon.h"
#include "db/db_invoice.h"
#include "db/db_misc.h"
#include "db/db_pay.h"

/* The terms of a stored coupon. */
static void
terms_of(const struct db_coupon *c, struct core_coupon_terms *t)
{
	memset(t, 0, sizeof(*t));
	t->percent_off = c->percent_off;
	t->amount_off = c->amount_off;
	t->duration = core_coupon_duration_parse(c->duration);
	t->duration_periods = c->duration_periods;
}

static int
audit(struct db *db, const char *actor, const char *action,
    const struct db_coupon *c, int64_t now)
{
	json_t	*d;
	char	*details, target[48];
	int	 rc;

	d = json_pack("{s:I,s:s}", "coupon_id", (json_int_t)c->id, "code",
	    c->code);
	details = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	if (details == NULL)
		return TALLY_E_NOMEM;
	snprintf(target, sizeof(target), "coupon:%lld", (long long)c->id);
	rc = db_audit_insert(db, actor, action, target, details, now);
	free(details);
	return rc;
}

int
op_coupon_create_tx(struct db *db, const struct core_config *cfg,
    const struct op_coupon_new *n, int64_t now, struct db_coupon *c)
{
	int	 rc;

	memset(c, 0, sizeof(*c));
	if (core_coupon_code_normalize(n->code, c->code, c->code_key) !=
	    TALLY_OK || core_coupon_terms_valid(&n->terms) != TALLY_OK ||
	    strlen(n->applies_to) >= sizeof(c->applies_to))
		return TALLY_E_INVALID;
	if (n->name != NULL)
		snprintf(c->name, sizeof(c->name), "%s", n->name);
	c->percent_off = n->terms.percent_off;
	c->amount_off = n->terms.amount_off;
	snprintf(c->currency, sizeof(c->currency), "%s", cfg->currency);
	snprintf(c->applies_to, sizeof(c->applies_to), "%s", n->applies_to);
	snprintf(c->duration, sizeof(c->duration), "%s",
	    core_coupon_duration_name(n->terms.duration));
	c->duration_periods = n->terms.duration == CORE_COUPON_REPEATING ?
	    n->terms.duration_periods : 0;
	c->max_redemptions = n->max_redemptions;
	c->expires_at = n->expires_at;
	snprintf(c->created_by, sizeof(c->created_by), "%s", n->actor);
	if ((rc = db_coupon_insert(db, c, now)) != TALLY_OK)
		return rc;
	return audit(db, n->actor, "coupon.create", c, now);
}

int
op_coupon_get(struct db *db, int64_t id, struct db_coupon *c)
{
	return db_coupon_get(db, id, c);
}

int
op_coupon_list(struct db *db, size_t max, struct db_coupon *cs, size_t *n)
{
	return db_coupon_list(db, max, cs, n);
}

int
op_coupon_deactivate_tx(struct db *db, int64_t id, const char *actor,
    int64_t now, struct db_coupon *c)
{
	int	 rc;

	if ((rc = db_coupon_get(db, id, c)) != TALLY_OK)
		return rc;
	if (!c->active)
		return TALLY_OK;
	if ((rc = db_coupon_deactivate(db, id, now)) != TALLY_OK ||
	    (rc = audit(db, actor, "coupon.deactivate", c, now)) != TALLY_OK)
		return rc;
	return db_coupon_get(db, id, c);
}

/* Whether a coupon may go on the account's per-resource plans: its list
 * is empty or names a plan. */
static int
applies_to_plans(const char *list)
{
	return list[0] == '\0' || strncmp(list, "plan:", 5) == 0 ||
	    strstr(list, " plan:") != NULL;
}

/*
 * Lock the coupon typed as code and check what holds for every target:
 * it exists, is active and not expired, and applies to target (NULL:
 * the per-resource plans).  OUT: *c.
 */
static int
coupon_for(struct db *db, const char *code, const char *target,
    int64_t now, struct db_coupon *c)
{
	char	 shown[CORE_COUPON_CODE_MAX + 1], key[CORE_COUPON_CODE_MAX + 1];
	int	 rc;

	if (core_coupon_code_normalize(code, shown, key) != TALLY_OK)
		return TALLY_E_COUPON_UNKNOWN;
	if ((rc = db_coupon_lock_by_key(db, key, c)) != TALLY_OK)
		return rc == TALLY_E_NOTFOUND ? TALLY_E_COUPON_UNKNOWN : rc;
	/* Used up is decided last: a redemption of one's own moves. */
	if ((rc = core_coupon_usable(c->active, c->expires_at, -1, 0, now)) !=
	    TALLY_OK)
		return rc;
	if (target != NULL ? !core_coupon_applies(c->applies_to, target) :
	    !applies_to_plans(c->applies_to))
		return TALLY_E_COUPON_INAPPLICABLE;
	return TALLY_OK;
}

/* Take one of the coupon's redemptions for r (the coupon row is locked). */
static int
redeem(struct db *db, struct db_coupon *c, struct db_redemption *r,
    int64_t now)
{
	int	 rc;

	if ((rc = core_coupon_usable(c->active, c->expires_at,
	    c->max_redemptions, c->times_redeemed, now)) != TALLY_OK)
		return rc;
	rc = db_redemption_insert(db, r, now);
	if (rc == TALLY_E_DUPLICATE)
		return TALLY_E_COUPON_REDEEMED;
	if (rc != TALLY_OK || (rc = db_coupon_bump(db, c->id)) != TALLY_OK)
		return rc;
	c->times_redeemed++;
	r->coupon = *c;
	return TALLY_OK;
}

int
op_coupon_apply_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, const char *code, const char *product,
    int64_t now, struct db_redemption *r)
{
	const struct core_product *p = NULL;
	struct db_redemption cur;
	struct db_coupon c;
	struct db_sub	 s;
	char		 target[CORE_ID_MAX + 16];
	int64_t		 anchor;
	int		 rc, st;

	memset(r, 0, sizeof(*r));
	/* The account row first, as activations and claims take it. */
	if (product != NULL) {
		p = core_config_product(cfg, product);
		if (p == NULL || p->billing != CORE_BILLING_INVOICE)
			return TALLY_E_INVALID;
		if ((rc = op_sub_lock_tx(db, a->id, p->id, &s)) != TALLY_OK)
			return rc;
		st = op_sub_status(&s);
		if (st == SUB_NONE)
			return TALLY_E_NOTFOUND;
		if (st != SUB_ACTIVE && st != SUB_PENDING)
			return TALLY_E_CONFLICT;
		snprintf(target, sizeof(target), "product:%s", p->id);
	} else if ((rc = db_anchor_lock(db, a->id, &anchor)) != TALLY_OK)
		return rc;
	if ((rc = coupon_for(db, code, product != NULL ? target : NULL, now,
	    &c)) != TALLY_OK)
		return rc;
	if ((rc = db_redemption_lock(db, c.id, a->id, &cur)) == TALLY_OK)
		return TALLY_E_COUPON_REDEEMED;
	if (rc != TALLY_E_NOTFOUND)
		return rc;
	/* One coupon at a time per subscription, and on the plans. */
	rc = db_redemption_active(db, a->id, product != NULL ? s.id : 0, &cur);
	if (rc == TALLY_OK)
		return TALLY_E_COUPON_APPLIED;
	if (rc != TALLY_E_NOTFOUND)
		return rc;
	r->coupon_id = c.id;
	r->account_id = a->id;
	if (product != NULL) {
		snprintf(r->target, sizeof(r->target), "subscription");
		r->subscription_id = s.id;
		snprintf(r->product, sizeof(r->product), "%s", p->id);
	} else
		snprintf(r->target, sizeof(r->target), "plans");
	return redeem(db, &c, r, now);
}

int
op_coupon_redemptions(struct db *db, int64_t account_id, size_t max,
    struct db_redemption *rs, size_t *n)
{
	return db_redemption_list(db, account_id, max, rs, n);
}

/* The line's text: "Coupon SUMMER20: 10% off" or "...: 5.00 EUR off". */
static void
line_text(const struct db_coupon *c, char *desc, size_t descsz)
{
	char	 amount[40];

	if (c->percent_off > 0)
		snprintf(desc, descsz, "Coupon %s: %lld%% off", c->code,
		    (long long)c->percent_off);
	else {
		core_money_format(c->amount_off, c->currency, amount,
		    sizeof(amount));
		snprintf(desc, descsz, "Coupon %s: %s %s off", c->code, amount,
		    c->currency);
	}
}

/*
 * The discount of redemption r over amounts[0..n) (eligible[i] set for
 * the lines it applies to) for the period starting at period: counts the
 * period, or ends r when its periods are used.  OUT: *line.
 */
static int
discount(struct db *db, struct db_redemption *r, int64_t period,
    const int64_t *amounts, const int *eligible, size_t n,
    struct op_item *line, char *desc, size_t descsz, int64_t now)
{
	struct core_coupon_terms t;
	int64_t		 d, base;
	int		 rc, np;

	terms_of(&r->coupon, &t);
	if (!core_coupon_covers(&t, r->periods_used, r->last_period, period,
	    &np)) {
		/* A period after its last: its periods are over, it ends.
		 * (An older period, which billing never goes back to, just
		 * gets no discount.) */
		if (period < r->last_period)
			return TALLY_OK;
		snprintf(r->status, sizeof(r->status), "ended");
		return db_redemption_update(db, r, now);
	}
	if ((rc = core_coupon_discount(&t, amounts, eligible, n, &d, &base)) !=
	    TALLY_OK)
		return rc;
	if (d == 0)
		return TALLY_OK;
	if (np) {
		r->periods_used++;
		r->last_period = period;
		if ((rc = db_redemption_update(db, r, now)) != TALLY_OK)
			return rc;
	}
	line_text(&r->coupon, desc, descsz);
	line->description = desc;
	line->amount = -d;
	line->redemption_id = r->id;
	return TALLY_OK;
}

#define LINES_MAX	512

int
op_coupon_discount_tx(struct db *db, int64_t account_id, int64_t sub_id,
    const char *product, int64_t period, const struct op_item *items,
    size_t n, int64_t now, struct op_item *line, char *desc, size_t descsz)
{
	struct db_redemption r;
	int64_t		 amounts[LINES_MAX];
	int		 eligible[LINES_MAX], rc;
	char		 target[CORE_ID_MAX + 16];
	size_t		 i;

	memset(line, 0, sizeof(*line));
	if ((rc = db_redemption_active(db, account_id, sub_id, &r)) != TALLY_OK)
		return rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
	if (n > LINES_MAX)
		return TALLY_E_INVALID;
	for (i = 0; i < n; i++) {
		amounts[i] = items[i].amount;
		if (sub_id != 0)
			snprintf(target, sizeof(target), "product:%s",
			    product);
		else
			snprintf(target, sizeof(target), "plan:%s",
			    items[i].plan != NULL ? items[i].plan : "");
		eligible[i] = items[i].redemption_id == 0 &&
		    core_coupon_applies(r.coupon.applies_to, target);
	}
	return discount(db, &r, period, amounts, eligible, n, line, desc,
	    descsz, now);
}

int
op_coupon_discount_plans_tx(struct db *db, int64_t account_id,
    int64_t period, char (*plans)[64], const int64_t *sums, size_t n,
    int64_t now, struct op_item *line, char *desc, size_t descsz)
{
	struct db_redemption r;
	int		 eligible[CORE_CATALOG_MAX + 1], rc;
	char		 target[CORE_ID_MAX + 16];
	size_t		 i;

	memset(line, 0, sizeof(*line));
	if ((rc = db_redemption_active(db, account_id, 0, &r)) != TALLY_OK)
		return rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
	if (n > CORE_CATALOG_MAX + 1)
		return TALLY_E_INVALID;
	for (i = 0; i < n; i++) {
		snprintf(target, sizeof(target), "plan:%s", plans[i]);
		eligible[i] = core_coupon_applies(r.coupon.applies_to, target);
	}
	return discount(db, &r, period, sums, eligible, n, line, desc, descsz,
	    now);
}

int
op_coupon_purchase_tx(struct db *db, const struct tally_account *a,
    const struct core_package *pk, const char *code, int64_t purchase_id,
    int64_t now, int64_t *bonus, char *shown)
{
	struct core_coupon_terms t;
	struct tally_purchase old;
	struct db_redemption r;
	struct db_coupon c;
	char		 target[CORE_ID_MAX + 16];
	int		 rc;

	*bonus = 0;
	snprintf(target, sizeof(target), "package:%s", pk->id);
	if ((rc = coupon_for(db, code, target, now, &c)) != TALLY_OK)
		return rc;
	terms_of(&c, &t);
	if ((rc = core_coupon_bonus(&t, pk->credits, bonus)) != TALLY_OK)
		return rc;
	rc = db_redemption_lock(db, c.id, a->id, &r);
	if (rc == TALLY_OK) {
		/*
		 * Redeemed before: on a purchase that was never paid it moves
		 * here (so an abandoned checkout does not burn it); the old
		 * purchase, if paid after all, gets no bonus.  Its row lock
		 * orders this against that payment's webhook.
		 */
		if (strcmp(r.target, "purchase") != 0 || r.purchase_id == 0)
			return TALLY_E_COUPON_REDEEMED;
		if ((rc = db_purchase_lock(db, r.purchase_id, &old)) !=
		    TALLY_OK)
			return rc;
		if (strcmp(old.status, "succeeded") == 0)
			return TALLY_E_COUPON_REDEEMED;
		if ((rc = db_purchase_set_bonus(db, old.id, 0, NULL)) !=
		    TALLY_OK ||
		    (rc = db_redemption_set_purchase(db, r.id, purchase_id)) !=
		    TALLY_OK)
			return rc;
	} else if (rc != TALLY_E_NOTFOUND)
		return rc;
	else {
		memset(&r, 0, sizeof(r));
		r.coupon_id = c.id;
		r.account_id = a->id;
		snprintf(r.target, sizeof(r.target), "purchase");
		r.purchase_id = purchase_id;
		if ((rc = redeem(db, &c, &r, now)) != TALLY_OK)
			return rc;
	}
	snprintf(shown, CORE_COUPON_CODE_MAX + 1, "%s", c.code);
	return db_purchase_set_bonus(db, purchase_id, *bonus, c.code);
}
