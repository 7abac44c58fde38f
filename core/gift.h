/* Gift code rules: generation, normalisation, email comparison (no I/O). */
#ifndef CORE_GIFT_H
#define CORE_GIFT_H

#include <stddef.h>

/*
 * Codes are 18 symbols of a 31-letter alphabet without 0, O, 1, I and L
 * (89 bits from RAND_bytes, chosen without bias), stored bare and shown as
 * "TLY-7KQ4-M9XD-2RWP-H3AB-CD".
 */
#define CORE_GIFT_ALPHABET	"23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#define CORE_GIFT_SYMBOLS	18
#define CORE_GIFT_SHOWN		(4 + CORE_GIFT_SYMBOLS + 4 + 1)

/* A fresh bare code into out (CORE_GIFT_SYMBOLS + 1 bytes).
 * TALLY_OK or TALLY_E_INTERNAL when the CSPRNG fails. */
int	 core_gift_code_new(char *out);

/*
 * The bare code for what a person typed: case-insensitive, with or without
 * the TLY prefix, dashes and spaces.  TALLY_OK or TALLY_E_INVALID.
 * OUT: out (CORE_GIFT_SYMBOLS + 1 bytes).
 */
int	 core_gift_code_normalize(const char *in, char *out);

/* The display form of a bare code. OUT: out (CORE_GIFT_SHOWN bytes). */
void	 core_gift_code_format(const char *bare, char *out);

/*
 * An email address trimmed and lower-cased (ASCII), for comparison.
 * TALLY_OK or TALLY_E_INVALID (empty, no '@', too long, spaces inside).
 */
int	 core_email_normalize(const char *in, char *out, size_t outsz);

#endif
