/**
 * @file notify.c  The NOTIFY that follows a 2xx to SUBSCRIBE
 *
 * RFC 6665 4.2.1: a notifier that accepts a subscription sends a
 * NOTIFY at once. sipstub keeps no subscription state (events come in a
 * later module): the NOTIFY reports the state the 2xx granted, and a
 * refresh gets 481, after which the client subscribes anew.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <sipstub.h>

#define DEBUG_MODULE "notify"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


struct notify {
	struct le le;             /* in uas->xacts, freed on shutdown */
	struct sip_dialog *dlg;
	struct sip_request *req;
};


static void notify_destructor(void *arg)
{
	struct notify *n = arg;

	list_unlink(&n->le);
	mem_deref(n->req);
	mem_deref(n->dlg);
}


static void resp_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct notify *n = arg;

	if (msg && msg->scode < 200)
		return;

	if (err)
		DEBUG_NOTICE("NOTIFY: %m\n", err);

	n->req = NULL;
	mem_deref(n);
}


static int substate_print(struct re_printf *pf, const uint32_t *expires)
{
	if (!*expires)
		return re_hprintf(pf, "terminated;reason=timeout");

	return re_hprintf(pf, "active;expires=%u", *expires);
}


/**
 * Send the NOTIFY for a SUBSCRIBE just answered with a 2xx
 *
 * @param uas   UAS
 * @param msg   The SUBSCRIBE, its tag set to the To-tag of the 2xx
 *
 * @return 0 if success, otherwise errorcode
 */
int notify_send(struct uas *uas, const struct sip_msg *msg)
{
	const struct sip_hdr *event;
	struct sa laddr;
	struct notify *n;
	uint32_t expires = 3600;
	int err;

	if (!uas || !msg)
		return EINVAL;

	event = sip_msg_hdr(msg, SIP_HDR_EVENT);
	if (!event)
		return EPROTO;

	if (pl_isset(&msg->expires))
		expires = MIN(pl_u32(&msg->expires), 3600);

	n = mem_zalloc(sizeof(*n), notify_destructor);
	if (!n)
		return ENOMEM;

	list_append(uas_xacts(uas), &n->le, n);

	err = sip_dialog_accept(&n->dlg, msg);
	if (err)
		goto out;

	/* RFC 6665 4.1.4: NOTIFY is a target refresh request */
	uas_local_addr(&laddr, msg);

	err = sip_drequestf(&n->req, uas_sip(uas), true, "NOTIFY", n->dlg, 0,
			    NULL, NULL, resp_handler, n,
			    "Contact: <sip:%r@%J%s>\r\n"
			    "Event: %r\r\n"
			    "Subscription-State: %H\r\n"
			    "Content-Length: 0\r\n\r\n",
			    &msg->uri.user, &laddr, sip_transp_param(msg->tp),
			    &event->val, substate_print, &expires);

 out:
	if (err)
		mem_deref(n);

	return err;
}
