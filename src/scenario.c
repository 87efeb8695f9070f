/**
 * @file scenario.c  Scenario files (YAML, libyaml) and their validation
 *
 * A scenario is an ordered list of rules (match.c finds the one that
 * answers a request). Files are checked completely at load time and
 * every error is reported as file:line:col.
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

#define DEBUG_MODULE "scenario"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


static void scenario_destructor(void *arg)
{
	struct scenario *scn = arg;

	list_flush(&scn->rules);
	mem_deref(scn->reg);
	list_flush(&scn->expects);
}


static void regex_destructor(void *arg)
{
	struct regex *r = arg;

	if (r->compiled)
		regfree(&r->re);
}


static void hdrval_destructor(void *arg)
{
	struct hdrval *hv = arg;

	list_unlink(&hv->le);
	mem_deref(hv->name);
	mem_deref(hv->value);
}


static void ntfspec_destructor(void *arg)
{
	struct ntfspec *n = arg;

	list_unlink(&n->le);
	mem_deref(n->state);
	mem_deref(n->body);
	mem_deref(n->ctype);
}


static void hdrmatch_destructor(void *arg)
{
	struct hdrmatch *hm = arg;

	list_unlink(&hm->le);
	mem_deref(hm->name);
	mem_deref(hm->re);
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


/* --- errors and YAML node helpers --- */

void node_err(struct loader *ld, const yaml_node_t *node,
	      const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	++ld->nerr;

	if (ld->errh) {
		ld->errh(ld->file, node ? node->start_mark.line + 1 : 1,
			 node ? node->start_mark.column + 1 : 1, msg,
			 ld->arg);
	}
}


yaml_node_t *node_get(struct loader *ld, int id)
{
	return yaml_document_get_node(ld->doc, id);
}


const char *scalar(const yaml_node_t *node)
{
	if (!node || node->type != YAML_SCALAR_NODE)
		return NULL;

	return (const char *)node->data.scalar.value;
}


/* A key seen before in the same mapping: report it, once */
static bool key_dup(struct loader *ld, const yaml_node_t *map,
		    const yaml_node_pair_t *pair)
{
	const char *key = scalar(node_get(ld, pair->key));
	const yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start; key && p < pair; p++) {
		const char *prev = scalar(node_get(ld, p->key));

		if (prev && !strcmp(prev, key)) {
			node_err(ld, node_get(ld, pair->key),
				 "duplicate key '%s'", key);
			return true;
		}
	}

	return false;
}


/* Replace ${var} from the vars: section; run-time names stay */
int subst(struct loader *ld, const yaml_node_t *node,
	  const char *in, char **outp)
{
	struct mbuf *mb;
	const char *p = in;
	int err = 0;

	mb = mbuf_alloc(strlen(in) + 1);
	if (!mb)
		return ENOMEM;

	while (*p) {
		const char *open = strstr(p, "${"), *close;
		struct le *le;
		bool found = false;
		size_t n;

		if (!open) {
			err |= mbuf_write_str(mb, p);
			break;
		}

		close = strchr(open + 2, '}');
		if (!close) {
			node_err(ld, node, "unterminated '${' in '%s'", in);
			err = EBADMSG;
			goto out;
		}

		err |= mbuf_write_mem(mb, (const uint8_t *)p, open - p);
		n = close - open - 2;

		LIST_FOREACH(&ld->vars, le) {
			const struct hdrval *var = le->data;

			if (strlen(var->name) == n &&
			    !memcmp(var->name, open + 2, n)) {
				err |= mbuf_write_str(mb, var->value);
				found = true;
				break;
			}
		}

		if (!found) {
			if (!expand_name_valid(open + 2, n)) {
				node_err(ld, node, "unknown variable '${%b}'",
					 open + 2, n);
				err = EBADMSG;
				goto out;
			}
			err |= mbuf_write_mem(mb, (const uint8_t *)open,
					      n + 3);
		}

		p = close + 1;
	}

	if (err)
		goto out;

	mb->pos = 0;
	err = mbuf_strdup(mb, outp, mbuf_get_left(mb));

 out:
	mem_deref(mb);
	return err;
}


/* --- scalar parsers --- */

/**
 * Parse a duration: 500ms, 2s, 1.5s, 1m
 */
int duration_parse(const char *s, uint32_t *msp)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+')
		return EINVAL;

	v = strtod(s, &end);
	if (end == s)
		return EINVAL;

	if (!strcmp(end, "ms"))
		;
	else if (!strcmp(end, "s"))
		v *= 1000;
	else if (!strcmp(end, "m"))
		v *= 60000;
	else
		return EINVAL;

	if (!(v >= 0 && v <= 86400000.0))   /* NaN fails too */
		return ERANGE;

	*msp = (uint32_t)v;

	return 0;
}


int uint_parse(const char *s, uint32_t min, uint32_t max, uint32_t *vp)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return EINVAL;

	v = strtoul(s, &end, 10);
	if (*end || v < min || v > max)
		return ERANGE;

	*vp = (uint32_t)v;

	return 0;
}


int bool_parse(const char *s, bool *vp)
{
	if (!s)
		return EINVAL;

	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) {
		*vp = true;
		return 0;
	}

	if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) {
		*vp = false;
		return 0;
	}

	return EINVAL;
}


static bool token_valid(const char *s)
{
	const char *p;

	if (!s || !*s)
		return false;

	/* RFC 3261 25.1 token */
	for (p = s; *p; p++) {
		if (!(isalnum((unsigned char)*p) ||
		      strchr("-.!%*_+`'~", *p)))
			return false;
	}

	return true;
}


static bool method_valid(const char *s)
{
	const char *p;

	if (!token_valid(s))
		return false;

	for (p = s; *p; p++) {
		if (islower((unsigned char)*p))
			return false;
	}

	return true;
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


/* Call h for each key of a mapping; duplicates are errors, skipped */
int mapping_apply(struct loader *ld, yaml_node_t *node, const char *what,
		  loader_key_h *h, void *obj)
{
	yaml_node_pair_t *pair;
	int err = 0;

	if (node->type != YAML_MAPPING_NODE) {
		node_err(ld, node, "%s must be a mapping", what);
		return EBADMSG;
	}

	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_get(ld, pair->key);
		yaml_node_t *v = node_get(ld, pair->value);
		const char *key = scalar(k);
		int e;

		if (key_dup(ld, node, pair)) {
			err = EBADMSG;
			continue;
		}

		if (!key) {
			node_err(ld, k, "keys in %s must be text", what);
			err = EBADMSG;
			continue;
		}

		e = h(ld, obj, key, k, v);
		if (e == ENOMEM)
			return e;
		if (e)
			err = EBADMSG;
	}

	return err;
}


/* --- steps --- */

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


static int reply_parse(struct loader *ld, yaml_node_t *node,
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


/* --- rules --- */

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


static int rule_parse(struct loader *ld, yaml_node_t *node)
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
static int simple_rule_parse(struct loader *ld, yaml_node_t *k,
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


static int vars_parse(struct loader *ld, yaml_node_t *node)
{
	yaml_node_pair_t *pair;
	int err = 0;

	if (node->type != YAML_MAPPING_NODE) {
		node_err(ld, node, "'vars' must be a mapping");
		return EBADMSG;
	}

	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_get(ld, pair->key);
		yaml_node_t *v = node_get(ld, pair->value);
		const char *name = scalar(k), *val = scalar(v);
		struct hdrval *var;

		if (key_dup(ld, node, pair)) {
			err = EBADMSG;
			continue;
		}

		if (!token_valid(name) || !val) {
			node_err(ld, k, "a variable is a name and a text "
				 "value");
			err = EBADMSG;
			continue;
		}

		if (expand_name_valid(name, strlen(name))) {
			node_err(ld, k, "'%s' is a built-in name", name);
			err = EBADMSG;
			continue;
		}

		var = mem_zalloc(sizeof(*var), hdrval_destructor);
		if (!var)
			return ENOMEM;

		list_append(&ld->vars, &var->le, var);
		err |= str_dup(&var->name, name);
		if (subst(ld, v, val, &var->value))
			err = EBADMSG;
	}

	return err;
}


static int doc_parse(struct loader *ld)
{
	yaml_node_t *root = yaml_document_get_root_node(ld->doc);
	yaml_node_pair_t *pair;
	int err = 0;

	if (!root)
		return 0;   /* empty file: only the built-in rules */

	if (root->type != YAML_MAPPING_NODE) {
		node_err(ld, root, "a scenario is a mapping (METHOD: codes, "
			 "or vars: and rules:)");
		return EBADMSG;
	}

	/* vars first, wherever they stand */
	for (pair = root->data.mapping.pairs.start;
	     pair < root->data.mapping.pairs.top; pair++) {
		const char *key = scalar(node_get(ld, pair->key));

		if (key && !strcmp(key, "vars")) {
			err |= vars_parse(ld, node_get(ld, pair->value));
			break;
		}
	}

	for (pair = root->data.mapping.pairs.start;
	     pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_get(ld, pair->key);
		yaml_node_t *v = node_get(ld, pair->value);
		const char *key = scalar(k);
		int e = 0;

		if (!key) {
			node_err(ld, k, "top-level keys must be text");
			err = EBADMSG;
			continue;
		}

		if (key_dup(ld, root, pair)) {
			err = EBADMSG;
			continue;
		}

		if (!strcmp(key, "vars"))
			continue;

		if (!strcmp(key, "expect")) {
			e = expect_parse(ld, v);
			if (e == ENOMEM)
				return e;
			if (e)
				err = EBADMSG;
			continue;
		}

		if (!strcmp(key, "rules")) {
			if (v->type != YAML_SEQUENCE_NODE) {
				node_err(ld, v, "'rules' must be a list");
				err = EBADMSG;
				continue;
			}

			for (yaml_node_item_t *it =
				     v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++) {
				e = rule_parse(ld, node_get(ld, *it));
				if (e == ENOMEM)
					return e;
				if (e)
					err = EBADMSG;
			}
			continue;
		}

		e = simple_rule_parse(ld, k, v, key);
		if (e == ENOMEM)
			return e;
		if (e)
			err = EBADMSG;
	}

	return err;
}


/* One document per file: a second one would go unread */
static void extra_doc_check(struct loader *ld, yaml_parser_t *parser)
{
	yaml_document_t doc;
	yaml_node_t *root;

	if (!yaml_parser_load(parser, &doc)) {
		char msg[256];

		(void)re_snprintf(msg, sizeof(msg), "YAML: %s",
				  parser->problem ? parser->problem : "error");
		++ld->nerr;
		if (ld->errh)
			ld->errh(ld->file, parser->problem_mark.line + 1,
				 parser->problem_mark.column + 1, msg,
				 ld->arg);
		return;
	}

	root = yaml_document_get_root_node(&doc);
	if (root)
		node_err(ld, root, "only one YAML document per scenario file");

	yaml_document_delete(&doc);
}


static void loader_reset(struct loader *ld)
{
	list_flush(&ld->vars);
	ld->dir = mem_deref(ld->dir);
}


/**
 * Allocate an empty scenario
 *
 * @param scnp Scenario, set on success
 *
 * @return 0 if success, otherwise errorcode
 */
int scenario_alloc(struct scenario **scnp)
{
	struct scenario *scn;

	if (!scnp)
		return EINVAL;

	scn = mem_zalloc(sizeof(*scn), scenario_destructor);
	if (!scn)
		return ENOMEM;

	*scnp = scn;

	return 0;
}


/**
 * Load scenario rules from a buffer and append them to the scenario
 *
 * @param scn  Scenario
 * @param name File name for error messages (and relative body files)
 * @param buf  YAML text
 * @param len  Length of buf
 * @param errh Called for every error found
 * @param arg  Handler argument
 *
 * @return 0 if valid, EBADMSG if any error was reported, else errorcode
 */
int scenario_load_buf(struct scenario *scn, const char *name,
		      const char *buf, size_t len,
		      scenario_err_h *errh, void *arg)
{
	struct loader ld;
	yaml_parser_t parser;
	yaml_document_t doc;
	struct le *tail, *etail;
	const char *slash;
	int err = 0;

	if (!scn || !name || (!buf && len))
		return EINVAL;

	memset(&ld, 0, sizeof(ld));
	ld.scn  = scn;
	ld.file = name;
	ld.errh = errh;
	ld.arg  = arg;
	ld.doc  = &doc;

	slash = strrchr(name, '/');
	if (slash)
		(void)re_sdprintf(&ld.dir, "%b", name, (size_t)(slash - name));

	tail = scn->rules.tail;
	etail = scn->expects.tail;

	if (!yaml_parser_initialize(&parser)) {
		err = ENOMEM;
		goto out;
	}

	yaml_parser_set_input_string(&parser, (const unsigned char *)buf,
				     len);

	if (!yaml_parser_load(&parser, &doc)) {
		char msg[256];

		(void)re_snprintf(msg, sizeof(msg), "YAML: %s%s%s",
				  parser.problem ? parser.problem : "error",
				  parser.context ? " " : "",
				  parser.context ? parser.context : "");
		++ld.nerr;
		if (errh)
			errh(name, parser.problem_mark.line + 1,
			     parser.problem_mark.column + 1, msg, arg);
		yaml_parser_delete(&parser);
		err = EBADMSG;
		goto out;
	}

	err = doc_parse(&ld);
	yaml_document_delete(&doc);

	if (err != ENOMEM)
		extra_doc_check(&ld, &parser);

	if (!err && ld.nerr)
		err = EBADMSG;

	yaml_parser_delete(&parser);

 out:
	if (err) {
		/* drop the rules of this file, keep what came before */
		while (scn->rules.tail != tail)
			mem_deref(scn->rules.tail->data);
		while (scn->expects.tail != etail)
			mem_deref(scn->expects.tail->data);
	}

	loader_reset(&ld);

	return err;
}


/**
 * Load a scenario file and append its rules
 *
 * @param scn  Scenario
 * @param path File path
 * @param errh Called for every error found
 * @param arg  Handler argument
 *
 * @return 0 if valid, otherwise errorcode
 */
int scenario_load_file(struct scenario *scn, const char *path,
		       scenario_err_h *errh, void *arg)
{
	struct mbuf *mb;
	uint8_t buf[4096];
	FILE *f;
	size_t n;
	int err = 0;

	if (!scn || !path)
		return EINVAL;

	f = fopen(path, "rb");
	if (!f) {
		char msg[128];

		(void)re_snprintf(msg, sizeof(msg), "cannot open: %m", errno);
		if (errh)
			errh(path, 1, 1, msg, arg);
		return ENOENT;
	}

	mb = mbuf_alloc(sizeof(buf));
	if (!mb) {
		fclose(f);
		return ENOMEM;
	}

	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && !err) {
		err = mbuf_write_mem(mb, buf, n);
		if (mb->end > 4 * 1024 * 1024) {
			if (errh)
				errh(path, 1, 1, "file larger than 4 MiB",
				     arg);
			err = EFBIG;
		}
	}

	if (!err && ferror(f)) {
		if (errh)
			errh(path, 1, 1, "read error", arg);
		err = EIO;
	}

	fclose(f);

	if (!err)
		err = scenario_load_buf(scn, path, (char *)mb->buf, mb->end,
					errh, arg);

	mem_deref(mb);

	return err;
}


uint32_t scenario_rule_count(const struct scenario *scn)
{
	return scn ? list_count(&scn->rules) : 0;
}


/** A file name relative to the scenario file's directory */
int scn_path(struct loader *ld, const char *name, char **fullp)
{
	if (name[0] == '/' || !ld->dir)
		return str_dup(fullp, name);

	return re_sdprintf(fullp, "%s/%s", ld->dir, name);
}
