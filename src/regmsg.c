/**
 * @file regmsg.c  REGISTER for the registrar: its Contacts decoded and
 *                 checked (RFC 3261 10.3 steps 6-7, RFC 5626, RFC 3327)
 *                 before anything changes, and the response (step 8)
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>
#include "registrar_int.h"

#define DEBUG_MODULE "regmsg"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


/* A response header made here (struct reply takes struct hdrval) */
struct rhdr {
	struct hdrval hv;
	char *val;
};


static void rhdr_destructor(void *arg)
{
	struct rhdr *h = arg;

	list_unlink(&h->hv.le);
	mem_deref(h->val);
}


void regmsg_reject(struct rreq *rq, uint16_t scode, const char *reason)
{
	if (!rq->scode) {
		rq->scode  = scode;
		rq->reason = reason;
	}
}


/* RFC 3261 10.3 step 7: the contact's expires, else Expires, else the
 * default; above the maximum it is lowered (RFC 3261 20.19: 2**32-1
 * at most) */
static uint32_t expires_of(struct rreq *rq, const struct sip_addr *addr)
{
	const struct pl *hdr = &rq->msg->expires;
	struct pl e;

	if (msg_param_decode(&addr->params, "expires", &e)) {
		if (!pl_isset(hdr))
			return rq->cfg->dflt;
		e = *hdr;
	}

	if (!pl_digits(&e)) {
		regmsg_reject(rq, 400, "Bad Expires");
		return 0;
	}

	return e.l > 9 ? rq->cfg->max : MIN(pl_u32(&e), rq->cfg->max);
}


static bool contact_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		      void *arg)
{
	struct rreq *rq = arg;
	struct rcontact *c;
	struct pl v = hdr->val;
	(void)msg;

	while (v.l && lws_is(v.p[v.l - 1]))
		--v.l;

	if (!pl_strcmp(&v, "*")) {
		if (rq->star || rq->n)
			regmsg_reject(rq, 400, "Invalid Contact");
		rq->star = true;
		return false;
	}

	if (rq->star)
		regmsg_reject(rq, 400, "Invalid Contact");

	if (rq->n >= MAX_CONTACTS) {
		regmsg_reject(rq, 403, "Too Many Contacts");
		return true;
	}

	c = &rq->c[rq->n++];
	if (sip_addr_decode(&c->addr, &v)) {
		regmsg_reject(rq, 400, "Bad Contact");
		return true;
	}

	c->expires = expires_of(rq, &c->addr);
	(void)msg_param_decode(&c->addr.params, "+sip.instance",
			       &c->instance);
	(void)msg_param_decode(&c->addr.params, "q", &c->q);

	/* RFC 5626 6: reg-id counts only with +sip.instance */
	if (pl_isset(&c->instance) &&
	    !msg_param_decode(&c->addr.params, "reg-id", &c->regid)) {
		if (!pl_digits(&c->regid) || c->regid.l > 9 ||
		    !pl_u32(&c->regid))
			regmsg_reject(rq, 400, "Bad reg-id");
		rq->outbound = true;
	}

	return false;
}


/* RFC 3261 10.3 steps 6-7: the same Call-ID with a CSeq not higher */
static bool out_of_order(const struct rreq *rq, const struct binding *b)
{
	return b && !pl_strcmp(&rq->msg->callid, b->callid) &&
		rq->msg->cseq.num <= b->cseq;
}


/* RFC 5626 6: outbound needs the registrar to be the first hop, or a
 * first Path with the "ob" parameter */
static bool first_hop_ok(const struct sip_msg *msg)
{
	const struct sip_hdr *path = sip_msg_hdr(msg, SIP_HDR_PATH);
	const struct pl *v;
	size_t i;

	if (sip_msg_hdr_count(msg, SIP_HDR_VIA) <= 1)
		return true;

	if (!path)
		return false;

	/* the "ob" URI parameter: ";ob" then ';' or '>' */
	v = &path->val;
	for (i = 0; i + 4 <= v->l; i++) {
		if (!memcmp(v->p + i, ";ob", 3) &&
		    (v->p[i + 3] == ';' || v->p[i + 3] == '>'))
			return true;
	}

	return false;
}


/* RFC 3261 10.3 steps 6-7, before anything changes */
void regmsg_check(struct rreq *rq)
{
	uint32_t i, adds = 0;
	struct le *le;

	(void)sip_msg_hdr_apply(rq->msg, true, SIP_HDR_CONTACT, contact_h,
				rq);

	/* RFC 3261 10.3 step 6 */
	if (rq->star && (!pl_isset(&rq->msg->expires) ||
			 pl_strcmp(&rq->msg->expires, "0")))
		regmsg_reject(rq, 400, "Invalid Contact");

	if (rq->outbound && !first_hop_ok(rq->msg))
		regmsg_reject(rq, 439, NULL);

	LIST_FOREACH(rq->star && rq->aor ? &rq->aor->bindings : NULL, le) {
		if (out_of_order(rq, le->data))
			regmsg_reject(rq, 500, "CSeq Out of Order");
	}

	for (i = 0; i < rq->n; i++) {
		struct rcontact *c = &rq->c[i];

		c->b = reg_binding_match(rq->aor, c);

		/* RFC 3261 10.3 step 7 */
		if (c->expires && c->expires < rq->cfg->min)
			regmsg_reject(rq, 423, NULL);
		if (out_of_order(rq, c->b))
			regmsg_reject(rq, 500, "CSeq Out of Order");
		if (c->expires && !c->b)
			++adds;
	}

	if (rq->cfg->reg->count + adds > MAX_BINDINGS)
		regmsg_reject(rq, 503, "Too Many Bindings");
}


/* The Path values of a request, joined, or none */
int regmsg_path_join(char **pathp, const struct sip_msg *msg)
{
	const struct sip_hdr *hdr;
	struct mbuf *mb;
	struct le *le;
	int err = 0;

	if (!sip_msg_hdr(msg, SIP_HDR_PATH))
		return 0;

	mb = mbuf_alloc(128);
	if (!mb)
		return ENOMEM;

	LIST_FOREACH(&msg->hdrl, le) {
		hdr = le->data;
		if (hdr->id != SIP_HDR_PATH)
			continue;
		if (mb->end)
			err |= mbuf_write_str(mb, ", ");
		err |= mbuf_write_pl(mb, &hdr->val);
	}

	mb->pos = 0;
	if (!err)
		err = mbuf_strdup(mb, pathp, mb->end);

	mem_deref(mb);

	return err;
}


static int hdr_add(struct list *hdrs, const char *name, const char *fmt,
		   ...)
{
	struct rhdr *h;
	va_list ap;
	int err;

	h = mem_zalloc(sizeof(*h), rhdr_destructor);
	if (!h)
		return ENOMEM;

	va_start(ap, fmt);
	err = re_vsdprintf(&h->val, fmt, ap);
	va_end(ap);
	if (err) {
		mem_deref(h);
		return err;
	}

	h->hv.name  = (char *)name;
	h->hv.value = h->val;
	list_append(hdrs, &h->hv.le, h);

	return 0;
}


/* RFC 3261 10.3 step 8: every current binding with its expires */
static int ok_hdrs(struct list *hdrs, const struct rreq *rq)
{
	const struct aor *aor = rq->aor;
	struct le *le;
	int err = 0;

	LIST_FOREACH(aor ? &aor->bindings : NULL, le) {
		const struct binding *b = le->data;
		char extra[256] = "";

		if (b->instance && b->regid)
			(void)re_snprintf(extra, sizeof(extra),
					  ";+sip.instance=\"%s\";reg-id=%u",
					  b->instance, b->regid);
		else if (b->instance)
			(void)re_snprintf(extra, sizeof(extra),
					  ";+sip.instance=\"%s\"",
					  b->instance);

		err |= hdr_add(hdrs, "Contact", "<%s>;expires=%u%s%s%s",
			       b->uri, reg_binding_left(b), b->q ? ";q=" : "",
			       b->q ? b->q : "", extra);
	}

	/* no binding: none of the request's Contacts either */
	if (!aor || list_isempty(&aor->bindings))
		err |= hdr_add(hdrs, "Contact", "");

	/* RFC 3327 5.3: the Path back to a UA that supports it */
	if (sip_msg_hdr(rq->msg, SIP_HDR_PATH) &&
	    sip_msg_hdr_has_value(rq->msg, SIP_HDR_SUPPORTED, "path")) {
		char *path = NULL;

		err |= regmsg_path_join(&path, rq->msg);
		if (path)
			err |= hdr_add(hdrs, "Path", "%s", path);
		mem_deref(path);
	}

	/* RFC 5626 6: outbound was applied */
	if (rq->outbound)
		err |= hdr_add(hdrs, "Require", "outbound");

	return err;
}


/* The final response: 200 with the bindings, or the rejection */
void regmsg_respond(struct rreq *rq, struct uas *uas)
{
	const struct sip_msg *msg = rq->msg;
	struct list hdrs = LIST_INIT;
	struct reply r;
	struct sa laddr;
	int err = 0;

	if (rq->scode == 423)
		err = hdr_add(&hdrs, "Min-Expires", "%u", rq->cfg->min);
	else if (!rq->scode)
		err = ok_hdrs(&hdrs, rq);

	if (rq->scode) {
		struct pl aor = PL_INIT;

		if (rq->aorname)
			pl_set_str(&aor, rq->aorname);

		evlog_event(rq->cfg->reg->el, "register", msg,
			    ",\"action\":\"rejected\",\"code\":%u"
			    ",\"aor\":%H", rq->scode, json_str_print,
			    &aor);
	}

	memset(&r, 0, sizeof(r));
	uas_local_addr(&laddr, msg);
	r.msg    = msg;
	r.scode  = rq->scode ? rq->scode : 200;
	r.reason = rq->reason;
	r.hdrs   = &hdrs;
	r.laddr  = &laddr;
	r.totag  = msg->tag | (1ULL << 63);

	if (!err)
		err = reply_send(NULL, uas_stranss(uas), &r, NULL);
	if (err)
		DEBUG_WARNING("%u to REGISTER: %m\n", r.scode, err);

	list_flush(&hdrs);
}
