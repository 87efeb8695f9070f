/**
 * @file timer.c  Session timers (RFC 4028)
 *
 * An INVITE or UPDATE with Session-Expires, or one a rule with
 * 'session-timer' answers, is negotiated here (RFC 4028 9): 422 with
 * Min-SE when the interval is too small, else the 2xx carries
 * Session-Expires with the refresher. After the 2xx the dialog's timer
 * runs: as refresher sipstub sends an UPDATE (or a re-INVITE if the
 * client does not allow UPDATE) at half the interval; when the client
 * is refresher and none comes, sipstub sends BYE before the interval
 * ends (RFC 4028 10). Nothing here runs for a request without
 * Session-Expires whose rule does not ask.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "timer"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	MINSE_DEFAULT = 90,        /* RFC 4028 5: the lowest Min-SE */
	EXPIRES_DEFAULT = 1800,    /* RFC 4028 4: recommended interval */
	SE_MAX = 86400 * 365,      /* larger values are taken as this */
};

/* A dialog's running session timer (hung off its indlg) */
struct stimer {
	struct uas *uas;
	struct dialog *dlg;
	struct tmr tmr;
	struct indlg_req req;      /* our refresh */
	const struct timer_cfg *cfg;
	char *callid;
	char xhdrs[128];
	uint32_t se;
	uint32_t minse;
	bool uas_refresh;
	bool update;
	bool sent;                 /* our refresh awaits its final */
};

static const struct timer_cfg cfg_default = {
	MINSE_DEFAULT, EXPIRES_DEFAULT, TIMER_REF_AUTO
};


static void stimer_destructor(void *arg)
{
	struct stimer *st = arg;

	tmr_cancel(&st->tmr);
	mem_deref(st->callid);
}


/* delta-seconds *(;param): the number and the parameters */
static int delta_decode(const struct pl *val, uint32_t *secp,
			struct pl *params)
{
	struct pl v = *val;
	uint64_t n = 0;
	size_t digits = 0;

	while (v.l && lws_is(*v.p))
		pl_advance(&v, 1);

	while (v.l && *v.p >= '0' && *v.p <= '9') {
		if (n < SE_MAX)
			n = n * 10 + (uint64_t)(*v.p - '0');
		pl_advance(&v, 1);
		++digits;
	}

	while (v.l && lws_is(*v.p))
		pl_advance(&v, 1);

	if (!digits || (v.l && *v.p != ';'))
		return EBADMSG;

	*secp = (uint32_t)MIN(n, (uint64_t)SE_MAX);
	*params = v;

	return 0;
}


static int se_decode(const struct sip_hdr *hdr, uint32_t *sep,
		     enum timer_refresher *refp)
{
	struct pl params, ref;

	if (delta_decode(&hdr->val, sep, &params) || !*sep)
		return EBADMSG;

	*refp = TIMER_REF_AUTO;

	if (msg_param_decode(&params, "refresher", &ref))
		return 0;

	if (!pl_strcasecmp(&ref, "uac"))
		*refp = TIMER_REF_UAC;
	else if (!pl_strcasecmp(&ref, "uas"))
		*refp = TIMER_REF_UAS;
	else
		return EBADMSG;

	return 0;
}


static const struct timer_cfg *dialog_cfg(struct dialog *dlg)
{
	const struct stimer *st = indlg_stimer(dialog_indlg(dlg));

	return st ? st->cfg : NULL;
}


/**
 * Negotiate the session timer of an INVITE or UPDATE (RFC 4028 9)
 *
 * @param tn   Outcome, set
 * @param msg  The request
 * @param cfg  The rule's 'session-timer' (NULL: none)
 * @param dlg  Its dialog, for in-dialog requests (its timer's config
 *             applies when the rule has none)
 *
 * @return 0 to answer as the rule says, else the final response due:
 *         422 (interval too small) or 400 (malformed)
 */
uint16_t timer_negotiate(struct timer_neg *tn, const struct sip_msg *msg,
			 const struct timer_cfg *cfg, struct dialog *dlg)
{
	const struct sip_hdr *seh, *minh;
	enum timer_refresher ref = TIMER_REF_AUTO;
	uint32_t se = 0, reqmin = 0, min;
	bool supported;

	memset(tn, 0, sizeof(*tn));

	if (!cfg && dlg)
		cfg = dialog_cfg(dlg);

	seh = sip_msg_hdr(msg, SIP_HDR_SESSION_EXPIRES);
	if (!seh && !cfg)
		return 0;

	if (seh && se_decode(seh, &se, &ref))
		return 400;

	minh = sip_msg_hdr(msg, SIP_HDR_MIN_SE);
	if (minh) {
		struct pl params;

		if (delta_decode(&minh->val, &reqmin, &params))
			return 400;
	}

	tn->cfg = cfg;
	if (!cfg)
		cfg = &cfg_default;

	supported = sip_msg_hdr_has_value(msg, SIP_HDR_SUPPORTED, "timer");

	/* RFC 4028 5: a request's Min-SE raises ours */
	min = MAX(cfg->minse, reqmin);
	tn->minse = min;

	if (seh && se < cfg->minse) {
		if (supported)
			return 422;

		/* RFC 4028 9 (errata 1687): cannot usefully reject */
		se = cfg->minse;
	}

	if (!seh)
		se = cfg->expires;
	else if (tn->cfg && cfg->expires < se)
		se = cfg->expires;   /* RFC 4028 9: the UAS may reduce it */

	tn->se = MAX(se, min);

	/* RFC 4028 9, table 2 */
	if (!supported)
		tn->uac_refresh = false;
	else if (ref != TIMER_REF_AUTO)
		tn->uac_refresh = ref == TIMER_REF_UAC;
	else
		tn->uac_refresh = cfg->refresher == TIMER_REF_UAC;

	/* MUST with refresher=uac, SHOULD with uas for a UAC that knows */
	tn->require = supported;
	tn->update  = sip_msg_hdr_has_value(msg, SIP_HDR_ALLOW, "UPDATE");

	return 0;
}


/**
 * The session-timer headers of a response: Min-SE in a 422,
 * Session-Expires (and Require: timer) in a 2xx
 */
int timer_resp_write(struct mbuf *mb, const struct timer_neg *tn,
		     uint16_t scode)
{
	if (!mb || !tn)
		return 0;

	if (scode == 422)
		return mbuf_printf(mb, "Min-SE: %u\r\n", tn->minse);

	if (scode < 200 || scode >= 300 || !tn->se)
		return 0;

	return mbuf_printf(mb, "Session-Expires: %u;refresher=%s\r\n%s",
			   tn->se, tn->uac_refresh ? "uac" : "uas",
			   tn->require ? "Require: timer\r\n" : "");
}


static void event(struct stimer *st, const char *action)
{
	struct pl callid;

	pl_set_str(&callid, st->callid);

	evlog_event(uas_evlog(st->uas), "session-timer", NULL,
		    ",\"call_id\":%H,\"action\":\"%s\",\"expires\":%u,"
		    "\"refresher\":\"%s\",\"min_se\":%u", json_str_print,
		    &callid, action, st->se, st->uas_refresh ? "uas" : "uac",
		    st->minse);
}


static void tmr_handler(void *arg);


/* RFC 4028 10: refresh at half the interval; without one, BYE before
 * it ends, min(32, SE/3) seconds early */
static void arm(struct stimer *st)
{
	uint64_t ms = (uint64_t)st->se * 1000;

	if (st->uas_refresh)
		ms /= 2;
	else
		ms -= 1000 * (uint64_t)MIN(32, st->se / 3);

	tmr_start(&st->tmr, ms, tmr_handler, st);
}


static void refresh_done(const struct sip_msg *msg, void *arg)
{
	struct stimer *st = arg;

	st->sent = false;

	if (!msg) {
		arm(st);
		return;
	}

	/* RFC 4028 7.2: the 2xx says the interval from now on */
	if (msg->scode < 300) {
		const struct sip_hdr *seh;
		enum timer_refresher ref;
		uint32_t se;

		seh = sip_msg_hdr(msg, SIP_HDR_SESSION_EXPIRES);
		if (seh && !se_decode(seh, &se, &ref) && se >= st->minse)
			st->se = se;
	}

	/* RFC 3311 5.1: a client that refuses UPDATE gets a re-INVITE */
	if (st->update && (msg->scode == 405 || msg->scode == 501)) {
		st->update = false;
		tmr_start(&st->tmr, 0, tmr_handler, st);
		return;
	}

	arm(st);
}


static void refresh_send(struct stimer *st)
{
	struct indlg *in = dialog_indlg(st->dlg);

	if (st->sent || !in)
		return;

	(void)re_snprintf(st->xhdrs, sizeof(st->xhdrs),
			  "Session-Expires: %u;refresher=uas\r\n"
			  "Min-SE: %u\r\nSupported: timer\r\n",
			  st->se, st->minse);

	memset(&st->req, 0, sizeof(st->req));
	str_ncpy(st->req.met, st->update ? "UPDATE" : "INVITE",
		 sizeof(st->req.met));
	st->req.sdp   = st->update ? INDLG_SDP_NONE : INDLG_SDP_OFFER;
	st->req.xhdrs = st->xhdrs;
	st->req.doneh = refresh_done;
	st->req.arg   = st;

	st->sent = true;
	event(st, "refresh");
	indlg_refresh(in, &st->req);
}


static void tmr_handler(void *arg)
{
	struct stimer *st = arg;

	if (st->uas_refresh) {
		refresh_send(st);
		return;
	}

	event(st, "expired");

	/* the timer goes with the dialog */
	dialog_hangup(st->dlg, "session timer expired: no refresh from "
		      "the client (RFC 4028 10)");
}


/**
 * A 2xx to an INVITE or UPDATE was sent: start, restart or stop the
 * dialog's session timer
 *
 * @param uas UAS
 * @param dlg The dialog
 * @param req The request answered
 * @param tn  Its negotiation
 */
void timer_2xx(struct uas *uas, struct dialog *dlg,
	       const struct sip_msg *req, const struct timer_neg *tn)
{
	struct indlg *in = dialog_indlg(dlg);
	struct stimer *st = indlg_stimer(in);

	if (!uas || !dlg || !req || !tn)
		return;

	/* our refresh is in flight (its req is in use); its answer
	 * re-arms */
	if (st && st->sent)
		return;

	if (!tn->se) {
		if (st) {
			event(st, "stop");
			indlg_stimer_set(in, NULL);
		}
		return;
	}

	if (!st) {
		in = indlg_get(uas, dlg, req);
		if (!in)
			return;

		st = mem_zalloc(sizeof(*st), stimer_destructor);
		if (!st || pl_strdup(&st->callid, &req->callid)) {
			mem_deref(st);
			return;
		}

		st->uas = uas;
		st->dlg = dlg;
		indlg_stimer_set(in, st);
	}

	st->cfg         = tn->cfg;
	st->se          = tn->se;
	st->minse       = tn->minse;
	st->uas_refresh = !tn->uac_refresh;
	st->update      = tn->update;

	event(st, tmr_isrunning(&st->tmr) ? "refreshed" : "start");
	arm(st);
}
