/**
 * @file subs.c  Subscriptions with state: the notifier side of RFC 6665
 *
 * A 2xx to SUBSCRIBE makes a subscription with a libre dialog of its
 * own, kept by Call-ID. It sends a NOTIFY at once (RFC 6665 4.2.1) with
 * a body of its package, then the NOTIFYs the scenario lists, one at a
 * time (4.2.2: one NOTIFY outstanding per dialog). A refresh in the
 * dialog gets 200 and a NOTIFY; Expires 0 or expiry ends it with a
 * terminated NOTIFY.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "subs"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	SUBS_HASH = 256,
	SUBS_MAX = 10000,          /* subscriptions at a time */
	EXPIRES_DEFAULT = 3600,    /* RFC 3842, RFC 3856, RFC 4235 */
	EXPIRES_MAX = 3600,
};

struct subs {
	struct hash *ht;
	struct list implicit;      /* implicit subscriptions (REFER) */
	uint32_t n;
};

struct sub;

struct pkg {
	const char *name;
	const char *ctype;
	int (*body)(struct mbuf *mb, struct sub *sub);
};

/** A NOTIFY waiting for the one before it */
struct pend {
	struct le le;
	char *state;               /* Subscription-State value */
	struct ntfspec *spec;      /* scenario body, NULL: package body */
	bool term;
};

struct sub {
	struct le he;              /* in subs->ht, by Call-ID */
	struct subs *subs;
	struct uas *uas;
	struct sip_dialog *dlg;
	struct uac *uac;           /* the NOTIFY in flight */
	struct list pendl;         /* struct pend */
	const struct pkg *pkg;     /* NULL: the scenario's package */
	struct step *step;         /* its NOTIFYs */
	struct le *next;           /* the next of them */
	struct tmr tmr_exp;
	struct tmr tmr_ntf;
	char *event;               /* Event value, with its id */
	char *contact;
	char *entity;              /* the resource: the To URI */
	uint32_t version;          /* RFC 4235 4.1 */
	bool term;                 /* a terminated NOTIFY is queued */
};


static int mwi_body(struct mbuf *mb, struct sub *sub)
{
	(void)sub;

	/* RFC 3842 5 */
	return mbuf_write_str(mb, "Messages-Waiting: yes\r\n"
			      "Voice-Message: 2/8\r\n");
}


static int pidf_body(struct mbuf *mb, struct sub *sub)
{
	/* RFC 3863 4: one tuple, open */
	return mbuf_printf(mb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			   "\r\n<presence xmlns=\"urn:ietf:params:xml:ns:"
			   "pidf\" entity=\"%s\">\r\n"
			   "<tuple id=\"sipstub\"><status><basic>open</basic>"
			   "</status></tuple>\r\n</presence>\r\n",
			   sub->entity);
}


static int dinfo_body(struct mbuf *mb, struct sub *sub)
{
	/* RFC 4235 4.1: full state, no dialogs; version goes up by one */
	return mbuf_printf(mb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			   "\r\n<dialog-info xmlns=\"urn:ietf:params:xml:ns:"
			   "dialog-info\" version=\"%u\" state=\"full\" "
			   "entity=\"%s\"/>\r\n", sub->version++,
			   sub->entity);
}


static const struct pkg pkgs[] = {
	{"message-summary", "application/simple-message-summary",
	 mwi_body},
	{"presence", "application/pidf+xml", pidf_body},
	{"dialog", "application/dialog-info+xml", dinfo_body},
};


static void subs_destructor(void *arg)
{
	struct subs *s = arg;

	subs_flush(s);
	mem_deref(s->ht);
}


static void pend_destructor(void *arg)
{
	struct pend *p = arg;

	list_unlink(&p->le);
	mem_deref(p->state);
	mem_deref(p->spec);
}


static void sub_destructor(void *arg)
{
	struct sub *sub = arg;

	if (sub->subs) {
		hash_unlink(&sub->he);
		--sub->subs->n;
	}
	tmr_cancel(&sub->tmr_exp);
	tmr_cancel(&sub->tmr_ntf);
	list_flush(&sub->pendl);
	mem_deref(sub->uac);
	mem_deref(sub->dlg);
	mem_deref(sub->step);
	mem_deref(sub->event);
	mem_deref(sub->contact);
	mem_deref(sub->entity);
}


/* The package name: the Event value up to its parameters */
static struct pl event_pkg(const struct pl *val)
{
	struct pl pkg = *val;
	const char *semi = pl_strchr(val, ';');

	if (semi)
		pkg.l = semi - val->p;

	while (pkg.l && lws_is(pkg.p[pkg.l - 1]))
		--pkg.l;

	return pkg;
}


static const struct pkg *pkg_find(const struct pl *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pkgs); i++) {
		if (!pl_strcasecmp(name, pkgs[i].name))
			return &pkgs[i];
	}

	return NULL;
}


/* Expires: delta-seconds (RFC 3261 20.19), if present */
static bool expires_valid(const struct sip_msg *msg)
{
	size_t i;

	for (i = 0; i < msg->expires.l; i++) {
		if (msg->expires.p[i] < '0' || msg->expires.p[i] > '9')
			return false;
	}

	return true;
}


/* RFC 6665 4.2.1.1: the duration granted, at most ours */
static uint32_t expires_of(const struct sip_msg *msg)
{
	if (!pl_isset(&msg->expires))
		return EXPIRES_DEFAULT;

	/* more than 9 digits: past any maximum */
	if (msg->expires.l > 9)
		return EXPIRES_MAX;

	return MIN(pl_u32(&msg->expires), EXPIRES_MAX);
}


static void sub_log(const struct sub *sub, const char *state,
		    uint32_t expires, const char *reason)
{
	struct pl callid, ev, rs;

	pl_set_str(&callid, sip_dialog_callid(sub->dlg));
	pl_set_str(&ev, sub->event);

	if (!reason) {
		evlog_event(uas_evlog(sub->uas), "subscription", NULL,
			    ",\"call_id\":%H,\"package\":%H,\"state\":"
			    "\"%s\",\"expires\":%u", json_str_print,
			    &callid, json_str_print, &ev, state, expires);
		return;
	}

	/* the reason, without further parameters */
	pl_set_str(&rs, reason);
	if (strchr(reason, ';'))
		rs.l = strchr(reason, ';') - reason;

	evlog_event(uas_evlog(sub->uas), "subscription", NULL,
		    ",\"call_id\":%H,\"package\":%H,\"state\":\"%s\","
		    "\"expires\":%u,\"reason\":%H", json_str_print, &callid,
		    json_str_print, &ev, state, expires, json_str_print, &rs);
}


static int pump(struct sub *sub);


static void notify_resp(int err, const struct sip_msg *msg, void *arg)
{
	struct sub *sub = arg;

	if (!err && msg->scode < 200)
		return;

	/* RFC 6665 4.2.2: a failed NOTIFY removes the subscription */
	if (err || msg->scode >= 300) {
		if (!sub->term)
			sub_log(sub, "terminated", 0, "notify-failed");
		mem_deref(sub);
		return;
	}

	if ((sub->term && list_isempty(&sub->pendl)) || pump(sub))
		mem_deref(sub);
}


static int body_make(struct sub *sub, const struct pend *p,
		     struct mbuf **mbp, const char **ctypep)
{
	struct mbuf *mb;
	int err = 0;

	mb = mbuf_alloc(256);
	if (!mb)
		return ENOMEM;

	if (p->spec) {
		err = mbuf_write_mem(mb, (uint8_t *)p->spec->body,
				     p->spec->bodylen);
		*ctypep = p->spec->ctype ? p->spec->ctype :
			sub->pkg ? sub->pkg->ctype : "text/plain";
	}
	else if (sub->pkg) {
		err = sub->pkg->body(mb, sub);
		*ctypep = sub->pkg->ctype;
	}

	if (err) {
		mem_deref(mb);
		return err;
	}

	mb->pos = 0;
	*mbp = mb;

	return 0;
}


/* Send the next queued NOTIFY unless one is outstanding; on error
 * the caller ends the subscription */
static int pump(struct sub *sub)
{
	struct mbuf *body = NULL;
	const char *ctype = NULL;
	struct pend *p;
	struct pl callid, ev, st;
	size_t len;
	int err;

	if (sub->uac || list_isempty(&sub->pendl))
		return 0;

	p = list_ledata(list_head(&sub->pendl));

	err = body_make(sub, p, &body, &ctype);
	if (err)
		goto out;

	len = mbuf_get_left(body);

	pl_set_str(&callid, sip_dialog_callid(sub->dlg));
	pl_set_str(&ev, sub->event);
	pl_set_str(&st, p->state);
	evlog_event(uas_evlog(sub->uas), "notify", NULL,
		    ",\"call_id\":%H,\"package\":%H,\"state\":%H,"
		    "\"body_len\":%zu", json_str_print, &callid,
		    json_str_print, &ev, json_str_print, &st, len);

	/* RFC 6665 4.1.4: NOTIFY is a target refresh request */
	err = uac_send(&sub->uac, sub->uas, sub->dlg, "NOTIFY", notify_resp,
		       sub, "Contact: %s\r\n"
		       "Event: %s\r\n"
		       "Subscription-State: %s\r\n"
		       "%s%s%s"
		       "Content-Length: %zu\r\n\r\n%b",
		       sub->contact, sub->event, p->state,
		       len ? "Content-Type: " : "", len ? ctype : "",
		       len ? "\r\n" : "", len, mbuf_buf(body), len);

 out:
	mem_deref(body);
	mem_deref(p);

	if (err)
		DEBUG_WARNING("NOTIFY: %m\n", err);

	return err;
}


static uint32_t remaining(const struct sub *sub)
{
	return (uint32_t)((tmr_get_expire(&sub->tmr_exp) + 999) / 1000);
}


static int queue(struct sub *sub, const char *state, struct ntfspec *spec,
		 bool term)
{
	struct pend *p;
	int err;

	p = mem_zalloc(sizeof(*p), pend_destructor);
	if (!p)
		return ENOMEM;

	if (state)
		err = str_dup(&p->state, state);
	else
		err = re_sdprintf(&p->state, "active;expires=%u",
				  remaining(sub));
	if (err) {
		mem_deref(p);
		return err;
	}

	p->spec = mem_ref(spec);
	p->term = term;
	list_append(&sub->pendl, &p->le, p);

	return pump(sub);
}


/* End the subscription with a terminated NOTIFY (RFC 6665 4.1.3) */
static void terminate(struct sub *sub, const char *reason)
{
	char state[64];

	if (sub->term)
		return;

	sub_log(sub, "terminated", 0, reason);
	sub->term = true;
	tmr_cancel(&sub->tmr_exp);
	tmr_cancel(&sub->tmr_ntf);

	(void)re_snprintf(state, sizeof(state), "terminated;reason=%s",
			  reason);
	if (queue(sub, state, NULL, true))
		mem_deref(sub);
}


static void expire_handler(void *arg)
{
	terminate(arg, "timeout");
}


static void spec_handler(void *arg);


static void spec_next(struct sub *sub)
{
	const struct ntfspec *spec;

	if (!sub->next || sub->term)
		return;

	spec = sub->next->data;
	tmr_start(&sub->tmr_ntf, spec->delay, spec_handler, sub);
}


/* A NOTIFY of the scenario is due */
static void spec_handler(void *arg)
{
	struct sub *sub = arg;
	struct ntfspec *spec = sub->next->data;

	sub->next = sub->next->next;

	if (spec->state && !strncmp(spec->state, "terminated", 10)) {
		const char *r = strstr(spec->state, "reason=");

		sub_log(sub, "terminated", 0, r ? r + 7 : "scenario");
		sub->term = true;
		tmr_cancel(&sub->tmr_exp);
		if (queue(sub, spec->state, spec, true))
			mem_deref(sub);
		return;
	}

	if (queue(sub, spec->state, spec, false)) {
		mem_deref(sub);
		return;
	}

	spec_next(sub);
}


static bool sub_cmp_handler(struct le *le, void *arg)
{
	const struct sub *sub = le->data;

	return sip_dialog_cmp(sub->dlg, arg);
}


/**
 * Allocate the subscription table
 *
 * @param sp  Table, set on success
 * @param uas UAS (unused; for symmetry with the other tables)
 *
 * @return 0 if success, otherwise errorcode
 */
int subs_alloc(struct subs **sp, struct uas *uas)
{
	struct subs *s;
	int err;
	(void)uas;

	if (!sp)
		return EINVAL;

	s = mem_zalloc(sizeof(*s), subs_destructor);
	if (!s)
		return ENOMEM;

	err = hash_alloc(&s->ht, SUBS_HASH);
	if (err)
		mem_deref(s);
	else
		*sp = s;

	return err;
}


/** Drop every subscription without NOTIFY (on exit) */
void subs_flush(struct subs *s)
{
	if (!s)
		return;

	hash_flush(s->ht);
	list_flush(&s->implicit);
}


/**
 * Keep an implicit subscription (RFC 3515 2.4.4) until it ends or
 * shutdown; it unlinks itself. Not in uas->xacts: its NOTIFYs are
 * there, and it frees them.
 *
 * @param s   Subscription table
 * @param le  The object's list element
 * @param obj The object
 */
void subs_keep(struct subs *s, struct le *le, void *obj)
{
	if (s)
		list_append(&s->implicit, le, obj);
}


/**
 * Check a SUBSCRIBE that the scenario answers with a 2xx
 *
 * @param uas    UAS
 * @param msg    The SUBSCRIBE, outside a dialog
 * @param step   The step answering it
 * @param scode  Its 2xx
 * @param xhdrsp Set to the headers the 2xx needs (Expires)
 *
 * @return The code to answer: scode, 489 for an unknown package, 400
 *         for a malformed SUBSCRIBE, 503 when the table is full
 */
uint16_t subs_check(struct uas *uas, const struct sip_msg *msg,
		    const struct step *step, uint16_t scode, char **xhdrsp)
{
	const struct sip_hdr *ev = sip_msg_hdr(msg, SIP_HDR_EVENT);
	const struct sip_hdr *ct = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	struct sip_addr addr;
	struct pl name;

	/* RFC 6665 4.1.2: the SUBSCRIBE gives the target of NOTIFYs */
	if (!ev || !ct || sip_addr_decode(&addr, &ct->val) ||
	    !expires_valid(msg))
		return 400;

	name = event_pkg(&ev->val);

	/* RFC 6665: 489 but for the packages sipstub has, or the
	 * scenario's */
	if (!pkg_find(&name) && list_isempty(&step->notifies))
		return 489;

	if (uas_subs(uas)->n >= SUBS_MAX)
		return 503;

	if (re_sdprintf(xhdrsp, "Expires: %u\r\n", expires_of(msg)))
		return 500;

	return scode;
}


static int sub_new(struct sub **subp, struct uas *uas,
		   const struct sip_msg *msg, const struct step *step)
{
	const struct sip_hdr *ev = sip_msg_hdr(msg, SIP_HDR_EVENT);
	struct subs *s = uas_subs(uas);
	struct pl name = event_pkg(&ev->val);
	struct sub *sub;
	struct sa laddr;
	int err;

	if (s->n >= SUBS_MAX)
		return EOVERFLOW;

	sub = mem_zalloc(sizeof(*sub), sub_destructor);
	if (!sub)
		return ENOMEM;

	sub->uas  = uas;
	sub->pkg  = pkg_find(&name);
	sub->step = mem_ref((void *)step);
	sub->next = list_head(&step->notifies);

	uas_local_addr(&laddr, msg);

	err  = sip_dialog_accept(&sub->dlg, msg);
	err |= pl_strdup(&sub->event, &ev->val);
	err |= pl_strdup(&sub->entity, &msg->to.auri);
	err |= re_sdprintf(&sub->contact, "<sip:%r%s%J%s>", &msg->uri.user,
			   pl_isset(&msg->uri.user) ? "@" : "", &laddr,
			   sip_transp_param(msg->tp));
	if (err) {
		mem_deref(sub);
		return err;
	}

	sub->subs = s;
	++s->n;
	hash_append(s->ht, hash_joaat_pl(&msg->callid), &sub->he, sub);

	*subp = sub;

	return 0;
}


/**
 * A 2xx went to a SUBSCRIBE: make the subscription and NOTIFY
 *
 * @param uas   UAS
 * @param msg   The SUBSCRIBE, its tag set to the To-tag of the 2xx
 * @param step  The step that answered it
 * @param scode The 2xx; 204 (RFC 5839) sends no NOTIFY now
 */
void subs_accept(struct uas *uas, const struct sip_msg *msg,
		 const struct step *step, uint16_t scode)
{
	const uint32_t expires = expires_of(msg);
	struct ntfspec *first;
	struct sub *sub;
	int err;

	if (!uas || !msg || !step)
		return;

	err = sub_new(&sub, uas, msg, step);
	if (err) {
		DEBUG_WARNING("SUBSCRIBE: %m\n", err);
		return;
	}

	sub_log(sub, "created", expires, NULL);

	/* RFC 6665 4.2.1: Expires 0 is a fetch: one NOTIFY, then end */
	if (!expires) {
		terminate(sub, "timeout");
		return;
	}

	tmr_start(&sub->tmr_exp, expires * 1000, expire_handler, sub);

	/* the scenario's first NOTIFY, without delay, is the first one */
	first = sub->next ? sub->next->data : NULL;
	if (first && !first->delay) {
		spec_handler(sub);
		return;
	}

	if (scode != 204 && queue(sub, NULL, NULL, false)) {
		mem_deref(sub);
		return;
	}

	spec_next(sub);
}


/* RFC 6665 4.2.1: a refresh, or Expires 0 to end it */
static void refresh(struct uas *uas, struct sub *sub,
		    const struct sip_msg *msg)
{
	const uint32_t expires = expires_of(msg);
	char xhdrs[32];
	struct reply r;
	struct sa laddr;
	int err;

	(void)re_snprintf(xhdrs, sizeof(xhdrs), "Expires: %u\r\n", expires);
	uas_local_addr(&laddr, msg);

	memset(&r, 0, sizeof(r));
	r.msg   = msg;
	r.scode = 200;
	r.laddr = &laddr;
	r.xhdrs = xhdrs;

	err = reply_send(NULL, uas_stranss(uas), &r, NULL);
	if (err)
		DEBUG_WARNING("200 to SUBSCRIBE: %m\n", err);

	if (!expires) {
		terminate(sub, "timeout");
		return;
	}

	sub_log(sub, "refreshed", expires, NULL);
	tmr_start(&sub->tmr_exp, expires * 1000, expire_handler, sub);

	if (queue(sub, NULL, NULL, false))
		mem_deref(sub);
}


/**
 * A request with a To-tag: is it a SUBSCRIBE of a subscription?
 *
 * @param uas UAS
 * @param msg Request in a dialog
 *
 * @return true if handled (answered), false if not ours
 */
bool subs_request(struct uas *uas, const struct sip_msg *msg)
{
	struct subs *s = uas_subs(uas);
	struct sub *sub;
	struct reply r;
	struct sa laddr;

	if (!s || !s->n || pl_strcmp(&msg->met, "SUBSCRIBE"))
		return false;

	sub = list_ledata(hash_lookup(s->ht, hash_joaat_pl(&msg->callid),
				      sub_cmp_handler, (void *)msg));
	if (!sub || sub->term)
		return false;

	if (expires_valid(msg) && sip_dialog_rseq_valid(sub->dlg, msg)) {
		refresh(uas, sub, msg);
		return true;
	}

	/* RFC 3261 12.2.2: CSeq lower than the last one */
	uas_local_addr(&laddr, msg);
	memset(&r, 0, sizeof(r));
	r.msg    = msg;
	r.scode  = expires_valid(msg) ? 500 : 400;
	r.reason = r.scode == 500 ? "CSeq Out of Order" : NULL;
	r.laddr  = &laddr;
	(void)reply_send(NULL, uas_stranss(uas), &r, NULL);

	return true;
}
