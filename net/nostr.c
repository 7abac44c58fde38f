/* Nostr relays over WebSocket with libwebsockets: one context and one
 * connection per exchange, serviced in the caller's thread until a
 * deadline.  Messages are NIP-01 JSON arrays. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "core/nostr.h"
#include "core/result.h"
#include "net/nostr.h"

/* A message bigger than this is not a NIP-47 answer. */
#define MSG_MAX		(256 * 1024)
/* Messages waiting to be read, at most. */
#define QUEUE_MAX	64
#define SUB_ID		"tally-nwc"

struct msg {
	struct msg	*next;
	size_t		 len;
	char		 text[];
};

enum state {
	ST_CONNECTING,
	ST_OPEN,
	ST_FAILED,
	ST_CLOSED
};

struct net_relay {
	struct lws_context *ctx;
	struct lws	*wsi;
	enum state	 state;
	char		 why[200];
	/* The frame being assembled. */
	char		*rx;
	size_t		 rxlen;
	int		 overflow;
	/* Complete messages, oldest first. */
	struct msg	*head, *tail;
	size_t		 queued;
	/* The one message being sent (LWS_PRE bytes of room ahead). */
	unsigned char	*tx;
	size_t		 txlen;
};

int64_t
net_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
fail(struct net_relay *r, const char *why, const void *in, size_t len)
{
	if (r->state == ST_FAILED)
		return;
	r->state = ST_FAILED;
	if (in != NULL && len > 0)
		snprintf(r->why, sizeof(r->why), "%s: %.*s", why,
		    (int)(len > 120 ? 120 : len), (const char *)in);
	else
		snprintf(r->why, sizeof(r->why), "%s", why);
}

static void
receive(struct net_relay *r, struct lws *wsi, const void *in, size_t len)
{
	struct msg	*m;
	char		*n;

	if (r->overflow || r->rxlen + len > MSG_MAX) {
		r->overflow = 1;
	} else if ((n = realloc(r->rx, r->rxlen + len + 1)) == NULL) {
		r->overflow = 1;
	} else {
		r->rx = n;
		memcpy(r->rx + r->rxlen, in, len);
		r->rxlen += len;
	}
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) >
	    0)
		return;
	if (r->overflow || r->queued >= QUEUE_MAX) {
		fail(r, "the relay sent more than a wallet answer needs",
		    NULL, 0);
	} else if ((m = malloc(sizeof(*m) + r->rxlen + 1)) != NULL) {
		memcpy(m->text, r->rx, r->rxlen);
		m->text[r->rxlen] = '\0';
		m->len = r->rxlen;
		m->next = NULL;
		if (r->tail != NULL)
			r->tail->next = m;
		else
			r->head = m;
		r->tail = m;
		r->queued++;
	}
	free(r->rx);
	r->rx = NULL;
	r->rxlen = 0;
	r->overflow = 0;
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct net_relay *r = lws_get_opaque_user_data(wsi);

	(void)user;
	if (r == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		r->state = ST_OPEN;
		if (r->tx != NULL)
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fail(r, "cannot reach the relay", in, in != NULL ?
		    strlen(in) : 0);
		r->wsi = NULL;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		receive(r, wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (r->tx == NULL)
			break;
		if (lws_write(wsi, r->tx + LWS_PRE, r->txlen, LWS_WRITE_TEXT) <
		    (int)r->txlen) {
			fail(r, "cannot write to the relay", NULL, 0);
			return -1;
		}
		free(r->tx);
		r->tx = NULL;
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (r->state != ST_FAILED) {
			r->state = ST_CLOSED;
			snprintf(r->why, sizeof(r->why), "the relay closed "
			    "the connection");
		}
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (r->state == ST_CONNECTING || r->state == ST_OPEN) {
			r->state = ST_CLOSED;
			snprintf(r->why, sizeof(r->why), "the relay closed "
			    "the connection");
		}
		r->wsi = NULL;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "tally-nostr", callback, 0, MSG_MAX, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* Service the connection for at most until deadline_ms. */
static void
service(struct net_relay *r, int64_t deadline_ms)
{
	int64_t	 left = deadline_ms - net_now_ms();

	if (left <= 0)
		return;
	/* lws_service's timeout is a hint; it returns on any event. */
	lws_service(r->ctx, (int)(left > 100 ? 100 : left));
}

int
net_relay_open(const char *url, int64_t deadline_ms, struct net_relay **out,
    char *err, size_t errsz)
{
	struct lws_context_creation_info info;
	struct lws_client_connect_info ci;
	struct net_relay *r;
	const char	*prot, *ads, *path;
	char		 buf[1100], p[1100];
	int		 port;

	*out = NULL;
	if (strlen(url) >= sizeof(buf)) {
		snprintf(err, errsz, "the relay URL is too long");
		return TALLY_E_IO;
	}
	snprintf(buf, sizeof(buf), "%s", url);
	if (lws_parse_uri(buf, &prot, &ads, &port, &path) != 0 ||
	    (strcmp(prot, "ws") != 0 && strcmp(prot, "wss") != 0) ||
	    *ads == '\0') {
		snprintf(err, errsz, "the relay URL is not ws:// or wss://");
		return TALLY_E_IO;
	}
	snprintf(p, sizeof(p), "/%s", path);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return TALLY_E_NOMEM;
	/* lws would log to stderr in its own format: only ours is wanted. */
	lws_set_log_level(0, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if ((r->ctx = lws_create_context(&info)) == NULL) {
		free(r);
		snprintf(err, errsz, "cannot start the WebSocket client");
		return TALLY_E_IO;
	}
	memset(&ci, 0, sizeof(ci));
	ci.context = r->ctx;
	ci.address = ads;
	ci.port = port;
	ci.path = p;
	ci.host = ads;
	ci.origin = ads;
	ci.ssl_connection = strcmp(prot, "wss") == 0 ? LCCSCF_USE_SSL : 0;
	ci.protocol = NULL;
	ci.local_protocol_name = protocols[0].name;
	ci.opaque_user_data = r;
	ci.pwsi = &r->wsi;
	r->state = ST_CONNECTING;
	if (lws_client_connect_via_info(&ci) == NULL &&
	    r->state == ST_CONNECTING)
		fail(r, "cannot reach the relay", NULL, 0);
	while (r->state == ST_CONNECTING && net_now_ms() < deadline_ms)
		service(r, deadline_ms);
	if (r->state != ST_OPEN) {
		snprintf(err, errsz, "%s", r->state == ST_CONNECTING ?
		    "the relay did not answer in time" : r->why);
		net_relay_close(r);
		return TALLY_E_IO;
	}
	*out = r;
	return TALLY_OK;
}

int
net_relay_send(struct net_relay *r, const json_t *msg, int64_t deadline_ms,
    char *err, size_t errsz)
{
	char	*text;
	size_t	 n;

	if ((text = json_dumps(msg, JSON_COMPACT)) == NULL)
		return TALLY_E_NOMEM;
	n = strlen(text);
	free(r->tx);
	if ((r->tx = malloc(LWS_PRE + n)) == NULL) {
		free(text);
		return TALLY_E_NOMEM;
	}
	memcpy(r->tx + LWS_PRE, text, n);
	r->txlen = n;
	free(text);
	if (r->wsi != NULL)
		lws_callback_on_writable(r->wsi);
	while (r->tx != NULL && r->state == ST_OPEN &&
	    net_now_ms() < deadline_ms)
		service(r, deadline_ms);
	if (r->tx == NULL)
		return TALLY_OK;
	snprintf(err, errsz, "%s", r->state != ST_OPEN ? r->why :
	    "the relay did not take the message in time");
	return TALLY_E_IO;
}

int
net_relay_recv(struct net_relay *r, int64_t deadline_ms, json_t **out,
    char *err, size_t errsz)
{
	struct msg	*m;
	json_t		*j;

	*out = NULL;
	while (r->head == NULL && r->state == ST_OPEN &&
	    net_now_ms() < deadline_ms)
		service(r, deadline_ms);
	if ((m = r->head) == NULL) {
		if (r->state == ST_OPEN)
			return TALLY_OK;	/* the deadline passed */
		snprintf(err, errsz, "%s", r->why);
		return r->state == ST_FAILED && strncmp(r->why, "the relay sent",
		    14) == 0 ? TALLY_E_PROVIDER : TALLY_E_IO;
	}
	r->head = m->next;
	if (r->head == NULL)
		r->tail = NULL;
	r->queued--;
	j = json_loadb(m->text, m->len, 0, NULL);
	free(m);
	if (!json_is_array(j) || !json_is_string(json_array_get(j, 0))) {
		json_decref(j);
		snprintf(err, errsz, "the relay sent something that is not a "
		    "Nostr message");
		return TALLY_E_PROVIDER;
	}
	*out = j;
	return TALLY_OK;
}

void
net_relay_close(struct net_relay *r)
{
	struct msg	*m;

	if (r == NULL)
		return;
	/* Destroying the context closes the connection with it. */
	if (r->ctx != NULL)
		lws_context_destroy(r->ctx);
	while ((m = r->head) != NULL) {
		r->head = m->next;
		free(m);
	}
	free(r->rx);
	free(r->tx);
	free(r);
}

/* The type of a relay message ("EVENT", "EOSE", "OK", ...). */
static const char *
msg_type(const json_t *m)
{
	return json_string_value(json_array_get(m, 0));
}

int
net_nwc_info(struct net_relay *r, const char *wallet, int64_t deadline_ms,
    json_t **info, char *err, size_t errsz)
{
	json_t		*req, *m = NULL, *ev;
	const char	*t, *sid;
	int		 rc;

	*info = NULL;
	req = json_pack("[s,s,{s:[i],s:[s],s:i}]", "REQ", SUB_ID "-info",
	    "kinds", NOSTR_KIND_NWC_INFO, "authors", wallet, "limit", 1);
	if (req == NULL)
		return TALLY_E_NOMEM;
	rc = net_relay_send(r, req, deadline_ms, err, errsz);
	json_decref(req);
	while (rc == TALLY_OK) {
		if ((rc = net_relay_recv(r, deadline_ms, &m, err, errsz)) !=
		    TALLY_OK || m == NULL)
			break;
		t = msg_type(m);
		sid = json_string_value(json_array_get(m, 1));
		if (sid != NULL && strcmp(sid, SUB_ID "-info") == 0 &&
		    strcmp(t, "EVENT") == 0) {
			ev = json_array_get(m, 2);
			/* Only the wallet's own, signed info counts. */
			if (*info == NULL && json_is_object(ev) &&
			    json_integer_value(json_object_get(ev, "kind")) ==
			    NOSTR_KIND_NWC_INFO && json_string_value(
			    json_object_get(ev, "pubkey")) != NULL &&
			    strcmp(json_string_value(json_object_get(ev,
			    "pubkey")), wallet) == 0 &&
			    core_nostr_event_check(ev) == TALLY_OK)
				*info = json_incref(ev);
		} else if (sid != NULL && strcmp(sid, SUB_ID "-info") == 0 &&
		    (strcmp(t, "EOSE") == 0 || strcmp(t, "CLOSED") == 0)) {
			json_decref(m);
			break;
		}
		json_decref(m);
		m = NULL;
	}
	if (rc == TALLY_OK) {
		req = json_pack("[s,s]", "CLOSE", SUB_ID "-info");
		if (req != NULL)
			rc = net_relay_send(r, req, deadline_ms, err, errsz);
		json_decref(req);
	}
	return rc;
}

int
net_nwc_exchange(struct net_relay *r, const struct core_nwc *c,
    const json_t *request, int64_t deadline_ms, int *answered,
    struct core_nwc_result *res, char *err, size_t errsz)
{
	json_t		*msg, *m = NULL;
	const char	*id = json_string_value(json_object_get(request, "id"));
	const char	*t, *sid;
	int		 rc;

	*answered = 0;
	memset(res, 0, sizeof(*res));
	/* Listen first, so that a quick answer is not missed. */
	msg = json_pack("[s,s,{s:[i],s:[s],s:[s],s:[s]}]", "REQ", SUB_ID,
	    "kinds", NOSTR_KIND_NWC_RESPONSE, "authors", c->wallet, "#e", id,
	    "#p", c->pubkey);
	if (msg == NULL)
		return TALLY_E_NOMEM;
	rc = net_relay_send(r, msg, deadline_ms, err, errsz);
	json_decref(msg);
	if (rc != TALLY_OK)
		return rc;
	if ((msg = json_pack("[s,O]", "EVENT", request)) == NULL)
		return TALLY_E_NOMEM;
	rc = net_relay_send(r, msg, deadline_ms, err, errsz);
	json_decref(msg);
	while (rc == TALLY_OK && !*answered) {
		if ((rc = net_relay_recv(r, deadline_ms, &m, err, errsz)) !=
		    TALLY_OK || m == NULL)
			break;
		t = msg_type(m);
		sid = json_string_value(json_array_get(m, 1));
		if (strcmp(t, "OK") == 0 && sid != NULL && strcmp(sid, id) ==
		    0 && json_is_false(json_array_get(m, 2))) {
			/* A relay that already has the event (a re-run sends
			 * the same one) says "duplicate:" and still
			 * delivers it: only other refusals end the wait. */
			const char *why = json_string_value(json_array_get(m,
			    3));

			if (why == NULL || strncmp(why, "duplicate:", 10) != 0) {
				snprintf(err, errsz, "the relay refused the "
				    "request: %.200s", why != NULL ? why : "");
				rc = TALLY_E_PROVIDER;
			}
		} else if (strcmp(t, "EVENT") == 0 && sid != NULL &&
		    strcmp(sid, SUB_ID) == 0 && json_is_object(json_array_get(m,
		    2))) {
			int vr = core_nwc_read_response(c, json_array_get(m, 2),
			    id, res);

			/* A forged or unreadable answer is ignored: the
			 * wallet's real one may still come. */
			if (vr == TALLY_OK)
				*answered = 1;
		} else if (strcmp(t, "CLOSED") == 0 && sid != NULL &&
		    strcmp(sid, SUB_ID) == 0) {
			snprintf(err, errsz, "the relay closed the subscription: "
			    "%.200s", json_string_value(json_array_get(m, 2)) !=
			    NULL ? json_string_value(json_array_get(m, 2)) : "");
			rc = TALLY_E_PROVIDER;
		}
		json_decref(m);
		m = NULL;
	}
	return rc;
}
