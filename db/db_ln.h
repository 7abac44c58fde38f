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

#endif
