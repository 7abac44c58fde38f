/* The request cycle: parse, route, authenticate, read the body, dispatch,
 * answer, log. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/idgen.h"
#include "core/json.h"
#include "core/ops/jwks.h"
#include "core/ops/log.h"
#include "core/money.h"
#include "core/request.h"
#include "core/ops/store.h"
#include "core/ops/wallet.h"
#include "core/result.h"
#include "core/timeutil.h"
#include "fcgi/http.h"
#include "fcgi/metrics.h"
#include "fcgi/router.h"

#define API_PREFIX	"/api/v1"

const char *
http_param(const struct http_req *req, const char *name)
{
	return FCGX_GetParam(name, req->fr->envp);
}

void
http_reply(struct http_req *req, int status, json_t *body)
{
	json_decref(req->resp);
	free(req->text);
	req->text = NULL;
	req->status = status;
	req->resp = body;
}

void
http_reply_text(struct http_req *req, char *text, const char *type)
{
	json_decref(req->resp);
	req->resp = NULL;
	free(req->text);
	req->status = 200;
	req->text = text;
	req->text_type = type;
}

void
http_reply_html(struct http_req *req, char *html, const char *csp)
{
	http_reply_text(req, html, "text/html; charset=utf-8");
	req->csp = csp;
}

void
http_fail(struct http_req *req, int rc, const char *message,
    const char *field)
{
	const char	*code, *defmsg;
	json_t		*o;
	int		 status;

	http_error_lookup(rc, &status, &code, &defmsg);
	if (status >= 500)
		core_log("error", "http.error", json_pack("{s:s,s:s,s:s}",
		    "req", req->id, "rc", core_strerror(rc), "db",
		    op_store_error(req->db)));
	o = json_pack("{s:s,s:s}", "error", code, "message",
	    message != NULL ? message : defmsg);
	if (o != NULL && field != NULL)
		json_object_set_new(o, "field", json_string(field));
	http_reply(req, status, o);
}

int
http_bad_field(struct http_req *req, const char *field, const char *message)
{
	http_fail(req, TALLY_E_INVALID, message, field);
	return TALLY_E_INVALID;
}

int
http_query(const struct http_req *req, const char *name, char *buf,
    size_t bufsz)
{
	return core_query_param(req->query, name, buf, bufsz);
}

int
http_limit_or_respond(struct http_req *req, int64_t def, int64_t *out)
{
	char	 buf[32];
	int	 r;

	*out = def;
	if ((r = http_query(req, "limit", buf, sizeof(buf))) == 0)
		return TALLY_OK;
	if (r < 0 || core_parse_int64(buf, out) != TALLY_OK || *out < 1 ||
	    *out > 100)
		return http_bad_field(req, "limit",
		    "limit must be an integer from 1 to 100");
	return TALLY_OK;
}

json_t *
http_time(int64_t t)
{
	char	 buf[32];

	if (t == 0)
		return json_null();
	core_time_format_iso(t, buf, sizeof(buf));
	return json_string(buf);
}

json_t *
http_id(int64_t id)
{
	char	 buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)id);
	return json_string(buf);
}

int64_t
http_parse_id(const char *s)
{
	int64_t	 v;

	if (core_parse_int64(s, &v) != TALLY_OK || v <= 0)
		return -1;
	return v;
}

json_t *
http_tx_json(const struct tally_tx *tx)
{
	json_t	*o;

	o = json_pack("{s:o,s:s,s:I,s:I,s:o}", "id", http_id(tx->id),
	    "kind", tx->kind, "amount", (json_int_t)tx->amount,
	    "balance_after", (json_int_t)tx->balance_after,
	    "created_at", http_time(tx->created_at));
	if (o == NULL)
		return NULL;
	if (tx->has_operation)
		json_object_set_new(o, "operation",
		    json_string(tx->operation));
	if (tx->has_description)
		json_object_set_new(o, "description",
		    json_string(tx->description));
	return o;
}

json_t *
http_purchase_json(const struct tally_purchase *p)
{
	json_t	*o;

	o = json_pack("{s:o,s:s,s:I,s:I,s:s,s:s,s:s,s:o}", "id",
	    http_id(p->id), "package", p->package,
	    "credits", (json_int_t)p->credits, "amount",
	    (json_int_t)p->amount, "currency", p->currency, "method",
	    p->method, "status", p->status, "created_at",
	    http_time(p->created_at));
	if (o == NULL)
		return NULL;
	if (p->completed_at != 0)
		json_object_set_new(o, "completed_at",
		    http_time(p->completed_at));
	/* Where to pay, while paying is still possible. */
	if (strcmp(p->status, "pending") == 0 && p->checkout_url[0] != '\0' &&
	    strcmp(p->method, "card") == 0)
		json_object_set_new(o, "checkout_url",
		    json_string(p->checkout_url));
	if (p->refunded_amount > 0)
		json_object_set_new(o, "refunded_amount",
		    json_integer(p->refunded_amount));
	if (p->coupon_code[0] != '\0') {
		json_object_set_new(o, "coupon", json_string(p->coupon_code));
		json_object_set_new(o, "bonus_credits",
		    json_integer(p->bonus_credits));
	}
	return o;
}

void
http_keys_init(struct app *app)
{
	app->service_key.set = app->cfg.service_key[0] != '\0';
	SHA256((const unsigned char *)app->cfg.service_key,
	    strlen(app->cfg.service_key), app->service_key.sha);
	app->admin_key.set = app->cfg.admin_key[0] != '\0';
	SHA256((const unsigned char *)app->cfg.admin_key,
	    strlen(app->cfg.admin_key), app->admin_key.sha);
}

/*
 * Constant-time equality of a presented key and a configured one.
 * Comparing digests makes it independent of the lengths too; the
 * configured key's digest was made once at start.
 */
static int
key_equal(const char *given, const struct http_key *want)
{
	unsigned char	 a[SHA256_DIGEST_LENGTH];

	if (given == NULL || !want->set)
		return 0;
	if (core_sha256(given, strlen(given), a) != 0)
		return 0;
	return CRYPTO_memcmp(a, want->sha, sizeof(a)) == 0;
}

/*
 * The bearer token: verified, the caller set; no database work.  With
 * query set and no Authorization header, the token may be the query's
 * access_token (a page opened by a link cannot send a header); the
 * request log never records a query string.
 */
static int
auth_token(struct http_req *req, int query)
{
	const char	*h = http_param(req, "HTTP_AUTHORIZATION");
	char		 qtok[8192];
	int		 rc;

	if (h == NULL && query && http_query(req, "access_token", qtok,
	    sizeof(qtok)) == 1)
		h = qtok;
	else if ((h = core_bearer_token(h)) == NULL)
		return TALLY_E_UNAUTHORIZED;
	rc = op_jwks_verify(req->app->jwks, h, strlen(h), req->now,
	    &req->claims);
	if (rc != TALLY_OK)
		return rc;
	if (!core_utf8_valid(req->claims.sub, strlen(req->claims.sub)))
		return TALLY_E_UNAUTHORIZED;
	req->caller = CALLER_USER;
	snprintf(req->caller_id, sizeof(req->caller_id), "u:%s",
	    req->claims.sub);
	return TALLY_OK;
}

void
http_token_who(const struct http_req *req, struct op_wallet_who *who)
{
	memset(who, 0, sizeof(*who));
	who->user_id = req->claims.sub;
	who->email = req->claims.email[0] ? req->claims.email : NULL;
	who->locale = req->claims.locale[0] ? req->claims.locale : NULL;
	who->create = 1;
}

/* The token's account (created on a first request), as AUTH_USER loads it. */
static int
load_account(struct http_req *req)
{
	struct op_wallet_who who;

	http_token_who(req, &who);
	return op_account_ensure(req->db, who.user_id, who.email, who.locale,
	    req->now, &req->account);
}

int
http_account_or_respond(struct http_req *req)
{
	int	 rc;

	if ((rc = load_account(req)) != TALLY_OK)
		http_fail(req, rc, NULL, NULL);
	return rc;
}

/* The token, then the caller's account (created on a first request). */
static int
auth_user(struct http_req *req, int query)
{
	int	 rc;

	if ((rc = auth_token(req, query)) != TALLY_OK)
		return rc;
	return load_account(req);
}

static int
authenticate(struct http_req *req, enum route_auth auth)
{
	const char	*actor;

	switch (auth) {
	case AUTH_NONE:
		return TALLY_OK;
	case AUTH_USER:
		return auth_user(req, 0);
	case AUTH_USER_QUERY:
		return auth_user(req, 1);
	case AUTH_TOKEN:
		return auth_token(req, 0);
	case AUTH_SERVICE:
		if (!key_equal(http_param(req, "HTTP_X_SERVICE_KEY"),
		    &req->app->service_key))
			return TALLY_E_UNAUTHORIZED;
		req->caller = CALLER_SERVICE;
		snprintf(req->caller_id, sizeof(req->caller_id), "service");
		return TALLY_OK;
	case AUTH_ADMIN:
		if (!key_equal(http_param(req, "HTTP_X_ADMIN_KEY"),
		    &req->app->admin_key))
			return TALLY_E_UNAUTHORIZED;
		req->caller = CALLER_ADMIN;
		snprintf(req->caller_id, sizeof(req->caller_id), "admin");
		actor = http_param(req, "HTTP_X_ACTOR");
		if (actor == NULL || *actor == '\0')
			return TALLY_OK;
		if (!core_utf8_valid(actor, strlen(actor)) ||
		    core_utf8_chars(actor) > LIMIT_ACTOR ||
		    strlen(actor) >= sizeof(req->actor)) {
			req->err_message = "X-Actor must be 1 to 100 characters";
			req->err_field = "X-Actor";
			return TALLY_E_INVALID;
		}
		snprintf(req->actor, sizeof(req->actor), "%s", actor);
		return TALLY_OK;
	}
	return TALLY_E_INTERNAL;
}

/*
 * Read the body: at most http.max_body bytes, else TALLY_E_TOOBIG.  Apache's
 * mod_proxy_fcgi sends chunked bodies without CONTENT_LENGTH: read to EOF.
 */
static int
read_body(struct http_req *req)
{
	const char	*cl = http_param(req, "CONTENT_LENGTH");
	int64_t		 max = req->app->cfg.http_max_body, want = -1;
	size_t		 cap;
	int		 n;

	if (cl != NULL && *cl != '\0') {
		if (core_parse_int64(cl, &want) != TALLY_OK || want < 0)
			return TALLY_E_INVALID;
		if (want > max)
			return TALLY_E_TOOBIG;
	}
	cap = (size_t)(want >= 0 ? want : max + 1);
	if ((req->body = malloc(cap + 1)) == NULL)
		return TALLY_E_NOMEM;
	while (req->bodylen < cap) {
		n = FCGX_GetStr(req->body + req->bodylen,
		    (int)(cap - req->bodylen), req->fr->in);
		if (n <= 0)
			break;
		req->bodylen += (size_t)n;
	}
	req->body[req->bodylen] = '\0';
	if (want < 0 && req->bodylen > (size_t)max)
		return TALLY_E_TOOBIG;
	return TALLY_OK;
}

/*
 * The JSON body, or the 400/415 answered.  A number too large for 64 bits
 * is valid JSON: it is a bad field (invalid_request naming it), not a bad
 * body.
 */
static int
parse_json_or_respond(struct http_req *req)
{
	const char	*why;
	char		 field[256], msg[320];
	int		 rc;

	if (!core_content_type_json(http_param(req, "CONTENT_TYPE"))) {
		http_fail(req, TALLY_E_MEDIA, NULL, NULL);
		return TALLY_E_MEDIA;
	}
	rc = core_json_body(req->body, req->bodylen, &req->json, field,
	    sizeof(field), &why);
	if (rc == TALLY_E_INVALID) {
		snprintf(msg, sizeof(msg), "%s: %s", field, why);
		http_fail(req, rc, msg, field);
	} else if (rc != TALLY_OK)
		http_fail(req, rc, why, NULL);
	return rc;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* Add one formatted header line to buf; libfcgi's printf lacks %zu/%lld. */
static void
header(char *buf, size_t bufsz, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 used = strlen(buf);

	va_start(ap, fmt);
	if (used < bufsz)
		vsnprintf(buf + used, bufsz - used, fmt, ap);
	va_end(ap);
}

static void
send_response(struct http_req *req)
{
	FCGX_Stream	*out = req->fr->out;
	char		 head[2048];
	char		 small[4096];	/* most JSON answers fit */
	char		*text = NULL;
	const char	*body = "";
	size_t		 bodylen = 0;

	if (req->status == 0)
		http_fail(req, TALLY_E_INTERNAL, NULL, NULL);
	head[0] = '\0';
	header(head, sizeof(head), "Status: %d %s\r\nX-Request-Id: %s\r\n"
	    "Cache-Control: no-store\r\n", req->status, reason(req->status),
	    req->id);
	if (req->allow[0] != '\0')
		header(head, sizeof(head), "Allow: %s\r\n", req->allow);
	if (req->retry_after > 0)
		header(head, sizeof(head), "Retry-After: %lld\r\n",
		    (long long)req->retry_after);
	if (req->replayed)
		header(head, sizeof(head), "Idempotent-Replayed: true\r\n");
	if (req->origin != NULL)
		header(head, sizeof(head), "Access-Control-Allow-Origin: %s\r\n"
		    "Access-Control-Expose-Headers: X-Request-Id, "
		    "Idempotent-Replayed, Retry-After\r\nVary: Origin\r\n",
		    req->origin);
	if (req->origin != NULL && req->preflight)
		header(head, sizeof(head), "Access-Control-Allow-Methods: GET, "
		    "POST, PUT, DELETE, OPTIONS\r\nAccess-Control-Allow-Headers: "
		    "Authorization, Content-Type, Idempotency-Key\r\n"
		    "Access-Control-Max-Age: 600\r\n");
	if (req->status == 200 && req->gate_product != NULL)
		header(head, sizeof(head), "Variable-TALLY_USER: %s\r\n"
		    "Variable-TALLY_PRODUCT: %s\r\n", req->claims.sub,
		    req->gate_product);
	if (req->status != 204 && req->text != NULL) {
		body = req->text;
		bodylen = strlen(body);
		header(head, sizeof(head), "Content-Type: %s\r\n"
		    "Content-Length: %zu\r\n", req->text_type, bodylen);
		/* A page: its own policy (the web server sets none for
		 * /api/), never sniffed, no Referer. */
		if (req->csp != NULL)
			header(head, sizeof(head), "Content-Security-Policy: "
			    "%s\r\nX-Content-Type-Options: nosniff\r\n"
			    "Referrer-Policy: no-referrer\r\n", req->csp);
	} else if (req->status != 204) {
		/* Rendered into the stack when it fits: json_dumps() grows a
		 * buffer from 16 bytes by doubling, then copies it again. */
		if (req->resp != NULL &&
		    (bodylen = json_dumpb(req->resp, small, sizeof(small),
		    JSON_COMPACT)) > 0 && bodylen <= sizeof(small))
			body = small;
		else if (req->resp != NULL &&
		    (text = json_dumps(req->resp, JSON_COMPACT)) != NULL) {
			body = text;
			bodylen = strlen(text);
		} else
			bodylen = 0;
		header(head, sizeof(head), "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n", bodylen);
	}
	header(head, sizeof(head), "\r\n");
	FCGX_PutStr(head, (int)strlen(head), out);
	FCGX_PutStr(body, (int)bodylen, out);
	free(text);
}

/*
 * One log line for the request: always for errors (5xx) and requests
 * slower than http.slow_ms, for every request only with http.access_log
 * (the web server keeps an access log already, and a line per request
 * was most of the responder's output under load).
 */
static void
log_request(struct http_req *req, const char *method, const char *uri,
    int64_t us)
{
	const struct core_config *cfg = &req->app->cfg;
	json_t		*f;
	char		 user[1100];

	if (!cfg->http_access_log && req->status < 500 &&
	    (cfg->http_slow_ms == 0 || us < cfg->http_slow_ms * 1000))
		return;
	switch (req->caller) {
	case CALLER_USER:
		snprintf(user, sizeof(user), "%s", req->claims.sub);
		break;
	case CALLER_SERVICE:
		snprintf(user, sizeof(user), "service");
		break;
	case CALLER_ADMIN:
		snprintf(user, sizeof(user), "admin:%s", req->actor);
		break;
	default:
		user[0] = '\0';
	}
	/* The path only: a query string could carry something private. */
	f = json_pack("{s:s,s:s,s:s%,s:i,s:I}", "req", req->id, "method",
	    method, "path", uri, strcspn(uri, "?"), "status", req->status,
	    "us", (json_int_t)us);
	if (f != NULL && user[0] != '\0')
		json_object_set_new(f, "user", json_string(user));
	core_log(req->status >= 500 ? "error" : cfg->http_slow_ms > 0 &&
	    us >= cfg->http_slow_ms * 1000 ? "warn" : "info",
	    req->status < 500 && !cfg->http_access_log ? "http.slow" :
	    "http.request", f);
}

static void
dispatch(struct http_req *req, const char *uri)
{
	const struct route *rt;
	size_t		 plen = strlen(API_PREFIX), n;
	int		 status, rc;

	n = strcspn(uri, "?");
	req->query = uri[n] == '?' ? uri + n + 1 : "";
	if (strncmp(uri, API_PREFIX, plen) != 0 ||
	    (uri[plen] != '/' && uri[plen] != '?' && uri[plen] != '\0') ||
	    n - plen >= sizeof(req->path)) {
		http_fail(req, TALLY_E_NOTFOUND, "no such route", NULL);
		return;
	}
	memcpy(req->path, uri + plen, n - plen);
	req->path[n - plen] = '\0';
	if (strcmp(req->method, "OPTIONS") == 0) {
		/* A CORS preflight; origins not listed get no CORS headers. */
		req->metric_route = router_count() + METRICS_X_PREFLIGHT;
		req->status = 204;
		req->preflight = 1;
		return;
	}
	/* The Allow list goes into the request, which outlives this frame:
	 * the answer is written after dispatch() returns. */
	rt = router_find(req->method, req->path, &req->caps, req->allow,
	    sizeof(req->allow), &status);
	if (rt == NULL) {
		if (status == 405)
			http_fail(req, TALLY_E_METHOD, NULL, NULL);
		else
			http_fail(req, TALLY_E_NOTFOUND, "no such route", NULL);
		return;
	}
	req->metric_route = (size_t)(rt - router_at(0));
	if ((rc = authenticate(req, rt->auth)) != TALLY_OK) {
		http_fail(req, rc, req->err_message, req->err_field);
		return;
	}
	if (rt->body != BODY_NONE) {
		if ((rc = read_body(req)) != TALLY_OK) {
			http_fail(req, rc, req->err_message, NULL);
			return;
		}
		if (rt->body == BODY_JSON && parse_json_or_respond(req) !=
		    TALLY_OK)
			return;
	}
	rt->fn(req);
}

/*
 * X-Request-Id: 16 hex digits, unique per process run without a random
 * draw per request: a random 32-bit tag drawn once per thread, then the
 * thread's request count.
 */
static void
request_id(char out[17])
{
	static __thread uint32_t tag;
	static __thread uint32_t seq;
	static const char digits[] = "0123456789abcdef";
	uint64_t	 v;
	int		 i;

	if (tag == 0) {
		unsigned char	 r[4];

		if (RAND_bytes(r, sizeof(r)) != 1)
			memset(r, 0x5a, sizeof(r));
		tag = ((uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 |
		    (uint32_t)r[2] << 8 | r[3]) | 1;
	}
	v = (uint64_t)tag << 32 | ++seq;
	for (i = 15; i >= 0; i--, v >>= 4)
		out[i] = digits[v & 15];
	out[16] = '\0';
}

int
http_handle(const struct app *app, struct db *db, FCGX_Request *fr)
{
	struct http_req	 req;
	struct timespec	 t1;
	const char	*uri, *method, *origin, *role;
	char		 drain[512];
	int64_t		 us;
	int		 authorizer, all_read;

	memset(&req, 0, sizeof(req));
	req.app = app;
	req.db = db;
	op_store_error_clear(db);	/* a log names this request's error */
	req.fr = fr;
	clock_gettime(CLOCK_MONOTONIC, &req.t0);
	req.now = (int64_t)time(NULL);
	request_id(req.id);
	req.metric_route = router_count() + METRICS_X_UNMATCHED;
	method = http_param(&req, "REQUEST_METHOD");
	uri = http_param(&req, "REQUEST_URI");
	req.method = method != NULL ? method : "GET";
	if (uri == NULL)
		uri = "/";
	origin = http_param(&req, "HTTP_ORIGIN");
	if (core_origin_listed(app->cfg.http_cors_origins, origin))
		req.origin = origin;

	role = http_param(&req, "FCGI_ROLE");
	authorizer = role != NULL && strcmp(role, "AUTHORIZER") == 0;
	if (authorizer) {
		req.metric_route = router_count() + METRICS_X_GATE;
		http_gate(&req, uri);
	} else
		dispatch(&req, uri);
	send_response(&req);
	/*
	 * A responder's stdin ends with an empty record the web server always
	 * sends (usually in the same write as the request): read up to it, so
	 * that the connection closes with nothing unread (main.c).
	 */
	if (!authorizer)
		while (FCGX_GetStr(drain, sizeof(drain), fr->in) > 0)
			continue;
	all_read = !authorizer && FCGX_HasSeenEOF(fr->in) == EOF &&
	    FCGX_GetError(fr->in) == 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (int64_t)(t1.tv_sec - req.t0.tv_sec) * 1000000 +
	    (t1.tv_nsec - req.t0.tv_nsec) / 1000;
	metrics_request(req.metric_route, req.status, us, db);
	log_request(&req, req.method, uri, us);

	free(req.text);
	json_decref(req.resp);
	json_decref(req.json);
	free(req.body);
	return all_read;
}
