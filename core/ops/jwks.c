/* The user-token key set: fixed, or fetched from auth.jwks_url and
 * swapped under the threads without a lock on their path. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "core/jwt.h"
#include "core/ops/config.h"
#include "core/ops/jwks.h"
#include "core/ops/log.h"
#include "core/result.h"
#include "net/http.h"

#define JWKS_MAX		(256 * 1024)	/* bytes of a JWKS document */
#define JWKS_DEFAULT_AGE	3600		/* no Cache-Control max-age */

/*
 * One fetched set and the holds on it: the cache's own (while it is the
 * current set) and one per thread that last verified with it.  The last
 * hold let go frees it, so a set is never freed under a thread.
 */
struct jwks_set {
	struct core_jwt_keys	*keys;		/* NULL: no key yet */
	unsigned int		 refs;		/* under op_jwks.mu */
	uint64_t		 serial;	/* unique in the process */
};

/* The serial of the last set made, in any cache of the process. */
static _Atomic uint64_t set_serial;

/*
 * How the threads share the set without a lock on the hot path (RCU-like):
 * each thread keeps a hold on the set it used last and the generation it
 * had; a request costs two atomic loads (gen, refresh_at) while both are
 * unchanged.  A new set bumps gen; each thread moves to it (under mu, a
 * few instructions) on its next request and lets go of the old one.
 */
struct op_jwks {
	const struct core_config *cfg;
	int			 dynamic;	/* from auth.jwks_url */
	pthread_mutex_t		 mu;		/* cur and the refs */
	pthread_mutex_t		 fetch_mu;	/* one fetch at a time */
	struct jwks_set		*cur;
	_Atomic uint64_t	 gen;		/* bumped with cur */
	_Atomic int64_t		 refresh_at;	/* cur is stale from then */
	int64_t			 last_fetch;	/* under fetch_mu */
};

/*
 * The tokens this thread let in last.  A token's answer depends on its
 * bytes, the key set, the cache's issuer and audience (fixed), and the
 * time; so each thread keeps the last tokens that passed, direct-mapped
 * by the last bytes of their signature, with the serial of the set that
 * verified them.  A token that is byte for byte one of them (compared in
 * constant time) skips the signature and the JSON: its exp and nbf are
 * checked again, and that is the answer core_jwt_verify() would give.  A
 * new set (a fetch, another cache) has a new serial, so no token passes
 * on a key that has gone.  Clients send one token for its whole life
 * (the sync client, the billing page); Envoy's jwt_authn keeps verified
 * tokens the same way (jwt_cache_config).  A longer token is not kept.
 */
#define PASSED_SLOTS		64
#define PASSED_TOKEN_MAX	1024

struct passed {
	uint64_t		 serial;	/* 0: empty */
	size_t			 len;
	struct core_jwt_claims	 claims;
	char			 token[PASSED_TOKEN_MAX];
};

static __thread struct passed *passed;	/* PASSED_SLOTS, made on first use */

/* The hold of this thread (on a dynamic cache's set). */
static __thread struct {
	struct op_jwks		*owner;
	struct jwks_set		*set;
	uint64_t		 gen;
} tls;

static void
set_free(struct jwks_set *s)
{
	if (s == NULL)
		return;
	core_jwt_keys_free(s->keys);
	free(s);
}

/* Drop one hold on s; call with c->mu held.  Returns s if it is to free. */
static struct jwks_set *
set_release(struct jwks_set *s)
{
	if (s != NULL && --s->refs == 0)
		return s;
	return NULL;
}

/*
 * Fetch auth.jwks_url and build the set (with auth.jwt_secret).
 * Returns TALLY_OK (OUT: *keys, *age) or an error with err.
 */
static int
jwks_fetch(const struct core_config *cfg, struct core_jwt_keys **keys,
    int64_t *age, char *err, size_t errsz)
{
	struct net_body	 b;
	char		 why[256];
	int		 rc;

	*keys = NULL;
	if ((rc = net_http_get(cfg->jwks_url, cfg->jwks_ca, JWKS_MAX, &b, why,
	    sizeof(why))) != TALLY_OK) {
		snprintf(err, errsz, "%s", rc == TALLY_E_NOMEM ?
		    "out of memory" : why);
		return rc;
	}
	if (b.status != 200) {
		snprintf(err, errsz, "HTTP %ld", b.status);
		rc = TALLY_E_PROVIDER;
		goto out;
	}
	if ((rc = core_jwt_keys_new(cfg->jwt_secret, b.text, keys)) !=
	    TALLY_OK) {
		snprintf(err, errsz, "%s", rc == TALLY_E_NOMEM ?
		    "out of memory" : "not a JWKS document");
		goto out;
	}
	/* A set without a usable key would lock every RS/ES user out. */
	if (core_jwt_keys_count(*keys) == 0) {
		core_jwt_keys_free(*keys);
		*keys = NULL;
		snprintf(err, errsz, "no usable RS256 or ES256 key in the set");
		rc = TALLY_E_CONFIG;
		goto out;
	}
	*age = core_jwks_max_age(b.cache_control, cfg->jwks_cache_min,
	    cfg->jwks_cache_max, JWKS_DEFAULT_AGE);
out:
	free(b.text);
	return rc;
}

/* Make keys the current set (ownership passes).  TALLY_OK or _NOMEM. */
static int
install(struct op_jwks *c, struct core_jwt_keys *keys)
{
	struct jwks_set	*s, *dead;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		core_jwt_keys_free(keys);
		return TALLY_E_NOMEM;
	}
	s->keys = keys;
	s->refs = 1;		/* the cache's */
	s->serial = atomic_fetch_add(&set_serial, 1) + 1;
	pthread_mutex_lock(&c->mu);
	dead = set_release(c->cur);
	c->cur = s;
	atomic_fetch_add_explicit(&c->gen, 1, memory_order_release);
	pthread_mutex_unlock(&c->mu);
	set_free(dead);
	return TALLY_OK;
}

/*
 * Fetch the set again if no other thread is at it: when cur is stale
 * (unknown_kid 0), or for a token whose key is missing (unknown_kid 1) if
 * the last fetch is auth.jwks_refetch_seconds old.  The thread that
 * fetches waits for it; no other thread does.  Returns 1 when a new set
 * was installed.
 */
static int
refresh(struct op_jwks *c, int64_t now, int unknown_kid)
{
	const struct core_config *cfg = c->cfg;
	struct core_jwt_keys *keys;
	const char	*why = unknown_kid ? "unknown_kid" : "expired";
	char		 err[256];
	int64_t		 age = 0;
	int		 rc, ok = 0;

	if (pthread_mutex_trylock(&c->fetch_mu) != 0)
		return 0;
	if (unknown_kid ? now - c->last_fetch < cfg->jwks_refetch :
	    now < atomic_load_explicit(&c->refresh_at, memory_order_relaxed))
		goto out;
	c->last_fetch = now;
	rc = jwks_fetch(cfg, &keys, &age, err, sizeof(err));
	if (rc == TALLY_OK && (rc = install(c, keys)) != TALLY_OK)
		snprintf(err, sizeof(err), "out of memory");
	if (rc == TALLY_OK) {
		atomic_store_explicit(&c->refresh_at, now + age,
		    memory_order_relaxed);
		core_log("info", "jwks.fetched", json_pack("{s:s,s:I,s:I}",
		    "why", why, "keys", (json_int_t)core_jwt_keys_count(keys),
		    "max_age", (json_int_t)age));
		ok = 1;
		goto out;
	}
	/* Keep the last good set; a stale one is tried again later. */
	if (now >= atomic_load_explicit(&c->refresh_at, memory_order_relaxed))
		atomic_store_explicit(&c->refresh_at, now + cfg->jwks_refetch,
		    memory_order_relaxed);
	core_log("warn", "jwks.fetch_failed", json_pack("{s:s,s:s,s:I}",
	    "why", why, "error", err, "retry_in", (json_int_t)(
	    atomic_load_explicit(&c->refresh_at, memory_order_relaxed) - now)));
out:
	pthread_mutex_unlock(&c->fetch_mu);
	return ok;
}

/* This thread's hold moved to the current set (under mu). */
static void
adopt(struct op_jwks *c)
{
	struct jwks_set	*dead = NULL, *stale = NULL;
	struct op_jwks	*other = tls.owner;

	/* A hold on another cache's set: let go of it there first. */
	if (other != NULL && other != c)
		op_jwks_thread_end(other);
	pthread_mutex_lock(&c->mu);
	if (tls.owner == c)
		stale = tls.set;
	tls.owner = c;
	tls.set = c->cur;
	tls.set->refs++;
	tls.gen = atomic_load_explicit(&c->gen, memory_order_relaxed);
	dead = set_release(stale);
	pthread_mutex_unlock(&c->mu);
	set_free(dead);
}

/* The set this thread verifies with now. */
static const struct jwks_set *
set_now(struct op_jwks *c, int64_t now)
{
	if (!c->dynamic)
		return c->cur;
	if (now >= atomic_load_explicit(&c->refresh_at, memory_order_relaxed))
		refresh(c, now, 0);
	if (tls.owner != c || tls.gen !=
	    atomic_load_explicit(&c->gen, memory_order_acquire))
		adopt(c);
	return tls.set;
}

/* The slot of a token: its last bytes are its signature's. */
static struct passed *
passed_slot(const char *token, size_t len)
{
	uint64_t	 h = 14695981039346656037ULL;	/* FNV-1a */
	size_t		 i;

	for (i = len > 8 ? len - 8 : 0; i < len; i++)
		h = (h ^ (unsigned char)token[i]) * 1099511628211ULL;
	return &passed[h % PASSED_SLOTS];
}

/* The entry of this token verified with set serial, or NULL. */
static const struct passed *
passed_find(uint64_t serial, const char *token, size_t len)
{
	const struct passed *p;

	if (passed == NULL || len > PASSED_TOKEN_MAX)
		return NULL;
	p = passed_slot(token, len);
	if (p->serial != serial || p->len != len ||
	    CRYPTO_memcmp(p->token, token, len) != 0)
		return NULL;
	return p;
}

/* Keep a token that passed with set serial (best effort). */
static void
passed_keep(uint64_t serial, const char *token, size_t len,
    const struct core_jwt_claims *claims)
{
	struct passed	*p;

	if (len > PASSED_TOKEN_MAX || (passed == NULL &&
	    (passed = calloc(PASSED_SLOTS, sizeof(*passed))) == NULL))
		return;
	p = passed_slot(token, len);
	p->serial = serial;
	p->len = len;
	p->claims = *claims;
	memcpy(p->token, token, len);
}

int
op_jwks_verify(struct op_jwks *c, const char *token, size_t len,
    int64_t now, struct core_jwt_claims *claims)
{
	const struct jwks_set *set = set_now(c, now);
	const struct passed *p;
	int		 rc;

	if ((p = passed_find(set->serial, token, len)) != NULL) {
		if ((rc = core_jwt_claims_current(&p->claims, now)) ==
		    TALLY_OK)
			*claims = p->claims;
		else
			memset(claims, 0, sizeof(*claims));
		return rc;
	}
	rc = core_jwt_verify(set->keys, token, len, now, c->cfg->jwt_issuer,
	    c->cfg->jwt_audience, claims);
	/* Only a token a fresh set could let in is worth a fetch. */
	if (rc == TALLY_E_UNAUTHORIZED && c->dynamic &&
	    core_jwt_needs_key(set->keys, token, len) && refresh(c, now, 1)) {
		set = set_now(c, now);
		rc = core_jwt_verify(set->keys, token, len, now,
		    c->cfg->jwt_issuer, c->cfg->jwt_audience, claims);
	}
	if (rc == TALLY_OK)
		passed_keep(set->serial, token, len, claims);
	return rc;
}

void
op_jwks_thread_end(struct op_jwks *c)
{
	struct jwks_set	*dead;

	free(passed);
	passed = NULL;
	if (c == NULL || tls.owner != c)
		return;
	pthread_mutex_lock(&c->mu);
	dead = set_release(tls.set);
	pthread_mutex_unlock(&c->mu);
	set_free(dead);
	tls.owner = NULL;
	tls.set = NULL;
	tls.gen = 0;
}

int
op_jwks_new(const struct core_config *cfg, int64_t now, int strict,
    struct op_jwks **out, char *err, size_t errsz)
{
	struct op_jwks	*c;
	struct core_jwt_keys *keys = NULL;
	char		*text = NULL, why[256];
	int64_t		 age = 0;
	int		 rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TALLY_E_NOMEM;
	c->cfg = cfg;
	c->dynamic = cfg->jwks_url[0] != '\0';
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->fetch_mu, NULL);
	if (!c->dynamic) {
		if (cfg->jwks_file[0] != '\0' &&
		    (text = op_read_file(cfg->jwks_file, JWKS_MAX)) == NULL) {
			snprintf(err, errsz, "auth.jwks_file: cannot read "
			    "the file");
			rc = TALLY_E_CONFIG;
			goto fail;
		}
		rc = core_jwt_keys_new(cfg->jwt_secret, text, &keys);
		free(text);
		if (rc != TALLY_OK) {
			snprintf(err, errsz, "auth.jwks_file: no usable key");
			goto fail;
		}
	} else {
		c->last_fetch = now;
		rc = jwks_fetch(cfg, &keys, &age, why, sizeof(why));
		if (rc == TALLY_E_NOMEM)
			goto fail;
		if (rc != TALLY_OK && strict) {
			snprintf(err, errsz, "auth.jwks_url: %s", why);
			rc = TALLY_E_CONFIG;
			goto fail;
		}
		if (rc != TALLY_OK) {
			/*
			 * Start without it: the API, webhooks and HS256 users
			 * do not wait for the identity provider; RS256/ES256
			 * tokens are refused until a fetch succeeds.
			 */
			core_log("warn", "jwks.fetch_failed", json_pack(
			    "{s:s,s:s,s:I}", "why", "start", "error", why,
			    "retry_in", (json_int_t)cfg->jwks_refetch));
			age = cfg->jwks_refetch;
			if (cfg->jwt_secret[0] != '\0' &&
			    (rc = core_jwt_keys_new(cfg->jwt_secret, NULL,
			    &keys)) != TALLY_OK)
				goto fail;
		} else
			core_log("info", "jwks.fetched", json_pack(
			    "{s:s,s:I,s:I}", "why", "start", "keys",
			    (json_int_t)core_jwt_keys_count(keys), "max_age",
			    (json_int_t)age));
		atomic_store(&c->refresh_at, now + age);
	}
	if ((rc = install(c, keys)) != TALLY_OK)
		goto fail;
	*out = c;
	return TALLY_OK;
fail:
	if (rc == TALLY_E_NOMEM)
		snprintf(err, errsz, "out of memory");
	op_jwks_free(c);
	return rc;
}

void
op_jwks_free(struct op_jwks *c)
{
	if (c == NULL)
		return;
	op_jwks_thread_end(c);
	pthread_mutex_lock(&c->mu);
	set_free(set_release(c->cur));
	c->cur = NULL;
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->fetch_mu);
	free(c);
}
