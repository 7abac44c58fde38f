/* Payment method routes: saved card (Stripe) and Lightning auto-pay (NWC). */
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/ops/log.h"
#include "core/ops/card.h"
#include "core/ops/methods.h"
#include "core/ops/nwc.h"
#include "core/result.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"

#define NWC_MAX	2048

void
h_billing_methods(struct http_req *req)
{
	struct op_methods m;
	int		 rc;

	if ((rc = op_methods_get(req->db, req->account.id, &m)) != TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return;
	}
	/* The NWC string itself is never shown back, only that it is set. */
	http_reply(req, 200, json_pack("{s:o,s:b}", "card", m.has_card ?
	    json_pack("{s:s,s:s}", "brand", m.card_brand, "last4",
	    m.card_last4) : json_null(), "nwc", m.has_nwc));
}

void
h_billing_card_setup(struct http_req *req)
{
	char	 url[1100], err[256];
	int	 rc;

	if (req->app->cfg.stripe_secret_key[0] == '\0') {
		http_fail(req, TALLY_E_INVALID, "card payments are not "
		    "configured on this server", NULL);
		return;
	}
	rc = op_card_setup(req->db, &req->app->cfg, &req->account, req->now,
	    url, sizeof(url), err, sizeof(err));
	if (rc != TALLY_OK) {
		if (rc == TALLY_E_PROVIDER)
			core_log("error", "stripe.setup_failed", json_pack(
			    "{s:s,s:s}", "req", req->id, "error", err));
		http_fail(req, rc, NULL, NULL);
		return;
	}
	http_reply(req, 200, json_pack("{s:s}", "checkout_url", url));
}

void
h_billing_card_delete(struct http_req *req)
{
	int	 rc;

	rc = op_card_remove(req->db, &req->app->cfg, &req->account, req->now);
	if (rc != TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return;
	}
	http_reply(req, 200, json_pack("{s:n}", "card"));
}

void
h_billing_nwc_put(struct http_req *req)
{
	const char	*url, *why;
	char		 msg[300];
	int		 rc;

	if (core_json_str(req->json, "url", 1, 1, NWC_MAX, &url) != TALLY_OK) {
		http_bad_field(req, "url", "url must be a Nostr Wallet Connect "
		    "string: nostr+walletconnect://...?relay=...&secret=...");
		return;
	}
	/* Checked as the cascade will use it; the answer never quotes it. */
	if (op_nwc_check(url, &why) != TALLY_OK) {
		snprintf(msg, sizeof(msg), "url is not a usable Nostr Wallet "
		    "Connect string: %s", why);
		http_bad_field(req, "url", msg);
		return;
	}
	if (req->app->cfg.encryption_key[0] == '\0') {
		http_fail(req, TALLY_E_INVALID, "auth.encryption_key is not "
		    "configured, so wallet connections cannot be stored", NULL);
		return;
	}
	rc = op_nwc_store(req->db, &req->app->cfg, &req->account, url,
	    req->now);
	if (rc != TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return;
	}
	http_reply(req, 200, json_pack("{s:b}", "nwc", 1));
}

void
h_billing_nwc_delete(struct http_req *req)
{
	int	 rc;

	rc = op_nwc_remove(req->db, &req->account, req->now);
	if (rc != TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return;
	}
	http_reply(req, 200, json_pack("{s:b}", "nwc", 0));
}
