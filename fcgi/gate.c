/* The FastCGI AUTHORIZER role: may this user reach this gated path? */
#include <string.h>

#include "core/json.h"
#include "core/ops/jwks.h"
#include "core/ops/log.h"
#include "core/ops/quota.h"
#include "core/ops/store.h"
#include "core/ops/subscription.h"
#include "core/request.h"
#include "core/result.h"
#include "core/route.h"
#include "core/subscription.h"
#include "fcgi/http.h"

/* The product whose gate is the longest prefix of path, or NULL. */
static const struct core_product *
gate_product(const struct core_config *cfg, const char *path, size_t plen)
{
	const struct core_product *best = NULL;
	size_t		 i, n, bestlen = 0;

	for (i = 0; i < cfg->nproducts; i++) {
		n = strlen(cfg->products[i].gate);
		if (n == 0 || n > plen || n <= bestlen ||
		    strncmp(path, cfg->products[i].gate, n) != 0)
			continue;
		best = &cfg->products[i];
		bestlen = n;
	}
	return best;
}

void
http_gate(struct http_req *req, const char *uri)
{
	const struct core_config *cfg = &req->app->cfg;
	const struct core_product *p;
	struct db_sub	 s;
	struct op_quota	 quota;
	const char	*h;
	char		 path[2048];
	int		 rc, renews;

	/* Match the path the web server will serve, not its spelling. */
	if (core_path_normalize(uri, path, sizeof(path)) != 0 ||
	    (p = gate_product(cfg, path, strlen(path))) == NULL) {
		/* The web server asked about a path no product gates. */
		http_fail(req, TALLY_E_NOTFOUND, "no product gates this path",
		    NULL);
		return;
	}
	if ((h = core_bearer_token(http_param(req, "HTTP_AUTHORIZATION"))) ==
	    NULL) {
		http_fail(req, TALLY_E_UNAUTHORIZED, "a bearer token is "
		    "required", NULL);
		return;
	}
	rc = op_jwks_verify(req->app->jwks, h, strlen(h), req->now,
	    &req->claims);
	if (rc == TALLY_OK && !core_utf8_valid(req->claims.sub,
	    strlen(req->claims.sub)))
		rc = TALLY_E_UNAUTHORIZED;	/* it goes into a header */
	if (rc != TALLY_OK) {
		http_fail(req, rc, NULL, NULL);
		return;
	}
	req->caller = CALLER_USER;
	req->gate_product = p->id;
	/* No cache: a pause or a reactivation counts from the next request. */
	rc = op_sub_get_by_user(req->db, req->claims.sub, p->id, &s);
	if (rc == TALLY_E_NOTFOUND) {
		http_fail(req, TALLY_E_INACTIVE, NULL, NULL);
		return;
	}
	if (rc != TALLY_OK) {
		core_log("warn", "gate.db_unavailable", json_pack(
		    "{s:s,s:s,s:b}", "req", req->id, "error", op_store_error(req->db),
		    "fail_open", cfg->gate_fail_open));
		if (cfg->gate_fail_open)
			http_reply(req, 200, NULL);
		else
			http_fail(req, TALLY_E_UNAVAILABLE, NULL, NULL);
		return;
	}
	renews = p->billing == CORE_BILLING_CREDITS;
	if (!core_sub_entitled(core_sub_status_parse(s.status),
	    (int)s.cancel_at_period_end, s.period_end, req->now, renews)) {
		http_fail(req, TALLY_E_INACTIVE, NULL, NULL);
		return;
	}
	/* A product with quota.requests: one unit per allowed answer. */
	rc = op_quota_gate(req->db, p, req->claims.sub, s.period_start,
	    req->now, &quota);
	if (rc == TALLY_E_QUOTA) {
		http_reply(req, 429, json_pack("{s:s,s:s,s:s,s:I,s:I,s:o}",
		    "error", "quota_exceeded", "message", "the quota of this "
		    "period is spent", "metric", quota.metric, "limit",
		    (json_int_t)quota.limit, "used", (json_int_t)quota.used,
		    "resets_at", http_time(s.period_end)));
		return;
	}
	if (rc != TALLY_OK) {
		core_log("warn", "gate.quota_unavailable", json_pack(
		    "{s:s,s:s,s:b}", "req", req->id, "error",
		    core_strerror(rc), "fail_open", cfg->gate_fail_open));
		if (!cfg->gate_fail_open) {
			http_fail(req, TALLY_E_UNAVAILABLE, NULL, NULL);
			return;
		}
	}
	http_reply(req, 200, NULL);
}
