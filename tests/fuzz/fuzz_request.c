/* libFuzzer harness: what the responder reads from the web server besides
 * the body: the query string, Authorization, Content-Type, Origin against
 * http.cors_origins, and the gate's request path. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "request.h"
#include "route.h"

static int
hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The query parameter worked out another way: split, then decode. */
static int
ref_query(const char *q, const char *name, char *buf, size_t bufsz)
{
	size_t	 i = 0, j, n, nlen = strlen(name), o;

	for (;;) {
		n = strcspn(q + i, "&");
		if (n > nlen && memcmp(q + i, name, nlen) == 0 &&
		    q[i + nlen] == '=') {
			for (o = 0, j = i + nlen + 1; j < i + n; j++) {
				int	 c = (unsigned char)q[j];

				if (c == '%') {
					if (j + 2 >= i + n || hexv(q[j + 1]) < 0 ||
					    hexv(q[j + 2]) < 0)
						return -1;
					c = hexv(q[j + 1]) * 16 + hexv(q[j + 2]);
					j += 2;
				} else if (c == '+')
					c = ' ';
				if (c == 0 || o + 1 >= bufsz)
					return -1;
				buf[o++] = (char)c;
			}
			buf[o] = '\0';
			return 1;
		}
		if (q[i + n] == '\0')
			return 0;
		i += n + 1;
	}
}

static int
ref_listed(const char *list, const char *origin)
{
	size_t	 i = 0, n, olen = strlen(origin);

	if (olen == 0)
		return 0;
	while (list[i] != '\0') {
		n = strcspn(list + i, ", ");
		if (n == olen && memcmp(list + i, origin, n) == 0)
			return 1;
		i += n > 0 ? n : 1;
	}
	return 0;
}

static void
check_path(const char *uri)
{
	char	 out[256];
	size_t	 n, k;

	if (core_path_normalize(uri, out, sizeof(out)) != 0)
		return;
	n = strlen(out);
	if (n >= sizeof(out) || out[0] != '/' || strstr(out, "//") != NULL)
		abort();
	/* No "." or ".." segment is left. */
	for (k = 0; k < n; k++)
		if (out[k] == '/' && out[k + 1] == '.' &&
		    (out[k + 2] == '/' || out[k + 2] == '\0' ||
		    (out[k + 2] == '.' && (out[k + 3] == '/' ||
		    out[k + 3] == '\0'))))
			abort();
	/* Small buffers fail cleanly, never overrun. */
	for (k = 0; k < 4; k++) {
		char	*small = malloc(k + 1);

		if (small == NULL)
			return;
		if (core_path_normalize(uri, small, k + 1) == 0 &&
		    strlen(small) > k)
			abort();
		free(small);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "limit", "before", "a", "" };
	char		*s, *second, b1[64], b2[64];
	const char	*t;
	size_t		 i;
	int		 r1, r2, want;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		r1 = core_query_param(s, names[i], b1, sizeof(b1));
		r2 = ref_query(s, names[i], b2, sizeof(b2));
		if (r1 != r2 || (r1 == 1 && strcmp(b1, b2) != 0))
			abort();
		/* A one-byte buffer holds no value but the empty one. */
		r1 = core_query_param(s, names[i], b1, 1);
		if (r1 == 1 && b1[0] != '\0')
			abort();
	}

	t = core_bearer_token(s);
	want = strncasecmp(s, "bearer ", 7) == 0;
	if ((t != NULL) != want)
		abort();
	if (t != NULL && (t < s + 7 || t > s + strlen(s) || *t == ' '))
		abort();

	want = strncasecmp(s, "application/json", 16) == 0 &&
	    (s[16 + strspn(s + 16, " ")] == '\0' ||
	    s[16 + strspn(s + 16, " ")] == ';');
	if (core_content_type_json(s) != want)
		abort();

	/* "list\norigin" */
	if ((second = strchr(s, '\n')) != NULL) {
		*second++ = '\0';
		if (core_origin_listed(s, second) != ref_listed(s, second))
			abort();
		*--second = '\n';
	}
	if (core_origin_listed(s, s) != (s[0] != '\0' &&
	    ref_listed(s, s)))
		abort();

	check_path(s);
	free(s);
	return 0;
}
