/**
 * @file test_srtp.c  Unit tests: SRTP contexts, G.711, WAV files, RTP ports
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <stdlib.h>
#include "unit.h"


static const char * const suites[] = {
	"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32",
	"AEAD_AES_128_GCM", "AEAD_AES_256_GCM",
};


static int check_g711(void)
{
	int err = 0;
	int v;

	/* G.711: the codes of zero and of full scale */
	TEST_EQUALS(0xff, g711_ulaw_enc(0));
	TEST_EQUALS(0xd5, g711_alaw_enc(0));
	TEST_EQUALS(0x80, g711_ulaw_enc(32767));
	TEST_EQUALS(0x00, g711_ulaw_enc(-32768));
	TEST_EQUALS(0xaa, g711_alaw_enc(32767));
	TEST_EQUALS(0x2a, g711_alaw_enc(-32768));

	/* every code decodes to a value that encodes back to it */
	for (v = 0; v < 256; ++v) {
		const uint8_t c = (uint8_t)v;

		if (v != 0x7f && v != 0xff)   /* mu-law's two zeros */
			TEST_EQUALS(v, g711_ulaw_enc(g711_ulaw_dec(c)));
		TEST_EQUALS(v, g711_alaw_enc(g711_alaw_dec(c)));
	}

	/* the quantisation error stays within a segment's step */
	for (v = -32000; v <= 32000; v += 97) {
		TEST_ASSERT(abs(g711_ulaw_dec(g711_ulaw_enc((int16_t)v)) - v)
			    <= 1024);
		TEST_ASSERT(abs(g711_alaw_dec(g711_alaw_enc((int16_t)v)) - v)
			    <= 1024);
	}

 out:
	return err;
}


static int check_wav(void)
{
	const char *dir = getenv("SIPSTUB_SCENARIOS");
	int16_t *pcm = NULL;
	char *path = NULL;
	size_t n = 0;
	int err = 0;

	TEST_ASSERT(dir != NULL);

	err = re_sdprintf(&path, "%s/announcement.wav", dir);
	TEST_ERR(err);
	err = wav_load(path, &pcm, &n);
	TEST_ERR(err);
	TEST_EQUALS(2800, n);
	TEST_ASSERT(pcm[100] != 0);
	pcm = mem_deref(pcm);
	path = mem_deref(path);

	err = re_sdprintf(&path, "%s/echo.yaml", dir);
	TEST_ERR(err);
	TEST_EQUALS(EBADMSG, wav_load(path, &pcm, &n));
	path = mem_deref(path);

	TEST_EQUALS(ENOENT, wav_load("/nonexistent.wav", &pcm, &n));

 out:
	mem_deref(pcm);
	mem_deref(path);
	return err;
}


/* A sender with key A to a receiver with key A, for every suite: the
 * packet round-trips, a spoilt tag and a replay are refused */
static int srtp_pair(const char *suite)
{
	struct srtpc *a = NULL, *b = NULL;
	char *ka = NULL, *kb = NULL;
	struct mbuf *mb = NULL, *copy = NULL;
	static const uint8_t rtp[12] = {0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160,
					1, 2, 3, 4};
	int err = 0;

	err = srtpc_key_make(&ka, suite);
	TEST_ERR(err);
	err = srtpc_key_make(&kb, suite);
	TEST_ERR(err);
	TEST_ASSERT(strcmp(ka, kb));
	err = srtpc_alloc(&a, suite, ka, kb);
	TEST_ERR(err);
	err = srtpc_alloc(&b, suite, kb, ka);
	TEST_ERR(err);

	mb = mbuf_alloc(256);
	TEST_ASSERT(mb != NULL);
	err = mbuf_write_mem(mb, rtp, sizeof(rtp));
	TEST_ERR(err);
	err = mbuf_fill(mb, 0x55, 160);
	TEST_ERR(err);
	mb->pos = 0;

	err = srtpc_protect(a, mb, false);
	TEST_ERR(err);
	TEST_ASSERT(mbuf_get_left(mb) > sizeof(rtp) + 160);

	copy = mbuf_alloc(256);
	TEST_ASSERT(copy != NULL);
	err = mbuf_write_mem(copy, mbuf_buf(mb), mbuf_get_left(mb));
	TEST_ERR(err);
	copy->pos = 0;

	/* a spoilt tag first: refused, and it does not burn the index */
	mbuf_buf(mb)[mbuf_get_left(mb) - 1] ^= 1;
	TEST_EQUALS(EAUTH, srtpc_unprotect(b, mb, false));

	err = srtpc_unprotect(b, copy, false);
	TEST_ERR(err);
	TEST_EQUALS(sizeof(rtp) + 160, mbuf_get_left(copy));
	TEST_EQUALS(0x55, mbuf_buf(copy)[12]);

	/* the same packet again: a replay */
	copy->pos = 0;
	copy->end = 0;
	mb->pos = 0;
	mbuf_buf(mb)[mbuf_get_left(mb) - 1] ^= 1;
	TEST_EQUALS(EALREADY, srtpc_unprotect(b, mb, false));

	/* a bad key size, an unknown suite */
	TEST_EQUALS(EBADMSG, srtpc_alloc(&a, suite, "QUJD", kb));
	TEST_EQUALS(ENOTSUP, srtpc_alloc(&a, "NULL_HMAC", ka, kb));

 out:
	mem_deref(mb);
	mem_deref(copy);
	mem_deref(a);
	mem_deref(b);
	mem_deref(ka);
	mem_deref(kb);
	return err;
}


static int check_srtp(void)
{
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(suites) && !err; ++i) {
		err = srtp_pair(suites[i]);
		if (err)
			unit_note("suite %s\n", suites[i]);
	}

	TEST_ASSERT(!srtpc_suite_supported("F8_128_HMAC_SHA1_80"));

 out:
	return err;
}


static int check_ports(void)
{
	int err = 0;

	TEST_EQUALS(EINVAL, rtp_ports_set("10000"));
	TEST_EQUALS(EINVAL, rtp_ports_set("x10000-20000"));
	TEST_EQUALS(EINVAL, rtp_ports_set("10000-20000x"));
	TEST_EQUALS(EINVAL, rtp_ports_set("20000-10000"));
	TEST_EQUALS(EINVAL, rtp_ports_set("1000-2000"));
	TEST_EQUALS(EINVAL, rtp_ports_set("10001-10001"));
	TEST_EQUALS(EINVAL, rtp_ports_set("10000-100000"));
	err = rtp_ports_set("10001-10003");
	TEST_ERR(err);
	err = rtp_ports_set("10000-59999");
	TEST_ERR(err);

 out:
	return err;
}


UNIT_WRAP(g711)
UNIT_WRAP(wav)
UNIT_WRAP(srtp)
UNIT_WRAP(ports)


int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(g711),
		UNIT_TEST(wav),
		UNIT_TEST(srtp),
		UNIT_TEST(ports),
	};

	return cmocka_run_group_tests(tests, unit_group_setup,
				      unit_group_teardown);
}
