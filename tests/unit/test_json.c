/* Unit tests for core/json.c: typed request fields and UTF-8 checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "json.h"
#include "result.h"

#define SENTINEL	((int64_t)0x5a5a5a5a5a5a5a5a)

/* 😀 U+1F600, four bytes. */
#define EMOJI		"\xf0\x9f\x98\x80"
#define E10		EMOJI EMOJI EMOJI EMOJI EMOJI EMOJI EMOJI EMOJI EMOJI \
			EMOJI
#define E100		E10 E10 E10 E10 E10 E10 E10 E10 E10 E10

static json_t *
load(const char *text)
{
	json_error_t	 e;
	json_t		*j;

	j = json_loads(text, 0, &e);
	if (j == NULL)
		fail_msg("json_loads(%s): %s", text, e.text);
	return j;
}

static void
test_json_int(void **state)
{
	static const struct {
		const char	*body;
		int		 required;
		int64_t		 min, max;
		int		 want;
		int		 present;
		int64_t		 out;
	} cases[] = {
		{ "{\"n\":0}", 1, 0, INT64_MAX, TALLY_OK, 1, 0 },
		{ "{\"n\":-0}", 1, 0, INT64_MAX, TALLY_OK, 1, 0 },
		{ "{\"n\":1}", 1, 0, INT64_MAX, TALLY_OK, 1, 1 },
		{ "{\"n\":1}", 1, 1, 1, TALLY_OK, 1, 1 },
		{ "{\"n\":2900}", 0, 1, INT64_MAX, TALLY_OK, 1, 2900 },
		{ "{\"n\":-5}", 1, INT64_MIN, INT64_MAX, TALLY_OK, 1, -5 },
		{ "{\"n\":9223372036854775807}", 1, 0, INT64_MAX, TALLY_OK, 1,
		    INT64_MAX },
		{ "{\"n\":-9223372036854775808}", 1, INT64_MIN, 0, TALLY_OK, 1,
		    INT64_MIN },
		/* Bounds are inclusive. */
		{ "{\"n\":0}", 1, 1, 100, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":100}", 1, 1, 100, TALLY_OK, 1, 100 },
		{ "{\"n\":101}", 1, 1, 100, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":-1}", 1, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":9223372036854775807}", 1, 0, INT64_MAX - 1,
		    TALLY_E_INVALID, 0, 0 },
		/* Integers only: jansson reads 1.0 and 1e3 as reals. */
		{ "{\"n\":1.5}", 1, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":1.0}", 1, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":1e3}", 1, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":1E3}", 0, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":0.0}", 0, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":\"5\"}", 1, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":\"\"}", 0, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":true}", 1, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":false}", 0, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":[1]}", 1, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":{}}", 1, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		/* Missing or null: fine when optional, not when required. */
		{ "{}", 0, 0, INT64_MAX, TALLY_OK, 0, 0 },
		{ "{}", 1, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"n\":null}", 0, 0, INT64_MAX, TALLY_OK, 0, 0 },
		{ "{\"n\":null}", 1, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"N\":1}", 1, 0, INT64_MAX, TALLY_E_INVALID, 0, 0 },
		{ "{\"n \":1}", 0, 0, INT64_MAX, TALLY_OK, 0, 0 },
	};
	json_t	*j;
	int64_t	 out;
	size_t	 i;
	int	 rc, present;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = load(cases[i].body);
		out = SENTINEL;
		present = -1;
		rc = core_json_int(j, "n", cases[i].required, cases[i].min,
		    cases[i].max, &out, &present);
		json_decref(j);
		if (rc != cases[i].want)
			fail_msg("%s (required %d): rc %d, want %d",
			    cases[i].body, cases[i].required, rc,
			    cases[i].want);
		if (present != cases[i].present)
			fail_msg("%s: present %d, want %d", cases[i].body,
			    present, cases[i].present);
		if (present && out != cases[i].out)
			fail_msg("%s: %lld, want %lld", cases[i].body,
			    (long long)out, (long long)cases[i].out);
		if (!present && out != SENTINEL)
			fail_msg("%s: *out written when absent", cases[i].body);
	}
}

/* present may be NULL; one past INT64_MAX is not even JSON to jansson. */
static void
test_json_int_edges(void **state)
{
	json_error_t	 e;
	json_t		*j;
	int64_t		 out = 0;

	(void)state;
	j = load("{\"n\":7}");
	assert_int_equal(core_json_int(j, "n", 1, 0, 10, &out, NULL),
	    TALLY_OK);
	assert_true(out == 7);
	assert_int_equal(core_json_int(j, "n", 1, 8, 10, &out, NULL),
	    TALLY_E_INVALID);
	assert_int_equal(core_json_int(j, "m", 0, 0, 10, &out, NULL),
	    TALLY_OK);
	json_decref(j);

	assert_null(json_loads("{\"n\":9223372036854775808}", 0, &e));
	assert_null(json_loads("{\"n\":-9223372036854775809}", 0, &e));
}

static void
test_json_str(void **state)
{
	static const struct {
		const char	*body;
		int		 required;
		size_t		 minc, maxc;
		int		 want;
		const char	*out;	/* NULL: *out must be NULL */
	} cases[] = {
		{ "{\"s\":\"abc\"}", 1, 1, 10, TALLY_OK, "abc" },
		{ "{\"s\":\"a\"}", 1, 1, 1, TALLY_OK, "a" },
		{ "{\"s\":\"ab\"}", 1, 1, 1, TALLY_E_INVALID, NULL },
		{ "{\"s\":\"\"}", 1, 0, 10, TALLY_OK, "" },
		{ "{\"s\":\"\"}", 1, 1, 10, TALLY_E_INVALID, NULL },
		{ "{\"s\":\"\"}", 0, 1, 10, TALLY_E_INVALID, NULL },
		/* Counted in code points, not bytes. */
		{ "{\"s\":\"\xc3\xa9t\xc3\xa9\"}", 1, 3, 3, TALLY_OK,
		    "\xc3\xa9t\xc3\xa9" },
		{ "{\"s\":\"\xc3\xa9t\xc3\xa9\"}", 1, 4, 10, TALLY_E_INVALID,
		    NULL },
		{ "{\"s\":\"" EMOJI "\"}", 1, 1, 1, TALLY_OK, EMOJI },
		{ "{\"s\":\"" E100 "\"}", 1, 100, 100, TALLY_OK, E100 },
		{ "{\"s\":\"" E100 "\"}", 1, 1, 99, TALLY_E_INVALID, NULL },
		{ "{\"s\":\"" E100 "\"}", 1, 101, 200, TALLY_E_INVALID, NULL },
		/* An escaped surrogate pair is one character. */
		{ "{\"s\":\"\\ud83d\\ude00\"}", 1, 1, 1, TALLY_OK, EMOJI },
		{ "{\"s\":\"\\u00e9\"}", 1, 1, 1, TALLY_OK, "\xc3\xa9" },
		/* Not a string. */
		{ "{\"s\":5}", 1, 0, 10, TALLY_E_INVALID, NULL },
		{ "{\"s\":5}", 0, 0, 10, TALLY_E_INVALID, NULL },
		{ "{\"s\":1.5}", 1, 0, 10, TALLY_E_INVALID, NULL },
		{ "{\"s\":true}", 1, 0, 10, TALLY_E_INVALID, NULL },
		{ "{\"s\":[\"a\"]}", 1, 0, 10, TALLY_E_INVALID, NULL },
		{ "{\"s\":{}}", 1, 0, 10, TALLY_E_INVALID, NULL },
		/* Missing or null. */
		{ "{}", 0, 1, 10, TALLY_OK, NULL },
		{ "{}", 1, 1, 10, TALLY_E_INVALID, NULL },
		{ "{\"s\":null}", 0, 1, 10, TALLY_OK, NULL },
		{ "{\"s\":null}", 1, 1, 10, TALLY_E_INVALID, NULL },
	};
	const char	*out;
	json_t		*j;
	size_t		 i;
	int		 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = load(cases[i].body);
		out = "sentinel";
		rc = core_json_str(j, "s", cases[i].required, cases[i].minc,
		    cases[i].maxc, &out);
		if (rc != cases[i].want)
			fail_msg("case %zu %s: rc %d, want %d", i,
			    cases[i].body, rc, cases[i].want);
		if (cases[i].out == NULL && out != NULL)
			fail_msg("case %zu: *out not NULL", i);
		if (cases[i].out != NULL &&
		    (out == NULL || strcmp(out, cases[i].out) != 0))
			fail_msg("case %zu: wrong *out", i);
		/* It points into the object. */
		if (out != NULL)
			assert_ptr_equal(out,
			    json_string_value(json_object_get(j, "s")));
		json_decref(j);
	}
}

/* An oversized string: counted, bounded, no overrun. */
static void
test_json_str_long(void **state)
{
	const char	*out;
	json_t		*j;
	char		*s;
	size_t		 n = 100000;

	(void)state;
	s = malloc(n + 1);
	assert_non_null(s);
	memset(s, 'a', n);
	s[n] = '\0';
	j = json_pack("{s:s}", "s", s);
	assert_non_null(j);
	assert_int_equal(core_json_str(j, "s", 1, 1, n, &out), TALLY_OK);
	assert_int_equal(core_json_str(j, "s", 1, 1, n - 1, &out),
	    TALLY_E_INVALID);
	assert_null(out);
	assert_int_equal(core_json_str(j, "s", 1, 1, 64, &out),
	    TALLY_E_INVALID);
	json_decref(j);
	free(s);
}

static void
test_utf8_chars(void **state)
{
	static const struct {
		const char	*s;
		size_t		 n;
	} cases[] = {
		{ "", 0 },
		{ "a", 1 },
		{ "abc", 3 },
		{ "\t", 1 },
		{ "\xc3\xa9", 1 },
		{ "\xc3\xa9t\xc3\xa9", 3 },
		{ "\xe2\x82\xac", 1 },
		{ "100 \xe2\x82\xac", 5 },
		{ EMOJI, 1 },
		{ E10, 10 },
		{ E100, 100 },
		{ "\xf4\x8f\xbf\xbf", 1 },
		{ "a" EMOJI "b\xc3\xa9", 4 },
	};
	size_t	 i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = core_utf8_chars(cases[i].s);
		if (n != cases[i].n)
			fail_msg("case %zu: %zu chars, want %zu", i, n,
			    cases[i].n);
	}
}

/* A literal with its length, embedded NULs included. */
#define L(s)	s, sizeof(s) - 1

static void
test_utf8_valid(void **state)
{
	static const struct {
		const char	*s;
		size_t		 len;
		int		 want;
		const char	*name;
	} cases[] = {
		{ L(""), 1, "empty" },
		{ L("a"), 1, "one ASCII byte" },
		{ L("hello, world"), 1, "ASCII" },
		{ L(" ~"), 1, "first and last printable ASCII" },
		{ L("a\tb"), 1, "tab" },
		{ L("\xc2\xa0"), 1, "U+00A0, lowest 2-byte non-control" },
		{ L("\xc3\xa9t\xc3\xa9"), 1, "2-byte" },
		{ L("\xdf\xbf"), 1, "U+07FF, highest 2-byte" },
		{ L("\xe0\xa0\x80"), 1, "U+0800, lowest 3-byte" },
		{ L("\xe2\x82\xac"), 1, "euro sign" },
		{ L("\xed\x9f\xbf"), 1, "U+D7FF, below the surrogates" },
		{ L("\xee\x80\x80"), 1, "U+E000, above the surrogates" },
		{ L("\xef\xbf\xbd"), 1, "U+FFFD" },
		{ L("\xef\xbf\xbf"), 1, "U+FFFF" },
		{ L("\xf0\x90\x80\x80"), 1, "U+10000, lowest 4-byte" },
		{ L(E100), 1, "100 emoji" },
		{ L("\xf4\x8f\xbf\xbf"), 1, "U+10FFFF, the last" },
		{ L("a\xc3\xa9" EMOJI "z"), 1, "mixed" },
		/* Controls and NUL. */
		{ L("\0"), 0, "NUL" },
		{ L("a\0b"), 0, "NUL inside" },
		{ L("\x01"), 0, "U+0001" },
		{ L("\n"), 0, "newline" },
		{ L("a\r\n"), 0, "CR LF" },
		{ L("\x1b[31m"), 0, "escape" },
		{ L("\x1f"), 0, "U+001F" },
		{ L("\x7f"), 0, "DEL" },
		/* Stray continuation bytes and impossible lead bytes. */
		{ L("\x80"), 0, "lone continuation" },
		{ L("a\xbf"), 0, "continuation after ASCII" },
		{ L("\xc3\xa9\xa9"), 0, "extra continuation" },
		{ L("\xf8\x88\x80\x80\x80"), 0, "5-byte form" },
		{ L("\xfc\x84\x80\x80\x80\x80"), 0, "6-byte form" },
		{ L("\xfe"), 0, "0xFE" },
		{ L("\xff"), 0, "0xFF" },
		/* Overlong forms. */
		{ L("\xc0\x80"), 0, "overlong NUL" },
		{ L("\xc0\xaf"), 0, "overlong /" },
		{ L("\xc1\xbf"), 0, "overlong U+007F" },
		{ L("\xe0\x80\xaf"), 0, "3-byte overlong /" },
		{ L("\xe0\x9f\xbf"), 0, "3-byte overlong U+07FF" },
		{ L("\xf0\x80\x80\xaf"), 0, "4-byte overlong /" },
		{ L("\xf0\x8f\xbf\xbf"), 0, "4-byte overlong U+FFFF" },
		/* UTF-16 surrogates. */
		{ L("\xed\xa0\x80"), 0, "U+D800" },
		{ L("\xed\xad\xbf"), 0, "U+DB7F" },
		{ L("\xed\xb0\x80"), 0, "U+DC00" },
		{ L("\xed\xbf\xbf"), 0, "U+DFFF" },
		{ L("\xed\xa0\xbd\xed\xb8\x80"), 0, "CESU-8 surrogate pair" },
		/* Beyond U+10FFFF. */
		{ L("\xf4\x90\x80\x80"), 0, "U+110000" },
		{ L("\xf5\x80\x80\x80"), 0, "lead 0xF5" },
		{ L("\xf7\xbf\xbf\xbf"), 0, "U+1FFFFF" },
		/* Truncated sequences, at the end and inside. */
		{ L("\xc3"), 0, "2-byte, 1 of 2" },
		{ L("a\xc3"), 0, "2-byte cut at the end" },
		{ L("\xe2\x82"), 0, "3-byte, 2 of 3" },
		{ L("\xe2"), 0, "3-byte, 1 of 3" },
		{ L("ab\xe2\x82"), 0, "3-byte cut at the end" },
		{ L("\xf0\x9f\x98"), 0, "4-byte, 3 of 4" },
		{ L("\xf0\x9f"), 0, "4-byte, 2 of 4" },
		{ L("\xf0"), 0, "4-byte, 1 of 4" },
		{ L(E10 "\xf0\x9f\x98"), 0, "emoji run cut at the end" },
		{ L("\xc3" "a"), 0, "2-byte, ASCII instead" },
		{ L("\xe2\x82" "a"), 0, "3-byte, ASCII third" },
		{ L("\xf0\x9f\x98" "a"), 0, "4-byte, ASCII fourth" },
		{ L("\xe2\xc3\xa9"), 0, "3-byte, lead inside" },
	};
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = core_utf8_valid(cases[i].s, cases[i].len);
		if (rc != cases[i].want)
			fail_msg("%s: %d, want %d", cases[i].name, rc,
			    cases[i].want);
	}
}

/*
 * len is what is checked: a valid sequence cut short by len is invalid,
 * and the bytes after len are never read (a heap copy of exactly len
 * bytes lets ASan see an overread).
 */
static void
test_utf8_valid_len(void **state)
{
	static const char	 text[] = "a\xc3\xa9" EMOJI "\xe2\x82\xac";
	static const int	 want[] = {
		/* len 0 .. 10: ends on a character boundary or not */
		1, 1, 0, 1, 0, 0, 0, 1, 0, 0, 1
	};
	char	*copy;
	size_t	 len;

	(void)state;
	assert_int_equal(sizeof(text) - 1, 10);
	for (len = 0; len <= 10; len++) {
		copy = malloc(len > 0 ? len : 1);
		assert_non_null(copy);
		memcpy(copy, text, len);
		if (core_utf8_valid(copy, len) != want[len])
			fail_msg("len %zu: want %d", len, want[len]);
		free(copy);
	}
	/* A NUL after len is not looked at. */
	assert_int_equal(core_utf8_valid("ab\0\n", 2), 1);
	assert_int_equal(core_utf8_valid("ab\0\n", 3), 0);
}

/* Every code point, encoded here, round-trips through both functions. */
static void
test_utf8_all(void **state)
{
	unsigned char	 b[5];
	uint32_t	 cp;
	size_t		 n;
	int		 want;

	(void)state;
	for (cp = 1; cp <= 0x10FFFF; cp++) {
		if (cp < 0x80) {
			b[0] = (unsigned char)cp;
			n = 1;
		} else if (cp < 0x800) {
			b[0] = (unsigned char)(0xC0 | cp >> 6);
			b[1] = (unsigned char)(0x80 | (cp & 0x3F));
			n = 2;
		} else if (cp < 0x10000) {
			b[0] = (unsigned char)(0xE0 | cp >> 12);
			b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
			b[2] = (unsigned char)(0x80 | (cp & 0x3F));
			n = 3;
		} else {
			b[0] = (unsigned char)(0xF0 | cp >> 18);
			b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
			b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
			b[3] = (unsigned char)(0x80 | (cp & 0x3F));
			n = 4;
		}
		b[n] = '\0';
		want = !((cp < 0x20 && cp != '\t') || cp == 0x7f ||
		    (cp >= 0xD800 && cp <= 0xDFFF));
		if (core_utf8_valid((const char *)b, n) != want)
			fail_msg("U+%04X: want %d", (unsigned)cp, want);
		if (want && core_utf8_chars((const char *)b) != 1)
			fail_msg("U+%04X: not one char", (unsigned)cp);
	}
}

/* core_json_body: objects pass; a number too big names its field. */
static void
test_json_body(void **state)
{
	static const struct {
		const char	*body;
		int		 rc;
		const char	*field;
	} cases[] = {
		{ "{}", TALLY_OK, "" },
		{ "{\"amount\": 9223372036854775807}", TALLY_OK, "" },
		{ "{\"amount\": -9223372036854775808}", TALLY_OK, "" },
		{ "{\"amount\": 9223372036854775808}", TALLY_E_INVALID,
		    "amount" },
		{ "{\"amount\": -9223372036854775809}", TALLY_E_INVALID,
		    "amount" },
		{ "{\"a\":1,\"credits\" : 99999999999999999999999,\"b\":2}",
		    TALLY_E_INVALID, "credits" },
		{ "{\"amount\": 1e999}", TALLY_E_INVALID, "amount" },
		{ "{\"m\":{\"x\":\"{,\\\"\",\"y\":[1,{\"z\":"
		    "18446744073709551616}]}}", TALLY_E_INVALID, "m.y[1].z" },
		{ "{\"a\":[[1],[2, 99999999999999999999]]}", TALLY_E_INVALID,
		    "a[1][1]" },
		/* Not in a value of an object: not JSON, or not an object. */
		{ "{\"a\":1, 99999999999999999999: 2}", TALLY_E_JSON, "" },
		{ "{99999999999999999999: 2}", TALLY_E_JSON, "" },
		{ "{\"a\" 99999999999999999999}", TALLY_E_JSON, "" },
		{ "{\"a\":1} 99999999999999999999", TALLY_E_JSON, "" },
		{ "99999999999999999999", TALLY_E_JSON, "" },
		{ "[99999999999999999999]", TALLY_E_JSON, "" },
		{ "[1]", TALLY_E_JSON, "" },
		{ "{\"a\":1,\"a\":2}", TALLY_E_JSON, "" },
		{ "{\"a\":", TALLY_E_JSON, "" },
		{ "", TALLY_E_JSON, "" },
	};
	char		 field[8];
	const char	*msg;
	json_t		*j;
	size_t		 i;
	int		 rc;
	char		 big[256];

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char	 f[64];

		rc = core_json_body(cases[i].body, strlen(cases[i].body), &j,
		    f, sizeof(f), &msg);
		if (rc != cases[i].rc || strcmp(f, cases[i].field) != 0)
			fail_msg("%s: rc %d field \"%s\"", cases[i].body, rc,
			    f);
		assert_true(rc == TALLY_OK || msg != NULL);
		assert_true((j != NULL) == (rc == TALLY_OK));
		json_decref(j);
	}
	/* A long key is cut to the buffer, on a character boundary. */
	snprintf(big, sizeof(big), "{\"ab\xc3\xa9\xc3\xa9\": 1e999}");
	rc = core_json_body(big, strlen(big), &j, field, 6, &msg);
	assert_int_equal(rc, TALLY_E_INVALID);
	assert_string_equal(field, "ab\xc3\xa9");
	assert_string_equal(msg, "out of range");
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_json_int),
		cmocka_unit_test(test_json_body),
		cmocka_unit_test(test_json_int_edges),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_json_str_long),
		cmocka_unit_test(test_utf8_chars),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_valid_len),
		cmocka_unit_test(test_utf8_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
