/**
 * @file prack.c  Reliable provisional responses (RFC 3262) and the early
 *                dialogs of a pending INVITE (RFC 3311 UPDATE)
 *
 * A transaction gets a prack object at its first provisional with a
 * To-tag, and only when the INVITE mentions 100rel or allows UPDATE or
 * a step asks for reliability. It keeps the early dialogs (one per
 * To-tag, each with its own RSeq space and offer/answer state) and the
 * one reliable provisional that waits for its PRACK: retransmitted at
 * T1 doubling, the transaction's next steps held until the PRACK, the
 * INVITE ended with a 500 after 64*T1.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "prack"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


/* Offer/answer state of an early dialog (RFC 3311 5.2) */
enum oa {
	OA_NONE = 0,   /* no offer yet                               */
	OA_RECV,       /* the INVITE's offer, not reliably answered  */
	OA_SENT,       /* our offer in a reliable 18x, unanswered    */
	OA_DONE,       /* an exchange completed                      */
};

struct early {
	uint64_t tag;
	uint32_t rseq;           /* the last RSeq sent, 0: none */
	enum oa oa;
};

struct prack {
	struct le he;            /* in uas_early(), by Call-ID */
	struct uas *uas;
	struct sip_msg *msg;     /* the INVITE */
	struct media *media;
	struct early earlyv[SIPSTUB_MAX_DIALOGS_EARLY];
	unsigned earlyc;
	prack_h *h;
	void *arg;

	/* the reliable provisional that waits for its PRACK */
	struct early *pend;
	struct mbuf *mb;
	struct sa dst;
	struct tqent tmr;        /* retransmission, then the 64*T1 end */
	uint32_t ival;
	uint32_t elapsed;        /* nominal ms since the first sending */
	bool held;               /* a step waits for the PRACK */
};


static void prack_destructor(void *arg)
{
	struct prack *p = arg;

	hash_unlink(&p->he);
	tq_cancel(&p->tmr);
	mem_deref(p->mb);
	mem_deref(p->media);
	mem_deref(p->msg);
}


static bool has_sdp(const struct sip_msg *msg)
{
	return mbuf_get_left(msg->mb) &&
		msg_ctype_cmp(&msg->ctyp, "application", "sdp");
}


/* RFC 3262 3: reliable only to a UAC that supports or requires it */
static bool reliable_wanted(struct uas *uas, const struct sip_msg *msg,
			    enum reliable rel, uint16_t sc)
{
	const bool req = optag_has(msg, SIP_HDR_REQUIRE, "100rel");

	switch (rel) {

	case REL_NO:
		return false;

	case REL_YES:
		if (req || optag_has(msg, SIP_HDR_SUPPORTED, "100rel"))
			return true;

		evlog_event(uas_evlog(uas), "warning", msg,
			    ",\"message\":\"%u sent unreliably: the INVITE "
			    "has neither Require nor Supported 100rel\"",
			    sc);
		return false;

	default:
		/* RFC 6228 8: a 199 is sent unreliably */
		return req && sc != 199;
	}
}


/* Keep the early dialogs of this INVITE? Only if it could use them */
static bool early_wanted(const struct sip_msg *msg)
{
	return optag_has(msg, SIP_HDR_REQUIRE, "100rel") ||
		optag_has(msg, SIP_HDR_SUPPORTED, "100rel") ||
		optag_has(msg, SIP_HDR_ALLOW, "UPDATE");
}


static struct early *early_find(struct prack *p, uint64_t tag)
{
	unsigned i;

	for (i = 0; i < p->earlyc; i++) {
		if (p->earlyv[i].tag == tag)
			return &p->earlyv[i];
	}

	return NULL;
}


static struct early *early_get(struct prack *p, uint64_t tag)
{
	struct early *e = early_find(p, tag);

	if (e || p->earlyc >= ARRAY_SIZE(p->earlyv))
		return e;

	e = &p->earlyv[p->earlyc++];
	e->tag = tag;
	e->oa  = has_sdp(p->msg) ? OA_RECV : OA_NONE;

	return e;
}


static int prack_alloc(struct prack **pp, struct uas *uas,
		       const struct sip_msg *msg, prack_h *h, void *arg)
{
	struct prack *p;

	p = mem_zalloc(sizeof(*p), prack_destructor);
	if (!p)
		return ENOMEM;

	p->uas = uas;
	p->msg = mem_ref((void *)msg);
	p->h   = h;
	p->arg = arg;

	hash_append(uas_early(uas), hash_joaat_pl(&msg->callid), &p->he, p);

	*pp = p;

	return 0;
}


static void pend_clear(struct prack *p)
{
	tq_cancel(&p->tmr);
	p->mb = mem_deref(p->mb);
	p->pend = NULL;
}


static void rtx_handler(void *arg);
static void end_handler(void *arg);


/* RFC 3262 3: T1, doubling, until the PRACK; one chain of nominal
 * waits, so that the end at 64*T1 comes after the last copy */
static void rtx_next(struct prack *p)
{
	if (p->elapsed + p->ival < 64 * SIP_T1) {
		(void)tq_start(uas_tqs(p->uas), &p->tmr, p->ival,
			       rtx_handler, p);
		return;
	}

	(void)tq_start(uas_tqs(p->uas), &p->tmr, 64 * SIP_T1 - p->elapsed,
		       end_handler, p);
}


static void rtx_handler(void *arg)
{
	struct prack *p = arg;

	(void)sip_send(uas_sip(p->uas), p->msg->sock, p->msg->tp, &p->dst,
		       p->mb);

	p->elapsed += p->ival;
	p->ival *= 2;
	rtx_next(p);
}


/* RFC 3262 3: no PRACK within 64*T1: reject the INVITE with a 5xx */
static void end_handler(void *arg)
{
	struct prack *p = arg;

	evlog_event(uas_evlog(p->uas), "prack-timeout", p->msg,
		    ",\"rseq\":%u,\"tag\":\"%016llx\",\"code\":500",
		    p->pend->rseq, p->pend->tag);

	pend_clear(p);
	p->h(true, p->arg);
}


static void pend_start(struct prack *p, struct early *e, struct mbuf *mb)
{
	const struct sip_msg *msg = p->msg;

	p->pend    = e;
	p->mb      = mb;
	p->ival    = SIP_T1;
	p->elapsed = 0;
	sip_reply_addr(&p->dst, msg,
		       msg_param_exists(&msg->via.params, "rport", NULL) == 0);

	rtx_next(p);
}


/**
 * Send a provisional response to an initial INVITE, reliably when the
 * step and the INVITE ask for it (RFC 3262 3)
 *
 * @param pp  The transaction's prack object, made when needed
 * @param uas UAS
 * @param stp The INVITE's server transaction
 * @param r   The response (its rseq is set here)
 * @param rel The step's 'reliable'
 * @param m   The media of our SDP in r, if any
 * @param h   Called when a held step may go, or on the 64*T1 give-up
 * @param arg Its argument
 *
 * @return 0 if success, otherwise errorcode
 */
int prack_reply(struct prack **pp, struct uas *uas, struct strans **stp,
		struct reply *r, enum reliable rel, struct media *m,
		prack_h *h, void *arg)
{
	struct mbuf *mb = NULL;
	struct early *e = NULL;
	struct prack *p;
	bool reliable;
	int err;

	if (!pp || !uas || !r || !h)
		return EINVAL;

	reliable = r->totag && reliable_wanted(uas, r->msg, rel, r->scode);

	if (!*pp && r->totag && (reliable || early_wanted(r->msg))) {
		err = prack_alloc(pp, uas, r->msg, h, arg);
		if (err)
			return err;
	}

	p = *pp;
	if (p && r->totag)
		e = early_get(p, r->totag);

	if (reliable && e)
		r->rseq = e->rseq ? e->rseq + 1 : 1 + rand_u32() % 0x3fffffff;
	else
		reliable = false;

	err = reply_send(stp, uas_stranss(uas), r, reliable ? &mb : NULL);
	if (err)
		return err;

	if (!e)
		return 0;

	if (m && m != p->media) {
		mem_deref(p->media);
		p->media = mem_ref(m);
	}

	if (!reliable)
		return 0;

	e->rseq = r->rseq;

	/* RFC 3262 5: our SDP in a reliable 18x answers or offers */
	if (r->ctype && !strcmp(r->ctype, "application/sdp")) {
		if (e->oa == OA_RECV)
			e->oa = OA_DONE;
		else if (e->oa == OA_NONE)
			e->oa = OA_SENT;
	}

	evlog_event(uas_evlog(uas), "reliable", r->msg,
		    ",\"code\":%u,\"rseq\":%u,\"tag\":\"%016llx\"",
		    r->scode, e->rseq, e->tag);

	pend_start(p, e, mb);

	return 0;
}


/**
 * Must the transaction's next step wait for a PRACK? (RFC 3262 3: no
 * reliable provisional and, here, no final response before the PRACK
 * of the previous reliable provisional)
 *
 * @param p The transaction's prack object, or NULL
 *
 * @return true if the step waits; the handler is called when it may go
 */
bool prack_hold(struct prack *p)
{
	if (!p || !p->pend)
		return false;

	p->held = true;

	return true;
}


struct lookup {
	const struct sip_msg *msg;
	uint64_t tag;
	struct early *e;
};


static bool cmp_handler(struct le *le, void *arg)
{
	struct prack *p = le->data;
	struct lookup *lk = arg;

	if (pl_cmp(&p->msg->callid, &lk->msg->callid) ||
	    pl_cmp(&p->msg->from.tag, &lk->msg->from.tag))
		return false;

	lk->e = early_find(p, lk->tag);

	return lk->e != NULL;
}


static int reply_plain(struct prack *p, const struct sip_msg *msg,
		       uint16_t sc, const char *reason,
		       const struct list *hdrs, struct mbuf *sdp)
{
	struct reply r;
	struct sa laddr;

	uas_local_addr(&laddr, msg);

	memset(&r, 0, sizeof(r));
	r.msg    = msg;
	r.scode  = sc;
	r.reason = reason;
	r.hdrs   = hdrs;
	r.laddr  = &laddr;
	if (sdp) {
		r.ctype   = "application/sdp";
		r.body    = mbuf_buf(sdp);
		r.bodylen = mbuf_get_left(sdp);
	}

	return reply_send(NULL, uas_stranss(p->uas), &r, NULL);
}


/* Our answer to an offer in a PRACK or UPDATE */
static int answer(struct prack *p, const struct sip_msg *msg,
		  struct mbuf **mbp)
{
	const size_t pos = msg->mb->pos;
	const char *why = NULL;
	struct sa laddr;
	int err;

	if (!p->media) {
		uas_local_addr(&laddr, msg);
		err = media_alloc(&p->media, &laddr);
		if (err)
			return err;
	}

	/* ENOTSUP (no stream we take) is a 488 like a bad offer */
	err = media_answer(p->media, msg->mb, SRTP_USE_OPTIONAL, mbp, &why);
	msg->mb->pos = pos;

	return err;
}


/* RFC 3262 3, 5: the PRACK's answer, or our answer to its offer */
static int prack_sdp(struct prack *p, struct early *e,
		     const struct sip_msg *msg, struct mbuf **mbp)
{
	const size_t pos = msg->mb->pos;
	int err = 0;

	if (e->oa == OA_SENT && has_sdp(msg)) {
		err = media_remote_answer(p->media, msg->mb);
		msg->mb->pos = pos;
		e->oa = OA_DONE;
	}
	else if (e->oa == OA_SENT) {
		evlog_event(uas_evlog(p->uas), "warning", msg,
			    ",\"message\":\"the PRACK has no answer to the "
			    "offer of the reliable provisional\"");
	}
	else if (has_sdp(msg) && e->oa != OA_RECV) {
		err = answer(p, msg, mbp);
		e->oa = OA_DONE;
	}

	return err;
}


static void prack_recv_prack(struct prack *p, struct early *e,
			     const struct sip_msg *msg,
			     struct scenario *scn)
{
	const struct step *step = NULL;
	const struct rule *rule;
	const struct sip_hdr *hdr;
	struct pl rseq, cseq, met;
	struct mbuf *sdp = NULL;
	uint16_t sc = 200;
	bool match;
	int err;

	hdr = sip_msg_hdr(msg, SIP_HDR_RACK);
	if (!hdr || re_regex(hdr->val.p, hdr->val.l,
			     "[0-9]+[ \t\r\n]+[0-9]+[ \t\r\n]+[^ \t\r\n]+",
			     &rseq, NULL, &cseq, NULL, &met)) {
		(void)reply_plain(p, msg, 400, hdr ? "Bad RAck Header" :
				  "Missing RAck Header", NULL, NULL);
		return;
	}

	/* RFC 3262 3: RSeq, CSeq number and method of the provisional */
	match = p->pend == e && pl_u32(&rseq) == e->rseq &&
		pl_u32(&cseq) == p->msg->cseq.num &&
		!pl_cmp(&met, &p->msg->cseq.met);

	if (!match) {
		sc = 481;
	}
	else {
		rule = scenario_match(scn, msg);
		if (rule && list_head(rule_steps(rule)))
			step = list_head(rule_steps(rule))->data;
		if (step && step->scode)
			sc = step->scode;
	}

	if (sc >= 200 && sc < 300) {
		err = prack_sdp(p, e, msg, &sdp);
		if (err == EBADMSG)
			sc = 488;
		else if (err)
			sc = 500;
	}

	err = reply_plain(p, msg, sc, step ? step->reason : NULL,
			  step ? &step->hdrs : NULL, sc < 300 ? sdp : NULL);
	mem_deref(sdp);
	if (err)
		DEBUG_WARNING("%u to PRACK: %m\n", sc, err);

	evlog_event(uas_evlog(p->uas), "prack", msg,
		    ",\"rseq\":%u,\"rack\":%H,\"tag\":\"%016llx\""
		    ",\"code\":%u", pl_u32(&rseq), json_str_print, &hdr->val,
		    e->tag, sc);

	/* a PRACK that is not accepted acknowledges nothing */
	if (!match || sc >= 300)
		return;

	pend_clear(p);

	/* last: the step may end the transaction, and this object */
	if (p->held) {
		p->held = false;
		p->h(false, p->arg);
	}
}


/* RFC 3311 5.2: an UPDATE in an early dialog */
static void prack_recv_update(struct prack *p, struct early *e,
			      const struct sip_msg *msg)
{
	struct mbuf *sdp = NULL;
	const bool offer = has_sdp(msg);
	struct hdrval ra;
	struct list hdrs = LIST_INIT;
	char secs[8];
	uint16_t sc = 200;
	int err = 0;

	if (offer && e->oa == OA_SENT) {
		/* our offer is unanswered */
		sc = 491;
	}
	else if (offer && e->oa == OA_RECV) {
		/* the INVITE's offer is not answered: Retry-After 0..10 */
		sc = 500;
		(void)re_snprintf(secs, sizeof(secs), "%u", rand_u16() % 11);
		memset(&ra, 0, sizeof(ra));
		ra.name  = "Retry-After";
		ra.value = secs;
		list_append(&hdrs, &ra.le, &ra);
	}
	else if (offer) {
		err = answer(p, msg, &sdp);
		e->oa = OA_DONE;
		if (err == EBADMSG || err == ENOTSUP)
			sc = 488;
		else if (err)
			sc = 500;
	}

	err = reply_plain(p, msg, sc, NULL, &hdrs, sc == 200 ? sdp : NULL);
	mem_deref(sdp);
	if (err)
		DEBUG_WARNING("%u to UPDATE: %m\n", sc, err);

	evlog_event(uas_evlog(p->uas), "early-update", msg,
		    ",\"tag\":\"%016llx\",\"offer\":%s,\"code\":%u",
		    e->tag, offer ? "true" : "false", sc);
}


/**
 * A request with a To-tag that matched no confirmed dialog: PRACK or
 * UPDATE in an early dialog of a pending INVITE?
 *
 * @param uas UAS
 * @param msg The request
 * @param scn Scenario (a rule for PRACK picks its code)
 *
 * @return true if handled, false if no early dialog matches
 */
bool prack_recv(struct uas *uas, const struct sip_msg *msg,
		struct scenario *scn)
{
	struct lookup lk;
	struct prack *p;

	if (!uas || !msg)
		return false;

	if (pl_strcmp(&msg->met, "PRACK") && pl_strcmp(&msg->met, "UPDATE"))
		return false;

	if (msg->to.tag.l != 16)
		return false;

	lk.msg = msg;
	lk.tag = pl_x64(&msg->to.tag);
	lk.e   = NULL;

	p = list_ledata(hash_lookup(uas_early(uas),
				    hash_joaat_pl(&msg->callid),
				    cmp_handler, &lk));
	if (!p)
		return false;

	if (!pl_strcmp(&msg->met, "PRACK"))
		prack_recv_prack(p, lk.e, msg, scn);
	else
		prack_recv_update(p, lk.e, msg);

	return true;
}
