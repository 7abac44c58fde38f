/* Lightning auto-pay over NWC: the BOLT11 comes from BTCPay, the wallet
 * is asked over its relay, and only BTCPay's word settles the invoice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/crypto.h"
#include "core/nostr.h"
#include "core/ops/lightning.h"
#include "core/ops/log.h"
#include "core/ops/nwc.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_invoice.h"
#include "db/db_ln.h"
#include "db/db_pay.h"
#include "net/nostr.h"

/* The attempt's payments row; one per invoice, like the card's. */
static void
reference(int64_t invoice_id, char *ref, size_t refsz)
{
	snprintf(ref, refsz, "tally-invoice-%lld-nwc", (long long)invoice_id);
}

static int
lightning_configured(const struct core_config *cfg)
{
	return cfg->ln_api_base[0] != '\0' && cfg->ln_api_key[0] != '\0' &&
	    cfg->ln_store_id[0] != '\0' && cfg->encryption_key[0] != '\0';
}

/* Whether the account has a stored connection. */
static int
has_connection(struct db *db, int64_t account_id, int *has)
{
	struct db_profile *prof;
	int		 rc;

	*has = 0;
	if ((prof = calloc(1, sizeof(*prof))) == NULL)
		return TALLY_E_NOMEM;
	rc = db_profile_get(db, account_id, prof);
	*has = rc == TALLY_OK && prof->nwc_sealed[0] != '\0';
	free(prof);
	return rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
op_nwc_begin_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, const struct db_invoice *inv,
    int64_t now, int *state, char *why, size_t whysz)
{
	struct db_nwc	*att;
	struct db_ln	*ln;
	char		 ref[64], err[256];
	int		 rc, has, paid;

	*state = NWC_SKIP;
	why[0] = '\0';
	if (!lightning_configured(cfg))
		return TALLY_OK;
	if ((rc = has_connection(db, a->id, &has)) != TALLY_OK || !has)
		return rc;
	if ((att = calloc(1, sizeof(*att))) == NULL)
		return TALLY_E_NOMEM;
	rc = db_nwc_get(db, inv->id, 1, att);
	if (rc == TALLY_OK) {
		/* A run before this one made the attempt: go on with it. */
		if (strcmp(att->status, "failed") == 0) {
			*state = NWC_FAILED;
			snprintf(why, whysz, "Lightning auto-pay failed: %s",
			    att->message);
		} else if (strcmp(att->status, "settled") == 0)
			*state = NWC_PAID;
		else
			*state = NWC_GO;
		free(att);
		return TALLY_OK;
	}
	free(att);
	if (rc != TALLY_E_NOTFOUND)
		return rc;
	if ((ln = calloc(1, sizeof(*ln))) == NULL)
		return TALLY_E_NOMEM;
	rc = op_ln_present_tx(db, cfg, "invoice", inv->id, a->id, inv->total,
	    now, ln, &paid, err, sizeof(err));
	if (rc == TALLY_E_PROVIDER) {
		reference(inv->id, ref, sizeof(ref));
		snprintf(why, whysz, "Lightning auto-pay failed: BTCPay could "
		    "not make the Lightning invoice");
		*state = NWC_FAILED;
		rc = db_payment_insert(db, a->id, ref, "nwc", inv->total,
		    inv->currency, "error", NULL, "BTCPay could not make the "
		    "Lightning invoice", now);
		rc = rc == TALLY_E_DUPLICATE ? TALLY_OK : rc;
	} else if (rc == TALLY_OK && paid)
		*state = NWC_PAID;
	else if (rc == TALLY_OK) {
		rc = db_nwc_insert(db, inv->id, a->id, ln->btcpay_invoice, now);
		*state = NWC_GO;
	}
	free(ln);
	return rc;
}

struct store_event {
	int64_t		 invoice_id, now;
	const char	*id, *text;
	int		 stored;
};

static int
store_tx(struct db *db, void *arg)
{
	struct store_event *s = arg;

	return db_nwc_set_event(db, s->invoice_id, s->id, s->text, s->now,
	    &s->stored);
}

/*
 * The request to send: the stored one, or a new one signed for the
 * encryption the wallet's info event advertises and stored before it is
 * ever sent.  OUT: *ev.
 */
static int
request(struct db *db, struct net_relay *r, const struct core_nwc *c,
    struct db_nwc *att, const char *bolt11, int64_t now, int64_t deadline,
    json_t **ev, char *err, size_t errsz)
{
	struct store_event s;
	json_t		*info = NULL;
	char		*text;
	int		 rc;

	*ev = NULL;
	if (att->request_event[0] == '\0') {
		if ((rc = net_nwc_info(r, c->wallet, deadline, &info, err,
		    errsz)) != TALLY_OK)
			return rc;
		rc = core_nwc_pay_request(c, bolt11, now, info != NULL ?
		    core_nwc_info_encryption(info) : NWC_NIP04, ev);
		json_decref(info);
		if (rc != TALLY_OK)
			return rc;
		if ((text = json_dumps(*ev, JSON_COMPACT)) == NULL)
			return TALLY_E_NOMEM;
		s.invoice_id = att->invoice_id;
		s.now = now;
		s.id = json_string_value(json_object_get(*ev, "id"));
		s.text = text;
		rc = db_tx(db, store_tx, &s);
		free(text);
		if (rc != TALLY_OK || s.stored)
			return rc;
		/* Another run stored its own first: send that one. */
		json_decref(*ev);
		*ev = NULL;
		if ((rc = db_nwc_get(db, att->invoice_id, 0, att)) != TALLY_OK)
			return rc;
	}
	if ((*ev = json_loads(att->request_event, 0, NULL)) == NULL)
		return TALLY_E_INTERNAL;
	return TALLY_OK;
}

int
op_nwc_exchange(struct db *db, const struct core_config *cfg,
    int64_t invoice_id, int64_t account_id, int64_t now,
    struct op_nwc_outcome *o)
{
	struct db_nwc	*att = NULL;
	struct db_ln	*ln = NULL;
	struct db_profile *prof = NULL;
	struct core_nwc	 c;
	struct core_nwc_result res;
	struct net_relay *r = NULL;
	json_t		*ev = NULL;
	const char	*why;
	char		*url = NULL, err[300];
	int64_t		 deadline;
	int		 rc, answered = 0;

	memset(o, 0, sizeof(*o));
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	rc = TALLY_E_NOMEM;
	if ((att = calloc(1, sizeof(*att))) == NULL ||
	    (ln = calloc(1, sizeof(*ln))) == NULL ||
	    (prof = calloc(1, sizeof(*prof))) == NULL)
		goto out;
	if ((rc = db_nwc_get(db, invoice_id, 0, att)) != TALLY_OK ||
	    (rc = db_ln_get(db, att->btcpay_invoice, ln)) != TALLY_OK)
		goto out;
	rc = db_profile_get(db, account_id, prof);
	if (rc != TALLY_OK && rc != TALLY_E_NOTFOUND)
		goto out;
	rc = TALLY_OK;
	if (prof->nwc_sealed[0] == '\0') {
		snprintf(o->message, sizeof(o->message), "the wallet "
		    "connection was removed");
		goto out;
	}
	if (core_secret_open(cfg->encryption_key, prof->nwc_sealed, &url) !=
	    TALLY_OK) {
		snprintf(o->message, sizeof(o->message), "the stored wallet "
		    "connection cannot be opened with auth.encryption_key");
		goto out;
	}
	rc = core_nwc_parse(url, &c, &why);
	OPENSSL_cleanse(url, strlen(url));
	free(url);
	if (rc != TALLY_OK) {
		rc = TALLY_OK;
		snprintf(o->message, sizeof(o->message), "the stored wallet "
		    "connection is not valid: %s", why);
		goto out;
	}
	deadline = net_now_ms() + cfg->nwc_timeout_seconds * 1000;
	if ((rc = net_relay_open(c.relay, deadline, &r, err, sizeof(err))) !=
	    TALLY_OK ||
	    (rc = request(db, r, &c, att, ln->bolt11, now, deadline, &ev, err,
	    sizeof(err))) != TALLY_OK ||
	    (rc = net_nwc_exchange(r, &c, ev, deadline, &answered, &res, err,
	    sizeof(err))) != TALLY_OK) {
		if (rc != TALLY_E_IO && rc != TALLY_E_PROVIDER)
			goto out;	/* the database or memory */
		rc = TALLY_OK;
		snprintf(o->message, sizeof(o->message), "the wallet's relay: "
		    "%s", err);
		goto out;
	}
	core_log("info", "nwc.request_sent", json_pack("{s:I,s:s,s:b}",
	    "invoice_id", (json_int_t)invoice_id, "request_id",
	    json_string_value(json_object_get(ev, "id")), "answered",
	    answered));
	if (!answered)
		snprintf(o->message, sizeof(o->message), "the wallet did not "
		    "answer within %lld seconds",
		    (long long)cfg->nwc_timeout_seconds);
	else if (res.ok) {
		o->answered = o->ok = 1;
	} else {
		o->answered = 1;
		snprintf(o->message, sizeof(o->message), "%.60s%s%.400s", res.code,
		    res.message[0] != '\0' ? ": " : "", res.message);
	}
out:
	if (o->message[0] != '\0')
		core_log("warn", "nwc.failed", json_pack("{s:I,s:s}",
		    "invoice_id", (json_int_t)invoice_id, "error", o->message));
	net_relay_close(r);
	json_decref(ev);
	core_nwc_wipe(&c);
	if (prof != NULL)
		OPENSSL_clear_free(prof, sizeof(*prof));
	free(att);
	free(ln);
	return rc;
}

int
op_nwc_finish_tx(struct db *db, const struct core_config *cfg,
    const struct db_invoice *inv, const struct op_nwc_outcome *o,
    int64_t now, int *paid, int *wait, char *why, size_t whysz)
{
	struct db_invoice cur;
	struct db_nwc	*att;
	char		 ref[64];
	int		 rc, asked;

	*paid = *wait = 0;
	why[0] = '\0';
	/* Whatever the wallet said, BTCPay's invoice decides (this settles
	 * it, and through op_nwc_settled_tx its attempt, when it is paid). */
	rc = op_ln_refresh_tx(db, cfg, "invoice", inv->id, now);
	if (rc != TALLY_OK && rc != TALLY_E_PROVIDER)
		return rc;
	asked = rc == TALLY_OK;
	if ((rc = db_invoice_lock(db, inv->id, &cur)) != TALLY_OK)
		return rc;
	if (strcmp(cur.status, "pending") != 0) {
		*paid = strcmp(cur.status, "paid") == 0;
		if (*paid || !o->ok)
			return TALLY_OK;
	}
	if (o->ok || (!asked && !o->answered)) {
		/* Paid by the wallet's word, or perhaps paid: never charge the
		 * card on top; the webhook or reconcile-lightning settles. */
		*wait = 1;
		core_log("warn", "nwc.unconfirmed", json_pack("{s:I,s:b}",
		    "invoice_id", (json_int_t)inv->id, "wallet_paid", o->ok));
		return db_nwc_set_status(db, inv->id, "answered", o->ok ?
		    "the wallet reported the payment; BTCPay has not settled "
		    "it yet" : "BTCPay could not be asked", now);
	}
	if ((att = calloc(1, sizeof(*att))) == NULL)
		return TALLY_E_NOMEM;
	rc = db_nwc_get(db, inv->id, 1, att);
	if (rc == TALLY_OK)
		rc = db_nwc_set_status(db, inv->id, "failed", o->message, now);
	if (rc == TALLY_OK) {
		reference(inv->id, ref, sizeof(ref));
		rc = db_payment_insert(db, cur.account_id, ref, "nwc",
		    cur.total, cur.currency, o->answered ? "declined" : "error",
		    att->btcpay_invoice, o->message, now);
		rc = rc == TALLY_E_DUPLICATE ? TALLY_OK : rc;
	}
	free(att);
	snprintf(why, whysz, "Lightning auto-pay failed: %s", o->message);
	return rc;
}

int
op_nwc_settled_tx(struct db *db, int64_t invoice_id,
    const char *btcpay_invoice, int64_t amount, const char *currency,
    int64_t now)
{
	struct db_nwc	*att;
	char		 ref[64];
	int		 rc;

	if ((att = calloc(1, sizeof(*att))) == NULL)
		return TALLY_E_NOMEM;
	rc = db_nwc_get(db, invoice_id, 1, att);
	if (rc == TALLY_E_NOTFOUND || (rc == TALLY_OK &&
	    (strcmp(att->btcpay_invoice, btcpay_invoice) != 0 ||
	    strcmp(att->status, "settled") == 0))) {
		free(att);
		return TALLY_OK;
	}
	if (rc == TALLY_OK)
		rc = db_nwc_set_status(db, invoice_id, "settled", NULL, now);
	if (rc == TALLY_OK) {
		reference(invoice_id, ref, sizeof(ref));
		rc = db_payment_insert(db, att->account_id, ref, "nwc", amount,
		    currency, "succeeded", btcpay_invoice, NULL, now);
		/* A failure recorded before, settled after all. */
		if (rc == TALLY_E_DUPLICATE)
			rc = db_nwc_payment_settled(db, ref, btcpay_invoice);
	}
	free(att);
	return rc;
}

int
op_nwc_check(const char *url, const char **why)
{
	struct core_nwc	 c;
	int		 rc;

	rc = core_nwc_parse(url, &c, why);
	core_nwc_wipe(&c);
	return rc;
}
