/**
 * @file test_tls_srv.c  Unit tests: the TLS context, self-signed certificate
 *                   and fingerprint
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#define USE_OPENSSL 1
#include "unit.h"


/* The certificate's subjectAltName as OpenSSL prints it */
static int san_get(char *buf, size_t size, struct tls_srv *ts)
{
	X509 *x = SSL_CTX_get0_certificate(
		tls_openssl_context(tls_srv_ctx(ts)));
	int i = x ? X509_get_ext_by_NID(x, NID_subject_alt_name, -1) : -1;
	BIO *b;
	int n;

	if (i < 0)
		return ENOENT;

	b = BIO_new(BIO_s_mem());
	if (!b)
		return ENOMEM;

	(void)X509V3_EXT_print(b, X509_get_ext(x, i), 0, 0);
	n = BIO_read(b, buf, (int)size - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(b);

	return 0;
}


static int check_selfsigned(void)
{
	struct tls_srv *ts = NULL;
	struct sa addrv[2];
	SSL_CTX *ctx;
	char fp[128], san[256];
	const char *s;
	size_t i;
	int err;

	err  = sa_set_str(&addrv[0], "127.0.0.1", 5061);
	err |= sa_set_str(&addrv[1], "::1", 0);
	TEST_ERR(err);

	err = tls_srv_alloc(&ts, NULL, addrv, ARRAY_SIZE(addrv));
	TEST_ERR(err);

	TEST_ASSERT(tls_srv_self_signed(ts));

	ctx = tls_openssl_context(tls_srv_ctx(ts));
	TEST_EQUALS(TLS1_2_VERSION, SSL_CTX_get_min_proto_version(ctx));

	/* 32 bytes as AB:CD:... */
	TEST_EQUALS(95, re_snprintf(fp, sizeof(fp), "%H",
				    tls_srv_fingerprint_print, ts));
	for (i = 0; i < 95; i++) {
		if (i % 3 == 2)
			TEST_EQUALS(':', fp[i]);
		else
			TEST_ASSERT(strchr("0123456789ABCDEF", fp[i]));
	}

	err = san_get(san, sizeof(san), ts);
	TEST_ERR(err);
	s = san;
	TEST_STRCMP("DNS:sipstub, IP Address:127.0.0.1, "
		    "IP Address:0:0:0:0:0:0:0:1", s);

 out:
	mem_deref(ts);

	return err;
}


static int check_certfile_missing(void)
{
	struct tls_srv *ts = NULL;
	int err = 0;

	TEST_EQUALS(EINVAL, tls_srv_alloc(&ts, "/nonexistent/cert.pem",
					  NULL, 0));
	TEST_ASSERT(ts == NULL);
	TEST_EQUALS(EINVAL, tls_srv_alloc(NULL, NULL, NULL, 0));
	TEST_ASSERT(tls_srv_ctx(NULL) == NULL);
	TEST_ASSERT(!tls_srv_self_signed(NULL));

 out:
	return err;
}


UNIT_WRAP(selfsigned)
UNIT_WRAP(certfile_missing)


int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(selfsigned),
		UNIT_TEST(certfile_missing),
	};

	return cmocka_run_group_tests(tests, unit_group_setup,
				      unit_group_teardown);
}
