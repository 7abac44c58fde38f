/* Outbound HTTP(S) with libcurl: bounded responses, fixed timeouts. */
#ifndef NET_HTTP_H
#define NET_HTTP_H

#include <stddef.h>

#include <jansson.h>

#define NET_RESPONSE_MAX	(1024 * 1024)

struct net_response {
	long	 status;	/* HTTP status; 0 when none arrived */
	json_t	*json;		/* parsed body, or NULL when not JSON */
};

/*
 * Send method url with the given header lines (NULL-terminated array) and
 * body (may be NULL), connect timeout 5 s, total 15 s.  Returns TALLY_OK
 * when a response arrived (any status; OUT: *r, json_decref(r->json)
 * after), or TALLY_E_PROVIDER (no connection, timeout, oversized or
 * non-JSON body) with a short reason in err.  Header values are never
 * logged here.
 */
int	 net_http_json(const char *method, const char *url,
	    const char *const *headers, const char *body, struct net_response *r,
	    char *err, size_t errsz);

/* A plain GET's answer (net_http_get). */
struct net_body {
	long	 status;		/* HTTP status */
	char	*text;			/* the body, NUL-terminated; free(3) */
	size_t	 len;
	char	 cache_control[256];	/* the Cache-Control header, or "" */
};

/*
 * GET url over HTTPS only (no redirects followed), verifying the server
 * against the system's CAs, or against the PEM file ca_file when it is
 * not NULL or empty; connect timeout 5 s, total 10 s; at most max bytes
 * of body.  Returns TALLY_OK when a response arrived (any status; OUT:
 * *out, free out->text after), TALLY_E_NOMEM, or TALLY_E_PROVIDER (no
 * connection, TLS failure, timeout, oversized body) with a short reason
 * in err that names neither the URL nor any header value.
 */
int	 net_http_get(const char *url, const char *ca_file, size_t max,
	    struct net_body *out, char *err, size_t errsz);

/*
 * POST body (Content-Type: application/json) to url with the extra
 * header lines (NULL-terminated), http or https, no redirects followed,
 * connect timeout 5 s, whole exchange at most timeout seconds; the
 * answer's body is read (at most 64 KiB) and dropped.  TALLY_OK when a
 * response arrived (any status; OUT: *status), else TALLY_E_PROVIDER
 * with a short reason in err that names neither the URL nor a header.
 */
int	 net_http_post(const char *url, const char *const *headers,
	    const char *body, size_t len, long timeout, long *status,
	    char *err, size_t errsz);

#endif
