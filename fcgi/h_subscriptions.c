/* Subscription routes: list, show, activate, deactivate, change interval,
 * entitlements, and the internal status and charge-recurring routes. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/ops/invoice.h"
#include "core/ops/subscription.h"
#include "core/ops/wallet.h"
#include "core/result.h"
#include "core/subscription.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"

#define SUBS_MAX	CORE_CATALOG_MAX

struct sub_call {
	struct op_wallet_who who;	/* activate (AUTH_TOKEN) */
	const struct core_product *p;
	int		 iv;
	const char	*coupon;
	struct db_sub	 s;
};

/* Whether a subscription renews by the scheduler's lazy charge. */
static int
renews_lazily(const struct core_config *cfg, const char *product)
{
	const struct core_product *p = core_config_product(cfg, product);

	return p != NULL && p->billing == CORE_BILLING_CREDITS;
}

static int
entitled(const struct core_config *cfg, const struct db_sub *s, int64_t now)
{
	return core_sub_entitled(op_sub_status(s), (int)s->cancel_at_period_end,
	    s->period_end, now, renews_lazily(cfg, s->product));
}

static json_t *
sub_json(const struct core_config *cfg, const struct db_sub *s)
{
	const struct core_product *p = core_config_product(cfg, s->product);
	int		 iv = core_interval_parse(s->interval);
	json_t		*o;

	o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:b}", "product", s->product,
	    "status", s->status, "interval", s->interval, "price",
	    p != NULL && iv >= 0 && p->price[iv] > 0 ?
	    json_integer(p->price[iv]) : json_null(),
	    "current_period_start", http_time(s->period_start),
	    "current_period_end", http_time(s->period_end),
	    "cancel_at_period_end", (int)s->cancel_at_period_end);
	if (o == NULL)
		return NULL;
	/* A subscription set to end is never charged again. */
	if (op_sub_status(s) == SUB_ACTIVE && !s->cancel_at_period_end &&
	    s->next_charge_at != 0)
		json_object_set_new(o, "next_charge_at",
		    http_time(s->next_charge_at));
	if (s->paused_at != 0)
		json_object_set_new(o, "paused_at", http_time(s->paused_at));
	/* billing.reactivate_on_topup: a top-up that covers the price
	 * reactivates it (a paused credit subscription with a known price). */
	if (op_sub_status(s) == SUB_PAUSED && cfg->reactivate_on_topup &&
	    p != NULL && p->billing == CORE_BILLING_CREDITS && iv >= 0 &&
	    p->price[iv] > 0)
		json_object_set_new(o, "reactivates_on_topup", json_true());
	/* The invoice to pay, so that a client can link straight to it. */
	if (op_sub_status(s) == SUB_PENDING && s->invoice_id != 0)
		json_object_set_new(o, "invoice_id", http_id(s->invoice_id));
	return o;
}

/* The {product} capture as a catalog product; 404 set when unknown. */
static const struct core_product *
product_or_respond(struct http_req *req)
{
	const struct core_product *p;

	p = core_config_product(&req->app->cfg, req->caps.v[0]);
	if (p == NULL)
		http_fail(req, TALLY_E_NOTFOUND, "no such product", NULL);
	return p;
}

/* The body's interval, offered by p; 400 set when not. */
static int
interval_or_respond(struct http_req *req, const struct core_product *p,
    int *iv)
{
	const char	*s;

	if (core_json_str(req->json, "interval", 1, 1, 16, &s) != TALLY_OK ||
	    (*iv = core_interval_parse(s)) < 0)
		return http_bad_field(req, "interval", "interval must be "
		    "\"monthly\", \"quarterly\" or \"yearly\"");
	if (p->price[*iv] <= 0)
		return http_bad_field(req, "interval", "this product is not "
		    "offered on that interval");
	return TALLY_OK;
}

void
h_subscriptions_list(struct http_req *req)
{
	struct db_sub	*subs;
	json_t		*a;
	size_t		 n, i;
	int		 rc;

	if ((subs = calloc(SUBS_MAX, sizeof(*subs))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	if ((rc = op_sub_list(req->db, req->account.id, SUBS_MAX, subs, &n)) !=
	    TALLY_OK) {
		free(subs);
		http_fail(req, rc, NULL, NULL);
		return;
	}
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, sub_json(&req->app->cfg, &subs[i]));
	free(subs);
	http_reply(req, 200, json_pack("{s:o}", "subscriptions", a));
}

void
h_subscription_get(struct http_req *req)
{
	const struct core_product *p;
	struct db_sub	 s;
	int		 rc;

	if ((p = product_or_respond(req)) == NULL)
		return;
	rc = op_sub_get(req->db, req->account.id, p->id, &s);
	if (rc == TALLY_E_NOTFOUND)
		http_reply(req, 200, json_pack("{s:s,s:s}", "product", p->id,
		    "status", "inactive"));
	else if (rc != TALLY_OK)
		http_fail(req, rc, NULL, NULL);
	else
		http_reply(req, 200, sub_json(&req->app->cfg, &s));
}

/* A credit-billed product: two database calls without an
 * Idempotency-Key (the first finds the account by the token's user id),
 * in http_tx's transaction with one. */
static int
activate_tx(struct http_req *req, void *arg)
{
	struct sub_call	*c = arg;
	int		 rc;

	rc = op_sub_activate_call(req->db, &c->who, c->p, c->iv, req->now,
	    req->own_tx, &c->s);
	if (rc == TALLY_E_INSUFFICIENT)
		req->err_message = "not enough credits for the first interval; "
		    "nothing was changed";
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 200, sub_json(&req->app->cfg, &c->s));
	return TALLY_OK;
}

/* An invoice-billed product: pending_activation and a first invoice. */
static int
activate_invoice_tx(struct http_req *req, void *arg)
{
	struct sub_call	*c = arg;
	struct db_invoice inv;
	json_t		*o;
	int		 rc;

	rc = op_invoice_sub_activate_tx(req->db, &req->app->cfg, &req->account,
	    c->p, c->iv, c->coupon, req->now, &c->s, &inv);
	if (rc == TALLY_E_CONFLICT)
		req->err_message = "the first invoice is issued already and "
		    "its amount cannot change; pay it, or apply the coupon "
		    "(POST /coupons/apply) for the invoices after it";
	if (rc != TALLY_OK) {
		if (rc >= TALLY_E_COUPON_UNKNOWN && rc <= TALLY_E_COUPON_APPLIED)
			req->err_field = "coupon";
		return rc;
	}
	c->s.invoice_id = inv.id;
	o = sub_json(&req->app->cfg, &c->s);
	if (inv.id != 0) {
		json_object_set_new(o, "invoice", http_invoice_json(req->db,
		    &inv, 1));
		http_reply(req, 201, o);
	} else
		http_reply(req, 200, o);
	return TALLY_OK;
}

void
h_subscription_activate(struct http_req *req)
{
	struct sub_call	 c;

	memset(&c, 0, sizeof(c));
	if ((c.p = product_or_respond(req)) == NULL ||
	    interval_or_respond(req, c.p, &c.iv) != TALLY_OK ||
	    http_coupon_or_respond(req, "coupon", 0, &c.coupon) != TALLY_OK)
		return;
	if (c.coupon != NULL && c.p->billing == CORE_BILLING_CREDITS) {
		http_bad_field(req, "coupon", "coupons apply to invoice-billed "
		    "products, not to ones paid with credits");
		return;
	}
	/*
	 * The route is AUTH_TOKEN: the account is not loaded.  Where the
	 * activation runs in a transaction of http_tx's (an Idempotency-Key,
	 * or an invoice-billed product) it is loaded first, made if missing,
	 * as AUTH_USER did; so a refused activation leaves a new account
	 * made, as before.
	 */
	if (c.p->billing != CORE_BILLING_CREDITS) {
		if (http_account_or_respond(req) == TALLY_OK)
			http_tx(req, activate_invoice_tx, &c);
		return;
	}
	http_token_who(req, &c.who);
	if (http_idem_key(req) && http_account_or_respond(req) != TALLY_OK)
		return;
	http_call(req, activate_tx, &c);
}

static int
deactivate_tx(struct http_req *req, void *arg)
{
	struct sub_call	*c = arg;
	int		 rc;

	rc = op_sub_deactivate_tx(req->db, &req->account, c->p, req->now,
	    &c->s);
	if (rc == TALLY_E_NOTFOUND)
		req->err_message = "no subscription to this product";
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 200, sub_json(&req->app->cfg, &c->s));
	return TALLY_OK;
}

void
h_subscription_deactivate(struct http_req *req)
{
	struct sub_call	 c;

	memset(&c, 0, sizeof(c));
	if ((c.p = product_or_respond(req)) == NULL)
		return;
	http_tx(req, deactivate_tx, &c);
}

static int
change_tx(struct http_req *req, void *arg)
{
	struct sub_call	*c = arg;
	int		 rc;

	rc = op_sub_change_interval_tx(req->db, &req->account, c->p, c->iv,
	    req->now, &c->s);
	if (rc == TALLY_E_NOTFOUND)
		req->err_message = "no subscription to this product";
	else if (rc == TALLY_E_CONFLICT)
		req->err_message = "the subscription has ended; activate it "
		    "again instead";
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 200, sub_json(&req->app->cfg, &c->s));
	return TALLY_OK;
}

void
h_subscription_change_interval(struct http_req *req)
{
	struct sub_call	 c;

	memset(&c, 0, sizeof(c));
	if ((c.p = product_or_respond(req)) == NULL ||
	    interval_or_respond(req, c.p, &c.iv) != TALLY_OK)
		return;
	http_tx(req, change_tx, &c);
}

void
h_entitlements(struct http_req *req)
{
	const struct core_config *cfg = &req->app->cfg;
	struct db_sub	*subs;
	json_t		*a;
	size_t		 n, i, j;
	int		 rc, on;

	if ((subs = calloc(SUBS_MAX, sizeof(*subs))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	if ((rc = op_sub_list(req->db, req->account.id, SUBS_MAX, subs, &n)) !=
	    TALLY_OK) {
		free(subs);
		http_fail(req, rc, NULL, NULL);
		return;
	}
	/* Every catalog product, so that an app sees what it may offer. */
	a = json_array();
	for (i = 0; i < cfg->nproducts; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(subs[j].product, cfg->products[i].id) == 0)
				break;
		on = j < n && entitled(cfg, &subs[j], req->now);
		json_array_append_new(a, json_pack("{s:s,s:b,s:o}", "product",
		    cfg->products[i].id, "active", on, "until", on ?
		    http_time(subs[j].period_end) : json_null()));
	}
	free(subs);
	http_reply(req, 200, json_pack("{s:o}", "entitlements", a));
}

void
h_internal_sub_status(struct http_req *req)
{
	const struct core_product *p;
	struct db_sub	 s;
	int		 rc, on;

	if ((p = product_or_respond(req)) == NULL)
		return;
	rc = op_sub_get_by_user(req->db, req->caps.v[1], p->id, &s);
	if (rc == TALLY_E_NOTFOUND) {
		http_reply(req, 200, json_pack("{s:b,s:s,s:n,s:n,s:n}",
		    "active", 0, "status", "inactive", "interval", "paused_at",
		    "until"));
		return;
	}
	if (rc != TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return;
	}
	on = entitled(&req->app->cfg, &s, req->now);
	http_reply(req, 200, json_pack("{s:b,s:s,s:s,s:o,s:o}", "active", on,
	    "status", s.status, "interval", s.interval, "paused_at",
	    http_time(s.paused_at), "until", on ? http_time(s.period_end) :
	    json_null()));
}

void
h_internal_charge_recurring(struct http_req *req)
{
	struct op_charge_counts c;
	int		 rc;

	rc = op_charge_recurring(req->db, &req->app->cfg, req->now, NULL, &c);
	if (rc != TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return;
	}
	http_reply(req, 200, json_pack("{s:I,s:I,s:I,s:I}", "charged",
	    (json_int_t)c.charged, "paused", (json_int_t)c.paused, "ended",
	    (json_int_t)c.ended, "errors", (json_int_t)c.errors));
}
