/* Gift codes and email normalisation. */
#include <ctype.h>
#include <string.h>

#include <openssl/rand.h>

#include "gift.h"
#include "result.h"

#define NSYM	(sizeof(CORE_GIFT_ALPHABET) - 1)

int
core_gift_code_new(char *out)
{
	unsigned char	 buf[64];
	size_t		 n = 0, i;

	while (n < CORE_GIFT_SYMBOLS) {
		if (RAND_bytes(buf, sizeof(buf)) != 1)
			return TALLY_E_INTERNAL;
		for (i = 0; i < sizeof(buf) && n < CORE_GIFT_SYMBOLS; i++) {
			/* Rejection sampling: 248 = 8 * 31 keeps b % 31
			 * uniform. */
			if (buf[i] >= (256 / NSYM) * NSYM)
				continue;
			out[n++] = CORE_GIFT_ALPHABET[buf[i] % NSYM];
		}
	}
	out[n] = '\0';
	OPENSSL_cleanse(buf, sizeof(buf));
	return TALLY_OK;
}

int
core_gift_code_normalize(const char *in, char *out)
{
	char	 tmp[64];
	size_t	 n = 0, off = 0;
	int	 c;

	for (; *in != '\0'; in++) {
		if (*in == '-' || *in == ' ' || *in == '\t')
			continue;
		c = toupper((unsigned char)*in);
		if (n + 1 >= sizeof(tmp))
			return TALLY_E_INVALID;
		tmp[n++] = (char)c;
	}
	tmp[n] = '\0';
	/* The body never holds an L, so a leading TLY is the prefix. */
	if (n >= 3 && strncmp(tmp, "TLY", 3) == 0)
		off = 3;
	if (n - off != CORE_GIFT_SYMBOLS)
		return TALLY_E_INVALID;
	if (strspn(tmp + off, CORE_GIFT_ALPHABET) != CORE_GIFT_SYMBOLS)
		return TALLY_E_INVALID;
	memcpy(out, tmp + off, CORE_GIFT_SYMBOLS + 1);
	return TALLY_OK;
}

void
core_gift_code_format(const char *bare, char *out)
{
	size_t	 i, o = 0;

	memcpy(out, "TLY", 3);
	o = 3;
	for (i = 0; i < CORE_GIFT_SYMBOLS && bare[i] != '\0'; i++) {
		if (i % 4 == 0)
			out[o++] = '-';
		out[o++] = bare[i];
	}
	out[o] = '\0';
}

int
core_email_normalize(const char *in, char *out, size_t outsz)
{
	const char	*end;
	size_t		 n, i;

	while (*in == ' ' || *in == '\t' || *in == '\r' || *in == '\n')
		in++;
	end = in + strlen(in);
	while (end > in && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r' || end[-1] == '\n'))
		end--;
	n = (size_t)(end - in);
	if (n < 3 || n > 320 || n >= outsz)
		return TALLY_E_INVALID;
	for (i = 0; i < n; i++) {
		/* No spaces, controls, or what would make it a list or a
		 * display name in a header. */
		if ((unsigned char)in[i] <= ' ' || in[i] == 0x7f ||
		    strchr(",;<>()[]\\\"", in[i]) != NULL)
			return TALLY_E_INVALID;
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	out[n] = '\0';
	if (strchr(out, '@') == NULL || out[0] == '@' || out[n - 1] == '@')
		return TALLY_E_INVALID;
	return TALLY_OK;
}
