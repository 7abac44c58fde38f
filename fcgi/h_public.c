/* Public routes: health, catalog, credit packages. */
#include "core/config.h"
#include "core/ops/log.h"
#include "core/ops/store.h"
#include "core/result.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"

void
h_health(struct http_req *req)
{
	if (op_store_ping(req->db) != TALLY_OK) {
		core_log("warn", "db.unavailable", json_pack("{s:s,s:s}",
		    "req", req->id, "error", op_store_error(req->db)));
		http_reply(req, 503, json_pack("{s:s}", "status",
		    "unavailable"));
		return;
	}
	http_reply(req, 200, json_pack("{s:s}", "status", "ok"));
}

static json_t *
packages_json(const struct core_config *cfg, int with_currency)
{
	json_t	*a = json_array(), *o;
	size_t	 i;

	for (i = 0; i < cfg->npackages; i++) {
		o = json_pack("{s:s,s:s,s:I,s:I}", "id", cfg->packages[i].id,
		    "name", cfg->packages[i].name, "credits",
		    (json_int_t)cfg->packages[i].credits, "price",
		    (json_int_t)cfg->packages[i].price);
		if (o != NULL && with_currency)
			json_object_set_new(o, "currency",
			    json_string(cfg->currency));
		json_array_append_new(a, o);
	}
	return a;
}

void
h_catalog(struct http_req *req)
{
	const struct core_config *cfg = &req->app->cfg;
	const struct core_product *p;
	json_t		*products = json_array(), *plans = json_array();
	json_t		*prices;
	size_t		 i;
	int		 iv;

	for (i = 0; i < cfg->nproducts; i++) {
		p = &cfg->products[i];
		prices = json_object();
		for (iv = 0; iv < CORE_INTERVAL__MAX; iv++)
			json_object_set_new(prices, core_interval_name(iv),
			    p->price[iv] > 0 ? json_integer(p->price[iv]) :
			    json_null());
		json_array_append_new(products, json_pack("{s:s,s:s,s:s,s:o}",
		    "id", p->id, "name", p->name, "billing",
		    p->billing == CORE_BILLING_CREDITS ? "credits" : "invoice",
		    "prices", prices));
	}
	for (i = 0; i < cfg->nplans; i++)
		json_array_append_new(plans, json_pack("{s:s,s:s,s:I}", "id",
		    cfg->plans[i].id, "name", cfg->plans[i].name, "monthly",
		    (json_int_t)cfg->plans[i].monthly));
	http_reply(req, 200, json_pack("{s:s,s:o,s:o,s:o}", "currency",
	    cfg->currency, "products", products, "plans", plans, "packages",
	    packages_json(cfg, 0)));
}

void
h_packages(struct http_req *req)
{
	http_reply(req, 200, json_pack("{s:o}", "packages",
	    packages_json(&req->app->cfg, 1)));
}
