/* Payment methods on file over db/db_pay.c; NWC changes are audited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/crypto.h"
#include "core/ops/methods.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_misc.h"
#include "db/db_pay.h"

/* The account holder acts on their own account; the target names them. */
#define ACTOR_SELF	"user"

int
op_methods_get(struct db *db, int64_t account_id, struct op_methods *m)
{
	struct db_profile *prof;
	int		 rc;

	memset(m, 0, sizeof(*m));
	/* The profile holds a sealed NWC string of up to 16 KiB. */
	if ((prof = calloc(1, sizeof(*prof))) == NULL)
		return TALLY_E_NOMEM;
	rc = db_profile_get(db, account_id, prof);
	if (rc == TALLY_OK) {
		m->has_card = prof->card_pm[0] != '\0';
		snprintf(m->card_brand, sizeof(m->card_brand), "%s",
		    prof->card_brand);
		snprintf(m->card_last4, sizeof(m->card_last4), "%s",
		    prof->card_last4);
		m->has_nwc = prof->nwc_sealed[0] != '\0';
	} else if (rc == TALLY_E_NOTFOUND)
		rc = TALLY_OK;
	free(prof);
	return rc;
}

/* An audit row about the account's NWC connection: no secret in it. */
static int
audit_nwc(struct db *db, const struct tally_account *a, const char *action,
    int64_t now)
{
	json_t	*d;
	char	*details;
	int	 rc;

	d = json_pack("{s:I,s:s}", "account_id", (json_int_t)a->id, "method",
	    "nwc");
	details = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	if (details == NULL)
		return TALLY_E_NOMEM;
	rc = db_audit_insert(db, ACTOR_SELF, action, a->user_id, details, now);
	free(details);
	return rc;
}

struct nwc_change {
	const struct tally_account *a;
	const char	*sealed;	/* NULL: remove */
	int64_t		 now;
};

static int
nwc_tx(struct db *db, void *arg)
{
	struct nwc_change *c = arg;
	struct db_profile *prof;
	int		 rc, had;

	if (c->sealed != NULL) {
		if ((rc = db_profile_set_nwc(db, c->a->id, c->sealed,
		    c->now)) != TALLY_OK)
			return rc;
		return audit_nwc(db, c->a, "billing.nwc_store", c->now);
	}
	if ((prof = calloc(1, sizeof(*prof))) == NULL)
		return TALLY_E_NOMEM;
	rc = db_profile_get(db, c->a->id, prof);
	had = rc == TALLY_OK && prof->nwc_sealed[0] != '\0';
	free(prof);
	if (rc != TALLY_OK && rc != TALLY_E_NOTFOUND)
		return rc;
	if ((rc = db_profile_set_nwc(db, c->a->id, NULL, c->now)) != TALLY_OK)
		return rc;
	/* Removing nothing changes nothing an operator needs to see. */
	return had ? audit_nwc(db, c->a, "billing.nwc_remove", c->now) :
	    TALLY_OK;
}

int
op_nwc_store(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, const char *url, int64_t now)
{
	struct nwc_change c;
	char		*sealed = NULL;
	int		 rc;

	if (cfg->encryption_key[0] == '\0')
		return TALLY_E_CONFIG;
	if ((rc = core_secret_seal(cfg->encryption_key, url, &sealed)) !=
	    TALLY_OK)
		return rc;
	c.a = a;
	c.sealed = sealed;
	c.now = now;
	rc = db_tx(db, nwc_tx, &c);
	free(sealed);
	return rc;
}

int
op_nwc_remove(struct db *db, const struct tally_account *a, int64_t now)
{
	struct nwc_change c;

	c.a = a;
	c.sealed = NULL;
	c.now = now;
	return db_tx(db, nwc_tx, &c);
}
