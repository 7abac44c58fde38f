/* Coupon routes: the admin's catalog (create, list, show, deactivate) and
 * a user's redemptions (apply a code, list them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/coupon.h"
#include "core/json.h"
#include "core/ops/coupon.h"
#include "core/result.h"
#include "core/timeutil.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"

#define COUPONS_MAX	100
#define TARGETS_MAX	64	/* ids per list of applies_to */
#define LIMIT_COUPON_INPUT	64	/* characters of a typed code */
/* MariaDB's DATETIME conversions (FROM_UNIXTIME) end in January 2038. */
#define TIME_MAX	((int64_t)2147483647)

/* {"products":[...],"plans":[...],"packages":[...]} of a stored list. */
static json_t *
applies_json(const char *list)
{
	static const char *const kinds[] = { "product", "plan", "package" };
	static const char *const keys[] = { "products", "plans", "packages" };
	json_t		*o, *a[3];
	const char	*p = list, *colon;
	char		 kind[16], id[CORE_ID_MAX];
	size_t		 n, i;

	if (*list == '\0')
		return json_null();
	for (i = 0; i < 3; i++)
		a[i] = json_array();
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		colon = memchr(p, ':', n);
		if (colon != NULL && (size_t)(colon - p) < sizeof(kind) &&
		    n - (size_t)(colon - p) - 1 < sizeof(id)) {
			snprintf(kind, sizeof(kind), "%.*s", (int)(colon - p),
			    p);
			snprintf(id, sizeof(id), "%.*s",
			    (int)(n - (size_t)(colon - p) - 1), colon + 1);
			for (i = 0; i < 3; i++)
				if (strcmp(kind, kinds[i]) == 0)
					json_array_append_new(a[i],
					    json_string(id));
		}
		p += n;
	}
	o = json_object();
	for (i = 0; i < 3; i++)
		json_object_set_new(o, keys[i], a[i]);
	return o;
}

/* The terms every view shows: percent_off or amount_off, duration. */
static void
terms_json(json_t *o, const struct db_coupon *c)
{
	if (c->percent_off > 0)
		json_object_set_new(o, "percent_off",
		    json_integer(c->percent_off));
	else
		json_object_set_new(o, "amount_off",
		    json_integer(c->amount_off));
	json_object_set_new(o, "currency", json_string(c->currency));
	json_object_set_new(o, "duration", json_string(c->duration));
	if (c->duration_periods > 0)
		json_object_set_new(o, "duration_periods",
		    json_integer(c->duration_periods));
}

static json_t *
coupon_json(const struct db_coupon *c)
{
	json_t	*o;

	o = json_pack("{s:o,s:s,s:o,s:o,s:I,s:o,s:b,s:s,s:o}", "id",
	    http_id(c->id), "code", c->code, "applies_to",
	    applies_json(c->applies_to), "max_redemptions",
	    c->max_redemptions >= 0 ? json_integer(c->max_redemptions) :
	    json_null(), "times_redeemed", (json_int_t)c->times_redeemed,
	    "expires_at", http_time(c->expires_at), "active", c->active,
	    "created_by", c->created_by, "created_at",
	    http_time(c->created_at));
	if (o == NULL)
		return NULL;
	terms_json(o, c);
	if (c->name[0] != '\0')
		json_object_set_new(o, "name", json_string(c->name));
	if (c->deactivated_at != 0)
		json_object_set_new(o, "deactivated_at",
		    http_time(c->deactivated_at));
	return o;
}

static json_t *
discount_json(const struct db_redemption *r)
{
	json_t	*o;

	o = json_pack("{s:o,s:s,s:s,s:s,s:I,s:o}", "id", http_id(r->id),
	    "code", r->coupon.code, "target", r->target, "status", r->status,
	    "periods_used", (json_int_t)r->periods_used, "created_at",
	    http_time(r->created_at));
	if (o == NULL)
		return NULL;
	terms_json(o, &r->coupon);
	if (r->coupon.name[0] != '\0')
		json_object_set_new(o, "name", json_string(r->coupon.name));
	if (r->product[0] != '\0')
		json_object_set_new(o, "product", json_string(r->product));
	if (r->purchase_id != 0)
		json_object_set_new(o, "purchase_id", http_id(r->purchase_id));
	return o;
}

/* The message for a coupon error (the code's default otherwise). */
static void
coupon_error(struct http_req *req, int rc)
{
	switch (rc) {
	case TALLY_E_NOTFOUND:
		req->err_message = "no subscription to this product";
		req->err_field = "product";
		break;
	case TALLY_E_CONFLICT:
		req->err_message = "the subscription has ended; activate it "
		    "with the coupon instead";
		req->err_field = "product";
		break;
	case TALLY_E_INVALID:
		req->err_message = "product must be an invoice-billed product";
		req->err_field = "product";
		break;
	default:
		if (rc >= TALLY_E_COUPON_UNKNOWN && rc <= TALLY_E_COUPON_APPLIED)
			req->err_field = "code";
	}
}

/* Append "KIND:ID" for each id of body[key], checked by lookup. */
static int
targets_or_respond(struct http_req *req, const json_t *applies,
    const char *key, const char *kind, int (*known)(const struct core_config *,
    const char *), char *out, size_t outsz)
{
	const json_t	*a = json_object_get(applies, key), *v;
	char		 field[48], msg[160];
	size_t		 i, used = strlen(out);
	int		 n;

	snprintf(field, sizeof(field), "applies_to.%s", key);
	if (a == NULL || json_is_null(a))
		return TALLY_OK;
	snprintf(msg, sizeof(msg), "%s must be a list of at most 64 %s ids "
	    "of the catalog (GET /api/v1/catalog)", field, kind);
	if (!json_is_array(a) || json_array_size(a) > TARGETS_MAX)
		return http_bad_field(req, field, msg);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || !known(&req->app->cfg,
		    json_string_value(v)))
			return http_bad_field(req, field, msg);
		n = snprintf(out + used, outsz - used, "%s%s:%s",
		    used ? " " : "", kind, json_string_value(v));
		if (n < 0 || (size_t)n >= outsz - used)
			return http_bad_field(req, field, msg);
		used += (size_t)n;
	}
	return TALLY_OK;
}

static int
known_product(const struct core_config *cfg, const char *id)
{
	const struct core_product *p = core_config_product(cfg, id);

	/* Credit products are paid from the wallet: nothing to discount. */
	return p != NULL && p->billing == CORE_BILLING_INVOICE;
}

static int
known_plan(const struct core_config *cfg, const char *id)
{
	return core_config_plan(cfg, id) != NULL;
}

static int
known_package(const struct core_config *cfg, const char *id)
{
	return core_config_package(cfg, id) != NULL;
}

struct create_call {
	struct op_coupon_new n;
	char		 applies[CORE_COUPON_TARGETS_MAX + 1];
	struct db_coupon c;
};

static int
create_tx(struct http_req *req, void *arg)
{
	struct create_call *c = arg;
	int		 rc;

	rc = op_coupon_create_tx(req->db, &req->app->cfg, &c->n, req->now,
	    &c->c);
	if (rc == TALLY_E_DUPLICATE) {
		req->err_message = "a coupon with this code exists already";
		req->err_field = "code";
	}
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 201, coupon_json(&c->c));
	return TALLY_OK;
}

void
h_admin_coupon_create(struct http_req *req)
{
	struct create_call *c;
	const json_t	*applies;
	const char	*duration, *expires;
	char		 code[CORE_COUPON_CODE_MAX + 1];
	char		 key[CORE_COUPON_CODE_MAX + 1];
	int		 has_pct, has_amt, has;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	c->n.max_redemptions = -1;
	if (core_json_str(req->json, "code", 1, 1, CORE_COUPON_CODE_MAX,
	    &c->n.code) != TALLY_OK ||
	    core_coupon_code_normalize(c->n.code, code, key) != TALLY_OK) {
		http_bad_field(req, "code", "code must be 1 to 32 of A-Z, 0-9, "
		    "'-' and '_' (compared without case and dashes)");
		goto out;
	}
	if (core_json_str(req->json, "name", 0, 1, 200, &c->n.name) !=
	    TALLY_OK) {
		http_bad_field(req, "name", "name must be a string of 1 to 200 "
		    "characters");
		goto out;
	}
	if (core_json_int(req->json, "percent_off", 0, 1, 100,
	    &c->n.terms.percent_off, &has_pct) != TALLY_OK) {
		http_bad_field(req, "percent_off", "percent_off must be an "
		    "integer from 1 to 100");
		goto out;
	}
	if (core_json_int(req->json, "amount_off", 0, 1, INT64_MAX,
	    &c->n.terms.amount_off, &has_amt) != TALLY_OK) {
		http_bad_field(req, "amount_off", "amount_off must be a "
		    "positive integer (minor units of the billing currency)");
		goto out;
	}
	if (has_pct == has_amt) {
		http_bad_field(req, has_pct ? "amount_off" : "percent_off",
		    "give exactly one of percent_off and amount_off");
		goto out;
	}
	if (core_json_str(req->json, "duration", 1, 1, 16, &duration) !=
	    TALLY_OK || (c->n.terms.duration =
	    core_coupon_duration_parse(duration)) < 0) {
		http_bad_field(req, "duration", "duration must be \"once\", "
		    "\"repeating\" or \"forever\"");
		goto out;
	}
	if (core_json_int(req->json, "duration_periods",
	    c->n.terms.duration == CORE_COUPON_REPEATING, 1, 1200,
	    &c->n.terms.duration_periods, &has) != TALLY_OK ||
	    (has && c->n.terms.duration != CORE_COUPON_REPEATING)) {
		http_bad_field(req, "duration_periods", "duration_periods (1 "
		    "to 1200) is required with duration \"repeating\" and only "
		    "then");
		goto out;
	}
	if (core_json_int(req->json, "max_redemptions", 0, 1, INT64_MAX - 1,
	    &c->n.max_redemptions, &has) != TALLY_OK) {
		http_bad_field(req, "max_redemptions", "max_redemptions must "
		    "be a positive integer, or null for no limit");
		goto out;
	}
	if (!has)
		c->n.max_redemptions = -1;
	if (core_json_str(req->json, "expires_at", 0, 1, 40, &expires) !=
	    TALLY_OK || (expires != NULL && (core_time_parse_iso(expires,
	    &c->n.expires_at) != TALLY_OK || c->n.expires_at <= req->now ||
	    c->n.expires_at > TIME_MAX))) {
		http_bad_field(req, "expires_at", "expires_at must be an ISO "
		    "8601 UTC time in the future (before 2038-01-19), or null");
		goto out;
	}
	applies = json_object_get(req->json, "applies_to");
	if (applies != NULL && !json_is_null(applies) &&
	    !json_is_object(applies)) {
		http_bad_field(req, "applies_to", "applies_to must be an object "
		    "{products, plans, packages}, or null for everything");
		goto out;
	}
	if (targets_or_respond(req, applies, "products", "product",
	    known_product, c->applies, sizeof(c->applies)) != TALLY_OK ||
	    targets_or_respond(req, applies, "plans", "plan", known_plan,
	    c->applies, sizeof(c->applies)) != TALLY_OK ||
	    targets_or_respond(req, applies, "packages", "package",
	    known_package, c->applies, sizeof(c->applies)) != TALLY_OK)
		goto out;
	if (applies != NULL && !json_is_null(applies) && c->applies[0] == '\0') {
		http_bad_field(req, "applies_to", "applies_to names nothing; "
		    "leave it out (or null) for everything");
		goto out;
	}
	c->n.applies_to = c->applies;
	if (core_json_str(req->json, "actor", 0, 1, LIMIT_ACTOR,
	    &c->n.actor) != TALLY_OK) {
		http_bad_field(req, "actor", "actor must be a string of 1 to "
		    "100 characters");
		goto out;
	}
	if (c->n.actor == NULL && req->actor[0] != '\0')
		c->n.actor = req->actor;
	if (c->n.actor == NULL) {
		http_bad_field(req, "actor", "name the person: actor in the "
		    "body or the X-Actor header");
		goto out;
	}
	http_tx(req, create_tx, c);
out:
	free(c);
}

void
h_admin_coupons_list(struct http_req *req)
{
	struct db_coupon *cs;
	json_t		*a;
	int64_t		 limit;
	size_t		 n, i;
	int		 rc;

	if (http_limit_or_respond(req, 50, &limit) != TALLY_OK)
		return;
	if ((cs = calloc((size_t)limit, sizeof(*cs))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	if ((rc = op_coupon_list(req->db, (size_t)limit, cs, &n)) != TALLY_OK) {
		free(cs);
		http_fail(req, rc, NULL, NULL);
		return;
	}
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, coupon_json(&cs[i]));
	free(cs);
	http_reply(req, 200, json_pack("{s:o}", "coupons", a));
}

void
h_admin_coupon_get(struct http_req *req)
{
	struct db_coupon c;
	int64_t		 id = http_parse_id(req->caps.v[0]);
	int		 rc;

	rc = id < 0 ? TALLY_E_NOTFOUND : op_coupon_get(req->db, id, &c);
	if (rc != TALLY_OK) {
		http_fail(req, rc, rc == TALLY_E_NOTFOUND ? "no such coupon" :
		    NULL, NULL);
		return;
	}
	http_reply(req, 200, coupon_json(&c));
}

struct deactivate_call {
	int64_t		 id;
	struct db_coupon c;
};

static int
deactivate_tx(struct http_req *req, void *arg)
{
	struct deactivate_call *d = arg;
	int		 rc;

	rc = op_coupon_deactivate_tx(req->db, d->id, req->actor, req->now,
	    &d->c);
	if (rc == TALLY_E_NOTFOUND)
		req->err_message = "no such coupon";
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 200, coupon_json(&d->c));
	return TALLY_OK;
}

void
h_admin_coupon_deactivate(struct http_req *req)
{
	struct deactivate_call d;

	memset(&d, 0, sizeof(d));
	if ((d.id = http_parse_id(req->caps.v[0])) < 0) {
		http_fail(req, TALLY_E_NOTFOUND, "no such coupon", NULL);
		return;
	}
	/* A POST without a body: the X-Actor header names the person. */
	if (req->actor[0] == '\0') {
		http_bad_field(req, "X-Actor", "name the person in the X-Actor "
		    "header");
		return;
	}
	http_tx(req, deactivate_tx, &d);
}

struct apply_call {
	const char	*code, *product;
	struct db_redemption r;
};

static int
apply_tx(struct http_req *req, void *arg)
{
	struct apply_call *a = arg;
	int		 rc;

	rc = op_coupon_apply_tx(req->db, &req->app->cfg, &req->account,
	    a->code, a->product, req->now, &a->r);
	if (rc != TALLY_OK) {
		coupon_error(req, rc);
		return rc;
	}
	http_reply(req, 201, discount_json(&a->r));
	return TALLY_OK;
}

/* The optional "coupon" (or "code") string field; 400 set when bad. */
int
http_coupon_or_respond(struct http_req *req, const char *field,
    int required, const char **code)
{
	char	 msg[96];

	if (core_json_str(req->json, field, required, 1, LIMIT_COUPON_INPUT,
	    code) != TALLY_OK) {
		snprintf(msg, sizeof(msg), "%s must be a coupon code, a string "
		    "of 1 to 64 characters", field);
		return http_bad_field(req, field, msg);
	}
	return TALLY_OK;
}

void
h_coupon_apply(struct http_req *req)
{
	struct apply_call a;
	const json_t	*plans;

	memset(&a, 0, sizeof(a));
	if (http_coupon_or_respond(req, "code", 1, &a.code) != TALLY_OK)
		return;
	if (core_json_str(req->json, "product", 0, 1, 63, &a.product) !=
	    TALLY_OK || (a.product != NULL && !known_product(&req->app->cfg,
	    a.product))) {
		http_bad_field(req, "product", "product must be the id of an "
		    "invoice-billed product (GET /api/v1/catalog)");
		return;
	}
	plans = json_object_get(req->json, "plans");
	if (plans != NULL && !json_is_boolean(plans)) {
		http_bad_field(req, "plans", "plans must be true or false");
		return;
	}
	if ((a.product != NULL) == json_is_true(plans)) {
		http_bad_field(req, "product", "name a product, or set "
		    "\"plans\": true for the per-resource plans (one of them)");
		return;
	}
	http_tx(req, apply_tx, &a);
}

void
h_coupons_mine(struct http_req *req)
{
	struct db_redemption *rs;
	json_t		*a;
	size_t		 n, i;
	int		 rc;

	if ((rs = calloc(COUPONS_MAX, sizeof(*rs))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	if ((rc = op_coupon_redemptions(req->db, req->account.id, COUPONS_MAX,
	    rs, &n)) != TALLY_OK) {
		free(rs);
		http_fail(req, rc, NULL, NULL);
		return;
	}
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, discount_json(&rs[i]));
	free(rs);
	http_reply(req, 200, json_pack("{s:o}", "discounts", a));
}
