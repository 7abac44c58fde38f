/* Sending one plain-text email over SMTP with libcurl. */
#ifndef NET_SMTP_H
#define NET_SMTP_H

#include <stddef.h>

struct core_config;

/*
 * Send subject and body (UTF-8) from smtp.from to one recipient through
 * smtp.url, with STARTTLS and AUTH as configured.  Returns TALLY_OK once
 * the server accepted the message, TALLY_E_IO for a failure worth a retry
 * (connection, 4xx), TALLY_E_INVALID for a permanent rejection (501,
 * 550-554, bad address).  err gets a short reason without credentials.
 */
int	 net_smtp_send(const struct core_config *, const char *to,
	    const char *subject, const char *body, char *err, size_t errsz);

#endif
