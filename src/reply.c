/**
 * @file reply.c  SIP status-code table and response builder
 *
 * The default headers of each code are written by reply_hdrs.c.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sipstub.h>
#include "reply_int.h"

#define DEBUG_MODULE "reply"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


/* IANA "Response Codes" registry of the SIP Parameters, plus the
 * RFC 2543 codes clients still meet (409, 411). */
static const struct {
	uint16_t scode;
	const char *reason;
} codes[] = {
	{100, "Trying"},
	{180, "Ringing"},
	{181, "Call Is Being Forwarded"},
	{182, "Queued"},
	{183, "Session Progress"},
	{199, "Early Dialog Terminated"},
	{200, "OK"},
	{202, "Accepted"},
	{204, "No Notification"},
	{300, "Multiple Choices"},
	{301, "Moved Permanently"},
	{302, "Moved Temporarily"},
	{305, "Use Proxy"},
	{380, "Alternative Service"},
	{400, "Bad Request"},
	{401, "Unauthorized"},
	{402, "Payment Required"},
	{403, "Forbidden"},
	{404, "Not Found"},
	{405, "Method Not Allowed"},
	{406, "Not Acceptable"},
	{407, "Proxy Authentication Required"},
	{408, "Request Timeout"},
	{409, "Conflict"},
	{410, "Gone"},
	{411, "Length Required"},
	{412, "Conditional Request Failed"},
	{413, "Request Entity Too Large"},
	{414, "Request-URI Too Long"},
	{415, "Unsupported Media Type"},
	{416, "Unsupported URI Scheme"},
	{417, "Unknown Resource-Priority"},
	{420, "Bad Extension"},
	{421, "Extension Required"},
	{422, "Session Interval Too Small"},
	{423, "Interval Too Brief"},
	{424, "Bad Location Information"},
	{425, "Bad Alert Message"},
	{428, "Use Identity Header"},
	{429, "Provide Referrer Identity"},
	{430, "Flow Failed"},
	{433, "Anonymity Disallowed"},
	{436, "Bad Identity Info"},
	{437, "Unsupported Credential"},
	{438, "Invalid Identity Header"},
	{439, "First Hop Lacks Outbound Support"},
	{440, "Max-Breadth Exceeded"},
	{469, "Bad Info Package"},
	{470, "Consent Needed"},
	{480, "Temporarily Unavailable"},
	{481, "Call/Transaction Does Not Exist"},
	{482, "Loop Detected"},
	{483, "Too Many Hops"},
	{484, "Address Incomplete"},
	{485, "Ambiguous"},
	{486, "Busy Here"},
	{487, "Request Terminated"},
	{488, "Not Acceptable Here"},
	{489, "Bad Event"},
	{491, "Request Pending"},
	{493, "Undecipherable"},
	{494, "Security Agreement Required"},
	{500, "Server Internal Error"},
	{501, "Not Implemented"},
	{502, "Bad Gateway"},
	{503, "Service Unavailable"},
	{504, "Server Time-out"},
	{505, "Version Not Supported"},
	{513, "Message Too Large"},
	{555, "Push Notification Service Not Supported"},
	{580, "Precondition Failure"},
	{600, "Busy Everywhere"},
	{603, "Decline"},
	{604, "Does Not Exist Anywhere"},
	{606, "Not Acceptable"},
	{607, "Unwanted"},
	{608, "Rejected"},
};


/* RFC 3261 21: an unknown code is treated as x00 of its class */
static const char *class_reason[] = {
	NULL, "Provisional", "Success", "Redirection", "Client Error",
	"Server Error", "Global Failure",
};


static const char *table_lookup(uint16_t scode)
{
	size_t lo = 0, hi = ARRAY_SIZE(codes);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (codes[mid].scode == scode)
			return codes[mid].reason;

		if (codes[mid].scode < scode)
			lo = mid + 1;
		else
			hi = mid;
	}

	return NULL;
}


/**
 * Reason phrase of a status code: the registered one, else one that
 * names the class
 */
const char *reply_reason(uint16_t scode)
{
	const char *reason = table_lookup(scode);

	if (reason)
		return reason;

	if (scode >= 100 && scode <= 699)
		return class_reason[scode / 100];

	return "Unknown";
}


bool reply_registered(uint16_t scode)
{
	return table_lookup(scode) != NULL;
}


bool reply_known_method(const struct pl *met)
{
	static const char *methods[] = {
		"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER",
		"MESSAGE", "INFO", "UPDATE", "NOTIFY", "PUBLISH",
		"SUBSCRIBE", "PRACK", "REFER",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(methods); i++) {
		if (!pl_strcmp(met, methods[i]))
			return true;
	}

	return false;
}


/*
 * The builder writes with mbuf_write_*() and the fmt_*() writers: going
 * through libre's printf engine (%r, %u, %J) took most of the
 * instructions of a response. Headers of rare codes keep mbuf_printf().
 */


static int scenario_hdrs_print(struct re_printf *pf, const struct reply *r)
{
	struct le *le;
	int err = 0;

	LIST_FOREACH(r->hdrs, le) {
		const struct hdrval *hv = le->data;

		if (!str_isset(hv->value))
			continue;

		err |= re_hprintf(pf, "%s: ", hv->name);
		err |= expand_print(pf, hv->value, r->msg, r->laddr);
		err |= re_hprintf(pf, "\r\n");
	}

	return err;
}


/*
 * Where msg_param_exists() and msg_param_decode() of libre 1.1.0 can
 * match: the first ';' followed by optional whitespace and the name, in
 * any case (their re_regex() expressions begin so). Returns the ';' and
 * sets *endp (if not NULL) after the name; NULL if there is none.
 */
static const char *param_find(const struct pl *pl, const char *name,
			      const char **endp)
{
	const char *p, *end = pl->p + pl->l;
	const size_t n = strlen(name);

	if (!pl->l)
		return NULL;

	for (p = pl->p; (p = memchr(p, ';', end - p)); ++p) {
		const char *q = p + 1;

		while (q < end && lws_is(*q))
			++q;

		if ((size_t)(end - q) >= n && !strncasecmp(q, name, n)) {
			if (endp)
				*endp = q + n;
			return p;
		}
	}

	return NULL;
}


/*
 * msg_param_exists() without building and running a regex for each
 * response: the first match decides, and it counts only if the name
 * ends the parameters or whitespace, ';' or '=' follows it. *val gets
 * what it gets there: from the ';' to the end of the name.
 */
static int param_exists(const struct pl *pl, const char *name,
			struct pl *val)
{
	const char *end = pl->p + pl->l;
	const char *p, *q;

	p = param_find(pl, name, &q);
	if (!p)
		return ENOENT;

	if (q < end && !lws_is(*q) && *q != ';' && *q != '=')
		return ENOENT;

	val->p = p;
	val->l = q - p;

	return 0;
}


/* RFC 3261 18.2.2 and RFC 3581: the top Via gets received and rport;
 * it is printed as the client sent it (rawrx_via_sent()) */
static int via_write(struct mbuf *mb, const struct sip_msg *msg,
		     const struct sip_hdr *hdr, bool *rportp)
{
	struct pl top = hdr->val, rp;
	int err = 0;

	rawrx_via_sent(&top, msg);

	if (!param_exists(&msg->via.params, "rport", &rp)) {
		err |= mbuf_write_pl_skip(mb, &top, &rp);
		err |= LIT_WRITE(mb, ";rport=");
		err |= fmt_dec(mb, sa_port(&msg->src));
		*rportp = true;
	}
	else {
		err |= mbuf_write_pl(mb, &top);
	}

	if (*rportp || !sa_cmp(&msg->src, &msg->via.addr, SA_ADDR)) {
		err |= LIT_WRITE(mb, ";received=");
		err |= fmt_addr(mb, &msg->src, false);
	}

	return err;
}


/* RFC 3261 18.2.2: the sent-by port; libre 1.1.0 reads none from an
 * IPv4-mapped reference such as [::ffff:192.0.2.10]:19823 (RFC 5118 4.9)
 */
static uint16_t sentby_port(const struct pl *sentby)
{
	struct pl port;

	if (sentby->l && sentby->p[0] == '[') {
		if (re_regex(sentby->p, sentby->l, "\\][ \t]*:[ \t]*[0-9]+",
			     NULL, NULL, &port))
			return 0;
	}
	else if (re_regex(sentby->p, sentby->l, ":[ \t]*[0-9]+", NULL,
			  &port)) {
		return 0;
	}

	return (uint16_t)pl_u32(&port);
}


/*
 * Where to send the response (RFC 3261 18.2.2): sip_reply_addr(), which
 * runs a maddr regex for every response, if the Via may have a maddr;
 * else what it gives without one
 */
static void reply_addr(struct sa *dst, const struct sip_msg *msg,
		       bool rport)
{
	const struct pl *params = &msg->via.params;
	struct pl maddr;

	if (param_find(params, "maddr", NULL)) {
		sip_reply_addr(dst, msg, rport);
	}
	else {
		*dst = msg->src;

		if (msg->tp == SIP_TRANSP_TCP || msg->tp == SIP_TRANSP_TLS ||
		    (msg->tp == SIP_TRANSP_UDP && !rport)) {
			sa_set_port(dst, sip_transp_port(msg->tp,
						sa_port(&msg->via.addr)));
		}
	}

	if (msg->tp == SIP_TRANSP_UDP && !rport &&
	    !sa_port(&msg->via.addr) &&
	    param_exists(params, "maddr", &maddr)) {
		uint16_t port = sentby_port(&msg->via.sentby);

		sa_set_port(dst, port ? port : SIP_PORT);
	}
}


/* "name: value" of a request header, without the CRLF */
static int hdr_write(struct mbuf *mb, const struct sip_hdr *hdr)
{
	int err;

	err  = mbuf_write_pl(mb, &hdr->name);
	err |= LIT_WRITE(mb, ": ");
	err |= mbuf_write_pl(mb, &hdr->val);

	return err;
}


static int copy_hdrs(struct mbuf *mb, const struct reply *r, bool *rportp)
{
	const struct sip_msg *msg = r->msg;
	bool first_via = true;
	bool rec_route;
	struct le *le;
	int err = 0;

	/* RFC 3261 12.1.1: Record-Route goes into dialog-creating ones */
	rec_route = !pl_isset(&msg->to.tag) && needs_contact(r) &&
		!met_is(msg, "UPDATE");

	for (le = msg->hdrl.head; le; le = le->next) {
		const struct sip_hdr *hdr = le->data;

		switch (hdr->id) {

		case SIP_HDR_VIA:
			if (first_via) {
				err |= mbuf_write_pl(mb, &hdr->name);
				err |= LIT_WRITE(mb, ": ");
				err |= via_write(mb, msg, hdr, rportp);
			}
			else {
				err |= hdr_write(mb, hdr);
			}
			err |= LIT_WRITE(mb, "\r\n");
			first_via = false;
			break;

		case SIP_HDR_TO:
			err |= hdr_write(mb, hdr);
			if (!pl_isset(&msg->to.tag) && r->totag) {
				err |= LIT_WRITE(mb, ";tag=");
				err |= fmt_hex64(mb, r->totag);
			}
			err |= LIT_WRITE(mb, "\r\n");
			break;

		case SIP_HDR_RECORD_ROUTE:
			if (!rec_route)
				break;
			/*@fallthrough@*/

		case SIP_HDR_FROM:
		case SIP_HDR_CALL_ID:
		case SIP_HDR_CSEQ:
			err |= hdr_write(mb, hdr);
			err |= LIT_WRITE(mb, "\r\n");
			break;

		default:
			break;
		}
	}

	return err;
}


static int status_write(struct mbuf *mb, const struct reply *r)
{
	int err;

	err  = LIT_WRITE(mb, "SIP/2.0 ");
	err |= fmt_dec(mb, r->scode);
	err |= mbuf_write_u8(mb, ' ');
	err |= mbuf_write_str(mb, r->reason ? r->reason :
			      reply_reason(r->scode));
	err |= LIT_WRITE(mb, "\r\n");

	return err;
}


/* Content-Type, Content-Length, the blank line and the body */
static int body_write(struct mbuf *mb, const struct reply *r)
{
	int err = 0;

	if (r->scode == 380 && !r->ctype) {
		/* RFC 3261 21.3.5: the body describes the alternative */
		char body[160];
		int n = re_snprintf(body, sizeof(body), "Alternative service:"
				    " call <sip:200@%J%s>\r\n", r->laddr,
				    sip_transp_param(r->msg->tp));

		if (!hdr_overridden(r, "Content-Type"))
			err |= LIT_WRITE(mb, "Content-Type: text/plain"
					      "\r\n");
		err |= mbuf_printf(mb, "Content-Length: %d\r\n\r\n%s",
				   n, body);
	}
	else if (r->ctype && r->bodylen) {
		if (!hdr_overridden(r, "Content-Type")) {
			err |= LIT_WRITE(mb, "Content-Type: ");
			err |= mbuf_write_str(mb, r->ctype);
			err |= LIT_WRITE(mb, "\r\n");
		}
		err |= LIT_WRITE(mb, "Content-Length: ");
		err |= fmt_dec(mb, r->bodylen);
		err |= LIT_WRITE(mb, "\r\n\r\n");
		err |= mbuf_write_mem(mb, r->body, r->bodylen);
	}
	else {
		err |= LIT_WRITE(mb, "Content-Length: 0\r\n\r\n");
	}

	return err;
}


/**
 * Build a response to a request, with the headers its code needs
 *
 * @param mbp Response buffer, set on success
 * @param dst Where to send it (RFC 3261 18.2.2), set on success
 * @param r   What the response is made of
 *
 * @return 0 if success, otherwise errorcode
 */
int reply_build(struct mbuf **mbp, struct sa *dst, const struct reply *r)
{
	struct mbuf *mb;
	bool rport = false;
	int err = 0;

	if (!mbp || !dst || !r || !r->msg || !r->laddr)
		return EINVAL;

	mb = mbuf_alloc(512 + r->bodylen);
	if (!mb)
		return ENOMEM;

	err |= status_write(mb, r);
	err |= copy_hdrs(mb, r, &rport);

	if (!hdr_overridden(r, "Server"))
		err |= LIT_WRITE(mb, "Server: sipstub/" SIPSTUB_VERSION
				      "\r\n");

	err |= defaults_write(mb, r);

	if (r->xhdrs)
		err |= mbuf_write_str(mb, r->xhdrs);

	if (!list_isempty(r->hdrs))
		err |= mbuf_printf(mb, "%H", scenario_hdrs_print, r);

	err |= body_write(mb, r);

	if (err) {
		mem_deref(mb);
		return err;
	}

	mb->pos = 0;
	reply_addr(dst, r->msg, rport);
	*mbp = mb;

	return 0;
}


/**
 * Build a response and send it in the request's server transaction
 *
 * @param stp Server transaction (created if NULL), NULL after a final
 * @param ss  Server transaction table
 * @param r   What the response is made of
 * @param mbp Optional copy of the sent response
 *
 * @return 0 if success, otherwise errorcode
 */
int reply_send(struct strans **stp, struct stranss *ss,
	       const struct reply *r, struct mbuf **mbp)
{
	struct mbuf *mb = NULL;
	struct sa dst;
	int err;

	err = reply_build(&mb, &dst, r);
	if (err)
		return err;

	err = strans_reply(stp, ss, r->msg, &dst, r->scode, mb);
	if (!err && mbp)
		*mbp = mem_ref(mb);

	mem_deref(mb);

	return err;
}
