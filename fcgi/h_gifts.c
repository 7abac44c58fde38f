/* Gift routes: create, look up, redeem, cancel, list, and the signup hook. */
#include <stdlib.h>
#include <string.h>

#include "core/gift.h"
#include "core/json.h"
#include "core/ops/gift.h"
#include "core/ops/wallet.h"
#include "core/result.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"

#define GIFTS_MAX	100
#define LIMIT_MESSAGE	500

struct gift_call {
	int64_t		 credits, id;
	const char	*type, *target, *message;
	char		 code[CORE_GIFT_SYMBOLS + 1];
	char		 email[321];
	struct tally_account account;
	struct db_gift	 g;
	struct db_gift	*list;
	size_t		 n;
};

/* The public form of a gift; the creator also sees whom it is for. */
static json_t *
gift_json(const struct db_gift *g, int for_creator)
{
	char	 shown[CORE_GIFT_SHOWN];
	json_t	*o;

	core_gift_code_format(g->code, shown);
	o = json_pack("{s:o,s:s,s:I,s:s,s:s,s:o}", "id", http_id(g->id),
	    "code", shown, "credits", (json_int_t)g->credits, "type", g->type,
	    "status", g->status, "created_at", http_time(g->created_at));
	if (o == NULL)
		return NULL;
	if (g->has_message)
		json_object_set_new(o, "message", json_string(g->message));
	if (g->redeemed_at != 0)
		json_object_set_new(o, "redeemed_at",
		    http_time(g->redeemed_at));
	if (for_creator && g->has_target)
		json_object_set_new(o, "target_email",
		    json_string(g->target_email));
	return o;
}

static int
create_tx(struct http_req *req, void *arg)
{
	struct gift_call *c = arg;
	int		 rc;

	rc = op_gift_create_tx(req->db, &req->app->cfg, &req->account,
	    c->credits, c->type, c->target, c->message, req->now, &c->g);
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 201, gift_json(&c->g, 1));
	return TALLY_OK;
}

void
h_gift_create(struct http_req *req)
{
	struct gift_call c;

	memset(&c, 0, sizeof(c));
	if (core_json_int(req->json, "credits", 1, 1, INT64_MAX, &c.credits,
	    NULL) != TALLY_OK) {
		http_bad_field(req, "credits", "credits must be a positive "
		    "integer");
		return;
	}
	if (core_json_str(req->json, "type", 1, 1, 16, &c.type) != TALLY_OK ||
	    (strcmp(c.type, "simple") != 0 &&
	    strcmp(c.type, "personalized") != 0)) {
		http_bad_field(req, "type", "type must be \"simple\" or "
		    "\"personalized\"");
		return;
	}
	if (core_json_str(req->json, "message", 0, 0, LIMIT_MESSAGE,
	    &c.message) != TALLY_OK) {
		http_bad_field(req, "message", "message must be a string of at "
		    "most 500 characters");
		return;
	}
	if (core_json_str(req->json, "target_email", 0, 0, LIMIT_EMAIL,
	    &c.target) != TALLY_OK) {
		http_bad_field(req, "target_email", "target_email must be an "
		    "email address");
		return;
	}
	if (strcmp(c.type, "personalized") == 0) {
		if (c.target == NULL || core_email_normalize(c.target, c.email,
		    sizeof(c.email)) != TALLY_OK) {
			http_bad_field(req, "target_email", "a personalized "
			    "gift needs target_email, an email address");
			return;
		}
		c.target = c.email;
	} else
		c.target = NULL;	/* a simple gift is for anyone */
	http_tx(req, create_tx, &c);
}

void
h_gift_public(struct http_req *req)
{
	struct db_gift	 g;
	char		 code[CORE_GIFT_SYMBOLS + 1];
	json_t		*o;
	int		 rc;

	rc = core_gift_code_normalize(req->caps.v[0], code);
	if (rc == TALLY_OK)
		rc = op_gift_by_code(req->db, code, &g);
	if (rc != TALLY_OK) {
		http_fail(req, rc == TALLY_E_INVALID ? TALLY_E_NOTFOUND : rc,
		    rc == TALLY_E_INVALID || rc == TALLY_E_NOTFOUND ?
		    "no such gift code" : NULL, NULL);
		return;
	}
	/* Neither the target email nor the creator, nor the internal id. */
	o = gift_json(&g, 0);
	json_object_del(o, "id");
	json_object_del(o, "created_at");
	json_object_del(o, "redeemed_at");
	http_reply(req, 200, o);
}

static void
list(struct http_req *req, int received)
{
	struct db_gift	*gs;
	json_t		*a;
	size_t		 n, i;
	int		 rc;

	if ((gs = calloc(GIFTS_MAX, sizeof(*gs))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	rc = op_gift_list(req->db, req->account.id, received, GIFTS_MAX, gs,
	    &n);
	if (rc != TALLY_OK) {
		free(gs);
		http_fail(req, rc, NULL, NULL);
		return;
	}
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, gift_json(&gs[i], !received));
	free(gs);
	http_reply(req, 200, json_pack("{s:o}", "gifts", a));
}

void
h_gifts_created(struct http_req *req)
{
	list(req, 0);
}

void
h_gifts_received(struct http_req *req)
{
	list(req, 1);
}

static int
redeem_tx(struct http_req *req, void *arg)
{
	struct gift_call *c = arg;
	struct tally_tx	 tx;
	int		 rc;

	rc = op_gift_redeem_tx(req->db, &req->account, c->code, req->now,
	    &c->g, &tx);
	switch (rc) {
	case TALLY_OK:
		break;
	case TALLY_E_NOTFOUND:
		req->err_message = "no such gift code";
		return rc;
	case TALLY_E_FORBIDDEN:
		req->err_message = "this gift is for another email address";
		return rc;
	case TALLY_E_CONFLICT:
		if (strcmp(c->g.status, "active") == 0)
			req->err_message = "you cannot redeem your own gift; "
			    "cancel it to get the credits back";
		else
			req->err_message = strcmp(c->g.status, "redeemed") ==
			    0 ? "this gift was redeemed already" :
			    "this gift was canceled";
		return rc;
	default:
		return rc;
	}
	http_reply(req, 200, json_pack("{s:o,s:I}", "gift",
	    gift_json(&c->g, 0), "balance", (json_int_t)tx.balance_after));
	return TALLY_OK;
}

void
h_gift_redeem(struct http_req *req)
{
	struct gift_call c;
	int64_t		 attempt, retry;
	int		 rc;

	memset(&c, 0, sizeof(c));
	rc = op_gift_attempt_begin(req->db, req->account.id, req->now,
	    &attempt, &retry);
	if (rc != TALLY_OK) {
		req->retry_after = retry;
		http_fail(req, rc, rc == TALLY_E_RATELIMIT ? "too many failed "
		    "gift redemptions; try again later" : NULL, NULL);
		return;
	}
	if (core_gift_code_normalize(req->caps.v[0], c.code) != TALLY_OK) {
		http_fail(req, TALLY_E_NOTFOUND, "no such gift code", NULL);
		return;
	}
	http_tx(req, redeem_tx, &c);
	/* Only guesses (an unknown code, someone else's gift) count. */
	if (req->status != 404 && req->status != 403)
		(void)op_gift_attempt_ok(req->db, attempt);
}

static int
cancel_tx(struct http_req *req, void *arg)
{
	struct gift_call *c = arg;
	int		 rc;

	rc = op_gift_cancel_tx(req->db, &req->account, c->id, req->now, &c->g);
	if (rc == TALLY_E_NOTFOUND)
		req->err_message = "no such gift";
	else if (rc == TALLY_E_CONFLICT)
		req->err_message = strcmp(c->g.status, "redeemed") == 0 ?
		    "this gift was redeemed already" :
		    "this gift was canceled already";
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 200, gift_json(&c->g, 1));
	return TALLY_OK;
}

void
h_gift_cancel(struct http_req *req)
{
	struct gift_call c;

	memset(&c, 0, sizeof(c));
	if ((c.id = http_parse_id(req->caps.v[0])) < 0) {
		http_fail(req, TALLY_E_NOTFOUND, "no such gift", NULL);
		return;
	}
	http_tx(req, cancel_tx, &c);
}

static int
pending_tx(struct http_req *req, void *arg)
{
	struct gift_call *c = arg;
	int64_t		 balance;
	json_t		*a;
	size_t		 i;
	int		 rc;

	rc = op_gift_redeem_pending_tx(req->db, &c->account, c->email,
	    req->now, GIFTS_MAX, c->list, &c->n, &balance);
	if (rc != TALLY_OK)
		return rc;
	a = json_array();
	for (i = 0; i < c->n; i++)
		json_array_append_new(a, gift_json(&c->list[i], 0));
	http_reply(req, 200, json_pack("{s:o,s:I}", "redeemed", a, "balance",
	    (json_int_t)balance));
	return TALLY_OK;
}

void
h_internal_redeem_pending(struct http_req *req)
{
	struct gift_call c;
	const char	*user, *email;
	int		 rc;

	memset(&c, 0, sizeof(c));
	if (core_json_str(req->json, "user_id", 1, 1, LIMIT_USER_ID, &user) !=
	    TALLY_OK) {
		http_bad_field(req, "user_id", "user_id must be a string of 1 "
		    "to 255 characters");
		return;
	}
	if (core_json_str(req->json, "email", 1, 3, LIMIT_EMAIL, &email) !=
	    TALLY_OK || core_email_normalize(email, c.email,
	    sizeof(c.email)) != TALLY_OK) {
		http_bad_field(req, "email", "email must be an email address");
		return;
	}
	if ((rc = op_account_ensure(req->db, user, c.email, NULL, req->now,
	    &c.account)) != TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return;
	}
	if ((c.list = calloc(GIFTS_MAX, sizeof(*c.list))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	http_tx(req, pending_tx, &c);
	free(c.list);
}
