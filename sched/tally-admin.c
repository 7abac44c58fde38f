/* tally-admin: migrate the database, check the configuration, mint
 * development tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/jwt.h"
#include "core/money.h"
#include "core/ops/card.h"
#include "core/ops/config.h"
#include "core/ops/jwks.h"
#include "core/ops/store.h"
#include "core/result.h"

#ifndef TALLY_SHARE
#define TALLY_SHARE "/usr/local/share/tally"
#endif

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tally-admin [--config FILE] migrate [--dir DIR]\n"
	    "       tally-admin [--config FILE] check-config\n"
	    "       tally-admin [--config FILE] mint-token --sub S [--email E]"
	    " [--locale L] [--ttl SECONDS]\n"
	    "       tally-admin [--config FILE] charge-card --user U --amount N"
	    " --reference R\n");
	exit(2);
}

static void
log_applied(const char *name)
{
	printf("applied %s\n", name);
}

static int
cmd_migrate(const struct core_config *cfg, int argc, char *argv[])
{
	struct stat	 st;
	const char	*dir = NULL;
	char		 err[512];
	int		 i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else
			usage();
	}
	/* A source tree's migrations first, then the installed ones. */
	if (dir == NULL)
		dir = getenv("TALLY_MIGRATIONS");
	if (dir == NULL)
		dir = stat("db/migrations", &st) == 0 ? "db/migrations" :
		    TALLY_SHARE "/migrations";
	if (op_store_migrate(cfg, dir, log_applied, err, sizeof(err)) != TALLY_OK) {
		fprintf(stderr, "tally-admin: migrate: %s\n", err);
		return 1;
	}
	printf("schema up to date\n");
	return 0;
}

static int
cmd_check(const struct core_config *cfg)
{
	struct op_jwks	*jwks;
	char		 err[512];

	/* Strict: an auth.jwks_url that cannot be fetched fails the check. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "tally-admin: library initialisation failed\n");
		return 1;
	}
	if (op_jwks_new(cfg, (int64_t)time(NULL), 1, &jwks, err,
	    sizeof(err)) != TALLY_OK) {
		fprintf(stderr, "tally-admin: %s\n", err);
		return 1;
	}
	op_jwks_free(jwks);
	printf("configuration ok: currency %s, %zu products, %zu plans, "
	    "%zu packages\n", cfg->currency, cfg->nproducts, cfg->nplans,
	    cfg->npackages);
	return 0;
}

static int
cmd_mint(const struct core_config *cfg, int argc, char *argv[])
{
	const char	*sub = NULL, *email = NULL, *locale = NULL;
	int64_t		 ttl = 3600, now = (int64_t)time(NULL);
	json_t		*claims;
	char		*token;
	int		 i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--sub") == 0 && i + 1 < argc)
			sub = argv[++i];
		else if (strcmp(argv[i], "--email") == 0 && i + 1 < argc)
			email = argv[++i];
		else if (strcmp(argv[i], "--locale") == 0 && i + 1 < argc)
			locale = argv[++i];
		else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
			if (core_parse_int64(argv[++i], &ttl) != TALLY_OK ||
			    ttl < 1 || ttl > 10L * 365 * 86400)
				usage();
		} else
			usage();
	}
	if (sub == NULL)
		usage();
	if (cfg->jwt_secret[0] == '\0') {
		fprintf(stderr, "tally-admin: auth.jwt_secret: required to "
		    "mint tokens\n");
		return 1;
	}
	claims = json_pack("{s:s,s:I,s:I}", "sub", sub, "iat",
	    (json_int_t)now, "exp", (json_int_t)(now + ttl));
	if (email != NULL)
		json_object_set_new(claims, "email", json_string(email));
	if (locale != NULL)
		json_object_set_new(claims, "locale", json_string(locale));
	if (cfg->jwt_issuer[0] != '\0')
		json_object_set_new(claims, "iss",
		    json_string(cfg->jwt_issuer));
	if (cfg->jwt_audience[0] != '\0')
		json_object_set_new(claims, "aud",
		    json_string(cfg->jwt_audience));
	rc = core_jwt_sign_hs256(cfg->jwt_secret, claims, &token);
	json_decref(claims);
	if (rc != TALLY_OK) {
		fprintf(stderr, "tally-admin: %s\n", core_strerror(rc));
		return 1;
	}
	printf("%s\n", token);
	free(token);
	return 0;
}

/*
 * Charge a user's saved card off-session (an operator's manual charge, and
 * how the tests reach op_card_charge_saved).  Prints the result as JSON;
 * the same reference never charges twice.
 */
static int
cmd_charge(const struct core_config *cfg, int argc, char *argv[])
{
	static const char *const names[] = { "charged", "declined",
	    "needs_authentication", "no_card", "error" };
	struct db	*db;
	const char	*user = NULL, *ref = NULL;
	char		 msg[512], pref[256];
	int64_t		 amount = 0;
	json_t		*o;
	int		 i, rc, result = CARD_ERROR;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			user = argv[++i];
		else if (strcmp(argv[i], "--reference") == 0 && i + 1 < argc)
			ref = argv[++i];
		else if (strcmp(argv[i], "--amount") == 0 && i + 1 < argc) {
			if (core_parse_int64(argv[++i], &amount) != TALLY_OK ||
			    amount <= 0)
				usage();
		} else
			usage();
	}
	if (user == NULL || ref == NULL || amount <= 0)
		usage();
	if (op_store_library_init() != TALLY_OK ||
	    curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (db = op_store_new(cfg)) == NULL)
		return 1;
	rc = op_card_charge_user(db, cfg, user, amount, ref,
	    (int64_t)time(NULL), &result, msg, sizeof(msg), pref,
	    sizeof(pref));
	if (rc != TALLY_OK) {
		fprintf(stderr, "tally-admin: charge-card: %s\n",
		    core_strerror(rc));
		op_store_free(db);
		return 1;
	}
	o = json_pack("{s:s,s:s,s:s}", "result", names[result], "message",
	    msg, "payment_intent", pref);
	json_dumpf(o, stdout, JSON_COMPACT);
	printf("\n");
	json_decref(o);
	op_store_free(db);
	return result == CARD_CHARGED ? 0 : 3;
}

int
main(int argc, char *argv[])
{
	struct core_config cfg;
	const char	*config = NULL;
	char		 err[512];
	int		 i = 1;

	if (i + 1 < argc && strcmp(argv[i], "--config") == 0) {
		config = argv[i + 1];
		i += 2;
	}
	if (i >= argc)
		usage();
	if (op_config_load(op_config_path(config), &cfg, err, sizeof(err)) !=
	    TALLY_OK) {
		fprintf(stderr, "tally-admin: %s\n", err);
		return 1;
	}
	if (strcmp(argv[i], "migrate") == 0)
		return cmd_migrate(&cfg, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "check-config") == 0 && i + 1 == argc)
		return cmd_check(&cfg);
	if (strcmp(argv[i], "mint-token") == 0)
		return cmd_mint(&cfg, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "charge-card") == 0)
		return cmd_charge(&cfg, argc - i - 1, argv + i + 1);
	usage();
	return 2;
}
