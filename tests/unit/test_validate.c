/**
 * @file test_validate.c  Unit tests: RFC 3261 checks libre leaves to us
 *
 * Each check of validate.c has a request here that only it rejects,
 * and the valid torture messages of RFC 4475 and RFC 5118 must pass.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <stdlib.h>
#include "unit.h"


static const char invite_text[] =
	"INVITE sip:alice@example.com SIP/2.0\n"
	"Via: SIP/2.0/UDP 192.0.2.5:6000;branch=z9hG4bKval1\n"
	"Max-Forwards: 70\n"
	"From: \"Bob\" <sip:bob@example.org>;tag=f1\n"
	"To: <sip:alice@example.com>\n"
	"Call-ID: val1@192.0.2.5\n"
	"CSeq: 1 INVITE\n"
	"Contact: <sip:bob@192.0.2.5:6000>\n"
	"Content-Type: application/sdp\n"
	"Content-Length: 17\n"
	"\n"
	"v=0\n"
	"s=-\n"
	"t=0 0\n";

static const char options_text[] =
	"OPTIONS sip:alice@example.com SIP/2.0\n"
	"Via: SIP/2.0/UDP 192.0.2.5:6000;branch=z9hG4bKval2\n"
	"Max-Forwards: 70\n"
	"From: <sip:bob@example.org>;tag=f2\n"
	"To: <sip:alice@example.com>\n"
	"Call-ID: val2@192.0.2.5\n"
	"CSeq: 7 OPTIONS\n"
	"Content-Length: 0\n"
	"\n";


/* validate_request() on the edited request: scode 0 for valid, else
 * that code and a reason phrase with the words of want */
static int expect(const char *text, const char *from, const char *to,
		  uint16_t scode, const char *want)
{
	struct sip_msg *msg = NULL;
	const char *reason = NULL;
	uint16_t sc = 0;
	int err;

	err = unit_req_edit(&msg, text, from, to);
	if (err) {
		print_error("libre cannot decode the request (%s)\n",
			    strerror(err));
		goto out;
	}

	err = validate_request(msg, &sc, &reason);
	if (!scode) {
		if (err) {
			print_error("rejected (%u %s) after \"%s\" -> "
				    "\"%s\"\n", sc, reason, from, to);
			err = EINVAL;
		}
		goto out;
	}

	if (err != EBADMSG || sc != scode || !reason ||
	    !strstr(reason, want)) {
		print_error("after \"%s\" -> \"%s\": want %u \"...%s...\", "
			    "got %d, %u \"%s\"\n", from, to, scode, want, err,
			    sc, reason ? reason : "(none)");
		err = EINVAL;
		goto out;
	}

	err = 0;

 out:
	mem_deref(msg);

	return err;
}


static int check_valid(void)
{
	int err = 0;

	err |= expect(invite_text, "CSeq", "CSeq", 0, NULL);
	err |= expect(options_text, "CSeq", "CSeq", 0, NULL);

	return err;
}


static int check_args(void)
{
	struct sip_msg *msg = NULL;
	const char *reason;
	uint16_t sc;
	int err;

	err = unit_req_edit(&msg, options_text, "CSeq", "CSeq");
	TEST_ERR(err);

	TEST_EQUALS(EINVAL, validate_request(NULL, &sc, &reason));
	TEST_EQUALS(EINVAL, validate_request(msg, NULL, &reason));
	TEST_EQUALS(EINVAL, validate_request(msg, &sc, NULL));

 out:
	mem_deref(msg);

	return err;
}


/* RFC 3261 7.3.1, RFC 4475 3.3.8 */
static int check_duplicate(void)
{
	static const struct {
		const char *from;
		const char *to;
		const char *want;
	} dupv[] = {
		{"Call-ID: val2@192.0.2.5\n",
		 "Call-ID: val2@192.0.2.5\nCall-ID: other@192.0.2.5\n",
		 "duplicate Call-ID"},
		{"Call-ID: val2@192.0.2.5\n",
		 "Call-ID: val2@192.0.2.5\ni: val2@192.0.2.5\n",
		 "duplicate Call-ID"},
		{"CSeq: 7 OPTIONS\n", "CSeq: 7 OPTIONS\nCSeq: 8 OPTIONS\n",
		 "duplicate CSeq"},
		{"From: <sip:bob@example.org>;tag=f2\n",
		 "From: <sip:bob@example.org>;tag=f2\n"
		 "f: <sip:eve@example.org>;tag=f3\n", "duplicate From"},
		{"To: <sip:alice@example.com>\n",
		 "To: <sip:alice@example.com>\nTo: <sip:carol@example.com>\n",
		 "duplicate To"},
		{"Max-Forwards: 70\n", "Max-Forwards: 70\nMax-Forwards: 5\n",
		 "duplicate Max-Forwards"},
		{"Content-Length: 0\n",
		 "Content-Type: text/plain\nc: text/plain\n"
		 "Content-Length: 0\n", "duplicate Content-Type"},
		{"Content-Length: 0\n", "Content-Length: 0\nl: 0\n",
		 "duplicate Content-Length"},
	};
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(dupv); ++i) {
		err |= expect(options_text, dupv[i].from, dupv[i].to, 400,
			      dupv[i].want);
	}

	/* a list header may repeat (RFC 3261 7.3.1) */
	err |= expect(options_text, "Max-Forwards: 70\n",
		      "Max-Forwards: 70\nSupported: timer\nSupported: path\n"
		      "Contact: <sip:a@192.0.2.5>\nContact: <sip:b@192.0.2.5>"
		      "\n", 0, NULL);

	return err;
}


/* RFC 3261 20.14, RFC 4475 3.1.2.3 */
static int check_content_length(void)
{
	int err = 0;

	err |= expect(options_text, "Content-Length: 0", "Content-Length: -0",
		      400, "malformed Content-Length");
	err |= expect(options_text, "Content-Length: 0",
		      "Content-Length: five", 400, "malformed Content-Length");
	err |= expect(options_text, "Content-Length: 0",
		      "Content-Length: 4294967296", 400,
		      "malformed Content-Length");
	err |= expect(options_text, "Content-Length: 0", "Content-Length: ",
		      400, "malformed Content-Length");
	err |= expect(options_text, "Content-Length: 0",
		      "Content-Length: 0000000000000000000000", 0, NULL);
	err |= expect(invite_text, "Content-Length: 17",
		      "Content-Length: 017", 0, NULL);

	return err;
}


/* RFC 3261 8.1.1.5, RFC 4475 3.1.2.4 */
static int check_cseq(void)
{
	int err = 0;

	err |= expect(options_text, "CSeq: 7", "CSeq: 2147483648", 400,
		      "CSeq number too large");
	err |= expect(options_text, "CSeq: 7", "CSeq: 36893488147419103232",
		      400, "CSeq number too large");
	err |= expect(options_text, "CSeq: 7", "CSeq: 2147483647", 0, NULL);
	err |= expect(options_text, "CSeq: 7", "CSeq: 0009", 0, NULL);
	err |= expect(options_text, "CSeq: 7 OPTIONS",
		      "CSeq: 7\n  OPTIONS", 0, NULL);
	err |= expect(options_text, "CSeq: 7 OPTIONS", "CSeq: x7 OPTIONS",
		      400, "malformed CSeq");
	err |= expect(options_text, "CSeq: 7 OPTIONS",
		      "CSeq: 7 OPTIONS more", 400, "malformed CSeq");

	return err;
}


/* RFC 3261 25.1, RFC 4475 3.1.2.6 */
static int check_quotes_angles(void)
{
	int err = 0;

	err |= expect(options_text, "To: <sip:alice@example.com>",
		      "To: \"Mr. J. User <sip:alice@example.com>", 400,
		      "unterminated quoted string in To");
	err |= expect(options_text, "From: <sip:bob@example.org>",
		      "From: \"Bob \\\" <sip:bob@example.org>", 400,
		      "unterminated quoted string in From");
	err |= expect(options_text, "From: <sip:bob@example.org>",
		      "From: <sip:bob@example.org", 400,
		      "unbalanced < > in From");
	err |= expect(options_text, "To: <sip:alice@example.com>",
		      "To: sip:alice@example.com>", 400,
		      "unbalanced < > in To");
	err |= expect(options_text, "CSeq:",
		      "Contact: \"x\" <sip:a@192.0.2.5>, "
		      "<sip:b@192.0.2.5;lr\nCSeq:", 400,
		      "unbalanced < > in Contact");
	err |= expect(options_text, "CSeq:",
		      "Contact: <sip:a@192.0.2.5>, \"b\nCSeq:", 400,
		      "unterminated quoted string in Contact");
	err |= expect(options_text, "CSeq:",
		      "Contact: <<sip:a@192.0.2.5>>\nCSeq:", 400,
		      "unbalanced < > in Contact");
	err |= expect(options_text, "CSeq:",
		      "Contact: >sip:a@192.0.2.5<\nCSeq:", 400,
		      "unbalanced < > in Contact");

	/* quoted-pairs and quoted < > are fine (RFC 4475 3.1.1.1) */
	err |= expect(options_text, "From: <sip:bob@example.org>",
		      "From: \"J Rosenberg \\\\\\\"\"  <sip:bob@example.org>",
		      0, NULL);
	err |= expect(options_text, "To: <sip:alice@example.com>",
		      "To: \"a, \\\"b\\\" c>\" <sip:alice@example.com>",
		      0, NULL);
	err |= expect(options_text, "CSeq:",
		      "Contact: \"Quoted string \\\"\\\"\" <sip:a@192.0.2.5>"
		      ";q=0.3, <sip:b@192.0.2.5>\nCSeq:", 0, NULL);

	return err;
}


/* RFC 3261 19.1.1, RFC 5118 4.2, 4.3 and 4.10, RFC 4475 3.1.2.7 */
static int check_request_uri(void)
{
	const char *ruri = "OPTIONS sip:alice@example.com SIP/2.0";
	int err = 0;

	err |= expect(options_text, ruri, "OPTIONS sip:2001:db8::10 SIP/2.0",
		      400, "IPv6 Request-URI host without [ ]");
	err |= expect(options_text, ruri,
		      "OPTIONS sip:a@2001:db8::10;lr SIP/2.0", 400,
		      "IPv6 Request-URI host without [ ]");
	err |= expect(options_text, ruri,
		      "OPTIONS <sip:alice@example.com> SIP/2.0", 400,
		      "malformed Request-URI");
	err |= expect(options_text, ruri,
		      "OPTIONS sip:alice@example.com:50x SIP/2.0", 400,
		      "malformed Request-URI host");
	err |= expect(options_text, ruri,
		      "OPTIONS sip:[2001:db8::10]x SIP/2.0", 400,
		      "malformed Request-URI host");
	err |= expect(options_text, ruri,
		      "OPTIONS sip:[2001:db8::10]x5070 SIP/2.0", 400,
		      "malformed Request-URI host");
	err |= expect(options_text, ruri, "OPTIONS sip:[zz::1] SIP/2.0", 400,
		      "malformed Request-URI host");
	err |= expect(options_text, ruri, "OPTIONS sip:[2001:db8::10 SIP/2.0",
		      400, "malformed Request-URI host");
	err |= expect(options_text, ruri, "OPTIONS sip:alice@:5060 SIP/2.0",
		      400, "malformed Request-URI host");
	err |= expect(options_text, ruri, "OPTIONS sip:alice@;lr SIP/2.0",
		      400, "malformed Request-URI host");

	err |= expect(options_text, ruri,
		      "OPTIONS sip:[2001:db8::10]:5070 SIP/2.0", 0, NULL);
	err |= expect(options_text, ruri,
		      "OPTIONS sip:[2001:db8::10:5070] SIP/2.0", 0, NULL);
	err |= expect(options_text, ruri,
		      "OPTIONS sip:u@[2001:db8:::192.0.2.1] SIP/2.0", 0,
		      NULL);
	err |= expect(options_text, ruri,
		      "OPTIONS sip:u;p=u%40x.net@example.com:5070;lr?a=b "
		      "SIP/2.0", 0, NULL);
	err |= expect(options_text, ruri,
		      "OPTIONS sip:+1-212:secret@gw.example.com SIP/2.0", 0,
		      NULL);
	/* a scheme sipstub does not serve is 416's */
	err |= expect(options_text, ruri, "OPTIONS tel:+1-212 SIP/2.0", 0,
		      NULL);

	return err;
}


/* RFC 4475 3.3.4 */
static int check_register_to(void)
{
	static const char reg[] =
		"REGISTER sip:example.com SIP/2.0\n"
		"Via: SIP/2.0/UDP 192.0.2.5;branch=z9hG4bKr\n"
		"From: <sip:bob@example.org>;tag=f\n"
		"To: <sip:bob@example.org>\n"
		"Call-ID: r@192.0.2.5\n"
		"CSeq: 1 REGISTER\n"
		"Content-Length: 0\n\n";
	const char *to = "To: <sip:bob@example.org>";
	int err = 0;

	err |= expect(reg, to, "To: isbn:2983792873", 400,
		      "To of REGISTER is no SIP URI");
	err |= expect(reg, to, "To: <tel:+12125551212>", 400,
		      "To of REGISTER is no SIP URI");
	err |= expect(reg, to, "To: <SIPS:bob@example.org>", 0, NULL);
	err |= expect(reg, to, to, 0, NULL);
	/* RFC 3261 8.2.2.1: other requests may have any To */
	err |= expect(options_text, "To: <sip:alice@example.com>",
		      "To: <tel:+12125551212>", 0, NULL);

	return err;
}


/* RFC 3261 20.15 and 18.3 */
static int check_body_type(void)
{
	int err = 0;

	err |= expect(options_text, "Content-Length: 0\n\n",
		      "Content-Length: 5\n\nhello", 400,
		      "body without Content-Type");
	err |= expect(options_text, "Content-Length: 0\n\n",
		      "Content-Type: text/plain\nContent-Length: 5\n\nhello",
		      0, NULL);
	/* over UDP the body ends where Content-Length says */
	err |= expect(options_text, "Content-Length: 0\n\n",
		      "Content-Length: 0\n\nnoise after the request", 0,
		      NULL);

	return err;
}


/* RFC 3261 8.2.3, RFC 4475 3.3.6 */
static int check_415(void)
{
	const char *ct = "Content-Type: application/sdp";
	int err = 0;

	err |= expect(invite_text, ct, "Content-Type: application/unknown",
		      415, "application/sdp only");
	err |= expect(invite_text, ct, "Content-Type: multipart/mixed;"
		      "boundary=x", 415, "application/sdp only");
	err |= expect(invite_text, ct, "Content-Type: application/sdp\n"
		      "Content-Encoding: gzip", 415, "Content-Encoding");
	err |= expect(invite_text, ct, "Content-Type: application/sdp\n"
		      "Content-Encoding: identity", 0, NULL);
	err |= expect(invite_text, ct, "Content-Type: Application/SDP", 0,
		      NULL);
	err |= expect(invite_text, ct, "Content-Type: application/unknown\n"
		      "Content-Disposition: session;handling=optional", 0,
		      NULL);
	err |= expect(invite_text, ct, "Content-Type: application/unknown\n"
		      "Content-Disposition: session;handling=required", 415,
		      "application/sdp only");
	/* no body, or not an INVITE */
	err |= expect(invite_text, "Content-Length: 17\n\nv=0\ns=-\nt=0 0\n",
		      "Content-Length: 0\n\n", 0, NULL);
	err |= expect(options_text, "Content-Length: 0\n\n",
		      "Content-Type: application/unknown\n"
		      "Content-Length: 2\n\nhi", 0, NULL);

	return err;
}


/* RFC 3261 20.1 and 21.4.7, RFC 4475 3.3.15 */
static int check_406(void)
{
	const char *mf = "Max-Forwards: 70";
	int err = 0;

	err |= expect(invite_text, mf, "Accept: text/nobodyKnowsThis", 406,
		      "Accept has no application/sdp");
	err |= expect(invite_text, mf, "Accept: application/sdp;q=0.000",
		      406, "Accept has no application/sdp");
	err |= expect(invite_text, mf, "Accept:", 406,
		      "Accept has no application/sdp");
	err |= expect(invite_text, mf, "Accept: text/plain\n"
		      "Accept: */*;q=0", 406, "Accept has no application/sdp");

	err |= expect(invite_text, mf, "Accept: application/sdp", 0, NULL);
	err |= expect(invite_text, mf, "Accept: text/plain, Application/SDP;"
		      "level=1;q=0.5", 0, NULL);
	err |= expect(invite_text, mf, "Accept: application/*", 0, NULL);
	err |= expect(invite_text, mf, "Accept: text/plain\nAccept: */*",
		      0, NULL);
	err |= expect(options_text, "Max-Forwards: 70",
		      "Accept: text/nobodyKnowsThis", 0, NULL);

	return err;
}


/* --- the torture messages (tests/torture) --- */

static int torture_msg(struct sip_msg **msgp, const char *name)
{
	const char *data = getenv("SIPSTUB_TESTDATA");
	struct mbuf *mb = NULL;
	char path[512];
	FILE *f = NULL;
	size_t n;
	int err = 0;

	if (!data)
		data = "tests/unit/data";

	if (re_snprintf(path, sizeof(path), "%s/../../torture/%s", data,
			name) < 0)
		return EINVAL;

	f = fopen(path, "rb");
	if (!f) {
		print_error("%s: %s\n", path, strerror(errno));
		return errno;
	}

	mb = mbuf_alloc(8192);
	if (!mb) {
		err = ENOMEM;
		goto out;
	}

	n = fread(mb->buf, 1, mb->size - 2, f);
	mb->end = n;

	/* RFC 4475 baddn and RFC 5118 4.10 lack the empty line (README) */
	if (re_regex((char *)mb->buf, n, "\r\n\r\n", NULL)) {
		mb->pos = n;
		err = mbuf_write_str(mb, "\r\n");
		mb->pos = 0;
		if (err)
			goto out;
	}

	err = sip_msg_decode(msgp, mb);
	if (!err) {
		(*msgp)->tp = SIP_TRANSP_UDP;
		(void)sa_set_str(&(*msgp)->src, "192.0.2.5", 6000);
	}

 out:
	if (f)
		fclose(f);
	mem_deref(mb);

	return err;
}


static int torture_run(const char *name, uint16_t scode)
{
	struct sip_msg *msg = NULL;
	const char *reason = NULL;
	uint16_t sc = 0;
	int err;

	err = torture_msg(&msg, name);
	if (err) {
		print_error("%s: libre cannot decode it (%s)\n", name,
			    strerror(err));
		return err;
	}

	err = validate_request(msg, &sc, &reason);
	if (scode ? (err != EBADMSG || sc != scode) : err != 0) {
		print_error("%s: want %u, got %d (%u %s)\n", name, scode, err,
			    sc, reason ? reason : "");
		err = EINVAL;
	}
	else {
		err = 0;
	}

	mem_deref(msg);

	return err;
}


/* RFC 4475 3.1.1, 3.3.x and RFC 5118 4: valid, or not ours to refuse */
static int check_torture_valid(void)
{
	static const char *valid[] = {
		"rfc4475/3.1.1.1-wsinv.sip",
		"rfc4475/3.1.1.2-intmeth.sip",
		"rfc4475/3.1.1.3-esc01.sip",
		"rfc4475/3.1.1.4-escnull.sip",
		"rfc4475/3.1.1.5-esc02.sip",
		"rfc4475/3.1.1.6-lwsdisp.sip",
		"rfc4475/3.1.1.8-dblreq.sip",
		"rfc4475/3.1.1.9-semiuri.sip",
		"rfc4475/3.1.1.10-transports.sip",
		"rfc4475/3.1.1.11-mpart01.sip",
		"rfc4475/3.1.2.12-baddate.sip",
		"rfc4475/3.1.2.13-regbadct.sip",
		"rfc4475/3.1.2.14-badaspec.sip",
		"rfc4475/3.1.2.15-baddn.sip",
		"rfc4475/3.2.1-badbranch.sip",
		"rfc4475/3.3.2-unkscm.sip",
		"rfc4475/3.3.3-novelsc.sip",
		"rfc4475/3.3.5-bext01.sip",
		"rfc4475/3.3.7-regaut01.sip",
		"rfc4475/3.3.11-zeromf.sip",
		"rfc4475/3.3.12-cparam01.sip",
		"rfc4475/3.3.13-cparam02.sip",
		"rfc4475/3.3.14-regescrt.sip",
		"rfc5118/4.1-ipv6-good.sip",
		"rfc5118/4.3-port-ambiguous.sip",
		"rfc5118/4.4-port-unambiguous.sip",
		"rfc5118/4.5-via-received-param-with-delim.sip",
		"rfc5118/4.5-via-received-param-no-delim.sip",
		"rfc5118/4.6-ipv6-in-sdp.sip",
		"rfc5118/4.7-mult-ip-in-header.sip",
		"rfc5118/4.8-mult-ip-in-sdp.sip",
		"rfc5118/4.9-ipv4-mapped-ipv6.sip",
		"rfc5118/4.10-ipv6-bug-abnf-3-colons.sip",
		"rfc5118/4.10-ipv6-correct-abnf-2-colons.sip",
	};
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(valid); ++i)
		err |= torture_run(valid[i], 0);

	return err;
}


/* RFC 4475 3.1.2 and 3.3, RFC 5118 4.2: what libre lets through */
static int check_torture_invalid(void)
{
	static const struct {
		const char *name;
		uint16_t scode;
	} bad[] = {
		{"rfc4475/3.1.2.3-ncl.sip",        400},
		{"rfc4475/3.1.2.4-scalar02.sip",   400},
		{"rfc4475/3.1.2.6-quotbal.sip",    400},
		{"rfc4475/3.3.6-invut.sip",        415},
		{"rfc4475/3.3.8-multi01.sip",      400},
		{"rfc4475/3.3.9-mcl01.sip",        400},
		{"rfc4475/3.3.15-sdp01.sip",       406},
		{"rfc5118/4.2-ipv6-bad.sip",       400},
	};
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(bad); ++i)
		err |= torture_run(bad[i].name, bad[i].scode);

	return err;
}


UNIT_WRAP(valid)
UNIT_WRAP(args)
UNIT_WRAP(duplicate)
UNIT_WRAP(content_length)
UNIT_WRAP(cseq)
UNIT_WRAP(quotes_angles)
UNIT_WRAP(request_uri)
UNIT_WRAP(register_to)
UNIT_WRAP(body_type)
UNIT_WRAP(415)
UNIT_WRAP(406)
UNIT_WRAP(torture_valid)
UNIT_WRAP(torture_invalid)


int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(valid),
		UNIT_TEST(args),
		UNIT_TEST(duplicate),
		UNIT_TEST(content_length),
		UNIT_TEST(cseq),
		UNIT_TEST(quotes_angles),
		UNIT_TEST(request_uri),
		UNIT_TEST(register_to),
		UNIT_TEST(body_type),
		UNIT_TEST(415),
		UNIT_TEST(406),
		UNIT_TEST(torture_valid),
		UNIT_TEST(torture_invalid),
	};

	return cmocka_run_group_tests(tests, unit_group_setup,
				      unit_group_teardown);
}
