/* libFuzzer harness: the JSON field validators and the UTF-8 checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "json.h"
#include "result.h"

/*
 * An independent UTF-8 check (Unicode 15, table 3-7: well-formed byte
 * sequences) with core_utf8_valid()'s extra rule: no C0 control but tab,
 * no DEL.  Returns the number of code points, or -1.
 */
static long
ref_utf8(const unsigned char *s, size_t len)
{
	size_t	 i = 0, n, k;
	long	 count = 0;
	unsigned char lo, hi;

	while (i < len) {
		unsigned char c = s[i];

		lo = 0x80;
		hi = 0xBF;
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return -1;
			n = 0;
		} else if (c >= 0xC2 && c <= 0xDF)
			n = 1;
		else if (c == 0xE0) {
			n = 2;
			lo = 0xA0;
		} else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
			n = 2;
		else if (c == 0xED) {
			n = 2;
			hi = 0x9F;
		} else if (c == 0xF0) {
			n = 3;
			lo = 0x90;
		} else if (c >= 0xF1 && c <= 0xF3)
			n = 3;
		else if (c == 0xF4) {
			n = 3;
			hi = 0x8F;
		} else
			return -1;
		if (n > len - i - 1)
			return -1;
		for (k = 1; k <= n; k++) {
			if (s[i + k] < lo || s[i + k] > hi)
				return -1;
			lo = 0x80;
			hi = 0xBF;
		}
		i += n + 1;
		count++;
	}
	return count;
}

/* Code points of a string jansson accepted (valid UTF-8, maybe controls). */
static size_t
ref_chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* s need not be NUL-terminated: core_utf8_chars() gets a copy that is. */
static void
check_utf8(const char *s, size_t len)
{
	long	 want = ref_utf8((const unsigned char *)s, len);
	char	*z;

	if (core_utf8_valid(s, len) != (want >= 0))
		abort();
	if (want < 0 || (z = malloc(len + 1)) == NULL)
		return;
	memcpy(z, s, len);
	z[len] = '\0';
	if (core_utf8_chars(z) != (size_t)want)
		abort();
	free(z);
}

static void
check_field(const json_t *obj, const char *key)
{
	static const struct {
		int64_t	 min, max;
	} ib[] = {
		{ 0, INT64_MAX }, { INT64_MIN, INT64_MAX }, { 1, 100 },
		{ -5, 5 }, { INT64_MAX, INT64_MAX },
	};
	static const struct {
		size_t	 min, max;
	} sb[] = {
		{ 0, SIZE_MAX }, { 1, 1 }, { 1, 64 }, { 3, 320 }, { 0, 0 },
	};
	const json_t	*v = json_object_get(obj, key);
	const char	*s;
	int64_t		 out;
	size_t		 i, nc;
	int		 req, rc, want, present;

	for (i = 0; i < sizeof(ib) / sizeof(ib[0]); i++)
		for (req = 0; req < 2; req++) {
			out = 0x5a5a;
			rc = core_json_int(obj, key, req, ib[i].min, ib[i].max,
			    &out, &present);
			if (v == NULL || json_is_null(v))
				want = req ? TALLY_E_INVALID : TALLY_OK;
			else if (!json_is_integer(v) ||
			    json_integer_value(v) < ib[i].min ||
			    json_integer_value(v) > ib[i].max)
				want = TALLY_E_INVALID;
			else
				want = TALLY_OK;
			if (rc != want)
				abort();
			if (present != (json_is_integer(v) && rc == TALLY_OK))
				abort();
			if (present && out != json_integer_value(v))
				abort();
		}
	for (i = 0; i < sizeof(sb) / sizeof(sb[0]); i++)
		for (req = 0; req < 2; req++) {
			rc = core_json_str(obj, key, req, sb[i].min, sb[i].max,
			    &s);
			if (v == NULL || json_is_null(v))
				want = req ? TALLY_E_INVALID : TALLY_OK;
			else if (!json_is_string(v))
				want = TALLY_E_INVALID;
			else {
				nc = ref_chars(json_string_value(v));
				want = nc < sb[i].min || nc > sb[i].max ?
				    TALLY_E_INVALID : TALLY_OK;
			}
			if (rc != want)
				abort();
			if ((s != NULL) != (rc == TALLY_OK &&
			    json_is_string(v)))
				abort();
		}
	if (json_is_string(v))
		check_utf8(json_string_value(v), json_string_length(v));
	check_utf8(key, strlen(key));
}

/* core_json_body, as fcgi/http.c parses every request body. */
static void
check_body(const char *data, size_t size)
{
	json_error_t	 err;
	json_t		*j, *ref, *fs;
	const char	*msg;
	char		 field[64];
	int		 rc;

	memset(field, 'x', sizeof(field));
	rc = core_json_body(data, size, &j, field, sizeof(field), &msg);
	ref = json_loadb(data, size, JSON_REJECT_DUPLICATES, &err);
	if (memchr(field, '\0', sizeof(field)) == NULL ||
	    (msg == NULL) != (rc == TALLY_OK))
		abort();
	switch (rc) {
	case TALLY_OK:
		if (!json_is_object(j) || !json_equal(j, ref) ||
		    field[0] != '\0')
			abort();
		break;
	case TALLY_E_INVALID:
		/*
		 * Only a number too big, named by a non-empty path that can
		 * go into the JSON error (keys may hold DEL, which is valid
		 * JSON text: json_string, not core_utf8_valid, is the test).
		 */
		if (j != NULL || ref != NULL || field[0] == '\0' ||
		    json_error_code(&err) != json_error_numeric_overflow ||
		    (fs = json_string(field)) == NULL)
			abort();
		json_decref(fs);
		break;
	case TALLY_E_JSON:
		if (j != NULL || field[0] != '\0' || json_is_object(ref))
			abort();
		break;
	default:
		abort();
	}
	json_decref(j);
	json_decref(ref);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t	 err;
	json_t		*j, *v;
	const char	*key;

	check_utf8((const char *)data, size);
	check_body((const char *)data, size);

	/* As fcgi/http.c loads request bodies. */
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL)
		return 0;
	json_object_foreach(j, key, v)
		check_field(j, key);
	/* Keys that are not there, and the empty key. */
	check_field(j, "");
	check_field(j, "amount");
	json_decref(j);
	return 0;
}
