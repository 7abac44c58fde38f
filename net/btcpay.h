/* The BTCPay Server Greenfield API client (invoices, payment methods). */
#ifndef NET_BTCPAY_H
#define NET_BTCPAY_H

#include <stddef.h>
#include <stdint.h>

struct core_config;

struct net_btcpay_invoice {
	char	 id[256];
	char	 status[32];		/* New, Processing, Settled, ... */
	char	 amount[64];		/* decimal string, as BTCPay sends */
	char	 currency[16];
	char	 checkout_url[1025];
	int64_t	 expires_at;		/* Unix seconds */
	char	 bolt11[4096];		/* empty until payment methods read */
};

/*
 * Create an invoice of amount (minor units of billing.currency) whose
 * metadata names our subject ("purchase"/"invoice" and its id), expiring
 * after minutes; then read its Lightning payment method for the BOLT11.
 * TALLY_OK (OUT: *inv) or TALLY_E_PROVIDER (err says why; no key in it).
 */
int	 net_btcpay_create(const struct core_config *, int64_t amount,
	    const char *subject_type, int64_t subject_id, int64_t minutes,
	    struct net_btcpay_invoice *inv, char *err, size_t errsz);

/* Read an invoice (without the BOLT11).  TALLY_OK, TALLY_E_NOTFOUND or
 * TALLY_E_PROVIDER. */
int	 net_btcpay_get(const struct core_config *, const char *id,
	    struct net_btcpay_invoice *inv, char *err, size_t errsz);

#endif
