/**
 * @file rawrx.c  Datagrams libre's SIP parser rejects
 *
 * libre drops a UDP datagram it cannot decode without a word. A UDP
 * helper on each SIP socket sees every datagram first; one that does not
 * decode gets 400 (505 for another SIP version, 513 when too large)
 * where its Via can be read, else it is dropped, and either way the
 * event log says so. A datagram over the --max-size limit gets 513. libre 1.1.0 has no call that returns the socket
 * of a SIP transport, so uas.c learns it from a probe request sent to
 * the transport at start-up (rawrx_probe_*).
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

struct rawrx {
	struct le le;
	struct udp_helper *uh;
	struct udp_sock *us;
	struct uas *uas;
};


static void rawrx_destructor(void *arg)
{
	struct rawrx *rx = arg;

	list_unlink(&rx->le);
	mem_deref(rx->uh);
	mem_deref(rx->us);
}


/* The first header line called name (or its compact form) */
static bool line_find(struct pl *val, const struct pl *msg, const char *name,
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

		if (!pl_strcasecmp(&n, name) ||
		    (compact && !pl_strcasecmp(&n, compact))) {
			*val = v;
			return true;
		}
	}

	return false;
}


static int hdr_copy(struct mbuf *mb, const struct pl *msg, const char *name,
		    const char *compact)
{
	struct pl v;

	if (!line_find(&v, msg, name, compact))
		return 0;

	return mbuf_printf(mb, "%s: %r\r\n", name, &v);
}


static void reply_raw(struct rawrx *rx, const struct sa *src,
		      const struct pl *msg, const struct sip_via *via,
		      const struct pl *vial, uint16_t scode,
		      const char *reason)
{
	struct mbuf *mb = mbuf_alloc(512);
	struct pl to, rport;
	struct sa dst;
	int err = 0;

	if (!mb)
		return;

	err |= mbuf_printf(mb, "SIP/2.0 %u %s\r\nVia: ", scode, reason);
	if (!msg_param_exists(&via->params, "rport", &rport)) {
		err |= mbuf_write_pl_skip(mb, vial, &rport);
		err |= mbuf_printf(mb, ";rport=%u", sa_port(src));
	}
	else {
		err |= mbuf_write_pl(mb, vial);
	}
	err |= mbuf_printf(mb, ";received=%j\r\n", src);
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


static void malformed(struct rawrx *rx, const struct sa *src,
		      const struct pl *msg, bool toolarge)
{
	struct evlog *el = uas_evlog(rx->uas);
	struct pl met, ver, vial;
	struct sip_via via;
	uint16_t scode = toolarge ? 513 : 400;

	if (re_regex(msg->p, MIN(msg->l, 512), "[^ \t\r\n]+ [^ \t\r\n]+ "
		     "[^\r\n]*", &met, NULL, &ver) || met.p != msg->p) {
		evlog_event(el, "drop", NULL, ",\"src\":\"%J\",\"len\":%zu,"
			    "\"reason\":\"no SIP start line\"", src, msg->l);
		return;
	}

	if (sip_version(&met)) {
		evlog_event(el, "drop", NULL, ",\"src\":\"%J\",\"len\":%zu,"
			    "\"reason\":\"malformed response\"", src, msg->l);
		return;
	}

	if (!pl_strcmp(&met, "ACK")) {
		evlog_event(el, "drop", NULL, ",\"src\":\"%J\",\"len\":%zu,"
			    "\"reason\":\"malformed ACK\"", src, msg->l);
		return;
	}

	if (!line_find(&vial, msg, "Via", "v") ||
	    sip_via_decode(&via, &vial)) {
		evlog_event(el, "drop", NULL, ",\"src\":\"%J\",\"len\":%zu,"
			    "\"reason\":\"malformed request without a usable "
			    "Via\"", src, msg->l);
		return;
	}

	/* RFC 4475 3.3.15: another SIP version */
	if (!toolarge && pl_strcmp(&ver, "SIP/2.0") && sip_version(&ver))
		scode = 505;

	evlog_event(el, "malformed", NULL, ",\"src\":\"%J\",\"len\":%zu,"
		    "\"method\":%H,\"code\":%u", src, msg->l,
		    json_str_print, &met, scode);

	reply_raw(rx, src, msg, &via, &vial, scode, reply_reason(scode));
}


static bool recv_handler(struct sa *src, struct mbuf *mb, void *arg)
{
	struct rawrx *rx = arg;
	struct sip_msg *msg = NULL;
	size_t pos = mb->pos;
	struct pl raw;
	int err;

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

	err = sip_msg_decode(&msg, mb);
	mb->pos = pos;
	mem_deref(msg);

	if (!err)
		return false;

	malformed(rx, src, &raw, false);

	return true;
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

	udp_rxsz_set(us, RXSZ);

	err = udp_register_helper(&rx->uh, us, LAYER, NULL, recv_handler, rx);
	if (err)
		mem_deref(rx);
	else
		*rxp = rx;

	return err;
}
