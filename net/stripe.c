/* Stripe: Bearer key, form bodies, idempotency keys, API version. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/config.h"
#include "core/result.h"
#include "net/http.h"
#include "net/stripe.h"

void
net_stripe_error_text(const json_t *obj, char *buf, size_t bufsz)
{
	const json_t	*e = json_object_get(obj, "error");
	const char	*code, *msg;

	code = json_string_value(json_object_get(e, "code"));
	msg = json_string_value(json_object_get(e, "message"));
	if (code == NULL)
		code = json_string_value(json_object_get(e, "type"));
	snprintf(buf, bufsz, "%s%s%s", code != NULL ? code : "error",
	    msg != NULL ? ": " : "", msg != NULL ? msg : "");
}

int
net_stripe_call(const struct core_config *cfg, const char *path,
    const struct core_form *form, const char *idem, json_t **obj,
    long *status, char *err, size_t errsz)
{
	struct net_response r;
	const char	*hdrs[6];
	char		 url[512], auth[300], key[300];
	size_t		 n = 0;
	int		 rc;

	*obj = NULL;
	*status = 0;
	if (cfg->stripe_secret_key[0] == '\0') {
		snprintf(err, errsz, "stripe.secret_key is not set");
		return TALLY_E_PROVIDER;
	}
	if (form != NULL && core_form_ok(form) != TALLY_OK) {
		snprintf(err, errsz, "request too large");
		return TALLY_E_INTERNAL;
	}
	snprintf(url, sizeof(url), "%s%s", cfg->stripe_api_base, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    cfg->stripe_secret_key);
	hdrs[n++] = auth;
	hdrs[n++] = "Stripe-Version: " NET_STRIPE_VERSION;
	if (form != NULL) {
		hdrs[n++] = "Content-Type: application/x-www-form-urlencoded";
		if (idem != NULL) {
			snprintf(key, sizeof(key), "Idempotency-Key: %s", idem);
			hdrs[n++] = key;
		}
	}
	hdrs[n] = NULL;
	rc = net_http_json(form != NULL ? "POST" : "GET", url, hdrs,
	    form != NULL ? form->buf : NULL, &r, err, errsz);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (rc != TALLY_OK)
		return rc;
	*status = r.status;
	*obj = r.json;
	if (r.status >= 200 && r.status < 300)
		return TALLY_OK;
	net_stripe_error_text(r.json, err, errsz);
	if (r.status >= 500 || r.status == 429 || r.status == 401)
		return TALLY_E_PROVIDER;
	return TALLY_E_INVALID;
}
