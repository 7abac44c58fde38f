/* SMTP delivery: an RFC 5322 message with a base64 UTF-8 body, via libcurl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "core/config.h"
#include "core/idgen.h"
#include "core/result.h"
#include "core/timeutil.h"
#include "net/smtp.h"

#define MSG_MAX	(256 * 1024)

struct reader {
	const char	*p;
	size_t		 left;
};

static size_t
read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct reader	*r = arg;
	size_t		 n = size * nmemb;

	if (n > r->left)
		n = r->left;
	memcpy(buf, r->p, n);
	r->p += n;
	r->left -= n;
	return n;
}

/* Append to a bounded buffer; -1 when it would overflow. */
static int
add(char *buf, size_t *len, const char *s, size_t n)
{
	if (*len + n + 1 > MSG_MAX)
		return -1;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
	return 0;
}

static int
adds(char *buf, size_t *len, const char *s)
{
	return add(buf, len, s, strlen(s));
}

/* RFC 2047 for a non-ASCII subject; ASCII stays as it is. */
static int
add_subject(char *buf, size_t *len, const char *subject)
{
	unsigned char	 enc[1400];
	const unsigned char *p;
	size_t		 n = strlen(subject);

	for (p = (const unsigned char *)subject; *p; p++)
		if (*p >= 0x80)
			break;
	if (*p == '\0')
		return adds(buf, len, "Subject: ") || adds(buf, len, subject) ||
		    adds(buf, len, "\r\n");
	if (n > 1000)
		n = 1000;
	EVP_EncodeBlock(enc, (const unsigned char *)subject, (int)n);
	return adds(buf, len, "Subject: =?UTF-8?B?") ||
	    adds(buf, len, (char *)enc) || adds(buf, len, "?=\r\n");
}

/* The body in base64, 76 characters a line. */
static int
add_body(char *buf, size_t *len, const char *body)
{
	unsigned char	 enc[80];
	size_t		 n = strlen(body), off, chunk;

	for (off = 0; off < n; off += chunk) {
		chunk = n - off > 57 ? 57 : n - off;
		EVP_EncodeBlock(enc, (const unsigned char *)body + off,
		    (int)chunk);
		if (adds(buf, len, (char *)enc) || adds(buf, len, "\r\n"))
			return -1;
	}
	return 0;
}

static void
rfc5322_date(char *buf, size_t bufsz)
{
	static const char *const days[] = { "Thu", "Fri", "Sat", "Sun", "Mon",
	    "Tue", "Wed" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct core_civil c;
	int64_t		 t = (int64_t)time(NULL);

	core_civil_from_time(t, &c);
	snprintf(buf, bufsz, "%s, %d %s %lld %02d:%02d:%02d +0000",
	    days[(t / 86400) % 7], c.day, months[c.month - 1],
	    (long long)c.year, c.hour, c.min, c.sec);
}

static int
valid_address(const char *a)
{
	return *a != '\0' && strchr(a, '@') != NULL &&
	    strpbrk(a, "\r\n<> ,") == NULL && strlen(a) <= 320;
}

int
net_smtp_send(const struct core_config *cfg, const char *to,
    const char *subject, const char *body, char *err, size_t errsz)
{
	struct curl_slist *rcpt = NULL;
	struct reader	 rd;
	CURL		*c;
	CURLcode	 cc;
	char		*msg;
	char		 date[64], id[33], from[300];
	const char	*domain;
	size_t		 len = 0;
	long		 code = 0;
	int		 rc;

	if (!valid_address(to) || !valid_address(cfg->smtp_from)) {
		snprintf(err, errsz, "invalid recipient or sender address");
		return TALLY_E_INVALID;
	}
	if ((msg = malloc(MSG_MAX)) == NULL)
		return TALLY_E_NOMEM;
	msg[0] = '\0';
	rfc5322_date(date, sizeof(date));
	core_random_hex(16, id);
	domain = strchr(cfg->smtp_from, '@') + 1;
	snprintf(from, sizeof(from), "<%s>", cfg->smtp_from);
	if (adds(msg, &len, "Date: ") || adds(msg, &len, date) ||
	    adds(msg, &len, "\r\nFrom: ") || adds(msg, &len, cfg->smtp_from) ||
	    adds(msg, &len, "\r\nTo: ") || adds(msg, &len, to) ||
	    adds(msg, &len, "\r\nMessage-ID: <") || adds(msg, &len, id) ||
	    adds(msg, &len, "@") || adds(msg, &len, domain) ||
	    adds(msg, &len, ">\r\n") || add_subject(msg, &len, subject) ||
	    adds(msg, &len, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n") ||
	    add_body(msg, &len, body)) {
		free(msg);
		snprintf(err, errsz, "message too large");
		return TALLY_E_INVALID;
	}
	if ((c = curl_easy_init()) == NULL) {
		free(msg);
		return TALLY_E_NOMEM;
	}
	rcpt = curl_slist_append(rcpt, to);
	rd.p = msg;
	rd.left = len;
	curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &rd);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (cfg->smtp_starttls)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (cfg->smtp_user[0] != '\0') {
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->smtp_password);
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_OK)
		rc = TALLY_OK;
	else {
		/* curl's text names the step, never the credentials. */
		snprintf(err, errsz, "smtp %ld: %s", code,
		    curl_easy_strerror(cc));
		/* Rejections of the address or the message are final;
		 * anything else (4xx, 500 from a confused server, no
		 * connection) is worth another try later. */
		rc = code == 501 || (code >= 550 && code <= 554) ?
		    TALLY_E_INVALID : TALLY_E_IO;
	}
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	free(msg);
	return rc;
}
