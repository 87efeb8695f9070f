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
	struct dialog *dlg;       /* in-dialog requests     */
	struct le *next;          /* next step              */
	struct tqent tmr;
	struct tqent tmr_cap;
	struct sa laddr;
	struct media *media;
	struct mbuf *sdp;         /* our SDP for this INVITE */
	uint64_t tag;             /* To-tag of dialog 1     */
	uint64_t live_tag;        /* last early dialog not ended by 199 */
	bool invite;
};


static void step_next(struct xact *x);
static void cap_handler(void *arg);


static void xact_destructor(void *arg)
{
	struct xact *x = arg;

	list_unlink(&x->le);
	uas_count(x->uas, false, -1);
	tq_cancel(&x->tmr);
	tq_cancel(&x->tmr_cap);
	mem_deref(x->st);
	mem_deref(x->sdp);
	mem_deref(x->media);
	mem_deref(x->msg);
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
	int err;

	if (x->dlg) {
		dialog_response_sent(x->dlg, x->msg, resp);
		return;
	}

	x->msg->tag = step_tag(x, step);

	err = dialog_alloc(NULL, x->uas, x->msg, resp, x->media,
			   step->hangup);
	if (err)
		DEBUG_WARNING("dialog: %m\n", err);
}


static void subscribe_accepted(struct xact *x, const struct step *step)
{
	int err;

	x->msg->tag = step_tag(x, step);

	err = notify_send(x->uas, x->msg);
	if (err)
		DEBUG_WARNING("NOTIFY after SUBSCRIBE: %m\n", err);
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
	bool sdp = false;
	uint64_t totag;
	struct reply r;
	int err = 0;

	totag = (sc > 100 && !x->dlg) ? step_tag(x, step) : 0;

	if (sdp_wanted(x, step, sc)) {
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
	else if (step->body) {
		err = body_expand(x, step, &body);
		ctype = step->ctype;
	}

	if (err)
		goto out;

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
		else if (x->dlg && !pl_strcmp(&x->msg->met, "BYE"))
			dialog_terminate(x->dlg);
		else if (!x->dlg && !pl_strcmp(&x->msg->met, "SUBSCRIBE"))
			subscribe_accepted(x, step);
	}

 out:
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


static void step_handler(void *arg)
{
	struct xact *x = arg;
	const struct step *step = x->next->data;
	uint16_t sc = step_code(x, step);
	bool final = false;
	int err = 0;

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

	x = mem_zalloc(sizeof(*x), xact_destructor);
	if (!x)
		return ENOMEM;

	list_append(uas_xacts(uas), &x->le, x);
	uas_count(uas, false, +1);
	x->uas    = uas;
	x->msg    = mem_ref((void *)msg);
	x->rule   = rule;
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

	first = x->next ? x->next->data : NULL;

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
