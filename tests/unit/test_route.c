/* Unit tests for core/route.c: segment matching and decoded captures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "route.h"

struct rcase {
	const char	*pattern;
	const char	*path;
	int		 want;
	size_t		 ncaps;		/* when want == 1 */
	const char	*caps[CORE_ROUTE_CAPS];
};

static void
run_cases(const struct rcase *c, size_t n)
{
	struct core_route_caps	 caps;
	size_t			 i, j;
	int			 rc;

	for (i = 0; i < n; i++) {
		memset(&caps, 0xa5, sizeof(caps));
		rc = core_route_match(c[i].pattern, c[i].path, &caps);
		if (rc != c[i].want)
			fail_msg("\"%s\" vs \"%s\": %d, want %d",
			    c[i].pattern, c[i].path, rc, c[i].want);
		if (rc != 1)
			continue;
		if (caps.n != c[i].ncaps)
			fail_msg("\"%s\" vs \"%s\": %zu captures, want %zu",
			    c[i].pattern, c[i].path, caps.n, c[i].ncaps);
		for (j = 0; j < caps.n; j++) {
			if (memchr(caps.v[j], '\0', CORE_ROUTE_CAPLEN) == NULL)
				fail_msg("\"%s\": capture %zu unterminated",
				    c[i].path, j);
			if (strcmp(caps.v[j], c[i].caps[j]) != 0)
				fail_msg("\"%s\" vs \"%s\": capture %zu is "
				    "\"%s\", want \"%s\"", c[i].pattern,
				    c[i].path, j, caps.v[j], c[i].caps[j]);
		}
	}
}

#define RUN(t)	run_cases((t), sizeof(t) / sizeof((t)[0]))

static void
test_exact(void **state)
{
	static const struct rcase	 cases[] = {
		{ "/", "/", 1, 0, { NULL } },
		{ "/", "", 0, 0, { NULL } },
		{ "/", "/a", 0, 0, { NULL } },
		{ "/", "//", 0, 0, { NULL } },
		{ "/status", "/status", 1, 0, { NULL } },
		{ "/credits/balance", "/credits/balance", 1, 0, { NULL } },
		{ "/credits/balance", "/credits/Balance", 0, 0, { NULL } },
		{ "/credits/balance", "/credits/balanc", 0, 0, { NULL } },
		{ "/credits/balance", "/credits/balancex", 0, 0, { NULL } },
		{ "/credits/balance", "/credits", 0, 0, { NULL } },
		{ "/credits/balance", "/credits/", 0, 0, { NULL } },
		{ "/credits", "/credits/balance", 0, 0, { NULL } },
		{ "/credits", "/creditsx", 0, 0, { NULL } },
		{ "/credits", "/credit", 0, 0, { NULL } },
		{ "/credits", "/", 0, 0, { NULL } },
		{ "/credits", "", 0, 0, { NULL } },
		{ "/credits", "credits", 0, 0, { NULL } },
		/* A trailing slash is a different path, both ways. */
		{ "/credits", "/credits/", 0, 0, { NULL } },
		{ "/credits/", "/credits", 0, 0, { NULL } },
		{ "/credits/", "/credits/", 1, 0, { NULL } },
		/* Doubled slashes are not folded. */
		{ "/credits/balance", "/credits//balance", 0, 0, { NULL } },
		{ "/credits/balance", "//credits/balance", 0, 0, { NULL } },
		/* Literal segments are not decoded. */
		{ "/credits", "/%63redits", 0, 0, { NULL } },
		/* A "{" without "}" is a literal. */
		{ "/a/{id", "/a/{id", 1, 0, { NULL } },
		{ "/a/{id", "/a/x", 0, 0, { NULL } },
		{ "/a/{", "/a/{", 1, 0, { NULL } },
	};

	(void)state;
	RUN(cases);
}

static void
test_captures(void **state)
{
	static const struct rcase	 cases[] = {
		{ "/credits/purchase/{id}", "/credits/purchase/starter", 1, 1,
		    { "starter" } },
		{ "/credits/purchase/{id}", "/credits/purchase/s", 1, 1,
		    { "s" } },
		{ "/credits/purchase/{id}", "/credits/purchase/0", 1, 1,
		    { "0" } },
		{ "/{a}", "/x", 1, 1, { "x" } },
		{ "/{a}/{b}", "/x/y", 1, 2, { "x", "y" } },
		{ "/u/{a}/p/{b}", "/u/1/p/2", 1, 2, { "1", "2" } },
		{ "/u/{a}/p/{b}", "/u/1/q/2", 0, 0, { NULL } },
		{ "/{a}/{b}/{c}/{d}", "/1/2/3/4", 1, 4, { "1", "2", "3", "4" } },
		{ "/{}", "/x", 1, 1, { "x" } },
		/* Characters other than '/' are kept as they are. */
		{ "/i/{id}", "/i/a.b-c_d~e", 1, 1, { "a.b-c_d~e" } },
		{ "/i/{id}", "/i/a+b", 1, 1, { "a+b" } },
		{ "/i/{id}", "/i/{x}", 1, 1, { "{x}" } },
		{ "/i/{id}", "/i/\xc3\xa9t\xc3\xa9", 1, 1,
		    { "\xc3\xa9t\xc3\xa9" } },
		/* A capture matches exactly one segment. */
		{ "/i/{id}", "/i/a/b", 0, 0, { NULL } },
		{ "/i/{id}/x", "/i/a/b/x", 0, 0, { NULL } },
		{ "/i/{id}", "/i", 0, 0, { NULL } },
		/* An empty segment is never captured. */
		{ "/i/{id}", "/i/", 0, 0, { NULL } },
		{ "/i/{id}/x", "/i//x", 0, 0, { NULL } },
		{ "/{id}", "/", 0, 0, { NULL } },
		{ "/{id}", "//", 0, 0, { NULL } },
		/* No trailing slash after a capture. */
		{ "/i/{id}", "/i/a/", 0, 0, { NULL } },
		/* Too many captures: the fifth does not fit, no match. */
		{ "/{a}/{b}/{c}/{d}/{e}", "/1/2/3/4/5", 0, 0, { NULL } },
	};

	(void)state;
	RUN(cases);
}

static void
test_percent(void **state)
{
	static const struct rcase	 cases[] = {
		{ "/i/{id}", "/i/%41", 1, 1, { "A" } },
		{ "/i/{id}", "/i/%61", 1, 1, { "a" } },
		{ "/i/{id}", "/i/a%41b", 1, 1, { "aAb" } },
		{ "/i/{id}", "/i/%4a%4A", 1, 1, { "JJ" } },
		{ "/i/{id}", "/i/%20", 1, 1, { " " } },
		{ "/i/{id}", "/i/%25", 1, 1, { "%" } },
		{ "/i/{id}", "/i/%2541", 1, 1, { "%41" } },
		{ "/i/{id}", "/i/%7E", 1, 1, { "~" } },
		{ "/i/{id}", "/i/%C3%A9", 1, 1, { "\xc3\xa9" } },
		{ "/i/{id}", "/i/%41%42%43", 1, 1, { "ABC" } },
		/* Bad escapes. */
		{ "/i/{id}", "/i/%", 0, 0, { NULL } },
		{ "/i/{id}", "/i/a%", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%4", 0, 0, { NULL } },
		{ "/i/{id}", "/i/a%4", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%4/x", 0, 0, { NULL } },
		{ "/i/{id}/x", "/i/%4/x", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%G1", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%1G", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%zz", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%-1", 0, 0, { NULL } },
		{ "/i/{id}", "/i/% 1", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%%41", 0, 0, { NULL } },
		/* What decodes to a separator, NUL or control does not match. */
		{ "/i/{id}", "/i/%2F", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%2f", 0, 0, { NULL } },
		{ "/i/{id}", "/i/a%2Fb", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%2F..%2Fetc", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%00", 0, 0, { NULL } },
		{ "/i/{id}", "/i/a%00b", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%01", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%09", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%0A", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%0d%0a", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%1F", 0, 0, { NULL } },
		{ "/i/{id}", "/i/%7F", 0, 0, { NULL } },
		/* Raw control bytes in a capture are refused as well. */
		{ "/i/{id}", "/i/a\tb", 0, 0, { NULL } },
		{ "/i/{id}", "/i/a\nb", 0, 0, { NULL } },
		{ "/i/{id}", "/i/\x7f", 0, 0, { NULL } },
	};

	(void)state;
	RUN(cases);
}

/*
 * The longest capture that fits CORE_ROUTE_CAPLEN with its NUL, and one
 * byte more; counted after decoding, so "%41" is one byte.
 */
static void
test_capture_length(void **state)
{
	static const size_t	 tail[] = { 0, 1, 2, 5 };	/* as %41 */
	struct core_route_caps	 caps;
	char			*path, *want;
	size_t			 i, k, n, raw, o;
	int			 extra;

	(void)state;
	path = malloc(3 * CORE_ROUTE_CAPLEN + 8);
	want = malloc(CORE_ROUTE_CAPLEN + 1);
	assert_non_null(path);
	assert_non_null(want);
	for (i = 0; i < sizeof(tail) / sizeof(tail[0]); i++)
		for (extra = 0; extra < 2; extra++) {
			/* n decoded bytes: n - tail[i] raw 'x', tail[i] "%41". */
			n = CORE_ROUTE_CAPLEN - 1 + (size_t)extra;
			raw = n - tail[i];
			memcpy(path, "/i/", 3);
			o = 3;
			memset(path + o, 'x', raw);
			memset(want, 'x', raw);
			o += raw;
			for (k = 0; k < tail[i]; k++) {
				memcpy(path + o, "%41", 3);
				o += 3;
				want[raw + k] = 'A';
			}
			path[o] = '\0';
			want[n] = '\0';
			if (core_route_match("/i/{id}", path, &caps) != !extra)
				fail_msg("%zu bytes (%zu escaped): want %d", n,
				    tail[i], !extra);
			if (!extra) {
				assert_int_equal(caps.n, 1);
				assert_int_equal(strlen(caps.v[0]), n);
				assert_string_equal(caps.v[0], want);
			}
		}
	free(path);
	free(want);
}

/* Captures are reset on every call, matching or not. */
static void
test_caps_reset(void **state)
{
	struct core_route_caps	 caps;

	(void)state;
	assert_int_equal(core_route_match("/{a}/{b}", "/x/y", &caps), 1);
	assert_int_equal(caps.n, 2);
	assert_int_equal(core_route_match("/status", "/status", &caps), 1);
	assert_int_equal(caps.n, 0);
	assert_int_equal(core_route_match("/{a}/{b}", "/x/y", &caps), 1);
	assert_int_equal(core_route_match("/nope", "/status", &caps), 0);
}

/* Paths far longer than any buffer: no match, no overrun. */
static void
test_oversized(void **state)
{
	struct core_route_caps	 caps;
	char			*path;
	size_t			 i, n = 1 << 16;

	(void)state;
	path = malloc(n + 1);
	assert_non_null(path);
	memset(path, 'a', n);
	path[0] = '/';
	path[n] = '\0';
	assert_int_equal(core_route_match("/{id}", path, &caps), 0);
	assert_int_equal(core_route_match("/a", path, &caps), 0);
	assert_int_equal(core_route_match(path, path, &caps), 1);
	assert_int_equal(caps.n, 0);

	/* Many short segments: only as deep as the pattern. */
	for (i = 0; i < n; i += 2)
		path[i] = '/';
	assert_int_equal(core_route_match("/{a}/{b}", path, &caps), 0);
	assert_int_equal(core_route_match(path, path, &caps), 1);
	free(path);
}

/* The gate matches the path lighttpd will serve, however it is spelled. */
static void
test_path_normalize(void **state)
{
	static const char *const t[][2] = {
		{ "/sync/index.html", "/sync/index.html" },
		{ "//sync//index.html", "/sync/index.html" },
		{ "/%73ync/index.html", "/sync/index.html" },
		{ "/sync%2findex.html", "/sync%2Findex.html" },
		{ "/a/../sync/x", "/sync/x" },
		{ "/sync/./x", "/sync/x" },
		{ "/sync/..", "/" },
		{ "/../../sync/", "/sync/" },
		{ "/sync?x=1", "/sync" },
		{ "/x/%2e%2e/sync/z", "/sync/z" },
		{ "/", "/" },
	};
	char	 out[64];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(core_path_normalize(t[i][0], out,
		    sizeof(out)), 0);
		assert_string_equal(out, t[i][1]);
	}
	assert_int_equal(core_path_normalize("/a%zz", out, sizeof(out)), -1);
	assert_int_equal(core_path_normalize("/a%00b", out, sizeof(out)), -1);
	assert_int_equal(core_path_normalize("/a%4", out, sizeof(out)), -1);
	assert_int_equal(core_path_normalize("/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_path_normalize),
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_captures),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_capture_length),
		cmocka_unit_test(test_caps_reset),
		cmocka_unit_test(test_oversized),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
