/* Provider webhooks: verify the raw body, deduplicate, apply once. */
#include <string.h>

#include "core/log.h"
#include "core/op_card.h"
#include "core/result.h"
#include "core/signature.h"
#include "db/db.h"
#include "db/db_pay.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"

/* The effect and its dedupe row commit together: a crash in between lets
 * the provider's retry redo it cleanly. */
static int
hook_tx(struct db *db, void *arg)
{
	struct http_hook *h = arg;
	int		 rc;

	h->duplicate = 0;
	rc = db_webhook_seen(db, h->provider, h->id, h->type, h->now);
	if (rc == TALLY_E_DUPLICATE) {
		h->duplicate = 1;
		return TALLY_OK;
	}
	if (rc != TALLY_OK)
		return rc;
	return h->apply(db, h->cfg, h->event, h->now);
}

void
http_run_hook(struct http_req *req, struct http_hook *h)
{
	int	 rc;

	h->cfg = &req->app->cfg;
	h->now = req->now;
	rc = db_tx(req->db, hook_tx, h);
	core_log(rc == TALLY_OK ? "info" : "error", "webhook", json_pack(
	    "{s:s,s:s,s:s,s:s,s:b,s:s}", "req", req->id, "provider",
	    h->provider, "event", h->id, "type", h->type, "duplicate",
	    h->duplicate, "result", core_strerror(rc)));
	if (rc != TALLY_OK) {
		/* A 5xx makes the provider deliver it again later. */
		http_fail(req, rc == TALLY_E_PROVIDER ? TALLY_E_UNAVAILABLE :
		    rc, NULL, NULL);
		return;
	}
	http_reply(req, 200, json_pack("{s:b}", "received", 1));
}

void
h_webhook_stripe(struct http_req *req)
{
	struct http_hook h;

	memset(&h, 0, sizeof(h));
	if (core_stripe_verify(http_param(req, "HTTP_STRIPE_SIGNATURE"),
	    req->body != NULL ? req->body : "", req->bodylen,
	    req->app->cfg.stripe_webhook_secret, req->now,
	    CORE_STRIPE_TOLERANCE) != TALLY_OK) {
		http_fail(req, TALLY_E_SIGNATURE, NULL, NULL);
		return;
	}
	/* Parsed only once the raw bytes proved to be Stripe's. */
	h.event = json_loadb(req->body, req->bodylen, 0, NULL);
	h.id = json_string_value(json_object_get(h.event, "id"));
	h.type = json_string_value(json_object_get(h.event, "type"));
	if (h.id == NULL || h.type == NULL || strlen(h.id) > 255 ||
	    strlen(h.type) > 64) {
		json_decref(h.event);
		http_fail(req, TALLY_E_JSON, "not a Stripe event", NULL);
		return;
	}
	h.provider = "stripe";
	h.apply = op_card_webhook_tx;
	http_run_hook(req, &h);
	json_decref(h.event);
}
