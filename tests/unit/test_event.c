/* Unit tests for core/event.c and the [webhook.NAME] sections of
 * core/config.c: names, lists, URLs, the signature, the retry schedule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "event.h"
#include "result.h"

#define AUTH	"[auth]\njwt_secret = 0123456789abcdef0123456789abcdef\n" \
		"service_key = service-key-0123\nadmin_key = admin-key-012345\n"
#define SECRET32 "0123456789abcdef0123456789abcdef"

static void
test_names(void **state)
{
	int	 t;

	(void)state;
	for (t = 0; t < CORE_EV__MAX; t++) {
		assert_true(strlen(core_event_name(t)) > 0);
		assert_int_equal(core_event_parse(core_event_name(t)), t);
	}
	assert_string_equal(core_event_name(CORE_EV_CREDITS_DEBITED),
	    "credits.debited");
	assert_string_equal(core_event_name(CORE_EV_PAYMENT_FAILED),
	    "payment.failed");
	assert_string_equal(core_event_name(-1), "");
	assert_string_equal(core_event_name(CORE_EV__MAX), "");
	assert_int_equal(core_event_parse(""), -1);
	assert_int_equal(core_event_parse("credits"), -1);
	assert_int_equal(core_event_parse("Credits.Debited"), -1);
	assert_int_equal(core_event_parse("credits.debited "), -1);
}

static void
test_lists(void **state)
{
	static const struct {
		const char	*list;
		int		 ok;
		uint32_t	 mask;
		const char	*bad;
	} cases[] = {
		{ "*", 1, (1u << CORE_EV__MAX) - 1, "" },
		{ "credits.debited", 1, 1u << CORE_EV_CREDITS_DEBITED, "" },
		{ " credits.debited , invoice.paid ", 1,
		    (1u << CORE_EV_CREDITS_DEBITED) |
		    (1u << CORE_EV_INVOICE_PAID), "" },
		{ "invoice.paid,invoice.paid", 1, 1u << CORE_EV_INVOICE_PAID,
		    "" },
		{ "invoice.paid,*", 1, (1u << CORE_EV__MAX) - 1, "" },
		{ "", 0, 0, "" },
		{ " ", 0, 0, "" },
		{ "invoice.paid,", 0, 0, "" },
		{ ",invoice.paid", 0, 0, "" },
		{ "invoice.paid,,gift.redeemed", 0, 0, "" },
		{ "invoice.payed", 0, 0, "invoice.payed" },
		{ "gift.redeemed, subscription.deleted", 0, 0,
		    "subscription.deleted" },
		{ "**", 0, 0, "**" },
	};
	char		 bad[64];
	uint32_t	 mask;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = core_event_parse_list(cases[i].list, &mask, bad,
		    sizeof(bad));
		if (cases[i].ok) {
			assert_int_equal(rc, TALLY_OK);
			assert_int_equal(mask, cases[i].mask);
		} else {
			assert_int_equal(rc, TALLY_E_INVALID);
			assert_string_equal(bad, cases[i].bad);
		}
	}
}

static void
test_urls(void **state)
{
	static const struct {
		const char	*url;
		int		 ok;
	} cases[] = {
		{ "https://app.example.com/hooks", 1 },
		{ "HTTPS://app.example.com", 1 },
		{ "https://10.0.0.5:8443/x", 1 },
		{ "http://127.0.0.1:9000/hook", 1 },
		{ "http://127.0.0.1", 1 },
		{ "http://localhost/hook", 1 },
		{ "http://[::1]:8080/", 1 },
		{ "http://app.example.com/hook", 0 },
		{ "http://127.0.0.1.evil.com/", 0 },
		{ "http://localhost.evil.com/", 0 },
		{ "http://127.0.0.2/", 0 },
		{ "https://", 0 },
		{ "https:///path", 0 },
		{ "ftp://127.0.0.1/", 0 },
		{ "", 0 },
		{ "127.0.0.1:9000", 0 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(core_event_url_ok(cases[i].url), cases[i].ok);
}

static void
test_signature(void **state)
{
	/* node -e: crypto.createHmac('sha256', SECRET)
	 *     .update('1700000000.{"id":"evt_1"}').digest('hex') */
	const char	*body = "{\"id\":\"evt_1\"}";
	char		 out[128];

	(void)state;
	core_event_signature("whsec_test_secret_0123456789abcdef", 1700000000,
	    body, strlen(body), out, sizeof(out));
	assert_string_equal(out, "t=1700000000,v1=900e419229bdedbac3b3352e7fe"
	    "abcd1180d850a9e49229725c8cf20c6a10d09");
	/* The timestamp is part of what is signed. */
	core_event_signature("whsec_test_secret_0123456789abcdef", 1700000001,
	    body, strlen(body), out, sizeof(out));
	assert_null(strstr(out, "900e419229bdedbac3b3"));
	core_event_signature("k", 0, "", 0, out, sizeof(out));
	assert_int_equal(strlen(out), strlen("t=0,v1=") + 64);
}

static void
test_backoff(void **state)
{
	static const int64_t want[] = { 30, 60, 120, 240, 480, 960, 1920,
	    3840, 7680, 15360, 21600, 21600, 21600 };
	int64_t	 at, q = 1000000, total = 0, n;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(core_event_next_attempt((int64_t)i + 1, q, q,
		    &at), 1);
		assert_int_equal(at - q, want[i]);
	}
	assert_int_equal(core_event_next_attempt(0, q, q, &at), 1);
	assert_int_equal(at - q, 30);
	assert_int_equal(core_event_next_attempt(INT32_MAX, q, q, &at), 1);
	assert_int_equal(at - q, 21600);
	/* The window: a retry landing on its last second still counts. */
	assert_int_equal(core_event_next_attempt(1, q,
	    q + CORE_EVENT_RETRY_WINDOW - 30, &at), 1);
	assert_int_equal(core_event_next_attempt(1, q,
	    q + CORE_EVENT_RETRY_WINDOW - 29, &at), 0);
	/* Following the schedule from the first failure, about 20 retries
	 * fit in three days, then it gives up. */
	at = q;
	for (n = 1; core_event_next_attempt(n, q, at, &at); n++)
		total++;
	assert_true(total >= 18 && total <= 22);
	assert_true(at > q + CORE_EVENT_RETRY_WINDOW);
}

static void
test_config(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;	/* NULL: parses */
	} cases[] = {
		{ AUTH "[webhook.app]\nurl = https://a.example/h\nsecret = "
		    SECRET32 "\nevents = *\n", NULL },
		{ AUTH "[webhook.app]\nsecret = " SECRET32 "\nevents = *\n",
		    "webhook.app.url: required" },
		{ AUTH "[webhook.app]\nurl = http://a.example/h\nsecret = "
		    SECRET32 "\nevents = *\n", "webhook.app.url: must be an "
		    "https:// URL" },
		{ AUTH "[webhook.app]\nurl = https://a.example/h\nsecret = "
		    "short\nevents = *\n", "webhook.app.secret: must be at least "
		    "32 characters" },
		{ AUTH "[webhook.app]\nurl = https://a.example/h\nsecret = "
		    SECRET32 "\n", "webhook.app.events: required" },
		{ AUTH "[webhook.app]\nurl = https://a.example/h\nsecret = "
		    SECRET32 "\nevents = invoice.paid, invoice.voided\n",
		    "webhook.app.events: unknown event type \"invoice.voided\"" },
		{ AUTH "[webhook.app]\nurl = https://a.example/h\nsecret = "
		    SECRET32 "\nevents = *\ncolor = red\n",
		    "webhook.app.color: unknown key" },
		{ AUTH "[webhook.app]\nurl = https://a.example/h\nsecret = "
		    SECRET32 "\nevents = *\n[webhook.app]\n",
		    "webhook.app: defined twice" },
		{ AUTH "[webhook.App]\n", "webhook.App: id must be" },
	};
	struct core_config *cfg = calloc(1, sizeof(*cfg));
	char		 err[256];
	size_t		 i;

	(void)state;
	assert_non_null(cfg);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = core_config_parse(cases[i].text, NULL, cfg, err,
		    sizeof(err));
		if (cases[i].err == NULL) {
			assert_int_equal(rc, TALLY_OK);
			continue;
		}
		assert_int_equal(rc, TALLY_E_CONFIG);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			fail_msg("case %zu: got \"%s\"", i, err);
		/* The secret never appears in an error line. */
		assert_null(strstr(err, SECRET32));
	}
	free(cfg);
}

static void
test_hooks(void **state)
{
	struct core_config *cfg = calloc(1, sizeof(*cfg));
	char		 err[256];

	(void)state;
	assert_non_null(cfg);
	/* None configured: no event is wanted. */
	assert_int_equal(core_config_parse(AUTH, NULL, cfg, err, sizeof(err)),
	    TALLY_OK);
	assert_null(core_event_hooks(cfg, CORE_EV_CREDITS_DEBITED));
	assert_null(core_event_hooks(NULL, CORE_EV_CREDITS_DEBITED));
	assert_int_equal(core_config_parse(AUTH
	    "[webhook.app]\nurl = https://a.example/h\nsecret = " SECRET32
	    "\nevents = *\n"
	    "[webhook.ledger-2]\nurl = http://localhost:9/l\nsecret = "
	    SECRET32 "\nevents = credits.debited,credits.added\n"
	    "[webhook.gifts]\nurl = https://g.example/\nsecret = " SECRET32
	    "\nevents = gift.redeemed\n", NULL, cfg, err, sizeof(err)),
	    TALLY_OK);
	assert_int_equal(cfg->nwebhooks, 3);
	assert_string_equal(core_event_hooks(cfg, CORE_EV_CREDITS_DEBITED),
	    "[\"app\",\"ledger-2\"]");
	assert_string_equal(core_event_hooks(cfg, CORE_EV_GIFT_REDEEMED),
	    "[\"app\",\"gifts\"]");
	assert_string_equal(core_event_hooks(cfg, CORE_EV_INVOICE_PAID),
	    "[\"app\"]");
	assert_null(core_event_hooks(cfg, -1));
	assert_null(core_event_hooks(cfg, CORE_EV__MAX));
	assert_non_null(core_config_webhook(cfg, "ledger-2"));
	assert_null(core_config_webhook(cfg, "ledger"));
	free(cfg);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
