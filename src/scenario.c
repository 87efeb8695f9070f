/**
 * @file scenario.c  Scenario files (YAML, libyaml): documents, vars, rules
 *
 * A scenario is an ordered list of rules (match.c finds the one that
 * answers a request). Files are checked completely at load time and
 * every error is reported as file:line:col. The keys are read by
 * scn_rule.c (rules, match), scn_step.c (reply steps) and the other
 * scn_*.c files; scn_yaml.c has the node helpers they share.
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


void hdrval_destructor(void *arg)
{
	struct hdrval *hv = arg;

	list_unlink(&hv->le);
	mem_deref(hv->name);
	mem_deref(hv->value);
}


/* --- the file and its documents --- */


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
