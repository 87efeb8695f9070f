/**
 * @file ctrl.c  --control: the HTTP control API and the call-ladder page
 *
 * One route table: an exact path or /calls/{call-id}/bye, with its
 * method. A known path with another method gets 405 and Allow, an
 * unknown one 404; errors are JSON objects {"error":..., "status":...}.
 * Request bodies are bounded by BODY_MAX (libre's HTTP server closes a
 * connection whose buffered request passes 512 KiB).
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "ctrl"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	BODY_MAX    = 256 << 10,
	JSON_DEPTH  = 8,
	ERRORS_MAX  = 100,          /* scenario errors reported */
};

struct ctrl {
	struct http_sock *hs;
	struct uas *uas;
	struct evlog *el;
	struct evring *ring;
	struct expect *ex;          /* NULL: the scenario expects nothing */
	struct calls *calls;
};

typedef void (route_h)(struct ctrl *c, struct http_conn *conn,
		       const struct http_msg *msg, const struct pl *id);

struct route {
	const char *met;
	const char *path;           /* "/calls/" : /calls/{call-id}/bye */
	route_h *h;
};

/* scenario errors as a JSON array */
struct errs {
	struct mbuf *mb;
	unsigned n;
};


static void ctrl_destructor(void *arg)
{
	struct ctrl *c = arg;

	mem_deref(c->hs);
	mem_deref(c->ring);
	mem_deref(c->uas);
	mem_deref(c->el);
	mem_deref(c->ex);
	mem_deref(c->calls);
}


static int str_print(struct re_printf *pf, const char *s)
{
	struct pl pl;

	pl_set_str(&pl, s);

	return json_str_print(pf, &pl);
}


static void reply_json(struct http_conn *conn, uint16_t scode,
		       const char *reason, const char *fmt, ...)
{
	struct mbuf *mb = mbuf_alloc(1024);
	va_list ap;
	int err;

	if (!mb)
		return;

	va_start(ap, fmt);
	err = mbuf_vprintf(mb, fmt, ap);
	va_end(ap);

	err |= mbuf_write_u8(mb, '\n');
	if (!err)
		err = http_reply(conn, scode, reason,
				 "Content-Type: application/json\r\n"
				 "Content-Length: %zu\r\n"
				 "Cache-Control: no-store\r\n"
				 "\r\n%b", mb->end, mb->buf, mb->end);
	if (err)
		DEBUG_NOTICE("reply %u: %m\n", scode, err);

	mem_deref(mb);
}


static void reply_error(struct http_conn *conn, uint16_t scode,
			const char *reason, const char *what)
{
	reply_json(conn, scode, reason, "{\"error\":%H,\"status\":%u}",
		   str_print, what, scode);
}


/* A JSON body, if any, must be an object */
static int body_json(struct odict **odp, struct http_conn *conn,
		     const struct http_msg *msg)
{
	size_t len = mbuf_get_left(msg->mb);
	int err;

	*odp = NULL;

	if (!len)
		return 0;

	err = json_decode_odict(odp, 16, (const char *)mbuf_buf(msg->mb),
				len, JSON_DEPTH);
	if (err) {
		reply_error(conn, 400, "Bad Request", "body is not JSON");
		return err;
	}

	return 0;
}


static void page_handler(struct ctrl *c, struct http_conn *conn,
			 const struct http_msg *msg, const struct pl *id)
{
	(void)c;
	(void)msg;
	(void)id;

	(void)http_reply(conn, 200, "OK",
			 "Content-Type: text/html; charset=utf-8\r\n"
			 "Content-Length: %zu\r\n"
			 "Cache-Control: no-store\r\n"
			 "\r\n%b", ladder_html_len, ladder_html,
			 ladder_html_len);
}


static void stats_handler(struct ctrl *c, struct http_conn *conn,
			  const struct http_msg *msg, const struct pl *id)
{
	(void)msg;
	(void)id;

	reply_json(conn, 200, "OK", "%H", trace_stats_print,
		   uas_trace(c->uas));
}


static void reset_handler(struct ctrl *c, struct http_conn *conn,
			  const struct http_msg *msg, const struct pl *id)
{
	struct odict *od;
	(void)id;

	if (body_json(&od, conn, msg))
		return;

	mem_deref(od);

	trace_reset(uas_trace(c->uas));
	expect_reset(c->ex);
	evlog_event(c->el, "reset", NULL, NULL);

	reply_json(conn, 200, "OK", "{\"reset\":[\"stats\","
		   "\"expectations\"]}");
}


static void expect_handler(struct ctrl *c, struct http_conn *conn,
			   const struct http_msg *msg, const struct pl *id)
{
	(void)msg;
	(void)id;

	reply_json(conn, 200, "OK", "%H", expect_print_json, c->ex);
}


struct callsq {
	const struct calls *calls;
	bool live;
};


static int calls_print(struct re_printf *pf, const struct callsq *q)
{
	return calls_print_json(pf, q->calls, q->live);
}


/* ?live=1 (or true): only the calls not yet ended */
static void calls_handler(struct ctrl *c, struct http_conn *conn,
			  const struct http_msg *msg, const struct pl *id)
{
	struct callsq q;
	(void)id;

	q.calls = c->calls;
	q.live  = !re_regex(msg->prm.p, msg->prm.l, "[?&]1live=[1t]1", NULL,
			    NULL);

	reply_json(conn, 200, "OK", "{\"calls\":%H}", calls_print, &q);
}


/* Last-Event-ID: N (an EventSource reconnecting): after event N;
 * ?from=N: from event N; neither: new events only */
static uint64_t events_from(const struct http_msg *msg)
{
	const struct http_hdr *hdr;
	struct pl num;

	hdr = http_msg_xhdr(msg, "Last-Event-ID");
	if (hdr && !re_regex(hdr->val.p, hdr->val.l, "[0-9]+", &num))
		return pl_u64(&num) + 1;

	if (!re_regex(msg->prm.p, msg->prm.l, "[?&]1from=[0-9]+", NULL,
		      &num))
		return pl_u64(&num) ? pl_u64(&num) : 1;

	return 0;
}


static void events_handler(struct ctrl *c, struct http_conn *conn,
			   const struct http_msg *msg, const struct pl *id)
{
	int err;
	(void)id;

	err = evring_stream(c->ring, http_conn_tcp(conn), events_from(msg));
	if (err)
		DEBUG_NOTICE("event stream: %m\n", err);

	/* the stream has the TCP connection now, or it failed */
	http_conn_close(conn);
}


static void scn_err_handler(const char *file, size_t line, size_t col,
			    const char *msg, void *arg)
{
	struct errs *e = arg;
	(void)file;

	if (e->n++ >= ERRORS_MAX)
		return;

	(void)mbuf_printf(e->mb, "%s{\"line\":%zu,\"col\":%zu,\"message\":%H}",
			  e->n > 1 ? "," : "", line, col, str_print, msg);
}


/* The YAML: the body, or the "yaml" member of a JSON object */
static int scenario_text(struct pl *yaml, struct odict **odp,
			 struct http_conn *conn, const struct http_msg *msg)
{
	const struct odict_entry *e;

	*odp = NULL;

	if (!msg_ctype_cmp(&msg->ctyp, "application", "json")) {
		yaml->p = (const char *)mbuf_buf(msg->mb);
		yaml->l = mbuf_get_left(msg->mb);
		return 0;
	}

	if (body_json(odp, conn, msg))
		return EBADMSG;

	e = *odp ? odict_lookup(*odp, "yaml") : NULL;
	if (!e || e->type != ODICT_STRING) {
		reply_error(conn, 400, "Bad Request",
			    "expected {\"yaml\": \"...\"}");
		return EBADMSG;
	}

	pl_set_str(yaml, e->u.str);

	return 0;
}


static void scenario_handler(struct ctrl *c, struct http_conn *conn,
			     const struct http_msg *msg, const struct pl *id)
{
	struct errs e = {NULL, 0};
	struct scenario *scn = NULL;
	struct odict *od = NULL;
	struct pl yaml;
	int err;
	(void)id;

	if (scenario_text(&yaml, &od, conn, msg))
		goto out;

	e.mb = mbuf_alloc(256);
	err = e.mb ? scenario_alloc(&scn) : ENOMEM;
	if (err)
		goto fail;

	/* what --check runs, then the built-in rules, as at start-up */
	err = scenario_load_buf(scn, "scenario", yaml.p, yaml.l,
				scn_err_handler, &e);
	if (!err)
		err = scenario_load_buf(scn, "dial-a-code (built-in)",
					dial_a_code_yaml,
					dial_a_code_yaml_len,
					scn_err_handler, &e);
	if (err && e.n) {
		evlog_event(c->el, "scenario", NULL, ",\"loaded\":false,"
			    "\"errors\":%u", e.n);
		reply_json(conn, 400, "Bad Request",
			   "{\"error\":\"the scenario has errors\","
			   "\"status\":400,\"errors\":[%b]}",
			   e.mb->buf, e.mb->end);
		goto out;
	}
	if (err)
		goto fail;

	/* transactions under way keep the old one (xact.c) */
	uas_set_scenario(c->uas, scn);
	evlog_event(c->el, "scenario", NULL, ",\"loaded\":true,"
		    "\"rules\":%u", scenario_rule_count(scn));
	reply_json(conn, 200, "OK", "{\"loaded\":true,\"rules\":%u}",
		   scenario_rule_count(scn));
	goto out;

 fail:
	reply_error(conn, 500, "Internal Server Error", "out of memory");
 out:
	mem_deref(scn);
	mem_deref(e.mb);
	mem_deref(od);
}


static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;

	return -1;
}


/* RFC 3986 2.1: a path segment's percent-encoding undone (a raw '@'
 * and the like pass as they are) */
static int pct_decode(char **strp, const struct pl *pl)
{
	char *s;
	size_t i, n = 0;

	s = mem_alloc(pl->l + 1, NULL);
	if (!s)
		return ENOMEM;

	for (i = 0; i < pl->l; i++) {
		int hi, lo;

		if (pl->p[i] != '%') {
			s[n++] = pl->p[i];
			continue;
		}

		hi = i + 2 < pl->l ? hexval(pl->p[i + 1]) : -1;
		lo = i + 2 < pl->l ? hexval(pl->p[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			mem_deref(s);
			return EBADMSG;
		}

		s[n++] = (char)(hi << 4 | lo);
		i += 2;
	}

	s[n] = '\0';
	*strp = s;

	return 0;
}


static void bye_handler(struct ctrl *c, struct http_conn *conn,
			const struct http_msg *msg, const struct pl *id)
{
	struct odict *od;
	struct pl callid;
	char *cid = NULL;
	int err;

	if (body_json(&od, conn, msg))
		return;

	mem_deref(od);

	err = pct_decode(&cid, id);
	if (err == ENOMEM) {
		reply_error(conn, 500, "Internal Server Error",
			    "out of memory");
		return;
	}
	if (err) {
		reply_error(conn, 400, "Bad Request",
			    "bad percent-encoding in the Call-ID");
		return;
	}

	pl_set_str(&callid, cid);
	err = dialog_hangup_callid(c->uas, &callid, "control API");

	switch (err) {

	case 0:
		reply_json(conn, 202, "Accepted",
			   "{\"call_id\":%H,\"bye\":\"sent\"}",
			   json_str_print, &callid);
		break;

	case ENOENT:
		reply_error(conn, 404, "Not Found",
			    "no confirmed call with that Call-ID");
		break;

	case EAGAIN:
		/* RFC 3261 15: no BYE before the ACK of our 2xx */
		reply_error(conn, 409, "Conflict",
			    "the 2xx is not acknowledged yet");
		break;

	default:
		reply_error(conn, 409, "Conflict", "the call is ending");
		break;
	}

	mem_deref(cid);
}


static const struct route routes[] = {
	{"GET",  "/",         page_handler},
	{"GET",  "/stats",    stats_handler},
	{"GET",  "/calls",    calls_handler},
	{"GET",  "/expectations", expect_handler},
	{"GET",  "/events",   events_handler},
	{"POST", "/scenario", scenario_handler},
	{"POST", "/reset",    reset_handler},
	{"POST", "/calls/",   bye_handler},
};


/* /calls/{call-id}/bye: the Call-ID, still percent-encoded */
static bool bye_path(struct pl *id, const struct pl *path)
{
	static const char pre[] = "/calls/", post[] = "/bye";
	const size_t lpre = sizeof(pre) - 1, lpost = sizeof(post) - 1;

	if (path->l <= lpre + lpost ||
	    strncmp(path->p, pre, lpre) ||
	    strncmp(path->p + path->l - lpost, post, lpost))
		return false;

	id->p = path->p + lpre;
	id->l = path->l - lpre - lpost;

	return true;
}


static bool route_path(const struct route *r, const struct pl *path,
		       struct pl *id)
{
	if (!strcmp(r->path, "/calls/"))
		return bye_path(id, path);

	return !pl_strcmp(path, r->path);
}


static void req_handler(struct http_conn *conn, const struct http_msg *msg,
			void *arg)
{
	struct ctrl *c = arg;
	char allow[64] = "";
	struct pl id = PL_INIT;
	size_t i;

	if (msg->clen > BODY_MAX) {
		reply_error(conn, 413, "Payload Too Large",
			    "the body is too large");
		return;
	}

	for (i = 0; i < ARRAY_SIZE(routes); i++) {
		const struct route *r = &routes[i];

		if (!route_path(r, &msg->path, &id))
			continue;

		if (!pl_strcmp(&msg->met, r->met)) {
			r->h(c, conn, msg, &id);
			return;
		}

		(void)re_snprintf(allow, sizeof(allow), "%s", r->met);
	}

	if (allow[0]) {
		(void)http_reply(conn, 405, "Method Not Allowed",
				 "Allow: %s\r\n"
				 "Content-Type: application/json\r\n"
				 "Content-Length: %zu\r\n"
				 "\r\n"
				 "{\"error\":\"method not allowed\","
				 "\"status\":405}\n", allow,
				 sizeof("{\"error\":\"method not allowed\","
					"\"status\":405}\n") - 1);
		return;
	}

	reply_error(conn, 404, "Not Found", "no such resource");
}


/**
 * Start the control API
 *
 * @param cp    Control API, set on success
 * @param laddr Address to listen on
 * @param uas   UAS
 * @param el    Event log (its lines feed GET /events)
 * @param ex    Expectations (GET /expectations, POST /reset), or NULL
 * @param calls Call summaries (GET /calls), or NULL
 *
 * @return 0 if success, otherwise errorcode
 */
int ctrl_alloc(struct ctrl **cp, const struct sa *laddr, struct uas *uas,
	       struct evlog *el, struct expect *ex, struct calls *calls)
{
	struct ctrl *c;
	struct sa bound;
	int err;

	if (!cp || !laddr || !uas || !el)
		return EINVAL;

	c = mem_zalloc(sizeof(*c), ctrl_destructor);
	if (!c)
		return ENOMEM;

	c->uas   = mem_ref(uas);
	c->el    = mem_ref(el);
	c->ex    = mem_ref(ex);
	c->calls = mem_ref(calls);

	err = evring_alloc(&c->ring, el);
	if (err)
		goto out;

	err = http_listen(&c->hs, laddr, req_handler, c);
	if (err)
		goto out;

	/* with port 0 this tells the port */
	err = tcp_sock_local_get(http_sock_tcp(c->hs), &bound);
	if (err)
		goto out;

	evlog_event(el, "control", NULL, ",\"addr\":\"%J\"", &bound);

 out:
	if (err)
		mem_deref(c);
	else
		*cp = c;

	return err;
}


/**
 * Parse --control: PORT (on 127.0.0.1) or ADDR:PORT
 *
 * @param sa   Address, set on success
 * @param spec The option's value
 *
 * @return 0 if success, otherwise errorcode
 */
int ctrl_addr_parse(struct sa *sa, const char *spec)
{
	struct pl port;
	const char *colon;
	uint32_t n;

	if (!sa || !spec)
		return EINVAL;

	colon = strrchr(spec, ':');
	pl_set_str(&port, colon ? colon + 1 : spec);

	if (!port.l || port.l > 5 || strspn(port.p, "0123456789") != port.l)
		return EINVAL;

	n = pl_u32(&port);
	if (n > 65535)
		return EINVAL;

	if (!colon)
		return sa_set_str(sa, "127.0.0.1", (uint16_t)n);

	return sa_decode(sa, spec, strlen(spec));
}
