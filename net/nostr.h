/* A Nostr relay client over WebSocket (libwebsockets) and the NIP-47
 * exchange on it: the wallet's info event, pay_invoice and its answer. */
#ifndef NET_NOSTR_H
#define NET_NOSTR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/nostr.h"

struct net_relay;

/* Milliseconds on a monotonic clock, for deadlines. */
int64_t	 net_now_ms(void);

/*
 * Connect to the relay url (ws:// or wss://, certificates checked against
 * the system's CAs) before deadline_ms.  TALLY_OK (OUT: *r, close it with
 * net_relay_close) or TALLY_E_IO (err says why; never the URL's query).
 */
int	 net_relay_open(const char *url, int64_t deadline_ms,
	    struct net_relay **r, char *err, size_t errsz);
/* Send one message (a JSON array) as a text frame. */
int	 net_relay_send(struct net_relay *, const json_t *msg,
	    int64_t deadline_ms, char *err, size_t errsz);
/*
 * The next message from the relay: TALLY_OK with *msg a JSON array
 * (json_decref), or *msg NULL when deadline_ms passed first;
 * TALLY_E_IO when the connection failed or closed, TALLY_E_PROVIDER when
 * the relay sent something that is not a Nostr message (err says which).
 */
int	 net_relay_recv(struct net_relay *, int64_t deadline_ms, json_t **msg,
	    char *err, size_t errsz);
void	 net_relay_close(struct net_relay *);

/*
 * The wallet's info event (kind 13194 by wallet), or *info NULL when the
 * relay has none before its EOSE or the deadline.
 */
int	 net_nwc_info(struct net_relay *, const char *wallet,
	    int64_t deadline_ms, json_t **info, char *err, size_t errsz);

/*
 * Subscribe for the answer to request (kinds 23195, #e its id, #p our
 * key), publish it, and wait for the answer until deadline_ms.
 * TALLY_OK with *answered set and *r filled, or *answered 0 on timeout;
 * TALLY_E_IO / TALLY_E_PROVIDER as net_relay_recv, and TALLY_E_PROVIDER
 * when the relay refuses the event (err has its reason).
 */
int	 net_nwc_exchange(struct net_relay *, const struct core_nwc *c,
	    const json_t *request, int64_t deadline_ms, int *answered,
	    struct core_nwc_result *r, char *err, size_t errsz);

#endif
