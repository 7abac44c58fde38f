/* Route pattern matching: "/credits/purchase/{id}" against a request path. */
#ifndef CORE_ROUTE_H
#define CORE_ROUTE_H

#include <stddef.h>

#define CORE_ROUTE_CAPS		4
#define CORE_ROUTE_CAPLEN	1024

struct core_route_caps {
	size_t	 n;
	char	 v[CORE_ROUTE_CAPS][CORE_ROUTE_CAPLEN];
};

/*
 * Match path (no query string) against pattern, segment by segment; a
 * "{name}" segment captures one non-empty, percent-decoded segment.
 * Returns 1 on a match (OUT: *caps), 0 otherwise; a capture that is too
 * long, decodes to NUL, '/' or a control character, or is not UTF-8
 * does not match.
 */
int	 core_route_match(const char *pattern, const char *path,
	    struct core_route_caps *caps);

/*
 * The path part of a request URI as a web server resolves it: query
 * dropped, percent escapes decoded (except %2F, which stays), repeated
 * slashes collapsed, "." and ".." segments resolved.  Returns 0, or -1
 * when it does not fit in out or has a bad escape or NUL.
 */
int	 core_path_normalize(const char *uri, char *out, size_t outsz);

#endif
