/* Unit tests: mail templates and money formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "money.h"
#include "result.h"
#include "template.h"

static void
test_render(void **state)
{
	json_t	*p = json_pack("{s:s,s:I,s:s}", "product", "Cloud Sync",
	    "amount", (json_int_t)30, "url", "https://x.example/");
	char	*subj, *body, err[128];

	(void)state;
	assert_int_equal(core_template_render("Subject: {{product}} paused\n"
	    "\nPay {{amount}} at {{url}}.\n{{product}}", p, &subj, &body, err,
	    sizeof(err)), TALLY_OK);
	assert_string_equal(subj, "Cloud Sync paused");
	assert_string_equal(body, "Pay 30 at https://x.example/.\nCloud Sync");
	free(subj);
	free(body);
	/* CRLF files work too. */
	assert_int_equal(core_template_render("Subject: Hi\r\n\r\nBody", p,
	    &subj, &body, err, sizeof(err)), TALLY_OK);
	assert_string_equal(subj, "Hi");
	assert_string_equal(body, "Body");
	free(subj);
	free(body);
	json_decref(p);
}

static void
test_render_errors(void **state)
{
	json_t	*p = json_pack("{s:s}", "name", "evil\r\nBcc: x@y");
	char	*subj, *body, err[128];

	(void)state;
	/* A missing value is an error naming the slot. */
	assert_int_equal(core_template_render("Subject: x\n\n{{nope}}", p,
	    &subj, &body, err, sizeof(err)), TALLY_E_INVALID);
	assert_non_null(strstr(err, "{{nope}}"));
	assert_null(subj);
	assert_null(body);
	assert_int_equal(core_template_render("no subject\n\nbody", p, &subj,
	    &body, err, sizeof(err)), TALLY_E_INVALID);
	assert_int_equal(core_template_render("Subject: x\nbody", p, &subj,
	    &body, err, sizeof(err)), TALLY_E_INVALID);
	assert_int_equal(core_template_render("Subject: x\n\n{{open", p,
	    &subj, &body, err, sizeof(err)), TALLY_E_INVALID);
	/* A value can never add a header line. */
	assert_int_equal(core_template_render("Subject: {{name}}\n\nb", p,
	    &subj, &body, err, sizeof(err)), TALLY_E_INVALID);
	assert_null(subj);
	json_decref(p);
}

struct fmt_case {
	int64_t		 minor;
	const char	*cur, *want;
};

static void
test_money_format(void **state)
{
	static const struct fmt_case t[] = {
		{ 0, "EUR", "0.00" }, { 1, "EUR", "0.01" },
		{ 99, "EUR", "0.99" }, { 100, "EUR", "1.00" },
		{ 123456789, "EUR", "1234567.89" }, { -1, "EUR", "-0.01" },
		{ 0, "JPY", "0" }, { 1, "JPY", "1" }, { 99, "JPY", "99" },
		{ 123456789, "JPY", "123456789" }, { 1, "KWD", "0.001" },
		{ 123456789, "BHD", "123456.789" },
		{ INT64_MAX, "EUR", "92233720368547758.07" },
		{ INT64_MIN, "EUR", "-92233720368547758.08" },
	};
	char	 buf[40];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		core_money_format(t[i].minor, t[i].cur, buf, sizeof(buf));
		assert_string_equal(buf, t[i].want);
	}
	assert_int_equal(core_currency_exponent("USD"), 2);
	assert_int_equal(core_currency_exponent("JPY"), 0);
	assert_int_equal(core_currency_exponent("KWD"), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_render_errors),
		cmocka_unit_test(test_money_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
