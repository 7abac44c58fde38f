/* libFuzzer harness: the form encoder that carries user text to Stripe. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "fuzz.h"
#include "result.h"

static int
unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

static size_t
enclen(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		n += unreserved((unsigned char)*s) ? 1 : 3;
	return n;
}

static int
hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode n bytes of an encoded part of f into out; -1 if not canonical. */
static int
decode(const char *s, size_t n, char *out)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		if (unreserved((unsigned char)s[i])) {
			out[o++] = s[i];
			continue;
		}
		if (s[i] != '%' || i + 2 >= n ||
		    (hi = hexv(s[i + 1])) < 0 || (lo = hexv(s[i + 2])) < 0)
			return -1;
		/* Only what had to be escaped is. */
		if (unreserved((unsigned char)(hi * 16 + lo)))
			return -1;
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct core_form *f;
	char		*buf, *key, *value, *nl, *dec, num[24];
	const char	*p, *amp, *eq;
	size_t		 reps, i, total = 0, pairs = 0;
	int64_t		 iv = 0;

	if (size < 9)
		return 0;
	/* Byte 0: how often the pair is added; 1-8: an integer value. */
	reps = 1 + data[0] % 4;
	memcpy(&iv, data + 1, sizeof(iv));
	if ((buf = malloc(size - 9 + 1)) == NULL)
		return 0;
	memcpy(buf, data + 9, size - 9);
	buf[size - 9] = '\0';
	key = buf;
	value = (nl = strchr(buf, '\n')) != NULL ? nl + 1 : NULL;
	if (nl != NULL)
		*nl = '\0';
	/* Exactly the struct: a write past buf lands outside it for ASan. */
	if ((f = malloc(sizeof(*f))) == NULL ||
	    (dec = malloc(CORE_FORM_MAX)) == NULL) {
		free(f);
		free(buf);
		return 0;
	}
	core_form_init(f);
	snprintf(num, sizeof(num), "%lld", (long long)iv);
	for (i = 0; i < reps; i++) {
		core_form_add(f, key, value);
		core_form_add_int(f, key, iv);
		total += (pairs++ ? 1 : 0) + enclen(key) + 1 +
		    enclen(value != NULL ? value : "");
		total += 1 + enclen(key) + 1 + strlen(num);
		pairs++;
	}
	if (f->len >= CORE_FORM_MAX || strlen(f->buf) != f->len)
		abort();
	if ((core_form_ok(f) == TALLY_OK) != (total + 1 <= CORE_FORM_MAX))
		abort();
	if (core_form_ok(f) != TALLY_OK)
		goto out;
	if (f->len != total)
		abort();
	/* Every pair decodes back to what went in. */
	for (i = 0, p = f->buf; i < pairs; i++, p = amp + 1) {
		amp = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL || decode(p, (size_t)(eq - p), dec) != 0 ||
		    strcmp(dec, key) != 0 ||
		    decode(eq + 1, (size_t)(amp - eq - 1), dec) != 0 ||
		    strcmp(dec, i % 2 ? num : value != NULL ? value : "") != 0)
			abort();
		if (*amp == '\0' && i + 1 != pairs)
			abort();
	}
out:
	free(dec);
	free(f);
	free(buf);
	return 0;
}
