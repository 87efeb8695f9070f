/**
 * @file tls.c  The TLS context of the tls: listeners
 *
 * A certificate from --tls-cert (PEM, certificate and key), or a
 * self-signed one made at start (EC P-256, CN sipstub, the listen
 * addresses as SANs, valid 30 days), its SHA-256 fingerprint, and an
 * OpenSSL info callback that writes a "tls" event for each handshake
 * that ends, fails or is cut short.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#define USE_OPENSSL 1        /* tls_openssl_context() in re_tls.h */
#include <sipstub.h>

#define DEBUG_MODULE "tls"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	CERT_DAYS = 30,
	FP_LEN = 32,
};

struct tls_srv {
	struct tls *tls;           /* libre's, holds the SSL_CTX */
	struct evlog *el;
	uint8_t fp[FP_LEN];        /* SHA-256 of the certificate (DER) */
	int exidx;                 /* SSL ex_data index of a struct hs */
	bool self_signed;
};

/* One server handshake, hung on its SSL object */
struct hs {
	struct evlog *el;
	struct sa src, dst;
	bool logged;               /* its event is written */
};

/*
 * libre 1.1.0 hides the TCP connection behind its TLS connection,
 * whose leading members are these (src/tls/openssl/tls_tcp.c). Each
 * pointer is checked against OpenSSL's before the connection is read.
 */
struct shadow_conn {
	SSL *ssl;
	BIO_METHOD *biomet;
	BIO *sbio_out;
	BIO *sbio_in;
	struct tcp_helper *th;
	struct tcp_conn *tcp;
};


static void tls_srv_destructor(void *arg)
{
	struct tls_srv *ts = arg;

	mem_deref(ts->tls);
	mem_deref(ts->el);
}


static void hs_destructor(void *arg)
{
	struct hs *hs = arg;

	mem_deref(hs->el);
}


static void hs_event(struct hs *hs, const char *result, const SSL *ssl,
		     const char *reason)
{
	struct pl r;

	hs->logged = true;

	if (ssl) {
		evlog_event(hs->el, "tls", NULL, ",\"src\":\"%J\",\"dst\":"
			    "\"%J\",\"result\":\"%s\",\"version\":\"%s\","
			    "\"cipher\":\"%s\"", &hs->src, &hs->dst, result,
			    SSL_get_version(ssl), SSL_get_cipher_name(ssl));
		return;
	}

	pl_set_str(&r, reason);
	DEBUG_NOTICE("handshake with %J %s: %s\n", &hs->src, result, reason);
	evlog_event(hs->el, "tls", NULL, ",\"src\":\"%J\",\"dst\":\"%J\","
		    "\"result\":\"%s\",\"reason\":%H", &hs->src, &hs->dst,
		    result, json_str_print, &r);
}


/* The addresses of the TCP connection under a server SSL object */
static void hs_addrs(struct hs *hs, SSL *ssl)
{
	BIO *wbio = SSL_get_wbio(ssl);
	const struct shadow_conn *c;

	if (!wbio || strcmp(BIO_method_name(wbio), "tcp_send"))
		return;

	c = BIO_get_data(wbio);

	if (!c || c->ssl != ssl || c->sbio_out != wbio ||
	    c->sbio_in != SSL_get_rbio(ssl) || !c->tcp)
		return;

	(void)tcp_conn_peer_get(c->tcp, &hs->src);
	(void)tcp_conn_local_get(c->tcp, &hs->dst);
}


static void hs_start(struct tls_srv *ts, SSL *ssl)
{
	struct hs *hs;

	/* TLS 1.3 starts again for each session ticket */
	if (SSL_get_ex_data(ssl, ts->exidx))
		return;

	hs = mem_zalloc(sizeof(*hs), hs_destructor);
	if (!hs)
		return;

	hs->el = mem_ref(ts->el);
	hs_addrs(hs, ssl);

	if (!SSL_set_ex_data(ssl, ts->exidx, hs))
		mem_deref(hs);
}


static void info_handler(const SSL *cssl, int where, int ret)
{
	SSL *ssl = (SSL *)cssl;
	struct tls_srv *ts;
	struct hs *hs;
	unsigned long e;

	if (!SSL_is_server(ssl))
		return;

	ts = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (!ts)
		return;

	if (where & SSL_CB_HANDSHAKE_START) {
		hs_start(ts, ssl);
		return;
	}

	hs = SSL_get_ex_data(ssl, ts->exidx);
	if (!hs || hs->logged)
		return;

	if (where & SSL_CB_HANDSHAKE_DONE) {
		hs_event(hs, "ok", ssl, NULL);
		return;
	}

	/* a failed accept leaves its reason queued; waiting for more
	 * bytes (ret -1 too) leaves none */
	if ((where & SSL_CB_EXIT) && ret <= 0) {
		e = ERR_peek_last_error();
		if (e) {
			const char *r = ERR_reason_error_string(e);

			hs_event(hs, "failed", NULL, r ? r : "error");
		}
	}
}


/* The SSL object is freed: a handshake neither done nor failed was cut
 * short (the client closed, or libre's 32 s accept timer) */
static void hs_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
		    long argl, void *argp)
{
	struct hs *hs = ptr;
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;

	if (!hs)
		return;

	if (!hs->logged)
		hs_event(hs, "closed", NULL, "connection closed during "
			 "handshake");

	mem_deref(hs);
}


struct sanbuf {
	struct mbuf *mb;
	int af;
};


static bool san_ifaddr(const char *ifname, const struct sa *sa, void *arg)
{
	struct sanbuf *sb = arg;
	(void)ifname;

	if (sa_af(sa) == sb->af && !sa_is_linklocal(sa))
		(void)mbuf_printf(sb->mb, ",IP:%j", sa);

	return false;
}


/* "DNS:sipstub,IP:a,IP:b": the any-address stands for every address
 * of its family */
static int san_make(char **sanp, const struct sa *addrv, size_t addrc)
{
	struct sanbuf sb;
	size_t i;
	int err;

	sb.mb = mbuf_alloc(128);
	if (!sb.mb)
		return ENOMEM;

	err = mbuf_write_str(sb.mb, "DNS:sipstub");
	for (i = 0; i < addrc && !err; i++) {
		if (sa_is_any(&addrv[i])) {
			sb.af = sa_af(&addrv[i]);
			(void)net_if_apply(san_ifaddr, &sb);
		}
		else {
			err = mbuf_printf(sb.mb, ",IP:%j", &addrv[i]);
		}
	}

	if (!err) {
		sb.mb->pos = 0;
		err = mbuf_strdup(sb.mb, sanp, sb.mb->end);
	}

	mem_deref(sb.mb);

	return err;
}


/* A key with a passphrase is refused, not asked for on the terminal */
static int nopass_handler(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;

	return 0;
}


static int certfile_load(SSL_CTX *ctx, const char *path)
{
	SSL_CTX_set_default_passwd_cb(ctx, nopass_handler);

	if (SSL_CTX_use_certificate_chain_file(ctx, path) <= 0 ||
	    SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) <= 0)
		return EINVAL;

	return 0;
}


static int ext_add(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return EINVAL;

	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);

	return ok ? 0 : ENOMEM;
}


static int cert_fill(X509 *x, EVP_PKEY *key, const char *san)
{
	X509_NAME *name = X509_get_subject_name(x);
	int err;

	if (!X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x),
				     rand_u64() >> 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), CERT_DAYS * 86400L) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"sipstub",
					-1, -1, 0) ||
	    !X509_set_issuer_name(x, name) ||
	    !X509_set_pubkey(x, key))
		return ENOMEM;

	err  = ext_add(x, NID_basic_constraints, "critical,CA:FALSE");
	err |= ext_add(x, NID_ext_key_usage, "serverAuth,clientAuth");
	err |= ext_add(x, NID_subject_alt_name, san);
	if (err)
		return EINVAL;

	return X509_sign(x, key, EVP_sha256()) > 0 ? 0 : EPROTO;
}


/* A self-signed certificate for the listen addresses */
static int selfsigned_set(SSL_CTX *ctx, const struct sa *addrv,
			  size_t addrc)
{
	EVP_PKEY *key;
	X509 *x = NULL;
	char *san = NULL;
	int err;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!key)
		return ENOMEM;

	x = X509_new();
	if (!x) {
		err = ENOMEM;
		goto out;
	}

	err = san_make(&san, addrv, addrc);
	if (err)
		goto out;

	err = cert_fill(x, key, san);
	if (err)
		goto out;

	if (SSL_CTX_use_certificate(ctx, x) <= 0 ||
	    SSL_CTX_use_PrivateKey(ctx, key) <= 0)
		err = EINVAL;

 out:
	ERR_clear_error();
	mem_deref(san);
	X509_free(x);
	EVP_PKEY_free(key);

	return err;
}


/**
 * Allocate the TLS context of the tls: listeners
 *
 * @param tsp      TLS context, set on success
 * @param certfile PEM file with certificate (chain) and private key,
 *                 or NULL for a self-signed certificate
 * @param addrv    Listen addresses, for the self-signed certificate's
 *                 subjectAltName
 * @param addrc    Number of addresses
 *
 * @return 0 if success, otherwise errorcode
 */
int tls_srv_alloc(struct tls_srv **tsp, const char *certfile,
		  const struct sa *addrv, size_t addrc)
{
	struct tls_srv *ts;
	unsigned int len = FP_LEN;
	SSL_CTX *ctx;
	X509 *x;
	int err;

	if (!tsp)
		return EINVAL;

	ts = mem_zalloc(sizeof(*ts), tls_srv_destructor);
	if (!ts)
		return ENOMEM;

	err = tls_alloc(&ts->tls, TLS_METHOD_SSLV23, NULL, NULL);
	if (err)
		goto out;

	ctx = tls_openssl_context(ts->tls);

	/* RFC 8996: not below TLS 1.2 */
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		err = EPROTO;
		goto out;
	}

	if (certfile) {
		err = certfile_load(ctx, certfile);
	}
	else {
		err = selfsigned_set(ctx, addrv, addrc);
		ts->self_signed = true;
	}
	if (err)
		goto out;

	x = SSL_CTX_get0_certificate(ctx);
	if (!x || SSL_CTX_check_private_key(ctx) <= 0 ||
	    !X509_digest(x, EVP_sha256(), ts->fp, &len) || len != FP_LEN) {
		err = EINVAL;
		goto out;
	}

	ts->exidx = SSL_get_ex_new_index(0, NULL, NULL, NULL, hs_free);
	if (ts->exidx < 0) {
		err = ENOMEM;
		goto out;
	}

	SSL_CTX_set_app_data(ctx, ts);
	SSL_CTX_set_info_callback(ctx, info_handler);

 out:
	ERR_clear_error();

	if (err)
		mem_deref(ts);
	else
		*tsp = ts;

	return err;
}


/**
 * libre's TLS context, for sip_transp_add()
 *
 * @param ts TLS context
 *
 * @return libre's TLS context
 */
struct tls *tls_srv_ctx(const struct tls_srv *ts)
{
	return ts ? ts->tls : NULL;
}


/**
 * Set the event log that handshakes are written to
 *
 * @param ts TLS context
 * @param el Event log (referenced), or NULL
 */
void tls_srv_set_evlog(struct tls_srv *ts, struct evlog *el)
{
	if (!ts)
		return;

	mem_deref(ts->el);
	ts->el = mem_ref(el);
}


bool tls_srv_self_signed(const struct tls_srv *ts)
{
	return ts ? ts->self_signed : false;
}


/**
 * Print the certificate's SHA-256 fingerprint, AB:CD:... (RFC 8122)
 *
 * @param pf Print function
 * @param ts TLS context
 *
 * @return 0 if success, otherwise errorcode
 */
int tls_srv_fingerprint_print(struct re_printf *pf,
			      const struct tls_srv *ts)
{
	size_t i;
	int err = 0;

	if (!ts)
		return 0;

	for (i = 0; i < FP_LEN && !err; i++)
		err = re_hprintf(pf, "%s%02X", i ? ":" : "", ts->fp[i]);

	return err;
}
