/* Random identifiers, hex and digests. */
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "idgen.h"
#include "result.h"

void
core_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
core_random_hex(size_t nbytes, char *out)
{
	unsigned char	 buf[64];

	if (nbytes > sizeof(buf) || RAND_bytes(buf, (int)nbytes) != 1)
		return TALLY_E_INTERNAL;
	core_hex(buf, nbytes, out);
	return TALLY_OK;
}

void
core_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	core_hex(md, sizeof(md), out);
}
