/* Subscription queries. */
#include <stdio.h>
#include <string.h>

#include "core/result.h"
#include "db/db.h"
#include "db/db_sub.h"
#include "db/db_wallet.h"

enum sub_sql {
	SUB_GET,
	SUB_GET_LOCK,
	SUB_LIST,
	SUB_GET_BY_USER,
	SUB_INSERT,
	SUB_UPDATE,
	SUB_CLAIM_DUE,
	SUB_LOCK_ID,
	SUB_RENEW_DUE,
	SUB_END_DUE,
	SUB_LOCK_ACCOUNTS,
	SUB_CHARGE_LEDGER,
	SUB_CHARGE_BALANCES,
	SUB_CHARGE_ADVANCE,
	SUB_LOCK_ACCOUNT,
	SUB_PAUSED_IDS,
	SUB_CALL_LOCK,
	SUB_CALL_WRITE,
	SUB__MAX
};

#define SUB_COLS "s.id, s.account_id, s.product, s.status, " \
	"s.billing_interval, UNIX_TIMESTAMP(s.anchor_at), s.end_months, " \
	"UNIX_TIMESTAMP(s.current_period_start), " \
	"UNIX_TIMESTAMP(s.current_period_end), " \
	"UNIX_TIMESTAMP(s.next_charge_at), s.cancel_at_period_end, " \
	"UNIX_TIMESTAMP(s.paused_at), s.run_no"

/*
 * The user's views (SUB_GET, SUB_LIST) also name the invoice that
 * activates a pending_activation subscription: the newest of its invoices
 * for the run's first period (the first invoice, or its reissue; a new
 * run starts a new period).  Only those rows pay for the lookup, through
 * the account's invoice index.
 */
#define SUB_INVOICE_COL ", IF(s.status = 'pending_activation', " \
	"(SELECT i.id FROM invoices i WHERE i.account_id = s.account_id " \
	"AND i.subscription_id = s.id " \
	"AND i.period_start = s.current_period_start " \
	"ORDER BY i.id DESC LIMIT 1), NULL)"

static const char *const sqls[SUB__MAX] = {
	[SUB_GET] =
	    "SELECT " SUB_COLS SUB_INVOICE_COL " FROM subscriptions s "
	    "WHERE s.account_id = ? AND s.product = ?",
	[SUB_GET_LOCK] =
	    "SELECT " SUB_COLS " FROM subscriptions s "
	    "WHERE s.account_id = ? AND s.product = ? FOR UPDATE",
	[SUB_LIST] =
	    "SELECT " SUB_COLS SUB_INVOICE_COL " FROM subscriptions s "
	    "WHERE s.account_id = ? ORDER BY s.product LIMIT ?",
	/*
	 * The gate's and the internal status route's one read, on every
	 * gated request: one table (subscriptions carry their user id, see
	 * migration 0008), only the columns they answer from, since the
	 * server resolves and converts every column named, on the same cores.
	 * SQL_CACHE: with query_cache_type = DEMAND (deploy/mariadb.cnf) the
	 * server answers a repeated read from its query cache, which any
	 * committed write to subscriptions empties, so it is never stale;
	 * without the cache the hint does nothing.
	 */
	[SUB_GET_BY_USER] =
	    "SELECT SQL_CACHE status, billing_interval, cancel_at_period_end, "
	    "UNIX_TIMESTAMP(current_period_end), UNIX_TIMESTAMP(paused_at), "
	    "UNIX_TIMESTAMP(current_period_start) "
	    "FROM subscriptions WHERE user_id = ? AND product = ?",
	[SUB_INSERT] =
	    "INSERT INTO subscriptions (account_id, user_id, product, status, "
	    "billing_interval, anchor_at, end_months, current_period_start,"
	    " current_period_end, next_charge_at, cancel_at_period_end, "
	    "paused_at, run_no, created_at, updated_at) VALUES (?, "
	    "(SELECT user_id FROM accounts WHERE id = ?), ?, ?, ?, "
	    "FROM_UNIXTIME(?), ?, FROM_UNIXTIME(?), FROM_UNIXTIME(?), "
	    "FROM_UNIXTIME(NULLIF(?, 0)), ?, FROM_UNIXTIME(NULLIF(?, 0)), ?, "
	    "FROM_UNIXTIME(?), FROM_UNIXTIME(?))",
	[SUB_UPDATE] =
	    "UPDATE subscriptions SET status = ?, billing_interval = ?, "
	    "anchor_at = FROM_UNIXTIME(?), end_months = ?, "
	    "current_period_start = FROM_UNIXTIME(?), "
	    "current_period_end = FROM_UNIXTIME(?), "
	    "next_charge_at = FROM_UNIXTIME(NULLIF(?, 0)), "
	    "cancel_at_period_end = ?, paused_at = FROM_UNIXTIME(NULLIF(?, 0)),"
	    " run_no = ?,"
	    " ended_at = IF(? IN ('canceled', 'expired'), "
	    "COALESCE(ended_at, FROM_UNIXTIME(?)), NULL), "
	    "updated_at = FROM_UNIXTIME(?) WHERE id = ?",
	/*
	 * SKIP LOCKED lets two schedulers (or the scheduler and the internal
	 * charge-recurring route) work side by side: each takes rows the
	 * other has not locked, and neither waits.
	 */
	[SUB_CLAIM_DUE] =
	    "SELECT " SUB_COLS " FROM subscriptions s "
	    "WHERE s.status = 'active' AND s.next_charge_at <= FROM_UNIXTIME(?)"
	    " ORDER BY s.next_charge_at, s.id LIMIT ? FOR UPDATE SKIP LOCKED",
	/*
	 * An activation's first statement: the account row locked (it
	 * serialises a user's activations) and the subscription, if any,
	 * locked and read with it, in one trip.
	 */
	[SUB_LOCK_ACCOUNT] =
	    "SELECT " SUB_COLS " FROM accounts a LEFT JOIN subscriptions s "
	    "ON s.account_id = a.id AND s.product = ? WHERE a.id = ? "
	    "FOR UPDATE",
	[SUB_LOCK_ID] =
	    "SELECT " SUB_COLS " FROM subscriptions s WHERE s.id = ? FOR UPDATE",
	/*
	 * A credit activation in two trips (migration 0017): the first
	 * locks and answers what SUB_LOCK_ACCOUNT does, found by user id;
	 * the second writes what the C decided and ends the transaction.
	 */
	[SUB_CALL_LOCK] =
	    "CALL tally_sub_activate_lock(?, ?, ?, ?, ?, ?)",
	[SUB_CALL_WRITE] =
	    "CALL tally_sub_activate_write(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	/*
	 * The top-up check (billing.reactivate_on_topup): a plain read, so
	 * it takes no lock (a subscription the scheduler is pausing right
	 * now is not seen, and that renewal then finds the new balance),
	 * through the (account_id, product) key; usually no row.
	 */
	[SUB_PAUSED_IDS] =
	    "SELECT id FROM subscriptions WHERE account_id = ? AND "
	    "status = 'paused' ORDER BY id LIMIT ?",
	/* Invoice-billed subscriptions inside their renewal lead that have
	 * no renewal invoice for this cycle yet. */
	[SUB_RENEW_DUE] =
	    "SELECT " SUB_COLS " FROM subscriptions s WHERE s.product = ? AND "
	    "s.status = 'active' AND s.cancel_at_period_end = 0 AND "
	    "s.current_period_end <= FROM_UNIXTIME(?) AND NOT EXISTS (SELECT 1 "
	    "FROM invoices i WHERE i.cycle_key = CONCAT('renew:', s.id, ':', "
	    "s.run_no, ':', UNIX_TIMESTAMP(s.current_period_end))) "
	    "ORDER BY s.current_period_end, s.id LIMIT ? FOR UPDATE SKIP LOCKED",
	[SUB_END_DUE] =
	    "UPDATE subscriptions SET status = IF(cancel_at_period_end, "
	    "'canceled', 'expired'), ended_at = current_period_end, "
	    "updated_at = FROM_UNIXTIME(?) WHERE product = ? AND "
	    "status = 'active' AND current_period_end <= FROM_UNIXTIME(?)",
	/*
	 * The set-based recurring charge: a batch travels as one JSON
	 * parameter, unpacked by JSON_TABLE, so a batch costs the same few
	 * round trips whatever its size.  Each JSON_TABLE drives its join
	 * (the primary key of the other table is looked up per element).
	 *
	 * The accounts of a claimed batch, locked (waiting, as a single
	 * debit would: a busy account is not skipped).  Elements: ids.
	 */
	[SUB_LOCK_ACCOUNTS] =
	    "SELECT a.id, a.balance FROM JSON_TABLE(?, '$[*]' COLUMNS ("
	    "id BIGINT PATH '$')) j JOIN accounts a ON a.id = j.id FOR UPDATE",
	/*
	 * One ledger row per renewal, in the order of the array, so an
	 * account's rows follow its balance_after sequence.  The effect key
	 * is unique: a period charged before fails the whole statement with
	 * 1062.
	 */
	[SUB_CHARGE_LEDGER] =
	    "INSERT INTO ledger (account_id, kind, amount, balance_after, "
	    "operation, description, effect_key, created_at) "
	    "SELECT j.account_id, ?, j.amount, j.balance_after, j.operation, "
	    "j.description, j.effect_key, FROM_UNIXTIME(?) FROM JSON_TABLE(?, "
	    "'$[*]' COLUMNS (ord FOR ORDINALITY, "
	    "account_id BIGINT PATH '$.account', amount BIGINT PATH '$.amount', "
	    "balance_after BIGINT PATH '$.balance_after', "
	    "operation VARCHAR(100) CHARACTER SET utf8mb4 PATH '$.operation', "
	    "description VARCHAR(500) CHARACTER SET utf8mb4 "
	    "PATH '$.description', "
	    "effect_key VARCHAR(191) CHARACTER SET utf8mb4 PATH '$.effect_key'"
	    ")) j ORDER BY j.ord",
	/*
	 * One element per account: [id, change, balance after].  The
	 * condition re-checks the balance the batch was decided on (the
	 * rows are locked, so a mismatch is a bug, caught by the count).
	 */
	[SUB_CHARGE_BALANCES] =
	    "UPDATE accounts a JOIN JSON_TABLE(?, '$[*]' COLUMNS ("
	    "id BIGINT PATH '$[0]', delta BIGINT PATH '$[1]', "
	    "after BIGINT PATH '$[2]')) j ON a.id = j.id "
	    "SET a.balance = a.balance + j.delta "
	    "WHERE a.balance + j.delta = j.after",
	/* The renewed subscriptions' next period (same array as the ledger). */
	[SUB_CHARGE_ADVANCE] =
	    "UPDATE subscriptions s JOIN JSON_TABLE(?, '$[*]' COLUMNS ("
	    "sub BIGINT PATH '$.sub', end_months BIGINT PATH '$.end_months', "
	    "start BIGINT PATH '$.start', end BIGINT PATH '$.end')) j "
	    "ON s.id = j.sub "
	    "SET s.end_months = j.end_months, "
	    "s.current_period_start = FROM_UNIXTIME(j.start), "
	    "s.current_period_end = FROM_UNIXTIME(j.end), "
	    "s.next_charge_at = FROM_UNIXTIME(j.end), s.ended_at = NULL, "
	    "s.updated_at = FROM_UNIXTIME(?) WHERE s.status = 'active'",
};


static struct db_stmt *
stmt(struct db *db, enum sub_sql id)
{
	return db_stmt(db, DB_G_SUB, id, sqls[id]);
}

static int
fetch(struct db *db, struct db_stmt *st, struct db_sub *s)
{
	memset(s, 0, sizeof(*s));
	return db_fetch(db, st, "iisssiiiiiiii", &s->id, &s->account_id,
	    s->product, sizeof(s->product), s->status, sizeof(s->status),
	    s->interval, sizeof(s->interval), &s->anchor_at, &s->end_months,
	    &s->period_start, &s->period_end, &s->next_charge_at,
	    &s->cancel_at_period_end, &s->paused_at, &s->run_no);
}

/* A row of SUB_COLS SUB_INVOICE_COL (a NULL invoice id reads as 0). */
static int
fetch_view(struct db *db, struct db_stmt *st, struct db_sub *s)
{
	memset(s, 0, sizeof(*s));
	return db_fetch(db, st, "iisssiiiiiiiii", &s->id, &s->account_id,
	    s->product, sizeof(s->product), s->status, sizeof(s->status),
	    s->interval, sizeof(s->interval), &s->anchor_at, &s->end_months,
	    &s->period_start, &s->period_end, &s->next_charge_at,
	    &s->cancel_at_period_end, &s->paused_at, &s->run_no,
	    &s->invoice_id);
}

static int
fetch_one(struct db *db, struct db_stmt *st, struct db_sub *s)
{
	int	 rc = fetch(db, st, s);

	db_done(st);
	return rc;
}

static int
fetch_rows(struct db *db, struct db_stmt *st, size_t max, struct db_sub *subs,
    size_t *n, int (*row)(struct db *, struct db_stmt *, struct db_sub *))
{
	int	 rc = TALLY_OK;

	*n = 0;
	while (*n < max && (rc = row(db, st, &subs[*n])) == TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

static int
fetch_many(struct db *db, struct db_stmt *st, size_t max, struct db_sub *subs,
    size_t *n)
{
	return fetch_rows(db, st, max, subs, n, fetch);
}

int
db_sub_get(struct db *db, int64_t account_id, const char *product, int lock,
    struct db_sub *s)
{
	struct db_stmt	*st = stmt(db, lock ? SUB_GET_LOCK : SUB_GET);
	int		 rc;

	if ((rc = db_exec(db, st, "is", account_id, product)) != TALLY_OK)
		return rc;
	if (lock)
		return fetch_one(db, st, s);
	rc = fetch_view(db, st, s);
	db_done(st);
	return rc;
}

int
db_sub_list(struct db *db, int64_t account_id, size_t max,
    struct db_sub *subs, size_t *n)
{
	struct db_stmt	*st = stmt(db, SUB_LIST);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", account_id, (int64_t)max)) != TALLY_OK)
		return rc;
	return fetch_rows(db, st, max, subs, n, fetch_view);
}

int
db_sub_get_by_user(struct db *db, const char *user_id, const char *product,
    struct db_sub *s)
{
	struct db_stmt	*st = stmt(db, SUB_GET_BY_USER);
	int		 rc;

	memset(s, 0, sizeof(*s));
	if ((rc = db_exec(db, st, "ss", user_id, product)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "ssiiii", s->status, sizeof(s->status),
	    s->interval, sizeof(s->interval), &s->cancel_at_period_end,
	    &s->period_end, &s->paused_at, &s->period_start);
	db_done(st);
	if (rc == TALLY_OK) {
		/* Not read: a nonzero id says "a row was found". */
		s->id = -1;
		snprintf(s->product, sizeof(s->product), "%s", product);
	}
	return rc;
}

int
db_sub_insert(struct db *db, struct db_sub *s, int64_t now)
{
	struct db_stmt	*st = stmt(db, SUB_INSERT);
	int		 rc;

	rc = db_exec(db, st, "iisssiiiiiiiiii", s->account_id, s->account_id,
	    s->product, s->status, s->interval, s->anchor_at, s->end_months,
	    s->period_start, s->period_end, s->next_charge_at,
	    s->cancel_at_period_end, s->paused_at, s->run_no, now, now);
	if (rc == TALLY_OK)
		s->id = db_insert_id(st);
	return rc;
}

int
db_sub_update(struct db *db, const struct db_sub *s, int64_t now)
{
	return db_exec(db, stmt(db, SUB_UPDATE), "ssiiiiiiiisiii", s->status,
	    s->interval, s->anchor_at, s->end_months, s->period_start,
	    s->period_end, s->next_charge_at, s->cancel_at_period_end,
	    s->paused_at, s->run_no, s->status, now, now, s->id);
}

int
db_sub_claim_due(struct db *db, int64_t now, size_t max,
    struct db_sub *subs, size_t *n)
{
	struct db_stmt	*st = stmt(db, SUB_CLAIM_DUE);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", now, (int64_t)max)) != TALLY_OK)
		return rc;
	return fetch_many(db, st, max, subs, n);
}

/* A locking read found the account but no subscription of product: the
 * NULL columns read as empty, and s says so (id 0). */
static void
no_sub_yet(struct db_sub *s, int64_t account_id, const char *product)
{
	if (s->id != 0)
		return;
	memset(s, 0, sizeof(*s));
	s->account_id = account_id;
	snprintf(s->product, sizeof(s->product), "%s", product);
}

int
db_sub_lock_account(struct db *db, int64_t account_id, const char *product,
    struct db_sub *s)
{
	struct db_stmt	*st = stmt(db, SUB_LOCK_ACCOUNT);
	int		 rc;

	if ((rc = db_exec(db, st, "si", product, account_id)) != TALLY_OK)
		return rc;
	if ((rc = fetch_one(db, st, s)) != TALLY_OK)
		return rc;	/* TALLY_E_NOTFOUND: no such account */
	no_sub_yet(s, account_id, product);
	return TALLY_OK;
}

int
db_sub_lock_id(struct db *db, int64_t id, struct db_sub *s)
{
	struct db_stmt	*st = stmt(db, SUB_LOCK_ID);
	int		 rc;

	if ((rc = db_exec(db, st, "i", id)) != TALLY_OK)
		return rc;
	return fetch_one(db, st, s);
}

int
db_sub_claim_renewals(struct db *db, const char *product, int64_t horizon,
    size_t max, struct db_sub *subs, size_t *n)
{
	struct db_stmt	*st = stmt(db, SUB_RENEW_DUE);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "sii", product, horizon, (int64_t)max)) !=
	    TALLY_OK)
		return rc;
	return fetch_many(db, st, max, subs, n);
}

int
db_sub_end_due(struct db *db, const char *product, int64_t now, uint64_t *n)
{
	struct db_stmt	*st = stmt(db, SUB_END_DUE);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "isi", now, product, now)) == TALLY_OK)
		*n = db_affected(st);
	return rc;
}

int
db_sub_lock_accounts(struct db *db, const char *ids_json, size_t max,
    int64_t *ids, int64_t *balances, size_t *n)
{
	struct db_stmt	*st = stmt(db, SUB_LOCK_ACCOUNTS);
	int		 rc = TALLY_OK;

	*n = 0;
	if ((rc = db_exec(db, st, "s", ids_json)) != TALLY_OK)
		return rc;
	while (*n < max && (rc = db_fetch(db, st, "ii", &ids[*n],
	    &balances[*n])) == TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_sub_charge_apply(struct db *db, const char *kind, const char *charges_json,
    size_t ncharges, const char *balances_json, size_t naccounts, int64_t now)
{
	struct db_stmt	*st;
	int		 rc;

	/* First the statement that may find a period charged already:
	 * nothing else has been written when it does. */
	st = stmt(db, SUB_CHARGE_LEDGER);
	if ((rc = db_exec(db, st, "sis", kind, now, charges_json)) != TALLY_OK)
		return rc;
	if (db_affected(st) != ncharges)
		goto mismatch;
	st = stmt(db, SUB_CHARGE_BALANCES);
	if ((rc = db_exec(db, st, "s", balances_json)) != TALLY_OK)
		return rc;
	if (db_affected(st) != naccounts)
		goto mismatch;
	st = stmt(db, SUB_CHARGE_ADVANCE);
	if ((rc = db_exec(db, st, "si", charges_json, now)) != TALLY_OK)
		return rc;
	if (db_affected(st) != ncharges)
		goto mismatch;
	return TALLY_OK;
mismatch:
	snprintf(db->err, sizeof(db->err), "charge batch: %llu rows changed, "
	    "%zu charges, %zu accounts", (unsigned long long)db_affected(st),
	    ncharges, naccounts);
	return TALLY_E_INTERNAL;
}

int
db_sub_paused_ids(struct db *db, int64_t account_id, size_t max,
    int64_t *ids, size_t *n)
{
	struct db_stmt	*st = stmt(db, SUB_PAUSED_IDS);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "ii", account_id, (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max && (rc = db_fetch(db, st, "i", &ids[*n])) == TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_sub_activate_lock(struct db *db, const char *user_id, const char *product,
    const char *email, const char *locale, int64_t now, int own_tx,
    struct db_sub *s)
{
	struct db_stmt	*st = stmt(db, SUB_CALL_LOCK);
	int64_t		 status = 0, account_id = 0;
	int		 rc;

	memset(s, 0, sizeof(*s));
	if ((rc = db_exec(db, st, "ssssii", user_id, product, email, locale,
	    now, (int64_t)own_tx)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "iiiisssiiiiiiii", &status, &account_id,
	    &s->id, &s->account_id, s->product, sizeof(s->product),
	    s->status, sizeof(s->status), s->interval, sizeof(s->interval),
	    &s->anchor_at, &s->end_months, &s->period_start, &s->period_end,
	    &s->next_charge_at, &s->cancel_at_period_end, &s->paused_at,
	    &s->run_no);
	db_done(st);
	if (rc != TALLY_OK)
		return rc == TALLY_E_NOTFOUND ? TALLY_E_INTERNAL : rc;
	if (status == 1)
		return TALLY_E_NOTFOUND;	/* nothing is left open */
	if (status != 0)
		return TALLY_E_INTERNAL;
	/* The routine's transaction is open until the second call. */
	db->call_open = own_tx;
	no_sub_yet(s, account_id, product);
	return TALLY_OK;
}

int
db_sub_activate_write(struct db *db, struct db_sub *s,
    const struct db_sub_charge *c, int64_t now, int own_tx)
{
	struct db_stmt	*st = stmt(db, SUB_CALL_WRITE);
	int64_t		 status = 0, id = 0, balance, tx_id;
	int		 rc;

	rc = db_exec(db, st, "iisssiiiiiiiiississssi", s->id, s->account_id,
	    s->product, s->status, s->interval, s->anchor_at, s->end_months,
	    s->period_start, s->period_end, s->next_charge_at,
	    s->cancel_at_period_end, s->paused_at, s->run_no, c->price,
	    c->kind, c->description, now, c->debit_hooks, c->sub_hooks,
	    c->event_type, c->nonce, (int64_t)own_tx);
	if (rc != TALLY_OK)
		return rc;
	/* The routine ran to its end: committed, or rolled back. */
	if (own_tx)
		db->call_open = 0;
	/* The row also answers the balance and the charge's id (migration
	 * 0017), which nobody reads: an activation answers the subscription. */
	rc = db_fetch(db, st, "iiii", &status, &id, &balance, &tx_id);
	db_done(st);
	if (rc != TALLY_OK)
		return rc == TALLY_E_NOTFOUND ? TALLY_E_INTERNAL : rc;
	if ((rc = db_ledger_status(status)) == TALLY_OK)
		s->id = id;
	return rc;
}
