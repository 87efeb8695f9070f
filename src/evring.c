/**
 * @file evring.c  Recent event-log lines, numbered, as Server-Sent Events
 *
 * Fed by the event log's tap (--control only). Each line gets the next
 * sequence number and is kept as a ready SSE record ("id: N", "data:"
 * the line with "seq" first and, for a SIP message, its text as "msg").
 * The ring holds at most RING_MAX records and RING_BYTES bytes.
 *
 * A stream sends from its next sequence number while its TCP send
 * queue is below SSE_HIGH, then waits for the queue to drain: a fast
 * reader gets every event, and each reader holds at most SSE_HIGH
 * bytes plus one record. A reader whose next record left the ring is
 * dropped with a final comment.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "evring"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	RING_MAX     = 8192,          /* records */
	RING_BYTES   = 8 << 20,
	MSG_MAX      = 65535,         /* bytes of SIP message text kept */
	SSE_HIGH     = 128 << 10,     /* send-queue bytes of a stream */
	KEEPALIVE_MS = 15000,
	DROP_WAIT_MS = 5000,          /* for the final comment to go out */
};

struct evring {
	struct evlog *el;
	struct mbuf *rec[RING_MAX];   /* rec[seq % RING_MAX] */
	uint64_t first;               /* oldest seq kept */
	uint64_t next;                /* seq of the next line */
	size_t bytes;
	struct list streams;
	struct list dropped;          /* sending their last comment */
	struct tmr tmr;               /* keep-alive, while streams exist */
};

struct sse {
	struct le le;                 /* in evring streams or dropped */
	struct evring *ring;
	struct tcp_conn *tc;
	struct tmr tmr;               /* drop: close after DROP_WAIT_MS */
	uint64_t next;
	bool waiting;                 /* for the send queue to drain */
};


static void pump(struct sse *s);


static void evring_destructor(void *arg)
{
	struct evring *r = arg;
	uint64_t seq;

	evlog_set_tap(r->el, NULL, NULL);
	tmr_cancel(&r->tmr);
	list_flush(&r->streams);
	list_flush(&r->dropped);

	for (seq = r->first; seq < r->next; ++seq)
		mem_deref(r->rec[seq % RING_MAX]);

	mem_deref(r->el);
}


static void sse_destructor(void *arg)
{
	struct sse *s = arg;

	list_unlink(&s->le);
	tmr_cancel(&s->tmr);
	if (s->tc)
		tcp_set_handlers(s->tc, NULL, NULL, NULL, NULL);
	mem_deref(s->tc);
}


static void evict(struct evring *r)
{
	struct mbuf **mbp = &r->rec[r->first % RING_MAX];

	r->bytes -= (*mbp)->size;
	*mbp = mem_deref(*mbp);
	++r->first;
}


/* The line with "seq" first and "msg" last, as an SSE record */
static int record_make(struct mbuf **mbp, uint64_t seq, const char *line,
		       size_t len, const uint8_t *pkt, size_t pktlen)
{
	struct mbuf *mb;
	struct pl body;
	int err;

	/* the object's members: inside "{" and "}\n" */
	if (len < 3 || line[0] != '{')
		return EINVAL;

	body.p = line + 1;
	body.l = len - 3;

	mb = mbuf_alloc(len + 64 + (pkt ? pktlen + pktlen / 8 + 16 : 0));
	if (!mb)
		return ENOMEM;

	err = mbuf_printf(mb, "id: %llu\ndata: {\"seq\":%llu,%r",
			  (unsigned long long)seq, (unsigned long long)seq,
			  &body);
	if (pkt) {
		struct pl msg = {(const char *)pkt, MIN(pktlen, MSG_MAX)};

		err |= mbuf_printf(mb, ",\"msg\":%H", json_str_print, &msg);
	}
	err |= mbuf_write_str(mb, "}\n\n");

	if (err)
		mem_deref(mb);
	else
		*mbp = mb;

	return err;
}


static void tap_handler(const char *line, size_t len, const uint8_t *pkt,
			size_t pktlen, void *arg)
{
	struct evring *r = arg;
	struct mbuf *mb;
	struct le *le;

	if (record_make(&mb, r->next, line, len, pkt, pktlen)) {
		DEBUG_WARNING("event %llu lost\n",
			      (unsigned long long)r->next);
		return;
	}

	if (r->next - r->first == RING_MAX)
		evict(r);

	r->rec[r->next % RING_MAX] = mb;
	r->bytes += mb->size;
	++r->next;

	while (r->bytes > RING_BYTES && r->first + 1 < r->next)
		evict(r);

	for (le = r->streams.head; le; ) {
		struct sse *s = le->data;

		le = le->next;
		if (!s->waiting)
			pump(s);
	}
}


/**
 * Start numbering and keeping the lines of an event log
 *
 * @param rp Ring, set on success
 * @param el Event log (its tap is the ring's while the ring lives)
 *
 * @return 0 if success, otherwise errorcode
 */
int evring_alloc(struct evring **rp, struct evlog *el)
{
	struct evring *r;

	if (!rp || !el)
		return EINVAL;

	r = mem_zalloc(sizeof(*r), evring_destructor);
	if (!r)
		return ENOMEM;

	r->el = mem_ref(el);
	r->first = r->next = 1;
	evlog_set_tap(el, tap_handler, r);

	*rp = r;

	return 0;
}


/* A comment line or two, ": ...\n\n" */
static int comment_send(struct tcp_conn *tc, const char *fmt, ...)
{
	struct mbuf *mb = mbuf_alloc(128);
	va_list ap;
	int err;

	if (!mb)
		return ENOMEM;

	va_start(ap, fmt);
	err = mbuf_vprintf(mb, fmt, ap);
	va_end(ap);

	if (!err) {
		mb->pos = 0;
		err = tcp_send(tc, mb);
	}

	mem_deref(mb);

	return err;
}


static void drained_close_handler(void *arg)
{
	mem_deref(arg);
}


static void drop_timeout(void *arg)
{
	mem_deref(arg);
}


/* Too slow: a last comment, then close once it is sent */
static void drop(struct sse *s, uint64_t lost)
{
	list_unlink(&s->le);
	list_append(&s->ring->dropped, &s->le, s);

	if (comment_send(s->tc, ": dropped: too slow, events from %llu are "
			 "gone\n\n", (unsigned long long)lost)) {
		mem_deref(s);
		return;
	}

	s->waiting = true;
	(void)tcp_set_send(s->tc, drained_close_handler);
	tmr_start(&s->tmr, DROP_WAIT_MS, drop_timeout, s);
}


static void send_handler(void *arg)
{
	struct sse *s = arg;

	s->waiting = false;
	pump(s);
}


static void pump(struct sse *s)
{
	struct evring *r = s->ring;

	while (s->next < r->next) {
		struct mbuf *mb;

		if (s->next < r->first) {
			drop(s, s->next);
			return;
		}

		if (tcp_conn_txqsz(s->tc) >= SSE_HIGH) {
			if (!s->waiting) {
				s->waiting = true;
				(void)tcp_set_send(s->tc, send_handler);
			}
			return;
		}

		mb = r->rec[s->next % RING_MAX];
		mb->pos = 0;
		if (tcp_send(s->tc, mb)) {
			mem_deref(s);
			return;
		}

		++s->next;
	}

	(void)tcp_set_send(s->tc, NULL);
}


static void keepalive_handler(void *arg)
{
	struct evring *r = arg;
	struct le *le;

	for (le = r->streams.head; le; ) {
		struct sse *s = le->data;

		le = le->next;
		if (comment_send(s->tc, ":\n\n"))
			mem_deref(s);
	}

	if (r->streams.head)
		tmr_start(&r->tmr, KEEPALIVE_MS, keepalive_handler, r);
}


static void recv_handler(struct mbuf *mb, void *arg)
{
	(void)mb;
	(void)arg;
}


static void close_handler(int err, void *arg)
{
	(void)err;

	mem_deref(arg);
}


/**
 * Turn a TCP connection into an event stream: the HTTP response header,
 * the kept events from a sequence number on, then every new event
 *
 * @param r    Ring
 * @param tc   The HTTP request's connection (the stream takes it over)
 * @param from First sequence number to send; 0 for new events only
 *
 * @return 0 if success, otherwise errorcode
 */
int evring_stream(struct evring *r, struct tcp_conn *tc, uint64_t from)
{
	struct sse *s;
	int err;

	if (!r || !tc)
		return EINVAL;

	err = comment_send(tc, "HTTP/1.1 200 OK\r\n"
			   "Content-Type: text/event-stream\r\n"
			   "Cache-Control: no-cache\r\n"
			   "\r\n"
			   ": sipstub events %llu..%llu kept\n\n",
			   (unsigned long long)r->first,
			   (unsigned long long)(r->next - 1));
	if (err)
		return err;

	s = mem_zalloc(sizeof(*s), sse_destructor);
	if (!s)
		return ENOMEM;

	s->ring = r;
	s->tc = mem_ref(tc);
	s->next = from ? from : r->next;
	tcp_set_handlers(tc, NULL, recv_handler, close_handler, s);

	if (s->next > r->next)
		s->next = r->next;
	else if (s->next < r->first)
		s->next = r->first;

	list_append(&r->streams, &s->le, s);
	if (!tmr_isrunning(&r->tmr))
		tmr_start(&r->tmr, KEEPALIVE_MS, keepalive_handler, r);

	pump(s);

	return 0;
}


/**
 * The sequence number the next event will get
 */
uint64_t evring_next(const struct evring *r)
{
	return r ? r->next : 0;
}
