/**
 * @file match.c  Which rule of a scenario answers a request
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>
#include "scenario_int.h"


static void callcount_destructor(void *arg)
{
	struct callcount *cc = arg;

	hash_unlink(&cc->he);
	list_unlink(&cc->le);
	mem_deref(cc->callid);
}


static bool regex_match_pl(const struct regex *r, const struct pl *pl)
{
	char buf[256];
	char *dyn = NULL;
	bool match;

	if (!pl->p)
		return 0 == regexec(&r->re, "", 0, NULL, 0);

	if (pl->l < sizeof(buf)) {
		memcpy(buf, pl->p, pl->l);
		buf[pl->l] = '\0';
		return 0 == regexec(&r->re, buf, 0, NULL, 0);
	}

	if (pl_strdup(&dyn, pl))
		return false;

	match = 0 == regexec(&r->re, dyn, 0, NULL, 0);
	mem_deref(dyn);

	return match;
}


static bool hdr_regex_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
			void *arg)
{
	(void)msg;

	return regex_match_pl(arg, &hdr->val);
}


/**
 * Does a request meet a rule's criteria (method, user, user-regex,
 * headers, in-dialog)? 'nth' is not looked at.
 *
 * @param rule Rule (or the criteria of an expectation)
 * @param msg  Request
 *
 * @return True if it does
 */
bool rule_criteria_match(const struct rule *rule, const struct sip_msg *msg)
{
	struct le *le;

	if (rule->methodc) {
		size_t i;

		for (i = 0; i < rule->methodc; i++) {
			if (!pl_strcmp(&msg->met, rule->methods[i]))
				break;
		}

		if (i == rule->methodc)
			return false;
	}

	if (rule->in_dialog != DLG_ANY &&
	    pl_isset(&msg->to.tag) != (rule->in_dialog == DLG_YES))
		return false;

	if (rule->user && pl_strcmp(&msg->uri.user, rule->user))
		return false;

	if (rule->user_re && !regex_match_pl(rule->user_re, &msg->uri.user))
		return false;

	LIST_FOREACH(&rule->hdrm, le) {
		const struct hdrmatch *hm = le->data;

		if (!sip_msg_xhdr_apply(msg, true, hm->name, hdr_regex_h,
					hm->re) &&
		    !(hm->compact &&
		      sip_msg_xhdr_apply(msg, true, hm->compact, hdr_regex_h,
					 hm->re)))
			return false;
	}

	return true;
}


static bool callcount_cmp(struct le *le, void *arg)
{
	const struct callcount *cc = le->data;

	return 0 == pl_strcmp(arg, cc->callid);
}


static uint32_t callcount_next(struct rule *rule, const struct sip_msg *msg)
{
	uint64_t now = tmr_jiffies();
	struct callcount *cc;

	/* made at the first request: a scenario may have many such rules */
	if (!rule->counts && hash_alloc(&rule->counts, CALLCOUNT_HASH))
		return 0;

	/* forget Call-IDs not seen for a while, oldest first */
	while (rule->lru.head) {
		cc = rule->lru.head->data;
		if (now - cc->used < CALLCOUNT_TTL)
			break;
		mem_deref(cc);
	}

	cc = list_ledata(hash_lookup(rule->counts,
				     hash_joaat_pl(&msg->callid),
				     callcount_cmp, (void *)&msg->callid));
	if (!cc) {
		cc = mem_zalloc(sizeof(*cc), callcount_destructor);
		if (!cc || pl_strdup(&cc->callid, &msg->callid)) {
			mem_deref(cc);
			return 0;
		}

		hash_append(rule->counts, hash_joaat_pl(&msg->callid),
			    &cc->he, cc);
	}
	else {
		list_unlink(&cc->le);
	}

	list_append(&rule->lru, &cc->le, cc);
	cc->used = now;

	return ++cc->count;
}


/**
 * Find the first rule that matches a request
 *
 * A rule with 'nth' counts every request that meets its other criteria,
 * whether or not an earlier rule answered it, so 'nth: 3' is the third
 * such request.
 *
 * @param scn Scenario
 * @param msg Request
 *
 * @return The rule, or NULL if none matches
 */
const struct rule *scenario_match(struct scenario *scn,
				  const struct sip_msg *msg)
{
	const struct rule *found = NULL;
	struct le *le;

	if (!scn || !msg)
		return NULL;

	LIST_FOREACH(&scn->rules, le) {
		struct rule *rule = le->data;
		uint32_t n;

		if (found && !scn->nthc)
			break;

		if (found && !rule->nth)
			continue;

		if (!rule_criteria_match(rule, msg))
			continue;

		if (!rule->nth) {
			found = rule;
			continue;
		}

		n = rule->per_call ? callcount_next(rule, msg) : ++rule->count;
		if (!found && n == rule->nth)
			found = rule;
	}

	return found;
}


const char *rule_name(const struct rule *rule)
{
	return rule ? rule->name : NULL;
}


const struct list *rule_steps(const struct rule *rule)
{
	return rule ? &rule->steps : NULL;
}


bool rule_auto100(const struct rule *rule)
{
	return rule && rule->auto100;
}


bool rule_check199(const struct rule *rule)
{
	return rule && rule->check199;
}


struct auth *rule_auth(const struct rule *rule)
{
	return rule ? rule->auth : NULL;
}


struct regcfg *rule_registrar(const struct rule *rule)
{
	return rule ? rule->reg : NULL;
}


struct registrar *scenario_registrar(const struct scenario *scn)
{
	return scn ? scn->reg : NULL;
}
