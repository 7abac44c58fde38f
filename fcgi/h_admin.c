/* Admin routes: credit adjustments, the audit log, event deliveries. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/ops/audit.h"
#include "core/ops/event.h"
#include "core/ops/wallet.h"
#include "core/result.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"

struct adjust {
	const char	*user_id, *reason, *actor;
	int64_t		 amount;
	struct tally_account account;
};

static int
adjust_tx(struct http_req *req, void *arg)
{
	struct adjust	*a = arg;
	struct tally_tx	 tx;
	int		 rc;

	rc = op_credits_adjust_tx(req->db, &a->account, a->amount, a->reason,
	    a->actor, req->now, &tx);
	if (rc != TALLY_OK) {
		if (rc == TALLY_E_INSUFFICIENT)
			req->err_message = "the adjustment would take the "
			    "balance below zero; nothing was changed";
		return rc;
	}
	http_reply(req, 200, json_pack("{s:o,s:I}", "transaction",
	    http_tx_json(&tx), "balance", (json_int_t)tx.balance_after));
	return TALLY_OK;
}

void
h_admin_adjust(struct http_req *req)
{
	struct adjust	 a;
	int		 rc;

	memset(&a, 0, sizeof(a));
	if (core_json_str(req->json, "user_id", 1, 1, LIMIT_USER_ID,
	    &a.user_id) != TALLY_OK) {
		http_bad_field(req, "user_id", "user_id must be a string of "
		    "1 to 255 characters");
		return;
	}
	if (core_json_int(req->json, "amount", 1, INT64_MIN + 1, INT64_MAX,
	    &a.amount, NULL) != TALLY_OK || a.amount == 0) {
		http_bad_field(req, "amount", "amount must be a non-zero "
		    "integer");
		return;
	}
	if (core_json_str(req->json, "reason", 1, 1, LIMIT_REASON,
	    &a.reason) != TALLY_OK) {
		http_bad_field(req, "reason", "reason must be a string of 1 "
		    "to 500 characters");
		return;
	}
	if (core_json_str(req->json, "actor", 0, 1, LIMIT_ACTOR, &a.actor) !=
	    TALLY_OK) {
		http_bad_field(req, "actor", "actor must be a string of 1 to "
		    "100 characters");
		return;
	}
	if (a.actor == NULL && req->actor[0] != '\0')
		a.actor = req->actor;
	if (a.actor == NULL) {
		http_bad_field(req, "actor", "name the person: actor in the "
		    "body or the X-Actor header");
		return;
	}
	rc = op_account_ensure(req->db, a.user_id, NULL, NULL, req->now,
	    &a.account);
	if (rc != TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return;
	}
	http_tx(req, adjust_tx, &a);
}

void
h_admin_audit(struct http_req *req)
{
	struct db_audit	*rows;
	json_t		*a, *o, *details;
	size_t		 n, i;
	int64_t		 limit;
	int		 rc;

	if (http_limit_or_respond(req, 100, &limit) != TALLY_OK)
		return;
	if ((rows = calloc((size_t)limit, sizeof(*rows))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	if ((rc = op_audit_list(req->db, (size_t)limit, rows, &n)) !=
	    TALLY_OK) {
		free(rows);
		http_fail(req, rc, NULL, NULL);
		return;
	}
	a = json_array();
	for (i = 0; i < n; i++) {
		details = json_loads(rows[i].details, 0, NULL);
		o = json_pack("{s:s,s:s,s:s,s:o,s:o}", "actor", rows[i].actor,
		    "action", rows[i].action, "target", rows[i].target,
		    "details", details != NULL ? details :
		    json_string(rows[i].details), "created_at",
		    http_time(rows[i].created_at));
		json_array_append_new(a, o);
	}
	free(rows);
	http_reply(req, 200, json_pack("{s:o}", "entries", a));
}

/* A delivery as the admin routes show it. */
static json_t *
delivery_json(const struct db_delivery *d)
{
	json_t	*data = json_loads(d->data, 0, NULL);

	return json_pack("{s:o,s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o,"
	    "s:o,s:o,s:o}",
	    "id", http_id(d->id), "event_id", d->event_id, "endpoint",
	    d->endpoint, "type", d->type, "status", d->status, "attempts",
	    (json_int_t)d->attempts, "created_at", http_time(d->created_at),
	    "queued_at", http_time(d->queued_at), "next_attempt_at",
	    strcmp(d->status, "pending") == 0 ?
	    http_time(d->next_attempt_at) : json_null(),
	    "last_attempt_at", http_time(d->last_attempt_at),
	    "last_status", d->last_status > 0 ?
	    json_integer(d->last_status) : json_null(),
	    "last_error", d->last_error[0] ? json_string(d->last_error) :
	    json_null(),
	    "delivered_at", http_time(d->delivered_at),
	    "resend_of", d->resend_of > 0 ? http_id(d->resend_of) :
	    json_null(),
	    "data", data != NULL ? data : json_null());
}

void
h_admin_deliveries(struct http_req *req)
{
	struct db_delivery *rows;
	json_t		*a;
	char		 endpoint[CORE_ID_MAX], status[16], buf[32];
	int64_t		 limit, before = 0;
	size_t		 n, i;
	int		 rc, r;

	if (http_limit_or_respond(req, 50, &limit) != TALLY_OK)
		return;
	r = http_query(req, "before", buf, sizeof(buf));
	if (r < 0 || (r > 0 && (before = http_parse_id(buf)) < 0)) {
		http_bad_field(req, "before", "before must be a delivery id");
		return;
	}
	if (http_query(req, "endpoint", endpoint, sizeof(endpoint)) < 0) {
		http_bad_field(req, "endpoint", "endpoint must be the NAME of "
		    "a [webhook.NAME] section");
		return;
	}
	r = http_query(req, "status", status, sizeof(status));
	if (r < 0 || (r > 0 && strcmp(status, "pending") != 0 &&
	    strcmp(status, "delivered") != 0 && strcmp(status, "failed") != 0)) {
		http_bad_field(req, "status", "status must be pending, "
		    "delivered or failed");
		return;
	}
	/* One row more than asked tells whether there is a next page. */
	if ((rows = calloc((size_t)limit + 1, sizeof(*rows))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	rc = op_event_list(req->db, endpoint, status, before,
	    (size_t)limit + 1, rows, &n);
	if (rc != TALLY_OK) {
		free(rows);
		http_fail(req, rc, NULL, NULL);
		return;
	}
	a = json_array();
	for (i = 0; i < n && i < (size_t)limit; i++)
		json_array_append_new(a, delivery_json(&rows[i]));
	http_reply(req, 200, json_pack("{s:o,s:o}", "deliveries", a, "next",
	    n > (size_t)limit ? http_id(rows[limit - 1].id) : json_null()));
	free(rows);
}

struct resend {
	int64_t		 id;
	const char	*actor;
	struct db_delivery d;
};

static int
resend_tx(struct http_req *req, void *arg)
{
	struct resend	*r = arg;
	int		 rc;

	rc = op_event_resend_tx(req->db, &req->app->cfg, r->id, r->actor,
	    req->now, &r->d);
	if (rc == TALLY_E_CONFLICT) {
		req->err_message = strcmp(r->d.status, "pending") == 0 ?
		    "the delivery is still pending: it will be sent" :
		    "its endpoint is no longer configured";
		return rc;
	}
	if (rc == TALLY_E_NOTFOUND)
		req->err_message = "no such delivery";
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 201, delivery_json(&r->d));
	return TALLY_OK;
}

void
h_admin_delivery_resend(struct http_req *req)
{
	struct resend	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	if ((r->id = http_parse_id(req->caps.v[0])) < 0) {
		free(r);
		http_fail(req, TALLY_E_NOTFOUND, "no such delivery", NULL);
		return;
	}
	r->actor = req->actor[0] != '\0' ? req->actor : "admin";
	http_tx(req, resend_tx, r);
	free(r);
}
