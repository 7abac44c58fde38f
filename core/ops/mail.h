/* The email outbox: queue notices with state changes, deliver them. */
#ifndef CORE_OP_MAIL_H
#define CORE_OP_MAIL_H

#include <stdint.h>

#include <jansson.h>

#include "core/config.h"
#include "core/model.h"

struct db;

/*
 * Queue template for the account in the caller's transaction, once per
 * dedupe_key.  params (a JSON object; not stolen) get billing_url added.
 * An account without an email address gets nothing (TALLY_OK; *queued 0).
 */
int	 op_mail_enqueue_tx(struct db *, const struct core_config *,
	    const struct tally_account *, const char *template,
	    const char *dedupe_key, json_t *params, int64_t now, int *queued);

struct op_mail_counts {
	int64_t	 sent, retried, failed;
};

/*
 * Deliver due messages, each in its own transaction that holds only that
 * outbox row (SKIP LOCKED, so several deliverers share the work).  A
 * message is marked sent only after the SMTP server accepted it; failures
 * are retried with exponential backoff (1 min doubling to 6 h) up to 10
 * attempts, 5xx rejections are final.  At most max messages per call.
 */
int	 op_mail_deliver(struct db *, const struct core_config *, int64_t now,
	    int64_t max, struct op_mail_counts *);

#endif
