/* Queries of the outbound event deliveries (migration 0010). */
#ifndef DB_EVENT_H
#define DB_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct db;

/* Which table an event's data is read from. */
enum db_event_src {
	DB_EVSRC_SUB,		/* subscriptions */
	DB_EVSRC_INVOICE,	/* invoices */
	DB_EVSRC_PURCHASE,	/* purchases */
	DB_EVSRC_GIFT,		/* gifts (the redeemer's event) */
	DB_EVSRC_PAYMENT,	/* payments by reference */
	DB_EVSRC_LEDGER,	/* ledger rows by effect key */
	DB_EVSRC__MAX
};

/*
 * In the caller's transaction, the event type (its name) of each object
 * of objs_json (a JSON array: ids; effect keys for DB_EVSRC_LEDGER,
 * references for DB_EVSRC_PAYMENT),
 * one delivery per endpoint of hooks_json (a JSON array of names), in the
 * array's order.  The data is read from the rows as the transaction sees
 * them now; event ids are derived from nonce (random, per call) and the
 * position.  OUT: *n deliveries written.
 */
int	 db_event_insert(struct db *, enum db_event_src, const char *type,
	    const char *objs_json, const char *hooks_json, const char *nonce,
	    int64_t now, uint64_t *n);
/*
 * The subscription.canceled / .expired events of the subscriptions of
 * product that db_sub_end_due() is about to end, their rows locked (call
 * it first in the same transaction): canceled for those set to end at
 * period end when cancel is 1, the others when 0.
 */
int	 db_event_sub_end_due(struct db *, const char *product, int cancel,
	    const char *type, const char *hooks_json, const char *nonce,
	    int64_t now);
/* The invoice.expired events of the invoices db_invoice_expire_due() is
 * about to expire, their rows locked (call it first, same transaction). */
int	 db_event_invoice_expire_due(struct db *, const char *type,
	    const char *hooks_json, const char *nonce, int64_t now);

/* Make endpoint's lock row if missing (outside a transaction). */
int	 db_event_endpoint_ensure(struct db *, const char *endpoint,
	    int64_t now);
/*
 * In a transaction: lock endpoint's row unless another deliverer holds
 * it.  TALLY_OK, or TALLY_E_CONFLICT (held elsewhere, or no row).
 */
int	 db_event_endpoint_lock(struct db *, const char *endpoint);
/* The endpoint's oldest pending delivery (TALLY_E_NOTFOUND: none).
 * OUT: *d. */
int	 db_event_head(struct db *, const char *endpoint,
	    struct db_delivery *d);
/* Record an attempt that the receiver answered 2xx. */
int	 db_event_delivered(struct db *, int64_t id, int64_t http_status,
	    int64_t now);
/* Record a failed attempt (http_status 0: no answer); try again at
 * next_at, or give up (final). */
int	 db_event_failed(struct db *, int64_t id, int64_t attempts,
	    int64_t http_status, const char *error, int64_t next_at,
	    int final, int64_t now);

/*
 * Deliveries with id < before (0: from the newest), newest first, of
 * endpoint and status when not NULL/empty.  OUT: rows[0..*n).
 */
int	 db_event_list(struct db *, const char *endpoint, const char *status,
	    int64_t before, size_t max, struct db_delivery *rows, size_t *n);
int	 db_event_get(struct db *, int64_t id, struct db_delivery *d);
/* A new pending delivery of delivery id's event to the same endpoint, at
 * the end of its queue.  OUT: *new_id. */
int	 db_event_resend(struct db *, int64_t id, int64_t now,
	    int64_t *new_id);

#endif
