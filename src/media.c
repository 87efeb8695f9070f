/**
 * @file media.c  SDP offer/answer of one call (RFC 3264), SDES keys
 *                (RFC 4568); the stream itself is rtp.c's
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <stdlib.h>
#include <sipstub.h>

#define DEBUG_MODULE "media"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	PTIME_DEFAULT = 20,
	PTIME_MIN = 10,
	PTIME_MAX = 120,   /* ms; a G.711 packet stays under 1000 bytes */
};

struct media {
	struct sdp_session *sdp;
	struct sdp_media *sm;
	struct rtp *rtp;
	struct srtpc *srtp;
	char *suite;        /* SDES suite in use */
	char *lkey;         /* our key, base64   */
	char *rkey;         /* the peer's        */
	bool protos;        /* SAVP and AVPF allowed */
};

/* What a crypto line offers (RFC 4568 9.1) */
struct crypto {
	struct pl tag, suite, key;
	bool found;
};


static const struct rtp_cfg echo_cfg = {.mode = RTP_ECHO};


static void media_destructor(void *arg)
{
	struct media *m = arg;

	mem_deref(m->sm);
	mem_deref(m->sdp);
	mem_deref(m->rtp);
	mem_deref(m->srtp);
	mem_deref(m->suite);
	mem_deref(m->lkey);
	mem_deref(m->rkey);
}


/**
 * Allocate the media of one call: its RTP/RTCP ports and its SDP
 *
 * @param mp    Media, set on success
 * @param laddr Local IP address for RTP and the SDP c= line
 *
 * @return 0 if success, otherwise errorcode
 */
int media_alloc(struct media **mp, const struct sa *laddr)
{
	struct media *m;
	int err;

	if (!mp || !laddr)
		return EINVAL;

	m = mem_zalloc(sizeof(*m), media_destructor);
	if (!m)
		return ENOMEM;

	err = rtp_call_alloc(&m->rtp, laddr);
	if (err)
		goto out;

	err = sdp_session_alloc(&m->sdp, laddr);
	if (err)
		goto out;

	err = sdp_media_add(&m->sm, m->sdp, "audio", rtp_port(m->rtp),
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



/* RFC 3264 5.1 and 6.1: payload types, ptime, address and direction
 * of what we send, as the SDP says */
static void peer_get(const struct media *m, struct rtp_peer *p)
{
	const char *v;
	struct le *le;
	uint32_t pt;

	memset(p, 0, sizeof(*p));
	p->pt = -1;
	p->telev_pt = -1;
	p->addr = *sdp_media_raddr(m->sm);
	sdp_media_raddr_rtcp(m->sm, &p->rtcp);

	LIST_FOREACH(sdp_media_format_lst(m->sm, false), le) {
		const struct sdp_format *f = le->data;

		if (!f->sup || !f->name)
			continue;

		if (p->pt < 0 && (!str_casecmp(f->name, "PCMU") ||
				  !str_casecmp(f->name, "PCMA"))) {
			p->pt = f->pt;
			p->pcma = !str_casecmp(f->name, "PCMA");
		}
		else if (p->telev_pt < 0 &&
			 !str_casecmp(f->name, "telephone-event")) {
			p->telev_pt = f->pt;
		}
	}

	v = sdp_media_session_rattr(m->sm, m->sdp, "ptime");
	pt = v ? (uint32_t)atoi(v) : 0;
	p->ptime = (pt >= PTIME_MIN && pt <= PTIME_MAX) ? pt : PTIME_DEFAULT;

	p->send = (sdp_media_dir(m->sm) & SDP_SENDONLY) != 0;

	/* RFC 5761 5.1.1: rtcp-mux offered, rtcp-mux answered */
	p->mux = sdp_media_rattr(m->sm, "rtcp-mux") != NULL;
}


static bool is_savp(const struct media *m)
{
	const char *proto = sdp_media_proto(m->sm);

	return !strcmp(proto, "RTP/SAVP") || !strcmp(proto, "RTP/SAVPF");
}


/* RFC 4568 9.1: "tag suite inline:key|lifetime|MKI:len [params]";
 * sipstub takes neither an MKI nor session parameters */
static bool crypto_handler(const char *name, const char *value, void *arg)
{
	struct crypto *c = arg;
	struct pl tag, suite, key, rest, sess;
	char sname[32];
	(void)name;

	if (re_regex(value, str_len(value),
		     "[0-9]+[ ]+[^ ]+[ ]+inline:[^|; ]+[^ ]*[^]*",
		     &tag, NULL, &suite, NULL, &key, &rest, &sess))
		return false;

	if (pl_strchr(&rest, ':') || pl_strchr(&rest, ';') ||
	    re_regex(sess.p, sess.l, "[^ \t\r\n]+", NULL) == 0)
		return false;

	if (suite.l >= sizeof(sname))
		return false;
	(void)pl_strcpy(&suite, sname, sizeof(sname));

	if (!srtpc_suite_supported(sname))
		return false;

	c->tag = tag;
	c->suite = suite;
	c->key = key;
	c->found = true;

	return true;   /* the first the offer lists */
}


/* A new SRTP context when the suite or the peer's key change */
static int crypto_answer(struct media *m, const struct crypto *c)
{
	struct srtpc *s = NULL;
	int err;

	if (m->srtp && !pl_strcmp(&c->suite, m->suite) &&
	    !pl_strcmp(&c->key, m->rkey))
		goto attr;

	if (!m->suite || pl_strcmp(&c->suite, m->suite)) {
		m->suite = mem_deref(m->suite);
		m->lkey = mem_deref(m->lkey);
		err = pl_strdup(&m->suite, &c->suite);
		if (!err)
			err = srtpc_key_make(&m->lkey, m->suite);
		if (err)
			return err;
	}

	m->rkey = mem_deref(m->rkey);
	err = pl_strdup(&m->rkey, &c->key);
	if (!err)
		err = srtpc_alloc(&s, m->suite, m->lkey, m->rkey);
	if (err)
		return err;

	mem_deref(m->srtp);
	m->srtp = s;

 attr:
	return sdp_media_set_lattr(m->sm, true, "crypto", "%r %s inline:%s",
				   &c->tag, m->suite, m->lkey);
}


/* RFC 3264 6: whether we can take the offer; why not, for a Warning
 * (RFC 3261 20.43) */
static int offer_check(struct media *m, enum srtp_use use, struct crypto *c,
		       const char **whyp)
{
	const bool savp = is_savp(m);

	memset(c, 0, sizeof(*c));

	if (!sdp_media_rport(m->sm) || !sdp_media_rformat(m->sm, NULL)) {
		*whyp = "305 sipstub \"Incompatible media format\"";
		return ENOTSUP;
	}

	if (use == SRTP_USE_REQUIRED && !savp) {
		*whyp = "399 sipstub \"SRTP required\"";
		return ENOTSUP;
	}

	if (use == SRTP_USE_REFUSED && savp) {
		*whyp = "302 sipstub \"Incompatible transport protocol\"";
		return ENOTSUP;
	}

	if (savp) {
		(void)sdp_media_rattr_apply(m->sm, "crypto", crypto_handler,
					    c);
		if (!c->found) {
			*whyp = "306 sipstub \"Attribute not understood: "
				"no supported crypto suite\"";
			return ENOTSUP;
		}
	}

	return 0;
}


/* The answer's attributes and the stream, from a checked offer */
static int offer_take(struct media *m, const struct crypto *c)
{
	struct rtp_peer peer;
	int err = 0;

	peer_get(m, &peer);

	if (c->found) {
		err = crypto_answer(m, c);
	}
	else {
		sdp_media_del_lattr(m->sm, "crypto");
		m->srtp = mem_deref(m->srtp);
	}

	if (peer.mux)
		err |= sdp_media_set_lattr(m->sm, true, "rtcp-mux", NULL);
	else
		sdp_media_del_lattr(m->sm, "rtcp-mux");

	/* RFC 4566 6: ptime is a hint; the offer's is kept */
	if (sdp_media_session_rattr(m->sm, m->sdp, "ptime"))
		err |= sdp_media_set_lattr(m->sm, true, "ptime", "%u",
					   peer.ptime);
	else
		sdp_media_del_lattr(m->sm, "ptime");
	if (err)
		return err;

	rtp_update(m->rtp, &peer, m->srtp);

	return 0;
}


/* RFC 3264 6: the answer takes the offer's profile. The other profiles
 * are set up only for an offer that names one: a plain RTP/AVP call
 * does without. */
static int protos_allow(struct media *m, const struct mbuf *offer)
{
	const void *p = mbuf_buf(offer);
	const size_t n = mbuf_get_left(offer);

	if (m->protos || (!memmem(p, n, "RTP/SAVP", 8) &&
			  !memmem(p, n, "RTP/AVPF", 8)))
		return 0;

	m->protos = true;

	return sdp_media_set_alt_protos(m->sm, 4, "RTP/AVP", "RTP/AVPF",
					"RTP/SAVP", "RTP/SAVPF");
}


/**
 * Answer an SDP offer
 *
 * @param m     Media
 * @param offer The offer (a request body)
 * @param use   SRTP: as offered, required or refused
 * @param mbp   The answer, set on success
 * @param whyp  On ENOTSUP, a Warning value (RFC 3261 20.43)
 *
 * @return 0 if success, EBADMSG if the offer is not valid SDP, ENOTSUP
 *         if it has no stream we accept (RFC 3261 13.3.1.3: 488)
 */
int media_answer(struct media *m, struct mbuf *offer, enum srtp_use use,
		 struct mbuf **mbp, const char **whyp)
{
	struct crypto c;
	int err;

	if (!m || !offer || !mbp || !whyp)
		return EINVAL;

	err = protos_allow(m, offer);
	if (err)
		return err;

	err = sdp_decode_tolerant(m->sdp, offer, true);
	if (err)
		return err;

	err = offer_check(m, use, &c, whyp);
	if (err)
		return err;

	err = offer_take(m, &c);
	if (err)
		return err;

	return sdp_encode(mbp, m->sdp, false);
}


/**
 * Our offer, for an INVITE without SDP (RFC 3261 13.2.1: the answer
 * comes in the ACK); plain RTP/AVP
 */
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
	struct rtp_peer peer;
	int err;

	if (!m || !answer)
		return EINVAL;

	err = sdp_decode_tolerant(m->sdp, answer, false);
	if (err)
		return err;

	peer_get(m, &peer);
	rtp_update(m->rtp, &peer, NULL);

	return 0;
}


/**
 * Start the stream at a 183 or 2xx that carries our SDP
 *
 * @param m   Media
 * @param cfg What to play, NULL for echo
 * @param tqs Timer queues (pacing)
 * @param el  Event log
 * @param msg The INVITE (its Call-ID names the call in events)
 */
void media_start(struct media *m, const struct rtp_cfg *cfg,
		 struct tqs *tqs, struct evlog *el, const struct sip_msg *msg)
{
	if (!m || !msg)
		return;

	rtp_start(m->rtp, cfg ? cfg : &echo_cfg, tqs, el, &msg->callid);
}


/** Who ends the call when a file played with hangup-at-end is over */
void media_set_endh(struct media *m, media_end_h *endh, void *arg)
{
	if (m)
		rtp_set_endh(m->rtp, endh, arg);
}
