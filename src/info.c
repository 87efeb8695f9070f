/**
 * @file info.c  INFO packages (RFC 6086) and legacy DTMF relay INFO
 *
 * Answers to INVITE announce the info packages sipstub accepts in
 * Recv-Info (the step's 'recv-info', default dtmf). An INFO naming a
 * package not in the list of the step answering it gets 469 with that
 * list (RFC 6086 4.2.2); a legacy INFO without Info-Package that relays
 * a DTMF digit (application/dtmf-relay, application/dtmf) has its digit
 * logged as a dtmf event.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <ctype.h>
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "info"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


static const char dflt_hdr[] = "Recv-Info: dtmf\r\n";


static const char *packages(const struct step *step)
{
	return step && step->recv_info ? step->recv_info : "dtmf";
}


/**
 * The Recv-Info line for an answer to INVITE (RFC 6086)
 *
 * @param step  The step answering
 * @param allocp Set to an allocated line when the step has its own
 *              list (the caller frees it), else left alone
 *
 * @return The header line
 */
const char *info_recv_hdr(const struct step *step, char **allocp)
{
	if (!step || !step->recv_info)
		return dflt_hdr;

	if (re_sdprintf(allocp, "Recv-Info: %s\r\n", step->recv_info))
		return dflt_hdr;

	return *allocp;
}


/* Is the package in the comma-separated list? */
static bool listed(const char *list, const struct pl *pkg)
{
	struct pl l, tok;

	pl_set_str(&l, list);

	while (!re_regex(l.p, l.l, "[^, \t]+", &tok)) {
		if (!pl_casecmp(&tok, pkg))
			return true;
		l.l -= tok.p + tok.l - l.p;
		l.p  = tok.p + tok.l;
	}

	return false;
}


/* A digit of RFC 4733 events 0-15 as a character */
static int digit_get(const struct pl *sig, char *dp)
{
	static const char ev[] = "0123456789*#ABCD";
	uint32_t n;

	if (sig->l == 1 && strchr(ev, toupper((uint8_t)sig->p[0]))) {
		*dp = (char)toupper((uint8_t)sig->p[0]);
		return 0;
	}

	if (!sig->l || sig->l > 2 || !isdigit((uint8_t)sig->p[0]) ||
	    !isdigit((uint8_t)sig->p[sig->l - 1]))
		return EBADMSG;

	n = pl_u32(sig);
	if (n >= sizeof(ev) - 1)
		return EBADMSG;

	*dp = ev[n];

	return 0;
}


/* application/dtmf-relay: Signal= and Duration= lines; application/dtmf:
 * the digit alone */
static int dtmf_parse(const struct sip_msg *msg, bool relay, char *dp,
		      int32_t *durp)
{
	struct pl body, sig, dur;

	body.p = (const char *)mbuf_buf(msg->mb);
	body.l = mbuf_get_left(msg->mb);

	*durp = -1;

	if (!relay) {
		if (re_regex(body.p, body.l, "[^ \t\r\n]+", &sig))
			return EBADMSG;
		return digit_get(&sig, dp);
	}

	if (re_regex(body.p, body.l, "Signal[ \t]*=[ \t]*[^ \t\r\n]+",
		     NULL, NULL, &sig))
		return EBADMSG;

	if (!re_regex(body.p, body.l, "Duration[ \t]*=[ \t]*[0-9]+", NULL,
		      NULL, &dur))
		*durp = (int32_t)MIN(pl_u32(&dur), INT32_MAX);

	return digit_get(&sig, dp);
}


static uint16_t legacy(struct uas *uas, const struct sip_msg *msg,
		       uint16_t scode)
{
	bool relay;
	char digit;
	int32_t dur;

	relay = msg_ctype_cmp(&msg->ctyp, "application", "dtmf-relay");
	if (!relay && !msg_ctype_cmp(&msg->ctyp, "application", "dtmf"))
		return scode;

	if (dtmf_parse(msg, relay, &digit, &dur))
		return 400;

	if (dur < 0)
		evlog_event(uas_evlog(uas), "dtmf", msg,
			    ",\"digit\":\"%c\",\"duration\":null,"
			    "\"source\":\"info\"", digit);
	else
		evlog_event(uas_evlog(uas), "dtmf", msg,
			    ",\"digit\":\"%c\",\"duration\":%d,"
			    "\"source\":\"info\"", digit, dur);

	return scode;
}


/**
 * Check an INFO in a dialog that the scenario answers with a 2xx
 *
 * @param uas    UAS
 * @param msg    The INFO
 * @param step   The step answering it (its recv-info)
 * @param scode  Its 2xx
 * @param xhdrsp Set to the Recv-Info of a 469
 *
 * @return The code to answer: scode, 469 for a package not accepted,
 *         400 for a DTMF relay body without a digit
 */
uint16_t info_check(struct uas *uas, const struct sip_msg *msg,
		    const struct step *step, uint16_t scode, char **xhdrsp)
{
	const struct sip_hdr *ip = sip_msg_xhdr(msg, "Info-Package");
	const char *list = packages(step);
	struct pl pkg;

	if (!ip)
		return legacy(uas, msg, scode);

	if (re_regex(ip->val.p, ip->val.l, "[^; \t]+", &pkg))
		return 400;

	if (!listed(list, &pkg)) {
		evlog_event(uas_evlog(uas), "info", msg,
			    ",\"package\":%H,\"accepted\":false",
			    json_str_print, &pkg);
		/* RFC 6086 4.2.2: 469 lists what we accept */
		if (re_sdprintf(xhdrsp, "Recv-Info: %s\r\n", list))
			return 500;
		return 469;
	}

	evlog_event(uas_evlog(uas), "info", msg,
		    ",\"package\":%H,\"accepted\":true,\"body_len\":%zu",
		    json_str_print, &pkg, mbuf_get_left(msg->mb));

	/* the dtmf package carries the same bodies */
	if (!pl_strcasecmp(&pkg, "dtmf"))
		return legacy(uas, msg, scode);

	return scode;
}
