/**
 * @file test_digest.c  Unit tests: digest mechanics (digest.c) against
 *                      the RFC 7616 3.9.1 example, credential decoding,
 *                      nonces and nonce-counts
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include "unit.h"
#include "../../src/digest.h"


/* RFC 7616 3.9.1: Mufasa, "Circle of Life", GET /dir/index.html */
#define RFC7616_CRED(alg, resp)						\
	"Digest username=\"Mufasa\",\n"					\
	" realm=\"http-auth@example.org\",\n"				\
	" uri=\"/dir/index.html\",\n"					\
	" algorithm=" alg ",\n"						\
	" nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\n"	\
	" nc=00000001,\n"						\
	" cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\n"	\
	" qop=auth,\n"							\
	" response=\"" resp "\",\n"					\
	" opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""

static const char get_text[] =
	"GET sip:x@example.org SIP/2.0\n"
	"Via: SIP/2.0/UDP 192.0.2.5:6000;branch=z9hG4bKdig1\n"
	"Max-Forwards: 70\n"
	"From: <sip:bob@example.org>;tag=f1\n"
	"To: <sip:x@example.org>\n"
	"Call-ID: dig1@192.0.2.5\n"
	"CSeq: 1 GET\n"
	"Content-Length: 0\n"
	"\n";


static int vector(const struct sip_msg *msg, enum digest_alg alg,
		  const char *text, const char *want)
{
	struct digest_cred c;
	char hex[DIGEST_HEX_MAX + 1];
	struct pl pl;
	int err;

	pl_set_str(&pl, text);

	err = digest_cred_decode(&c, &pl);
	TEST_ERR(err);

	TEST_PLSTR("Mufasa", &c.username);
	TEST_PLSTR("http-auth@example.org", &c.realm);
	TEST_PLSTR("/dir/index.html", &c.uri);
	TEST_PLSTR("00000001", &c.nc);
	TEST_PLSTR("auth", &c.qop);
	TEST_PLSTR("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
		   &c.opaque);

	err = digest_response_calc(hex, alg, &c, "Circle of Life", msg);
	TEST_ERR(err);
	TEST_ASSERT(!strcmp(want, hex));
	TEST_ASSERT(digest_response_equal(hex, &c.response));

 out:
	return err;
}


static int check_rfc7616(void)
{
	struct sip_msg *msg = NULL;
	int err;

	err = unit_msg(&msg, SIP_TRANSP_UDP, "192.0.2.5:6000",
		       "192.0.2.1:5060", get_text);
	TEST_ERR(err);

	err = vector(msg, ALG_MD5, RFC7616_CRED("MD5",
		     "8ca523f5e9506fed4657c9700eebdbec"),
		     "8ca523f5e9506fed4657c9700eebdbec");
	TEST_ERR(err);

	err = vector(msg, ALG_SHA256, RFC7616_CRED("SHA-256",
		     "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db"
		     "5856cb6c1"),
		     "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db"
		     "5856cb6c1");
	TEST_ERR(err);

 out:
	mem_deref(msg);

	return err;
}


static int check_decode(void)
{
	static const struct {
		const char *text;
		int err;
	} tab[] = {
		{"Digest username=\"a,b\",realm=r, nc=00000001", 0},
		{"  digest  username=\"a\"  ,  , realm=\"r\"", 0},
		{"Basic YWxhZGRpbjpvcGVuc2VzYW1l", ENOTSUP},
		{"Digest", ENOTSUP},
		{"Digest username=\"a, realm=\"r\"", EBADMSG},
		{"Digest username=\"a\" junk, realm=\"r\"", EBADMSG},
		{"Digest username=\"a\", realm", EBADMSG},
	};
	struct digest_cred c;
	struct pl pl;
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(tab); i++) {
		pl_set_str(&pl, tab[i].text);
		TEST_EQUALS(tab[i].err, digest_cred_decode(&c, &pl));
	}

	pl_set_str(&pl, tab[0].text);
	err = digest_cred_decode(&c, &pl);
	TEST_ERR(err);
	TEST_PLSTR("a,b", &c.username);
	TEST_PLSTR("r", &c.realm);
	TEST_ASSERT(!pl_isset(&c.nonce));

 out:
	return err;
}


static int check_nonces(void)
{
	struct nonces *n = NULL, *other = NULL;
	char nonce[DIGEST_NONCE_LEN + 1], nonce2[DIGEST_NONCE_LEN + 1];
	struct pl pl, pl2;
	uint64_t ts = 0;
	char orig;
	int err;

	err = digest_nonces_alloc(&n);
	TEST_ERR(err);
	err = digest_nonces_alloc(&other);
	TEST_ERR(err);

	digest_nonce_make(n, nonce);
	digest_nonce_make(n, nonce2);
	TEST_EQUALS(DIGEST_NONCE_LEN, strlen(nonce));
	TEST_ASSERT(strcmp(nonce, nonce2) != 0);

	pl_set_str(&pl, nonce);
	pl_set_str(&pl2, nonce2);
	TEST_ASSERT(digest_nonce_valid(n, &pl, &ts));
	TEST_ASSERT(ts != 0);

	/* another secret, a changed MAC, a changed time */
	TEST_ASSERT(!digest_nonce_valid(other, &pl, &ts));
	nonce[DIGEST_NONCE_LEN - 1] ^= 1;
	TEST_ASSERT(!digest_nonce_valid(n, &pl, &ts));
	nonce[DIGEST_NONCE_LEN - 1] ^= 1;
	orig = nonce[15];
	nonce[15] = orig == 'f' ? 'e' : 'f';
	TEST_ASSERT(!digest_nonce_valid(n, &pl, &ts));
	nonce[15] = orig;
	TEST_ASSERT(digest_nonce_valid(n, &pl, &ts));

	/* the highest nc per nonce */
	TEST_ASSERT(digest_nc_accept(n, &pl, ts, 1, 60000));
	TEST_ASSERT(!digest_nc_accept(n, &pl, ts, 1, 60000));
	TEST_ASSERT(digest_nc_accept(n, &pl, ts, 3, 60000));
	TEST_ASSERT(!digest_nc_accept(n, &pl, ts, 2, 60000));
	TEST_ASSERT(digest_nc_accept(n, &pl2, ts, 1, 60000));

 out:
	mem_deref(other);
	mem_deref(n);

	return err;
}


UNIT_WRAP(rfc7616)
UNIT_WRAP(decode)
UNIT_WRAP(nonces)


int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(rfc7616),
		UNIT_TEST(decode),
		UNIT_TEST(nonces),
	};

	return cmocka_run_group_tests(tests, unit_group_setup,
				      unit_group_teardown);
}
