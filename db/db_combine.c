/*
 * Group commit of ledger calls: the own-transaction ledger calls (debits,
 * the hot path) that the threads of one process make at the same moment
 * share one round trip and one transaction.
 *
 * Why: on a machine where MariaDB and the responders share the cores, a
 * debit's cost is mostly per statement and per round trip (the server's
 * network read and write, its dispatch, the CALL's set-up, the COMMIT, and
 * the context switches on both sides), not the row work: N calls sent in
 * one multi-statement packet cost MariaDB about 60% (N = 4) to 50% (N = 8)
 * of N packets of one call each (README "Performance").
 *
 * How: a thread that wants a call queues it.  When no batch of this process
 * is in flight, it becomes the leader: it takes the queue (up to the
 * configured size), sends
 *     START TRANSACTION; CALL tally_ledger_apply(..., own_tx 0, ...); ...;
 *     COMMIT
 * as one packet on its own connection, reads one result row per CALL, and
 * hands each waiting thread its answer.  While a batch is in flight the next
 * one gathers, so the batch size follows the load: a request that finds
 * nothing in flight goes alone, through the prepared statement, and waits
 * for nobody.
 *
 * Exactness: every call keeps its own answer (a refusal, insufficient
 * credits or an unknown account, is an answer inside the routine and does
 * not stop the batch).  A server error anywhere (a deadlock, a Galera
 * certification failure at COMMIT) rolls the whole batch back, and then each
 * call runs again alone, on its own thread's connection, with the usual
 * retries: nothing is applied twice, since nothing of the batch committed.
 * A connection lost after the packet was sent leaves the outcome unknown,
 * exactly as for a single call: every call of the batch answers
 * unavailable (503) and is not sent again.  Calls are ordered by account in
 * the packet, so two batches lock accounts in the same order.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_wallet.h"

#define COMBINE_MAX	64	/* calls in one packet, at most */
/*
 * Packets in flight per process.  One: with two, the packets were smaller
 * and the debits no more (measured with 4 threads a process, README
 * "Performance").
 */
#define LEADERS		1

enum member_state {
	M_QUEUED,
	M_TAKEN,		/* in a batch in flight */
	M_DONE,			/* rc and *r are the answer */
	M_ALONE			/* run it alone (the batch was rolled back) */
};

struct member {
	const struct db_ledger_change *c;
	struct db_ledger_result *r;
	const char	*hooks;
	int		 rc;
	enum member_state outcome;	/* the leader's, until state says */
	enum member_state state;	/* under mu */
	pthread_cond_t	 cv;
	struct member	*next;
};

static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static struct member	*head, **tailp = &head;
static int		 busy;		/* packets in flight, at most LEADERS */

static void
enqueue(struct member *m)
{
	m->next = NULL;
	*tailp = m;
	tailp = &m->next;
}

/* Up to max queued members, in queue order.  Called with mu held. */
static size_t
take(struct member **out, size_t max)
{
	size_t	 n = 0;

	while (head != NULL && n < max) {
		out[n] = head;
		head->state = M_TAKEN;
		head = head->next;
		n++;
	}
	if (head == NULL)
		tailp = &head;
	return n;
}

/* Append s (NULL: the word NULL) as a quoted SQL string. */
static int
put_str(struct db *db, char **p, char *end, const char *s)
{
	size_t	 len;

	if (s == NULL) {
		if (end - *p < 5)
			return -1;
		memcpy(*p, "NULL,", 5);
		*p += 5;
		return 0;
	}
	len = strlen(s);
	if ((size_t)(end - *p) < 2 * len + 4)
		return -1;
	*(*p)++ = '\'';
	*p += mysql_real_escape_string(db->conn, *p, s, (unsigned long)len);
	*(*p)++ = '\'';
	*(*p)++ = ',';
	return 0;
}

static int
put_int(char **p, char *end, int64_t v)
{
	int	 n = snprintf(*p, (size_t)(end - *p), "%lld,", (long long)v);

	if (n < 0 || n >= end - *p)
		return -1;
	*p += n;
	return 0;
}

static int
put_lit(char **p, char *end, const char *s)
{
	size_t	 n = strlen(s);

	if ((size_t)(end - *p) < n + 1)
		return -1;
	memcpy(*p, s, n + 1);
	*p += n;
	return 0;
}

/* One CALL of m, own_tx 0 (the packet's transaction), then ';'. */
static int
put_call(struct db *db, char **p, char *end, const struct member *m)
{
	const struct db_ledger_change *c = m->c;

	if (put_lit(p, end, "CALL tally_ledger_apply(") != 0 ||
	    put_int(p, end, c->account_id) != 0 ||
	    put_str(db, p, end, c->user_id) != 0 ||
	    put_str(db, p, end, c->kind) != 0 ||
	    put_int(p, end, c->amount) != 0 ||
	    put_str(db, p, end, c->operation) != 0 ||
	    put_str(db, p, end, c->description) != 0 ||
	    put_str(db, p, end, c->effect_key) != 0 ||
	    put_int(p, end, c->now) != 0 ||
	    put_str(db, p, end, c->email) != 0 ||
	    put_str(db, p, end, c->locale) != 0 ||
	    put_lit(p, end, "0,") != 0 ||
	    put_str(db, p, end, m->hooks) != 0)
		return -1;
	(*p)[-1] = ')';		/* the last argument's comma */
	return put_lit(p, end, ";");
}

/* Order of the calls in the packet: by account, so batches lock alike. */
static int
by_account(const void *a, const void *b)
{
	const struct db_ledger_change *x = (*(struct member *const *)a)->c;
	const struct db_ledger_change *y = (*(struct member *const *)b)->c;

	if (x->account_id != y->account_id)
		return x->account_id < y->account_id ? -1 : 1;
	if (x->user_id == NULL || y->user_id == NULL)
		return (x->user_id != NULL) - (y->user_id != NULL);
	return strcmp(x->user_id, y->user_id);
}

static int64_t
col_int(MYSQL_ROW row, unsigned int i)
{
	return row[i] != NULL ? strtoll(row[i], NULL, 10) : 0;
}

/* The routine's answer row (see call_result() in db_wallet.c). */
static int
row_result(MYSQL_RES *res, struct db_ledger_result *r)
{
	struct tally_tx	*tx = &r->tx;
	MYSQL_ROW	 row;

	memset(r, 0, sizeof(*r));
	if (mysql_num_fields(res) != 10 || (row = mysql_fetch_row(res)) ==
	    NULL)
		return TALLY_E_INTERNAL;
	r->account_id = col_int(row, 1);
	r->balance = col_int(row, 2);
	tx->id = col_int(row, 3);
	snprintf(tx->kind, sizeof(tx->kind), "%s", row[4] ? row[4] : "");
	tx->amount = col_int(row, 5);
	tx->balance_after = col_int(row, 6);
	if ((tx->has_operation = row[7] != NULL))
		snprintf(tx->operation, sizeof(tx->operation), "%s", row[7]);
	if ((tx->has_description = row[8] != NULL))
		snprintf(tx->description, sizeof(tx->description), "%s",
		    row[8]);
	tx->created_at = col_int(row, 9);
	return db_ledger_status(col_int(row, 0));
}

static size_t
len0(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

/* Bytes put_call needs for m at most (every string escaped doubles). */
static size_t
call_cap(const struct member *m)
{
	const struct db_ledger_change *c = m->c;

	return 200 + 2 * (len0(c->user_id) + len0(c->kind) +
	    len0(c->operation) + len0(c->description) + len0(c->effect_key) +
	    len0(c->email) + len0(c->locale) + len0(m->hooks));
}

/*
 * The packet's answers, in order: START's OK, then per CALL its row (into
 * m[*got]) and its OK, then COMMIT's OK.  0 when all came, or nonzero
 * with the error on db->conn.
 */
static int
read_answers(struct db *db, struct member **m, size_t n, size_t *got)
{
	MYSQL_RES	*res;
	int		 status;

	for (*got = 0; ; ) {
		if ((res = mysql_store_result(db->conn)) != NULL) {
			if (*got < n)
				m[*got]->rc = row_result(res, m[*got]->r);
			(*got)++;
			mysql_free_result(res);
		} else if (mysql_field_count(db->conn) != 0)
			return 1;	/* a row that could not be read */
		if ((status = mysql_next_result(db->conn)) != 0)
			return status > 0 ? status : 0;
	}
}

/*
 * Run members m[0..n) (n >= 2) as one packet on db.  Each member's
 * outcome is M_DONE (with its rc) or M_ALONE; the leader publishes it in
 * state under mu (until then the members wait, their c and r in use).
 */
static void
run_batch(struct db *db, struct member **m, size_t n)
{
	size_t		 cap, i, got = 0;
	char		*sql, *p, *end;
	int		 status;

	for (i = 0; i < n; i++)
		m[i]->outcome = M_ALONE;
	if (db_connect(db) != TALLY_OK || db_multi_statements(db) != TALLY_OK)
		return;
	qsort(m, n, sizeof(*m), by_account);
	cap = 32;
	for (i = 0; i < n; i++)
		cap += call_cap(m[i]);
	if ((sql = malloc(cap)) == NULL)
		return;
	p = sql;
	end = sql + cap;
	status = put_lit(&p, end, "START TRANSACTION;");
	for (i = 0; i < n && status == 0; i++)
		status = put_call(db, &p, end, m[i]);
	if (status == 0)
		status = put_lit(&p, end, "COMMIT");
	if (status != 0) {
		free(sql);
		return;		/* no room: cannot happen (call_cap) */
	}
	status = mysql_real_query(db->conn, sql, (unsigned long)(p - sql));
	free(sql);
	if (status != 0 && mysql_errno(db->conn) == 2006) {
		/* It never left: the calls go alone. */
		db_classify(db, 2006, mysql_error(db->conn));
		return;
	}
	/* Sent: as for one call, db_call must not send the leader's again. */
	db->sent = 1;
	db->ncount[DB_CNT_BATCHES]++;
	db->ncount[DB_CNT_BATCHED] += n;
	if (status == 0)
		status = read_answers(db, m, n, &got);
	if (status != 0 && db_classify(db, mysql_errno(db->conn),
	    mysql_error(db->conn)) == TALLY_E_UNAVAILABLE)
		goto unknown;
	if (status == 0 && got == n) {
		for (i = 0; i < n; i++)
			m[i]->outcome = M_DONE;
		return;
	}
	/* Nothing committed: roll back, then each call goes alone. */
	db->ncount[DB_CNT_ALONE]++;
	if (mysql_rollback(db->conn) == 0)
		return;
	db->dead = 1;
unknown:
	/* The packet may have committed: as for one call, a 503. */
	for (i = 0; i < n; i++) {
		m[i]->outcome = M_DONE;
		m[i]->rc = TALLY_E_UNAVAILABLE;
	}
}

int
db_ledger_call_shared(struct db *db, const struct db_ledger_change *c,
    struct db_ledger_result *r)
{
	struct member	 me, *batch[COMBINE_MAX];
	size_t		 i, n, max;

	max = db->cfg != NULL ? (size_t)db->cfg->db_batch_debits : 1;
	if (max > COMBINE_MAX)
		max = COMBINE_MAX;
	if (!c->own_tx || max < 2)
		return db_ledger_call(db, c, r);
	memset(&me, 0, sizeof(me));
	me.c = c;
	me.r = r;
	me.hooks = db_ledger_hooks(db, c->amount);
	me.state = M_QUEUED;
	pthread_cond_init(&me.cv, NULL);
	pthread_mutex_lock(&mu);
	enqueue(&me);
	while (me.state == M_QUEUED || me.state == M_TAKEN) {
		if (busy >= LEADERS || me.state == M_TAKEN) {
			pthread_cond_wait(&me.cv, &mu);
			continue;
		}
		/* Lead: take the queue (me among it, or still queued). */
		busy++;
		n = take(batch, max);
		pthread_mutex_unlock(&mu);
		if (n == 1) {
			batch[0]->outcome = M_DONE;
			batch[0]->rc = db_ledger_call(db, batch[0]->c,
			    batch[0]->r);
		} else
			run_batch(db, batch, n);
		pthread_mutex_lock(&mu);
		busy--;
		for (i = 0; i < n; i++) {
			batch[i]->state = batch[i]->outcome;
			if (batch[i] != &me)
				pthread_cond_signal(&batch[i]->cv);
		}
		/* The next leader: whoever heads the queue now. */
		if (head != NULL)
			pthread_cond_signal(&head->cv);
	}
	pthread_mutex_unlock(&mu);
	pthread_cond_destroy(&me.cv);
	if (me.state == M_ALONE)
		return db_ledger_call(db, c, r);
	return me.rc;
}
