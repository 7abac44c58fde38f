/* Unit tests: NIP-47 connection strings, NIP-44 v2 against the official
 * vectors (tests/unit/nip44.vectors.json), NIP-04, BIP-340 against the
 * BIP's vectors, NIP-01 ids against events nostr-tools signed, and a
 * pay_invoice request and its answer end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "nostr.h"
#include "result.h"

#define VECTORS	"tests/unit/nip44.vectors.json"

static json_t *vectors;

static void
hex(const char *s, unsigned char *out, size_t n)
{
	size_t	 i;
	unsigned int b;

	assert_int_equal(strlen(s), 2 * n);
	for (i = 0; i < n; i++) {
		char	 two[3] = { s[2 * i], s[2 * i + 1], '\0' };

		b = (unsigned int)strtoul(two, NULL, 16);
		out[i] = (unsigned char)b;
	}
}

static void
tohex(const unsigned char *b, size_t n, char *out)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	assert_non_null(s);
	return s;
}

static json_t *
section(const char *a, const char *b)
{
	json_t	*s = json_object_get(json_object_get(json_object_get(vectors,
	    "v2"), a), b);

	assert_non_null(s);
	return s;
}

static int
setup(void **state)
{
	const char	*path = getenv("NIP44_VECTORS");

	(void)state;
	vectors = json_load_file(path != NULL ? path : VECTORS, 0, NULL);
	return vectors == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	json_decref(vectors);
	return 0;
}

static void
test_conversation_keys(void **state)
{
	const json_t	*v;
	unsigned char	 sec[32], key[32];
	char		 got[65];
	size_t		 i, n = 0;

	(void)state;
	json_array_foreach(section("valid", "get_conversation_key"), i, v) {
		hex(str(v, "sec1"), sec, 32);
		assert_int_equal(core_nip44_conversation_key(sec,
		    str(v, "pub2"), key), TALLY_OK);
		tohex(key, 32, got);
		assert_string_equal(got, str(v, "conversation_key"));
		n++;
	}
	assert_true(n >= 10);
	json_array_foreach(section("invalid", "get_conversation_key"), i, v) {
		hex(str(v, "sec1"), sec, 32);
		assert_int_equal(core_nip44_conversation_key(sec,
		    str(v, "pub2"), key), TALLY_E_INVALID);
	}
}

static void
test_message_keys(void **state)
{
	const json_t	*mk = section("valid", "get_message_keys"), *v;
	unsigned char	 ck[32], nonce[32], k[32], cn[12], hk[32];
	char		 got[65];
	size_t		 i;

	(void)state;
	hex(str(mk, "conversation_key"), ck, 32);
	json_array_foreach(json_object_get(mk, "keys"), i, v) {
		hex(str(v, "nonce"), nonce, 32);
		assert_int_equal(core_nip44_message_keys(ck, nonce, k, cn, hk),
		    TALLY_OK);
		tohex(k, 32, got);
		assert_string_equal(got, str(v, "chacha_key"));
		tohex(cn, 12, got);
		assert_string_equal(got, str(v, "chacha_nonce"));
		tohex(hk, 32, got);
		assert_string_equal(got, str(v, "hmac_key"));
	}
}

static void
test_padding(void **state)
{
	const json_t	*v;
	size_t		 i;

	(void)state;
	json_array_foreach(section("valid", "calc_padded_len"), i, v)
		assert_int_equal(core_nip44_padded_len((size_t)
		    json_integer_value(json_array_get(v, 0))),
		    json_integer_value(json_array_get(v, 1)));
	assert_int_equal(core_nip44_padded_len(0), 0);
	assert_int_equal(core_nip44_padded_len(1), 32);
	assert_int_equal(core_nip44_padded_len(257), 320);
}

static void
test_encrypt_decrypt(void **state)
{
	const json_t	*v;
	unsigned char	 sec1[32], sec2[32], ck[32], ck2[32], nonce[32];
	char		 pub2[65], pub1[65], got[65], *payload, *plain;
	size_t		 i, len;

	(void)state;
	json_array_foreach(section("valid", "encrypt_decrypt"), i, v) {
		const char *pt = str(v, "plaintext");

		hex(str(v, "sec1"), sec1, 32);
		hex(str(v, "sec2"), sec2, 32);
		hex(str(v, "nonce"), nonce, 32);
		assert_int_equal(core_nostr_pubkey(sec2, pub2), TALLY_OK);
		assert_int_equal(core_nostr_pubkey(sec1, pub1), TALLY_OK);
		assert_int_equal(core_nip44_conversation_key(sec1, pub2, ck),
		    TALLY_OK);
		tohex(ck, 32, got);
		assert_string_equal(got, str(v, "conversation_key"));
		/* The key is the same from the other side. */
		assert_int_equal(core_nip44_conversation_key(sec2, pub1, ck2),
		    TALLY_OK);
		assert_memory_equal(ck, ck2, 32);
		assert_int_equal(core_nip44_encrypt(ck, nonce, pt, strlen(pt),
		    &payload), TALLY_OK);
		assert_string_equal(payload, str(v, "payload"));
		free(payload);
		assert_int_equal(core_nip44_decrypt(ck, str(v, "payload"),
		    &plain, &len), TALLY_OK);
		assert_int_equal(len, strlen(pt));
		assert_string_equal(plain, pt);
		free(plain);
	}
}

static void
test_long_messages(void **state)
{
	const json_t	*v;
	unsigned char	 ck[32], nonce[32], h[32];
	char		 got[65], *pt, *payload, *back;
	size_t		 i, r, plen, len;

	(void)state;
	json_array_foreach(section("valid", "encrypt_decrypt_long_msg"), i, v) {
		const char *pat = str(v, "pattern");
		size_t reps = (size_t)json_integer_value(json_object_get(v,
		    "repeat"));

		plen = strlen(pat) * reps;
		assert_non_null(pt = malloc(plen + 1));
		for (r = 0; r < reps; r++)
			memcpy(pt + r * strlen(pat), pat, strlen(pat));
		pt[plen] = '\0';
		SHA256((unsigned char *)pt, plen, h);
		tohex(h, 32, got);
		assert_string_equal(got, str(v, "plaintext_sha256"));
		hex(str(v, "conversation_key"), ck, 32);
		hex(str(v, "nonce"), nonce, 32);
		assert_int_equal(core_nip44_encrypt(ck, nonce, pt, plen,
		    &payload), TALLY_OK);
		SHA256((unsigned char *)payload, strlen(payload), h);
		tohex(h, 32, got);
		assert_string_equal(got, str(v, "payload_sha256"));
		assert_int_equal(core_nip44_decrypt(ck, payload, &back, &len),
		    TALLY_OK);
		assert_int_equal(len, plen);
		assert_memory_equal(back, pt, plen);
		free(back);
		free(payload);
		free(pt);
	}
}

static void
test_invalid(void **state)
{
	const json_t	*v;
	unsigned char	 ck[32];
	char		*plain, *payload, *big;
	size_t		 i, len;

	(void)state;
	json_array_foreach(section("invalid", "decrypt"), i, v) {
		hex(str(v, "conversation_key"), ck, 32);
		assert_int_equal(core_nip44_decrypt(ck, str(v, "payload"),
		    &plain, &len), TALLY_E_INVALID);
		assert_null(plain);
	}
	memset(ck, 7, sizeof(ck));
	assert_non_null(big = calloc(1, 10000001));
	memset(big, 'a', 10000000);
	json_array_foreach(section("invalid", "encrypt_msg_lengths"), i, v) {
		size_t n = (size_t)json_integer_value(v);

		assert_int_equal(core_nip44_encrypt(ck, NULL, big, n,
		    &payload), TALLY_E_INVALID);
		assert_null(payload);
	}
	free(big);
	/* One flipped byte of a good payload breaks its MAC. */
	assert_int_equal(core_nip44_encrypt(ck, NULL, "hello", 5, &payload),
	    TALLY_OK);
	payload[50] = payload[50] == 'A' ? 'B' : 'A';
	assert_int_equal(core_nip44_decrypt(ck, payload, &plain, &len),
	    TALLY_E_INVALID);
	free(payload);
}

/* A NIP-04 message nostr-tools (nip04.encrypt) made. */
static void
test_nip04(void **state)
{
	unsigned char	 a[32], shared[32], b[32], shared2[32];
	char		 pubA[65], *plain, *payload;
	size_t		 len;
	const char	*want = "{\"method\":\"pay_invoice\",\"params\":"
	    "{\"invoice\":\"lnbcrt1\"}}";

	(void)state;
	hex("0000000000000000000000000000000000000000000000000000000000000003",
	    a, 32);
	assert_int_equal(core_nostr_ecdh(a, "17162c921dc4d2518f9a101db33695df"
	    "1afb56ab82f5ff3e5da6eec3ca5cd917", shared), TALLY_OK);
	assert_int_equal(core_nip04_decrypt(shared, "kwyiSS92h8MSqL+Bbjw4d8GYs"
	    "aT82395cZFhAl8CUFkrG/pGw0UpAZ0PzUOv7N7h7dscUQvrc9FLkviKFPb/BA==?i"
	    "v=OFwUHbIt5WoW8f0Pdb08rg==", &plain, &len), TALLY_OK);
	assert_string_equal(plain, want);
	free(plain);
	/* Round trip from the other side. */
	hex("7f7ff03d123792d6ac594bfa67bf6d0c0ab55b6b1fdb6249303fe861f1ccba9a",
	    b, 32);
	assert_int_equal(core_nostr_pubkey(a, pubA), TALLY_OK);
	assert_int_equal(core_nostr_ecdh(b, pubA, shared2), TALLY_OK);
	assert_memory_equal(shared, shared2, 32);
	assert_int_equal(core_nip04_encrypt(shared2, NULL, "hi", 2, &payload),
	    TALLY_OK);
	assert_non_null(strstr(payload, "?iv="));
	assert_int_equal(core_nip04_decrypt(shared, payload, &plain, &len),
	    TALLY_OK);
	assert_string_equal(plain, "hi");
	free(plain);
	free(payload);
	assert_int_equal(core_nip04_decrypt(shared, "bm90IGFuIGl2", &plain,
	    &len), TALLY_E_INVALID);
	assert_int_equal(core_nip04_decrypt(shared, "AAAA?iv=AAAA", &plain,
	    &len), TALLY_E_INVALID);
}

/* BIP-340's own vectors (test-vectors.csv rows 0-8, 15-18). */
static void
test_bip340(void **state)
{
	static const struct {
		const char *sec, *pub, *aux, *msg, *sig;
		int ok;
	} t[] = {
		{ "0000000000000000000000000000000000000000000000000000000000000003",
		  "F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9",
		  "0000000000000000000000000000000000000000000000000000000000000000",
		  "0000000000000000000000000000000000000000000000000000000000000000",
		  "E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA8215"
		  "25F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0", 1 },
		{ "B7E151628AED2A6ABF7158809CF4F3C762E7160F38B4DA56A784D9045190CFEF",
		  "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
		  "0000000000000000000000000000000000000000000000000000000000000001",
		  "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
		  "6896BD60EEAE296DB48A229FF71DFE071BDE413E6D43F917DC8DCF8C78DE3341"
		  "8906D11AC976ABCCB20B091292BFF4EA897EFCB639EA871CFA95F6DE339E4B0A", 1 },
		{ "C90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B14E5C9",
		  "DD308AFEC5777E13121FA72B9CC1B7CC0139715309B086C960E18FD969774EB8",
		  "C87AA53824B4D7AE2EB035A2B5BBBCCC080E76CDC6D1692C4B0B62D798E6D906",
		  "7E2D58D8B3BCDF1ABADEC7829054F90DDA9805AAB56C77333024B9D0A508B75C",
		  "5831AAEED7B44BB74E5EAB94BA9D4294C49BCF2A60728D8B4C200F50DD313C1B"
		  "AB745879A5AD954A72C45A91C3A51D3C7ADEA98D82F8481E0E1E03674A6F3FB7", 1 },
		{ "0B432B2677937381AEF05BB02A66ECD012773062CF3FA2549E44F58ED2401710",
		  "25D1DFF95105F5253C4022F628A996AD3A0D95FBF21D468A1B33F8C160D8F517",
		  "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
		  "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
		  "7EB0509757E246F19449885651611CB965ECC1A187DD51B64FDA1EDC9637D5EC"
		  "97582B9CB13DB3933705B32BA982AF5AF25FD78881EBB32771FC5922EFC66EA3", 1 },
		{ NULL,
		  "D69C3509BB99E412E68B0FE8544E72837DFA30746D8BE2AA65975F29D22DC7B9",
		  NULL,
		  "4DF3C3F68FCC83B27E9D42C90431A72499F17875C81A599B566C9889B9696703",
		  "00000000000000000000003B78CE563F89A0ED9414F5AA28AD0D96D6795F9C63"
		  "76AFB1548AF603B3EB45C9F8207DEE1060CB71C04E80F593060B07D28308D7F4", 1 },
		{ NULL,
		  "EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34",
		  NULL,
		  "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
		  "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
		  "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B", 0 },
		{ NULL,
		  "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
		  NULL,
		  "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
		  "FFF97BD5755EEEA420453A14355235D382F6472F8568A18B2F057A1460297556"
		  "3CC27944640AC607CD107AE10923D9EF7A73C643E166BE5EBEAFA34B1AC553E2", 0 },
		{ NULL,
		  "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
		  NULL,
		  "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
		  "1FA62E331EDBC21C394792D2AB1100A7B432B013DF3F6FF4F99FCB33E0E1515F"
		  "28890B3EDB6E7189B630448B515CE4F8622A954CFE545735AAEA5134FCCDB2BD", 0 },
		{ NULL,
		  "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
		  NULL,
		  "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
		  "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
		  "961764B3AA9B2FFCB6EF947B6887A226E8D7C93E00C5ED0C1834FF0D0C2E6DA6", 0 },
		{ NULL,
		  "778CAA53B4393AC467774D09497A87224BF9FAB6F6E68B23086497324D6FD117",
		  NULL, "",
		  "71535DB165ECD9FBBC046E5FFAEA61186BB6AD436732FCCC25291A55895464CF"
		  "6069CE26BF03466228F19A3A62DB8A649F2D560FAC652827D1AF0574E427AB63", 1 },
		{ NULL,
		  "778CAA53B4393AC467774D09497A87224BF9FAB6F6E68B23086497324D6FD117",
		  NULL, "0102030405060708090A0B0C0D0E0F1011",
		  "5130F39A4059B43BC7CAC09A19ECE52B5D8699D1A71E3C52DA9AFDB6B50AC370"
		  "C4A482B77BF960F8681540E25B6771ECE1E5A37FD80E5A51897C5566A97EA5A5", 1 },
	};
	unsigned char	 sec[32], aux[32], msg[64];
	char		 pub[65], sig[129], lower[129], id[65];
	size_t		 i, j, mlen;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		mlen = strlen(t[i].msg) / 2;
		hex(t[i].msg, msg, mlen);
		for (j = 0; t[i].sig[j] != '\0'; j++)
			lower[j] = (char)(t[i].sig[j] | 0x20);
		lower[j] = '\0';
		assert_int_equal(core_nostr_verify(t[i].pub, msg, mlen, t[i].sig),
		    t[i].ok ? TALLY_OK : TALLY_E_SIGNATURE);
		if (t[i].sec == NULL)
			continue;
		hex(t[i].sec, sec, 32);
		hex(t[i].aux, aux, 32);
		assert_int_equal(core_nostr_pubkey(sec, pub), TALLY_OK);
		for (j = 0; j < 64; j++)
			assert_int_equal(pub[j], t[i].pub[j] | 0x20);
		tohex(msg, 32, id);
		assert_int_equal(core_nostr_sign(sec, id, aux, sig), TALLY_OK);
		assert_string_equal(sig, lower);
	}
	/* A secret of zero is no key. */
	memset(sec, 0, sizeof(sec));
	assert_int_equal(core_nostr_pubkey(sec, pub), TALLY_E_INVALID);
}

/* An event nostr-tools' finalizeEvent signed: id and signature hold;
 * any change breaks them. */
static void
test_event(void **state)
{
	const char	*ev_text = "{\"kind\":23195,\"created_at\":1790000000,"
	    "\"tags\":[[\"p\",\"f9308a019258c31049344f85f89d5229b531c845836f99b"
	    "08601f113bce036f9\"],[\"e\",\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]],\"content\":\"x/y \\\"q\\\" \\n "
	    "\xc3\xa9\",\"pubkey\":\"17162c921dc4d2518f9a101db33695df1afb56ab82f"
	    "5ff3e5da6eec3ca5cd917\",\"id\":\"86e3aee2f4f97c6f5eb150ea9770827c1b"
	    "04eb662d983fc96458c3a86e32be0b\",\"sig\":\"16a4f91439850ada69829e39"
	    "727b01f7771d629868b82f376e5763f0a17bff73681d2d1ed8edf0b46c18bbbb00"
	    "2f6dbab853730935a14d516671757e6c1ceffa\"}";
	json_t		*ev = json_loads(ev_text, 0, NULL);
	char		 id[65];

	(void)state;
	assert_non_null(ev);
	assert_int_equal(core_nostr_event_id(json_string_value(json_object_get(
	    ev, "pubkey")), 1790000000, 23195, json_object_get(ev, "tags"),
	    json_string_value(json_object_get(ev, "content")), id), TALLY_OK);
	assert_string_equal(id, json_string_value(json_object_get(ev, "id")));
	assert_int_equal(core_nostr_event_check(ev), TALLY_OK);
	json_object_set_new(ev, "content", json_string("x/y"));
	assert_int_equal(core_nostr_event_check(ev), TALLY_E_SIGNATURE);
	json_object_set_new(ev, "tags", json_string("no"));
	assert_int_equal(core_nostr_event_check(ev), TALLY_E_INVALID);
	json_decref(ev);
}

#define WALLET_SEC	"7f7ff03d123792d6ac594bfa67bf6d0c0ab55b6b1fdb6249303fe861f1ccba9a"
#define WALLET_PUB	"17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917"
#define CLIENT_SEC	"0000000000000000000000000000000000000000000000000000000000000003"

static void
test_parse(void **state)
{
	static const struct {
		const char *url;
		int rc;
	} t[] = {
		{ "nostr+walletconnect://" WALLET_PUB "?relay=wss%3A%2F%2Frelay."
		  "example.com%2Fv1&secret=" CLIENT_SEC "&lud16=a%40b.c", TALLY_OK },
		{ "nostr+walletconnect://" WALLET_PUB "?secret=" CLIENT_SEC
		  "&relay=ws://127.0.0.1:7000&relay=wss://second", TALLY_OK },
		{ "nostr+walletconnect://" WALLET_PUB "?relay=wss://r", TALLY_E_INVALID },
		{ "nostr+walletconnect://" WALLET_PUB "?secret=" CLIENT_SEC,
		  TALLY_E_INVALID },
		{ "nostr+walletconnect://" WALLET_PUB, TALLY_E_INVALID },
		{ "nostrwalletconnect://" WALLET_PUB "?relay=wss://r&secret="
		  CLIENT_SEC, TALLY_E_INVALID },
		{ "nostr+walletconnect://abc?relay=wss://r&secret=" CLIENT_SEC,
		  TALLY_E_INVALID },
		/* x = 0 is no point of the curve */
		{ "nostr+walletconnect://00000000000000000000000000000000000000"
		  "00000000000000000000000000?relay=wss://r&secret=" CLIENT_SEC,
		  TALLY_E_INVALID },
		{ "nostr+walletconnect://" WALLET_PUB "?relay=https://r&secret="
		  CLIENT_SEC, TALLY_E_INVALID },
		{ "nostr+walletconnect://" WALLET_PUB "?relay=wss://r%20x&secret="
		  CLIENT_SEC, TALLY_E_INVALID },
		{ "nostr+walletconnect://" WALLET_PUB "?relay=wss://r%2&secret="
		  CLIENT_SEC, TALLY_E_INVALID },
		{ "nostr+walletconnect://" WALLET_PUB "?relay=wss://r&secret=00",
		  TALLY_E_INVALID },
		{ "nostr+walletconnect://" WALLET_PUB "?relay=wss://r&secret="
		  "0000000000000000000000000000000000000000000000000000000000000000",
		  TALLY_E_INVALID },
		{ "nostr+walletconnect://" WALLET_PUB "?relay=wss://r&secret="
		  CLIENT_SEC "&secret=" WALLET_SEC, TALLY_E_INVALID },
		{ "", TALLY_E_INVALID },
	};
	struct core_nwc	 c;
	const char	*why;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(core_nwc_parse(t[i].url, &c, &why), t[i].rc);
		if (t[i].rc == TALLY_OK)
			assert_null(why);
		else {
			assert_non_null(why);
			/* The reason never quotes the secret. */
			assert_null(strstr(why, CLIENT_SEC));
			assert_string_equal(c.relay, "");
		}
	}
	assert_int_equal(core_nwc_parse(t[0].url, &c, &why), TALLY_OK);
	assert_string_equal(c.wallet, WALLET_PUB);
	assert_string_equal(c.relay, "wss://relay.example.com/v1");
	assert_string_equal(c.pubkey, "f9308a019258c31049344f85f89d5229b531c8"
	    "45836f99b08601f113bce036f9");
	core_nwc_wipe(&c);
	assert_int_equal(core_nwc_parse(t[1].url, &c, &why), TALLY_OK);
	assert_string_equal(c.relay, "ws://127.0.0.1:7000");
}

static void
test_info(void **state)
{
	json_t	*i;

	(void)state;
	i = json_pack("{s:[[s,s]]}", "tags", "encryption", "nip44_v2 nip04");
	assert_int_equal(core_nwc_info_encryption(i), NWC_NIP44);
	json_decref(i);
	i = json_pack("{s:[[s,s]]}", "tags", "encryption", "nip04");
	assert_int_equal(core_nwc_info_encryption(i), NWC_NIP04);
	json_decref(i);
	i = json_pack("{s:[[s,s]]}", "tags", "encryption", "nip44_v20");
	assert_int_equal(core_nwc_info_encryption(i), NWC_NIP04);
	json_decref(i);
	i = json_pack("{s:[]}", "tags");
	assert_int_equal(core_nwc_info_encryption(i), NWC_NIP04);
	json_decref(i);
}

/* The wallet's side, as NIP-47 has it: decrypt the request, answer. */
static json_t *
wallet_answer(const json_t *req, const char *result_json, int nip44,
    const char *e)
{
	unsigned char	 wsec[32], key[32];
	char		*content = NULL, id[65], sig[129];
	const char	*client = json_string_value(json_object_get(req,
	    "pubkey"));
	json_t		*tags, *ev;

	hex(WALLET_SEC, wsec, 32);
	if (nip44) {
		assert_int_equal(core_nip44_conversation_key(wsec, client, key),
		    TALLY_OK);
		assert_int_equal(core_nip44_encrypt(key, NULL, result_json,
		    strlen(result_json), &content), TALLY_OK);
	} else {
		assert_int_equal(core_nostr_ecdh(wsec, client, key), TALLY_OK);
		assert_int_equal(core_nip04_encrypt(key, NULL, result_json,
		    strlen(result_json), &content), TALLY_OK);
	}
	tags = json_pack("[[s,s],[s,s]]", "p", client, "e", e);
	assert_int_equal(core_nostr_event_id(WALLET_PUB, 1790000001, 23195,
	    tags, content, id), TALLY_OK);
	assert_int_equal(core_nostr_sign(wsec, id, NULL, sig), TALLY_OK);
	ev = json_pack("{s:s,s:s,s:i,s:i,s:o,s:s,s:s}", "id", id, "pubkey",
	    WALLET_PUB, "created_at", 1790000001, "kind", 23195, "tags", tags,
	    "content", content, "sig", sig);
	free(content);
	return ev;
}

static void
test_pay_round_trip(void **state)
{
	struct core_nwc	 c;
	struct core_nwc_result r;
	const char	*why, *rid;
	unsigned char	 wsec[32], key[32];
	json_t		*req, *ans, *body;
	char		*plain;
	size_t		 len;
	int		 nip44;

	(void)state;
	hex(WALLET_SEC, wsec, 32);
	assert_int_equal(core_nwc_parse("nostr+walletconnect://" WALLET_PUB
	    "?relay=ws://127.0.0.1:1&secret=" CLIENT_SEC, &c, &why), TALLY_OK);
	for (nip44 = 0; nip44 <= 1; nip44++) {
		assert_int_equal(core_nwc_pay_request(&c, "lnbcrt500n1xyz",
		    1790000000, nip44 ? NWC_NIP44 : NWC_NIP04, &req), TALLY_OK);
		assert_int_equal(core_nostr_event_check(req), TALLY_OK);
		assert_int_equal(json_integer_value(json_object_get(req, "kind")),
		    23194);
		rid = json_string_value(json_object_get(req, "id"));
		/* The wallet decrypts it with its own secret. */
		if (nip44) {
			assert_int_equal(core_nip44_conversation_key(wsec,
			    c.pubkey, key), TALLY_OK);
			assert_int_equal(core_nip44_decrypt(key,
			    json_string_value(json_object_get(req, "content")),
			    &plain, &len), TALLY_OK);
		} else {
			assert_int_equal(core_nostr_ecdh(wsec, c.pubkey, key),
			    TALLY_OK);
			assert_int_equal(core_nip04_decrypt(key,
			    json_string_value(json_object_get(req, "content")),
			    &plain, &len), TALLY_OK);
		}
		body = json_loads(plain, 0, NULL);
		free(plain);
		assert_string_equal(json_string_value(json_object_get(body,
		    "method")), "pay_invoice");
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(body, "params"), "invoice")), "lnbcrt500n1xyz");
		json_decref(body);

		ans = wallet_answer(req, "{\"result_type\":\"pay_invoice\","
		    "\"result\":{\"preimage\":\"00ff\"}}", nip44, rid);
		assert_int_equal(core_nwc_read_response(&c, ans, rid, &r),
		    TALLY_OK);
		assert_true(r.ok);
		assert_string_equal(r.preimage, "00ff");
		json_decref(ans);

		ans = wallet_answer(req, "{\"result_type\":\"pay_invoice\","
		    "\"error\":{\"code\":\"INSUFFICIENT_BALANCE\",\"message\":"
		    "\"not enough sats\"}}", nip44, rid);
		assert_int_equal(core_nwc_read_response(&c, ans, rid, &r),
		    TALLY_OK);
		assert_false(r.ok);
		assert_string_equal(r.code, "INSUFFICIENT_BALANCE");
		assert_string_equal(r.message, "not enough sats");
		/* An answer to another request is not ours... */
		assert_int_equal(core_nwc_read_response(&c, ans, "bb", &r),
		    TALLY_E_NOTFOUND);
		/* ...and a changed one is not believed. */
		json_object_set_new(ans, "created_at", json_integer(1));
		assert_int_equal(core_nwc_read_response(&c, ans, rid, &r),
		    TALLY_E_SIGNATURE);
		json_decref(ans);
		json_decref(req);
	}
	core_nwc_wipe(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conversation_keys),
		cmocka_unit_test(test_message_keys),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_encrypt_decrypt),
		cmocka_unit_test(test_long_messages),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_nip04),
		cmocka_unit_test(test_bip340),
		cmocka_unit_test(test_event),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_pay_round_trip),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
