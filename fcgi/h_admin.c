/* Admin routes: credit adjustments and the audit log. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/ops/audit.h"
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
