/* The Stripe API client: form-encoded requests, JSON answers. */
#ifndef NET_STRIPE_H
#define NET_STRIPE_H

#include <stddef.h>

#include <jansson.h>

#include "core/form.h"

struct core_config;

/* The API version tally's requests and its webhook parsing follow. */
#define NET_STRIPE_VERSION	"2024-06-20"

/*
 * POST form to stripe.api_base + path (e.g. "/v1/checkout/sessions") with
 * Idempotency-Key idem (derived from our own ids), or GET when form is
 * NULL.  On a 2xx, TALLY_OK and *obj (json_decref it).  A 4xx answer is
 * TALLY_E_INVALID with Stripe's error object in *obj (may be NULL) and its
 * message in err; no answer, a timeout or a 5xx is TALLY_E_PROVIDER.  The
 * secret key never appears in err.
 */
int	 net_stripe_call(const struct core_config *, const char *path,
	    const struct core_form *form, const char *idem, json_t **obj,
	    long *status, char *err, size_t errsz);

/* "code: message" of a Stripe error object (its "error" member). */
void	 net_stripe_error_text(const json_t *obj, char *buf, size_t bufsz);

#endif
