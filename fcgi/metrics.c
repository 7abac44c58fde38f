/* Request counters shared by the responder processes (see metrics.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/ops/log.h"
#include "core/ops/store.h"
#include "fcgi/metrics.h"
#include "fcgi/router.h"

#define METRICS_MAGIC	0x74616c6c796d3031ULL	/* "tallym01" */

const int64_t metrics_bucket_us[METRICS_BUCKETS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000
};

/*
 * One thread's counters.  Only its owner adds to a slot (slot 0, the
 * overflow slot, excepted), so the adds never contend; they are atomic
 * all the same so that a scrape in another process reads whole values.
 * A slot outlives its process: the next thread that claims it carries
 * the counts on, and the sums never go down while the file exists.
 */
struct metrics_slot {
	uint64_t	 owner;		/* pid of the owning process; 0: free */
	uint64_t	 pad[7];	/* owner on a cache line of its own */
	uint64_t	 req[METRICS_ROUTES][METRICS_CLASSES];
	uint64_t	 lat[METRICS_ROUTES][METRICS_BUCKETS + 1];
	uint64_t	 lat_us[METRICS_ROUTES];
	uint64_t	 db_cnt[METRICS_DB];
} __attribute__((aligned(64)));

struct metrics_head {
	uint64_t	 magic;
	uint64_t	 layout;	/* hash of the shape and the routes */
	uint64_t	 high;		/* slots [0, high) were ever claimed */
	uint64_t	 created;
	uint64_t	 pad[4];
};

struct metrics_file {
	struct metrics_head head;
	struct metrics_slot slot[METRICS_SLOTS];
};

static struct metrics_file	*mf;
static int			 mf_shared;
static __thread struct metrics_slot *mine;
static __thread uint64_t	 seen_db[METRICS_DB];

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n-- > 0)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

/* The file's shape: another build with other routes gets another file. */
static uint64_t
layout_hash(void)
{
	uint64_t	 h = 0xcbf29ce484222325ULL, dims[4];
	const struct route *r;
	size_t		 i;

	dims[0] = sizeof(struct metrics_file);
	dims[1] = METRICS_ROUTES;
	dims[2] = METRICS_BUCKETS;
	dims[3] = METRICS_DB;
	h = fnv(h, dims, sizeof(dims));
	for (i = 0; (r = router_at(i)) != NULL; i++) {
		h = fnv(h, r->method, strlen(r->method) + 1);
		h = fnv(h, r->pattern, strlen(r->pattern) + 1);
	}
	return h;
}

static void
private_counters(const char *path, const char *why)
{
	core_log("warn", "metrics.private", json_pack("{s:s,s:s}", "file",
	    path, "error", why));
	mf = mmap(NULL, sizeof(*mf), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mf == MAP_FAILED)
		mf = NULL;
	else
		mf->head.high = 1;
	mf_shared = 0;
}

/* Map path when it holds a file of our layout (OUT: *stale when not). */
static struct metrics_file *
map_file(int fd, uint64_t layout, int *stale)
{
	struct metrics_file *m;
	struct stat	 st;

	*stale = 0;
	if (fstat(fd, &st) != 0)
		return NULL;
	if (st.st_size != 0 && st.st_size != (off_t)sizeof(*m)) {
		*stale = 1;
		return NULL;
	}
	if (st.st_size == 0 && ftruncate(fd, (off_t)sizeof(*m)) != 0)
		return NULL;
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return NULL;
	if (st.st_size == 0) {
		m->head.layout = layout;
		m->head.created = (uint64_t)time(NULL);
		m->head.high = 1;
		__atomic_store_n(&m->head.magic, METRICS_MAGIC,
		    __ATOMIC_RELEASE);
		return m;
	}
	if (__atomic_load_n(&m->head.magic, __ATOMIC_ACQUIRE) !=
	    METRICS_MAGIC || m->head.layout != layout) {
		munmap(m, sizeof(*m));
		*stale = 1;
		return NULL;
	}
	return m;
}

int
metrics_open(const char *path)
{
	struct metrics_file *m = NULL;
	struct stat	 a, b;
	uint64_t	 layout = layout_hash();
	int		 fd, stale, attempt;

	if (router_count() + METRICS_X__MAX > METRICS_ROUTES)
		core_log("error", "metrics.routes", json_pack("{s:i,s:i}",
		    "routes", (int)router_count(), "max", METRICS_ROUTES));
	for (attempt = 0; attempt < 3 && m == NULL; attempt++) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			break;
		/* Whoever creates the file writes its head under the lock. */
		if (flock(fd, LOCK_EX) != 0) {
			close(fd);
			break;
		}
		m = map_file(fd, layout, &stale);
		/*
		 * A file of another build: take it away (processes of that
		 * build keep their mapping) and make a new one, unless
		 * another process replaced it already.
		 */
		if (m == NULL && stale && fstat(fd, &a) == 0 &&
		    stat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			unlink(path);
		flock(fd, LOCK_UN);
		close(fd);
		if (m == NULL && !stale)
			break;
	}
	if (m == NULL) {
		private_counters(path, strerror(errno));
		return -1;
	}
	mf = m;
	mf_shared = 1;
	return 0;
}

/* Whether the process owner still runs (EPERM: it does, as another user). */
static int
owner_alive(uint64_t pid)
{
	if (pid == 0)
		return 0;
	if (pid > (uint64_t)INT32_MAX)
		return 0;
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

void
metrics_thread_init(void)
{
	struct metrics_slot *s;
	uint64_t	 me = (uint64_t)getpid(), o, high;
	size_t		 i;

	if (mf == NULL)
		return;
	mine = &mf->slot[0];
	for (i = 1; i < METRICS_SLOTS; i++) {
		s = &mf->slot[i];
		o = __atomic_load_n(&s->owner, __ATOMIC_ACQUIRE);
		if (o == me || owner_alive(o))
			continue;
		if (!__atomic_compare_exchange_n(&s->owner, &o, me, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			continue;
		mine = s;
		high = __atomic_load_n(&mf->head.high, __ATOMIC_RELAXED);
		while (high < i + 1 && !__atomic_compare_exchange_n(
		    &mf->head.high, &high, i + 1, 0, __ATOMIC_RELAXED,
		    __ATOMIC_RELAXED))
			continue;
		return;
	}
	/* Every slot taken: share slot 0 (its adds are atomic too). */
}

void
metrics_thread_end(void)
{
	if (mine != NULL && mine != &mf->slot[0])
		__atomic_store_n(&mine->owner, 0, __ATOMIC_RELEASE);
	mine = NULL;
}

#define ADD(p, n)	__atomic_fetch_add((p), (n), __ATOMIC_RELAXED)

void
metrics_request(size_t route, int status, int64_t us, const struct db *db)
{
	uint64_t	 cnt[METRICS_DB];
	size_t		 b, i;
	int		 cls;

	if (mine == NULL)
		return;
	if (route >= METRICS_ROUTES)
		route = METRICS_ROUTES - 1;
	cls = status / 100 - 1;
	if (cls < 0)
		cls = 0;
	if (cls >= METRICS_CLASSES)
		cls = METRICS_CLASSES - 1;
	if (us < 0)
		us = 0;
	for (b = 0; b < METRICS_BUCKETS && us > metrics_bucket_us[b]; b++)
		continue;
	ADD(&mine->req[route][cls], 1);
	ADD(&mine->lat[route][b], 1);
	ADD(&mine->lat_us[route], (uint64_t)us);
	/* The handle's counts only grow: add what is new. */
	op_store_counts(db, cnt);
	for (i = 0; i < METRICS_DB; i++)
		if (cnt[i] > seen_db[i]) {
			ADD(&mine->db_cnt[i], cnt[i] - seen_db[i]);
			seen_db[i] = cnt[i];
		}
}

#define LOAD(p)	__atomic_load_n((p), __ATOMIC_RELAXED)

void
metrics_read(struct metrics_totals *t)
{
	const struct metrics_slot *s;
	size_t		 n, i, r, k;

	memset(t, 0, sizeof(*t));
	t->shared = mf_shared;
	if (mf == NULL)
		return;
	n = (size_t)LOAD(&mf->head.high);
	if (n == 0 || n > METRICS_SLOTS)
		n = METRICS_SLOTS;
	t->slots_used = n - 1;	/* slot 0 is the shared overflow slot */
	for (i = 0; i < n; i++) {
		s = &mf->slot[i];
		for (r = 0; r < METRICS_ROUTES; r++) {
			for (k = 0; k < METRICS_CLASSES; k++)
				t->req[r][k] += LOAD(&s->req[r][k]);
			for (k = 0; k <= METRICS_BUCKETS; k++)
				t->lat[r][k] += LOAD(&s->lat[r][k]);
			t->lat_us[r] += LOAD(&s->lat_us[r]);
		}
		for (k = 0; k < METRICS_DB; k++)
			t->db_cnt[k] += LOAD(&s->db_cnt[k]);
	}
}
