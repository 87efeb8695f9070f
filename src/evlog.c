/**
 * @file evlog.c  Event log: one JSON object per line
 *
 * Lines are buffered and written FLUSH_MS after the first one (a timer
 * queue entry: arming a timer is a system call, too dear to make every
 * event-loop turn), when the buffer grows large, and on close, which
 * the signal handlers and exit paths get to.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/time.h>
#include <sipstub.h>

#define DEBUG_MODULE "evlog"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	FLUSH_SIZE = 65536,
	FLUSH_MS   = 10,
};

struct evlog {
	struct mbuf *mb;
	time_t ts_sec;             /* the second ts_date holds */
	char ts_date[24];          /* "2026-11-30T10:01:33." */
	struct mbuf *pkt;          /* copy of a message to decode */
	struct tqs *tqs;
	struct tqent tmr;
	char worker[24];           /* "\"worker\":N," with --workers */
	evlog_tap_h *taph;         /* --control's event ring */
	void *tap_arg;
	size_t line;               /* where the current line starts in mb */
	int fd;                    /* -1: no file, only the tap */
	bool own_fd;
	bool chunked;              /* a pipe shared by workers */
};


static void evlog_destructor(void *arg)
{
	struct evlog *el = arg;

	evlog_flush(el);
	tq_cancel(&el->tmr);
	mem_deref(el->tqs);
	mem_deref(el->mb);
	mem_deref(el->pkt);

	if (el->own_fd)
		(void)close(el->fd);
}


static void flush_handler(void *arg)
{
	evlog_flush(arg);
}


/**
 * Open an event log
 *
 * @param elp  Event log, set on success
 * @param path File to append to, "-" for standard output, or NULL for
 *             none (the lines go only to the tap)
 *
 * @return 0 if success, otherwise errorcode
 */
int evlog_alloc(struct evlog **elp, const char *path)
{
	struct evlog *el;
	int err = 0;

	if (!elp)
		return EINVAL;

	el = mem_zalloc(sizeof(*el), evlog_destructor);
	if (!el)
		return ENOMEM;

	el->fd = -1;

	el->mb  = mbuf_alloc(FLUSH_SIZE);
	el->pkt = mbuf_alloc(2048);
	if (!el->mb || !el->pkt) {
		err = ENOMEM;
		goto out;
	}

	err = tqs_alloc(&el->tqs);
	if (err)
		goto out;

	if (!path) {
		el->fd = -1;
	}
	else if (!strcmp(path, "-")) {
		el->fd = STDOUT_FILENO;
	}
	else {
		el->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);
		if (el->fd < 0) {
			err = errno;
			goto out;
		}
		el->own_fd = true;
	}

 out:
	if (err)
		mem_deref(el);
	else
		*elp = el;

	return err;
}


/**
 * Mark the lines of a worker, for a log shared by several workers
 *
 * Writes to a file opened with O_APPEND do not interleave; writes to a
 * pipe do above PIPE_BUF bytes, so there they go in whole lines of at
 * most PIPE_BUF bytes each (a longer line still goes at once).
 *
 * @param el  Event log
 * @param idx Worker index
 */
void evlog_set_worker(struct evlog *el, unsigned idx)
{
	struct stat st;

	if (!el)
		return;

	(void)re_snprintf(el->worker, sizeof(el->worker), "\"worker\":%u,",
			  idx);

	el->chunked = fstat(el->fd, &st) || !S_ISREG(st.st_mode);
}


/**
 * Hand every line, as it is written, to a handler as well
 *
 * @param el  Event log
 * @param h   Tap handler, NULL for none
 * @param arg Handler argument
 */
void evlog_set_tap(struct evlog *el, evlog_tap_h *h, void *arg)
{
	if (!el)
		return;

	el->taph = h;
	el->tap_arg = arg;
}


/* the length of the next write: whole lines, up to PIPE_BUF if chunked */
static size_t chunk_len(const struct evlog *el, const uint8_t *p,
			size_t left)
{
	size_t n = 0;

	if (!el->chunked || left <= PIPE_BUF)
		return left;

	while (n < left) {
		const uint8_t *nl = memchr(p + n, '\n', left - n);
		size_t end = nl ? (size_t)(nl - p) + 1 : left;

		if (end > PIPE_BUF)
			return n ? n : end;

		n = end;
	}

	return n;
}


/**
 * Write out all buffered lines
 *
 * @param el Event log
 */
void evlog_flush(struct evlog *el)
{
	const uint8_t *p;
	size_t left;

	if (!el || !el->mb->end)
		return;

	if (el->fd < 0) {
		mbuf_rewind(el->mb);
		return;
	}

	p = el->mb->buf;
	left = el->mb->end;

	while (left) {
		ssize_t n = write(el->fd, p, chunk_len(el, p, left));

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			DEBUG_WARNING("write: %m (%zu bytes lost)\n", errno,
				      left);
			break;
		}

		p += n;
		left -= (size_t)n;
	}

	mbuf_rewind(el->mb);
}


/* Printable ASCII that a JSON string holds as it is */
static bool json_safe(uint8_t c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}


/**
 * Print a pl as a JSON string (quotes included); invalid UTF-8 becomes
 * U+FFFD
 */
int json_str_print(struct re_printf *pf, const struct pl *pl)
{
	const uint8_t *p = (const uint8_t *)(pl ? pl->p : NULL);
	size_t i, n = pl ? pl->l : 0;
	int err = pf->vph("\"", 1, pf->arg);

	for (i = 0; p && i < n && !err; ) {
		uint8_t c = p[i];
		size_t run = i;

		/* copy a run of safe ASCII at once */
		while (run < n && json_safe(p[run]))
			++run;

		if (run > i) {
			err = pf->vph((const char *)p + i, run - i, pf->arg);
			i = run;
			continue;
		}

		if (c == '"' || c == '\\') {
			err = re_hprintf(pf, "\\%c", c);
			++i;
		}
		else if (c < 0x20 || c == 0x7f) {
			err = re_hprintf(pf, "\\u%04x", c);
			++i;
		}
		else {
			size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 :
				c >= 0xc0 ? 2 : 0;
			size_t k;

			for (k = 1; len && k < len; k++) {
				if (i + k >= n || (p[i + k] & 0xc0) != 0x80)
					len = 0;
			}

			if (len && c < 0xf5 && c != 0xc0 && c != 0xc1) {
				err = pf->vph((const char *)p + i, len,
					      pf->arg);
				i += len;
			}
			else {
				err = re_hprintf(pf, "\\ufffd");
				++i;
			}
		}
	}

	err |= pf->vph("\"", 1, pf->arg);

	return err;
}


/* Lines are written at load: a few direct writes instead of printf */

/* "ts":"...", the date formatted once a second */
static int ts_write(struct evlog *el)
{
	struct timeval tv;
	uint32_t ms;
	int err;

	(void)gettimeofday(&tv, NULL);
	el->line = el->mb->end;

	if (tv.tv_sec != el->ts_sec || !el->ts_date[0]) {
		struct tm tm;

		(void)gmtime_r(&tv.tv_sec, &tm);
		(void)strftime(el->ts_date, sizeof(el->ts_date),
			       "%Y-%m-%dT%H:%M:%S.", &tm);
		el->ts_sec = tv.tv_sec;
	}

	ms = (uint32_t)tv.tv_usec / 1000;

	err  = LIT_WRITE(el->mb, "{\"ts\":\"");
	err |= mbuf_write_str(el->mb, el->ts_date);
	err |= mbuf_write_u8(el->mb, '0' + ms / 100);
	err |= mbuf_write_u8(el->mb, '0' + ms / 10 % 10);
	err |= mbuf_write_u8(el->mb, '0' + ms % 10);
	err |= LIT_WRITE(el->mb, "Z\",");

	return err;
}


/* ,"key":" (a string value follows) */
static int key_write(struct mbuf *mb, const char *key)
{
	int err;

	err  = LIT_WRITE(mb, ",\"");
	err |= mbuf_write_str(mb, key);
	err |= LIT_WRITE(mb, "\":\"");

	return err;
}


static int addr_field(struct mbuf *mb, const char *key, const struct sa *sa)
{
	int err;

	err  = key_write(mb, key);
	err |= fmt_addr(mb, sa, true);
	err |= mbuf_write_u8(mb, '"');

	return err;
}


/* pkt: the SIP message of a sip line, for the tap */
static void line_end(struct evlog *el, const uint8_t *pkt, size_t len)
{
	(void)mbuf_write_str(el->mb, "}\n");

	if (el->taph) {
		el->taph((const char *)el->mb->buf + el->line,
			 el->mb->end - el->line, pkt, len, el->tap_arg);
	}

	if (el->fd < 0)
		mbuf_rewind(el->mb);
	else if (el->mb->end >= FLUSH_SIZE)
		evlog_flush(el);
	else if (!tq_isrunning(&el->tmr))
		(void)tq_start(el->tqs, &el->tmr, FLUSH_MS, flush_handler,
			       el);
}


static bool json_plain(const struct pl *pl)
{
	size_t i;

	for (i = 0; i < pl->l; i++) {
		if (!json_safe(pl->p[i]))
			return false;
	}

	return true;
}


static int str_field(struct mbuf *mb, const char *key, const struct pl *pl)
{
	int err;

	if (!pl_isset(pl))
		return 0;

	if (!json_plain(pl))
		return mbuf_printf(mb, ",\"%s\":%H", key, json_str_print, pl);

	err  = key_write(mb, key);
	err |= mbuf_write_pl(mb, pl);
	err |= mbuf_write_u8(mb, '"');

	return err;
}


static int fields_print(struct mbuf *mb, const struct scan *f)
{
	int err = 0;

	if (f->req) {
		err |= LIT_WRITE(mb, ",\"kind\":\"request\"");
		err |= str_field(mb, "method", &f->met);
		err |= str_field(mb, "uri", &f->uri);
	}
	else {
		err |= LIT_WRITE(mb, ",\"kind\":\"response\",\"code\":");
		err |= fmt_dec(mb, f->scode);
		err |= str_field(mb, "reason", &f->reason);
		err |= str_field(mb, "method", &f->cseqmet);
	}

	err |= str_field(mb, "call_id", &f->callid);
	if (pl_isset(&f->cseqmet)) {
		err |= LIT_WRITE(mb, ",\"cseq\":");
		err |= fmt_dec(mb, f->cseq);
	}
	err |= str_field(mb, "from", &f->from);
	err |= str_field(mb, "to", &f->to);
	err |= str_field(mb, "from_tag", &f->ftag);
	err |= str_field(mb, "to_tag", &f->ttag);
	err |= str_field(mb, "branch", &f->branch);

	return err;
}


/**
 * Log one SIP message sent or received
 *
 * @param el  Event log
 * @param tx  True if sent
 * @param tp  Transport
 * @param src Source address
 * @param dst Destination address
 * @param pkt The whole message
 * @param len Its length
 */
void evlog_sip(struct evlog *el, bool tx, enum sip_transp tp,
	       const struct sa *src, const struct sa *dst,
	       const uint8_t *pkt, size_t len)
{
	struct sip_msg *msg = NULL;
	struct scan f;
	int err = 0;

	if (!el)
		return;

	err |= ts_write(el);
	err |= mbuf_write_str(el->mb, el->worker);
	err |= mbuf_write_str(el->mb, tx ? "\"event\":\"sip\",\"dir\":\"out\""
			      : "\"event\":\"sip\",\"dir\":\"in\"");
	err |= LIT_WRITE(el->mb, ",\"transport\":\"");
	err |= mbuf_write_str(el->mb, sip_transp_name(tp));
	err |= mbuf_write_u8(el->mb, '"');
	err |= addr_field(el->mb, "src", src);
	err |= addr_field(el->mb, "dst", dst);
	err |= LIT_WRITE(el->mb, ",\"len\":");
	err |= fmt_dec(el->mb, len);

	if (!scan_msg(&f, pkt, len)) {
		err |= fields_print(el->mb, &f);
	}
	else {
		/* sip_msg_decode() takes a reference: decode a copy */
		mbuf_rewind(el->pkt);
		err |= mbuf_write_mem(el->pkt, pkt, len);
		el->pkt->pos = 0;

		if (!sip_msg_decode(&msg, el->pkt)) {
			scan_from_msg(&f, msg);
			err |= fields_print(el->mb, &f);
		}
		else {
			err |= mbuf_printf(el->mb,
					   ",\"kind\":\"undecodable\"");
		}

		mem_deref(msg);
	}

	if (err)
		DEBUG_WARNING("sip line: %m\n", err);

	line_end(el, pkt, len);
}


/**
 * Log an event that is not a SIP message
 *
 * @param el    Event log
 * @param event Event name (warning, drop, listen, ...)
 * @param msg   Request it concerns, or NULL
 * @param fmt   More JSON members, starting with a comma, or NULL
 */
void evlog_event(struct evlog *el, const char *event,
		 const struct sip_msg *msg, const char *fmt, ...)
{
	va_list ap;
	int err = 0;

	if (!el)
		return;

	err |= ts_write(el);
	err |= mbuf_printf(el->mb, "%s\"event\":\"%s\"", el->worker, event);

	if (msg) {
		err |= str_field(el->mb, "method", &msg->met);
		err |= str_field(el->mb, "call_id", &msg->callid);
		err |= mbuf_printf(el->mb, ",\"src\":\"%J\"", &msg->src);
	}

	if (fmt) {
		va_start(ap, fmt);
		err |= mbuf_vprintf(el->mb, fmt, ap);
		va_end(ap);
	}

	if (err)
		DEBUG_WARNING("event line: %m\n", err);

	line_end(el, NULL, 0);
}
