/* Credit wallet routes: balance, usage, history, purchases, and their
 * internal (service-key) counterparts. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/money.h"
#include "core/timeutil.h"
#include "core/ops/card.h"
#include "core/ops/lightning.h"
#include "core/ops/wallet.h"
#include "core/result.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"

struct use {
	struct op_wallet_who who;
	int64_t		 amount;
	const char	*operation, *description;
};

struct refund {
	struct op_wallet_who who;
	int64_t		 txid;
};

struct init {
	const char	*user, *email;
};

/* The body of POST .../credits/use; 400 set and nonzero on bad input. */
static int
parse_use_or_respond(struct http_req *req, struct use *u)
{
	if (core_json_int(req->json, "amount", 1, 1, INT64_MAX, &u->amount,
	    NULL) != TALLY_OK)
		return http_bad_field(req, "amount", "amount must be a "
		    "positive integer");
	if (core_json_str(req->json, "operation", 1, 1, LIMIT_OPERATION,
	    &u->operation) != TALLY_OK)
		return http_bad_field(req, "operation", "operation must be a "
		    "string of 1 to 100 characters");
	if (core_json_str(req->json, "description", 0, 0, LIMIT_DESCRIPTION,
	    &u->description) != TALLY_OK)
		return http_bad_field(req, "description", "description must "
		    "be a string of at most 500 characters");
	return TALLY_OK;
}

static int
use_tx(struct http_req *req, void *arg)
{
	struct use	*u = arg;
	struct tally_tx	 tx;
	int		 rc;

	rc = op_credits_use(req->db, &u->who, u->amount, u->operation,
	    u->description, req->now, req->own_tx, &tx);
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 200, json_pack("{s:o,s:I}", "transaction",
	    http_tx_json(&tx), "balance", (json_int_t)tx.balance_after));
	return TALLY_OK;
}

void
h_credits_balance(struct http_req *req)
{
	http_reply(req, 200, json_pack("{s:I,s:s}", "balance",
	    (json_int_t)req->account.balance, "currency",
	    req->app->cfg.currency));
}

void
h_credits_use(struct http_req *req)
{
	struct use	 u;

	memset(&u, 0, sizeof(u));
	if (parse_use_or_respond(req, &u) != TALLY_OK)
		return;
	/* One call finds the account by the token's user id (AUTH_TOKEN). */
	http_token_who(req, &u.who);
	http_call(req, use_tx, &u);
}

void
h_credits_transactions(struct http_req *req)
{
	struct tally_tx	*txs;
	json_t		*a;
	char		 buf[32];
	int64_t		 limit, before = 0;
	size_t		 n, i;
	int		 rc, r;

	if (http_limit_or_respond(req, 50, &limit) != TALLY_OK)
		return;
	r = http_query(req, "before", buf, sizeof(buf));
	if (r < 0 || (r > 0 && (before = http_parse_id(buf)) < 0)) {
		http_bad_field(req, "before", "before must be a transaction id");
		return;
	}
	/* One row more than asked tells whether there is a next page. */
	if ((txs = calloc((size_t)limit + 1, sizeof(*txs))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	rc = op_ledger_list(req->db, req->account.id, before,
	    (size_t)limit + 1, txs, &n);
	if (rc != TALLY_OK) {
		free(txs);
		http_fail(req, rc, NULL, NULL);
		return;
	}
	a = json_array();
	for (i = 0; i < n && i < (size_t)limit; i++)
		json_array_append_new(a, http_tx_json(&txs[i]));
	http_reply(req, 200, json_pack("{s:o,s:o}", "transactions", a, "next",
	    n > (size_t)limit ? http_id(txs[limit - 1].id) : json_null()));
	free(txs);
}

void
h_credits_purchases(struct http_req *req)
{
	struct tally_purchase *ps;
	json_t		*a;
	int64_t		 limit;
	size_t		 n, i;
	int		 rc;

	if (http_limit_or_respond(req, 50, &limit) != TALLY_OK)
		return;
	if ((ps = calloc((size_t)limit, sizeof(*ps))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	rc = op_purchase_list(req->db, req->account.id, (size_t)limit, ps,
	    &n);
	if (rc != TALLY_OK) {
		free(ps);
		http_fail(req, rc, NULL, NULL);
		return;
	}
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, http_purchase_json(&ps[i]));
	free(ps);
	http_reply(req, 200, json_pack("{s:o}", "purchases", a));
}

void
h_credits_purchase_get(struct http_req *req)
{
	struct tally_purchase p;
	struct db_ln	 ln;
	json_t		*o;
	int64_t		 id = http_parse_id(req->caps.v[0]);
	int		 rc;

	rc = id < 0 ? TALLY_E_NOTFOUND :
	    op_purchase_get(req->db, req->account.id, id, &p);
	if (rc == TALLY_OK && strcmp(p.method, "lightning") == 0 &&
	    strcmp(p.status, "pending") == 0 &&
	    http_lightning_configured(&req->app->cfg)) {
		/* Best effort: BTCPay down still shows what we know. */
		(void)http_ln_refresh(req, "purchase", p.id);
		rc = op_purchase_get(req->db, req->account.id, id, &p);
	}
	if (rc != TALLY_OK) {
		http_fail(req, rc, rc == TALLY_E_NOTFOUND ?
		    "no such purchase" : NULL, NULL);
		return;
	}
	o = http_purchase_json(&p);
	if (strcmp(p.method, "lightning") == 0) {
		json_object_del(o, "checkout_url");
		if (strcmp(p.status, "pending") == 0 &&
		    op_ln_get(req->db, p.provider_ref, &ln) == TALLY_OK)
			json_object_set_new(o, "lightning",
			    http_lightning_json(&ln));
	}
	http_reply(req, 200, o);
}

struct purchase_call {
	const struct core_package *pk;
	const char	*coupon;
	struct tally_purchase p;
	char		 err[256];
};

static int
card_purchase_tx(struct http_req *req, void *arg)
{
	struct purchase_call *c = arg;
	json_t		*o;
	int		 rc;

	rc = op_card_purchase_tx(req->db, &req->app->cfg, &req->account, c->pk,
	    c->coupon, req->now, &c->p, c->err, sizeof(c->err));
	if (rc != TALLY_OK)
		return rc;
	o = http_purchase_json(&c->p);
	http_reply(req, 201, o);
	return TALLY_OK;
}

void
h_credits_purchase_create(struct http_req *req)
{
	struct purchase_call c;
	const char	*package, *method;

	memset(&c, 0, sizeof(c));
	if (core_json_str(req->json, "package", 1, 1, 63, &package) !=
	    TALLY_OK || (c.pk = core_config_package(&req->app->cfg,
	    package)) == NULL) {
		http_bad_field(req, "package", "package must be the id of a "
		    "credit package (GET /api/v1/credits/packages)");
		return;
	}
	if (core_json_str(req->json, "method", 1, 1, 16, &method) !=
	    TALLY_OK || (strcmp(method, "card") != 0 &&
	    strcmp(method, "lightning") != 0)) {
		http_bad_field(req, "method", "method must be \"card\" or "
		    "\"lightning\"");
		return;
	}
	if (http_coupon_or_respond(req, "coupon", 0, &c.coupon) != TALLY_OK)
		return;
	if (strcmp(method, "card") == 0) {
		if (req->app->cfg.stripe_secret_key[0] == '\0') {
			http_bad_field(req, "method", "card payments are not "
			    "configured on this server");
			return;
		}
		http_tx(req, card_purchase_tx, &c);
		return;
	}
	h_lightning_purchase(req, c.pk, c.coupon);
}

void
h_internal_balance(struct http_req *req)
{
	int64_t		 balance;
	int		 rc;

	if ((rc = op_account_balance(req->db, req->caps.v[0], &balance)) !=
	    TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return;
	}
	http_reply(req, 200, json_pack("{s:I}", "balance",
	    (json_int_t)balance));
}

/* user_id of an internal request body; 400 set on a bad one. */
static int
user_id_or_respond(struct http_req *req, const char **user)
{
	if (core_json_str(req->json, "user_id", 1, 1, LIMIT_USER_ID, user) !=
	    TALLY_OK)
		return http_bad_field(req, "user_id", "user_id must be a "
		    "string of 1 to 255 characters");
	return TALLY_OK;
}

void
h_internal_use(struct http_req *req)
{
	struct use	 u;
	const char	*user;

	memset(&u, 0, sizeof(u));
	if (user_id_or_respond(req, &user) != TALLY_OK ||
	    parse_use_or_respond(req, &u) != TALLY_OK)
		return;
	u.who.user_id = user;
	u.who.create = 1;
	http_call(req, use_tx, &u);
}

static int
refund_tx(struct http_req *req, void *arg)
{
	struct refund	*r = arg;
	struct tally_tx	 tx;
	int		 rc;

	rc = op_credits_refund(req->db, &r->who, r->txid, req->now,
	    req->own_tx, &tx);
	switch (rc) {
	case TALLY_OK:
		break;
	case TALLY_E_NOTFOUND:
		req->err_message = "no such transaction for this user";
		req->err_field = "transaction_id";
		return rc;
	case TALLY_E_INVALID:
		req->err_message = "only usage transactions can be refunded";
		req->err_field = "transaction_id";
		return rc;
	case TALLY_E_CONFLICT:
		req->err_message = "this transaction was refunded already";
		return rc;
	default:
		return rc;
	}
	http_reply(req, 200, json_pack("{s:o,s:I}", "transaction",
	    http_tx_json(&tx), "balance", (json_int_t)tx.balance_after));
	return TALLY_OK;
}

void
h_internal_refund(struct http_req *req)
{
	struct refund	 r;
	const json_t	*v;
	const char	*user;

	if (user_id_or_respond(req, &user) != TALLY_OK)
		return;
	/* Ids are strings; a JSON integer is accepted as well. */
	v = json_object_get(req->json, "transaction_id");
	r.txid = -1;
	if (json_is_string(v))
		r.txid = http_parse_id(json_string_value(v));
	else if (json_is_integer(v) && json_integer_value(v) > 0)
		r.txid = json_integer_value(v);
	if (r.txid < 0) {
		http_bad_field(req, "transaction_id", "transaction_id must be "
		    "a transaction id");
		return;
	}
	memset(&r.who, 0, sizeof(r.who));
	r.who.user_id = user;
	http_call(req, refund_tx, &r);
}

static int
init_call(struct http_req *req, void *arg)
{
	struct init	*in = arg;
	struct tally_account a;
	int		 rc, granted;

	rc = op_credits_init(req->db, &req->app->cfg, in->user, in->email,
	    req->now, req->own_tx, &a, &granted);
	if (rc != TALLY_OK)
		return rc;
	http_reply(req, 200, json_pack("{s:s,s:o,s:I,s:s,s:b,s:o}",
	    "user_id", a.user_id, "email", a.email[0] ?
	    json_string(a.email) : json_null(), "balance",
	    (json_int_t)a.balance, "currency", req->app->cfg.currency,
	    "signup_credits_granted", granted, "created_at",
	    http_time(a.created_at)));
	return TALLY_OK;
}

void
h_internal_init(struct http_req *req)
{
	struct init	 in;
	const char	*user, *email;

	if (user_id_or_respond(req, &user) != TALLY_OK)
		return;
	if (core_json_str(req->json, "email", 0, 3, LIMIT_EMAIL, &email) !=
	    TALLY_OK || (email != NULL && strchr(email, '@') == NULL)) {
		http_bad_field(req, "email", "email must be an email address");
		return;
	}
	in.user = user;
	in.email = email;
	http_call(req, init_call, &in);
}

/* Days a usage query may span; the page asks for the last 30. */
#define USAGE_MAX_DAYS	366
#define USAGE_MAX_OPS	1000

/*
 * GET .../usage?from=&to=&group=day|operation for account_id (0: all;
 * an id no account has: nothing):
 * the rows, oldest day first or most credits first, and their total.
 */
static void
usage_reply(struct http_req *req, int64_t account_id)
{
	struct tally_usage_row *rows;
	char		 from[16] = "", to[16] = "", group[16] = "day", d[16];
	const char	*why;
	int64_t		 f, t, uses = 0, credits = 0;
	size_t		 n, i, max;
	json_t		*a;
	int		 by_op, rc;

	if (http_query(req, "from", from, sizeof(from)) < 0 ||
	    http_query(req, "to", to, sizeof(to)) < 0 ||
	    core_day_range(from, to, req->now, 30, USAGE_MAX_DAYS, &f, &t,
	    &why) != TALLY_OK) {
		if (why != NULL && strcmp(why, "range") == 0)
			http_bad_field(req, "from", "from must not be after "
			    "to, and the range at most 366 days");
		else
			http_bad_field(req, why != NULL && strcmp(why,
			    "to") == 0 ? "to" : "from", "from and to must be "
			    "dates as YYYY-MM-DD");
		return;
	}
	if (http_query(req, "group", group, sizeof(group)) < 0 ||
	    (strcmp(group, "day") != 0 && strcmp(group, "operation") != 0)) {
		http_bad_field(req, "group", "group must be day or operation");
		return;
	}
	by_op = group[0] == 'o';
	max = by_op ? USAGE_MAX_OPS : USAGE_MAX_DAYS;
	if ((rows = calloc(max, sizeof(*rows))) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	if ((rc = op_usage_stats(req->db, account_id, f, t, by_op, rows, max,
	    &n)) != TALLY_OK) {
		free(rows);
		http_fail(req, rc, NULL, NULL);
		return;
	}
	a = json_array();
	for (i = 0; i < n; i++) {
		json_array_append_new(a, json_pack("{s:s,s:I,s:I}",
		    by_op ? "operation" : "day", rows[i].key, "count",
		    (json_int_t)rows[i].uses, "credits",
		    (json_int_t)rows[i].credits));
		uses += rows[i].uses;
		credits += rows[i].credits;
	}
	free(rows);
	core_time_format_iso(f, from, sizeof(from));
	core_time_format_iso(t, d, sizeof(d));
	from[10] = d[10] = '\0';
	http_reply(req, 200, json_pack("{s:s,s:s,s:s,s:o,s:{s:I,s:I}}",
	    "from", from, "to", d, "group", group, "rows", a, "total",
	    "count", (json_int_t)uses, "credits", (json_int_t)credits));
}

void
h_credits_usage(struct http_req *req)
{
	/* AUTH_USER made the account; 0 would mean everyone's. */
	if (req->account.id <= 0) {
		http_fail(req, TALLY_E_NOTFOUND, NULL, NULL);
		return;
	}
	usage_reply(req, req->account.id);
}

void
h_admin_usage(struct http_req *req)
{
	char	 user[256];
	int64_t	 id = 0;
	int	 r, rc;

	/* ?user_id=: one user's (no account yet: nothing used). */
	if ((r = http_query(req, "user_id", user, sizeof(user))) < 0) {
		http_bad_field(req, "user_id", "user_id must be at most 255 "
		    "characters");
		return;
	}
	if (r > 0) {
		if ((rc = op_account_id(req->db, user, &id)) != TALLY_OK) {
			http_fail(req, rc, NULL, NULL);
			return;
		}
		if (id == 0)
			id = -1;	/* matches no row */
	}
	usage_reply(req, id);
}
