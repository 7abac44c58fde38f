/* The account's payment methods on file: what is saved, and the
 * Lightning auto-pay connection (Nostr Wallet Connect). */
#ifndef CORE_OP_METHODS_H
#define CORE_OP_METHODS_H

#include <stdint.h>

#include "core/config.h"
#include "core/model.h"

struct db;

/* What is on file; never the secrets themselves. */
struct op_methods {
	int	 has_card;
	char	 card_brand[33];
	char	 card_last4[5];
	int	 has_nwc;
};

/* The account's methods (none on file is TALLY_OK, all unset). OUT: *m. */
int	 op_methods_get(struct db *, int64_t account_id, struct op_methods *m);

/*
 * Store the account's NWC connection string url, sealed with
 * auth.encryption_key (AES-256-GCM), with an audit row
 * "billing.nwc_store", in one transaction.  The url is never logged nor
 * written to the audit details.  TALLY_E_CONFIG when no encryption key
 * is configured.
 */
int	 op_nwc_store(struct db *, const struct core_config *,
	    const struct tally_account *, const char *url, int64_t now);
/*
 * Forget the account's NWC connection; when one was stored, with an
 * audit row "billing.nwc_remove" in the same transaction.
 */
int	 op_nwc_remove(struct db *, const struct tally_account *, int64_t now);

#endif
