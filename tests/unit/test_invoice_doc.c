/* Unit tests for core/invoice_doc.c: content, escaping, locales, the CSP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "invoice_doc.h"
#include "result.h"

static const struct core_doc_line lines[] = {
	{ "Pro, monthly, 2026-01-10 to 2026-02-10", NULL, 2900, 0 },
	{ "Relay <script>alert(1)</script> & \"x\" 'y'", "r1 \xc2\xb7 relay_basic",
	    500, 0 },
	{ "Coupon SPRING20: 20% off", NULL, -680, 1 },
};

static void
base(struct core_invoice_doc *d)
{
	memset(d, 0, sizeof(*d));
	d->locale = "en";
	d->seller_name = "Example <Ltd>";
	d->seller_address = "1 Main Street\\nSpringfield\n12345";
	d->seller_tax_id = "DE123456789";
	d->seller_email = "billing@example.com";
	d->buyer_email = "alice@example.com";
	d->buyer_id = "alice";
	d->number = "TLY-2026-000007";
	d->status = "paid";
	d->currency = "EUR";
	d->paid_via = "card";
	d->issued_at = 1768039200;	/* 2026-01-10T10:00:00Z */
	d->paid_at = 1768042800;
	d->period_start = 1768039200;
	d->period_end = 1770717600;
	d->total = 2720;
	d->lines = lines;
	d->nlines = 3;
}

static char *
render(const struct core_invoice_doc *d)
{
	char	*html;
	size_t	 len;

	assert_int_equal(core_invoice_doc_html(d, &html, &len), TALLY_OK);
	assert_int_equal(strlen(html), len);
	return html;
}

static void
test_content(void **state)
{
	struct core_invoice_doc d;
	char	*html;

	(void)state;
	base(&d);
	html = render(&d);
	assert_non_null(strstr(html, "<html lang=\"en\">"));
	assert_non_null(strstr(html, "@page{size:A4;"));
	assert_non_null(strstr(html, "Example &lt;Ltd&gt;"));
	assert_non_null(strstr(html, "<p>1 Main Street</p><p>Springfield</p>"
	    "<p>12345</p>"));
	assert_non_null(strstr(html, "Tax ID DE123456789"));
	assert_non_null(strstr(html, "alice@example.com"));
	assert_non_null(strstr(html, "Customer ID: alice"));
	assert_non_null(strstr(html, "TLY-2026-000007"));
	assert_non_null(strstr(html, "10 January 2026"));
	assert_non_null(strstr(html, "29.00\xc2\xa0" "EUR"));
	assert_non_null(strstr(html, "-6.80\xc2\xa0" "EUR"));
	assert_non_null(strstr(html, "27.20\xc2\xa0" "EUR"));
	assert_non_null(strstr(html, "<tr class=\"discount\">"));
	assert_non_null(strstr(html, "<dd>Paid</dd>"));
	assert_non_null(strstr(html, "<dd>Card</dd>"));
	free(html);
}

static void
test_escaping(void **state)
{
	struct core_invoice_doc d;
	char	*html;

	(void)state;
	base(&d);
	html = render(&d);
	assert_null(strstr(html, "<script"));
	assert_non_null(strstr(html, "Relay &lt;script&gt;alert(1)&lt;/script&gt; "
	    "&amp; &quot;x&quot; &#39;y&#39;"));
	free(html);
	/* Every field, not only descriptions. */
	d.number = "\"><script>1</script>";
	d.buyer_email = "<img src=x onerror=alert(1)>";
	d.buyer_id = "</dd><script>";
	d.seller_address = "<b>\\n<i>";
	d.status = "paid\" onclick=\"x";
	d.paid_via = "<svg>";
	html = render(&d);
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<img"));
	assert_null(strstr(html, "<svg"));
	assert_null(strstr(html, "<b>"));
	assert_null(strstr(html, "\" onclick"));
	free(html);
}

static void
test_german(void **state)
{
	struct core_invoice_doc d;
	char	*html;

	(void)state;
	base(&d);
	d.locale = "de-DE";
	html = render(&d);
	assert_non_null(strstr(html, "<html lang=\"de\">"));
	assert_non_null(strstr(html, "Rechnung"));
	assert_non_null(strstr(html, "10. Januar 2026"));
	assert_non_null(strstr(html, "29,00\xc2\xa0" "EUR"));
	assert_non_null(strstr(html, "<dd>Bezahlt</dd>"));
	assert_non_null(strstr(html, "<dd>Karte</dd>"));
	assert_non_null(strstr(html, "USt-IdNr. DE123456789"));
	free(html);
}

static void
test_pending_and_empty(void **state)
{
	struct core_invoice_doc d;
	char	*html;

	(void)state;
	base(&d);
	d.status = "pending";
	d.paid_at = 0;
	d.paid_via = NULL;
	d.expires_at = 1768212000;	/* 2026-01-12 */
	d.seller_name = d.seller_address = d.seller_tax_id = NULL;
	d.seller_email = "";
	d.nlines = 0;
	html = render(&d);
	assert_non_null(strstr(html, "<dt>Due</dt><dd>12 January 2026</dd>"));
	assert_null(strstr(html, "Paid on"));
	assert_null(strstr(html, "Tax ID"));
	free(html);
}

static void
test_too_big(void **state)
{
	struct core_invoice_doc d;
	struct core_doc_line *many;
	char	*html, *big;
	size_t	 i, len, n = 3000;

	(void)state;
	big = malloc(501);
	memset(big, '<', 500);
	big[500] = '\0';
	many = calloc(n, sizeof(*many));
	for (i = 0; i < n; i++)
		many[i].description = big;
	base(&d);
	d.lines = many;
	d.nlines = n;
	assert_int_equal(core_invoice_doc_html(&d, &html, &len),
	    TALLY_E_TOOBIG);
	assert_null(html);
	free(many);
	free(big);
}

static void
test_csp(void **state)
{
	struct core_invoice_doc d;
	unsigned char	 md[SHA256_DIGEST_LENGTH], b64[64];
	char	*html, *s, *e, csp[512], want[128];

	(void)state;
	base(&d);
	html = render(&d);
	/* The policy's hash is the hash of the style the page carries. */
	s = strstr(html, "<style>") + strlen("<style>");
	e = strstr(s, "</style>");
	SHA256((unsigned char *)s, (size_t)(e - s), md);
	EVP_EncodeBlock(b64, md, sizeof(md));
	snprintf(want, sizeof(want), "style-src 'sha256-%s'", b64);
	core_invoice_doc_csp(csp, sizeof(csp));
	assert_non_null(strstr(csp, want));
	assert_non_null(strstr(csp, "default-src 'none'"));
	assert_null(strstr(csp, "unsafe-inline"));
	assert_null(strstr(csp, "script-src"));
	free(html);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_content),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_german),
		cmocka_unit_test(test_pending_and_empty),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_csp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
