/* libFuzzer harness: mail templates rendered with values that come from
 * users (gift messages, emails, descriptions). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "result.h"
#include "template.h"

/*
 * The input is "template\0params": the template text up to the first NUL,
 * then a JSON object of params (or, when it is not one, a fixed set with
 * the rest as the value of every name a template might use).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*text, *subject, *body, err[128];
	const char	*rest;
	json_t		*params;
	size_t		 tlen, rlen;
	int		 rc;

	tlen = strnlen((const char *)data, size);
	if ((text = malloc(tlen + 1)) == NULL)
		return 0;
	memcpy(text, data, tlen);
	text[tlen] = '\0';
	rest = (const char *)data + (tlen < size ? tlen + 1 : size);
	rlen = size - (size_t)(rest - (const char *)data);
	params = json_loadb(rest, rlen, 0, NULL);
	if (!json_is_object(params)) {
		json_decref(params);
		params = json_pack("{s:s%,s:I,s:s}", "message", rest, rlen,
		    "amount", (json_int_t)-42, "name", "x\r\ny");
		if (params == NULL)	/* rest was not UTF-8 */
			params = json_pack("{s:s,s:I}", "message", "m",
			    "amount", (json_int_t)1);
	}
	memset(err, 'x', sizeof(err));
	err[0] = '\0';
	rc = core_template_render(text, params, &subject, &body, err,
	    sizeof(err));
	if (rc == TALLY_OK) {
		if (subject == NULL || body == NULL ||
		    strpbrk(subject, "\r\n") != NULL ||
		    strlen(body) >= CORE_TEMPLATE_MAX)
			abort();
		/* Text without slots comes out as it went in. */
		if (strstr(text, "{{") == NULL &&
		    strstr(text, body) == NULL)
			abort();
	} else {
		if (subject != NULL || body != NULL)
			abort();
		if ((rc == TALLY_E_INVALID) != (err[0] != '\0') ||
		    memchr(err, '\0', sizeof(err)) == NULL)
			abort();
	}
	free(subject);
	free(body);
	json_decref(params);
	free(text);
	return 0;
}
