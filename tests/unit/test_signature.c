/* Unit tests: webhook signatures, form encoding, sealed secrets, decimal
 * amounts and the rounding rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "form.h"
#include "money.h"
#include "result.h"
#include "signature.h"

#define SECRET	"whsec_test_0123456789abcdef"
#define BODY	"{\"id\":\"evt_1\",\"type\":\"checkout.session.completed\"}"
#define NOW	1795240000

/* A correct v1 for body at t with secret. */
static void
sign(const char *secret, int64_t t, const char *body, char *out)
{
	char	 buf[512];

	snprintf(buf, sizeof(buf), "%lld.%s", (long long)t, body);
	core_hmac_sha256_hex(secret, buf, strlen(buf), out);
}

static void
test_stripe_valid(void **state)
{
	char	 v1[65], hdr[256];

	(void)state;
	sign(SECRET, NOW, BODY, v1);
	snprintf(hdr, sizeof(hdr), "t=%d,v1=%s", NOW, v1);
	assert_int_equal(core_stripe_verify(hdr, BODY, strlen(BODY), SECRET,
	    NOW, 300), TALLY_OK);
	/* Within the tolerance either way. */
	assert_int_equal(core_stripe_verify(hdr, BODY, strlen(BODY), SECRET,
	    NOW + 300, 300), TALLY_OK);
	assert_int_equal(core_stripe_verify(hdr, BODY, strlen(BODY), SECRET,
	    NOW - 300, 300), TALLY_OK);
	/* Upper-case hex and a v0 are fine too. */
	snprintf(hdr, sizeof(hdr), "t=%d,v0=abc,v1=%s", NOW, v1);
	assert_int_equal(core_stripe_verify(hdr, BODY, strlen(BODY), SECRET,
	    NOW, 300), TALLY_OK);
}

static void
test_stripe_several_v1(void **state)
{
	char	 good[65], bad[65], hdr[512];

	(void)state;
	sign(SECRET, NOW, BODY, good);
	sign("whsec_old_secret", NOW, BODY, bad);
	/* During a secret rotation Stripe sends one v1 per secret. */
	snprintf(hdr, sizeof(hdr), "t=%d,v1=%s,v1=%s", NOW, bad, good);
	assert_int_equal(core_stripe_verify(hdr, BODY, strlen(BODY), SECRET,
	    NOW, 300), TALLY_OK);
	snprintf(hdr, sizeof(hdr), "t=%d,v1=%s,v1=%s", NOW, good, bad);
	assert_int_equal(core_stripe_verify(hdr, BODY, strlen(BODY), SECRET,
	    NOW, 300), TALLY_OK);
	snprintf(hdr, sizeof(hdr), "t=%d,v1=%s,v1=%s", NOW, bad, bad);
	assert_int_equal(core_stripe_verify(hdr, BODY, strlen(BODY), SECRET,
	    NOW, 300), TALLY_E_SIGNATURE);
}

static void
test_stripe_rejects(void **state)
{
	static const char *const malformed[] = {
		"", "t=", "v1=abc", "t=abc,v1=00", "t=1,t=2,v1=00",
		"garbage", "t=-5,v1=00", ",,,", "t=1795240000",
	};
	char	 v1[65], hdr[256], body[sizeof(BODY)];
	size_t	 i;

	(void)state;
	sign(SECRET, NOW, BODY, v1);
	snprintf(hdr, sizeof(hdr), "t=%d,v1=%s", NOW, v1);
	/* Wrong secret. */
	assert_int_equal(core_stripe_verify(hdr, BODY, strlen(BODY),
	    "whsec_other", NOW, 300), TALLY_E_SIGNATURE);
	/* Old and future timestamps. */
	assert_int_equal(core_stripe_verify(hdr, BODY, strlen(BODY), SECRET,
	    NOW + 301, 300), TALLY_E_SIGNATURE);
	assert_int_equal(core_stripe_verify(hdr, BODY, strlen(BODY), SECRET,
	    NOW - 301, 300), TALLY_E_SIGNATURE);
	/* The body changed by one byte, at each position. */
	for (i = 0; i < strlen(BODY); i++) {
		memcpy(body, BODY, sizeof(BODY));
		body[i] ^= 1;
		assert_int_equal(core_stripe_verify(hdr, body, strlen(BODY),
		    SECRET, NOW, 300), TALLY_E_SIGNATURE);
	}
	/* A shorter body (a signature is not a prefix check). */
	assert_int_equal(core_stripe_verify(hdr, BODY, strlen(BODY) - 1,
	    SECRET, NOW, 300), TALLY_E_SIGNATURE);
	/* The timestamp is signed: another t with the same v1 fails. */
	snprintf(hdr, sizeof(hdr), "t=%d,v1=%s", NOW + 1, v1);
	assert_int_equal(core_stripe_verify(hdr, BODY, strlen(BODY), SECRET,
	    NOW, 300), TALLY_E_SIGNATURE);
	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		assert_int_equal(core_stripe_verify(malformed[i], BODY,
		    strlen(BODY), SECRET, NOW, 300), TALLY_E_SIGNATURE);
	assert_int_equal(core_stripe_verify(NULL, BODY, strlen(BODY), SECRET,
	    NOW, 300), TALLY_E_SIGNATURE);
	/* No secret configured: nothing verifies. */
	assert_int_equal(core_stripe_verify(hdr, BODY, strlen(BODY), "", NOW,
	    300), TALLY_E_SIGNATURE);
}

static void
test_btcpay(void **state)
{
	char	 mac[65], hdr[128];

	(void)state;
	core_hmac_sha256_hex("btcsecret", BODY, strlen(BODY), mac);
	snprintf(hdr, sizeof(hdr), "sha256=%s", mac);
	assert_int_equal(core_btcpay_verify(hdr, BODY, strlen(BODY),
	    "btcsecret"), TALLY_OK);
	assert_int_equal(core_btcpay_verify(hdr, BODY, strlen(BODY),
	    "other"), TALLY_E_SIGNATURE);
	assert_int_equal(core_btcpay_verify(hdr, BODY, strlen(BODY) - 1,
	    "btcsecret"), TALLY_E_SIGNATURE);
	assert_int_equal(core_btcpay_verify(mac, BODY, strlen(BODY),
	    "btcsecret"), TALLY_E_SIGNATURE);
	assert_int_equal(core_btcpay_verify("sha256=", BODY, strlen(BODY),
	    "btcsecret"), TALLY_E_SIGNATURE);
	assert_int_equal(core_btcpay_verify(NULL, BODY, strlen(BODY),
	    "btcsecret"), TALLY_E_SIGNATURE);
	/* The known HMAC-SHA256 test vector (RFC 4231 case 2). */
	core_hmac_sha256_hex("Jefe", "what do ya want for nothing?", 28, mac);
	assert_string_equal(mac, "5bdcc146bf60754e6a042426089575c75a003f08"
	    "9d2739839dec58b964ec3843");
}

static void
test_form(void **state)
{
	struct core_form f;
	int		 i;

	(void)state;
	core_form_init(&f);
	core_form_add(&f, "mode", "payment");
	core_form_add(&f, "line_items[0][price_data][product_data][name]",
	    "500 credits & more=ok?");
	core_form_add_int(&f, "line_items[0][price_data][unit_amount]", 500);
	core_form_add(&f, "metadata[note]", "Grüße ~_.-");
	core_form_add(&f, "empty", NULL);
	assert_int_equal(core_form_ok(&f), TALLY_OK);
	assert_string_equal(f.buf, "mode=payment"
	    "&line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D="
	    "500%20credits%20%26%20more%3Dok%3F"
	    "&line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=500"
	    "&metadata%5Bnote%5D=Gr%C3%BC%C3%9Fe%20~_.-&empty=");
	core_form_init(&f);
	core_form_add_int(&f, "n", INT64_MIN);
	assert_string_equal(f.buf, "n=-9223372036854775808");
	/* Overflow is sticky and reported, never truncated silently. */
	for (i = 0; i < 2000; i++)
		core_form_add(&f, "key", "value");
	assert_int_equal(core_form_ok(&f), TALLY_E_TOOBIG);
	assert_true(f.len < CORE_FORM_MAX);
}

static void
test_seal(void **state)
{
	const char	*key = "000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f";
	const char	*other = "ff0102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f";
	const char	*nwc = "nostr+walletconnect://abc?relay=wss://r&secret=s";
	char		*a, *b, *plain;

	(void)state;
	assert_int_equal(core_secret_seal(key, nwc, &a), TALLY_OK);
	assert_int_equal(core_secret_seal(key, nwc, &b), TALLY_OK);
	/* A fresh nonce each time, and the plain text nowhere in it. */
	assert_string_not_equal(a, b);
	assert_null(strstr(a, "walletconnect"));
	assert_int_equal(core_secret_open(key, a, &plain), TALLY_OK);
	assert_string_equal(plain, nwc);
	free(plain);
	assert_int_equal(core_secret_open(other, a, &plain), TALLY_E_INVALID);
	assert_null(plain);
	/* One flipped hex digit fails authentication. */
	a[10] = a[10] == '0' ? '1' : '0';
	assert_int_equal(core_secret_open(key, a, &plain), TALLY_E_INVALID);
	assert_int_equal(core_secret_open(key, "v1:00", &plain),
	    TALLY_E_INVALID);
	assert_int_equal(core_secret_open(key, "nope", &plain),
	    TALLY_E_INVALID);
	assert_int_equal(core_secret_seal("short", nwc, &plain),
	    TALLY_E_CONFIG);
	free(a);
	free(b);
}

struct parse_case {
	const char	*s, *cur;
	int		 rc;
	int64_t		 want;
};

static void
test_money_parse(void **state)
{
	static const struct parse_case t[] = {
		{ "0", "EUR", TALLY_OK, 0 }, { "0.01", "EUR", TALLY_OK, 1 },
		{ "0.99", "EUR", TALLY_OK, 99 }, { "1", "EUR", TALLY_OK, 100 },
		{ "1.00", "EUR", TALLY_OK, 100 }, { "1.5", "EUR", TALLY_OK, 150 },
		{ "1234567.89", "EUR", TALLY_OK, 123456789 },
		{ "5.000", "EUR", TALLY_OK, 500 },
		{ "5.001", "EUR", TALLY_E_INVALID, 0 },
		{ "5", "JPY", TALLY_OK, 5 }, { "5.0", "JPY", TALLY_OK, 5 },
		{ "5.5", "JPY", TALLY_E_INVALID, 0 },
		{ "0.001", "KWD", TALLY_OK, 1 },
		{ "", "EUR", TALLY_E_INVALID, 0 }, { ".5", "EUR", TALLY_E_INVALID, 0 },
		{ "5.", "EUR", TALLY_E_INVALID, 0 }, { "-1", "EUR", TALLY_E_INVALID, 0 },
		{ "1e3", "EUR", TALLY_E_INVALID, 0 }, { " 1", "EUR", TALLY_E_INVALID, 0 },
		{ "1.2.3", "EUR", TALLY_E_INVALID, 0 },
		{ "92233720368547758.07", "EUR", TALLY_OK, INT64_MAX },
		{ "92233720368547758.08", "EUR", TALLY_E_OVERFLOW, 0 },
	};
	int64_t	 v;
	size_t	 i;
	char	 buf[40];

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = -1;
		assert_int_equal(core_money_parse(t[i].s, t[i].cur, &v),
		    t[i].rc);
		if (t[i].rc == TALLY_OK)
			assert_true(v == t[i].want);
	}
	/* Format and parse are inverses. */
	for (v = 0; v < 100000; v += 37) {
		int64_t	 back;

		core_money_format(v, "EUR", buf, sizeof(buf));
		assert_int_equal(core_money_parse(buf, "EUR", &back), TALLY_OK);
		assert_true(back == v);
	}
}

struct muldiv_case {
	int64_t	 v, num, den, want;
	int	 rc;
};

static void
test_muldiv(void **state)
{
	static const struct muldiv_case t[] = {
		{ 500, 1, 2, 250, TALLY_OK },
		{ 499, 1, 2, 250, TALLY_OK },	/* 249.5 rounds up */
		{ 1, 1, 3, 0, TALLY_OK },	/* 0.333 rounds down */
		{ 2, 1, 3, 1, TALLY_OK },	/* 0.667 rounds up */
		{ 500, 0, 30, 0, TALLY_OK },
		{ 500, 30, 30, 500, TALLY_OK },
		{ INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, TALLY_OK },
		{ INT64_MAX, 2, 1, 0, TALLY_E_OVERFLOW },
		{ -1, 1, 1, 0, TALLY_E_INVALID },
		{ 1, -1, 1, 0, TALLY_E_INVALID },
		{ 1, 1, 0, 0, TALLY_E_INVALID },
		/* 2^40 over a 31-day month, 15.5 days left. */
		{ 1099511627776LL, 1339200, 2678400, 549755813888LL, TALLY_OK },
	};
	int64_t	 v;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = -7;
		assert_int_equal(core_money_muldiv(t[i].v, t[i].num, t[i].den,
		    &v), t[i].rc);
		if (t[i].rc == TALLY_OK)
			assert_true(v == t[i].want);
		else
			assert_true(v == -7);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stripe_valid),
		cmocka_unit_test(test_stripe_several_v1),
		cmocka_unit_test(test_stripe_rejects),
		cmocka_unit_test(test_btcpay),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_seal),
		cmocka_unit_test(test_money_parse),
		cmocka_unit_test(test_muldiv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
