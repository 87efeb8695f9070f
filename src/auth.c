/**
 * @file auth.c  Digest authentication of requests (RFC 3261 22,
 *               RFC 7616, RFC 8760): challenges, verification, and
 *               challenges that break the rules on purpose
 *
 * A rule's `auth:` policy: realm, accounts, 401 or 407, algorithms and
 * qop offered, and on purpose broken challenges. The digest mechanics
 * (hashes, stateless nonces, nonce-counts) are in digest.c.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <stdlib.h>
#include <sipstub.h>
#include "digest.h"

#define DEBUG_MODULE "auth"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	TTL_DEFAULT = 300,    /* s a nonce is fresh */
	ALG_MAX = 2,
};

enum misbehave {
	MIS_NONE = 0,
	MIS_BAD_ALG,       /* challenge with an algorithm nobody knows */
	MIS_MALFORMED,     /* a challenge header that does not parse   */
	MIS_STALE,         /* every nonce is stale                     */
	MIS_FOREVER,       /* challenge every request, whatever it has */
	MIS_NO_CHALLENGE,  /* 401/407 without a challenge header       */
};

struct account {
	struct le le;
	char *user;        /* "*": any user */
	char *pass;
};

struct auth {
	char *realm;
	struct list accounts;
	bool proxy;
	enum digest_alg algs[ALG_MAX];
	size_t algc;
	bool qop_auth;
	bool qop_int;
	uint16_t fail;         /* 403, or 401: a fresh challenge */
	uint32_t ttl;          /* ms */
	enum misbehave mis;
	char opaque[17];
	struct nonces *nonces;
};

/* The outcome of a check: the code sent and the event's reason */
struct verdict {
	uint16_t scode;
	const char *reason;
	bool stale;
	bool ok;
	bool alg;          /* the algorithm is known */
};

static const char *alg_names[] = {"MD5", "SHA-256"};


static void account_destructor(void *arg)
{
	struct account *acc = arg;

	list_unlink(&acc->le);
	mem_deref(acc->user);
	mem_deref(acc->pass);
}


static void auth_destructor(void *arg)
{
	struct auth *a = arg;

	mem_deref(a->nonces);
	list_flush(&a->accounts);
	mem_deref(a->realm);
}


/* --- configuration --- */

/**
 * Allocate an authentication policy with the defaults (SHA-256 then
 * MD5, qop auth, 403 for wrong credentials, 401/WWW-Authenticate)
 *
 * @param ap Policy, set on success
 *
 * @return 0 if success, otherwise errorcode
 */
int auth_alloc(struct auth **ap)
{
	struct auth *a;
	int err;

	if (!ap)
		return EINVAL;

	a = mem_zalloc(sizeof(*a), auth_destructor);
	if (!a)
		return ENOMEM;

	a->fail = 403;
	a->ttl  = TTL_DEFAULT * 1000;
	(void)re_snprintf(a->opaque, sizeof(a->opaque), "%016llx",
			  rand_u64());

	err = digest_nonces_alloc(&a->nonces);
	if (err)
		mem_deref(a);
	else
		*ap = a;

	return err;
}


static int alg_add(struct auth *a, const char *val, const char **errp)
{
	enum digest_alg alg;
	size_t i;

	if (!str_casecmp(val, "MD5"))
		alg = ALG_MD5;
	else if (!str_casecmp(val, "SHA-256"))
		alg = ALG_SHA256;
	else {
		*errp = "algorithms are MD5 and SHA-256";
		return EINVAL;
	}

	for (i = 0; i < a->algc; i++) {
		if (a->algs[i] == alg) {
			*errp = "algorithm given twice";
			return EINVAL;
		}
	}

	a->algs[a->algc++] = alg;

	return 0;
}


static int misbehave_set(struct auth *a, const char *val, const char **errp)
{
	static const char *names[] = {
		"none", "unknown-algorithm", "malformed", "always-stale",
		"forever", "no-challenge",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(val, names[i])) {
			a->mis = (enum misbehave)i;
			return 0;
		}
	}

	*errp = "misbehave is one of none, unknown-algorithm, malformed, "
		"always-stale, forever, no-challenge";

	return EINVAL;
}


static int account_add(struct auth *a, const char *user, const char *pass)
{
	struct account *acc;
	int err;

	acc = mem_zalloc(sizeof(*acc), account_destructor);
	if (!acc)
		return ENOMEM;

	err  = str_dup(&acc->user, user);
	err |= str_dup(&acc->pass, pass);
	if (err) {
		mem_deref(acc);
		return err;
	}

	list_append(&a->accounts, &acc->le, acc);

	return 0;
}


/**
 * Set one key of an `auth:` mapping (the scenario loader's cfg_set_h)
 *
 * @param arg  Policy
 * @param key  Key
 * @param sub  Key inside a nested mapping (accounts: user), or NULL
 * @param val  Value (each item of a list in turn)
 * @param errp Error text, set on error
 *
 * @return 0 if success, otherwise errorcode
 */
int auth_set(void *arg, const char *key, const char *sub, const char *val,
	     const char **errp)
{
	struct auth *a = arg;

	if (!a || !key || !val || !errp)
		return EINVAL;

	if (!strcmp(key, "accounts") && sub)
		return account_add(a, sub, val);

	if (sub) {
		*errp = "only 'accounts' is a mapping (user: password)";
		return EINVAL;
	}

	if (!strcmp(key, "realm")) {
		if (!*val || strchr(val, '"') || strchr(val, '\\')) {
			*errp = "realm must be text without quotes";
			return EINVAL;
		}
		mem_deref(a->realm);
		return str_dup(&a->realm, val);
	}

	if (!strcmp(key, "type")) {
		if (strcmp(val, "www") && strcmp(val, "proxy")) {
			*errp = "type is www (401) or proxy (407)";
			return EINVAL;
		}
		a->proxy = !strcmp(val, "proxy");
		return 0;
	}

	if (!strcmp(key, "algorithms")) {
		if (a->algc >= ALG_MAX) {
			*errp = "at most MD5 and SHA-256";
			return EINVAL;
		}
		return alg_add(a, val, errp);
	}

	if (!strcmp(key, "qop")) {
		if (!strcmp(val, "auth"))
			a->qop_auth = true;
		else if (!strcmp(val, "auth-int"))
			a->qop_int = true;
		else {
			*errp = "qop is auth or auth-int";
			return EINVAL;
		}
		return 0;
	}

	if (!strcmp(key, "failure")) {
		if (strcmp(val, "403") && strcmp(val, "401")) {
			*errp = "failure is 403 or 401";
			return EINVAL;
		}
		a->fail = val[2] == '3' ? 403 : 401;
		return 0;
	}

	if (!strcmp(key, "nonce-ttl")) {
		char *end;
		unsigned long v = strtoul(val, &end, 10);

		if (*val < '0' || *val > '9' || *end || v < 1 || v > 86400) {
			*errp = "nonce-ttl is 1..86400 seconds";
			return EINVAL;
		}
		a->ttl = (uint32_t)v * 1000;
		return 0;
	}

	if (!strcmp(key, "misbehave"))
		return misbehave_set(a, val, errp);

	*errp = "unknown auth key (expected realm, accounts, type, "
		"algorithms, qop, failure, nonce-ttl, misbehave)";

	return EINVAL;
}


/**
 * Fill in the defaults and check a policy after its keys
 *
 * @param a Policy
 *
 * @return NULL if it is complete, otherwise what is missing
 */
const char *auth_complete(struct auth *a)
{
	if (!a)
		return "no auth";

	if (!a->realm)
		return "auth needs a realm";

	if (list_isempty(&a->accounts) && a->mis == MIS_NONE)
		return "auth needs accounts (user: password; '*' any user)";

	/* RFC 8760 2.4: SHA-256 first by default */
	if (!a->algc) {
		a->algs[0] = ALG_SHA256;
		a->algs[1] = ALG_MD5;
		a->algc = 2;
	}

	if (!a->qop_auth && !a->qop_int)
		a->qop_auth = true;

	return NULL;
}


/* --- hashes --- */

/* --- credentials --- */

struct find {
	const struct auth *a;
	const struct sip_hdr *ours;
	bool other;        /* Digest credentials for another realm */
	bool bad;          /* a header that does not parse */
};


static bool find_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		   void *arg)
{
	struct find *f = arg;
	struct digest_cred c;
	int err;
	(void)msg;

	err = digest_cred_decode(&c, &hdr->val);
	if (err == ENOTSUP)
		return false;

	if (err || !pl_isset(&c.realm)) {
		f->bad = true;
		return false;
	}

	if (pl_strcmp(&c.realm, f->a->realm)) {
		f->other = true;
		return false;
	}

	f->ours = hdr;

	return true;
}


static const struct account *account_find(const struct auth *a,
					  const struct pl *user)
{
	struct le *le;

	LIST_FOREACH(&a->accounts, le) {
		const struct account *acc = le->data;

		if (!pl_strcmp(user, acc->user) || !strcmp(acc->user, "*"))
			return acc;
	}

	return NULL;
}



/**
 * The password of an account, for sipstub's own requests (call-back)
 *
 * @return The password, or NULL if no account (nor "*") matches
 */
const char *auth_password(const struct auth *a, const struct pl *user)
{
	const struct account *acc = a ? account_find(a, user) : NULL;

	return acc ? acc->pass : NULL;
}

static bool alg_offered(const struct auth *a, const struct pl *name,
			enum digest_alg *algp)
{
	size_t i;

	for (i = 0; i < a->algc; i++) {
		/* RFC 7616 3.4: no algorithm means MD5 */
		if ((!pl_isset(name) && a->algs[i] == ALG_MD5) ||
		    !pl_strcasecmp(name, alg_names[a->algs[i]])) {
			*algp = a->algs[i];
			return true;
		}
	}

	return false;
}


static bool qop_offered(const struct auth *a, const struct pl *qop)
{
	return (a->qop_auth && !pl_strcmp(qop, "auth")) ||
		(a->qop_int && !pl_strcmp(qop, "auth-int"));
}


/* 403, or a fresh challenge of the policy's type */
static uint16_t fail_code(const struct auth *a)
{
	return a->fail == 403 ? 403 : a->proxy ? 407 : 401;
}


static void verdict_set(struct verdict *v, uint16_t scode,
			const char *reason, bool stale)
{
	v->scode  = scode;
	v->reason = reason;
	v->stale  = stale;
	v->ok     = false;
}


/* The fields of credentials for our realm, in RFC 7616 3.4 order */
static void cred_check(struct auth *a, const struct sip_msg *msg,
		       const struct digest_cred *c, enum digest_alg *algp,
		       struct verdict *v)
{
	const struct account *acc;
	char want[DIGEST_HEX_MAX + 1];
	uint64_t ts;

	if (!pl_isset(&c->username) || !pl_isset(&c->nonce) ||
	    !pl_isset(&c->uri) || !pl_isset(&c->response) ||
	    !pl_isset(&c->qop) || !pl_isset(&c->nc) ||
	    !pl_isset(&c->cnonce) || c->nc.l != 8) {
		verdict_set(v, 400, "missing fields", false);
		return;
	}

	if (!alg_offered(a, &c->algorithm, algp)) {
		verdict_set(v, 400, "bad algorithm", false);
		return;
	}

	v->alg = true;

	if (!qop_offered(a, &c->qop)) {
		verdict_set(v, 400, "bad qop", false);
		return;
	}

	if (pl_isset(&c->opaque) && pl_strcmp(&c->opaque, a->opaque)) {
		verdict_set(v, 400, "bad opaque", false);
		return;
	}

	/* RFC 2617 3.2.2.5: the uri names the Request-URI */
	if (pl_cmp(&c->uri, &msg->ruri)) {
		verdict_set(v, 400, "bad uri", false);
		return;
	}

	if (!digest_nonce_valid(a->nonces, &c->nonce, &ts)) {
		verdict_set(v, a->proxy ? 407 : 401, "bad nonce", false);
		return;
	}

	acc = account_find(a, &c->username);
	if (!acc) {
		verdict_set(v, fail_code(a), "unknown user", false);
		return;
	}

	if (digest_response_calc(want, *algp, c, acc->pass, msg) ||
	    !digest_response_equal(want, &c->response)) {
		verdict_set(v, fail_code(a), "wrong password", false);
		return;
	}

	/* RFC 7616 3.3: stale only for a response valid but for its age */
	if (ts + a->ttl <= tmr_jiffies() || a->mis == MIS_STALE) {
		verdict_set(v, a->proxy ? 407 : 401, "stale nonce", true);
		return;
	}

	if (!digest_nc_accept(a->nonces, &c->nonce, ts, pl_x32(&c->nc),
			      a->ttl)) {
		verdict_set(v, a->proxy ? 407 : 401, "nc replay", true);
		return;
	}

	v->scode  = 0;
	v->reason = "ok";
	v->ok     = true;
}


/* --- challenges --- */

static int challenge_make(struct auth *a, char **valp, enum digest_alg alg,
			  const char *nonce, bool stale)
{
	const char *qop = a->qop_auth && a->qop_int ? "auth,auth-int" :
		a->qop_int ? "auth-int" : "auth";

	switch (a->mis) {

	case MIS_BAD_ALG:
		return re_sdprintf(valp, "Digest realm=\"%s\", nonce=\"%s\", "
				   "opaque=\"%s\", algorithm=X-UNKNOWN-1, "
				   "qop=\"%s\"", a->realm, nonce, a->opaque,
				   qop);

	case MIS_MALFORMED:
		return re_sdprintf(valp, "Digest realm=\"%s, nonce=%s, "
				   "algorithm=, qop=\"", a->realm, nonce);

	default:
		return re_sdprintf(valp, "Digest realm=\"%s\", nonce=\"%s\", "
				   "opaque=\"%s\", algorithm=%s, qop=\"%s\""
				   "%s", a->realm, nonce, a->opaque,
				   alg_names[alg], qop,
				   stale ? ", stale=true" : "");
	}
}


/* 401/407 with one challenge per algorithm (RFC 8760 2.4), or 400/403
 * without any */
static int reply_verdict(struct auth *a, struct uas *uas,
			 const struct sip_msg *msg, const struct verdict *v)
{
	struct hdrval hv[ALG_MAX];
	char *vals[ALG_MAX] = {NULL, NULL};
	struct strans *st = NULL;
	char nonce[DIGEST_NONCE_LEN + 1];
	struct list hdrs = LIST_INIT;
	struct reply r;
	struct sa laddr;
	size_t i, n = 0;
	int err = 0;

	memset(hv, 0, sizeof(hv));

	if (v->scode == 401 || v->scode == 407) {
		const char *name = v->scode == 407 ? "Proxy-Authenticate" :
			"WWW-Authenticate";

		digest_nonce_make(a->nonces, nonce);
		n = (a->mis == MIS_BAD_ALG || a->mis == MIS_MALFORMED) ?
			1 : a->algc;

		for (i = 0; i < n && !err; i++) {
			if (a->mis == MIS_NO_CHALLENGE)
				err = str_dup(&vals[i], "");
			else
				err = challenge_make(a, &vals[i], a->algs[i],
						     nonce, v->stale);
			hv[i].name  = (char *)name;
			hv[i].value = vals[i];
			list_append(&hdrs, &hv[i].le, &hv[i]);
		}
	}

	if (err)
		goto out;

	memset(&r, 0, sizeof(r));
	uas_local_addr(&laddr, msg);
	r.msg   = msg;
	r.laddr = &laddr;

	/* RFC 3261 17.2.1: an INVITE gets 100 Trying, as from xact.c */
	if (!pl_strcmp(&msg->met, "INVITE")) {
		r.scode = 100;
		err = reply_send(&st, uas_stranss(uas), &r, NULL);
		if (err)
			goto out;
	}

	r.scode = v->scode;
	r.hdrs  = &hdrs;
	r.totag = pl_isset(&msg->to.tag) ? 0 : msg->tag | (1ULL << 63);

	err = reply_send(&st, uas_stranss(uas), &r, NULL);

 out:
	mem_deref(st);
	for (i = 0; i < ALG_MAX; i++)
		mem_deref(vals[i]);

	return err;
}


static int code_print(struct re_printf *pf, const struct verdict *v)
{
	return v->ok ? 0 : re_hprintf(pf, "%u", v->scode);
}


static int user_print(struct re_printf *pf, const struct digest_cred *c)
{
	if (!c || !pl_isset(&c->username))
		return 0;

	return re_hprintf(pf, ",\"user\":%H", json_str_print,
			  &c->username);
}


/**
 * Check a request's credentials before a rule's steps answer it
 *
 * @param a   Policy of the rule
 * @param uas UAS (to reply and log)
 * @param msg The request
 *
 * @return true if the request goes on to the steps, false if it has
 *         been answered (challenge, 400 or 403)
 */
bool auth_verify(struct auth *a, struct uas *uas, const struct sip_msg *msg)
{
	struct find f;
	struct verdict v;
	struct digest_cred c;
	enum digest_alg alg = ALG_MD5;
	int err;

	if (!a || !uas || !msg)
		return true;

	/* RFC 3261 22.1: ACK and CANCEL cannot be challenged */
	if (!pl_strcmp(&msg->met, "ACK") || !pl_strcmp(&msg->met, "CANCEL"))
		return true;

	memset(&f, 0, sizeof(f));
	memset(&c, 0, sizeof(c));
	memset(&v, 0, sizeof(v));
	f.a = a;
	(void)sip_msg_hdr_apply(msg, true, a->proxy ?
				SIP_HDR_PROXY_AUTHORIZATION :
				SIP_HDR_AUTHORIZATION, find_h, &f);

	if (a->mis == MIS_FOREVER)
		verdict_set(&v, a->proxy ? 407 : 401, "challenge forever",
			    false);
	else if (f.ours) {
		(void)digest_cred_decode(&c, &f.ours->val);
		cred_check(a, msg, &c, &alg, &v);
	}
	else if (f.bad)
		verdict_set(&v, 400, "malformed credentials", false);
	else if (f.other)
		verdict_set(&v, 403, "wrong realm", false);
	else
		verdict_set(&v, a->proxy ? 407 : 401, "no credentials",
			    false);

	evlog_event(uas_evlog(uas), "auth", msg, ",\"reason\":\"%s\"%s%H"
		    ",\"realm\":\"%s\"%H%s%s%s", v.reason,
		    v.ok ? "" : ",\"code\":", code_print, &v, a->realm,
		    user_print, &c, v.alg ? ",\"algorithm\":\"" : "",
		    v.alg ? alg_names[alg] : "", v.alg ? "\"" : "");

	if (v.ok)
		return true;

	err = reply_verdict(a, uas, msg, &v);
	if (err)
		DEBUG_WARNING("%u to %r: %m\n", v.scode, &msg->met, err);

	return false;
}
