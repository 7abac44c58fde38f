/* AES-256-GCM sealing of small secrets (NWC connection strings). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "idgen.h"
#include "result.h"

#define NONCE	12
#define TAG	16
#define SECRET_MAX	4096

static int
key_bytes(const char *hex, unsigned char key[32])
{
	long	 len = 0;
	unsigned char *b;

	if (hex == NULL || strlen(hex) != 64 ||
	    (b = OPENSSL_hexstr2buf(hex, &len)) == NULL)
		return TALLY_E_CONFIG;
	if (len != 32) {
		OPENSSL_free(b);
		return TALLY_E_CONFIG;
	}
	memcpy(key, b, 32);
	OPENSSL_clear_free(b, (size_t)len);
	return TALLY_OK;
}

int
core_secret_seal(const char *hexkey, const char *plain, char **out)
{
	unsigned char	 key[32], *buf = NULL;
	EVP_CIPHER_CTX	*ctx = NULL;
	size_t		 n = strlen(plain);
	int		 len, rc = TALLY_E_INTERNAL;

	*out = NULL;
	if (n > SECRET_MAX)
		return TALLY_E_TOOBIG;
	if ((rc = key_bytes(hexkey, key)) != TALLY_OK)
		return rc;
	rc = TALLY_E_INTERNAL;
	if ((buf = malloc(NONCE + n + TAG)) == NULL ||
	    (*out = malloc(3 + 2 * (NONCE + n + TAG) + 1)) == NULL) {
		rc = TALLY_E_NOMEM;
		goto done;
	}
	if (RAND_bytes(buf, NONCE) != 1 ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, buf) != 1 ||
	    EVP_EncryptUpdate(ctx, buf + NONCE, &len,
	    (const unsigned char *)plain, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(ctx, buf + NONCE + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG,
	    buf + NONCE + n) != 1)
		goto done;
	memcpy(*out, "v1:", 3);
	core_hex(buf, NONCE + n + TAG, *out + 3);
	rc = TALLY_OK;
done:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_CIPHER_CTX_free(ctx);
	if (buf != NULL)
		OPENSSL_clear_free(buf, NONCE + n + TAG);
	if (rc != TALLY_OK) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int
core_secret_open(const char *hexkey, const char *sealed, char **plain)
{
	unsigned char	 key[32], *raw = NULL;
	EVP_CIPHER_CTX	*ctx = NULL;
	long		 rawlen = 0;
	size_t		 n = 0;
	int		 len, rc;

	*plain = NULL;
	if ((rc = key_bytes(hexkey, key)) != TALLY_OK)
		return rc;
	rc = TALLY_E_INVALID;
	if (strncmp(sealed, "v1:", 3) != 0 ||
	    (raw = OPENSSL_hexstr2buf(sealed + 3, &rawlen)) == NULL ||
	    rawlen < NONCE + TAG)
		goto done;
	n = (size_t)rawlen - NONCE - TAG;
	if ((*plain = malloc(n + 1)) == NULL) {
		rc = TALLY_E_NOMEM;
		goto done;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, raw) != 1 ||
	    EVP_DecryptUpdate(ctx, (unsigned char *)*plain, &len,
	    raw + NONCE, (int)n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG,
	    raw + NONCE + n) != 1 ||
	    EVP_DecryptFinal_ex(ctx, (unsigned char *)*plain + len, &len) != 1)
		goto done;
	(*plain)[n] = '\0';
	rc = TALLY_OK;
done:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_CIPHER_CTX_free(ctx);
	if (raw != NULL)
		OPENSSL_clear_free(raw, (size_t)rawlen);
	if (rc != TALLY_OK && *plain != NULL) {
		OPENSSL_cleanse(*plain, n);
		free(*plain);
		*plain = NULL;
	}
	return rc;
}
