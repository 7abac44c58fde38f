/* INI configuration parser: a typed key table checked once at start. */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "money.h"
#include "result.h"

enum ctype {
	CT_STR,
	CT_INT,
	CT_BOOL
};

enum cflag {
	CF_REQUIRED = 1,	/* must be non-empty after all sources */
	CF_SECRET = 2		/* never echoed back in an error */
};

struct ckey {
	const char	*section;
	const char	*key;
	enum ctype	 type;
	size_t		 off;
	size_t		 size;	/* CT_STR: buffer size */
	const char	*def;
	int64_t		 min, max;	/* CT_INT range */
	int		 flags;
};

#define S(sec, k, f, d, fl) { sec, k, CT_STR, offsetof(struct core_config, f), \
	sizeof(((struct core_config *)0)->f), d, 0, 0, fl }
#define I(sec, k, f, d, lo, hi) { sec, k, CT_INT, \
	offsetof(struct core_config, f), 0, d, lo, hi, 0 }
#define B(sec, k, f, d) { sec, k, CT_BOOL, offsetof(struct core_config, f), \
	0, d, 0, 0, 0 }

static const struct ckey keys[] = {
	S("http", "listen", http_listen, "127.0.0.1:8080", CF_REQUIRED),
	I("http", "max_body", http_max_body, "65536", 1024, 16777216),
	S("http", "public_url", http_public_url, "http://127.0.0.1:8080", 0),
	S("http", "cors_origins", http_cors_origins, "", 0),
	I("http", "threads", http_threads, "4", 1, 256),
	B("http", "access_log", http_access_log, "no"),
	I("http", "slow_ms", http_slow_ms, "500", 0, 3600000),
	S("http", "metrics_file", http_metrics_file, "", 0),
	S("database", "socket", db_socket, "", 0),
	S("database", "host", db_host, "", 0),
	I("database", "port", db_port, "3306", 1, 65535),
	S("database", "user", db_user, "root", 0),
	S("database", "password", db_password, "", CF_SECRET),
	S("database", "name", db_name, "tally", CF_REQUIRED),
	I("database", "batch_debits", db_batch_debits, "32", 1, 64),
	S("auth", "jwt_secret", jwt_secret, "", CF_SECRET),
	S("auth", "jwks_file", jwks_file, "", 0),
	S("auth", "jwks_url", jwks_url, "", 0),
	S("auth", "jwks_ca", jwks_ca, "", 0),
	I("auth", "jwks_cache_min_seconds", jwks_cache_min, "60", 1, 86400),
	I("auth", "jwks_cache_max_seconds", jwks_cache_max, "86400", 1,
	    604800),
	I("auth", "jwks_refetch_seconds", jwks_refetch, "30", 1, 3600),
	S("auth", "jwt_issuer", jwt_issuer, "", 0),
	S("auth", "jwt_audience", jwt_audience, "", 0),
	S("auth", "service_key", service_key, "", CF_REQUIRED | CF_SECRET),
	S("auth", "admin_key", admin_key, "", CF_REQUIRED | CF_SECRET),
	S("auth", "encryption_key", encryption_key, "", CF_SECRET),
	S("billing", "currency", currency, "EUR", CF_REQUIRED),
	I("billing", "signup_credits", signup_credits, "0", 0, INT64_MAX),
	B("billing", "pay_from_credits", pay_from_credits, "yes"),
	S("billing", "dunning_days", dunning_spec, "1,3,5,7", 0),
	B("billing", "reactivate_on_topup", reactivate_on_topup, "no"),
	S("stripe", "api_base", stripe_api_base, "https://api.stripe.com", 0),
	S("stripe", "secret_key", stripe_secret_key, "", CF_SECRET),
	S("stripe", "webhook_secret", stripe_webhook_secret, "", CF_SECRET),
	I("stripe", "checkout_ttl_minutes", stripe_checkout_ttl_minutes, "60",
	    30, 1440),
	S("lightning", "api_base", ln_api_base, "", 0),
	S("lightning", "api_key", ln_api_key, "", CF_SECRET),
	S("lightning", "store_id", ln_store_id, "", 0),
	S("lightning", "webhook_secret", ln_webhook_secret, "", CF_SECRET),
	I("lightning", "invoice_minutes", ln_invoice_minutes, "15", 1, 1440),
	I("nwc", "timeout_seconds", nwc_timeout_seconds, "30", 1, 600),
	S("smtp", "url", smtp_url, "smtp://127.0.0.1:2525", 0),
	S("smtp", "from", smtp_from, "billing@example.com", 0),
	S("smtp", "user", smtp_user, "", 0),
	S("smtp", "password", smtp_password, "", CF_SECRET),
	B("smtp", "starttls", smtp_starttls, "no"),
	S("smtp", "templates", smtp_templates, "", 0),
	I("scheduler", "tick_seconds", tick_seconds, "60", 1, 86400),
	B("gate", "fail_open", gate_fail_open, "yes"),
	I("gate", "quota_flush_ms", gate_quota_flush_ms, "200", 10, 60000),
	S("seller", "name", seller_name, "", 0),
	S("seller", "address", seller_address, "", 0),
	S("seller", "tax_id", seller_tax_id, "", 0),
	S("seller", "email", seller_email, "", 0),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int
fail(char *err, size_t errsz, const char *where, const char *what)
{
	snprintf(err, errsz, "%s: %s", where, what);
	return TALLY_E_CONFIG;
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t	 i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Store value v for key k; writes the error line on failure. */
static int
set_key(struct core_config *cfg, const struct ckey *k, const char *v,
    char *err, size_t errsz)
{
	char	 where[96];
	char	*base = (char *)cfg + k->off;
	int64_t	 n;

	snprintf(where, sizeof(where), "%s.%s", k->section, k->key);
	switch (k->type) {
	case CT_STR:
		if (strlen(v) >= k->size)
			return fail(err, errsz, where, "value too long");
		memcpy(base, v, strlen(v) + 1);
		return TALLY_OK;
	case CT_INT:
		if (core_parse_int64(v, &n) != TALLY_OK)
			return fail(err, errsz, where, "not an integer");
		if (n < k->min || n > k->max)
			return fail(err, errsz, where, "out of range");
		memcpy(base, &n, sizeof(n));
		return TALLY_OK;
	case CT_BOOL:
		if (parse_bool(v, (int *)(void *)base) != 0)
			return fail(err, errsz, where, "expected yes or no");
		return TALLY_OK;
	}
	return fail(err, errsz, where, "bad key type");
}

static const struct ckey *
find_key(const char *section, const char *key)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].key, key) == 0)
			return &keys[i];
	return NULL;
}

static int
valid_id(const char *s)
{
	size_t	 n = 0;

	for (; *s; s++, n++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
		    *s == '_' || *s == '-'))
			return 0;
	return n > 0 && n < CORE_ID_MAX;
}

/* A catalog price or count: a non-negative integer. */
static int
catalog_int(const char *where, const char *v, int64_t min, int64_t *out,
    char *err, size_t errsz)
{
	if (core_parse_int64(v, out) != TALLY_OK)
		return fail(err, errsz, where, "not an integer");
	if (*out < min)
		return fail(err, errsz, where, "out of range");
	return TALLY_OK;
}

static int
catalog_str(const char *where, const char *v, char *dst, size_t dstsz,
    char *err, size_t errsz)
{
	if (strlen(v) >= dstsz)
		return fail(err, errsz, where, "value too long");
	memcpy(dst, v, strlen(v) + 1);
	return TALLY_OK;
}

static int
set_product(struct core_product *p, const char *where, const char *key,
    const char *v, char *err, size_t errsz)
{
	int	 iv;

	if (strcmp(key, "name") == 0)
		return catalog_str(where, v, p->name, sizeof(p->name), err,
		    errsz);
	if (strcmp(key, "gate") == 0) {
		if (v[0] != '/')
			return fail(err, errsz, where, "must start with /");
		return catalog_str(where, v, p->gate, sizeof(p->gate), err,
		    errsz);
	}
	if (strcmp(key, "billing") == 0) {
		if (strcmp(v, "credits") == 0)
			p->billing = CORE_BILLING_CREDITS;
		else if (strcmp(v, "invoice") == 0)
			p->billing = CORE_BILLING_INVOICE;
		else
			return fail(err, errsz, where,
			    "expected credits or invoice");
		return TALLY_OK;
	}
	if (strcmp(key, "renewal_lead_hours") == 0)
		return catalog_int(where, v, 1, &p->renewal_lead_hours, err,
		    errsz);
	if (strcmp(key, "invoice_ttl_hours") == 0)
		return catalog_int(where, v, 1, &p->invoice_ttl_hours, err,
		    errsz);
	if ((iv = core_interval_parse(key)) >= 0)
		return catalog_int(where, v, 1, &p->price[iv], err, errsz);
	if (strncmp(key, "quota.", 6) == 0) {
		struct core_quota *q;

		if (!valid_id(key + 6))
			return fail(err, errsz, where, "the metric must be 1-63 "
			    "of a-z, 0-9, _ and -");
		if (core_product_quota(p, key + 6) >= 0)
			return fail(err, errsz, where, "defined twice");
		if (p->nquotas == CORE_QUOTA_MAX)
			return fail(err, errsz, where, "too many quotas");
		q = &p->quotas[p->nquotas];
		memcpy(q->metric, key + 6, strlen(key + 6) + 1);
		if (catalog_int(where, v, 1, &q->limit, err, errsz) !=
		    TALLY_OK)
			return fail(err, errsz, where, "must be a positive "
			    "integer");
		p->nquotas++;
		return TALLY_OK;
	}
	return fail(err, errsz, where, "unknown key");
}

int64_t
core_product_quota(const struct core_product *p, const char *metric)
{
	size_t	 i;

	for (i = 0; i < p->nquotas; i++)
		if (strcmp(p->quotas[i].metric, metric) == 0)
			return p->quotas[i].limit;
	return -1;
}

static int
set_plan(struct core_plan *p, const char *where, const char *key,
    const char *v, char *err, size_t errsz)
{
	if (strcmp(key, "name") == 0)
		return catalog_str(where, v, p->name, sizeof(p->name), err,
		    errsz);
	if (strcmp(key, "monthly") == 0)
		return catalog_int(where, v, 0, &p->monthly, err, errsz);
	return fail(err, errsz, where, "unknown key");
}

static int
set_package(struct core_package *p, const char *where, const char *key,
    const char *v, char *err, size_t errsz)
{
	if (strcmp(key, "name") == 0)
		return catalog_str(where, v, p->name, sizeof(p->name), err,
		    errsz);
	if (strcmp(key, "credits") == 0)
		return catalog_int(where, v, 1, &p->credits, err, errsz);
	if (strcmp(key, "price") == 0)
		return catalog_int(where, v, 1, &p->price, err, errsz);
	return fail(err, errsz, where, "unknown key");
}

static int
set_webhook(struct core_webhook *w, const char *where, const char *key,
    const char *v, char *err, size_t errsz)
{
	char	 bad[64], msg[128];

	if (strcmp(key, "url") == 0)
		return catalog_str(where, v, w->url, sizeof(w->url), err,
		    errsz);
	if (strcmp(key, "secret") == 0) {
		/* Never echoed back: "value too long" names no value. */
		return catalog_str(where, v, w->secret, sizeof(w->secret), err,
		    errsz);
	}
	if (strcmp(key, "events") == 0) {
		w->has_events = 1;
		if (core_event_parse_list(v, &w->events, bad, sizeof(bad)) !=
		    TALLY_OK) {
			snprintf(msg, sizeof(msg), "unknown event type \"%s\"",
			    bad);
			return fail(err, errsz, where, msg);
		}
		return TALLY_OK;
	}
	return fail(err, errsz, where, "unknown key");
}

/* Current section of the parse: a fixed one or a catalog entry. */
struct cursor {
	char	 section[CORE_ID_MAX + 16];
	struct core_product *product;
	struct core_plan *plan;
	struct core_package *package;
	struct core_webhook *webhook;
};

static int
open_section(struct core_config *cfg, struct cursor *cur, const char *name,
    char *err, size_t errsz)
{
	const char	*dot = strchr(name, '.');
	const char	*id;
	size_t		 i;

	memset(cur, 0, sizeof(*cur));
	if (strlen(name) >= sizeof(cur->section))
		return fail(err, errsz, name, "section name too long");
	memcpy(cur->section, name, strlen(name) + 1);
	if (dot == NULL) {
		for (i = 0; i < NKEYS; i++)
			if (strcmp(keys[i].section, name) == 0)
				return TALLY_OK;
		return fail(err, errsz, name, "unknown section");
	}
	id = dot + 1;
	if (!valid_id(id))
		return fail(err, errsz, name,
		    "id must be 1-63 of a-z, 0-9, _ and -");
	if (strncmp(name, "product.", 8) == 0) {
		if (core_config_product(cfg, id) != NULL)
			return fail(err, errsz, name, "defined twice");
		if (cfg->nproducts == CORE_CATALOG_MAX)
			return fail(err, errsz, name, "too many products");
		cur->product = &cfg->products[cfg->nproducts++];
		memset(cur->product, 0, sizeof(*cur->product));
		for (i = 0; i < CORE_INTERVAL__MAX; i++)
			cur->product->price[i] = -1;
		cur->product->renewal_lead_hours = 72;
		cur->product->invoice_ttl_hours = 48;
		memcpy(cur->product->id, id, strlen(id) + 1);
		return TALLY_OK;
	}
	if (strncmp(name, "plan.", 5) == 0) {
		if (core_config_plan(cfg, id) != NULL)
			return fail(err, errsz, name, "defined twice");
		if (cfg->nplans == CORE_CATALOG_MAX)
			return fail(err, errsz, name, "too many plans");
		cur->plan = &cfg->plans[cfg->nplans++];
		memset(cur->plan, 0, sizeof(*cur->plan));
		cur->plan->monthly = -1;
		memcpy(cur->plan->id, id, strlen(id) + 1);
		return TALLY_OK;
	}
	if (strncmp(name, "package.", 8) == 0) {
		if (core_config_package(cfg, id) != NULL)
			return fail(err, errsz, name, "defined twice");
		if (cfg->npackages == CORE_CATALOG_MAX)
			return fail(err, errsz, name, "too many packages");
		cur->package = &cfg->packages[cfg->npackages++];
		memset(cur->package, 0, sizeof(*cur->package));
		memcpy(cur->package->id, id, strlen(id) + 1);
		return TALLY_OK;
	}
	if (strncmp(name, "webhook.", 8) == 0) {
		if (core_config_webhook(cfg, id) != NULL)
			return fail(err, errsz, name, "defined twice");
		if (cfg->nwebhooks == CORE_WEBHOOK_MAX)
			return fail(err, errsz, name, "too many webhooks");
		cur->webhook = &cfg->webhooks[cfg->nwebhooks++];
		memset(cur->webhook, 0, sizeof(*cur->webhook));
		memcpy(cur->webhook->name, id, strlen(id) + 1);
		return TALLY_OK;
	}
	return fail(err, errsz, name, "unknown section");
}

static int
set_line(struct core_config *cfg, struct cursor *cur, const char *key,
    const char *v, char *err, size_t errsz)
{
	const struct ckey *k;
	char		 where[160];

	snprintf(where, sizeof(where), "%s.%s", cur->section, key);
	if (cur->section[0] == '\0')
		return fail(err, errsz, key, "key outside a section");
	if (cur->product != NULL)
		return set_product(cur->product, where, key, v, err, errsz);
	if (cur->plan != NULL)
		return set_plan(cur->plan, where, key, v, err, errsz);
	if (cur->package != NULL)
		return set_package(cur->package, where, key, v, err, errsz);
	if (cur->webhook != NULL)
		return set_webhook(cur->webhook, where, key, v, err, errsz);
	if ((k = find_key(cur->section, key)) == NULL)
		return fail(err, errsz, where, "unknown key");
	return set_key(cfg, k, v, err, errsz);
}

static int
parse_text(struct core_config *cfg, const char *text, char *err,
    size_t errsz)
{
	struct cursor	 cur;
	char		 line[2048], lineno[32];
	const char	*p = text, *nl;
	char		*s, *eq;
	size_t		 n, no = 0;
	int		 rc;

	memset(&cur, 0, sizeof(cur));
	while (p != NULL && *p != '\0') {
		no++;
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		snprintf(lineno, sizeof(lineno), "line %zu", no);
		if (n >= sizeof(line))
			return fail(err, errsz, lineno, "line too long");
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl != NULL ? nl + 1 : NULL;
		s = trim(line);
		if (*s == '\0' || *s == ';' || *s == '#')
			continue;
		if (*s == '[') {
			if (s[strlen(s) - 1] != ']')
				return fail(err, errsz, lineno,
				    "section header without ]");
			s[strlen(s) - 1] = '\0';
			if ((rc = open_section(cfg, &cur, trim(s + 1), err,
			    errsz)) != TALLY_OK)
				return rc;
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL)
			return fail(err, errsz, lineno, "expected key = value");
		*eq = '\0';
		if ((rc = set_line(cfg, &cur, trim(s), trim(eq + 1), err,
		    errsz)) != TALLY_OK)
			return rc;
	}
	return TALLY_OK;
}

static int
apply_env(struct core_config *cfg, core_env_fn env, char *err, size_t errsz)
{
	char		 name[128];
	const char	*v;
	size_t		 i, j;
	int		 rc;

	if (env == NULL)
		return TALLY_OK;
	for (i = 0; i < NKEYS; i++) {
		snprintf(name, sizeof(name), "TALLY_%s_%s", keys[i].section,
		    keys[i].key);
		for (j = 0; name[j] != '\0'; j++)
			name[j] = (char)toupper((unsigned char)name[j]);
		if ((v = env(name)) == NULL)
			continue;
		if ((rc = set_key(cfg, &keys[i], v, err, errsz)) != TALLY_OK)
			return rc;
	}
	return TALLY_OK;
}

static int
is_hex(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[n] == '\0';
}

/* The endpoints, and per event type the names of those that want it. */
static int
validate_webhooks(struct core_config *cfg, char *err, size_t errsz)
{
	const struct core_webhook *w;
	char	 where[160];
	char	*h;
	size_t	 i, used;
	int	 t;

	for (i = 0; i < cfg->nwebhooks; i++) {
		w = &cfg->webhooks[i];
		snprintf(where, sizeof(where), "webhook.%s.url", w->name);
		if (w->url[0] == '\0')
			return fail(err, errsz, where, "required");
		if (!core_event_url_ok(w->url))
			return fail(err, errsz, where, "must be an https:// URL "
			    "(plain http:// only to 127.0.0.1, localhost or "
			    "[::1])");
		snprintf(where, sizeof(where), "webhook.%s.secret", w->name);
		if (strlen(w->secret) < 32)
			return fail(err, errsz, where,
			    "must be at least 32 characters");
		snprintf(where, sizeof(where), "webhook.%s.events", w->name);
		if (!w->has_events)
			return fail(err, errsz, where,
			    "required (event types, comma-separated, or *)");
	}
	for (t = 0; t < CORE_EV__MAX; t++) {
		h = cfg->event_hooks[t];
		h[0] = '\0';
		used = 0;
		for (i = 0; i < cfg->nwebhooks; i++) {
			if (!(cfg->webhooks[i].events & (1u << t)))
				continue;
			/* Names are [a-z0-9_-]: nothing to escape. */
			used += (size_t)snprintf(h + used,
			    sizeof(cfg->event_hooks[t]) - used, "%s\"%s\"",
			    used == 0 ? "[" : ",", cfg->webhooks[i].name);
		}
		if (used > 0)
			snprintf(h + used, sizeof(cfg->event_hooks[t]) - used,
			    "]");
	}
	return TALLY_OK;
}

/*
 * http.listen is HOST:PORT: deploy/tally-dev writes it into lighttpd's
 * configuration (server.bind, server.port), so the host is a name or an
 * address without quotes or spaces, and the port 1 to 65535.
 */
static int
valid_listen(const char *s)
{
	const char	*colon = strrchr(s, ':'), *p;
	int64_t		 port;

	if (colon == NULL || colon == s)
		return 0;
	for (p = s; p < colon; p++)
		if (!isalnum((unsigned char)*p) && strchr(".-_:[]", *p) == NULL)
			return 0;
	return core_parse_int64(colon + 1, &port) == TALLY_OK && port >= 1 &&
	    port <= 65535;
}

static int
validate(struct core_config *cfg, char *err, size_t errsz)
{
	char	 where[160];
	size_t	 i, j;
	int	 any;

	for (i = 0; i < NKEYS; i++) {
		snprintf(where, sizeof(where), "%s.%s", keys[i].section,
		    keys[i].key);
		if ((keys[i].flags & CF_REQUIRED) && keys[i].type == CT_STR &&
		    *((char *)cfg + keys[i].off) == '\0')
			return fail(err, errsz, where, "required");
	}
	if (!valid_listen(cfg->http_listen))
		return fail(err, errsz, "http.listen",
		    "expected HOST:PORT, e.g. 127.0.0.1:8080");
	if (cfg->jwt_secret[0] == '\0' && cfg->jwks_file[0] == '\0' &&
	    cfg->jwks_url[0] == '\0')
		return fail(err, errsz, "auth.jwt_secret",
		    "required (or auth.jwks_file or auth.jwks_url)");
	if (cfg->jwks_file[0] != '\0' && cfg->jwks_url[0] != '\0')
		return fail(err, errsz, "auth.jwks_url",
		    "set auth.jwks_file or auth.jwks_url, not both");
	/* Keys decide who a caller is: never over plain HTTP. */
	if (cfg->jwks_url[0] != '\0' &&
	    (strncasecmp(cfg->jwks_url, "https://", 8) != 0 ||
	    cfg->jwks_url[8] == '\0'))
		return fail(err, errsz, "auth.jwks_url",
		    "must be an https:// URL");
	if (cfg->jwks_cache_min > cfg->jwks_cache_max)
		return fail(err, errsz, "auth.jwks_cache_min_seconds",
		    "must not exceed auth.jwks_cache_max_seconds");
	if (cfg->jwt_secret[0] != '\0' && strlen(cfg->jwt_secret) < 32)
		return fail(err, errsz, "auth.jwt_secret",
		    "must be at least 32 characters");
	if (strlen(cfg->service_key) < 16)
		return fail(err, errsz, "auth.service_key",
		    "must be at least 16 characters");
	if (strlen(cfg->admin_key) < 16)
		return fail(err, errsz, "auth.admin_key",
		    "must be at least 16 characters");
	if (cfg->encryption_key[0] != '\0' && !is_hex(cfg->encryption_key, 64))
		return fail(err, errsz, "auth.encryption_key",
		    "must be 64 hex characters");
	if (strlen(cfg->currency) != 3 || !isupper((unsigned char)cfg->currency[0])
	    || !isupper((unsigned char)cfg->currency[1]) ||
	    !isupper((unsigned char)cfg->currency[2]))
		return fail(err, errsz, "billing.currency",
		    "must be a three-letter ISO 4217 code in capitals");
	if (core_dunning_parse(cfg->dunning_spec, cfg->dunning_days,
	    CORE_DUNNING_MAX, &cfg->ndunning) != TALLY_OK)
		return fail(err, errsz, "billing.dunning_days",
		    "expected ascending whole days 1-365, comma separated "
		    "(at most 10), or none");
	for (i = 0; i < cfg->nproducts; i++) {
		snprintf(where, sizeof(where), "product.%s",
		    cfg->products[i].id);
		if (cfg->products[i].name[0] == '\0')
			return fail(err, errsz, where, "name is required");
		for (any = 0, j = 0; j < CORE_INTERVAL__MAX; j++)
			any |= cfg->products[i].price[j] > 0;
		if (!any)
			return fail(err, errsz, where,
			    "needs a monthly, quarterly or yearly price");
	}
	for (i = 0; i < cfg->nplans; i++) {
		snprintf(where, sizeof(where), "plan.%s", cfg->plans[i].id);
		if (cfg->plans[i].name[0] == '\0')
			return fail(err, errsz, where, "name is required");
		if (cfg->plans[i].monthly < 0)
			return fail(err, errsz, where, "monthly is required");
	}
	for (i = 0; i < cfg->npackages; i++) {
		snprintf(where, sizeof(where), "package.%s",
		    cfg->packages[i].id);
		if (cfg->packages[i].name[0] == '\0')
			return fail(err, errsz, where, "name is required");
		if (cfg->packages[i].credits <= 0)
			return fail(err, errsz, where, "credits is required");
		if (cfg->packages[i].price <= 0)
			return fail(err, errsz, where, "price is required");
	}
	return validate_webhooks(cfg, err, errsz);
}

int
core_config_parse(const char *text, core_env_fn env, struct core_config *cfg,
    char *err, size_t errsz)
{
	size_t	 i;
	int	 rc;

	memset(cfg, 0, sizeof(*cfg));
	if (errsz > 0)
		err[0] = '\0';
	for (i = 0; i < NKEYS; i++)
		if ((rc = set_key(cfg, &keys[i], keys[i].def, err, errsz)) !=
		    TALLY_OK)
			return rc;
	if ((rc = parse_text(cfg, text != NULL ? text : "", err, errsz)) !=
	    TALLY_OK)
		return rc;
	if ((rc = apply_env(cfg, env, err, errsz)) != TALLY_OK)
		return rc;
	return validate(cfg, err, errsz);
}

int
core_config_value(const struct core_config *cfg, const char *name, char *buf,
    size_t bufsz)
{
	const struct ckey *k;
	const char	*dot = strchr(name, '.'), *base;
	char		 section[32];
	int64_t		 n;
	int		 b;

	if (dot == NULL || (size_t)(dot - name) >= sizeof(section))
		return TALLY_E_NOTFOUND;
	memcpy(section, name, (size_t)(dot - name));
	section[dot - name] = '\0';
	if ((k = find_key(section, dot + 1)) == NULL)
		return TALLY_E_NOTFOUND;
	if (k->flags & CF_SECRET)
		return TALLY_E_FORBIDDEN;
	base = (const char *)cfg + k->off;
	switch (k->type) {
	case CT_STR:
		snprintf(buf, bufsz, "%s", base);
		break;
	case CT_INT:
		memcpy(&n, base, sizeof(n));
		snprintf(buf, bufsz, "%lld", (long long)n);
		break;
	case CT_BOOL:
		memcpy(&b, base, sizeof(b));
		snprintf(buf, bufsz, "%s", b ? "yes" : "no");
		break;
	}
	return TALLY_OK;
}

const struct core_product *
core_config_product(const struct core_config *cfg, const char *id)
{
	size_t	 i;

	for (i = 0; i < cfg->nproducts; i++)
		if (strcmp(cfg->products[i].id, id) == 0)
			return &cfg->products[i];
	return NULL;
}

const struct core_plan *
core_config_plan(const struct core_config *cfg, const char *id)
{
	size_t	 i;

	for (i = 0; i < cfg->nplans; i++)
		if (strcmp(cfg->plans[i].id, id) == 0)
			return &cfg->plans[i];
	return NULL;
}

const struct core_package *
core_config_package(const struct core_config *cfg, const char *id)
{
	size_t	 i;

	for (i = 0; i < cfg->npackages; i++)
		if (strcmp(cfg->packages[i].id, id) == 0)
			return &cfg->packages[i];
	return NULL;
}

const struct core_webhook *
core_config_webhook(const struct core_config *cfg, const char *name)
{
	size_t	 i;

	for (i = 0; i < cfg->nwebhooks; i++)
		if (strcmp(cfg->webhooks[i].name, name) == 0)
			return &cfg->webhooks[i];
	return NULL;
}

static const char *const interval_names[CORE_INTERVAL__MAX] = {
	"monthly", "quarterly", "yearly"
};

static const int interval_months[CORE_INTERVAL__MAX] = { 1, 3, 12 };

int
core_interval_parse(const char *s)
{
	int	 i;

	for (i = 0; i < CORE_INTERVAL__MAX; i++)
		if (strcmp(s, interval_names[i]) == 0)
			return i;
	return -1;
}

const char *
core_interval_name(int iv)
{
	return iv >= 0 && iv < CORE_INTERVAL__MAX ? interval_names[iv] : "";
}

int
core_interval_months(int iv)
{
	return iv >= 0 && iv < CORE_INTERVAL__MAX ? interval_months[iv] : 0;
}
