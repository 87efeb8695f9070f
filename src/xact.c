/**
 * @file xact.c  A request answered by the steps of a scenario rule
 *
 * Each step is one response after its delay. An INVITE gets 100 Trying
 * at once, can be cancelled until its final response, and its 2xx
 * hands over to a dialog that retransmits it until the ACK.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "xact"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


struct xact {
	struct le le;             /* in uas->xacts          */
	struct uas *uas;
	struct sip_msg *msg;      /* the request            */
	struct strans *st;        /* NULL after the final   */
	const struct rule *rule;
	struct scenario *scn;     /* holds rule's scenario */
	struct dialog *dlg;       /* in-dialog requests     */
	struct le *next;          /* next step              */
	struct tqent tmr;
	struct tqent tmr_cap;
	struct sa laddr;
	struct media *media;
	struct mbuf *sdp;         /* our SDP for this INVITE */
	struct list seq;          /* dial-a-sequence steps   */
	struct prack *prack;      /* reliable provisionals, early dialogs */
	uint64_t tag;             /* To-tag of dialog 1     */
	uint64_t live_tag;        /* last early dialog not ended by 199 */
	struct timer_neg tn;      /* session timer (INVITE, UPDATE) */
	bool invite;
};


static void step_next(struct xact *x);
static void cap_handler(void *arg);
static void prack_handler(bool giveup, void *arg);


static void xact_destructor(void *arg)
{
	struct xact *x = arg;

	list_unlink(&x->le);
	uas_count(x->uas, false, -1);
	tq_cancel(&x->tmr);
	tq_cancel(&x->tmr_cap);
	mem_deref(x->prack);
	mem_deref(x->st);
	list_flush(&x->seq);
	mem_deref(x->sdp);
	mem_deref(x->media);
	mem_deref(x->msg);
	mem_deref(x->scn);
}


static bool has_sdp(const struct sip_msg *msg)
{
	return mbuf_get_left(msg->mb) &&
		msg_ctype_cmp(&msg->ctyp, "application", "sdp");
}


static uint16_t step_code(const struct xact *x, const struct step *step)
{
	uint32_t sc;

	if (step->scode)
		return step->scode;

	sc = pl_u32(&x->msg->uri.user);

	return (sc >= 100 && sc <= 699) ? (uint16_t)sc : 404;
}


/* The media this request's SDP belongs to */
static int xact_media(struct xact *x, struct media **mp)
{
	int err = 0;

	if (dialog_media(x->dlg)) {
		*mp = dialog_media(x->dlg);
		return 0;
	}

	if (!x->media)
		err = media_alloc(&x->media, &x->laddr);

	*mp = x->media;

	return err;
}


/* Our SDP: the answer to the request's offer, else an offer */
static int sdp_make(struct xact *x, const struct step *step,
		    struct mbuf **mbp, const char **whyp)
{
	struct media *m;
	size_t pos;
	int err;

	if (x->sdp) {
		*mbp = mem_ref(x->sdp);
		return 0;
	}

	err = xact_media(x, &m);
	if (err)
		return err;

	/* sdp_decode() consumes the body; keep it for the event log */
	pos = x->msg->mb->pos;
	if (has_sdp(x->msg))
		err = media_answer(m, x->msg->mb, step->srtp, &x->sdp, whyp);
	else
		err = media_offer(m, &x->sdp);
	x->msg->mb->pos = pos;
	if (err)
		return err;

	*mbp = mem_ref(x->sdp);

	return 0;
}


static bool sdp_wanted(const struct xact *x, const struct step *step,
		       uint16_t sc)
{
	switch (step->sdp) {

	case SDP_NONE:
		return false;

	case SDP_ALWAYS:
		return true;

	default:
		break;
	}

	if (step->body)
		return false;

	if (x->invite)
		return sc == 183 || (sc >= 200 && sc < 300);

	/* UPDATE with an offer gets the answer in its 2xx */
	return !pl_strcmp(&x->msg->met, "UPDATE") && has_sdp(x->msg) &&
		sc >= 200 && sc < 300;
}


static uint64_t step_tag(const struct xact *x, const struct step *step)
{
	return x->tag ^ (uint64_t)(step->dialog - 1);
}


static void dialog_hand_over(struct xact *x, const struct step *step,
			     struct mbuf *resp)
{
	struct dialog *dlg;
	int err;

	if (x->dlg) {
		dialog_response_sent(x->dlg, x->msg, resp);
		timer_2xx(x->uas, x->dlg, x->msg, &x->tn);
		return;
	}

	x->msg->tag = step_tag(x, step);

	err = dialog_alloc(&dlg, x->uas, x->msg, resp, x->media,
			   step->hangup);
	if (!err && !list_isempty(&step->reqs))
		err = indlg_start(x->uas, dlg, &step->reqs, x->msg);
	if (err)
		DEBUG_WARNING("dialog: %m\n", err);
	else
		timer_2xx(x->uas, dlg, x->msg, &x->tn);
}


/* Modules that keep state for what a 2xx to a non-INVITE accepts: they
 * may change the code and add headers */
static uint16_t feature_check(struct xact *x, const struct step *step,
			      uint16_t sc, char **xhdrsp)
{
	const struct sip_msg *msg = x->msg;

	if (!x->dlg && !pl_strcmp(&msg->met, "SUBSCRIBE"))
		return subs_check(x->uas, msg, step, sc, xhdrsp);

	if (x->dlg && !pl_strcmp(&msg->met, "REFER"))
		return refer_check(msg, sc, xhdrsp);

	if (x->dlg && !pl_strcmp(&msg->met, "INFO"))
		return info_check(x->uas, msg, step, sc, xhdrsp);

	if (!x->dlg && !pl_strcmp(&msg->met, "PUBLISH"))
		return publ_check(x->uas, msg, sc, xhdrsp);

	return sc;
}


static void feature_accept(struct xact *x, const struct step *step,
			   uint16_t sc)
{
	if (x->dlg) {
		if (!pl_strcmp(&x->msg->met, "BYE"))
			dialog_terminate(x->dlg);
		else if (!pl_strcmp(&x->msg->met, "UPDATE"))
			timer_2xx(x->uas, x->dlg, x->msg, &x->tn);
		else if (!pl_strcmp(&x->msg->met, "REFER"))
			refer_accept(x->uas, x->dlg, x->msg, step);
		return;
	}

	if (!pl_strcmp(&x->msg->met, "SUBSCRIBE")) {
		x->msg->tag = step_tag(x, step);
		subs_accept(x->uas, x->msg, step, sc);
	}
}


static int body_expand(struct xact *x, const struct step *step,
		       struct mbuf **mbp)
{
	struct mbuf *mb;
	int err;

	mb = mbuf_alloc(step->bodylen + 64);
	if (!mb)
		return ENOMEM;

	if (memchr(step->body, '$', step->bodylen))
		err = mbuf_printf(mb, "%H", expand_print, step->body,
				  x->msg, &x->laddr);
	else
		err = mbuf_write_mem(mb, (uint8_t *)step->body,
				     step->bodylen);

	if (err) {
		mem_deref(mb);
		return err;
	}

	mb->pos = 0;
	*mbp = mb;

	return 0;
}


static int step_send(struct xact *x, const struct step *step, uint16_t sc,
		     bool *finalp)
{
	struct mbuf *body = NULL, *resp = NULL;
	struct hdrval warn = {.name = "Warning"};
	struct list warnl = LIST_INIT;
	const char *ctype = NULL, *why = NULL;
	char *xhdrs = NULL;
	const char *xh;
	bool sdp = false;
	uint64_t totag;
	struct reply r;
	int err = 0;

	totag = (sc > 100 && !x->dlg) ? step_tag(x, step) : 0;

	if (!x->invite && sc >= 200 && sc < 300) {
		uint16_t fsc = feature_check(x, step, sc, &xhdrs);

		if (fsc != sc) {
			step = NULL;
			sc = fsc;
		}
	}

	if (sc >= 200 && !pl_strcmp(&x->msg->met, "MESSAGE"))
		message_log(x->uas, x->msg, sc);

	if (step && sdp_wanted(x, step, sc)) {
		err = sdp_make(x, step, &body, &why);
		if (err == EBADMSG || err == ENOTSUP) {
			/* RFC 3264 6 and RFC 3261 13.3.1.3: an offer we
			 * cannot parse or take */
			step = NULL;
			sc = 488;
			err = 0;
		}
		sdp = body != NULL;
		ctype = "application/sdp";
	}
	else if (step && step->body) {
		err = body_expand(x, step, &body);
		ctype = step->ctype;
	}

	if (err)
		goto out;

	xh = xhdrs;
	if (x->invite && step && sc >= 180 && sc < 300)
		xh = info_recv_hdr(step, &xhdrs);

	memset(&r, 0, sizeof(r));
	r.msg     = x->msg;
	r.scode   = sc;
	r.reason  = step ? step->reason : NULL;
	r.hdrs    = step ? &step->hdrs : NULL;
	if (why) {
		warn.value = (char *)why;
		list_append(&warnl, &warn.le, &warn);
		r.hdrs = &warnl;
	}
	r.laddr   = &x->laddr;
	r.totag   = totag;
	r.ctype   = body ? ctype : NULL;
	r.body    = body ? mbuf_buf(body) : NULL;
	r.bodylen = body ? mbuf_get_left(body) : 0;
	r.timer   = x->tn.se ? &x->tn : NULL;
	r.xhdrs   = xh;

	if (x->invite && !x->dlg && sc > 100 && sc < 200)
		err = prack_reply(&x->prack, x->uas, &x->st, &r,
				  step ? step->reliable : REL_AUTO,
				  body ? x->media : NULL, prack_handler, x);
	else
		err = reply_send(&x->st, uas_stranss(x->uas), &r, &resp);
	if (err)
		goto out;

	*finalp = sc >= 200;

	if (sc > 100 && sc < 200 && sc != 199)
		x->live_tag = totag;

	if (sdp && x->invite && !x->dlg)
		media_start(x->media, step->media, uas_tqs(x->uas),
			    uas_evlog(x->uas), x->msg);

	if (sc >= 200 && sc < 300 && step) {
		if (x->invite)
			dialog_hand_over(x, step, resp);
		else
			feature_accept(x, step, sc);
	}

	if (sc >= 200 && step && step->callback)
		callback_start(x->uas, x->msg, step->callback,
			       rule_auth(x->rule));

 out:
	mem_deref(xhdrs);
	mem_deref(resp);
	mem_deref(body);

	return err;
}


/* RFC 6228 8: a 199 only to a UAC that indicated support */
static bool skip_199(struct xact *x, uint16_t sc)
{
	if (sc != 199 || !rule_check199(x->rule))
		return false;

	if (sip_msg_hdr_has_value(x->msg, SIP_HDR_SUPPORTED, "199"))
		return false;

	evlog_event(uas_evlog(x->uas), "warning", x->msg,
		    ",\"message\":\"199 not sent: the INVITE has no "
		    "'Supported: 199' (set check-199: false to send it)\"");

	return true;
}


/* A response could not be made: end the transaction with a 503 when
 * out of descriptors or memory (with Retry-After, logged), else 500 */
static void fail(struct xact *x, int err)
{
	const bool overload = err == EMFILE || err == ENFILE ||
		err == ENOMEM || err == ENOBUFS || err == EADDRINUSE;
	struct reply r;

	memset(&r, 0, sizeof(r));
	r.msg   = x->msg;
	r.scode = overload ? 503 : 500;
	r.laddr = &x->laddr;
	r.totag = x->dlg ? 0 : x->tag;

	if (overload) {
		evlog_event(uas_evlog(x->uas), "overload", x->msg,
			    ",\"limit\":\"%s\"", err == ENOMEM ? "memory" :
			    err == EADDRINUSE ? "rtp-ports" : "descriptors");
	}

	err = reply_send(&x->st, uas_stranss(x->uas), &r, NULL);
	if (err)
		DEBUG_WARNING("%u to %r: %m\n", r.scode, &x->msg->met, err);
}


/* A final response of sipstub's own (session timer) ends it */
static void final_send(struct xact *x, uint16_t sc)
{
	struct reply r;
	int err;

	memset(&r, 0, sizeof(r));
	r.msg   = x->msg;
	r.scode = sc;
	r.laddr = &x->laddr;
	r.totag = x->dlg ? 0 : x->tag;
	r.timer = &x->tn;
	if (sc == 400)
		r.reason = "Bad Request (malformed Session-Expires or Min-SE)";

	err = reply_send(&x->st, uas_stranss(x->uas), &r, NULL);
	if (err)
		DEBUG_WARNING("%u to %r: %m\n", sc, &x->msg->met, err);

	mem_deref(x);
}


static void step_handler(void *arg)
{
	struct xact *x = arg;
	const struct step *step = x->next->data;
	uint16_t sc = step_code(x, step);
	bool final = false;
	int err = 0;

	if (prack_hold(x->prack))
		return;

	x->next = x->next->next;

	if (!skip_199(x, sc))
		err = step_send(x, step, sc, &final);

	if (err) {
		DEBUG_WARNING("%u to %r: %m\n", sc, &x->msg->met, err);
		fail(x, err);
	}

	if (err || final) {
		mem_deref(x);
		return;
	}

	step_next(x);
}


/* The PRACK came: the held step goes; none in 64*T1: a 500 */
static void prack_handler(bool giveup, void *arg)
{
	struct xact *x = arg;

	if (!giveup) {
		step_handler(x);
		return;
	}

	fail(x, ETIMEDOUT);
	mem_deref(x);
}


static void step_next(struct xact *x)
{
	const struct step *step;

	/* provisional only: wait for CANCEL, but not for ever */
	if (!x->next) {
		(void)tq_start(uas_tqs(x->uas), &x->tmr_cap,
			       SIPSTUB_PENDING_MAX, cap_handler, x);
		return;
	}

	/* no delay: at once, which may end the transaction */
	step = x->next->data;
	if (!step->delay)
		step_handler(x);
	else if (tq_start(uas_tqs(x->uas), &x->tmr, step->delay,
			  step_handler, x))
		mem_deref(x);
}


/* RFC 3261 9.2: CANCEL of a pending INVITE */
static void cancel_handler(void *arg)
{
	struct xact *x = arg;
	struct reply r;
	int err;

	memset(&r, 0, sizeof(r));
	r.msg   = x->msg;
	r.scode = 487;
	r.laddr = &x->laddr;
	r.totag = x->dlg ? 0 : x->live_tag ? x->live_tag : x->tag;

	err = reply_send(&x->st, uas_stranss(x->uas), &r, NULL);
	if (err)
		DEBUG_WARNING("487: %m\n", err);

	mem_deref(x);
}


static void cap_handler(void *arg)
{
	struct xact *x = arg;

	evlog_event(uas_evlog(x->uas), "expired", x->msg,
		    ",\"message\":\"no final response after %u ms\"",
		    SIPSTUB_PENDING_MAX);
	mem_deref(x);
}


/**
 * Answer a request with the steps of a rule
 *
 * @param uas  UAS
 * @param msg  The request
 * @param rule Matching rule
 * @param dlg  Its dialog, for in-dialog requests
 *
 * @return 0 if success, otherwise errorcode
 */
int xact_start(struct uas *uas, const struct sip_msg *msg,
	       const struct rule *rule, struct dialog *dlg)
{
	const struct step *first;
	struct xact *x;
	int err;

	if (!uas || !msg || !rule)
		return EINVAL;

	/* credentials first; a registrar answers REGISTER itself */
	if ((rule_auth(rule) && !auth_verify(rule_auth(rule), uas, msg)) ||
	    (rule_registrar(rule) &&
	     registrar_request(rule_registrar(rule), uas, msg)))
		return 0;

	x = mem_zalloc(sizeof(*x), xact_destructor);
	if (!x)
		return ENOMEM;

	list_append(uas_xacts(uas), &x->le, x);
	uas_count(uas, false, +1);
	x->uas    = uas;
	x->msg    = mem_ref((void *)msg);
	x->rule   = rule;
	x->scn    = mem_ref(uas_scenario(uas));
	x->dlg    = dlg;
	x->invite = !pl_strcmp(&msg->met, "INVITE");
	x->next   = list_head(rule_steps(rule));

	/* To-tags with the top bit set print the same in libre's %016llx
	 * and let early dialog N use tag ^ (N - 1) */
	x->tag = msg->tag | (1ULL << 63);
	x->msg->tag = x->tag;

	uas_local_addr(&x->laddr, msg);

	err = strans_alloc(&x->st, uas_stranss(uas), msg,
			   x->invite ? cancel_handler : NULL, x);
	if (err)
		goto out;

	/* RFC 4028 9: a 422 or 400 instead of the rule's answer */
	if (x->invite || !pl_strcmp(&msg->met, "UPDATE")) {
		uint16_t sc = timer_negotiate(&x->tn, msg, rule_timer(rule),
					      dlg);
		if (sc) {
			final_send(x, sc);
			goto out;
		}
	}

	first = x->next ? x->next->data : NULL;

	/* a lone `user` step and a user C1*C2*...: the codes in turn */
	if (first && !first->scode && !x->next->next &&
	    seq_is(&msg->uri.user) &&
	    !seq_steps(&x->seq, first, &msg->uri.user)) {
		x->next = list_head(&x->seq);
		first = x->next->data;
	}

	/* RFC 3261 17.2.1: an INVITE gets 100 Trying at once */
	if (x->invite && rule_auto100(rule) && first &&
	    step_code(x, first) != 100) {
		static const struct step trying = {.scode = 100,
						   .dialog = 1};

		bool final;

		err = step_send(x, &trying, 100, &final);
		if (err)
			goto out;
	}

	step_next(x);

 out:
	if (err)
		mem_deref(x);

	return err;
}
