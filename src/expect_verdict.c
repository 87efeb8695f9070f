/**
 * @file expect_verdict.c  Verdicts of the expectations: PASS/FAIL lines,
 *                         JSON, JUnit XML and event-log lines
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>
#include "scenario_int.h"
#include "expect_int.h"


/* Obligations overdue but not yet swept */
static uint32_t overdue(const struct item *it, uint64_t now)
{
	struct le *le;
	uint32_t n = 0;

	LIST_FOREACH(&it->pends, le) {
		const struct pend *p = le->data;

		if (p->until > now)
			break;
		++n;
	}

	return n;
}


static bool item_pass(const struct item *it, uint64_t now)
{
	const struct expdef *def = it->def;

	switch (def->kind) {

	case EXP_COUNT:
		return it->seen >= def->min && it->seen <= def->max;

	case EXP_WITHIN:
		return it->due && !it->failed && !overdue(it, now);

	default:
		return !it->failed;
	}
}


/* "saw ...": what came instead */
static int saw_print(struct re_printf *pf, const struct item *it,
		     uint64_t now)
{
	const struct expdef *def = it->def;
	uint32_t failed = it->failed + overdue(it, now);

	if (def->kind == EXP_COUNT)
		return re_hprintf(pf, "%u", it->seen);

	if (def->kind == EXP_WITHIN && !it->due)
		return re_hprintf(pf, "no %s sent", def->after_txt);

	if (it->fail)
		return re_hprintf(pf, "%s (%u of %u failed)", it->fail,
				  failed, def->kind == EXP_TARGET ?
				  it->seen : it->due);

	/* overdue, not yet swept */
	return re_hprintf(pf, "no %s in time (%u of %u failed)",
			  expect_first_method(def), failed, it->due);
}


static int detail_print(struct re_printf *pf, const struct item *it)
{
	switch (it->def->kind) {

	case EXP_COUNT:
		return re_hprintf(pf, "saw %u", it->seen);

	case EXP_WITHIN:
		return re_hprintf(pf, "%u of %u", it->met, it->due);

	case EXP_TARGET:
		return re_hprintf(pf, "%u request%s", it->seen,
				  it->seen == 1 ? "" : "s");

	default:
		return re_hprintf(pf, "%u responses", it->due);
	}
}


/* The text after "name: " */
static int text_print(struct re_printf *pf, const struct item *it,
		      uint64_t now)
{
	if (item_pass(it, now))
		return re_hprintf(pf, "%s (%H)", it->def->desc, detail_print,
				  it);

	return re_hprintf(pf, "expected %s, saw %H", it->def->desc,
			  saw_print, it, now);
}


/**
 * Did every expectation hold (so far)?
 */
bool expect_passed(const struct expect *ex)
{
	const uint64_t now = tmr_jiffies();
	struct le *le;

	LIST_FOREACH(ex ? &ex->items : NULL, le) {
		if (!item_pass(le->data, now))
			return false;
	}

	return true;
}


/**
 * Print one line per expectation: "PASS name: ..." or
 * "FAIL name: expected ..., saw ..."
 */
int expect_print_lines(struct re_printf *pf, const struct expect *ex)
{
	const uint64_t now = tmr_jiffies();
	struct le *le;
	int err = 0;

	LIST_FOREACH(ex ? &ex->items : NULL, le) {
		const struct item *it = le->data;

		err |= re_hprintf(pf, "%s %s: %H\n", item_pass(it, now) ?
				  "PASS" : "FAIL", it->def->name, text_print,
				  it, now);
	}

	return err;
}


static const char *kind_name(enum exp_kind kind)
{
	switch (kind) {

	case EXP_COUNT:      return "count";
	case EXP_WITHIN:     return "within";
	case EXP_NOT_BEFORE: return "not-before";
	case EXP_NEVER:      return "never";
	case EXP_TARGET:     return "target";
	default:             return "?";
	}
}


static int jstr(struct re_printf *pf, const char *s)
{
	struct pl pl;

	pl_set_str(&pl, s ? s : "");

	return json_str_print(pf, &pl);
}


/* One expectation as a JSON object */
static int item_json(struct re_printf *pf, const struct item *it,
		     uint64_t now)
{
	const struct expdef *def = it->def;
	char *text = NULL;
	int err;

	err = re_sdprintf(&text, "%H", text_print, it, now);
	if (err)
		return err;

	err  = re_hprintf(pf, "{\"name\":%H,\"file\":%H,\"line\":%u,"
			  "\"kind\":\"%s\",\"expect\":%H,\"result\":\"%s\","
			  "\"seen\":%u,\"due\":%u,\"met\":%u,\"failed\":%u,"
			  "\"message\":%H}",
			  jstr, def->name, jstr, def->file, def->line,
			  kind_name(def->kind), jstr, def->desc,
			  item_pass(it, now) ? "pass" : "fail", it->seen,
			  it->due, it->met, it->failed + overdue(it, now),
			  jstr, text);

	mem_deref(text);

	return err;
}


/**
 * Print the verdict so far as JSON: {"result", "passed", "failed",
 * "items": [...]}, as in the --report file
 *
 * @param pf Print handler
 * @param ex Checker
 *
 * @return 0 if success, otherwise errorcode
 */
int expect_print_json(struct re_printf *pf, const struct expect *ex)
{
	const uint64_t now = tmr_jiffies();
	uint32_t passed = 0, failed = 0;
	struct le *le;
	int err = 0;

	LIST_FOREACH(ex ? &ex->items : NULL, le) {
		if (item_pass(le->data, now))
			++passed;
		else
			++failed;
	}

	err |= re_hprintf(pf, "{\"result\":\"%s\",\"passed\":%u,"
			  "\"failed\":%u,\"items\":[", failed ? "fail" :
			  "pass", passed, failed);

	LIST_FOREACH(ex ? &ex->items : NULL, le) {
		err |= re_hprintf(pf, "%s%H", le == ex->items.head ? "" : ",",
				  item_json, le->data, now);
	}

	err |= re_hprintf(pf, "]}");

	return err;
}


/* Text for XML: markup escaped, control characters and invalid UTF-8
 * (a Call-ID off the wire) replaced */
static int xml_print(struct re_printf *pf, const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	int err = 0;

	while (p && *p && !err) {
		const uint8_t c = *p;
		size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 :
			c >= 0xc2 ? 2 : 0;
		size_t k;

		for (k = 1; k < len; k++) {
			if ((p[k] & 0xc0) != 0x80)
				len = 0;
		}

		if (c == '&')
			err = re_hprintf(pf, "&amp;");
		else if (c == '<')
			err = re_hprintf(pf, "&lt;");
		else if (c == '>')
			err = re_hprintf(pf, "&gt;");
		else if (c == '"')
			err = re_hprintf(pf, "&quot;");
		else if (c == '\'')
			err = re_hprintf(pf, "&apos;");
		else if (len == 1 && c < 0x20 && c != '\t' && c != '\n')
			err = re_hprintf(pf, "?");
		else if (len && c < 0xf5)
			err = pf->vph((const char *)p, len, pf->arg);
		else {
			err = re_hprintf(pf, "?");
			len = 1;
		}

		p += len ? len : 1;
	}

	return err;
}


static int suite_print(struct re_printf *pf, struct le *le, uint64_t now,
		       double secs, struct le **nextp)
{
	const char *file = ((struct item *)le->data)->def->file;
	uint32_t n = 0, nfail = 0;
	struct le *x;
	int err = 0;

	for (x = le; x; x = x->next) {
		const struct item *it = x->data;

		if (strcmp(it->def->file, file))
			break;
		++n;
		nfail += !item_pass(it, now);
	}

	err |= re_hprintf(pf, "  <testsuite name=\"%H\" tests=\"%u\" "
			  "failures=\"%u\" errors=\"0\" skipped=\"0\" "
			  "time=\"%.3f\">\n", xml_print, file, n, nfail, secs);

	for (; le != x; le = le->next) {
		const struct item *it = le->data;
		char *text = NULL;

		/* the run's time is the suite's: a testcase has none */
		err |= re_hprintf(pf, "    <testcase name=\"%H\" "
				  "classname=\"%H\"", xml_print,
				  it->def->name, xml_print, file);

		if (item_pass(it, now)) {
			err |= re_hprintf(pf, "/>\n");
			continue;
		}

		err |= re_sdprintf(&text, "%H", text_print, it, now);
		err |= re_hprintf(pf, ">\n      <failure message=\"%H\" "
				  "type=\"expectation\">%H</failure>\n"
				  "    </testcase>\n", xml_print, text,
				  xml_print, text);
		mem_deref(text);
	}

	err |= re_hprintf(pf, "  </testsuite>\n");
	*nextp = x;

	return err;
}


/**
 * Print the verdict as JUnit XML: a testsuite per scenario file, a
 * testcase per expectation (classname: the file)
 *
 * @param pf   Print handler
 * @param ex   Checker
 * @param secs How long the run took
 *
 * @return 0 if success, otherwise errorcode
 */
int expect_print_junit(struct re_printf *pf, const struct expect *ex,
		       double secs)
{
	const uint64_t now = tmr_jiffies();
	uint32_t n = 0, nfail = 0;
	struct le *le;
	int err = 0;

	LIST_FOREACH(ex ? &ex->items : NULL, le) {
		++n;
		nfail += !item_pass(le->data, now);
	}

	err |= re_hprintf(pf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			  "<testsuites name=\"sipstub\" tests=\"%u\" "
			  "failures=\"%u\" errors=\"0\" time=\"%.3f\">\n",
			  n, nfail, secs);

	le = ex ? ex->items.head : NULL;
	while (le && !err)
		err = suite_print(pf, le, now, secs, &le);

	err |= re_hprintf(pf, "</testsuites>\n");

	return err;
}


/**
 * Log the verdict: one "expect" event per expectation
 */
void expect_log(const struct expect *ex)
{
	const uint64_t now = tmr_jiffies();
	struct le *le;

	LIST_FOREACH(ex ? &ex->items : NULL, le) {
		const struct item *it = le->data;
		char *text = NULL;

		if (re_sdprintf(&text, "%H", text_print, it, now))
			continue;

		evlog_event(ex->el, "expect", NULL, ",\"name\":%H,"
			    "\"result\":\"%s\",\"message\":%H", jstr,
			    it->def->name, item_pass(it, now) ? "pass" :
			    "fail", jstr, text);
		mem_deref(text);
	}
}
