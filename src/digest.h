/**
 * @file digest.h  Digest mechanics shared by auth.c and digest.c
 *
 * Copyright (C) 2026 The sipstub authors
 */


enum digest_alg {
	ALG_MD5 = 0,
	ALG_SHA256,
};

enum {
	DIGEST_NONCE_LEN = 16 + 8 + 32,  /* hex: time, counter, MAC */
	DIGEST_HEX_MAX = 64,             /* hex digits of SHA-256   */
};

/** What a credential header says (RFC 7616 3.4) */
struct digest_cred {
	struct pl username, realm, nonce, uri, response;
	struct pl algorithm, cnonce, nc, qop, opaque;
};

struct nonces;

int  digest_nonces_alloc(struct nonces **np);
void digest_nonce_make(struct nonces *n, char *nonce);
bool digest_nonce_valid(const struct nonces *n, const struct pl *nonce,
			uint64_t *tsp);
bool digest_nc_accept(struct nonces *n, const struct pl *nonce,
		      uint64_t ts, uint32_t nc, uint32_t ttl);
int  digest_cred_decode(struct digest_cred *c, const struct pl *hval);
int  digest_response_calc(char *hex, enum digest_alg alg,
			  const struct digest_cred *c, const char *pass,
			  const struct sip_msg *msg);
bool digest_response_equal(const char *want, const struct pl *got);
