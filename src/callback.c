/**
 * @file callback.c  Calls from sipstub back to the caller (step 'callback')
 *
 * A step with 'callback' makes sipstub a UAC once: after the final
 * response (for an INVITE: once its dialog has ended) and a delay, it
 * sends an INVITE with an SDP offer to each registered contact of the
 * caller's address of record, or to the Contact of the request if
 * there is no binding. A 401/407 is answered with credentials (libre's
 * sip_auth), the 2xx is ACKed (uac.c), the RTP runs as in any call, and
 * sipstub sends BYE after the 'hangup' time. The client may end the
 * call first with its own BYE. Every step is a "callback" event.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>
#include "scenario_int.h"

#define DEBUG_MODULE "callback"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	POLL_MS = 100,       /* how often the end of the call is checked */
	MAX_AUTH = 2,        /* challenges answered per call-back */
	MAX_TARGETS = 8,
};

/** The step key 'callback' */
struct cbcfg {
	uint32_t delay;      /* ms after the end of the call / the final */
	uint32_t hangup;     /* ms after the 2xx before our BYE */
	bool to_contact;     /* to: caller (the request's Contact only) */
	char *user;          /* NULL: the caller's From user */
	char *pass;          /* NULL: the rule's account, else "sipstub" */
};

/* A call-back waiting for its time */
struct cbwait {
	struct le le;
	struct tqent tmr;
	struct uas *uas;
	struct cbcfg *cfg;
	struct sa laddr;
	char *callid;        /* of the request that asked for it */
	char *aor;           /* its From URI */
	char *user;
	char *pass;
	char *contact;       /* its Contact URI, or NULL */
	bool invite;
};

/* One outgoing call */
struct cbleg {
	struct le le;
	struct tqent tmr;
	struct cbwait *w;
	struct sip_dialog *dlg;
	struct sip_auth *auth;
	struct uac *uac;
	struct media *media;
	char *target;
	char *callid;
	enum sip_transp tp;  /* as the target URI asks */
	unsigned auths;
	bool up;             /* 2xx received */
	bool ending;         /* BYE sent or received */
};

/* the process's call-backs (each worker is a process of its own);
 * callback_flush() frees them */
static struct list waits;
static struct list legs;


static void cfg_destructor(void *arg)
{
	struct cbcfg *cfg = arg;

	mem_deref(cfg->user);
	mem_deref(cfg->pass);
}


static void wait_destructor(void *arg)
{
	struct cbwait *w = arg;

	tq_cancel(&w->tmr);
	list_unlink(&w->le);
	mem_deref(w->cfg);
	mem_deref(w->callid);
	mem_deref(w->aor);
	mem_deref(w->user);
	mem_deref(w->pass);
	mem_deref(w->contact);
}


static void leg_destructor(void *arg)
{
	struct cbleg *leg = arg;

	tq_cancel(&leg->tmr);
	list_unlink(&leg->le);
	mem_deref(leg->uac);
	mem_deref(leg->media);
	mem_deref(leg->auth);
	mem_deref(leg->dlg);
	mem_deref(leg->target);
	mem_deref(leg->callid);
	mem_deref(leg->w);
}


static void leg_event(const struct cbleg *leg, const char *outcome,
		      uint16_t scode)
{
	struct pl callid, target;

	pl_set_str(&callid, leg->callid);
	pl_set_str(&target, leg->target);
	evlog_event(uas_evlog(leg->w->uas), "callback", NULL,
		    ",\"call_id\":%H,\"target\":%H,\"outcome\":\"%s\""
		    ",\"code\":%u", json_str_print, &callid,
		    json_str_print, &target, outcome, scode);
}


static int auth_handler(char **user, char **pass, const char *realm,
			void *arg)
{
	struct cbleg *leg = arg;
	int err;
	(void)realm;

	err  = str_dup(user, leg->w->user);
	err |= str_dup(pass, leg->w->pass);

	return err;
}


static void bye_resp_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct cbleg *leg = arg;

	if (!err && msg->scode < 200)
		return;

	leg->uac = NULL;
	leg_event(leg, "ended", err ? 0 : msg->scode);
	mem_deref(leg);
}


static void hangup_handler(void *arg)
{
	struct cbleg *leg = arg;
	int err;

	leg->ending = true;
	leg_event(leg, "bye", 0);
	err = uac_send(&leg->uac, leg->w->uas, leg->dlg, "BYE",
		       bye_resp_handler, leg, "Content-Length: 0\r\n\r\n");
	if (err)
		mem_deref(leg);
}


static int invite_send(struct cbleg *leg);


static void invite_resp_handler(int err, const struct sip_msg *msg,
				void *arg)
{
	struct cbleg *leg = arg;

	if (err) {
		leg->uac = NULL;
		leg_event(leg, "timeout", 0);
		mem_deref(leg);
		return;
	}

	if (msg->scode < 200) {
		leg_event(leg, "progress", msg->scode);
		return;
	}

	leg->uac = NULL;

	/* RFC 3261 22.2: the same request again with credentials */
	if ((msg->scode == 401 || msg->scode == 407) &&
	    leg->auths < MAX_AUTH) {
		++leg->auths;
		err = sip_auth_authenticate(leg->auth, msg);
		leg_event(leg, err ? "auth failed" : "challenged",
			  msg->scode);
		if (!err)
			err = invite_send(leg);
		if (err)
			mem_deref(leg);
		return;
	}

	if (msg->scode >= 300) {
		leg_event(leg, "failed", msg->scode);
		mem_deref(leg);
		return;
	}

	/* 2xx: uac.c has made the dialog and sent the ACK */
	leg->up = true;
	leg_event(leg, "answered", msg->scode);

	if (!mbuf_get_left(msg->mb) ||
	    media_remote_answer(leg->media, msg->mb))
		DEBUG_NOTICE("%s: no usable SDP answer\n", leg->target);
	else
		media_start(leg->media, NULL, uas_tqs(leg->w->uas),
			    uas_evlog(leg->w->uas), msg);

	(void)tq_start(uas_tqs(leg->w->uas), &leg->tmr, leg->w->cfg->hangup,
		       hangup_handler, leg);
}


static int invite_send(struct cbleg *leg)
{
	struct mbuf *sdp = NULL;
	int err;

	err = media_offer(leg->media, &sdp);
	if (err)
		return err;

	err = uac_invite(&leg->uac, leg->w->uas, leg->dlg, leg->auth,
			 invite_resp_handler, leg,
			 "Contact: <sip:callme@%J%s>\r\n"
			 "Content-Type: application/sdp\r\n"
			 "Content-Length: %zu\r\n\r\n%b",
			 &leg->w->laddr,
			 leg->tp == SIP_TRANSP_TCP ? ";transport=tcp" :
			 leg->tp == SIP_TRANSP_TLS ? ";transport=tls" : "",
			 mbuf_get_left(sdp), mbuf_buf(sdp),
			 mbuf_get_left(sdp));
	mem_deref(sdp);

	return err;
}


/* RFC 3263 4.1: the transport parameter of the URI, else UDP */
static enum sip_transp target_transp(const char *target)
{
	struct pl pl, tp;
	struct uri uri;

	pl_set_str(&pl, target);
	if (uri_decode(&uri, &pl))
		return SIP_TRANSP_UDP;

	if (msg_param_decode(&uri.params, "transport", &tp))
		return pl_strcasecmp(&uri.scheme, "sips") ?
			SIP_TRANSP_UDP : SIP_TRANSP_TLS;

	if (!pl_strcasecmp(&tp, "tcp"))
		return SIP_TRANSP_TCP;
	if (!pl_strcasecmp(&tp, "tls"))
		return SIP_TRANSP_TLS;

	return SIP_TRANSP_UDP;
}


static int leg_start(struct cbwait *w, const char *target)
{
	struct cbleg *leg;
	char *from = NULL;
	int err;

	leg = mem_zalloc(sizeof(*leg), leg_destructor);
	if (!leg)
		return ENOMEM;

	leg->w = mem_ref(w);
	list_append(&legs, &leg->le, leg);

	err  = str_dup(&leg->target, target);
	err |= re_sdprintf(&from, "sip:callme@%J", &w->laddr);
	if (err)
		goto out;

	leg->tp = target_transp(target);

	/* From is sipstub, To the caller's address of record */
	err = sip_dialog_alloc(&leg->dlg, target, w->aor, NULL, from,
			       NULL, 0);
	if (err)
		goto out;

	err  = str_dup(&leg->callid, sip_dialog_callid(leg->dlg));
	err |= sip_auth_alloc(&leg->auth, auth_handler, leg, false);
	err |= media_alloc(&leg->media, &w->laddr);
	if (err)
		goto out;

	leg_event(leg, "calling", 0);
	err = invite_send(leg);

 out:
	mem_deref(from);
	if (err) {
		DEBUG_WARNING("%s: %m\n", target, err);
		leg_event(leg, "error", 0);
		mem_deref(leg);
	}

	return err;
}


struct targets {
	char *v[MAX_TARGETS];
	uint32_t n;
};


static bool binding_handler(const struct reg_binding *b, void *arg)
{
	struct targets *t = arg;

	if (!str_dup(&t->v[t->n], b->uri))
		++t->n;

	return t->n >= MAX_TARGETS;
}


static void wait_handler(void *arg)
{
	struct cbwait *w = arg;
	struct targets t;
	struct pl aor;
	uint32_t i;

	memset(&t, 0, sizeof(t));

	pl_set_str(&aor, w->aor);
	if (!w->cfg->to_contact)
		(void)registrar_lookup(scenario_registrar(
					       uas_scenario(w->uas)),
				       &aor, binding_handler, &t);
	if (!t.n && w->contact && !str_dup(&t.v[0], w->contact))
		t.n = 1;

	if (!t.n) {
		struct pl callid;

		pl_set_str(&callid, w->callid);
		evlog_event(uas_evlog(w->uas), "callback", NULL,
			    ",\"call_id\":%H,\"target\":%H,"
			    "\"outcome\":\"no target\",\"code\":0",
			    json_str_print, &callid, json_str_print, &aor);
	}

	/* the legs hold it from now on */
	list_unlink(&w->le);
	for (i = 0; i < t.n; ++i) {
		(void)leg_start(w, t.v[i]);
		mem_deref(t.v[i]);
	}

	mem_deref(w);
}


/* For an INVITE the delay runs from the end of its dialog */
static void poll_handler(void *arg)
{
	struct cbwait *w = arg;
	struct pl callid;

	pl_set_str(&callid, w->callid);
	if (dialog_exists(w->uas, &callid)) {
		(void)tq_start(uas_tqs(w->uas), &w->tmr, POLL_MS,
			       poll_handler, w);
		return;
	}

	(void)tq_start(uas_tqs(w->uas), &w->tmr, w->cfg->delay,
		       wait_handler, w);
}


/**
 * A final response of a step with 'callback' went out: call back later
 *
 * @param uas  UAS
 * @param msg  The request answered
 * @param cfg  The step's 'callback'
 * @param auth The rule's 'auth' (its password for the user), or NULL
 */
void callback_start(struct uas *uas, const struct sip_msg *msg,
		    struct cbcfg *cfg, const struct auth *auth)
{
	const char *pass = cfg ? cfg->pass : NULL;
	const struct sip_hdr *ct;
	struct cbwait *w;
	struct sip_addr addr;
	int err;

	if (!uas || !msg || !cfg)
		return;

	w = mem_zalloc(sizeof(*w), wait_destructor);
	if (!w)
		return;

	list_append(&waits, &w->le, w);
	w->uas    = uas;
	w->cfg    = mem_ref(cfg);
	w->invite = !pl_strcmp(&msg->met, "INVITE");
	uas_local_addr(&w->laddr, msg);

	err  = pl_strdup(&w->callid, &msg->callid);
	err |= pl_strdup(&w->aor, &msg->from.auri);
	if (cfg->user)
		err |= str_dup(&w->user, cfg->user);
	else if (!pl_isset(&msg->from.uri.user))
		err |= str_dup(&w->user, "sipstub");
	else
		err |= pl_strdup(&w->user, &msg->from.uri.user);
	if (!pass && auth) {
		struct pl user;

		pl_set_str(&user, w->user);
		pass = auth_password(auth, &user);
	}
	err |= str_dup(&w->pass, pass ? pass : "sipstub");

	ct = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	if (ct && !sip_addr_decode(&addr, &ct->val))
		err |= pl_strdup(&w->contact, &addr.auri);
	if (err) {
		mem_deref(w);
		return;
	}

	evlog_event(uas_evlog(uas), "callback", msg,
		    ",\"target\":%H,\"outcome\":\"scheduled\",\"code\":0",
		    json_str_print, &msg->from.auri);

	if (w->invite)
		poll_handler(w);
	else
		(void)tq_start(uas_tqs(w->uas), &w->tmr, cfg->delay,
			       wait_handler, w);
}


/**
 * Drop every call-back, pending or in progress (on exit, before the UAS)
 */
void callback_flush(void)
{
	list_flush(&legs);
	list_flush(&waits);
}


static bool leg_cmp(struct le *le, void *arg)
{
	const struct cbleg *leg = le->data;

	return leg->up && sip_dialog_cmp(leg->dlg, arg);
}


/**
 * A request in the dialog of a call-back (BYE, ...)
 *
 * @return true if it was one and is answered
 */
bool callback_request(struct uas *uas, const struct sip_msg *msg)
{
	struct cbleg *leg;

	if (list_isempty(&legs))
		return false;

	leg = list_ledata(list_apply(&legs, true, leg_cmp, (void *)msg));
	if (!leg)
		return false;

	if (!pl_strcmp(&msg->met, "BYE")) {
		(void)sip_treply(NULL, uas_sip(uas), msg, 200, "OK");
		if (leg->ending)
			return true;
		leg->ending = true;
		leg_event(leg, "remote bye", 200);
		if (!leg->uac)
			mem_deref(leg);
		return true;
	}

	/* RFC 3261 14.2: no new offer is taken; the session stays */
	if (!pl_strcmp(&msg->met, "INVITE") ||
	    !pl_strcmp(&msg->met, "UPDATE"))
		(void)sip_treply(NULL, uas_sip(uas), msg, 488,
				 "Not Acceptable Here");
	else if (pl_strcmp(&msg->met, "ACK"))
		(void)sip_treply(NULL, uas_sip(uas), msg, 200, "OK");

	return true;
}


static int cb_h(struct loader *ld, void *obj, const char *key,
		yaml_node_t *k, yaml_node_t *v)
{
	struct cbcfg *cfg = obj;
	const char *s = scalar(v);
	(void)k;

	if (!strcmp(key, "delay") || !strcmp(key, "hangup")) {
		uint32_t *msp = key[0] == 'd' ? &cfg->delay : &cfg->hangup;

		if (duration_parse(s, msp)) {
			node_err(ld, v, "bad callback %s '%s': use e.g. 2s",
				 key, s ? s : "");
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "to")) {
		if (s && !strcmp(s, "aor"))
			cfg->to_contact = false;
		else if (s && !strcmp(s, "caller"))
			cfg->to_contact = true;
		else {
			node_err(ld, v, "callback 'to' must be aor or caller");
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "user") || !strcmp(key, "password")) {
		if (!s || !*s || strpbrk(s, "\r\n\"")) {
			node_err(ld, v, "callback '%s' must be one word", key);
			return EBADMSG;
		}
		return str_dup(key[0] == 'u' ? &cfg->user : &cfg->pass, s);
	}

	node_err(ld, v, "unknown callback key '%s' (expected delay, "
		 "hangup, to, user, password)", key);

	return EBADMSG;
}


/**
 * The step key 'callback': true, or {delay, hangup, to, user, password}
 */
int callback_parse(struct loader *ld, yaml_node_t *node,
		   struct cbcfg **cfgp)
{
	struct cbcfg *cfg;
	bool on;

	cfg = mem_zalloc(sizeof(*cfg), cfg_destructor);
	if (!cfg)
		return ENOMEM;

	cfg->delay  = 2000;
	cfg->hangup = 5000;
	mem_deref(*cfgp);
	*cfgp = cfg;

	if (node->type != YAML_SCALAR_NODE)
		return mapping_apply(ld, node, "'callback'", cb_h, cfg);

	if (bool_parse(scalar(node), &on) || !on) {
		node_err(ld, node, "'callback' must be true or a mapping");
		return EBADMSG;
	}

	return 0;
}
