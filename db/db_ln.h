/* Queries of lightning_payments (BTCPay invoices for our subjects). */
#ifndef DB_LN_H
#define DB_LN_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct db;

int	 db_ln_insert(struct db *, const struct db_ln *, int64_t now);
/* The newest payment of a subject, FOR UPDATE.  TALLY_E_NOTFOUND. */
int	 db_ln_latest(struct db *, const char *type, int64_t id,
	    struct db_ln *);
/* By BTCPay invoice id; db_ln_lock takes it FOR UPDATE. */
int	 db_ln_get(struct db *, const char *btcpay_invoice, struct db_ln *);
int	 db_ln_lock(struct db *, const char *btcpay_invoice, struct db_ln *);
int	 db_ln_set_status(struct db *, const char *btcpay_invoice,
	    const char *status);
/* Open ('new') payments created before before, oldest first, after the
 * cursor (after_t, after_id); start with (0, ""). */
int	 db_ln_open(struct db *, int64_t before, int64_t after_t,
	    const char *after_id, size_t max, struct db_ln *, size_t *n);

/* A Lightning auto-pay (NWC) attempt of an invoice (nwc_attempts). */
struct db_nwc {
	int64_t	 invoice_id;
	int64_t	 account_id;
	char	 btcpay_invoice[256];
	char	 request_id[65];
	char	 request_event[16384];	/* "" until the event is stored */
	char	 status[16];
	char	 message[501];
};

/* The invoice's attempt; TALLY_E_DUPLICATE when it has one already. */
int	 db_nwc_insert(struct db *, int64_t invoice_id, int64_t account_id,
	    const char *btcpay_invoice, int64_t now);
/* The invoice's attempt (FOR UPDATE when lock).  TALLY_E_NOTFOUND. */
int	 db_nwc_get(struct db *, int64_t invoice_id, int lock,
	    struct db_nwc *);
/* Store the signed request unless one is stored. OUT: *stored. */
int	 db_nwc_set_event(struct db *, int64_t invoice_id,
	    const char *request_id, const char *event, int64_t now,
	    int *stored);
int	 db_nwc_set_status(struct db *, int64_t invoice_id, const char *status,
	    const char *message, int64_t now);
/* The payments row reference (an earlier failure) settled after all. */
int	 db_nwc_payment_settled(struct db *, const char *reference,
	    const char *provider_ref);

#endif
