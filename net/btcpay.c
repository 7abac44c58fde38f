/* BTCPay Greenfield: "Authorization: token KEY", JSON both ways. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "core/config.h"
#include "core/money.h"
#include "core/result.h"
#include "net/btcpay.h"
#include "net/http.h"

static int
call(const struct core_config *cfg, const char *method, const char *path,
    const char *body, struct net_response *r, char *err, size_t errsz)
{
	const char	*hdrs[4];
	char		 url[1024], auth[300];
	int		 rc;

	if (cfg->ln_api_base[0] == '\0' || cfg->ln_api_key[0] == '\0' ||
	    cfg->ln_store_id[0] == '\0') {
		snprintf(err, errsz, "lightning is not configured");
		return TALLY_E_PROVIDER;
	}
	snprintf(url, sizeof(url), "%s/api/v1/stores/%s%s", cfg->ln_api_base,
	    cfg->ln_store_id, path);
	snprintf(auth, sizeof(auth), "Authorization: token %s",
	    cfg->ln_api_key);
	hdrs[0] = auth;
	hdrs[1] = "Content-Type: application/json";
	hdrs[2] = "Accept: application/json";
	hdrs[3] = NULL;
	rc = net_http_json(method, url, hdrs, body, r, err, errsz);
	OPENSSL_cleanse(auth, sizeof(auth));
	return rc;
}

static void
copy_str(const json_t *o, const char *key, char *dst, size_t dstsz)
{
	const char	*s = json_string_value(json_object_get(o, key));

	snprintf(dst, dstsz, "%s", s != NULL ? s : "");
}

static int
parse_invoice(const json_t *o, struct net_btcpay_invoice *inv)
{
	const json_t	*exp = json_object_get(o, "expirationTime");

	copy_str(o, "id", inv->id, sizeof(inv->id));
	copy_str(o, "status", inv->status, sizeof(inv->status));
	copy_str(o, "amount", inv->amount, sizeof(inv->amount));
	copy_str(o, "currency", inv->currency, sizeof(inv->currency));
	copy_str(o, "checkoutLink", inv->checkout_url,
	    sizeof(inv->checkout_url));
	inv->expires_at = json_is_integer(exp) ? json_integer_value(exp) : 0;
	return inv->id[0] != '\0' && inv->status[0] != '\0' ? TALLY_OK :
	    TALLY_E_PROVIDER;
}

/* The BOLT11 of the invoice's Lightning payment method. */
static int
read_bolt11(const struct core_config *cfg, struct net_btcpay_invoice *inv,
    char *err, size_t errsz)
{
	struct net_response r;
	const json_t	*m;
	const char	*pmid, *dest;
	char		 path[400];
	size_t		 i;
	int		 rc;

	snprintf(path, sizeof(path), "/invoices/%s/payment-methods", inv->id);
	if ((rc = call(cfg, "GET", path, NULL, &r, err, errsz)) != TALLY_OK)
		return rc;
	rc = TALLY_E_PROVIDER;
	snprintf(err, errsz, "the invoice offers no Lightning payment");
	if (r.status == 200 && json_is_array(r.json))
		json_array_foreach(r.json, i, m) {
			pmid = json_string_value(json_object_get(m,
			    "paymentMethodId"));
			dest = json_string_value(json_object_get(m,
			    "destination"));
			/* "BTC-LN" (2.x) or "BTC-LightningNetwork" (1.x). */
			if (pmid == NULL || dest == NULL ||
			    (strcmp(pmid, "BTC-LN") != 0 &&
			    strcmp(pmid, "BTC-LightningNetwork") != 0))
				continue;
			snprintf(inv->bolt11, sizeof(inv->bolt11), "%s", dest);
			rc = TALLY_OK;
			break;
		}
	json_decref(r.json);
	return rc;
}

int
net_btcpay_create(const struct core_config *cfg, int64_t amount,
    const char *subject_type, int64_t subject_id, int64_t minutes,
    struct net_btcpay_invoice *inv, char *err, size_t errsz)
{
	struct net_response r;
	json_t		*req;
	char		 dec[40], order[64], sid[24];
	char		*body;
	int		 rc;

	memset(inv, 0, sizeof(*inv));
	core_money_format(amount, cfg->currency, dec, sizeof(dec));
	snprintf(order, sizeof(order), "tally-%s-%lld", subject_type,
	    (long long)subject_id);
	snprintf(sid, sizeof(sid), "%lld", (long long)subject_id);
	req = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:{s:I}}", "amount", dec,
	    "currency", cfg->currency, "metadata", "orderId", order,
	    "tallySubject", subject_type, "tallyId", sid, "checkout",
	    "expirationMinutes", (json_int_t)minutes);
	body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (body == NULL)
		return TALLY_E_NOMEM;
	rc = call(cfg, "POST", "/invoices", body, &r, err, errsz);
	free(body);
	if (rc != TALLY_OK)
		return rc;
	if (r.status != 200 || parse_invoice(r.json, inv) != TALLY_OK) {
		snprintf(err, errsz, "BTCPay answered %ld to the invoice",
		    r.status);
		json_decref(r.json);
		return TALLY_E_PROVIDER;
	}
	json_decref(r.json);
	return read_bolt11(cfg, inv, err, errsz);
}

int
net_btcpay_get(const struct core_config *cfg, const char *id,
    struct net_btcpay_invoice *inv, char *err, size_t errsz)
{
	struct net_response r;
	char		 path[400];
	int		 rc;

	memset(inv, 0, sizeof(*inv));
	snprintf(path, sizeof(path), "/invoices/%s", id);
	if ((rc = call(cfg, "GET", path, NULL, &r, err, errsz)) != TALLY_OK)
		return rc;
	if (r.status == 404)
		rc = TALLY_E_NOTFOUND;
	else if (r.status != 200 || parse_invoice(r.json, inv) != TALLY_OK) {
		snprintf(err, errsz, "BTCPay answered %ld", r.status);
		rc = TALLY_E_PROVIDER;
	}
	json_decref(r.json);
	return rc;
}
