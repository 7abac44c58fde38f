/* application/x-www-form-urlencoded bodies as Stripe expects them. */
#ifndef CORE_FORM_H
#define CORE_FORM_H

#include <stddef.h>
#include <stdint.h>

#define CORE_FORM_MAX	8192

/* A bounded form body; "overflow" is sticky, checked once at the end. */
struct core_form {
	char	 buf[CORE_FORM_MAX];
	size_t	 len;
	int	 overflow;
};

void	 core_form_init(struct core_form *);
/* Append key=value, both percent-encoded (brackets in keys included,
 * as RFC 3986 wants; Stripe decodes them). */
void	 core_form_add(struct core_form *, const char *key, const char *value);
void	 core_form_add_int(struct core_form *, const char *key, int64_t v);
/* TALLY_OK, or TALLY_E_TOOBIG when something did not fit. */
int	 core_form_ok(const struct core_form *);

#endif
