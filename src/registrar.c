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
#include "registrar_int.h"

#define DEBUG_MODULE "registrar"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


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
 * Allocate the registrar settings of one rule (defaults: min-expires
 * 60, max-expires 3600, default-expires 3600)
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


/* Seconds a binding has left */
uint32_t reg_binding_left(const struct binding *b)
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
		rb.expires  = reg_binding_left(b);
		if (h(&rb, arg))
			break;
	}

	return n;
}


/* The binding a contact names, if any */
struct binding *reg_binding_match(const struct aor *aor,
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
	err |= regmsg_path_join(&b->path, rq->msg);
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
		struct binding *b = reg_binding_match(rq->aor, c);

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
		regmsg_reject(rq, 500, NULL);
	else
		rq->aor = aor_find(reg, rq->aorname);

	if (!rq->scode)
		regmsg_check(rq);

	if (!rq->scode && (rq->n || rq->star)) {
		if (!rq->aor)
			err = aor_get(&rq->aor, reg, rq->aorname);
		if (!err)
			err = request_apply(rq, uas_tqs(uas));
		if (err)
			regmsg_reject(rq, 500, NULL);
	}

	regmsg_respond(rq, uas);

	if (rq->aor && list_isempty(&rq->aor->bindings))
		mem_deref(rq->aor);

	mem_deref(rq->aorname);
	mem_deref(rq);

	return true;
}
