/* The route table: method + path pattern -> auth, body kind, handler. */
#ifndef FCGI_ROUTER_H
#define FCGI_ROUTER_H

#include <stddef.h>

#include "core/route.h"

struct http_req;

enum route_auth {
	AUTH_NONE,
	AUTH_USER,	/* Authorization: Bearer JWT; req->account loaded */
	AUTH_TOKEN,	/* the same JWT, account not loaded: the handler's
			 * one call finds it by user id (hot paths) */
	AUTH_USER_QUERY, /* AUTH_USER, or the same JWT as ?access_token=
			 * (RFC 6750 2.3): a page a browser opens by link */
	AUTH_SERVICE,	/* X-Service-Key */
	AUTH_ADMIN	/* X-Admin-Key */
};

enum route_body {
	BODY_NONE,	/* a body, if any, is ignored; no Content-Type needed */
	BODY_JSON,	/* a JSON object is required */
	BODY_RAW	/* raw bytes (webhooks verify them before parsing) */
};

struct route {
	const char	*method;
	const char	*pattern;
	enum route_auth	 auth;
	enum route_body	 body;
	void		(*fn)(struct http_req *);
};

/*
 * The route for method and path.  NULL when none: *status is 404, or 405
 * with the allowed methods written to allow.  OUT: *caps.
 */
const struct route *router_find(const char *method, const char *path,
	    struct core_route_caps *caps, char *allow, size_t allowsz,
	    int *status);

/* The route table, for the metrics' labels: its size and entry i. */
size_t	 router_count(void);
const struct route *router_at(size_t i);

#endif
