/* Unit tests for core/idgen.c: hex encoding, random ids, SHA-256. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "idgen.h"
#include "result.h"

#define GUARD	'#'

static void
test_hex(void **state)
{
	static const struct {
		const char	*in;	/* bytes */
		size_t		 n;
		const char	*want;
	} cases[] = {
		{ "", 0, "" },
		{ "\x00", 1, "00" },
		{ "\x01", 1, "01" },
		{ "\x0f", 1, "0f" },
		{ "\x10", 1, "10" },
		{ "\x7f", 1, "7f" },
		{ "\x80", 1, "80" },
		{ "\xff", 1, "ff" },
		{ "\x00\x00", 2, "0000" },
		{ "\x01\x23\x45\x67\x89\xab\xcd\xef", 8, "0123456789abcdef" },
		{ "\xfe\xdc\xba\x98\x76\x54\x32\x10", 8, "fedcba9876543210" },
		{ "abc", 3, "616263" },
		{ "a\0b", 3, "610062" },
	};
	char	 out[64];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, GUARD, sizeof(out));
		core_hex((const unsigned char *)cases[i].in, cases[i].n, out);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: \"%s\", want \"%s\"", i, out,
			    cases[i].want);
		/* Exactly 2n+1 bytes written. */
		assert_int_equal(out[2 * cases[i].n + 1], GUARD);
	}
}

/* All 256 byte values in one buffer. */
static void
test_hex_all_bytes(void **state)
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 in[256];
	char			 out[513];
	size_t			 i;

	(void)state;
	for (i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	core_hex(in, sizeof(in), out);
	assert_int_equal(strlen(out), 512);
	for (i = 0; i < 256; i++) {
		assert_int_equal(out[2 * i], digits[i >> 4]);
		assert_int_equal(out[2 * i + 1], digits[i & 15]);
	}
}

static int
is_lower_hex(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static void
test_random_hex(void **state)
{
	static const size_t	 sizes[] = { 0, 1, 2, 8, 16, 31, 32, 63, 64 };
	char			 out[2 * 64 + 8];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(out, GUARD, sizeof(out));
		assert_int_equal(core_random_hex(sizes[i], out), TALLY_OK);
		if (strlen(out) != 2 * sizes[i])
			fail_msg("%zu bytes: length %zu", sizes[i],
			    strlen(out));
		assert_true(is_lower_hex(out));
		assert_int_equal(out[2 * sizes[i] + 1], GUARD);
	}

	/* Over the 64-byte limit: refused, nothing written. */
	memset(out, GUARD, sizeof(out));
	assert_int_equal(core_random_hex(65, out), TALLY_E_INTERNAL);
	assert_int_equal(core_random_hex(SIZE_MAX, out), TALLY_E_INTERNAL);
	assert_int_equal(out[0], GUARD);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * 1000 ids of 16 bytes are distinct, and every hex digit turns up in
 * every position (each is missing from 1000 draws with chance ~1e-28).
 */
static void
test_random_hex_distinct(void **state)
{
	enum { N = 1000, B = 16 };
	char		(*ids)[2 * B + 1];
	unsigned	 seen[2 * B];
	size_t		 i, j;
	int		 d;

	(void)state;
	ids = calloc(N, sizeof(*ids));
	assert_non_null(ids);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < N; i++) {
		assert_int_equal(core_random_hex(B, ids[i]), TALLY_OK);
		for (j = 0; j < 2 * B; j++) {
			d = ids[i][j] <= '9' ? ids[i][j] - '0' :
			    ids[i][j] - 'a' + 10;
			seen[j] |= 1u << d;
		}
	}
	qsort(ids, N, sizeof(*ids), cmp_str);
	for (i = 1; i < N; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			fail_msg("duplicate id %s", ids[i]);
	for (j = 0; j < 2 * B; j++)
		if (seen[j] != 0xffff)
			fail_msg("position %zu: digits seen %04x", j, seen[j]);
	free(ids);
}

static void
test_sha256(void **state)
{
	static const struct {
		const char	*in;
		const char	*want;
	} cases[] = {
		/* FIPS 180-2 / NIST CAVS vectors. */
		{ "",
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc",
		  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	char	 out[65 + 1];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, GUARD, sizeof(out));
		core_sha256_hex(cases[i].in, strlen(cases[i].in), out);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("\"%s\": %s", cases[i].in, out);
		assert_int_equal(out[65], GUARD);
	}
}

/* One million 'a's (FIPS 180-2), and bytes past len are not hashed. */
static void
test_sha256_long(void **state)
{
	char	 out[65];
	char	*buf;
	size_t	 n = 1000000;

	(void)state;
	buf = malloc(n + 1);
	assert_non_null(buf);
	memset(buf, 'a', n);
	buf[n] = 'b';
	core_sha256_hex(buf, n, out);
	assert_string_equal(out,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(buf);

	core_sha256_hex("abcdef", 3, out);
	assert_string_equal(out,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* NUL bytes count when inside len. */
	core_sha256_hex("abc\0", 4, out);
	assert_string_not_equal(out,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/*
 * core_sha256 keeps one context per thread: threads hashing different
 * inputs at once each get their own input's digest, every time, and a
 * thread that ends and frees its context leaves the others working.
 */
struct sha_worker {
	char		 in[32];
	unsigned char	 want[SHA256_DIGEST_LENGTH];
	int		 bad;
};

static void *
sha_worker_run(void *arg)
{
	struct sha_worker *w = arg;
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	int		 i;

	for (i = 0; i < 2000; i++)
		if (core_sha256(w->in, strlen(w->in), md) != 0 ||
		    memcmp(md, w->want, sizeof(md)) != 0)
			w->bad++;
	core_digest_thread_end();
	return NULL;
}

static void
test_sha256_threads(void **state)
{
	struct sha_worker w[4];
	pthread_t	 th[4];
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	size_t		 i;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(w[i].in, sizeof(w[i].in), "service-key-%zu", i);
		SHA256((const unsigned char *)w[i].in, strlen(w[i].in),
		    w[i].want);
		w[i].bad = 0;
		assert_int_equal(pthread_create(&th[i], NULL, sha_worker_run,
		    &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].bad, 0);
	}
	/* This thread's context, made now, after the others freed theirs. */
	assert_int_equal(core_sha256("abc", 3, md), 0);
	SHA256((const unsigned char *)"abc", 3, w[0].want);
	assert_memory_equal(md, w[0].want, sizeof(md));
	core_digest_thread_end();
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_hex_all_bytes),
		cmocka_unit_test(test_random_hex),
		cmocka_unit_test(test_random_hex_distinct),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_sha256_long),
		cmocka_unit_test(test_sha256_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
