/* Provider webhooks: each event's effect exactly once. */
#ifndef CORE_OP_WEBHOOK_H
#define CORE_OP_WEBHOOK_H

#include <stdint.h>

#include <jansson.h>

#include "core/config.h"

struct db;

/* An event's effect, run in the caller's transaction (op_card_webhook_tx,
 * op_ln_webhook_tx). */
typedef int (*op_webhook_fn)(struct db *, const struct core_config *,
    const json_t *event, int64_t now);

/*
 * Apply a verified event of provider ("stripe", "btcpay") with dedupe
 * id and type: its dedupe row and apply's effect commit together, so a
 * crash in between lets the provider's retry redo it cleanly.  An event
 * seen before is TALLY_OK with *duplicate set and nothing done.
 * Otherwise apply's code.  After a Stripe event's commit, the refunds of
 * second payments it found are asked of Stripe (op_dup_refunds_run); their
 * outcome does not change the result.  OUT: *duplicate.
 */
int	 op_webhook_apply(struct db *, const struct core_config *,
	    const char *provider, const char *id, const char *type,
	    const json_t *event, op_webhook_fn apply, int64_t now,
	    int *duplicate);

#endif
