/**
 * @file dialog.c  INVITE dialogs after the 2xx: ACK, BYE, hangup
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "dialog"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


struct dialog {
	struct le he;              /* in uas dialogs, by Call-ID */
	struct uas *uas;
	struct sip_dialog *sdlg;
	struct sip_msg *req;       /* INVITE whose 2xx awaits the ACK */
	struct mbuf *resp;         /* that 2xx                        */
	struct sa dst;
	struct media *media;
	struct sip_request *bye;
	struct tqent tmr_rtx;
	struct tqent tmr_hangup;
	uint32_t rtx_elapsed;      /* ms since the 2xx, nominal */
	uint32_t rtx_wait;         /* ms of the current wait    */
	uint32_t rtx_ival;
	uint32_t inv_cseq;         /* CSeq of the INVITE awaiting its ACK */
	bool ending;
	bool counted;
};


static void dialog_destructor(void *arg)
{
	struct dialog *d = arg;

	if (d->counted)
		uas_count(d->uas, true, -1);
	hash_unlink(&d->he);
	tq_cancel(&d->tmr_rtx);
	tq_cancel(&d->tmr_hangup);
	mem_deref(d->bye);
	mem_deref(d->media);
	mem_deref(d->resp);
	mem_deref(d->req);
	mem_deref(d->sdlg);
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
	int err;

	if (d->ending)
		return;

	d->ending = true;
	tq_cancel(&d->tmr_rtx);
	tq_cancel(&d->tmr_hangup);

	/* after the ACK the INVITE is no longer kept */
	if (d->req) {
		evlog_event(uas_evlog(d->uas), "hangup", d->req,
			    ",\"message\":\"%s\"", why);
	}
	else {
		struct pl callid;

		pl_set_str(&callid, sip_dialog_callid(d->sdlg));
		evlog_event(uas_evlog(d->uas), "hangup", NULL,
			    ",\"call_id\":%H,\"message\":\"%s\"",
			    json_str_print, &callid, why);
	}

	err = sip_drequestf(&d->bye, uas_sip(d->uas), true, "BYE", d->sdlg,
			    0, NULL, NULL, bye_resp_handler, d,
			    "Content-Length: 0\r\n\r\n");
	if (err) {
		DEBUG_WARNING("BYE: %m\n", err);
		mem_deref(d);
	}
}


/* RFC 3261 13.3.1.4: the UAS core retransmits its 2xx until the ACK */
static void rtx_handler(void *arg)
{
	struct dialog *d = arg;
	uint32_t next;

	/* nominal time, so that the waits take a few fixed values */
	d->rtx_elapsed += d->rtx_wait;

	if (d->rtx_elapsed >= 64 * SIP_T1) {
		bye_send(d, "no ACK for the 2xx within 64*T1");
		return;
	}

	(void)sip_send(uas_sip(d->uas), d->req->sock, d->req->tp, &d->dst,
		       d->resp);

	/* the last wait ends at 64*T1, where the BYE goes */
	d->rtx_ival = MIN(2 * d->rtx_ival, SIP_T2);
	next = MIN(d->rtx_ival, 64 * SIP_T1 - d->rtx_elapsed);
	d->rtx_wait = next;
	(void)tq_start(uas_tqs(d->uas), &d->tmr_rtx, next, rtx_handler, d);
}


static void hangup_handler(void *arg)
{
	bye_send(arg, "hangup timer");
}


static void rtx_start(struct dialog *d, const struct sip_msg *req,
		      struct mbuf *resp)
{
	mem_deref(d->req);
	mem_deref(d->resp);
	d->req  = mem_ref((void *)req);
	d->resp = mem_ref(resp);
	d->inv_cseq = req->cseq.num;
	sip_reply_addr(&d->dst, req, msg_param_exists(&req->via.params,
						      "rport", NULL) == 0);

	d->rtx_elapsed = 0;
	d->rtx_ival    = SIP_T1;
	d->rtx_wait    = SIP_T1;
	(void)tq_start(uas_tqs(d->uas), &d->tmr_rtx, d->rtx_ival, rtx_handler,
		       d);
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

	d = mem_zalloc(sizeof(*d), dialog_destructor);
	if (!d)
		return ENOMEM;

	d->uas = uas;

	err = sip_dialog_accept(&d->sdlg, msg);
	if (err)
		goto out;

	d->media = mem_ref(media);

	hash_append(uas_dialogs(uas), hash_joaat_pl(&msg->callid), &d->he, d);
	uas_count(uas, true, +1);
	d->counted = true;

	rtx_start(d, msg, resp);

	if (hangup)
		(void)tq_start(uas_tqs(uas), &d->tmr_hangup, hangup,
			       hangup_handler, d);

 out:
	if (err)
		mem_deref(d);
	else if (dlgp)
		*dlgp = d;

	return err;
}


static bool dialog_cmp_handler(struct le *le, void *arg)
{
	const struct dialog *d = le->data;

	return sip_dialog_cmp(d->sdlg, arg);
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
	return sip_dialog_rseq_valid(d->sdlg, msg);
}


/**
 * The ACK to our 2xx: stop retransmitting, take an SDP answer
 */
void dialog_ack(struct dialog *d, const struct sip_msg *msg)
{
	if (!d || !msg)
		return;

	if (!tq_isrunning(&d->tmr_rtx))
		return;

	if (msg->cseq.num != d->inv_cseq)
		return;

	tq_cancel(&d->tmr_rtx);

	/* a held call keeps only what it needs: its INVITE and 2xx go */
	d->req  = mem_deref(d->req);
	d->resp = mem_deref(d->resp);

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

	rtx_start(d, req, resp);
}


struct media *dialog_media(struct dialog *d)
{
	return d ? d->media : NULL;
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
