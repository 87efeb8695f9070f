/**
 * @file scan.c  The event log's fields of a SIP message, without decoding
 *
 * evlog writes a few fields of every message. sip_msg_decode() parses
 * every header into a hash and draws a random tag from OpenSSL (a
 * getpid() system call each time): perf showed it as most of the event
 * log's cost. This scanner reads only the start line, Via, From, To,
 * Call-ID and CSeq of messages libre has already accepted, and gives up
 * (EBADMSG, the caller then decodes) on anything it does not read
 * exactly as libre would: folded lines, quotes, a repeated header.
 * tests/unit/test_scan.c compares the two on every message in tests/.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <ctype.h>
#include <string.h>
#include <sipstub.h>


enum hdr {
	H_OTHER, H_VIA, H_FROM, H_TO, H_CALLID, H_CSEQ,
};


/* Letters, digits and '-': the header names in use. RFC 3261 allows
 * more token characters, where libre's decoder does not agree with a
 * plain reading (fuzz_request found "CSe'q"): leave those to it. */
static bool is_token(const struct pl *pl)
{
	size_t i;

	for (i = 0; i < pl->l; i++) {
		const char c = pl->p[i];

		if (!isalnum((unsigned char)c) && c != '-')
			return false;
	}

	return true;
}


/* The header's id as libre's decoder computes it: a hash that other
 * names may share (fuzz_request found "ivlennt-Length" taken for one of
 * these), so the scanner must see the same headers libre sees */
static enum hdr hdr_id(const struct pl *n)
{
	enum sip_hdrid id;

	if (n->l == 1) {
		switch (n->p[0] | 0x20) {

		case 'v': return H_VIA;
		case 'f': return H_FROM;
		case 't': return H_TO;
		case 'i': return H_CALLID;
		default:  return H_OTHER;
		}
	}

	if ((n->p[0] | 0x20) == 'x' && n->p[1] == '-')
		return H_OTHER;

	id = (enum sip_hdrid)(hash_joaat_ci(n->p, n->l) & 0xfff);

	switch (id) {

	case SIP_HDR_VIA:          return H_VIA;
	case SIP_HDR_FROM:         return H_FROM;
	case SIP_HDR_TO:           return H_TO;
	case SIP_HDR_CALL_ID:      return H_CALLID;
	case SIP_HDR_CSEQ:         return H_CSEQ;
	default:                   return H_OTHER;
	}
}


/* ";" ws* name ws* "=" ws* value: the first such parameter in pl */
static void param_find(const struct pl *pl, const char *name, struct pl *v)
{
	const size_t nl = strlen(name);
	const char *p = pl->p, *end = pl->p + pl->l;

	for (; p < end; p++) {
		const char *q;

		if (*p != ';')
			continue;

		for (q = p + 1; q < end && lws_is(*q); q++)
			;
		if ((size_t)(end - q) < nl || strncasecmp(q, name, nl))
			continue;
		for (q += nl; q < end && lws_is(*q); q++)
			;
		if (q >= end || *q != '=')
			continue;
		for (++q; q < end && lws_is(*q); q++)
			;

		v->p = q;
		while (q < end && !lws_is(*q) && *q != ';')
			++q;
		v->l = q - v->p;
		if (v->l)
			return;
	}

	v->p = NULL;
	v->l = 0;
}


/* From/To: the tag is among the parameters after <uri>, or after the
 * URI's first ';' for an addr-spec */
static int tag_find(const struct pl *val, struct pl *tag)
{
	const char *lt = memchr(val->p, '<', val->l);
	struct pl params = *val;

	if (memchr(val->p, '"', val->l))
		return EBADMSG;

	if (lt) {
		const char *gt = memchr(lt, '>', val->l - (lt - val->p));

		if (!gt)
			return EBADMSG;

		params.p = gt + 1;
		params.l = val->l - (params.p - val->p);
	}

	param_find(&params, "tag", tag);

	return 0;
}


static int cseq_read(struct scan *s, const struct pl *val)
{
	const char *p = val->p, *end = val->p + val->l;
	struct pl num;

	num.p = p;
	while (p < end && *p >= '0' && *p <= '9')
		++p;
	num.l = p - num.p;

	if (!num.l || num.l > 9 || p >= end || !lws_is(*p))
		return EBADMSG;

	while (p < end && lws_is(*p))
		++p;

	s->cseqmet.p = p;
	s->cseqmet.l = end - p;
	s->cseq = pl_u32(&num);

	return s->cseqmet.l && !memchr(p, ' ', s->cseqmet.l) ? 0 : EBADMSG;
}


static int startline(struct scan *s, const char *p, const char *eol)
{
	const char *sp1 = memchr(p, ' ', eol - p), *sp2;
	struct pl x, y, z;

	if (!sp1 || sp1 == p)
		return EBADMSG;

	sp2 = memchr(sp1 + 1, ' ', eol - sp1 - 1);
	if (!sp2 || sp2 == sp1 + 1)
		return EBADMSG;

	x.p = p;        x.l = sp1 - p;
	y.p = sp1 + 1;  y.l = sp2 - y.p;
	z.p = sp2 + 1;  z.l = eol - z.p;

	if (memchr(x.p, '\t', x.l) || memchr(y.p, '\t', y.l))
		return EBADMSG;

	if (!pl_strcmp(&z, "SIP/2.0")) {
		s->req = true;
		s->met = x;
		s->uri = y;
		return 0;
	}

	if (pl_strcmp(&x, "SIP/2.0") || y.l != 3 ||
	    strspn(y.p, "0123456789") < 3)
		return EBADMSG;

	s->scode  = (uint16_t)pl_u32(&y);
	s->reason = z;

	return s->scode ? 0 : EBADMSG;
}


static int header(struct scan *s, const struct pl *name,
		  const struct pl *val, unsigned *seen)
{
	const enum hdr id = hdr_id(name);
	const char *comma;
	struct pl v = *val;

	if (id == H_OTHER)
		return 0;

	/* only the first Via counts; the others are left alone */
	if (id == H_VIA && (*seen & (1u << H_VIA)))
		return 0;

	if (*seen & (1u << id))
		return EBADMSG;

	*seen |= 1u << id;

	switch (id) {

	case H_VIA:
		if (memchr(v.p, '"', v.l))
			return EBADMSG;
		comma = memchr(v.p, ',', v.l);
		if (comma) {
			v.l = comma - v.p;
			while (v.l && lws_is(v.p[v.l - 1]))
				--v.l;
		}
		if (v.l < 8 || strncasecmp(v.p, "SIP/2.0/", 8))
			return EBADMSG;
		param_find(&v, "branch", &s->branch);
		return 0;

	case H_FROM:
		s->from = v;
		return tag_find(&v, &s->ftag);

	case H_TO:
		s->to = v;
		return tag_find(&v, &s->ttag);

	case H_CALLID:
		s->callid = v;
		return 0;

	case H_CSEQ:
		return cseq_read(s, &v);

	default:
		return 0;
	}
}


/**
 * Read the log fields of a SIP message
 *
 * @param s   Fields, set on success (pointing into pkt)
 * @param pkt The message
 * @param len Its length
 *
 * @return 0 if success, EBADMSG if sip_msg_decode() is needed
 */
int scan_msg(struct scan *s, const uint8_t *pkt, size_t len)
{
	const char *p = (const char *)pkt, *end = p + len, *eol;
	unsigned seen = 0;
	bool eoh = false;
	int err;

	if (!s || !pkt)
		return EINVAL;

	memset(s, 0, sizeof(*s));

	eol = memchr(p, '\n', len);
	if (!eol || eol == p || eol[-1] != '\r' ||
	    memchr(p, '\r', eol - 1 - p))
		return EBADMSG;

	err = startline(s, p, eol - 1);
	if (err)
		return err;

	for (p = eol + 1; p < end; p = eol + 1) {
		const char *colon, *ve;
		struct pl name, val;

		eol = memchr(p, '\n', end - p);
		if (!eol || eol[-1] != '\r' || eol - 1 < p)
			return EBADMSG;

		if (eol - 1 == p) {         /* the empty line */
			eoh = true;
			break;
		}

		/* a folded header, or a bare CR or LF in a line */
		if (*p == ' ' || *p == '\t' || (eol + 1 < end &&
		    (eol[1] == ' ' || eol[1] == '\t')) ||
		    memchr(p, '\r', eol - 1 - p))
			return EBADMSG;

		colon = memchr(p, ':', eol - 1 - p);
		if (!colon)
			return EBADMSG;

		name.p = p;
		name.l = colon - p;
		while (name.l && lws_is(name.p[name.l - 1]))
			--name.l;
		if (!name.l || !is_token(&name))
			return EBADMSG;

		val.p = colon + 1;
		ve = eol - 1;
		while (val.p < ve && lws_is(*val.p))
			++val.p;
		while (ve > val.p && lws_is(ve[-1]))
			--ve;
		val.l = ve - val.p;

		err = header(s, &name, &val, &seen);
		if (err)
			return err;
	}

	if (!eoh)
		return EBADMSG;

	/* what the scanner needs to be sure of its answer */
	if (!(seen & (1u << H_VIA)) || !(seen & (1u << H_CSEQ)) ||
	    !(seen & (1u << H_FROM)) || !(seen & (1u << H_TO)) ||
	    !(seen & (1u << H_CALLID)))
		return EBADMSG;

	return 0;
}


/**
 * The event log's fields of a message, the slow way (sip_msg_decode)
 *
 * @param f   Fields, set on success (pointing into msg)
 * @param msg Decoded message
 */
void scan_from_msg(struct scan *f, const struct sip_msg *msg)
{
	memset(f, 0, sizeof(*f));
	f->req     = msg->req;
	f->scode   = msg->scode;
	f->met     = msg->met;
	f->uri     = msg->ruri;
	f->reason  = msg->reason;
	f->callid  = msg->callid;
	f->cseqmet = msg->cseq.met;
	f->cseq    = msg->cseq.num;
	f->from    = msg->from.val;
	f->to      = msg->to.val;
	f->ftag    = msg->from.tag;
	f->ttag    = msg->to.tag;
	f->branch  = msg->via.branch;
}

