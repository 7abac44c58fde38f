/* Provider webhook events: the verified body parsed into what tally reads
 * of it (no I/O; the effects are core/ops/card.c and lightning.c). */
#ifndef CORE_HOOK_H
#define CORE_HOOK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CORE_HOOK_ID_MAX	255	/* bytes of the dedupe id */
#define CORE_HOOK_TYPE_MAX	64	/* bytes of the type */

struct core_hook {
	json_t		*json;		/* the whole event; core_hook_free */
	const char	*id;		/* Stripe "id", BTCPay "deliveryId" */
	const char	*type;
};

/*
 * Parse a webhook body whose signature was checked: a JSON object with a
 * string dedupe id (member id_key) and a string "type", neither empty nor
 * over its maximum.  TALLY_OK, or TALLY_E_JSON (then ev holds nothing).
 * OUT: *ev (free with core_hook_free).
 */
int	 core_hook_parse(const char *body, size_t len, const char *id_key,
	    struct core_hook *ev);
void	 core_hook_free(struct core_hook *ev);

/*
 * metadata[key] of a Stripe object as the positive id tally put there
 * ("42"), or 0 when it is missing, not a string or not such an id.
 */
int64_t	 core_stripe_meta_id(const json_t *obj, const char *key);

#endif
