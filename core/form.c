/* Form encoding with a fixed-size buffer. */
#include <stdio.h>
#include <string.h>

#include "form.h"
#include "result.h"

void
core_form_init(struct core_form *f)
{
	f->len = 0;
	f->overflow = 0;
	f->buf[0] = '\0';
}

static void
put(struct core_form *f, const char *s, size_t n)
{
	if (f->overflow || f->len + n + 1 > sizeof(f->buf)) {
		f->overflow = 1;
		return;
	}
	memcpy(f->buf + f->len, s, n);
	f->len += n;
	f->buf[f->len] = '\0';
}

/* Percent-encode all but RFC 3986's unreserved characters. */
static void
put_encoded(struct core_form *f, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char		 e[3];
	unsigned char	 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~') {
			put(f, s, 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		put(f, e, 3);
	}
}

void
core_form_add(struct core_form *f, const char *key, const char *value)
{
	if (f->len > 0)
		put(f, "&", 1);
	put_encoded(f, key);
	put(f, "=", 1);
	put_encoded(f, value != NULL ? value : "");
}

void
core_form_add_int(struct core_form *f, const char *key, int64_t v)
{
	char	 buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	core_form_add(f, key, buf);
}

int
core_form_ok(const struct core_form *f)
{
	return f->overflow ? TALLY_E_TOOBIG : TALLY_OK;
}
