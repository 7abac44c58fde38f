/* Placeholder substitution for mail templates, bounded in size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "template.h"

struct buf {
	char	*p;
	size_t	 len, cap;
};

static int
put(struct buf *b, const char *s, size_t n)
{
	char	*np;
	size_t	 ncap;

	if (b->len + n + 1 > CORE_TEMPLATE_MAX)
		return TALLY_E_TOOBIG;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap * 2 : 1024;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL)
			return TALLY_E_NOMEM;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return TALLY_OK;
}

static int
render(const char *s, size_t n, const json_t *params, char **out, char *err,
    size_t errsz)
{
	struct buf	 b = { NULL, 0, 0 };
	const char	*end = s + n, *open, *close;
	const json_t	*v;
	char		 name[64], num[32];
	int		 rc = TALLY_OK;

	while (s < end && rc == TALLY_OK) {
		open = memmem(s, (size_t)(end - s), "{{", 2);
		if (open == NULL) {
			rc = put(&b, s, (size_t)(end - s));
			break;
		}
		if ((rc = put(&b, s, (size_t)(open - s))) != TALLY_OK)
			break;
		close = memmem(open, (size_t)(end - open), "}}", 2);
		if (close == NULL || (size_t)(close - open - 2) >= sizeof(name)) {
			snprintf(err, errsz, "unterminated {{ in template");
			rc = TALLY_E_INVALID;
			break;
		}
		memcpy(name, open + 2, (size_t)(close - open - 2));
		name[close - open - 2] = '\0';
		v = json_object_get(params, name);
		if (json_is_string(v))
			rc = put(&b, json_string_value(v),
			    json_string_length(v));
		else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%lld",
			    (long long)json_integer_value(v));
			rc = put(&b, num, strlen(num));
		} else {
			snprintf(err, errsz, "no value for {{%s}}", name);
			rc = TALLY_E_INVALID;
		}
		s = close + 2;
	}
	if (rc == TALLY_OK && b.p == NULL)
		rc = put(&b, "", 0);
	if (rc != TALLY_OK) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	return TALLY_OK;
}

int
core_template_render(const char *text, const json_t *params, char **subject,
    char **body, char *err, size_t errsz)
{
	const char	*nl, *rest;
	int		 rc;

	*subject = *body = NULL;
	if (strncmp(text, "Subject: ", 9) != 0 ||
	    (nl = strchr(text, '\n')) == NULL) {
		snprintf(err, errsz, "template must start with a Subject: line");
		return TALLY_E_INVALID;
	}
	rest = nl + 1;
	if (*rest == '\r')
		rest++;
	if (*rest != '\n') {
		snprintf(err, errsz, "a blank line must follow the Subject");
		return TALLY_E_INVALID;
	}
	rest++;
	rc = render(text + 9, (size_t)(nl - text - 9) -
	    (nl > text && nl[-1] == '\r'), params, subject, err, errsz);
	if (rc != TALLY_OK)
		return rc;
	if (strpbrk(*subject, "\r\n") != NULL) {
		/* A value must never add a header line. */
		snprintf(err, errsz, "subject would span lines");
		free(*subject);
		*subject = NULL;
		return TALLY_E_INVALID;
	}
	if ((rc = render(rest, strlen(rest), params, body, err, errsz)) !=
	    TALLY_OK) {
		free(*subject);
		*subject = NULL;
	}
	return rc;
}
