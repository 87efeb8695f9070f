/**
 * @file uac.c  Requests sipstub sends, and their client transactions
 *
 * A thin layer over libre's sip_drequestf(): libre runs the client
 * transaction (retransmission over UDP, timer B/F); this module keeps
 * each request on the UAS's list until its final response (so that
 * shutdown frees it), logs the outcome as a "uac" event and hands the
 * responses to its owner. The owner may drop a request at any time;
 * libre then ends the transaction on its own. A 2xx to an INVITE is
 * ACKed here (RFC 3261 13.2.2.4; libre ACKs the other finals). An
 * INVITE outside a dialog (uac_invite()) makes the dialog at its 2xx.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "uac"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


struct uac {
	struct le le;            /* in uas->xacts until the final */
	struct uas *uas;
	struct sip_request *req;
	struct uac **uacp;       /* the owner's pointer, cleared at the end */
	struct sip_dialog *dlg;  /* INVITE only: for the ACK of its 2xx */
	uac_resp_h *resph;
	void *arg;
	char met[16];
	char *callid;
	bool done;
};


static void uac_destructor(void *arg)
{
	struct uac *uac = arg;

	list_unlink(&uac->le);
	if (uac->uacp)
		*uac->uacp = NULL;
	mem_deref(uac->req);
	mem_deref(uac->dlg);
	mem_deref(uac->callid);
}


/* RFC 3261 13.2.2.4: the ACK of a 2xx, CSeq number of the INVITE */
static void ack_send(struct uac *uac, const struct sip_msg *msg)
{
	int err;

	err = sip_drequestf(NULL, uas_sip(uac->uas), false, "ACK", uac->dlg,
			    msg->cseq.num, NULL, NULL, NULL, NULL,
			    "Content-Length: 0\r\n\r\n");
	if (err)
		DEBUG_WARNING("ACK: %m\n", err);
}


static void resp_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct uac *uac = arg;
	struct pl callid;

	if (!err && msg && msg->scode < 200) {
		if (uac->resph)
			uac->resph(0, msg, uac->arg);
		return;
	}

	pl_set_str(&callid, uac->callid);
	if (err)
		evlog_event(uas_evlog(uac->uas), "uac", NULL,
			    ",\"method\":\"%s\",\"call_id\":%H,"
			    "\"error\":\"%m\"", uac->met, json_str_print,
			    &callid, err);
	else
		evlog_event(uas_evlog(uac->uas), "uac", NULL,
			    ",\"method\":\"%s\",\"call_id\":%H,\"cseq\":%u,"
			    "\"code\":%u,\"reason\":%H", uac->met,
			    json_str_print, &callid, msg->cseq.num,
			    msg->scode, json_str_print, &msg->reason);

	/* RFC 3261 12.1.2: an initial INVITE's 2xx makes the dialog */
	if (!err && uac->dlg && msg->scode < 300 &&
	    !sip_dialog_established(uac->dlg))
		err = sip_dialog_create(uac->dlg, msg);

	if (!err && uac->dlg && msg->scode < 300)
		ack_send(uac, msg);

	/* the request is done: nothing to cancel when the owner goes */
	uac->done = true;
	uac->req = NULL;
	if (uac->uacp)
		*uac->uacp = NULL;
	uac->uacp = NULL;

	if (uac->resph)
		uac->resph(err, err ? NULL : msg, uac->arg);

	mem_deref(uac);
}


static int uac_vsend(struct uac **uacp, struct uas *uas,
		     struct sip_dialog *dlg, struct sip_auth *auth,
		     const char *met, uac_resp_h *resph, void *arg,
		     const char *fmt, va_list ap)
{
	struct uac *uac;
	char *tail = NULL;
	int err;

	if (!uas || !dlg || !met || !fmt || strlen(met) >= sizeof(uac->met))
		return EINVAL;

	uac = mem_zalloc(sizeof(*uac), uac_destructor);
	if (!uac)
		return ENOMEM;

	list_append(uas_xacts(uas), &uac->le, uac);
	uac->uas   = uas;
	uac->resph = resph;
	uac->arg   = arg;
	str_ncpy(uac->met, met, sizeof(uac->met));
	if (!strcmp(met, "INVITE"))
		uac->dlg = mem_ref(dlg);

	err = str_dup(&uac->callid, sip_dialog_callid(dlg));
	if (err)
		goto out;

	err = re_vsdprintf(&tail, fmt, ap);
	if (err)
		goto out;

	uac->uacp = uacp;
	if (uacp)
		*uacp = uac;

	/* the guard outlives a final reported from within the call */
	mem_ref(uac);
	err = sip_drequestf(&uac->req, uas_sip(uas), true, met, dlg, 0, auth,
			    NULL, resp_handler, uac, "%s", tail);
	if (err && uac->done)
		err = 0;
	mem_deref(uac);

 out:
	mem_deref(tail);

	if (err) {
		DEBUG_WARNING("%s: %m\n", met, err);
		mem_deref(uac);
	}

	return err;
}


/**
 * Send a request in a dialog
 *
 * @param uacp  Set to the request until its final response, then to
 *              NULL (optional); mem_deref() of it drops the request
 * @param uas   UAS (its SIP stack and event log)
 * @param dlg   libre dialog: Request-URI, route set, tags, CSeq
 * @param met   Method
 * @param resph Response handler, for every response (optional): err
 *              non-zero and msg NULL if none came (timeout)
 * @param arg   Handler argument
 * @param fmt   Further headers, the blank line and the body
 *
 * @return 0 if success, otherwise errorcode
 */
int uac_send(struct uac **uacp, struct uas *uas, struct sip_dialog *dlg,
	     const char *met, uac_resp_h *resph, void *arg,
	     const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = uac_vsend(uacp, uas, dlg, NULL, met, resph, arg, fmt, ap);
	va_end(ap);

	return err;
}


/**
 * Send an INVITE, initial (the dialog not yet established: its 2xx
 * establishes it) or in a dialog, with credentials for a challenge
 *
 * @param auth  libre's client authentication state (optional)
 *
 * The other parameters as uac_send().
 */
int uac_invite(struct uac **uacp, struct uas *uas, struct sip_dialog *dlg,
	       struct sip_auth *auth, uac_resp_h *resph, void *arg,
	       const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = uac_vsend(uacp, uas, dlg, auth, "INVITE", resph, arg, fmt, ap);
	va_end(ap);

	return err;
}
