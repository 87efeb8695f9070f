/**
 * @file scn_yaml.c  YAML node helpers, scalar parsers, ${var} substitution
 *
 * Shared by every part of the scenario loader: errors as file:line:col,
 * mappings applied key by key, durations, numbers, booleans, tokens.
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

#define DEBUG_MODULE "scn_yaml"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


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
bool key_dup(struct loader *ld, const yaml_node_t *map,
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


bool token_valid(const char *s)
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


bool method_valid(const char *s)
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
