/* Accounts and ledger queries. */
#include <stdio.h>
#include <string.h>

#include "core/event.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_wallet.h"

enum wallet_sql {
	W_ACCOUNT_GET,
	W_ACCOUNT_BY_ID,
	W_ACCOUNT_INSERT,
	W_ACCOUNT_PROFILE,
	W_ACCOUNT_LOCK,
	W_LEDGER_LIST,
	W_CALL_APPLY,
	W_CALL_REFUND,
	W_CALL_INIT,
	W_USAGE_DAYS,
	W_USAGE_OPS,
	W_USAGE_ALL_DAYS,
	W_USAGE_ALL_OPS,
	W__MAX
};

#define TX_COLS "id, kind, amount, balance_after, operation, description, " \
	"UNIX_TIMESTAMP(created_at)"

static const char *const sqls[W__MAX] = {
	[W_ACCOUNT_GET] =
	    "SELECT id, balance, email, locale, UNIX_TIMESTAMP(created_at) "
	    "FROM accounts WHERE user_id = ?",
	[W_ACCOUNT_BY_ID] =
	    "SELECT user_id, balance, email, locale, UNIX_TIMESTAMP(created_at) "
	    "FROM accounts WHERE id = ?",
	[W_ACCOUNT_INSERT] =
	    "INSERT INTO accounts (user_id, email, locale, balance, created_at,"
	    " updated_at) VALUES (?, ?, ?, 0, FROM_UNIXTIME(?), FROM_UNIXTIME(?))",
	[W_ACCOUNT_PROFILE] =
	    "UPDATE accounts SET email = ?, locale = ?, "
	    "updated_at = FROM_UNIXTIME(?) WHERE id = ?",
	[W_ACCOUNT_LOCK] =
	    "SELECT balance FROM accounts WHERE id = ? FOR UPDATE",
	[W_LEDGER_LIST] =
	    "SELECT " TX_COLS " FROM ledger WHERE account_id = ? AND id < ? "
	    "ORDER BY id DESC LIMIT ?",
	/* The routines of migration 0007: a balance change in one trip. */
	[W_CALL_APPLY] =
	    "CALL tally_ledger_apply(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[W_CALL_REFUND] =
	    "CALL tally_ledger_refund(?, ?, ?, ?, ?, ?)",
	/*
	 * Usage statistics (migration 0014): one account's, or everyone's,
	 * days or operations in [from, to] (unix seconds, their UTC days).
	 */
	[W_USAGE_DAYS] =
	    "SELECT DATE_FORMAT(day, '%Y-%m-%d'), SUM(uses), SUM(credits) "
	    "FROM usage_daily WHERE account_id = ? AND day BETWEEN "
	    "DATE(FROM_UNIXTIME(?)) AND DATE(FROM_UNIXTIME(?)) GROUP BY day "
	    "HAVING SUM(uses) <> 0 OR SUM(credits) <> 0 ORDER BY day LIMIT ?",
	[W_USAGE_OPS] =
	    "SELECT operation, SUM(uses), SUM(credits) "
	    "FROM usage_daily WHERE account_id = ? AND day BETWEEN "
	    "DATE(FROM_UNIXTIME(?)) AND DATE(FROM_UNIXTIME(?)) GROUP BY "
	    "operation HAVING SUM(uses) <> 0 OR SUM(credits) <> 0 "
	    "ORDER BY SUM(credits) DESC, operation LIMIT ?",
	[W_USAGE_ALL_DAYS] =
	    "SELECT DATE_FORMAT(day, '%Y-%m-%d'), SUM(uses), SUM(credits) "
	    "FROM usage_daily WHERE day BETWEEN DATE(FROM_UNIXTIME(?)) AND "
	    "DATE(FROM_UNIXTIME(?)) GROUP BY day "
	    "HAVING SUM(uses) <> 0 OR SUM(credits) <> 0 ORDER BY day LIMIT ?",
	[W_USAGE_ALL_OPS] =
	    "SELECT operation, SUM(uses), SUM(credits) "
	    "FROM usage_daily WHERE day BETWEEN DATE(FROM_UNIXTIME(?)) AND "
	    "DATE(FROM_UNIXTIME(?)) GROUP BY operation "
	    "HAVING SUM(uses) <> 0 OR SUM(credits) <> 0 "
	    "ORDER BY SUM(credits) DESC, operation LIMIT ?",
	[W_CALL_INIT] =
	    "CALL tally_account_init(?, ?, ?, ?, ?, ?)",
};

/*
 * The endpoints that want the credits.* event of a change of amount
 * (db->cfg's [webhook.*]), or NULL: the routines then write no event and
 * cost what they did before events existed.
 */
const char *
db_ledger_hooks(struct db *db, int64_t amount)
{
	return core_event_hooks(db->cfg, amount < 0 ?
	    CORE_EV_CREDITS_DEBITED : CORE_EV_CREDITS_ADDED);
}

static struct db_stmt *
stmt(struct db *db, enum wallet_sql id)
{
	return db_stmt(db, DB_G_WALLET, id, sqls[id]);
}

int
db_account_get(struct db *db, const char *user_id, struct tally_account *a)
{
	struct db_stmt	*st = stmt(db, W_ACCOUNT_GET);
	int		 rc;

	memset(a, 0, sizeof(*a));
	if ((rc = db_exec(db, st, "s", user_id)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "iissi", &a->id, &a->balance, a->email,
	    sizeof(a->email), a->locale, sizeof(a->locale), &a->created_at);
	db_done(st);
	if (rc == TALLY_OK)
		snprintf(a->user_id, sizeof(a->user_id), "%s", user_id);
	return rc;
}

int
db_account_get_by_id(struct db *db, int64_t id, struct tally_account *a)
{
	struct db_stmt	*st = stmt(db, W_ACCOUNT_BY_ID);
	int		 rc;

	memset(a, 0, sizeof(*a));
	if ((rc = db_exec(db, st, "i", id)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "sissi", a->user_id, sizeof(a->user_id),
	    &a->balance, a->email, sizeof(a->email), a->locale,
	    sizeof(a->locale), &a->created_at);
	db_done(st);
	a->id = id;
	return rc;
}

int
db_account_insert(struct db *db, const char *user_id, const char *email,
    const char *locale, int64_t now)
{
	return db_exec(db, stmt(db, W_ACCOUNT_INSERT), "sssii", user_id,
	    email, locale, now, now);
}

int
db_account_set_profile(struct db *db, int64_t id, const char *email,
    const char *locale, int64_t now)
{
	return db_exec(db, stmt(db, W_ACCOUNT_PROFILE), "ssii", email, locale,
	    now, id);
}

int
db_account_lock(struct db *db, int64_t id, int64_t *balance)
{
	struct db_stmt	*st = stmt(db, W_ACCOUNT_LOCK);
	int		 rc;

	if ((rc = db_exec(db, st, "i", id)) != TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "i", balance);
	db_done(st);
	return rc;
}

static int
fetch_tx(struct db *db, struct db_stmt *st, struct tally_tx *tx)
{
	int	 rc, nop = 0, ndesc = 0;

	memset(tx, 0, sizeof(*tx));
	rc = db_fetch(db, st, "isiiSSi", &tx->id, tx->kind, sizeof(tx->kind),
	    &tx->amount, &tx->balance_after, tx->operation,
	    sizeof(tx->operation), &nop, tx->description,
	    sizeof(tx->description), &ndesc, &tx->created_at);
	tx->has_operation = !nop;
	tx->has_description = !ndesc;
	return rc;
}

int
db_ledger_status(int64_t status)
{
	switch (status) {
	case 0:
		return TALLY_OK;
	case 1:
		return TALLY_E_NOTFOUND;
	case 2:
		return TALLY_E_INSUFFICIENT;
	case 3:
		return TALLY_E_DUPLICATE;
	case 4:
		return TALLY_E_NOTFOUND;
	case 5:
		return TALLY_E_INVALID;
	default:
		return TALLY_E_INTERNAL;
	}
}

/* The routine's answer row; see 0007_ledger_routines.sql. */
static int
call_result(struct db *db, struct db_stmt *st, struct db_ledger_result *r)
{
	struct tally_tx	*tx = &r->tx;
	int64_t		 status;
	int		 rc, nop = 0, ndesc = 0;

	memset(r, 0, sizeof(*r));
	rc = db_fetch(db, st, "iiiisiiSSi", &status, &r->account_id,
	    &r->balance, &tx->id, tx->kind, sizeof(tx->kind), &tx->amount,
	    &tx->balance_after, tx->operation, sizeof(tx->operation), &nop,
	    tx->description, sizeof(tx->description), &ndesc,
	    &tx->created_at);
	db_done(st);
	if (rc != TALLY_OK)
		return rc == TALLY_E_NOTFOUND ? TALLY_E_INTERNAL : rc;
	tx->has_operation = !nop;
	tx->has_description = !ndesc;
	return db_ledger_status(status);
}

int
db_ledger_call(struct db *db, const struct db_ledger_change *c,
    struct db_ledger_result *r)
{
	struct db_stmt	*st = stmt(db, W_CALL_APPLY);
	int		 rc;

	/* account_id 0: the account of user_id. */
	rc = db_exec(db, st, "ississsissis", c->account_id, c->user_id,
	    c->kind, c->amount, c->operation, c->description, c->effect_key,
	    c->now, c->email, c->locale, (int64_t)c->own_tx,
	    db_ledger_hooks(db, c->amount));
	if (rc != TALLY_OK)
		return rc;
	return call_result(db, st, r);
}

int
db_ledger_refund_call(struct db *db, int64_t account_id, const char *user_id,
    int64_t txid, int64_t now, int own_tx, struct db_ledger_result *r)
{
	struct db_stmt	*st = stmt(db, W_CALL_REFUND);
	int		 rc;

	rc = db_exec(db, st, "isiiis", account_id, user_id, txid, now,
	    (int64_t)own_tx, db_ledger_hooks(db, 1));
	if (rc != TALLY_OK)
		return rc;
	return call_result(db, st, r);
}

int
db_account_init_call(struct db *db, const char *user_id, const char *email,
    int64_t credits, int64_t now, int own_tx, struct tally_account *a,
    int *granted)
{
	struct db_stmt	*st = stmt(db, W_CALL_INIT);
	int64_t		 g = 0, txid = 0;
	int		 rc;

	memset(a, 0, sizeof(*a));
	*granted = 0;
	if ((rc = db_exec(db, st, "ssiiis", user_id, email, credits, now,
	    (int64_t)own_tx, credits > 0 ? db_ledger_hooks(db, credits) : NULL)) !=
	    TALLY_OK)
		return rc;
	rc = db_fetch(db, st, "iissiii", &g, &a->id, a->user_id,
	    sizeof(a->user_id), a->email, sizeof(a->email), &a->balance,
	    &a->created_at, &txid);
	db_done(st);
	if (rc == TALLY_E_NOTFOUND)
		return TALLY_E_INTERNAL;	/* the routine always answers */
	*granted = g != 0;
	return rc;
}

int
db_ledger_apply(struct db *db, int64_t account_id, const char *kind,
    int64_t amount, const char *operation, const char *description,
    const char *effect_key, int64_t now, struct tally_tx *tx)
{
	struct db_ledger_change c;
	struct db_ledger_result r;
	int		 rc;

	memset(&c, 0, sizeof(c));
	c.account_id = account_id;
	c.kind = kind;
	c.amount = amount;
	c.operation = operation;
	c.description = description;
	c.effect_key = effect_key;
	c.now = now;
	c.own_tx = 0;		/* inside the caller's transaction */
	rc = db_ledger_call(db, &c, &r);
	if (rc == TALLY_OK)
		*tx = r.tx;
	return rc;
}

int
db_ledger_list(struct db *db, int64_t account_id, int64_t before,
    size_t max, struct tally_tx *txs, size_t *n)
{
	struct db_stmt	*st = stmt(db, W_LEDGER_LIST);
	int		 rc;

	*n = 0;
	if ((rc = db_exec(db, st, "iii", account_id,
	    before > 0 ? before : INT64_MAX, (int64_t)max)) != TALLY_OK)
		return rc;
	while (*n < max && (rc = fetch_tx(db, st, &txs[*n])) == TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}

int
db_usage_stats(struct db *db, int64_t account_id, int64_t from, int64_t to,
    int by_operation, struct tally_usage_row *rows, size_t max, size_t *n)
{
	struct db_stmt	*st;
	int		 rc;

	*n = 0;
	if (account_id != 0) {
		st = stmt(db, by_operation ? W_USAGE_OPS : W_USAGE_DAYS);
		rc = db_exec(db, st, "iiii", account_id, from, to,
		    (int64_t)max);
	} else {
		st = stmt(db, by_operation ? W_USAGE_ALL_OPS :
		    W_USAGE_ALL_DAYS);
		rc = db_exec(db, st, "iii", from, to, (int64_t)max);
	}
	if (rc != TALLY_OK)
		return rc;
	while (*n < max && (rc = db_fetch(db, st, "sii", rows[*n].key,
	    sizeof(rows[*n].key), &rows[*n].uses, &rows[*n].credits)) ==
	    TALLY_OK)
		(*n)++;
	db_done(st);
	return rc == TALLY_OK || rc == TALLY_E_NOTFOUND ? TALLY_OK : rc;
}
