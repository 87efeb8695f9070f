/**
 * @file calls.c  A summary of each call (initial INVITE), from the tap
 *
 * Fed with the scanned fields of every SIP message (trace.c), so what it
 * says is what crossed the wire. A call lives from its INVITE until it
 * ends: rejected or cancelled (the ACK of the final response came),
 * answered and hung up (a BYE, from the client or from sipstub), or
 * timed out (no final response and no message for 64*T1, or no ACK of
 * a non-2xx final). Ended calls are kept, the most recent first out.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <time.h>
#include <sys/time.h>
#include <sipstub.h>


enum {
	CODES_MAX = 16,
	LIVE_MAX = 100000,
	CALLS_HASH = 4096,
	TIMEOUT = 64 * 500,   /* ms: 64*T1, RFC 3261 timers B and H */
	TICK = 1000,
};

enum call_end {
	END_NONE = 0,
	END_BYE,
	END_CANCELLED,
	END_REJECTED,
	END_TIMEOUT,
};

struct call {
	struct le he;           /* in c->live_h while live */
	struct le le;           /* in c->live or c->recent */
	char *callid, *from, *to;
	uint32_t cseq;          /* the INVITE's */
	uint16_t codes[CODES_MAX];
	uint32_t ncodes;
	uint16_t final;
	uint64_t t0, tend, last;
	struct timeval start;
	enum call_end end;
	bool cancelled;
	bool bye_client;
};

struct calls {
	struct hash *live_h;
	struct list live;
	struct list recent;
	uint32_t nlive;
	uint32_t nrecent, recent_max;
	uint32_t ended;
	struct tmr tmr;
	struct evlog *el;
	calls_end_h *endh;
	void *arg;
};


static void call_destructor(void *arg)
{
	struct call *call = arg;

	hash_unlink(&call->he);
	list_unlink(&call->le);
	mem_deref(call->callid);
	mem_deref(call->from);
	mem_deref(call->to);
}


static void calls_destructor(void *arg)
{
	struct calls *c = arg;

	tmr_cancel(&c->tmr);
	list_flush(&c->live);
	list_flush(&c->recent);
	mem_deref(c->live_h);
	mem_deref(c->el);
}


/**
 * Follow the calls
 *
 * @param cp     Calls, set on success
 * @param recent How many ended calls to keep
 * @param el     Event log for a "call" event per ended call, or NULL
 * @param endh   Called when a call ends, or NULL
 * @param arg    Handler argument
 *
 * @return 0 if success, otherwise errorcode
 */
int calls_alloc(struct calls **cp, uint32_t recent, struct evlog *el,
		calls_end_h *endh, void *arg)
{
	struct calls *c;
	int err;

	if (!cp)
		return EINVAL;

	c = mem_zalloc(sizeof(*c), calls_destructor);
	if (!c)
		return ENOMEM;

	err = hash_alloc(&c->live_h, CALLS_HASH);
	if (err) {
		mem_deref(c);
		return err;
	}

	c->recent_max = recent;
	c->el = mem_ref(el);
	c->endh = endh;
	c->arg = arg;
	*cp = c;

	return 0;
}


static const char *end_name(enum call_end end)
{
	switch (end) {

	case END_BYE:       return "bye";
	case END_CANCELLED: return "cancelled";
	case END_REJECTED:  return "rejected";
	case END_TIMEOUT:   return "timeout";
	default:            return NULL;
	}
}


static int jstr(struct re_printf *pf, const char *s)
{
	struct pl pl;

	pl_set_str(&pl, s ? s : "");

	return json_str_print(pf, &pl);
}


static int codes_print(struct re_printf *pf, const struct call *call)
{
	uint32_t i;
	int err = 0;

	for (i = 0; i < call->ncodes; i++)
		err |= re_hprintf(pf, "%s%u", i ? "," : "", call->codes[i]);

	return err;
}


/* "call_id":...,...: the members of a call object, no braces */
static int members_print(struct re_printf *pf, const struct call *call,
			 uint64_t now)
{
	struct tm tm;
	int err = 0;

	(void)gmtime_r(&call->start.tv_sec, &tm);

	err |= re_hprintf(pf, "\"call_id\":%H,\"from\":%H,\"to\":%H,"
			  "\"start\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\","
			  "\"duration_ms\":%llu,\"codes\":[%H]",
			  jstr, call->callid, jstr, call->from, jstr, call->to,
			  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			  tm.tm_hour, tm.tm_min, tm.tm_sec,
			  (unsigned)(call->start.tv_usec / 1000),
			  (unsigned long long)((call->end ? call->tend : now)
					       - call->t0),
			  codes_print, call);

	if (!call->end) {
		err |= re_hprintf(pf, ",\"state\":\"%s\"", call->final &&
				  call->final < 300 ? "answered" :
				  call->final ? "rejected" : "ringing");
		return err;
	}

	err |= re_hprintf(pf, ",\"state\":\"ended\",\"ended\":\"%s\"",
			  end_name(call->end));
	if (call->end == END_BYE)
		err |= re_hprintf(pf, ",\"bye_by\":\"%s\"", call->bye_client ?
				  "client" : "sipstub");
	if (call->final)
		err |= re_hprintf(pf, ",\"code\":%u", call->final);

	return err;
}


static void call_end(struct calls *c, struct call *call, enum call_end end,
		     uint64_t now)
{
	call->end = end;
	call->tend = now;

	hash_unlink(&call->he);
	list_unlink(&call->le);
	--c->nlive;
	list_append(&c->recent, &call->le, call);
	++c->nrecent;

	while (c->nrecent > c->recent_max && c->recent.head) {
		mem_deref(c->recent.head->data);
		--c->nrecent;
	}

	++c->ended;

	if (c->el) {
		char *m = NULL;

		if (!re_sdprintf(&m, "%H", members_print, call, now)) {
			evlog_event(c->el, "call", NULL, ",%s", m);
			mem_deref(m);
		}
	}

	/* the handler may stop the run: last */
	if (c->endh)
		c->endh(c->ended, c->arg);
}


/* A call with no final response, or with a non-2xx not ACKed, ends
 * after TIMEOUT without a message */
static void tick(void *arg)
{
	struct calls *c = arg;
	const uint64_t now = tmr_jiffies();
	struct le *le = c->live.head;

	while (le) {
		struct call *call = le->data;

		le = le->next;
		if (now - call->last < TIMEOUT ||
		    (call->final && call->final < 300))
			continue;

		call_end(c, call, call->final ? (call->cancelled &&
			 call->final == 487 ? END_CANCELLED : END_REJECTED) :
			 END_TIMEOUT, now);
	}

	if (c->live.head)
		tmr_start(&c->tmr, TICK, tick, c);
}


static bool call_cmp(struct le *le, void *arg)
{
	const struct call *call = le->data;

	return 0 == pl_strcmp(arg, call->callid);
}


static struct call *call_find(const struct calls *c, const struct pl *id)
{
	return list_ledata(hash_lookup(c->live_h, hash_joaat_pl(id),
				       call_cmp, (void *)id));
}


static void call_new(struct calls *c, const struct scan *f, uint64_t now)
{
	struct call *call;
	int err;

	if (c->nlive >= LIVE_MAX)
		return;

	call = mem_zalloc(sizeof(*call), call_destructor);
	if (!call)
		return;

	err  = pl_strdup(&call->callid, &f->callid);
	err |= pl_strdup(&call->from, &f->from);
	err |= pl_strdup(&call->to, &f->to);
	if (err) {
		mem_deref(call);
		return;
	}

	call->cseq = f->cseq;
	call->t0 = call->last = now;
	(void)gettimeofday(&call->start, NULL);

	hash_append(c->live_h, hash_joaat_pl(&f->callid), &call->he, call);
	list_append(&c->live, &call->le, call);
	++c->nlive;

	if (!tmr_isrunning(&c->tmr))
		tmr_start(&c->tmr, TICK, tick, c);
}


static void response(struct calls *c, struct call *call,
		     const struct scan *f, uint64_t now)
{
	(void)c;
	(void)now;

	if (pl_strcmp(&f->cseqmet, "INVITE") || f->cseq != call->cseq)
		return;

	/* a retransmission repeats the last code */
	if (call->ncodes < CODES_MAX &&
	    (!call->ncodes || call->codes[call->ncodes - 1] != f->scode))
		call->codes[call->ncodes++] = f->scode;

	if (f->scode >= 200 && !call->final)
		call->final = f->scode;
}


static void request(struct calls *c, struct call *call, bool tx,
		    const struct scan *f, uint64_t now)
{
	if (!pl_strcmp(&f->met, "BYE") && call->final &&
	    call->final < 300) {
		call->bye_client = !tx;
		call_end(c, call, END_BYE, now);
		return;
	}

	if (tx)
		return;

	if (!pl_strcmp(&f->met, "CANCEL")) {
		call->cancelled = true;
	}
	else if (!pl_strcmp(&f->met, "ACK") && f->cseq == call->cseq &&
		 call->final >= 300) {
		call_end(c, call, call->cancelled && call->final == 487 ?
			 END_CANCELLED : END_REJECTED, now);
	}
}


/**
 * Follow one message sent or received
 *
 * @param c   Calls
 * @param tx  True if sipstub sent it
 * @param f   Its fields
 * @param now Time, ms
 */
void calls_msg(struct calls *c, bool tx, const struct scan *f,
	       uint64_t now)
{
	struct call *call;

	if (!c || !f || !pl_isset(&f->callid))
		return;

	call = call_find(c, &f->callid);

	if (f->req && !tx && !pl_strcmp(&f->met, "INVITE") &&
	    !pl_isset(&f->ttag)) {
		if (call && call->cseq == f->cseq) {
			call->last = now;
			return;
		}
		/* a new INVITE in the Call-ID (a retry after 401/407) */
		if (call)
			call_end(c, call, call->final ? END_REJECTED :
				 END_TIMEOUT, now);
		call_new(c, f, now);
		return;
	}

	if (!call)
		return;

	call->last = now;

	if (f->req)
		request(c, call, tx, f, now);
	else if (tx)
		response(c, call, f, now);
}


static int list_print(struct re_printf *pf, const struct list *l,
		      uint64_t now, bool *first)
{
	struct le *le;
	int err = 0;

	LIST_FOREACH(l, le) {
		err |= re_hprintf(pf, "%s{%H}", *first ? "" : ",",
				  members_print, le->data, now);
		*first = false;
	}

	return err;
}


/**
 * Print the calls as a JSON array: ended ones (oldest first), then live
 * ones
 *
 * @param pf        Print handler
 * @param c         Calls
 * @param live_only Only the calls not yet ended
 *
 * @return 0 if success, otherwise errorcode
 */
int calls_print_json(struct re_printf *pf, const struct calls *c,
		     bool live_only)
{
	const uint64_t now = tmr_jiffies();
	bool first = true;
	int err = 0;

	err |= re_hprintf(pf, "[");
	if (c && !live_only)
		err |= list_print(pf, &c->recent, now, &first);
	if (c)
		err |= list_print(pf, &c->live, now, &first);
	err |= re_hprintf(pf, "]");

	return err;
}
