/**
 * @file dialog.c  INVITE dialogs after the 2xx: ACK, BYE, hangup
 *
 * A held call keeps only what it matches requests with: the Call-ID,
 * both tags and the last remote CSeq. libre's sip_dialog, which sends
 * our BYE, is made at the 2xx only if the hangup timer will need it;
 * otherwise from the INVITE's headers (a copy of the few it reads) when
 * the 2xx or a re-INVITE's 2xx goes unacknowledged.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "dialog"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


/* RFC 3261 13.3.1.4: a 2xx retransmitted until its ACK */
struct rtx {
	struct sip_msg *req;       /* INVITE whose 2xx awaits the ACK */
	struct mbuf *resp;         /* that 2xx                        */
	struct sa dst;
	struct tqent tmr;
	uint32_t elapsed;          /* ms since the 2xx, nominal */
	uint32_t wait;             /* ms of the current wait    */
	uint32_t ival;
	uint32_t cseq;             /* CSeq of the INVITE */
};

struct dialog {
	struct le he;              /* in uas dialogs, by Call-ID */
	struct uas *uas;
	struct rtx *rtx;           /* NULL once the ACK came */
	struct media *media;
	struct sip_dialog *sdlg;   /* for our BYE, see dialog_new() */
	struct sip_request *bye;
	struct tqent *hangup;      /* only if the hangup timer runs */
	struct indlg *indlg;       /* only if the scenario sends requests */
	uint64_t ltag;             /* our To-tag, %016llx on the wire */
	uint32_t rseq;             /* last remote CSeq */
	uint32_t callid_len;
	uint32_t rtag_len;
	uint32_t hdrs_len;         /* 0 if sdlg was made at the 2xx */
	uint32_t refers;           /* REFERs accepted */
	bool ending;
	bool counted;
	char str[];                /* Call-ID, remote tag, INVITE headers */
};

struct hdrs_enc {
	char *p;                   /* NULL: only count */
	size_t len;
};


static void hangup_destructor(void *arg)
{
	tq_cancel(arg);
}


static void rtx_destructor(void *arg)
{
	struct rtx *rtx = arg;

	tq_cancel(&rtx->tmr);
	mem_deref(rtx->resp);
	mem_deref(rtx->req);
}


static void dialog_destructor(void *arg)
{
	struct dialog *d = arg;

	if (d->counted)
		uas_count(d->uas, true, -1);
	media_set_endh(d->media, NULL, NULL);
	hash_unlink(&d->he);
	mem_deref(d->indlg);
	mem_deref(d->hangup);
	mem_deref(d->rtx);
	mem_deref(d->bye);
	mem_deref(d->media);
	mem_deref(d->sdlg);
}


static struct pl callid_pl(const struct dialog *d)
{
	struct pl pl = {d->str, d->callid_len};

	return pl;
}


static struct pl rtag_pl(const struct dialog *d)
{
	struct pl pl = {d->str + d->callid_len, d->rtag_len};

	return pl;
}


static struct pl hdrs_pl(const struct dialog *d)
{
	struct pl pl = {d->str + d->callid_len + d->rtag_len, d->hdrs_len};

	return pl;
}


/* The tag as libre's sip_dialog prints it: %016llx */
static bool tag_is(const struct pl *pl, uint64_t tag)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (pl->l != 16)
		return false;

	for (i = 0; i < 16; ++i) {
		if (pl->p[i] != hex[(tag >> (60 - 4 * i)) & 0xf])
			return false;
	}

	return true;
}


static char *put(char *p, const char *s, size_t l)
{
	if (l)
		memcpy(p, s, l);

	return p + l;
}


static char *put_hdr(char *p, const char *name, const struct pl *val)
{
	p = put(p, name, strlen(name));
	p = put(p, val->p, val->l);

	return put(p, "\r\n", 2);
}


static bool rr_handler(const struct sip_hdr *hdr, const struct sip_msg *msg,
		       void *arg)
{
	struct hdrs_enc *enc = arg;
	(void)msg;

	enc->len += sizeof("Record-Route: \r\n") - 1 + hdr->val.l;
	if (enc->p)
		enc->p = put_hdr(enc->p, "Record-Route: ", &hdr->val);

	return false;
}


/* What sip_dialog_accept() reads of the INVITE, as header lines */
static size_t hdrs_encode(char *p, const struct sip_msg *msg,
			  const struct sip_hdr *contact)
{
	struct hdrs_enc enc = {p, 0};

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_RECORD_ROUTE, rr_handler,
				&enc);

	enc.len += sizeof("From: \r\nTo: \r\nContact: \r\n") - 1 +
		msg->from.val.l + msg->to.val.l + contact->val.l;
	if (p) {
		enc.p = put_hdr(enc.p, "From: ", &msg->from.val);
		enc.p = put_hdr(enc.p, "To: ", &msg->to.val);
		(void)put_hdr(enc.p, "Contact: ", &contact->val);
	}

	return enc.len;
}


/* libre's sip_dialog from the INVITE's headers kept at the 2xx */
static int sdlg_make(struct dialog *d)
{
	struct sip_msg *msg = NULL;
	struct pl callid, hdrs;
	struct mbuf *mb;
	int err;

	if (!d->hdrs_len)
		return EINVAL;

	callid = callid_pl(d);
	hdrs = hdrs_pl(d);

	mb = mbuf_alloc(64 + callid.l + hdrs.l);
	if (!mb)
		return ENOMEM;

	/* sip_dialog_accept() needs no Via; the remote CSeq it keeps is
	 * unused, as dialog_cseq_valid() checks CSeq */
	err = mbuf_printf(mb, "INVITE sip:sipstub SIP/2.0\r\n%rCall-ID: %r"
			  "\r\n\r\n", &hdrs, &callid);
	if (err)
		goto out;

	mb->pos = 0;
	err = sip_msg_decode(&msg, mb);
	if (err)
		goto out;

	msg->tag = d->ltag;
	err = sip_dialog_accept(&d->sdlg, msg);

 out:
	mem_deref(msg);
	mem_deref(mb);

	return err;
}


static void bye_resp_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct dialog *d = arg;

	if (msg && msg->scode < 200)
		return;

	d->bye = NULL;
	if (err)
		DEBUG_NOTICE("BYE: %m\n", err);

	mem_deref(d);
}


static void bye_send(struct dialog *d, const char *why)
{
	int err = 0;

	if (d->ending)
		return;

	d->ending = true;
	d->hangup = mem_deref(d->hangup);
	d->indlg  = mem_deref(d->indlg);

	/* after the ACK the INVITE is no longer kept */
	if (d->rtx) {
		evlog_event(uas_evlog(d->uas), "hangup", d->rtx->req,
			    ",\"message\":\"%s\"", why);
		d->rtx = mem_deref(d->rtx);
	}
	else {
		struct pl callid = callid_pl(d);

		evlog_event(uas_evlog(d->uas), "hangup", NULL,
			    ",\"call_id\":%H,\"message\":\"%s\"",
			    json_str_print, &callid, why);
	}

	if (!d->sdlg)
		err = sdlg_make(d);
	if (!err)
		err = sip_drequestf(&d->bye, uas_sip(d->uas), true, "BYE",
				    d->sdlg, 0, NULL, NULL, bye_resp_handler,
				    d, "Content-Length: 0\r\n\r\n");
	if (err) {
		DEBUG_WARNING("BYE: %m\n", err);
		mem_deref(d);
	}
}


/* RFC 3261 13.3.1.4: the UAS core retransmits its 2xx until the ACK */
static void rtx_handler(void *arg)
{
	struct dialog *d = arg;
	struct rtx *rtx = d->rtx;
	uint32_t next;

	/* nominal time, so that the waits take a few fixed values */
	rtx->elapsed += rtx->wait;

	if (rtx->elapsed >= 64 * SIP_T1) {
		bye_send(d, "no ACK for the 2xx within 64*T1");
		return;
	}

	(void)sip_send(uas_sip(d->uas), rtx->req->sock, rtx->req->tp,
		       &rtx->dst, rtx->resp);

	/* the last wait ends at 64*T1, where the BYE goes */
	rtx->ival = MIN(2 * rtx->ival, SIP_T2);
	next = MIN(rtx->ival, 64 * SIP_T1 - rtx->elapsed);
	rtx->wait = next;
	(void)tq_start(uas_tqs(d->uas), &rtx->tmr, next, rtx_handler, d);
}


static void hangup_handler(void *arg)
{
	bye_send(arg, "hangup timer");
}


static void media_end_handler(void *arg)
{
	bye_send(arg, "end of the media file");
}


static int rtx_start(struct dialog *d, const struct sip_msg *req,
		     struct mbuf *resp)
{
	struct rtx *rtx = d->rtx;

	if (!rtx) {
		rtx = mem_zalloc(sizeof(*rtx), rtx_destructor);
		if (!rtx)
			return ENOMEM;

		d->rtx = rtx;
	}

	mem_deref(rtx->req);
	mem_deref(rtx->resp);
	rtx->req  = mem_ref((void *)req);
	rtx->resp = mem_ref(resp);
	rtx->cseq = req->cseq.num;
	sip_reply_addr(&rtx->dst, req, msg_param_exists(&req->via.params,
							"rport", NULL) == 0);

	rtx->elapsed = 0;
	rtx->ival    = SIP_T1;
	rtx->wait    = SIP_T1;
	(void)tq_start(uas_tqs(d->uas), &rtx->tmr, rtx->ival, rtx_handler,
		       d);

	return 0;
}


/*
 * What sip_dialog_accept() fails on, in its order: no Contact or
 * Call-ID, a Contact it cannot decode, no From-tag, and a first
 * Record-Route it cannot decode (without one the route is the Contact,
 * decoded already). Such an INVITE gets its 2xx but no dialog.
 */
static int accept_check(const struct sip_msg *msg,
			const struct sip_hdr *contact)
{
	const struct sip_hdr *rr;
	struct sip_addr addr;

	if (!contact || !msg->callid.p)
		return EBADMSG;

	if (sip_addr_decode(&addr, &contact->val))
		return EBADMSG;

	if (!msg->from.tag.p)
		return EINVAL;

	rr = sip_msg_hdr(msg, SIP_HDR_RECORD_ROUTE);

	return rr ? sip_addr_decode(&addr, &rr->val) : 0;
}


/*
 * The dialog with what it matches requests with. With a hangup timer
 * libre's sip_dialog is made now, as sip_dialog_accept() did for every
 * dialog before; else the INVITE's headers are kept for it.
 */
static int dialog_new(struct dialog **dp, const struct sip_msg *msg,
		      bool hangup)
{
	const struct sip_hdr *contact = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	struct sip_dialog *sdlg = NULL;
	struct dialog *d;
	size_t hdrs_len = 0;
	char *p;
	int err;

	if (hangup)
		err = sip_dialog_accept(&sdlg, msg);
	else
		err = accept_check(msg, contact);
	if (err)
		return err;

	if (!hangup)
		hdrs_len = hdrs_encode(NULL, msg, contact);

	d = mem_zalloc(sizeof(*d) + msg->callid.l + msg->from.tag.l +
		       hdrs_len, dialog_destructor);
	if (!d) {
		mem_deref(sdlg);
		return ENOMEM;
	}

	d->sdlg       = sdlg;
	d->ltag       = msg->tag;
	d->rseq       = msg->cseq.num;
	d->callid_len = (uint32_t)msg->callid.l;
	d->rtag_len   = (uint32_t)msg->from.tag.l;
	d->hdrs_len   = (uint32_t)hdrs_len;

	p = put(d->str, msg->callid.p, msg->callid.l);
	p = put(p, msg->from.tag.p, msg->from.tag.l);
	if (hdrs_len)
		(void)hdrs_encode(p, msg, contact);

	if (hangup) {
		d->hangup = mem_zalloc(sizeof(*d->hangup), hangup_destructor);
		if (!d->hangup) {
			mem_deref(d);
			return ENOMEM;
		}
	}

	*dp = d;

	return 0;
}


/**
 * Create the dialog of a 2xx to an INVITE
 *
 * @param dlgp   Dialog, set on success (optional)
 * @param uas    UAS (owns the dialog)
 * @param msg    The INVITE, its tag set to our To-tag
 * @param resp   The 2xx sent
 * @param media  The call's media (referenced)
 * @param hangup ms until we send BYE, 0 for never
 *
 * @return 0 if success, otherwise errorcode
 */
int dialog_alloc(struct dialog **dlgp, struct uas *uas,
		 const struct sip_msg *msg, struct mbuf *resp,
		 struct media *media, uint32_t hangup)
{
	struct dialog *d;
	int err;

	if (!uas || !msg || !resp)
		return EINVAL;

	err = dialog_new(&d, msg, hangup != 0);
	if (err)
		return err;

	d->uas = uas;

	err = rtx_start(d, msg, resp);
	if (err)
		goto out;

	d->media = mem_ref(media);
	media_set_endh(media, media_end_handler, d);

	hash_append(uas_dialogs(uas), hash_joaat_pl(&msg->callid), &d->he, d);
	uas_count(uas, true, +1);
	d->counted = true;

	if (hangup)
		(void)tq_start(uas_tqs(uas), d->hangup, hangup,
			       hangup_handler, d);

 out:
	if (err)
		mem_deref(d);
	else if (dlgp)
		*dlgp = d;

	return err;
}


/* sip_dialog_cmp(): Call-ID, local tag and remote tag */
static bool dialog_cmp_handler(struct le *le, void *arg)
{
	const struct dialog *d = le->data;
	const struct sip_msg *msg = arg;
	const struct pl *ltag = msg->req ? &msg->to.tag : &msg->from.tag;
	const struct pl *rtag = msg->req ? &msg->from.tag : &msg->to.tag;
	const struct pl callid = callid_pl(d), drtag = rtag_pl(d);

	return !pl_cmp(&msg->callid, &callid) && tag_is(ltag, d->ltag) &&
		!pl_cmp(rtag, &drtag);
}


/**
 * Find the dialog of an in-dialog request
 */
struct dialog *dialog_find(struct uas *uas, const struct sip_msg *msg)
{
	return list_ledata(hash_lookup(uas_dialogs(uas),
				       hash_joaat_pl(&msg->callid),
				       dialog_cmp_handler, (void *)msg));
}


/**
 * Check the CSeq of an in-dialog request (RFC 3261 12.2.2)
 */
bool dialog_cseq_valid(struct dialog *d, const struct sip_msg *msg)
{
	if (!d || !msg || !msg->req)
		return false;

	if (msg->cseq.num < d->rseq)
		return false;

	d->rseq = msg->cseq.num;

	return true;
}


/**
 * The ACK to our 2xx: stop retransmitting, take an SDP answer
 */
void dialog_ack(struct dialog *d, const struct sip_msg *msg)
{
	if (!d || !msg)
		return;

	if (!d->rtx || !tq_isrunning(&d->rtx->tmr))
		return;

	if (msg->cseq.num != d->rtx->cseq)
		return;

	/* a held call keeps only what it needs: its INVITE and 2xx go */
	d->rtx = mem_deref(d->rtx);

	if (mbuf_get_left(msg->mb) && d->media &&
	    msg_ctype_cmp(&msg->ctyp, "application", "sdp")) {
		struct mbuf *mb = msg->mb;
		size_t pos = mb->pos;

		if (media_remote_answer(d->media, mb))
			evlog_event(uas_evlog(d->uas), "warning", msg,
				    ",\"message\":\"bad SDP answer in ACK\"");
		mb->pos = pos;
	}
}


/**
 * A 2xx sent to an in-dialog INVITE: retransmit it until the ACK
 */
void dialog_response_sent(struct dialog *d, const struct sip_msg *req,
			  struct mbuf *resp)
{
	if (!d || !req || !resp)
		return;

	if (rtx_start(d, req, resp))
		DEBUG_WARNING("2xx retransmission: out of memory\n");
}


struct media *dialog_media(struct dialog *d)
{
	return d ? d->media : NULL;
}


/**
 * libre's sip_dialog of a dialog, for requests sipstub sends in it
 * (made from the kept INVITE headers at the first call)
 *
 * @param d Dialog
 *
 * @return The sip_dialog, or NULL if it cannot be made
 */
struct sip_dialog *dialog_sdlg(struct dialog *d)
{
	if (!d)
		return NULL;

	if (!d->sdlg && sdlg_make(d))
		return NULL;

	return d->sdlg;
}


/**
 * Count a REFER accepted in the dialog (RFC 3515 2.4.6)
 *
 * @param d Dialog
 *
 * @return How many so far, this one included
 */
uint32_t dialog_refer_count(struct dialog *d)
{
	return d ? ++d->refers : 0;
}


/**
 * The peer ended the dialog (2xx sent to its BYE)
 */
void dialog_terminate(struct dialog *d)
{
	if (!d || d->bye)
		return;

	mem_deref(d);
}


static bool callid_cmp_handler(struct le *le, void *arg)
{
	const struct dialog *d = le->data;
	const struct pl callid = callid_pl(d);

	return !pl_cmp(arg, &callid);
}


/**
 * Send BYE and end the dialog (logged as a "hangup" event)
 *
 * @param d   Dialog; it may be gone when this returns
 * @param why Reason for the event log (JSON-safe text)
 */
void dialog_hangup(struct dialog *d, const char *why)
{
	if (!d || !why)
		return;

	bye_send(d, why);
}


/** True once the ACK of every 2xx of ours came (RFC 3261 14.1) */
bool dialog_confirmed(const struct dialog *d)
{
	return d && !d->rtx && !d->ending;
}


/** True while a dialog of this Call-ID is kept (until its BYE's final) */
bool dialog_exists(struct uas *uas, const struct pl *callid)
{
	if (!uas || !callid)
		return false;

	return hash_lookup(uas_dialogs(uas), hash_joaat_pl(callid),
			   callid_cmp_handler, (void *)callid) != NULL;
}


/**
 * Hang up a call from outside: BYE in the dialog of a Call-ID
 *
 * @param uas    UAS
 * @param callid Call-ID
 * @param why    For the hangup event
 *
 * @return 0 if the BYE goes, ENOENT if there is no such dialog, EAGAIN
 *         before the ACK of the 2xx, EALREADY if it is ending already
 */
int dialog_hangup_callid(struct uas *uas, const struct pl *callid,
			 const char *why)
{
	struct dialog *d;

	if (!uas || !callid)
		return EINVAL;

	d = list_ledata(hash_lookup(uas_dialogs(uas), hash_joaat_pl(callid),
				    callid_cmp_handler, (void *)callid));
	if (!d)
		return ENOENT;

	if (d->ending || d->bye)
		return EALREADY;

	/* RFC 3261 15: not before the ACK (or the end of the 2xx's
	 * retransmissions, which sends BYE itself) */
	if (d->rtx)
		return EAGAIN;

	bye_send(d, why);

	return 0;
}


/**
 * Hang the in-dialog request state of a scenario off the dialog,
 * which frees it with itself or at the hangup
 */
void dialog_indlg_set(struct dialog *d, struct indlg *in)
{
	if (!d)
		return;

	mem_deref(d->indlg);
	d->indlg = in;
}


struct indlg *dialog_indlg(const struct dialog *d)
{
	return d ? d->indlg : NULL;
}
