/* Mail templates: "Subject: ..." line, blank line, body; {{name}} slots. */
#ifndef CORE_TEMPLATE_H
#define CORE_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

#define CORE_TEMPLATE_MAX	(64 * 1024)

/*
 * Render template text with params (a JSON object of strings and
 * integers).  The first line must be "Subject: ...", then an empty line,
 * then the body.  A {{name}} without a param is an error, so a typo never
 * reaches a customer.  TALLY_OK, TALLY_E_INVALID (err names the problem)
 * or TALLY_E_NOMEM.  OUT: *subject, *body (malloc'd; free(3)).
 */
int	 core_template_render(const char *text, const json_t *params,
	    char **subject, char **body, char *err, size_t errsz);

#endif
