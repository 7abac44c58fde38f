/*
 * Quotas: the gate's request counting and the usage routes.
 *
 * Counting must not turn the gate (a read path, one cached SELECT) into a
 * write per request, nor serialise every user on one row.  So each
 * responder process keeps, per user, product and period, the units it
 * counted and has not written yet (pending) beside the counter as it last
 * read it from the database (base), in a hash table of 64 locks.  A
 * thread writes every process's pending units as one multi-row upsert
 * every gate.quota_flush_ms (200): a process adds one statement per
 * interval, whatever its traffic.  The database row is re-read at most
 * once a second per user and process, to see other processes' units.
 *
 * A process holds at most half that margin of one user's units in
 * memory: at that many it writes them at once and re-reads the row.
 *
 * Near the limit (the last 1%, at least 10 units) a unit is instead taken
 * from the row itself with a conditional upsert (db_usage_take): the row
 * lock orders the takers of all processes, so one process never passes
 * the limit, and several pass it by at most what the others hold in
 * memory: half the margin each.  A crash loses at most what the process
 * held (counted low, never high).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/ops/log.h"
#include "core/ops/quota.h"
#include "core/ops/store.h"
#include "core/result.h"
#include "db/db.h"
#include "db/db_sub.h"
#include "db/db_usage.h"

#define GATE_METRIC	"requests"
#define NLOCKS		64
#define NBUCKETS	4096
#define MAX_ENTRIES	200000
#define REFRESH_MS	1000
#define IDLE_MS		60000
#define FLUSH_ROWS	500

struct qent {
	struct qent	*next;
	char		 user[256];
	char		 product[CORE_ID_MAX];
	int64_t		 period_start;
	int64_t		 base;		/* the row, as last read or written */
	int64_t		 pending;	/* counted here, not written yet */
	int64_t		 base_ms;	/* when base was read */
	int64_t		 used_ms;	/* last counted */
};

static struct {
	pthread_mutex_t	 locks[NLOCKS];
	struct qent	*buckets[NBUCKETS];
	size_t		 n;		/* entries, under count_mu */
	pthread_mutex_t	 count_mu;
	const struct core_config *cfg;
	pthread_t	 thread;
	pthread_mutex_t	 stop_mu;
	pthread_cond_t	 stop_cv;
	int		 running, stopping;
} q = {
	.count_mu = PTHREAD_MUTEX_INITIALIZER,
	.stop_mu = PTHREAD_MUTEX_INITIALIZER,
	.stop_cv = PTHREAD_COND_INITIALIZER,
};

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t
hash(const char *user, const char *product, int64_t start)
{
	uint32_t	 h = 2166136261u;
	const char	*p;

	for (p = user; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ 0x1f) * 16777619u;
	for (p = product; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return (h ^ (uint32_t)start ^ (uint32_t)(start >> 32)) * 16777619u;
}

/* The entry of the key, made when missing (NULL: table full, or too long
 * a key).  Bucket b's lock is held. */
static struct qent *
entry(uint32_t b, const char *user, const char *product, int64_t start,
    int create)
{
	struct qent	*e;

	for (e = q.buckets[b]; e != NULL; e = e->next)
		if (e->period_start == start && strcmp(e->user, user) == 0 &&
		    strcmp(e->product, product) == 0)
			return e;
	if (!create || strlen(user) >= sizeof(e->user) ||
	    strlen(product) >= sizeof(e->product))
		return NULL;
	pthread_mutex_lock(&q.count_mu);
	if (q.n >= MAX_ENTRIES) {
		pthread_mutex_unlock(&q.count_mu);
		return NULL;
	}
	q.n++;
	pthread_mutex_unlock(&q.count_mu);
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		pthread_mutex_lock(&q.count_mu);
		q.n--;
		pthread_mutex_unlock(&q.count_mu);
		return NULL;
	}
	memcpy(e->user, user, strlen(user) + 1);
	memcpy(e->product, product, strlen(product) + 1);
	e->period_start = start;
	e->base_ms = -REFRESH_MS - 1;	/* read before the first use */
	e->next = q.buckets[b];
	q.buckets[b] = e;
	return e;
}

static int64_t
margin_of(int64_t limit)
{
	int64_t	 m = limit / 100;

	if (m < 10)
		m = 10;
	return m > limit ? limit : m;
}

/* Add n units to one counter now, in one statement (0: nothing). */
static int
add_one(struct db *db, const char *user, const char *product,
    const char *metric, int64_t start, int64_t n, int64_t now)
{
	json_t	*a;
	char	*text;
	int	 rc;

	if (n <= 0)
		return TALLY_OK;
	a = json_pack("[[s,s,s,I,I]]", user, product, metric,
	    (json_int_t)start, (json_int_t)n);
	if (a == NULL || (text = json_dumps(a, JSON_COMPACT)) == NULL) {
		json_decref(a);
		return TALLY_E_NOMEM;
	}
	json_decref(a);
	rc = db_usage_add_json(db, text, now);
	free(text);
	return rc;
}

static int64_t
cap_of(int64_t margin)
{
	return margin / 2 > 0 ? margin / 2 : 1;
}

int
op_quota_gate(struct db *db, const struct core_product *p, const char *user,
    int64_t period_start, int64_t now, struct op_quota *out)
{
	struct db_usage_add add;
	struct qent	*e;
	uint32_t	 h = hash(user, p->id, period_start);
	uint32_t	 b = h % NBUCKETS;
	pthread_mutex_t	*mu = &q.locks[h % NLOCKS];
	int64_t		 limit, margin, cap, t = now_ms(), used, n;
	int		 rc, tries, near;

	memset(out, 0, sizeof(*out));
	snprintf(out->metric, sizeof(out->metric), GATE_METRIC);
	if ((limit = core_product_quota(p, GATE_METRIC)) < 0) {
		out->limit = -1;
		return TALLY_OK;
	}
	out->limit = limit;
	margin = margin_of(limit);
	cap = cap_of(margin);
	for (tries = 0; ; tries++) {
		pthread_mutex_lock(mu);
		e = q.running ? entry(b, user, p->id, period_start, 1) : NULL;
		near = e == NULL || e->base + e->pending + 1 > limit - margin;
		if (!near && t - e->base_ms <= REFRESH_MS && e->pending < cap) {
			/* The common case: counted here, written later. */
			e->pending++;
			e->used_ms = t;
			out->used = e->base + e->pending;
			pthread_mutex_unlock(mu);
			return TALLY_OK;
		}
		/* Write what this process holds of the key first. */
		n = 0;
		if (e != NULL) {
			n = e->pending;
			e->base += n;
			e->pending = 0;
			e->used_ms = t;
		}
		pthread_mutex_unlock(mu);
		if ((rc = add_one(db, user, p->id, GATE_METRIC, period_start, n,
		    now)) != TALLY_OK) {
			pthread_mutex_lock(mu);
			if ((e = entry(b, user, p->id, period_start, 1)) !=
			    NULL) {
				e->pending += n;
				e->base -= n;
			}
			pthread_mutex_unlock(mu);
			return rc;
		}
		if (near || tries > 0)
			break;
		/* Stale, or this process's share written: read the row
		 * (everyone's units) and decide again. */
		if ((rc = db_usage_get(db, user, p->id, GATE_METRIC,
		    period_start, &used)) != TALLY_OK)
			return rc;
		pthread_mutex_lock(mu);
		if ((e = entry(b, user, p->id, period_start, 1)) != NULL) {
			if (used > e->base)
				e->base = used;
			e->base_ms = t;
		}
		pthread_mutex_unlock(mu);
	}
	/* Near the limit (or no room in the table): exact, in the row. */
	add.user_id = user;
	add.product = p->id;
	add.metric = GATE_METRIC;
	add.period_start = period_start;
	add.n = 1;
	rc = db_usage_take(db, &add, limit, now, &used);
	if (rc == TALLY_OK || rc == TALLY_E_QUOTA) {
		out->used = used;
		pthread_mutex_lock(mu);
		if ((e = entry(b, user, p->id, period_start, 0)) != NULL) {
			e->base = used;
			e->base_ms = t;
		}
		pthread_mutex_unlock(mu);
	}
	return rc;
}

/* One row of a flush, its strings copied out of the table. */
struct frow {
	char	 user[256];
	char	 product[CORE_ID_MAX];
	int64_t	 start, n;
};

static int
frow_cmp(const void *a, const void *b)
{
	const struct frow *x = a, *y = b;
	int	 c;

	if ((c = strcmp(x->user, y->user)) != 0)
		return c;
	if ((c = strcmp(x->product, y->product)) != 0)
		return c;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Put units that could not be written back, to be tried again. */
static void
give_back(const struct frow *r)
{
	uint32_t	 h = hash(r->user, r->product, r->start);
	struct qent	*e;

	pthread_mutex_lock(&q.locks[h % NLOCKS]);
	if ((e = entry(h % NBUCKETS, r->user, r->product, r->start, 1)) !=
	    NULL) {
		e->pending += r->n;
		e->base -= r->n;
	}
	pthread_mutex_unlock(&q.locks[h % NLOCKS]);
}

/* Take every pending unit out of the table (dropping idle entries) and
 * write them, FLUSH_ROWS a statement, in key order. */
static void
flush(struct db *db)
{
	struct frow	*rows = NULL, *nr;
	struct qent	**pp, *e;
	size_t		 n = 0, cap = 0, i, j, b;
	int64_t		 t = now_ms(), now = (int64_t)time(NULL);
	json_t		*a;
	char		*text;
	int		 rc;

	for (b = 0; b < NBUCKETS; b++) {
		pthread_mutex_t *mu = &q.locks[b % NLOCKS];

		/* Bucket b's entries hash to b, and b % NLOCKS is their
		 * lock (NBUCKETS is a multiple of NLOCKS). */
		pthread_mutex_lock(mu);
		for (pp = &q.buckets[b]; (e = *pp) != NULL; ) {
			if (e->pending > 0) {
				if (n == cap) {
					cap = cap ? cap * 2 : 256;
					if ((nr = realloc(rows, cap *
					    sizeof(*rows))) == NULL) {
						pthread_mutex_unlock(mu);
						goto write;
					}
					rows = nr;
				}
				memcpy(rows[n].user, e->user, sizeof(e->user));
				memcpy(rows[n].product, e->product,
				    sizeof(e->product));
				rows[n].start = e->period_start;
				rows[n].n = e->pending;
				n++;
				e->base += e->pending;
				e->pending = 0;
			} else if (t - e->used_ms > IDLE_MS) {
				*pp = e->next;
				free(e);
				pthread_mutex_lock(&q.count_mu);
				q.n--;
				pthread_mutex_unlock(&q.count_mu);
				continue;
			}
			pp = &e->next;
		}
		pthread_mutex_unlock(mu);
	}
write:
	if (n == 0) {
		free(rows);
		return;
	}
	qsort(rows, n, sizeof(*rows), frow_cmp);
	for (i = 0; i < n; i += FLUSH_ROWS) {
		size_t	 end = i + FLUSH_ROWS < n ? i + FLUSH_ROWS : n;

		a = json_array();
		for (j = i; j < end; j++)
			json_array_append_new(a, json_pack("[s,s,s,I,I]",
			    rows[j].user, rows[j].product, GATE_METRIC,
			    (json_int_t)rows[j].start, (json_int_t)rows[j].n));
		text = json_dumps(a, JSON_COMPACT);
		json_decref(a);
		rc = text != NULL ? db_usage_add_json(db, text, now) :
		    TALLY_E_NOMEM;
		free(text);
		if (rc != TALLY_OK) {
			core_log("warn", "quota.flush_failed", json_pack(
			    "{s:s,s:I}", "error", core_strerror(rc), "rows",
			    (json_int_t)(end - i)));
			for (j = i; j < end; j++)
				give_back(&rows[j]);
		}
	}
	free(rows);
}

static void *
flusher(void *arg)
{
	struct db	*db;
	struct timespec	 until;
	int64_t		 ms = q.cfg->gate_quota_flush_ms;
	int		 stop = 0;

	(void)arg;
	op_store_thread_init();
	db = op_store_new(q.cfg);
	while (!stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ms / 1000;
		until.tv_nsec += (ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&q.stop_mu);
		if (!q.stopping)
			pthread_cond_timedwait(&q.stop_cv, &q.stop_mu, &until);
		stop = q.stopping;
		pthread_mutex_unlock(&q.stop_mu);
		if (db != NULL)
			flush(db);
	}
	op_store_free(db);
	op_store_thread_end();
	return NULL;
}

int
op_quota_start(const struct core_config *cfg)
{
	size_t	 i;
	int	 any = 0;

	for (i = 0; i < cfg->nproducts; i++)
		if (core_product_quota(&cfg->products[i], GATE_METRIC) >= 0)
			any = 1;
	if (!any || q.running)
		return TALLY_OK;
	for (i = 0; i < NLOCKS; i++)
		pthread_mutex_init(&q.locks[i], NULL);
	q.cfg = cfg;
	q.running = 1;
	if (pthread_create(&q.thread, NULL, flusher, NULL) != 0) {
		q.running = 0;
		return TALLY_E_INTERNAL;
	}
	return TALLY_OK;
}

void
op_quota_stop(void)
{
	struct qent	*e, *next;
	size_t		 b;

	if (!q.running)
		return;
	pthread_mutex_lock(&q.stop_mu);
	q.stopping = 1;
	pthread_cond_signal(&q.stop_cv);
	pthread_mutex_unlock(&q.stop_mu);
	pthread_join(q.thread, NULL);
	q.running = 0;
	for (b = 0; b < NBUCKETS; b++)
		for (e = q.buckets[b]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	memset(q.buckets, 0, sizeof(q.buckets));
	q.n = 0;
}

/* Add amount units of metric whatever the limit; OUT: *out after it. */
static int
record_tx(struct db *db, const struct core_product *p, const char *metric,
    const char *user, int64_t period_start, int64_t amount, int64_t now,
    struct op_quota *out)
{
	int	 rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->metric, sizeof(out->metric), "%s", metric);
	out->limit = core_product_quota(p, metric);
	if ((rc = add_one(db, user, p->id, metric, period_start, amount,
	    now)) != TALLY_OK)
		return rc;
	return db_usage_get(db, user, p->id, metric, period_start,
	    &out->used);
}

int
op_quota_read(struct db *db, const struct core_product *p, const char *user,
    int64_t period_start, struct op_quota *out, size_t *n)
{
	size_t	 i;
	int	 rc;

	*n = 0;
	for (i = 0; i < p->nquotas; i++) {
		snprintf(out[i].metric, sizeof(out[i].metric), "%s",
		    p->quotas[i].metric);
		out[i].limit = p->quotas[i].limit;
		if ((rc = db_usage_get(db, user, p->id, p->quotas[i].metric,
		    period_start, &out[i].used)) != TALLY_OK)
			return rc;
		(*n)++;
	}
	return TALLY_OK;
}

/* The subscription of user to p, for its period; TALLY_E_NOTFOUND if none. */
static int
sub_period(struct db *db, const struct core_product *p, const char *user,
    struct op_quota_product *out)
{
	struct db_sub	 s;
	int		 rc;

	memset(out, 0, sizeof(*out));
	out->p = p;
	if ((rc = db_sub_get_by_user(db, user, p->id, &s)) != TALLY_OK)
		return rc;
	snprintf(out->status, sizeof(out->status), "%s", s.status);
	out->period_start = s.period_start;
	out->period_end = s.period_end;
	return TALLY_OK;
}

int
op_quota_list(struct db *db, const struct core_config *cfg, const char *user,
    struct op_quota_product *out, size_t *n)
{
	size_t	 i;
	int	 rc;

	*n = 0;
	for (i = 0; i < cfg->nproducts; i++) {
		const struct core_product *p = &cfg->products[i];

		if (p->nquotas == 0)
			continue;
		rc = sub_period(db, p, user, &out[*n]);
		if (rc == TALLY_E_NOTFOUND)
			continue;
		if (rc != TALLY_OK || (rc = op_quota_read(db, p, user,
		    out[*n].period_start, out[*n].q, &out[*n].nq)) != TALLY_OK)
			return rc;
		(*n)++;
	}
	return TALLY_OK;
}

int
op_quota_record(struct db *db, const struct core_config *cfg,
    const char *user, const char *product, const char *metric,
    int64_t amount, int64_t now, struct op_quota_product *out,
    const char **field)
{
	const struct core_product *p;
	int	 rc;

	*field = NULL;
	if ((p = core_config_product(cfg, product)) == NULL) {
		*field = "product";
		return TALLY_E_INVALID;
	}
	if (core_product_quota(p, metric) < 0) {
		*field = "metric";
		return TALLY_E_INVALID;
	}
	if ((rc = sub_period(db, p, user, out)) != TALLY_OK)
		return rc;
	if ((rc = record_tx(db, p, metric, user, out->period_start, amount,
	    now, &out->q[0])) != TALLY_OK)
		return rc;
	out->nq = 1;
	return TALLY_OK;
}
