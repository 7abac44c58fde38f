/* Outbound events: their types, the endpoints' signature, the retry
 * schedule (no I/O). */
#ifndef CORE_EVENT_H
#define CORE_EVENT_H

#include <stddef.h>
#include <stdint.h>

struct core_config;

/* Event types; the names are the API's (core_event_name). */
enum core_event {
	CORE_EV_CREDITS_DEBITED,
	CORE_EV_CREDITS_ADDED,
	CORE_EV_PURCHASE_COMPLETED,
	CORE_EV_SUB_ACTIVATED,
	CORE_EV_SUB_RENEWED,
	CORE_EV_SUB_PAUSED,
	CORE_EV_SUB_CANCELED,
	CORE_EV_SUB_EXPIRED,
	CORE_EV_INVOICE_CREATED,
	CORE_EV_INVOICE_PAID,
	CORE_EV_INVOICE_EXPIRED,
	CORE_EV_GIFT_REDEEMED,
	CORE_EV_PAYMENT_FAILED,
	CORE_EV__MAX
};

/* A delivery is retried until this long after it was queued. */
#define CORE_EVENT_RETRY_WINDOW	(3 * 86400)
/* Seconds a receiver may take to answer. */
#define CORE_EVENT_TIMEOUT	10

/* "credits.debited" ...; "" for an unknown type. */
const char	*core_event_name(int type);
/* The type of a name, or -1. */
int		 core_event_parse(const char *name);

/*
 * Parse an endpoint's comma-separated list of event names ("*": all)
 * into a bit mask (bit 1 << type).  TALLY_OK, or TALLY_E_INVALID with the
 * offending name (at most badsz - 1 bytes) in bad.
 */
int		 core_event_parse_list(const char *list, uint32_t *mask,
		    char *bad, size_t badsz);

/*
 * Whether url may receive events: https://HOST..., or plain http:// only
 * to the loopback (127.0.0.1, localhost, [::1]), where nothing crosses a
 * network.
 */
int		 core_event_url_ok(const char *url);

/*
 * The endpoints that subscribe to type, as a JSON array of their names
 * (computed once when the configuration is read), or NULL when none does:
 * then nothing about the event is written.
 */
const char	*core_event_hooks(const struct core_config *, int type);

/*
 * The Tally-Signature header value for body sent at unix time t:
 * "t=T,v1=HEX" with HEX = HMAC-SHA256(secret, "T." + body), as Stripe
 * signs.  OUT: out (at least 96 bytes).
 */
void		 core_event_signature(const char *secret, int64_t t,
		    const char *body, size_t len, char *out, size_t outsz);

/*
 * When to try a delivery again after its attempts-th failed attempt
 * (attempts >= 1): 30 s doubling each time, at most 6 h apart (30 s,
 * 1 min, 2 min, ... 4.3 h, then every 6 h).  *at is now plus that delay;
 * the result is 0 when *at would fall after queued_at +
 * CORE_EVENT_RETRY_WINDOW (then the delivery has failed for good), else 1.
 */
int		 core_event_next_attempt(int64_t attempts, int64_t queued_at,
		    int64_t now, int64_t *at);

#endif
