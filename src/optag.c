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


/* Each tag of a comma-separated header value */
static bool tags_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		   void *arg)
{
	struct walk *w = arg;
	struct pl val = hdr->val, tag;
	(void)msg;

	while (!re_regex(val.p, val.l, "[ \t\r\n]*[^, \t\r\n]+[ \t\r\n]*[,]*",
			 NULL, &tag, NULL, NULL)) {
		pl_advance(&val, tag.p + tag.l - val.p);

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
 * (the value of Unsupported in a 420); "100rel" if there are none, so
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
		return re_hprintf(pf, "100rel");

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

	for (i = 0; tags[i]; i++)
		err |= re_hprintf(pf, "%s%s", i ? ", " : "", tags[i]);

	return err;
}
