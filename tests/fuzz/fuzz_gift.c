/* libFuzzer harness: gift codes as people type them, and email addresses
 * (the JWT's email, target_email, redeem-pending's email). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gift.h"
#include "result.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s, bare[CORE_GIFT_SYMBOLS + 1], again[CORE_GIFT_SYMBOLS + 1];
	char	 shown[CORE_GIFT_SHOWN], email[321], email2[321], small[4];
	size_t	 i;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	memset(bare, 'x', sizeof(bare));
	if (core_gift_code_normalize(s, bare) == TALLY_OK) {
		if (strlen(bare) != CORE_GIFT_SYMBOLS ||
		    strspn(bare, CORE_GIFT_ALPHABET) != CORE_GIFT_SYMBOLS)
			abort();
		/* The display form normalises to the same code. */
		core_gift_code_format(bare, shown);
		if (strlen(shown) != CORE_GIFT_SHOWN - 1 ||
		    core_gift_code_normalize(shown, again) != TALLY_OK ||
		    strcmp(again, bare) != 0)
			abort();
	}

	if (core_email_normalize(s, email, sizeof(email)) == TALLY_OK) {
		if (strlen(email) < 3 || strlen(email) > 320 ||
		    strchr(email, '@') == NULL || email[0] == '@' ||
		    email[strlen(email) - 1] == '@')
			abort();
		for (i = 0; email[i] != '\0'; i++)
			if ((unsigned char)email[i] <= ' ' ||
			    isupper((unsigned char)email[i]) ||
			    strchr(",;<>()[]\\\"", email[i]) != NULL)
				abort();
		if (core_email_normalize(email, email2, sizeof(email2)) !=
		    TALLY_OK || strcmp(email, email2) != 0)
			abort();
	}
	/* A buffer too small is an error, never an overrun. */
	if (core_email_normalize(s, small, sizeof(small)) == TALLY_OK &&
	    strlen(small) >= sizeof(small))
		abort();
	free(s);
	return 0;
}
