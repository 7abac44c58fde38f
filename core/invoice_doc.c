/* The printable invoice document: escaped HTML in English or German, one
 * inline stylesheet for an A4 page, and the CSP that allows only it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "invoice_doc.h"
#include "money.h"
#include "result.h"
#include "timeutil.h"

/*
 * The page's only style.  Its hash is in the CSP (core_invoice_doc_csp),
 * so an edit here needs nothing else; no external font, image or script.
 */
static const char css[] =
    "@page{size:A4;margin:18mm 16mm}"
    "*{box-sizing:border-box}"
    "html{background:#fff;color:#111}"
    "body{font:10.5pt/1.45 \"Helvetica Neue\",Arial,sans-serif;margin:0 auto;"
    "max-width:178mm;padding:12mm 0}"
    "@media print{body{padding:0;max-width:none}}"
    "header{display:flex;justify-content:space-between;align-items:flex-start;"
    "border-bottom:2px solid #111;padding-bottom:5mm;margin-bottom:6mm}"
    "h1{font-size:20pt;margin:0 0 1mm}"
    ".seller{text-align:right;font-size:9.5pt}"
    ".seller p,.buyer p{margin:0}"
    ".seller .name,.buyer .name{font-weight:bold}"
    ".parties{display:flex;justify-content:space-between;gap:10mm;"
    "margin-bottom:6mm}"
    "dl{display:grid;grid-template-columns:auto auto;gap:1mm 5mm;margin:0}"
    "dt{color:#444}dd{margin:0}"
    "table{width:100%;border-collapse:collapse;margin-top:4mm}"
    "th,td{text-align:left;padding:2mm 1mm;border-bottom:1px solid #bbb;"
    "vertical-align:top}"
    "th{font-size:9pt;color:#444;font-weight:normal}"
    ".num{text-align:right;white-space:nowrap}"
    ".detail{display:block;color:#555;font-size:9pt}"
    "tr.discount td{color:#0a5c2b}"
    "tfoot th,tfoot td{border-top:2px solid #111;border-bottom:0;"
    "font-weight:bold;font-size:12pt;color:#111}"
    "tr{break-inside:avoid}"
    ".status{display:inline-block;border:1px solid #111;padding:0.5mm 2mm;"
    "font-size:9pt;text-transform:uppercase;letter-spacing:0.05em}"
    ".status.paid{border-color:#0a5c2b;color:#0a5c2b}"
    "footer{margin-top:10mm;font-size:9pt;color:#444}";

enum doc_text {
	T_INVOICE, T_NUMBER, T_ISSUED, T_DUE, T_PAID_ON, T_PERIOD, T_BILLED_TO,
	T_CUSTOMER, T_TAX_ID, T_DESCRIPTION, T_AMOUNT, T_TOTAL, T_STATUS,
	T_METHOD, T_TO, T_FOOTER_PAID, T_FOOTER_DUE, T_DISCOUNT,
	T__MAX
};

static const char *const texts[2][T__MAX] = {
	{	/* en */
		[T_INVOICE] = "Invoice", [T_NUMBER] = "Invoice number",
		[T_ISSUED] = "Issued", [T_DUE] = "Due", [T_PAID_ON] = "Paid on",
		[T_PERIOD] = "Period", [T_BILLED_TO] = "Billed to",
		[T_CUSTOMER] = "Customer ID", [T_TAX_ID] = "Tax ID",
		[T_DESCRIPTION] = "Description", [T_AMOUNT] = "Amount",
		[T_TOTAL] = "Total", [T_STATUS] = "Status",
		[T_METHOD] = "Payment method", [T_TO] = "to",
		[T_FOOTER_PAID] = "Thank you. This invoice is paid.",
		[T_FOOTER_DUE] = "Please pay by the due date on the billing "
		    "page.",
		[T_DISCOUNT] = "Discount",
	},
	{	/* de */
		[T_INVOICE] = "Rechnung", [T_NUMBER] = "Rechnungsnummer",
		[T_ISSUED] = "Rechnungsdatum", [T_DUE] = "Fällig am",
		[T_PAID_ON] = "Bezahlt am", [T_PERIOD] = "Leistungszeitraum",
		[T_BILLED_TO] = "Rechnungsempfänger",
		[T_CUSTOMER] = "Kundennummer", [T_TAX_ID] = "USt-IdNr.",
		[T_DESCRIPTION] = "Beschreibung", [T_AMOUNT] = "Betrag",
		[T_TOTAL] = "Gesamtbetrag", [T_STATUS] = "Status",
		[T_METHOD] = "Zahlungsart", [T_TO] = "bis",
		[T_FOOTER_PAID] = "Vielen Dank. Diese Rechnung ist bezahlt.",
		[T_FOOTER_DUE] = "Bitte zahlen Sie bis zum Fälligkeitsdatum "
		    "über die Abrechnungsseite.",
		[T_DISCOUNT] = "Rabatt",
	},
};

/* Status and payment method names, by locale. */
static const char *const words[][3] = {
	{ "pending", "Pending", "Offen" },
	{ "paid", "Paid", "Bezahlt" },
	{ "expired", "Expired", "Abgelaufen" },
	{ "void", "Void", "Storniert" },
	{ "credits", "Credits", "Guthaben" },
	{ "card", "Card", "Karte" },
	{ "lightning", "Lightning (Bitcoin)", "Lightning (Bitcoin)" },
	{ "manual", "Recorded by hand", "Manuell erfasst" },
	{ "coupon", "Coupon", "Gutschein" },
};

static const char *const months[2][12] = {
	{ "January", "February", "March", "April", "May", "June", "July",
	    "August", "September", "October", "November", "December" },
	{ "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli",
	    "August", "September", "Oktober", "November", "Dezember" },
};

/* A growable buffer with a ceiling (CORE_DOC_MAX). */
struct buf {
	char	*p;
	size_t	 len, cap;
	int	 err;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	char	*np;
	size_t	 ncap;

	if (b->err)
		return;
	if (b->len + n + 1 > CORE_DOC_MAX) {
		b->err = TALLY_E_TOOBIG;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 8192;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if (ncap > CORE_DOC_MAX)
			ncap = CORE_DOC_MAX;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->err = TALLY_E_NOMEM;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Literal markup (never user data). */
static void
raw(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Text or an attribute value: every character that could end either is
 * escaped, so nothing in s can become markup. */
static void
esc_n(struct buf *b, const char *s, size_t n)
{
	size_t	 i, from = 0;
	const char *e;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default: continue;
		}
		put(b, s + from, i - from);
		raw(b, e);
		from = i + 1;
	}
	put(b, s + from, n - from);
}

static void
esc(struct buf *b, const char *s)
{
	if (s != NULL)
		esc_n(b, s, strlen(s));
}

static int
has(const char *s)
{
	return s != NULL && *s != '\0';
}

static void
date(struct buf *b, int de, int64_t t)
{
	struct core_civil c;
	char	 s[64];

	core_civil_from_time(t, &c);
	if (de)
		snprintf(s, sizeof(s), "%d. %s %lld", c.day,
		    months[1][c.month - 1], (long long)c.year);
	else
		snprintf(s, sizeof(s), "%d %s %lld", c.day,
		    months[0][c.month - 1], (long long)c.year);
	esc(b, s);
}

static void
amount(struct buf *b, int de, int64_t minor, const char *currency)
{
	char	 s[48], *dot;

	core_money_format(minor, currency, s, sizeof(s));
	if (de && (dot = strchr(s, '.')) != NULL)
		*dot = ',';
	esc(b, s);
	raw(b, "\xc2\xa0");	/* no break before the currency */
	esc(b, currency);
}

static const char *
word(const char *key, int de)
{
	size_t	 i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(words[i][0], key) == 0)
			return words[i][de ? 2 : 1];
	return key;
}

/* One address line after another: newlines, or the two characters \n
 * (an INI value is one line). */
static void
lines(struct buf *b, const char *s)
{
	const char	*p = s, *nl, *lit;
	size_t		 n;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		lit = strstr(p, "\\n");
		if (nl == NULL || (lit != NULL && lit < nl))
			nl = lit;
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		raw(b, "<p>");
		esc_n(b, p, n);
		raw(b, "</p>");
		if (nl == NULL)
			break;
		p = nl + (*nl == '\n' ? 1 : 2);
	}
}

static void
meta(struct buf *b, const char *label, const char *value)
{
	raw(b, "<dt>");
	esc(b, label);
	raw(b, "</dt><dd>");
	esc(b, value);
	raw(b, "</dd>");
}

static void
meta_date(struct buf *b, int de, const char *label, int64_t t)
{
	raw(b, "<dt>");
	esc(b, label);
	raw(b, "</dt><dd>");
	date(b, de, t);
	raw(b, "</dd>");
}

int
core_invoice_doc_html(const struct core_invoice_doc *d, char **html,
    size_t *len)
{
	struct buf	 b;
	const char *const *tx;
	const struct core_doc_line *l;
	size_t		 i;
	int		 de = d->locale != NULL && strncmp(d->locale, "de", 2) == 0;

	*html = NULL;
	*len = 0;
	memset(&b, 0, sizeof(b));
	tx = texts[de];
	raw(&b, de ? "<!doctype html>\n<html lang=\"de\">" :
	    "<!doctype html>\n<html lang=\"en\">");
	raw(&b, "<head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\">"
	    "<title>");
	esc(&b, tx[T_INVOICE]);
	raw(&b, " ");
	esc(&b, d->number);
	raw(&b, "</title><style>");
	raw(&b, css);
	raw(&b, "</style></head><body><header><div><h1>");
	esc(&b, tx[T_INVOICE]);
	raw(&b, "</h1><p>");
	esc(&b, d->number);
	raw(&b, " <span class=\"status ");
	esc(&b, d->status);
	raw(&b, "\">");
	esc(&b, word(d->status != NULL ? d->status : "", de));
	raw(&b, "</span></p></div><div class=\"seller\">");
	if (has(d->seller_name)) {
		raw(&b, "<p class=\"name\">");
		esc(&b, d->seller_name);
		raw(&b, "</p>");
	}
	if (has(d->seller_address))
		lines(&b, d->seller_address);
	if (has(d->seller_email)) {
		raw(&b, "<p>");
		esc(&b, d->seller_email);
		raw(&b, "</p>");
	}
	if (has(d->seller_tax_id)) {
		raw(&b, "<p>");
		esc(&b, tx[T_TAX_ID]);
		raw(&b, " ");
		esc(&b, d->seller_tax_id);
		raw(&b, "</p>");
	}
	raw(&b, "</div></header><section class=\"parties\"><div class=\"buyer\">"
	    "<p><strong>");
	esc(&b, tx[T_BILLED_TO]);
	raw(&b, "</strong></p>");
	if (has(d->buyer_email)) {
		raw(&b, "<p class=\"name\">");
		esc(&b, d->buyer_email);
		raw(&b, "</p>");
	}
	if (has(d->buyer_id)) {
		raw(&b, "<p>");
		esc(&b, tx[T_CUSTOMER]);
		raw(&b, ": ");
		esc(&b, d->buyer_id);
		raw(&b, "</p>");
	}
	raw(&b, "</div><dl>");
	meta(&b, tx[T_NUMBER], d->number);
	if (d->issued_at != 0)
		meta_date(&b, de, tx[T_ISSUED], d->issued_at);
	if (d->period_start != 0 && d->period_end != 0) {
		raw(&b, "<dt>");
		esc(&b, tx[T_PERIOD]);
		raw(&b, "</dt><dd>");
		date(&b, de, d->period_start);
		raw(&b, " ");
		esc(&b, tx[T_TO]);
		raw(&b, " ");
		date(&b, de, d->period_end);
		raw(&b, "</dd>");
	}
	if (d->status != NULL && strcmp(d->status, "pending") == 0 &&
	    d->expires_at != 0)
		meta_date(&b, de, tx[T_DUE], d->expires_at);
	meta(&b, tx[T_STATUS], word(d->status != NULL ? d->status : "", de));
	if (d->paid_at != 0)
		meta_date(&b, de, tx[T_PAID_ON], d->paid_at);
	if (has(d->paid_via))
		meta(&b, tx[T_METHOD], word(d->paid_via, de));
	raw(&b, "</dl></section><table><thead><tr><th scope=\"col\">");
	esc(&b, tx[T_DESCRIPTION]);
	raw(&b, "</th><th scope=\"col\" class=\"num\">");
	esc(&b, tx[T_AMOUNT]);
	raw(&b, "</th></tr></thead><tbody>");
	for (i = 0; i < d->nlines; i++) {
		l = &d->lines[i];
		raw(&b, l->discount ? "<tr class=\"discount\"><td>" :
		    "<tr><td>");
		esc(&b, l->description);
		if (has(l->detail)) {
			raw(&b, "<span class=\"detail\">");
			esc(&b, l->detail);
			raw(&b, "</span>");
		} else if (l->discount) {
			raw(&b, "<span class=\"detail\">");
			esc(&b, tx[T_DISCOUNT]);
			raw(&b, "</span>");
		}
		raw(&b, "</td><td class=\"num\">");
		amount(&b, de, l->amount, d->currency);
		raw(&b, "</td></tr>");
	}
	raw(&b, "</tbody><tfoot><tr><th scope=\"row\">");
	esc(&b, tx[T_TOTAL]);
	raw(&b, "</th><td class=\"num\">");
	amount(&b, de, d->total, d->currency);
	raw(&b, "</td></tr></tfoot></table><footer><p>");
	esc(&b, d->status != NULL && strcmp(d->status, "paid") == 0 ?
	    tx[T_FOOTER_PAID] : d->status != NULL &&
	    strcmp(d->status, "pending") == 0 ? tx[T_FOOTER_DUE] : "");
	raw(&b, "</p></footer></body></html>\n");
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*html = b.p;
	*len = b.len;
	return TALLY_OK;
}

void
core_invoice_doc_csp(char *out, size_t outsz)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	unsigned char	 b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];

	SHA256((const unsigned char *)css, strlen(css), md);
	EVP_EncodeBlock(b64, md, sizeof(md));
	snprintf(out, outsz, "default-src 'none'; style-src 'sha256-%s'; "
	    "img-src 'none'; base-uri 'none'; form-action 'none'; "
	    "frame-ancestors 'none'", (const char *)b64);
}
