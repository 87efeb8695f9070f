/**
 * @file publish.c  Event state publication (RFC 3903) and MESSAGE
 *                  bodies (RFC 3428)
 *
 * A PUBLISH makes an entity tag, kept until it expires: a refresh or
 * modification names it in SIP-If-Match and gets a new one, Expires 0
 * removes it, an unknown one gets 412. The table is bounded. A MESSAGE
 * has its body written to the event log, up to a size limit.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "publish"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	PUBL_HASH = 256,
	PUBL_MAX = 10000,          /* entity tags at a time */
	PUBL_EXPIRES = 3600,       /* RFC 3903 6: the ESC's default, max */
	MESSAGE_LOG_MAX = 1024,    /* body bytes in a message event */
};

struct publ {
	struct hash *ht;
	struct uas *uas;
	uint32_t n;
};

/** One published event state */
struct etag {
	struct le he;              /* in publ->ht, by tag */
	struct publ *publ;
	struct tmr tmr;
	uint64_t tag;
	char *event;               /* package */
	char *aor;                 /* Request-URI */
};


static void publ_destructor(void *arg)
{
	struct publ *p = arg;

	publ_flush(p);
	mem_deref(p->ht);
}


static void etag_destructor(void *arg)
{
	struct etag *e = arg;

	hash_unlink(&e->he);
	--e->publ->n;
	tmr_cancel(&e->tmr);
	mem_deref(e->event);
	mem_deref(e->aor);
}


static void etag_log(struct publ *p, const struct sip_msg *msg,
		     const struct etag *e, const char *state,
		     uint32_t expires)
{
	struct pl ev, aor;

	pl_set_str(&ev, e->event);
	pl_set_str(&aor, e->aor);
	evlog_event(uas_evlog(p->uas), "publish", msg,
		    ",\"package\":%H,\"aor\":%H,\"etag\":\"%016llx\","
		    "\"state\":\"%s\",\"expires\":%u", json_str_print, &ev,
		    json_str_print, &aor, e->tag, state, expires);
}


static void expire_handler(void *arg)
{
	struct etag *e = arg;

	etag_log(e->publ, NULL, e, "expired", 0);
	mem_deref(e);
}


static bool etag_cmp_handler(struct le *le, void *arg)
{
	const struct etag *e = le->data;

	return e->tag == *(uint64_t *)arg;
}


static void rehash(struct publ *p, struct etag *e)
{
	hash_unlink(&e->he);

	/* the top bit set: 16 hex digits, never 0 */
	e->tag = rand_u64() | (1ULL << 63);
	hash_append(p->ht, (uint32_t)e->tag, &e->he, e);
}


/**
 * Allocate the table of published event state
 *
 * @param pp  Table, set on success
 * @param uas UAS (its event log)
 *
 * @return 0 if success, otherwise errorcode
 */
int publ_alloc(struct publ **pp, struct uas *uas)
{
	struct publ *p;
	int err;

	if (!pp)
		return EINVAL;

	p = mem_zalloc(sizeof(*p), publ_destructor);
	if (!p)
		return ENOMEM;

	p->uas = uas;

	err = hash_alloc(&p->ht, PUBL_HASH);
	if (err)
		mem_deref(p);
	else
		*pp = p;

	return err;
}


/** Drop every entity tag (on exit) */
void publ_flush(struct publ *p)
{
	if (p)
		hash_flush(p->ht);
}


static int etag_new(struct etag **ep, struct publ *p,
		    const struct sip_msg *msg, const struct pl *event)
{
	struct etag *e;
	int err;

	e = mem_zalloc(sizeof(*e), etag_destructor);
	if (!e)
		return ENOMEM;

	e->publ = p;
	++p->n;
	rehash(p, e);

	err  = pl_strdup(&e->event, event);
	err |= re_sdprintf(&e->aor, "%H", uri_encode, &msg->uri);
	if (err) {
		mem_deref(e);
		return err;
	}

	*ep = e;

	return 0;
}


/* SIP-If-Match: the entity tag it names, or NULL (412) */
static struct etag *etag_find(struct publ *p, const struct pl *val,
			      const struct pl *event)
{
	struct etag *e;
	struct pl tag;
	uint64_t t;

	if (re_regex(val->p, val->l, "[0-9a-f]+", &tag) || tag.l != 16)
		return NULL;

	t = pl_x64(&tag);
	e = list_ledata(hash_lookup(p->ht, (uint32_t)t, etag_cmp_handler,
				    &t));

	/* RFC 3903 6 step 3: the tag of this resource and package */
	if (e && pl_strcasecmp(event, e->event))
		return NULL;

	return e;
}


/**
 * Answer a PUBLISH that the scenario answers with a 2xx
 *
 * @param uas    UAS
 * @param msg    The PUBLISH
 * @param scode  Its 2xx
 * @param xhdrsp Set to SIP-ETag and Expires for the 2xx
 *
 * @return The code to answer: scode, 412 for an unknown entity tag,
 *         400 for a bad one, 503 when the table is full
 */
uint16_t publ_check(struct uas *uas, const struct sip_msg *msg,
		    uint16_t scode, char **xhdrsp)
{
	const struct sip_hdr *ev = sip_msg_hdr(msg, SIP_HDR_EVENT);
	const struct sip_hdr *im = sip_msg_hdr(msg, SIP_HDR_SIP_IF_MATCH);
	struct publ *p = uas_publ(uas);
	const char *state = "created";
	uint32_t expires = PUBL_EXPIRES;
	struct etag *e;
	struct pl event;

	if (!p || !ev || re_regex(ev->val.p, ev->val.l, "[^; \t\r\n]+",
				  &event))
		return 400;

	if (pl_isset(&msg->expires)) {
		/* RFC 3261 20.19: delta-seconds */
		if (!pl_digits(&msg->expires))
			return 400;
		expires = msg->expires.l > 9 ? PUBL_EXPIRES :
			MIN(pl_u32(&msg->expires), PUBL_EXPIRES);
	}

	if (im) {
		e = etag_find(p, &im->val, &event);
		if (!e) {
			evlog_event(uas_evlog(uas), "publish", msg,
				    ",\"etag\":%H,\"state\":\"unknown\"",
				    json_str_print, &im->val);
			return 412;
		}
		state = mbuf_get_left(msg->mb) ? "modified" : "refreshed";
	}
	else if (!mbuf_get_left(msg->mb)) {
		/* RFC 3903 6 step 4: an initial PUBLISH has a body */
		return 400;
	}
	else if (p->n >= PUBL_MAX) {
		return 503;
	}
	else if (etag_new(&e, p, msg, &event)) {
		return 500;
	}

	/* RFC 3903 6 step 5, 7: a new tag each time; Expires 0 removes */
	if (expires)
		rehash(p, e);

	if (re_sdprintf(xhdrsp, "SIP-ETag: %016llx\r\nExpires: %u\r\n",
			e->tag, expires)) {
		if (!im)
			mem_deref(e);
		return 500;
	}

	etag_log(p, msg, e, expires ? state : "removed", expires);

	if (!expires)
		mem_deref(e);
	else
		tmr_start(&e->tmr, expires * 1000, expire_handler, e);

	return scode;
}


/**
 * Write the body of a MESSAGE to the event log
 *
 * @param uas   UAS
 * @param msg   The MESSAGE
 * @param scode The code it got
 */
void message_log(struct uas *uas, const struct sip_msg *msg,
		 uint16_t scode)
{
	const struct sip_hdr *ct = sip_msg_hdr(msg, SIP_HDR_CONTENT_TYPE);
	const size_t len = mbuf_get_left(msg->mb);
	struct pl body, ctype = PL("");

	body.p = (const char *)mbuf_buf(msg->mb);
	body.l = MIN(len, MESSAGE_LOG_MAX);

	/* not in the middle of a UTF-8 sequence */
	while (body.l < len && body.l &&
	       ((uint8_t)body.p[body.l] & 0xc0) == 0x80)
		--body.l;

	if (ct)
		ctype = ct->val;

	evlog_event(uas_evlog(uas), "message", msg,
		    ",\"code\":%u,\"content_type\":%H,\"body_len\":%zu,"
		    "\"body\":%H,\"truncated\":%s", scode, json_str_print,
		    &ctype, len, json_str_print, &body,
		    body.l < len ? "true" : "false");
}
