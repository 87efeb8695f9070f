/**
 * @file test_expectations.c  Unit tests: expectations fed with messages at
 *                      given times (no clock involved)
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include "unit.h"


#define CLIENT "127.0.0.1:5999"
#define STUB   "127.0.0.1:5060"


/* A message from text; tx: sipstub sent it */
static int feed(struct expect *ex, bool tx, uint64_t now, const char *text)
{
	struct sip_msg *msg = NULL;
	int err;

	err = unit_msg(&msg, SIP_TRANSP_UDP, tx ? STUB : CLIENT,
		       tx ? CLIENT : STUB, text);
	if (err)
		return err;

	expect_msg(ex, tx, msg, hash_joaat((const uint8_t *)text,
					   strlen(text)), now);
	mem_deref(msg);

	return 0;
}


static int setup(struct scenario **scnp, struct expect **exp,
		 const char *yaml)
{
	int err;

	err = scenario_alloc(scnp);
	if (err)
		return err;

	err = scenario_load_buf(*scnp, "t.yaml", yaml, strlen(yaml), NULL,
				NULL);
	if (err)
		return err;

	return expect_alloc(exp, *scnp, NULL);
}


static int lines(char **p, const struct expect *ex)
{
	return re_sdprintf(p, "%H", expect_print_lines, ex);
}


#define RESP(code, cseq, met)						\
	"SIP/2.0 " code " X\n"						\
	"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-1\n"		\
	"From: <sip:a@x>;tag=1\nTo: <sip:b@x>;tag=2\n"			\
	"Call-ID: c1\nCSeq: " cseq " " met "\nContent-Length: 0\n\n"

#define REQ(met, cseq, extra)						\
	met " sip:b@127.0.0.1:5060 SIP/2.0\n"				\
	"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-" cseq met	\
	"\n"								\
	"From: <sip:a@x>;tag=1\nTo: <sip:b@x>;tag=2\n"			\
	"Call-ID: c1\nCSeq: " cseq " " met "\n" extra			\
	"Content-Length: 0\n\n"


static int check_within(void)
{
	static const char yaml[] =
		"INVITE: 407\n"
		"expect:\n"
		"  - name: retry\n"
		"    request: INVITE\n"
		"    match: {headers: {Proxy-Authorization: Digest}}\n"
		"    after: 407\n"
		"    within: 2s\n";
	struct scenario *scn = NULL;
	struct expect *ex = NULL;
	char *out = NULL;
	int err;

	err = setup(&scn, &ex, yaml);
	TEST_ERR(err);
	TEST_EQUALS(1, scenario_expect_count(scn));

	/* 407 at 1000 (retransmitted), no credentials, then a retry in
	 * time: met */
	TEST_ERR(feed(ex, true, 1000, RESP("407", "1", "INVITE")));
	TEST_ERR(feed(ex, true, 1500, RESP("407", "1", "INVITE")));
	TEST_ERR(feed(ex, false, 1600, REQ("INVITE", "1", "")));
	TEST_ERR(feed(ex, false, 2900,
		      REQ("INVITE", "2", "Proxy-Authorization: Digest x\n")));
	expect_finish(ex, 10000);
	TEST_ERR(lines(&out, ex));
	TEST_STRCMP("PASS retry: INVITE (with Proxy-Authorization) within 2s "
		    "after 407 (1 of 1)\n", out);
	out = mem_deref(out);

	/* a retry 2.5 s later is late */
	expect_reset(ex);
	TEST_ERR(feed(ex, true, 1000, RESP("407", "1", "INVITE")));
	TEST_ERR(feed(ex, false, 3500,
		      REQ("INVITE", "2", "Proxy-Authorization: Digest x\n")));
	expect_finish(ex, 10000);
	TEST_ERR(lines(&out, ex));
	TEST_ASSERT(strstr(out, "FAIL retry: expected INVITE (with "
			   "Proxy-Authorization) within 2s after 407, saw "
			   "no INVITE within 2000 ms after the 407 (Call-ID "
			   "c1) (1 of 1 failed)"));
	TEST_ASSERT(!expect_passed(ex));
	out = mem_deref(out);

	/* nothing sent: nothing tested */
	expect_reset(ex);
	expect_finish(ex, 10000);
	TEST_ERR(lines(&out, ex));
	TEST_STRCMP("FAIL retry: expected INVITE (with Proxy-Authorization) "
		    "within 2s after 407, saw no 407 sent\n", out);

 out:
	mem_deref(out);
	mem_deref(ex);
	mem_deref(scn);

	return err;
}


static int check_never_count(void)
{
	static const char yaml[] =
		"expect:\n"
		"  - {name: n, request: INVITE, after: 603, never: true}\n"
		"  - {name: acks, request: ACK, count: 1}\n";
	struct scenario *scn = NULL;
	struct expect *ex = NULL;
	char *out = NULL;
	int err;

	err = setup(&scn, &ex, yaml);
	TEST_ERR(err);

	TEST_ERR(feed(ex, false, 100, REQ("INVITE", "1", "")));
	TEST_ERR(feed(ex, true, 200, RESP("603", "1", "INVITE")));
	/* the ACK, and its retransmission, once */
	TEST_ERR(feed(ex, false, 300, REQ("ACK", "1", "")));
	TEST_ERR(feed(ex, false, 400, REQ("ACK", "1", "")));
	/* a retransmission of the INVITE is no retry */
	TEST_ERR(feed(ex, false, 500, REQ("INVITE", "1", "")));
	TEST_ASSERT(expect_passed(ex));

	TEST_ERR(feed(ex, false, 900, REQ("INVITE", "2", "")));
	expect_finish(ex, 1000);
	TEST_ERR(lines(&out, ex));
	TEST_STRCMP("FAIL n: expected no INVITE after 603, saw INVITE "
		    "(CSeq 2) 700 ms after the 603 (Call-ID c1) (1 of 1 "
		    "failed)\n"
		    "PASS acks: ACK exactly 1 time (saw 1)\n", out);

 out:
	mem_deref(out);
	mem_deref(ex);
	mem_deref(scn);

	return err;
}


/* RFC 3262 7.2: the PRACK of a reliable 183 names it in RAck */
static int check_prack_rack(void)
{
	static const char yaml[] =
		"expect:\n"
		"  - {name: p, request: PRACK, after: 183, within: 2s}\n";
	static const char r183[] =
		"SIP/2.0 183 Session Progress\n"
		"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-1\n"
		"From: <sip:a@x>;tag=1\nTo: <sip:b@x>;tag=2\n"
		"Call-ID: c1\nCSeq: 1 INVITE\nRequire: 100rel\nRSeq: 7\n"
		"Content-Length: 0\n\n";
	struct scenario *scn = NULL;
	struct expect *ex = NULL;
	char *out = NULL;
	int err;

	err = setup(&scn, &ex, yaml);
	TEST_ERR(err);

	TEST_ERR(feed(ex, true, 1000, r183));
	TEST_ERR(feed(ex, false, 1100,
		      REQ("PRACK", "2", "RAck: 6 1 INVITE\n")));
	TEST_ERR(feed(ex, false, 1200,
		      REQ("PRACK", "3", "RAck: 7 1 INVITE\n")));
	expect_finish(ex, 5000);
	TEST_ERR(lines(&out, ex));
	TEST_STRCMP("PASS p: PRACK within 2s after 183 (1 of 1)\n", out);
	out = mem_deref(out);

	expect_reset(ex);
	TEST_ERR(feed(ex, true, 1000, r183));
	TEST_ERR(feed(ex, false, 1100,
		      REQ("PRACK", "2", "RAck: 6 1 INVITE\n")));
	expect_finish(ex, 5000);
	TEST_ERR(lines(&out, ex));
	TEST_ASSERT(strstr(out, "only PRACK (CSeq 2) with another RAck"));

 out:
	mem_deref(out);
	mem_deref(ex);
	mem_deref(scn);

	return err;
}


UNIT_WRAP(within)
UNIT_WRAP(prack_rack)
UNIT_WRAP(never_count)


int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(within),
		UNIT_TEST(never_count),
		UNIT_TEST(prack_rack),
	};

	return cmocka_run_group_tests(tests, unit_group_setup,
				      unit_group_teardown);
}
