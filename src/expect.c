/**
 * @file expect.c  Expectations checked against the messages on the wire
 *
 * The message tap (trace.c) hands every SIP message sipstub sends or
 * receives to expect_msg(), retransmissions included: a message whose
 * bytes a Call-ID saw lately is a retransmission and is left out. A
 * response that an expectation's 'after' names opens an obligation (a
 * request must come within a time) or a window (a request must not
 * come); the client's requests meet or break them. Obligations of one
 * expectation fall due in the order they were made, so overdue ones are
 * found at the head of its list, lazily: on the next message, on a
 * verdict, at the end.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>
#include "scenario_int.h"
#include "expect_int.h"

#define DEBUG_MODULE "expect"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	PENDS_MAX = 20000,        /* open obligations per expectation */
	CALLS_HASH = 4096,
};


static void pend_destructor(void *arg)
{
	struct pend *p = arg;

	if (p->np)
		--*p->np;
	list_unlink(&p->le);
	list_unlink(&p->cle);
	list_flush(&p->contacts);
	mem_deref(p->call);
	mem_deref(p->saw);
}


static void item_destructor(void *arg)
{
	struct item *it = arg;

	list_unlink(&it->le);
	list_flush(&it->pends);
	list_flush(&it->wins);
	mem_deref(it->def);
	mem_deref(it->fail);
}


static void expect_destructor(void *arg)
{
	struct expect *ex = arg;

	list_flush(&ex->items);
	list_flush(&ex->lru);
	mem_deref(ex->calls);
	mem_deref(ex->el);
}


static int items_make(struct expect *ex, const struct scenario *scn)
{
	struct le *le;

	LIST_FOREACH(&scn->expects, le) {
		struct item *it = mem_zalloc(sizeof(*it), item_destructor);

		if (!it)
			return ENOMEM;

		it->def = mem_ref(le->data);
		it->ex = ex;
		list_append(&ex->items, &it->le, it);
	}

	return 0;
}


/**
 * Make the checker of a scenario's expectations
 *
 * @param exp Checker, set on success
 * @param scn Scenario (its expect: entries of every file)
 * @param el  Event log for failures and verdicts, or NULL
 *
 * @return 0 if success, otherwise errorcode
 */
int expect_alloc(struct expect **exp, const struct scenario *scn,
		 struct evlog *el)
{
	struct expect *ex;
	int err;

	if (!exp || !scn)
		return EINVAL;

	ex = mem_zalloc(sizeof(*ex), expect_destructor);
	if (!ex)
		return ENOMEM;

	ex->el = mem_ref(el);

	err = hash_alloc(&ex->calls, CALLS_HASH);
	if (!err)
		err = items_make(ex, scn);

	if (err)
		mem_deref(ex);
	else
		*exp = ex;

	return err;
}


/**
 * Start over: forget every count, obligation and verdict
 *
 * @param ex Checker
 */
void expect_reset(struct expect *ex)
{
	struct le *le;

	if (!ex)
		return;

	LIST_FOREACH(&ex->items, le) {
		struct item *it = le->data;

		list_flush(&it->pends);
		list_flush(&it->wins);
		it->fail = mem_deref(it->fail);
		it->seen = it->due = it->met = it->failed = 0;
	}

	list_flush(&ex->lru);
	ex->ncalls = 0;
	ex->finished = false;
}


/* --- failures --- */

static void fail(struct item *it, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	struct pl name, m;

	++it->failed;

	va_start(ap, fmt);
	(void)re_vsdprintf(&msg, fmt, ap);
	va_end(ap);

	if (!msg)
		return;

	pl_set_str(&name, it->def->name);
	pl_set_str(&m, msg);
	evlog_event(it->ex->el, "expect_fail", NULL,
		    ",\"name\":%H,\"message\":%H", json_str_print, &name,
		    json_str_print, &m);

	if (!it->fail)
		it->fail = msg;
	else
		mem_deref(msg);
}


const char *expect_first_method(const struct expdef *def)
{
	return def->crit->methodc ? def->crit->methods[0] : "request";
}


static void pend_fail(struct pend *p, uint64_t now, bool end)
{
	struct item *it = p->it;

	if (end)
		fail(it, "no %s in the %llu ms from the %u to the end of the "
		     "run (Call-ID %s)%s%s", expect_first_method(it->def),
		     (unsigned long long)(now - p->t0), p->scode,
		     p->call->callid, p->saw ? ", only " : "",
		     p->saw ? p->saw : "");
	else
		fail(it, "no %s within %u ms after the %u (Call-ID %s)%s%s",
		     expect_first_method(it->def), it->def->within, p->scode,
		     p->call->callid, p->saw ? ", only " : "",
		     p->saw ? p->saw : "");

	mem_deref(p);
}


/* Obligations past their time fail */
static void sweep(struct expect *ex, uint64_t now)
{
	struct le *le;

	LIST_FOREACH(&ex->items, le) {
		struct item *it = le->data;

		while (it->pends.head) {
			struct pend *p = it->pends.head->data;

			if (p->until > now)
				break;

			pend_fail(p, now, false);
		}
	}
}


/* --- responses sipstub sends --- */

static bool after_match(const struct expdef *def, const struct sip_msg *msg)
{
	uint32_t i;

	if (!def->afterc)
		return false;

	if (def->after_met && pl_strcmp(&msg->cseq.met, def->after_met))
		return false;

	for (i = 0; i < def->afterc; i++) {
		if (msg->scode >= def->after[i].lo &&
		    msg->scode <= def->after[i].hi)
			return true;
	}

	return false;
}


static uint32_t leading_num(const struct pl *pl, bool *ok)
{
	struct pl num;

	*ok = pl && !re_regex(pl->p, pl->l, "[0-9]+", &num);

	return *ok ? pl_u32(&num) : 0;
}


/* ms of the window after a response, false: the response has none */
static bool wait_get(const struct expdef *def, const struct sip_msg *msg,
		     uint64_t *msp)
{
	const struct sip_hdr *hdr;
	uint64_t secs = 0;
	bool ok = false;

	switch (def->wait) {

	case WAIT_FIXED:
		*msp = def->wait_ms;
		return true;

	case WAIT_RETRY_AFTER:
		hdr = sip_msg_hdr(msg, SIP_HDR_RETRY_AFTER);
		secs = leading_num(hdr ? &hdr->val : NULL, &ok);
		break;

	case WAIT_EXPIRES:
		hdr = sip_msg_hdr(msg, SIP_HDR_CONTACT);
		if (hdr) {
			struct sip_addr addr;
			struct pl v;

			if (!sip_addr_decode(&addr, &hdr->val) &&
			    !msg_param_decode(&addr.params, "expires", &v))
				secs = leading_num(&v, &ok);
		}
		if (!ok && pl_isset(&msg->expires))
			secs = leading_num(&msg->expires, &ok);
		break;
	}

	*msp = secs * 1000 * def->wait_pct / 100;

	return ok;
}


static int pend_add(struct item *it, struct xcall *call,
		    const struct sip_msg *msg, uint64_t now, uint64_t until)
{
	const struct expdef *def = it->def;
	const bool within = def->kind == EXP_WITHIN;
	struct list *l = within ? &it->pends : &it->wins;
	uint32_t *np = within ? &it->npends : &it->nwins;
	struct pend *p;

	/* the oldest window goes; obligations are never dropped unseen */
	if (*np >= PENDS_MAX) {
		if (within)
			return ENOSPC;
		mem_deref(l->head->data);
	}

	p = mem_zalloc(sizeof(*p), pend_destructor);
	if (!p)
		return ENOMEM;

	p->it = it;
	p->np = np;
	++*np;
	p->call = mem_ref(call);
	p->src = msg->dst;            /* a response goes to the client */
	p->t0 = now;
	p->until = until;
	p->cseq = msg->cseq.num;
	p->scode = msg->scode;

	if (msg->scode < 200) {
		const struct sip_hdr *rseq = sip_msg_hdr(msg, SIP_HDR_RSEQ);
		bool ok;

		p->rseq = rseq ? leading_num(&rseq->val, &ok) : 0;
	}

	if (def->to_contact)
		(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT,
					xcall_contact_h, &p->contacts);

	list_append(l, &p->le, p);
	if (def->same == SAME_CALL)
		list_append(&call->pends, &p->cle, p);

	return 0;
}


static void response_sent(struct expect *ex, struct xcall *call,
			  const struct sip_msg *msg, uint64_t now)
{
	struct le *le;

	if (!pl_strcmp(&msg->cseq.met, "INVITE") && msg->scode >= 200) {
		call->inv_cseq  = msg->cseq.num;
		call->inv_final = msg->scode;
	}

	/* RFC 3261 12.1.1: the Contact of a 101-299 with To-tag is the
	 * dialog's remote target for the client */
	if (msg->scode > 100 && msg->scode < 300 && pl_isset(&msg->to.tag))
		(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT,
					xcall_contact_h, &call->contacts);

	LIST_FOREACH(&ex->items, le) {
		struct item *it = le->data;
		const struct expdef *def = it->def;
		uint64_t wait = 0;

		if (!after_match(def, msg))
			continue;

		switch (def->kind) {

		case EXP_WITHIN:
			++it->due;
			(void)pend_add(it, call, msg, now, now + def->within);
			break;

		case EXP_NEVER:
			++it->due;
			(void)pend_add(it, call, msg, now, 0);
			break;

		case EXP_NOT_BEFORE:
			if (!wait_get(def, msg, &wait))
				break;
			++it->due;
			(void)pend_add(it, call, msg, now, now + wait);
			break;

		default:
			break;
		}
	}
}


/* --- requests the client sends --- */

static bool method_in(const struct rule *r, const struct pl *met)
{
	size_t i;

	if (!r->methodc)
		return true;

	for (i = 0; i < r->methodc; i++) {
		if (!pl_strcmp(met, r->methods[i]))
			return true;
	}

	return false;
}


/* Does the request belong to what opened the pend? */
static bool pend_scope(const struct pend *p, const struct xcall *call,
		       const struct sip_msg *msg)
{
	switch (p->it->def->same) {

	case SAME_CALL:
		if (p->call != call)
			return false;
		/* RFC 3261 9.1, 17.1.1.3: ACK and CANCEL keep the CSeq
		 * number; a new request (PRACK, a retry) has a higher one */
		if (!pl_strcmp(&msg->met, "ACK") ||
		    !pl_strcmp(&msg->met, "CANCEL"))
			return msg->cseq.num == p->cseq;
		return msg->cseq.num > p->cseq;

	case SAME_ADDRESS:
		return sa_cmp(&p->src, &msg->src, SA_ADDR);

	default:
		return true;
	}
}


static void saw_set(struct pend *p, const struct sip_msg *msg,
		    const char *why)
{
	if (p->saw)
		return;

	(void)re_sdprintf(&p->saw, "%r (CSeq %u) %s", &msg->met,
			  msg->cseq.num, why);
}


/* RFC 3262 7.2: a PRACK acknowledges the provisional its RAck names */
static bool rack_match(const struct pend *p, const struct sip_msg *msg)
{
	const struct sip_hdr *hdr;
	const struct pl *rack;
	struct pl rseq, cseq;

	if (!p->rseq || pl_strcmp(&msg->met, "PRACK"))
		return true;

	hdr = sip_msg_hdr(msg, SIP_HDR_RACK);
	rack = hdr ? &hdr->val : NULL;
	if (!rack || re_regex(rack->p, rack->l, "[0-9]+[ \t]+[0-9]+",
			      &rseq, NULL, &cseq))
		return false;

	return pl_u32(&rseq) == p->rseq && pl_u32(&cseq) == p->cseq;
}


static void within_req(struct item *it, struct list *l,
		       const struct xcall *call, const struct sip_msg *msg)
{
	const struct expdef *def = it->def;
	struct le *le = l->head;

	while (le) {
		struct pend *p = le->data;

		le = le->next;
		if (p->it != it || !pend_scope(p, call, msg))
			continue;

		if (!rule_criteria_match(def->crit, msg)) {
			saw_set(p, msg, "not matching");
			continue;
		}
		if (def->to_contact && !xcall_uri_in(&p->contacts, &msg->ruri)) {
			saw_set(p, msg, "to another URI");
			continue;
		}
		if (!rack_match(p, msg)) {
			saw_set(p, msg, "with another RAck");
			continue;
		}

		/* sweep() has failed the overdue ones */
		++it->met;
		mem_deref(p);
	}
}


static void window_req(struct item *it, struct list *l,
		       const struct xcall *call, const struct sip_msg *msg,
		       uint64_t now)
{
	struct le *le = l->head;

	while (le) {
		struct pend *p = le->data;

		le = le->next;
		if (p->it != it)
			continue;

		if (p->until && now >= p->until) {
			mem_deref(p);
			continue;
		}

		if (!pend_scope(p, call, msg) ||
		    !rule_criteria_match(it->def->crit, msg))
			continue;

		fail(it, "%r (CSeq %u) %llu ms after the %u (Call-ID %s)",
		     &msg->met, msg->cseq.num,
		     (unsigned long long)(now - p->t0), p->scode,
		     p->call->callid);
		return;
	}
}


/* In-dialog requests go to the remote target (RFC 3261 12.2.1.1); the
 * ACK of a non-2xx and CANCEL go where the INVITE went (9.1, 17.1.1.3) */
static void target_req(struct item *it, const struct xcall *call,
		       const struct sip_msg *msg)
{
	if (!pl_isset(&msg->to.tag) || !pl_strcmp(&msg->met, "CANCEL"))
		return;

	if (!pl_strcmp(&msg->met, "ACK") && msg->cseq.num == call->inv_cseq
	    && call->inv_final >= 300)
		return;

	if (!rule_criteria_match(it->def->crit, msg))
		return;

	++it->seen;

	if (!xcall_uri_in(&call->contacts, &msg->ruri))
		fail(it, "%r to %r, a URI sipstub did not give (Call-ID %r)",
		     &msg->met, &msg->ruri, &msg->callid);
}


static void request_recv(struct expect *ex, struct xcall *call,
			 const struct sip_msg *msg, uint64_t now)
{
	struct le *le;

	LIST_FOREACH(&ex->items, le) {
		struct item *it = le->data;
		const struct expdef *def = it->def;
		struct list *l;

		if (!method_in(def->crit, &msg->met))
			continue;

		switch (def->kind) {

		case EXP_COUNT:
			if (rule_criteria_match(def->crit, msg))
				++it->seen;
			break;

		case EXP_WITHIN:
			l = def->same == SAME_CALL ? &call->pends : &it->pends;
			within_req(it, l, call, msg);
			break;

		case EXP_NEVER:
		case EXP_NOT_BEFORE:
			l = def->same == SAME_CALL ? &call->pends : &it->wins;
			window_req(it, l, call, msg, now);
			break;

		case EXP_TARGET:
			target_req(it, call, msg);
			break;
		}
	}
}


/**
 * Check one message sent or received
 *
 * @param ex   Checker
 * @param tx   True if sipstub sent it
 * @param msg  The message
 * @param hash A hash of its bytes (retransmissions are identical)
 * @param now  Time, ms (tmr_jiffies())
 */
void expect_msg(struct expect *ex, bool tx, const struct sip_msg *msg,
		uint32_t hash, uint64_t now)
{
	struct xcall *call;

	if (!ex || !msg || ex->finished || !pl_isset(&msg->callid))
		return;

	sweep(ex, now);

	/* requests sipstub sends and their responses are not the client's
	 * doing, except for the Contacts that ours carry */
	if (tx != !msg->req)
		return;

	call = xcall_get(ex, &msg->callid, now);
	if (!call || xcall_dup(call, hash))
		return;

	if (tx)
		response_sent(ex, call, msg, now);
	else
		request_recv(ex, call, msg, now);
}


/**
 * End the run: what is still due fails
 *
 * @param ex  Checker
 * @param now Time, ms
 */
void expect_finish(struct expect *ex, uint64_t now)
{
	struct le *le;

	if (!ex || ex->finished)
		return;

	sweep(ex, now);

	LIST_FOREACH(&ex->items, le) {
		struct item *it = le->data;

		while (it->pends.head)
			pend_fail(it->pends.head->data, now, true);

		list_flush(&it->wins);
	}

	ex->finished = true;
}
