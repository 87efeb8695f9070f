/**
 * @file test_reply.c  Unit tests: status-code table and response builder
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <stdlib.h>
#include <strings.h>
#include "unit.h"


/* --- the status-code table --- */

/*
 * Every code of ../shared/reference/sip-responses-overview.de.txt with
 * the phrase of the IANA registry where the two differ (181, 405, 414,
 * 437, 486), plus 425 and 608 of the registry.
 */
static const struct {
	uint16_t scode;
	const char *reason;
} registry[] = {
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


static const char *registry_reason(uint16_t scode)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(registry); ++i) {
		if (registry[i].scode == scode)
			return registry[i].reason;
	}

	return NULL;
}


static int check_reason_registered(void)
{
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(registry); ++i) {
		uint16_t sc = registry[i].scode;

		if (!reply_registered(sc)) {
			print_error("%u is not registered\n", sc);
			err = EINVAL;
		}

		if (unit_strcmp(registry[i].reason, reply_reason(sc))) {
			print_error("%u: expected \"%s\", got \"%s\"\n", sc,
				    registry[i].reason, reply_reason(sc));
			err = EINVAL;
		}
	}

	return err;
}


/* Codes no RFC defines get the phrase of their class */
static int check_reason_class(void)
{
	static const char *class[] = {
		NULL, "Provisional", "Success", "Redirection",
		"Client Error", "Server Error", "Global Failure",
	};
	uint16_t sc;
	int err = 0;

	TEST_STRCMP("Provisional", reply_reason(150));
	TEST_STRCMP("Success", reply_reason(299));
	TEST_STRCMP("Redirection", reply_reason(399));
	TEST_STRCMP("Client Error", reply_reason(499));
	TEST_STRCMP("Client Error", reply_reason(426));
	TEST_STRCMP("Server Error", reply_reason(599));
	TEST_STRCMP("Global Failure", reply_reason(699));
	TEST_STRCMP("Global Failure", reply_reason(605));
	TEST_ASSERT(!reply_registered(150));
	TEST_ASSERT(!reply_registered(299));
	TEST_ASSERT(!reply_registered(499));
	TEST_ASSERT(!reply_registered(0));
	TEST_ASSERT(!reply_registered(700));

	/* exactly the registry is registered, every code has a phrase */
	for (sc = 100; sc <= 699; ++sc) {
		const char *reason = registry_reason(sc);

		if (reply_registered(sc) != (reason != NULL)) {
			print_error("%u: registered is %d\n", sc,
				    reply_registered(sc));
			err = EINVAL;
		}

		if (!reason && unit_strcmp(class[sc / 100],
					   reply_reason(sc))) {
			print_error("%u: expected \"%s\", got \"%s\"\n", sc,
				    class[sc / 100], reply_reason(sc));
			err = EINVAL;
		}
	}

	TEST_ASSERT(reply_reason(99) != NULL);
	TEST_ASSERT(reply_reason(700) != NULL);

 out:
	return err;
}


static int check_known_method(void)
{
	static const char *known[] = {
		"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER",
		"MESSAGE", "INFO", "UPDATE", "NOTIFY", "PUBLISH",
		"SUBSCRIBE", "PRACK", "REFER",
	};
	struct pl pl;
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(known); ++i) {
		pl_set_str(&pl, known[i]);
		TEST_ASSERT(reply_known_method(&pl));
	}

	pl_set_str(&pl, "invite");
	TEST_ASSERT(!reply_known_method(&pl));
	pl_set_str(&pl, "FOO");
	TEST_ASSERT(!reply_known_method(&pl));
	pl_set_str(&pl, "INVITEX");
	TEST_ASSERT(!reply_known_method(&pl));

 out:
	return err;
}


/* --- the response builder --- */

/** A built response: as built, decoded, and as text */
struct resp {
	struct mbuf *mb;
	struct sip_msg *msg;
	char *text;
	struct sa dst;
};


static const char invite_text[] =
	"INVITE sip:alice@example.com SIP/2.0\n"
	"Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;rport\n"
	"Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;received=10.0.0.99\n"
	"Record-Route: <sip:p1.example.com;lr>\n"
	"Record-Route: <sip:p2.example.com;lr>\n"
	"From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	"To: <sip:alice@example.com>\n"
	"Call-ID: call-1@example.com\n"
	"CSeq: 7 INVITE\n"
	"Contact: <sip:bob@10.0.0.1:5062>\n"
	"Max-Forwards: 70\n"
	"Require: 100rel, gruu\n"
	"Timestamp: 54\n"
	"Content-Length: 0\n"
	"\n";

#define TOTAG 0x0123456789abcdefULL


static void resp_reset(struct resp *rs)
{
	rs->mb   = mem_deref(rs->mb);
	rs->msg  = mem_deref(rs->msg);
	rs->text = mem_deref(rs->text);
}


static int resp_build(struct resp *rs, const struct reply *r)
{
	struct mbuf *copy = NULL;
	int err;

	resp_reset(rs);

	err = reply_build(&rs->mb, &rs->dst, r);
	if (err)
		return err;

	TEST_EQUALS(0, rs->mb->pos);

	err = mbuf_strdup(rs->mb, &rs->text, mbuf_get_left(rs->mb));
	if (err)
		goto out;

	rs->mb->pos = 0;

	/* decoded from a copy: the decoder moves its position */
	copy = mbuf_alloc(mbuf_get_left(rs->mb));
	if (!copy) {
		err = ENOMEM;
		goto out;
	}

	err = mbuf_write_mem(copy, mbuf_buf(rs->mb), mbuf_get_left(rs->mb));
	if (err)
		goto out;

	copy->pos = 0;
	err = sip_msg_decode(&rs->msg, copy);
	if (err) {
		print_error("cannot decode the response (%d):\n%s\n", err,
			    rs->text);
		goto out;
	}

	TEST_ASSERT(!rs->msg->req);

 out:
	mem_deref(copy);

	return err;
}


static void reply_init(struct reply *r, const struct sip_msg *msg,
		       uint16_t scode, const struct sa *laddr)
{
	memset(r, 0, sizeof(*r));
	r->msg   = msg;
	r->scode = scode;
	r->laddr = laddr;
}


/*
 * The header lines of a response with that name (compared without case):
 * how many, and the value of the first. libre's decoder would split
 * comma-separated values, so the text is read line by line.
 */
static unsigned hdr_lines(const struct resp *rs, const char *name,
			  struct pl *val)
{
	const size_t nlen = strlen(name);
	const char *p = strstr(rs->text, "\r\n");
	unsigned n = 0;

	while (p) {
		const char *end;

		p += 2;
		end = strstr(p, "\r\n");
		if (!end || end == p)
			break;  /* the blank line ends the headers */

		if ((size_t)(end - p) > nlen && p[nlen] == ':' &&
		    !strncasecmp(p, name, nlen)) {

			if (!n && val) {
				const char *v = p + nlen + 1;

				while (*v == ' ')
					++v;

				val->p = v;
				val->l = end - v;
			}

			++n;
		}

		p = end;
	}

	return n;
}


static unsigned hdr_count(const struct resp *rs, const char *name)
{
	return hdr_lines(rs, name, NULL);
}


/* The one header of that name has this value */
static int hdr_check(const struct resp *rs, const char *name,
		     const char *value)
{
	struct pl val = PL_INIT;
	unsigned n = hdr_lines(rs, name, &val);

	if (n != 1 || pl_strcmp(&val, value)) {
		unit_note("%u: expected one \"%s: %s\", got %u, the first "
			  "\"%r\", in:\n%s\n", rs->msg->scode, name, value,
			  n, &val, rs->text);
		return EINVAL;
	}

	return 0;
}


static int hdr_absent(const struct resp *rs, const char *name)
{
	if (hdr_count(rs, name)) {
		print_error("%u: no %s expected in:\n%s\n", rs->msg->scode,
			    name, rs->text);
		return EINVAL;
	}

	return 0;
}


static int req_decode(struct sip_msg **msgp, const char *text)
{
	return unit_msg(msgp, SIP_TRANSP_UDP, "192.0.2.5:6000",
			"127.0.0.1:5060", text);
}


static int check_status_line(void)
{
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= req_decode(&msg, invite_text);
	TEST_ERR(err);

	reply_init(&r, msg, 486, &laddr);
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	TEST_ASSERT(!strncmp(rs.text, "SIP/2.0 486 Busy Here\r\n", 23));
	TEST_EQUALS(486, rs.msg->scode);
	TEST_PLSTR("Busy Here", &rs.msg->reason);

	r.reason = "Go Away";
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	TEST_ASSERT(!strncmp(rs.text, "SIP/2.0 486 Go Away\r\n", 21));

	reply_init(&r, msg, 299, &laddr);
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	TEST_ASSERT(!strncmp(rs.text, "SIP/2.0 299 Success\r\n", 21));

	/* bad arguments */
	TEST_EQUALS(EINVAL, reply_build(NULL, &rs.dst, &r));
	TEST_EQUALS(EINVAL, reply_build(&rs.mb, NULL, &r));
	TEST_EQUALS(EINVAL, reply_build(&rs.mb, &rs.dst, NULL));
	r.laddr = NULL;
	TEST_EQUALS(EINVAL, reply_build(&rs.mb, &rs.dst, &r));
	r.laddr = &laddr;
	r.msg = NULL;
	TEST_EQUALS(EINVAL, reply_build(&rs.mb, &rs.dst, &r));

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/* RFC 3261 8.2.6.2: Via, From, Call-ID, CSeq copied; To with a tag */
static int check_copied(void)
{
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= req_decode(&msg, invite_text);
	TEST_ERR(err);

	reply_init(&r, msg, 486, &laddr);
	r.totag = TOTAG;
	err = resp_build(&rs, &r);
	TEST_ERR(err);

	err  = hdr_check(&rs, "From",
			 "\"Bob\" <sip:bob@example.com>;tag=from1");
	err |= hdr_check(&rs, "Call-ID", "call-1@example.com");
	err |= hdr_check(&rs, "CSeq", "7 INVITE");
	err |= hdr_check(&rs, "To",
			 "<sip:alice@example.com>;tag=0123456789abcdef");
	err |= hdr_check(&rs, "Content-Length", "0");
	TEST_ERR(err);
	TEST_PLSTR("0123456789abcdef", &rs.msg->to.tag);

	/* request headers that have no place in a response */
	err  = hdr_absent(&rs, "Max-Forwards");
	err |= hdr_absent(&rs, "Contact");
	err |= hdr_absent(&rs, "Record-Route");
	err |= hdr_absent(&rs, "Content-Type");
	TEST_ERR(err);

	TEST_EQUALS(1, hdr_count(&rs, "Server"));
	TEST_PLSTR("sipstub/" SIPSTUB_VERSION,
		   &sip_msg_hdr(rs.msg, SIP_HDR_SERVER)->val);

	/* the message ends after Content-Length and the blank line */
	TEST_ASSERT(strstr(rs.text, "\r\nContent-Length: 0\r\n\r\n") ==
		    rs.text + strlen(rs.text) - 23);

	/* no To-tag asked for: none added */
	r.totag = 0;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = hdr_check(&rs, "To", "<sip:alice@example.com>");
	TEST_ERR(err);

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


static int check_totag_kept(void)
{
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= unit_req_edit(&msg, invite_text, "To: <sip:alice@example.com>",
			"To: <sip:alice@example.com>;tag=old");
	TEST_ERR(err);

	reply_init(&r, msg, 486, &laddr);
	r.totag = TOTAG;
	err = resp_build(&rs, &r);
	TEST_ERR(err);

	err = hdr_check(&rs, "To", "<sip:alice@example.com>;tag=old");
	TEST_ERR(err);
	TEST_PLSTR("old", &rs.msg->to.tag);

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


static bool via_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		  void *arg)
{
	struct pl *vals = arg;
	(void)msg;

	if (!pl_isset(&vals[0])) {
		vals[0] = hdr->val;
		return false;
	}

	vals[1] = hdr->val;

	return true;
}


/* The Via headers of the response, top and second */
static int via_check(const struct resp *rs, const char *top,
		     const char *second)
{
	struct pl vals[2] = {PL_INIT, PL_INIT};
	int err = 0;

	(void)sip_msg_hdr_apply(rs->msg, true, SIP_HDR_VIA, via_h, vals);

	TEST_EQUALS(second ? 2 : 1, hdr_count(rs, "Via"));
	TEST_PLSTR(top, &vals[0]);
	if (second)
		TEST_PLSTR(second, &vals[1]);

 out:
	if (err)
		print_error("in:\n%s\n", rs->text);

	return err;
}


/* RFC 3261 18.2.2 and RFC 3581: received, rport and where to send */
static int check_via(void)
{
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr, exp;
	int err;

	err = sa_set_str(&laddr, "127.0.0.1", 5060);
	TEST_ERR(err);

	/* rport: the source port, received always */
	err = req_decode(&msg, invite_text);
	TEST_ERR(err);
	reply_init(&r, msg, 180, &laddr);
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = via_check(&rs, "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
			"rport=6000;received=192.0.2.5",
			"SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
			"received=10.0.0.99");
	TEST_ERR(err);
	(void)sa_set_str(&exp, "192.0.2.5", 6000);
	TEST_ASSERT(sa_cmp(&exp, &rs.dst, SA_ALL));
	msg = mem_deref(msg);

	/* rport before other parameters */
	err = unit_req_edit(&msg, invite_text, "z9hG4bKa1;rport",
		       "z9hG4bKa1;rport;x=1");
	TEST_ERR(err);
	r.msg = msg;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = via_check(&rs, "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
			"x=1;rport=6000;received=192.0.2.5",
			"SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
			"received=10.0.0.99");
	TEST_ERR(err);
	msg = mem_deref(msg);

	/* no rport: received (another host), the port of the Via */
	err = unit_req_edit(&msg, invite_text, ";rport\n", "\n");
	TEST_ERR(err);
	r.msg = msg;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = via_check(&rs, "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
			"received=192.0.2.5",
			"SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
			"received=10.0.0.99");
	TEST_ERR(err);
	(void)sa_set_str(&exp, "192.0.2.5", 5062);
	TEST_ASSERT(sa_cmp(&exp, &rs.dst, SA_ALL));
	msg = mem_deref(msg);

	/* no rport, no port, the Via host sent it: nothing added */
	err = unit_msg(&msg, SIP_TRANSP_UDP, "10.0.0.1:6000",
		       "127.0.0.1:5060",
		       "OPTIONS sip:alice@example.com SIP/2.0\n"
		       "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKo\n"
		       "From: <sip:bob@example.com>;tag=f\n"
		       "To: <sip:alice@example.com>\n"
		       "Call-ID: o\n"
		       "CSeq: 1 OPTIONS\n"
		       "Content-Length: 0\n"
		       "\n");
	TEST_ERR(err);
	reply_init(&r, msg, 200, &laddr);
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = via_check(&rs, "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKo", NULL);
	TEST_ERR(err);
	(void)sa_set_str(&exp, "10.0.0.1", 5060);
	TEST_ASSERT(sa_cmp(&exp, &rs.dst, SA_ALL));

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/* A request of one top Via, from src, for check_via_parms() */
static int via_req(struct sip_msg **msgp, const char *src, const char *via)
{
	char *text = NULL;
	int err;

	err = re_sdprintf(&text, "OPTIONS sip:alice@example.com SIP/2.0\n"
			  "Via: %s\n"
			  "From: <sip:bob@example.com>;tag=f\n"
			  "To: <sip:alice@example.com>\n"
			  "Call-ID: v\n"
			  "CSeq: 1 OPTIONS\n"
			  "Content-Length: 0\n"
			  "\n", via);
	if (err)
		return err;

	err = unit_msg(msgp, SIP_TRANSP_UDP, src, "127.0.0.1:5060", text);
	mem_deref(text);

	return err;
}


/*
 * RFC 3261 7.3.1: received goes to the top via-parm of a line holding
 * several (libre keeps each apart). RFC 5118 4.9: the port of an
 * IPv4-mapped sent-by, which libre does not read (RFC 3261 18.2.2).
 */
static int check_via_parms(void)
{
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr, exp;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= via_req(&msg, "192.0.2.5:6000", "SIP/2.0/UDP 10.0.0.1:5062;"
		       "branch=z9hG4bKv1 , SIP/2.0/UDP 10.0.0.2;"
		       "branch=z9hG4bKv0");
	TEST_ERR(err);

	reply_init(&r, msg, 200, &laddr);
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	if (!strstr(rs.text, "\r\nVia: SIP/2.0/UDP 10.0.0.1:5062;"
		    "branch=z9hG4bKv1;received=192.0.2.5\r\nVia: SIP/2.0/UDP "
		    "10.0.0.2;branch=z9hG4bKv0\r\n")) {
		unit_note("received not on the top via-parm:\n%s\n",
			  rs.text);
		err = EINVAL;
		goto out;
	}
	(void)sa_set_str(&exp, "192.0.2.5", 5062);
	TEST_ASSERT(sa_cmp(&exp, &rs.dst, SA_ALL));
	msg = mem_deref(msg);

	err = via_req(&msg, "[::1]:6000", "SIP/2.0/UDP "
		      "[::ffff:192.0.2.10]:19823;branch=z9hG4bKv2");
	TEST_ERR(err);
	r.msg = msg;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	(void)sa_set_str(&exp, "::1", 19823);
	TEST_ASSERT(sa_cmp(&exp, &rs.dst, SA_ALL));

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


static int check_body(void)
{
	static const char sdp[] = "v=0\r\ns=-\r\n";
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= req_decode(&msg, invite_text);
	TEST_ERR(err);

	reply_init(&r, msg, 200, &laddr);
	r.totag   = TOTAG;
	r.ctype   = "application/sdp";
	r.body    = (const uint8_t *)sdp;
	r.bodylen = strlen(sdp);
	err = resp_build(&rs, &r);
	TEST_ERR(err);

	err  = hdr_check(&rs, "Content-Type", "application/sdp");
	err |= hdr_check(&rs, "Content-Length", "10");
	TEST_ERR(err);
	TEST_EQUALS(10, mbuf_get_left(rs.msg->mb));
	TEST_ASSERT(!memcmp(mbuf_buf(rs.msg->mb), sdp, 10));
	TEST_ASSERT(!strcmp(rs.text + strlen(rs.text) - 14,
			    "\r\n\r\nv=0\r\ns=-\r\n"));

	/* a type without a body is no body */
	r.bodylen = 0;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err  = hdr_absent(&rs, "Content-Type");
	err |= hdr_check(&rs, "Content-Length", "0");
	TEST_ERR(err);

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/** A header a code needs; value NULL: prefix must match */
struct defhdr {
	uint16_t scode;
	const char *name;
	const char *value;
	const char *prefix;
};


static int defaults_run(const struct defhdr *tab, size_t n,
			enum sip_transp tp, const char *laddr_str)
{
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	size_t i;
	int err;

	err  = sa_decode(&laddr, laddr_str, strlen(laddr_str));
	err |= req_decode(&msg, invite_text);
	TEST_ERR(err);
	msg->tp = tp;

	for (i = 0; i < n; ++i) {
		struct pl val = PL_INIT;

		reply_init(&r, msg, tab[i].scode, &laddr);
		r.totag = TOTAG;
		err = resp_build(&rs, &r);
		TEST_ERR(err);

		if (tab[i].value) {
			err = hdr_check(&rs, tab[i].name, tab[i].value);
			TEST_ERR(err);
			continue;
		}

		if (hdr_lines(&rs, tab[i].name, &val) != 1 ||
		    val.l < strlen(tab[i].prefix) ||
		    memcmp(val.p, tab[i].prefix, strlen(tab[i].prefix))) {
			print_error("%u: expected one %s: %s... in:\n%s\n",
				    tab[i].scode, tab[i].name,
				    tab[i].prefix, rs.text);
			err = EINVAL;
			goto out;
		}
	}

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


static int check_defaults(void)
{
	static const struct defhdr tab[] = {
		{199, "Reason",
		 "SIP;cause=480;text=\"Temporarily Unavailable\"", NULL},
		{300, "Contact",
		 "<sip:200@127.0.0.1:5060>;q=1.0, "
		 "<sip:486@127.0.0.1:5060>;q=0.5, "
		 "<sip:404@127.0.0.1:5060>;q=0.1", NULL},
		{301, "Contact", "<sip:200@127.0.0.1:5060>", NULL},
		{302, "Contact", "<sip:200@127.0.0.1:5060>", NULL},
		{305, "Contact", "<sip:127.0.0.1:5060;lr>", NULL},
		{380, "Contact", "<sip:200@127.0.0.1:5060>", NULL},
		{399, "Contact", "<sip:200@127.0.0.1:5060>", NULL},
		{485, "Contact",
		 "<sip:200@127.0.0.1:5060>;q=1.0, "
		 "<sip:486@127.0.0.1:5060>;q=0.5, "
		 "<sip:404@127.0.0.1:5060>;q=0.1", NULL},
		{401, "WWW-Authenticate", NULL,
		 "Digest realm=\"sipstub\", nonce=\""},
		{407, "Proxy-Authenticate", NULL,
		 "Digest realm=\"sipstub\", nonce=\""},
		{405, "Allow", SIPSTUB_ALLOW, NULL},
		{501, "Allow", SIPSTUB_ALLOW, NULL},
		{415, "Accept", "application/sdp", NULL},
		{415, "Accept-Encoding", "identity", NULL},
		{415, "Accept-Language", "en", NULL},
		{417, "Accept-Resource-Priority", "dsn.routine", NULL},
		{421, "Require", "100rel", NULL},
		{422, "Min-SE", "1800", NULL},
		{423, "Min-Expires", "3600", NULL},
		{469, "Recv-Info", "", NULL},
		{470, "Permission-Missing", "<sip:alice@127.0.0.1:5060>",
		 NULL},
		{489, "Allow-Events",
		 "message-summary, presence, dialog, refer", NULL},
		{494, "Security-Server", "digest;q=0.1", NULL},
		{494, "Require", "sec-agree", NULL},
		{480, "Retry-After", "30", NULL},
		{503, "Retry-After", "30", NULL},
	};

	return defaults_run(tab, ARRAY_SIZE(tab), SIP_TRANSP_UDP,
			    "127.0.0.1:5060");
}


/* The Contacts name the transport and an IPv6 address in brackets */
static int check_defaults_tcp6(void)
{
	static const struct defhdr tab[] = {
		{302, "Contact", "<sip:200@[::1]:5070;transport=tcp>", NULL},
		{305, "Contact", "<sip:[::1]:5070;transport=tcp;lr>", NULL},
		{300, "Contact",
		 "<sip:200@[::1]:5070;transport=tcp>;q=1.0, "
		 "<sip:486@[::1]:5070;transport=tcp>;q=0.5, "
		 "<sip:404@[::1]:5070;transport=tcp>;q=0.1", NULL},
		{180, "Contact", "<sip:alice@[::1]:5070;transport=tcp>",
		 NULL},
	};

	return defaults_run(tab, ARRAY_SIZE(tab), SIP_TRANSP_TCP,
			    "[::1]:5070");
}


/* Codes with no special header get none of them */
static int check_defaults_none(void)
{
	static const char *names[] = {
		"Contact", "Retry-After", "Allow", "WWW-Authenticate",
		"Proxy-Authenticate", "Accept", "Unsupported", "Require",
		"Min-SE", "Min-Expires", "Recv-Info", "Allow-Events",
		"Security-Server", "Reason", "Content-Type",
	};
	static const uint16_t codes[] = {400, 404, 408, 486, 487, 500, 600,
					 603};
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	size_t i, j;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= req_decode(&msg, invite_text);
	TEST_ERR(err);

	for (i = 0; i < ARRAY_SIZE(codes); ++i) {
		reply_init(&r, msg, codes[i], &laddr);
		r.totag = TOTAG;
		err = resp_build(&rs, &r);
		TEST_ERR(err);

		for (j = 0; j < ARRAY_SIZE(names); ++j) {
			err = hdr_absent(&rs, names[j]);
			TEST_ERR(err);
		}

		err = hdr_check(&rs, "Content-Length", "0");
		TEST_ERR(err);
	}

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/* 380: a body that describes the alternative service */
static int check_380_body(void)
{
	static const char body[] =
		"Alternative service: call <sip:200@127.0.0.1:5060>\r\n";
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	char len[16];
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= req_decode(&msg, invite_text);
	TEST_ERR(err);

	reply_init(&r, msg, 380, &laddr);
	err = resp_build(&rs, &r);
	TEST_ERR(err);

	(void)re_snprintf(len, sizeof(len), "%zu", strlen(body));
	err  = hdr_check(&rs, "Content-Type", "text/plain");
	err |= hdr_check(&rs, "Content-Length", len);
	TEST_ERR(err);
	TEST_EQUALS(strlen(body), mbuf_get_left(rs.msg->mb));
	TEST_ASSERT(!memcmp(mbuf_buf(rs.msg->mb), body, strlen(body)));

	/* a scenario body replaces it */
	r.ctype   = "text/html";
	r.body    = (const uint8_t *)"<p/>";
	r.bodylen = 4;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err  = hdr_check(&rs, "Content-Type", "text/html");
	err |= hdr_check(&rs, "Content-Length", "4");
	TEST_ERR(err);

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/* RFC 3261 12.1.1: dialog-creating responses to INVITE */
static int check_dialog_headers(void)
{
	static const uint16_t dlg[] = {180, 183, 199, 200, 202};
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	size_t i;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= req_decode(&msg, invite_text);
	TEST_ERR(err);

	for (i = 0; i < ARRAY_SIZE(dlg); ++i) {
		reply_init(&r, msg, dlg[i], &laddr);
		r.totag = TOTAG;
		err = resp_build(&rs, &r);
		TEST_ERR(err);

		err = hdr_check(&rs, "Contact", "<sip:alice@127.0.0.1:5060>");
		TEST_ERR(err);

		/* both, in their order */
		TEST_EQUALS(2, hdr_count(&rs, "Record-Route"));
		TEST_ASSERT(strstr(rs.text, "Record-Route: <sip:p1.example"
				   ".com;lr>\r\nRecord-Route: <sip:p2.exam"
				   "ple.com;lr>\r\n") != NULL);
	}

	/* 2xx to INVITE: Allow */
	err = hdr_check(&rs, "Allow", SIPSTUB_ALLOW);
	TEST_ERR(err);

	/* 100 Trying creates no dialog */
	reply_init(&r, msg, 100, &laddr);
	r.totag = TOTAG;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err  = hdr_absent(&rs, "Contact");
	err |= hdr_absent(&rs, "Record-Route");
	TEST_ERR(err);

	/* a 180 without a To-tag creates none either */
	reply_init(&r, msg, 180, &laddr);
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = hdr_absent(&rs, "Contact");
	TEST_ERR(err);

	/* final non-2xx: no Record-Route */
	reply_init(&r, msg, 486, &laddr);
	r.totag = TOTAG;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = hdr_absent(&rs, "Record-Route");
	TEST_ERR(err);

	/* Record-Route only for INVITE (here) */
	msg = mem_deref(msg);
	err = unit_req_edit(&msg, invite_text, "INVITE sip:",
		       "OPTIONS sip:");
	TEST_ERR(err);
	reply_init(&r, msg, 200, &laddr);
	r.totag = TOTAG;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err  = hdr_absent(&rs, "Record-Route");
	err |= hdr_check(&rs, "Allow", SIPSTUB_ALLOW);
	err |= hdr_check(&rs, "Accept", "application/sdp");
	TEST_ERR(err);

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


static int hdrs_add(struct list *hdrs, const char *name, const char *value)
{
	struct hdrval *hv;
	int err;

	hv = mem_zalloc(sizeof(*hv), NULL);
	if (!hv)
		return ENOMEM;

	list_append(hdrs, &hv->le, hv);

	err  = str_dup(&hv->name, name);
	err |= str_dup(&hv->value, value);

	return err;
}


static void hdrs_flush(struct list *hdrs)
{
	struct le *le;

	while ((le = list_head(hdrs))) {
		struct hdrval *hv = le->data;

		list_unlink(le);
		mem_deref(hv->name);
		mem_deref(hv->value);
		mem_deref(hv);
	}
}


/* A scenario header replaces the default of that name; "" removes it */
static int check_override(void)
{
	struct list hdrs = LIST_INIT;
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= req_decode(&msg, invite_text);
	TEST_ERR(err);

	err  = hdrs_add(&hdrs, "contact", "<sip:x@example.net>");
	err |= hdrs_add(&hdrs, "X-Test", "call ${callid} for ${user}");
	err |= hdrs_add(&hdrs, "SERVER", "test/1");
	TEST_ERR(err);

	reply_init(&r, msg, 302, &laddr);
	r.hdrs = &hdrs;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err  = hdr_check(&rs, "Contact", "<sip:x@example.net>");
	err |= hdr_check(&rs, "X-Test", "call call-1@example.com for alice");
	err |= hdr_check(&rs, "Server", "test/1");
	TEST_ERR(err);

	/* a 200 to INVITE: our Contact replaced, too */
	reply_init(&r, msg, 200, &laddr);
	r.totag = TOTAG;
	r.hdrs = &hdrs;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = hdr_check(&rs, "Contact", "<sip:x@example.net>");
	TEST_ERR(err);
	hdrs_flush(&hdrs);

	err  = hdrs_add(&hdrs, "Retry-After", "5");
	err |= hdrs_add(&hdrs, "Server", "");
	TEST_ERR(err);
	reply_init(&r, msg, 503, &laddr);
	r.hdrs = &hdrs;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err  = hdr_check(&rs, "Retry-After", "5");
	err |= hdr_absent(&rs, "Server");
	TEST_ERR(err);
	hdrs_flush(&hdrs);

	err = hdrs_add(&hdrs, "retry-after", "");
	TEST_ERR(err);
	reply_init(&r, msg, 480, &laddr);
	r.hdrs = &hdrs;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err  = hdr_absent(&rs, "Retry-After");
	err |= hdr_check(&rs, "Server", "sipstub/" SIPSTUB_VERSION);
	TEST_ERR(err);
	hdrs_flush(&hdrs);

	err  = hdrs_add(&hdrs, "WWW-Authenticate", "Digest realm=\"x\"");
	err |= hdrs_add(&hdrs, "Allow", "INVITE");
	TEST_ERR(err);
	reply_init(&r, msg, 401, &laddr);
	r.hdrs = &hdrs;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = hdr_check(&rs, "WWW-Authenticate", "Digest realm=\"x\"");
	TEST_ERR(err);
	r.scode = 405;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = hdr_check(&rs, "Allow", "INVITE");
	TEST_ERR(err);

 out:
	hdrs_flush(&hdrs);
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/* RFC 3261 10.3: a 2xx to REGISTER lists the bindings */
static int check_register(void)
{
	static const char text[] =
		"REGISTER sip:example.com SIP/2.0\n"
		"Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKr;rport\n"
		"From: <sip:bob@example.com>;tag=r1\n"
		"To: <sip:bob@example.com>\n"
		"Call-ID: reg-1\n"
		"CSeq: 2 REGISTER\n"
		"Contact: <sip:bob@10.0.0.1:5062>;expires=120\n"
		"Contact: <sip:bob@10.0.0.2:5062>\n"
		"Expires: 600\n"
		"Content-Length: 0\n"
		"\n";
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= req_decode(&msg, text);
	TEST_ERR(err);

	reply_init(&r, msg, 200, &laddr);
	r.totag = TOTAG;
	err = resp_build(&rs, &r);
	TEST_ERR(err);

	TEST_EQUALS(2, hdr_count(&rs, "Contact"));
	TEST_ASSERT(strstr(rs.text, "Contact: <sip:bob@10.0.0.1:5062>;"
			   "expires=120\r\nContact: <sip:bob@10.0.0.2:5062>;"
			   "expires=600\r\n") != NULL);
	TEST_EQUALS(1, hdr_count(&rs, "Date"));
	TEST_ASSERT(strstr(rs.text, " GMT\r\n") != NULL);

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


static int check_publish_subscribe(void)
{
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	const struct sip_hdr *hdr;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= unit_req_edit(&msg, invite_text, "INVITE sip:", "PUBLISH sip:");
	TEST_ERR(err);

	reply_init(&r, msg, 200, &laddr);
	r.totag = TOTAG;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = hdr_check(&rs, "Expires", "3600");
	TEST_ERR(err);
	TEST_EQUALS(1, hdr_count(&rs, "SIP-ETag"));
	hdr = sip_msg_xhdr(rs.msg, "SIP-ETag");
	TEST_EQUALS(16, hdr->val.l);
	msg = mem_deref(msg);

	err = unit_req_edit(&msg, "SUBSCRIBE sip:a@b SIP/2.0\n"
		       "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKs\n"
		       "From: <sip:bob@example.com>;tag=s1\n"
		       "To: <sip:a@b>\n"
		       "Call-ID: sub-1\n"
		       "CSeq: 1 SUBSCRIBE\n"
		       "Event: presence\n"
		       "Expires: 7200\n"
		       "Content-Length: 0\n"
		       "\n", "Expires: 7200", "Expires: 60");
	TEST_ERR(err);
	reply_init(&r, msg, 200, &laddr);
	r.totag = TOTAG;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = hdr_check(&rs, "Expires", "60");
	TEST_ERR(err);

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/* RFC 3261 7.3.1, 10.3: all Contacts of one header line are bindings */
static int check_register_contact_list(void)
{
	static const char text[] =
		"REGISTER sip:example.com SIP/2.0\n"
		"Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKr;rport\n"
		"From: <sip:bob@example.com>;tag=r1\n"
		"To: <sip:bob@example.com>\n"
		"Call-ID: reg-2\n"
		"CSeq: 2 REGISTER\n"
		"Contact: <sip:bob@10.0.0.1:5062>, "
		"<sip:bob@10.0.0.2:5062>;expires=60\n"
		"Expires: 600\n"
		"Content-Length: 0\n"
		"\n";
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= req_decode(&msg, text);
	TEST_ERR(err);

	reply_init(&r, msg, 200, &laddr);
	r.totag = TOTAG;
	err = resp_build(&rs, &r);
	TEST_ERR(err);

	TEST_ASSERT(strstr(rs.text, "<sip:bob@10.0.0.1:5062>;expires=600"));
	TEST_ASSERT(strstr(rs.text, "<sip:bob@10.0.0.2:5062>;expires=60"));

 out:
	if (err)
		print_error("in:\n%s\n", rs.text);
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/* --- behaviour that RFC 3261 asks for and sipstub lacks --- */

/* RFC 3261 8.2.6.1: the Timestamp goes into 100 Trying */
static int check_timestamp_100(void)
{
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= req_decode(&msg, invite_text);
	TEST_ERR(err);

	reply_init(&r, msg, 100, &laddr);
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = hdr_check(&rs, "Timestamp", "54");
	TEST_ERR(err);

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/* RFC 3261 25.1: a user part is not empty; 'sip:@host' is no URI */
static int check_contact_no_user(void)
{
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct pl val = PL_INIT;
	struct reply r;
	struct sa laddr;
	char buf[256];
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= unit_req_edit(&msg, invite_text, "INVITE sip:alice@example.com",
			"INVITE sip:example.com");
	TEST_ERR(err);

	reply_init(&r, msg, 200, &laddr);
	r.totag = TOTAG;
	err = resp_build(&rs, &r);
	TEST_ERR(err);

	TEST_EQUALS(1, hdr_lines(&rs, "Contact", &val));
	err = pl_strcpy(&val, buf, sizeof(buf));
	TEST_ERR(err);
	if (strstr(buf, "sip:@")) {
		print_error("Contact with an empty user: %s\n", buf);
		err = EINVAL;
		goto out;
	}

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/* RFC 3261 20 (table 3): Contact is mandatory in a 2xx to INVITE, and
 * a re-INVITE (To-tag set, no tag to add) gets one too */
static int check_contact_reinvite(void)
{
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= unit_req_edit(&msg, invite_text, "To: <sip:alice@example.com>",
			"To: <sip:alice@example.com>;tag=dlg");
	TEST_ERR(err);

	reply_init(&r, msg, 200, &laddr);
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = hdr_check(&rs, "Contact", "<sip:alice@127.0.0.1:5060>");
	TEST_ERR(err);

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/* RFC 3261 12.1.1, RFC 6665 4.4.1: a 2xx to SUBSCRIBE creates a dialog
 * (sipstub sends the NOTIFY in it): Contact, and Record-Route copied */
static int check_subscribe_dialog(void)
{
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= unit_req_edit(&msg, invite_text, "INVITE sip:", "SUBSCRIBE sip:");
	TEST_ERR(err);

	reply_init(&r, msg, 200, &laddr);
	r.totag = TOTAG;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	TEST_EQUALS(2, hdr_count(&rs, "Record-Route"));
	TEST_EQUALS(1, hdr_count(&rs, "Contact"));

 out:
	if (err)
		print_error("in:\n%s\n", rs.text);
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/* RFC 3261 20.7: Content-Type once; the scenario's replaces ours */
static int check_override_ctype(void)
{
	struct list hdrs = LIST_INIT;
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= req_decode(&msg, invite_text);
	err |= hdrs_add(&hdrs, "Content-Type", "text/html");
	TEST_ERR(err);

	reply_init(&r, msg, 380, &laddr);
	r.hdrs = &hdrs;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = hdr_check(&rs, "Content-Type", "text/html");
	TEST_ERR(err);

	reply_init(&r, msg, 486, &laddr);
	r.hdrs    = &hdrs;
	r.ctype   = "text/plain";
	r.body    = (const uint8_t *)"busy";
	r.bodylen = 4;
	err = resp_build(&rs, &r);
	TEST_ERR(err);
	err = hdr_check(&rs, "Content-Type", "text/html");
	TEST_ERR(err);

 out:
	hdrs_flush(&hdrs);
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


static int unsupported_run(const char *require, const char *exp)
{
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= unit_req_edit(&msg, invite_text, "Require: 100rel, gruu\n",
			require);
	TEST_ERR(err);

	reply_init(&r, msg, 420, &laddr);
	err = resp_build(&rs, &r);
	TEST_ERR(err);

	err = hdr_check(&rs, "Unsupported", exp);
	TEST_ERR(err);

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/* RFC 3261 8.2.2.3: 420 lists the Require tags sipstub lacks */
static int check_420_one_tag(void)
{
	return unsupported_run("Require: gruu\n", "gruu");
}


static int check_420_tags(void)
{
	int err;

	/* 100rel (prack.c) and timer (timer.c) are supported: not listed */
	err  = unsupported_run("Require: 100rel, gruu\n", "gruu");
	err |= unsupported_run("Require: 100rel\nRequire: timer, gruu\n",
			       "gruu");
	err |= unsupported_run("Require: foo, 100rel\nRequire: bar\n",
			       "foo, bar");

	return err;
}


/* RFC 3261 20.40: Unsupported lists at least one option tag */
static int check_420_no_require(void)
{
	struct resp rs = {0};
	struct sip_msg *msg = NULL;
	struct pl val = PL_INIT;
	struct reply r;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= unit_req_edit(&msg, invite_text, "Require: 100rel, gruu\n", "");
	TEST_ERR(err);

	reply_init(&r, msg, 420, &laddr);
	err = resp_build(&rs, &r);
	TEST_ERR(err);

	if (hdr_lines(&rs, "Unsupported", &val) && !pl_isset(&val)) {
		print_error("an empty Unsupported header in:\n%s\n", rs.text);
		err = EINVAL;
	}

 out:
	resp_reset(&rs);
	mem_deref(msg);

	return err;
}


/* --- the complete response, byte for byte --- */

/* An OPTIONS as SIPp's bench/sipp/uac_options.xml sends it */
static const char options_text[] =
	"OPTIONS sip:200@127.0.0.1:5060 SIP/2.0\n"
	"Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;rport\n"
	"From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	"To: <sip:200@127.0.0.1:5060>\n"
	"Call-ID: 1-4711@127.0.0.1\n"
	"CSeq: 1 OPTIONS\n"
	"Max-Forwards: 70\n"
	"Contact: <sip:bench@127.0.0.1:5061>\n"
	"Accept: application/sdp\n"
	"Content-Length: 0\n"
	"\n";


/** A request to answer and the expected response, \n for CRLF */
struct golden {
	const char *req;      /* NULL: invite_text        */
	const char *from;     /* edit of req, or NULL     */
	const char *to;
	const char *src;      /* NULL: 192.0.2.5:6000     */
	enum sip_transp tp;
	const char *laddr;    /* NULL: 127.0.0.1:5060     */
	uint16_t scode;
	uint64_t totag;
	const char *reason;
	const char *const *hdrs;  /* name, value, ..., NULL */
	const char *ctype;
	const char *body;
	const char *resp;     /* "dst: %J" and the response */
};


/* Random values (nonce, SIP-ETag) and the Date become 'x's */
static void resp_mask(char *text)
{
	static const struct {
		const char *after;
		size_t n;  /* 0: to the end of the line */
	} masks[] = {
		{"nonce=\"", 16},
		{"\r\nSIP-ETag: ", 16},
		{"\r\nDate: ", 0},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(masks); ++i) {
		char *p = strstr(text, masks[i].after);
		size_t n;

		if (!p)
			continue;

		p += strlen(masks[i].after);
		n = masks[i].n ? masks[i].n : strcspn(p, "\r");
		memset(p, 'x', MIN(n, strlen(p)));
	}
}


static int golden_hdrs(struct list *hdrs, const char *const *nv)
{
	int err = 0;

	for (; nv && nv[0] && !err; nv += 2)
		err = hdrs_add(hdrs, nv[0], nv[1]);

	return err;
}


/* The request a case answers, as it arrived */
static int golden_req(struct sip_msg **msgp, const struct golden *g)
{
	const char *text = g->req ? g->req : invite_text;
	const char *src = g->src ? g->src : "192.0.2.5:6000";
	char *edited = NULL;
	int err;

	if (g->from) {
		const char *p = strstr(text, g->from);

		if (!p) {
			print_error("no \"%s\" in the request\n", g->from);
			return EINVAL;
		}

		err = re_sdprintf(&edited, "%b%s%s", text,
				  (size_t)(p - text), g->to,
				  p + strlen(g->from));
		if (err)
			return err;

		text = edited;
	}

	err = unit_msg(msgp, g->tp, src, "127.0.0.1:5060", text);
	mem_deref(edited);

	return err;
}


/* The response to a case, masked, and "dst: %J\n" before it */
static int golden_build(char **textp, const struct golden *g)
{
	struct list hdrs = LIST_INIT;
	struct sip_msg *msg = NULL;
	struct mbuf *mb = NULL;
	const char *ls = g->laddr ? g->laddr : "127.0.0.1:5060";
	char *resp = NULL;
	struct reply r;
	struct sa laddr, dst;
	int err;

	err  = sa_decode(&laddr, ls, strlen(ls));
	err |= golden_req(&msg, g);
	err |= golden_hdrs(&hdrs, g->hdrs);
	if (err)
		goto out;

	reply_init(&r, msg, g->scode, &laddr);
	r.totag  = g->totag;
	r.reason = g->reason;
	r.hdrs   = g->hdrs ? &hdrs : NULL;
	r.ctype  = g->ctype;
	if (g->body) {
		r.body    = (const uint8_t *)g->body;
		r.bodylen = strlen(g->body);
	}

	err = reply_build(&mb, &dst, &r);
	if (err)
		goto out;

	err = mbuf_strdup(mb, &resp, mbuf_get_left(mb));
	if (err)
		goto out;

	resp_mask(resp);
	err = re_sdprintf(textp, "dst: %J\r\n%s", &dst, resp);

 out:
	hdrs_flush(&hdrs);
	mem_deref(resp);
	mem_deref(mb);
	mem_deref(msg);

	return err;
}


/* A line of a response as C strings that fit in 79 columns */
static void golden_print_line(const char *p, size_t n, bool crlf)
{
	static const char server[] = "Server: sipstub/" SIPSTUB_VERSION;
	size_t col = 0, i;

	if (crlf && n == strlen(server) && !memcmp(p, server, n)) {
		printf("\t \"Server: sipstub/\" SIPSTUB_VERSION \"\\n\"\n");
		return;
	}

	printf("\t \"");
	for (i = 0; i < n; ++i) {
		if (p[i] == '\t') {
			printf("\\t");
			col += 2;
		}
		else if (p[i] == '"' || p[i] == '\\') {
			printf("\\%c", p[i]);
			col += 2;
		}
		else {
			putchar(p[i]);
			++col;
		}

		/* after a separator, else where the column ends */
		if (i + 1 < n && (col >= 64 || (col >= 48 &&
		    strchr(";, ", p[i])))) {
			printf("\"\n\t \"");
			col = 0;
		}
	}
	printf("%s\"\n", crlf ? "\\n" : "");
}


/* A text as the C strings of a golden case, to update one that changed */
static void golden_print(const char *text)
{
	const char *p = text;

	while (*p) {
		const char *eol = strstr(p, "\r\n");
		size_t n = eol ? (size_t)(eol - p) : strlen(p);

		golden_print_line(p, n, eol != NULL);
		p += n + (eol ? 2 : 0);
	}
}


/* The expected text has \n where the response has CRLF */
static bool golden_equal(const char *exp, const char *text)
{
	for (; *exp; ++exp, ++text) {
		if (*exp == '\n') {
			if (*text++ != '\r')
				return false;
		}

		if (*exp != *text)
			return false;
	}

	return *text == '\0';
}


static const char *const hdrs_302[] = {
	"contact", "<sip:x@example.net>",
	"X-Test", "call ${callid} for ${user} at ${local}",
	"SERVER", "test/1",
	NULL,
};

static const char *const hdrs_503[] = {
	"Retry-After", "5",
	"Server", "",
	NULL,
};

static const char *const hdrs_ctype[] = {
	"Content-Type", "text/html",
	"X-Empty", "",
	NULL,
};

static const char register_text[] =
	"REGISTER sip:example.com SIP/2.0\n"
	"Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKr;rport\n"
	"From: <sip:bob@example.com>;tag=r1\n"
	"To: <sip:bob@example.com>\n"
	"Call-ID: reg-1\n"
	"CSeq: 2 REGISTER\n"
	"Contact: <sip:bob@10.0.0.1:5062>;expires=120, <sip:bob@10.0.0.3>\n"
	"Contact: <sip:bob@10.0.0.2:5062>\n"
	"Expires: 600\n"
	"Content-Length: 0\n"
	"\n";


static const struct golden goldens[] = {
	/* OPTIONS -> 200, as in the bench */
	{.req = options_text, .src = "127.0.0.1:5061", .scode = 200,
	 .totag = TOTAG, .resp =
	 "dst: 127.0.0.1:5061\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "rport=5061;received=127.0.0.1\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>;tag=0123456789abcdef\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	/* INVITE -> 100, 486, 180, 200 */
	{.scode = 100, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 100 Trying\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Timestamp: 54\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.scode = 486, .totag = TOTAG, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 486 Busy Here\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>;tag=0123456789abcdef\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.scode = 180, .totag = TOTAG, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 180 Ringing\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "Record-Route: <sip:p1.example.com;lr>\n"
	 "Record-Route: <sip:p2.example.com;lr>\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>;tag=0123456789abcdef\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Contact: <sip:alice@127.0.0.1:5060>\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.scode = 200, .totag = TOTAG, .ctype = "application/sdp",
	 .body = "v=0\r\ns=-\r\n", .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "Record-Route: <sip:p1.example.com;lr>\n"
	 "Record-Route: <sip:p2.example.com;lr>\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>;tag=0123456789abcdef\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Contact: <sip:alice@127.0.0.1:5060>\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Content-Type: application/sdp\n"
	 "Content-Length: 10\n"
	 "\n"
	 "v=0\n"
	 "s=-\n"},
	/* addresses of one, two and three digits a byte, here and there */
	{.req = options_text, .src = "100.205.10.255:6000", .scode = 200,
	 .resp =
	 "dst: 100.205.10.255:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "rport=6000;received=100.205.10.255\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.scode = 180, .totag = TOTAG, .laddr = "100.200.3.40:65535",
	 .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 180 Ringing\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "Record-Route: <sip:p1.example.com;lr>\n"
	 "Record-Route: <sip:p2.example.com;lr>\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>;tag=0123456789abcdef\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Contact: <sip:alice@100.200.3.40:65535>\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Content-Length: 0\n"
	 "\n"},
	/* re-INVITE: its To-tag, no Record-Route */
	{.from = "To: <sip:alice@example.com>",
	 .to = "To: <sip:alice@example.com>;tag=dlg", .scode = 200,
	 .totag = TOTAG, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>;tag=dlg\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Contact: <sip:alice@127.0.0.1:5060>\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Content-Length: 0\n"
	 "\n"},
	/* scenario headers: override, removal, expansion */
	{.scode = 302, .hdrs = hdrs_302, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 302 Moved Temporarily\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "contact: <sip:x@example.net>\n"
	 "X-Test: call call-1@example.com for alice at 127.0.0.1:5060\n"
	 "SERVER: test/1\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.scode = 200, .totag = TOTAG, .hdrs = hdrs_302, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "Record-Route: <sip:p1.example.com;lr>\n"
	 "Record-Route: <sip:p2.example.com;lr>\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>;tag=0123456789abcdef\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "contact: <sip:x@example.net>\n"
	 "X-Test: call call-1@example.com for alice at 127.0.0.1:5060\n"
	 "SERVER: test/1\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.scode = 503, .hdrs = hdrs_503, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 503 Service Unavailable\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Retry-After: 5\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.scode = 486, .reason = "Go Away", .hdrs = hdrs_ctype,
	 .ctype = "text/plain", .body = "busy", .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 486 Go Away\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Content-Type: text/html\n"
	 "Content-Length: 4\n"
	 "\n"
	 "busy"},
	/* codes with headers of their own */
	{.scode = 380, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 380 Alternative Service\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Contact: <sip:200@127.0.0.1:5060>\n"
	 "Content-Type: text/plain\n"
	 "Content-Length: 52\n"
	 "\n"
	 "Alternative service: call <sip:200@127.0.0.1:5060>\n"},
	{.scode = 405, .totag = TOTAG, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 405 Method Not Allowed\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>;tag=0123456789abcdef\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.scode = 420, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 420 Bad Extension\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Unsupported: gruu\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.scode = 420, .from = "Require: 100rel, gruu\n", .to = "",
	 .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 420 Bad Extension\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Unsupported: sec-agree\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.scode = 401, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 401 Unauthorized\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "WWW-Authenticate: Digest realm=\"sipstub\", nonce=\"xxxxxxxxxxxx"
	 "xxxx\", algorithm=MD5, qop=\"auth\"\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.scode = 300, .tp = SIP_TRANSP_TCP, .laddr = "[::1]:5070",
	 .totag = TOTAG, .resp =
	 "dst: 192.0.2.5:5062\n"
	 "SIP/2.0 300 Multiple Choices\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>;tag=0123456789abcdef\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Contact: <sip:200@[::1]:5070;transport=tcp>;q=1.0,"
	 " <sip:486@[::1]:5070;transport=tcp>;q=0.5, <sip:404@[::1]:5070;"
	 "transport=tcp>;q=0.1\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.scode = 305, .tp = SIP_TRANSP_TCP, .laddr = "[::1]:5070",
	 .resp =
	 "dst: 192.0.2.5:5062\n"
	 "SIP/2.0 305 Use Proxy\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Contact: <sip:[::1]:5070;transport=tcp;lr>\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.scode = 183, .tp = SIP_TRANSP_TLS, .laddr = "127.0.0.1:5061",
	 .totag = TOTAG, .resp =
	 "dst: 192.0.2.5:5062\n"
	 "SIP/2.0 183 Session Progress\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "Record-Route: <sip:p1.example.com;lr>\n"
	 "Record-Route: <sip:p2.example.com;lr>\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>;tag=0123456789abcdef\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Contact: <sip:alice@127.0.0.1:5061;transport=tls>\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Content-Length: 0\n"
	 "\n"},
	/* Via: rport, received, maddr (RFC 3261 18.2.2, RFC 3581) */
	{.req = options_text, .from = ";rport\n", .to = "\n", .scode = 200,
	 .resp =
	 "dst: 192.0.2.5:5061\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = ";rport\n", .to = ";rport=1234;x=1\n",
	 .scode = 200, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0=1234;"
	 "x=1;rport=6000;received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = ";rport\n", .to = "; RPORT ;x=1\n",
	 .scode = 200, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0 "
	 ";x=1;rport=6000;received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = ";rport\n", .to = ";rportx;rport\n",
	 .scode = 200, .resp =
	 "dst: 192.0.2.5:5061\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "rportx;rport;received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = ";rport\n", .to = ";x=maddr;rport\n",
	 .scode = 200, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "x=maddr;rport=6000;received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = ";branch=z9hG4bK-1-0;rport\n",
	 .to = ";branch=z9hG4bKrport;maddrx=1\n", .scode = 200,
	 .resp =
	 "dst: 192.0.2.5:5061\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bKrport;"
	 "maddrx=1;received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = ";rport\n", .to = ";\trport ;x\n",
	 .scode = 200, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0 "
	 ";x;rport=6000;received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = ";rport\n", .to = ";x;RPort\n",
	 .scode = 200, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "x;rport=6000;received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = "127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "rport\n", .to = "host.example.com;branch=z9hG4bK-1-0;"
	 "maddr=192.0.2.7\n", .scode = 200, .resp =
	 "dst: 192.0.2.7:5060\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bK-1-0;"
	 "maddr=192.0.2.7;received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = "127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "rport\n", .to = "host.example.com;branch=z9hG4bK-1-0;"
	 "MADDR=192.0.2.7\n", .scode = 200, .resp =
	 "dst: 192.0.2.7:5060\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bK-1-0;"
	 "MADDR=192.0.2.7;received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = "127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "rport\n", .to = "192.0.2.9;branch=z9hG4bK-1-0;maddrx;"
	 "maddr=192.0.2.7\n", .scode = 200, .resp =
	 "dst: 192.0.2.7:5060\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-1-0;maddrx;"
	 "maddr=192.0.2.7;received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = ";rport\n", .to = ";maddr=192.0.2.7"
	 ";rport\n", .scode = 200, .resp =
	 "dst: 192.0.2.7:5061\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "maddr=192.0.2.7;rport=6000;received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = "127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "rport\n", .to = "[::ffff:192.0.2.10]:19823;branch=z9hG4bK-1\n",
	 .src = "[::1]:6000", .scode = 200, .resp =
	 "dst: [::1]:19823\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP [::ffff:192.0.2.10]:19823;branch=z9hG4bK-1;"
	 "received=::1\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .src = "[::1]:6000", .scode = 200,
	 .resp =
	 "dst: [::1]:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "rport=6000;received=::1\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = "127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "rport\n", .to = "10.0.0.1:5062;branch=z9hG4bKv1 , SIP/2.0/UDP "
	 "10.0.0.2;branch=z9hG4bKv0\n", .scode = 200, .resp =
	 "dst: 192.0.2.5:5062\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKv1;"
	 "received=192.0.2.5\n"
	 "Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKv0\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = "branch=z9hG4bK-1-0;rport\n",
	 .to = "rport;branch=z9hG4bK-sipstub-2543-0123456789abcdef\n",
	 .scode = 200, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 127.0.0.1:5061;rport=6000;received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.req = options_text, .from = "UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;"
	 "rport\n", .to = "TCP 10.0.0.1;branch=z9hG4bK-1-0\n",
	 .tp = SIP_TRANSP_TCP, .scode = 200, .resp =
	 "dst: 192.0.2.5:5060\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK-1-0;received=192.0.2.5\n"
	 "From: <sip:bench@127.0.0.1:5061>;tag=4711-1\n"
	 "To: <sip:200@127.0.0.1:5060>\n"
	 "Call-ID: 1-4711@127.0.0.1\n"
	 "CSeq: 1 OPTIONS\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER,"
	 " MESSAGE, INFO, UPDATE, NOTIFY, PUBLISH, SUBSCRIBE\n"
	 "Accept: application/sdp\n"
	 "Content-Length: 0\n"
	 "\n"},
	/* 2xx by method */
	{.req = register_text, .scode = 200, .totag = TOTAG, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKr;rport=6000;"
	 "received=192.0.2.5\n"
	 "From: <sip:bob@example.com>;tag=r1\n"
	 "To: <sip:bob@example.com>;tag=0123456789abcdef\n"
	 "Call-ID: reg-1\n"
	 "CSeq: 2 REGISTER\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Contact: <sip:bob@10.0.0.1:5062>;expires=120\n"
	 "Contact: <sip:bob@10.0.0.3>;expires=600\n"
	 "Contact: <sip:bob@10.0.0.2:5062>;expires=600\n"
	 "Date: xxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.from = "INVITE sip:", .to = "PUBLISH sip:", .scode = 200,
	 .totag = TOTAG, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>;tag=0123456789abcdef\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "SIP-ETag: xxxxxxxxxxxxxxxx\n"
	 "Expires: 3600\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.from = "INVITE sip:", .to = "SUBSCRIBE sip:", .scode = 200,
	 .totag = TOTAG, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "Record-Route: <sip:p1.example.com;lr>\n"
	 "Record-Route: <sip:p2.example.com;lr>\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>;tag=0123456789abcdef\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Contact: <sip:alice@127.0.0.1:5060>\n"
	 "Expires: 3600\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.from = "INVITE sip:", .to = "UPDATE sip:", .scode = 200,
	 .totag = TOTAG, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>;tag=0123456789abcdef\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Contact: <sip:alice@127.0.0.1:5060>\n"
	 "Supported: 100rel, timer, norefersub\n"
	 "Content-Length: 0\n"
	 "\n"},
	{.from = "INVITE sip:", .to = "BYE sip:", .scode = 200,
	 .totag = TOTAG, .resp =
	 "dst: 192.0.2.5:6000\n"
	 "SIP/2.0 200 OK\n"
	 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1;"
	 "rport=6000;received=192.0.2.5\n"
	 "Via: SIP/2.0/TCP 10.0.0.9:5070;branch=z9hG4bKa0;"
	 "received=10.0.0.99\n"
	 "From: \"Bob\" <sip:bob@example.com>;tag=from1\n"
	 "To: <sip:alice@example.com>;tag=0123456789abcdef\n"
	 "Call-ID: call-1@example.com\n"
	 "CSeq: 7 INVITE\n"
	 "Server: sipstub/" SIPSTUB_VERSION "\n"
	 "Content-Length: 0\n"
	 "\n"},
};


static int check_golden(void)
{
	char *text = NULL;
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(goldens); ++i) {
		const struct golden *g = &goldens[i];
		int e;

		text = mem_deref(text);
		e = golden_build(&text, g);
		if (e) {
			print_error("case %zu: error %d\n", i, e);
			err = e;
			continue;
		}

		if (!g->resp || !golden_equal(g->resp, text)) {
			printf("case %zu (%u) differs, it is now:\n", i,
			       g->scode);
			golden_print(text);
			printf("end of case %zu\n", i);
			err = EINVAL;
		}
	}

	mem_deref(text);

	return err;
}


/* Every default header of reply.c, removed */
static const char *const hdrs_none[] = {
	"Contact", "", "Timestamp", "", "Reason", "",
	"WWW-Authenticate", "", "Proxy-Authenticate", "", "Allow", "",
	"Accept", "", "Accept-Encoding", "", "Accept-Language", "",
	"Accept-Resource-Priority", "", "Unsupported", "", "Require", "",
	"Min-SE", "", "Min-Expires", "", "Recv-Info", "",
	"Permission-Missing", "", "Allow-Events", "", "Security-Server", "",
	"Retry-After", "", "Date", "", "SIP-ETag", "", "Expires", "",
	"Server", "", "Content-Type", "",
	NULL,
};

/* ... and replaced, the names in another case */
static const char *const hdrs_all[] = {
	"contact", "<sip:${user}@${domain}>", "TIMESTAMP", "1",
	"reason", "r", "www-authenticate", "w", "proxy-authenticate", "p",
	"allow", "INVITE", "accept", "a", "accept-encoding", "e",
	"accept-language", "l", "accept-resource-priority", "arp",
	"unsupported", "u", "require", "q", "min-se", "90",
	"min-expires", "60", "recv-info", "ri", "permission-missing", "pm",
	"allow-events", "ae", "security-server", "ss", "retry-after", "1",
	"date", "d", "sip-etag", "t", "expires", "9", "server", "s",
	"content-type", "text/x-${transport}",
	NULL,
};


/* The requests of check_golden_sweep(), each answered with every code */
static const struct golden sweeps[] = {
	{.req = invite_text},
	{.tp = SIP_TRANSP_TCP, .laddr = "[::1]:5070"},
	{.req = options_text, .src = "127.0.0.1:5061"},
	{.req = register_text},
	{.req = register_text, .hdrs = hdrs_none},
	{.req = register_text, .hdrs = hdrs_all},
	{.from = "INVITE sip:", .to = "PUBLISH sip:"},
	{.from = "INVITE sip:", .to = "PUBLISH sip:", .hdrs = hdrs_none},
	{.from = "INVITE sip:", .to = "SUBSCRIBE sip:"},
	{.from = "To: <sip:alice@example.com>",
	 .to = "To: <sip:alice@example.com>;tag=dlg"},
	{.from = "INVITE sip:", .to = "UPDATE sip:"},
	{.from = "INVITE sip:", .to = "BYE sip:"},
	{.from = "INVITE sip:alice@example.com",
	 .to = "MESSAGE sip:example.com"},
	{.hdrs = hdrs_none},
	{.hdrs = hdrs_all},
	{.ctype = "application/sdp", .body = "v=0\r\n"},
	{.ctype = "text/plain", .body = "x", .reason = "Custom"},
};


/*
 * Each request of sweeps[] answered with each code of the registry and
 * of no RFC, with a To-tag to add and without: the digest of all those
 * responses as the code before the optimisation of reply_build() built
 * them. SIPSTUB_SWEEP_OUT=FILE writes the responses to FILE, to compare
 * two builds with diff.
 */
static int check_golden_sweep(void)
{
	static const uint16_t unregistered[] = {150, 299, 399, 499, 599, 699};
	static const char exp[] = "5d12538528b9ad3e0142afa3d1592dcf";
	char hex[MD5_STR_SIZE];
	uint8_t md[MD5_SIZE];
	struct mbuf *all;
	char *text = NULL;
	size_t i, j, n = 0;
	int err = 0;

	all = mbuf_alloc(1 << 20);
	if (!all)
		return ENOMEM;

	for (i = 0; i < ARRAY_SIZE(sweeps) && !err; ++i) {
		const size_t ncodes = ARRAY_SIZE(registry) +
			ARRAY_SIZE(unregistered);

		for (j = 0; j < 2 * ncodes && !err; ++j) {
			struct golden g = sweeps[i];
			size_t k = j % ncodes;

			g.scode = k < ARRAY_SIZE(registry) ?
				registry[k].scode :
				unregistered[k - ARRAY_SIZE(registry)];
			g.totag = j < ncodes ? TOTAG : 0;

			text = mem_deref(text);
			err  = golden_build(&text, &g);
			err |= mbuf_write_str(all, text);
			++n;
		}
	}

	TEST_ERR(err);

	if (getenv("SIPSTUB_SWEEP_OUT")) {
		FILE *f = fopen(getenv("SIPSTUB_SWEEP_OUT"), "w");

		TEST_ASSERT(f != NULL);
		(void)fwrite(all->buf, 1, all->end, f);
		(void)fclose(f);
	}

	md5(all->buf, all->end, md);
	(void)re_snprintf(hex, sizeof(hex), "%w", md, sizeof(md));
	if (strcmp(exp, hex)) {
		print_error("%zu responses, %zu bytes: digest %s, expected "
			    "%s\n", n, all->end, hex, exp);
		err = EINVAL;
	}

 out:
	mem_deref(text);
	mem_deref(all);

	return err;
}


UNIT_WRAP(reason_registered)
UNIT_WRAP(reason_class)
UNIT_WRAP(known_method)
UNIT_WRAP(status_line)
UNIT_WRAP(copied)
UNIT_WRAP(totag_kept)
UNIT_WRAP(via)
UNIT_WRAP(via_parms)
UNIT_WRAP(body)
UNIT_WRAP(defaults)
UNIT_WRAP(defaults_tcp6)
UNIT_WRAP(defaults_none)
UNIT_WRAP(380_body)
UNIT_WRAP(dialog_headers)
UNIT_WRAP(override)
UNIT_WRAP(register)
UNIT_WRAP(publish_subscribe)
UNIT_WRAP(timestamp_100)
UNIT_WRAP(contact_no_user)
UNIT_WRAP(contact_reinvite)
UNIT_WRAP(subscribe_dialog)
UNIT_WRAP(override_ctype)
UNIT_WRAP(420_one_tag)
UNIT_WRAP(420_tags)
UNIT_WRAP(420_no_require)
UNIT_WRAP(register_contact_list)
UNIT_WRAP(golden)
UNIT_WRAP(golden_sweep)


int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(reason_registered),
		UNIT_TEST(reason_class),
		UNIT_TEST(known_method),
		UNIT_TEST(status_line),
		UNIT_TEST(copied),
		UNIT_TEST(totag_kept),
		UNIT_TEST(via),
		UNIT_TEST(via_parms),
		UNIT_TEST(body),
		UNIT_TEST(defaults),
		UNIT_TEST(defaults_tcp6),
		UNIT_TEST(defaults_none),
		UNIT_TEST(380_body),
		UNIT_TEST(dialog_headers),
		UNIT_TEST(override),
		UNIT_TEST(register),
		UNIT_TEST(publish_subscribe),
		UNIT_TEST(timestamp_100),
		UNIT_TEST(contact_no_user),
		UNIT_TEST(contact_reinvite),
		UNIT_TEST(subscribe_dialog),
		UNIT_TEST(override_ctype),
		UNIT_TEST(420_one_tag),
		UNIT_TEST(420_tags),
		UNIT_TEST(420_no_require),
		UNIT_TEST(register_contact_list),
		UNIT_TEST(golden),
		UNIT_TEST(golden_sweep),
	};

	return cmocka_run_group_tests(tests, unit_group_setup,
				      unit_group_teardown);
}
