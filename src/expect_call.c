/**
 * @file expect_call.c  The checker's state of each Call-ID: the hashes of
 *                      recent messages (retransmissions count once), the
 *                      Contacts sipstub gave, the INVITE's final response
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>
#include "scenario_int.h"
#include "expect_int.h"


enum {
	CONTACTS_MAX = 8,         /* URIs kept per Call-ID or response */
	CALLS_MAX = 20000,        /* Call-IDs followed at once */
	CALL_TTL = 300000,        /* ms a quiet Call-ID is followed */
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


static bool xcall_cmp(struct le *le, void *arg)
{
	const struct xcall *c = le->data;

	return 0 == pl_strcmp(arg, c->callid);
}


/* A Call-ID no longer followed: its windows go; its obligations stay
 * (they hold a reference) until they are met or fail */
static void xcall_forget(struct xcall *c)
{
	struct le *le = c->pends.head;

	while (le) {
		struct pend *p = le->data;

		le = le->next;
		if (p->it->def->kind != EXP_WITHIN)
			mem_deref(p);
	}

	hash_unlink(&c->he);
	list_unlink(&c->le);
	mem_deref(c);
}


/* The state of a Call-ID, made at its first message; quiet ones and the
 * oldest beyond CALLS_MAX are forgotten */
struct xcall *xcall_get(struct expect *ex, const struct pl *callid,
			       uint64_t now)
{
	const uint32_t key = hash_joaat_pl(callid);
	struct xcall *c;

	while (ex->lru.head) {
		c = ex->lru.head->data;
		if (now - c->used < CALL_TTL && ex->ncalls < CALLS_MAX)
			break;
		--ex->ncalls;
		xcall_forget(c);
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
bool xcall_dup(struct xcall *c, uint32_t h)
{
	unsigned i;

	for (i = 0; i < EXPECT_RING; i++) {
		if (c->ring[i] == h &&
		    (c->ringn > i || c->ringn >= EXPECT_RING))
			return true;
	}

	c->ring[c->ringn++ % EXPECT_RING] = h;

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


/* sip_msg_hdr_apply() handler: add a Contact's URI to the list arg */
bool xcall_contact_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
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
bool xcall_uri_in(const struct list *l, const struct pl *ruri)
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
