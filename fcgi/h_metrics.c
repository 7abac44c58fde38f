/* GET /admin/metrics: the Prometheus text exposition format (0.0.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops/metrics.h"
#include "core/result.h"
#include "fcgi/handlers.h"
#include "fcgi/http.h"
#include "fcgi/metrics.h"
#include "fcgi/router.h"

#define CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

static const char *const class_names[METRICS_CLASSES] = {
	"1xx", "2xx", "3xx", "4xx", "5xx"
};

static const char *const db_names[METRICS_DB] = {
	"unavailable", "retry", "other", "batches", "batched", "alone"
};

/* A label value with \, " and newline escaped, as the format wants. */
static void
put_label(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*v, f);
	}
}

/* Microseconds as decimal seconds, without trailing zeros ("0.0025"). */
static void
put_seconds(FILE *f, uint64_t us)
{
	char	 frac[8];
	size_t	 n;

	snprintf(frac, sizeof(frac), "%06llu",
	    (unsigned long long)(us % 1000000));
	for (n = strlen(frac); n > 0 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	fprintf(f, "%llu%s%s", (unsigned long long)(us / 1000000),
	    n > 0 ? "." : "", frac);
}

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The method and route labels of route index r. */
static void
put_route(FILE *f, size_t r)
{
	static const char *const extra[METRICS_X__MAX][2] = {
		[METRICS_X_GATE] = { "AUTHORIZER", "(gate)" },
		[METRICS_X_UNMATCHED] = { "*", "(unmatched)" },
		[METRICS_X_PREFLIGHT] = { "OPTIONS", "(preflight)" },
	};
	const struct route *rt = router_at(r);
	size_t		 x = r - router_count();

	fputs("method=\"", f);
	put_label(f, rt != NULL ? rt->method : x < METRICS_X__MAX ?
	    extra[x][0] : "*");
	fputs("\",route=\"", f);
	if (rt != NULL) {
		fputs("/api/v1", f);
		put_label(f, rt->pattern);
	} else
		put_label(f, x < METRICS_X__MAX ? extra[x][1] : "(other)");
	fputc('"', f);
}

static void
render_requests(FILE *f, const struct metrics_totals *t)
{
	uint64_t	 count, cum;
	size_t		 r, k;

	family(f, "tally_http_requests_total", "counter", "Requests answered "
	    "by the responders (every process), by route and status class.");
	for (r = 0; r < METRICS_ROUTES; r++)
		for (k = 0; k < METRICS_CLASSES; k++) {
			if (t->req[r][k] == 0)
				continue;
			fputs("tally_http_requests_total{", f);
			put_route(f, r);
			fprintf(f, ",status=\"%s\"} %llu\n", class_names[k],
			    (unsigned long long)t->req[r][k]);
		}
	family(f, "tally_http_request_duration_seconds", "histogram",
	    "Time from the request's arrival at the responder to its answer.");
	for (r = 0; r < METRICS_ROUTES; r++) {
		for (count = 0, k = 0; k <= METRICS_BUCKETS; k++)
			count += t->lat[r][k];
		if (count == 0)
			continue;
		for (cum = 0, k = 0; k <= METRICS_BUCKETS; k++) {
			cum += t->lat[r][k];
			fputs("tally_http_request_duration_seconds_bucket{", f);
			put_route(f, r);
			fputs(",le=\"", f);
			if (k < METRICS_BUCKETS)
				put_seconds(f, (uint64_t)metrics_bucket_us[k]);
			else
				fputs("+Inf", f);
			fprintf(f, "\"} %llu\n", (unsigned long long)cum);
		}
		fputs("tally_http_request_duration_seconds_sum{", f);
		put_route(f, r);
		fputs("} ", f);
		put_seconds(f, t->lat_us[r]);
		fputs("\ntally_http_request_duration_seconds_count{", f);
		put_route(f, r);
		fprintf(f, "} %llu\n", (unsigned long long)count);
	}
	family(f, "tally_db_errors_total", "counter", "Database errors met by "
	    "the responders: unavailable (cannot connect, connection lost), "
	    "retry (deadlock, lock wait timeout), other.");
	for (k = 0; k < OP_STORE_ERRORS; k++)
		fprintf(f, "tally_db_errors_total{kind=\"%s\"} %llu\n",
		    db_names[k], (unsigned long long)t->db_cnt[k]);
	family(f, "tally_db_debit_batches_total", "counter", "Debits sent "
	    "together, several in one round trip and transaction "
	    "([database] batch_debits): packets sent (kind=batches), debits "
	    "in them (batched), packets rolled back after a server error "
	    "whose debits then ran one by one (alone).");
	for (k = OP_STORE_ERRORS; k < METRICS_DB; k++)
		fprintf(f, "tally_db_debit_batches_total{kind=\"%s\"} %llu\n",
		    db_names[k], (unsigned long long)t->db_cnt[k]);
	family(f, "tally_metrics_shared", "gauge", "1 when the counters are "
	    "shared by every responder process (http.metrics_file), 0 when "
	    "they are this process's only.");
	fprintf(f, "tally_metrics_shared %d\n", t->shared);
	family(f, "tally_metrics_slots", "gauge", "Responder threads that "
	    "ever counted into the shared file.");
	fprintf(f, "tally_metrics_slots %zu\n", t->slots_used);
}

static void
gauge(FILE *f, const char *name, const char *help, int64_t v)
{
	family(f, name, "gauge", help);
	fprintf(f, "%s %lld\n", name, (long long)v);
}

/* One labelled sample per job of an integer field. */
#define PER_JOB(f, m, name, field) do {					\
	size_t _j;							\
	for (_j = 0; _j < (m)->njobs; _j++) {				\
		fputs(name "{job=\"", f);				\
		put_label(f, (m)->jobs[_j].job);			\
		fprintf(f, "\"} %lld\n", (long long)(m)->jobs[_j].field); \
	}								\
} while (0)

static void
render_database(FILE *f, const struct op_metrics_db *m, int64_t now)
{
	const struct db_outbox_stats *o = &m->outbox;
	size_t		 i;

	gauge(f, "tally_outbox_pending", "Emails waiting to be sent.",
	    o->pending);
	gauge(f, "tally_outbox_due", "Pending emails due now (the scheduler's "
	    "deliver-mail job sends them).", o->pending_due);
	gauge(f, "tally_outbox_retrying", "Pending emails that failed at "
	    "least once and wait for their next attempt.", o->retrying);
	gauge(f, "tally_outbox_failed", "Emails given up after their last "
	    "attempt.", o->failed);
	gauge(f, "tally_outbox_oldest_pending_age_seconds", "Age of the "
	    "oldest pending email (0: none).", o->oldest_pending_at > 0 &&
	    now > o->oldest_pending_at ? now - o->oldest_pending_at : 0);

	family(f, "tally_scheduler_job_runs_total", "counter", "Runs of each "
	    "scheduler job, over every scheduler on the database.");
	PER_JOB(f, m, "tally_scheduler_job_runs_total", runs);
	family(f, "tally_scheduler_job_failures_total", "counter", "Runs "
	    "that ended with an error.");
	PER_JOB(f, m, "tally_scheduler_job_failures_total", failures);
	family(f, "tally_scheduler_job_skipped_total", "counter", "Ticks that "
	    "skipped the job because another scheduler was running it.");
	PER_JOB(f, m, "tally_scheduler_job_skipped_total", skipped);
	family(f, "tally_scheduler_job_duration_seconds", "summary", "Time "
	    "the job's runs took.");
	for (i = 0; i < m->njobs; i++) {
		fputs("tally_scheduler_job_duration_seconds_sum{job=\"", f);
		put_label(f, m->jobs[i].job);
		fputs("\"} ", f);
		put_seconds(f, (uint64_t)m->jobs[i].total_ms * 1000);
		fputs("\ntally_scheduler_job_duration_seconds_count{job=\"", f);
		put_label(f, m->jobs[i].job);
		fprintf(f, "\"} %lld\n", (long long)m->jobs[i].runs);
	}
	family(f, "tally_scheduler_job_last_duration_seconds", "gauge",
	    "Time the job's last run took.");
	for (i = 0; i < m->njobs; i++) {
		fputs("tally_scheduler_job_last_duration_seconds{job=\"", f);
		put_label(f, m->jobs[i].job);
		fputs("\"} ", f);
		put_seconds(f, (uint64_t)m->jobs[i].last_ms * 1000);
		fputc('\n', f);
	}
	family(f, "tally_scheduler_job_last_run_timestamp_seconds", "gauge",
	    "When the job's last run started (Unix time; 0: never).");
	PER_JOB(f, m, "tally_scheduler_job_last_run_timestamp_seconds",
	    last_started_at);
	family(f, "tally_scheduler_job_last_success_timestamp_seconds",
	    "gauge", "When the job last ended without an error (Unix time; "
	    "0: never).");
	PER_JOB(f, m, "tally_scheduler_job_last_success_timestamp_seconds",
	    last_ok_at);
	family(f, "tally_scheduler_job_items_total", "counter", "The jobs' "
	    "own counts (charged, paused, sent, ...) summed over their runs.");
	for (i = 0; i < m->ncounts; i++) {
		fputs("tally_scheduler_job_items_total{job=\"", f);
		put_label(f, m->counts[i].job);
		fputs("\",count=\"", f);
		put_label(f, m->counts[i].name);
		fprintf(f, "\"} %lld\n", (long long)m->counts[i].total);
	}
}

void
h_admin_metrics(struct http_req *req)
{
	struct metrics_totals *t;
	struct op_metrics_db *m;
	char		*text = NULL;
	size_t		 len = 0;
	FILE		*f;
	int		 rc;

	t = malloc(sizeof(*t));
	m = malloc(sizeof(*m));
	if (t == NULL || m == NULL ||
	    (f = open_memstream(&text, &len)) == NULL) {
		free(t);
		free(m);
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	metrics_read(t);
	render_requests(f, t);
	/* The counters above are worth having while the database is down. */
	rc = op_metrics_read(req->db, req->now, m);
	gauge(f, "tally_database_up", "1 when the database answered this "
	    "scrape (the outbox and scheduler figures come from it).",
	    rc == TALLY_OK);
	if (rc == TALLY_OK)
		render_database(f, m, req->now);
	fclose(f);
	free(t);
	free(m);
	if (text == NULL) {
		http_fail(req, TALLY_E_NOMEM, NULL, NULL);
		return;
	}
	http_reply_text(req, text, CONTENT_TYPE);
}
