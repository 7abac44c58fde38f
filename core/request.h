/* Request metadata as the web server hands it over: query strings and
 * headers (no I/O; fcgi/http.c and fcgi/gate.c call these). */
#ifndef CORE_REQUEST_H
#define CORE_REQUEST_H

#include <stddef.h>

/*
 * The parameter name of a query string (the text after '?'), its value
 * percent-decoded ('+' is a space) into buf.  1 when present, 0 when
 * absent, -1 when malformed, decoding to NUL, or too long for buf.
 * OUT: buf.
 */
int	 core_query_param(const char *query, const char *name, char *buf,
	    size_t bufsz);

/*
 * The token of an Authorization header "Bearer TOKEN" (the scheme in any
 * case, spaces before the token skipped), pointing into header; NULL for
 * another scheme or no header.
 */
const char *core_bearer_token(const char *header);

/* 1 if a Content-Type is application/json (any case, parameters allowed). */
int	 core_content_type_json(const char *ct);

/* 1 if origin is one of list (http.cors_origins: comma or space list). */
int	 core_origin_listed(const char *list, const char *origin);

#endif
