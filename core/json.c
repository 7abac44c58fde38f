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
