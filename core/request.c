/* Query strings and request headers: bounded, allocation-free parsers. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "request.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int
core_query_param(const char *query, const char *name, char *buf,
    size_t bufsz)
{
	const char	*p = query, *end, *v;
	size_t		 nlen = strlen(name), o;
	int		 hi, lo, c;

	while (p != NULL && *p != '\0') {
		end = strchr(p, '&');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) > nlen && strncmp(p, name, nlen) == 0 &&
		    p[nlen] == '=') {
			for (o = 0, v = p + nlen + 1; v < end; v++) {
				c = (unsigned char)*v;
				if (c == '+')
					c = ' ';
				else if (c == '%') {
					if (end - v < 3 ||
					    (hi = hexval(v[1])) < 0 ||
					    (lo = hexval(v[2])) < 0)
						return -1;
					c = hi * 16 + lo;
					v += 2;
				}
				if (c == 0 || o + 1 >= bufsz)
					return -1;
				buf[o++] = (char)c;
			}
			buf[o] = '\0';
			return 1;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

const char *
core_bearer_token(const char *h)
{
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	for (h += 7; *h == ' '; h++)
		continue;
	return h;
}

int
core_content_type_json(const char *ct)
{
	size_t	 n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int
core_origin_listed(const char *list, const char *origin)
{
	const char	*p = list;
	size_t		 n, olen;

	if (list == NULL || origin == NULL || *origin == '\0')
		return 0;
	olen = strlen(origin);
	while (*p != '\0') {
		while (*p == ',' || *p == ' ')
			p++;
		n = strcspn(p, ", ");
		if (n > 0 && n == olen && strncmp(p, origin, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}
