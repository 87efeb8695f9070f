/**
 * @file refer.c  REFER in an INVITE dialog (RFC 3515, RFC 4488)
 *
 * A 2xx to REFER creates an implicit subscription to the refer event
 * in the INVITE dialog: NOTIFYs with message/sipfrag bodies, 100 Trying
 * first, then the final status of the referenced request, which ends
 * it. Refer-Sub: false (RFC 4488) asks for no subscription. The
 * NOTIFYs go one after the other, each after the previous one's final
 * response (RFC 6665 4.2.2).
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "refer"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	REFER_EXPIRES = 60,     /* s, of the implicit subscription */
};

/** One NOTIFY to send */
struct rnote {
	struct le le;
	uint32_t delay;
	char *state;
	char *body;
	char *ctype;
};

struct refer {
	struct le le;           /* in subs, freed on shutdown */
	struct uas *uas;
	struct sip_dialog *sdlg;
	struct uac *uac;
	struct list notes;      /* struct rnote, still to send */
	struct tmr tmr;
	char event[32];         /* refer, or refer;id=CSeq */
	char *contact;
};


static void rnote_destructor(void *arg)
{
	struct rnote *n = arg;

	list_unlink(&n->le);
	mem_deref(n->state);
	mem_deref(n->body);
	mem_deref(n->ctype);
}


static void refer_destructor(void *arg)
{
	struct refer *r = arg;

	list_unlink(&r->le);
	tmr_cancel(&r->tmr);
	list_flush(&r->notes);
	mem_deref(r->uac);
	mem_deref(r->sdlg);
	mem_deref(r->contact);
}


static int note_add(struct refer *r, uint32_t delay, const char *state,
		    const char *body, const char *ctype)
{
	struct rnote *n;
	int err;

	n = mem_zalloc(sizeof(*n), rnote_destructor);
	if (!n)
		return ENOMEM;

	list_append(&r->notes, &n->le, n);
	n->delay = delay;

	err  = str_dup(&n->state, state);
	err |= str_dup(&n->body, body ? body : "");
	err |= str_dup(&n->ctype, ctype ? ctype : "message/sipfrag");

	return err;
}


static void send_next(void *arg);


static void notify_resp(int err, const struct sip_msg *msg, void *arg)
{
	struct refer *r = arg;
	const struct rnote *n;

	if (!err && msg->scode < 200)
		return;

	/* RFC 6665 4.2.2: a failed NOTIFY ends the subscription */
	n = list_ledata(list_head(&r->notes));
	if (err || msg->scode >= 300 || !n) {
		mem_deref(r);
		return;
	}

	tmr_start(&r->tmr, n->delay, send_next, r);
}


static void send_next(void *arg)
{
	struct refer *r = arg;
	struct rnote *n = list_ledata(list_head(&r->notes));
	struct pl callid, st, frag;
	size_t len;
	int err;

	len = str_len(n->body);

	pl_set_str(&callid, sip_dialog_callid(r->sdlg));
	pl_set_str(&st, n->state);
	pl_set_str(&frag, n->body);
	while (frag.l && lws_is(frag.p[frag.l - 1]))
		--frag.l;
	evlog_event(uas_evlog(r->uas), "notify", NULL,
		    ",\"call_id\":%H,\"package\":\"%s\",\"state\":%H,"
		    "\"body_len\":%zu,\"sipfrag\":%H", json_str_print,
		    &callid, r->event, json_str_print, &st, len,
		    json_str_print, &frag);

	/* RFC 3515 2.4.5: the status of the referenced request */
	err = uac_send(&r->uac, r->uas, r->sdlg, "NOTIFY", notify_resp, r,
		       "Contact: %s\r\n"
		       "Event: %s\r\n"
		       "Subscription-State: %s\r\n"
		       "Content-Type: %s\r\n"
		       "Content-Length: %zu\r\n\r\n%s",
		       r->contact, r->event, n->state, n->ctype, len,
		       n->body);
	mem_deref(n);

	if (err) {
		DEBUG_WARNING("NOTIFY: %m\n", err);
		mem_deref(r);
	}
}


/* Refer-Sub (RFC 4488 4): true, false, or absent (true) */
static int refer_sub(const struct sip_msg *msg, bool *subp)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_REFER_SUB);
	struct pl v;

	*subp = true;
	if (!h)
		return 0;

	if (re_regex(h->val.p, h->val.l, "[a-zA-Z]+[^;]*", &v, NULL))
		return EBADMSG;

	if (!pl_strcasecmp(&v, "false"))
		*subp = false;
	else if (pl_strcasecmp(&v, "true"))
		return EBADMSG;

	return 0;
}


/**
 * Check a REFER in a dialog that the scenario answers with a 2xx
 *
 * @param msg    The REFER
 * @param scode  Its 2xx (202 or 200)
 * @param xhdrsp Set to headers for the 2xx (Refer-Sub), or left NULL
 *
 * @return The code to answer: scode, or 400 for a malformed REFER
 */
uint16_t refer_check(const struct sip_msg *msg, uint16_t scode,
		     char **xhdrsp)
{
	bool sub;

	/* RFC 3515 2.4.1: exactly one Refer-To */
	if (sip_msg_hdr_count(msg, SIP_HDR_REFER_TO) != 1)
		return 400;

	if (refer_sub(msg, &sub))
		return 400;

	/* RFC 4488 4: the 2xx says the subscription is not made */
	if (!sub && str_dup(xhdrsp, "Refer-Sub: false\r\n"))
		return 500;

	return scode;
}


/* The final sipfrag: the scenario's, or the code the Refer-To user
 * dials (dial-a-code), else 200 OK */
static int final_frag(char *buf, size_t sz, const struct sip_msg *msg,
		      const struct step *step)
{
	const struct sip_hdr *rt = sip_msg_hdr(msg, SIP_HDR_REFER_TO);
	struct sip_addr addr;
	uint32_t sc = 200;

	if (step->sipfrag)
		return re_snprintf(buf, sz, "%s\r\n", step->sipfrag) < 0;

	if (!sip_addr_decode(&addr, &rt->val) &&
	    addr.uri.user.l == 3) {
		uint32_t u = pl_u32(&addr.uri.user);

		if (u >= 200 && u <= 699 && reply_registered((uint16_t)u))
			sc = u;
	}

	return re_snprintf(buf, sz, "SIP/2.0 %u %s\r\n", sc,
			   reply_reason((uint16_t)sc)) < 0;
}


static int notes_make(struct refer *r, const struct sip_msg *msg,
		      const struct step *step)
{
	char active[32], frag[128];
	struct le *le;
	int err = 0;

	if (!list_isempty(&step->notifies)) {
		LIST_FOREACH(&step->notifies, le) {
			const struct ntfspec *s = le->data;

			(void)re_snprintf(active, sizeof(active),
					  "active;expires=%u", REFER_EXPIRES);
			err |= note_add(r, s->delay,
					s->state ? s->state : active,
					s->body, s->ctype);
		}
		return err;
	}

	if (final_frag(frag, sizeof(frag), msg, step))
		return EINVAL;

	(void)re_snprintf(active, sizeof(active), "active;expires=%u",
			  REFER_EXPIRES);
	err |= note_add(r, 0, active, "SIP/2.0 100 Trying\r\n", NULL);
	err |= note_add(r, 0, "terminated;reason=noresource", frag, NULL);

	return err;
}


/**
 * A 2xx went to a REFER in an INVITE dialog: NOTIFY its progress
 *
 * @param uas  UAS
 * @param dlg  The INVITE dialog
 * @param msg  The REFER
 * @param step The step that answered it
 */
void refer_accept(struct uas *uas, struct dialog *dlg,
		  const struct sip_msg *msg, const struct step *step)
{
	const struct sip_hdr *rt = sip_msg_hdr(msg, SIP_HDR_REFER_TO);
	struct sip_dialog *sdlg = dialog_sdlg(dlg);
	const uint32_t nth = dialog_refer_count(dlg);
	struct refer *r;
	struct sa laddr;
	bool sub = true;
	int err;

	if (!uas || !msg || !step || !rt)
		return;

	(void)refer_sub(msg, &sub);

	evlog_event(uas_evlog(uas), "refer", msg,
		    ",\"refer_to\":%H,\"refer_sub\":%s,\"nth\":%u",
		    json_str_print, &rt->val, sub ? "true" : "false", nth);

	if (!sub)
		return;

	if (!sdlg) {
		DEBUG_WARNING("REFER: no dialog to NOTIFY in\n");
		return;
	}

	r = mem_zalloc(sizeof(*r), refer_destructor);
	if (!r)
		return;

	subs_keep(uas_subs(uas), &r->le, r);
	r->uas  = uas;
	r->sdlg = mem_ref(sdlg);

	/* RFC 3515 2.4.6: from the second REFER on, id= its CSeq */
	if (nth > 1)
		(void)re_snprintf(r->event, sizeof(r->event), "refer;id=%u",
				  msg->cseq.num);
	else
		str_ncpy(r->event, "refer", sizeof(r->event));

	uas_local_addr(&laddr, msg);
	err  = re_sdprintf(&r->contact, "<sip:%r%s%J%s>", &msg->uri.user,
			   pl_isset(&msg->uri.user) ? "@" : "", &laddr,
			   sip_transp_param(msg->tp));
	err |= notes_make(r, msg, step);
	if (err) {
		DEBUG_WARNING("REFER: %m\n", err);
		mem_deref(r);
		return;
	}

	tmr_start(&r->tmr, ((struct rnote *)list_ledata(
			list_head(&r->notes)))->delay, send_next, r);
}
