/* Random identifiers, hex and digests. */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
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

/*
 * SHA256() fetches the algorithm and makes a context on every call, under
 * the provider store's lock: the service-key check paid that on every
 * request, and more of it the more threads share the process.
 */
static EVP_MD		*sha256_md;
static pthread_once_t	 sha256_once = PTHREAD_ONCE_INIT;
static __thread EVP_MD_CTX *sha256_ctx;

static void
sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int
core_sha256(const void *data, size_t len, unsigned char md[32])
{
	pthread_once(&sha256_once, sha256_fetch);
	if (sha256_md != NULL &&
	    (sha256_ctx != NULL || (sha256_ctx = EVP_MD_CTX_new()) != NULL) &&
	    EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) == 1 &&
	    EVP_DigestUpdate(sha256_ctx, data, len) == 1 &&
	    EVP_DigestFinal_ex(sha256_ctx, md, NULL) == 1)
		return 0;
	/* No fetched algorithm or context: the one-shot call. */
	return SHA256(data, len, md) != NULL ? 0 : -1;
}

void
core_digest_thread_end(void)
{
	EVP_MD_CTX_free(sha256_ctx);
	sha256_ctx = NULL;
}

void
core_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];

	if (core_sha256(data, len, md) != 0)
		memset(md, 0, sizeof(md));	/* never hex of garbage */
	core_hex(md, sizeof(md), out);
}
