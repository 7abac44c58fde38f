/* Random identifiers and hex encoding from OpenSSL's CSPRNG. */
#ifndef CORE_IDGEN_H
#define CORE_IDGEN_H

#include <stddef.h>

/* Hex-encode n bytes of in into out (2n+1 bytes). */
void	 core_hex(const unsigned char *in, size_t n, char *out);
/* nbytes random bytes as hex into out (2*nbytes+1).  TALLY_OK or
 * TALLY_E_INTERNAL when the CSPRNG fails. */
int	 core_random_hex(size_t nbytes, char *out);
/*
 * SHA-256 of len bytes into md (32 bytes), with the algorithm fetched once
 * per process and one digest context per thread (OpenSSL's one-shot
 * SHA256() when either cannot be had); 0, or -1 when OpenSSL fails.  core_digest_thread_end() frees the calling thread's context.
 */
int	 core_sha256(const void *data, size_t len, unsigned char md[32]);
void	 core_digest_thread_end(void);
/* Lower-case hex SHA-256 of len bytes into out (65 bytes). */
void	 core_sha256_hex(const void *data, size_t len, char *out);

#endif
