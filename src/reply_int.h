/**
 * @file reply_int.h  Shared by the response builder (reply.c) and the
 *                    per-code default headers (reply_hdrs.c)
 *
 * Copyright (C) 2026 The sipstub authors
 */


/* !pl_strcmp(&msg->met, met), inlined: a response asks several times */
static inline bool met_is(const struct sip_msg *msg, const char *met)
{
	const size_t n = strlen(met);

	return msg->met.l == n && !memcmp(msg->met.p, met, n);
}


/* reply_hdrs.c */
bool hdr_overridden(const struct reply *r, const char *name);
bool needs_contact(const struct reply *r);
int  defaults_write(struct mbuf *mb, const struct reply *r);
