/* tally-admin: migrate the database, check the configuration, mint
 * development tokens, and answer an operator's questions (the ledger
 * check, one user, the stuck outbox). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/jwt.h"
#include "core/money.h"
#include "core/ops/admin.h"
#include "core/ops/card.h"
#include "core/ops/config.h"
#include "core/ops/jwks.h"
#include "core/ops/store.h"
#include "core/result.h"
#include "core/timeutil.h"

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
	    " --reference R\n"
	    "       tally-admin [--config FILE] check-ledger [--json]\n"
	    "       tally-admin [--config FILE] show-user USER [--ledger N]"
	    " [--json]\n"
	    "       tally-admin [--config FILE] outbox --stuck [--minutes N]"
	    " [--json]\n");
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

/* Exit codes of the operator's commands (tally-admin(8)). */
#define EXIT_FOUND	1	/* differences, stuck mail, no such user */
#define EXIT_FAILED	3	/* the database could not be asked */

/* A database handle for one command; NULL (and a message) on failure. */
static struct db *
open_db(const struct core_config *cfg, const char *cmd)
{
	struct db	*db;

	if (op_store_library_init() != TALLY_OK ||
	    (db = op_store_new(cfg)) == NULL) {
		fprintf(stderr, "tally-admin: %s: cannot initialise MariaDB\n",
		    cmd);
		return NULL;
	}
	if (op_store_connect(db) != TALLY_OK) {
		fprintf(stderr, "tally-admin: %s: database unavailable: %s\n",
		    cmd, op_store_error(db));
		op_store_free(db);
		return NULL;
	}
	return db;
}

static void
db_failed(struct db *db, const char *cmd, int rc)
{
	fprintf(stderr, "tally-admin: %s: %s: %s\n", cmd, core_strerror(rc),
	    op_store_error(db));
}

/* s as a JSON string: quoted, nothing in it can fake a line or a field. */
static void
put_quoted(FILE *f, const char *s)
{
	json_t	*j = json_string(s);

	if (j == NULL || json_dumpf(j, f, JSON_ENCODE_ANY) != 0)
		fputs("\"?\"", f);
	json_decref(j);
}

static const char *
iso(int64_t t, char *buf, size_t bufsz)
{
	if (t == 0)
		return "-";
	core_time_format_iso(t, buf, bufsz);
	return buf;
}

static json_t *
jtime(int64_t t)
{
	char	 buf[32];

	if (t == 0)
		return json_null();
	core_time_format_iso(t, buf, sizeof(buf));
	return json_string(buf);
}

static void
print_json(json_t *o)
{
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	printf("\n");
	json_decref(o);
}

#define LEDGER_DIFFS_MAX	1000

/*
 * Every balance against the sum of its ledger: exit 0 with a one-line
 * summary, or EXIT_FOUND naming every account that differs.
 */
static int
cmd_check_ledger(const struct core_config *cfg, int argc, char *argv[])
{
	struct db_ledger_summary sum;
	struct db_ledger_diff *rows;
	struct db	*db;
	json_t		*a;
	size_t		 n, i;
	int		 rc, json = 0;

	for (i = 0; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else
			usage();
	}
	if ((db = open_db(cfg, "check-ledger")) == NULL)
		return EXIT_FAILED;
	if ((rows = calloc(LEDGER_DIFFS_MAX, sizeof(*rows))) == NULL) {
		op_store_free(db);
		return EXIT_FAILED;
	}
	rc = op_admin_ledger_check(db, LEDGER_DIFFS_MAX, &sum, rows, &n);
	if (rc != TALLY_OK) {
		db_failed(db, "check-ledger", rc);
		free(rows);
		op_store_free(db);
		return EXIT_FAILED;
	}
	if (json) {
		a = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(a, json_pack("{s:s,s:I,s:I,s:I,"
			    "s:I}", "user_id", rows[i].user_id, "account_id",
			    (json_int_t)rows[i].account_id, "balance",
			    (json_int_t)rows[i].balance, "ledger_sum",
			    (json_int_t)rows[i].ledger_sum, "difference",
			    (json_int_t)(rows[i].balance - rows[i].ledger_sum)));
		print_json(json_pack("{s:b,s:I,s:I,s:I,s:o,s:b}", "ok", n == 0,
		    "accounts", (json_int_t)sum.accounts, "ledger_rows",
		    (json_int_t)sum.ledger_rows, "balance_total",
		    (json_int_t)sum.balance_total, "differ", a, "truncated",
		    n == LEDGER_DIFFS_MAX));
	} else {
		for (i = 0; i < n; i++) {
			printf("differs: user ");
			put_quoted(stdout, rows[i].user_id);
			printf(" account %lld: balance %lld, ledger sum %lld "
			    "(balance - ledger = %lld)\n",
			    (long long)rows[i].account_id,
			    (long long)rows[i].balance,
			    (long long)rows[i].ledger_sum,
			    (long long)(rows[i].balance - rows[i].ledger_sum));
		}
		if (n == 0)
			printf("ledger ok: %lld accounts, %lld ledger rows, "
			    "balances total %lld; every balance equals its "
			    "ledger sum\n", (long long)sum.accounts,
			    (long long)sum.ledger_rows,
			    (long long)sum.balance_total);
		else
			printf("ledger NOT ok: %s%zu of %lld accounts differ "
			    "from their ledger sum\n", n == LEDGER_DIFFS_MAX ?
			    "at least " : "", n, (long long)sum.accounts);
	}
	free(rows);
	op_store_free(db);
	return n == 0 ? 0 : EXIT_FOUND;
}

static json_t *
user_json(const struct op_admin_user *u)
{
	const struct tally_account *a = &u->account;
	json_t		*o, *subs, *txs, *invs;
	size_t		 i;

	subs = json_array();
	for (i = 0; i < u->nsubs; i++)
		json_array_append_new(subs, json_pack("{s:s,s:s,s:s,s:o,s:o,"
		    "s:o,s:b,s:o}", "product", u->subs[i].product, "status",
		    u->subs[i].status, "interval", u->subs[i].interval,
		    "current_period_start", jtime(u->subs[i].period_start),
		    "current_period_end", jtime(u->subs[i].period_end),
		    "next_charge_at", jtime(u->subs[i].next_charge_at),
		    "cancel_at_period_end",
		    (int)u->subs[i].cancel_at_period_end, "paused_at",
		    jtime(u->subs[i].paused_at)));
	txs = json_array();
	for (i = 0; i < u->nledger; i++)
		json_array_append_new(txs, json_pack("{s:I,s:s,s:I,s:I,s:s?,"
		    "s:s?,s:o}", "id", (json_int_t)u->ledger[i].id, "kind",
		    u->ledger[i].kind, "amount", (json_int_t)u->ledger[i].amount,
		    "balance_after", (json_int_t)u->ledger[i].balance_after,
		    "operation", u->ledger[i].has_operation ?
		    u->ledger[i].operation : NULL, "description",
		    u->ledger[i].has_description ? u->ledger[i].description :
		    NULL, "created_at", jtime(u->ledger[i].created_at)));
	invs = json_array();
	for (i = 0; i < u->npending; i++)
		json_array_append_new(invs, json_pack("{s:I,s:s,s:s,s:I,s:s,"
		    "s:o,s:o,s:o}", "id", (json_int_t)u->pending[i].id, "number",
		    u->pending[i].number, "kind", u->pending[i].kind, "total",
		    (json_int_t)u->pending[i].total, "currency",
		    u->pending[i].currency, "period_start",
		    jtime(u->pending[i].period_start), "period_end",
		    jtime(u->pending[i].period_end), "expires_at",
		    jtime(u->pending[i].expires_at)));
	o = json_pack("{s:s,s:I,s:s?,s:s?,s:I,s:I,s:b,s:o,s:o,s:o,s:o}",
	    "user_id", a->user_id, "account_id", (json_int_t)a->id, "email",
	    a->email[0] ? a->email : NULL, "locale", a->locale[0] ? a->locale :
	    NULL, "balance", (json_int_t)a->balance, "ledger_sum",
	    (json_int_t)u->ledger_sum, "ledger_ok", a->balance == u->ledger_sum,
	    "created_at", jtime(a->created_at), "subscriptions", subs, "ledger",
	    txs, "pending_invoices", invs);
	return o;
}

static void
user_text(const struct op_admin_user *u, const char *currency)
{
	const struct tally_account *a = &u->account;
	char		 t1[32], t2[32], t3[32];
	size_t		 i;

	printf("user          ");
	put_quoted(stdout, a->user_id);
	printf("\naccount       %lld, created %s\n", (long long)a->id,
	    iso(a->created_at, t1, sizeof(t1)));
	printf("email         %s\n", a->email[0] ? a->email : "-");
	printf("locale        %s\n", a->locale[0] ? a->locale : "-");
	printf("balance       %lld credits (%s)\n", (long long)a->balance,
	    currency);
	if (a->balance == u->ledger_sum)
		printf("ledger        sums to the balance\n");
	else
		printf("ledger        DIFFERS: sums to %lld (balance - ledger "
		    "= %lld)\n", (long long)u->ledger_sum,
		    (long long)(a->balance - u->ledger_sum));
	printf("\nsubscriptions (%zu)\n", u->nsubs);
	for (i = 0; i < u->nsubs; i++) {
		printf("  %-20s %-18s %-9s %s .. %s", u->subs[i].product,
		    u->subs[i].status, u->subs[i].interval,
		    iso(u->subs[i].period_start, t1, sizeof(t1)),
		    iso(u->subs[i].period_end, t2, sizeof(t2)));
		if (u->subs[i].next_charge_at != 0)
			printf("  next charge %s", iso(u->subs[i].next_charge_at,
			    t3, sizeof(t3)));
		if (u->subs[i].cancel_at_period_end)
			printf("  ends at period end");
		if (u->subs[i].paused_at != 0)
			printf("  paused %s", iso(u->subs[i].paused_at, t3,
			    sizeof(t3)));
		printf("\n");
	}
	printf("\nledger, last %zu rows (newest first)\n", u->nledger);
	for (i = 0; i < u->nledger; i++) {
		printf("  %-8lld %s  %-15s %+10lld  balance %-10lld",
		    (long long)u->ledger[i].id, iso(u->ledger[i].created_at,
		    t1, sizeof(t1)), u->ledger[i].kind,
		    (long long)u->ledger[i].amount,
		    (long long)u->ledger[i].balance_after);
		if (u->ledger[i].has_operation) {
			printf(" ");
			put_quoted(stdout, u->ledger[i].operation);
		}
		if (u->ledger[i].has_description) {
			printf(" ");
			put_quoted(stdout, u->ledger[i].description);
		}
		printf("\n");
	}
	printf("\npending invoices (%zu)\n", u->npending);
	for (i = 0; i < u->npending; i++)
		printf("  %-8lld %-18s %-14s %10lld %s  expires %s\n",
		    (long long)u->pending[i].id, u->pending[i].number,
		    u->pending[i].kind, (long long)u->pending[i].total,
		    u->pending[i].currency, iso(u->pending[i].expires_at, t1,
		    sizeof(t1)));
}

/* One user's account, balance, subscriptions, ledger and open invoices. */
static int
cmd_show_user(const struct core_config *cfg, int argc, char *argv[])
{
	struct op_admin_user *u;
	struct db	*db;
	const char	*user = NULL;
	int64_t		 nledger = 10;
	int		 i, rc, json = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--ledger") == 0 && i + 1 < argc) {
			if (core_parse_int64(argv[++i], &nledger) != TALLY_OK ||
			    nledger < 0 || nledger > OP_ADMIN_LEDGER)
				usage();
		} else if (user == NULL && argv[i][0] != '-')
			user = argv[i];
		else
			usage();
	}
	if (user == NULL)
		usage();
	if ((db = open_db(cfg, "show-user")) == NULL)
		return EXIT_FAILED;
	if ((u = malloc(sizeof(*u))) == NULL) {
		op_store_free(db);
		return EXIT_FAILED;
	}
	rc = op_admin_user(db, user, (size_t)nledger, u);
	if (rc == TALLY_E_NOTFOUND) {
		fprintf(stderr, "tally-admin: show-user: no account for user ");
		put_quoted(stderr, user);
		fprintf(stderr, "\n");
	} else if (rc != TALLY_OK)
		db_failed(db, "show-user", rc);
	else if (json)
		print_json(user_json(u));
	else
		user_text(u, cfg->currency);
	free(u);
	op_store_free(db);
	return rc == TALLY_OK ? 0 : rc == TALLY_E_NOTFOUND ? EXIT_FOUND :
	    EXIT_FAILED;
}

/* Why a message is still in the outbox, in a sentence. */
static void
outbox_why(const struct db_outbox_row *r, int64_t now, char *buf,
    size_t bufsz)
{
	char	 t[32];

	if (strcmp(r->status, "failed") == 0)
		snprintf(buf, bufsz, "given up after %lld attempts; last "
		    "error: %s", (long long)r->attempts, r->last_error[0] ?
		    r->last_error : "(none recorded)");
	else if (r->attempts > 0)
		snprintf(buf, bufsz, "%lld attempts failed, next at %s; last "
		    "error: %s", (long long)r->attempts, iso(r->next_attempt_at,
		    t, sizeof(t)), r->last_error[0] ? r->last_error :
		    "(none recorded)");
	else if (r->next_attempt_at <= now)
		snprintf(buf, bufsz, "never tried, due since %s: is "
		    "tally-scheduler running (job deliver-mail)?",
		    iso(r->next_attempt_at, t, sizeof(t)));
	else
		snprintf(buf, bufsz, "not tried yet, due at %s",
		    iso(r->next_attempt_at, t, sizeof(t)));
}

#define OUTBOX_STUCK_MAX	1000

/*
 * The outbox messages not delivered: given up, tried and failed, or
 * pending for more than --minutes (15); each with why.  Exit 0 when
 * none, EXIT_FOUND when some.
 */
static int
cmd_outbox(const struct core_config *cfg, int argc, char *argv[])
{
	struct db_outbox_row *rows;
	struct db	*db;
	json_t		*a;
	int64_t		 minutes = 15, now = (int64_t)time(NULL);
	char		 why[2400], t[32];
	size_t		 n, k;
	int		 i, rc, json = 0, stuck = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--stuck") == 0)
			stuck = 1;
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--minutes") == 0 && i + 1 < argc) {
			if (core_parse_int64(argv[++i], &minutes) != TALLY_OK ||
			    minutes < 0 || minutes > 10L * 365 * 1440)
				usage();
		} else
			usage();
	}
	if (!stuck)
		usage();
	if ((db = open_db(cfg, "outbox")) == NULL)
		return EXIT_FAILED;
	if ((rows = calloc(OUTBOX_STUCK_MAX, sizeof(*rows))) == NULL) {
		op_store_free(db);
		return EXIT_FAILED;
	}
	rc = op_admin_outbox_stuck(db, now - minutes * 60, OUTBOX_STUCK_MAX,
	    rows, &n);
	if (rc != TALLY_OK) {
		db_failed(db, "outbox", rc);
		free(rows);
		op_store_free(db);
		return EXIT_FAILED;
	}
	if (json) {
		a = json_array();
		for (k = 0; k < n; k++) {
			outbox_why(&rows[k], now, why, sizeof(why));
			json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:s,"
			    "s:s,s:I,s:o,s:o,s:s?,s:s}", "id",
			    (json_int_t)rows[k].id, "dedupe_key",
			    rows[k].dedupe_key, "template", rows[k].template,
			    "recipient", rows[k].recipient, "status",
			    rows[k].status, "attempts",
			    (json_int_t)rows[k].attempts, "created_at",
			    jtime(rows[k].created_at), "next_attempt_at",
			    jtime(rows[k].next_attempt_at), "last_error",
			    rows[k].last_error[0] ? rows[k].last_error : NULL,
			    "why", why));
		}
		print_json(json_pack("{s:I,s:o,s:b}", "minutes",
		    (json_int_t)minutes, "stuck", a, "truncated",
		    n == OUTBOX_STUCK_MAX));
	} else {
		for (k = 0; k < n; k++) {
			outbox_why(&rows[k], now, why, sizeof(why));
			printf("%-8lld %-7s %-12s created %s  to ",
			    (long long)rows[k].id, rows[k].status,
			    rows[k].template, iso(rows[k].created_at, t,
			    sizeof(t)));
			put_quoted(stdout, rows[k].recipient);
			printf("  key %s\n         %s\n", rows[k].dedupe_key,
			    why);
		}
		if (n == 0)
			printf("outbox ok: no message failed, none pending for "
			    "more than %lld minutes or retried\n",
			    (long long)minutes);
		else
			printf("outbox: %s%zu messages stuck (given up, retried, "
			    "or pending for more than %lld minutes)\n",
			    n == OUTBOX_STUCK_MAX ? "at least " : "", n,
			    (long long)minutes);
	}
	free(rows);
	op_store_free(db);
	return n == 0 ? 0 : EXIT_FOUND;
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
	if (strcmp(argv[i], "check-ledger") == 0)
		return cmd_check_ledger(&cfg, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "show-user") == 0)
		return cmd_show_user(&cfg, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "outbox") == 0)
		return cmd_outbox(&cfg, argc - i - 1, argv + i + 1);
	usage();
	return 2;
}
