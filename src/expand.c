/**
 * @file expand.c  ${name} substitution in scenario strings at reply time
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>


static const char *names[] = {
	"local",      /* host:port the request arrived on   */
	"user",       /* Request-URI user                   */
	"domain",     /* Request-URI host                   */
	"callid",     /* Call-ID                            */
	"transport",  /* udp, tcp, tls                      */
	"from-user",  /* user part of the From URI          */
};


bool expand_name_valid(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (strlen(names[i]) == len && !memcmp(names[i], name, len))
			return true;
	}

	return false;
}


static int value_print(struct re_printf *pf, const struct pl *name,
		       const struct sip_msg *msg, const struct sa *laddr)
{
	if (!pl_strcmp(name, "local"))
		return re_hprintf(pf, "%J", laddr);
	if (!pl_strcmp(name, "user"))
		return re_hprintf(pf, "%r", &msg->uri.user);
	if (!pl_strcmp(name, "domain"))
		return re_hprintf(pf, "%r", &msg->uri.host);
	if (!pl_strcmp(name, "callid"))
		return re_hprintf(pf, "%r", &msg->callid);
	if (!pl_strcmp(name, "transport")) {
		return re_hprintf(pf, "%s", msg->tp == SIP_TRANSP_UDP ? "udp" :
				  msg->tp == SIP_TRANSP_TLS ? "tls" : "tcp");
	}
	if (!pl_strcmp(name, "from-user"))
		return re_hprintf(pf, "%r", &msg->from.uri.user);

	return re_hprintf(pf, "${%r}", name);
}


/**
 * Print a scenario string with its run-time names replaced
 *
 * @param pf    Print function
 * @param str   String, may hold ${local}, ${user}, ...
 * @param msg   The request being answered
 * @param laddr Local address the request arrived on
 *
 * @return 0 if success, otherwise errorcode
 */
int expand_print(struct re_printf *pf, const char *str,
		 const struct sip_msg *msg, const struct sa *laddr)
{
	const char *p = str;
	int err = 0;

	if (!str)
		return 0;

	while (*p && !err) {
		const char *open = strstr(p, "${");
		const char *close;
		struct pl name;

		if (!open)
			return re_hprintf(pf, "%s", p);

		close = strchr(open + 2, '}');
		if (!close)
			return re_hprintf(pf, "%s", p);

		err |= re_hprintf(pf, "%b", p, (size_t)(open - p));

		name.p = open + 2;
		name.l = close - name.p;
		err |= value_print(pf, &name, msg, laddr);

		p = close + 1;
	}

	return err;
}
