/* Nostr for Lightning auto-pay (NIP-47): connection strings, keys, BIP-340
 * signed events (NIP-01), NIP-04 and NIP-44 v2 encryption.  No I/O. */
#ifndef CORE_NOSTR_H
#define CORE_NOSTR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define NOSTR_KIND_NWC_INFO	13194
#define NOSTR_KIND_NWC_REQUEST	23194
#define NOSTR_KIND_NWC_RESPONSE	23195

/*
 * A parsed "nostr+walletconnect://PUBKEY?relay=URL&secret=HEX" string.
 * The secret is the client's private key: wipe it with core_nwc_wipe().
 */
struct core_nwc {
	char		 wallet[65];	/* the wallet service's x-only key, hex */
	char		 relay[1025];	/* the first relay= value, decoded */
	unsigned char	 secret[32];
	char		 pubkey[65];	/* ours, derived from the secret */
};

/*
 * Parse and check url: the scheme, a 64-hex-digit wallet key that is a
 * point of the curve, a ws:// or wss:// relay (the first one when there
 * are several), a 64-hex-digit secret that is a valid private key.
 * Unknown parameters (lud16, ...) are ignored.  TALLY_OK, or
 * TALLY_E_INVALID with *why set to a static English sentence that never
 * quotes the input.  OUT: *out (wipe it).
 */
int	 core_nwc_parse(const char *url, struct core_nwc *out,
	    const char **why);
void	 core_nwc_wipe(struct core_nwc *);

/* The x-only public key of sec, hex.  TALLY_E_INVALID for a bad key. */
int	 core_nostr_pubkey(const unsigned char sec[32], char pub[65]);

/*
 * The x coordinate of sec times the point whose x is pub (even y), the
 * secret both NIP-04 and NIP-44 start from.  TALLY_E_INVALID when sec is
 * not a private key or pub not a point of the curve.  OUT: x (wipe it).
 */
int	 core_nostr_ecdh(const unsigned char sec[32], const char *pub,
	    unsigned char x[32]);

/* NIP-44 v2. */
int	 core_nip44_conversation_key(const unsigned char sec[32],
	    const char *pub, unsigned char key[32]);
int	 core_nip44_message_keys(const unsigned char key[32],
	    const unsigned char nonce[32], unsigned char chacha_key[32],
	    unsigned char chacha_nonce[12], unsigned char hmac_key[32]);
/* The padded length of a plaintext of len bytes (the spec's calc_padded_len;
 * 0 for 0). */
size_t	 core_nip44_padded_len(size_t len);
/*
 * Encrypt len bytes of plain (1..65535) under the conversation key;
 * nonce NULL draws a random one (not NULL: the test vectors).
 * OUT: *payload, base64, malloc'd.
 */
int	 core_nip44_encrypt(const unsigned char key[32],
	    const unsigned char *nonce, const char *plain, size_t len,
	    char **payload);
/* The reverse; TALLY_E_INVALID for an unknown version, a bad size,
 * base64, MAC or padding.  OUT: *plain (NUL-terminated), *len. */
int	 core_nip44_decrypt(const unsigned char key[32], const char *payload,
	    char **plain, size_t *len);

/* NIP-04: AES-256-CBC keyed by the ECDH x, "base64?iv=base64"; iv NULL
 * draws a random one. */
int	 core_nip04_encrypt(const unsigned char shared[32],
	    const unsigned char *iv, const char *plain, size_t len,
	    char **payload);
int	 core_nip04_decrypt(const unsigned char shared[32], const char *payload,
	    char **plain, size_t *len);

/*
 * The NIP-01 id of an event: sha256 of [0,pubkey,created_at,kind,tags,
 * content] serialised compactly.  OUT: id (hex).
 */
int	 core_nostr_event_id(const char *pubkey, int64_t created_at,
	    int64_t kind, const json_t *tags, const char *content,
	    char id[65]);
/* BIP-340 Schnorr signature of the 32-byte message msg (an id, hex) by
 * sec; aux NULL draws fresh randomness.  OUT: sig (hex). */
int	 core_nostr_sign(const unsigned char sec[32], const char *msg,
	    const unsigned char *aux, char sig[129]);
/* Whether sig (hex) is pub's BIP-340 signature of the msglen bytes msg:
 * TALLY_OK or TALLY_E_SIGNATURE. */
int	 core_nostr_verify(const char *pub, const unsigned char *msg,
	    size_t msglen, const char *sig);
/* Whether ev is a well-formed event whose id and signature hold:
 * TALLY_OK or TALLY_E_SIGNATURE (TALLY_E_INVALID for a malformed one). */
int	 core_nostr_event_check(const json_t *ev);

/* How a NIP-47 request is encrypted. */
enum core_nwc_enc {
	NWC_NIP04,
	NWC_NIP44
};

/* NIP44 when the wallet's info event (kind 13194) lists nip44_v2 in its
 * encryption tag, else NIP04 (the NIP-47 default). */
enum core_nwc_enc core_nwc_info_encryption(const json_t *info);

/*
 * The signed pay_invoice request (kind 23194) for bolt11, to the wallet
 * of c, encrypted as enc.  OUT: *event (json_decref), its id in
 * event["id"].
 */
int	 core_nwc_pay_request(const struct core_nwc *c, const char *bolt11,
	    int64_t created_at, enum core_nwc_enc enc, json_t **event);

/* What the wallet answered to a pay_invoice request. */
struct core_nwc_result {
	int	 ok;			/* result with a preimage */
	char	 code[64];		/* the error code, when not ok */
	char	 message[481];		/* the wallet's message, when not ok */
	char	 preimage[129];
};

/*
 * Read ev as the answer to the request request_id: kind 23195 from the
 * wallet of c, tagged e = request_id and p = our key, id and signature
 * valid, content decrypted (NIP-04 when it carries "?iv=", else NIP-44)
 * and parsed.  TALLY_E_NOTFOUND when ev answers something else (not
 * ours: keep waiting); TALLY_E_INVALID or TALLY_E_SIGNATURE when it
 * claims to be the answer but cannot be believed.  OUT: *r.
 */
int	 core_nwc_read_response(const struct core_nwc *c, const json_t *ev,
	    const char *request_id, struct core_nwc_result *r);

#endif
