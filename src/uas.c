/**
 * @file uas.c  SIP stack, transports and request dispatch
 *
 * The server transactions (strans.c) see every request first: they
 * absorb retransmissions, the ACK of a non-2xx and CANCELs that match a
 * transaction. What is left is checked (RFC 3261 8.2), matched against
 * the scenario and answered by a transaction.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "uas"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	HASH_SIZE = 4096,
	/* a server transaction lasts 32 s: 64 000 at 2000/s */
	STRANS_HASH_SIZE = 65536,
	DIALOG_HASH_SIZE = 65536,
	UDP_SOCKBUF = 4 << 20,
};

struct uas {
	struct list rawrxl;        /* struct rawrx, one per UDP socket */
	struct sip *sip;
	struct sip_lsnr *lsnr;
	struct stranss *stranss;
	struct probe *probe;       /* while learning a UDP socket */
	struct scenario *scn;
	struct trace *trace;
	struct evlog *el;
	struct hash *dialogs;
	struct hash *early;        /* struct prack, by Call-ID */
	struct subs *subs;
	struct publ *publ;
	struct list xacts;
	struct tqs *tqs;
	size_t max_size;           /* bytes of a UDP request, else 513 */
	unsigned workers;          /* processes sharing the ports */
	struct guard *guard;
	struct tls_srv *tls;       /* for tls: listeners */
	uint32_t nxacts;
	uint32_t ndialogs;
};

static void uas_destructor(void *arg)
{
	struct uas *uas = arg;

	uas_shutdown(uas);
	mem_deref(uas->stranss);
	list_flush(&uas->rawrxl);
	mem_deref(uas->probe);
	mem_deref(uas->guard);
	mem_deref(uas->lsnr);
	if (uas->sip) {
		sip_close(uas->sip, true);
		mem_deref(uas->sip);
	}
	mem_deref(uas->tls);
	mem_deref(uas->dialogs);
	mem_deref(uas->early);
	mem_deref(uas->subs);
	mem_deref(uas->publ);
	mem_deref(uas->tqs);
	mem_deref(uas->scn);
	mem_deref(uas->trace);
	mem_deref(uas->el);
}


static void trace_handler(bool tx, enum sip_transp tp, const struct sa *src,
			  const struct sa *dst, const uint8_t *pkt,
			  size_t len, void *arg)
{
	struct uas *uas = arg;

	if (uas->probe)
		return;

	if (!tx && len >= sizeof(PROBE_RLINE) - 1 &&
	    !memcmp(pkt, PROBE_RLINE, sizeof(PROBE_RLINE) - 1))
		return;

	trace_msg(uas->trace, tx, tp, src, dst, pkt, len);
}


/* Answer outside any scenario rule; stateless: keep no transaction */
static void reply_direct(struct uas *uas, const struct sip_msg *msg,
			 uint16_t scode, const char *reason,
			 const struct list *hdrs, bool stateless)
{
	struct mbuf *mb = NULL;
	struct reply r;
	struct sa laddr, dst;
	int err;

	memset(&r, 0, sizeof(r));
	uas_local_addr(&laddr, msg);
	r.msg    = msg;
	r.scode  = scode;
	r.reason = reason;
	r.hdrs   = hdrs;
	r.laddr  = &laddr;
	r.totag  = pl_isset(&msg->to.tag) ? 0 : msg->tag | (1ULL << 63);

	if (!stateless) {
		err = reply_send(NULL, uas->stranss, &r, NULL);
	}
	else {
		err = reply_build(&mb, &dst, &r);
		if (!err)
			err = sip_send(uas->sip, msg->sock, msg->tp, &dst, mb);
	}

	if (err)
		DEBUG_WARNING("%u reply to %r: %m\n", scode, &msg->met, err);

	mem_deref(mb);
}


/* Errors, RFC 3261 checks */
static void reply_plain(struct uas *uas, const struct sip_msg *msg,
			uint16_t scode, const char *reason)
{
	reply_direct(uas, msg, scode, reason, NULL, false);
}


/* A limit is hit: a stateless 503, which keeps no transaction */
static void overload(struct uas *uas, const struct sip_msg *msg,
		     const char *limit)
{
	struct hdrval ra;
	struct list hdrs = LIST_INIT;
	char secs[16];

	evlog_event(uas->el, "overload", msg, ",\"limit\":\"%s\"", limit);

	if (!pl_strcmp(&msg->met, "ACK"))
		return;

	(void)re_snprintf(secs, sizeof(secs), "%u",
			  guard_retry_after(uas->guard));
	memset(&ra, 0, sizeof(ra));
	ra.name  = "Retry-After";
	ra.value = secs;
	list_append(&hdrs, &ra.le, &ra);

	reply_direct(uas, msg, 503, NULL, &hdrs, true);
}


static void drop(struct uas *uas, const struct sip_msg *msg,
		 const char *why)
{
	DEBUG_NOTICE("dropped request from %J: %s\n", &msg->src, why);
	evlog_event(uas->el, "drop", msg, ",\"reason\":\"%s\"", why);
}


/* RFC 3261 8.2: is the request well formed enough to process? */
static bool request_check(struct uas *uas, const struct sip_msg *msg)
{
	const char *missing = NULL, *reason;
	uint16_t scode;

	if (!pl_isset(&msg->via.sentby)) {
		drop(uas, msg, "no Via header: cannot address a response");
		return false;
	}

	if (!sip_msg_hdr(msg, SIP_HDR_FROM))
		missing = "Missing From Header";
	else if (!sip_msg_hdr(msg, SIP_HDR_TO))
		missing = "Missing To Header";
	else if (!pl_isset(&msg->callid))
		missing = "Missing Call-ID Header";
	else if (!sip_msg_hdr(msg, SIP_HDR_CSEQ))
		missing = "Missing CSeq Header";

	if (missing) {
		if (pl_strcmp(&msg->met, "ACK"))
			reply_plain(uas, msg, 400, missing);
		else
			drop(uas, msg, missing);
		return false;
	}

	if (pl_cmp(&msg->cseq.met, &msg->met)) {
		if (pl_strcmp(&msg->met, "ACK"))
			reply_plain(uas, msg, 400, "CSeq Method Mismatch");
		else
			drop(uas, msg, "CSeq method mismatch");
		return false;
	}

	/* RFC 3261 18.3: a datagram shorter than its Content-Length */
	if (msg->tp == SIP_TRANSP_UDP && pl_isset(&msg->clen) &&
	    pl_u32(&msg->clen) > mbuf_get_left(msg->mb)) {
		if (pl_strcmp(&msg->met, "ACK"))
			reply_plain(uas, msg, 400, "Content-Length Mismatch");
		else
			drop(uas, msg, "Content-Length mismatch");
		return false;
	}

	/* what libre's parser lets through and RFC 3261 forbids */
	if (validate_request(msg, &scode, &reason)) {
		if (pl_strcmp(&msg->met, "ACK"))
			reply_plain(uas, msg, scode, reason);
		else
			drop(uas, msg, reason);
		return false;
	}

	if (!pl_strcmp(&msg->met, "ACK") || !pl_strcmp(&msg->met, "CANCEL"))
		return true;

	/* RFC 6665 7.2.1, RFC 3903 4: the event package is mandatory */
	if ((!pl_strcmp(&msg->met, "SUBSCRIBE") ||
	     !pl_strcmp(&msg->met, "NOTIFY") ||
	     !pl_strcmp(&msg->met, "PUBLISH")) &&
	    !sip_msg_hdr(msg, SIP_HDR_EVENT)) {
		reply_plain(uas, msg, 400, "Missing Event Header");
		return false;
	}

	/* RFC 3261 8.2.2.1 */
	if (pl_strcasecmp(&msg->uri.scheme, "sip") &&
	    pl_strcasecmp(&msg->uri.scheme, "sips")) {
		reply_plain(uas, msg, 416, NULL);
		return false;
	}

	/* RFC 3261 8.2.2.3 */
	if (optag_require_unsupported(msg)) {
		reply_plain(uas, msg, 420, NULL);
		return false;
	}

	return true;
}


static bool in_dialog_only(const struct pl *met)
{
	return !pl_strcmp(met, "BYE") || !pl_strcmp(met, "PRACK") ||
		!pl_strcmp(met, "INFO") || !pl_strcmp(met, "UPDATE") ||
		!pl_strcmp(met, "NOTIFY");
}


static void in_dialog(struct uas *uas, const struct sip_msg *msg)
{
	const struct rule *rule;
	struct dialog *dlg;

	dlg = dialog_find(uas, msg);
	if (!dlg) {
		/* RFC 3262, RFC 3311: PRACK, UPDATE in an early dialog */
		if (!prack_recv(uas, msg, uas->scn))
			reply_plain(uas, msg, 481, NULL);
		return;
	}

	/* RFC 3261 12.2.2: CSeq lower than the last one */
	if (!dialog_cseq_valid(dlg, msg)) {
		reply_plain(uas, msg, 500, "CSeq Out of Order");
		return;
	}

	/* RFC 3261 14.2, RFC 3311 5.2: glare with our re-INVITE/offer */
	if (indlg_glare(dialog_indlg(dlg), msg)) {
		reply_plain(uas, msg, 491, NULL);
		return;
	}

	rule = scenario_match(uas->scn, msg);
	if (!rule) {
		reply_plain(uas, msg, 200, NULL);
		return;
	}

	(void)xact_start(uas, msg, rule, dlg);
}


static bool is_probe(const struct pl *ruri)
{
	const size_t n = sizeof(PROBE_RLINE) - 1 - 8;

	return ruri->l >= n && !memcmp(ruri->p, &PROBE_RLINE[8], n);
}


static bool request_handler(const struct sip_msg *msg, void *arg)
{
	struct uas *uas = arg;
	const struct rule *rule;

	if (is_probe(&msg->ruri)) {
		probe_recv(uas->probe, msg);
		return true;
	}

	if (stranss_recv(uas->stranss, msg))
		return true;

	if (!request_check(uas, msg))
		return true;

	if (!guard_tcp_msg(uas->guard, msg)) {
		overload(uas, msg, "tcp");
		guard_tcp_close(msg);
		return true;
	}

	if (!pl_strcmp(&msg->met, "ACK")) {
		struct dialog *dlg = dialog_find(uas, msg);

		if (dlg)
			dialog_ack(dlg, msg);
		return true;
	}

	/* a CANCEL that matched no transaction (RFC 3261 9.2) */
	if (!pl_strcmp(&msg->met, "CANCEL")) {
		reply_plain(uas, msg, 481, NULL);
		return true;
	}

	if (pl_isset(&msg->to.tag)) {
		if (!subs_request(uas, msg) && !callback_request(uas, msg))
			in_dialog(uas, msg);
		return true;
	}

	rule = scenario_match(uas->scn, msg);
	if (rule && pl_strcmp(&msg->met, "BYE")) {
		const char *limit = guard_check(uas->guard, uas->nxacts,
						uas->ndialogs,
						!pl_strcmp(&msg->met, "INVITE"));
		if (limit)
			overload(uas, msg, limit);
		else
			(void)xact_start(uas, msg, rule, NULL);
		return true;
	}

	if (in_dialog_only(&msg->met))
		reply_plain(uas, msg, 481, NULL);
	else if (reply_known_method(&msg->met))
		reply_plain(uas, msg, 405, NULL);
	else
		reply_plain(uas, msg, 501, NULL);

	return true;
}


/**
 * A request that rawrx decoded from a UDP socket of the SIP stack
 *
 * @param uas UAS
 * @param msg The request, with its socket and addresses set
 */
void uas_request(struct uas *uas, const struct sip_msg *msg)
{
	if (!uas || !msg)
		return;

	trace_handler(false, msg->tp, &msg->src, &msg->dst, msg->mb->buf,
		      msg->mb->end, uas);
	(void)request_handler(msg, uas);
}


static void exit_handler(void *arg)
{
	(void)arg;
}


/**
 * Allocate the user-agent server
 *
 * @param uasp  UAS, set on success
 * @param scn   Scenario (referenced)
 * @param el    Event log, or NULL
 * @param trace  Print every SIP message to stderr
 * @param limits Resource limits, NULL for the defaults
 *
 * @return 0 if success, otherwise errorcode
 */
int uas_alloc(struct uas **uasp, struct scenario *scn, struct evlog *el,
	      bool trace, const struct guard_cfg *limits)
{
	struct uas *uas;
	int err;

	if (!uasp || !scn)
		return EINVAL;

	uas = mem_zalloc(sizeof(*uas), uas_destructor);
	if (!uas)
		return ENOMEM;

	uas->scn = mem_ref(scn);
	uas->el  = mem_ref(el);
	uas->max_size = SIPSTUB_MAX_SIZE;

	err = hash_alloc(&uas->dialogs, DIALOG_HASH_SIZE);
	if (err)
		goto out;

	err = hash_alloc(&uas->early, HASH_SIZE);
	if (err)
		goto out;

	err = tqs_alloc(&uas->tqs);
	if (err)
		goto out;

	err = subs_alloc(&uas->subs, uas);
	if (err)
		goto out;

	err = publ_alloc(&uas->publ, uas);
	if (err)
		goto out;

	err = guard_alloc(&uas->guard, limits ? limits : &guard_defaults);
	if (err)
		goto out;

	err = trace_alloc(&uas->trace, el, trace);
	if (err)
		goto out;

	err = sip_alloc(&uas->sip, NULL, HASH_SIZE, HASH_SIZE, HASH_SIZE,
			"sipstub/" SIPSTUB_VERSION, exit_handler, uas);
	if (err)
		goto out;

	err = stranss_alloc(&uas->stranss, uas->sip, uas->tqs,
			    STRANS_HASH_SIZE);
	if (err)
		goto out;

	sip_set_trace_handler(uas->sip, trace_handler);

	err = sip_listen(&uas->lsnr, uas->sip, true, request_handler, uas);

 out:
	if (err)
		mem_deref(uas);
	else
		*uasp = uas;

	return err;
}


/* Watch a UDP transport's socket with rawrx; a probe finds it */
static int udp_watch(struct uas *uas, const struct sa *bound)
{
	struct udp_sock *us = NULL;
	struct rawrx *rx;
	int err;

	err = probe_alloc(&uas->probe);
	if (!err)
		err = probe_udp_sock(uas->probe, bound, uas->workers, &us);

	uas->probe = mem_deref(uas->probe);
	if (err)
		return err;

	/* bursts at load (SIPp sends per 10 ms tick) overflow the default
	 * 208 KiB; the kernel caps this at net.core.rmem_max */
	(void)udp_sockbuf_set(us, UDP_SOCKBUF);

	err = rawrx_alloc(&rx, uas, us);
	if (!err)
		list_append(&uas->rawrxl, rawrx_le(rx), rx);

	mem_deref(us);

	return err;
}


/**
 * Add a transport
 *
 * @param uas   UAS
 * @param tp    SIP_TRANSP_UDP, SIP_TRANSP_TCP or SIP_TRANSP_TLS (after
 *              uas_set_tls())
 * @param laddr Address to listen on (port 0: any free port)
 * @param bound The address bound, set on success (optional)
 *
 * @return 0 if success, otherwise errorcode
 */
int uas_listen(struct uas *uas, enum sip_transp tp, const struct sa *laddr,
	       struct sa *bound)
{
	struct sa a;
	int err;

	if (!uas || !laddr || (tp == SIP_TRANSP_TLS && !uas->tls))
		return EINVAL;

	err = sip_transp_add(uas->sip, tp, laddr, tls_srv_ctx(uas->tls));
	if (err)
		return err;

	/* with port 0, ask the stack which port it got */
	a = *laddr;
	if (!sa_port(laddr)) {
		err = sip_transp_laddr(uas->sip, &a, tp, laddr);
		if (err)
			return err;
	}

	if (tp == SIP_TRANSP_UDP) {
		err = udp_watch(uas, &a);
		if (err)
			DEBUG_WARNING("cannot watch %J for malformed "
				      "datagrams: %m\n", &a, err);
	}

	if (tp == SIP_TRANSP_TLS)
		evlog_event(uas->el, "listen", NULL, ",\"transport\":\"TLS\","
			    "\"addr\":\"%J\",\"fingerprint\":\"%H\","
			    "\"self_signed\":%s", &a,
			    tls_srv_fingerprint_print, uas->tls,
			    tls_srv_self_signed(uas->tls) ? "true" : "false");
	else
		evlog_event(uas->el, "listen", NULL,
			    ",\"transport\":\"%s\",\"addr\":\"%J\"",
			    sip_transp_name(tp), &a);

	if (bound)
		*bound = a;

	return 0;
}


struct sip *uas_sip(const struct uas *uas)
{
	return uas ? uas->sip : NULL;
}


struct scenario *uas_scenario(const struct uas *uas)
{
	return uas ? uas->scn : NULL;
}


/**
 * Answer new requests from another scenario; transactions under way
 * hold a reference to the one they started with
 *
 * @param uas UAS
 * @param scn Scenario (referenced)
 */
void uas_set_scenario(struct uas *uas, struct scenario *scn)
{
	if (!uas || !scn)
		return;

	mem_deref(uas->scn);
	uas->scn = mem_ref(scn);
}


struct stranss *uas_stranss(const struct uas *uas)
{
	return uas ? uas->stranss : NULL;
}


struct hash *uas_dialogs(const struct uas *uas)
{
	return uas ? uas->dialogs : NULL;
}


struct hash *uas_early(const struct uas *uas)
{
	return uas ? uas->early : NULL;
}


struct subs *uas_subs(const struct uas *uas)
{
	return uas ? uas->subs : NULL;
}


struct publ *uas_publ(const struct uas *uas)
{
	return uas ? uas->publ : NULL;
}


/**
 * Count a transaction or dialog coming (+1) or going (-1)
 *
 * @param uas    UAS
 * @param dialog True for a dialog, false for a transaction
 * @param delta  +1 or -1
 */
void uas_count(struct uas *uas, bool dialog, int delta)
{
	if (!uas)
		return;

	if (dialog)
		uas->ndialogs += delta;
	else
		uas->nxacts += delta;
}


struct list *uas_xacts(struct uas *uas)
{
	return uas ? &uas->xacts : NULL;
}


/**
 * Tell the UAS how many worker processes share its ports
 *
 * @param uas UAS
 * @param n   Number of workers
 */
void uas_set_workers(struct uas *uas, unsigned n)
{
	if (uas)
		uas->workers = n;
}


/**
 * Give the UAS the TLS context of its tls: listeners
 *
 * @param uas UAS
 * @param ts  TLS context (referenced); its handshakes go to the UAS's
 *            event log
 */
void uas_set_tls(struct uas *uas, struct tls_srv *ts)
{
	if (!uas)
		return;

	mem_deref(uas->tls);
	uas->tls = mem_ref(ts);
	tls_srv_set_evlog(ts, uas->el);
}


void uas_set_max_size(struct uas *uas, size_t max)
{
	if (uas)
		uas->max_size = max;
}


size_t uas_max_size(const struct uas *uas)
{
	return uas ? uas->max_size : SIPSTUB_MAX_SIZE;
}


struct tqs *uas_tqs(const struct uas *uas)
{
	return uas ? uas->tqs : NULL;
}


struct evlog *uas_evlog(const struct uas *uas)
{
	return uas ? uas->el : NULL;
}


struct trace *uas_trace(const struct uas *uas)
{
	return uas ? uas->trace : NULL;
}


/**
 * The local address a request arrived on (libre binds each transport
 * to one address, so it is never the any-address)
 *
 * @param laddr Set to the address
 * @param msg   Request
 */
void uas_local_addr(struct sa *laddr, const struct sip_msg *msg)
{
	*laddr = msg->dst;
}


/**
 * Drop every pending transaction and dialog (on exit)
 */
void uas_shutdown(struct uas *uas)
{
	if (!uas)
		return;

	subs_flush(uas->subs);
	publ_flush(uas->publ);
	list_flush(&uas->xacts);
	hash_flush(uas->dialogs);
}
