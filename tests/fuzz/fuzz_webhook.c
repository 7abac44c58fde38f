/* libFuzzer harness: webhook event bodies (Stripe and BTCPay) after their
 * signature was checked: the envelope and the metadata ids. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hook.h"
#include "fuzz.h"
#include "result.h"

static void
check_meta(const json_t *obj)
{
	static const char *const keys[] = { "invoice_id", "purchase_id",
	    "account_id", "" };
	const char	*s;
	char		 back[32];
	int64_t		 id;
	size_t		 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		id = core_stripe_meta_id(obj, keys[i]);
		s = json_string_value(json_object_get(json_object_get(obj,
		    "metadata"), keys[i]));
		if (id < 0 || (id > 0 && s == NULL))
			abort();
		/* An id is exactly the decimal text, nothing more. */
		if (id > 0) {
			snprintf(back, sizeof(back), "%lld", (long long)id);
			if (strcmp(back, s) != 0 && !(s[0] == '0' ||
			    (s[0] == '-' && s[1] == '0')))
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const id_keys[] = { "id", "deliveryId" };
	struct core_hook ev;
	const json_t	*obj;
	size_t		 i;
	int		 rc;

	for (i = 0; i < 2; i++) {
		rc = core_hook_parse((const char *)data, size, id_keys[i],
		    &ev);
		if (rc != TALLY_OK) {
			if (rc != TALLY_E_JSON || ev.json != NULL ||
			    ev.id != NULL || ev.type != NULL)
				abort();
			continue;
		}
		if (!json_is_object(ev.json) || ev.id == NULL ||
		    ev.type == NULL || ev.id[0] == '\0' ||
		    ev.type[0] == '\0' ||
		    strlen(ev.id) > CORE_HOOK_ID_MAX ||
		    strlen(ev.type) > CORE_HOOK_TYPE_MAX ||
		    ev.id != json_string_value(json_object_get(ev.json,
		    id_keys[i])))
			abort();
		/* What core/ops/card.c reads: data.object's metadata. */
		obj = json_object_get(json_object_get(ev.json, "data"),
		    "object");
		check_meta(obj);
		check_meta(ev.json);
		core_hook_free(&ev);
		if (ev.json != NULL)
			abort();
	}
	check_meta(NULL);
	return 0;
}
