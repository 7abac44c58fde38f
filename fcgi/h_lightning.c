/* Lightning routes: buying credits by BOLT11, and helpers for invoices. */
#include <string.h>

#include "core/ops/lightning.h"
#include "core/result.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"

struct ln_call {
	const struct core_package *pk;
	const char	*coupon;
	struct tally_purchase p;
	struct db_ln	 ln;
	char		 err[256];
};

json_t *
http_lightning_json(const struct db_ln *ln)
{
	return json_pack("{s:s,s:s,s:o}", "bolt11", ln->bolt11,
	    "checkout_url", ln->checkout_url, "expires_at",
	    http_time(ln->expires_at));
}

static int
purchase_tx(struct http_req *req, void *arg)
{
	struct ln_call	*c = arg;
	json_t		*o;
	int		 rc;

	rc = op_ln_purchase_tx(req->db, &req->app->cfg, &req->account, c->pk,
	    c->coupon, req->now, &c->p, &c->ln, c->err, sizeof(c->err));
	if (rc != TALLY_OK)
		return rc;
	o = http_purchase_json(&c->p);
	json_object_del(o, "checkout_url");
	json_object_set_new(o, "lightning", http_lightning_json(&c->ln));
	http_reply(req, 201, o);
	return TALLY_OK;
}

int
http_ln_refresh(struct http_req *req, const char *type, int64_t id)
{
	return op_ln_refresh(req->db, &req->app->cfg, type, id, req->now);
}

int
http_lightning_configured(const struct core_config *cfg)
{
	return cfg->ln_api_base[0] != '\0' && cfg->ln_api_key[0] != '\0' &&
	    cfg->ln_store_id[0] != '\0';
}

void
h_lightning_purchase(struct http_req *req, const struct core_package *pk,
    const char *coupon)
{
	struct ln_call	 c;

	if (!http_lightning_configured(&req->app->cfg)) {
		http_bad_field(req, "method", "Lightning payments are not "
		    "configured on this server");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.pk = pk;
	c.coupon = coupon;
	http_tx(req, purchase_tx, &c);
}
