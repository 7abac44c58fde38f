/* The printable invoice document: an HTML page for one invoice (no I/O). */
#ifndef CORE_INVOICE_DOC_H
#define CORE_INVOICE_DOC_H

#include <stddef.h>
#include <stdint.h>

#define CORE_DOC_MAX	(1024 * 1024)	/* bytes of a rendered page */

struct core_doc_line {
	const char	*description;
	const char	*detail;	/* resource and plan, or NULL */
	int64_t		 amount;	/* minor units, signed */
	int		 discount;	/* a coupon's line */
};

/* What the page shows; every string may be NULL or empty (then left out). */
struct core_invoice_doc {
	const char	*locale;	/* "de..." German, anything else English */
	/* The seller ([seller] in the configuration); address lines are
	 * separated by newlines or by the two characters "\n". */
	const char	*seller_name, *seller_address, *seller_tax_id;
	const char	*seller_email;
	const char	*buyer_email, *buyer_id;
	const char	*number, *status, *currency, *paid_via;
	int64_t		 issued_at, expires_at, paid_at;	/* 0: none */
	int64_t		 period_start, period_end;		/* 0: none */
	int64_t		 total;
	const struct core_doc_line *lines;
	size_t		 nlines;
};

/*
 * The page as UTF-8 HTML (every value escaped), with its one inline
 * stylesheet (an A4 print layout).  TALLY_OK, TALLY_E_NOMEM or
 * TALLY_E_TOOBIG (over CORE_DOC_MAX).  OUT: *html (malloc'd, free(3)),
 * *len.
 */
int	 core_invoice_doc_html(const struct core_invoice_doc *, char **html,
	    size_t *len);

/*
 * The Content-Security-Policy the page is served under: nothing may load
 * or run; the one inline stylesheet is allowed by its SHA-256 hash.
 * OUT: out (at least 256 bytes).
 */
void	 core_invoice_doc_csp(char *out, size_t outsz);

#endif
