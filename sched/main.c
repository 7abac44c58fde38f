/* tally-scheduler: runs the billing jobs every scheduler.tick_seconds. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/ops/log.h"
#include "core/ops/config.h"
#include "core/ops/metrics.h"
#include "core/ops/store.h"
#include "core/result.h"
#include "core/timeutil.h"
#include "sched/sched.h"

/* In order: payments settle before anything expires, and charges come
 * before mail so that their emails go out in the same tick. */
static const struct sched_job jobs[] = {
	{ "reconcile-lightning", job_reconcile_lightning },
	{ "expire-purchases", job_expire_purchases },
	{ "charge-recurring", job_charge_recurring },
	{ "invoice-expiry", job_invoice_expiry },
	{ "invoice-renewals", job_invoice_renewals },
	{ "plan-billing", job_plan_billing },
	{ "deliver-mail", job_deliver_mail },
	{ "purge", job_purge },
};

#define NJOBS (sizeof(jobs) / sizeof(jobs[0]))

static volatile int	 stop;
static sigset_t		 sigs;

static void
usage(void)
{
	fprintf(stderr, "usage: tally-scheduler [--config FILE] [--once] "
	    "[--now YYYY-MM-DDTHH:MM:SSZ]\n");
	exit(2);
}

/* Take a pending SIGTERM/SIGINT without waiting. */
static void
poll_signals(void)
{
	struct timespec	 zero = { 0, 0 };

	if (sigtimedwait(&sigs, NULL, &zero) > 0)
		stop = 1;
}

/*
 * The run in the database's scheduler record (the metrics read it there,
 * whichever scheduler ran the job).  Failing to record is logged; the
 * job's work stands.
 */
static void
record_run(struct sched_ctx *ctx, const char *job, int64_t started,
    int64_t ms, int rc, const json_t *counts)
{
	int	 r;

	r = op_metrics_job_record(ctx->db, job, started, ms,
	    rc == TALLY_OK ? NULL : core_strerror(rc), counts);
	if (r != TALLY_OK)
		core_log("warn", "sched.record", json_pack("{s:s,s:s,s:s}",
		    "job", job, "error", core_strerror(r), "db",
		    op_store_error(ctx->db)));
}

static void
record_skip(struct sched_ctx *ctx, const char *job)
{
	if (op_metrics_job_skipped(ctx->db, job) != TALLY_OK)
		core_log("warn", "sched.record", json_pack("{s:s,s:s}", "job",
		    job, "db", op_store_error(ctx->db)));
}

/*
 * One tick: every job in order.  Each job runs under a named server lock
 * so that two schedulers on one database never run the same job at once;
 * the jobs' own unique keys keep effects single even without it.
 */
static void
tick(struct sched_ctx *ctx)
{
	struct timespec	 t0, t1;
	json_t		*counts;
	char		 lock[96];
	int64_t		 started, ms;
	size_t		 i;
	int		 rc;

	for (i = 0; i < NJOBS && !stop; i++) {
		snprintf(lock, sizeof(lock), "tally.job.%s", jobs[i].name);
		if ((rc = op_store_lock_try(ctx->db, lock)) != TALLY_OK) {
			core_log(rc == TALLY_E_CONFLICT ? "info" : "error",
			    "sched.job.skipped", json_pack("{s:s,s:s}", "job",
			    jobs[i].name, "why", core_strerror(rc)));
			if (rc == TALLY_E_CONFLICT)
				record_skip(ctx, jobs[i].name);
			continue;
		}
		counts = json_object();
		started = (int64_t)time(NULL);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = jobs[i].run(ctx, counts);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		op_store_unlock(ctx->db, lock);
		ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000;
		record_run(ctx, jobs[i].name, started, ms, rc, counts);
		json_object_set_new(counts, "job", json_string(jobs[i].name));
		json_object_set_new(counts, "ms", json_integer(ms));
		if (rc != TALLY_OK) {
			json_object_set_new(counts, "error",
			    json_string(core_strerror(rc)));
			json_object_set_new(counts, "db",
			    json_string(op_store_error(ctx->db)));
		}
		core_log(rc == TALLY_OK ? "info" : "error", "sched.job", counts);
		poll_signals();
	}
}

int
main(int argc, char *argv[])
{
	struct core_config cfg;
	struct sched_ctx ctx;
	struct timespec	 wait;
	const char	*config = NULL, *now_arg = NULL;
	char		 err[512];
	int64_t		 fixed_now = 0, offset = 0;
	int		 i, once = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--once") == 0)
			once = 1;
		else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc)
			now_arg = argv[++i];
		else
			usage();
	}
	if (op_config_load(op_config_path(config), &cfg, err, sizeof(err)) !=
	    TALLY_OK) {
		fprintf(stderr, "tally-scheduler: %s\n", err);
		return 1;
	}
	if (now_arg != NULL) {
		if (core_time_parse_iso(now_arg, &fixed_now) != TALLY_OK) {
			fprintf(stderr, "tally-scheduler: --now: expected "
			    "YYYY-MM-DDTHH:MM:SSZ\n");
			return 1;
		}
		/* Later ticks keep the same distance from the real clock. */
		offset = fixed_now - (int64_t)time(NULL);
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	if (op_store_library_init() != TALLY_OK ||
	    curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "tally-scheduler: cannot initialise MariaDB\n");
		return 1;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	ctx.stop = &stop;
	if ((ctx.db = op_store_new(&cfg)) == NULL)
		return 1;
	core_log("info", "sched.start", json_pack("{s:i,s:b}", "tick_seconds",
	    (int)cfg.tick_seconds, "once", once));
	while (!stop) {
		ctx.now = (int64_t)time(NULL) + offset;
		if (op_store_connect(ctx.db) != TALLY_OK)
			core_log("error", "sched.db", json_pack("{s:s}", "error",
			    op_store_error(ctx.db)));
		else
			tick(&ctx);
		if (once)
			break;
		/* Sleep until the next tick, or until a signal ends us. */
		wait.tv_sec = (time_t)cfg.tick_seconds;
		wait.tv_nsec = 0;
		if (sigtimedwait(&sigs, NULL, &wait) > 0)
			stop = 1;
	}
	core_log("info", "sched.stop", NULL);
	op_store_free(ctx.db);
	op_store_library_end();
	return 0;
}
