/* Per-resource plans: activities and their prorated items, the billing
 * anchor, renewal items at period starts, claiming onto invoices, and
 * the payment cascade on what was claimed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/ops/cascade.h"
#include "core/ops/invoice.h"
#include "core/ops/plan.h"
#include "core/plan.h"
#include "core/result.h"
#include "core/subscription.h"
#include "core/timeutil.h"
#include "db/db.h"
#include "db/db_invoice.h"

#define BATCH		100
#define ACTIVITIES_MAX	2000

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
	if ((rc = core_period_find(anchor, CORE_INTERVAL_MONTHLY, at, NULL,
	    &start, &end)) != TALLY_OK)
		return rc;
	rc = core_activity_amount(&before, t, oldp, newp,
	    strcmp(before.plan, newplan) == 0, end - at, end - start, &amount,
	    &has);
	if (rc != TALLY_OK || !has)
		return rc;
	core_time_format_iso(at, from, sizeof(from));
	core_time_format_iso(end, to, sizeof(to));
	/* A plan switch reads the same whichever type carried it. */
	snprintf(desc, sizeof(desc), "%s %.200s: %s, %.10s to %.10s%s",
	    t == ACT_DEACTIVATE ? "Credit for" : "Charge for", resource,
	    core_activity_is_switch(&before, t) ? "plan change" :
	    plan_name(cfg, t == ACT_DEACTIVATE ? before.plan : newplan), from,
	    to, " (prorated)");
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
	int64_t		 k = 0, start, end, anchor;
	int		 rc, created;

	pa->renewed = pa->invoiced = 0;
	if ((rc = db_anchor_lock(db, pa->id, &anchor)) != TALLY_OK)
		return rc;
	/* Period 0 was billed by its activities; renewals start at 1. */
	if (anchor != 0 && anchor <= pa->now && (rc = core_period_find(anchor,
	    CORE_INTERVAL_MONTHLY, pa->now, &k, &start, &end)) != TALLY_OK)
		return rc;
	for (; k >= 1; k--) {
		if ((rc = core_period_bounds(anchor, k, CORE_INTERVAL_MONTHLY,
		    &start, &end)) != TALLY_OK)
			return rc;
		rc = db_renewal_take(db, pa->id, start, pa->now);
		if (rc == TALLY_E_DUPLICATE)
			break;		/* this and all before were done */
		if (rc != TALLY_OK || (rc = renew_period(db, pa->cfg, pa->id,
		    start, end, pa->now)) != TALLY_OK)
			return rc;
		pa->renewed++;
	}
	if ((rc = op_invoice_claim_tx(db, pa->cfg, pa->id, pa->now, &created,
	    &inv)) != TALLY_OK)
		return rc;
	pa->invoiced = created;
	return TALLY_OK;
}

int
op_plan_billing(struct db *db, const struct core_config *cfg, int64_t now,
    volatile int *stop, struct op_invoice_counts *c)
{
	struct plan_account pa;
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
	return op_cascade_run(db, cfg, now, stop, c);
}
