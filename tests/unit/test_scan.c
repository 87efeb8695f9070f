/**
 * @file test_scan.c  Unit tests: the event log's scanner against libre
 *
 * For every message in tests/ (torture messages, fuzz seeds and
 * regressions, and the messages below) that libre decodes, scan_msg()
 * must either give up or find exactly what sip_msg_decode() finds.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include "unit.h"


static const char *typical[] = {
	"INVITE sip:alice@example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKe1;rport\r\n"
	"Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKold\r\n"
	"Max-Forwards: 70\r\n"
	"From: Bob <sip:bob@example.com>;tag=f1\r\n"
	"To: <sip:alice@example.com>\r\n"
	"Call-ID: c1@10.0.0.1\r\n"
	"CSeq: 7 INVITE\r\n"
	"Content-Length: 0\r\n\r\n",

	"SIP/2.0 486 Busy Here\r\n"
	"v: SIP/2.0/TCP 10.0.0.1:5062 ; branch = z9hG4bKe2 , "
	"SIP/2.0/UDP 10.0.0.2\r\n"
	"f: sip:bob@example.com;tag=f2\r\n"
	"t: <sip:alice@example.com;user=phone>;TAG=t2;x=y\r\n"
	"i: c2\r\n"
	"CSeq:   12   OPTIONS  \r\n"
	"l: 0\r\n\r\n",

	"BYE sip:alice@10.0.0.2:5070;transport=udp SIP/2.0\r\n"
	"VIA: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK3;received=::1\r\n"
	"FROM: <sip:bob@example.com;tag=nottag>;tag=f3\r\n"
	"TO: sip:alice@example.com;tag=t3\r\n"
	"CALL-ID: c3\r\n"
	"CSEQ: 2 BYE\r\n\r\n",
};


static bool pl_same(const struct pl *a, const struct pl *b)
{
	if (!pl_isset(a) || !pl_isset(b))
		return pl_isset(a) == pl_isset(b);

	return !pl_cmp(a, b);
}


static bool scan_same(const struct scan *a, const struct scan *b)
{
	return a->req == b->req && a->scode == b->scode &&
		pl_same(&a->met, &b->met) && pl_same(&a->uri, &b->uri) &&
		pl_same(&a->reason, &b->reason) &&
		pl_same(&a->callid, &b->callid) &&
		pl_same(&a->cseqmet, &b->cseqmet) &&
		(!pl_isset(&a->cseqmet) || a->cseq == b->cseq) &&
		pl_same(&a->from, &b->from) && pl_same(&a->to, &b->to) &&
		pl_same(&a->ftag, &b->ftag) && pl_same(&a->ttag, &b->ttag) &&
		pl_same(&a->branch, &b->branch);
}


/* 0: libre rejects it or they agree (*scanned: the scanner read it) */
static int compare(const char *name, const uint8_t *p, size_t n,
		   bool *scanned)
{
	struct sip_msg *msg = NULL;
	struct mbuf *mb = mbuf_alloc(n + 1);
	struct scan a, b;
	int err = 0;

	*scanned = false;
	if (!mb)
		return ENOMEM;

	(void)mbuf_write_mem(mb, p, n);
	mb->pos = 0;

	if (sip_msg_decode(&msg, mb))
		goto out;

	/* libre may stop before the end (a datagram's second message) */
	if (scan_msg(&a, p, n))
		goto out;

	*scanned = true;
	scan_from_msg(&b, msg);

	if (!scan_same(&a, &b)) {
		unit_note("%s: scan_msg() and sip_msg_decode() differ\n",
			  name);
		err = EINVAL;
	}

 out:
	mem_deref(msg);
	mem_deref(mb);

	return err;
}


static int dir_compare(const char *dir, unsigned *files, unsigned *scanned)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d) {
		unit_note("%s: %m\n", dir, errno);
		return ENOENT;
	}

	while ((de = readdir(d))) {
		char path[512];
		static uint8_t buf[70000];
		size_t n;
		bool ok;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;

		(void)re_snprintf(path, sizeof(path), "%s/%s", dir,
				  de->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf), f);
		(void)fclose(f);

		++*files;
		err |= compare(path, buf, n, &ok);
		*scanned += ok;
	}

	(void)closedir(d);

	return err;
}


static int check_typical(void)
{
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(typical); i++) {
		bool scanned;

		TEST_ERR(compare("typical", (const uint8_t *)typical[i],
				 strlen(typical[i]), &scanned));
		/* the fast path must be taken for these */
		TEST_ASSERT(scanned);
	}

 out:
	return err;
}


static int check_corpora(void)
{
	static const char *dirs[] = {
		"../../torture/rfc4475", "../../torture/rfc5118",
		"../../fuzz/corpus/request", "../../fuzz/regressions",
	};
	const char *data = getenv("SIPSTUB_TESTDATA");
	unsigned files = 0, scanned = 0;
	size_t i;
	int err = 0;

	TEST_ASSERT(data != NULL);

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		char dir[512];

		(void)re_snprintf(dir, sizeof(dir), "%s/%s", data, dirs[i]);
		err |= dir_compare(dir, &files, &scanned);
	}

	unit_note("%u files, %u read by the scanner\n", files, scanned);
	TEST_ASSERT(files > 60);

 out:
	return err;
}


static int check_gives_up(void)
{
	static const char *odd[] = {
		/* folded header */
		"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=x\r\n"
		"From: <sip:a@b>\r\n ;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n"
		"CSeq: 1 OPTIONS\r\n\r\n",
		/* quoted display name */
		"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=x\r\n"
		"From: \"a <b>\" <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n"
		"Call-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
		/* two Call-IDs */
		"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=x\r\n"
		"From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n"
		"i: d\r\nCSeq: 1 OPTIONS\r\n\r\n",
		/* LF line ends */
		"OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=x\n"
		"From: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: c\n"
		"CSeq: 1 OPTIONS\n\n",
		/* no CSeq */
		"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=x\r\n"
		"From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n\r\n",
		/* version with trailing space */
		"OPTIONS sip:a@b SIP/2.0 \r\nVia: SIP/2.0/UDP h;branch=x\r\n"
		"From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n"
		"CSeq: 1 OPTIONS\r\n\r\n",
	};
	struct scan s;
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(odd); i++) {
		if (!scan_msg(&s, (const uint8_t *)odd[i], strlen(odd[i]))) {
			unit_note("odd message %zu was scanned\n", i);
			err = EINVAL;
		}
	}

	return err;
}


UNIT_WRAP(typical)
UNIT_WRAP(corpora)
UNIT_WRAP(gives_up)


int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(typical),
		UNIT_TEST(corpora),
		UNIT_TEST(gives_up),
	};

	return cmocka_run_group_tests(tests, unit_group_setup,
				      unit_group_teardown);
}
