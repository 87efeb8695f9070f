/**
 * @file scn_reqs.c  Scenario keys of the in-dialog features: a 2xx
 *                   step's 'requests' (run by indlg.c) and a rule's
 *                   'session-timer' (timer.c)
 *
 * requests:
 *   - {method: INVITE, delay: 2s, sdp: hold}
 *   - {method: INFO, dtmf: "5"}
 *   - {method: BYE, delay: 1s}
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <stdlib.h>
#include <sipstub.h>
#include "scenario_int.h"


/* What sipstub can send in an INVITE dialog */
static const char *const methods[] = {
	"INVITE", "UPDATE", "INFO", "MESSAGE", "NOTIFY", "OPTIONS", "BYE",
	NULL,
};


struct reqld {
	struct indlg_req *r;
	bool has_sdp;
	bool has_body;
};


static void req_destructor(void *arg)
{
	struct indlg_req *r = arg;

	list_unlink(&r->le);
	list_flush(&r->hdrs);
	mem_deref(r->body);
	mem_deref(r->ctype);
}


static bool method_known(const char *s)
{
	size_t i;

	for (i = 0; methods[i]; ++i) {
		if (!strcmp(s, methods[i]))
			return true;
	}

	return false;
}


/* Text of a request: vars substituted, no run-time names (there is no
 * request to take them from) */
static int text_get(struct loader *ld, const yaml_node_t *v, const char *s,
		    char **outp)
{
	int err;

	err = subst(ld, v, s, outp);
	if (err)
		return err;

	if (strstr(*outp, "${")) {
		node_err(ld, v, "run-time names (${...}) are not available "
			 "in 'requests'");
		*outp = mem_deref(*outp);
		return EBADMSG;
	}

	return 0;
}


static int sdp_parse(struct loader *ld, yaml_node_t *v,
		     enum indlg_sdp *sdpp)
{
	const char *s = scalar(v);

	if (s && !strcmp(s, "hold"))
		*sdpp = INDLG_SDP_HOLD;
	else if (s && !strcmp(s, "resume"))
		*sdpp = INDLG_SDP_RESUME;
	else if (s && !strcmp(s, "offer"))
		*sdpp = INDLG_SDP_OFFER;
	else if (s && !strcmp(s, "none"))
		*sdpp = INDLG_SDP_NONE;
	else {
		node_err(ld, v, "'sdp' of a request must be hold, resume, "
			 "offer or none");
		return EBADMSG;
	}

	return 0;
}


/* RFC 2833-style DTMF relay body (application/dtmf-relay) */
static int dtmf_parse(struct loader *ld, yaml_node_t *v,
		      struct indlg_req *r)
{
	const char *s = scalar(v);

	if (!s || strlen(s) != 1 || !strchr("0123456789*#ABCD", s[0])) {
		node_err(ld, v, "'dtmf' must be one of 0-9, *, #, A-D");
		return EBADMSG;
	}

	mem_deref(r->body);
	mem_deref(r->ctype);
	r->body = NULL;
	r->ctype = NULL;

	if (re_sdprintf(&r->body, "Signal=%s\r\nDuration=160\r\n", s))
		return ENOMEM;

	r->bodylen = strlen(r->body);

	return str_dup(&r->ctype, "application/dtmf-relay");
}


static int req_h(struct loader *ld, void *obj, const char *key,
		 yaml_node_t *k, yaml_node_t *v)
{
	struct reqld *rl = obj;
	struct indlg_req *r = rl->r;
	const char *s = scalar(v);
	int err;

	if (!strcmp(key, "method")) {
		if (!s || !method_known(s)) {
			node_err(ld, v, "'method' of a request must be one of"
				 " INVITE, UPDATE, INFO, MESSAGE, NOTIFY, "
				 "OPTIONS, BYE");
			return EBADMSG;
		}
		str_ncpy(r->met, s, sizeof(r->met));
		return 0;
	}

	if (!strcmp(key, "delay")) {
		if (duration_parse(s, &r->delay)) {
			node_err(ld, v, "bad delay '%s': use e.g. 500ms, 2s, "
				 "1.5s or 1m", s ? s : "");
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "headers"))
		return headers_parse(ld, v, &r->hdrs);

	if (!strcmp(key, "body") || !strcmp(key, "content-type")) {
		char **sp = key[0] == 'b' ? &r->body : &r->ctype;

		if (!s || (key[0] == 'c' && (!strchr(s, '/') ||
					     strpbrk(s, "\r\n")))) {
			node_err(ld, v, "'%s' must be %s", key, key[0] == 'b'
				 ? "text" : "a media type such as text/plain");
			return EBADMSG;
		}
		rl->has_body |= key[0] == 'b';
		*sp = mem_deref(*sp);
		err = text_get(ld, v, s, sp);
		if (!err && key[0] == 'b')
			r->bodylen = strlen(r->body);
		return err;
	}

	if (!strcmp(key, "dtmf")) {
		rl->has_body = true;
		return dtmf_parse(ld, v, r);
	}

	if (!strcmp(key, "sdp")) {
		rl->has_sdp = true;
		return sdp_parse(ld, v, &r->sdp);
	}

	node_err(ld, k, "unknown request key '%s' (expected method, delay, "
		 "headers, body, content-type, dtmf, sdp)", key);

	return EBADMSG;
}


static bool hdr_given(const struct indlg_req *r, const char *name)
{
	struct le *le;

	LIST_FOREACH(&r->hdrs, le) {
		const struct hdrval *hv = le->data;

		if (!str_casecmp(hv->name, name))
			return true;
	}

	return false;
}


/* What the request must be to go out well formed */
static int req_check(struct loader *ld, yaml_node_t *node,
		     struct reqld *rl)
{
	struct indlg_req *r = rl->r;
	const bool offer = !strcmp(r->met, "INVITE") ||
		!strcmp(r->met, "UPDATE");

	if (!r->met[0]) {
		node_err(ld, node, "request has no 'method'");
		return EBADMSG;
	}

	/* RFC 3261 14.1: a re-INVITE with an offer unless told */
	if (!rl->has_sdp && !strcmp(r->met, "INVITE") && !rl->has_body)
		r->sdp = INDLG_SDP_OFFER;

	if (r->sdp && !offer) {
		node_err(ld, node, "'sdp' only goes with INVITE or UPDATE");
		return EBADMSG;
	}

	if (r->sdp && rl->has_body) {
		node_err(ld, node, "'sdp' and a body exclude each other");
		return EBADMSG;
	}

	/* RFC 6665 8.2.1: a NOTIFY names its package and state */
	if (!strcmp(r->met, "NOTIFY") && (!hdr_given(r, "Event") ||
					  !hdr_given(r, "Subscription-State")
					  )) {
		node_err(ld, node, "a NOTIFY needs 'Event' and "
			 "'Subscription-State' in 'headers'");
		return EBADMSG;
	}

	if (r->body && !r->ctype)
		return str_dup(&r->ctype, "text/plain");

	return 0;
}


static int req_parse(struct loader *ld, yaml_node_t *node,
		     struct list *reqs)
{
	struct reqld rl;
	int err;

	memset(&rl, 0, sizeof(rl));

	rl.r = mem_zalloc(sizeof(*rl.r), req_destructor);
	if (!rl.r)
		return ENOMEM;

	list_append(reqs, &rl.r->le, rl.r);

	err = mapping_apply(ld, node, "a request", req_h, &rl);
	if (err)
		return err;

	return req_check(ld, node, &rl);
}


/**
 * Parse the 'requests' list of a step
 *
 * @param ld   Loader
 * @param node The value of 'requests'
 * @param reqs List of struct indlg_req to append to
 *
 * @return 0 if success, EBADMSG if reported, ENOMEM
 */
int reqs_parse(struct loader *ld, yaml_node_t *node, struct list *reqs)
{
	yaml_node_item_t *it;
	int err = 0;

	if (node->type != YAML_SEQUENCE_NODE ||
	    node->data.sequence.items.start ==
	    node->data.sequence.items.top) {
		node_err(ld, node, "'requests' must be a list of requests "
			 "such as {method: UPDATE, delay: 2s, sdp: hold}");
		return EBADMSG;
	}

	for (it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; ++it) {
		const struct indlg_req *last = list_ledata(list_tail(reqs));
		yaml_node_t *item = node_get(ld, *it);
		int e;

		if (last && !strcmp(last->met, "BYE")) {
			node_err(ld, item, "a request after BYE");
			err = EBADMSG;
			continue;
		}

		e = req_parse(ld, item, reqs);
		if (e == ENOMEM)
			return e;
		if (e)
			err = EBADMSG;
	}

	return err;
}


static int timer_h(struct loader *ld, void *obj, const char *key,
		   yaml_node_t *k, yaml_node_t *v)
{
	struct timer_cfg *cfg = obj;
	const char *s = scalar(v);
	char *end = NULL;
	unsigned long n = 0;

	if (!strcmp(key, "refresher")) {
		if (s && !strcmp(s, "uac"))
			cfg->refresher = TIMER_REF_UAC;
		else if (s && !strcmp(s, "uas"))
			cfg->refresher = TIMER_REF_UAS;
		else {
			node_err(ld, v, "'refresher' must be uac or uas");
			return EBADMSG;
		}
		return 0;
	}

	if (strcmp(key, "min-se") && strcmp(key, "expires")) {
		node_err(ld, k, "unknown session-timer key '%s' (expected "
			 "min-se, expires, refresher)", key);
		return EBADMSG;
	}

	if (s && *s >= '0' && *s <= '9')
		n = strtoul(s, &end, 10);

	if (!end || *end || n < 1 || n > 86400) {
		node_err(ld, v, "'%s' must be seconds, 1..86400", key);
		return EBADMSG;
	}

	if (key[0] == 'm')
		cfg->minse = (uint32_t)n;
	else
		cfg->expires = (uint32_t)n;

	return 0;
}


/**
 * Parse a rule's 'session-timer': {min-se: S, expires: S,
 * refresher: uac|uas}. min-se below 90 (RFC 4028 5) is a testing knob
 * for short intervals.
 */
int timer_cfg_parse(struct loader *ld, yaml_node_t *node,
		    struct timer_cfg **cfgp)
{
	struct timer_cfg *cfg;
	int err;

	cfg = mem_zalloc(sizeof(*cfg), NULL);
	if (!cfg)
		return ENOMEM;

	mem_deref(*cfgp);
	*cfgp = cfg;

	cfg->minse   = 90;
	cfg->expires = 1800;

	err = mapping_apply(ld, node, "'session-timer'", timer_h, cfg);
	if (err)
		return err;

	if (cfg->expires < cfg->minse) {
		node_err(ld, node, "'expires' is below 'min-se'");
		return EBADMSG;
	}

	return 0;
}


const struct timer_cfg *rule_timer(const struct rule *rule)
{
	return rule ? rule->timer : NULL;
}
