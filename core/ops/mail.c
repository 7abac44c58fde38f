/* Outbox queueing and SMTP delivery. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/ops/log.h"
#include "core/ops/config.h"
#include "core/ops/mail.h"
#include "core/result.h"
#include "core/template.h"
#include "db/db.h"
#include "db/db_outbox.h"
#include "net/smtp.h"

#ifndef TALLY_SHARE
#define TALLY_SHARE "/usr/local/share/tally"
#endif

#define MAIL_ATTEMPTS	10

/* The account's template locale: de for German, else en. */
static const char *
mail_locale(const char *locale)
{
	return strncmp(locale, "de", 2) == 0 ? "de" : "en";
}

int
op_mail_enqueue_tx(struct db *db, const struct core_config *cfg,
    const struct tally_account *a, const char *template,
    const char *dedupe_key, json_t *params, int64_t now, int *queued)
{
	char	 url[300];
	char	*text;
	int	 rc;

	*queued = 0;
	if (a->email[0] == '\0')
		return TALLY_OK;
	snprintf(url, sizeof(url), "%s/", cfg->http_public_url);
	json_object_set_new(params, "billing_url", json_string(url));
	if ((text = json_dumps(params, JSON_COMPACT)) == NULL)
		return TALLY_E_NOMEM;
	rc = db_outbox_insert(db, dedupe_key, template, mail_locale(a->locale),
	    a->email, text, now);
	free(text);
	if (rc == TALLY_OK)
		*queued = 1;
	return rc;
}

static void
template_dir(const struct core_config *cfg, char *buf, size_t bufsz)
{
	struct stat	 st;

	if (cfg->smtp_templates[0] != '\0')
		snprintf(buf, bufsz, "%s", cfg->smtp_templates);
	else if (stat("www/mail", &st) == 0)
		snprintf(buf, bufsz, "www/mail");
	else
		snprintf(buf, bufsz, "%s/www/mail", TALLY_SHARE);
}

/* Render message m into *subject and *body. */
static int
render(const struct core_config *cfg, const struct db_mail *m,
    char **subject, char **body, char *err, size_t errsz)
{
	char	 dir[512], path[1024];
	char	*text;
	json_t	*params;
	int	 rc;

	template_dir(cfg, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s/%s.txt", dir, m->locale,
	    m->template);
	if ((text = op_read_file(path, CORE_TEMPLATE_MAX)) == NULL) {
		snprintf(path, sizeof(path), "%s/en/%s.txt", dir, m->template);
		text = op_read_file(path, CORE_TEMPLATE_MAX);
	}
	if (text == NULL) {
		snprintf(err, errsz, "no template %s/%s.txt", m->locale,
		    m->template);
		return TALLY_E_IO;
	}
	if ((params = json_loads(m->params, 0, NULL)) == NULL) {
		free(text);
		snprintf(err, errsz, "stored params are not JSON");
		return TALLY_E_INVALID;
	}
	rc = core_template_render(text, params, subject, body, err, errsz);
	json_decref(params);
	free(text);
	return rc;
}

struct deliver {
	const struct core_config *cfg;
	int64_t		 now;
	int		 outcome;	/* 0 none, 1 sent, 2 retry, 3 failed */
};

static int
deliver_one(struct db *db, void *arg)
{
	struct deliver	*d = arg;
	struct db_mail	 m;
	char		 err[300] = "";
	char		*subject = NULL, *body = NULL;
	int64_t		 delay;
	int		 rc, final;

	d->outcome = 0;
	if ((rc = db_outbox_claim(db, d->now, &m)) != TALLY_OK)
		return rc;
	rc = render(d->cfg, &m, &subject, &body, err, sizeof(err));
	if (rc == TALLY_OK)
		rc = net_smtp_send(d->cfg, m.recipient, subject, body, err,
		    sizeof(err));
	free(subject);
	free(body);
	if (rc == TALLY_OK) {
		d->outcome = 1;
		return db_outbox_mark_sent(db, m.id, d->now);
	}
	/* A missing template is an operator's fix away: keep retrying. */
	final = rc == TALLY_E_INVALID || m.attempts + 1 >= MAIL_ATTEMPTS;
	delay = 60LL << (m.attempts < 9 ? m.attempts : 9);
	if (delay > 6 * 3600)
		delay = 6 * 3600;
	d->outcome = final ? 3 : 2;
	core_log(final ? "error" : "warn", "mail.failed", json_pack(
	    "{s:I,s:s,s:I,s:s,s:b}", "outbox_id", (json_int_t)m.id, "template",
	    m.template, "attempt", (json_int_t)(m.attempts + 1), "error", err,
	    "final", final));
	return db_outbox_mark_failed(db, m.id, m.attempts + 1, d->now + delay,
	    err, final);
}

int
op_mail_deliver(struct db *db, const struct core_config *cfg, int64_t now,
    int64_t max, struct op_mail_counts *c)
{
	struct deliver	 d;
	int64_t		 i;
	int		 rc = TALLY_OK;

	memset(c, 0, sizeof(*c));
	d.cfg = cfg;
	d.now = now;
	for (i = 0; i < max; i++) {
		rc = db_tx(db, deliver_one, &d);
		if (rc == TALLY_E_NOTFOUND) {
			rc = TALLY_OK;
			break;
		}
		if (rc != TALLY_OK)
			break;
		if (d.outcome == 1)
			c->sent++;
		else if (d.outcome == 2)
			c->retried++;
		else if (d.outcome == 3)
			c->failed++;
	}
	return rc;
}
