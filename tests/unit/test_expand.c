/**
 * @file test_expand.c  Unit tests: ${name} substitution at reply time
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include "unit.h"


struct expand_arg {
	const char *str;
	const struct sip_msg *msg;
	const struct sa *laddr;
};


static int expand_h(struct re_printf *pf, void *arg)
{
	const struct expand_arg *ea = arg;

	return expand_print(pf, ea->str, ea->msg, ea->laddr);
}


/* expand_print() of 'str' gives 'exp' */
static int expand_check(const char *str, const struct sip_msg *msg,
			const struct sa *laddr, const char *exp)
{
	struct expand_arg ea = {str, msg, laddr};
	char *out = NULL;
	int err;

	err = re_sdprintf(&out, "%H", expand_h, &ea);
	TEST_ERR(err);

	if (unit_strcmp(exp, out)) {
		print_error("expand \"%s\": expected \"%s\", got \"%s\"\n",
			    str ? str : "(null)", exp, out ? out : "(null)");
		err = EINVAL;
	}

 out:
	mem_deref(out);

	return err;
}


static const char invite_text[] =
	"INVITE sip:alice@example.com;user=phone SIP/2.0\n"
	"Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKe1;rport\n"
	"From: \"Bob\" <sip:bob@example.org>;tag=f1\n"
	"To: <sip:alice@example.com>\n"
	"Call-ID: 4711@10.0.0.1\n"
	"CSeq: 1 INVITE\n"
	"Content-Length: 0\n"
	"\n";


static int check_names(void)
{
	struct sip_msg *msg = NULL;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5070);
	err |= unit_msg(&msg, SIP_TRANSP_UDP, "10.0.0.1:5062",
			"127.0.0.1:5070", invite_text);
	TEST_ERR(err);

	err  = expand_check("${local}", msg, &laddr, "127.0.0.1:5070");
	err |= expand_check("${user}", msg, &laddr, "alice");
	err |= expand_check("${domain}", msg, &laddr, "example.com");
	err |= expand_check("${callid}", msg, &laddr, "4711@10.0.0.1");
	err |= expand_check("${transport}", msg, &laddr, "udp");
	err |= expand_check("${from-user}", msg, &laddr, "bob");
	TEST_ERR(err);

	/* in text, several, next to each other */
	err  = expand_check("<sip:${user}@${local}>;q=1", msg, &laddr,
			    "<sip:alice@127.0.0.1:5070>;q=1");
	err |= expand_check("${user}${from-user}", msg, &laddr, "alicebob");
	err |= expand_check("call ${callid} from ${from-user} over "
			    "${transport}", msg, &laddr,
			    "call 4711@10.0.0.1 from bob over udp");
	TEST_ERR(err);

	/* TCP, and an IPv6 address in brackets */
	msg->tp = SIP_TRANSP_TCP;
	err = sa_set_str(&laddr, "::1", 5060);
	TEST_ERR(err);
	err  = expand_check("${transport}", msg, &laddr, "tcp");
	err |= expand_check("sip:${local}", msg, &laddr, "sip:[::1]:5060");
	TEST_ERR(err);

 out:
	mem_deref(msg);

	return err;
}


/* Text without run-time names, unknown names, broken syntax: as is */
static int check_as_is(void)
{
	struct sip_msg *msg = NULL;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= unit_msg(&msg, SIP_TRANSP_UDP, "10.0.0.1:5062",
			"127.0.0.1:5060", invite_text);
	TEST_ERR(err);

	err  = expand_check("", msg, &laddr, "");
	err |= expand_check(NULL, msg, &laddr, "");
	err |= expand_check("plain text", msg, &laddr, "plain text");
	err |= expand_check("${realm}", msg, &laddr, "${realm}");
	err |= expand_check("a ${nope} b ${user}", msg, &laddr,
			    "a ${nope} b alice");
	err |= expand_check("${USER}", msg, &laddr, "${USER}");
	err |= expand_check("${}", msg, &laddr, "${}");
	err |= expand_check("$user {user} $", msg, &laddr,
			    "$user {user} $");
	err |= expand_check("${user", msg, &laddr, "${user");
	err |= expand_check("${user}${user", msg, &laddr, "alice${user");
	err |= expand_check("100% ${user}", msg, &laddr, "100% alice");
	TEST_ERR(err);

 out:
	mem_deref(msg);

	return err;
}


/* A Request-URI and From without a user give empty values */
static int check_no_user(void)
{
	struct sip_msg *msg = NULL;
	struct sa laddr;
	int err;

	err  = sa_set_str(&laddr, "127.0.0.1", 5060);
	err |= unit_msg(&msg, SIP_TRANSP_UDP, "10.0.0.1:5062",
			"127.0.0.1:5060",
			"OPTIONS sip:example.com SIP/2.0\n"
			"Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKe2\n"
			"From: <sip:example.org>;tag=f2\n"
			"To: <sip:example.com>\n"
			"Call-ID: nouser\n"
			"CSeq: 1 OPTIONS\n"
			"Content-Length: 0\n"
			"\n");
	TEST_ERR(err);

	err  = expand_check("[${user}]", msg, &laddr, "[]");
	err |= expand_check("[${from-user}]", msg, &laddr, "[]");
	err |= expand_check("${domain}", msg, &laddr, "example.com");
	TEST_ERR(err);

 out:
	mem_deref(msg);

	return err;
}


static int check_name_valid(void)
{
	static const char *valid[] = {
		"local", "user", "domain", "callid", "transport", "from-user",
	};
	static const char *invalid[] = {
		"", "Local", "USER", "loca", "locals", "from_user",
		"fromuser", "realm", "call-id", "to-user",
	};
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(valid); ++i) {
		if (!expand_name_valid(valid[i], strlen(valid[i]))) {
			print_error("'%s' should be valid\n", valid[i]);
			err = EINVAL;
		}
	}

	for (i = 0; i < ARRAY_SIZE(invalid); ++i) {
		if (expand_name_valid(invalid[i], strlen(invalid[i]))) {
			print_error("'%s' should not be valid\n", invalid[i]);
			err = EINVAL;
		}
	}

	/* the length decides, not a terminating NUL */
	TEST_ASSERT(expand_name_valid("user}", 4));
	TEST_ASSERT(expand_name_valid("localhost", 5));
	TEST_ASSERT(!expand_name_valid("user", 3));
	TEST_ASSERT(!expand_name_valid("user", 5));

 out:
	return err;
}


UNIT_WRAP(names)
UNIT_WRAP(as_is)
UNIT_WRAP(no_user)
UNIT_WRAP(name_valid)


int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(names),
		UNIT_TEST(as_is),
		UNIT_TEST(no_user),
		UNIT_TEST(name_valid),
	};

	return cmocka_run_group_tests(tests, unit_group_setup,
				      unit_group_teardown);
}
