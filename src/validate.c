/**
 * @file validate.c  RFC 3261 checks that libre's parser leaves to the UAS
 *
 * sip_msg_decode() accepts much that RFC 3261 forbids: two Call-IDs, a
 * Content-Length of -999, a CSeq number of 2**65, an unterminated
 * quoted string, an IPv6 Request-URI host without brackets (RFC 4475
 * 3.1.2, 3.3.8, 3.3.9; RFC 5118 4.2). Such a request gets 400, and an
 * INVITE whose body or Accept header sipstub cannot serve gets 415 or
 * 406 (RFC 4475 3.3.6, 3.3.15). The reason phrase says what is wrong:
 * "Bad Request (duplicate Call-ID)".
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <ctype.h>
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "validate"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


/* Header fields a request carries once (RFC 3261 7.3.1, 20) */
static const struct {
	enum sip_hdrid id;
	const char *reason;
} single[] = {
	{SIP_HDR_CALL_ID,      "Bad Request (duplicate Call-ID)"},
	{SIP_HDR_CSEQ,         "Bad Request (duplicate CSeq)"},
	{SIP_HDR_FROM,         "Bad Request (duplicate From)"},
	{SIP_HDR_TO,           "Bad Request (duplicate To)"},
	{SIP_HDR_MAX_FORWARDS, "Bad Request (duplicate Max-Forwards)"},
	{SIP_HDR_CONTENT_TYPE, "Bad Request (duplicate Content-Type)"},
};

/* Header fields holding name-addr or addr-spec values */
static const struct {
	enum sip_hdrid id;
	const char *quote;
	const char *angle;
} addrs[] = {
	{SIP_HDR_FROM,
	 "Bad Request (unterminated quoted string in From)",
	 "Bad Request (unbalanced < > in From)"},
	{SIP_HDR_TO,
	 "Bad Request (unterminated quoted string in To)",
	 "Bad Request (unbalanced < > in To)"},
	{SIP_HDR_CONTACT,
	 "Bad Request (unterminated quoted string in Contact)",
	 "Bad Request (unbalanced < > in Contact)"},
};


/* A decimal number, leading zeros allowed, below limit */
static bool number_below(const struct pl *num, uint64_t limit)
{
	struct pl n = *num;

	while (n.l > 1 && n.p[0] == '0')
		pl_advance(&n, 1);

	return n.l <= 19 && pl_u64(&n) < limit;
}


/* All of pl is one run of the class (re_regex does not anchor) */
static bool is_all(const struct pl *pl, const char *expr)
{
	struct pl m;

	return pl->l && !re_regex(pl->p, pl->l, expr, &m) &&
		m.p == pl->p && m.l == pl->l;
}


/* RFC 3261 20.14, RFC 4475 3.1.2.3 and 3.3.9: the framing of a stream */
static const char *clen_check(const struct sip_msg *msg)
{
	const struct sip_hdr *hdr;

	if (sip_msg_hdr_count(msg, SIP_HDR_CONTENT_LENGTH) > 1)
		return "Bad Request (duplicate Content-Length)";

	hdr = sip_msg_hdr(msg, SIP_HDR_CONTENT_LENGTH);
	if (!hdr)
		return NULL;

	if (!is_all(&hdr->val, "[0-9]+") ||
	    !number_below(&hdr->val, 1ULL << 32))
		return "Bad Request (malformed Content-Length)";

	return NULL;
}


/* RFC 3261 8.1.1.5: a number below 2**31, then the method */
static const char *cseq_check(const struct sip_msg *msg)
{
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_CSEQ);
	struct pl num, met;

	if (!hdr)
		return NULL;

	if (re_regex(hdr->val.p, hdr->val.l, "[0-9]+[ \t\r\n]+[^ \t\r\n]+",
		     &num, NULL, &met) || num.p != hdr->val.p ||
	    met.p + met.l != hdr->val.p + hdr->val.l)
		return "Bad Request (malformed CSeq)";

	if (!number_below(&num, 1ULL << 31))
		return "Bad Request (CSeq number too large)";

	return NULL;
}


/*
 * RFC 3261 25.1: a '"' opens a quoted-string that only an unescaped '"'
 * ends (quoted-pair: '\' and any octet), and outside quoted-strings
 * '<' and '>' enclose one URI each.
 */
static const char *addr_scan(const struct pl *val, const char *quote,
			     const char *angle)
{
	bool quoted = false, inside = false;
	size_t i;

	for (i = 0; i < val->l; ++i) {
		const char c = val->p[i];

		if (quoted) {
			if (c == '\\')
				++i;
			else if (c == '"')
				quoted = false;
			continue;
		}

		if (c == '"') {
			quoted = true;
		}
		else if (c == '<' || c == '>') {
			if (inside == (c == '<'))
				return angle;
			inside = !inside;
		}
	}

	if (quoted)
		return quote;

	return inside ? angle : NULL;
}


static const char *addr_check(const struct sip_msg *msg)
{
	struct le *le;
	size_t i;

	/* msg->hdrl has each From, To or Contact line once, with all its
	 * values (libre splits only Via and Route) */
	LIST_FOREACH(&msg->hdrl, le) {
		const struct sip_hdr *hdr = le->data;

		for (i = 0; i < ARRAY_SIZE(addrs); ++i) {
			const char *reason;

			if (hdr->id != addrs[i].id)
				continue;

			reason = addr_scan(&hdr->val, addrs[i].quote,
					   addrs[i].angle);
			if (reason)
				return reason;
		}
	}

	return NULL;
}


/* RFC 3986 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
static bool scheme_valid(const struct pl *uri)
{
	size_t i;

	if (!uri->l || !isalpha((unsigned char)uri->p[0]))
		return false;

	for (i = 1; i < uri->l; ++i) {
		const char c = uri->p[i];

		if (c == ':')
			return true;

		if (!isalnum((unsigned char)c) && !strchr("+-.", c))
			return false;
	}

	return false;
}


static const char *port_check(const struct pl *rest)
{
	struct pl port = *rest;

	if (!port.l)
		return NULL;

	if (port.p[0] != ':')
		return "Bad Request (malformed Request-URI host)";

	pl_advance(&port, 1);
	if (pl_strchr(&port, ':'))
		return "Bad Request (IPv6 Request-URI host without [ ])";

	if (!is_all(&port, "[0-9]+"))
		return "Bad Request (malformed Request-URI host)";

	return NULL;
}


/*
 * RFC 3261 19.1.1 and 25.1: hostport = host [ ":" port ], where an IPv6
 * address is an IPv6reference in [ ] (RFC 5118 4.2). The host is what
 * follows the userinfo's '@' (no other part of a SIP URI has one) up to
 * the uri-parameters or headers. RFC 5118 4.10: "[2001:db8:::1]" is
 * tolerated.
 */
static const char *hostport_check(const struct pl *ruri)
{
	struct pl hp, addr, rest;
	const char *p;
	size_t i;

	hp = *ruri;
	p = pl_strchr(&hp, '@');
	if (!p)
		p = pl_strchr(&hp, ':');
	pl_advance(&hp, p + 1 - hp.p);

	for (i = 0; i < hp.l; ++i) {
		if (hp.p[i] == ';' || hp.p[i] == '?')
			break;
	}
	hp.l = i;

	if (hp.l && hp.p[0] == '[') {
		if (re_regex(hp.p, hp.l, "\\[[0-9a-fA-F:.]+\\][^]*",
			     &addr, &rest) || addr.p != hp.p + 1)
			return "Bad Request (malformed Request-URI host)";

		return port_check(&rest);
	}

	p = pl_strchr(&hp, ':');
	if (!hp.l || p == hp.p)
		return "Bad Request (malformed Request-URI host)";

	if (!p)
		return NULL;

	rest = hp;
	pl_advance(&rest, p - hp.p);

	return port_check(&rest);
}


static const char *ruri_check(const struct sip_msg *msg)
{
	if (!scheme_valid(&msg->ruri))
		return "Bad Request (malformed Request-URI)";

	/* other schemes get 416 */
	if (pl_strcasecmp(&msg->uri.scheme, "sip") &&
	    pl_strcasecmp(&msg->uri.scheme, "sips"))
		return NULL;

	return hostport_check(&msg->ruri);
}


/* RFC 3261 10.2 and 6 (address-of-record), RFC 4475 3.3.4: the To of
 * a REGISTER is a SIP or SIPS URI */
static const char *aor_check(const struct sip_msg *msg)
{
	if (pl_strcmp(&msg->met, "REGISTER") ||
	    !pl_strcasecmp(&msg->to.uri.scheme, "sip") ||
	    !pl_strcasecmp(&msg->to.uri.scheme, "sips"))
		return NULL;

	return "Bad Request (To of REGISTER is no SIP URI)";
}


/* RFC 3261 18.3: a UDP body ends where Content-Length says */
static size_t body_len(const struct sip_msg *msg)
{
	size_t left = mbuf_get_left(msg->mb);

	if (!pl_isset(&msg->clen))
		return left;

	return MIN((size_t)pl_u32(&msg->clen), left);
}


/* RFC 3261 20.11: handling=optional lets a UAS ignore the body */
static bool body_optional(const struct sip_msg *msg)
{
	const struct sip_hdr *hdr;
	struct pl params, h;

	hdr = sip_msg_hdr(msg, SIP_HDR_CONTENT_DISPOSITION);
	if (!hdr || re_regex(hdr->val.p, hdr->val.l, "[^;]*[^]*", NULL,
			     &params))
		return false;

	return !msg_param_decode(&params, "handling", &h) &&
		!pl_strcasecmp(&h, "optional");
}


static bool encoding_unknown(const struct sip_hdr *hdr,
			     const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;

	return pl_strcasecmp(&hdr->val, "identity") != 0;
}


/*
 * RFC 3261 8.2.3: sipstub understands an application/sdp body of no
 * content coding in an INVITE; media.c reads no other (multipart
 * included). reply.c adds Accept and Accept-Encoding to the 415.
 */
static const char *body_check(const struct sip_msg *msg)
{
	if (!body_len(msg) || body_optional(msg))
		return NULL;

	if (sip_msg_hdr_apply(msg, true, SIP_HDR_CONTENT_ENCODING,
			      encoding_unknown, NULL))
		return "Unsupported Media Type (Content-Encoding)";

	if (!msg_ctype_cmp(&msg->ctyp, "application", "sdp"))
		return "Unsupported Media Type (application/sdp only)";

	return NULL;
}


/* RFC 3261 20.1 and 25.1: a media-range with q=0 is not acceptable */
static bool q_zero(const struct pl *params)
{
	struct pl q;
	size_t i;

	if (msg_param_decode(params, "q", &q))
		return false;

	for (i = 0; i < q.l; ++i) {
		if (q.p[i] != '0' && q.p[i] != '.')
			return false;
	}

	return true;
}


static bool accepts_sdp(const struct sip_hdr *hdr, const struct sip_msg *msg,
			void *arg)
{
	struct pl type, sub, params;
	(void)msg;
	(void)arg;

	if (re_regex(hdr->val.p, hdr->val.l,
		     "[^/ \t;]+[ \t]*/[ \t]*[^ \t;]+[^]*",
		     &type, NULL, NULL, &sub, &params) ||
	    q_zero(&params))
		return false;

	if (!pl_strcmp(&type, "*"))
		return !pl_strcmp(&sub, "*");

	return !pl_strcasecmp(&type, "application") &&
		(!pl_strcmp(&sub, "*") || !pl_strcasecmp(&sub, "sdp"));
}


/*
 * RFC 3261 20.1 and 21.4.7, RFC 4475 3.3.15: the answer to an INVITE
 * is SDP. No Accept means application/sdp; an empty one, nothing.
 */
static const char *accept_check(const struct sip_msg *msg)
{
	if (!sip_msg_hdr(msg, SIP_HDR_ACCEPT) ||
	    sip_msg_hdr_apply(msg, true, SIP_HDR_ACCEPT, accepts_sdp, NULL))
		return NULL;

	return "Not Acceptable (Accept has no application/sdp)";
}


static const char *syntax_check(const struct sip_msg *msg, bool *framing)
{
	const char *reason;
	size_t i;

	reason = clen_check(msg);
	if (reason) {
		*framing = true;
		return reason;
	}

	for (i = 0; i < ARRAY_SIZE(single); ++i) {
		if (sip_msg_hdr_count(msg, single[i].id) > 1)
			return single[i].reason;
	}

	reason = cseq_check(msg);
	if (!reason)
		reason = addr_check(msg);
	if (!reason)
		reason = ruri_check(msg);
	if (!reason)
		reason = aor_check(msg);

	/* RFC 3261 20.15 */
	if (!reason && body_len(msg) &&
	    !sip_msg_hdr(msg, SIP_HDR_CONTENT_TYPE))
		reason = "Bad Request (body without Content-Type)";

	return reason;
}


/**
 * Check a request for what RFC 3261 forbids and libre's parser accepts.
 * Over TCP, a Content-Length error also shuts the connection down: it
 * closes once the response sent on it has gone out.
 *
 * @param msg     The request
 * @param scodep  Status code to answer with, set if invalid
 * @param reasonp Reason phrase saying what is wrong, set if invalid
 *
 * @return 0 if valid, EBADMSG if not, EINVAL on bad arguments
 */
int validate_request(const struct sip_msg *msg, uint16_t *scodep,
		     const char **reasonp)
{
	bool framing = false;
	const char *reason;
	uint16_t scode = 400;

	if (!msg || !scodep || !reasonp)
		return EINVAL;

	reason = syntax_check(msg, &framing);

	if (!reason && !pl_strcmp(&msg->met, "INVITE")) {
		scode = 415;
		reason = body_check(msg);
		if (!reason) {
			scode = 406;
			reason = accept_check(msg);
		}
	}

	if (!reason)
		return 0;

	/* RFC 4475 3.1.2.3, 3.3.9: over a stream, a Content-Length error
	 * is a framing error; the connection should be closed */
	if (framing)
		guard_tcp_close(msg);

	*scodep = scode;
	*reasonp = reason;

	return EBADMSG;
}
