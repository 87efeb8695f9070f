/**
 * @file scn_step.c  Reply steps of a rule and their keys
 *
 * A rule's reply: a status code or a list of steps (code, reason,
 * delay, headers, body, notify, sipfrag, recv-info, ...), checked
 * for their order (RFC 3261: provisionals before one final).
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <stdlib.h>
#include <ctype.h>
#include <regex.h>
#include <yaml.h>
#include <sipstub.h>
#include "scenario_int.h"

#define DEBUG_MODULE "scn_step"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


static void ntfspec_destructor(void *arg)
{
	struct ntfspec *n = arg;

	list_unlink(&n->le);
	mem_deref(n->state);
	mem_deref(n->body);
	mem_deref(n->ctype);
}


static void step_destructor(void *arg)
{
	struct step *step = arg;

	list_unlink(&step->le);
	list_flush(&step->hdrs);
	list_flush(&step->reqs);
	list_flush(&step->notifies);
	mem_deref(step->sipfrag);
	mem_deref(step->recv_info);
	mem_deref(step->reason);
	mem_deref(step->body);
	mem_deref(step->ctype);
	mem_deref(step->media);
	mem_deref(step->callback);
}


static int code_parse(struct loader *ld, const yaml_node_t *node,
		      uint16_t *scodep)
{
	const char *s = scalar(node);
	uint32_t v;

	if (s && !strcmp(s, "user")) {
		*scodep = 0;
		return 0;
	}

	if (!s || uint_parse(s, 0, 99999, &v)) {
		node_err(ld, node, "expected a status code (100-699) or "
			 "'user', got '%s'", s ? s : "(not a scalar)");
		return EBADMSG;
	}

	if (v < 100 || v > 699) {
		node_err(ld, node, "status code %u outside 100-699", v);
		return EBADMSG;
	}

	*scodep = (uint16_t)v;

	return 0;
}


int headers_parse(struct loader *ld, const yaml_node_t *node,
		  struct list *hdrs)
{
	yaml_node_pair_t *pair;
	int err = 0;

	if (node->type != YAML_MAPPING_NODE) {
		node_err(ld, node, "'headers' must be a mapping of "
			 "header name to value");
		return EBADMSG;
	}

	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_get(ld, pair->key);
		yaml_node_t *v = node_get(ld, pair->value);
		const char *name = scalar(k), *val = scalar(v);
		struct hdrval *hv;

		if (key_dup(ld, node, pair)) {
			err = EBADMSG;
			continue;
		}

		if (!token_valid(name)) {
			node_err(ld, k, "bad header name '%s'",
				 name ? name : "");
			err = EBADMSG;
			continue;
		}

		if (!val) {
			node_err(ld, v, "header '%s' needs a text value",
				 name);
			err = EBADMSG;
			continue;
		}

		if (strpbrk(val, "\r\n")) {
			node_err(ld, v, "header '%s' value has a line break",
				 name);
			err = EBADMSG;
			continue;
		}

		hv = mem_zalloc(sizeof(*hv), hdrval_destructor);
		if (!hv)
			return ENOMEM;

		list_append(hdrs, &hv->le, hv);

		err |= str_dup(&hv->name, name);
		if (subst(ld, v, val, &hv->value))
			err = EBADMSG;
	}

	return err;
}


static int body_file_load(struct loader *ld, const yaml_node_t *node,
			  struct step *step)
{
	const char *path = scalar(node);
	char *full = NULL;
	FILE *f = NULL;
	long n;
	int err = 0;

	if (!path || !*path) {
		node_err(ld, node, "'body-file' needs a file name");
		return EBADMSG;
	}

	err = scn_path(ld, path, &full);
	if (err)
		return err;

	f = fopen(full, "rb");
	if (!f) {
		node_err(ld, node, "cannot read body file '%s': %m", full,
			 errno);
		err = EBADMSG;
		goto out;
	}

	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > MAX_BODY ||
	    fseek(f, 0, SEEK_SET)) {
		node_err(ld, node, "body file '%s' is not a readable file "
			 "of at most %u bytes", full, MAX_BODY);
		err = EBADMSG;
		goto out;
	}

	step->body = mem_zalloc(n + 1, NULL);
	if (!step->body) {
		err = ENOMEM;
		goto out;
	}

	step->bodylen = fread(step->body, 1, n, f);
	if (step->bodylen != (size_t)n) {
		node_err(ld, node, "short read on body file '%s'", full);
		step->body = mem_deref(step->body);
		step->bodylen = 0;
		err = EBADMSG;
	}

 out:
	if (f)
		fclose(f);
	mem_deref(full);
	return err;
}


/* One line of text, without CR or LF */
static int line_dup(struct loader *ld, const yaml_node_t *v, const char *key,
		    char **strp)
{
	const char *s = scalar(v);

	if (!s || !*s || strpbrk(s, "\r\n")) {
		node_err(ld, v, "'%s' must be one line of text", key);
		return EBADMSG;
	}

	return str_dup(strp, s);
}


static int ntfspec_h(struct loader *ld, void *obj, const char *key,
		     yaml_node_t *k, yaml_node_t *v)
{
	struct ntfspec *n = obj;
	const char *s = scalar(v);

	if (!strcmp(key, "delay")) {
		if (duration_parse(s, &n->delay)) {
			node_err(ld, v, "bad delay '%s'", s ? s : "");
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "state")) {
		/* RFC 6665 8.2.3: substate-value *( ";" subexp-params ) */
		if (!s || (strncmp(s, "active", 6) &&
			   strncmp(s, "pending", 7) &&
			   strncmp(s, "terminated", 10))) {
			node_err(ld, v, "'state' must be active, pending or "
				 "terminated, with parameters after ';'");
			return EBADMSG;
		}
		return line_dup(ld, v, key, &n->state);
	}

	if (!strcmp(key, "body")) {
		if (!s) {
			node_err(ld, v, "'body' must be text");
			return EBADMSG;
		}
		if (subst(ld, v, s, &n->body))
			return EBADMSG;
		n->bodylen = str_len(n->body);
		return 0;
	}

	if (!strcmp(key, "content-type")) {
		if (!s || !strchr(s, '/'))
			goto bad;
		return line_dup(ld, v, key, &n->ctype);
	}

 bad:
	node_err(ld, k, "bad notify key '%s' (expected delay, state, body, "
		 "content-type)", key);
	return EBADMSG;
}


/* notify: a NOTIFY or a list of them */
static int notify_parse(struct loader *ld, yaml_node_t *v, struct list *l)
{
	yaml_node_item_t *it = NULL, *end = NULL;
	int err = 0;

	if (v->type == YAML_SEQUENCE_NODE) {
		it  = v->data.sequence.items.start;
		end = v->data.sequence.items.top;
	}

	do {
		yaml_node_t *node = it ? node_get(ld, *it) : v;
		struct ntfspec *n;
		int e;

		if (it && it >= end)
			break;

		n = mem_zalloc(sizeof(*n), ntfspec_destructor);
		if (!n)
			return ENOMEM;

		list_append(l, &n->le, n);

		e = mapping_apply(ld, node, "a notify", ntfspec_h, n);
		if (e == ENOMEM)
			return e;
		if (e)
			err = EBADMSG;
	} while (it && ++it < end);

	return err;
}


/* sipfrag: a status code or a status line (RFC 3515 2.4.5) */
static int sipfrag_parse(struct loader *ld, const yaml_node_t *v,
			 char **strp)
{
	const char *s = scalar(v);
	uint32_t sc;

	if (s && !uint_parse(s, 100, 699, &sc))
		return re_sdprintf(strp, "SIP/2.0 %u %s", sc,
				   reply_reason((uint16_t)sc));

	if (!s || strncmp(s, "SIP/2.0 ", 8)) {
		node_err(ld, v, "'sipfrag' must be a status code or a "
			 "status line such as 'SIP/2.0 486 Busy Here'");
		return EBADMSG;
	}

	return line_dup(ld, v, "sipfrag", strp);
}


/* recv-info: info package names, a list or one comma-separated line */
static int recv_info_parse(struct loader *ld, const yaml_node_t *v,
			   char **strp)
{
	yaml_node_item_t *it;
	struct mbuf *mb;
	int err = 0;

	if (v->type != YAML_SEQUENCE_NODE)
		return str_dup(strp, scalar(v) ? scalar(v) : "");

	mb = mbuf_alloc(64);
	if (!mb)
		return ENOMEM;

	for (it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		const char *s = scalar(node_get(ld, *it));

		if (!token_valid(s)) {
			node_err(ld, node_get(ld, *it), "bad info package "
				 "name '%s'", s ? s : "");
			err = EBADMSG;
			continue;
		}
		err |= mbuf_printf(mb, "%s%s", mb->end ? ", " : "", s);
	}

	mb->pos = 0;
	if (!err)
		err = mbuf_strdup(mb, strp, mb->end);
	mem_deref(mb);

	return err;
}


static int step_key(struct loader *ld, struct step *step, const char *key,
		    yaml_node_t *k, yaml_node_t *v)
{
	const char *s = scalar(v);

	if (!strcmp(key, "code"))
		return code_parse(ld, v, &step->scode);

	if (!strcmp(key, "reason")) {
		if (!s || strpbrk(s, "\r\n")) {
			node_err(ld, v, "'reason' must be one line of text");
			return EBADMSG;
		}
		return str_dup(&step->reason, s);
	}

	if (!strcmp(key, "delay") || !strcmp(key, "hangup")) {
		uint32_t *msp = key[0] == 'd' ? &step->delay : &step->hangup;

		if (duration_parse(s, msp)) {
			node_err(ld, v, "bad %s '%s': use e.g. 500ms, 2s, "
				 "1.5s or 1m", key, s ? s : "");
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "dialog")) {
		if (uint_parse(s, 1, MAX_DIALOG, &step->dialog)) {
			node_err(ld, v, "'dialog' must be 1..%u",
				 MAX_DIALOG);
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "headers"))
		return headers_parse(ld, v, &step->hdrs);

	if (!strcmp(key, "body")) {
		if (!s) {
			node_err(ld, v, "'body' must be text");
			return EBADMSG;
		}
		step->has_body = true;
		if (step->body_file)
			return 0;  /* reported once the step is read */
		if (subst(ld, v, s, &step->body))
			return EBADMSG;
		step->bodylen = str_len(step->body);
		return 0;
	}

	if (!strcmp(key, "body-file")) {
		step->body_file = true;
		if (step->has_body)
			return 0;  /* reported once the step is read */
		return body_file_load(ld, v, step);
	}

	if (!strcmp(key, "content-type")) {
		if (!s || !strchr(s, '/') || strpbrk(s, "\r\n")) {
			node_err(ld, v, "'content-type' must be a media type "
				 "such as text/plain");
			return EBADMSG;
		}
		return str_dup(&step->ctype, s);
	}

	if (!strcmp(key, "requests"))
		return reqs_parse(ld, v, &step->reqs);

	if (!strcmp(key, "sdp")) {
		bool on;

		if (s && !strcmp(s, "auto"))
			step->sdp = SDP_AUTO;
		else if (!bool_parse(s, &on))
			step->sdp = on ? SDP_ALWAYS : SDP_NONE;
		else {
			node_err(ld, v, "'sdp' must be auto, true or false");
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "reliable")) {
		bool on;

		if (bool_parse(s, &on)) {
			node_err(ld, v, "'reliable' must be true or false");
			return EBADMSG;
		}
		step->reliable = on ? REL_YES : REL_NO;
		return 0;
	}

	if (!strcmp(key, "notify"))
		return notify_parse(ld, v, &step->notifies);

	if (!strcmp(key, "sipfrag"))
		return sipfrag_parse(ld, v, &step->sipfrag);

	if (!strcmp(key, "recv-info"))
		return recv_info_parse(ld, v, &step->recv_info);

	if (!strcmp(key, "media"))
		return scn_media_parse(ld, v, &step->media);

	if (!strcmp(key, "srtp"))
		return scn_srtp_parse(ld, v, &step->srtp);

	if (!strcmp(key, "callback"))
		return callback_parse(ld, v, &step->callback);

	node_err(ld, k, "unknown step key '%s' (expected code, reason, "
		 "delay, headers, body, body-file, content-type, sdp, "
		 "hangup, dialog, reliable, requests, notify, sipfrag, "
		 "recv-info, media, srtp, callback)", key);

	return EBADMSG;
}


static int step_h(struct loader *ld, void *obj, const char *key,
		  yaml_node_t *k, yaml_node_t *v)
{
	struct step *step = obj;

	if (!strcmp(key, "code"))
		step->has_code = true;

	return step_key(ld, step, key, k, v);
}


static int step_parse(struct loader *ld, yaml_node_t *node,
		      struct list *steps)
{
	struct step *step;
	int err = 0;

	step = mem_zalloc(sizeof(*step), step_destructor);
	if (!step)
		return ENOMEM;

	step->dialog = 1;
	list_append(steps, &step->le, step);

	if (node->type == YAML_SCALAR_NODE)
		return code_parse(ld, node, &step->scode);

	if (node->type != YAML_MAPPING_NODE) {
		node_err(ld, node, "a step is a status code or a mapping "
			 "with 'code'");
		return EBADMSG;
	}

	err = mapping_apply(ld, node, "a step", step_h, step);
	if (err == ENOMEM)
		return err;

	if (!step->has_code) {
		node_err(ld, node, "step has no 'code'");
		err = EBADMSG;
	}

	if (step->has_body && step->body_file) {
		node_err(ld, node, "'body' and 'body-file' exclude each "
			 "other");
		err = EBADMSG;
	}

	if (step->body && !step->ctype) {
		err |= str_dup(&step->ctype,
			       strncmp(step->body, "v=0", 3) ?
			       "text/plain" : "application/sdp");
	}

	return err;
}


/* RFC 3261: provisionals come before the one final response */
static int step_check(struct loader *ld, yaml_node_t *node,
		      const struct step *step, bool *finalp)
{
	if (*finalp) {
		node_err(ld, node, step->scode && step->scode < 200 ?
			 "a 1xx after a final response" :
			 "more than one final response");
		return EBADMSG;
	}

	if (step->scode >= 200)
		*finalp = true;

	if (step->hangup && !(step->scode >= 200 && step->scode < 300)) {
		node_err(ld, node, "'hangup' only goes with a 2xx");
		return EBADMSG;
	}

	if (step->callback && step->scode && step->scode < 200) {
		node_err(ld, node, "'callback' only goes with a final "
			 "response");
		return EBADMSG;
	}

	/* RFC 3262 3: 100 is never reliable */
	if (step->reliable == REL_YES && step->scode &&
	    (step->scode <= 100 || step->scode >= 200)) {
		node_err(ld, node, "'reliable: true' only goes with a "
			 "101..199");
		return EBADMSG;
	}

	if (!list_isempty(&step->reqs) &&
	    !(step->scode >= 200 && step->scode < 300)) {
		node_err(ld, node, "'requests' only go with a 2xx");
		return EBADMSG;
	}

	if (step->media && step->scode && step->scode != 183 &&
	    !(step->scode >= 200 && step->scode < 300)) {
		node_err(ld, node, "'media' only goes with a 183 or 2xx");
		return EBADMSG;
	}

	return 0;
}


int reply_parse(struct loader *ld, yaml_node_t *node,
		struct list *steps)
{
	yaml_node_item_t *it, *end;
	bool final = false;
	int err = 0;

	if (node->type != YAML_SEQUENCE_NODE) {
		err = step_parse(ld, node, steps);
		if (!err)
			err = step_check(ld, node, list_ledata(steps->tail),
					 &final);
		return err;
	}

	it  = node->data.sequence.items.start;
	end = node->data.sequence.items.top;

	if (it == end) {
		node_err(ld, node, "empty reply list");
		return EBADMSG;
	}

	for (; it < end; it++) {
		yaml_node_t *item = node_get(ld, *it);
		int e = step_parse(ld, item, steps);

		if (e == ENOMEM)
			return e;
		if (!e)
			e = step_check(ld, item, list_ledata(steps->tail),
				       &final);
		if (e)
			err = EBADMSG;
	}

	return err;
}
