/* Outbound events over db/db_event.c and net/http.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/idgen.h"
#include "core/ops/event.h"
#include "core/ops/log.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_event.h"
#include "db/db_misc.h"
#include "net/http.h"

/* The table an event type's data comes from. */
static int
event_src(int type)
{
	switch (type) {
	case CORE_EV_PURCHASE_COMPLETED:
		return DB_EVSRC_PURCHASE;
	case CORE_EV_SUB_ACTIVATED:
	case CORE_EV_SUB_RENEWED:
	case CORE_EV_SUB_PAUSED:
	case CORE_EV_SUB_CANCELED:
	case CORE_EV_SUB_EXPIRED:
		return DB_EVSRC_SUB;
	case CORE_EV_INVOICE_CREATED:
	case CORE_EV_INVOICE_PAID:
	case CORE_EV_INVOICE_EXPIRED:
		return DB_EVSRC_INVOICE;
	case CORE_EV_GIFT_REDEEMED:
		return DB_EVSRC_GIFT;
	default:
		return -1;
	}
}

int
op_event_wanted(struct db *db, int type)
{
	return core_event_hooks(db->cfg, type) != NULL;
}

int
op_event_many_tx(struct db *db, int type, const int64_t *ids, size_t n,
    int64_t now)
{
	const char	*hooks = core_event_hooks(db->cfg, type);
	char		 nonce[33], *text;
	json_t		*a;
	uint64_t	 made;
	size_t		 i;
	int		 rc, src = event_src(type);

	if (hooks == NULL || n == 0)
		return TALLY_OK;
	if (src < 0)
		return TALLY_E_INTERNAL;
	if ((rc = core_random_hex(16, nonce)) != TALLY_OK)
		return rc;
	if ((a = json_array()) == NULL)
		return TALLY_E_NOMEM;
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer(ids[i]));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (text == NULL)
		return TALLY_E_NOMEM;
	rc = db_event_insert(db, (enum db_event_src)src, core_event_name(type),
	    text, hooks, nonce, now, &made);
	free(text);
	return rc;
}

int
op_event_tx(struct db *db, int type, int64_t id, int64_t now)
{
	return op_event_many_tx(db, type, &id, 1, now);
}

/* An event of type keyed by keys_json (a JSON array) from source src,
 * for the endpoints that want it; nothing when none does. */
static int
keyed_insert(struct db *db, enum db_event_src src, int type,
    const char *keys_json, int64_t now)
{
	const char	*hooks = core_event_hooks(db->cfg, type);
	char		 nonce[33];
	uint64_t	 made;
	int		 rc;

	if (hooks == NULL)
		return TALLY_OK;
	if ((rc = core_random_hex(16, nonce)) != TALLY_OK)
		return rc;
	return db_event_insert(db, src, core_event_name(type), keys_json, hooks,
	    nonce, now, &made);
}

int
op_event_ledger_keys_tx(struct db *db, int type, const char *keys_json,
    int64_t now)
{
	return keyed_insert(db, DB_EVSRC_LEDGER, type, keys_json, now);
}

int
op_event_payment_tx(struct db *db, int type, const char *ref, int64_t now)
{
	char		*text;
	json_t		*a;
	int		 rc;

	if (core_event_hooks(db->cfg, type) == NULL)
		return TALLY_OK;
	if ((a = json_pack("[s]", ref)) == NULL)
		return TALLY_E_NOMEM;
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (text == NULL)
		return TALLY_E_NOMEM;
	rc = keyed_insert(db, DB_EVSRC_PAYMENT, type, text, now);
	free(text);
	return rc;
}

int
op_event_sub_end_due_tx(struct db *db, const char *product, int64_t now)
{
	static const int types[2] = { CORE_EV_SUB_EXPIRED,
	    CORE_EV_SUB_CANCELED };
	const char	*hooks;
	char		 nonce[33];
	int		 cancel, rc;

	for (cancel = 0; cancel < 2; cancel++) {
		if ((hooks = core_event_hooks(db->cfg, types[cancel])) == NULL)
			continue;
		if ((rc = core_random_hex(16, nonce)) != TALLY_OK ||
		    (rc = db_event_sub_end_due(db, product, cancel,
		    core_event_name(types[cancel]), hooks, nonce, now)) !=
		    TALLY_OK)
			return rc;
	}
	return TALLY_OK;
}

int
op_event_invoice_expire_due_tx(struct db *db, int64_t now)
{
	const char	*hooks;
	char		 nonce[33];
	int		 rc;

	if ((hooks = core_event_hooks(db->cfg, CORE_EV_INVOICE_EXPIRED)) ==
	    NULL)
		return TALLY_OK;
	if ((rc = core_random_hex(16, nonce)) != TALLY_OK)
		return rc;
	return db_event_invoice_expire_due(db,
	    core_event_name(CORE_EV_INVOICE_EXPIRED), hooks, nonce, now);
}

/* What one delivery step did. */
enum step {
	STEP_IDLE,		/* nothing due for the endpoint */
	STEP_BUSY,		/* another deliverer holds it */
	STEP_DELIVERED,
	STEP_RETRY,		/* failed, tried again later */
	STEP_FAILED		/* failed for good */
};

struct deliver {
	const struct core_webhook *w;
	int64_t		 now;
	enum step	 step;
	struct db_delivery d;
};

/* The body: {"id","type","created","data"}; free(3) it. */
static char *
event_body(const struct db_delivery *d)
{
	json_t	*o, *data;
	char	*text;

	if ((data = json_loads(d->data, 0, NULL)) == NULL)
		return NULL;
	o = json_pack("{s:s,s:s,s:I,s:o}", "id", d->event_id, "type", d->type,
	    "created", (json_int_t)d->created_at, "data", data);
	if (o == NULL)
		return NULL;
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

/*
 * One step for the endpoint, in one transaction that holds its lock row
 * over the POST (at most CORE_EVENT_TIMEOUT seconds), so that no other
 * scheduler sends to it meanwhile.  Should we die after the receiver
 * answered but before COMMIT, the delivery stays pending and is sent
 * again: receivers deduplicate by event id.
 */
static int
deliver_step(struct db *db, void *arg)
{
	struct deliver	*x = arg;
	struct db_delivery *d = &x->d;
	char		 sig[128], hdr[160], idh[80], err[256] = "";
	const char	*headers[3];
	char		*body;
	long		 status = 0;
	int64_t		 attempts, at;
	int		 rc, again;

	x->step = STEP_IDLE;
	if ((rc = db_event_endpoint_lock(db, x->w->name)) == TALLY_E_CONFLICT) {
		x->step = STEP_BUSY;
		return TALLY_OK;
	}
	if (rc != TALLY_OK)
		return rc;
	if ((rc = db_event_head(db, x->w->name, d)) == TALLY_E_NOTFOUND)
		return TALLY_OK;
	if (rc != TALLY_OK)
		return rc;
	/* The oldest waits for its retry; the ones after it wait too. */
	if (d->next_attempt_at > x->now)
		return TALLY_OK;
	if ((body = event_body(d)) == NULL) {
		snprintf(err, sizeof(err), "stored data is not JSON");
		rc = TALLY_E_INVALID;
	} else {
		/* The signature's time is the wall clock's: the receiver
		 * compares it with its own (--now moves only billing time). */
		core_event_signature(x->w->secret, (int64_t)time(NULL), body,
		    strlen(body), sig, sizeof(sig));
		snprintf(hdr, sizeof(hdr), "Tally-Signature: %s", sig);
		snprintf(idh, sizeof(idh), "Tally-Event-Id: %s", d->event_id);
		headers[0] = hdr;
		headers[1] = idh;
		headers[2] = NULL;
		rc = net_http_post(x->w->url, headers, body, strlen(body),
		    CORE_EVENT_TIMEOUT, &status, err, sizeof(err));
		free(body);
	}
	if (rc == TALLY_OK && status >= 200 && status < 300) {
		x->step = STEP_DELIVERED;
		return db_event_delivered(db, d->id, status, x->now);
	}
	if (rc == TALLY_OK)
		snprintf(err, sizeof(err), "HTTP %ld", status);
	attempts = d->attempts + 1;
	again = rc != TALLY_E_INVALID &&
	    core_event_next_attempt(attempts, d->queued_at, x->now, &at);
	if (!again)
		at = x->now;
	x->step = again ? STEP_RETRY : STEP_FAILED;
	core_log(again ? "warn" : "error", "webhook.failed", json_pack(
	    "{s:I,s:s,s:s,s:s,s:I,s:I,s:s,s:b}", "delivery_id",
	    (json_int_t)d->id, "event_id", d->event_id, "type", d->type,
	    "endpoint", x->w->name, "attempt", (json_int_t)attempts,
	    "status", (json_int_t)status, "error", err, "final", !again));
	return db_event_failed(db, d->id, attempts, status, err, at, !again,
	    x->now);
}

int
op_event_deliver(struct db *db, const struct core_config *cfg, int64_t now,
    int64_t max, volatile int *stop, struct op_event_counts *c)
{
	struct deliver	*x;
	size_t		 i;
	int64_t		 k;
	int		 rc = TALLY_OK, first = TALLY_OK;

	memset(c, 0, sizeof(*c));
	if (cfg->nwebhooks == 0)
		return TALLY_OK;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return TALLY_E_NOMEM;
	x->now = now;
	for (i = 0; i < cfg->nwebhooks && !(stop != NULL && *stop); i++) {
		x->w = &cfg->webhooks[i];
		if ((rc = db_event_endpoint_ensure(db, x->w->name, now)) !=
		    TALLY_OK) {
			first = first != TALLY_OK ? first : rc;
			continue;
		}
		for (k = 0; k < max && !(stop != NULL && *stop); k++) {
			if ((rc = db_tx(db, deliver_step, x)) != TALLY_OK) {
				first = first != TALLY_OK ? first : rc;
				break;
			}
			if (x->step == STEP_DELIVERED)
				c->delivered++;
			else if (x->step == STEP_FAILED)
				c->failed++;	/* the next one may go now */
			else {
				if (x->step == STEP_RETRY)
					c->retried++;
				else if (x->step == STEP_BUSY)
					c->busy++;
				break;
			}
		}
	}
	free(x);
	return first;
}

int
op_event_list(struct db *db, const char *endpoint, const char *status,
    int64_t before, size_t max, struct db_delivery *rows, size_t *n)
{
	return db_event_list(db, endpoint, status, before, max, rows, n);
}

int
op_event_resend_tx(struct db *db, const struct core_config *cfg, int64_t id,
    const char *actor, int64_t now, struct db_delivery *out)
{
	char	 target[48], details[200];
	int64_t	 new_id;
	int	 rc;

	if ((rc = db_event_get(db, id, out)) != TALLY_OK)
		return rc;
	if (strcmp(out->status, "pending") == 0 ||
	    core_config_webhook(cfg, out->endpoint) == NULL)
		return TALLY_E_CONFLICT;
	if ((rc = db_event_resend(db, id, now, &new_id)) != TALLY_OK)
		return rc;
	snprintf(target, sizeof(target), "webhook_delivery:%lld",
	    (long long)id);
	/* Names and ids only: nothing here needs escaping. */
	snprintf(details, sizeof(details), "{\"event_id\":\"%s\",\"endpoint\":"
	    "\"%s\",\"delivery_id\":\"%lld\"}", out->event_id, out->endpoint,
	    (long long)new_id);
	if ((rc = db_audit_insert(db, actor, "webhook.resend", target, details,
	    now)) != TALLY_OK)
		return rc;
	return db_event_get(db, new_id, out);
}
