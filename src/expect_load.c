/**
 * @file expect_load.c  The expect: list of a scenario file
 *
 * Each entry says what the client under test must do; expect.c checks
 * it against the messages on the wire. The request's criteria are a
 * rule's match keys (match.c), parsed by the scenario loader's helpers.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <stdlib.h>
#include <sipstub.h>
#include "scenario_int.h"
#include "expect_int.h"


/* Keys given in one entry, to tell its kind and report clashes */
struct entry {
	struct expdef *def;
	yaml_node_t *node;
	yaml_node_t *count, *min, *max, *after, *within, *not_before;
	yaml_node_t *never, *same, *to, *resp_to, *request;
	struct mbuf *after_txt;
	const char *wait_txt;
	const char *within_txt;
};


static void expdef_destructor(void *arg)
{
	struct expdef *def = arg;

	list_unlink(&def->le);
	mem_deref(def->name);
	mem_deref(def->file);
	mem_deref(def->crit);
	mem_deref(def->desc);
	mem_deref(def->after_txt);
	mem_deref(def->after_met);
}


/* 183, 2xx, final: one range of codes */
static int code_spec(struct loader *ld, struct entry *e, yaml_node_t *n)
{
	struct expdef *def = e->def;
	const char *s = scalar(n);
	struct code_range r;
	uint32_t v;

	if (def->afterc >= EXPECT_AFTER_MAX) {
		node_err(ld, n, "at most %u codes in 'after'",
			 EXPECT_AFTER_MAX);
		return EBADMSG;
	}

	if (s && !strcmp(s, "final")) {
		r.lo = 200;
		r.hi = 699;
	}
	else if (s && strlen(s) == 3 && s[0] >= '1' && s[0] <= '6' &&
		 s[1] == 'x' && s[2] == 'x') {
		r.lo = (s[0] - '0') * 100;
		r.hi = r.lo + 99;
	}
	else if (s && !uint_parse(s, 100, 699, &v)) {
		r.lo = r.hi = (uint16_t)v;
	}
	else {
		node_err(ld, n, "'after' takes status codes (183), classes "
			 "(4xx) or 'final', got '%s'",
			 s ? s : "(not a scalar)");
		return EBADMSG;
	}

	def->after[def->afterc++] = r;

	return mbuf_printf(e->after_txt, "%s%s", e->after_txt->end ? "/" : "",
			   s);
}


static int after_parse(struct loader *ld, struct entry *e, yaml_node_t *v)
{
	yaml_node_item_t *it;
	int err = 0;

	if (v->type != YAML_SEQUENCE_NODE)
		return code_spec(ld, e, v);

	if (v->data.sequence.items.start == v->data.sequence.items.top) {
		node_err(ld, v, "empty 'after' list");
		return EBADMSG;
	}

	for (it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		int e2 = code_spec(ld, e, node_get(ld, *it));

		if (e2 == ENOMEM)
			return e2;
		if (e2)
			err = EBADMSG;
	}

	return err;
}


/* 2s | retry-after | expires, each of the last two optionally *F */
static int wait_parse(struct loader *ld, struct expdef *def, yaml_node_t *v)
{
	const char *s = scalar(v), *star;
	size_t n;

	if (s && !duration_parse(s, &def->wait_ms)) {
		def->wait = WAIT_FIXED;
		return 0;
	}

	star = s ? strchr(s, '*') : NULL;
	n = s ? (star ? (size_t)(star - s) : strlen(s)) : 0;

	if (n == 11 && !strncmp(s, "retry-after", n))
		def->wait = WAIT_RETRY_AFTER;
	else if (n == 7 && !strncmp(s, "expires", n))
		def->wait = WAIT_EXPIRES;
	else
		goto bad;

	def->wait_pct = 100;

	if (star) {
		char *end;
		double f = strtod(star + 1, &end);

		if (end == star + 1 || *end || !(f > 0 && f <= 1))
			goto bad;

		def->wait_pct = (uint32_t)(f * 100 + 0.5);
		if (!def->wait_pct)
			goto bad;
	}

	return 0;

 bad:
	node_err(ld, v, "'not-before' takes a time (30s), retry-after or "
		 "expires, the last two optionally times a fraction "
		 "(expires*0.5)");
	return EBADMSG;
}


/* match: as in a rule, less 'method' (that is 'request') and 'nth' */
static int crit_h(struct loader *ld, void *obj, const char *key,
		  yaml_node_t *k, yaml_node_t *v)
{
	if (!strcmp(key, "method") || !strcmp(key, "nth") ||
	    !strcmp(key, "per")) {
		node_err(ld, k, "'%s' does not go in an expectation's "
			 "match (the method is 'request')", key);
		return EBADMSG;
	}

	return match_key(ld, obj, key, k, v);
}


static int num_key(struct loader *ld, yaml_node_t *v, const char *key,
		   uint32_t *vp)
{
	if (uint_parse(scalar(v), 0, 1000000000, vp)) {
		node_err(ld, v, "'%s' must be a number from 0", key);
		return EBADMSG;
	}

	return 0;
}


static int entry_h(struct loader *ld, void *obj, const char *key,
		   yaml_node_t *k, yaml_node_t *v)
{
	struct entry *e = obj;
	struct expdef *def = e->def;
	const char *s = scalar(v);

	if (!strcmp(key, "name")) {
		if (!s || !*s || strpbrk(s, "\r\n")) {
			node_err(ld, v, "'name' must be one line of text");
			return EBADMSG;
		}
		mem_deref(def->name);
		return str_dup(&def->name, s);
	}

	if (!strcmp(key, "request")) {
		e->request = v;
		return methods_parse(ld, v, def->crit);
	}

	if (!strcmp(key, "match"))
		return mapping_apply(ld, v, "'match'", crit_h, def->crit);

	if (!strcmp(key, "count")) {
		e->count = v;
		if (num_key(ld, v, key, &def->min))
			return EBADMSG;
		def->max = def->min;
		return 0;
	}

	if (!strcmp(key, "min")) {
		e->min = v;
		return num_key(ld, v, key, &def->min);
	}

	if (!strcmp(key, "max")) {
		e->max = v;
		return num_key(ld, v, key, &def->max);
	}

	if (!strcmp(key, "after")) {
		e->after = v;
		return after_parse(ld, e, v);
	}

	if (!strcmp(key, "response-to")) {
		e->resp_to = v;
		if (!s || !*s || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
		    strlen(s)) {
			node_err(ld, v, "'response-to' must be a method "
				 "name");
			return EBADMSG;
		}
		return str_dup(&def->after_met, s);
	}

	if (!strcmp(key, "within")) {
		e->within = v;
		e->within_txt = s;
		if (duration_parse(s, &def->within) || !def->within) {
			node_err(ld, v, "bad within '%s': use e.g. 500ms, "
				 "2s or 1m", s ? s : "");
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "not-before")) {
		e->not_before = v;
		e->wait_txt = s;
		return wait_parse(ld, def, v);
	}

	if (!strcmp(key, "never")) {
		bool b;

		e->never = v;
		if (bool_parse(s, &b) || !b) {
			node_err(ld, v, "'never' must be true");
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "same")) {
		e->same = v;
		if (s && !strcmp(s, "call"))
			def->same = SAME_CALL;
		else if (s && !strcmp(s, "address"))
			def->same = SAME_ADDRESS;
		else if (s && !strcmp(s, "any"))
			def->same = SAME_ANY;
		else {
			node_err(ld, v, "'same' must be call, address or "
				 "any");
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "to")) {
		e->to = v;
		if (!s || strcmp(s, "contact")) {
			node_err(ld, v, "'to' must be 'contact'");
			return EBADMSG;
		}
		def->to_contact = true;
		return 0;
	}

	node_err(ld, k, "unknown expect key '%s' (expected name, request, "
		 "match, count, min, max, after, response-to, within, "
		 "not-before, never, same, to)", key);

	return EBADMSG;
}


/* A key that does not go with the entry's kind */
static int clash(struct loader *ld, yaml_node_t *n, const char *what)
{
	if (!n)
		return 0;

	node_err(ld, n, "%s", what);

	return EBADMSG;
}


static int kind_set(struct loader *ld, struct entry *e)
{
	struct expdef *def = e->def;
	unsigned n = !!e->within + !!e->not_before + !!e->never;
	int err = 0;

	if (n > 1) {
		node_err(ld, e->node, "'within', 'not-before' and 'never' "
			 "exclude each other");
		return EBADMSG;
	}

	if (e->after) {
		if (!n) {
			node_err(ld, e->after, "'after' needs 'within', "
				 "'not-before' or 'never'");
			return EBADMSG;
		}
		def->kind = e->within ? EXP_WITHIN : e->not_before ?
			EXP_NOT_BEFORE : EXP_NEVER;
		err |= clash(ld, e->count, "'count' does not go with 'after'");
		err |= clash(ld, e->min, "'min' does not go with 'after'");
		err |= clash(ld, e->max, "'max' does not go with 'after'");
		if (e->to && def->kind != EXP_WITHIN)
			err |= clash(ld, e->to, "'to' goes with 'within'");
	}
	else {
		err |= clash(ld, e->within, "'within' needs 'after'");
		err |= clash(ld, e->not_before, "'not-before' needs 'after'");
		err |= clash(ld, e->never, "'never' needs 'after'");
		err |= clash(ld, e->same, "'same' needs 'after'");
		err |= clash(ld, e->resp_to, "'response-to' needs 'after'");
		def->kind = e->to ? EXP_TARGET : EXP_COUNT;
		if (e->to) {
			err |= clash(ld, e->count, "'count' does not go with "
				     "'to' without 'after'");
			err |= clash(ld, e->min, "'min' does not go with 'to' "
				     "without 'after'");
			err |= clash(ld, e->max, "'max' does not go with 'to' "
				     "without 'after'");
		}
	}

	if (err)
		return err;

	if (!e->request && def->kind != EXP_TARGET) {
		node_err(ld, e->node, "expectation has no 'request'");
		return EBADMSG;
	}

	if (def->kind == EXP_COUNT) {
		if (!e->count && !e->min && !e->max)
			def->min = 1;
		if (!e->count && !e->max)
			def->max = UINT32_MAX;
		if (def->min > def->max) {
			node_err(ld, e->min, "'min' is more than 'max'");
			return EBADMSG;
		}
		if (e->count && (e->min || e->max)) {
			node_err(ld, e->count, "'count' excludes 'min' and "
				 "'max'");
			return EBADMSG;
		}
	}

	return 0;
}


static int methods_print(struct re_printf *pf, const struct rule *r)
{
	size_t i;
	int err = 0;

	if (!r->methodc)
		return re_hprintf(pf, "requests");

	for (i = 0; i < r->methodc; i++)
		err |= re_hprintf(pf, "%s%s", i ? "|" : "", r->methods[i]);

	return err;
}


static int crit_print(struct re_printf *pf, const struct rule *r)
{
	const char *sep = " (";
	struct le *le;
	int err = 0;

	err |= methods_print(pf, r);

	if (r->user) {
		err |= re_hprintf(pf, "%suser %s", sep, r->user);
		sep = ", ";
	}
	if (r->user_re) {
		err |= re_hprintf(pf, "%suser-regex", sep);
		sep = ", ";
	}
	LIST_FOREACH(&r->hdrm, le) {
		const struct hdrmatch *hm = le->data;

		err |= re_hprintf(pf, "%swith %s", sep, hm->name);
		sep = ", ";
	}
	if (r->in_dialog != DLG_ANY) {
		err |= re_hprintf(pf, "%s%s", sep, r->in_dialog == DLG_YES ?
				  "in-dialog" : "out of dialog");
		sep = ", ";
	}
	if (*sep == ',')
		err |= re_hprintf(pf, ")");

	return err;
}


static int desc_print(struct re_printf *pf, const struct entry *e)
{
	const struct expdef *def = e->def;
	const char *same = def->same == SAME_ADDRESS ? " (same address)" :
		def->same == SAME_ANY ? " (any call)" : "";
	int err = 0;

	switch (def->kind) {

	case EXP_COUNT:
		err |= crit_print(pf, def->crit);
		if (def->min == def->max)
			err |= re_hprintf(pf, " exactly %u time%s", def->min,
					  def->min == 1 ? "" : "s");
		else if (def->max == UINT32_MAX)
			err |= re_hprintf(pf, " at least %u time%s", def->min,
					  def->min == 1 ? "" : "s");
		else if (!def->min)
			err |= re_hprintf(pf, " at most %u time%s", def->max,
					  def->max == 1 ? "" : "s");
		else
			err |= re_hprintf(pf, " %u to %u times", def->min,
					  def->max);
		break;

	case EXP_WITHIN:
		err |= crit_print(pf, def->crit);
		if (def->to_contact)
			err |= re_hprintf(pf, " to its Contact");
		err |= re_hprintf(pf, " within %s after %b%s", e->within_txt,
				  e->after_txt->buf, e->after_txt->end, same);
		break;

	case EXP_NOT_BEFORE:
		err |= re_hprintf(pf, "no ");
		err |= crit_print(pf, def->crit);
		err |= re_hprintf(pf, " sooner than %s after %b%s",
				  e->wait_txt, e->after_txt->buf,
				  e->after_txt->end, same);
		break;

	case EXP_NEVER:
		err |= re_hprintf(pf, "no ");
		err |= crit_print(pf, def->crit);
		err |= re_hprintf(pf, " after %b%s", e->after_txt->buf,
				  e->after_txt->end, same);
		break;

	case EXP_TARGET:
		err |= crit_print(pf, def->crit);
		err |= re_hprintf(pf, " in a dialog to the Contact sipstub "
				  "gave");
		break;
	}

	return err;
}


/* The method of the responses that 'after' means, if not given */
static int after_met_default(struct expdef *def)
{
	const char *m = def->crit->methodc ? def->crit->methods[0] : NULL;

	if (def->after_met || !def->afterc || !m)
		return 0;

	if (!strcmp(m, "ACK") || !strcmp(m, "CANCEL") || !strcmp(m, "PRACK"))
		m = "INVITE";

	return str_dup(&def->after_met, m);
}


static int entry_parse(struct loader *ld, yaml_node_t *node)
{
	struct entry e;
	struct expdef *def;
	const char *slash;
	int err;

	memset(&e, 0, sizeof(e));
	e.node = node;

	def = mem_zalloc(sizeof(*def), expdef_destructor);
	if (!def)
		return ENOMEM;

	list_append(&ld->scn->expects, &def->le, def);
	e.def = def;

	def->line = (uint32_t)node->start_mark.line + 1;
	slash = strrchr(ld->file, '/');
	err  = str_dup(&def->file, slash ? slash + 1 : ld->file);
	err |= re_sdprintf(&def->name, "%s:%u", def->file, def->line);
	def->crit = mem_zalloc(sizeof(*def->crit), rule_destructor);
	e.after_txt = mbuf_alloc(32);
	if (err || !def->crit || !e.after_txt) {
		err = ENOMEM;
		goto out;
	}

	err = mapping_apply(ld, node, "an expectation", entry_h, &e);
	if (err)
		goto out;

	err = kind_set(ld, &e);
	if (err)
		goto out;

	err  = after_met_default(def);
	err |= re_sdprintf(&def->desc, "%H", desc_print, &e);
	if (e.after_txt->end)
		err |= re_sdprintf(&def->after_txt, "%b", e.after_txt->buf,
				   e.after_txt->end);

 out:
	mem_deref(e.after_txt);

	return err;
}


/**
 * Load a scenario's expect: list
 *
 * @param ld   Loader
 * @param node The list
 *
 * @return 0 if valid, EBADMSG after reporting errors, else errorcode
 */
int expect_parse(struct loader *ld, yaml_node_t *node)
{
	yaml_node_item_t *it;
	int err = 0;

	if (node->type != YAML_SEQUENCE_NODE) {
		node_err(ld, node, "'expect' must be a list");
		return EBADMSG;
	}

	for (it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++) {
		int e = entry_parse(ld, node_get(ld, *it));

		if (e == ENOMEM)
			return e;
		if (e)
			err = EBADMSG;
	}

	return err;
}


/**
 * The number of expectations a scenario holds
 */
uint32_t scenario_expect_count(const struct scenario *scn)
{
	return scn ? list_count(&scn->expects) : 0;
}
