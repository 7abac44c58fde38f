/* HTTP over FastCGI: the request, the response, errors, idempotency. */
#ifndef FCGI_HTTP_H
#define FCGI_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <fcgiapp.h>
#include <jansson.h>

#include "core/config.h"
#include "core/jwt.h"
#include "core/model.h"
#include "core/route.h"

struct db;
struct op_jwks;

/* A configured key's digest, made once at start (http_key_init). */
struct http_key {
	unsigned char		 sha[32];
	int			 set;		/* 0: no key configured */
};

/* What every thread shares, read-only after start. */
struct app {
	struct core_config	 cfg;
	struct op_jwks		*jwks;	/* user-token keys (thread-safe) */
	struct http_key		 service_key, admin_key;
};

/* Digest the configured service and admin keys into app (at start). */
void	 http_keys_init(struct app *);

enum http_caller {
	CALLER_NONE,
	CALLER_USER,
	CALLER_SERVICE,
	CALLER_ADMIN
};

/* One request; the thread reuses it, http_req_reset() frees what it owns. */
struct http_req {
	const struct app	*app;
	struct db		*db;
	FCGX_Request		*fr;
	struct timespec		 t0;
	int64_t			 now;
	char			 id[17];	/* X-Request-Id */
	const char		*method;
	char			 path[1024];	/* below /api/v1, no query */
	const char		*query;		/* after '?', or "" */
	const char		*origin;	/* CORS origin to echo, or NULL */
	struct core_route_caps	 caps;
	char			*body;
	size_t			 bodylen;
	json_t			*json;		/* parsed body, or NULL */
	enum http_caller	 caller;
	struct core_jwt_claims	 claims;
	struct tally_account	 account;	/* CALLER_USER, AUTH_USER */
	char			 caller_id[1030]; /* idempotency scope */
	char			 actor[404];	/* CALLER_ADMIN: X-Actor */
	/* The response. */
	int			 status;
	json_t			*resp;
	char			 allow[64];	/* 405: the Allow header */
	int			 replayed;
	int			 own_tx;	/* see http_call() */
	int			 preflight;	/* a CORS OPTIONS request */
	const char		*gate_product;	/* AUTHORIZER: the product */
	int64_t			 retry_after;	/* 429: seconds, or 0 */
	/* A text body instead of JSON (the metrics, the invoice
	 * document), owned: freed after. */
	char			*text;
	const char		*text_type;
	const char		*csp;	/* a page's Content-Security-Policy */
	size_t			 metric_route;	/* fcgi/metrics.h route label */
	/* Detail for an error chosen by a handler's result code. */
	const char		*err_message;
	const char		*err_field;
};

/* A FastCGI param (header HTTP_X_Y), or NULL. */
const char *http_param(const struct http_req *, const char *name);

/* Set a 200 response with a text body of content type (text is stolen,
 * freed with free(3)). */
void	 http_reply_text(struct http_req *, char *text, const char *type);

/* Set the response to status and body (reference stolen). */
void	 http_reply(struct http_req *, int status, json_t *body);

/*
 * Set the response to a 200 HTML page (text/html; charset=utf-8, no NUL)
 * served under the Content-Security-Policy csp (a string that outlives
 * the request); html is malloc'd and taken over.
 */
void	 http_reply_html(struct http_req *, char *html, const char *csp);

/*
 * Set an error response for result code rc (fcgi/http_error.c maps it to
 * status and API code); message and field may be NULL for the default.
 */
void	 http_fail(struct http_req *, int rc, const char *message,
	    const char *field);

/* Fail with TALLY_E_INVALID naming field; always returns TALLY_E_INVALID. */
int	 http_bad_field(struct http_req *, const char *field,
	    const char *message);

/* Map a result code: OUT: *status, *code. */
void	 http_error_lookup(int rc, int *status, const char **code,
	    const char **message);

/*
 * A query parameter, percent-decoded into buf.  1 when present, 0 when
 * absent, -1 when malformed or too long.
 */
int	 http_query(const struct http_req *, const char *name, char *buf,
	    size_t bufsz);

/*
 * The "limit" query parameter: 1..100, default def.  On a bad value the
 * 400 is set and TALLY_E_INVALID returned.
 */
int	 http_limit_or_respond(struct http_req *, int64_t def, int64_t *out);

/*
 * Run fn(req, arg) in one database transaction, honouring the request's
 * Idempotency-Key: a stored response is replayed, the same key with
 * another body is 409, and a new response is stored in the same
 * transaction as fn's effect.  fn sets the response with http_reply() and
 * returns TALLY_OK, or returns an error code (with err_message/err_field
 * set if it likes); then nothing it did is kept.
 */
typedef int (*http_tx_fn)(struct http_req *, void *arg);
void	 http_tx(struct http_req *, http_tx_fn fn, void *arg);

/*
 * Whether the request carries an Idempotency-Key (a non-empty one): then
 * http_call runs fn in http_tx's transaction.
 */
int	 http_idem_key(const struct http_req *);

/*
 * The token's user as a wallet caller (its email and locale, NULL when
 * absent; create: a first request makes the account), for an AUTH_TOKEN
 * route whose one call finds the account by user id.
 */
struct op_wallet_who;
void	 http_token_who(const struct http_req *, struct op_wallet_who *);

/*
 * For an AUTH_TOKEN route that needs it on some path: the token's account
 * loaded into req->account (created on a first request), as AUTH_USER
 * does.  On failure the error is answered and its code returned.
 */
int	 http_account_or_respond(struct http_req *);

/*
 * As http_tx, for fn that makes exactly one database call: without an
 * Idempotency-Key there is nothing to store, so fn runs with
 * req->own_tx set and its call (a ledger routine) commits by itself, one
 * round trip in all; with a key it runs in http_tx's transaction.
 */
void	 http_call(struct http_req *, http_tx_fn fn, void *arg);

/*
 * The coupon code string field of the body (fcgi/h_coupons.c); absent
 * gives NULL unless required.  On a bad one the 400 is set and
 * TALLY_E_INVALID returned.
 */
int	 http_coupon_or_respond(struct http_req *, const char *field,
	    int required, const char **code);

/* Formatting helpers for response objects. */
json_t	*http_time(int64_t t);		/* ISO string, or null for 0 */
json_t	*http_id(int64_t id);		/* ids are strings */
/* A positive id from a path capture; -1 if it is not one. */
int64_t	 http_parse_id(const char *s);

json_t	*http_tx_json(const struct tally_tx *);
json_t	*http_purchase_json(const struct tally_purchase *);



struct db_ln;
/* {bolt11, checkout_url, expires_at} of a Lightning payment. */
json_t	*http_lightning_json(const struct db_ln *);
int	 http_lightning_configured(const struct core_config *);
/* Refresh a subject's Lightning payment from BTCPay in a transaction. */
int	 http_ln_refresh(struct http_req *, const char *type, int64_t id);

struct db_invoice;
/* An INVOICE object, with its items when items is set. */
json_t	*http_invoice_json(struct db *, const struct db_invoice *, int items);

/* The AUTHORIZER role (fcgi/gate.c): sets the response for uri. */
void	 http_gate(struct http_req *, const char *uri);

/*
 * Serve one accepted FastCGI request (either role) on this thread.  Returns
 * 1 when all the web server sent has been read (a responder's stdin to its
 * end record), so the connection can close at once (main.c).
 */
int	 http_handle(const struct app *, struct db *, FCGX_Request *);
#endif
