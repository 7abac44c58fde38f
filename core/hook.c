/* Webhook event envelopes and the ids tally stores in Stripe metadata. */
#include <string.h>

#include "hook.h"
#include "money.h"
#include "result.h"

int
core_hook_parse(const char *body, size_t len, const char *id_key,
    struct core_hook *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (body == NULL ||
	    (ev->json = json_loadb(body, len, 0, NULL)) == NULL)
		return TALLY_E_JSON;
	ev->id = json_string_value(json_object_get(ev->json, id_key));
	ev->type = json_string_value(json_object_get(ev->json, "type"));
	if (!json_is_object(ev->json) || ev->id == NULL || ev->type == NULL ||
	    ev->id[0] == '\0' || ev->type[0] == '\0' ||
	    strlen(ev->id) > CORE_HOOK_ID_MAX ||
	    strlen(ev->type) > CORE_HOOK_TYPE_MAX) {
		core_hook_free(ev);
		return TALLY_E_JSON;
	}
	return TALLY_OK;
}

void
core_hook_free(struct core_hook *ev)
{
	json_decref(ev->json);
	memset(ev, 0, sizeof(*ev));
}

int64_t
core_stripe_meta_id(const json_t *obj, const char *key)
{
	const char	*s;
	int64_t		 id;

	s = json_string_value(json_object_get(json_object_get(obj,
	    "metadata"), key));
	if (s == NULL || core_parse_int64(s, &id) != TALLY_OK || id <= 0)
		return 0;
	return id;
}
