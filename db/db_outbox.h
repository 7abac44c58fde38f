/* Queries of the email outbox. */
#ifndef DB_OUTBOX_H
#define DB_OUTBOX_H

#include <stdint.h>

struct db;

struct db_mail {
	int64_t	 id;
	char	 dedupe_key[192];
	char	 template[33];
	char	 locale[16];
	char	 recipient[1284];
	char	 params[8192];
	int64_t	 attempts;
};

/*
 * Queue a message in the caller's transaction.  A dedupe_key queued
 * before is TALLY_OK too (the notice exists): the database keeps one.
 */
int	 db_outbox_insert(struct db *, const char *dedupe_key,
	    const char *template, const char *locale, const char *recipient,
	    const char *params_json, int64_t now);
/*
 * Lock the oldest pending message due at now, skipping ones another
 * deliverer holds.  TALLY_OK (OUT: *m) or TALLY_E_NOTFOUND.
 */
int	 db_outbox_claim(struct db *, int64_t now, struct db_mail *m);
int	 db_outbox_mark_sent(struct db *, int64_t id, int64_t now);
/* Record a failed attempt: retry at next_at, or give up when final. */
int	 db_outbox_mark_failed(struct db *, int64_t id, int64_t attempts,
	    int64_t next_at, const char *error, int final);

#endif
