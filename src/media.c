/**
 * @file media.c  SDP offer/answer and the RTP socket of one call
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "media"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	RTP_PORT_MIN = 10000,
	RTP_PORT_MAX = 59998,
	RTP_BIND_TRIES = 32,
};

struct media {
	struct sdp_session *sdp;
	struct sdp_media *sm;
	struct udp_sock *rtp;
	uint64_t rx_packets;
};


static void media_destructor(void *arg)
{
	struct media *m = arg;

	mem_deref(m->sm);
	mem_deref(m->sdp);
	mem_deref(m->rtp);
}


static void rtp_recv_handler(const struct sa *src, struct mbuf *mb,
			     void *arg)
{
	struct media *m = arg;
	(void)src;
	(void)mb;

	++m->rx_packets;
}


/* RFC 3550 11: RTP on an even port. The ports are taken in turn from
 * a random start: calls end roughly in the order they began, so the
 * next port is most likely free, and no random draw per call. */
static int rtp_bind(struct media *m, const struct sa *laddr)
{
	static const uint16_t span = (RTP_PORT_MAX - RTP_PORT_MIN) / 2 + 1;
	static uint16_t next = UINT16_MAX;
	struct sa a = *laddr;
	int i, err = EADDRINUSE;

	if (next == UINT16_MAX)
		next = rand_u16() % span;

	for (i = 0; i < RTP_BIND_TRIES && err; i++) {
		sa_set_port(&a, RTP_PORT_MIN + 2 * next);
		next = (next + 1) % span;
		err = udp_listen(&m->rtp, &a, rtp_recv_handler, m);
	}

	return err;
}


/**
 * Allocate the media of one call: an RTP socket and its SDP
 *
 * @param mp    Media, set on success
 * @param laddr Local IP address for RTP and the SDP c= line
 *
 * @return 0 if success, otherwise errorcode
 */
int media_alloc(struct media **mp, const struct sa *laddr)
{
	struct media *m;
	struct sa rtpa;
	int err;

	if (!mp || !laddr)
		return EINVAL;

	m = mem_zalloc(sizeof(*m), media_destructor);
	if (!m)
		return ENOMEM;

	err = rtp_bind(m, laddr);
	if (err)
		goto out;

	err = udp_local_get(m->rtp, &rtpa);
	if (err)
		goto out;

	err = sdp_session_alloc(&m->sdp, laddr);
	if (err)
		goto out;

	err = sdp_media_add(&m->sm, m->sdp, "audio", sa_port(&rtpa),
			    "RTP/AVP");
	if (err)
		goto out;

	err |= sdp_format_add(NULL, m->sm, false, "0", "PCMU", 8000, 1,
			      NULL, NULL, NULL, false, NULL);
	err |= sdp_format_add(NULL, m->sm, false, "8", "PCMA", 8000, 1,
			      NULL, NULL, NULL, false, NULL);
	err |= sdp_format_add(NULL, m->sm, false, "101", "telephone-event",
			      8000, 1, NULL, NULL, NULL, false, "0-15");

 out:
	if (err)
		mem_deref(m);
	else
		*mp = m;

	return err;
}


/*
 * RFC 4475 3.1.1.3 and 3.1.1.7: valid requests whose offer has
 * "a=rtpmap:31 LPC", without the clock rate RFC 4566 6 requires, which
 * sdp_decode() rejects as a whole. Such a line is left out: an attribute
 * not understood is ignored (RFC 4566 5.13), payload types 0-95 are
 * static (RFC 3551 6), and a dynamic one left without a name matches no
 * codec of ours.
 */
static int sdp_tolerant(struct mbuf **mbp, const struct mbuf *sdp)
{
	struct pl body, line, val;
	struct mbuf *mb;
	int err = 0;

	body.p = (const char *)mbuf_buf(sdp);
	body.l = mbuf_get_left(sdp);

	mb = mbuf_alloc(body.l + 1);
	if (!mb)
		return ENOMEM;

	while (body.l && !err) {
		const char *eol = pl_strchr(&body, '\n');

		line.p = body.p;
		line.l = eol ? (size_t)(eol + 1 - body.p) : body.l;
		pl_advance(&body, line.l);

		if (line.l > 9 && !memcmp(line.p, "a=rtpmap:", 9)) {
			val.p = line.p + 9;
			val.l = line.l - 9;
			if (re_regex(val.p, val.l, "[^ ]+ [^/\r\n]+/[0-9]+",
				     NULL, NULL, NULL))
				continue;
		}

		err = mbuf_write_pl(mb, &line);
	}

	if (err) {
		mem_deref(mb);
		return err;
	}

	mb->pos = 0;
	*mbp = mb;

	return 0;
}


static int sdp_decode_tolerant(struct sdp_session *sess,
			       const struct mbuf *sdp, bool offer)
{
	struct mbuf *mb;
	int err;

	err = sdp_tolerant(&mb, sdp);
	if (err)
		return err;

	err = sdp_decode(sess, mb, offer);
	mem_deref(mb);

	return err ? EBADMSG : 0;
}


/**
 * Answer an SDP offer
 *
 * @param m     Media
 * @param offer The offer (a request or ACK body)
 * @param mbp   The answer, set on success
 *
 * @return 0 if success, EBADMSG if the offer is not valid SDP
 */
int media_answer(struct media *m, struct mbuf *offer, struct mbuf **mbp)
{
	int err;

	if (!m || !offer || !mbp)
		return EINVAL;

	err = sdp_decode_tolerant(m->sdp, offer, true);
	if (err)
		return err;

	return sdp_encode(mbp, m->sdp, false);
}


int media_offer(struct media *m, struct mbuf **mbp)
{
	if (!m || !mbp)
		return EINVAL;

	return sdp_encode(mbp, m->sdp, true);
}


/**
 * An offer in a direction: hold (sendonly) or resume (sendrecv), RFC
 * 3264 8.4; each offer is a new session version (sdp_encode() counts)
 *
 * @param m   Media
 * @param dir Our direction from now on
 * @param mbp The offer, set on success
 *
 * @return 0 if success, otherwise errorcode
 */
int media_offer_dir(struct media *m, enum sdp_dir dir, struct mbuf **mbp)
{
	if (!m || !mbp)
		return EINVAL;

	sdp_media_set_ldir(m->sm, dir);

	return sdp_encode(mbp, m->sdp, true);
}


/**
 * Take the answer to our offer (from the ACK or a PRACK)
 */
int media_remote_answer(struct media *m, struct mbuf *answer)
{
	if (!m || !answer)
		return EINVAL;

	return sdp_decode_tolerant(m->sdp, answer, false);
}


/** True if the peer's SDP has a codec in common with ours */
bool media_has_common(const struct media *m)
{
	return m && sdp_media_rport(m->sm) &&
		sdp_media_rformat(m->sm, NULL) != NULL;
}
