/**
 * @file digest.c  Digest mechanics (RFC 7616, RFC 8760): hashes,
 *                 stateless nonces, nonce-counts, credential decoding
 *
 * A nonce is a timestamp (ms), a counter and an HMAC-SHA-256 over both
 * with a secret drawn at start, in lowercase hex: sipstub can tell its
 * own nonces and their age without keeping them. The highest nc per
 * nonce is kept, for the nonce's lifetime, in a table of NC_MAX entries.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <sipstub.h>
#include "digest.h"


enum {
	SECRET_LEN = 32,
	MAC_LEN = 16,         /* bytes of the HMAC in a nonce */
	NC_MAX = 4096,        /* nonces whose nc is kept      */
	NC_HASH = 1024,
};

struct ncent {
	struct le he;
	struct le le;         /* in nonces->ncl, oldest first */
	char nonce[DIGEST_NONCE_LEN];
	uint64_t ts;
	uint32_t nc;
};

struct nonces {
	uint8_t secret[SECRET_LEN];
	uint32_t counter;
	struct hash *nct;     /* struct ncent by nonce */
	struct list ncl;
	uint32_t ncn;
	uint64_t evicted_ts;  /* newest nonce time dropped from the table */
};


static void ncent_destructor(void *arg)
{
	struct ncent *e = arg;

	hash_unlink(&e->he);
	list_unlink(&e->le);
}


static void nonces_destructor(void *arg)
{
	struct nonces *n = arg;

	list_flush(&n->ncl);
	mem_deref(n->nct);
}


/**
 * Allocate a nonce source with a fresh secret
 *
 * @param np Nonce source, set on success
 *
 * @return 0 if success, otherwise errorcode
 */
int digest_nonces_alloc(struct nonces **np)
{
	struct nonces *n;
	int err;

	if (!np)
		return EINVAL;

	n = mem_zalloc(sizeof(*n), nonces_destructor);
	if (!n)
		return ENOMEM;

	rand_bytes(n->secret, sizeof(n->secret));

	err = hash_alloc(&n->nct, NC_HASH);
	if (err)
		mem_deref(n);
	else
		*np = n;

	return err;
}


static const EVP_MD *alg_md(enum digest_alg alg)
{
	return alg == ALG_MD5 ? EVP_md5() : EVP_sha256();
}


/* Lowercase hex of H(data) into hex[DIGEST_HEX_MAX + 1] */
static int hash_hex(char *hex, enum digest_alg alg, const uint8_t *data,
		    size_t len)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (!EVP_Digest(data, len, md, &mdlen, alg_md(alg), NULL))
		return ENOMEM;

	for (i = 0; i < mdlen; i++)
		(void)re_snprintf(hex + 2 * i, 3, "%02x", md[i]);

	hex[2 * mdlen] = '\0';

	return 0;
}


/* Lowercase hex of H(formatted text) */
static int hash_printf(char *hex, enum digest_alg alg, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = re_vsdprintf(&s, fmt, ap);
	va_end(ap);
	if (err)
		return err;

	err = hash_hex(hex, alg, (uint8_t *)s, strlen(s));
	mem_deref(s);

	return err;
}


/* --- nonces --- */

static void nonce_mac(const struct nonces *n, uint64_t ts, uint32_t ctr,
		      uint8_t *mac)
{
	uint8_t data[12], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int i;

	for (i = 0; i < 8; i++)
		data[i] = (uint8_t)(ts >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		data[8 + i] = (uint8_t)(ctr >> (24 - 8 * i));

	(void)HMAC(EVP_sha256(), n->secret, sizeof(n->secret), data,
		   sizeof(data), md, &mdlen);
	memcpy(mac, md, MAC_LEN);
}


void digest_nonce_make(struct nonces *n, char *nonce)
{
	uint64_t ts = tmr_jiffies();
	uint32_t ctr = ++n->counter;
	uint8_t mac[MAC_LEN];
	int i;

	nonce_mac(n, ts, ctr, mac);

	(void)re_snprintf(nonce, DIGEST_NONCE_LEN + 1, "%016llx%08x", ts, ctr);
	for (i = 0; i < MAC_LEN; i++)
		(void)re_snprintf(nonce + 24 + 2 * i, 3, "%02x", mac[i]);
}


/* Is this a nonce we made? Its time is set on success. */
bool digest_nonce_valid(const struct nonces *n, const struct pl *nonce,
			uint64_t *tsp)
{
	uint8_t mac[MAC_LEN], got[MAC_LEN];
	struct pl ts, ctr;
	size_t i;

	if (nonce->l != DIGEST_NONCE_LEN)
		return false;

	for (i = 0; i < DIGEST_NONCE_LEN; i++) {
		const char c = nonce->p[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}

	ts.p = nonce->p;
	ts.l = 16;
	ctr.p = nonce->p + 16;
	ctr.l = 8;

	for (i = 0; i < MAC_LEN; i++)
		got[i] = (uint8_t)(ch_hex(nonce->p[24 + 2 * i]) << 4 |
				   ch_hex(nonce->p[25 + 2 * i]));

	nonce_mac(n, pl_x64(&ts), pl_x32(&ctr), mac);
	if (CRYPTO_memcmp(mac, got, MAC_LEN))
		return false;

	*tsp = pl_x64(&ts);

	return true;
}


static bool ncent_cmp(struct le *le, void *arg)
{
	const struct ncent *e = le->data;

	return !memcmp(e->nonce, ((struct pl *)arg)->p, DIGEST_NONCE_LEN);
}


/* Drop the entries of nonces past their lifetime, and the oldest while
 * the table is full (nonces older than those count as replayed) */
static void nc_trim(struct nonces *n, uint64_t now, uint32_t ttl)
{
	struct le *le;

	while ((le = list_head(&n->ncl))) {
		struct ncent *e = le->data;

		if (e->ts + ttl > now && n->ncn < NC_MAX)
			break;

		if (e->ts + ttl > now)
			n->evicted_ts = MAX(n->evicted_ts, e->ts);

		mem_deref(e);
		--n->ncn;
	}
}


/* RFC 7616 3.4: a nonce-count not higher than the last one is a
 * replay. Returns true if nc is new for this nonce. */
bool digest_nc_accept(struct nonces *n, const struct pl *nonce,
		      uint64_t ts, uint32_t nc, uint32_t ttl)
{
	const uint64_t now = tmr_jiffies();
	struct ncent *e;

	nc_trim(n, now, ttl);

	e = list_ledata(hash_lookup(n->nct, hash_joaat(
				    (const uint8_t *)nonce->p, nonce->l),
				    ncent_cmp, (void *)nonce));
	if (e) {
		if (nc <= e->nc)
			return false;
		e->nc = nc;
		return true;
	}

	/* forgotten to keep the table bounded: cannot tell */
	if (ts <= n->evicted_ts)
		return false;

	e = mem_zalloc(sizeof(*e), ncent_destructor);
	if (!e)
		return false;

	memcpy(e->nonce, nonce->p, DIGEST_NONCE_LEN);
	e->ts = ts;
	e->nc = nc;
	hash_append(n->nct, hash_joaat((const uint8_t *)nonce->p, nonce->l),
		    &e->he, e);
	list_append(&n->ncl, &e->le, e);
	++n->ncn;

	return true;
}


static void cred_param(struct digest_cred *c, const struct pl *name,
		       const struct pl *val)
{
	static const struct {
		const char *name;
		size_t off;
	} tab[] = {
		{"username",  offsetof(struct digest_cred, username)},
		{"realm",     offsetof(struct digest_cred, realm)},
		{"nonce",     offsetof(struct digest_cred, nonce)},
		{"uri",       offsetof(struct digest_cred, uri)},
		{"response",  offsetof(struct digest_cred, response)},
		{"algorithm", offsetof(struct digest_cred, algorithm)},
		{"cnonce",    offsetof(struct digest_cred, cnonce)},
		{"nc",        offsetof(struct digest_cred, nc)},
		{"qop",       offsetof(struct digest_cred, qop)},
		{"opaque",    offsetof(struct digest_cred, opaque)},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tab); i++) {
		if (!pl_strcasecmp(name, tab[i].name)) {
			*(struct pl *)(void *)((char *)c + tab[i].off) = *val;
			return;
		}
	}
}


/* ENOTSUP: not Digest; EBADMSG: does not parse */
int digest_cred_decode(struct digest_cred *c, const struct pl *hval)
{
	struct pl r = *hval, sep, start, end, name, val;
	size_t i;

	memset(c, 0, sizeof(*c));

	if (re_regex(r.p, r.l, "[ \t\r\n]*[^ \t\r\n]+[ \t\r\n]+", NULL,
		     &start, &end) || pl_strcasecmp(&start, "Digest"))
		return ENOTSUP;

	/* each parameter begins with its separator: keep the blank */
	pl_advance(&r, end.p - r.p);

	while (!re_regex(r.p, r.l, "[ \t\r\n,]+[a-z\\-]+[ \t\r\n]*="
			 "[ \t\r\n]*[~ \t\r\n,]*", &sep, &name, NULL, NULL,
			 &val)) {
		/* skipped text, a quote left open, or text after a quoted
		 * string (no escaped quotes: no value of ours has one) */
		if (sep.p != r.p || pl_strchr(&val, '"'))
			return EBADMSG;

		cred_param(c, &name, &val);
		pl_advance(&r, val.p + val.l - r.p);
		if (r.l && r.p[0] == '"')
			pl_advance(&r, 1);
	}

	for (i = 0; i < r.l; i++) {
		if (!lws_is(r.p[i]) && r.p[i] != ',')
			return EBADMSG;
	}

	return 0;
}


/* RFC 7616 3.4.1: the expected response, lowercase hex */
int digest_response_calc(char *hex, enum digest_alg alg,
			 const struct digest_cred *c,
			 const char *pass, const struct sip_msg *msg)
{
	char ha1[DIGEST_HEX_MAX + 1], ha2[DIGEST_HEX_MAX + 1];
	char hb[DIGEST_HEX_MAX + 1];
	int err;

	err = hash_printf(ha1, alg, "%r:%r:%s", &c->username, &c->realm,
			  pass);
	if (err)
		return err;

	if (!pl_strcmp(&c->qop, "auth-int")) {
		err = hash_hex(hb, alg, mbuf_buf(msg->mb),
			       mbuf_get_left(msg->mb));
		err |= hash_printf(ha2, alg, "%r:%r:%s", &msg->met, &c->uri,
				   hb);
	}
	else {
		err = hash_printf(ha2, alg, "%r:%r", &msg->met, &c->uri);
	}
	if (err)
		return err;

	return hash_printf(hex, alg, "%s:%r:%r:%r:%r:%s", ha1, &c->nonce,
			   &c->nc, &c->cnonce, &c->qop, ha2);
}


bool digest_response_equal(const char *want, const struct pl *got)
{
	char low[DIGEST_HEX_MAX];
	size_t i, n = strlen(want);

	if (got->l != n)
		return false;

	for (i = 0; i < n; i++) {
		char ch = got->p[i];

		low[i] = (ch >= 'A' && ch <= 'F') ? ch - 'A' + 'a' : ch;
	}

	return !CRYPTO_memcmp(want, low, n);
}


