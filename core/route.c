/* Segment-wise route matching with percent-decoded captures. */
#include <string.h>

#include "json.h"
#include "route.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode n bytes of src into dst (size CORE_ROUTE_CAPLEN). */
static int
decode(const char *src, size_t n, char *dst)
{
	size_t	 i, o = 0;
	int	 hi, lo, c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)src[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			if ((hi = hexval(src[i + 1])) < 0 ||
			    (lo = hexval(src[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || c == '/')
			return -1;
		if (o + 1 >= CORE_ROUTE_CAPLEN)
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

int
core_route_match(const char *pattern, const char *path,
    struct core_route_caps *caps)
{
	const char	*p = pattern, *s = path, *pe, *se;
	size_t		 plen, slen;

	caps->n = 0;
	while (*p == '/' && *s == '/') {
		p++;
		s++;
		pe = strchr(p, '/');
		se = strchr(s, '/');
		plen = pe != NULL ? (size_t)(pe - p) : strlen(p);
		slen = se != NULL ? (size_t)(se - s) : strlen(s);
		if (plen > 1 && p[0] == '{' && p[plen - 1] == '}') {
			if (slen == 0 || caps->n == CORE_ROUTE_CAPS)
				return 0;
			if (decode(s, slen, caps->v[caps->n]) != 0 ||
			    !core_utf8_valid(caps->v[caps->n],
			    strlen(caps->v[caps->n])))
				return 0;
			caps->n++;
		} else if (plen != slen || strncmp(p, s, plen) != 0)
			return 0;
		p += plen;
		s += slen;
	}
	return *p == '\0' && *s == '\0';
}

int
core_path_normalize(const char *uri, char *out, size_t outsz)
{
	size_t	 n = strcspn(uri, "?"), i, o = 0;
	int	 hi, lo, c;

	if (outsz < 2)
		return -1;
	out[o++] = '/';
	for (i = 0; i < n; i++) {
		c = (unsigned char)uri[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			if ((hi = hexval(uri[i + 1])) < 0 ||
			    (lo = hexval(uri[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			if (c == 0)
				return -1;
			if (c == '/') {
				/* An encoded slash is data, not a separator. */
				if (o + 3 >= outsz)
					return -1;
				memcpy(out + o, "%2F", 3);
				o += 3;
				i += 2;
				continue;
			}
			i += 2;
		}
		if (c == '/' && out[o - 1] == '/')
			continue;
		if (o + 1 >= outsz)
			return -1;
		out[o++] = (char)c;
		out[o] = '\0';
		/* Resolve "/./" and "/../" as each segment ends. */
		if (c == '/' || i + 1 == n) {
			size_t end = c == '/' ? o - 1 : o, start = end;

			while (start > 0 && out[start - 1] != '/')
				start--;
			if (end - start == 1 && out[start] == '.') {
				o = start;
			} else if (end - start == 2 && out[start] == '.' &&
			    out[start + 1] == '.') {
				o = start > 1 ? start - 1 : start;
				while (o > 1 && out[o - 1] != '/')
					o--;
				if (o == 0)
					o = 1;
			}
			if (o == 0 || out[o - 1] != '/')
				if (c == '/' && o < outsz - 1)
					out[o++] = '/';
		}
	}
	out[o] = '\0';
	return 0;
}
