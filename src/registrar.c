/**
 * @file registrar.c  Registrar (RFC 3261 10.3): bindings per address of
 *                    record, with RFC 5626 instances and RFC 3327 Path
 *
 * A rule with `registrar:` answers REGISTER itself: bindings are added,
 * refreshed and removed all or nothing, expire on a timer queue, and the
 * 200 lists every current binding. The bindings are shared by all the
 * registrar rules of a scenario; registrar_lookup() reads them.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <stdlib.h>
#include <sipstub.h>

#define DEBUG_MODULE "registrar"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	AOR_HASH = 1024,
	MAX_BINDINGS = 100000,   /* all AoRs together */
	MAX_CONTACTS = 32,       /* in one REGISTER */
};

struct registrar {
	struct hash *aors;       /* struct aor by canonical AoR */
	struct evlog *el;        /* set at the first REGISTER */
	uint32_t count;          /* bindings */
};

struct regcfg {
	struct registrar *reg;
	uint32_t min;            /* s, below: 423 */
	uint32_t max;            /* s, above: lowered to this */
	uint32_t dflt;           /* s, with no expires given */
};

struct aor {
	struct le he;
	struct registrar *reg;
	char *name;
	struct list bindings;
};

struct binding {
	struct le le;            /* in aor->bindings */
	struct tqent tmr;        /* expiry; tmr.jfs is when */
	struct aor *aor;
	char *uri;
	char *q;                 /* the contact's q, or NULL */
	char *instance;          /* +sip.instance, or NULL */
	uint32_t regid;          /* reg-id (RFC 5626), 0: none */
	char *path;              /* Path values (RFC 3327), or NULL */
	char *callid;
	uint32_t cseq;
};

/* One Contact of a REGISTER, decoded */
struct rcontact {
	struct sip_addr addr;
	uint32_t expires;
	struct pl instance, regid, q;
	struct binding *b;       /* the binding it matches, if any */
};

/* A REGISTER, decoded and checked before anything changes */
struct rreq {
	const struct regcfg *cfg;
	const struct sip_msg *msg;
	struct aor *aor;
	char *aorname;
	struct rcontact c[MAX_CONTACTS];
	uint32_t n;
	bool star;
	bool outbound;
	uint16_t scode;          /* != 0: rejected with this */
	const char *reason;
};

/* A response header made here (struct reply takes struct hdrval) */
struct rhdr {
	struct hdrval hv;
	char *val;
};


static void registrar_destructor(void *arg)
{
	struct registrar *reg = arg;

	hash_flush(reg->aors);
	mem_deref(reg->aors);
	mem_deref(reg->el);
}


static void aor_destructor(void *arg)
{
	struct aor *aor = arg;

	hash_unlink(&aor->he);
	list_flush(&aor->bindings);
	mem_deref(aor->name);
}


static void binding_destructor(void *arg)
{
	struct binding *b = arg;

	tq_cancel(&b->tmr);
	list_unlink(&b->le);
	if (b->aor)
		--b->aor->reg->count;
	mem_deref(b->uri);
	mem_deref(b->q);
	mem_deref(b->instance);
	mem_deref(b->path);
	mem_deref(b->callid);
}


static void regcfg_destructor(void *arg)
{
	struct regcfg *cfg = arg;

	mem_deref(cfg->reg);
}


static void rhdr_destructor(void *arg)
{
	struct rhdr *h = arg;

	list_unlink(&h->hv.le);
	mem_deref(h->val);
}


/**
 * Allocate an empty binding store
 *
 * @param regp Store, set on success
 *
 * @return 0 if success, otherwise errorcode
 */
int registrar_alloc(struct registrar **regp)
{
	struct registrar *reg;
	int err;

	if (!regp)
		return EINVAL;

	reg = mem_zalloc(sizeof(*reg), registrar_destructor);
	if (!reg)
		return ENOMEM;

	err = hash_alloc(&reg->aors, AOR_HASH);
	if (err)
		mem_deref(reg);
	else
		*regp = reg;

	return err;
}


/**
 * Allocate the registrar settings of one rule (RFC 3261 10.3 defaults:
 * min 60, max 86400... here max 3600, default 3600)
 *
 * @param cfgp Settings, set on success
 * @param reg  The scenario's binding store (referenced)
 *
 * @return 0 if success, otherwise errorcode
 */
int regcfg_alloc(struct regcfg **cfgp, struct registrar *reg)
{
	struct regcfg *cfg;

	if (!cfgp || !reg)
		return EINVAL;

	cfg = mem_zalloc(sizeof(*cfg), regcfg_destructor);
	if (!cfg)
		return ENOMEM;

	cfg->reg  = mem_ref(reg);
	cfg->min  = 60;
	cfg->max  = 3600;
	cfg->dflt = 3600;
	*cfgp = cfg;

	return 0;
}


/**
 * Set one key of a `registrar:` mapping (the scenario loader's
 * cfg_set_h): min-expires, max-expires, default-expires (seconds)
 */
int regcfg_set(void *arg, const char *key, const char *sub, const char *val,
	       const char **errp)
{
	struct regcfg *cfg = arg;
	uint32_t *vp;
	char *end;
	unsigned long v;

	if (!cfg || !key || !val || !errp)
		return EINVAL;

	if (!strcmp(key, "min-expires"))
		vp = &cfg->min;
	else if (!strcmp(key, "max-expires"))
		vp = &cfg->max;
	else if (!strcmp(key, "default-expires"))
		vp = &cfg->dflt;
	else {
		*errp = "unknown registrar key (expected min-expires, "
			"max-expires, default-expires)";
		return EINVAL;
	}

	v = strtoul(val, &end, 10);
	if (sub || *val < '0' || *val > '9' || *end || v < 1 || v > 86400) {
		*errp = "expected seconds, 1..86400";
		return EINVAL;
	}

	*vp = (uint32_t)v;

	return 0;
}


/**
 * Check the settings of a rule after its keys
 *
 * @return NULL if consistent, otherwise what is wrong
 */
const char *regcfg_complete(struct regcfg *cfg)
{
	if (!cfg)
		return "no registrar";

	if (cfg->min > cfg->max)
		return "min-expires is above max-expires";

	if (cfg->dflt < cfg->min || cfg->dflt > cfg->max)
		return "default-expires is outside min-expires..max-expires";

	return NULL;
}


/* --- addresses of record --- */

/* RFC 3261 10.3 step 5: the AoR without parameters, "sip:user@host" */
static int aor_name(char **namep, const struct uri *uri)
{
	return re_sdprintf(namep, "%r:%r%s%r", &uri->scheme, &uri->user,
			   pl_isset(&uri->user) ? "@" : "", &uri->host);
}


static bool aor_cmp(struct le *le, void *arg)
{
	const struct aor *aor = le->data;

	return !str_casecmp(aor->name, arg);
}


static struct aor *aor_find(const struct registrar *reg, const char *name)
{
	return list_ledata(hash_lookup(reg->aors, hash_joaat_str_ci(name),
				       aor_cmp, (void *)name));
}


static int aor_get(struct aor **aorp, struct registrar *reg,
		   const char *name)
{
	struct aor *aor = aor_find(reg, name);
	int err;

	if (aor) {
		*aorp = aor;
		return 0;
	}

	aor = mem_zalloc(sizeof(*aor), aor_destructor);
	if (!aor)
		return ENOMEM;

	err = str_dup(&aor->name, name);
	if (err) {
		mem_deref(aor);
		return err;
	}

	aor->reg = reg;
	hash_append(reg->aors, hash_joaat_str_ci(name), &aor->he, aor);
	*aorp = aor;

	return 0;
}


static uint32_t binding_left(const struct binding *b)
{
	const uint64_t now = tmr_jiffies();

	return b->tmr.jfs > now ? (uint32_t)((b->tmr.jfs - now + 999) / 1000)
		: 0;
}


static void binding_event(const struct binding *b, const char *action,
			  const struct sip_msg *msg, uint32_t expires)
{
	struct pl aor, uri;

	pl_set_str(&aor, b->aor->name);
	pl_set_str(&uri, b->uri);

	evlog_event(b->aor->reg->el, "register", msg, ",\"action\":\"%s\""
		    ",\"aor\":%H,\"contact\":%H,\"expires\":%u",
		    action, json_str_print, &aor, json_str_print, &uri,
		    expires);
}


static void expire_handler(void *arg)
{
	struct binding *b = arg;
	struct aor *aor = b->aor;

	binding_event(b, "expired", NULL, 0);
	mem_deref(b);

	if (list_isempty(&aor->bindings))
		mem_deref(aor);
}


/**
 * The current bindings of an address of record
 *
 * @param reg Binding store
 * @param aor Address of record (a SIP URI; parameters are ignored)
 * @param h   Called for each binding, until it returns true
 * @param arg Handler argument
 *
 * @return The number of bindings
 */
uint32_t registrar_lookup(const struct registrar *reg, const struct pl *aor,
			  registrar_binding_h *h, void *arg)
{
	const struct aor *a;
	struct uri uri;
	char *name = NULL;
	uint32_t n = 0;
	struct le *le;

	if (!reg || !aor || uri_decode(&uri, aor) || aor_name(&name, &uri))
		return 0;

	a = aor_find(reg, name);
	mem_deref(name);
	if (!a)
		return 0;

	LIST_FOREACH(&a->bindings, le) {
		const struct binding *b = le->data;
		struct reg_binding rb;

		++n;
		if (!h)
			continue;

		rb.uri      = b->uri;
		rb.path     = b->path;
		rb.instance = b->instance;
		rb.regid    = b->regid;
		rb.expires  = binding_left(b);
		if (h(&rb, arg))
			break;
	}

	return n;
}


/* --- REGISTER --- */

static void reject(struct rreq *rq, uint16_t scode, const char *reason)
{
	if (!rq->scode) {
		rq->scode  = scode;
		rq->reason = reason;
	}
}


static bool digits(const struct pl *pl)
{
	size_t i;

	for (i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return false;
	}

	return pl->l > 0;
}


/* RFC 3261 10.3 step 7: the contact's expires, else Expires, else the
 * default; above the maximum it is lowered (RFC 3261 20.19: 2**32-1
 * at most) */
static uint32_t expires_of(struct rreq *rq, const struct sip_addr *addr)
{
	const struct pl *hdr = &rq->msg->expires;
	struct pl e;

	if (msg_param_decode(&addr->params, "expires", &e)) {
		if (!pl_isset(hdr))
			return rq->cfg->dflt;
		e = *hdr;
	}

	if (!digits(&e)) {
		reject(rq, 400, "Bad Expires");
		return 0;
	}

	return e.l > 9 ? rq->cfg->max : MIN(pl_u32(&e), rq->cfg->max);
}


static bool contact_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		      void *arg)
{
	struct rreq *rq = arg;
	struct rcontact *c;
	struct pl v = hdr->val;
	(void)msg;

	while (v.l && lws_is(v.p[v.l - 1]))
		--v.l;

	if (!pl_strcmp(&v, "*")) {
		if (rq->star || rq->n)
			reject(rq, 400, "Invalid Contact");
		rq->star = true;
		return false;
	}

	if (rq->star)
		reject(rq, 400, "Invalid Contact");

	if (rq->n >= MAX_CONTACTS) {
		reject(rq, 403, "Too Many Contacts");
		return true;
	}

	c = &rq->c[rq->n++];
	if (sip_addr_decode(&c->addr, &v)) {
		reject(rq, 400, "Bad Contact");
		return true;
	}

	c->expires = expires_of(rq, &c->addr);
	(void)msg_param_decode(&c->addr.params, "+sip.instance",
			       &c->instance);
	(void)msg_param_decode(&c->addr.params, "q", &c->q);

	/* RFC 5626 6: reg-id counts only with +sip.instance */
	if (pl_isset(&c->instance) &&
	    !msg_param_decode(&c->addr.params, "reg-id", &c->regid)) {
		if (!digits(&c->regid) || c->regid.l > 9 ||
		    !pl_u32(&c->regid))
			reject(rq, 400, "Bad reg-id");
		rq->outbound = true;
	}

	return false;
}


static struct binding *binding_match(const struct aor *aor,
				     const struct rcontact *c)
{
	struct le *le;

	LIST_FOREACH(aor ? &aor->bindings : NULL, le) {
		struct binding *b = le->data;

		/* RFC 5626 6: an instance and reg-id name the flow */
		if (pl_isset(&c->regid)) {
			if (b->regid == pl_u32(&c->regid) && b->instance &&
			    !pl_strcmp(&c->instance, b->instance))
				return b;
		}
		else if (!b->regid && !pl_strcasecmp(&c->addr.auri, b->uri)) {
			return b;
		}
	}

	return NULL;
}


/* RFC 3261 10.3 steps 6-7: the same Call-ID with a CSeq not higher */
static bool out_of_order(const struct rreq *rq, const struct binding *b)
{
	return b && !pl_strcmp(&rq->msg->callid, b->callid) &&
		rq->msg->cseq.num <= b->cseq;
}


/* RFC 5626 6: outbound needs the registrar to be the first hop, or a
 * first Path with the "ob" parameter */
static bool first_hop_ok(const struct sip_msg *msg)
{
	const struct sip_hdr *path = sip_msg_hdr(msg, SIP_HDR_PATH);
	const struct pl *v;
	size_t i;

	if (sip_msg_hdr_count(msg, SIP_HDR_VIA) <= 1)
		return true;

	if (!path)
		return false;

	/* the "ob" URI parameter: ";ob" then ';' or '>' */
	v = &path->val;
	for (i = 0; i + 4 <= v->l; i++) {
		if (!memcmp(v->p + i, ";ob", 3) &&
		    (v->p[i + 3] == ';' || v->p[i + 3] == '>'))
			return true;
	}

	return false;
}


static void request_check(struct rreq *rq)
{
	uint32_t i, adds = 0;
	struct le *le;

	(void)sip_msg_hdr_apply(rq->msg, true, SIP_HDR_CONTACT, contact_h,
				rq);

	/* RFC 3261 10.3 step 6 */
	if (rq->star && (!pl_isset(&rq->msg->expires) ||
			 pl_strcmp(&rq->msg->expires, "0")))
		reject(rq, 400, "Invalid Contact");

	if (rq->outbound && !first_hop_ok(rq->msg))
		reject(rq, 439, NULL);

	LIST_FOREACH(rq->star && rq->aor ? &rq->aor->bindings : NULL, le) {
		if (out_of_order(rq, le->data))
			reject(rq, 500, "CSeq Out of Order");
	}

	for (i = 0; i < rq->n; i++) {
		struct rcontact *c = &rq->c[i];

		c->b = binding_match(rq->aor, c);

		/* RFC 3261 10.3 step 7 */
		if (c->expires && c->expires < rq->cfg->min)
			reject(rq, 423, NULL);
		if (out_of_order(rq, c->b))
			reject(rq, 500, "CSeq Out of Order");
		if (c->expires && !c->b)
			++adds;
	}

	if (rq->cfg->reg->count + adds > MAX_BINDINGS)
		reject(rq, 503, "Too Many Bindings");
}


static int path_join(char **pathp, const struct sip_msg *msg)
{
	const struct sip_hdr *hdr;
	struct mbuf *mb;
	struct le *le;
	int err = 0;

	if (!sip_msg_hdr(msg, SIP_HDR_PATH))
		return 0;

	mb = mbuf_alloc(128);
	if (!mb)
		return ENOMEM;

	LIST_FOREACH(&msg->hdrl, le) {
		hdr = le->data;
		if (hdr->id != SIP_HDR_PATH)
			continue;
		if (mb->end)
			err |= mbuf_write_str(mb, ", ");
		err |= mbuf_write_pl(mb, &hdr->val);
	}

	mb->pos = 0;
	if (!err)
		err = mbuf_strdup(mb, pathp, mb->end);

	mem_deref(mb);

	return err;
}


static int binding_set(struct binding *b, const struct rreq *rq,
		       const struct rcontact *c, struct tqs *tqs)
{
	int err = 0;

	b->uri = mem_deref(b->uri);
	b->q = mem_deref(b->q);
	b->callid = mem_deref(b->callid);
	b->path = mem_deref(b->path);

	err |= pl_strdup(&b->uri, &c->addr.auri);
	err |= pl_strdup(&b->callid, &rq->msg->callid);
	if (pl_isset(&c->q))
		err |= pl_strdup(&b->q, &c->q);
	if (pl_isset(&c->instance) && !b->instance)
		err |= pl_strdup(&b->instance, &c->instance);
	err |= path_join(&b->path, rq->msg);
	if (err)
		return err;

	b->regid = pl_isset(&c->regid) ? pl_u32(&c->regid) : 0;
	b->cseq  = rq->msg->cseq.num;

	return tq_start(tqs, &b->tmr, c->expires * 1000, expire_handler, b);
}


static int binding_add(struct rreq *rq, const struct rcontact *c,
		       struct tqs *tqs)
{
	struct binding *b;
	int err;

	b = mem_zalloc(sizeof(*b), binding_destructor);
	if (!b)
		return ENOMEM;

	b->aor = rq->aor;
	list_append(&rq->aor->bindings, &b->le, b);
	++rq->aor->reg->count;

	err = binding_set(b, rq, c, tqs);
	if (err) {
		mem_deref(b);
		return err;
	}

	binding_event(b, "added", rq->msg, c->expires);

	return 0;
}


/* The changes, all checked before */
static int request_apply(struct rreq *rq, struct tqs *tqs)
{
	struct le *le;
	uint32_t i;
	int err = 0;

	if (rq->star) {
		while ((le = list_head(&rq->aor->bindings))) {
			binding_event(le->data, "removed", rq->msg, 0);
			mem_deref(le->data);
		}
		return 0;
	}

	for (i = 0; i < rq->n && !err; i++) {
		struct rcontact *c = &rq->c[i];
		struct binding *b = binding_match(rq->aor, c);

		if (!c->expires) {
			if (b) {
				binding_event(b, "removed", rq->msg, 0);
				mem_deref(b);
			}
		}
		else if (b) {
			err = binding_set(b, rq, c, tqs);
			if (!err)
				binding_event(b, "refreshed", rq->msg,
					      c->expires);
		}
		else {
			err = binding_add(rq, c, tqs);
		}
	}

	return err;
}


static int hdr_add(struct list *hdrs, const char *name, const char *fmt,
		   ...)
{
	struct rhdr *h;
	va_list ap;
	int err;

	h = mem_zalloc(sizeof(*h), rhdr_destructor);
	if (!h)
		return ENOMEM;

	va_start(ap, fmt);
	err = re_vsdprintf(&h->val, fmt, ap);
	va_end(ap);
	if (err) {
		mem_deref(h);
		return err;
	}

	h->hv.name  = (char *)name;
	h->hv.value = h->val;
	list_append(hdrs, &h->hv.le, h);

	return 0;
}


/* RFC 3261 10.3 step 8: every current binding with its expires */
static int ok_hdrs(struct list *hdrs, const struct rreq *rq)
{
	const struct aor *aor = rq->aor;
	struct le *le;
	int err = 0;

	LIST_FOREACH(aor ? &aor->bindings : NULL, le) {
		const struct binding *b = le->data;
		char extra[256] = "";

		if (b->instance && b->regid)
			(void)re_snprintf(extra, sizeof(extra),
					  ";+sip.instance=\"%s\";reg-id=%u",
					  b->instance, b->regid);
		else if (b->instance)
			(void)re_snprintf(extra, sizeof(extra),
					  ";+sip.instance=\"%s\"",
					  b->instance);

		err |= hdr_add(hdrs, "Contact", "<%s>;expires=%u%s%s%s",
			       b->uri, binding_left(b), b->q ? ";q=" : "",
			       b->q ? b->q : "", extra);
	}

	/* no binding: none of the request's Contacts either */
	if (!aor || list_isempty(&aor->bindings))
		err |= hdr_add(hdrs, "Contact", "");

	/* RFC 3327 5.3: the Path back to a UA that supports it */
	if (sip_msg_hdr(rq->msg, SIP_HDR_PATH) &&
	    sip_msg_hdr_has_value(rq->msg, SIP_HDR_SUPPORTED, "path")) {
		char *path = NULL;

		err |= path_join(&path, rq->msg);
		if (path)
			err |= hdr_add(hdrs, "Path", "%s", path);
		mem_deref(path);
	}

	/* RFC 5626 6: outbound was applied */
	if (rq->outbound)
		err |= hdr_add(hdrs, "Require", "outbound");

	return err;
}


static void respond(struct rreq *rq, struct uas *uas)
{
	const struct sip_msg *msg = rq->msg;
	struct list hdrs = LIST_INIT;
	struct reply r;
	struct sa laddr;
	int err = 0;

	if (rq->scode == 423)
		err = hdr_add(&hdrs, "Min-Expires", "%u", rq->cfg->min);
	else if (!rq->scode)
		err = ok_hdrs(&hdrs, rq);

	if (rq->scode) {
		struct pl aor = PL_INIT;

		if (rq->aorname)
			pl_set_str(&aor, rq->aorname);

		evlog_event(rq->cfg->reg->el, "register", msg,
			    ",\"action\":\"rejected\",\"code\":%u"
			    ",\"aor\":%H", rq->scode, json_str_print,
			    &aor);
	}

	memset(&r, 0, sizeof(r));
	uas_local_addr(&laddr, msg);
	r.msg    = msg;
	r.scode  = rq->scode ? rq->scode : 200;
	r.reason = rq->reason;
	r.hdrs   = &hdrs;
	r.laddr  = &laddr;
	r.totag  = msg->tag | (1ULL << 63);

	if (!err)
		err = reply_send(NULL, uas_stranss(uas), &r, NULL);
	if (err)
		DEBUG_WARNING("%u to REGISTER: %m\n", r.scode, err);

	list_flush(&hdrs);
}


/**
 * Answer a REGISTER as registrar (RFC 3261 10.3)
 *
 * @param cfg Settings of the rule
 * @param uas UAS (to reply, log and time)
 * @param msg The request
 *
 * @return true if answered (a REGISTER), false for other methods
 */
bool registrar_request(struct regcfg *cfg, struct uas *uas,
		       const struct sip_msg *msg)
{
	struct registrar *reg;
	struct rreq *rq;
	int err;

	if (!cfg || !uas || !msg || pl_strcmp(&msg->met, "REGISTER"))
		return false;

	reg = cfg->reg;
	if (!reg->el)
		reg->el = mem_ref(uas_evlog(uas));

	/* about 3 KiB of decoded contacts: not on the stack */
	rq = mem_zalloc(sizeof(*rq), NULL);
	if (!rq)
		return false;

	rq->cfg = cfg;
	rq->msg = msg;

	err = aor_name(&rq->aorname, &msg->to.uri);
	if (err)
		reject(rq, 500, NULL);
	else
		rq->aor = aor_find(reg, rq->aorname);

	if (!rq->scode)
		request_check(rq);

	if (!rq->scode && (rq->n || rq->star)) {
		if (!rq->aor)
			err = aor_get(&rq->aor, reg, rq->aorname);
		if (!err)
			err = request_apply(rq, uas_tqs(uas));
		if (err)
			reject(rq, 500, NULL);
	}

	respond(rq, uas);

	if (rq->aor && list_isempty(&rq->aor->bindings))
		mem_deref(rq->aor);

	mem_deref(rq->aorname);
	mem_deref(rq);

	return true;
}
