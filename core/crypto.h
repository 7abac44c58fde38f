/* Secrets at rest: AES-256-GCM with auth.encryption_key (no I/O). */
#ifndef CORE_CRYPTO_H
#define CORE_CRYPTO_H

#include <stddef.h>

/*
 * Encrypt plain with the 64-hex-digit key into "v1:" + hex(nonce |
 * ciphertext | tag), a random 96-bit nonce each time.  OUT: *out
 * (malloc'd; free(3)).  TALLY_OK, TALLY_E_CONFIG (bad key), TALLY_E_NOMEM,
 * TALLY_E_INTERNAL.
 */
int	 core_secret_seal(const char *hexkey, const char *plain, char **out);
/* The reverse; TALLY_E_INVALID when the text was altered or the key is
 * wrong.  OUT: *plain (malloc'd; wipe and free). */
int	 core_secret_open(const char *hexkey, const char *sealed,
	    char **plain);

#endif
