/* Configuration: INI text parsed into typed settings and the catalog. */
#ifndef CORE_CONFIG_H
#define CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "dunning.h"

#define CORE_CATALOG_MAX	64	/* products, plans or packages each */
#define CORE_ID_MAX		64

enum core_interval {
	CORE_INTERVAL_MONTHLY,
	CORE_INTERVAL_QUARTERLY,
	CORE_INTERVAL_YEARLY,
	CORE_INTERVAL__MAX
};

enum core_billing {
	CORE_BILLING_CREDITS,
	CORE_BILLING_INVOICE
};

#define CORE_QUOTA_MAX	8

struct core_product {
	char	 id[CORE_ID_MAX];
	char	 name[128];
	enum core_billing billing;
	int64_t	 price[CORE_INTERVAL__MAX];	/* minor units; -1: not offered */
	char	 gate[256];			/* URI prefix; empty: none */
	int64_t	 renewal_lead_hours;
	int64_t	 invoice_ttl_hours;
	/* quota.METRIC = N: at most N units of METRIC a period ("requests"
	 * is what the gate counts). */
	struct core_quota {
		char	 metric[CORE_ID_MAX];
		int64_t	 limit;
	}	 quotas[CORE_QUOTA_MAX];
	size_t	 nquotas;
};

struct core_plan {
	char	 id[CORE_ID_MAX];
	char	 name[128];
	int64_t	 monthly;
};

struct core_package {
	char	 id[CORE_ID_MAX];
	char	 name[128];
	int64_t	 credits;
	int64_t	 price;
};

#define CORE_WEBHOOK_MAX	16	/* [webhook.NAME] endpoints */

/* An endpoint that receives signed events ([webhook.NAME]). */
struct core_webhook {
	char	 name[CORE_ID_MAX];
	char	 url[512];	/* https://, or http:// to the loopback */
	char	 secret[256];	/* HMAC key, at least 32 characters */
	uint32_t events;	/* bit 1 << enum core_event */
	int	 has_events;	/* the events key was given */
};

/* Every setting; strings are NUL-terminated, empty when unset. */
struct core_config {
	/* [http] */
	char	 http_listen[128];
	int64_t	 http_max_body;
	char	 http_public_url[256];
	char	 http_cors_origins[1024];
	int64_t	 http_threads;
	int	 http_access_log;	/* a log line for every request */
	int64_t	 http_slow_ms;		/* log requests slower than this */
	char	 http_metrics_file[512]; /* the responders' shared counters */
	/* [database] */
	char	 db_socket[512];
	char	 db_host[256];
	int64_t	 db_port;
	char	 db_user[128];
	char	 db_password[256];
	char	 db_name[128];
	int64_t	 db_batch_debits;	/* debits sharing a round trip, at most */
	/* [auth] */
	char	 jwt_secret[512];
	char	 jwks_file[512];
	char	 jwks_url[512];		/* https:// only */
	char	 jwks_ca[512];		/* CA file for jwks_url, or "" */
	int64_t	 jwks_cache_min;	/* bounds of a fetched set's life */
	int64_t	 jwks_cache_max;
	int64_t	 jwks_refetch;		/* least seconds between fetches
					   for an unknown kid */
	char	 jwt_issuer[256];
	char	 jwt_audience[256];
	char	 service_key[256];
	char	 admin_key[256];
	char	 encryption_key[65];
	/* [billing] */
	char	 currency[4];
	int64_t	 signup_credits;
	int	 pay_from_credits;
	/* billing.dunning_days as written, and parsed (days after the first
	 * failed automatic payment of an invoice, ascending). */
	char	 dunning_spec[128];
	int64_t	 dunning_days[CORE_DUNNING_MAX];
	size_t	 ndunning;
	int	 reactivate_on_topup;	/* paused credit subscriptions */
	/* [stripe] */
	char	 stripe_api_base[256];
	char	 stripe_secret_key[256];
	char	 stripe_webhook_secret[256];
	int64_t	 stripe_checkout_ttl_minutes;
	/* [lightning] */
	char	 ln_api_base[256];
	char	 ln_api_key[256];
	char	 ln_store_id[128];
	char	 ln_webhook_secret[256];
	int64_t	 ln_invoice_minutes;
	/* [nwc] */
	int64_t	 nwc_timeout_seconds;
	/* [smtp] */
	char	 smtp_url[256];
	char	 smtp_from[256];
	char	 smtp_user[256];
	char	 smtp_password[256];
	int	 smtp_starttls;
	char	 smtp_templates[512];
	/* [scheduler] */
	int64_t	 tick_seconds;
	/* [gate] */
	int	 gate_fail_open;
	int64_t	 gate_quota_flush_ms;
	/* [seller]: who issues the invoices (the invoice document) */
	char	 seller_name[256];
	char	 seller_address[1024];	/* lines separated by "\n" */
	char	 seller_tax_id[64];
	char	 seller_email[321];
	/* catalog */
	struct core_product products[CORE_CATALOG_MAX];
	size_t	 nproducts;
	struct core_plan plans[CORE_CATALOG_MAX];
	size_t	 nplans;
	struct core_package packages[CORE_CATALOG_MAX];
	size_t	 npackages;
	/* outbound events */
	struct core_webhook webhooks[CORE_WEBHOOK_MAX];
	size_t	 nwebhooks;
	/* Per event type, the JSON array of the names of the endpoints that
	 * want it ("" when none): core_event_hooks(). */
	char	 event_hooks[CORE_EV__MAX][CORE_WEBHOOK_MAX * (CORE_ID_MAX + 3)
	    + 3];
};

/* Looks up an environment variable; getenv(3) in the binaries. */
typedef const char *(*core_env_fn)(const char *name);

/*
 * Parse INI text into *cfg (defaults first, then the text, then the
 * environment overrides TALLY_SECTION_KEY looked up with env, which may be
 * NULL), then validate.  On failure returns TALLY_E_CONFIG and writes one
 * line naming the key (e.g. "auth.service_key: required") into err.
 */
int	 core_config_parse(const char *text, core_env_fn env,
	    struct core_config *cfg, char *err, size_t errsz);

/* The limit of metric on product p a period; -1: none. */
int64_t	 core_product_quota(const struct core_product *p, const char *metric);

/*
 * The effective value of setting name ("http.listen") as text: what the
 * defaults, the file and the environment made of it (yes/no for booleans).
 * TALLY_OK, TALLY_E_NOTFOUND (no such key) or TALLY_E_FORBIDDEN (a secret:
 * never printed).  OUT: buf.
 */
int	 core_config_value(const struct core_config *, const char *name,
	    char *buf, size_t bufsz);

const struct core_product *core_config_product(const struct core_config *,
	    const char *id);
const struct core_plan *core_config_plan(const struct core_config *,
	    const char *id);
const struct core_package *core_config_package(const struct core_config *,
	    const char *id);
const struct core_webhook *core_config_webhook(const struct core_config *,
	    const char *name);

/* "monthly" etc.; returns -1 for an unknown name. */
int	 core_interval_parse(const char *);
const char *core_interval_name(int);
/* Number of calendar months in an interval. */
int	 core_interval_months(int);

#endif
