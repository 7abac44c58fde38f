/* Idempotency-Key on the request path: replay stored responses, store new
 * ones in the same transaction as their effect (core/ops/idem.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/idgen.h"
#include "core/json.h"
#include "core/model.h"
#include "core/ops/idem.h"
#include "core/ops/store.h"
#include "core/result.h"
#include "fcgi/http.h"

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

	(void)db;
	r->req->err_message = NULL;
	r->req->err_field = NULL;
	r->stored_dup = 0;
	if ((rc = r->fn(r->req, r->arg)) != TALLY_OK)
		return rc;
	if (r->key == NULL)
		return TALLY_OK;
	if ((text = json_dumps(r->req->resp, JSON_COMPACT)) == NULL)
		return TALLY_E_NOMEM;
	rc = op_idem_store_tx(r->req->db, r->req->caller_id, r->key, r->hash,
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
	char		*text;
	int		 rc, status = 0;

	rc = op_idem_lookup(req->db, req->caller_id, r->key, r->hash,
	    req->now, &status, &text);
	if (rc == TALLY_E_NOTFOUND)
		return 0;
	if (rc == TALLY_E_CONFLICT) {
		http_fail(req, TALLY_E_CONFLICT, "Idempotency-Key was already "
		    "used with a different request", NULL);
		return 1;
	}
	if (rc != TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return -1;
	}
	json_decref(req->resp);
	req->resp = json_loads(text, 0, NULL);
	free(text);
	if (req->resp == NULL) {
		http_fail(req, TALLY_E_INTERNAL, NULL, NULL);
		return -1;
	}
	req->status = status;
	req->replayed = 1;
	return 1;
}

/* The request's Idempotency-Key, or NULL (an empty key is no key). */
static const char *
idem_key(const struct http_req *req)
{
	const char	*key = http_param(req, "HTTP_IDEMPOTENCY_KEY");

	return key != NULL && *key != '\0' ? key : NULL;
}

int
http_idem_key(const struct http_req *req)
{
	return idem_key(req) != NULL;
}

/*
 * The request's Idempotency-Key, checked and hashed into r.  0 to go on,
 * 1 when the request was answered (bad key, replay, 409, error).
 */
static int
idem_prepare(struct idem_run *r)
{
	struct http_req	*req = r->req;
	char		*buf;
	size_t		 n;

	if ((r->key = idem_key(req)) == NULL)
		return 0;
	if (core_utf8_chars(r->key) > LIMIT_IDEM_KEY ||
	    !core_utf8_valid(r->key, strlen(r->key))) {
		http_fail(req, TALLY_E_INVALID, "Idempotency-Key must be at "
		    "most 255 characters", "Idempotency-Key");
		return 1;
	}
	/* The request is its method, path and exact body bytes. */
	n = strlen(req->method) + strlen(req->path) + req->bodylen + 3;
	if ((buf = malloc(n)) == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return 1;
	}
	snprintf(buf, n, "%s %s\n", req->method, req->path);
	memcpy(buf + strlen(buf), req->body != NULL ? req->body : "",
	    req->bodylen);
	core_sha256_hex(buf, n - 1, r->hash);
	free(buf);
	return idem_replay(r) != 0;
}

static void
idem_run(struct http_req *req, http_tx_fn fn, void *arg, int single)
{
	struct idem_run	 r;
	int		 rc;

	memset(&r, 0, sizeof(r));
	r.req = req;
	r.fn = fn;
	r.arg = arg;
	if (idem_prepare(&r) != 0)
		return;
	if (single && r.key == NULL) {
		/* Nothing to store: the operation's one call commits. */
		req->own_tx = 1;
		rc = op_store_call(req->db, idem_body, &r);
		req->own_tx = 0;
	} else
		rc = op_store_tx(req->db, idem_body, &r);
	if (rc == TALLY_OK)
		return;
	if (r.stored_dup && idem_replay(&r) != 0)
		return;
	http_fail(req, rc, req->err_message, req->err_field);
}

void
http_tx(struct http_req *req, http_tx_fn fn, void *arg)
{
	idem_run(req, fn, arg, 0);
}

void
http_call(struct http_req *req, http_tx_fn fn, void *arg)
{
	idem_run(req, fn, arg, 1);
}
