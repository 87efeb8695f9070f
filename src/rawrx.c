/**
 * @file rawrx.c  UDP requests, decoded once, and datagrams libre rejects
 *
 * A UDP helper on each SIP socket sees every datagram first. A request
 * that decodes goes straight to the UAS (libre would decode it again);
 * responses and STUN go on to libre. libre drops a datagram it cannot
 * decode without a word: a request whose top Via has no branch (RFC
 * 2543) gets one and goes to the UAS; any other request that does not
 * decode gets 400 with a reason phrase saying what is wrong (505 for
 * another SIP version, 513 when too large) where its Via can be read,
 * else it is dropped, and either way the event log says so. libre 1.1.0 has no call that returns the socket of
 * a SIP transport, so probe.c learns it from a probe request sent to
 * the transport at start-up.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "rawrx"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	LAYER = -1000,          /* below everything else on the socket */
	RXSZ = 65536,
};

/* The branch given to an RFC 2543 request: this, then 16 hex digits */
#define BRANCH_2543 "z9hG4bK-sipstub-2543-"

struct rawrx {
	struct le le;
	struct udp_helper *uh;
	struct udp_sock *us;
	struct uas *uas;
	struct sa laddr;        /* the socket's address */
};


static void rawrx_destructor(void *arg)
{
	struct rawrx *rx = arg;

	list_unlink(&rx->le);
	mem_deref(rx->uh);
	mem_deref(rx->us);
}


/* The next header field called name (or its compact form) from msg on,
 * with its continuation lines; msg moves past it */
static bool line_next(struct pl *msg, struct pl *val, const char *name,
		      const char *compact)
{
	const char *p = msg->p, *end = msg->p + msg->l;

	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);
		struct pl line, n, v;

		line.p = p;
		line.l = (eol ? eol : end) - p;
		p = eol ? eol + 1 : end;

		if (line.l <= 2 && (!line.l || line.p[0] == '\r'))
			break;  /* end of headers */

		if (re_regex(line.p, line.l, "[^: \t]+[ \t]*:[ \t]*[^\r\n]*",
			     &n, NULL, NULL, &v) || n.p != line.p)
			continue;

		if (pl_strcasecmp(&n, name) &&
		    (!compact || pl_strcasecmp(&n, compact)))
			continue;

		/* RFC 3261 7.3.1: folded onto the next lines */
		while (p < end && (*p == ' ' || *p == '\t')) {
			eol = memchr(p, '\n', end - p);
			p = eol ? eol + 1 : end;
			v.l = p - v.p;
		}

		while (v.l && strchr(" \t\r\n", v.p[v.l - 1]))
			--v.l;

		pl_advance(msg, p - msg->p);
		*val = v;
		return true;
	}

	pl_advance(msg, msg->l);

	return false;
}


static bool line_find(struct pl *val, const struct pl *msg, const char *name,
		      const char *compact)
{
	struct pl rest = *msg;

	return line_next(&rest, val, name, compact);
}


static int hdr_copy(struct mbuf *mb, const struct pl *msg, const char *name,
		    const char *compact)
{
	struct pl v;

	if (!line_find(&v, msg, name, compact))
		return 0;

	return mbuf_printf(mb, "%s: %r\r\n", name, &v);
}


/* The first via-parm of the first Via (RFC 3261 7.3.1: one line may
 * hold several) */
static bool via_top(struct pl *top, const struct pl *msg)
{
	const char *comma;

	if (!line_find(top, msg, "Via", "v"))
		return false;

	comma = pl_strchr(top, ',');
	if (comma)
		top->l = comma - top->p;

	while (top->l && strchr(" \t\r\n", top->p[top->l - 1]))
		--top->l;

	return true;
}


/*
 * A via-parm (RFC 3261 20.42) of any SIP version, with or without a
 * branch (libre's sip_via_decode() wants both right): enough to address
 * a response.
 */
static int via_lenient(struct sip_via *via, struct pl *ver,
		       const struct pl *val)
{
	struct pl lws, host, port;
	int err;

	memset(via, 0, sizeof(*via));

	err = re_regex(val->p, val->l, "SIP[ \t\r\n]*/[ \t\r\n]*[^ \t\r\n/]+"
		       "[ \t\r\n]*/[ \t\r\n]*[^ \t\r\n]+[ \t\r\n]+"
		       "[^; \t\r\n]+[ \t\r\n]*[^]*", &lws, NULL, ver, NULL,
		       NULL, NULL, NULL, &via->sentby, NULL, &via->params);
	if (err)
		return err;

	if (lws.p != val->p + 3)
		return EBADMSG;

	if (re_regex(via->sentby.p, via->sentby.l,
		     "\\[[0-9a-fA-F:.]+\\][:]*[0-9]*", &host, NULL, &port) &&
	    re_regex(via->sentby.p, via->sentby.l, "[^:]+[:]*[0-9]*",
		     &host, NULL, &port))
		return EBADMSG;

	sa_init(&via->addr, AF_INET);
	(void)sa_set(&via->addr, &host, 0);
	if (pl_isset(&port))
		sa_set_port(&via->addr, pl_u32(&port));

	via->val = *val;
	(void)msg_param_decode(&via->params, "branch", &via->branch);

	return 0;
}


/* RFC 3261 25.1: *( SEMI generic-param ), none of them empty */
static bool params_valid(const struct pl *params)
{
	struct pl rest = *params;

	while (rest.l) {
		const char *semi;
		struct pl param;

		if (rest.p[0] != ';')
			return false;

		pl_advance(&rest, 1);
		semi = pl_strchr(&rest, ';');

		param.p = rest.p;
		param.l = semi ? (size_t)(semi - rest.p) : rest.l;
		pl_advance(&rest, param.l);

		while (param.l && strchr(" \t\r\n", param.p[0]))
			pl_advance(&param, 1);

		if (!param.l || param.p[0] == '=')
			return false;
	}

	return true;
}


/* RFC 3261 8.2.6.2: the request's Vias, the top via-parm with received
 * (18.2.1) and rport (RFC 3581) */
static int vias_print(struct mbuf *mb, const struct pl *msg,
		      const struct sip_via *via, const struct sa *src)
{
	struct pl rest = *msg, v, tail, rport;
	bool first = true;
	int err = 0;

	while (line_next(&rest, &v, "Via", "v")) {
		err |= mbuf_write_str(mb, "Via: ");

		if (!first || via->val.p != v.p) {
			err |= mbuf_printf(mb, "%r\r\n", &v);
			continue;
		}

		first = false;
		if (!msg_param_exists(&via->params, "rport", &rport)) {
			err |= mbuf_write_pl_skip(mb, &via->val, &rport);
			err |= mbuf_printf(mb, ";rport=%u", sa_port(src));
		}
		else {
			err |= mbuf_write_pl(mb, &via->val);
		}

		tail.p = via->val.p + via->val.l;
		tail.l = v.p + v.l - tail.p;
		err |= mbuf_printf(mb, ";received=%j%r\r\n", src, &tail);
	}

	return err;
}


static void reply_raw(struct rawrx *rx, const struct sa *src,
		      const struct pl *msg, const struct sip_via *via,
		      uint16_t scode, const char *reason)
{
	struct mbuf *mb = mbuf_alloc(512);
	struct pl to, rport;
	struct sa dst;
	int err = 0;

	if (!mb)
		return;

	err |= mbuf_printf(mb, "SIP/2.0 %u %s\r\n", scode, reason);
	err |= vias_print(mb, msg, via, src);
	err |= hdr_copy(mb, msg, "From", "f");
	if (line_find(&to, msg, "To", "t")) {
		err |= mbuf_printf(mb, "To: %r", &to);
		if (re_regex(to.p, to.l, ";[ \t]*tag=", NULL))
			err |= mbuf_printf(mb, ";tag=%016llx",
					   rand_u64() | (1ULL << 63));
		err |= mbuf_write_str(mb, "\r\n");
	}
	err |= hdr_copy(mb, msg, "Call-ID", "i");
	err |= hdr_copy(mb, msg, "CSeq", NULL);
	err |= mbuf_printf(mb, "Server: sipstub/%s\r\n"
			   "Content-Length: 0\r\n\r\n", SIPSTUB_VERSION);
	if (err)
		goto out;

	/* RFC 3261 18.2.2 and RFC 3581 */
	dst = *src;
	if (msg_param_exists(&via->params, "rport", &rport))
		sa_set_port(&dst, sa_port(&via->addr) ?
			    sa_port(&via->addr) : SIP_PORT);

	mb->pos = 0;
	err = udp_send(rx->us, &dst, mb);
	if (!err) {
		struct sa laddr;

		(void)udp_local_get(rx->us, &laddr);
		trace_msg(uas_trace(rx->uas), true, SIP_TRANSP_UDP, &laddr,
			  &dst, mb->buf, mb->end);
	}

 out:
	if (err)
		DEBUG_WARNING("reply to %J: %m\n", src, err);
	mem_deref(mb);
}


static bool sip_version(const struct pl *pl)
{
	return pl->l >= 4 && !memcmp(pl->p, "SIP/", 4);
}


/* The start line's elements: tokens between runs of SP or HTAB */
struct startline {
	struct pl line;
	struct pl met;          /* the first token */
	struct pl uri;          /* the second */
	struct pl ver;          /* the last */
	size_t tokc;
	bool extra_sp;          /* a run of more than one SP, or an HTAB */
	bool trailing_sp;
};


static void startline_split(struct startline *sl, const struct pl *msg)
{
	const char *eol = pl_strchr(msg, '\n');
	struct pl rest;

	memset(sl, 0, sizeof(*sl));
	sl->line.p = msg->p;
	sl->line.l = eol ? (size_t)(eol - msg->p) : msg->l;
	if (sl->line.l && sl->line.p[sl->line.l - 1] == '\r')
		--sl->line.l;

	rest = sl->line;
	while (rest.l) {
		struct pl tok;
		size_t n = 0;

		while (n < rest.l && (rest.p[n] == ' ' || rest.p[n] == '\t'))
			++n;

		if (n > 1 || (n && rest.p[0] == '\t'))
			sl->extra_sp = true;

		if (n == rest.l) {
			sl->trailing_sp = true;
			break;
		}

		pl_advance(&rest, n);

		for (n = 0; n < rest.l; ++n) {
			if (rest.p[n] == ' ' || rest.p[n] == '\t')
				break;
		}

		tok.p = rest.p;
		tok.l = n;
		pl_advance(&rest, n);

		if (!sl->tokc)
			sl->met = tok;
		else if (sl->tokc == 1)
			sl->uri = tok;
		sl->ver = tok;
		++sl->tokc;
	}
}


/* RFC 3261 7.1: Method SP Request-URI SP SIP-Version CRLF */
static bool is_request(const struct startline *sl)
{
	return sl->tokc >= 3 && sl->met.p == sl->line.p &&
		!sip_version(&sl->met) && sip_version(&sl->ver);
}


/* What is wrong with a request's start line (RFC 4475 3.1.2.8-10 and
 * 3.1.2.16), or NULL */
static const char *startline_check(const struct startline *sl,
				   uint16_t *scode)
{
	*scode = 400;

	if (sl->tokc > 3)
		return "Bad Request (LWS in Request-URI)";

	if (pl_strcmp(&sl->ver, "SIP/2.0")) {
		*scode = 505;
		return "Version Not Supported";
	}

	if (sl->trailing_sp)
		return "Bad Request (SP at end of Request-Line)";

	if (sl->extra_sp)
		return "Bad Request (extra SP in Request-Line)";

	return NULL;
}


/* RFC 3261 7: an empty line ends the header */
static bool has_eoh(const struct pl *msg)
{
	return !re_regex(msg->p, msg->l, "\n[\r]*\n", NULL);
}


/* The header fields libre decodes, in turn: which one fails */
static const char *header_check(const struct pl *msg, const struct pl *ruri)
{
	struct msg_ctype ctype;
	struct sip_addr addr;
	struct sip_cseq cseq;
	struct uri uri;
	struct pl v;

	if (!has_eoh(msg))
		return "Bad Request (no empty line after the header)";

	if (uri_decode(&uri, ruri))
		return "Bad Request (cannot parse Request-URI)";

	if (line_find(&v, msg, "To", "t") && sip_addr_decode(&addr, &v))
		return "Bad Request (cannot parse To)";

	if (line_find(&v, msg, "From", "f") && sip_addr_decode(&addr, &v))
		return "Bad Request (cannot parse From)";

	if (line_find(&v, msg, "CSeq", NULL) && sip_cseq_decode(&cseq, &v))
		return "Bad Request (cannot parse CSeq)";

	if (line_find(&v, msg, "Content-Type", "c") &&
	    msg_ctype_decode(&ctype, &v))
		return "Bad Request (cannot parse Content-Type)";

	return "Bad Request (cannot parse the request)";
}


/*
 * RFC 3261 17.2.3 and RFC 4475 3.4.1: a request whose top Via has no
 * branch comes from an RFC 2543 client and is to be accepted. libre
 * 1.1.0 cannot decode such a Via, so the datagram gets a branch at the
 * end of that via-parm, made of what RFC 2543 matches a transaction on:
 * Request-URI, From tag, Call-ID, CSeq number and top Via. Its
 * retransmissions, the ACK of a non-2xx and a CANCEL then get the
 * INVITE's branch and libre matches them. reply.c leaves the branch out
 * of the responses (rawrx_via_sent()).
 */
static bool rfc2543_fix(struct rawrx *rx, const struct sa *src,
			struct mbuf *mb, const struct pl *raw)
{
	struct sip_msg *msg = NULL;
	struct mbuf *fixed = NULL;
	struct sip_via via;
	uint8_t md[MD5_SIZE];
	struct pl top, ver, br;
	size_t at, hex;
	bool ok = false;
	int err;

	if (!via_top(&top, raw) || via_lenient(&via, &ver, &top) ||
	    pl_strcmp(&ver, "2.0") || !params_valid(&via.params) ||
	    !msg_param_exists(&via.params, "branch", &br))
		return false;

	fixed = mbuf_alloc(raw->l + 64);
	if (!fixed)
		return false;

	at = top.p + top.l - raw->p;
	err  = mbuf_write_mem(fixed, (uint8_t *)raw->p, at);
	err |= mbuf_write_str(fixed, ";branch=" BRANCH_2543);
	hex = fixed->pos;
	err |= mbuf_printf(fixed, "%016llx", 0ULL);
	err |= mbuf_write_mem(fixed, (uint8_t *)raw->p + at, raw->l - at);
	if (err)
		goto out;

	fixed->pos = 0;
	if (sip_msg_decode(&msg, fixed))
		goto out;

	err = md5_printf(md, "%r %r %r %u %r", &msg->ruri, &msg->from.tag,
			 &msg->callid, msg->cseq.num, &top);
	if (err)
		goto out;

	fixed->pos = hex;
	err = mbuf_printf(fixed, "%w", md, (size_t)8);
	if (err)
		goto out;

	/* libre's SIP handler gets the fixed datagram (raw is stale) */
	at = mb->pos;
	err = mbuf_resize(mb, at + fixed->end);
	if (err)
		goto out;

	mb->end = at;
	(void)mbuf_write_mem(mb, fixed->buf, fixed->end);
	mb->pos = at;

	msg->src = *src;
	evlog_event(uas_evlog(rx->uas), "rfc2543", msg, ",\"reason\":"
		    "\"top Via without branch: one added\"");
	ok = true;

 out:
	mem_deref(msg);
	mem_deref(fixed);

	return ok;
}


static void drop(struct rawrx *rx, const struct sa *src,
		 const struct pl *msg, const char *reason)
{
	evlog_event(uas_evlog(rx->uas), "drop", NULL, ",\"src\":\"%J\","
		    "\"len\":%zu,\"reason\":\"%s\"", src, msg->l, reason);
}


static void malformed(struct rawrx *rx, const struct sa *src,
		      const struct pl *msg, bool toolarge)
{
	const char *reason = NULL;
	struct startline sl;
	struct sip_via via;
	struct pl top, ver, br;
	uint16_t scode = 513;

	startline_split(&sl, msg);

	if (sl.tokc && sip_version(&sl.met) && sl.met.p == msg->p) {
		drop(rx, src, msg, "malformed response");
		return;
	}

	if (!is_request(&sl)) {
		drop(rx, src, msg, "no SIP start line");
		return;
	}

	if (!pl_strcmp(&sl.met, "ACK")) {
		drop(rx, src, msg, "malformed ACK");
		return;
	}

	if (!via_top(&top, msg) || via_lenient(&via, &ver, &top)) {
		drop(rx, src, msg, "malformed request without a usable Via");
		return;
	}

	if (toolarge)
		reason = reply_reason(scode);
	else
		reason = startline_check(&sl, &scode);

	/* a branch without a value is no RFC 2543 Via either */
	if (!reason && (!params_valid(&via.params) ||
			(!msg_param_exists(&via.params, "branch", &br) &&
			 !pl_isset(&via.branch)))) {
		scode = 400;
		reason = "Bad Request (malformed Via)";
	}

	if (!reason) {
		scode = 400;
		reason = header_check(msg, &sl.uri);
	}

	evlog_event(uas_evlog(rx->uas), "malformed", NULL, ",\"src\":\"%J\","
		    "\"len\":%zu,\"method\":%H,\"code\":%u,\"reason\":\"%s\"",
		    src, msg->l, json_str_print, &sl.met, scode, reason);

	reply_raw(rx, src, msg, &via, scode, reason);
}


/* A request may be kept (its dialog keeps the INVITE until the ACK):
 * decode a copy the size of the datagram, not the 64 KiB buffer */
static int msg_decode(struct sip_msg **msgp, const struct mbuf *mb)
{
	struct mbuf *cp = mbuf_alloc(mbuf_get_left(mb));
	int err;

	if (!cp)
		return ENOMEM;

	(void)mbuf_write_mem(cp, mbuf_buf(mb), mbuf_get_left(mb));
	cp->pos = 0;

	err = sip_msg_decode(msgp, cp);
	mem_deref(cp);

	return err;
}


/* A request goes to the UAS from here, decoded once; a response goes
 * on to libre's client transactions (of our NOTIFY and BYE) */
static bool msg_dispatch(struct rawrx *rx, const struct sa *src,
			 struct sip_msg *msg)
{
	if (!msg->req)
		return false;

	msg->sock = mem_ref(rx->us);
	msg->src  = *src;
	msg->dst  = rx->laddr;
	msg->tp   = SIP_TRANSP_UDP;

	uas_request(rx->uas, msg);

	return true;
}


static bool recv_handler(struct sa *src, struct mbuf *mb, void *arg)
{
	struct rawrx *rx = arg;
	struct sip_msg *msg = NULL;
	struct pl raw;
	bool done;

	raw.p = (const char *)mbuf_buf(mb);
	raw.l = mbuf_get_left(mb);

	/* keep-alives and STUN (RFC 5389 6: magic cookie) are libre's */
	if (raw.l <= 4 || (raw.l >= 20 && (raw.p[0] & 0xc0) == 0 &&
			   !memcmp(raw.p + 4, "\x21\x12\xa4\x42", 4)))
		return false;

	/* RFC 3261 21.5.14; a full receive buffer may be cut short */
	if (raw.l > uas_max_size(rx->uas) || raw.l >= RXSZ) {
		malformed(rx, src, &raw, true);
		return true;
	}

	if (msg_decode(&msg, mb)) {
		if (!rfc2543_fix(rx, src, mb, &raw)) {
			malformed(rx, src, &raw, false);
			return true;
		}

		/* the fixed datagram replaced the original in mb */
		if (msg_decode(&msg, mb))
			return false;
	}

	done = msg_dispatch(rx, src, msg);
	mem_deref(msg);

	return done;
}


struct le *rawrx_le(struct rawrx *rx)
{
	return rx ? &rx->le : NULL;
}


/**
 * Watch a SIP transport's UDP socket for datagrams libre cannot decode
 *
 * @param rxp  Raw receiver, set on success
 * @param uas  UAS
 * @param us   The socket (msg->sock of a UDP request)
 *
 * @return 0 if success, otherwise errorcode
 */
int rawrx_alloc(struct rawrx **rxp, struct uas *uas, struct udp_sock *us)
{
	struct rawrx *rx;
	int err;

	if (!rxp || !uas || !us)
		return EINVAL;

	rx = mem_zalloc(sizeof(*rx), rawrx_destructor);
	if (!rx)
		return ENOMEM;

	rx->uas = uas;
	rx->us  = mem_ref(us);

	err = udp_local_get(us, &rx->laddr);
	if (err)
		goto out;

	udp_rxsz_set(us, RXSZ);

	err = udp_register_helper(&rx->uh, us, LAYER, NULL, recv_handler, rx);

 out:
	if (err)
		mem_deref(rx);
	else
		*rxp = rx;

	return err;
}


/**
 * The top Via of a request as its client sent it: without the branch
 * rawrx gave it if it came from an RFC 2543 client
 *
 * @param val The top via-parm (msg->via.val), shortened if need be
 * @param msg The request
 */
void rawrx_via_sent(struct pl *val, const struct sip_msg *msg)
{
	static const char param[] = ";branch=" BRANCH_2543;
	const size_t plen = sizeof(param) - 1;
	const struct pl *br = &msg->via.branch;
	const char *p;

	if (!val || !msg || br->l != plen - 8 + 16 ||
	    memcmp(br->p, BRANCH_2543, plen - 8))
		return;

	p = br->p - 8;
	if (p < val->p || br->p + br->l != val->p + val->l ||
	    memcmp(p, param, 8))
		return;

	val->l = p - val->p;
}
