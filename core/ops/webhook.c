/* Webhook deduplication over db/db_pay.c, in the effect's transaction. */
#include <string.h>

#include "core/ops/duplicate.h"
#include "core/ops/log.h"
#include "core/ops/webhook.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_pay.h"

struct hook {
	const struct core_config *cfg;
	const char	*provider, *id, *type;
	const json_t	*event;
	op_webhook_fn	 apply;
	int64_t		 now;
	int		 duplicate;
};

static int
hook_tx(struct db *db, void *arg)
{
	struct hook	*h = arg;
	int		 rc;

	/* Set on every try: a retried transaction starts over. */
	h->duplicate = 0;
	rc = db_webhook_seen(db, h->provider, h->id, h->type, h->now);
	if (rc == TALLY_E_DUPLICATE) {
		h->duplicate = 1;
		return TALLY_OK;
	}
	if (rc != TALLY_OK)
		return rc;
	return h->apply(db, h->cfg, h->event, h->now);
}

int
op_webhook_apply(struct db *db, const struct core_config *cfg,
    const char *provider, const char *id, const char *type,
    const json_t *event, op_webhook_fn apply, int64_t now, int *duplicate)
{
	struct op_refund_counts rf;
	struct hook	 h;
	int		 rc, rrc;

	h.cfg = cfg;
	h.provider = provider;
	h.id = id;
	h.type = type;
	h.event = event;
	h.apply = apply;
	h.now = now;
	h.duplicate = 0;
	rc = db_tx(db, hook_tx, &h);
	*duplicate = h.duplicate;
	/*
	 * A second card payment this event revealed was committed as a
	 * pending refund (op_dup_payment_tx); ask Stripe now, outside the
	 * transaction.  Whatever Stripe answers, the event is received: a
	 * refund left pending is the refund-duplicates job's to retry.
	 */
	if (rc == TALLY_OK && !h.duplicate && strcmp(provider, "stripe") == 0 &&
	    (rrc = op_dup_refunds_run(db, cfg, now, 5, &rf)) != TALLY_OK)
		core_log("error", "invoice.second_payment_refunds", json_pack(
		    "{s:s,s:s}", "error", core_strerror(rrc), "db", db->err));
	return rc;
}
