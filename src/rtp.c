/**
 * @file rtp.c  The RTP/RTCP stream of one call: echo, tone, file,
 *              silence or none, DTMF received, statistics
 *
 * Until its first packet a call holds only its RTP port, one socket: a
 * held call without media costs what it did before RTP was sent. At the
 * first packet (or the first packet to send) the port is bound again as
 * libre's rtp_sock with the RTCP port next to it, which sends, receives
 * and keeps RTCP (SR/RR, loss, jitter); SRTP sits under it as a UDP
 * helper. Packets go out every ptime on sipstub's timer queues: an echo
 * is queued on arrival and sent at the next tick, with sipstub's own
 * SSRC, sequence numbers and timestamps, to where the RTP comes from
 * (symmetric RTP). Nothing ticks while an echo has nothing to send.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <math.h>
#include <sys/socket.h>
#include <sipstub.h>

#define DEBUG_MODULE "rtp"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	ECHO_SLOTS = 8,         /* packets queued for the echo   */
	SLOT_MAX = 1200,        /* bytes of payload per packet   */
	DIGITS_MAX = 64,        /* DTMF digits kept for the media event */
	TONE_AMP = 8000,
	SRATE = 8000,
	UDP_LAYER = 10,         /* SRTP helper: under the RTP layer */
	PENDING_MAX = 16,       /* queued datagrams kept across live() */
	DGRAM_MAX = 2048,
};

struct slot {
	uint16_t len;
	uint8_t pt;
	uint8_t data[SLOT_MAX];
};

struct ports {
	uint16_t min, max;      /* even min, max >= min + 1 */
	uint32_t next;          /* pair index tried next    */
	bool set;
};

/* What a call has once its media flows (see live()) */
struct live {
	struct rtp_sock *rs;    /* the RTP port, with RTCP next to it */
	struct udp_helper *uh_rtp;
	struct udp_helper *uh_rtcp;
	struct tqent tick;
	struct telev *telev;
	struct mbuf *txmb;
	struct slot *slots;     /* echo queue, made at the first packet */
	char *digits;           /* made at the first digit */
	uint64_t rxp, rxb, txp, txb;
	uint64_t last_tx;       /* jiffies */
	uint32_t srtp_fail;
	uint32_t ssrc;          /* the peer's */
	uint32_t ts;
	size_t pos;             /* samples played (tone, file) */
	unsigned qh, qn;
	unsigned ndigits;
	bool rtcp_on;
	bool marker;
};

struct rtp {
	struct udp_sock *us;    /* the RTP port until the media flows */
	struct live *lv;        /* from then on */
	struct sa laddr;
	struct sa dst;
	struct srtpc *srtp;
	struct rtp_peer peer;
	const struct rtp_cfg *cfg;   /* the scenario's, outlives calls */
	struct tqs *tqs;
	struct evlog *el;
	media_end_h *endh;
	void *arg;
	char *callid;
	bool started;
	bool ended;
};


/* --rtp-ports: a process-wide setting, like the port turn it keeps */
static struct ports ports = {10000, 59999, 0, false};


static void live_destructor(void *arg)
{
	struct live *lv = arg;

	tq_cancel(&lv->tick);
	mem_deref(lv->uh_rtp);
	mem_deref(lv->uh_rtcp);
	mem_deref(lv->rs);
	mem_deref(lv->telev);
	mem_deref(lv->txmb);
	mem_deref(lv->slots);
	mem_deref(lv->digits);
}


static void rtp_destructor(void *arg);
static void tick_handler(void *arg);
static void plain_recv(const struct sa *src, struct mbuf *mb, void *arg);
static int helpers_add(struct rtp *r);


/**
 * Set the RTP port range (--rtp-ports MIN-MAX)
 *
 * @param spec "MIN-MAX", 1024..65535, at least one even/odd pair
 *
 * @return 0 if success, EINVAL if malformed
 */
int rtp_ports_set(const char *spec)
{
	struct pl a, b;
	uint32_t min, max;

	if (!spec || re_regex(spec, strlen(spec), "[0-9]+-[0-9]+", &a, &b) ||
	    a.p != spec || b.p + b.l != spec + strlen(spec))
		return EINVAL;

	min = pl_u32(&a);
	max = pl_u32(&b);
	min += min & 1;   /* RFC 3550 11: RTP on an even port */

	if (a.l > 5 || b.l > 5 || min < 1024 || max > 65535 || max < min + 1)
		return EINVAL;

	ports.min  = (uint16_t)min;
	ports.max  = (uint16_t)max;
	ports.next = 0;
	ports.set  = true;

	return 0;
}


static bool is_rtcp(const struct mbuf *mb)
{
	uint8_t pt;

	if (mbuf_get_left(mb) < 2)
		return false;

	/* RFC 5761 4: RTCP packet types 192-223 fold onto PT 64-95 */
	pt = mbuf_buf(mb)[1] & 0x7f;

	return pt >= 64 && pt <= 95;
}


static bool srtp_send_h(int *err, struct sa *dst, struct mbuf *mb,
			void *arg)
{
	struct rtp *r = arg;
	(void)dst;

	if (!r->srtp)
		return false;

	*err = srtpc_protect(r->srtp, mb, is_rtcp(mb));

	return *err != 0;
}


/* RFC 3711 3.3: a packet that fails authentication or replays is
 * discarded; it is counted, never echoed */
static bool srtp_recv_h(struct sa *src, struct mbuf *mb, void *arg)
{
	struct rtp *r = arg;
	(void)src;

	if (!r->srtp)
		return false;

	if (srtpc_unprotect(r->srtp, mb, is_rtcp(mb))) {
		++r->lv->srtp_fail;
		return true;
	}

	return false;
}


static void digit_recv(struct rtp *r, struct mbuf *mb)
{
	struct live *lv = r->lv;
	uint32_t dur;
	int event, digit;
	bool end;

	if (!lv->telev && telev_alloc(&lv->telev, TELEV_PTIME))
		return;

	/* RFC 4733 2.3: event, E/R/volume, duration in timestamp units */
	if (mbuf_get_left(mb) < 4)
		return;
	dur = (uint32_t)mbuf_buf(mb)[2] << 8 | mbuf_buf(mb)[3];

	if (telev_recv(lv->telev, mb, &event, &end) || !end)
		return;

	digit = telev_code2digit(event);
	if (digit < 0)
		return;

	if (!lv->digits)
		lv->digits = mem_zalloc(DIGITS_MAX + 1, NULL);
	if (lv->digits && lv->ndigits < DIGITS_MAX)
		lv->digits[lv->ndigits++] = (char)digit;

	evlog_event(r->el, "dtmf", NULL, ",\"call_id\":\"%s\",\"digit\":"
		    "\"%c\",\"duration\":%u", r->callid, digit,
		    dur * 1000 / SRATE);
}


static bool sending(const struct rtp *r)
{
	return r->started && r->peer.send && r->peer.pt >= 0 &&
		sa_isset(&r->dst, SA_ALL) && r->cfg->mode != RTP_NONE;
}


static void rtcp_begin(struct rtp *r)
{
	struct live *lv = r->lv;

	if (lv->rtcp_on || r->cfg->mode == RTP_NONE)
		return;

	lv->rtcp_on = true;
	rtcp_enable_mux(lv->rs, r->peer.mux);
	rtcp_start(lv->rs, "sipstub",
		   r->peer.mux || !sa_isset(&r->peer.rtcp, SA_ALL) ?
		   &r->dst : &r->peer.rtcp);
}


static void echo_queue(struct rtp *r, const struct rtp_header *hdr,
		       struct mbuf *mb)
{
	struct live *lv = r->lv;
	size_t len = mbuf_get_left(mb);
	struct slot *s;

	if (len > SLOT_MAX)
		return;

	if (!lv->slots) {
		lv->slots = mem_alloc(ECHO_SLOTS * sizeof(*lv->slots), NULL);
		if (!lv->slots)
			return;
	}

	/* full: the oldest goes */
	if (lv->qn == ECHO_SLOTS) {
		lv->qh = (lv->qh + 1) % ECHO_SLOTS;
		--lv->qn;
	}

	s = &lv->slots[(lv->qh + lv->qn) % ECHO_SLOTS];
	s->len = (uint16_t)len;
	s->pt  = hdr->pt;
	memcpy(s->data, mbuf_buf(mb), len);
	++lv->qn;

	if (!tq_isrunning(&lv->tick)) {
		/* a new talk spurt: the timestamp follows the clock */
		lv->ts += (uint32_t)(tmr_jiffies() - lv->last_tx) *
			(SRATE / 1000);
		lv->marker = true;
		(void)tq_start(r->tqs, &lv->tick, r->peer.ptime,
			       tick_handler, r);
	}
}


static void rtp_recv_handler(const struct sa *src,
			     const struct rtp_header *hdr, struct mbuf *mb,
			     void *arg)
{
	struct rtp *r = arg;
	struct live *lv = r->lv;

	++lv->rxp;
	lv->rxb += mbuf_get_left(mb);
	lv->ssrc = hdr->ssrc;

	if (!r->started)
		return;

	/* symmetric RTP: answer where it comes from */
	r->dst = *src;

	if ((int)hdr->pt == r->peer.telev_pt) {
		digit_recv(r, mb);
		return;
	}

	if (!sending(r))
		return;

	rtcp_begin(r);

	if (r->cfg->mode == RTP_ECHO)
		echo_queue(r, hdr, mb);
}


/* libre keeps the statistics of the reports it receives */
static void rtcp_recv_handler(const struct sa *src, struct rtcp_msg *msg,
			      void *arg)
{
	(void)src;
	(void)msg;
	(void)arg;
}


/* A packet from the RTP port as libre's RTP socket would pass it on */
static void packet_in(struct rtp *r, const struct sa *src, struct mbuf *mb)
{
	struct rtp_header hdr;
	struct sa from = *src;

	if (r->srtp && srtp_recv_h(&from, mb, r))
		return;

	if (is_rtcp(mb) || rtp_hdr_decode(&hdr, mb))
		return;

	rtp_recv_handler(&from, &hdr, mb, r);
}


/* What is queued on the first socket when it closes (a few at most) */
static unsigned pending_take(struct rtp *r, struct mbuf **mbv,
			     struct sa *srcv)
{
	const int fd = udp_sock_fd(r->us, sa_af(&r->laddr));
	unsigned n = 0;

	while (fd >= 0 && n < PENDING_MAX) {
		struct mbuf *mb = mbuf_alloc(DGRAM_MAX);
		ssize_t len;

		if (!mb)
			break;

		srcv[n].len = sizeof(srcv[n].u);
		len = recvfrom(fd, mb->buf, mb->size, MSG_DONTWAIT,
			       &srcv[n].u.sa, &srcv[n].len);
		if (len <= 0) {
			mem_deref(mb);
			break;
		}

		mb->end = (size_t)len;
		mbv[n++] = mb;
	}

	return n;
}


/*
 * The port again, as libre's rtp_sock with RTCP on the next port (RFC
 * 3550 11; the odd ports of the range are no call's RTP port). The
 * packet that triggered it (src, mb) and those queued behind it take
 * the new way, in order.
 */
static int live(struct rtp *r, const struct sa *src, struct mbuf *mb)
{
	const uint16_t p = sa_port(&r->laddr);
	struct mbuf *mbv[PENDING_MAX];
	struct sa srcv[PENDING_MAX];
	struct live *lv;
	unsigned i, n;
	int err;

	if (r->lv)
		return 0;

	lv = mem_zalloc(sizeof(*lv), live_destructor);
	if (!lv)
		return ENOMEM;

	n = pending_take(r, mbv, srcv);
	r->us = mem_deref(r->us);

	err = rtp_listen(&lv->rs, IPPROTO_UDP, &r->laddr, p, p + 1, true,
			 rtp_recv_handler, rtcp_recv_handler, r);
	if (err) {
		DEBUG_WARNING("RTP/RTCP on %J: %m\n", &r->laddr, err);
		mem_deref(lv);
		(void)udp_listen(&r->us, &r->laddr, plain_recv, r);
		r->ended = true;   /* no sending without the socket */
		goto out;
	}

	lv->ts = rand_u32();
	lv->last_tx = tmr_jiffies();
	r->lv = lv;

	if (r->srtp)
		err = helpers_add(r);

	if (mb)
		packet_in(r, src, mb);
	for (i = 0; i < n; ++i)
		packet_in(r, &srcv[i], mbv[i]);

 out:
	for (i = 0; i < n; ++i)
		mem_deref(mbv[i]);

	return err;
}


/* The first packet: the port goes live */
static void plain_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct rtp *r = arg;

	if (r->started)
		(void)live(r, src, mb);
}


static void payload_send(struct rtp *r, uint8_t pt, const uint8_t *p,
			 size_t n)
{
	struct live *lv = r->lv;
	struct mbuf *mb;
	int err;

	/* made at the first packet: a held call without RTP has none */
	if (!lv->txmb) {
		lv->txmb = mbuf_alloc(RTP_HEADER_SIZE + SLOT_MAX);
		if (!lv->txmb)
			return;
	}

	mb = lv->txmb;
	mb->pos = RTP_HEADER_SIZE;
	mb->end = RTP_HEADER_SIZE;
	err = mbuf_write_mem(mb, p, n);
	mb->pos = RTP_HEADER_SIZE;

	if (!err)
		err = rtp_send(lv->rs, &r->dst, false, lv->marker, pt,
			       lv->ts, mb);
	if (err) {
		DEBUG_NOTICE("send: %m\n", err);
		return;
	}

	lv->marker = false;
	++lv->txp;
	lv->txb += n;
}


static int16_t tone_sample(const struct rtp *r, size_t n)
{
	const struct rtp_cfg *c = r->cfg;
	uint32_t ms = (uint32_t)(n / (SRATE / 1000));

	if (c->off && ms % (c->on + c->off) >= c->on)
		return 0;

	return (int16_t)(TONE_AMP * sin(2 * M_PI * c->freq * (double)n /
					SRATE));
}


/* One packet of generated audio; false at the end of a file */
static bool audio_make(struct rtp *r, uint8_t *buf, size_t n)
{
	const struct rtp_cfg *c = r->cfg;
	struct live *lv = r->lv;
	size_t i;

	for (i = 0; i < n; ++i) {
		int16_t s = 0;

		if (c->mode == RTP_TONE) {
			s = tone_sample(r, lv->pos++);
		}
		else if (c->mode == RTP_FILE) {
			if (lv->pos >= c->pcmc && c->loop)
				lv->pos = 0;
			if (lv->pos < c->pcmc)
				s = c->pcm[lv->pos++];
			else if (!i)
				return false;
		}

		buf[i] = r->peer.pcma ? g711_alaw_enc(s) : g711_ulaw_enc(s);
	}

	return true;
}


static void file_end(struct rtp *r)
{
	r->ended = true;

	if (r->cfg->hangup_end && r->endh)
		r->endh(r->arg);
}


static void tick_handler(void *arg)
{
	struct rtp *r = arg;
	struct live *lv = r->lv;
	const size_t n = r->peer.ptime * (SRATE / 1000);
	uint8_t buf[SLOT_MAX];

	if (!sending(r) || r->ended)
		return;

	if (r->cfg->mode == RTP_ECHO) {
		struct slot *s;

		if (!lv->qn)
			return;   /* idle until the next packet */

		s = &lv->slots[lv->qh];
		lv->qh = (lv->qh + 1) % ECHO_SLOTS;
		--lv->qn;
		payload_send(r, s->pt, s->data, s->len);
	}
	else if (audio_make(r, buf, MIN(n, sizeof(buf)))) {
		payload_send(r, (uint8_t)r->peer.pt, buf,
			     MIN(n, sizeof(buf)));
	}
	else {
		file_end(r);
		return;
	}

	lv->ts += (uint32_t)n;
	lv->last_tx = tmr_jiffies();
	(void)tq_start(r->tqs, &lv->tick, r->peer.ptime, tick_handler, r);
}


/* Generated audio ticks from the start; an echo from its first packet */
static void schedule(struct rtp *r)
{
	if (!sending(r) || r->ended) {
		if (r->lv) {
			tq_cancel(&r->lv->tick);
			r->lv->qn = 0;
		}
		return;
	}

	/* an echo goes live at its first packet */
	if (r->cfg->mode == RTP_ECHO || live(r, NULL, NULL))
		return;

	rtcp_begin(r);

	if (!tq_isrunning(&r->lv->tick)) {
		r->lv->marker = true;
		(void)tq_start(r->tqs, &r->lv->tick, r->peer.ptime,
			       tick_handler, r);
	}
}


static int rtp_bind(struct rtp *r, const struct sa *laddr)
{
	const uint32_t pairs = (ports.max - ports.min + 1) / 2;
	uint32_t i, tries = MIN(pairs, 32);
	int err = EADDRINUSE;

	/* ports in turn from a random start: calls end roughly in the
	 * order they began, so the next pair is most likely free */
	if (!ports.set) {
		ports.next = rand_u32() % pairs;
		ports.set = true;
	}

	for (i = 0; i < tries && err; ++i) {
		uint16_t p = (uint16_t)(ports.min + 2 * (ports.next % pairs));

		ports.next = (ports.next + 1) % pairs;
		r->laddr = *laddr;
		sa_set_port(&r->laddr, p);
		err = udp_listen(&r->us, &r->laddr, plain_recv, r);
	}

	return err;
}


/**
 * Allocate the RTP and RTCP sockets of a call (an even/odd port pair
 * of the --rtp-ports range)
 *
 * @param rp    RTP stream, set on success
 * @param laddr Local IP address
 *
 * @return 0 if success, EADDRINUSE if the range has no free pair
 */
int rtp_call_alloc(struct rtp **rp, const struct sa *laddr)
{
	struct rtp *r;
	int err;

	if (!rp || !laddr)
		return EINVAL;

	r = mem_zalloc(sizeof(*r), rtp_destructor);
	if (!r)
		return ENOMEM;

	r->peer.pt = -1;
	r->peer.telev_pt = -1;

	err = rtp_bind(r, laddr);
	if (err)
		mem_deref(r);
	else
		*rp = r;

	return err;
}


uint16_t rtp_port(const struct rtp *r)
{
	return r ? sa_port(&r->laddr) : 0;
}


static int helpers_add(struct rtp *r)
{
	struct live *lv = r->lv;
	int err;

	if (!lv || lv->uh_rtp)
		return 0;

	err = udp_register_helper(&lv->uh_rtp, rtp_sock(lv->rs), UDP_LAYER,
				  srtp_send_h, srtp_recv_h, r);
	if (!err)
		err = udp_register_helper(&lv->uh_rtcp, rtcp_sock(lv->rs),
					  UDP_LAYER, srtp_send_h,
					  srtp_recv_h, r);

	return err;
}


/**
 * Follow the SDP: remote address, codec, ptime, direction, SRTP keys
 *
 * @param r    RTP stream
 * @param peer What the offer/answer says
 * @param srtp SRTP context (referenced), NULL for plain RTP
 */
void rtp_update(struct rtp *r, const struct rtp_peer *peer,
		struct srtpc *srtp)
{
	if (!r || !peer)
		return;

	if (!sa_cmp(&r->peer.addr, &peer->addr, SA_ALL))
		r->dst = peer->addr;

	r->peer = *peer;
	if (!r->peer.ptime)
		r->peer.ptime = 20;

	if (srtp != r->srtp) {
		mem_deref(r->srtp);
		r->srtp = mem_ref(srtp);
		if (srtp && helpers_add(r))
			DEBUG_WARNING("SRTP helper: out of memory\n");
	}

	schedule(r);
}


/**
 * Start the stream at the 183 or 2xx that carries the SDP
 *
 * @param r      RTP stream
 * @param cfg    What to play (kept: the scenario outlives calls)
 * @param tqs    Timer queues for the pacing
 * @param el     Event log (dtmf, media events)
 * @param callid The call's Call-ID
 */
void rtp_start(struct rtp *r, const struct rtp_cfg *cfg, struct tqs *tqs,
	       struct evlog *el, const struct pl *callid)
{
	if (!r || !cfg || !tqs)
		return;

	if (!r->started) {
		if (pl_strdup(&r->callid, callid))
			return;
		r->tqs = tqs;
		r->el  = el;
		r->started = true;
	}

	if (cfg != r->cfg) {
		r->cfg = cfg;
		r->ended = false;
		if (r->lv) {
			r->lv->pos = 0;
			tq_cancel(&r->lv->tick);
		}
	}

	schedule(r);
}


void rtp_set_endh(struct rtp *r, media_end_h *endh, void *arg)
{
	if (!r)
		return;

	r->endh = endh;
	r->arg  = arg;
}


static void stats_log(struct rtp *r)
{
	static const struct live none;
	const struct live *lv = r->lv ? r->lv : &none;
	struct rtcp_stats st;
	int lost = 0;
	uint32_t jit = 0;

	memset(&st, 0, sizeof(st));
	if (lv->rs && lv->rxp && !rtcp_stats(lv->rs, lv->ssrc, &st)) {
		lost = st.rx.lost;
		jit  = st.rx.jit;
	}

	evlog_event(r->el, "media", NULL, ",\"call_id\":\"%s\","
		    "\"mode\":\"%s\",\"srtp\":%s,"
		    "\"packets_in\":%llu,\"bytes_in\":%llu,"
		    "\"packets_out\":%llu,\"bytes_out\":%llu,"
		    "\"lost\":%d,\"jitter_ms\":%u.%03u,\"srtp_failures\":%u,"
		    "\"dtmf\":\"%s\"", r->callid,
		    (const char *[]){"echo", "tone", "file", "silence",
				     "none"}[r->cfg->mode],
		    r->srtp ? "true" : "false",
		    lv->rxp, lv->rxb, lv->txp, lv->txb, lost, jit / 1000,
		    jit % 1000, lv->srtp_fail, lv->digits ? lv->digits : "");
}


static void rtp_destructor(void *arg)
{
	struct rtp *r = arg;

	if (r->started)
		stats_log(r);

	mem_deref(r->lv);
	mem_deref(r->us);
	mem_deref(r->srtp);
	mem_deref(r->callid);
}
