/**
 * @file scn_rule.c  Rules of a scenario: rule and match keys
 *
 * A rule is a mapping (name, match, reply, auth, registrar, ...) or
 * the simple form METHOD: codes. Match keys compile their regular
 * expressions here; auth and registrar hand their keys to the module.
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

#define DEBUG_MODULE "scn_rule"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


static void regex_destructor(void *arg)
{
	struct regex *r = arg;

	if (r->compiled)
		regfree(&r->re);
}


static void hdrmatch_destructor(void *arg)
{
	struct hdrmatch *hm = arg;

	list_unlink(&hm->le);
	mem_deref(hm->name);
	mem_deref(hm->re);
}


void rule_destructor(void *arg)
{
	struct rule *rule = arg;
	size_t i;

	list_unlink(&rule->le);
	list_flush(&rule->lru);
	mem_deref(rule->counts);
	list_flush(&rule->steps);
	list_flush(&rule->hdrm);
	for (i = 0; i < rule->methodc; i++)
		mem_deref(rule->methods[i]);
	mem_deref(rule->methods);
	mem_deref(rule->user);
	mem_deref(rule->user_re);
	mem_deref(rule->timer);
	mem_deref(rule->name);
	mem_deref(rule->auth);
	mem_deref(rule->reg);
}


/* Compact forms: RFC 3261 7.3.3, RFC 3265, 3515, 3841, 3892, 4028,
 * 4474 */
static const char *compact_name(const char *name)
{
	static const struct {
		const char *name;
		const char *compact;
	} tab[] = {
		{"Accept-Contact", "a"}, {"Allow-Events", "u"},
		{"Call-ID", "i"}, {"Contact", "m"},
		{"Content-Encoding", "e"}, {"Content-Length", "l"},
		{"Content-Type", "c"}, {"Event", "o"}, {"From", "f"},
		{"Identity", "y"}, {"Identity-Info", "n"},
		{"Refer-To", "r"}, {"Referred-By", "b"},
		{"Reject-Contact", "j"}, {"Request-Disposition", "d"},
		{"Session-Expires", "x"}, {"Subject", "s"},
		{"Supported", "k"}, {"To", "t"}, {"Via", "v"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tab); i++) {
		if (!str_casecmp(tab[i].name, name))
			return tab[i].compact;
	}

	return NULL;
}


enum {
	REGEX_LEN_MAX = 512,
	REGEX_REPEAT_MAX = 1000,
};


/* glibc's regcomp() copies a repeated subexpression for each repeat, so
 * "a+++..." or "((a{99}){99}){99}" takes gigabytes: refuse stacked
 * quantifiers and bound the product of the {m,n} counts */
static const char *regex_too_costly(const char *pat)
{
	uint64_t product = 1;
	bool quant = false, bracket = false;
	size_t i, n = strlen(pat);

	if (n > REGEX_LEN_MAX)
		return "longer than 512 characters";

	for (i = 0; i < n; i++) {
		const char c = pat[i];

		if (bracket) {
			if (c == ']' && pat[i - 1] != '[')
				bracket = false;
			continue;
		}

		if (c == '\\') {
			++i;
			quant = false;
			continue;
		}

		if (c == '[') {
			bracket = true;
			if (pat[i + 1] == '^')
				++i;
			quant = false;
			continue;
		}

		if (c == '*' || c == '+' || c == '?' || c == '{') {
			unsigned long max = 0;

			if (quant)
				return "a quantifier follows a quantifier";
			quant = true;

			if (c != '{')
				continue;

			/* {m}, {m,}, {m,n}: the larger count, m+1 for {m,} */
			for (++i; i < n && pat[i] != '}'; i++) {
				if (pat[i] >= '0' && pat[i] <= '9')
					max = MIN(max * 10 + (pat[i] - '0'),
						  100000UL);
				else if (pat[i] == ',' && pat[i + 1] == '}')
					++max;
				else if (pat[i] == ',')
					max = 0;
			}

			product *= MAX(max, 1UL);
			if (product > REGEX_REPEAT_MAX)
				return "its {m,n} counts multiply to more "
					"than 1000";
			continue;
		}

		quant = false;
	}

	return NULL;
}


static int regex_compile(struct loader *ld, const yaml_node_t *node,
			 struct regex **rp)
{
	const char *pat = scalar(node);
	const char *why;
	struct regex *r;
	char msg[128];
	int rc;

	if (!pat) {
		node_err(ld, node, "expected a regular expression");
		return EBADMSG;
	}

	why = regex_too_costly(pat);
	if (why) {
		node_err(ld, node, "regex too costly to compile: %s", why);
		return EBADMSG;
	}

	r = mem_zalloc(sizeof(*r), regex_destructor);
	if (!r)
		return ENOMEM;

	rc = regcomp(&r->re, pat, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		(void)regerror(rc, &r->re, msg, sizeof(msg));
		node_err(ld, node, "bad regex '%s': %s", pat, msg);
		mem_deref(r);
		return EBADMSG;
	}

	r->compiled = true;
	*rp = r;

	return 0;
}


static int rule_new(struct loader *ld, const yaml_node_t *node,
		    struct rule **rulep)
{
	struct rule *rule;
	int err;

	rule = mem_zalloc(sizeof(*rule), rule_destructor);
	if (!rule)
		return ENOMEM;

	rule->auto100 = true;
	rule->check199 = true;

	err = re_sdprintf(&rule->name, "%s:%zu", ld->file,
			  node->start_mark.line + 1);
	if (err) {
		mem_deref(rule);
		return err;
	}

	list_append(&ld->scn->rules, &rule->le, rule);
	*rulep = rule;

	return 0;
}


int methods_parse(struct loader *ld, yaml_node_t *node, struct rule *rule)
{
	yaml_node_item_t *it = NULL, *end = NULL;
	int err = 0;
	size_t n = 1;

	if (node->type == YAML_SEQUENCE_NODE) {
		it = node->data.sequence.items.start;
		end = node->data.sequence.items.top;
		n = end - it;
	}

	rule->methods = mem_zalloc(n * sizeof(char *), NULL);
	if (!rule->methods)
		return ENOMEM;

	for (size_t i = 0; i < n; i++) {
		yaml_node_t *m = it ? node_get(ld, it[i]) : node;
		const char *s = scalar(m);

		if (!method_valid(s)) {
			node_err(ld, m, "bad method '%s' (upper-case SIP "
				 "token expected)", s ? s : "");
			err = EBADMSG;
			continue;
		}

		err |= str_dup(&rule->methods[rule->methodc++], s);
	}

	return err;
}


int match_key(struct loader *ld, struct rule *rule, const char *key,
	      yaml_node_t *k, yaml_node_t *v)
{
	const char *s = scalar(v);
	bool b;

	if (!strcmp(key, "method"))
		return methods_parse(ld, v, rule);

	if (!strcmp(key, "user")) {
		if (!s) {
			node_err(ld, v, "'user' must be text");
			return EBADMSG;
		}
		return str_dup(&rule->user, s);
	}

	if (!strcmp(key, "user-regex"))
		return regex_compile(ld, v, &rule->user_re);

	if (!strcmp(key, "headers")) {
		yaml_node_pair_t *pair;
		int err = 0;

		if (v->type != YAML_MAPPING_NODE) {
			node_err(ld, v, "'headers' must map header names "
				 "to regular expressions");
			return EBADMSG;
		}

		for (pair = v->data.mapping.pairs.start;
		     pair < v->data.mapping.pairs.top; pair++) {
			yaml_node_t *hk = node_get(ld, pair->key);
			struct hdrmatch *hm;

			if (key_dup(ld, v, pair)) {
				err = EBADMSG;
				continue;
			}

			if (!token_valid(scalar(hk))) {
				node_err(ld, hk, "bad header name");
				err = EBADMSG;
				continue;
			}

			hm = mem_zalloc(sizeof(*hm), hdrmatch_destructor);
			if (!hm)
				return ENOMEM;

			list_append(&rule->hdrm, &hm->le, hm);
			err |= str_dup(&hm->name, scalar(hk));
			hm->compact = compact_name(scalar(hk));
			if (regex_compile(ld, node_get(ld, pair->value),
					  &hm->re))
				err = EBADMSG;
		}

		return err;
	}

	if (!strcmp(key, "nth")) {
		if (uint_parse(s, 1, UINT32_MAX, &rule->nth)) {
			node_err(ld, v, "'nth' must be a number from 1");
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "per")) {
		if (s && !strcmp(s, "call"))
			rule->per_call = true;
		else if (s && !strcmp(s, "global"))
			rule->per_call = false;
		else {
			node_err(ld, v, "'per' must be 'call' or 'global'");
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "in-dialog")) {
		if (bool_parse(s, &b)) {
			node_err(ld, v, "'in-dialog' must be true or false");
			return EBADMSG;
		}
		rule->in_dialog = b ? DLG_YES : DLG_NO;
		return 0;
	}

	node_err(ld, k, "unknown match key '%s' (expected method, user, "
		 "user-regex, headers, nth, per, in-dialog)", key);

	return EBADMSG;
}


static int match_h(struct loader *ld, void *obj, const char *key,
		   yaml_node_t *k, yaml_node_t *v)
{
	return match_key(ld, obj, key, k, v);
}


/* --- keys a module interprets itself (auth, registrar) --- */

typedef int (cfg_set_h)(void *obj, const char *key, const char *sub,
			const char *val, const char **errp);

static int cfg_value(struct loader *ld, const yaml_node_t *node,
		     cfg_set_h *seth, void *obj, const char *key,
		     const char *sub)
{
	const char *errmsg = "bad value";
	char *val = NULL;
	int err;

	if (!scalar(node)) {
		node_err(ld, node, "'%s' must be text here", key);
		return EBADMSG;
	}

	err = subst(ld, node, scalar(node), &val);
	if (err)
		return err;

	err = seth(obj, key, sub, val, &errmsg);
	if (err && err != ENOMEM) {
		node_err(ld, node, "%s: %s", key, errmsg);
		err = EBADMSG;
	}

	mem_deref(val);

	return err;
}


/* A mapping of scalars, lists of scalars, or mappings of scalars, each
 * value handed to seth */
static int cfg_parse(struct loader *ld, yaml_node_t *node, const char *what,
		     cfg_set_h *seth, void *obj)
{
	yaml_node_pair_t *pair;
	int err = 0;

	if (node->type != YAML_MAPPING_NODE) {
		node_err(ld, node, "'%s' must be a mapping", what);
		return EBADMSG;
	}

	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top && err != ENOMEM; pair++) {
		yaml_node_t *k = node_get(ld, pair->key);
		yaml_node_t *v = node_get(ld, pair->value);
		const char *key = scalar(k);
		yaml_node_item_t *it;
		yaml_node_pair_t *p;

		if (key_dup(ld, node, pair) || !key || !v) {
			err = EBADMSG;
			continue;
		}

		switch (v->type) {

		case YAML_SEQUENCE_NODE:
			for (it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++)
				err |= cfg_value(ld, node_get(ld, *it), seth,
						 obj, key, NULL);
			break;

		case YAML_MAPPING_NODE:
			for (p = v->data.mapping.pairs.start;
			     p < v->data.mapping.pairs.top; p++) {
				const char *sub = scalar(node_get(ld, p->key));

				if (!sub || key_dup(ld, v, p)) {
					err = EBADMSG;
					continue;
				}
				err |= cfg_value(ld, node_get(ld, p->value),
						 seth, obj, key, sub);
			}
			break;

		default:
			err |= cfg_value(ld, v, seth, obj, key, NULL);
			break;
		}
	}

	return err == ENOMEM ? ENOMEM : err ? EBADMSG : 0;
}


static int auth_parse(struct loader *ld, struct rule *rule, yaml_node_t *v)
{
	const char *missing;
	int err;

	err = auth_alloc(&rule->auth);
	if (err)
		return err;

	err = cfg_parse(ld, v, "auth", auth_set, rule->auth);
	if (err)
		return err;

	missing = auth_complete(rule->auth);
	if (missing) {
		node_err(ld, v, "%s", missing);
		return EBADMSG;
	}

	return 0;
}


static int registrar_parse(struct loader *ld, struct rule *rule,
			   yaml_node_t *v)
{
	const char *bad;
	int err;

	if (!ld->scn->reg) {
		err = registrar_alloc(&ld->scn->reg);
		if (err)
			return err;
	}

	err = regcfg_alloc(&rule->reg, ld->scn->reg);
	if (err)
		return err;

	/* registrar: {} or registrar: true */
	if (v->type == YAML_SCALAR_NODE && !strcmp(scalar(v), "true"))
		return 0;

	err = cfg_parse(ld, v, "registrar", regcfg_set, rule->reg);
	if (err)
		return err;

	bad = regcfg_complete(rule->reg);
	if (bad) {
		node_err(ld, v, "%s", bad);
		return EBADMSG;
	}

	return 0;
}


static int rule_h(struct loader *ld, void *obj, const char *key,
		  yaml_node_t *k, yaml_node_t *v)
{
	struct rule *rule = obj;
	const char *s = scalar(v);

	if (!strcmp(key, "match"))
		return mapping_apply(ld, v, "'match'", match_h, rule);

	if (!strcmp(key, "reply"))
		return reply_parse(ld, v, &rule->steps);

	if (!strcmp(key, "name")) {
		if (!s) {
			node_err(ld, v, "'name' must be text");
			return EBADMSG;
		}
		mem_deref(rule->name);
		return str_dup(&rule->name, s);
	}

	if (!strcmp(key, "auth"))
		return auth_parse(ld, rule, v);

	if (!strcmp(key, "registrar"))
		return registrar_parse(ld, rule, v);

	if (!strcmp(key, "auto-100") || !strcmp(key, "check-199")) {
		bool *bp = key[0] == 'a' ? &rule->auto100 : &rule->check199;

		if (bool_parse(s, bp)) {
			node_err(ld, v, "'%s' must be true or false", key);
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "session-timer"))
		return timer_cfg_parse(ld, v, &rule->timer);

	node_err(ld, k, "unknown rule key '%s' (expected name, match, "
		 "reply, auto-100, check-199, auth, registrar, "
		 "session-timer)", key);

	return EBADMSG;
}


int rule_parse(struct loader *ld, yaml_node_t *node)
{
	struct rule *rule;
	int err;

	err = rule_new(ld, node, &rule);
	if (err)
		return err;

	err = mapping_apply(ld, node, "a rule", rule_h, rule);
	if (err)
		return err;

	/* a registrar answers REGISTER itself */
	if (list_isempty(&rule->steps) &&
	    !(rule->reg && rule->methodc == 1 &&
	      !str_casecmp(rule->methods[0], "REGISTER"))) {
		node_err(ld, node, rule->reg ? "a 'registrar' rule without "
			 "'reply' must match method REGISTER only" :
			 "rule has no 'reply'");
		return EBADMSG;
	}

	if (rule->nth)
		++ld->scn->nthc;

	return 0;
}


/* Simple form: METHOD: code | [codes] */
int simple_rule_parse(struct loader *ld, yaml_node_t *k,
		      yaml_node_t *v, const char *method)
{
	struct rule *rule;
	int err;

	if (!method_valid(method)) {
		node_err(ld, k, "unknown key '%s' (expected vars, rules, "
			 "expect or an upper-case method name)", method);
		return EBADMSG;
	}

	err = rule_new(ld, k, &rule);
	if (err)
		return err;

	err = methods_parse(ld, k, rule);
	if (err)
		return err;

	/* an initial INVITE; re-INVITEs keep the dialog going */
	if (!strcmp(method, "INVITE"))
		rule->in_dialog = DLG_NO;

	return reply_parse(ld, v, &rule->steps);
}
