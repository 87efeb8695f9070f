/**
 * @file indlg.c  Requests a scenario makes sipstub send in a dialog
 *
 * After a 2xx whose step has 'requests', the dialog gets one of these:
 * it sends the requests in order, each after its delay counted from the
 * previous one's final response (the first: from the 2xx), through
 * uac.c in libre's sip_dialog (CSeq, Route set, Request-URI). A
 * re-INVITE or UPDATE carries an SDP offer (hold: sendonly, resume:
 * sendrecv) and takes the answer from its 2xx; while it is pending, the
 * peer's own offer gets 491 (RFC 3261 14.2), and a 491 to ours is
 * retried after a random delay (RFC 3261 14.1). The session timer
 * (timer.c) hangs off the same state and sends its refreshes here.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "indlg"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	RETRY_491_MAX = 3,     /* tries after a 491, then the next request */
	ACK_WAIT = 200,        /* ms between looks for the ACK of our 2xx */
};

struct indlg {
	struct uas *uas;
	struct dialog *dlg;            /* owner */
	struct le *next;               /* next to send */
	const struct indlg_req *cur;   /* sent, awaiting its final */
	const struct indlg_req *pend;  /* a refresh waiting for cur */
	struct stimer *st;             /* session timer, or NULL */
	struct uac *uac;
	struct tmr tmr;
	char *contact;                 /* ours, for target refreshes */
	unsigned retries;
	bool offer;                    /* our offer awaits its answer */
	bool invite;                   /* our re-INVITE is in progress */
};


static void send_handler(void *arg);


static void indlg_destructor(void *arg)
{
	struct indlg *in = arg;

	tmr_cancel(&in->tmr);
	mem_deref(in->uac);
	mem_deref(in->st);
	mem_deref(in->contact);
}


const char *indlg_sdp_name(enum indlg_sdp sdp)
{
	switch (sdp) {

	case INDLG_SDP_OFFER:  return "offer";
	case INDLG_SDP_HOLD:   return "hold";
	case INDLG_SDP_RESUME: return "resume";
	default:               return "none";
	}
}


static bool is_offer_met(const char *met)
{
	return !strcmp(met, "INVITE") || !strcmp(met, "UPDATE");
}


static void next_start(struct indlg *in)
{
	const struct indlg_req *r;

	in->cur = NULL;
	in->retries = 0;

	if (in->pend) {
		in->cur  = in->pend;
		in->pend = NULL;
		tmr_start(&in->tmr, 0, send_handler, in);
		return;
	}

	if (!in->next)
		return;

	r = in->next->data;
	tmr_start(&in->tmr, r->delay, send_handler, in);
}


static int hdrs_print(struct re_printf *pf, const struct indlg_req *r)
{
	struct le *le;
	int err = 0;

	LIST_FOREACH(&r->hdrs, le) {
		const struct hdrval *hv = le->data;

		if (str_isset(hv->value))
			err |= re_hprintf(pf, "%s: %s\r\n", hv->name,
					  hv->value);
	}

	if (r->xhdrs)
		err |= re_hprintf(pf, "%s", r->xhdrs);

	return err;
}


static int body_make(struct indlg *in, const struct indlg_req *r,
		     struct mbuf **mbp, const char **ctypep)
{
	struct media *m = dialog_media(in->dlg);
	enum sdp_dir dir;
	struct mbuf *mb;

	if (!r->sdp) {
		if (!r->body)
			return 0;

		mb = mbuf_alloc(r->bodylen);
		if (!mb)
			return ENOMEM;

		(void)mbuf_write_mem(mb, (const uint8_t *)r->body,
				     r->bodylen);
		mb->pos = 0;
		*mbp = mb;
		*ctypep = r->ctype;
		return 0;
	}

	/* a call answered with 'sdp: false' has no media to offer */
	if (!m)
		return 0;

	*ctypep = "application/sdp";

	if (r->sdp == INDLG_SDP_OFFER)
		return media_offer(m, mbp);

	dir = r->sdp == INDLG_SDP_HOLD ? SDP_SENDONLY : SDP_SENDRECV;

	return media_offer_dir(m, dir, mbp);
}


static void resp_handler(int err, const struct sip_msg *msg, void *arg);


static int req_send(struct indlg *in, const struct indlg_req *r)
{
	struct sip_dialog *sdlg = dialog_sdlg(in->dlg);
	struct mbuf *body = NULL;
	const char *ctype = NULL;
	struct pl callid;
	uint32_t cseq;
	int err;

	if (!sdlg)
		return EINVAL;

	err = body_make(in, r, &body, &ctype);
	if (err)
		return err;

	/* sip_dialog_encode() takes this number and counts on */
	cseq = sip_dialog_lseq(sdlg);
	pl_set_str(&callid, sip_dialog_callid(sdlg));

	evlog_event(uas_evlog(in->uas), "request", NULL,
		    ",\"method\":\"%s\",\"call_id\":%H,\"cseq\":%u,"
		    "\"sdp\":\"%s\",\"retry\":%u", r->met, json_str_print,
		    &callid, cseq, body && r->sdp ? indlg_sdp_name(r->sdp) :
		    "none", in->retries);

	/* a response reported from within uac_send() may end the dialog
	 * and this state: nothing of it is touched after a success */
	in->offer  = body && r->sdp;
	in->invite = !strcmp(r->met, "INVITE");

	/* RFC 3261 12.2.1.1, RFC 3311 5.1: target refreshes have Contact */
	err = uac_send(&in->uac, in->uas, sdlg, r->met, resp_handler, in,
		       "%s%s%s"
		       "%H"
		       "%s%s%s"
		       "Content-Length: %u\r\n\r\n%b",
		       is_offer_met(r->met) ? "Contact: " : "",
		       is_offer_met(r->met) ? in->contact : "",
		       is_offer_met(r->met) ? "\r\n" : "",
		       hdrs_print, r,
		       body ? "Content-Type: " : "", body ? ctype : "",
		       body ? "\r\n" : "",
		       body ? (unsigned)mbuf_get_left(body) : 0u,
		       body ? mbuf_buf(body) : NULL,
		       body ? mbuf_get_left(body) : (size_t)0);
	if (err) {
		in->offer  = false;
		in->invite = false;
	}

	mem_deref(body);

	return err;
}


static void send_handler(void *arg)
{
	struct indlg *in = arg;
	const struct indlg_req *r;
	int err;

	if (!in->cur) {
		if (!in->next)
			return;
		in->cur = in->next->data;
		in->next = in->next->next;
	}

	r = in->cur;

	if (!strcmp(r->met, "BYE")) {
		/* the dialog and this state go with it */
		dialog_hangup(in->dlg, "scenario request");
		return;
	}

	/* RFC 3261 14.1: no INVITE while one is in progress either way;
	 * RFC 3311 5.1: no offer while one awaits its answer (an ACK) */
	if (is_offer_met(r->met) && !dialog_confirmed(in->dlg)) {
		tmr_start(&in->tmr, ACK_WAIT, send_handler, in);
		return;
	}

	err = req_send(in, r);
	if (err) {
		DEBUG_WARNING("%s: %m\n", r->met, err);
		next_start(in);
		if (r->doneh)
			r->doneh(NULL, r->arg);
	}
}


static void resp_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct indlg *in = arg;
	const struct indlg_req *r = in->cur;

	if (!err && msg->scode < 200)
		return;

	in->offer  = false;
	in->invite = false;

	/* RFC 3261 12.2.1.2: a 481 or 408 ends the dialog */
	if (err || msg->scode == 408 || msg->scode == 481) {
		dialog_hangup(in->dlg, err ? "no response to our in-dialog "
			      "request" : "408 or 481 to our in-dialog "
			      "request");
		return;
	}

	if (msg->scode == 491 && is_offer_met(r->met) &&
	    in->retries < RETRY_491_MAX) {
		/* RFC 3261 14.1: the Call-ID is the peer's: 0 to 2 s in
		 * units of 10 ms */
		++in->retries;
		tmr_start(&in->tmr, 10 * (rand_u16() % 201), send_handler,
			  in);
		return;
	}

	if (msg->scode < 300 && r->sdp && mbuf_get_left(msg->mb) &&
	    msg_ctype_cmp(&msg->ctyp, "application", "sdp") &&
	    dialog_media(in->dlg)) {
		if (media_remote_answer(dialog_media(in->dlg), msg->mb))
			evlog_event(uas_evlog(in->uas), "warning", NULL,
				    ",\"message\":\"bad SDP answer to our "
				    "%s\"", r->met);
	}

	/* the handler may end the dialog: nothing of in after it */
	next_start(in);
	if (r->doneh)
		r->doneh(msg, r->arg);
}


/**
 * The in-dialog request state of a dialog, made at the first call
 *
 * @param uas UAS
 * @param dlg The dialog (owns the state)
 * @param req A request of the dialog that reached us (the INVITE):
 *            our Contact is made from it
 *
 * @return The state, or NULL if out of memory
 */
struct indlg *indlg_get(struct uas *uas, struct dialog *dlg,
			const struct sip_msg *req)
{
	struct indlg *in = dialog_indlg(dlg);
	struct sa laddr;

	if (in || !uas || !dlg || !req)
		return in;

	in = mem_zalloc(sizeof(*in), indlg_destructor);
	if (!in)
		return NULL;

	in->uas = uas;
	in->dlg = dlg;

	/* the Contact of our 2xx (reply.c) */
	uas_local_addr(&laddr, req);
	if (re_sdprintf(&in->contact, "<sip:%r%s%J%s>", &req->uri.user,
			pl_isset(&req->uri.user) ? "@" : "", &laddr,
			sip_transp_param(req->tp))) {
		mem_deref(in);
		return NULL;
	}

	dialog_indlg_set(dlg, in);

	return in;
}


/**
 * Start sending the requests of a 2xx step in its dialog
 *
 * @param uas    UAS
 * @param dlg    The dialog (owns the state from now on)
 * @param reqs   The step's requests (struct indlg_req, not empty)
 * @param invite The INVITE answered
 *
 * @return 0 if success, otherwise errorcode
 */
int indlg_start(struct uas *uas, struct dialog *dlg,
		const struct list *reqs, const struct sip_msg *invite)
{
	struct indlg *in;

	if (!reqs || list_isempty(reqs))
		return EINVAL;

	in = indlg_get(uas, dlg, invite);
	if (!in)
		return ENOMEM;

	in->next = list_head(reqs);
	if (!in->cur)
		next_start(in);

	return 0;
}


/**
 * Send a request made at run time (a session-timer refresh) as soon as
 * the request in progress, if any, has its final response
 *
 * @param in State of the dialog
 * @param r  The request (kept by the caller until its doneh)
 */
void indlg_refresh(struct indlg *in, const struct indlg_req *r)
{
	if (!in || !r)
		return;

	if (in->cur) {
		in->pend = r;
		return;
	}

	in->cur = r;
	tmr_start(&in->tmr, 0, send_handler, in);
}


struct stimer *indlg_stimer(const struct indlg *in)
{
	return in ? in->st : NULL;
}


/** Hang a session timer off the state (NULL frees the current one) */
void indlg_stimer_set(struct indlg *in, struct stimer *st)
{
	if (!in)
		return;

	mem_deref(in->st);
	in->st = st;
}


/**
 * Glare: the peer's re-INVITE while ours is in progress (RFC 3261
 * 14.2), or its UPDATE with an offer while ours is pending (RFC 3311
 * 5.2) gets 491
 *
 * @param in  In-dialog request state of the dialog (may be NULL)
 * @param msg The peer's in-dialog request
 *
 * @return true if it gets 491 (logged as a "glare" event)
 */
bool indlg_glare(struct indlg *in, const struct sip_msg *msg)
{
	if (!in || !(in->offer || in->invite) || !msg)
		return false;

	if (!pl_strcmp(&msg->met, "UPDATE")) {
		/* only an offer collides */
		if (!in->offer || !mbuf_get_left(msg->mb) ||
		    !msg_ctype_cmp(&msg->ctyp, "application", "sdp"))
			return false;
	}
	else if (pl_strcmp(&msg->met, "INVITE")) {
		return false;
	}

	evlog_event(uas_evlog(in->uas), "glare", msg,
		    ",\"message\":\"our %s is pending: 491\"",
		    in->cur ? in->cur->met : "");

	return true;
}
