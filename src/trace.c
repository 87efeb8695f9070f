/**
 * @file trace.c  SIP message tap: --trace, event log, pcap, statistics
 *
 * libre calls the trace handler for every message the stack sends or
 * receives, retransmissions included.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>


enum {
	METHODS_MAX = 32,
};

struct metcount {
	char name[16];
	uint32_t n;
};

struct trace {
	struct evlog *el;
	struct pcap *pcap;
	struct expect *ex;                  /* the tap's consumers */
	struct calls *calls;
	struct mbuf *pkt;                   /* a copy to decode */
	uint64_t nmsg;
	bool print;
	struct metcount met[METHODS_MAX];   /* requests received */
	uint32_t metc;
	uint32_t met_other;
	uint32_t scode[700];                /* responses sent */
};


static void trace_destructor(void *arg)
{
	struct trace *tr = arg;

	mem_deref(tr->el);
	mem_deref(tr->pcap);
	mem_deref(tr->ex);
	mem_deref(tr->calls);
	mem_deref(tr->pkt);
}


/**
 * Allocate a trace
 *
 * @param trp   Trace, set on success
 * @param el    Event log, or NULL
 * @param print True to print every message to stderr
 *
 * @return 0 if success, otherwise errorcode
 */
int trace_alloc(struct trace **trp, struct evlog *el, bool print)
{
	struct trace *tr;

	if (!trp)
		return EINVAL;

	tr = mem_zalloc(sizeof(*tr), trace_destructor);
	if (!tr)
		return ENOMEM;

	tr->el = mem_ref(el);
	tr->print = print;
	*trp = tr;

	return 0;
}


static void count_request(struct trace *tr, const struct pl *met)
{
	uint32_t i;

	for (i = 0; i < tr->metc; i++) {
		if (!pl_strcmp(met, tr->met[i].name)) {
			++tr->met[i].n;
			return;
		}
	}

	if (tr->metc < METHODS_MAX && met->l < sizeof(tr->met[0].name)) {
		(void)pl_strcpy(met, tr->met[tr->metc].name,
				sizeof(tr->met[0].name));
		tr->met[tr->metc++].n = 1;
	}
	else {
		++tr->met_other;
	}
}


/* The first two space-separated words of the start line (within its
 * first 64 bytes): method and URI, or version and status code */
static bool words2(struct pl *a, struct pl *b, const uint8_t *pkt,
		   size_t len)
{
	const char *p = (const char *)pkt, *end = p + MIN(len, 64);
	const char *sp = memchr(p, ' ', end - p);

	if (!sp || sp == p)
		return false;

	a->p = p;
	a->l = sp - p;
	b->p = sp + 1;

	sp = memchr(b->p, ' ', end - b->p);
	b->l = (sp ? sp : end) - b->p;

	return b->l > 0;
}


static void count(struct trace *tr, bool tx, const uint8_t *pkt, size_t len)
{
	struct pl a, b;

	if (!words2(&a, &b, pkt, len))
		return;

	if (!tx && pl_strcmp(&a, "SIP/2.0")) {
		count_request(tr, &a);
	}
	else if (tx && !pl_strcmp(&a, "SIP/2.0")) {
		uint32_t sc = pl_u32(&b);

		if (sc < ARRAY_SIZE(tr->scode))
			++tr->scode[sc];
	}
}


/* Expectations need the decoded message; calls the scanned fields */
static void tap(struct trace *tr, bool tx, const struct sa *src,
		const struct sa *dst, const uint8_t *pkt, size_t len)
{
	const uint64_t now = tmr_jiffies();
	struct sip_msg *msg = NULL;
	struct scan f;

	if (!tr->ex && !scan_msg(&f, pkt, len)) {
		calls_msg(tr->calls, tx, &f, now);
		return;
	}

	/* sip_msg_decode() takes a reference: decode a copy */
	mbuf_rewind(tr->pkt);
	if (mbuf_write_mem(tr->pkt, pkt, len))
		return;
	tr->pkt->pos = 0;

	if (sip_msg_decode(&msg, tr->pkt))
		return;

	msg->src = *src;
	msg->dst = *dst;

	expect_msg(tr->ex, tx, msg, hash_joaat(pkt, len), now);

	if (tr->calls) {
		scan_from_msg(&f, msg);
		calls_msg(tr->calls, tx, &f, now);
	}

	mem_deref(msg);
}


/**
 * Give every message to the expectations and the call summaries too
 *
 * @param tr    Trace
 * @param ex    Expectations, or NULL
 * @param calls Call summaries, or NULL
 */
void trace_set_tap(struct trace *tr, struct expect *ex, struct calls *calls)
{
	if (!tr)
		return;

	mem_deref(tr->ex);
	mem_deref(tr->calls);
	tr->ex = mem_ref(ex);
	tr->calls = mem_ref(calls);

	if ((ex || calls) && !tr->pkt)
		tr->pkt = mbuf_alloc(2048);
}


/**
 * How many messages were sent and received
 */
uint64_t trace_msg_count(const struct trace *tr)
{
	return tr ? tr->nmsg : 0;
}


/**
 * Handle one message sent or received by the SIP stack
 */
void trace_msg(struct trace *tr, bool tx, enum sip_transp tp,
	       const struct sa *src, const struct sa *dst,
	       const uint8_t *pkt, size_t len)
{
	if (!tr)
		return;

	++tr->nmsg;
	count(tr, tx, pkt, len);

	if (tr->ex || tr->calls)
		tap(tr, tx, src, dst, pkt, len);

	if (tr->print) {
		(void)re_fprintf(stderr, "---- %s %s %J -> %J (%zu bytes)\n"
				 "%b\n", tx ? "out" : "in",
				 sip_transp_name(tp), src, dst, len,
				 pkt, len);
	}

	evlog_sip(tr->el, tx, tp, src, dst, pkt, len);

	if (tr->pcap)
		pcap_msg(tr->pcap, tp, src, dst, pkt, len);
}


/**
 * Write every message to a capture as well
 *
 * @param tr Trace
 * @param p  Capture (referenced), or NULL
 */
void trace_set_pcap(struct trace *tr, struct pcap *p)
{
	if (!tr)
		return;

	mem_deref(tr->pcap);
	tr->pcap = mem_ref(p);
}


/**
 * Print the one-line summary: requests by method, responses by code
 */
int trace_summary(struct re_printf *pf, const struct trace *tr)
{
	uint32_t i, nreq = 0, nresp = 0;
	int err = 0;

	if (!tr)
		return 0;

	for (i = 0; i < tr->metc; i++)
		nreq += tr->met[i].n;
	nreq += tr->met_other;

	for (i = 0; i < ARRAY_SIZE(tr->scode); i++)
		nresp += tr->scode[i];

	err |= re_hprintf(pf, "sipstub: %u requests received (", nreq);
	for (i = 0; i < tr->metc; i++) {
		err |= re_hprintf(pf, "%s%s %u", i ? ", " : "",
				  tr->met[i].name, tr->met[i].n);
	}
	if (tr->met_other)
		err |= re_hprintf(pf, "%sother %u", tr->metc ? ", " : "",
				  tr->met_other);

	err |= re_hprintf(pf, "), %u responses sent (", nresp);
	for (i = 0, nresp = 0; i < ARRAY_SIZE(tr->scode); i++) {
		if (!tr->scode[i])
			continue;
		err |= re_hprintf(pf, "%s%u %u", nresp++ ? ", " : "", i,
				  tr->scode[i]);
	}
	err |= re_hprintf(pf, ")");

	return err;
}


/**
 * Print the counters as JSON: requests received by method, responses
 * sent by code
 */
int trace_stats_print(struct re_printf *pf, const struct trace *tr)
{
	uint32_t i, n = 0, nreq = 0, nresp = 0;
	int err = 0;

	if (!tr)
		return 0;

	err |= re_hprintf(pf, "{\"requests\":{");
	for (i = 0; i < tr->metc; i++) {
		struct pl met;

		pl_set_str(&met, tr->met[i].name);
		err |= re_hprintf(pf, "%s%H:%u", i ? "," : "",
				  json_str_print, &met, tr->met[i].n);
		nreq += tr->met[i].n;
	}
	if (tr->met_other)
		err |= re_hprintf(pf, "%s\"other\":%u", tr->metc ? "," : "",
				  tr->met_other);
	nreq += tr->met_other;

	err |= re_hprintf(pf, "},\"responses\":{");
	for (i = 0; i < ARRAY_SIZE(tr->scode); i++) {
		if (!tr->scode[i])
			continue;
		err |= re_hprintf(pf, "%s\"%u\":%u", n++ ? "," : "", i,
				  tr->scode[i]);
		nresp += tr->scode[i];
	}

	err |= re_hprintf(pf, "},\"requests_total\":%u,"
			  "\"responses_total\":%u}", nreq, nresp);

	return err;
}


/**
 * Zero the counters
 */
void trace_reset(struct trace *tr)
{
	if (!tr)
		return;

	memset(tr->met, 0, sizeof(tr->met));
	tr->metc = 0;
	tr->met_other = 0;
	memset(tr->scode, 0, sizeof(tr->scode));
}
