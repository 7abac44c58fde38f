/* Outbound events: written with the changes they report (an outbox),
 * delivered signed to the [webhook.NAME] endpoints by the scheduler. */
#ifndef CORE_OP_EVENT_H
#define CORE_OP_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/event.h"
#include "core/model.h"

struct db;

/*
 * In the caller's transaction: event type (enum core_event) about object
 * id, one delivery per endpoint that wants the type, its data read from
 * the object's row as the transaction sees it (a subscription, invoice,
 * purchase or gift row, by the type).  When no endpoint wants
 * the type nothing is sent to the database.  The credits.* events are
 * written by the balance routines themselves (db/db_wallet.c).
 */
int	 op_event_tx(struct db *, int type, int64_t id, int64_t now);
/* The same for n objects at once, in one statement, in their order. */
int	 op_event_many_tx(struct db *, int type, const int64_t *ids,
	    size_t n, int64_t now);
/* payment.failed for the payments row with reference ref. */
int	 op_event_payment_tx(struct db *, int type, const char *ref,
	    int64_t now);
/* Whether some endpoint wants type (to skip building a batch's list). */
int	 op_event_wanted(struct db *, int type);
/* A batch's credits.* events, by the ledger rows' effect keys (a JSON
 * array of strings), in one statement. */
int	 op_event_ledger_keys_tx(struct db *, int type, const char *keys_json,
	    int64_t now);
/* The events of the set-based endings: call before db_sub_end_due() /
 * db_invoice_expire_due() in the same transaction (they lock the rows). */
int	 op_event_sub_end_due_tx(struct db *, const char *product, int64_t now);
int	 op_event_invoice_expire_due_tx(struct db *, int64_t now);

struct op_event_counts {
	int64_t	 delivered, retried, failed, busy;
};

/*
 * Deliver due events to every configured endpoint, each endpoint's in
 * order, one at a time: its oldest pending delivery is sent while its
 * lock row is held (SKIP LOCKED: an endpoint another scheduler is
 * sending to is skipped, counted in busy); a later one waits while an
 * earlier one is retried.  A 2xx answer within CORE_EVENT_TIMEOUT marks
 * it delivered; anything else is retried (core_event_next_attempt) until
 * CORE_EVENT_RETRY_WINDOW after it was queued, then failed.  At most max
 * deliveries per endpoint; stop (may be NULL) is polled between them.
 */
int	 op_event_deliver(struct db *, const struct core_config *,
	    int64_t now, int64_t max, volatile int *stop,
	    struct op_event_counts *);

/* Admin: deliveries newest first, filtered (NULL/empty: any).
 * OUT: rows[0..*n). */
int	 op_event_list(struct db *, const char *endpoint, const char *status,
	    int64_t before, size_t max, struct db_delivery *rows, size_t *n);
/*
 * Admin, in the caller's transaction: deliver delivery id's event again,
 * as a new delivery at the end of its endpoint's queue, with an audit row
 * (action webhook.resend) naming actor.  TALLY_E_NOTFOUND;
 * TALLY_E_CONFLICT when it is still pending or its endpoint is no longer
 * configured.  OUT: *out (the new delivery).
 */
int	 op_event_resend_tx(struct db *, const struct core_config *,
	    int64_t id, const char *actor, int64_t now,
	    struct db_delivery *out);

#endif
