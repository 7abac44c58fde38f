/* libcurl requests answered with JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/result.h"
#include "net/http.h"

struct sink {
	char	*buf;
	size_t	 len;
	int	 toobig;
	size_t	 max;		/* 0: NET_RESPONSE_MAX */
};

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink	*s = arg;
	size_t		 n = size * nmemb;
	char		*nb;

	if (s->len + n > (s->max != 0 ? s->max : NET_RESPONSE_MAX)) {
		s->toobig = 1;
		return 0;	/* aborts the transfer */
	}
	if ((nb = realloc(s->buf, s->len + n + 1)) == NULL)
		return 0;
	s->buf = nb;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

int
net_http_json(const char *method, const char *url,
    const char *const *headers, const char *body, struct net_response *r,
    char *err, size_t errsz)
{
	struct curl_slist *h = NULL;
	struct sink	 s = { NULL, 0, 0, 0 };
	CURL		*c;
	CURLcode	 cc;
	size_t		 i;
	int		 rc = TALLY_E_PROVIDER;

	r->status = 0;
	r->json = NULL;
	if ((c = curl_easy_init()) == NULL)
		return TALLY_E_NOMEM;
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		h = curl_slist_append(h, headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		snprintf(err, errsz, "%s", s.toobig ? "response too large" :
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (s.buf == NULL ||
	    (r->json = json_loadb(s.buf, s.len, 0, NULL)) == NULL) {
		snprintf(err, errsz, "HTTP %ld without a JSON body", r->status);
		goto out;
	}
	rc = TALLY_OK;
out:
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(s.buf);
	return rc;
}

/* Keep the Cache-Control header (no redirect is followed: one response). */
static size_t
header_cb(char *p, size_t size, size_t nitems, void *arg)
{
	struct net_body	*b = arg;
	static const char name[] = "cache-control:";
	size_t		 n = size * nitems, vlen;
	const char	*v, *end;

	if (n > sizeof(name) - 1 &&
	    strncasecmp(p, name, sizeof(name) - 1) == 0) {
		v = p + sizeof(name) - 1;
		end = p + n;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
		    end[-1] == ' ' || end[-1] == '\t'))
			end--;
		vlen = (size_t)(end - v);
		if (vlen >= sizeof(b->cache_control))
			vlen = sizeof(b->cache_control) - 1;
		memcpy(b->cache_control, v, vlen);
		b->cache_control[vlen] = '\0';
	}
	return n;
}

int
net_http_get(const char *url, const char *ca_file, size_t max,
    struct net_body *out, char *err, size_t errsz)
{
	struct sink	 s = { NULL, 0, 0, max };
	CURL		*c;
	CURLcode	 cc;
	int		 rc = TALLY_E_PROVIDER;

	memset(out, 0, sizeof(*out));
	if ((c = curl_easy_init()) == NULL)
		return TALLY_E_NOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file != NULL && *ca_file != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		snprintf(err, errsz, "%s", s.toobig ? "response too large" :
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	if (s.buf == NULL && (s.buf = calloc(1, 1)) == NULL) {
		rc = TALLY_E_NOMEM;
		goto out;
	}
	out->text = s.buf;
	out->len = s.len;
	s.buf = NULL;
	rc = TALLY_OK;
out:
	curl_easy_cleanup(c);
	free(s.buf);
	return rc;
}

int
net_http_post(const char *url, const char *const *headers, const char *body,
    size_t len, long timeout, long *status, char *err, size_t errsz)
{
	struct curl_slist *h = NULL;
	struct sink	 s = { NULL, 0, 0, 64 * 1024 };
	CURL		*c;
	CURLcode	 cc;
	size_t		 i;
	int		 rc = TALLY_E_PROVIDER;

	*status = 0;
	if ((c = curl_easy_init()) == NULL)
		return TALLY_E_NOMEM;
	h = curl_slist_append(h, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip before the body. */
	h = curl_slist_append(h, "Expect:");
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		h = curl_slist_append(h, headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout < 5 ? timeout : 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tally-webhooks/1");
	cc = curl_easy_perform(c);
	/* A body over the limit still came with a status: that counts. */
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && s.toobig)) {
		snprintf(err, errsz, "%s", curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	rc = TALLY_OK;
out:
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(s.buf);
	return rc;
}
