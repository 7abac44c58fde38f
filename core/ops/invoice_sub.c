/* Invoice-billed subscriptions over the invoice engine: activation with
 * a first invoice, what a paid invoice does to its subscription, renewal
 * invoices, reissue checks and expiry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/ops/event.h"
#include "core/ops/coupon.h"
#include "core/ops/invoice.h"
#include "core/ops/invoice_sub.h"
#include "core/ops/log.h"
#include "core/ops/subscription.h"
#include "core/result.h"
#include "core/subscription.h"
#include "core/timeutil.h"
#include "db/db.h"
#include "db/db_invoice.h"
#include "db/db_sub.h"
#include "db/db_wallet.h"

#define BATCH		100

/* The months an invoice's subscription interval spans. */
static int
sub_interval(const struct db_sub *s)
{
	int	 iv = core_interval_parse(s->interval);

	return iv < 0 ? CORE_INTERVAL_MONTHLY : iv;
}

int
op_invoice_sub_paid_tx(struct db *db, const struct db_invoice *inv,
    int64_t now)
{
	struct db_sub	 s;
	int64_t		 start;
	int		 rc, iv, ev;

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
		ev = CORE_EV_SUB_ACTIVATED;
	} else if (inv->period_start == s.period_end &&
	    (op_sub_status(&s) == SUB_ACTIVE ||
	    op_sub_status(&s) == SUB_EXPIRED)) {
		/* A renewal extends from the old end, not from today; the
		 * new end is counted from the anchor. */
		s.period_start = s.period_end;
		if ((rc = core_period_bounds(s.anchor_at, s.end_months, iv,
		    &start, &s.period_end)) != TALLY_OK)
			return rc;
		s.end_months += core_interval_months(iv);
		/* Paid after it expired: it starts again, as activated. */
		ev = op_sub_status(&s) == SUB_EXPIRED ? CORE_EV_SUB_ACTIVATED :
		    CORE_EV_SUB_RENEWED;
	} else {
		core_log("warn", "invoice.stale_payment", json_pack(
		    "{s:I,s:I}", "invoice_id", (json_int_t)inv->id,
		    "subscription_id", (json_int_t)s.id));
		return TALLY_OK;
	}
	snprintf(s.status, sizeof(s.status), "active");
	s.next_charge_at = 0;
	s.paused_at = 0;
	if ((rc = db_sub_update(db, &s, now)) != TALLY_OK)
		return rc;
	return op_event_tx(db, ev, s.id, now);
}

/* The first or a renewal invoice of subscription s for [start, end). */
static int
sub_invoice(struct db *db, const struct core_config *cfg,
    const struct core_product *p, const struct db_sub *s, int iv,
    int64_t start, int64_t end, const char *cycle_key, int64_t now,
    struct db_invoice *inv)
{
	struct op_item	 items[2];
	char		 desc[256], ddesc[128], from[32], to[32];
	int		 rc;

	core_time_format_iso(start, from, sizeof(from));
	core_time_format_iso(end, to, sizeof(to));
	snprintf(desc, sizeof(desc), "%s, %s, %.10s to %.10s", p->name,
	    core_interval_name(iv), from, to);
	memset(items, 0, sizeof(items));
	items[0].description = desc;
	items[0].amount = p->price[iv];
	/* A coupon on the subscription: its own negative line. */
	if ((rc = op_coupon_discount_tx(db, s->account_id, s->id, p->id,
	    start, items, 1, now, &items[1], ddesc, sizeof(ddesc))) !=
	    TALLY_OK)
		return rc;
	return op_invoice_create_tx(db, cfg, s->account_id, "subscription",
	    items, items[1].amount != 0 ? 2 : 1, start, end,
	    now + p->invoice_ttl_hours * 3600, s->id, cycle_key, now, inv);
}

int
op_invoice_sub_activate_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, const struct core_product *p, int iv,
    const char *coupon, int64_t now, struct db_sub *s,
    struct db_invoice *inv)
{
	struct db_redemption r;
	struct db_invoice cur;
	char		 key[96];
	int64_t		 start, end;
	int		 rc, st;

	memset(inv, 0, sizeof(*inv));
	if ((rc = op_sub_lock_tx(db, a->id, p->id, s)) != TALLY_OK)
		return rc;
	st = op_sub_status(s);
	if (st == SUB_ACTIVE && (now < s->period_end ||
	    !s->cancel_at_period_end)) {
		snprintf(s->interval, sizeof(s->interval), "%s",
		    core_interval_name(iv));
		s->cancel_at_period_end = 0;
		if ((rc = db_sub_update(db, s, now)) != TALLY_OK)
			return rc;
		/* Running already: the coupon takes the next invoice. */
		return coupon != NULL ? op_coupon_apply_tx(db, cfg, a, coupon,
		    p->id, now, &r) : TALLY_OK;
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
			/* Its amount may be on a checkout or a Lightning
			 * invoice already: a coupon cannot change it. */
			if (coupon != NULL)
				return TALLY_E_CONFLICT;
			*inv = cur;
			return TALLY_OK;
		}
	}
	/* A new run waits for its first invoice to be paid. */
	snprintf(s->status, sizeof(s->status), "pending_activation");
	s->anchor_at = now;
	s->period_start = now;
	if ((rc = core_period_bounds(now, 0, iv, &start, &end)) != TALLY_OK)
		return rc;
	s->period_end = end;
	s->next_charge_at = 0;
	s->cancel_at_period_end = 0;
	s->paused_at = 0;
	s->run_no++;
	s->end_months = core_interval_months(iv);
	if (s->id == 0 && (rc = db_sub_insert(db, s, now)) != TALLY_OK)
		return rc;
	/* The row as it is now, before paying the invoice may change it. */
	if ((rc = db_sub_update(db, s, now)) != TALLY_OK)
		return rc;
	if (coupon != NULL && (rc = op_coupon_apply_tx(db, cfg, a, coupon,
	    p->id, now, &r)) != TALLY_OK)
		return rc;
	snprintf(key, sizeof(key), "first:%lld:%lld", (long long)s->id,
	    (long long)s->run_no);
	if ((rc = sub_invoice(db, cfg, p, s, iv, now, end, key, now, inv)) !=
	    TALLY_OK)
		return rc;
	/* A coupon that took all of it paid it: the period started. */
	if (strcmp(inv->status, "paid") == 0)
		return op_sub_lock_tx(db, a->id, p->id, s);
	return TALLY_OK;
}


int
op_invoice_sub_reissuable_tx(struct db *db, const struct core_config *cfg,
    const struct db_invoice *old, int64_t now, int64_t *expires)
{
	const struct core_product *p;
	struct db_sub	 s;
	int		 rc;

	/* Only while the cycle it pays for is still the current one (or the
	 * first invoice of a run still waiting). */
	if ((rc = db_sub_lock_id(db, old->subscription_id, &s)) != TALLY_OK)
		return rc;
	if (!((op_sub_status(&s) == SUB_ACTIVE &&
	    old->period_start == s.period_end && now < s.period_end) ||
	    (op_sub_status(&s) == SUB_PENDING &&
	    old->period_start == s.period_start)))
		return TALLY_E_CONFLICT;
	p = core_config_product(cfg, s.product);
	*expires = now + (p != NULL ? p->invoice_ttl_hours : 48) * 3600;
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
	int64_t		 start, end;
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
		if ((rc = core_period_bounds(s->anchor_at, s->end_months, iv,
		    &start, &end)) != TALLY_OK)
			return rc;
		/* One renewal invoice per cycle: the key says which. */
		snprintf(key, sizeof(key), "renew:%lld:%lld:%lld",
		    (long long)s->id, (long long)s->run_no,
		    (long long)s->period_end);
		rc = sub_invoice(db, r->cfg, r->p, s, iv, s->period_end, end,
		    key, r->now, &inv);
		if (rc == TALLY_E_DUPLICATE)
			continue;
		if (rc != TALLY_OK)
			return rc;
		/* One a coupon paid in full needs no reminder to pay. */
		if (strcmp(inv.status, "pending") == 0 &&
		    (rc = op_invoice_mail_tx(db, r->cfg, &inv, "invoice", NULL,
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
op_invoice_sub_end_due(struct db *db, const struct core_config *cfg,
    int64_t now, uint64_t *ended)
{
	uint64_t	 n;
	size_t		 i;
	int		 rc;

	*ended = 0;
	/* Unpaid when the period ends: the subscription expires (access
	 * checks already refuse it lazily; this makes the status say so). */
	for (i = 0; i < cfg->nproducts; i++) {
		if (cfg->products[i].billing != CORE_BILLING_INVOICE)
			continue;
		/* Their events first: that statement locks the rows the
		 * UPDATE then ends (the caller's transaction). */
		if ((rc = op_event_sub_end_due_tx(db, cfg->products[i].id,
		    now)) != TALLY_OK ||
		    (rc = db_sub_end_due(db, cfg->products[i].id, now, &n)) !=
		    TALLY_OK)
			return rc;
		*ended += n;
	}
	return TALLY_OK;
}
