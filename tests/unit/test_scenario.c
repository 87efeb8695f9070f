/**
 * @file test_scenario.c  Unit tests: scenario loader and rule matching
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <stdlib.h>
#include <stdio.h>
#include <dirent.h>
#include <unistd.h>
#include "unit.h"


/* --- helpers --- */

/** One error the loader reported */
struct errent {
	struct le le;
	char *file;
	size_t line;
	size_t col;
	char *msg;
};

/** An error a case expects: position and a part of the message */
struct experr {
	size_t line;
	size_t col;
	const char *msg;
};

/** A scenario text with exactly one error */
struct errcase {
	const char *yaml;
	size_t line;
	size_t col;
	const char *msg;
};


static void errent_destructor(void *arg)
{
	struct errent *e = arg;

	list_unlink(&e->le);
	mem_deref(e->file);
	mem_deref(e->msg);
}


static void err_handler(const char *file, size_t line, size_t col,
			const char *msg, void *arg)
{
	struct list *errs = arg;
	struct errent *e;

	e = mem_zalloc(sizeof(*e), errent_destructor);
	if (!e)
		return;

	e->line = line;
	e->col  = col;
	(void)str_dup(&e->file, file);
	(void)str_dup(&e->msg, msg);

	list_append(errs, &e->le, e);
}


static void errs_print(const struct list *errs)
{
	struct le *le;

	LIST_FOREACH(errs, le) {
		const struct errent *e = le->data;

		print_error("  reported: %s:%zu:%zu: %s\n", e->file, e->line,
			    e->col, e->msg);
	}
}


static int load(struct scenario *scn, struct list *errs, const char *name,
		const char *yaml)
{
	return scenario_load_buf(scn, name, yaml, strlen(yaml), err_handler,
				 errs);
}


/* The reported errors are exactly 'exp', in this order */
static int errs_check(const struct list *errs, const char *file,
		      const struct experr *exp, size_t n)
{
	struct le *le = list_head(errs);
	size_t i;
	int err = 0;

	TEST_EQUALS(n, list_count(errs));

	for (i = 0; i < n; ++i, le = le->next) {
		const struct errent *e = le->data;

		TEST_STRCMP(file, e->file);
		TEST_EQUALS(exp[i].line, e->line);
		TEST_EQUALS(exp[i].col, e->col);
		TEST_ASSERT(e->msg && strstr(e->msg, exp[i].msg));
	}

 out:
	if (err)
		errs_print(errs);

	return err;
}


/* The case loads with EBADMSG, one error and no rules */
static int errcase_run(const struct errcase *c)
{
	const struct experr exp = {c->line, c->col, c->msg};
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	TEST_EQUALS(EBADMSG, load(scn, &errs, "err.yaml", c->yaml));
	err = errs_check(&errs, "err.yaml", &exp, 1);
	TEST_ERR(err);
	TEST_EQUALS(0, scenario_rule_count(scn));

 out:
	if (err)
		print_error("in the case:\n%s\n", c->yaml);

	list_flush(&errs);
	mem_deref(scn);

	return err;
}


/* Every case runs; the result is the first error */
static int errcases_run(const struct errcase *tab, size_t n)
{
	size_t i;
	int err = 0;

	for (i = 0; i < n; ++i) {
		int e = errcase_run(&tab[i]);

		if (e && !err)
			err = e;
	}

	return err;
}


static const char *testdata(void)
{
	const char *dir = getenv("SIPSTUB_TESTDATA");

	if (!dir)
		print_error("SIPSTUB_TESTDATA is not set\n");

	return dir;
}


static int req_make(struct sip_msg **msgp, const char *met, const char *uri,
		    const char *callid, const char *totag, const char *extra)
{
	char *text = NULL;
	int err;

	err = re_sdprintf(&text,
			  "%s %s SIP/2.0\n"
			  "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK%s\n"
			  "From: <sip:bob@192.0.2.1>;tag=f1\n"
			  "To: <%s>%s%s\n"
			  "Call-ID: %s\n"
			  "CSeq: 1 %s\n"
			  "Max-Forwards: 70\n"
			  "%s"
			  "Content-Length: 0\n"
			  "\n",
			  met, uri, callid, uri, totag ? ";tag=" : "",
			  totag ? totag : "", callid, met, extra ? extra : "");
	if (err)
		return err;

	err = unit_msg(msgp, SIP_TRANSP_UDP, "192.0.2.1:5060",
		       "127.0.0.1:5060", text);
	mem_deref(text);

	return err;
}


/* The rule that answers a request, NULL if none */
static int match(const struct rule **rulep, struct scenario *scn,
		 const char *met, const char *uri, const char *callid,
		 const char *totag, const char *extra)
{
	struct sip_msg *msg = NULL;
	int err;

	err = req_make(&msg, met, uri, callid, totag, extra);
	if (err)
		return err;

	*rulep = scenario_match(scn, msg);
	mem_deref(msg);

	return 0;
}


/* A request is answered by the rule named 'name' (NULL: by none) */
static int match_name(struct scenario *scn, const char *met, const char *uri,
		      const char *callid, const char *totag,
		      const char *extra, const char *name)
{
	const struct rule *rule = NULL;
	int err;

	err = match(&rule, scn, met, uri, callid, totag, extra);
	TEST_ERR(err);

	if (unit_strcmp(name, rule_name(rule))) {
		print_error("%s %s (Call-ID %s, To-tag %s): expected rule "
			    "%s, got %s\n", met, uri, callid,
			    totag ? totag : "-", name ? name : "(none)",
			    rule ? rule_name(rule) : "(none)");
		err = EINVAL;
	}

 out:
	return err;
}


static const struct step *step_at(const struct rule *rule, unsigned i)
{
	struct le *le = list_head(rule_steps(rule));

	while (le && i--)
		le = le->next;

	return le ? le->data : NULL;
}


static const struct hdrval *hdr_at(const struct step *step, unsigned i)
{
	struct le *le = list_head(&step->hdrs);

	while (le && i--)
		le = le->next;

	return le ? le->data : NULL;
}


static int file_write(const char *path, size_t size, char fill)
{
	FILE *f;
	char buf[4096];
	int err = 0;

	memset(buf, fill, sizeof(buf));

	f = fopen(path, "wb");
	if (!f)
		return errno;

	while (size && !err) {
		size_t n = size < sizeof(buf) ? size : sizeof(buf);

		if (fwrite(buf, 1, n, f) != n)
			err = EIO;
		size -= n;
	}

	if (fclose(f) && !err)
		err = EIO;

	return err;
}


/* --- valid scenarios --- */

static int check_simple_form(void)
{
	static const char yaml[] =
		"INVITE: [100, 180, 486]\n"
		"OPTIONS: 200\n";
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	const struct rule *rule;
	const struct step *step;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	err = load(scn, &errs, "simple.yaml", yaml);
	TEST_ERR(err);
	TEST_EQUALS(0, list_count(&errs));
	TEST_EQUALS(2, scenario_rule_count(scn));

	err = match(&rule, scn, "INVITE", "sip:alice@example.com", "c1",
		    NULL, NULL);
	TEST_ERR(err);
	TEST_ASSERT(rule != NULL);
	TEST_STRCMP("simple.yaml:1", rule_name(rule));
	TEST_EQUALS(3, list_count(rule_steps(rule)));
	TEST_ASSERT(rule_auto100(rule));
	TEST_ASSERT(rule_check199(rule));

	step = step_at(rule, 0);
	TEST_EQUALS(100, step->scode);
	TEST_EQUALS(0, step->delay);
	TEST_EQUALS(1, step->dialog);
	TEST_EQUALS(0, step->hangup);
	TEST_ASSERT(step->reason == NULL);
	TEST_ASSERT(step->body == NULL);
	TEST_ASSERT(step->ctype == NULL);
	TEST_EQUALS(SDP_AUTO, step->sdp);
	TEST_EQUALS(0, list_count(&step->hdrs));
	TEST_EQUALS(180, step_at(rule, 1)->scode);
	TEST_EQUALS(486, step_at(rule, 2)->scode);

	/* the simple INVITE rule is for initial INVITEs */
	err = match_name(scn, "INVITE", "sip:alice@example.com", "c2", "t1",
			 NULL, NULL);
	TEST_ERR(err);

	err = match(&rule, scn, "OPTIONS", "sip:alice@example.com", "c3",
		    NULL, NULL);
	TEST_ERR(err);
	TEST_ASSERT(rule != NULL);
	TEST_STRCMP("simple.yaml:2", rule_name(rule));
	TEST_EQUALS(1, list_count(rule_steps(rule)));
	TEST_EQUALS(200, step_at(rule, 0)->scode);

	/* OPTIONS has no in-dialog restriction */
	err = match_name(scn, "OPTIONS", "sip:x@example.com", "c4", "t2",
			 NULL, "simple.yaml:2");
	TEST_ERR(err);

	err = match_name(scn, "BYE", "sip:alice@example.com", "c5", "t3",
			 NULL, NULL);
	TEST_ERR(err);

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


static int full_rule(const struct rule **rulep, struct scenario *scn,
		     const char *met, const char *uri, const char *totag,
		     const char *extra, const char *name)
{
	int err;

	err = match(rulep, scn, met, uri, "full", totag, extra);
	if (err)
		return err;

	if (!*rulep || unit_strcmp(name, rule_name(*rulep))) {
		print_error("%s %s: expected rule %s, got %s\n", met, uri,
			    name, *rulep ? rule_name(*rulep) : "(none)");
		return EINVAL;
	}

	return 0;
}


static int check_full_form_steps(struct scenario *scn)
{
	const struct rule *rule;
	const struct step *step;
	const struct hdrval *hv;
	int err;

	err = full_rule(&rule, scn, "UPDATE", "sip:alice@example.com", NULL,
			"Subject: urgent call\nX-Prio: top\n", "all-keys");
	TEST_ERR(err);
	TEST_ASSERT(!rule_auto100(rule));
	TEST_ASSERT(!rule_check199(rule));
	TEST_EQUALS(3, list_count(rule_steps(rule)));

	step = step_at(rule, 0);
	TEST_EQUALS(180, step->scode);
	TEST_EQUALS(500, step->delay);
	TEST_EQUALS(2, step->dialog);
	TEST_EQUALS(SDP_NONE, step->sdp);

	step = step_at(rule, 1);
	TEST_EQUALS(183, step->scode);
	TEST_STRCMP("Early Media Here", step->reason);
	TEST_EQUALS(1500, step->delay);
	TEST_EQUALS(1, step->dialog);
	TEST_EQUALS(SDP_ALWAYS, step->sdp);

	step = step_at(rule, 2);
	TEST_EQUALS(200, step->scode);
	TEST_EQUALS(2000, step->delay);
	TEST_EQUALS(60000, step->hangup);
	TEST_EQUALS(SDP_AUTO, step->sdp);
	TEST_EQUALS(3, list_count(&step->hdrs));

	/* vars are replaced at load time, run-time names are kept */
	hv = hdr_at(step, 0);
	TEST_STRCMP("WWW-Authenticate", hv->name);
	TEST_STRCMP("Digest realm=\"example.test\"", hv->value);
	hv = hdr_at(step, 1);
	TEST_STRCMP("Contact", hv->name);
	TEST_STRCMP("<sip:${user}@${local}>", hv->value);
	hv = hdr_at(step, 2);
	TEST_STRCMP("Server", hv->name);
	TEST_STRCMP("", hv->value);

 out:
	return err;
}


static int check_full_form_bodies(struct scenario *scn)
{
	const struct rule *rule;
	const struct step *step;
	int err;

	err = full_rule(&rule, scn, "OPTIONS", "sip:sdp@example.com", "t9",
			NULL, "sdp-body");
	TEST_ERR(err);
	step = step_at(rule, 0);
	TEST_STRCMP("v=0\r\no=- 0 0 IN IP4 ${local}\r\n", step->body);
	TEST_EQUALS(strlen(step->body), step->bodylen);
	TEST_STRCMP("application/sdp", step->ctype);
	TEST_EQUALS(1, step->dialog);

	err = full_rule(&rule, scn, "INFO", "sip:x@example.com", NULL, NULL,
			"typed-body");
	TEST_ERR(err);
	step = step_at(rule, 0);
	TEST_STRCMP("<x/>", step->body);
	TEST_EQUALS(4, step->bodylen);
	TEST_STRCMP("application/xml", step->ctype);

	err = full_rule(&rule, scn, "OPTIONS", "sip:file@example.com", NULL,
			NULL, "file-sdp");
	TEST_ERR(err);
	step = step_at(rule, 0);
	TEST_EQUALS(89, step->bodylen);
	TEST_ASSERT(!strncmp(step->body, "v=0\r\no=- 1 1 IN IP4 192.0.2.10",
			     30));
	TEST_STRCMP("application/sdp", step->ctype);

	err = full_rule(&rule, scn, "OPTIONS", "sip:note@example.com", NULL,
			NULL, "file-text");
	TEST_ERR(err);
	step = step_at(rule, 0);
	TEST_EQUALS(380, step->scode);
	TEST_EQUALS(22, step->bodylen);
	TEST_STRCMP("Alternative: dial 200\n", step->body);
	TEST_STRCMP("text/plain", step->ctype);

	err = full_rule(&rule, scn, "NOTIFY", "sip:486@example.com", NULL,
			NULL, "by-user");
	TEST_ERR(err);
	TEST_EQUALS(1, list_count(rule_steps(rule)));
	TEST_EQUALS(0, step_at(rule, 0)->scode);

 out:
	return err;
}


static int check_full_form(void)
{
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	const struct rule *rule;
	const struct step *step;
	char *path = NULL;
	int err;

	TEST_ASSERT(testdata() != NULL);

	err = re_sdprintf(&path, "%s/full.yaml", testdata());
	TEST_ERR(err);

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	err = scenario_load_file(scn, path, err_handler, &errs);
	if (err)
		errs_print(&errs);
	TEST_ERR(err);
	TEST_EQUALS(0, list_count(&errs));
	TEST_EQUALS(7, scenario_rule_count(scn));

	err = check_full_form_steps(scn);
	TEST_ERR(err);

	err = check_full_form_bodies(scn);
	TEST_ERR(err);

	/* a var that uses a var; the second MESSAGE of a Call-ID */
	err = match_name(scn, "MESSAGE", "sip:123@example.com", "m1", NULL,
			 NULL, NULL);
	TEST_ERR(err);
	err = match(&rule, scn, "MESSAGE", "sip:123@example.com", "m1", NULL,
		    NULL);
	TEST_ERR(err);
	TEST_ASSERT(rule != NULL);
	TEST_STRCMP("text-body", rule_name(rule));
	step = step_at(rule, 0);
	TEST_STRCMP("hello from example.test to ${user}", step->body);
	TEST_STRCMP("text/plain", step->ctype);
	TEST_EQUALS(60000, step->delay);

 out:
	list_flush(&errs);
	mem_deref(scn);
	mem_deref(path);

	return err;
}


static int check_steps_forms(void)
{
	static const char yaml[] =
		"rules:\n"
		"  - name: one\n"
		"    match: {method: INVITE}\n"
		"    reply: 486\n"
		"  - name: map\n"
		"    match: {method: OPTIONS}\n"
		"    reply: {code: 200, reason: Fine, delay: 0ms}\n"
		"  - name: blocks\n"
		"    match: {method: BYE}\n"
		"    reply:\n"
		"      - 100\n"
		"      - code: 200\n"
		"        delay: 250ms\n"
		"        body: hi\n"
		"        sdp: no\n"
		"  - name: user\n"
		"    match: {method: REGISTER}\n"
		"    reply: [{code: user, delay: 1s}]\n";
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	const struct rule *rule;
	const struct step *step;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	err = load(scn, &errs, "forms.yaml", yaml);
	TEST_ERR(err);
	TEST_EQUALS(4, scenario_rule_count(scn));

	err = match(&rule, scn, "INVITE", "sip:a@b", "s1", NULL, NULL);
	TEST_ERR(err);
	TEST_STRCMP("one", rule_name(rule));
	TEST_EQUALS(1, list_count(rule_steps(rule)));
	TEST_EQUALS(486, step_at(rule, 0)->scode);
	/* the defaults of a full-form rule */
	TEST_ASSERT(rule_auto100(rule));
	TEST_ASSERT(rule_check199(rule));

	err = match(&rule, scn, "OPTIONS", "sip:a@b", "s2", NULL, NULL);
	TEST_ERR(err);
	step = step_at(rule, 0);
	TEST_EQUALS(200, step->scode);
	TEST_STRCMP("Fine", step->reason);
	TEST_EQUALS(0, step->delay);

	err = match(&rule, scn, "BYE", "sip:a@b", "s3", "t", NULL);
	TEST_ERR(err);
	TEST_EQUALS(2, list_count(rule_steps(rule)));
	TEST_EQUALS(100, step_at(rule, 0)->scode);
	step = step_at(rule, 1);
	TEST_EQUALS(250, step->delay);
	TEST_STRCMP("hi", step->body);
	TEST_EQUALS(2, step->bodylen);
	TEST_STRCMP("text/plain", step->ctype);
	TEST_EQUALS(SDP_NONE, step->sdp);

	err = match(&rule, scn, "REGISTER", "sip:a@b", "s4", NULL, NULL);
	TEST_ERR(err);
	step = step_at(rule, 0);
	TEST_EQUALS(0, step->scode);
	TEST_EQUALS(1000, step->delay);

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


static int check_durations(void)
{
	static const struct {
		const char *s;
		uint32_t ms;
	} tab[] = {
		{"500ms", 500},
		{"2s", 2000},
		{"1.5s", 1500},
		{"1m", 60000},
		{"0s", 0},
		{"0.25s", 250},
		{"90m", 5400000},
		{"1440m", 86400000},
	};
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	char *yaml = NULL;
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(tab); ++i) {
		const struct rule *rule;
		const struct step *step;

		err = re_sdprintf(&yaml, "INVITE: [{code: 180, delay: %s}, "
				  "{code: 200, hangup: %s}]\n",
				  tab[i].s, tab[i].s);
		TEST_ERR(err);

		err = scenario_alloc(&scn);
		TEST_ERR(err);

		err = load(scn, &errs, "d.yaml", yaml);
		TEST_ERR(err);

		err = match(&rule, scn, "INVITE", "sip:a@b", "d", NULL, NULL);
		TEST_ERR(err);
		TEST_ASSERT(rule != NULL);

		step = step_at(rule, 0);
		TEST_EQUALS(tab[i].ms, step->delay);
		step = step_at(rule, 1);
		TEST_EQUALS(tab[i].ms, step->hangup);
		TEST_EQUALS(0, step->delay);

		scn = mem_deref(scn);
		yaml = mem_deref(yaml);
	}

 out:
	if (err)
		print_error("duration case %zu\n", i);
	list_flush(&errs);
	mem_deref(scn);
	mem_deref(yaml);

	return err;
}


static int check_vars(void)
{
	static const char yaml[] =
		"rules:\n"
		"  - match: {method: OPTIONS}\n"
		"    reply:\n"
		"      code: 401\n"
		"      headers:\n"
		"        WWW-Authenticate: 'Digest realm=\"${realm}\"'\n"
		"        X-Run: \"${local} ${user} ${domain} ${callid} "
		"${transport} ${from-user}\"\n"
		"        X-Both: \"${realm}/${user}/${realm}\"\n"
		"      body: \"${who} at ${realm}\"\n"
		"vars:\n"
		"  realm: sipstub.test\n"
		"  who: \"${user} of ${realm}\"\n";
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	const struct rule *rule;
	const struct step *step;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	/* vars: are read first, wherever they stand */
	err = load(scn, &errs, "vars.yaml", yaml);
	if (err)
		errs_print(&errs);
	TEST_ERR(err);

	err = match(&rule, scn, "OPTIONS", "sip:a@b", "v", NULL, NULL);
	TEST_ERR(err);
	TEST_ASSERT(rule != NULL);

	step = step_at(rule, 0);
	TEST_STRCMP("Digest realm=\"sipstub.test\"", hdr_at(step, 0)->value);
	TEST_STRCMP("${local} ${user} ${domain} ${callid} ${transport} "
		    "${from-user}", hdr_at(step, 1)->value);
	TEST_STRCMP("sipstub.test/${user}/sipstub.test",
		    hdr_at(step, 2)->value);
	TEST_STRCMP("${user} of sipstub.test at sipstub.test", step->body);

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


/* --- errors --- */

static int check_err_toplevel(void)
{
	static const struct errcase tab[] = {
		{"bogus: 200\n", 1, 1,
		 "unknown key 'bogus' (expected vars, rules, expect or an "
		 "upper-case method name)"},
		{"OPTIONS: 200\nInvite: 200\n", 2, 1,
		 "unknown key 'Invite'"},
		{"IN VITE: 200\n", 1, 1, "unknown key 'IN VITE'"},
		{"- INVITE\n- 200\n", 1, 1,
		 "a scenario is a mapping (METHOD: codes, or vars: and "
		 "rules:)"},
		{"just text\n", 1, 1, "a scenario is a mapping"},
		{"OPTIONS: 200\n? [a, b]\n: 200\n", 2, 3,
		 "top-level keys must be text"},
		{"rules: []\nrules: []\n", 2, 1, "duplicate key 'rules'"},
		{"rules: 200\n", 1, 8, "'rules' must be a list"},
		{"rules: {a: 1}\n", 1, 8, "'rules' must be a list"},
		{"vars: 1\nOPTIONS: 200\n", 1, 7, "'vars' must be a mapping"},
		{"vars:\n  a b: x\n", 2, 3,
		 "a variable is a name and a text value"},
		{"vars:\n  a: [x]\n", 2, 3,
		 "a variable is a name and a text value"},
		{"vars:\n  user: x\n", 2, 3, "'user' is a built-in name"},
		{"vars:\n  from-user: x\n", 2, 3,
		 "'from-user' is a built-in name"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


static int check_err_vars(void)
{
	static const struct errcase tab[] = {
		{"vars:\n  realm: ${nope}\n", 2, 10,
		 "unknown variable '${nope}'"},
		{"OPTIONS:\n  code: 200\n  body: \"see ${nope}\"\n", 3, 9,
		 "unknown variable '${nope}'"},
		{"vars: {realm: x}\n"
		 "OPTIONS:\n"
		 "  code: 200\n"
		 "  headers:\n"
		 "    X-A: \"${realm}${Realm}\"\n", 5, 10,
		 "unknown variable '${Realm}'"},
		{"OPTIONS:\n  code: 200\n  headers:\n    X-A: \"${realm\"\n",
		 4, 10, "unterminated '${' in '${realm'"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


static int check_err_yaml(void)
{
	static const struct errcase tab[] = {
		{"OPTIONS: 200\na: b: c\n", 2, 5,
		 "YAML: mapping values are not allowed in this context"},
		{"INVITE:\n\t- 100\n", 2, 1,
		 "YAML: found character that cannot start any token"},
		{"INVITE: [100, 180\n", 2, 1,
		 "YAML: did not find expected ',' or ']'"},
		{"OPTIONS: \"200\n", 2, 1,
		 "YAML: found unexpected end of stream"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


/* The keys of the in-dialog features (scn_reqs.c) */
static int check_err_indialog(void)
{
	static const struct errcase tab[] = {
		{"rules:\n  - reply:\n      - code: 200\n"
		 "        requests: [{method: ACK}]\n", 4, 29,
		 "'method' of a request must be one of INVITE, UPDATE, INFO,"
		 " MESSAGE, NOTIFY, OPTIONS, BYE"},
		{"rules:\n  - reply:\n      - code: 200\n"
		 "        requests: [{method: INFO, sdp: hold}]\n", 4, 20,
		 "'sdp' only goes with INVITE or UPDATE"},
		{"rules:\n  - reply:\n      - code: 200\n"
		 "        requests: [{method: NOTIFY}]\n", 4, 20,
		 "a NOTIFY needs 'Event' and 'Subscription-State' in "
		 "'headers'"},
		{"rules:\n  - reply:\n      - code: 200\n"
		 "        requests: [{method: BYE}, {method: INFO}]\n", 4, 35,
		 "a request after BYE"},
		{"rules:\n  - reply:\n      - code: 200\n"
		 "        requests: [{method: INFO, dtmf: 55}]\n", 4, 41,
		 "'dtmf' must be one of 0-9, *, #, A-D"},
		{"rules:\n  - reply:\n      - code: 200\n"
		 "        requests: [{method: MESSAGE, body: '${callid}'}]\n",
		 4, 44, "run-time names (${...}) are not available in "
		 "'requests'"},
		{"rules:\n  - reply:\n      - code: 486\n"
		 "        requests: [{method: BYE}]\n", 3, 9,
		 "'requests' only go with a 2xx"},
		{"rules:\n  - reply:\n      - code: 200\n"
		 "        requests: []\n", 4, 19,
		 "'requests' must be a list of requests such as "
		 "{method: UPDATE, delay: 2s, sdp: hold}"},
		{"rules:\n  - session-timer: {min-se: 0}\n    reply: 200\n",
		 2, 29, "'min-se' must be seconds, 1..86400"},
		{"rules:\n  - session-timer: {refresher: me}\n"
		 "    reply: 200\n", 2, 32, "'refresher' must be uac or uas"},
		{"rules:\n  - session-timer: {min-se: 100, expires: 90}\n"
		 "    reply: 200\n", 2, 20, "'expires' is below 'min-se'"},
		{"rules:\n  - session-timer: {bogus: 1}\n    reply: 200\n",
		 2, 21, "unknown session-timer key 'bogus' (expected min-se, "
		 "expires, refresher)"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


static int check_err_rule(void)
{
	static const struct errcase tab[] = {
		{"rules:\n  - 200\n", 2, 5, "a rule must be a mapping"},
		{"rules:\n  - {bogus: 1, reply: 200}\n", 2, 6,
		 "unknown rule key 'bogus' (expected name, match, reply, "
		 "auto-100, check-199, auth, registrar, session-timer)"},
		{"rules:\n  - match: {method: INVITE}\n", 2, 5,
		 "rule has no 'reply'"},
		{"rules:\n  - {name: [a], reply: 200}\n", 2, 12,
		 "'name' must be text"},
		{"rules:\n  - {auto-100: maybe, reply: 200}\n", 2, 16,
		 "'auto-100' must be true or false"},
		{"rules:\n  - {check-199: 2, reply: 200}\n", 2, 17,
		 "'check-199' must be true or false"},
		{"rules:\n  - {[a]: 1, reply: 200}\n", 2, 6,
		 "keys in a rule must be text"},
		{"rules:\n  - {match: 1, reply: 200}\n", 2, 13,
		 "'match' must be a mapping"},
		{"rules:\n  - name: a\n    name: b\n    reply: 200\n", 3, 5,
		 "duplicate key 'name'"},
		{"rules:\n  - match: {per: call, per: global}\n"
		 "    reply: 200\n", 2, 24, "duplicate key 'per'"},
		{"rules:\n  - match: {method: INVITE}\n    reply: []\n", 3, 12,
		 "empty reply list"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


static int check_err_match(void)
{
	static const struct errcase tab[] = {
		{"rules:\n  - {match: {methd: INVITE}, reply: 200}\n", 2, 14,
		 "unknown match key 'methd' (expected method, user, "
		 "user-regex, headers, nth, per, in-dialog)"},
		{"rules:\n  - {match: {[a]: 1}, reply: 200}\n", 2, 14,
		 "keys in 'match' must be text"},
		{"rules:\n  - {match: {method: invite}, reply: 200}\n", 2, 22,
		 "bad method 'invite' (upper-case SIP token expected)"},
		{"rules:\n  - match: {method: [INVITE, 'B YE']}\n"
		 "    reply: 200\n", 2, 30, "bad method 'B YE'"},
		{"rules:\n  - match: {method: {a: b}}\n    reply: 200\n",
		 2, 21,
		 "bad method ''"},
		{"rules:\n  - match: {user: [a]}\n    reply: 200\n", 2, 19,
		 "'user' must be text"},
		{"rules:\n  - match: {user-regex: \"(\"}\n    reply: 200\n",
		 2, 25, "bad regex '(': "},
		{"rules:\n  - match: {user-regex: [a]}\n    reply: 200\n",
		 2, 25, "expected a regular expression"},
		{"rules:\n  - match: {user-regex: \"a+++\"}\n    reply: 200\n",
		 2, 25, "regex too costly to compile: a quantifier follows a "
		 "quantifier"},
		{"rules:\n  - match: {user-regex: \"((a{10}){10}){11}\"}\n"
		 "    reply: 200\n", 2, 25, "regex too costly to compile: its "
		 "{m,n} counts multiply to more than 1000"},
		{"rules:\n  - match: {headers: {X: \"(a{2,}b{3,40}){9}\"}}\n"
		 "    reply: 200\n", 2, 26, "regex too costly to compile: its "
		 "{m,n} counts multiply to more than 1000"},
		{"rules:\n  - match: {headers: 1}\n    reply: 200\n", 2, 22,
		 "'headers' must map header names to regular expressions"},
		{"rules:\n  - match: {headers: {\"X Y\": a}}\n"
		 "    reply: 200\n", 2, 23, "bad header name"},
		{"rules:\n  - match: {headers: {Subject: \"[a\"}}\n"
		 "    reply: 200\n", 2, 32, "bad regex '[a': "},
		{"rules:\n  - match: {nth: 0}\n    reply: 200\n", 2, 18,
		 "'nth' must be a number from 1"},
		{"rules:\n  - match: {nth: -1}\n    reply: 200\n", 2, 18,
		 "'nth' must be a number from 1"},
		{"rules:\n  - match: {nth: 1.5}\n    reply: 200\n", 2, 18,
		 "'nth' must be a number from 1"},
		{"rules:\n  - match: {nth: x}\n    reply: 200\n", 2, 18,
		 "'nth' must be a number from 1"},
		{"rules:\n  - match: {per: each}\n    reply: 200\n", 2, 18,
		 "'per' must be 'call' or 'global'"},
		{"rules:\n  - match: {in-dialog: maybe}\n    reply: 200\n",
		 2, 24, "'in-dialog' must be true or false"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


static int check_err_codes(void)
{
	static const struct errcase tab[] = {
		{"INVITE: [100, 99]\n", 1, 15,
		 "status code 99 outside 100-699"},
		{"INVITE: 700\n", 1, 9, "status code 700 outside 100-699"},
		{"OPTIONS: 999\n", 1, 10, "status code 999 outside 100-699"},
		{"OPTIONS: {code: 0}\n", 1, 17,
		 "status code 0 outside 100-699"},
		{"OPTIONS: abc\n", 1, 10,
		 "expected a status code (100-699) or 'user', got 'abc'"},
		{"OPTIONS: {code: -200}\n", 1, 17,
		 "expected a status code (100-699) or 'user', got '-200'"},
		{"OPTIONS: {code: 1000000}\n", 1, 17,
		 "expected a status code (100-699) or 'user', got "
		 "'1000000'"},
		{"OPTIONS: {code: [200]}\n", 1, 17,
		 "got '(not a scalar)'"},
		{"INVITE: [100, 486, 180]\n", 1, 20,
		 "a 1xx after a final response"},
		{"INVITE:\n  - 180\n  - 486\n  - 183\n", 4, 5,
		 "a 1xx after a final response"},
		{"INVITE: [200, 486]\n", 1, 15, "more than one final response"},
		{"INVITE: [180, 200, 200]\n", 1, 20,
		 "more than one final response"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


static int check_err_step(void)
{
	static const struct errcase tab[] = {
		{"INVITE: [{code: 180, delay: 5}]\n", 1, 29,
		 "bad delay '5': use e.g. 500ms, 2s, 1.5s or 1m"},
		{"INVITE: [{code: 180, delay: -1s}]\n", 1, 29,
		 "bad delay '-1s'"},
		{"INVITE: [{code: 180, delay: 2h}]\n", 1, 29,
		 "bad delay '2h'"},
		{"INVITE: [{code: 180, delay: s}]\n", 1, 29,
		 "bad delay 's'"},
		{"INVITE: [{code: 180, delay: 1441m}]\n", 1, 29,
		 "bad delay '1441m'"},
		{"INVITE: [{code: 180, delay: [1s]}]\n", 1, 29,
		 "bad delay ''"},
		{"INVITE: [{code: 200, hangup: soon}]\n", 1, 30,
		 "bad hangup 'soon': use e.g. 500ms, 2s, 1.5s or 1m"},
		{"INVITE: [{code: 486, hangup: 5s}]\n", 1, 10,
		 "'hangup' only goes with a 2xx"},
		{"INVITE: {code: 180, hangup: 5s}\n", 1, 9,
		 "'hangup' only goes with a 2xx"},
		{"INVITE: [{code: 180, dialog: 0}]\n", 1, 30,
		 "'dialog' must be 1..16"},
		{"INVITE: [{code: 180, dialog: 17}]\n", 1, 30,
		 "'dialog' must be 1..16"},
		{"OPTIONS: {code: 200, reason: [a]}\n", 1, 30,
		 "'reason' must be one line of text"},
		{"OPTIONS: {code: 200, reason: \"a\\nb\"}\n", 1, 30,
		 "'reason' must be one line of text"},
		{"OPTIONS: {code: 200, body: [a]}\n", 1, 28,
		 "'body' must be text"},
		{"OPTIONS: {code: 200, body: x, content-type: text}\n", 1, 45,
		 "'content-type' must be a media type such as text/plain"},
		{"OPTIONS: {code: 200, sdp: maybe}\n", 1, 27,
		 "'sdp' must be auto, true or false"},
		{"OPTIONS: {code: 200, cod: 1}\n", 1, 22,
		 "unknown step key 'cod' (expected code, reason, delay, "
		 "headers, body, body-file, content-type, sdp, hangup, "
		 "dialog, reliable, requests, notify, sipfrag, recv-info, media, "
		 "srtp, callback)"},
		{"INVITE: {code: 200, callback: maybe}\n", 1, 31,
		 "'callback' must be true or a mapping"},
		{"INVITE: {code: 200, callback: {to: bob}}\n", 1, 36,
		 "callback 'to' must be aor or caller"},
		{"INVITE: {code: 200, callback: {delay: soon}}\n", 1, 39,
		 "bad callback delay 'soon'"},
		{"INVITE: {code: 180, callback: true}\n", 1, 9,
		 "'callback' only goes with a final response"},
		{"INVITE: {code: 180, reliable: maybe}\n", 1, 31,
		 "'reliable' must be true or false"},
		{"INVITE: [{code: 200, reliable: true}]\n", 1, 10,
		 "'reliable: true' only goes with a 101..199"},
		{"SUBSCRIBE: {code: 200, notify: {state: on}}\n", 1, 40,
		 "'state' must be active, pending or terminated"},
		{"SUBSCRIBE: {code: 200, notify: [{delay: x}]}\n", 1, 41,
		 "bad delay 'x'"},
		{"SUBSCRIBE: {code: 200, notify: [{bodyx: x}]}\n", 1, 34,
		 "bad notify key 'bodyx'"},
		{"REFER: {code: 202, sipfrag: hello}\n", 1, 29,
		 "'sipfrag' must be a status code or a status line"},
		{"INVITE: {code: 200, recv-info: [\"a b\"]}\n", 1, 33,
		 "bad info package name 'a b'"},
		{"INVITE: [{code: 486, media: echo}]\n", 1, 10,
		 "'media' only goes with a 183 or 2xx"},
		{"INVITE: [{code: 200, media: loud}]\n", 1, 29,
		 "'mode' must be echo, tone, file, silence or none"},
		{"INVITE: [{code: 200, media: file}]\n", 1, 29,
		 "mode 'file' needs 'file'"},
		{"INVITE: [{code: 200, media: {tone: {freq: 10}}}]\n", 1, 43,
		 "'freq' must be 50..3900 (Hz)"},
		{"INVITE: [{code: 200, media: {mode: echo, loop: 2}}]\n",
		 1, 48, "'loop' must be true or false"},
		{"INVITE: [{code: 200, media: {mode: tone, file: x.wav}}]\n",
		 1, 48, "cannot read"},
		{"INVITE: [{code: 200, srtp: maybe}]\n", 1, 28,
		 "'srtp' must be optional, required or refused"},
		{"INVITE: [[100]]\n", 1, 10,
		 "a step is a status code or a mapping with 'code'"},
		{"INVITE: [{[a]: 1, code: 200}]\n", 1, 11,
		 "keys in a step must be text"},
		{"INVITE: [{delay: 1s}]\n", 1, 10, "step has no 'code'"},
		{"INVITE: []\n", 1, 9, "empty reply list"},
		{"OPTIONS: {code: 200, body-file: \"\"}\n", 1, 33,
		 "'body-file' needs a file name"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


static int check_err_headers(void)
{
	static const struct errcase tab[] = {
		{"OPTIONS: {code: 200, headers: [a]}\n", 1, 31,
		 "'headers' must be a mapping of header name to value"},
		{"OPTIONS: {code: 200, headers: {\"X Y\": a}}\n", 1, 32,
		 "bad header name 'X Y'"},
		{"OPTIONS: {code: 200, headers: {X-A: [1]}}\n", 1, 37,
		 "header 'X-A' needs a text value"},
		{"OPTIONS: {code: 200, headers: {X-A: \"a\\r\\nb\"}}\n", 1, 37,
		 "header 'X-A' value has a line break"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


static int check_err_body_file(void)
{
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	char *name = NULL, *yaml = NULL, *msg = NULL, *big = NULL;
	struct experr exp = {1, 33, NULL};
	int err;

	TEST_ASSERT(testdata() != NULL);

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	/* relative to the scenario file */
	err  = re_sdprintf(&name, "%s/err.yaml", testdata());
	err |= re_sdprintf(&msg, "cannot read body file '%s/nope.txt': "
			   "No such file or directory", testdata());
	TEST_ERR(err);

	exp.msg = msg;
	TEST_EQUALS(EBADMSG, load(scn, &errs, name, "OPTIONS: {code: 200, "
				  "body-file: nope.txt}\n"));
	err = errs_check(&errs, name, &exp, 1);
	TEST_ERR(err);
	TEST_EQUALS(0, scenario_rule_count(scn));
	list_flush(&errs);
	msg = mem_deref(msg);

	/* larger than 64 KiB */
	err = re_sdprintf(&big, "/tmp/sipstub-unit-%d.txt", (int)getpid());
	TEST_ERR(err);
	err = file_write(big, 65537, 'x');
	TEST_ERR(err);

	err  = re_sdprintf(&yaml, "OPTIONS: {code: 200, body-file: %s}\n",
			   big);
	err |= re_sdprintf(&msg, "body file '%s' is not a readable file of "
			   "at most 65536 bytes", big);
	TEST_ERR(err);

	exp.msg = msg;
	TEST_EQUALS(EBADMSG, load(scn, &errs, name, yaml));
	err = errs_check(&errs, name, &exp, 1);
	TEST_ERR(err);
	TEST_EQUALS(0, scenario_rule_count(scn));

 out:
	if (big)
		(void)remove(big);
	list_flush(&errs);
	mem_deref(scn);
	mem_deref(name);
	mem_deref(yaml);
	mem_deref(msg);
	mem_deref(big);

	return err;
}


/* sysfs files claim 4096 bytes and hold fewer: a short read */
static int check_err_body_file_short(void)
{
	static const char path[] = "/sys/devices/system/cpu/online";
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	const struct experr exp = {
		1, 33,
		"short read on body file '/sys/devices/system/cpu/online'"
	};
	FILE *f;
	long n = 0;
	int err;

	f = fopen(path, "rb");
	if (f) {
		if (!fseek(f, 0, SEEK_END))
			n = ftell(f);
		fclose(f);
	}

	if (n <= 64)
		return ENOTSUP;

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	TEST_EQUALS(EBADMSG, load(scn, &errs, "err.yaml",
				  "OPTIONS: {code: 200, body-file: "
				  "/sys/devices/system/cpu/online}\n"));
	err = errs_check(&errs, "err.yaml", &exp, 1);
	TEST_ERR(err);

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


static int check_err_files(void)
{
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	const struct experr enoent = {
		1, 1, "cannot open: No such file or directory"
	};
	const struct experr big = {1, 1, "file larger than 4 MiB"};
	const struct experr eio = {1, 1, "read error"};
	char *path = NULL;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	TEST_EQUALS(ENOENT, scenario_load_file(scn, "/nonexistent/x.yaml",
					       err_handler, &errs));
	err = errs_check(&errs, "/nonexistent/x.yaml", &enoent, 1);
	TEST_ERR(err);
	list_flush(&errs);

	/* a directory opens, but cannot be read */
	TEST_EQUALS(EIO, scenario_load_file(scn, "/tmp", err_handler,
					    &errs));
	err = errs_check(&errs, "/tmp", &eio, 1);
	TEST_ERR(err);
	list_flush(&errs);

	err = re_sdprintf(&path, "/tmp/sipstub-unit-%d.yaml", (int)getpid());
	TEST_ERR(err);
	err = file_write(path, 4 * 1024 * 1024 + 1, '#');
	TEST_ERR(err);

	TEST_EQUALS(EFBIG, scenario_load_file(scn, path, err_handler,
					      &errs));
	err = errs_check(&errs, path, &big, 1);
	TEST_ERR(err);
	TEST_EQUALS(0, scenario_rule_count(scn));

 out:
	if (path)
		(void)remove(path);
	list_flush(&errs);
	mem_deref(scn);
	mem_deref(path);

	return err;
}


/* Every error of a file is reported, and its rules are dropped */
static int check_err_many(void)
{
	static const struct experr exp[] = {
		{3, 3, "'user' is a built-in name"},
		{4, 20, "a 1xx after a final response"},
		{5, 10, "status code 99 outside 100-699"},
		{7, 31, "'nth' must be a number from 1"},
		{8, 31, "bad delay '2h'"},
		{9, 5, "rule has no 'reply'"},
		{10, 26, "bad regex '('"},
		{11, 1, "unknown key 'bogus'"},
	};
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	char *path = NULL;
	int err;

	TEST_ASSERT(testdata() != NULL);

	err = re_sdprintf(&path, "%s/errors.yaml", testdata());
	TEST_ERR(err);

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	/* rules that came before stay */
	err = load(scn, &errs, "first.yaml", "INVITE: 486\nOPTIONS: 200\n");
	TEST_ERR(err);
	TEST_EQUALS(2, scenario_rule_count(scn));

	TEST_EQUALS(EBADMSG, scenario_load_file(scn, path, err_handler,
						&errs));
	err = errs_check(&errs, path, exp, ARRAY_SIZE(exp));
	TEST_ERR(err);
	TEST_EQUALS(2, scenario_rule_count(scn));

	err = match_name(scn, "OPTIONS", "sip:a@b", "m", NULL, NULL,
			 "first.yaml:2");
	TEST_ERR(err);
	err = match_name(scn, "BYE", "sip:a@b", "m", "t", NULL, NULL);
	TEST_ERR(err);

 out:
	list_flush(&errs);
	mem_deref(scn);
	mem_deref(path);

	return err;
}


/* Errors in one rule do not hide the others of that rule */
static int check_err_same_rule(void)
{
	static const char yaml[] =
		"rules:\n"
		"  - match: {methd: INVITE, nth: 0}\n"
		"    reply: [{code: 99}, {code: 200, delay: 5}]\n";
	static const struct experr exp[] = {
		{2, 13, "unknown match key 'methd'"},
		{2, 33, "'nth' must be a number from 1"},
		{3, 20, "status code 99 outside 100-699"},
		{3, 44, "bad delay '5'"},
	};
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	TEST_EQUALS(EBADMSG, load(scn, &errs, "same.yaml", yaml));
	err = errs_check(&errs, "same.yaml", exp, ARRAY_SIZE(exp));
	TEST_ERR(err);
	TEST_EQUALS(0, scenario_rule_count(scn));

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


/* Without an error handler the result is the same */
static int check_err_no_handler(void)
{
	struct scenario *scn = NULL;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	TEST_EQUALS(EBADMSG, scenario_load_buf(scn, "x.yaml", "INVITE: 99\n",
					       11, NULL, NULL));
	TEST_EQUALS(EBADMSG, scenario_load_buf(scn, "x.yaml", "a: b: c\n",
					       8, NULL, NULL));
	TEST_EQUALS(ENOENT, scenario_load_file(scn, "/nonexistent.yaml",
					       NULL, NULL));
	TEST_EQUALS(0, scenario_rule_count(scn));

	/* an empty file has no rules and no errors */
	TEST_EQUALS(0, scenario_load_buf(scn, "x.yaml", "", 0, NULL, NULL));
	TEST_EQUALS(0, scenario_load_buf(scn, "x.yaml", "# only\n", 7,
					 NULL, NULL));
	TEST_EQUALS(0, scenario_rule_count(scn));

	TEST_EQUALS(EINVAL, scenario_load_buf(NULL, "x", "", 0, NULL, NULL));
	TEST_EQUALS(EINVAL, scenario_alloc(NULL));
	TEST_ASSERT(scenario_match(NULL, NULL) == NULL);

 out:
	mem_deref(scn);

	return err;
}


/*
 * YAML mappings have unique keys. The loader reports duplicates in
 * rules and 'match', and must do so in steps and at the top level too,
 * without leaking or overrunning the first value.
 */
static int dup_match(void)
{
	static const struct errcase tab[] = {
		{"rules:\n  - match: {user: a, user: b}\n    reply: 200\n",
		 2, 22, "duplicate key 'user'"},
		{"rules:\n  - match: {user-regex: a, user-regex: b}\n"
		 "    reply: 200\n", 2, 28, "duplicate key 'user-regex'"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


/* the second 'method' list is written past the end of the first */
static int dup_method(void)
{
	static const struct errcase tab[] = {
		{"rules:\n  - match: {method: INVITE, method: BYE}\n"
		 "    reply: 200\n", 2, 29, "duplicate key 'method'"},
		{"rules:\n  - match: {method: [A, B], method: [C, D, E]}\n"
		 "    reply: 200\n", 2, 29, "duplicate key 'method'"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


static int dup_step(void)
{
	static const struct errcase tab[] = {
		{"OPTIONS: {code: 200, code: 486}\n", 1, 22,
		 "duplicate key 'code'"},
		{"OPTIONS: {code: 200, reason: A, reason: B}\n", 1, 33,
		 "duplicate key 'reason'"},
		{"OPTIONS: {code: 200, body: a, body: b}\n", 1, 31,
		 "duplicate key 'body'"},
		{"OPTIONS: {code: 200, body: a, content-type: a/b, "
		 "content-type: c/d}\n", 1, 50,
		 "duplicate key 'content-type'"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


static int dup_top(void)
{
	static const struct errcase tab[] = {
		{"INVITE: 486\nINVITE: 200\n", 2, 1,
		 "duplicate key 'INVITE'"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


static int check_err_dup_match(void)
{
	return unit_fork(dup_match);
}


static int check_err_dup_method(void)
{
	return unit_fork(dup_method);
}


static int check_err_dup_step(void)
{
	return unit_fork(dup_step);
}


static int check_err_dup_top(void)
{
	return unit_fork(dup_top);
}


/* A step cannot have two bodies (and must not leak one of them) */
static int two_bodies(void)
{
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	char *name = NULL;
	int err;

	TEST_ASSERT(testdata() != NULL);

	err = re_sdprintf(&name, "%s/two.yaml", testdata());
	TEST_ERR(err);

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	TEST_EQUALS(EBADMSG,
		    load(scn, &errs, name, "OPTIONS: {code: 200, body: a, "
			 "body-file: note.txt}\n"));
	TEST_EQUALS(1, list_count(&errs));
	TEST_EQUALS(0, scenario_rule_count(scn));

 out:
	list_flush(&errs);
	mem_deref(scn);
	mem_deref(name);

	return err;
}


static int check_err_two_bodies(void)
{
	return unit_fork(two_bodies);
}


/* A second YAML document in a file is not silently ignored */
static int check_err_two_documents(void)
{
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	TEST_EQUALS(EBADMSG, load(scn, &errs, "docs.yaml",
				  "INVITE: 486\n---\nOPTIONS: 99\n"));
	TEST_ASSERT(list_count(&errs) >= 1);
	TEST_EQUALS(0, scenario_rule_count(scn));

 out:
	if (err)
		errs_print(&errs);
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


/* 'nan' is not a duration */
static int check_err_delay_nan(void)
{
	static const struct errcase tab[] = {
		{"INVITE: [{code: 180, delay: nanms}]\n", 1, 29,
		 "bad delay 'nanms'"},
		{"INVITE: [{code: 180, delay: nans}]\n", 1, 29,
		 "bad delay 'nans'"},
	};

	return errcases_run(tab, ARRAY_SIZE(tab));
}


/* --- shipped scenarios --- */

static int check_shipped(void)
{
	const char *dir = getenv("SIPSTUB_SCENARIOS");
	struct list errs = LIST_INIT;
	struct scenario *scn = NULL;
	char *path = NULL;
	struct dirent *de;
	DIR *d = NULL;
	unsigned files = 0;
	int err = 0;

	TEST_ASSERT(dir != NULL);

	d = opendir(dir);
	TEST_ASSERT(d != NULL);

	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".yaml"))
			continue;

		err = re_sdprintf(&path, "%s/%s", dir, de->d_name);
		TEST_ERR(err);

		err = scenario_alloc(&scn);
		TEST_ERR(err);

		err = scenario_load_file(scn, path, err_handler, &errs);
		if (err || !list_isempty(&errs)) {
			print_error("%s does not load\n", path);
			errs_print(&errs);
			err = err ? err : EBADMSG;
			goto out;
		}
		TEST_ASSERT(scenario_rule_count(scn) > 0);

		++files;
		scn = mem_deref(scn);
		path = mem_deref(path);
	}

	/* the use cases of issue 3 */
	TEST_ASSERT(files >= 10);

 out:
	if (d)
		closedir(d);
	list_flush(&errs);
	mem_deref(scn);
	mem_deref(path);

	return err;
}


static int check_builtin(void)
{
	struct list errs = LIST_INIT;
	struct scenario *scn = NULL;
	const struct rule *rule;
	const char *dir = getenv("SIPSTUB_SCENARIOS");
	char *path = NULL;
	FILE *f = NULL;
	char *buf = NULL;
	size_t n;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);

	TEST_EQUALS(strlen(dial_a_code_yaml), dial_a_code_yaml_len);

	err = scenario_load_buf(scn, "dial-a-code", dial_a_code_yaml,
				dial_a_code_yaml_len, err_handler, &errs);
	if (err)
		errs_print(&errs);
	TEST_ERR(err);
	TEST_ASSERT(scenario_rule_count(scn) >= 5);

	/* the built-in copy is the shipped file */
	TEST_ASSERT(dir != NULL);
	err = re_sdprintf(&path, "%s/dial-a-code.yaml", dir);
	TEST_ERR(err);
	f = fopen(path, "rb");
	TEST_ASSERT(f != NULL);
	buf = mem_zalloc(dial_a_code_yaml_len + 2, NULL);
	TEST_ASSERT(buf != NULL);
	n = fread(buf, 1, dial_a_code_yaml_len + 1, f);
	TEST_EQUALS(dial_a_code_yaml_len, n);
	TEST_ASSERT(!memcmp(buf, dial_a_code_yaml, n));

	err = match(&rule, scn, "INVITE", "sip:486@h", "b1", NULL, NULL);
	TEST_ERR(err);
	TEST_STRCMP("invite-code", rule_name(rule));
	TEST_EQUALS(0, step_at(rule, 0)->scode);

	err = match(&rule, scn, "INVITE", "sip:199@h", "b2", NULL, NULL);
	TEST_ERR(err);
	TEST_STRCMP("invite-199", rule_name(rule));
	TEST_EQUALS(3, list_count(rule_steps(rule)));
	TEST_EQUALS(1, step_at(rule, 0)->dialog);
	TEST_EQUALS(2, step_at(rule, 1)->dialog);
	TEST_EQUALS(100, step_at(rule, 1)->delay);
	TEST_EQUALS(199, step_at(rule, 2)->scode);
	TEST_EQUALS(1, step_at(rule, 2)->dialog);

	err = match(&rule, scn, "INVITE", "sip:alice@h", "b3", NULL, NULL);
	TEST_ERR(err);
	TEST_STRCMP("invite-answer", rule_name(rule));
	TEST_EQUALS(180, step_at(rule, 0)->scode);
	TEST_EQUALS(200, step_at(rule, 1)->scode);
	TEST_EQUALS(1000, step_at(rule, 1)->delay);

	err  = match_name(scn, "OPTIONS", "sip:503@h", "b4", NULL, NULL,
			  "code");
	err |= match_name(scn, "REFER", "sip:603@h", "b5", NULL, NULL,
			  "code");
	err |= match_name(scn, "OPTIONS", "sip:alice@h", "b6", NULL, NULL,
			  "success");
	err |= match_name(scn, "INFO", "sip:alice@h", "b7", NULL, NULL,
			  NULL);
	err |= match_name(scn, "CANCEL", "sip:486@h", "b8", NULL, NULL,
			  NULL);
	TEST_ERR(err);

 out:
	if (f)
		fclose(f);
	list_flush(&errs);
	mem_deref(scn);
	mem_deref(path);
	mem_deref(buf);

	return err;
}


static int load_shipped(struct scenario **scnp, const char *file)
{
	const char *dir = getenv("SIPSTUB_SCENARIOS");
	struct scenario *scn = NULL;
	char *path = NULL;
	int err;

	if (!dir)
		return ENOENT;

	err = re_sdprintf(&path, "%s/%s", dir, file);
	if (err)
		return err;

	err = scenario_alloc(&scn);
	if (!err)
		err = scenario_load_file(scn, path, NULL, NULL);

	if (err)
		mem_deref(scn);
	else
		*scnp = scn;

	mem_deref(path);

	return err;
}


/* The Nth OPTIONS gets the Nth code of the sweep, then dial-a-code */
static int check_shipped_sweep(void)
{
	struct scenario *scn = NULL;
	const struct rule *rule;
	uint16_t prev = 0;
	unsigned i = 0;
	int err;

	err = load_shipped(&scn, "every-code-sweep.yaml");
	TEST_ERR(err);
	TEST_EQUALS(71, scenario_rule_count(scn));

	for (i = 1; i <= 71; ++i) {
		uint16_t sc;

		err = match(&rule, scn, "OPTIONS", "sip:a@h", "sweep", NULL,
			    NULL);
		TEST_ERR(err);
		TEST_ASSERT(rule != NULL);

		sc = step_at(rule, 0)->scode;
		TEST_ASSERT(sc > prev);
		TEST_ASSERT(reply_registered(sc));
		prev = sc;

		if (i == 1)
			TEST_EQUALS(200, sc);
		if (i == 71)
			TEST_EQUALS(608, sc);
	}

	err = match(&rule, scn, "OPTIONS", "sip:a@h", "sweep", NULL, NULL);
	TEST_ERR(err);
	TEST_ASSERT(rule == NULL);

 out:
	if (err)
		print_error("OPTIONS number %u\n", i);
	mem_deref(scn);

	return err;
}


/* REGISTER: a www auth rule, then 200; INVITE: a proxy auth rule */
static int check_shipped_auth(void)
{
	struct scenario *scn = NULL;
	const struct rule *rule;
	int err;

	err = load_shipped(&scn, "auth-401.yaml");
	TEST_ERR(err);

	err = match(&rule, scn, "REGISTER", "sip:h", "a1", NULL, NULL);
	TEST_ERR(err);
	TEST_ASSERT(rule_auth(rule) != NULL);
	TEST_ASSERT(rule_registrar(rule) == NULL);
	TEST_EQUALS(200, step_at(rule, 0)->scode);

	err = match(&rule, scn, "INVITE", "sip:x@h", "a3", NULL, NULL);
	TEST_ERR(err);
	TEST_ASSERT(rule_auth(rule) != NULL);
	TEST_EQUALS(180, step_at(rule, 0)->scode);

	scn = mem_deref(scn);
	err = load_shipped(&scn, "registrar.yaml");
	TEST_ERR(err);
	TEST_ASSERT(scenario_registrar(scn) != NULL);

	err = match(&rule, scn, "REGISTER", "sip:h", "a4", NULL, NULL);
	TEST_ERR(err);
	TEST_ASSERT(rule_auth(rule) != NULL);
	TEST_ASSERT(rule_registrar(rule) != NULL);
	TEST_ASSERT(list_isempty(rule_steps(rule)));

 out:
	mem_deref(scn);

	return err;
}


/* --- matching --- */

static int check_match_first_wins(void)
{
	static const char yaml[] =
		"rules:\n"
		"  - {name: alice, match: {method: INVITE, user: alice},"
		" reply: 486}\n"
		"  - {name: codes, match: {user-regex: \"^1[0-9]{2}$\"},"
		" reply: user}\n"
		"  - {name: invite, match: {method: INVITE}, reply: 200}\n"
		"  - {name: alice2, match: {user: alice}, reply: 603}\n"
		"  - {name: msg, match: {method: [MESSAGE, INFO]},"
		" reply: 202}\n";
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);
	err = load(scn, &errs, "first.yaml", yaml);
	TEST_ERR(err);

	err  = match_name(scn, "INVITE", "sip:alice@h", "f1", NULL, NULL,
			  "alice");
	err |= match_name(scn, "INVITE", "sip:bob@h", "f2", NULL, NULL,
			  "invite");
	err |= match_name(scn, "INVITE", "sip:180@h", "f3", NULL, NULL,
			  "codes");
	err |= match_name(scn, "OPTIONS", "sip:183@h", "f4", NULL, NULL,
			  "codes");
	err |= match_name(scn, "OPTIONS", "sip:1800@h", "f5", NULL, NULL,
			  NULL);
	err |= match_name(scn, "OPTIONS", "sip:alice@h", "f6", NULL, NULL,
			  "alice2");
	err |= match_name(scn, "OPTIONS", "sip:Alice@h", "f7", NULL, NULL,
			  NULL);
	err |= match_name(scn, "INFO", "sip:x@h", "f8", "t", NULL, "msg");
	err |= match_name(scn, "MESSAGE", "sip:x@h", "f9", NULL, NULL,
			  "msg");
	TEST_ERR(err);

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


static int check_match_headers(void)
{
	static const char yaml[] =
		"rules:\n"
		"  - name: both\n"
		"    match:\n"
		"      headers: {Subject: \"^urgent\", X-Prio: \"^high$\"}\n"
		"    reply: 486\n"
		"  - name: ua\n"
		"    match: {headers: {user-agent: \"softphone/[0-9]+\"}}\n"
		"    reply: 200\n";
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);
	err = load(scn, &errs, "hdr.yaml", yaml);
	TEST_ERR(err);

	err  = match_name(scn, "INVITE", "sip:a@h", "h1", NULL,
			  "Subject: urgent: call me\nX-Prio: high\n", "both");
	/* every header must match */
	err |= match_name(scn, "INVITE", "sip:a@h", "h2", NULL,
			  "Subject: urgent\n", NULL);
	err |= match_name(scn, "INVITE", "sip:a@h", "h3", NULL,
			  "Subject: not urgent\nX-Prio: high\n", NULL);
	/* any of several headers of that name; names are not cased */
	err |= match_name(scn, "INVITE", "sip:a@h", "h4", NULL,
			  "SUBJECT: urgent\nX-Prio: low\nx-prio: high\n",
			  "both");
	err |= match_name(scn, "OPTIONS", "sip:a@h", "h5", NULL,
			  "User-Agent: my softphone/12 (linux)\n", "ua");
	err |= match_name(scn, "OPTIONS", "sip:a@h", "h6", NULL,
			  "User-Agent: softphone/x\n", NULL);
	err |= match_name(scn, "OPTIONS", "sip:a@h", "h7", NULL, NULL, NULL);
	TEST_ERR(err);

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


/* RFC 3261 7.3.3: a compact header name is the same header */
static int check_match_headers_compact(void)
{
	static const char yaml[] =
		"rules:\n"
		"  - {name: subj, match: {headers: {Subject: \"^urgent\"}},"
		" reply: 486}\n";
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);
	err = load(scn, &errs, "compact.yaml", yaml);
	TEST_ERR(err);

	err = match_name(scn, "INVITE", "sip:a@h", "c1", NULL,
			 "s: urgent\n", "subj");
	TEST_ERR(err);

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


static int check_match_in_dialog(void)
{
	static const char yaml[] =
		"rules:\n"
		"  - {name: in, match: {method: INVITE, in-dialog: yes},"
		" reply: 200}\n"
		"  - {name: out, match: {method: INVITE, in-dialog: false},"
		" reply: 486}\n"
		"  - {name: any, match: {method: BYE}, reply: 200}\n";
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);
	err = load(scn, &errs, "dlg.yaml", yaml);
	TEST_ERR(err);

	err  = match_name(scn, "INVITE", "sip:a@h", "d1", "abc", NULL, "in");
	err |= match_name(scn, "INVITE", "sip:a@h", "d2", NULL, NULL, "out");
	err |= match_name(scn, "BYE", "sip:a@h", "d3", "abc", NULL, "any");
	err |= match_name(scn, "BYE", "sip:a@h", "d4", NULL, NULL, "any");
	TEST_ERR(err);

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


/* The first INVITE overall gets rule A, later ones rule B */
static int check_match_nth_global(void)
{
	static const char yaml[] =
		"rules:\n"
		"  - {name: A, match: {method: INVITE, nth: 1}, reply: 503}\n"
		"  - {name: B, match: {method: INVITE}, reply: 200}\n"
		"  - {name: third, match: {method: OPTIONS, nth: 3,"
		" per: global}, reply: 486}\n";
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);
	err = load(scn, &errs, "nth.yaml", yaml);
	TEST_ERR(err);

	err  = match_name(scn, "INVITE", "sip:a@h", "g1", NULL, NULL, "A");
	err |= match_name(scn, "INVITE", "sip:a@h", "g2", NULL, NULL, "B");
	err |= match_name(scn, "INVITE", "sip:a@h", "g1", NULL, NULL, "B");
	err |= match_name(scn, "INVITE", "sip:b@h", "g3", NULL, NULL, "B");
	TEST_ERR(err);

	/* other methods do not count */
	err  = match_name(scn, "OPTIONS", "sip:a@h", "o1", NULL, NULL, NULL);
	err |= match_name(scn, "OPTIONS", "sip:a@h", "o2", NULL, NULL, NULL);
	err |= match_name(scn, "OPTIONS", "sip:a@h", "o3", NULL, NULL,
			  "third");
	err |= match_name(scn, "OPTIONS", "sip:a@h", "o4", NULL, NULL, NULL);
	TEST_ERR(err);

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


/* The first REGISTER of each Call-ID gets 401, the next 200 */
static int check_match_nth_per_call(void)
{
	static const char yaml[] =
		"rules:\n"
		"  - {name: challenge, match: {method: REGISTER, nth: 1,"
		" per: call}, reply: 401}\n"
		"  - {name: second, match: {method: REGISTER, nth: 2,"
		" per: call}, reply: 202}\n"
		"  - {name: ok, match: {method: REGISTER}, reply: 200}\n";
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);
	err = load(scn, &errs, "percall.yaml", yaml);
	TEST_ERR(err);

	err  = match_name(scn, "REGISTER", "sip:h", "A", NULL, NULL,
			  "challenge");
	err |= match_name(scn, "REGISTER", "sip:h", "B", NULL, NULL,
			  "challenge");
	err |= match_name(scn, "REGISTER", "sip:h", "A", NULL, NULL,
			  "second");
	err |= match_name(scn, "REGISTER", "sip:h", "A", NULL, NULL, "ok");
	err |= match_name(scn, "REGISTER", "sip:h", "B", NULL, NULL,
			  "second");
	err |= match_name(scn, "REGISTER", "sip:h", "C", NULL, NULL,
			  "challenge");
	err |= match_name(scn, "REGISTER", "sip:h", "B", NULL, NULL, "ok");
	TEST_ERR(err);

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


/* A rule with nth counts requests that an earlier rule answered */
static int check_match_nth_counts_all(void)
{
	static const char yaml[] =
		"rules:\n"
		"  - {name: x, match: {method: OPTIONS, user: x},"
		" reply: 200}\n"
		"  - {name: two, match: {method: OPTIONS, nth: 2},"
		" reply: 486}\n"
		"  - {name: rest, match: {method: OPTIONS}, reply: 202}\n"
		"  - {name: late, match: {method: OPTIONS, nth: 4},"
		" reply: 603}\n";
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);
	err = load(scn, &errs, "count.yaml", yaml);
	TEST_ERR(err);

	err  = match_name(scn, "OPTIONS", "sip:x@h", "n1", NULL, NULL, "x");
	err |= match_name(scn, "OPTIONS", "sip:y@h", "n2", NULL, NULL,
			  "two");
	err |= match_name(scn, "OPTIONS", "sip:y@h", "n3", NULL, NULL,
			  "rest");
	/* 'late' counted the three above, though 'rest' comes first */
	err |= match_name(scn, "OPTIONS", "sip:y@h", "n4", NULL, NULL,
			  "rest");
	err |= match_name(scn, "OPTIONS", "sip:x@h", "n5", NULL, NULL, "x");
	TEST_ERR(err);

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


/* nth counts only requests that meet the rule's other criteria */
static int check_match_nth_criteria(void)
{
	static const char yaml[] =
		"rules:\n"
		"  - {name: second-bob, match: {user: bob, nth: 2},"
		" reply: 486}\n"
		"  - {name: other, match: {method: OPTIONS}, reply: 200}\n";
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);
	err = load(scn, &errs, "crit.yaml", yaml);
	TEST_ERR(err);

	err  = match_name(scn, "OPTIONS", "sip:bob@h", "c1", NULL, NULL,
			  "other");
	err |= match_name(scn, "OPTIONS", "sip:al@h", "c2", NULL, NULL,
			  "other");
	err |= match_name(scn, "OPTIONS", "sip:al@h", "c3", NULL, NULL,
			  "other");
	err |= match_name(scn, "OPTIONS", "sip:bob@h", "c4", NULL, NULL,
			  "second-bob");
	TEST_ERR(err);

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


/* A Request-URI without a user part ('sip:host') */
static int match_no_user(void)
{
	static const char yaml[] =
		"rules:\n"
		"  - {name: digits, match: {user-regex: \"^[0-9]+$\"},"
		" reply: user}\n"
		"  - {name: empty, match: {user-regex: \"^$\"}, reply: 200}\n";
	struct scenario *scn = NULL, *dac = NULL;
	struct list errs = LIST_INIT;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);
	err = load(scn, &errs, "nouser.yaml", yaml);
	TEST_ERR(err);

	err = match_name(scn, "OPTIONS", "sip:example.com", "u1", NULL, NULL,
			 "empty");
	TEST_ERR(err);

	/* the built-in rules with user-regex see it too */
	err = scenario_alloc(&dac);
	TEST_ERR(err);
	err = scenario_load_buf(dac, "dial-a-code", dial_a_code_yaml,
				dial_a_code_yaml_len, NULL, NULL);
	TEST_ERR(err);

	err  = match_name(dac, "INVITE", "sip:example.com", "u2", NULL, NULL,
			  "invite-answer");
	err |= match_name(dac, "OPTIONS", "sip:example.com", "u3", NULL,
			  NULL, "success");
	TEST_ERR(err);

 out:
	list_flush(&errs);
	mem_deref(scn);
	mem_deref(dac);

	return err;
}


/* in a child process: a UBSan abort must not end the whole binary */
static int check_match_no_user(void)
{
	return unit_fork(match_no_user);
}


/* Several files append their rules in order */
static int check_match_two_files(void)
{
	struct scenario *scn = NULL;
	struct list errs = LIST_INIT;
	int err;

	err = scenario_alloc(&scn);
	TEST_ERR(err);
	err  = load(scn, &errs, "user.yaml", "INVITE: 486\n");
	err |= load(scn, &errs, "dflt.yaml", "INVITE: 200\nBYE: 200\n");
	TEST_ERR(err);
	TEST_EQUALS(3, scenario_rule_count(scn));

	err  = match_name(scn, "INVITE", "sip:a@h", "t1", NULL, NULL,
			  "user.yaml:1");
	err |= match_name(scn, "BYE", "sip:a@h", "t1", "t", NULL,
			  "dflt.yaml:2");
	TEST_ERR(err);

 out:
	list_flush(&errs);
	mem_deref(scn);

	return err;
}


UNIT_WRAP(simple_form)
UNIT_WRAP(full_form)
UNIT_WRAP(steps_forms)
UNIT_WRAP(durations)
UNIT_WRAP(vars)
UNIT_WRAP(err_toplevel)
UNIT_WRAP(err_vars)
UNIT_WRAP(err_yaml)
UNIT_WRAP(err_rule)
UNIT_WRAP(err_indialog)
UNIT_WRAP(err_match)
UNIT_WRAP(err_codes)
UNIT_WRAP(err_step)
UNIT_WRAP(err_headers)
UNIT_WRAP(err_body_file)
UNIT_WRAP(err_files)
UNIT_WRAP(err_many)
UNIT_WRAP(err_same_rule)
UNIT_WRAP(err_no_handler)
UNIT_WRAP(err_dup_match)
UNIT_WRAP(err_dup_method)
UNIT_WRAP(err_dup_step)
UNIT_WRAP(err_dup_top)
UNIT_WRAP(err_two_bodies)
UNIT_WRAP(err_two_documents)
UNIT_WRAP(err_delay_nan)
UNIT_WRAP(shipped)
UNIT_WRAP(builtin)
UNIT_WRAP(shipped_sweep)
UNIT_WRAP(shipped_auth)
UNIT_WRAP(match_first_wins)
UNIT_WRAP(match_headers)
UNIT_WRAP(match_headers_compact)
UNIT_WRAP(match_in_dialog)
UNIT_WRAP(match_nth_global)
UNIT_WRAP(match_nth_per_call)
UNIT_WRAP(match_nth_counts_all)
UNIT_WRAP(match_nth_criteria)
UNIT_WRAP(match_two_files)
UNIT_WRAP(match_no_user)


static void test_err_body_file_short(void **s)
{
	int err = check_err_body_file_short();

	(void)s;

	if (err == ENOTSUP)
		skip();

	assert_int_equal(0, err);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(simple_form),
		UNIT_TEST(full_form),
		UNIT_TEST(steps_forms),
		UNIT_TEST(durations),
		UNIT_TEST(vars),
		UNIT_TEST(err_toplevel),
		UNIT_TEST(err_vars),
		UNIT_TEST(err_yaml),
		UNIT_TEST(err_rule),
		UNIT_TEST(err_indialog),
		UNIT_TEST(err_match),
		UNIT_TEST(err_codes),
		UNIT_TEST(err_step),
		UNIT_TEST(err_headers),
		UNIT_TEST(err_body_file),
		UNIT_TEST(err_body_file_short),
		UNIT_TEST(err_files),
		UNIT_TEST(err_many),
		UNIT_TEST(err_same_rule),
		UNIT_TEST(err_no_handler),
		UNIT_TEST(shipped),
		UNIT_TEST(builtin),
		UNIT_TEST(shipped_sweep),
		UNIT_TEST(shipped_auth),
		UNIT_TEST(match_first_wins),
		UNIT_TEST(match_headers),
		UNIT_TEST(match_in_dialog),
		UNIT_TEST(match_nth_global),
		UNIT_TEST(match_nth_per_call),
		UNIT_TEST(match_nth_counts_all),
		UNIT_TEST(match_nth_criteria),
		UNIT_TEST(match_two_files),
		UNIT_TEST(match_no_user),
		UNIT_TEST(match_headers_compact),
		UNIT_TEST(err_two_documents),
		UNIT_TEST(err_delay_nan),
		UNIT_TEST(err_two_bodies),
		UNIT_TEST(err_dup_match),
		UNIT_TEST(err_dup_method),
		UNIT_TEST(err_dup_step),
		UNIT_TEST(err_dup_top),
	};

	return cmocka_run_group_tests(tests, unit_group_setup,
				      unit_group_teardown);
}
