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
	RING = 8,                 /* message hashes kept per Call-ID */
	CONTACTS_MAX = 8,         /* URIs kept per Call-ID or response */
	CALLS_MAX = 20000,        /* Call-IDs followed at once */
	CALL_TTL = 300000,        /* ms a quiet Call-ID is followed */
	PENDS_MAX = 20000,        /* open obligations per expectation */
	CALLS_HASH = 4096,
};

struct xcall {
	struct le he;
	struct le le;             /* in ex->lru, least recently used first */
	char *callid;
	uint64_t used;
	uint32_t ring[RING];      /* hashes of recent messages */
	unsigned ringn;
	struct list contacts;     /* struct curi: remote targets we gave */
	uint32_t inv_cseq;        /* the INVITE with a final response */
	uint16_t inv_final;
	struct list pends;        /* struct pend of 'same: call' */
};

struct curi {
	struct le le;
	char *uri;
};

/* An obligation (within) or a window (never, not-before) */
struct pend {
	struct le le;             /* in it->pends or it->wins */
	struct le cle;            /* in call->pends ('same: call') */
	struct item *it;
	struct xcall *call;       /* referenced */
	struct sa src;            /* the client */
	uint64_t t0, until;       /* until 0: never ends */
	uint32_t cseq;
	uint16_t scode;
	struct list contacts;     /* 'to: contact': those of the response */
	char *saw;                /* what came instead */
};

struct item {
	struct le le;
	struct expdef *def;       /* referenced */
	struct expect *ex;
	uint32_t seen;            /* requests that matched (count, target) */
	uint32_t due;             /* responses that 'after' names */
	uint32_t met;
	uint32_t failed;
	char *fail;               /* the first failure */
	struct list pends;        /* obligations, oldest first */
	struct list wins;         /* windows */
};

struct expect {
	struct list items;
	struct hash *calls;
	struct list lru;
	uint32_t ncalls;
	struct evlog *el;
	bool finished;
};


static void curi_destructor(void *arg)
{
	struct curi *cu = arg;

	list_unlink(&cu->le);
	mem_deref(cu->uri);
}


static void xcall_destructor(void *arg)
{
	struct xcall *c = arg;

	hash_unlink(&c->he);
	list_unlink(&c->le);
	list_flush(&c->contacts);
	mem_deref(c->callid);
}


static void pend_destructor(void *arg)
{
	struct pend *p = arg;

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


static const char *first_method(const struct expdef *def)
{
	return def->crit->methodc ? def->crit->methods[0] : "request";
}


static void pend_fail(struct pend *p, uint64_t now, bool end)
{
	struct item *it = p->it;

	if (end)
		fail(it, "no %s in the %llu ms from the %u to the end of the "
		     "run (Call-ID %s)%s%s", first_method(it->def),
		     (unsigned long long)(now - p->t0), p->scode,
		     p->call->callid, p->saw ? ", only " : "",
		     p->saw ? p->saw : "");
	else
		fail(it, "no %s within %u ms after the %u (Call-ID %s)%s%s",
		     first_method(it->def), it->def->within, p->scode,
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


/* --- per Call-ID state --- */

static bool xcall_cmp(struct le *le, void *arg)
{
	const struct xcall *c = le->data;

	return 0 == pl_strcmp(arg, c->callid);
}


static struct xcall *xcall_get(struct expect *ex, const struct pl *callid,
			       uint64_t now)
{
	const uint32_t key = hash_joaat_pl(callid);
	struct xcall *c;

	/* forget quiet Call-IDs, and the oldest beyond CALLS_MAX */
	while (ex->lru.head) {
		c = ex->lru.head->data;
		if (now - c->used < CALL_TTL && ex->ncalls < CALLS_MAX)
			break;
		--ex->ncalls;
		mem_deref(c);
	}

	c = list_ledata(hash_lookup(ex->calls, key, xcall_cmp,
				    (void *)callid));
	if (c) {
		list_unlink(&c->le);
		list_append(&ex->lru, &c->le, c);
		c->used = now;
		return c;
	}

	c = mem_zalloc(sizeof(*c), xcall_destructor);
	if (!c)
		return NULL;

	if (pl_strdup(&c->callid, callid)) {
		mem_deref(c);
		return NULL;
	}

	c->used = now;
	hash_append(ex->calls, key, &c->he, c);
	list_append(&ex->lru, &c->le, c);
	++ex->ncalls;

	return c;
}


/* A retransmission: the same bytes as a recent message of the Call-ID */
static bool xcall_dup(struct xcall *c, uint32_t h)
{
	unsigned i;

	for (i = 0; i < RING; i++) {
		if (c->ring[i] == h && (c->ringn > i || c->ringn >= RING))
			return true;
	}

	c->ring[c->ringn++ % RING] = h;

	return false;
}


static int curi_add(struct list *l, const struct pl *uri)
{
	struct curi *cu;
	struct le *le;

	if (list_count(l) >= CONTACTS_MAX)
		return 0;

	LIST_FOREACH(l, le) {
		const struct curi *x = le->data;

		if (!pl_strcmp(uri, x->uri))
			return 0;
	}

	cu = mem_zalloc(sizeof(*cu), curi_destructor);
	if (!cu)
		return ENOMEM;

	list_append(l, &cu->le, cu);

	return pl_strdup(&cu->uri, uri);
}


static bool contact_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		      void *arg)
{
	struct sip_addr addr;
	(void)msg;

	if (!sip_addr_decode(&addr, &hdr->val))
		(void)curi_add(arg, &addr.auri);

	return false;
}


static bool port_eq(const struct uri *a, const struct uri *b)
{
	uint16_t pa = a->port ? a->port : 5060;
	uint16_t pb = b->port ? b->port : 5060;

	return pa == pb;
}


/* RFC 3261 19.1.4, in part: scheme, user, host and port */
static bool uri_in(const struct list *l, const struct pl *ruri)
{
	struct uri u;
	struct le *le;

	if (uri_decode(&u, ruri))
		return false;

	LIST_FOREACH(l, le) {
		const struct curi *cu = le->data;
		struct uri c;
		struct pl pl;

		pl_set_str(&pl, cu->uri);
		if (uri_decode(&c, &pl))
			continue;

		if (!pl_casecmp(&u.scheme, &c.scheme) &&
		    !pl_cmp(&u.user, &c.user) &&
		    !pl_casecmp(&u.host, &c.host) && port_eq(&u, &c))
			return true;
	}

	return false;
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
	struct list *l = def->kind == EXP_WITHIN ? &it->pends : &it->wins;
	struct pend *p;

	if (list_count(l) >= PENDS_MAX)
		return ENOSPC;

	p = mem_zalloc(sizeof(*p), pend_destructor);
	if (!p)
		return ENOMEM;

	p->it = it;
	p->call = mem_ref(call);
	p->src = msg->dst;            /* a response goes to the client */
	p->t0 = now;
	p->until = until;
	p->cseq = msg->cseq.num;
	p->scode = msg->scode;

	if (def->to_contact)
		(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT,
					contact_h, &p->contacts);

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
					contact_h, &call->contacts);

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


static void saw_set(struct pend *p, const struct sip_msg *msg, bool target)
{
	if (p->saw)
		return;

	(void)re_sdprintf(&p->saw, "%r (CSeq %u) %s", &msg->met,
			  msg->cseq.num, target ? "to another URI" :
			  "not matching");
}


static void within_req(struct item *it, struct list *l,
		       const struct xcall *call, const struct sip_msg *msg,
		       uint64_t now)
{
	const struct expdef *def = it->def;
	struct le *le = l->head;

	while (le) {
		struct pend *p = le->data;
		bool ok;

		le = le->next;
		if (p->it != it || !pend_scope(p, call, msg))
			continue;

		ok = rule_criteria_match(def->crit, msg);
		if (ok && def->to_contact && !uri_in(&p->contacts,
						     &msg->ruri)) {
			saw_set(p, msg, true);
			continue;
		}
		if (!ok) {
			saw_set(p, msg, false);
			continue;
		}

		if (now > p->until) {
			fail(it, "%r came %llu ms after the %u, later than "
			     "%u ms (Call-ID %s)", &msg->met,
			     (unsigned long long)(now - p->t0), p->scode,
			     def->within, p->call->callid);
		}
		else {
			++it->met;
		}

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

	if (!uri_in(&call->contacts, &msg->ruri))
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
			within_req(it, l, call, msg, now);
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


/* --- verdicts --- */

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
			  first_method(def), failed, it->due);
}


static int detail_print(struct re_printf *pf, const struct item *it)
{
	switch (it->def->kind) {

	case EXP_COUNT:
		return re_hprintf(pf, "saw %u", it->seen);

	case EXP_WITHIN:
		return re_hprintf(pf, "%u of %u", it->met, it->due);

	case EXP_TARGET:
		return re_hprintf(pf, "%u requests", it->seen);

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


/* A printer's output as a new string */
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

		err |= re_hprintf(pf, "    <testcase name=\"%H\" "
				  "classname=\"%H\" time=\"%.3f\"",
				  xml_print, it->def->name, xml_print, file,
				  secs);

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
