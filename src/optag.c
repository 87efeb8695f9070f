/**
 * @file optag.c  Option tags sipstub supports (RFC 3261 8.2.2.3, 19.2)
 *
 * A request whose Require names a tag not in this table gets 420 with
 * the tags it lacks in Unsupported; responses announce the table in
 * Supported. A feature module adds its tag here when it lands.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>


static const char *const tags[] = {
	"100rel",     /* RFC 3262, prack.c */
	"timer",     /* RFC 4028, timer.c */
	"norefersub",     /* RFC 4488 */
	NULL,
};


/**
 * Is an option tag supported?
 *
 * @param tag Option tag (case-sensitive, RFC 3261 19.2)
 *
 * @return true if sipstub implements it
 */
bool optag_supported(const struct pl *tag)
{
	size_t i;

	for (i = 0; tags[i]; i++) {
		if (!pl_strcmp(tag, tags[i]))
			return true;
	}

	return false;
}


struct walk {
	struct re_printf *pf;   /* NULL: only look for one */
	unsigned n;
	int err;
};


static bool next_tag(struct pl *val, struct pl *tag)
{
	if (re_regex(val->p, val->l, "[ \t\r\n]*[^, \t\r\n]+[ \t\r\n]*[,]*",
		     NULL, tag, NULL, NULL))
		return false;

	pl_advance(val, tag->p + tag->l - val->p);

	return true;
}


static bool has_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		  void *arg)
{
	struct pl val = hdr->val, tag;
	(void)msg;

	while (next_tag(&val, &tag)) {
		if (!pl_strcmp(&tag, arg))
			return true;
	}

	return false;
}


/**
 * Does a header of a comma-separated list name a token?
 *
 * @param msg SIP message
 * @param id  Header (Require, Supported, Allow, ...)
 * @param tag Token (case-sensitive, as option tags and methods are)
 *
 * @return true if one of the headers lists it
 */
bool optag_has(const struct sip_msg *msg, enum sip_hdrid id,
	       const char *tag)
{
	if (!msg || !tag || !sip_msg_hdr(msg, id))
		return false;

	return sip_msg_hdr_apply(msg, true, id, has_h, (void *)tag) != NULL;
}


/* Each tag of a comma-separated header value */
static bool tags_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		   void *arg)
{
	struct walk *w = arg;
	struct pl val = hdr->val, tag;
	(void)msg;

	while (next_tag(&val, &tag)) {
		if (optag_supported(&tag))
			continue;

		if (!w->pf)
			return true;

		w->err |= re_hprintf(w->pf, "%s%r", w->n++ ? ", " : "", &tag);
	}

	return false;
}


/**
 * Does the request require a tag sipstub does not support?
 *
 * @param msg Request
 *
 * @return true if a 420 is due
 */
bool optag_require_unsupported(const struct sip_msg *msg)
{
	struct walk w = {NULL, 0, 0};

	return sip_msg_hdr_apply(msg, true, SIP_HDR_REQUIRE, tags_h, &w)
		!= NULL;
}


/**
 * Print the Require tags of a request that sipstub does not support
 * (the value of Unsupported in a 420); "sec-agree" if there are none, so
 * that a 420 a scenario sends is well formed (RFC 3261 20.40)
 *
 * @param pf  Print function
 * @param msg Request
 *
 * @return 0 if success, otherwise errorcode
 */
int optag_unsupported_print(struct re_printf *pf, const struct sip_msg *msg)
{
	struct walk w = {pf, 0, 0};

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_REQUIRE, tags_h, &w);

	if (!w.n)
		return re_hprintf(pf, "sec-agree");

	return w.err;
}


/**
 * Print the tags sipstub supports, comma-separated (may be empty)
 */
int optag_supported_print(struct re_printf *pf, void *unused)
{
	size_t i;
	int err = 0;
	(void)unused;

	/* vph, not the printf engine: every INVITE answer has this */
	for (i = 0; tags[i]; i++) {
		if (i)
			err |= pf->vph(", ", 2, pf->arg);
		err |= pf->vph(tags[i], strlen(tags[i]), pf->arg);
	}

	return err;
}


/**
 * The tags sipstub supports as one string, made once (a response
 * writes it without the printf engine)
 *
 * @return "tag, tag" (may be empty)
 */
const char *optag_supported_str(void)
{
	static char str[256];

	if (!str[0] && tags[0])
		(void)re_snprintf(str, sizeof(str), "%H",
				  optag_supported_print, NULL);

	return str;
}
