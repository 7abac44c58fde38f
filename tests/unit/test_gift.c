/* Unit tests: gift code generation, display form, normalisation, emails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gift.h"
#include "result.h"

#define NCODES		4000
#define NALPHA		(sizeof(CORE_GIFT_ALPHABET) - 1)
#define CANARY		'\x5a'
#define PAD		16

static const char *const forbidden = "0O1IL";

static int
cmp_code(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Whether the bytes after the first n of buf (of size sz) are still the canary. */
static int
canary_intact(const char *buf, size_t n, size_t sz)
{
	size_t	 i;

	for (i = n; i < sz; i++)
		if (buf[i] != CANARY)
			return 0;
	return 1;
}

static void
test_alphabet(void **state)
{
	const char	*a = CORE_GIFT_ALPHABET;
	size_t		 i, j;
	double		 bits = 0;

	(void)state;
	assert_int_equal(NALPHA, 31);
	assert_int_equal(CORE_GIFT_SYMBOLS, 18);
	/* 18 symbols of 31: log2(31) * 18 > 89 bits, at least 80 needed. */
	for (i = 0; i < CORE_GIFT_SYMBOLS; i++)
		bits += 4.954196310386876;	/* log2(31) */
	assert_true(bits >= 80.0);
	for (i = 0; i < NALPHA; i++) {
		assert_null(strchr(forbidden, a[i]));
		assert_true((a[i] >= '2' && a[i] <= '9') ||
		    (a[i] >= 'A' && a[i] <= 'Z'));
		for (j = i + 1; j < NALPHA; j++)
			assert_int_not_equal(a[i], a[j]);
	}
	/* TLY- + 18 symbols + 4 more dashes + NUL. */
	assert_int_equal(CORE_GIFT_SHOWN, 27);
}

static void
test_code_new(void **state)
{
	char		(*codes)[CORE_GIFT_SYMBOLS + 1];
	char		 buf[CORE_GIFT_SYMBOLS + 1 + PAD];
	size_t		 counts[NALPHA], first[NALPHA], i, j;
	size_t		 expect = NCODES * CORE_GIFT_SYMBOLS / NALPHA;
	const char	*p;

	(void)state;
	codes = calloc(NCODES, sizeof(*codes));
	assert_non_null(codes);
	memset(counts, 0, sizeof(counts));
	memset(first, 0, sizeof(first));
	for (i = 0; i < NCODES; i++) {
		memset(buf, CANARY, sizeof(buf));
		assert_int_equal(core_gift_code_new(buf), TALLY_OK);
		/* Exactly 18 symbols and a NUL, nothing written beyond. */
		assert_int_equal(strlen(buf), CORE_GIFT_SYMBOLS);
		assert_true(canary_intact(buf, CORE_GIFT_SYMBOLS + 1,
		    sizeof(buf)));
		assert_int_equal(strspn(buf, CORE_GIFT_ALPHABET),
		    CORE_GIFT_SYMBOLS);
		assert_null(strpbrk(buf, forbidden));
		for (j = 0; j < CORE_GIFT_SYMBOLS; j++) {
			p = strchr(CORE_GIFT_ALPHABET, buf[j]);
			assert_non_null(p);
			counts[p - CORE_GIFT_ALPHABET]++;
			if (j == 0)
				first[p - CORE_GIFT_ALPHABET]++;
		}
		memcpy(codes[i], buf, CORE_GIFT_SYMBOLS + 1);
	}
	/* All distinct. */
	qsort(codes, NCODES, sizeof(*codes), cmp_code);
	for (i = 1; i < NCODES; i++)
		assert_string_not_equal(codes[i - 1], codes[i]);
	/*
	 * Every symbol appears, about equally often (72000 samples, about
	 * 2323 each, sigma about 47: +-25% is more than 10 sigma), and every
	 * symbol turns up in the first position too.
	 */
	for (i = 0; i < NALPHA; i++) {
		if (counts[i] < expect * 3 / 4 || counts[i] > expect * 5 / 4)
			print_error("symbol %c: %zu times, expected about "
			    "%zu\n", CORE_GIFT_ALPHABET[i], counts[i], expect);
		assert_true(counts[i] >= expect * 3 / 4);
		assert_true(counts[i] <= expect * 5 / 4);
		assert_true(first[i] > 0);
	}
	free(codes);
}

static void
test_format(void **state)
{
	char	 shown[CORE_GIFT_SHOWN + PAD], bare[CORE_GIFT_SYMBOLS + 1];
	char	 back[CORE_GIFT_SYMBOLS + 1];
	size_t	 i, k;

	(void)state;
	memset(shown, CANARY, sizeof(shown));
	core_gift_code_format("23456789ABCDEFGHJK", shown);
	assert_string_equal(shown, "TLY-2345-6789-ABCD-EFGH-JK");
	assert_int_equal(strlen(shown), CORE_GIFT_SHOWN - 1);
	assert_true(canary_intact(shown, CORE_GIFT_SHOWN, sizeof(shown)));

	for (k = 0; k < 200; k++) {
		assert_int_equal(core_gift_code_new(bare), TALLY_OK);
		memset(shown, CANARY, sizeof(shown));
		core_gift_code_format(bare, shown);
		assert_int_equal(strlen(shown), 26);
		assert_memory_equal(shown, "TLY-", 4);
		/* Dashes at 3, 8, 13, 18, 23; symbols elsewhere, in order. */
		for (i = 3; i < 26; i++) {
			if ((i - 3) % 5 == 0)
				assert_int_equal(shown[i], '-');
			else
				assert_non_null(strchr(CORE_GIFT_ALPHABET,
				    shown[i]));
		}
		assert_true(canary_intact(shown, CORE_GIFT_SHOWN,
		    sizeof(shown)));
		/* The display form reads back as the bare code. */
		assert_int_equal(core_gift_code_normalize(shown, back),
		    TALLY_OK);
		assert_string_equal(back, bare);
	}
}

struct norm_case {
	const char	*in;
	const char	*want;	/* NULL: TALLY_E_INVALID */
};

#define BARE	"23456789ABCDEFGHJK"

static const struct norm_case norms[] = {
	/* The display form and its variations. */
	{ "TLY-2345-6789-ABCD-EFGH-JK", BARE },
	{ "tly-2345-6789-abcd-efgh-jk", BARE },
	{ "Tly-2345-6789-aBcD-eFgH-jK", BARE },
	{ "TLY23456789ABCDEFGHJK", BARE },
	{ "tly23456789abcdefghjk", BARE },
	{ "TLY 2345 6789 ABCD EFGH JK", BARE },
	{ "  TLY-2345-6789-ABCD-EFGH-JK  ", BARE },
	{ "\tTLY-2345\t6789-ABCD EFGH-JK\t", BARE },
	{ "TLY--2345--6789--ABCD--EFGH--JK", BARE },
	/* Without the prefix. */
	{ "2345-6789-ABCD-EFGH-JK", BARE },
	{ "23456789ABCDEFGHJK", BARE },
	{ "23456789abcdefghjk", BARE },
	{ "2345 6789 abcd efgh jk", BARE },
	{ "2345678 9ABCDEF-GHJK", BARE },
	{ "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZ", "ZZZZZZZZZZZZZZZZZZ" },
	{ "tly-tttt-yyyy-2222-9999-tt", "TTTTYYYY22229999TT" },
	/* Wrong length. */
	{ "TLY-2345-6789-ABCD-EFGH-J", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-JKM", NULL },
	{ "2345-6789-ABCD-EFGH-J", NULL },
	{ "2345-6789-ABCD-EFGH-JKM", NULL },
	{ "TLY-TLY-2345-6789-ABCD-EFGH-JK", NULL },
	{ "TLY", NULL },
	{ "TLY-", NULL },
	{ "T", NULL },
	{ "2", NULL },
	{ "", NULL },
	{ "-", NULL },
	{ "----", NULL },
	{ "   ", NULL },
	/* Symbols outside the alphabet, upper and lower case. */
	{ "TLY-2345-6789-ABCD-EFGH-J0", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-JO", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-Jo", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-J1", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-JI", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-Ji", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-JL", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-Jl", NULL },
	{ "0345-6789-ABCD-EFGH-JK", NULL },
	{ "O345-6789-ABCD-EFGH-JK", NULL },
	{ "1345-6789-ABCD-EFGH-JK", NULL },
	{ "I345-6789-ABCD-EFGH-JK", NULL },
	{ "L345-6789-ABCD-EFGH-JK", NULL },
	{ "TLY_2345_6789_ABCD_EFGH_JK", NULL },
	{ "TLY.2345.6789.ABCD.EFGH.JK", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-J+", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-J/", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-J%", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-J\xc3\x89", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-\xc3\x89", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-JK\n", NULL },
	{ "TLY-2345-6789-ABCD-EFGH-JK\r", NULL },
	{ "XLY-2345-6789-ABCD-EFGH-JK", NULL },
	{ "TLX-2345-6789-ABCD-EFGH-JK", NULL },
};

static void
test_normalize_table(void **state)
{
	char	 out[CORE_GIFT_SYMBOLS + 1 + PAD];
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(norms) / sizeof(norms[0]); i++) {
		memset(out, CANARY, sizeof(out));
		rc = core_gift_code_normalize(norms[i].in, out);
		if (norms[i].want == NULL) {
			if (rc != TALLY_E_INVALID)
				print_error("\"%s\": rc %d, want invalid\n",
				    norms[i].in, rc);
			assert_int_equal(rc, TALLY_E_INVALID);
		} else {
			if (rc != TALLY_OK)
				print_error("\"%s\": rc %d, want %s\n",
				    norms[i].in, rc, norms[i].want);
			assert_int_equal(rc, TALLY_OK);
			assert_string_equal(out, norms[i].want);
		}
		/* Never more than the bare code and its NUL. */
		assert_true(canary_intact(out, CORE_GIFT_SYMBOLS + 1,
		    sizeof(out)));
	}
}

static void
test_normalize_oversized(void **state)
{
	char	 out[CORE_GIFT_SYMBOLS + 1 + PAD];
	char	*big;
	size_t	 sizes[] = { 19, 21, 22, 40, 63, 64, 65, 100, 1000, 100000 };
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		/* Valid symbols only, far too many of them. */
		big = malloc(sizes[i] + 1);
		assert_non_null(big);
		memset(big, 'A', sizes[i]);
		big[sizes[i]] = '\0';
		memset(out, CANARY, sizeof(out));
		assert_int_equal(core_gift_code_normalize(big, out),
		    TALLY_E_INVALID);
		assert_true(canary_intact(out, CORE_GIFT_SYMBOLS + 1,
		    sizeof(out)));
		free(big);
		/* The same with the prefix in front. */
		big = malloc(sizes[i] + 4);
		assert_non_null(big);
		memcpy(big, "TLY", 3);
		memset(big + 3, 'A', sizes[i]);
		big[sizes[i] + 3] = '\0';
		assert_int_equal(core_gift_code_normalize(big, out),
		    TALLY_E_INVALID);
		assert_true(canary_intact(out, CORE_GIFT_SYMBOLS + 1,
		    sizeof(out)));
		free(big);
	}
}

static void
test_normalize_generated(void **state)
{
	char	 bare[CORE_GIFT_SYMBOLS + 1], shown[CORE_GIFT_SHOWN];
	char	 typed[64], out[CORE_GIFT_SYMBOLS + 1];
	size_t	 i, k, n;

	(void)state;
	for (k = 0; k < 500; k++) {
		assert_int_equal(core_gift_code_new(bare), TALLY_OK);
		core_gift_code_format(bare, shown);
		/* Lower case, dashes dropped. */
		for (i = 0, n = 0; shown[i] != '\0'; i++)
			if (shown[i] != '-')
				typed[n++] = (char)(shown[i] >= 'A' &&
				    shown[i] <= 'Z' ? shown[i] + 32 : shown[i]);
		typed[n] = '\0';
		assert_int_equal(core_gift_code_normalize(typed, out),
		    TALLY_OK);
		assert_string_equal(out, bare);
		/* The bare code itself. */
		assert_int_equal(core_gift_code_normalize(bare, out),
		    TALLY_OK);
		assert_string_equal(out, bare);
		/* One symbol replaced by a look-alike is refused. */
		snprintf(typed, sizeof(typed), "%s", bare);
		typed[k % CORE_GIFT_SYMBOLS] = forbidden[k % 5];
		assert_int_equal(core_gift_code_normalize(typed, out),
		    TALLY_E_INVALID);
	}
}

struct email_case {
	const char	*in;
	const char	*want;	/* NULL: TALLY_E_INVALID */
};

static const struct email_case emails[] = {
	{ "alice@example.com", "alice@example.com" },
	{ "Alice@Example.COM", "alice@example.com" },
	{ "  alice@example.com", "alice@example.com" },
	{ "alice@example.com  ", "alice@example.com" },
	{ " \t\r\n Alice.Smith+tag@Mail.Example.ORG \r\n\t ",
	  "alice.smith+tag@mail.example.org" },
	{ "a@b", "a@b" },
	{ "A@B", "a@b" },
	/* Only ASCII is lower-cased; other bytes are kept as they are. */
	{ "J\xc3\x96RG@Example.de", "j\xc3\x96rg@example.de" },
	/* Invalid. */
	{ "", NULL },
	{ " ", NULL },
	{ " \t\r\n", NULL },
	{ "ab", NULL },
	{ "a@", NULL },
	{ "@b", NULL },
	{ "alice", NULL },
	{ "alice.example.com", NULL },
	{ "@example.com", NULL },
	{ "  @example.com  ", NULL },
	{ "alice@", NULL },
	{ "  alice@  ", NULL },
	{ "al ice@example.com", NULL },
	{ "alice@exa mple.com", NULL },
	{ "alice @example.com", NULL },
	{ "alice@ example.com", NULL },
	{ "alice\t@example.com", NULL },
	{ "alice\n@example.com", NULL },
	{ "alice\r\n@example.com", NULL },
	{ "alice\x01@example.com", NULL },
	{ "alice\x7f@example.com", NULL },
};

static void
test_email_table(void **state)
{
	char	 out[400];
	char	 again[400];
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(emails) / sizeof(emails[0]); i++) {
		rc = core_email_normalize(emails[i].in, out, sizeof(out));
		if (emails[i].want == NULL) {
			if (rc != TALLY_E_INVALID)
				print_error("\"%s\": rc %d, want invalid\n",
				    emails[i].in, rc);
			assert_int_equal(rc, TALLY_E_INVALID);
			continue;
		}
		if (rc != TALLY_OK)
			print_error("\"%s\": rc %d\n", emails[i].in, rc);
		assert_int_equal(rc, TALLY_OK);
		assert_string_equal(out, emails[i].want);
		/* Normalising again changes nothing. */
		assert_int_equal(core_email_normalize(out, again,
		    sizeof(again)), TALLY_OK);
		assert_string_equal(again, out);
	}
}

/* An address of exactly n bytes: local part of a's, "@example.com". */
static char *
email_of(size_t n)
{
	const char	*dom = "@example.com";
	char		*s;
	size_t		 d = strlen(dom);

	assert_true(n > d);
	s = malloc(n + 1);
	assert_non_null(s);
	memset(s, 'A', n - d);
	memcpy(s + n - d, dom, d + 1);
	return s;
}

static void
test_email_length(void **state)
{
	char	 out[321 + PAD], padded[400];
	char	*s;
	size_t	 i;

	(void)state;
	/* 320 bytes is the maximum. */
	s = email_of(320);
	memset(out, CANARY, sizeof(out));
	assert_int_equal(core_email_normalize(s, out, 321), TALLY_OK);
	assert_int_equal(strlen(out), 320);
	assert_true(canary_intact(out, 321, sizeof(out)));
	for (i = 0; i < 308; i++)
		assert_int_equal(out[i], 'a');
	/* ...also with whitespace around it, which does not count. */
	snprintf(padded, sizeof(padded), "   %s \t ", s);
	assert_int_equal(core_email_normalize(padded, out, 321), TALLY_OK);
	assert_int_equal(strlen(out), 320);
	free(s);

	/* 321 bytes and more are refused, whatever the buffer. */
	for (i = 321; i <= 330; i++) {
		s = email_of(i);
		memset(out, CANARY, sizeof(out));
		assert_int_equal(core_email_normalize(s, out, sizeof(out)),
		    TALLY_E_INVALID);
		free(s);
	}
	s = email_of(100000);
	assert_int_equal(core_email_normalize(s, out, sizeof(out)),
	    TALLY_E_INVALID);
	free(s);
}

static void
test_email_small_buffer(void **state)
{
	char	 out[8 + PAD];

	(void)state;
	/* An address that does not fit is refused, never truncated. */
	memset(out, CANARY, sizeof(out));
	assert_int_equal(core_email_normalize("alice@example.com", out, 8),
	    TALLY_E_INVALID);
	assert_true(canary_intact(out, 8, sizeof(out)));
	/* Exactly fitting (7 bytes and the NUL). */
	memset(out, CANARY, sizeof(out));
	assert_int_equal(core_email_normalize("  AB@C.DE ", out, 8),
	    TALLY_OK);
	assert_string_equal(out, "ab@c.de");
	assert_true(canary_intact(out, 8, sizeof(out)));
	assert_int_equal(core_email_normalize("ABC@D.EF", out, 8),
	    TALLY_E_INVALID);
	assert_true(canary_intact(out, 8, sizeof(out)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alphabet),
		cmocka_unit_test(test_code_new),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_normalize_table),
		cmocka_unit_test(test_normalize_oversized),
		cmocka_unit_test(test_normalize_generated),
		cmocka_unit_test(test_email_table),
		cmocka_unit_test(test_email_length),
		cmocka_unit_test(test_email_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
