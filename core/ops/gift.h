/* Gift operations: create, redeem, cancel, redeem pending at signup.
 * Each *_tx runs inside the caller's transaction. */
#ifndef CORE_OP_GIFT_H
#define CORE_OP_GIFT_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/model.h"

struct db;

/*
 * Create a gift of credits from the creator's wallet (ledger gift_sent).
 * type is "simple" or "personalized" (then target is a normalised email,
 * and the target is emailed the code).  TALLY_E_INSUFFICIENT changes
 * nothing once rolled back.  OUT: *g.
 */
int	 op_gift_create_tx(struct db *, const struct core_config *,
	    const struct tally_account *creator, int64_t credits,
	    const char *type, const char *target, const char *message,
	    int64_t now, struct db_gift *g);

/*
 * Redeem the gift with bare code for the account (ledger gift_received).
 * TALLY_E_NOTFOUND, TALLY_E_CONFLICT (redeemed, canceled, or the creator's
 * own simple gift), TALLY_E_FORBIDDEN (personalized for another email).
 * OUT: *g (after), *tx (the credit).
 */
int	 op_gift_redeem_tx(struct db *, const struct tally_account *,
	    const char *code, int64_t now, struct db_gift *g,
	    struct tally_tx *tx);

/* Cancel the creator's active gift id; credits back (gift_refund).
 * TALLY_E_NOTFOUND (not theirs), TALLY_E_CONFLICT (not active). */
int	 op_gift_cancel_tx(struct db *, const struct tally_account *creator,
	    int64_t id, int64_t now, struct db_gift *g);

/*
 * Redeem every active personalized gift for email (normalised) into the
 * account.  OUT: gs[0..*n), *balance.
 */
int	 op_gift_redeem_pending_tx(struct db *, const struct tally_account *,
	    const char *email, int64_t now, size_t max, struct db_gift *gs,
	    size_t *n, int64_t *balance);

/* The rate limit: failed redemptions in the last window seconds. */
#define GIFT_FAIL_WINDOW	600
#define GIFT_FAIL_MAX		10

/*
 * Start a redemption attempt: with the account row locked, count the
 * attempts of the last window and, below the limit, record this one as a
 * failure until op_gift_attempt_ok() says otherwise.  Checking and
 * recording in one transaction means parallel guesses cannot slip past
 * the limit.  TALLY_OK (OUT: *attempt) or TALLY_E_RATELIMIT with
 * *retry_after seconds.  The count lives in the database, shared by all
 * responders.
 */
int	 op_gift_attempt_begin(struct db *, int64_t account_id, int64_t now,
	    int64_t *attempt, int64_t *retry_after);
/* A gift by its bare code (no lock).  TALLY_OK or TALLY_E_NOTFOUND.
 * OUT: *g. */
int	 op_gift_by_code(struct db *, const char *code, struct db_gift *g);
/*
 * The account's gifts, newest first: those it created, or with received
 * set those it redeemed.  OUT: gs[0..*n), at most max.
 */
int	 op_gift_list(struct db *, int64_t account_id, int received,
	    size_t max, struct db_gift *gs, size_t *n);

/* The attempt did not fail (redeemed, or refused for a reason that is
 * no guess: already redeemed, one's own gift). */
int	 op_gift_attempt_ok(struct db *, int64_t attempt);

#endif
