/* Provider webhooks: verify the raw body, deduplicate, apply once. */
#include <string.h>

#include "core/hook.h"
#include "core/ops/log.h"
#include "core/ops/card.h"
#include "core/ops/lightning.h"
#include "core/ops/webhook.h"
#include "core/result.h"
#include "core/signature.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"

/* A verified provider webhook on its way to its effect. */
struct http_hook {
	const char	*provider;	/* "stripe", "btcpay" */
	json_t		*event;
	const char	*id, *type;	/* the dedupe id and the event type */
	int		 duplicate;
	op_webhook_fn	 apply;
};

static void
run_hook(struct http_req *req, struct http_hook *h)
{
	int	 rc;

	/* The effect and its dedupe row commit together. */
	rc = op_webhook_apply(req->db, &req->app->cfg, h->provider, h->id,
	    h->type, h->event, h->apply, req->now, &h->duplicate);
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

/*
 * The common flow once a provider's signature was checked (verify_rc):
 * parse the body, take its dedupe id (member id_key) and type, and apply
 * it once.
 */
static void
webhook(struct http_req *req, int verify_rc, const char *provider,
    const char *id_key, op_webhook_fn apply)
{
	struct http_hook h;
	struct core_hook ev;

	if (verify_rc != TALLY_OK) {
		http_fail(req, TALLY_E_SIGNATURE, NULL, NULL);
		return;
	}
	/* Parsed only once the raw bytes proved to be the provider's. */
	if (core_hook_parse(req->body, req->bodylen, id_key, &ev) !=
	    TALLY_OK) {
		http_fail(req, TALLY_E_JSON, "not a webhook event", NULL);
		return;
	}
	memset(&h, 0, sizeof(h));
	h.event = ev.json;
	h.id = ev.id;
	h.type = ev.type;
	h.provider = provider;
	h.apply = apply;
	run_hook(req, &h);
	core_hook_free(&ev);
}

void
h_webhook_stripe(struct http_req *req)
{
	webhook(req, core_stripe_verify(http_param(req,
	    "HTTP_STRIPE_SIGNATURE"), req->body != NULL ? req->body : "",
	    req->bodylen, req->app->cfg.stripe_webhook_secret, req->now,
	    CORE_STRIPE_TOLERANCE), "stripe", "id", op_card_webhook_tx);
}

/*
 * BTCPay deduplicates by deliveryId; a redelivery gets a new one, so the
 * effect is idempotent by the BTCPay invoice as well (op_ln_webhook_tx).
 */
void
h_webhook_lightning(struct http_req *req)
{
	webhook(req, core_btcpay_verify(http_param(req, "HTTP_BTCPAY_SIG"),
	    req->body != NULL ? req->body : "", req->bodylen,
	    req->app->cfg.ln_webhook_secret), "btcpay", "deliveryId",
	    op_ln_webhook_tx);
}
