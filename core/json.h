/* Typed, bounded access to fields of a parsed JSON request body. */
#ifndef CORE_JSON_H
#define CORE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * The integer field key of obj, which must be a JSON integer (not 1.5, not
 * 1e3, not "1") within [min, max].  A missing or null field is TALLY_OK
 * with *present = 0 unless required, then TALLY_E_INVALID.
 * OUT: *out, *present (present may be NULL).
 */
int	 core_json_int(const json_t *obj, const char *key, int required,
	    int64_t min, int64_t max, int64_t *out, int *present);

/*
 * The string field key of obj, of minchars..maxchars Unicode characters
 * (jansson has already rejected invalid UTF-8 and NUL).  A missing or null
 * optional field gives *out = NULL.  TALLY_OK or TALLY_E_INVALID.
 * OUT: *out points into obj.
 */
int	 core_json_str(const json_t *obj, const char *key, int required,
	    size_t minchars, size_t maxchars, const char **out);

/*
 * Parse a request body, which must be a JSON object (duplicate keys
 * rejected).  TALLY_OK with *out (json_decref it); TALLY_E_JSON when it is
 * not JSON or not an object; TALLY_E_INVALID when it is JSON but holds a
 * number that does not fit (an integer outside int64, a real too large
 * to hold): field then names it ("amount", "items[0].amount").  *message
 * is a static English text for the error.  OUT: *out, field (fieldsz >= 1),
 * *message.
 */
int	 core_json_body(const char *body, size_t len, json_t **out,
	    char *field, size_t fieldsz, const char **message);

/* Number of code points in a valid UTF-8 string. */
size_t	 core_utf8_chars(const char *s);
/* 1 if s is valid UTF-8 without NUL or control characters other than tab. */
int	 core_utf8_valid(const char *s, size_t len);

#endif
