/* Stripe flows: Checkout purchases, card setup, off-session charges,
 * webhook effects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/hook.h"
#include "core/form.h"
#include "core/ops/log.h"
#include "core/money.h"
#include "core/ops/card.h"
#include "core/ops/event.h"
#include "core/ops/subscription.h"
#include "core/ops/coupon.h"
#include "core/ops/invoice.h"
#include "core/plan.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_misc.h"
#include "db/db_pay.h"
#include "db/db_wallet.h"
#include "net/stripe.h"

static void
lower(const char *in, char *out, size_t outsz)
{
	size_t	 i;

	for (i = 0; in[i] != '\0' && i + 1 < outsz; i++)
		out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 :
		    in[i]);
	out[i] = '\0';
}

int
op_purchase_get(struct db *db, int64_t account_id, int64_t id,
    struct tally_purchase *p)
{
	return db_purchase_get(db, account_id, id, p);
}

int
op_purchase_list(struct db *db, int64_t account_id, size_t max,
    struct tally_purchase *ps, size_t *n)
{
	return db_purchase_list(db, account_id, max, ps, n);
}

int
op_purchase_insert_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, const struct core_package *pk,
    const char *method, const char *coupon, int64_t expires_at, int64_t now,
    struct tally_purchase *p)
{
	int	 rc;

	memset(p, 0, sizeof(*p));
	p->account_id = a->id;
	snprintf(p->package, sizeof(p->package), "%s", pk->id);
	p->credits = pk->credits;
	p->amount = pk->price;
	snprintf(p->currency, sizeof(p->currency), "%s", cfg->currency);
	snprintf(p->method, sizeof(p->method), "%s", method);
	p->expires_at = expires_at;
	if ((rc = db_purchase_insert(db, p, now)) != TALLY_OK || coupon == NULL)
		return rc;
	/* Before any provider is asked: a bad code leaves nothing behind. */
	return op_coupon_purchase_tx(db, a, pk, coupon, p->id, now,
	    &p->bonus_credits, p->coupon_code);
}

/*
 * A Checkout Session in payment mode for amount, named name, whose
 * metadata (and its PaymentIntent's) carry meta_key = id; back to the
 * billing page with "?meta_key=id&checkout=...".  customer or email may
 * be NULL; expires_at 0 leaves Stripe's default.  OUT: sid, url.
 */
static int
checkout_payment(const struct core_config *cfg, const char *meta_key,
    int64_t id, const char *name, int64_t amount, const char *customer,
    const char *email, int64_t expires_at, const char *idem, char *sid,
    size_t sidsz, char *url, size_t urlsz, char *err, size_t errsz)
{
	struct core_form f;
	json_t		*obj = NULL;
	const char	*s_id, *s_url, *query = strcmp(meta_key, "invoice_id") ==
	    0 ? "invoice" : "purchase";
	char		 cur[4], key[96], buf[512];
	long		 status;
	int		 rc;

	lower(cfg->currency, cur, sizeof(cur));
	core_form_init(&f);
	core_form_add(&f, "mode", "payment");
	core_form_add(&f, "line_items[0][price_data][currency]", cur);
	core_form_add_int(&f, "line_items[0][price_data][unit_amount]",
	    amount);
	core_form_add(&f, "line_items[0][price_data][product_data][name]",
	    name);
	core_form_add_int(&f, "line_items[0][quantity]", 1);
	core_form_add_int(&f, "client_reference_id", id);
	snprintf(key, sizeof(key), "metadata[%s]", meta_key);
	core_form_add_int(&f, key, id);
	snprintf(key, sizeof(key), "payment_intent_data[metadata][%s]",
	    meta_key);
	core_form_add_int(&f, key, id);
	if (customer != NULL && *customer != '\0')
		core_form_add(&f, "customer", customer);
	else if (email != NULL && *email != '\0')
		core_form_add(&f, "customer_email", email);
	snprintf(buf, sizeof(buf), "%s/?%s=%lld&checkout=success",
	    cfg->http_public_url, query, (long long)id);
	core_form_add(&f, "success_url", buf);
	snprintf(buf, sizeof(buf), "%s/?%s=%lld&checkout=cancel",
	    cfg->http_public_url, query, (long long)id);
	core_form_add(&f, "cancel_url", buf);
	if (expires_at != 0)
		core_form_add_int(&f, "expires_at", expires_at);
	rc = net_stripe_call(cfg, "/v1/checkout/sessions", &f, idem, &obj,
	    &status, err, errsz);
	if (rc != TALLY_OK) {
		json_decref(obj);
		core_log("error", "stripe.checkout_failed", json_pack(
		    "{s:s,s:I,s:i,s:s}", "for", meta_key, "id", (json_int_t)id,
		    "status", (int)status, "error", err));
		return TALLY_E_PROVIDER;
	}
	s_id = json_string_value(json_object_get(obj, "id"));
	s_url = json_string_value(json_object_get(obj, "url"));
	if (s_id == NULL || s_url == NULL) {
		json_decref(obj);
		snprintf(err, errsz, "Stripe answered without a session url");
		return TALLY_E_PROVIDER;
	}
	snprintf(sid, sidsz, "%s", s_id);
	snprintf(url, urlsz, "%s", s_url);
	json_decref(obj);
	return TALLY_OK;
}

int
op_card_purchase_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, const struct core_package *pk,
    const char *coupon, int64_t now, struct tally_purchase *p, char *err,
    size_t errsz)
{
	struct db_profile prof;
	char		 idem[64];
	int		 rc;

	if ((rc = op_purchase_insert_tx(db, cfg, a, pk, "card", coupon, now +
	    cfg->stripe_checkout_ttl_minutes * 60, now, p)) != TALLY_OK)
		return rc;
	rc = db_profile_get(db, a->id, &prof);
	if (rc != TALLY_OK && rc != TALLY_E_NOTFOUND)
		return rc;
	/* Our purchase id names the session: a retry never makes two.
	 * Stripe wants expires_at at least 30 minutes ahead when it gets
	 * it; the session may outlive the purchase by a minute (a payment
	 * in that minute is credited all the same: paid is paid). */
	snprintf(idem, sizeof(idem), "tally-purchase-%lld-checkout",
	    (long long)p->id);
	if ((rc = checkout_payment(cfg, "purchase_id", p->id, pk->name,
	    pk->price, prof.stripe_customer, a->email, p->expires_at + 60,
	    idem, p->provider_ref, sizeof(p->provider_ref), p->checkout_url,
	    sizeof(p->checkout_url), err, errsz)) != TALLY_OK)
		return rc;
	return db_purchase_set_checkout(db, p->id, p->provider_ref,
	    p->checkout_url, p->expires_at);
}

/* The account's Stripe customer id, created once. OUT: cus. */
static int
ensure_customer(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, int64_t now, char *cus, size_t cussz,
    char *err, size_t errsz)
{
	struct db_profile prof;
	struct core_form f;
	json_t		*obj = NULL;
	const char	*id;
	char		 idem[64];
	long		 status;
	int		 rc;

	rc = db_profile_get(db, a->id, &prof);
	if (rc != TALLY_OK && rc != TALLY_E_NOTFOUND)
		return rc;
	if (prof.stripe_customer[0] != '\0') {
		snprintf(cus, cussz, "%s", prof.stripe_customer);
		return TALLY_OK;
	}
	core_form_init(&f);
	if (a->email[0] != '\0')
		core_form_add(&f, "email", a->email);
	core_form_add(&f, "metadata[user_id]", a->user_id);
	core_form_add_int(&f, "metadata[account_id]", a->id);
	/* One customer per account, however often this runs. */
	snprintf(idem, sizeof(idem), "tally-account-%lld-customer",
	    (long long)a->id);
	rc = net_stripe_call(cfg, "/v1/customers", &f, idem, &obj, &status,
	    err, errsz);
	if (rc != TALLY_OK || (id = json_string_value(json_object_get(obj,
	    "id"))) == NULL) {
		json_decref(obj);
		return TALLY_E_PROVIDER;
	}
	snprintf(cus, cussz, "%s", id);
	json_decref(obj);
	return db_profile_set_customer(db, a->id, cus, now);
}

int
op_card_setup(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, int64_t now, char *url, size_t urlsz,
    char *err, size_t errsz)
{
	struct core_form f;
	json_t		*obj = NULL;
	const char	*u;
	char		 cus[256], cur[4], idem[96], buf[512];
	long		 status;
	int		 rc;

	if ((rc = ensure_customer(db, cfg, a, now, cus, sizeof(cus), err,
	    errsz)) != TALLY_OK)
		return rc;
	lower(cfg->currency, cur, sizeof(cur));
	core_form_init(&f);
	core_form_add(&f, "mode", "setup");
	core_form_add(&f, "customer", cus);
	core_form_add(&f, "currency", cur);
	core_form_add(&f, "payment_method_types[0]", "card");
	core_form_add_int(&f, "metadata[account_id]", a->id);
	core_form_add_int(&f, "setup_intent_data[metadata][account_id]",
	    a->id);
	snprintf(buf, sizeof(buf), "%s/?card=saved", cfg->http_public_url);
	core_form_add(&f, "success_url", buf);
	snprintf(buf, sizeof(buf), "%s/?card=canceled", cfg->http_public_url);
	core_form_add(&f, "cancel_url", buf);
	/* A second setup session is harmless; one per second is plenty. */
	snprintf(idem, sizeof(idem), "tally-account-%lld-setup-%lld",
	    (long long)a->id, (long long)now);
	rc = net_stripe_call(cfg, "/v1/checkout/sessions", &f, idem, &obj,
	    &status, err, errsz);
	if (rc != TALLY_OK || (u = json_string_value(json_object_get(obj,
	    "url"))) == NULL) {
		json_decref(obj);
		return TALLY_E_PROVIDER;
	}
	snprintf(url, urlsz, "%s", u);
	json_decref(obj);
	return TALLY_OK;
}

int
op_card_remove(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, int64_t now)
{
	struct db_profile prof;
	struct core_form f;
	json_t		*obj = NULL;
	char		 path[320], err[256], idem[320];
	long		 status;
	int		 rc;

	rc = db_profile_get(db, a->id, &prof);
	if (rc == TALLY_E_NOTFOUND || (rc == TALLY_OK && !prof.card_pm[0]))
		return TALLY_OK;
	if (rc != TALLY_OK)
		return rc;
	/* Forget it here first: whatever Stripe says, we never charge it. */
	if ((rc = db_profile_set_card(db, a->id, NULL, NULL, NULL, now)) !=
	    TALLY_OK)
		return rc;
	snprintf(path, sizeof(path), "/v1/payment_methods/%s/detach",
	    prof.card_pm);
	snprintf(idem, sizeof(idem), "tally-detach-%s", prof.card_pm);
	core_form_init(&f);
	if (net_stripe_call(cfg, path, &f, idem, &obj, &status, err,
	    sizeof(err)) != TALLY_OK)
		core_log("warn", "stripe.detach_failed", json_pack("{s:I,s:s}",
		    "account_id", (json_int_t)a->id, "error", err));
	json_decref(obj);
	return TALLY_OK;
}

/* A card payment attempt as op_card_charge_saved records it. */
struct payment_rec {
	int64_t		 account_id, amount, now;
	const char	*reference, *currency, *status, *provider_ref;
	const char	*message;
};

/* The attempt's payments row and, when it failed, its payment.failed
 * event.  The same reference again is the same attempt: recorded. */
static int
record_payment_tx(struct db *db, void *arg)
{
	const struct payment_rec *r = arg;
	int		 rc;

	rc = db_payment_insert(db, r->account_id, r->reference, "card",
	    r->amount, r->currency, r->status, r->provider_ref, r->message,
	    r->now);
	if (rc == TALLY_E_DUPLICATE)
		return TALLY_OK;
	if (rc != TALLY_OK || strcmp(r->status, "succeeded") == 0)
		return rc;
	return op_event_payment_tx(db, CORE_EV_PAYMENT_FAILED, r->reference,
	    r->now);
}

int
op_card_charge_saved(struct db *db, const struct core_config *cfg,
    int64_t account_id, int64_t amount, const char *reference, int64_t now,
    int *result, char *message, size_t msgsz, char *provider_ref,
    size_t refsz)
{
	struct db_profile prof;
	struct payment_rec rec;
	struct core_form f;
	const json_t	*pi;
	json_t		*obj = NULL;
	const char	*code, *status_s, *pid, *etype;
	char		 cur[4];
	long		 status;
	int		 rc;

	*result = CARD_ERROR;
	message[0] = '\0';
	provider_ref[0] = '\0';
	rc = db_profile_get(db, account_id, &prof);
	if (rc == TALLY_E_NOTFOUND || (rc == TALLY_OK &&
	    (!prof.card_pm[0] || !prof.stripe_customer[0]))) {
		*result = CARD_NONE;
		snprintf(message, msgsz, "no saved card");
		return TALLY_OK;
	}
	if (rc != TALLY_OK)
		return rc;
	lower(cfg->currency, cur, sizeof(cur));
	core_form_init(&f);
	core_form_add_int(&f, "amount", amount);
	core_form_add(&f, "currency", cur);
	core_form_add(&f, "customer", prof.stripe_customer);
	core_form_add(&f, "payment_method", prof.card_pm);
	core_form_add(&f, "off_session", "true");
	core_form_add(&f, "confirm", "true");
	core_form_add(&f, "metadata[reference]", reference);
	core_form_add_int(&f, "metadata[account_id]", account_id);
	rc = net_stripe_call(cfg, "/v1/payment_intents", &f, reference, &obj,
	    &status, message, msgsz);
	/* A declined or 3DS-bound PaymentIntent comes inside the error. */
	pi = rc == TALLY_OK ? obj : json_object_get(json_object_get(obj,
	    "error"), "payment_intent");
	if ((pid = json_string_value(json_object_get(pi, "id"))) != NULL)
		snprintf(provider_ref, refsz, "%s", pid);
	status_s = json_string_value(json_object_get(pi, "status"));
	code = json_string_value(json_object_get(json_object_get(obj,
	    "error"), "code"));
	etype = json_string_value(json_object_get(json_object_get(obj,
	    "error"), "type"));
	if (rc == TALLY_OK && status_s != NULL &&
	    strcmp(status_s, "succeeded") == 0) {
		*result = CARD_CHARGED;
		snprintf(message, msgsz, "succeeded");
	} else if ((code != NULL && strcmp(code, "authentication_required") ==
	    0) || (status_s != NULL && strcmp(status_s, "requires_action") ==
	    0))
		*result = CARD_NEEDS_AUTH;
	else if (rc == TALLY_E_INVALID && etype != NULL &&
	    strcmp(etype, "card_error") == 0)
		*result = CARD_DECLINED;	/* the bank said no */
	else
		*result = CARD_ERROR;
	if (*result == CARD_NEEDS_AUTH && message[0] == '\0')
		snprintf(message, msgsz, "the card needs the customer to "
		    "authenticate the payment");
	/* Stripe's text may have been cut inside a character: keep it whole
	 * (and short) before it is stored or shown. */
	{
		char	 clean[481];

		core_summarize(message, msgsz - 1 < 480 ? msgsz - 1 : 480,
		    clean);
		snprintf(message, msgsz, "%s", clean);
	}
	json_decref(obj);
	rec.account_id = account_id;
	rec.reference = reference;
	rec.amount = amount;
	rec.currency = cfg->currency;
	rec.status = *result == CARD_CHARGED ? "succeeded" :
	    *result == CARD_DECLINED ? "declined" : *result == CARD_NEEDS_AUTH ?
	    "requires_action" : "error";
	rec.provider_ref = provider_ref[0] ? provider_ref : NULL;
	rec.message = message;
	rec.now = now;
	/* Outside a transaction (no transaction is held over the call to
	 * Stripe) the row and its event still commit together. */
	return db->in_tx ? record_payment_tx(db, &rec) :
	    db_tx(db, record_payment_tx, &rec);
}

int
op_card_charge_user(struct db *db, const struct core_config *cfg,
    const char *user_id, int64_t amount, const char *reference, int64_t now,
    int *result, char *message, size_t msgsz, char *provider_ref,
    size_t refsz)
{
	struct tally_account a;
	int		 rc;

	*result = CARD_ERROR;
	message[0] = '\0';
	provider_ref[0] = '\0';
	if ((rc = db_account_get(db, user_id, &a)) != TALLY_OK)
		return rc;
	return op_card_charge_saved(db, cfg, a.id, amount, reference, now,
	    result, message, msgsz, provider_ref, refsz);
}

int
op_card_expire_purchases(struct db *db, int64_t now, uint64_t *n)
{
	return db_purchase_expire(db, "card", now, n);
}

int
op_purchase_paid_tx(struct db *db, struct tally_purchase *p, int64_t amount,
    const char *currency, const char *payment_ref, int64_t now)
{
	struct tally_tx	 tx;
	char		 key[64], desc[96];
	int		 rc;

	if (amount != p->amount || currency == NULL ||
	    strcasecmp(currency, p->currency) != 0) {
		core_log("error", "purchase.amount_mismatch", json_pack(
		    "{s:I,s:I,s:s,s:I,s:s}", "purchase_id", (json_int_t)p->id,
		    "expected", (json_int_t)p->amount, "expected_currency",
		    p->currency, "paid", (json_int_t)amount, "paid_currency",
		    currency != NULL ? currency : ""));
		return TALLY_E_CONFLICT;
	}
	snprintf(key, sizeof(key), "purchase:%lld", (long long)p->id);
	snprintf(desc, sizeof(desc), "Purchase #%lld (%s)", (long long)p->id,
	    p->package);
	rc = db_ledger_apply(db, p->account_id, TX_PURCHASE, p->credits,
	    p->method, desc, key, now, &tx);
	if (rc == TALLY_E_DUPLICATE)
		return TALLY_OK;	/* credited by an earlier event */
	if (rc != TALLY_OK)
		return rc;
	/* A coupon's bonus: its own ledger row, with the credit, once. */
	if (p->bonus_credits > 0) {
		snprintf(key, sizeof(key), "purchase:%lld:bonus",
		    (long long)p->id);
		snprintf(desc, sizeof(desc), "Coupon %s bonus, purchase #%lld",
		    p->coupon_code, (long long)p->id);
		if ((rc = db_ledger_apply(db, p->account_id, TX_BONUS,
		    p->bonus_credits, "coupon", desc, key, now, &tx)) !=
		    TALLY_OK)
			return rc;
	}
	snprintf(p->status, sizeof(p->status), "succeeded");
	p->completed_at = now;
	if ((rc = db_purchase_set_status(db, p->id, "succeeded", now,
	    payment_ref)) != TALLY_OK)
		return rc;
	if ((rc = op_event_tx(db, CORE_EV_PURCHASE_COMPLETED, p->id, now)) !=
	    TALLY_OK)
		return rc;
	/* A top-up: paused subscriptions may start again. */
	return op_sub_topup_tx(db, p->account_id, now, NULL);
}

/* An invoice paid through Stripe (Checkout or a PaymentIntent): the
 * amount is obj's amount_key, the PaymentIntent its pi_key. */
static int
event_invoice(struct db *db, const struct core_config *cfg,
    const json_t *obj, const char *amount_key, const char *pi_key,
    int64_t now, int *handled)
{
	int64_t		 id;
	int		 rc;

	*handled = 0;
	if ((id = core_stripe_meta_id(obj, "invoice_id")) == 0)
		return TALLY_OK;
	*handled = 1;
	rc = op_invoice_paid_tx(db, cfg, id, json_integer_value(
	    json_object_get(obj, amount_key)), json_string_value(
	    json_object_get(obj, "currency")), "card", json_string_value(
	    json_object_get(obj, pi_key)), now);
	return rc == TALLY_E_CONFLICT || rc == TALLY_E_NOTFOUND ? TALLY_OK :
	    rc;
}

/* The purchase an event names in its metadata. */
static int
event_purchase(struct db *db, const json_t *obj, struct tally_purchase *p)
{
	int64_t		 id;

	if ((id = core_stripe_meta_id(obj, "purchase_id")) == 0)
		return TALLY_E_NOTFOUND;
	return db_purchase_lock(db, id, p);
}

/* Store the card of payment method pm (an id or an expanded object). */
static int
save_card(struct db *db, const struct core_config *cfg, int64_t account_id,
    const json_t *pm, int64_t now)
{
	const json_t	*card;
	json_t		*obj = NULL;
	const char	*id, *brand, *last4;
	char		 path[320], err[256];
	long		 status;
	int		 rc;

	if (json_is_string(pm)) {
		snprintf(path, sizeof(path), "/v1/payment_methods/%s",
		    json_string_value(pm));
		if (net_stripe_call(cfg, path, NULL, NULL, &obj, &status, err,
		    sizeof(err)) != TALLY_OK) {
			json_decref(obj);
			return TALLY_E_PROVIDER;	/* Stripe retries */
		}
		pm = obj;
	}
	id = json_string_value(json_object_get(pm, "id"));
	card = json_object_get(pm, "card");
	brand = json_string_value(json_object_get(card, "brand"));
	last4 = json_string_value(json_object_get(card, "last4"));
	rc = id != NULL && brand != NULL && last4 != NULL &&
	    strlen(last4) == 4 ? db_profile_set_card(db, account_id, id, brand,
	    last4, now) : TALLY_OK;
	json_decref(obj);
	return rc;
}

/* The account an event's object belongs to: metadata, then customer. */
static int
event_account(struct db *db, const json_t *obj, int64_t *account_id)
{
	struct db_profile prof;
	const char	*cus;

	if ((*account_id = core_stripe_meta_id(obj, "account_id")) > 0)
		return TALLY_OK;
	cus = json_string_value(json_object_get(obj, "customer"));
	if (cus == NULL)
		return TALLY_E_NOTFOUND;
	if (db_profile_by_customer(db, cus, &prof) != TALLY_OK)
		return TALLY_E_NOTFOUND;
	*account_id = prof.account_id;
	return TALLY_OK;
}

static int
on_session_completed(struct db *db, const struct core_config *cfg,
    const json_t *obj, int64_t now)
{
	struct tally_purchase p;
	json_t		*si = NULL;
	const char	*mode = json_string_value(json_object_get(obj, "mode"));
	const char	*paid, *seti;
	char		 path[320], err[256];
	int64_t		 account_id;
	long		 status;
	int		 rc, handled;

	if (mode != NULL && strcmp(mode, "setup") == 0) {
		seti = json_string_value(json_object_get(obj, "setup_intent"));
		if (seti == NULL || event_account(db, obj, &account_id) !=
		    TALLY_OK)
			return TALLY_OK;
		snprintf(path, sizeof(path), "/v1/setup_intents/%s"
		    "?expand%%5B%%5D=payment_method", seti);
		if (net_stripe_call(cfg, path, NULL, NULL, &si, &status, err,
		    sizeof(err)) != TALLY_OK) {
			json_decref(si);
			return TALLY_E_PROVIDER;
		}
		rc = save_card(db, cfg, account_id, json_object_get(si,
		    "payment_method"), now);
		json_decref(si);
		return rc;
	}
	/* Delayed methods complete the session unpaid: wait for the money. */
	paid = json_string_value(json_object_get(obj, "payment_status"));
	if (paid == NULL || strcmp(paid, "paid") != 0)
		return TALLY_OK;
	if ((rc = event_invoice(db, cfg, obj, "amount_total", "payment_intent",
	    now, &handled)) != TALLY_OK || handled)
		return rc;
	if ((rc = event_purchase(db, obj, &p)) != TALLY_OK)
		return rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
	rc = op_purchase_paid_tx(db, &p, json_integer_value(json_object_get(
	    obj, "amount_total")), json_string_value(json_object_get(obj,
	    "currency")), json_string_value(json_object_get(obj,
	    "payment_intent")), now);
	return rc == TALLY_E_CONFLICT ? TALLY_OK : rc;
}

static int
on_intent(struct db *db, const struct core_config *cfg, const json_t *obj,
    int succeeded, int64_t now)
{
	struct tally_purchase p;
	int	 rc, handled;

	if (succeeded && ((rc = event_invoice(db, cfg, obj, "amount_received",
	    "id", now, &handled)) != TALLY_OK || handled))
		return rc;
	if ((rc = event_purchase(db, obj, &p)) != TALLY_OK)
		return rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
	if (succeeded) {
		rc = op_purchase_paid_tx(db, &p, json_integer_value(
		    json_object_get(obj, "amount_received")),
		    json_string_value(json_object_get(obj, "currency")),
		    json_string_value(json_object_get(obj, "id")), now);
		return rc == TALLY_E_CONFLICT ? TALLY_OK : rc;
	}
	if (strcmp(p.status, "pending") != 0)
		return TALLY_OK;
	return db_purchase_set_status(db, p.id, "failed", now,
	    json_string_value(json_object_get(obj, "id")));
}

/*
 * A refund takes back the refunded share of the purchase's credits, as
 * far as the balance allows, and records the rest as unrecovered.
 * amount_refunded is cumulative, so each event adds only what is new.
 */
static int
on_refund(struct db *db, const json_t *obj, int64_t now)
{
	struct tally_purchase p;
	struct tally_tx	 tx;
	const char	*pi = json_string_value(json_object_get(obj,
	    "payment_intent"));
	int64_t		 refunded, target, todo, balance, take;
	char		 key[96], details[256];
	int		 rc;

	refunded = json_integer_value(json_object_get(obj, "amount_refunded"));
	if (pi == NULL || refunded <= 0)
		return TALLY_OK;
	if ((rc = db_purchase_lock_by_payment(db, pi, &p)) != TALLY_OK)
		return rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
	if (refunded <= p.refunded_amount || p.amount <= 0)
		return TALLY_OK;
	if (refunded > p.amount)
		refunded = p.amount;
	if ((rc = core_money_muldiv(p.credits, refunded, p.amount, &target)) !=
	    TALLY_OK)
		return rc;
	todo = target - p.credits_reversed - p.credits_unrecovered;
	if ((rc = db_account_lock(db, p.account_id, &balance)) != TALLY_OK)
		return rc;
	take = todo < balance ? todo : balance;
	if (take > 0) {
		snprintf(key, sizeof(key), "purchase-refund:%lld:%lld",
		    (long long)p.id, (long long)refunded);
		rc = db_ledger_apply(db, p.account_id, TX_REFUND, -take,
		    "purchase_refund", "Card payment refunded", key, now, &tx);
		if (rc != TALLY_OK && rc != TALLY_E_DUPLICATE)
			return rc;
	}
	if (take < 0)
		take = 0;
	if (todo > take) {
		snprintf(details, sizeof(details), "{\"purchase_id\":%lld,"
		    "\"credits_not_recovered\":%lld}", (long long)p.id,
		    (long long)(todo - take));
		core_log("warn", "purchase.refund_unrecovered", json_loads(
		    details, 0, NULL));
		if ((rc = db_audit_insert(db, "stripe", "purchase.refund",
		    p.provider_ref, details, now)) != TALLY_OK)
			return rc;
	}
	return db_purchase_set_refund(db, p.id, refunded,
	    p.credits_reversed + take, p.credits_unrecovered + (todo - take));
}

static int
on_setup_succeeded(struct db *db, const struct core_config *cfg,
    const json_t *obj, int64_t now)
{
	int64_t	 account_id;

	if (event_account(db, obj, &account_id) != TALLY_OK)
		return TALLY_OK;
	return save_card(db, cfg, account_id, json_object_get(obj,
	    "payment_method"), now);
}

int
op_card_webhook_tx(struct db *db, const struct core_config *cfg,
    const json_t *event, int64_t now)
{
	const char	*type = json_string_value(json_object_get(event, "type"));
	const json_t	*obj = json_object_get(json_object_get(event, "data"),
	    "object");

	if (type == NULL || !json_is_object(obj))
		return TALLY_OK;
	if (strcmp(type, "checkout.session.completed") == 0)
		return on_session_completed(db, cfg, obj, now);
	if (strcmp(type, "payment_intent.succeeded") == 0)
		return on_intent(db, cfg, obj, 1, now);
	if (strcmp(type, "payment_intent.payment_failed") == 0)
		return on_intent(db, cfg, obj, 0, now);
	if (strcmp(type, "setup_intent.succeeded") == 0)
		return on_setup_succeeded(db, cfg, obj, now);
	if (strcmp(type, "charge.refunded") == 0)
		return on_refund(db, obj, now);
	return TALLY_OK;
}

int
op_card_invoice_checkout(const struct core_config *cfg, int64_t invoice_id,
    const char *number, int64_t total, const char *email, int64_t now,
    char *url, size_t urlsz, char *err, size_t errsz)
{
	char	 idem[96], name[96], sid[256];

	snprintf(name, sizeof(name), "Invoice %s", number);
	/* One session per invoice and hour: a retry reuses it. */
	snprintf(idem, sizeof(idem), "tally-invoice-%lld-checkout-%lld",
	    (long long)invoice_id, (long long)(now / 3600));
	return checkout_payment(cfg, "invoice_id", invoice_id, name, total,
	    NULL, email, 0, idem, sid, sizeof(sid), url, urlsz, err, errsz);
}
