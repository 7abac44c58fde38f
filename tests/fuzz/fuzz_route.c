/* libFuzzer harness: core_route_match() on a pattern and a path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "route.h"

/*
 * The input is "pattern\npath"; without a newline it is the path, matched
 * against the application's own kinds of pattern.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const	 patterns[] = {
		"/", "/status", "/credits/purchase/{id}", "/{a}/{b}",
		"/u/{a}/p/{b}/{c}/{d}", "/{a}/{b}/{c}/{d}/{e}",
	};
	struct core_route_caps	 caps;
	const char		*pattern, *path, *input;
	char			*buf, *nl;
	size_t			 i, j;
	int			 m;

	/* Both strings are NUL-terminated: stop at an embedded NUL. */
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		input = buf;
		path = nl + 1;
	} else {
		input = NULL;
		path = buf;
	}
	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]) + 1; i++) {
		if (i == sizeof(patterns) / sizeof(patterns[0])) {
			if ((pattern = input) == NULL)
				break;
		} else
			pattern = patterns[i];
		m = core_route_match(pattern, path, &caps);
		if (m != 0 && m != 1)
			abort();
		/*
		 * Without a capture segment, matching is string equality
		 * (of an empty string or of one starting with '/').
		 */
		if (strchr(pattern, '{') == NULL &&
		    m != (strcmp(pattern, path) == 0 &&
		    (pattern[0] == '/' || pattern[0] == '\0')))
			abort();
		if (m == 0)
			continue;
		if (caps.n > CORE_ROUTE_CAPS)
			abort();
		/* Captures are non-empty, bounded, with no '/' or control. */
		for (j = 0; j < caps.n; j++) {
			const unsigned char *v =
			    (const unsigned char *)caps.v[j];

			if (memchr(v, '\0', CORE_ROUTE_CAPLEN) == NULL ||
			    v[0] == '\0')
				abort();
			for (; *v != '\0'; v++)
				if (*v == '/' || *v < 0x20 || *v == 0x7f)
					abort();
		}
		if (strchr(pattern, '{') == NULL && caps.n != 0)
			abort();
	}
	free(buf);
	return 0;
}
