/* Quotas: a user's (GET /usage), an app's view of one user
 * (GET /internal/usage/{user}), and units an app metered itself
 * (POST /internal/usage/record). */
#include <string.h>

#include "core/json.h"
#include "core/ops/quota.h"
#include "core/result.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"

static json_t *
product_json(const struct op_quota_product *u)
{
	json_t	*qs = json_array();
	size_t	 i;

	for (i = 0; i < u->nq; i++)
		json_array_append_new(qs, json_pack("{s:s,s:I,s:I,s:I}",
		    "metric", u->q[i].metric, "limit",
		    (json_int_t)u->q[i].limit, "used",
		    (json_int_t)u->q[i].used, "remaining", (json_int_t)(
		    u->q[i].used >= u->q[i].limit ? 0 :
		    u->q[i].limit - u->q[i].used)));
	return json_pack("{s:s,s:s,s:o,s:o,s:o}", "product", u->p->id,
	    "status", u->status, "period_start", http_time(u->period_start),
	    "resets_at", http_time(u->period_end), "quotas", qs);
}

static void
list_reply(struct http_req *req, const char *user)
{
	struct op_quota_product us[CORE_CATALOG_MAX];
	json_t	*a;
	size_t	 n, i;
	int	 rc;

	if ((rc = op_quota_list(req->db, &req->app->cfg, user, us, &n)) !=
	    TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return;
	}
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, product_json(&us[i]));
	http_reply(req, 200, json_pack("{s:o}", "usage", a));
}

void
h_usage(struct http_req *req)
{
	list_reply(req, req->claims.sub);
}

void
h_internal_usage(struct http_req *req)
{
	list_reply(req, req->caps.v[0]);
}

struct record {
	const char	*user, *product, *metric;
	int64_t		 amount;
};

static int
record_tx(struct http_req *req, void *arg)
{
	struct record	*r = arg;
	struct op_quota_product u;
	const char	*field;
	int		 rc;

	rc = op_quota_record(req->db, &req->app->cfg, r->user, r->product,
	    r->metric, r->amount, req->now, &u, &field);
	if (rc == TALLY_E_INVALID) {
		req->err_field = field;
		req->err_message = strcmp(field, "product") == 0 ?
		    "no such product" : "the product has no quota of this "
		    "metric";
		return rc;
	}
	if (rc == TALLY_E_NOTFOUND) {
		req->err_message = "the user has no subscription to this "
		    "product";
		return rc;
	}
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 200, product_json(&u));
	return TALLY_OK;
}

void
h_internal_usage_record(struct http_req *req)
{
	struct record	 r;

	memset(&r, 0, sizeof(r));
	if (core_json_str(req->json, "user_id", 1, 1, 255, &r.user) !=
	    TALLY_OK) {
		http_bad_field(req, "user_id", "user_id must be a string of "
		    "1 to 255 characters");
		return;
	}
	if (core_json_str(req->json, "product", 1, 1, 63, &r.product) !=
	    TALLY_OK) {
		http_bad_field(req, "product", "product must be a product id");
		return;
	}
	if (core_json_str(req->json, "metric", 1, 1, 63, &r.metric) !=
	    TALLY_OK) {
		http_bad_field(req, "metric", "metric must be a quota's name");
		return;
	}
	if (core_json_int(req->json, "amount", 1, 1, 1000000000, &r.amount,
	    NULL) != TALLY_OK) {
		http_bad_field(req, "amount", "amount must be an integer from "
		    "1 to 1000000000");
		return;
	}
	http_tx(req, record_tx, &r);
}
