/* Idempotency-Key: replay stored responses, store new ones atomically. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/idgen.h"
#include "core/json.h"
#include "core/model.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_misc.h"
#include "fcgi/http.h"

#define IDEM_TTL	(24 * 60 * 60)

struct idem_run {
	struct http_req	*req;
	http_tx_fn	 fn;
	void		*arg;
	const char	*key;		/* NULL: no Idempotency-Key */
	char		 hash[65];
	int		 stored_dup;	/* the key was stored meanwhile */
};

/* The transaction body: the effect, then its stored response. */
static int
idem_body(struct db *db, void *arg)
{
	struct idem_run	*r = arg;
	char		*text;
	int		 rc;

	r->req->err_message = NULL;
	r->req->err_field = NULL;
	r->stored_dup = 0;
	if ((rc = r->fn(r->req, r->arg)) != TALLY_OK)
		return rc;
	if (r->key == NULL)
		return TALLY_OK;
	if ((text = json_dumps(r->req->resp, JSON_COMPACT)) == NULL)
		return TALLY_E_NOMEM;
	rc = db_idem_put(db, r->req->caller_id, r->key, r->hash,
	    r->req->status, text, r->req->now);
	free(text);
	if (rc == TALLY_E_DUPLICATE)
		r->stored_dup = 1;
	return rc;
}

/*
 * Answer from a stored response.  1 when the request was answered (a
 * replay or a 409), 0 when there is none to use, or -1 on a database
 * error (answered).
 */
static int
idem_replay(struct idem_run *r)
{
	struct http_req	*req = r->req;
	struct db_idem	 st;
	int		 rc;

	rc = db_idem_get(req->db, req->caller_id, r->key, &st);
	if (rc == TALLY_E_NOTFOUND)
		return 0;
	if (rc != TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return -1;
	}
	if (req->now - st.created_at >= IDEM_TTL) {
		/* Expired: the key may be used afresh. */
		free(st.response);
		rc = db_idem_delete(req->db, req->caller_id, r->key);
		if (rc != TALLY_OK) {
			http_fail(req, rc, NULL, NULL);
			return -1;
		}
		return 0;
	}
	if (strcmp(st.hash, r->hash) != 0) {
		free(st.response);
		http_fail(req, TALLY_E_CONFLICT, "Idempotency-Key was already "
		    "used with a different request", NULL);
		return 1;
	}
	json_decref(req->resp);
	req->resp = json_loads(st.response, 0, NULL);
	free(st.response);
	if (req->resp == NULL) {
		http_fail(req, TALLY_E_INTERNAL, NULL, NULL);
		return -1;
	}
	req->status = (int)st.status;
	req->replayed = 1;
	return 1;
}

void
http_tx(struct http_req *req, http_tx_fn fn, void *arg)
{
	struct idem_run	 r;
	char		*buf;
	size_t		 n;
	int		 rc;

	memset(&r, 0, sizeof(r));
	r.req = req;
	r.fn = fn;
	r.arg = arg;
	r.key = http_param(req, "HTTP_IDEMPOTENCY_KEY");
	if (r.key != NULL && *r.key == '\0')
		r.key = NULL;
	if (r.key != NULL) {
		if (core_utf8_chars(r.key) > LIMIT_IDEM_KEY ||
		    !core_utf8_valid(r.key, strlen(r.key))) {
			http_fail(req, TALLY_E_INVALID, "Idempotency-Key must "
			    "be at most 255 characters", "Idempotency-Key");
			return;
		}
		/* The request is its method, path and exact body bytes. */
		n = strlen(req->method) + strlen(req->path) + req->bodylen + 3;
		if ((buf = malloc(n)) == NULL) {
			http_fail(req, TALLY_E_NOMEM, NULL, NULL);
			return;
		}
		snprintf(buf, n, "%s %s\n", req->method, req->path);
		memcpy(buf + strlen(buf), req->body != NULL ? req->body : "",
		    req->bodylen);
		core_sha256_hex(buf, n - 1, r.hash);
		free(buf);
		if (idem_replay(&r) != 0)
			return;
	}
	rc = db_tx(req->db, idem_body, &r);
	if (rc == TALLY_OK)
		return;
	if (r.stored_dup && idem_replay(&r) != 0)
		return;
	http_fail(req, rc, req->err_message, req->err_field);
}
