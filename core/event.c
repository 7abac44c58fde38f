/* Event types, the endpoints' signature and the retry schedule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "event.h"
#include "result.h"
#include "signature.h"

static const char *const names[CORE_EV__MAX] = {
	[CORE_EV_CREDITS_DEBITED] = "credits.debited",
	[CORE_EV_CREDITS_ADDED] = "credits.added",
	[CORE_EV_PURCHASE_COMPLETED] = "purchase.completed",
	[CORE_EV_SUB_ACTIVATED] = "subscription.activated",
	[CORE_EV_SUB_RENEWED] = "subscription.renewed",
	[CORE_EV_SUB_PAUSED] = "subscription.paused",
	[CORE_EV_SUB_CANCELED] = "subscription.canceled",
	[CORE_EV_SUB_EXPIRED] = "subscription.expired",
	[CORE_EV_INVOICE_CREATED] = "invoice.created",
	[CORE_EV_INVOICE_PAID] = "invoice.paid",
	[CORE_EV_INVOICE_EXPIRED] = "invoice.expired",
	[CORE_EV_GIFT_REDEEMED] = "gift.redeemed",
	[CORE_EV_PAYMENT_FAILED] = "payment.failed",
};

#define BACKOFF_FIRST	30
#define BACKOFF_MAX	(6 * 3600)

const char *
core_event_name(int type)
{
	return type >= 0 && type < CORE_EV__MAX ? names[type] : "";
}

int
core_event_parse(const char *name)
{
	int	 i;

	for (i = 0; i < CORE_EV__MAX; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

int
core_event_parse_list(const char *list, uint32_t *mask, char *bad,
    size_t badsz)
{
	const char	*p = list, *e, *end;
	char		 name[64];
	size_t		 n;
	int		 t;

	*mask = 0;
	if (badsz > 0)
		bad[0] = '\0';
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if ((e = strchr(p, ',')) == NULL)
			e = p + strlen(p);
		end = e;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		n = (size_t)(end - p);
		if (n == 0 || n >= sizeof(name)) {
			snprintf(bad, badsz, "%.*s", (int)(n < 40 ? n : 40), p);
			return TALLY_E_INVALID;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (strcmp(name, "*") == 0)
			*mask |= (1u << CORE_EV__MAX) - 1;
		else if ((t = core_event_parse(name)) >= 0)
			*mask |= 1u << t;
		else {
			snprintf(bad, badsz, "%s", name);
			return TALLY_E_INVALID;
		}
		if (*e == '\0')
			return TALLY_OK;
		p = e + 1;
	}
}

int
core_event_url_ok(const char *url)
{
	static const char *const loop[] = { "127.0.0.1", "localhost",
	    "[::1]" };
	const char	*h;
	size_t		 i, n;

	if (strncasecmp(url, "https://", 8) == 0)
		return url[8] != '\0' && url[8] != '/' && url[8] != ':';
	if (strncasecmp(url, "http://", 7) != 0)
		return 0;
	h = url + 7;
	for (i = 0; i < sizeof(loop) / sizeof(loop[0]); i++) {
		n = strlen(loop[i]);
		if (strncasecmp(h, loop[i], n) == 0 &&
		    (h[n] == '\0' || h[n] == ':' || h[n] == '/'))
			return 1;
	}
	return 0;
}

const char *
core_event_hooks(const struct core_config *cfg, int type)
{
	if (cfg == NULL || type < 0 || type >= CORE_EV__MAX ||
	    cfg->event_hooks[type][0] == '\0')
		return NULL;
	return cfg->event_hooks[type];
}

void
core_event_signature(const char *secret, int64_t t, const char *body,
    size_t len, char *out, size_t outsz)
{
	char	 hex[65], ts[24];
	char	*msg;
	size_t	 tl;

	tl = (size_t)snprintf(ts, sizeof(ts), "%lld.", (long long)t);
	if ((msg = malloc(tl + len + 1)) == NULL) {
		/* No valid signature: the receiver rejects it, we retry. */
		snprintf(out, outsz, "t=%lld,v1=", (long long)t);
		return;
	}
	memcpy(msg, ts, tl);
	memcpy(msg + tl, body, len);
	core_hmac_sha256_hex(secret, msg, tl + len, hex);
	free(msg);
	snprintf(out, outsz, "t=%lld,v1=%s", (long long)t, hex);
}

int
core_event_next_attempt(int64_t attempts, int64_t queued_at, int64_t now,
    int64_t *at)
{
	int64_t	 delay = BACKOFF_MAX;

	if (attempts < 1)
		attempts = 1;
	/* 30 << 9 is 15360 s, the last step below the 6 h cap. */
	if (attempts <= 10)
		delay = (int64_t)BACKOFF_FIRST << (attempts - 1);
	if (delay > BACKOFF_MAX)
		delay = BACKOFF_MAX;
	*at = now + delay;
	return *at <= queued_at + CORE_EVENT_RETRY_WINDOW;
}
