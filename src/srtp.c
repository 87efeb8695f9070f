/**
 * @file srtp.c  SRTP and SRTCP of one call with libsrtp2, SDES keys
 *
 * One libsrtp2 session sends with sipstub's key, another receives with
 * the peer's (RFC 4568 6.1: each side keys what it sends). A packet
 * that fails authentication or replays is refused (EAUTH, EALREADY).
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sys/random.h>
#include <srtp2/srtp.h>
#include <sipstub.h>

#define DEBUG_MODULE "srtp"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	KEY_MAX = 46,      /* AES-256 key and salt */
	TRAILER = SRTP_MAX_TRAILER_LEN,
};

struct suite {
	const char *name;
	size_t keylen;     /* master key and salt, bytes */
	void (*rtp)(srtp_crypto_policy_t *p);
	void (*rtcp)(srtp_crypto_policy_t *p);
};

struct srtpc {
	srtp_t tx;
	srtp_t rx;
};

/* RFC 4568 6.2 (SRTCP keeps the 80-bit tag with the _32 suite) and
 * RFC 7714 14.2, in sipstub's order of preference */
static const struct suite suites[] = {
	{"AES_CM_128_HMAC_SHA1_80", 30,
	 srtp_crypto_policy_set_rtp_default,
	 srtp_crypto_policy_set_rtcp_default},
	{"AES_CM_128_HMAC_SHA1_32", 30,
	 srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32,
	 srtp_crypto_policy_set_rtcp_default},
	{"AEAD_AES_128_GCM", 28,
	 srtp_crypto_policy_set_aes_gcm_128_16_auth,
	 srtp_crypto_policy_set_aes_gcm_128_16_auth},
	{"AEAD_AES_256_GCM", 44,
	 srtp_crypto_policy_set_aes_gcm_256_16_auth,
	 srtp_crypto_policy_set_aes_gcm_256_16_auth},
};


static int errno_of(srtp_err_status_t st)
{
	switch (st) {

	case srtp_err_status_ok:          return 0;
	case srtp_err_status_bad_param:   return EINVAL;
	case srtp_err_status_alloc_fail:  return ENOMEM;
	case srtp_err_status_auth_fail:   return EAUTH;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:  return EALREADY;
	default:                          return EPROTO;
	}
}


static const struct suite *suite_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < ARRAY_SIZE(suites); ++i) {
		if (!strcmp(suites[i].name, name))
			return &suites[i];
	}

	return NULL;
}


static void srtpc_destructor(void *arg)
{
	struct srtpc *s = arg;

	if (s->tx)
		(void)srtp_dealloc(s->tx);
	if (s->rx)
		(void)srtp_dealloc(s->rx);
}


static int session_make(srtp_t *sp, const struct suite *su, const char *key,
			bool tx)
{
	uint8_t raw[KEY_MAX + 2];
	size_t len = sizeof(raw);
	srtp_policy_t pol;
	int err;

	err = base64_decode(key, str_len(key), raw, &len);
	if (err || len != su->keylen)
		return EBADMSG;

	memset(&pol, 0, sizeof(pol));
	su->rtp(&pol.rtp);
	su->rtcp(&pol.rtcp);
	pol.ssrc.type = tx ? ssrc_any_outbound : ssrc_any_inbound;
	pol.key = raw;
	pol.window_size = 128;

	return errno_of(srtp_create(sp, &pol));
}


/**
 * An SRTP context: send with our key, receive with the peer's
 *
 * @param sp    Context, set on success
 * @param suite RFC 4568 crypto-suite name
 * @param lkey  Our key and salt, base64
 * @param rkey  The peer's key and salt, base64
 *
 * @return 0 if success, ENOTSUP for an unknown suite, EBADMSG for a key
 *         of the wrong size, otherwise errorcode
 */
int srtpc_alloc(struct srtpc **sp, const char *suite, const char *lkey,
		const char *rkey)
{
	static bool inited;
	const struct suite *su = suite_find(suite);
	struct srtpc *s;
	int err;

	if (!sp || !lkey || !rkey)
		return EINVAL;

	if (!su)
		return ENOTSUP;

	if (!inited) {
		err = errno_of(srtp_init());
		if (err)
			return err;
		inited = true;
	}

	s = mem_zalloc(sizeof(*s), srtpc_destructor);
	if (!s)
		return ENOMEM;

	err = session_make(&s->tx, su, lkey, true);
	if (!err)
		err = session_make(&s->rx, su, rkey, false);

	if (err)
		mem_deref(s);
	else
		*sp = s;

	return err;
}


/** True if sipstub does this RFC 4568 crypto-suite */
bool srtpc_suite_supported(const char *suite)
{
	return suite_find(suite) != NULL;
}


/**
 * A fresh random master key and salt for a suite, base64
 */
int srtpc_key_make(char **keyp, const char *suite)
{
	const struct suite *su = suite_find(suite);
	uint8_t raw[KEY_MAX];
	char b64[2 * KEY_MAX];
	size_t len = sizeof(b64);
	int err;

	if (!keyp || !su)
		return EINVAL;

	if (getrandom(raw, su->keylen, 0) != (ssize_t)su->keylen)
		return errno ? errno : EIO;

	err = base64_encode(raw, su->keylen, b64, &len);
	if (err)
		return err;

	return re_sdprintf(keyp, "%b", b64, len);
}


/**
 * Encrypt and authenticate an RTP or RTCP packet in place
 *
 * @param s    Context
 * @param mb   The packet from mb->pos; grows by the tag
 * @param rtcp True for RTCP
 *
 * @return 0 if success, otherwise errorcode
 */
int srtpc_protect(struct srtpc *s, struct mbuf *mb, bool rtcp)
{
	size_t pos;
	int len, err;

	if (!s || !mb)
		return EINVAL;

	pos = mb->pos;
	len = (int)mbuf_get_left(mb);

	err = mbuf_resize(mb, pos + len + TRAILER);
	if (err)
		return err;

	err = errno_of(rtcp ? srtp_protect_rtcp(s->tx, mbuf_buf(mb), &len) :
		       srtp_protect(s->tx, mbuf_buf(mb), &len));
	if (err)
		return err;

	mb->end = pos + len;

	return 0;
}


/**
 * Check and decrypt an SRTP or SRTCP packet in place
 *
 * @return 0 if success, EAUTH if it fails authentication, EALREADY for
 *         a replay, otherwise errorcode
 */
int srtpc_unprotect(struct srtpc *s, struct mbuf *mb, bool rtcp)
{
	int len, err;

	if (!s || !mb)
		return EINVAL;

	len = (int)mbuf_get_left(mb);
	if (len < RTP_HEADER_SIZE)
		return EBADMSG;

	err = errno_of(rtcp ? srtp_unprotect_rtcp(s->rx, mbuf_buf(mb), &len) :
		       srtp_unprotect(s->rx, mbuf_buf(mb), &len));
	if (err)
		return err;

	mb->end = mb->pos + len;

	return 0;
}
