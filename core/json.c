/* Request field validation: JSON types, integer ranges, string lengths. */
#include <string.h>

#include "json.h"
#include "result.h"

int
core_json_int(const json_t *obj, const char *key, int required, int64_t min,
    int64_t max, int64_t *out, int *present)
{
	const json_t	*v = json_object_get(obj, key);
	json_int_t	 n;

	if (present != NULL)
		*present = 0;
	if (v == NULL || json_is_null(v))
		return required ? TALLY_E_INVALID : TALLY_OK;
	if (!json_is_integer(v))
		return TALLY_E_INVALID;
	n = json_integer_value(v);
	if (n < min || n > max)
		return TALLY_E_INVALID;
	*out = (int64_t)n;
	if (present != NULL)
		*present = 1;
	return TALLY_OK;
}

int
core_json_str(const json_t *obj, const char *key, int required,
    size_t minchars, size_t maxchars, const char **out)
{
	const json_t	*v = json_object_get(obj, key);
	size_t		 n;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return required ? TALLY_E_INVALID : TALLY_OK;
	if (!json_is_string(v))
		return TALLY_E_INVALID;
	n = core_utf8_chars(json_string_value(v));
	if (n < minchars || n > maxchars)
		return TALLY_E_INVALID;
	*out = json_string_value(v);
	return TALLY_OK;
}

size_t
core_utf8_chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

int
core_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t		 i = 0, n, k;
	uint32_t	 cp;

	while (i < len) {
		if (p[i] < 0x80) {
			if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
				return 0;
			i++;
			continue;
		}
		if ((p[i] & 0xE0) == 0xC0) {
			n = 1;
			cp = p[i] & 0x1F;
		} else if ((p[i] & 0xF0) == 0xE0) {
			n = 2;
			cp = p[i] & 0x0F;
		} else if ((p[i] & 0xF8) == 0xF0) {
			n = 3;
			cp = p[i] & 0x07;
		} else
			return 0;
		if (i + n >= len)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* One open object or array on the way to a position in a JSON text. */
struct jframe {
	int		 array;
	int		 in_value;	/* object: after the key's ':' */
	const char	*key;		/* object: the current key, raw */
	size_t		 keylen;
	size_t		 index;		/* array: the current element */
};

#define JPATH_DEPTH	16	/* frames named; deeper ones show as "..." */

/* Append n bytes of s to out (size outsz, used *o), whole characters only. */
static void
jpath_put(char *out, size_t outsz, size_t *o, const char *s, size_t n)
{
	size_t	 k;

	if (*o + n + 1 > outsz) {
		/* Cut before a UTF-8 continuation byte, never inside one. */
		n = outsz - *o - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	for (k = 0; k < n; k++)
		out[(*o)++] = s[k];
	out[*o] = '\0';
}

/*
 * The path of the value being read at byte pos of a JSON text that is
 * well-formed up to pos ("amount", "items[2].amount").  1 when pos is in
 * a value inside a top-level object, else 0 (outside it, or where a key
 * belongs).  OUT: out (outsz >= 1).
 */
static int
json_path_at(const char *s, size_t pos, char *out, size_t outsz)
{
	struct jframe	 f[JPATH_DEPTH];
	char		 num[32];
	size_t		 depth = 0, i, o = 0, d;
	int		 top_object = 0;

	out[0] = '\0';
	for (i = 0; i < pos; i++) {
		struct jframe	*t = depth > 0 && depth <= JPATH_DEPTH ?
		    &f[depth - 1] : NULL;
		size_t		 start;

		switch (s[i]) {
		case '{':
		case '[':
			if (depth == 0)
				top_object = s[i] == '{';
			if (depth < JPATH_DEPTH) {
				memset(&f[depth], 0, sizeof(f[depth]));
				f[depth].array = s[i] == '[';
			}
			depth++;
			break;
		case '}':
		case ']':
			if (depth > 0)
				depth--;
			break;
		case ',':
			if (t != NULL && t->array)
				t->index++;
			else if (t != NULL) {
				t->key = NULL;
				t->in_value = 0;
			}
			break;
		case ':':
			if (t != NULL && !t->array)
				t->in_value = 1;
			break;
		case '"':
			start = ++i;
			while (i < pos && s[i] != '"')
				i += s[i] == '\\' ? 2 : 1;
			if (t != NULL && !t->array && !t->in_value) {
				t->key = s + start;
				t->keylen = (i < pos ? i : pos) - start;
			}
			break;
		default:
			break;
		}
	}
	if (depth == 0 || !top_object)
		return 0;
	for (d = 0; d < depth && d < JPATH_DEPTH; d++) {
		if (f[d].array) {
			snprintf(num, sizeof(num), "[%zu]", f[d].index);
			jpath_put(out, outsz, &o, num, strlen(num));
			continue;
		}
		if (f[d].key == NULL || !f[d].in_value) {
			out[0] = '\0';
			return 0;
		}
		if (d > 0)
			jpath_put(out, outsz, &o, ".", 1);
		jpath_put(out, outsz, &o, f[d].key, f[d].keylen);
	}
	if (depth > JPATH_DEPTH)
		jpath_put(out, outsz, &o, "...", 3);
	return 1;
}

int
core_json_body(const char *body, size_t len, json_t **out, char *field,
    size_t fieldsz, const char **message)
{
	json_error_t	 err;
	size_t		 pos;

	*out = NULL;
	field[0] = '\0';
	*message = NULL;
	*out = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (*out == NULL) {
		/*
		 * Valid JSON that jansson cannot hold: an integer outside
		 * int64 or a real too large.  The position is the end of
		 * the number; the field is found from the text before it.
		 */
		pos = err.position > 0 ? (size_t)err.position : 0;
		if (json_error_code(&err) == json_error_numeric_overflow &&
		    pos <= len && json_path_at(body, pos, field, fieldsz) &&
		    field[0] != '\0') {
			*message = "out of range";
			return TALLY_E_INVALID;
		}
		field[0] = '\0';
		*message = "body is not valid JSON";
		return TALLY_E_JSON;
	}
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		*message = "body must be a JSON object";
		return TALLY_E_JSON;
	}
	return TALLY_OK;
}
