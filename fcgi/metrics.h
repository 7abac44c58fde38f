/* Request counters shared by every responder process of one installation:
 * one file mapped MAP_SHARED, one slot per thread, relaxed atomic adds. */
#ifndef FCGI_METRICS_H
#define FCGI_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/ops/store.h"

struct db;

/* Route label indexes past the route table (router_count() + these). */
enum metrics_extra {
	METRICS_X_GATE,		/* the AUTHORIZER role */
	METRICS_X_UNMATCHED,	/* 404 and 405 before any route */
	METRICS_X_PREFLIGHT,	/* CORS OPTIONS */
	METRICS_X__MAX
};

#define METRICS_ROUTES		96	/* route table + extras, at most */
#define METRICS_CLASSES		5	/* 1xx .. 5xx */
#define METRICS_BUCKETS		13	/* upper bounds; one more for +Inf */
#define METRICS_SLOTS		512

/* Database errors by kind, then the debit packets (op_store_counts). */
#define METRICS_DB		OP_STORE_COUNTS

/* Upper bounds of the latency buckets, in microseconds. */
extern const int64_t metrics_bucket_us[METRICS_BUCKETS];

/* Sums over every slot, for rendering. */
struct metrics_totals {
	uint64_t	 req[METRICS_ROUTES][METRICS_CLASSES];
	uint64_t	 lat[METRICS_ROUTES][METRICS_BUCKETS + 1];
	uint64_t	 lat_us[METRICS_ROUTES];
	uint64_t	 db_cnt[METRICS_DB];
	size_t		 slots_used;	/* slots ever claimed */
	int		 shared;	/* 0: this process's own counts only */
};

/*
 * Map the counters file at path (created when missing; recreated when it
 * was made by a build with another route table), once per process before
 * the threads start.  When it cannot be opened the counters live in this
 * process's memory only (logged).  Returns 0 shared, -1 private.
 */
int	 metrics_open(const char *path);

/* Claim a slot for this thread (a free one, or a dead process's, whose
 * counts it carries on); release it when the thread ends. */
void	 metrics_thread_init(void);
void	 metrics_thread_end(void);

/*
 * Count one answered request: route is a router index or router_count()
 * + enum metrics_extra; us its duration.  The database errors this
 * thread's handle has seen since its last request are added too.  No lock
 * and no system call: a few relaxed atomic adds on this thread's slot.
 */
void	 metrics_request(size_t route, int status, int64_t us,
	    const struct db *db);

/* Sum every slot into *t. */
void	 metrics_read(struct metrics_totals *t);

#endif
