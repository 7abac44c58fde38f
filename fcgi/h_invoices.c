/* Invoice routes: list, show, pay (credits, card, Lightning), reissue,
 * admin mark-paid, and the internal resource activity feed. */
#include <stdlib.h>
#include <string.h>

#include "core/invoice_doc.h"
#include "core/json.h"
#include "core/ops/log.h"
#include "core/ops/card.h"
#include "core/ops/invoice.h"
#include "core/ops/lightning.h"
#include "core/ops/plan.h"
#include "core/ops/wallet.h"
#include "core/plan.h"
#include "core/result.h"
#include "core/timeutil.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"

#define INVOICES_MAX	100
#define ITEMS_MAX	500

/*
 * A pending invoice whose automatic payment failed: why, the retries made
 * and planned (billing.dunning_days, before it expires), and when the
 * next one is due (absent when none is left).
 */
static json_t *
dunning_json(const struct db_invoice *inv)
{
	json_t	*o;

	o = json_pack("{s:s,s:o,s:I,s:I}", "reason", inv->dunning_reason,
	    "failed_at", http_time(inv->dunning_failed_at), "retries_made",
	    (json_int_t)inv->dunning_attempt, "retries_planned",
	    (json_int_t)(inv->dunning_planned > inv->dunning_attempt ?
	    inv->dunning_planned : inv->dunning_attempt));
	if (o != NULL && inv->dunning_next_at != 0)
		json_object_set_new(o, "next_retry_at",
		    http_time(inv->dunning_next_at));
	return o;
}

json_t *
http_invoice_json(struct db *db, const struct db_invoice *inv, int items)
{
	struct db_item	*its;
	json_t		*o, *a, *it;
	size_t		 n, i;

	o = json_pack("{s:o,s:s,s:s,s:s,s:I,s:o,s:o}", "id", http_id(inv->id),
	    "number", inv->number, "status", inv->status, "currency",
	    inv->currency, "total", (json_int_t)inv->total, "period_start",
	    http_time(inv->period_start), "period_end",
	    http_time(inv->period_end));
	if (o == NULL)
		return NULL;
	if (inv->expires_at != 0)
		json_object_set_new(o, "expires_at", http_time(inv->expires_at));
	if (inv->paid_at != 0)
		json_object_set_new(o, "paid_at", http_time(inv->paid_at));
	if (inv->paid_via[0] != '\0')
		json_object_set_new(o, "paid_via", json_string(inv->paid_via));
	if (strcmp(inv->status, "pending") == 0 && inv->dunning_failed_at != 0)
		json_object_set_new(o, "dunning", dunning_json(inv));
	if (!items || (its = calloc(ITEMS_MAX, sizeof(*its))) == NULL)
		return o;
	if (op_invoice_items(db, inv->id, ITEMS_MAX, its, &n) == TALLY_OK) {
		a = json_array();
		for (i = 0; i < n; i++) {
			it = json_pack("{s:s,s:I}", "description",
			    its[i].description, "amount",
			    (json_int_t)its[i].amount);
			if (its[i].resource_id[0] != '\0')
				json_object_set_new(it, "resource_id",
				    json_string(its[i].resource_id));
			if (its[i].plan[0] != '\0')
				json_object_set_new(it, "plan",
				    json_string(its[i].plan));
			/* A coupon's line (its own, negative). */
			if (its[i].redemption_id != 0)
				json_object_set_new(it, "discount",
				    json_true());
			json_array_append_new(a, it);
		}
		json_object_set_new(o, "items", a);
	}
	free(its);
	return o;
}

void
h_invoices_list(struct http_req *req)
{
	struct db_invoice *invs;
	json_t		*a;
	int64_t		 limit;
	size_t		 n, i;
	int		 rc;

	if (http_limit_or_respond(req, 50, &limit) != TALLY_OK)
		return;
	if ((invs = calloc((size_t)limit, sizeof(*invs))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	rc = op_invoice_list(req->db, req->account.id, (size_t)limit, invs, &n);
	if (rc != TALLY_OK) {
		free(invs);
		http_fail(req, rc, NULL, NULL);
		return;
	}
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, http_invoice_json(req->db, &invs[i],
		    0));
	free(invs);
	http_reply(req, 200, json_pack("{s:o}", "invoices", a));
}

/* The {id} invoice of this account; 404 set when it is not one. */
static int
invoice_or_respond(struct http_req *req, struct db_invoice *inv)
{
	int64_t	 id = http_parse_id(req->caps.v[0]);
	int	 rc;

	rc = id < 0 ? TALLY_E_NOTFOUND : op_invoice_get(req->db,
	    req->account.id, id, inv);
	if (rc != TALLY_OK)
		http_fail(req, rc, rc == TALLY_E_NOTFOUND ? "no such invoice" :
		    NULL, NULL);
	return rc;
}

void
h_invoice_get(struct http_req *req)
{
	struct db_invoice inv;

	if (invoice_or_respond(req, &inv) != TALLY_OK)
		return;
	http_reply(req, 200, http_invoice_json(req->db, &inv, 1));
}

/*
 * The printable document: the account's invoice as an HTML page in its
 * locale (or ?lang=en|de), under a CSP that lets nothing run or load.
 */
void
h_invoice_document(struct http_req *req)
{
	const struct core_config *cfg = &req->app->cfg;
	static __thread char csp[512];
	struct op_invoice_doc doc;
	struct core_invoice_doc d;
	struct core_doc_line *lines = NULL;
	char		 lang[8], (*detail)[1100] = NULL, *html;
	int64_t		 id = http_parse_id(req->caps.v[0]);
	size_t		 i, len;
	int		 rc;

	memset(&doc, 0, sizeof(doc));
	rc = id < 0 ? TALLY_E_NOTFOUND : op_invoice_document(req->db,
	    req->account.id, id, &doc);
	if (rc != TALLY_OK)
		goto fail;
	memset(&d, 0, sizeof(d));
	d.locale = req->account.locale;
	if (http_query(req, "lang", lang, sizeof(lang)) == 1 &&
	    (strcmp(lang, "en") == 0 || strcmp(lang, "de") == 0))
		d.locale = lang;
	d.seller_name = cfg->seller_name;
	d.seller_address = cfg->seller_address;
	d.seller_tax_id = cfg->seller_tax_id;
	d.seller_email = cfg->seller_email;
	d.buyer_email = req->account.email;
	d.buyer_id = req->account.user_id;
	d.number = doc.inv.number;
	d.status = doc.inv.status;
	d.currency = doc.inv.currency;
	d.paid_via = doc.inv.paid_via;
	d.issued_at = doc.inv.created_at;
	d.expires_at = doc.inv.expires_at;
	d.paid_at = doc.inv.paid_at;
	d.period_start = doc.inv.period_start;
	d.period_end = doc.inv.period_end;
	d.total = doc.inv.total;
	if (doc.nitems > 0 &&
	    ((lines = calloc(doc.nitems, sizeof(*lines))) == NULL ||
	    (detail = calloc(doc.nitems, sizeof(*detail))) == NULL)) {
		rc = TALLY_E_NOMEM;
		goto fail;
	}
	for (i = 0; i < doc.nitems; i++) {
		lines[i].description = doc.items[i].description;
		lines[i].amount = doc.items[i].amount;
		lines[i].discount = doc.items[i].redemption_id != 0;
		if (doc.items[i].resource_id[0] != '\0') {
			snprintf(detail[i], sizeof(detail[i]), "%s%s%s",
			    doc.items[i].resource_id, doc.items[i].plan[0] ?
			    " \xc2\xb7 " : "", doc.items[i].plan);
			lines[i].detail = detail[i];
		}
	}
	d.lines = lines;
	d.nlines = doc.nitems;
	if ((rc = core_invoice_doc_html(&d, &html, &len)) != TALLY_OK)
		goto fail;
	if (csp[0] == '\0')
		core_invoice_doc_csp(csp, sizeof(csp));
	http_reply_html(req, html, csp);
	free(detail);
	free(lines);
	op_invoice_doc_free(&doc);
	return;
fail:
	free(detail);
	free(lines);
	op_invoice_doc_free(&doc);
	http_fail(req, rc, rc == TALLY_E_NOTFOUND ? "no such invoice" : NULL,
	    NULL);
}

/* Why an invoice that is not pending cannot be paid. */
static const char *
not_payable(const struct db_invoice *inv)
{
	if (strcmp(inv->status, "paid") == 0)
		return "this invoice is paid already";
	if (strcmp(inv->status, "expired") == 0)
		return "this invoice expired; request a new one "
		    "(reissue) to pay";
	return "this invoice was voided";
}

struct pay_call {
	int64_t		 id;
	struct db_invoice inv;
	struct db_ln	 ln;
	int		 paid;
	char		 err[256];
};

static int
pay_credits_tx(struct http_req *req, void *arg)
{
	struct pay_call	*c = arg;
	int		 rc;

	rc = op_invoice_pay_credits_tx(req->db, &req->app->cfg, &req->account,
	    c->id, req->now, &c->inv);
	if (rc == TALLY_E_CONFLICT)
		req->err_message = not_payable(&c->inv);
	else if (rc == TALLY_E_INSUFFICIENT)
		req->err_message = "not enough credits to pay this invoice; "
		    "nothing was changed";
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 200, http_invoice_json(req->db, &c->inv, 1));
	return TALLY_OK;
}

static int
pay_lightning_tx(struct http_req *req, void *arg)
{
	struct pay_call	*c = arg;
	int		 rc;

	rc = op_invoice_pay_lightning_tx(req->db, &req->app->cfg, c->id,
	    req->now, &c->inv, &c->ln, &c->paid, c->err, sizeof(c->err));
	if (rc != TALLY_OK)
		return rc;
	if (c->paid) {
		/* It was paid meanwhile (a lost webhook): show it paid. */
		http_reply(req, 200, http_invoice_json(req->db, &c->inv, 1));
		return TALLY_OK;
	}
	http_reply(req, 200, http_lightning_json(&c->ln));
	return TALLY_OK;
}

/* Charge the saved card now for the invoice (an explicit payer's click). */
static void
pay_saved_card(struct http_req *req, struct pay_call *c)
{
	char		 msg[512];
	int		 rc, result;

	rc = op_invoice_pay_saved_card(req->db, &req->app->cfg, &req->account,
	    &c->inv, req->now, &result, msg, sizeof(msg));
	if (rc != TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return;
	}
	switch (result) {
	case CARD_CHARGED:
		http_reply(req, 200, http_invoice_json(req->db, &c->inv, 1));
		return;
	case CARD_NONE:
		http_bad_field(req, "use_saved_card", "no card is saved");
		return;
	case CARD_ERROR:
		http_fail(req, TALLY_E_PROVIDER, NULL, NULL);
		return;
	default:
		http_fail(req, TALLY_E_PAYMENT, msg, NULL);
		return;
	}
}

void
h_invoice_pay(struct http_req *req)
{
	const struct core_config *cfg = &req->app->cfg;
	struct pay_call	 c;
	const char	*method;
	const json_t	*saved;
	char		 url[1100];
	int		 rc;

	memset(&c, 0, sizeof(c));
	if (invoice_or_respond(req, &c.inv) != TALLY_OK)
		return;
	c.id = c.inv.id;
	if (core_json_str(req->json, "method", 1, 1, 16, &method) !=
	    TALLY_OK || (strcmp(method, "credits") != 0 &&
	    strcmp(method, "card") != 0 && strcmp(method, "lightning") != 0)) {
		http_bad_field(req, "method", "method must be \"credits\", "
		    "\"card\" or \"lightning\"");
		return;
	}
	if (strcmp(c.inv.status, "pending") != 0) {
		http_fail(req, TALLY_E_CONFLICT, not_payable(&c.inv), NULL);
		return;
	}
	if (strcmp(method, "credits") == 0) {
		http_tx(req, pay_credits_tx, &c);
		return;
	}
	if (strcmp(method, "lightning") == 0) {
		if (!http_lightning_configured(cfg)) {
			http_bad_field(req, "method", "Lightning payments are "
			    "not configured on this server");
			return;
		}
		http_tx(req, pay_lightning_tx, &c);
		return;
	}
	if (cfg->stripe_secret_key[0] == '\0') {
		http_bad_field(req, "method", "card payments are not "
		    "configured on this server");
		return;
	}
	saved = json_object_get(req->json, "use_saved_card");
	if (saved != NULL && !json_is_boolean(saved)) {
		http_bad_field(req, "use_saved_card", "use_saved_card must be "
		    "true or false");
		return;
	}
	if (json_is_true(saved)) {
		pay_saved_card(req, &c);
		return;
	}
	rc = op_card_invoice_checkout(cfg, c.id, c.inv.number, c.inv.total,
	    req->account.email, req->now, url, sizeof(url), c.err,
	    sizeof(c.err));
	if (rc != TALLY_OK) {
		core_log("error", "stripe.invoice_checkout_failed", json_pack(
		    "{s:s,s:s}", "req", req->id, "error", c.err));
		http_fail(req, rc, NULL, NULL);
		return;
	}
	http_reply(req, 200, json_pack("{s:s}", "checkout_url", url));
}

static int
reissue_tx(struct http_req *req, void *arg)
{
	struct pay_call	*c = arg;
	int		 rc;

	rc = op_invoice_reissue_tx(req->db, &req->app->cfg, &req->account,
	    c->id, req->now, &c->inv);
	if (rc == TALLY_E_CONFLICT)
		req->err_message = "only an expired or voided invoice whose "
		    "period is still due can be reissued";
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 201, http_invoice_json(req->db, &c->inv, 1));
	return TALLY_OK;
}

void
h_invoice_reissue(struct http_req *req)
{
	struct pay_call	 c;

	memset(&c, 0, sizeof(c));
	if (invoice_or_respond(req, &c.inv) != TALLY_OK)
		return;
	c.id = c.inv.id;
	http_tx(req, reissue_tx, &c);
}

struct mark_call {
	int64_t		 id;
	const char	*actor, *reference, *note;
	struct db_invoice inv;
};

static int
mark_tx(struct http_req *req, void *arg)
{
	struct mark_call *m = arg;
	int		 rc;

	rc = op_invoice_mark_paid_tx(req->db, &req->app->cfg, m->id, m->actor,
	    m->reference, m->note, req->now, &m->inv);
	if (rc == TALLY_E_CONFLICT)
		req->err_message = "only a pending invoice can be marked paid";
	else if (rc == TALLY_E_NOTFOUND)
		req->err_message = "no such invoice";
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 200, http_invoice_json(req->db, &m->inv, 1));
	return TALLY_OK;
}

void
h_admin_mark_paid(struct http_req *req)
{
	struct mark_call m;

	memset(&m, 0, sizeof(m));
	if ((m.id = http_parse_id(req->caps.v[0])) < 0) {
		http_fail(req, TALLY_E_NOTFOUND, "no such invoice", NULL);
		return;
	}
	if (core_json_str(req->json, "actor", 0, 1, LIMIT_ACTOR, &m.actor) !=
	    TALLY_OK) {
		http_bad_field(req, "actor", "actor must be a string of 1 to "
		    "100 characters");
		return;
	}
	if (m.actor == NULL && req->actor[0] != '\0')
		m.actor = req->actor;
	if (m.actor == NULL) {
		http_bad_field(req, "actor", "name the person: actor in the "
		    "body or the X-Actor header");
		return;
	}
	if (core_json_str(req->json, "reference", 0, 0, 255, &m.reference) !=
	    TALLY_OK) {
		http_bad_field(req, "reference", "reference must be a string "
		    "of at most 255 characters");
		return;
	}
	if (core_json_str(req->json, "note", 0, 0, 500, &m.note) != TALLY_OK) {
		http_bad_field(req, "note", "note must be a string of at most "
		    "500 characters");
		return;
	}
	http_tx(req, mark_tx, &m);
}

struct activity_call {
	struct tally_account account;
	const char	*type, *resource, *plan;
	int64_t		 at;
	int		 duplicate;
};

static int
activity_tx(struct http_req *req, void *arg)
{
	struct activity_call *a = arg;
	int		 rc;

	rc = op_activity_record_tx(req->db, &req->app->cfg, a->account.id,
	    a->resource, a->type, a->plan, a->at, req->now, &a->duplicate);
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 202, json_pack("{s:b}", "recorded", !a->duplicate));
	return TALLY_OK;
}

void
h_internal_activity(struct http_req *req)
{
	struct activity_call a;
	const char	*user, *at;
	int		 rc;

	memset(&a, 0, sizeof(a));
	if (core_json_str(req->json, "user_id", 1, 1, LIMIT_USER_ID, &user) !=
	    TALLY_OK) {
		http_bad_field(req, "user_id", "user_id must be a string of 1 "
		    "to 255 characters");
		return;
	}
	if (core_json_str(req->json, "type", 1, 1, 16, &a.type) != TALLY_OK ||
	    core_activity_parse(a.type) < 0) {
		http_bad_field(req, "type", "type must be \"create\", "
		    "\"update\", \"activate\" or \"deactivate\"");
		return;
	}
	if (core_json_str(req->json, "resource_id", 1, 1, 255, &a.resource) !=
	    TALLY_OK) {
		http_bad_field(req, "resource_id", "resource_id must be a "
		    "string of 1 to 255 characters");
		return;
	}
	if (core_json_str(req->json, "plan", 0, 1, 63, &a.plan) != TALLY_OK ||
	    (a.plan != NULL && core_config_plan(&req->app->cfg, a.plan) ==
	    NULL)) {
		http_bad_field(req, "plan", "plan must be the id of a plan "
		    "(GET /api/v1/catalog)");
		return;
	}
	if ((strcmp(a.type, "create") == 0 || strcmp(a.type, "update") == 0) &&
	    a.plan == NULL) {
		http_bad_field(req, "plan", "create and update need a plan");
		return;
	}
	a.at = req->now;
	if (core_json_str(req->json, "at", 0, 1, 40, &at) != TALLY_OK ||
	    (at != NULL && core_time_parse_iso(at, &a.at) != TALLY_OK)) {
		http_bad_field(req, "at", "at must be an ISO 8601 UTC time");
		return;
	}
	if ((rc = op_account_ensure(req->db, user, NULL, NULL, req->now,
	    &a.account)) != TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return;
	}
	http_tx(req, activity_tx, &a);
}
