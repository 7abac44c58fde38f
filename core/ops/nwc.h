/* Lightning auto-pay over Nostr Wallet Connect (NIP-47): the cascade's
 * step between the credit wallet and the saved card. */
#ifndef CORE_OP_NWC_H
#define CORE_OP_NWC_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/model.h"

struct db;

enum op_nwc_begin {
	NWC_SKIP,	/* no wallet connection, or Lightning not configured */
	NWC_GO,		/* the attempt is ready: run op_nwc_exchange */
	NWC_PAID,	/* BTCPay says the invoice is paid already */
	NWC_FAILED	/* the attempt failed before the wallet (why says) */
};

/*
 * In the cascade's transaction, the invoice inv (locked) of account a:
 * whether to ask the wallet, and if so its attempt, made once per invoice
 * and reused (the BTCPay invoice as op_ln_present_tx gives it, so the
 * same BOLT11 on every run).  An attempt that failed before is
 * NWC_FAILED again (its message in why); a failure recorded here writes
 * its payments row.  OUT: *state, why.
 */
int	 op_nwc_begin_tx(struct db *, const struct core_config *,
	    const struct tally_account *a, const struct db_invoice *inv,
	    int64_t now, int *state, char *why, size_t whysz);

/* What the wallet did, for op_nwc_finish_tx. */
struct op_nwc_outcome {
	int	 answered;		/* the wallet answered */
	int	 ok;			/* ...that it paid */
	char	 message[481];		/* else why not (no secret in it) */
};

/*
 * Outside any transaction (it waits for the network): open the account's
 * stored connection, and send the attempt's request to the wallet's relay
 * (signing and storing it first when it has none, so a re-run sends the
 * very same event), then wait up to nwc.timeout_seconds for the answer.
 * TALLY_OK whenever *o is set; a database error otherwise.
 */
int	 op_nwc_exchange(struct db *, const struct core_config *,
	    int64_t invoice_id, int64_t account_id, int64_t now,
	    struct op_nwc_outcome *o);

/*
 * In the cascade's second transaction, the invoice locked: ask BTCPay
 * (the payment counts only when it says settled).  *paid when it is paid;
 * *wait when the wallet said paid but BTCPay has not settled yet (neither
 * the card nor an email: the webhook or reconcile-lightning settles it);
 * else the failure is recorded (attempt and payments row, the wallet's
 * message) and why says it for the next step.
 */
int	 op_nwc_finish_tx(struct db *, const struct core_config *,
	    const struct db_invoice *inv, const struct op_nwc_outcome *o,
	    int64_t now, int *paid, int *wait, char *why, size_t whysz);

/*
 * BTCPay settled btcpay_invoice, paying invoice invoice_id: its NWC
 * attempt (if any) is settled and its payments row says succeeded.
 */
int	 op_nwc_settled_tx(struct db *, int64_t invoice_id,
	    const char *btcpay_invoice, int64_t amount, const char *currency,
	    int64_t now);

/*
 * Check an NWC connection string before it is stored: TALLY_OK, or
 * TALLY_E_INVALID with *why a sentence that never quotes it.
 */
int	 op_nwc_check(const char *url, const char **why);

#endif
