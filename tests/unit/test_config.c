/* Unit tests for core/config.c: INI parsing, defaults, catalog, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "result.h"

/* Shortest secrets that pass: 32 and 16 characters. */
#define JWT32	"0123456789abcdef0123456789abcdef"
#define SKEY16	"service-key-0123"
#define AKEY16	"admin-key-012345"
#define HEX64	"00112233445566778899aabbccddeeff" \
		"00112233445566778899AABBCCDDEEFF"

/* The smallest valid configuration: everything else has a default. */
#define AUTH	"[auth]\n" \
		"jwt_secret = " JWT32 "\n" \
		"service_key = " SKEY16 "\n" \
		"admin_key = " AKEY16 "\n"

#define X10	"xxxxxxxxxx"
#define X50	X10 X10 X10 X10 X10
#define X100	X50 X50

/* config.sample with the secrets filled in, as `make run` does. */
static const char sample[] =
"; tally configuration (INI).  One \"key = value\" per line; lines starting\n"
"; with ; or # are comments (there are no trailing comments: a value may\n"
"; contain ; or #).\n"
"\n"
"[http]\n"
"; where `make run` starts lighttpd\n"
"listen = 127.0.0.1:8080\n"
"; largest request body in bytes; larger ones get 413\n"
"max_body = 65536\n"
"public_url = http://127.0.0.1:8080\n"
"cors_origins =\n"
"threads = 4\n"
"\n"
"[database]\n"
"socket =\n"
"host =\n"
"port = 3306\n"
"user = root\n"
"password =\n"
"name = tally\n"
"\n"
"[auth]\n"
"jwt_secret = " JWT32 "\n"
"jwks_file =\n"
"jwks_url =\n"
"jwks_ca =\n"
"jwks_cache_min_seconds = 60\n"
"jwks_cache_max_seconds = 86400\n"
"jwks_refetch_seconds = 30\n"
"jwt_issuer =\n"
"jwt_audience =\n"
"service_key = " SKEY16 "\n"
"admin_key = " AKEY16 "\n"
"encryption_key = " HEX64 "\n"
"\n"
"[billing]\n"
"currency = EUR\n"
"signup_credits = 0\n"
"pay_from_credits = yes\n"
"\n"
"[stripe]\n"
"api_base = https://api.stripe.com\n"
"secret_key =\n"
"webhook_secret =\n"
"checkout_ttl_minutes = 60\n"
"\n"
"[lightning]\n"
"; BTCPay Server Greenfield API\n"
"api_base =\n"
"api_key =\n"
"store_id =\n"
"webhook_secret =\n"
"\n"
"[smtp]\n"
"url = smtp://127.0.0.1:2525\n"
"from = billing@example.com\n"
"user =\n"
"password =\n"
"\n"
"[scheduler]\n"
"tick_seconds = 60\n"
"\n"
"[gate]\n"
"; when the database cannot be reached: yes = allow (and log), no = 503\n"
"fail_open = yes\n"
"\n"
"[product.cloud_sync]\n"
"name = Cloud Sync\n"
"billing = credits\n"
"monthly = 30\n"
"quarterly = 90\n"
"yearly = 360\n"
"gate = /sync/\n"
"\n"
"[product.pro]\n"
"name = Pro\n"
"billing = invoice\n"
"monthly = 2900\n"
"renewal_lead_hours = 72\n"
"invoice_ttl_hours = 48\n"
"\n"
"[plan.relay_basic]\n"
"name = Basic relay\n"
"monthly = 500\n"
"\n"
"[package.starter]\n"
"name = 500 credits\n"
"credits = 500\n"
"price = 500\n"
"\n"
"[package.large]\n"
"name = 2000 credits\n"
"credits = 2000\n"
"price = 1800\n";

/* The fake environment: NULL-terminated name, value pairs. */
static const char *const	*fake_env;

static const char *
env_lookup(const char *name)
{
	size_t	 i;

	for (i = 0; fake_env != NULL && fake_env[i] != NULL; i += 2)
		if (strcmp(fake_env[i], name) == 0)
			return fake_env[i + 1];
	return NULL;
}

/* Names the parser asked for, to check their spelling. */
static char	 asked[64][64];
static size_t	 nasked;

static const char *
env_record(const char *name)
{
	if (nasked < 64)
		snprintf(asked[nasked++], sizeof(asked[0]), "%s", name);
	return env_lookup(name);
}

static struct core_config *
cfg_new(void)
{
	struct core_config	*cfg;

	cfg = calloc(1, sizeof(*cfg));
	assert_non_null(cfg);
	return cfg;
}

static void
test_sample(void **state)
{
	struct core_config		*cfg = cfg_new();
	const struct core_product	*p;
	const struct core_plan		*pl;
	const struct core_package	*pk;
	char				 err[256];

	(void)state;
	if (core_config_parse(sample, NULL, cfg, err, sizeof(err)) !=
	    TALLY_OK)
		fail_msg("sample: %s", err);
	assert_string_equal(err, "");

	assert_string_equal(cfg->http_listen, "127.0.0.1:8080");
	assert_int_equal(cfg->http_max_body, 65536);
	assert_string_equal(cfg->http_public_url, "http://127.0.0.1:8080");
	assert_string_equal(cfg->http_cors_origins, "");
	assert_int_equal(cfg->http_threads, 4);
	assert_string_equal(cfg->db_socket, "");
	assert_string_equal(cfg->db_host, "");
	assert_int_equal(cfg->db_port, 3306);
	assert_string_equal(cfg->db_user, "root");
	assert_string_equal(cfg->db_password, "");
	assert_string_equal(cfg->db_name, "tally");
	assert_string_equal(cfg->jwt_secret, JWT32);
	assert_string_equal(cfg->jwks_file, "");
	assert_string_equal(cfg->jwks_url, "");
	assert_string_equal(cfg->jwks_ca, "");
	assert_int_equal(cfg->jwks_cache_min, 60);
	assert_int_equal(cfg->jwks_cache_max, 86400);
	assert_int_equal(cfg->jwks_refetch, 30);
	assert_string_equal(cfg->service_key, SKEY16);
	assert_string_equal(cfg->admin_key, AKEY16);
	assert_string_equal(cfg->encryption_key, HEX64);
	assert_string_equal(cfg->currency, "EUR");
	assert_int_equal(cfg->signup_credits, 0);
	assert_int_equal(cfg->pay_from_credits, 1);
	assert_string_equal(cfg->stripe_api_base, "https://api.stripe.com");
	assert_int_equal(cfg->stripe_checkout_ttl_minutes, 60);
	assert_string_equal(cfg->ln_api_base, "");
	assert_string_equal(cfg->smtp_url, "smtp://127.0.0.1:2525");
	assert_string_equal(cfg->smtp_from, "billing@example.com");
	assert_int_equal(cfg->tick_seconds, 60);
	assert_int_equal(cfg->gate_fail_open, 1);

	/* The catalog, in file order. */
	assert_int_equal(cfg->nproducts, 2);
	assert_int_equal(cfg->nplans, 1);
	assert_int_equal(cfg->npackages, 2);

	p = core_config_product(cfg, "cloud_sync");
	assert_ptr_equal(p, &cfg->products[0]);
	assert_string_equal(p->id, "cloud_sync");
	assert_string_equal(p->name, "Cloud Sync");
	assert_int_equal(p->billing, CORE_BILLING_CREDITS);
	assert_int_equal(p->price[CORE_INTERVAL_MONTHLY], 30);
	assert_int_equal(p->price[CORE_INTERVAL_QUARTERLY], 90);
	assert_int_equal(p->price[CORE_INTERVAL_YEARLY], 360);
	assert_string_equal(p->gate, "/sync/");
	assert_int_equal(p->renewal_lead_hours, 72);
	assert_int_equal(p->invoice_ttl_hours, 48);

	p = core_config_product(cfg, "pro");
	assert_ptr_equal(p, &cfg->products[1]);
	assert_string_equal(p->name, "Pro");
	assert_int_equal(p->billing, CORE_BILLING_INVOICE);
	assert_int_equal(p->price[CORE_INTERVAL_MONTHLY], 2900);
	/* Intervals not offered are -1. */
	assert_int_equal(p->price[CORE_INTERVAL_QUARTERLY], -1);
	assert_int_equal(p->price[CORE_INTERVAL_YEARLY], -1);
	assert_string_equal(p->gate, "");

	pl = core_config_plan(cfg, "relay_basic");
	assert_non_null(pl);
	assert_string_equal(pl->name, "Basic relay");
	assert_int_equal(pl->monthly, 500);

	pk = core_config_package(cfg, "starter");
	assert_non_null(pk);
	assert_string_equal(pk->name, "500 credits");
	assert_int_equal(pk->credits, 500);
	assert_int_equal(pk->price, 500);
	pk = core_config_package(cfg, "large");
	assert_ptr_equal(pk, &cfg->packages[1]);
	assert_int_equal(pk->credits, 2000);
	assert_int_equal(pk->price, 1800);

	/* Lookups are exact and per kind. */
	assert_null(core_config_product(cfg, "nope"));
	assert_null(core_config_product(cfg, ""));
	assert_null(core_config_product(cfg, "Pro"));
	assert_null(core_config_product(cfg, "pr"));
	assert_null(core_config_product(cfg, "pro "));
	assert_null(core_config_product(cfg, "relay_basic"));
	assert_null(core_config_plan(cfg, "pro"));
	assert_null(core_config_plan(cfg, ""));
	assert_null(core_config_package(cfg, "cloud_sync"));
	assert_null(core_config_package(cfg, "starte"));
	free(cfg);
}

static void
test_defaults(void **state)
{
	struct core_config	*cfg = cfg_new();
	char			 err[256];

	(void)state;
	memset(cfg, 0xa5, sizeof(*cfg));
	if (core_config_parse(AUTH, NULL, cfg, err, sizeof(err)) != TALLY_OK)
		fail_msg("minimal: %s", err);
	assert_string_equal(cfg->http_listen, "127.0.0.1:8080");
	assert_int_equal(cfg->http_max_body, 65536);
	assert_string_equal(cfg->http_public_url, "http://127.0.0.1:8080");
	assert_string_equal(cfg->http_cors_origins, "");
	assert_int_equal(cfg->http_threads, 4);
	assert_int_equal(cfg->http_access_log, 0);
	assert_int_equal(cfg->http_slow_ms, 500);
	assert_string_equal(cfg->db_socket, "");
	assert_string_equal(cfg->db_host, "");
	assert_int_equal(cfg->db_port, 3306);
	assert_string_equal(cfg->db_user, "root");
	assert_string_equal(cfg->db_password, "");
	assert_string_equal(cfg->db_name, "tally");
	assert_string_equal(cfg->jwks_file, "");
	assert_string_equal(cfg->jwt_issuer, "");
	assert_string_equal(cfg->jwt_audience, "");
	assert_string_equal(cfg->encryption_key, "");
	assert_string_equal(cfg->currency, "EUR");
	assert_int_equal(cfg->signup_credits, 0);
	assert_int_equal(cfg->pay_from_credits, 1);
	/* Dunning: retries 1, 3, 5 and 7 days after the first failure;
	 * no automatic reactivation on top-up unless the operator says. */
	assert_string_equal(cfg->dunning_spec, "1,3,5,7");
	assert_int_equal(cfg->ndunning, 4);
	assert_int_equal(cfg->dunning_days[0], 1);
	assert_int_equal(cfg->dunning_days[3], 7);
	assert_int_equal(cfg->reactivate_on_topup, 0);
	assert_string_equal(cfg->stripe_api_base, "https://api.stripe.com");
	assert_string_equal(cfg->stripe_secret_key, "");
	assert_int_equal(cfg->stripe_checkout_ttl_minutes, 60);
	assert_string_equal(cfg->ln_api_base, "");
	assert_string_equal(cfg->smtp_url, "smtp://127.0.0.1:2525");
	assert_string_equal(cfg->smtp_from, "billing@example.com");
	assert_string_equal(cfg->smtp_user, "");
	assert_int_equal(cfg->tick_seconds, 60);
	assert_int_equal(cfg->gate_fail_open, 1);
	assert_int_equal(cfg->nproducts, 0);
	assert_int_equal(cfg->nplans, 0);
	assert_int_equal(cfg->npackages, 0);
	assert_null(core_config_product(cfg, "pro"));
	free(cfg);
}

/* Values as written: spacing, case of booleans, ';' and '#' inside. */
static void
test_values(void **state)
{
	static const char	 text[] =
	    "# hash comment\n"
	    "; semicolon comment\n"
	    "   ; indented comment\n"
	    "\t# tab-indented comment\n"
	    "\n"
	    "  \t \n"
	    "[ http ]\n"
	    "listen=0.0.0.0:9000\n"
	    "  max_body   =   1024  \n"
	    "public_url = https://pay.example/?a=b#frag\n"
	    "cors_origins = https://a.example, https://b.example\n"
	    "threads = 256\n"
	    "[billing]\r\n"
	    "currency = USD\r\n"
	    "pay_from_credits = OFF\r\n"
	    "signup_credits = 9223372036854775807\r\n"
	    "[gate]\n"
	    "fail_open = False\n"
	    "[database]\n"
	    "password = p;a#s=s\n"
	    "port = 1\n"
	    "[scheduler]\n"
	    "tick_seconds = 86400\n"
	    "[stripe]\n"
	    "checkout_ttl_minutes = 30\n"
	    AUTH
	    "jwks_file = /etc/tally/jwks.json\n"
	    "[product.a-b_9]\n"
	    "name = A; B # C\n"
	    "yearly = 9223372036854775807\n"
	    "renewal_lead_hours = 1\n"
	    "invoice_ttl_hours = 1\n"
	    "[plan.free]\n"
	    "name = Free\n"
	    "monthly = 0\n"
	    "[package.p]\n"
	    "name = P\n"
	    "credits = 1\n"
	    "price = 1";		/* no final newline */
	struct core_config		*cfg = cfg_new();
	const struct core_product	*p;
	char				 err[256];

	(void)state;
	if (core_config_parse(text, NULL, cfg, err, sizeof(err)) != TALLY_OK)
		fail_msg("%s", err);
	assert_string_equal(cfg->http_listen, "0.0.0.0:9000");
	assert_int_equal(cfg->http_max_body, 1024);
	assert_string_equal(cfg->http_public_url,
	    "https://pay.example/?a=b#frag");
	assert_string_equal(cfg->http_cors_origins,
	    "https://a.example, https://b.example");
	assert_int_equal(cfg->http_threads, 256);
	assert_string_equal(cfg->currency, "USD");
	assert_int_equal(cfg->pay_from_credits, 0);
	assert_true(cfg->signup_credits == INT64_MAX);
	assert_int_equal(cfg->gate_fail_open, 0);
	assert_string_equal(cfg->db_password, "p;a#s=s");
	assert_int_equal(cfg->db_port, 1);
	assert_int_equal(cfg->tick_seconds, 86400);
	assert_int_equal(cfg->stripe_checkout_ttl_minutes, 30);
	assert_string_equal(cfg->jwks_file, "/etc/tally/jwks.json");

	p = core_config_product(cfg, "a-b_9");
	assert_non_null(p);
	assert_string_equal(p->name, "A; B # C");
	assert_int_equal(p->billing, CORE_BILLING_CREDITS);
	assert_true(p->price[CORE_INTERVAL_YEARLY] == INT64_MAX);
	assert_int_equal(p->price[CORE_INTERVAL_MONTHLY], -1);
	assert_int_equal(p->renewal_lead_hours, 1);
	assert_int_equal(p->invoice_ttl_hours, 1);
	assert_int_equal(core_config_plan(cfg, "free")->monthly, 0);
	assert_int_equal(core_config_package(cfg, "p")->price, 1);
	free(cfg);
}

static void
test_bools(void **state)
{
	static const struct {
		const char	*v;
		int		 want;	/* -1: rejected */
	} cases[] = {
		{ "yes", 1 }, { "YES", 1 }, { "Yes", 1 }, { "true", 1 },
		{ "TRUE", 1 }, { "on", 1 }, { "On", 1 }, { "1", 1 },
		{ "no", 0 }, { "NO", 0 }, { "false", 0 }, { "False", 0 },
		{ "off", 0 }, { "OFF", 0 }, { "0", 0 },
		{ "", -1 }, { "y", -1 }, { "n", -1 }, { "2", -1 },
		{ "-1", -1 }, { "00", -1 }, { "yess", -1 }, { "maybe", -1 },
		{ "enabled", -1 }, { "yes no", -1 },
	};
	struct core_config	*cfg = cfg_new();
	char			 text[512], err[256];
	size_t			 i;
	int			 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), AUTH "[gate]\nfail_open = %s\n"
		    "[billing]\npay_from_credits = %s\n", cases[i].v,
		    cases[i].v);
		rc = core_config_parse(text, NULL, cfg, err, sizeof(err));
		if (cases[i].want < 0) {
			if (rc != TALLY_E_CONFIG)
				fail_msg("\"%s\" accepted", cases[i].v);
			assert_string_equal(err,
			    "gate.fail_open: expected yes or no");
			continue;
		}
		if (rc != TALLY_OK)
			fail_msg("\"%s\": %s", cases[i].v, err);
		assert_int_equal(cfg->gate_fail_open, cases[i].want);
		assert_int_equal(cfg->pay_from_credits, cases[i].want);
	}
	free(cfg);
}

struct ccase {
	const char		*name;
	const char		*text;
	const char *const	*env;
	const char		*err;	/* NULL: OK; else the error's start */
};

static void
run_cases(const struct ccase *c, size_t n)
{
	struct core_config	*cfg = cfg_new();
	char			 err[512];
	size_t			 i;
	int			 rc;

	for (i = 0; i < n; i++) {
		fake_env = c[i].env;
		memset(err, 'x', sizeof(err));
		rc = core_config_parse(c[i].text, c[i].env != NULL ?
		    env_lookup : NULL, cfg, err, sizeof(err));
		fake_env = NULL;
		if (memchr(err, '\0', sizeof(err)) == NULL)
			fail_msg("%s: err not terminated", c[i].name);
		if (c[i].err == NULL) {
			if (rc != TALLY_OK)
				fail_msg("%s: rc %d: %s", c[i].name, rc, err);
			if (err[0] != '\0')
				fail_msg("%s: err \"%s\" on success",
				    c[i].name, err);
			continue;
		}
		if (rc != TALLY_E_CONFIG)
			fail_msg("%s: rc %d, want TALLY_E_CONFIG", c[i].name,
			    rc);
		if (strncmp(err, c[i].err, strlen(c[i].err)) != 0)
			fail_msg("%s: err \"%s\", want \"%s...\"", c[i].name,
			    err, c[i].err);
		/* One line, and never a secret's value. */
		if (strchr(err, '\n') != NULL)
			fail_msg("%s: err has a newline", c[i].name);
		if (strstr(err, JWT32) != NULL || strstr(err, SKEY16) != NULL ||
		    strstr(err, AKEY16) != NULL || strstr(err, "s3cr3t") !=
		    NULL)
			fail_msg("%s: err \"%s\" shows a secret", c[i].name,
			    err);
	}
	free(cfg);
}

#define RUN(t)	run_cases((t), sizeof(t) / sizeof((t)[0]))

static void
test_auth_errors(void **state)
{
	static const struct ccase	 cases[] = {
	{ "minimal", AUTH, NULL, NULL },
	{ "empty text", "", NULL, "auth.service_key: required" },
	{ "NULL text", NULL, NULL, "auth.service_key: required" },
	{ "only comments", "; a\n# b\n", NULL, "auth.service_key: required" },
	{ "no service_key",
	    "[auth]\njwt_secret = " JWT32 "\nadmin_key = " AKEY16 "\n", NULL,
	    "auth.service_key: required" },
	{ "empty service_key", AUTH "service_key =\n", NULL,
	    "auth.service_key: required" },
	{ "no admin_key",
	    "[auth]\njwt_secret = " JWT32 "\nservice_key = " SKEY16 "\n",
	    NULL, "auth.admin_key: required" },
	{ "no jwt_secret nor jwks_file",
	    "[auth]\nservice_key = " SKEY16 "\nadmin_key = " AKEY16 "\n",
	    NULL, "auth.jwt_secret: required" },
	{ "both empty", AUTH "jwt_secret =\njwks_file =\n", NULL,
	    "auth.jwt_secret: required" },
	{ "jwks_file alone",
	    "[auth]\njwks_file = /etc/jwks.json\nservice_key = " SKEY16
	    "\nadmin_key = " AKEY16 "\n", NULL, NULL },
	{ "jwks_url alone",
	    "[auth]\njwks_url = https://idp.example/jwks.json\nservice_key = "
	    SKEY16 "\nadmin_key = " AKEY16 "\n", NULL, NULL },
	{ "jwks_url with jwt_secret and a CA",
	    AUTH "jwks_url = HTTPS://idp.example/k\njwks_ca = /etc/ca.pem\n",
	    NULL, NULL },
	{ "jwks_url and jwks_file",
	    AUTH "jwks_url = https://idp.example/k\njwks_file = /j\n", NULL,
	    "auth.jwks_url: set auth.jwks_file or auth.jwks_url, not both" },
	{ "jwks_url over http",
	    AUTH "jwks_url = http://127.0.0.1/jwks.json\n", NULL,
	    "auth.jwks_url: must be an https:// URL" },
	{ "jwks_url without a host", AUTH "jwks_url = https://\n", NULL,
	    "auth.jwks_url: must be an https:// URL" },
	{ "jwks_url a path", AUTH "jwks_url = /etc/jwks.json\n", NULL,
	    "auth.jwks_url: must be an https:// URL" },
	{ "jwks cache bounds crossed",
	    AUTH "jwks_cache_min_seconds = 600\njwks_cache_max_seconds = 599\n",
	    NULL, "auth.jwks_cache_min_seconds: must not exceed" },
	{ "jwks cache bounds equal",
	    AUTH "jwks_cache_min_seconds = 600\njwks_cache_max_seconds = 600\n",
	    NULL, NULL },
	{ "jwks_cache_min_seconds 0", AUTH "jwks_cache_min_seconds = 0\n",
	    NULL, "auth.jwks_cache_min_seconds: out of range" },
	{ "jwks_refetch_seconds 0", AUTH "jwks_refetch_seconds = 0\n", NULL,
	    "auth.jwks_refetch_seconds: out of range" },
	{ "jwt_secret 31 characters",
	    AUTH "jwt_secret = 0123456789abcdef0123456789abcde\n", NULL,
	    "auth.jwt_secret: must be at least 32" },
	{ "jwt_secret 1 character", AUTH "jwt_secret = s\n", NULL,
	    "auth.jwt_secret: must be at least 32" },
	{ "short jwt_secret with a jwks_file",
	    AUTH "jwt_secret = s3cr3t\njwks_file = /j\n", NULL,
	    "auth.jwt_secret: must be at least 32" },
	{ "jwt_secret 511 characters",
	    AUTH "jwt_secret = " X100 X100 X100 X100 X100 "xxxxxxxxxxx\n",
	    NULL, NULL },
	{ "jwt_secret 512 characters",
	    AUTH "jwt_secret = " X100 X100 X100 X100 X100 "xxxxxxxxxxxx\n",
	    NULL, "auth.jwt_secret: value too long" },
	{ "service_key 15 characters", AUTH "service_key = service-key-012\n",
	    NULL, "auth.service_key: must be at least 16" },
	{ "admin_key 15 characters", AUTH "admin_key = admin-key-01234\n",
	    NULL, "auth.admin_key: must be at least 16" },
	{ "encryption_key 64 hex", AUTH "encryption_key = " HEX64 "\n", NULL,
	    NULL },
	{ "encryption_key empty", AUTH "encryption_key =\n", NULL, NULL },
	{ "encryption_key 63 hex",
	    AUTH "encryption_key = 0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcde\n", NULL,
	    "auth.encryption_key: must be 64 hex" },
	{ "encryption_key 65 hex", AUTH "encryption_key = " HEX64 "0\n",
	    NULL, "auth.encryption_key: value too long" },
	{ "encryption_key not hex",
	    AUTH "encryption_key = 0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdeg\n", NULL,
	    "auth.encryption_key: must be 64 hex" },
	{ "encryption_key with a space",
	    AUTH "encryption_key = 0123456789abcdef0123456789abcdef"
	    "0123456789abcdef 123456789abcdef\n", NULL,
	    "auth.encryption_key: must be 64 hex" },
	{ "encryption_key 0x",
	    AUTH "encryption_key = 0x23456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\n", NULL,
	    "auth.encryption_key: must be 64 hex" },
	{ "encryption_key a word", AUTH "encryption_key = s3cr3t\n", NULL,
	    "auth.encryption_key: must be 64 hex" },
	{ "database.name empty", AUTH "[database]\nname =\n", NULL,
	    "database.name: required" },
	};

	(void)state;
	RUN(cases);
}

static void
test_value_errors(void **state)
{
	static const struct ccase	 cases[] = {
	{ "max_body not a number", AUTH "[http]\nmax_body = abc\n", NULL,
	    "http.max_body: not an integer" },
	{ "max_body empty", AUTH "[http]\nmax_body =\n", NULL,
	    "http.max_body: not an integer" },
	{ "max_body with a unit", AUTH "[http]\nmax_body = 64k\n", NULL,
	    "http.max_body: not an integer" },
	{ "max_body real", AUTH "[http]\nmax_body = 65536.0\n", NULL,
	    "http.max_body: not an integer" },
	{ "max_body hex", AUTH "[http]\nmax_body = 0x10000\n", NULL,
	    "http.max_body: not an integer" },
	{ "max_body plus", AUTH "[http]\nmax_body = +65536\n", NULL,
	    "http.max_body: not an integer" },
	{ "max_body inner space", AUTH "[http]\nmax_body = 65 536\n", NULL,
	    "http.max_body: not an integer" },
	{ "max_body over int64", AUTH
	    "[http]\nmax_body = 9223372036854775808\n", NULL,
	    "http.max_body: not an integer" },
	{ "max_body INT64_MAX", AUTH
	    "[http]\nmax_body = 9223372036854775807\n", NULL,
	    "http.max_body: out of range" },
	{ "max_body 0", AUTH "[http]\nmax_body = 0\n", NULL,
	    "http.max_body: out of range" },
	{ "max_body 1", AUTH "[http]\nmax_body = 1\n", NULL,
	    "http.max_body: out of range" },
	{ "max_body 1023", AUTH "[http]\nmax_body = 1023\n", NULL,
	    "http.max_body: out of range" },
	{ "max_body 1024", AUTH "[http]\nmax_body = 1024\n", NULL, NULL },
	{ "max_body 16 MiB", AUTH "[http]\nmax_body = 16777216\n", NULL,
	    NULL },
	{ "max_body 16 MiB + 1", AUTH "[http]\nmax_body = 16777217\n", NULL,
	    "http.max_body: out of range" },
	{ "max_body negative", AUTH "[http]\nmax_body = -65536\n", NULL,
	    "http.max_body: out of range" },
	{ "threads 0", AUTH "[http]\nthreads = 0\n", NULL,
	    "http.threads: out of range" },
	{ "threads 257", AUTH "[http]\nthreads = 257\n", NULL,
	    "http.threads: out of range" },
	{ "port 0", AUTH "[database]\nport = 0\n", NULL,
	    "database.port: out of range" },
	{ "port 65535", AUTH "[database]\nport = 65535\n", NULL, NULL },
	{ "port 65536", AUTH "[database]\nport = 65536\n", NULL,
	    "database.port: out of range" },
	{ "tick 0", AUTH "[scheduler]\ntick_seconds = 0\n", NULL,
	    "scheduler.tick_seconds: out of range" },
	{ "tick 86401", AUTH "[scheduler]\ntick_seconds = 86401\n", NULL,
	    "scheduler.tick_seconds: out of range" },
	{ "checkout ttl 29", AUTH "[stripe]\ncheckout_ttl_minutes = 29\n",
	    NULL, "stripe.checkout_ttl_minutes: out of range" },
	{ "checkout ttl 1441", AUTH "[stripe]\ncheckout_ttl_minutes = 1441\n",
	    NULL, "stripe.checkout_ttl_minutes: out of range" },
	{ "signup credits -1", AUTH "[billing]\nsignup_credits = -1\n", NULL,
	    "billing.signup_credits: out of range" },
	{ "bad bool", AUTH "[billing]\npay_from_credits = maybe\n", NULL,
	    "billing.pay_from_credits: expected yes or no" },
	{ "dunning 2,4", AUTH "[billing]\ndunning_days = 2, 4\n", NULL,
	    NULL },
	{ "dunning none", AUTH "[billing]\ndunning_days = none\n", NULL,
	    NULL },
	{ "dunning empty", AUTH "[billing]\ndunning_days =\n", NULL, NULL },
	{ "dunning descending", AUTH "[billing]\ndunning_days = 3,1\n", NULL,
	    "billing.dunning_days: expected ascending whole days" },
	{ "dunning 0", AUTH "[billing]\ndunning_days = 0,1\n", NULL,
	    "billing.dunning_days: expected ascending whole days" },
	{ "dunning words", AUTH "[billing]\ndunning_days = daily\n", NULL,
	    "billing.dunning_days: expected ascending whole days" },
	{ "reactivate bool", AUTH "[billing]\nreactivate_on_topup = later\n",
	    NULL, "billing.reactivate_on_topup: expected yes or no" },
	{ "currency USD", AUTH "[billing]\ncurrency = USD\n", NULL, NULL },
	{ "currency lowercase", AUTH "[billing]\ncurrency = eur\n", NULL,
	    "billing.currency: must be a three-letter" },
	{ "currency mixed case", AUTH "[billing]\ncurrency = Eur\n", NULL,
	    "billing.currency: must be a three-letter" },
	{ "currency two letters", AUTH "[billing]\ncurrency = EU\n", NULL,
	    "billing.currency: must be a three-letter" },
	{ "currency digits", AUTH "[billing]\ncurrency = 978\n", NULL,
	    "billing.currency: must be a three-letter" },
	{ "currency four letters", AUTH "[billing]\ncurrency = EURO\n", NULL,
	    "billing.currency: value too long" },
	{ "currency empty", AUTH "[billing]\ncurrency =\n", NULL,
	    "billing.currency: required" },
	{ "listen 127 characters",
	    AUTH "[http]\nlisten = " X100 X10 X10 "xx:8080\n", NULL, NULL },
	{ "listen 128 characters",
	    AUTH "[http]\nlisten = " X100 X10 X10 "xxxxxxxx\n", NULL,
	    "http.listen: value too long" },
	{ "listen empty", AUTH "[http]\nlisten =\n", NULL,
	    "http.listen: required" },
	{ "listen a port alone", AUTH "[http]\nlisten = 8080\n", NULL,
	    "http.listen: expected HOST:PORT" },
	{ "listen without a host", AUTH "[http]\nlisten = :8080\n", NULL,
	    "http.listen: expected HOST:PORT" },
	{ "listen without a port", AUTH "[http]\nlisten = 127.0.0.1:\n", NULL,
	    "http.listen: expected HOST:PORT" },
	{ "listen port 0", AUTH "[http]\nlisten = 127.0.0.1:0\n", NULL,
	    "http.listen: expected HOST:PORT" },
	{ "listen port 65536", AUTH "[http]\nlisten = 127.0.0.1:65536\n",
	    NULL, "http.listen: expected HOST:PORT" },
	{ "listen with a quote", AUTH "[http]\nlisten = a\"b:80\n", NULL,
	    "http.listen: expected HOST:PORT" },
	{ "listen with a space", AUTH "[http]\nlisten = a b:80\n", NULL,
	    "http.listen: expected HOST:PORT" },
	{ "listen a name", AUTH "[http]\nlisten = localhost:80\n", NULL,
	    NULL },
	{ "listen IPv6", AUTH "[http]\nlisten = [::1]:8080\n", NULL, NULL },
	{ "listen port 65535", AUTH "[http]\nlisten = 0.0.0.0:65535\n", NULL,
	    NULL },
	};

	(void)state;
	RUN(cases);
}

static void
test_syntax_errors(void **state)
{
	static const struct ccase	 cases[] = {
	{ "unknown key", AUTH "[http]\nbogus = 1\n", NULL,
	    "http.bogus: unknown key" },
	{ "key in wrong section", AUTH "[http]\ncurrency = EUR\n", NULL,
	    "http.currency: unknown key" },
	{ "key case matters", AUTH "[http]\nMax_Body = 65536\n", NULL,
	    "http.Max_Body: unknown key" },
	{ "empty key", AUTH "[http]\n= 1\n", NULL, "http.: unknown key" },
	{ "unknown section", AUTH "[nosuch]\n", NULL,
	    "nosuch: unknown section" },
	{ "unknown section, keys", "[nosuch]\na = b\n" AUTH, NULL,
	    "nosuch: unknown section" },
	{ "section case matters", AUTH "[HTTP]\n", NULL,
	    "HTTP: unknown section" },
	{ "unknown dotted section", AUTH "[http.x]\n", NULL,
	    "http.x: unknown section" },
	{ "product without id", AUTH "[product]\n", NULL,
	    "product: unknown section" },
	{ "key outside a section", "currency = EUR\n" AUTH, NULL,
	    "currency: key outside a section" },
	{ "header without ]", AUTH "[http\n", NULL,
	    "line 5: section header without ]" },
	{ "trailing comment after header", AUTH "[http] ; web\n", NULL,
	    "line 5: section header without ]" },
	{ "line without =", AUTH "[http]\nlisten\n", NULL,
	    "line 6: expected key = value" },
	{ "line numbers count blank and comment lines",
	    "\n;\n#\n\n[http]\n\nlisten\n", NULL,
	    "line 7: expected key = value" },
	{ "line numbers with CRLF", "[http]\r\n\r\nlisten\r\n", NULL,
	    "line 3: expected key = value" },
	};

	(void)state;
	RUN(cases);
}

static void
test_catalog_errors(void **state)
{
	static const struct ccase	 cases[] = {
	{ "product ok", AUTH "[product.x]\nname = X\nmonthly = 1\n", NULL,
	    NULL },
	{ "product only yearly", AUTH "[product.x]\nname = X\nyearly = 1\n",
	    NULL, NULL },
	{ "product without price", AUTH "[product.x]\nname = X\n", NULL,
	    "product.x: needs a monthly, quarterly or yearly price" },
	{ "product empty section", AUTH "[product.x]\n", NULL,
	    "product.x: name is required" },
	{ "product without name", AUTH "[product.x]\nmonthly = 1\n", NULL,
	    "product.x: name is required" },
	{ "product price 0", AUTH "[product.x]\nname = X\nmonthly = 0\n",
	    NULL, "product.x.monthly: out of range" },
	{ "product price -1", AUTH "[product.x]\nname = X\nmonthly = -1\n",
	    NULL, "product.x.monthly: out of range" },
	{ "product price text", AUTH "[product.x]\nname = X\nyearly = ten\n",
	    NULL, "product.x.yearly: not an integer" },
	{ "product price over int64",
	    AUTH "[product.x]\nname = X\nmonthly = 9223372036854775808\n",
	    NULL, "product.x.monthly: not an integer" },
	{ "product price real",
	    AUTH "[product.x]\nname = X\nmonthly = 29.00\n", NULL,
	    "product.x.monthly: not an integer" },
	{ "product billing subscription",
	    AUTH "[product.x]\nname = X\nbilling = subscription\nmonthly = 1\n",
	    NULL, "product.x.billing: expected credits or invoice" },
	{ "product billing empty", AUTH "[product.x]\nbilling =\n", NULL,
	    "product.x.billing: expected credits or invoice" },
	{ "product billing capitals", AUTH "[product.x]\nbilling = Invoice\n",
	    NULL, "product.x.billing: expected credits or invoice" },
	{ "product gate relative", AUTH "[product.x]\ngate = sync/\n", NULL,
	    "product.x.gate: must start with /" },
	{ "product gate empty", AUTH "[product.x]\ngate =\n", NULL,
	    "product.x.gate: must start with /" },
	{ "product unknown key", AUTH "[product.x]\ncolour = red\n", NULL,
	    "product.x.colour: unknown key" },
	{ "product interval is not a key",
	    AUTH "[product.x]\nweekly = 1\n", NULL,
	    "product.x.weekly: unknown key" },
	{ "product quota", AUTH "[product.x]\nname = X\nmonthly = 1\n"
	    "quota.requests = 10000\nquota.exports = 5\n", NULL, NULL },
	{ "product quota 0", AUTH "[product.x]\nquota.requests = 0\n", NULL,
	    "product.x.quota.requests: must be a positive integer" },
	{ "product quota negative", AUTH "[product.x]\nquota.requests = -5\n",
	    NULL, "product.x.quota.requests: must be a positive integer" },
	{ "product quota text", AUTH "[product.x]\nquota.requests = many\n",
	    NULL, "product.x.quota.requests: must be a positive integer" },
	{ "product quota bad metric", AUTH "[product.x]\nquota.Req = 1\n",
	    NULL, "product.x.quota.Req: the metric must be" },
	{ "product quota no metric", AUTH "[product.x]\nquota. = 1\n",
	    NULL, "product.x.quota.: the metric must be" },
	{ "product quota twice", AUTH "[product.x]\nquota.r = 1\n"
	    "quota.r = 2\n", NULL, "product.x.quota.r: defined twice" },
	{ "product renewal lead 0",
	    AUTH "[product.x]\nrenewal_lead_hours = 0\n", NULL,
	    "product.x.renewal_lead_hours: out of range" },
	{ "product invoice ttl 0",
	    AUTH "[product.x]\ninvoice_ttl_hours = 0\n", NULL,
	    "product.x.invoice_ttl_hours: out of range" },
	{ "product name 127", AUTH "[product.x]\nname = " X100 X10 X10
	    "xxxxxxx\nmonthly = 1\n", NULL, NULL },
	{ "product name 128", AUTH "[product.x]\nname = " X100 X10 X10
	    "xxxxxxxx\nmonthly = 1\n", NULL, "product.x.name: value too long" },
	{ "duplicate product",
	    AUTH "[product.x]\nname = X\nmonthly = 1\n[product.x]\n", NULL,
	    "product.x: defined twice" },
	{ "same id, other kinds",
	    AUTH "[product.x]\nname = X\nmonthly = 1\n"
	    "[plan.x]\nname = X\nmonthly = 1\n"
	    "[package.x]\nname = X\ncredits = 1\nprice = 1\n", NULL, NULL },
	{ "duplicate plan",
	    AUTH "[plan.b]\nname = B\nmonthly = 1\n[plan.b]\n", NULL,
	    "plan.b: defined twice" },
	{ "duplicate package",
	    AUTH "[package.p]\nname = P\ncredits = 1\nprice = 1\n"
	    "[package.p]\n", NULL, "package.p: defined twice" },
	{ "id uppercase", AUTH "[product.Pro]\n", NULL, "product.Pro: id" },
	{ "id empty", AUTH "[product.]\n", NULL, "product.: id" },
	{ "id with a dot", AUTH "[product.a.b]\n", NULL, "product.a.b: id" },
	{ "id with a space", AUTH "[product.a b]\n", NULL, "product.a b: id" },
	{ "id 63 characters", AUTH "[product." X50 X10 "xxx]\nname = X\n"
	    "monthly = 1\n", NULL, NULL },
	{ "id 64 characters", AUTH "[product." X50 X10 "xxxx]\n", NULL,
	    "product." X50 X10 "xxxx: id" },
	{ "section name too long", AUTH "[package." X50 X10 X10 "xxxx]\n",
	    NULL, "package." X50 X10 X10 "xxxx: section name too long" },
	{ "plan without monthly", AUTH "[plan.b]\nname = B\n", NULL,
	    "plan.b: monthly is required" },
	{ "plan without name", AUTH "[plan.b]\nmonthly = 1\n", NULL,
	    "plan.b: name is required" },
	{ "plan free", AUTH "[plan.b]\nname = B\nmonthly = 0\n", NULL, NULL },
	{ "plan monthly -1", AUTH "[plan.b]\nmonthly = -1\n", NULL,
	    "plan.b.monthly: out of range" },
	{ "plan unknown key", AUTH "[plan.b]\nyearly = 1\n", NULL,
	    "plan.b.yearly: unknown key" },
	{ "package without credits",
	    AUTH "[package.p]\nname = P\nprice = 500\n", NULL,
	    "package.p: credits is required" },
	{ "package without price",
	    AUTH "[package.p]\nname = P\ncredits = 500\n", NULL,
	    "package.p: price is required" },
	{ "package without name",
	    AUTH "[package.p]\ncredits = 500\nprice = 500\n", NULL,
	    "package.p: name is required" },
	{ "package credits 0",
	    AUTH "[package.p]\nname = P\ncredits = 0\nprice = 1\n", NULL,
	    "package.p.credits: out of range" },
	{ "package price 0",
	    AUTH "[package.p]\nname = P\ncredits = 1\nprice = 0\n", NULL,
	    "package.p.price: out of range" },
	{ "package unknown key", AUTH "[package.p]\nmonthly = 1\n", NULL,
	    "package.p.monthly: unknown key" },
	{ "catalog key after a fixed section",
	    AUTH "[product.x]\nname = X\nmonthly = 1\n[http]\nname = X\n",
	    NULL, "http.name: unknown key" },
	{ "fixed key in a product", AUTH "[product.x]\nlisten = :80\n", NULL,
	    "product.x.listen: unknown key" },
	};

	(void)state;
	RUN(cases);
}

static void
test_env(void **state)
{
	static const char *const	 usd[] = {
		"TALLY_BILLING_CURRENCY", "USD",
		"TALLY_HTTP_MAX_BODY", "1048576",
		NULL
	};
	static const char *const	 keys[] = {
		"TALLY_AUTH_SERVICE_KEY", SKEY16,
		"TALLY_AUTH_ADMIN_KEY", AKEY16,
		"TALLY_AUTH_JWT_SECRET", JWT32,
		"TALLY_GATE_FAIL_OPEN", "no",
		"TALLY_SCHEDULER_TICK_SECONDS", "1",
		NULL
	};
	static const char *const	 lower[] = {
		"tally_billing_currency", "USD",
		"TALLY_billing_currency", "USD",
		"BILLING_CURRENCY", "USD",
		"TALLY_CURRENCY", "USD",
		NULL
	};
	static const char *const	 bad_int[] = {
		"TALLY_HTTP_MAX_BODY", "abc", NULL
	};
	static const char *const	 big_int[] = {
		"TALLY_HTTP_MAX_BODY", "16777217", NULL
	};
	static const char *const	 bad_cur[] = {
		"TALLY_BILLING_CURRENCY", "usd", NULL
	};
	static const char *const	 bad_bool[] = {
		"TALLY_GATE_FAIL_OPEN", "perhaps", NULL
	};
	static const char *const	 short_key[] = {
		"TALLY_AUTH_SERVICE_KEY", "s3cr3t", NULL
	};
	static const char *const	 catalog[] = {
		"TALLY_PRODUCT_PRO_MONTHLY", "1", NULL
	};
	static const struct ccase	 cases[] = {
	{ "bad integer", AUTH, bad_int, "http.max_body: not an integer" },
	{ "integer out of range", AUTH, big_int,
	    "http.max_body: out of range" },
	{ "lowercase currency", AUTH, bad_cur, "billing.currency: must be" },
	{ "bad bool", AUTH, bad_bool, "gate.fail_open: expected yes or no" },
	{ "short service key", AUTH, short_key,
	    "auth.service_key: must be at least 16" },
	{ "the catalog is not in the environment",
	    AUTH "[product.pro]\nname = Pro\n", catalog,
	    "product.pro: needs a monthly" },
	};
	struct core_config	*cfg = cfg_new();
	char			 err[256];
	size_t			 i;
	int			 seen_cur = 0, seen_body = 0;

	(void)state;

	/* Overrides the text and the defaults. */
	fake_env = usd;
	nasked = 0;
	if (core_config_parse(AUTH "[billing]\ncurrency = EUR\n", env_record,
	    cfg, err, sizeof(err)) != TALLY_OK)
		fail_msg("%s", err);
	assert_string_equal(cfg->currency, "USD");
	assert_int_equal(cfg->http_max_body, 1048576);
	assert_int_equal(cfg->tick_seconds, 60);
	/* Every name asked for is TALLY_SECTION_KEY in capitals. */
	assert_true(nasked >= 30);
	for (i = 0; i < nasked; i++) {
		if (strncmp(asked[i], "TALLY_", 6) != 0 ||
		    strspn(asked[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") !=
		    strlen(asked[i]))
			fail_msg("asked for \"%s\"", asked[i]);
		seen_cur |= strcmp(asked[i], "TALLY_BILLING_CURRENCY") == 0;
		seen_body |= strcmp(asked[i], "TALLY_HTTP_MAX_BODY") == 0;
	}
	assert_true(seen_cur && seen_body);

	/* Secrets from the environment alone. */
	fake_env = keys;
	if (core_config_parse("", env_lookup, cfg, err, sizeof(err)) !=
	    TALLY_OK)
		fail_msg("%s", err);
	assert_string_equal(cfg->service_key, SKEY16);
	assert_string_equal(cfg->jwt_secret, JWT32);
	assert_int_equal(cfg->gate_fail_open, 0);
	assert_int_equal(cfg->tick_seconds, 1);

	/* Names are exact. */
	fake_env = lower;
	assert_int_equal(core_config_parse(AUTH, env_lookup, cfg, err,
	    sizeof(err)), TALLY_OK);
	assert_string_equal(cfg->currency, "EUR");

	/* An empty environment changes nothing. */
	fake_env = NULL;
	assert_int_equal(core_config_parse(AUTH, env_lookup, cfg, err,
	    sizeof(err)), TALLY_OK);
	assert_int_equal(cfg->http_max_body, 65536);
	free(cfg);

	RUN(cases);
}

/* Lines of 2047 bytes are read, of 2048 refused with their number. */
static void
test_line_length(void **state)
{
	struct core_config	*cfg = cfg_new();
	char			*text, err[256];
	size_t			 n, len;

	(void)state;
	len = strlen(AUTH);
	text = malloc(len + 4096);
	assert_non_null(text);

	/* A 2047-byte comment, then AUTH. */
	memset(text, ';', 2047);
	text[2047] = '\n';
	memcpy(text + 2048, AUTH, len + 1);
	if (core_config_parse(text, NULL, cfg, err, sizeof(err)) != TALLY_OK)
		fail_msg("2047: %s", err);

	/* A 2048-byte comment. */
	memset(text, ';', 2048);
	text[2048] = '\n';
	memcpy(text + 2049, AUTH, len + 1);
	assert_int_equal(core_config_parse(text, NULL, cfg, err, sizeof(err)),
	    TALLY_E_CONFIG);
	assert_string_equal(err, "line 1: line too long");

	/* An oversized last line without a newline, after AUTH. */
	memcpy(text, AUTH, len);
	n = len;
	memcpy(text + n, "[http]\ncors_origins = ", 22);
	n += 22;
	memset(text + n, 'o', 3000);
	n += 3000;
	text[n] = '\0';
	assert_int_equal(core_config_parse(text, NULL, cfg, err, sizeof(err)),
	    TALLY_E_CONFIG);
	assert_string_equal(err, "line 6: line too long");

	/* 1023 characters fit cors_origins[1024], 1024 do not. */
	memcpy(text, AUTH, len);
	n = len;
	memcpy(text + n, "[http]\ncors_origins = ", 22);
	n += 22;
	memset(text + n, 'o', 1023);
	text[n + 1023] = '\0';
	if (core_config_parse(text, NULL, cfg, err, sizeof(err)) != TALLY_OK)
		fail_msg("1023: %s", err);
	assert_int_equal(strlen(cfg->http_cors_origins), 1023);
	text[n + 1023] = 'o';
	text[n + 1024] = '\0';
	assert_int_equal(core_config_parse(text, NULL, cfg, err, sizeof(err)),
	    TALLY_E_CONFIG);
	assert_string_equal(err, "http.cors_origins: value too long");

	free(text);
	free(cfg);
}

/* Exactly CORE_CATALOG_MAX of each kind; one more is refused. */
static void
test_catalog_full(void **state)
{
	struct core_config	*cfg = cfg_new();
	char			*text, err[256];
	size_t			 i, o, sz = 64 * 1024;
	int			 kind;
	static const char *const kinds[] = { "product", "plan", "package" };
	static const char *const body[] = {
		"name = P\nmonthly = 1\n",
		"name = P\nmonthly = 1\n",
		"name = P\ncredits = 1\nprice = 1\n",
	};

	(void)state;
	text = malloc(sz);
	assert_non_null(text);
	for (kind = 0; kind < 3; kind++) {
		o = (size_t)snprintf(text, sz, "%s", AUTH);
		for (i = 0; i < CORE_CATALOG_MAX; i++)
			o += (size_t)snprintf(text + o, sz - o, "[%s.p%zu]\n%s",
			    kinds[kind], i, body[kind]);
		assert_true(o < sz);
		if (core_config_parse(text, NULL, cfg, err, sizeof(err)) !=
		    TALLY_OK)
			fail_msg("%s x 64: %s", kinds[kind], err);
		assert_int_equal(kind == 0 ? cfg->nproducts : kind == 1 ?
		    cfg->nplans : cfg->npackages, CORE_CATALOG_MAX);
		assert_non_null(kind == 0 ?
		    (const void *)core_config_product(cfg, "p63") :
		    kind == 1 ? (const void *)core_config_plan(cfg, "p63") :
		    (const void *)core_config_package(cfg, "p63"));
		snprintf(text + o, sz - o, "[%s.p64]\n%s", kinds[kind],
		    body[kind]);
		assert_int_equal(core_config_parse(text, NULL, cfg, err,
		    sizeof(err)), TALLY_E_CONFIG);
		if (strncmp(err, kinds[kind], strlen(kinds[kind])) != 0 ||
		    strstr(err, ".p64: too many") == NULL)
			fail_msg("%s: err \"%s\"", kinds[kind], err);
	}
	free(text);
	free(cfg);
}

/* err is always terminated, truncated to errsz, and errsz 0 is allowed. */
static void
test_errbuf(void **state)
{
	struct core_config	*cfg = cfg_new();
	char			 err[16];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(core_config_parse("", NULL, cfg, err, 8),
	    TALLY_E_CONFIG);
	assert_string_equal(err, "auth.se");
	assert_int_equal(err[8], 'x');

	memset(err, 'x', sizeof(err));
	assert_int_equal(core_config_parse("", NULL, cfg, err, 0),
	    TALLY_E_CONFIG);
	assert_int_equal(err[0], 'x');
	assert_int_equal(core_config_parse("", NULL, cfg, NULL, 0),
	    TALLY_E_CONFIG);
	assert_int_equal(core_config_parse(AUTH, NULL, cfg, NULL, 0),
	    TALLY_OK);
	free(cfg);
}

/* A second parse into the same struct starts from scratch. */
static void
test_reparse(void **state)
{
	struct core_config	*cfg = cfg_new();
	char			 err[256];

	(void)state;
	assert_int_equal(core_config_parse(sample, NULL, cfg, err,
	    sizeof(err)), TALLY_OK);
	assert_int_equal(cfg->nproducts, 2);
	assert_int_equal(core_config_parse(AUTH, NULL, cfg, err, sizeof(err)),
	    TALLY_OK);
	assert_int_equal(cfg->nproducts, 0);
	assert_int_equal(cfg->npackages, 0);
	assert_null(core_config_product(cfg, "pro"));
	assert_string_equal(cfg->encryption_key, "");
	free(cfg);
}

static void
test_interval(void **state)
{
	static const struct {
		const char	*name;
		int		 iv;
		int		 months;
	} cases[] = {
		{ "monthly", CORE_INTERVAL_MONTHLY, 1 },
		{ "quarterly", CORE_INTERVAL_QUARTERLY, 3 },
		{ "yearly", CORE_INTERVAL_YEARLY, 12 },
	};
	static const char *const	 bad[] = {
		"", "Monthly", "MONTHLY", "month", "monthlyx", " monthly",
		"monthly ", "annually", "weekly", "daily", "0", "1",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(core_interval_parse(cases[i].name),
		    cases[i].iv);
		assert_string_equal(core_interval_name(cases[i].iv),
		    cases[i].name);
		assert_int_equal(core_interval_months(cases[i].iv),
		    cases[i].months);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (core_interval_parse(bad[i]) != -1)
			fail_msg("\"%s\" parsed", bad[i]);

	/* Out of range: "" and 0 months, never a crash. */
	assert_string_equal(core_interval_name(CORE_INTERVAL__MAX), "");
	assert_string_equal(core_interval_name(-1), "");
	assert_string_equal(core_interval_name(INT32_MAX), "");
	assert_string_equal(core_interval_name(INT32_MIN), "");
	assert_int_equal(core_interval_months(CORE_INTERVAL__MAX), 0);
	assert_int_equal(core_interval_months(-1), 0);
	assert_int_equal(core_interval_months(INT32_MAX), 0);
	assert_int_equal(core_interval_months(INT32_MIN), 0);
}

/* core_config_value: the effective value as text, never a secret. */
static void
test_value_of(void **state)
{
	struct core_config	*cfg = cfg_new();
	char			 err[256], buf[64];

	(void)state;
	if (core_config_parse(AUTH "[http]\nthreads = 7\n", NULL, cfg, err,
	    sizeof(err)) != TALLY_OK)
		fail_msg("%s", err);
	assert_int_equal(core_config_value(cfg, "http.listen", buf,
	    sizeof(buf)), TALLY_OK);
	assert_string_equal(buf, "127.0.0.1:8080");
	assert_int_equal(core_config_value(cfg, "http.threads", buf,
	    sizeof(buf)), TALLY_OK);
	assert_string_equal(buf, "7");
	assert_int_equal(core_config_value(cfg, "gate.fail_open", buf,
	    sizeof(buf)), TALLY_OK);
	assert_string_equal(buf, "yes");
	assert_int_equal(core_config_value(cfg, "database.socket", buf,
	    sizeof(buf)), TALLY_OK);
	assert_string_equal(buf, "");
	assert_int_equal(core_config_value(cfg, "auth.admin_key", buf,
	    sizeof(buf)), TALLY_E_FORBIDDEN);
	assert_int_equal(core_config_value(cfg, "auth.jwt_secret", buf,
	    sizeof(buf)), TALLY_E_FORBIDDEN);
	assert_int_equal(core_config_value(cfg, "http.nope", buf,
	    sizeof(buf)), TALLY_E_NOTFOUND);
	assert_int_equal(core_config_value(cfg, "listen", buf,
	    sizeof(buf)), TALLY_E_NOTFOUND);
	assert_int_equal(core_config_value(cfg, "", buf, sizeof(buf)),
	    TALLY_E_NOTFOUND);
	assert_int_equal(core_config_value(cfg,
	    "a-section-name-longer-than-any.key", buf, sizeof(buf)),
	    TALLY_E_NOTFOUND);
	free(cfg);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_auth_errors),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_catalog_errors),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_catalog_full),
		cmocka_unit_test(test_errbuf),
		cmocka_unit_test(test_reparse),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_value_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
