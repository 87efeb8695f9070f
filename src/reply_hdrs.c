/**
 * @file reply_hdrs.c  Per-code default headers of a response
 *
 * The headers each status code needs to be well formed and useful
 * (Contact, Allow, Accept, Min-Expires, Retry-After, ...), the Contact
 * and redirect URIs, and what a 2xx adds. A scenario header of the same
 * name replaces a default. Written like the rest of the builder
 * (reply.c): mbuf_write_*() and the fmt_*() writers.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sipstub.h>
#include "reply_int.h"

#define DEBUG_MODULE "reply_hdrs"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


/* Is a header among a module's lines? */
static bool xhdr_has(const char *xhdrs, const char *name)
{
	const size_t n = strlen(name);
	const char *p;

	for (p = xhdrs; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncasecmp(p, name, n) && p[n] == ':')
			return true;
	}

	return false;
}


bool hdr_overridden(const struct reply *r, const char *name)
{
	struct le *le;

	LIST_FOREACH(r->hdrs, le) {
		const struct hdrval *hv = le->data;

		if (!str_casecmp(hv->name, name))
			return true;
	}

	return r->xhdrs && xhdr_has(r->xhdrs, name);
}


static bool addr_sips(const struct sip_hdr *hdr)
{
	struct sip_addr addr;

	return hdr && !sip_addr_decode(&addr, &hdr->val) &&
		!pl_strcasecmp(&addr.uri.scheme, "sips");
}


/*
 * RFC 3261 12.1.1: a request with a SIPS Request-URI (or top
 * Record-Route, or Contact if it has no Record-Route) gets a SIPS
 * Contact. Only over TLS, the one transport sipstub can be reached
 * on by a SIPS URI (RFC 5630 3.1.1: TLS on every hop).
 */
static bool contact_sips(const struct sip_msg *msg)
{
	const struct sip_hdr *rr;

	if (msg->tp != SIP_TRANSP_TLS)
		return false;

	if (!pl_strcasecmp(&msg->uri.scheme, "sips"))
		return true;

	rr = sip_msg_hdr(msg, SIP_HDR_RECORD_ROUTE);

	return addr_sips(rr ? rr : sip_msg_hdr(msg, SIP_HDR_CONTACT));
}


/* "<sip:user@laddr;transport=x" without the '>', user@ only if set.
 * A SIPS URI has no transport=tls (RFC 5630 3.1.3 deprecates it); a
 * SIP URI of a TLS request keeps it (RFC 3261 19.1.1), which brings
 * the client back over TLS. */
static int uri_write(struct mbuf *mb, const struct reply *r,
		     const struct pl *user)
{
	const bool sips = contact_sips(r->msg);
	int err;

	err = sips ? LIT_WRITE(mb, "<sips:") : LIT_WRITE(mb, "<sip:");
	if (pl_isset(user)) {
		err |= mbuf_write_pl(mb, user);
		err |= mbuf_write_u8(mb, '@');
	}
	err |= fmt_addr(mb, r->laddr, true);
	if (!sips)
		err |= mbuf_write_str(mb, sip_transp_param(r->msg->tp));

	return err;
}


/* Contacts of a redirect: our own codes, so that following the
 * redirect leads somewhere useful */
static int redirect_write(struct mbuf *mb, const struct reply *r)
{
	static const struct pl u200 = PL("200");
	static const struct pl u486 = PL("486");
	static const struct pl u404 = PL("404");
	int err;

	err = LIT_WRITE(mb, "Contact: ");

	switch (r->scode) {

	case 300:
	case 485:
		err |= uri_write(mb, r, &u200);
		err |= LIT_WRITE(mb, ">;q=1.0, ");
		err |= uri_write(mb, r, &u486);
		err |= LIT_WRITE(mb, ">;q=0.5, ");
		err |= uri_write(mb, r, &u404);
		err |= LIT_WRITE(mb, ">;q=0.1\r\n");
		break;

	case 305:
		err |= uri_write(mb, r, NULL);
		err |= LIT_WRITE(mb, ";lr>\r\n");
		break;

	default:
		err |= uri_write(mb, r, &u200);
		err |= LIT_WRITE(mb, ">\r\n");
		break;
	}

	return err;
}


static uint32_t expires_get(const struct sip_msg *msg, uint32_t dflt,
			    uint32_t max)
{
	uint32_t e;

	if (!pl_isset(&msg->expires))
		return dflt;

	e = pl_u32(&msg->expires);

	return MIN(e, max);
}


static bool binding_write_h(const struct sip_hdr *hdr,
			    const struct sip_msg *msg, void *arg)
{
	struct mbuf *mb = arg;
	struct sip_addr addr;
	struct pl ep;
	uint32_t e;

	if (sip_addr_decode(&addr, &hdr->val))
		return false;  /* "*" or not a contact: nothing to echo */

	if (!msg_param_decode(&addr.params, "expires", &ep))
		e = MIN(pl_u32(&ep), 86400);
	else
		e = expires_get(msg, 3600, 86400);

	if (!e)
		return false;  /* removed */

	return 0 != mbuf_printf(mb, "Contact: <%r>;expires=%u\r\n",
				&addr.auri, e);
}


static int date_print(struct re_printf *pf, void *unused)
{
	char buf[64];
	struct tm tm;
	time_t t = time(NULL);
	(void)unused;

	(void)gmtime_r(&t, &tm);
	(void)strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);

	return re_hprintf(pf, "%s", buf);
}


static int expires_write(struct mbuf *mb, uint32_t e)
{
	int err;

	err  = LIT_WRITE(mb, "Expires: ");
	err |= fmt_dec(mb, e);
	err |= LIT_WRITE(mb, "\r\n");

	return err;
}


/* 2xx headers by method: RFC 3261 10.3, RFC 3903 6, RFC 6665 4.2.1 */
static int success_write(struct mbuf *mb, const struct reply *r)
{
	const struct sip_msg *msg = r->msg;
	int err = 0;

	if (met_is(msg, "REGISTER")) {
		if (!hdr_overridden(r, "Contact"))
			(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT,
						binding_write_h, mb);
		if (!hdr_overridden(r, "Date"))
			err |= mbuf_printf(mb, "Date: %H\r\n", date_print,
					   NULL);
	}
	else if (met_is(msg, "PUBLISH")) {
		if (!hdr_overridden(r, "SIP-ETag"))
			err |= mbuf_printf(mb, "SIP-ETag: %016llx\r\n",
					   rand_u64());
		if (!hdr_overridden(r, "Expires"))
			err |= expires_write(mb, expires_get(msg, 3600, 3600));
	}
	else if (met_is(msg, "SUBSCRIBE")) {
		if (!hdr_overridden(r, "Expires"))
			err |= expires_write(mb, expires_get(msg, 3600, 3600));
	}

	return err;
}


/* Responses that create a dialog or refresh its target: RFC 3261
 * 12.1.1 and 13.3.1.4 (INVITE), RFC 3311 5.2 (UPDATE), RFC 6665 4.2.1
 * (SUBSCRIBE) */
bool needs_contact(const struct reply *r)
{
	const struct sip_msg *msg = r->msg;
	uint16_t sc = r->scode;

	/* no To-tag: no dialog */
	if (!pl_isset(&msg->to.tag) && !r->totag)
		return false;

	if (met_is(msg, "INVITE"))
		return sc > 100 && sc < 300;

	if (met_is(msg, "UPDATE") || met_is(msg, "SUBSCRIBE"))
		return sc >= 200 && sc < 300;

	return false;
}


/* The headers of codes whose value is made for each response */
static int computed_write(struct mbuf *mb, const struct reply *r)
{
	const struct sip_msg *msg = r->msg;
	int err = 0;

	switch (r->scode) {

	case 401:
		if (!hdr_overridden(r, "WWW-Authenticate"))
			err |= mbuf_printf(mb, "WWW-Authenticate: Digest "
					   "realm=\"sipstub\", nonce=\"%016llx"
					   "\", algorithm=MD5, qop=\"auth\""
					   "\r\n", rand_u64());
		break;

	case 407:
		if (!hdr_overridden(r, "Proxy-Authenticate"))
			err |= mbuf_printf(mb, "Proxy-Authenticate: Digest "
					   "realm=\"sipstub\", nonce=\"%016llx"
					   "\", algorithm=MD5, qop=\"auth\""
					   "\r\n", rand_u64());
		break;

	case 420:
		if (!hdr_overridden(r, "Unsupported"))
			err |= mbuf_printf(mb, "Unsupported: %H\r\n",
					   optag_unsupported_print, msg);
		break;

	case 470:
		if (!hdr_overridden(r, "Permission-Missing"))
			err |= mbuf_printf(mb, "Permission-Missing: "
					   "<sip:%r@%J>\r\n", &msg->uri.user,
					   r->laddr);
		break;

	default:
		break;
	}

	return err;
}


static int contact_write(struct mbuf *mb, const struct reply *r)
{
	int err = 0;

	if ((r->scode >= 300 && r->scode < 400) || r->scode == 485) {
		err |= redirect_write(mb, r);
	}
	else if (needs_contact(r)) {
		err |= LIT_WRITE(mb, "Contact: ");
		err |= uri_write(mb, r, &r->msg->uri.user);
		err |= LIT_WRITE(mb, ">\r\n");
	}

	return err;
}


/* The headers each code needs to be well formed and useful */
int defaults_write(struct mbuf *mb, const struct reply *r)
{
	const struct sip_msg *msg = r->msg;
	uint16_t sc = r->scode;
	int err = 0;

#define DEF(name, value)						\
	do {								\
		if (!hdr_overridden(r, name))				\
			err |= LIT_WRITE(mb, name ": " value "\r\n");	\
	} while (0)

	if (!hdr_overridden(r, "Contact"))
		err |= contact_write(mb, r);

	/* RFC 3261 8.2.6.1 */
	if (sc == 100 && !hdr_overridden(r, "Timestamp")) {
		const struct sip_hdr *ts;

		ts = sip_msg_hdr(msg, SIP_HDR_TIMESTAMP);
		if (ts) {
			err |= LIT_WRITE(mb, "Timestamp: ");
			err |= mbuf_write_pl(mb, &ts->val);
			err |= LIT_WRITE(mb, "\r\n");
		}
	}

	switch (sc) {

	case 199:
		DEF("Reason",
		    "SIP;cause=480;text=\"Temporarily Unavailable\"");
		break;

	case 405:
	case 501:
		DEF("Allow", SIPSTUB_ALLOW);
		break;

	case 415:
		DEF("Accept", "application/sdp");
		DEF("Accept-Encoding", "identity");
		DEF("Accept-Language", "en");
		break;

	case 417:
		DEF("Accept-Resource-Priority", "dsn.routine");
		break;

	case 421:
		DEF("Require", "100rel");
		break;

	case 422:
		if (!r->timer)
			DEF("Min-SE", "1800");
		break;

	case 423:
		DEF("Min-Expires", "3600");
		break;

	case 469:
		DEF("Recv-Info", "");
		break;

	case 489:
		DEF("Allow-Events", SIPSTUB_EVENTS);
		break;

	case 494:
		DEF("Security-Server", "digest;q=0.1");
		DEF("Require", "sec-agree");
		break;

	case 480:
	case 503:
		DEF("Retry-After", "30");
		break;

	default:
		err |= computed_write(mb, r);
		break;
	}

	/* RFC 3262 7.1: a reliable provisional */
	if (r->rseq) {
		DEF("Require", "100rel");
		err |= LIT_WRITE(mb, "RSeq: ");
		err |= fmt_dec(mb, r->rseq);
		err |= LIT_WRITE(mb, "\r\n");
	}

	/* RFC 4028 9: Session-Expires, Require; Min-SE in a 422 */
	if (r->timer)
		err |= timer_resp_write(mb, r->timer, sc);

	/* RFC 3261 20.37: the extensions we support */
	if (((sc > 100 && sc < 300) || sc == 422) &&
	    (met_is(msg, "INVITE") || met_is(msg, "UPDATE") ||
	     met_is(msg, "OPTIONS")) && !hdr_overridden(r, "Supported")) {
		err |= LIT_WRITE(mb, "Supported: ");
		err |= mbuf_write_str(mb, optag_supported_str());
		err |= LIT_WRITE(mb, "\r\n");
	}

	if (sc >= 200 && sc < 300) {
		if (met_is(msg, "INVITE") || met_is(msg, "OPTIONS"))
			DEF("Allow", SIPSTUB_ALLOW);

		if (met_is(msg, "OPTIONS"))
			DEF("Accept", "application/sdp");

		err |= success_write(mb, r);
	}

#undef DEF

	return err;
}
