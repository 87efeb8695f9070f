/**
 * @file sipstub.h  Declarations shared between the sipstub modules
 *
 * Copyright (C) 2026 The sipstub authors
 */

#include <re.h>


enum {
	SIPSTUB_MAX_DIALOGS_EARLY = 16,  /* early dialogs per INVITE       */
	SIPSTUB_PENDING_MAX = 600000,    /* ms a request may stay unanswered */
	SIPSTUB_MAX_SIZE = 65535,        /* default --max-size, bytes       */
};

#define SIPSTUB_ALLOW \
	"INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, MESSAGE, INFO, " \
	"UPDATE, NOTIFY, PUBLISH, SUBSCRIBE"

/* The event packages sipstub notifies (RFC 6665 8.2.2: Allow-Events) */
#define SIPSTUB_EVENTS "message-summary, presence, dialog, refer"


struct uas;
struct guard_cfg;
struct scenario;
struct media;
struct dialog;
struct xact;
struct indlg;
struct evlog;
struct rtp_cfg;


/* Tq: timer queues, one FIFO per delay (O(1) start) */

struct tqs;
struct tqueue;

/** An entry, embedded in the object that owns the timer */
struct tqent {
	struct le le;
	uint64_t jfs;
	tmr_h *h;
	void *arg;
	struct tqueue *q;
};

int  tqs_alloc(struct tqs **sp);
int  tq_start(struct tqs *s, struct tqent *e, uint32_t delay, tmr_h *h,
	      void *arg);
void tq_cancel(struct tqent *e);
bool tq_isrunning(const struct tqent *e);


/** SP, HTAB, CR or LF: the white space of SIP headers, folding included */
static inline bool lws_is(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


/** One or more decimal digits, and nothing else (a delta-seconds, ...) */
static inline bool pl_digits(const struct pl *pl)
{
	size_t i;

	for (i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return false;
	}

	return pl->l > 0;
}


/* Fmt: numbers and addresses written into an mbuf */

/** mbuf_write_str() of a string literal, without its strlen() */
#define LIT_WRITE(mb, s) \
	mbuf_write_mem((mb), (const uint8_t *)("" s), sizeof(s) - 1)

int fmt_dec(struct mbuf *mb, uint64_t v);
int fmt_hex64(struct mbuf *mb, uint64_t v);
int fmt_addr(struct mbuf *mb, const struct sa *sa, bool port);


/* Strans: server transactions (RFC 3261 17.2) */

struct stranss;
struct strans;

typedef void (strans_cancel_h)(void *arg);

int  stranss_alloc(struct stranss **ssp, struct sip *sip, struct tqs *tqs,
		   uint32_t size);
bool stranss_recv(struct stranss *ss, const struct sip_msg *msg);
int  strans_alloc(struct strans **stp, struct stranss *ss,
		  const struct sip_msg *msg, strans_cancel_h *cancelh,
		  void *arg);
int  strans_reply(struct strans **stp, struct stranss *ss,
		  const struct sip_msg *msg, const struct sa *dst,
		  uint16_t scode, struct mbuf *mb);


/* Prack: reliable provisionals (RFC 3262), early dialogs (RFC 3311) */

struct prack;
struct reply;

/** A step's 'reliable' */
enum reliable {
	REL_AUTO = 0,   /* reliable if the INVITE has Require: 100rel */
	REL_YES,
	REL_NO,
};

/** giveup false: a held step may go; true: 64*T1 without PRACK */
typedef void (prack_h)(bool giveup, void *arg);

int  prack_reply(struct prack **pp, struct uas *uas, struct strans **stp,
		 struct reply *r, enum reliable rel, struct media *m,
		 prack_h *h, void *arg);
bool prack_hold(struct prack *p);
bool prack_recv(struct uas *uas, const struct sip_msg *msg,
		struct scenario *scn);


/* Reply: status-code table and response builder */

const char *reply_reason(uint16_t scode);
bool reply_registered(uint16_t scode);
bool reply_known_method(const struct pl *met);

/** One header of a response, from a scenario or a built-in default */
struct hdrval {
	struct le le;
	char *name;
	char *value;   /* "" removes a default header of that name */
};

/** What a response is made of */
struct reply {
	const struct sip_msg *msg;  /* the request                      */
	uint16_t scode;
	const char *reason;         /* NULL: from the table             */
	uint64_t totag;             /* 0: add none                      */
	const struct list *hdrs;    /* struct hdrval, override defaults */
	const struct sa *laddr;     /* where we received the request    */
	const char *ctype;          /* body type, NULL: no body         */
	const uint8_t *body;
	size_t bodylen;
	uint32_t rseq;              /* RFC 3262: reliable, 0: not     */
	const struct timer_neg *timer;  /* session timer, or NULL */
	const char *xhdrs;          /* header lines of a module (CRLF
				       each), in place of defaults of
				       the same name; NULL: none       */
};

int reply_build(struct mbuf **mbp, struct sa *dst, const struct reply *r);
int reply_send(struct strans **stp, struct stranss *ss,
	       const struct reply *r, struct mbuf **mbp);


/* Optag: option tags sipstub supports (Require, Supported) */

bool optag_supported(const struct pl *tag);
bool optag_has(const struct sip_msg *msg, enum sip_hdrid id,
	       const char *tag);
bool optag_require_unsupported(const struct sip_msg *msg);
int  optag_unsupported_print(struct re_printf *pf,
			     const struct sip_msg *msg);
int  optag_supported_print(struct re_printf *pf, void *unused);
const char *optag_supported_str(void);


/* Expand: ${name} substitution in scenario strings at reply time */

int expand_print(struct re_printf *pf, const char *str,
		 const struct sip_msg *msg, const struct sa *laddr);
bool expand_name_valid(const char *name, size_t len);


/* Scenario */

enum sdp_mode {
	SDP_AUTO = 0,   /* SDP in 183 and 2xx to INVITE        */
	SDP_NONE,
	SDP_ALWAYS,
};

/** A NOTIFY that a step makes sipstub send (subscriptions, REFER) */
struct ntfspec {
	struct le le;
	uint32_t delay;       /* ms after the previous NOTIFY          */
	char *state;          /* Subscription-State, NULL: active      */
	char *body;
	size_t bodylen;
	char *ctype;          /* NULL: the package's own type          */
};

/** SRTP in the SDP answer (scenario key 'srtp') */
enum srtp_use {
	SRTP_USE_OPTIONAL = 0,   /* as the offer asks */
	SRTP_USE_REQUIRED,       /* a plain offer gets 488 */
	SRTP_USE_REFUSED,        /* an SRTP offer gets 488 */
};

/** One response a rule sends */
struct step {
	struct le le;
	uint16_t scode;       /* 0: the Request-URI user is the code */
	char *reason;
	uint32_t delay;       /* ms before this step                 */
	uint32_t hangup;      /* ms after a 2xx before we send BYE   */
	uint32_t dialog;      /* early dialog (To-tag) index, 1..N   */
	struct list hdrs;     /* struct hdrval                       */
	char *body;
	size_t bodylen;
	char *ctype;
	enum sdp_mode sdp;
	enum reliable reliable;
	struct list reqs;     /* struct indlg_req, after a 2xx      */
	struct list notifies; /* struct ntfspec                      */
	char *sipfrag;        /* REFER: the final NOTIFY's status line */
	char *recv_info;      /* RFC 6086 info packages, NULL: dtmf  */
	enum srtp_use srtp;
	struct rtp_cfg *media;  /* 183/2xx: what RTP plays, NULL: echo */
	struct cbcfg *callback; /* final: call the caller back, or NULL */
	bool has_code;        /* loader: 'code' given      */
	bool has_body;        /* loader: 'body' given      */
	bool body_file;       /* loader: 'body-file' given */
};

struct rule;

typedef void (scenario_err_h)(const char *file, size_t line, size_t col,
			      const char *msg, void *arg);

int  scenario_alloc(struct scenario **scnp);
int  duration_parse(const char *s, uint32_t *msp);
int  scenario_load_file(struct scenario *scn, const char *path,
			scenario_err_h *errh, void *arg);
int  scenario_load_buf(struct scenario *scn, const char *name,
		       const char *buf, size_t len,
		       scenario_err_h *errh, void *arg);
uint32_t scenario_rule_count(const struct scenario *scn);
const struct rule *scenario_match(struct scenario *scn,
				  const struct sip_msg *msg);

const char *rule_name(const struct rule *rule);
const struct list *rule_steps(const struct rule *rule);
bool rule_auto100(const struct rule *rule);
bool rule_check199(const struct rule *rule);
struct auth *rule_auth(const struct rule *rule);
struct regcfg *rule_registrar(const struct rule *rule);
struct registrar *scenario_registrar(const struct scenario *scn);

extern const char dial_a_code_yaml[];
extern const size_t dial_a_code_yaml_len;


/* Report: --junit and --report files at the end of a run */

struct report {
	const struct expect *ex;    /* or NULL */
	const struct calls *calls;  /* or NULL */
	char *const *files;         /* scenario files */
	int filec;
	uint64_t ms;                /* how long the run took */
	const char *stop;           /* why it ended */
};

int  report_junit_write(const char *path, const struct report *r);
int  report_json_write(const char *path, const struct report *r);


/* Expect */

/* The scenario's expect: list, checked on the wire */

struct expect;
struct evlog;

uint32_t scenario_expect_count(const struct scenario *scn);
int  expect_alloc(struct expect **exp, const struct scenario *scn,
		  struct evlog *el);
void expect_msg(struct expect *ex, bool tx, const struct sip_msg *msg,
		uint32_t hash, uint64_t now);
void expect_finish(struct expect *ex, uint64_t now);
void expect_reset(struct expect *ex);
bool expect_passed(const struct expect *ex);
int  expect_print_lines(struct re_printf *pf, const struct expect *ex);
int  expect_print_json(struct re_printf *pf, const struct expect *ex);
int  expect_print_junit(struct re_printf *pf, const struct expect *ex,
			double secs);
void expect_log(const struct expect *ex);


/* Calls */

/* A summary of each call (initial INVITE), live and recent */

struct calls;
struct scan;

typedef void (calls_end_h)(uint32_t ended, void *arg);

int  calls_alloc(struct calls **cp, uint32_t recent, struct evlog *el,
		 calls_end_h *endh, void *arg);
void calls_msg(struct calls *c, bool tx, const struct scan *f,
	       uint64_t now);
int  calls_print_json(struct re_printf *pf, const struct calls *c,
		      bool live_only);


/* Event log: one JSON object per line */

/** The event log's fields of a SIP message (scan.c) */
struct scan {
	bool req;
	uint16_t scode;
	struct pl met, uri, reason;
	struct pl callid, cseqmet;
	uint32_t cseq;
	struct pl from, to, ftag, ttag, branch;
};

int  scan_msg(struct scan *s, const uint8_t *pkt, size_t len);
void scan_from_msg(struct scan *f, const struct sip_msg *msg);


struct evlog;

/** A line as written (ending in a newline), with its SIP message if any */
typedef void (evlog_tap_h)(const char *line, size_t len,
			   const uint8_t *pkt, size_t pktlen, void *arg);

int  evlog_alloc(struct evlog **elp, const char *path);
void evlog_set_tap(struct evlog *el, evlog_tap_h *h, void *arg);
void evlog_flush(struct evlog *el);
void evlog_set_worker(struct evlog *el, unsigned idx);
void evlog_sip(struct evlog *el, bool tx, enum sip_transp tp,
	       const struct sa *src, const struct sa *dst,
	       const uint8_t *pkt, size_t len);
void evlog_event(struct evlog *el, const char *event,
		 const struct sip_msg *msg, const char *fmt, ...);
int  json_str_print(struct re_printf *pf, const struct pl *pl);


/* Pcap: --pcap, every SIP message as a pcap record */

struct pcap;

int  pcap_alloc(struct pcap **pp, const char *path);
void pcap_flush(struct pcap *p);
void pcap_msg(struct pcap *p, enum sip_transp tp, const struct sa *src,
	      const struct sa *dst, const uint8_t *pkt, size_t len);


/* Ctrl: --control, the HTTP control API and the call-ladder page */

struct ctrl;
struct evring;

int  ctrl_alloc(struct ctrl **cp, const struct sa *laddr, struct uas *uas,
		struct evlog *el, struct expect *ex, struct calls *calls);
int  ctrl_addr_parse(struct sa *sa, const char *spec);
int  evring_alloc(struct evring **rp, struct evlog *el);
int  evring_stream(struct evring *r, struct tcp_conn *tc, uint64_t from);
uint64_t evring_next(const struct evring *r);

extern const char ladder_html[];
extern const size_t ladder_html_len;


/* Trace: SIP message tap for --trace, the event log and statistics */

struct trace;

int  trace_alloc(struct trace **trp, struct evlog *el, bool print);
void trace_msg(struct trace *tr, bool tx, enum sip_transp tp,
	       const struct sa *src, const struct sa *dst,
	       const uint8_t *pkt, size_t len);
int  trace_summary(struct re_printf *pf, const struct trace *tr);
void trace_set_pcap(struct trace *tr, struct pcap *p);
int  trace_stats_print(struct re_printf *pf, const struct trace *tr);
void trace_reset(struct trace *tr);
void trace_set_tap(struct trace *tr, struct expect *ex, struct calls *c);
uint64_t trace_msg_count(const struct trace *tr);


/* Media: SDP offer/answer of one call, and its RTP stream */

typedef void (media_end_h)(void *arg);

int  media_alloc(struct media **mp, const struct sa *laddr);
int  media_answer(struct media *m, struct mbuf *offer, enum srtp_use use,
		  struct mbuf **mbp, const char **whyp);
int  media_offer(struct media *m, struct mbuf **mbp);
int  media_offer_dir(struct media *m, enum sdp_dir dir, struct mbuf **mbp);
int  media_remote_answer(struct media *m, struct mbuf *answer);
void media_start(struct media *m, const struct rtp_cfg *cfg,
		 struct tqs *tqs, struct evlog *el, const struct sip_msg *msg);
void media_set_endh(struct media *m, media_end_h *endh, void *arg);


/* Rtp: the RTP/RTCP stream of one call (echo, tone, file, ...) */

enum rtp_mode {
	RTP_ECHO = 0,   /* what arrives goes back, paced, own SSRC */
	RTP_TONE,
	RTP_FILE,
	RTP_SILENCE,
	RTP_NONE,
};

/** What a 183/2xx step plays (scenario key 'media') */
struct rtp_cfg {
	enum rtp_mode mode;
	uint32_t freq;        /* tone: Hz                    */
	uint32_t on, off;     /* tone: cadence, ms (off 0: steady) */
	int16_t *pcm;         /* file: 8 kHz samples (mem)   */
	size_t pcmc;
	bool loop;            /* file: again at its end      */
	bool hangup_end;      /* file: BYE at its end        */
};

/** Where and how to send, from the SDP */
struct rtp_peer {
	struct sa addr;       /* remote RTP address (0: none yet) */
	struct sa rtcp;       /* remote RTCP address              */
	int pt;               /* audio payload type to send (-1: none) */
	bool pcma;            /* that codec is PCMA, else PCMU    */
	int telev_pt;         /* telephone-event, -1: none        */
	uint32_t ptime;       /* ms                                */
	bool send;            /* direction allows sending          */
	bool mux;             /* RTCP on the RTP port              */
};

struct rtp;
struct srtpc;

int  rtp_ports_set(const char *spec);
int  rtp_call_alloc(struct rtp **rp, const struct sa *laddr);
uint16_t rtp_port(const struct rtp *r);
void rtp_update(struct rtp *r, const struct rtp_peer *peer,
		struct srtpc *srtp);
void rtp_start(struct rtp *r, const struct rtp_cfg *cfg, struct tqs *tqs,
	       struct evlog *el, const struct pl *callid);
void rtp_set_endh(struct rtp *r, media_end_h *endh, void *arg);

uint8_t g711_ulaw_enc(int16_t s);
uint8_t g711_alaw_enc(int16_t s);
int16_t g711_ulaw_dec(uint8_t u);
int16_t g711_alaw_dec(uint8_t a);
int  wav_load(const char *path, int16_t **pcmp, size_t *countp);


/* Srtp: SRTP and SRTCP with libsrtp2, SDES keys (RFC 4568) */

int  srtpc_alloc(struct srtpc **sp, const char *suite, const char *lkey,
		 const char *rkey);
int  srtpc_key_make(char **keyp, const char *suite);
bool srtpc_suite_supported(const char *suite);
int  srtpc_protect(struct srtpc *s, struct mbuf *mb, bool rtcp);
int  srtpc_unprotect(struct srtpc *s, struct mbuf *mb, bool rtcp);


/* Seq: dial-a-sequence, a Request-URI user C1*C2*...*Cn */

bool seq_is(const struct pl *user);
int  seq_steps(struct list *steps, const struct step *tmpl,
	       const struct pl *user);


/* Transaction: a request answered by the steps of a rule */

int  xact_start(struct uas *uas, const struct sip_msg *msg,
		const struct rule *rule, struct dialog *dlg);


/* Dialog: an INVITE dialog after the 2xx */

int  dialog_alloc(struct dialog **dlgp, struct uas *uas,
		  const struct sip_msg *msg, struct mbuf *resp,
		  struct media *media, uint32_t hangup);
struct dialog *dialog_find(struct uas *uas, const struct sip_msg *msg);
void dialog_ack(struct dialog *dlg, const struct sip_msg *msg);
bool dialog_cseq_valid(struct dialog *dlg, const struct sip_msg *msg);
void dialog_response_sent(struct dialog *dlg, const struct sip_msg *req,
			  struct mbuf *resp);
struct media *dialog_media(struct dialog *dlg);
struct sip_dialog *dialog_sdlg(struct dialog *dlg);
uint32_t dialog_refer_count(struct dialog *dlg);
void dialog_terminate(struct dialog *dlg);
int  dialog_hangup_callid(struct uas *uas, const struct pl *callid,
			  const char *why);
void dialog_hangup(struct dialog *dlg, const char *why);
bool dialog_confirmed(const struct dialog *dlg);
bool dialog_exists(struct uas *uas, const struct pl *callid);
void dialog_indlg_set(struct dialog *dlg, struct indlg *in);
struct indlg *dialog_indlg(const struct dialog *dlg);


/* Rawrx: UDP datagrams libre's parser rejects */

struct rawrx;

int  rawrx_alloc(struct rawrx **rxp, struct uas *uas, struct udp_sock *us);
struct le *rawrx_le(struct rawrx *rx);
void rawrx_via_sent(struct pl *val, const struct sip_msg *msg);


/* Probe: the socket of a UDP transport (libre 1.1.0 hides it) */

/* The request line of a probe: any worker's probe is dropped unseen */
#define PROBE_RLINE "OPTIONS sip:sipstub-probe@"

struct probe;

int  probe_alloc(struct probe **prp);
int  probe_udp_sock(struct probe *pr, const struct sa *bound,
		    unsigned workers, struct udp_sock **usp);
void probe_recv(struct probe *pr, const struct sip_msg *msg);


/* Validate: RFC 3261 checks that libre's parser leaves to the UAS */

int  validate_request(const struct sip_msg *msg, uint16_t *scodep,
		      const char **reasonp);


/* Subs: subscriptions with state (RFC 6665), the notifier side */

struct subs;

int  subs_alloc(struct subs **sp, struct uas *uas);
void subs_flush(struct subs *s);
uint16_t subs_check(struct uas *uas, const struct sip_msg *msg,
		    const struct step *step, uint16_t scode, char **xhdrsp);
void subs_accept(struct uas *uas, const struct sip_msg *msg,
		 const struct step *step, uint16_t scode);
bool subs_request(struct uas *uas, const struct sip_msg *msg);
void subs_keep(struct subs *s, struct le *le, void *obj);


/* Publish: event state publication (RFC 3903), MESSAGE bodies */

struct publ;

int  publ_alloc(struct publ **pp, struct uas *uas);
void publ_flush(struct publ *p);
uint16_t publ_check(struct uas *uas, const struct sip_msg *msg,
		    uint16_t scode, char **xhdrsp);
void message_log(struct uas *uas, const struct sip_msg *msg,
		 uint16_t scode);


/* Info: INFO packages (RFC 6086), DTMF relay INFO */

const char *info_recv_hdr(const struct step *step, char **allocp);
uint16_t info_check(struct uas *uas, const struct sip_msg *msg,
		    const struct step *step, uint16_t scode, char **xhdrsp);


/* Refer: REFER in an INVITE dialog (RFC 3515, RFC 4488) */

uint16_t refer_check(const struct sip_msg *msg, uint16_t scode,
		     char **xhdrsp);
void refer_accept(struct uas *uas, struct dialog *dlg,
		  const struct sip_msg *msg, const struct step *step);


/* UAC: requests sipstub sends in a dialog */

struct uac;

typedef void (uac_resp_h)(int err, const struct sip_msg *msg, void *arg);

int  uac_invite(struct uac **uacp, struct uas *uas,
		struct sip_dialog *dlg, struct sip_auth *auth,
		uac_resp_h *resph, void *arg, const char *fmt, ...);
int  uac_send(struct uac **uacp, struct uas *uas, struct sip_dialog *dlg,
	      const char *met, uac_resp_h *resph, void *arg,
	      const char *fmt, ...);


/* TLS: certificate and context of the tls: listeners */

struct tls_srv;

int  tls_srv_alloc(struct tls_srv **tsp, const char *certfile,
		   const struct sa *addrv, size_t addrc);
struct tls *tls_srv_ctx(const struct tls_srv *ts);
void tls_srv_set_evlog(struct tls_srv *ts, struct evlog *el);
bool tls_srv_self_signed(const struct tls_srv *ts);
int  tls_srv_fingerprint_print(struct re_printf *pf,
			       const struct tls_srv *ts);
/* Indlg: requests a scenario makes sipstub send in a dialog */

enum indlg_sdp {
	INDLG_SDP_NONE = 0,
	INDLG_SDP_OFFER,     /* an offer in the current direction */
	INDLG_SDP_HOLD,      /* a=sendonly (RFC 3264 8.4) */
	INDLG_SDP_RESUME,    /* a=sendrecv */
};

/** One entry of a step's 'requests' list */
struct indlg_req {
	struct le le;
	char met[16];
	uint32_t delay;      /* ms after the previous final (first: 2xx) */
	struct list hdrs;    /* struct hdrval */
	char *body;
	size_t bodylen;
	char *ctype;
	enum indlg_sdp sdp;
	/* requests made at run time (session-timer refreshes) */
	const char *xhdrs;   /* header lines added as they are */
	/* its final response (msg NULL: it could not be sent) */
	void (*doneh)(const struct sip_msg *msg, void *arg);
	void *arg;
};

struct stimer;

struct indlg *indlg_get(struct uas *uas, struct dialog *dlg,
			const struct sip_msg *req);
int  indlg_start(struct uas *uas, struct dialog *dlg,
		 const struct list *reqs, const struct sip_msg *invite);
void indlg_refresh(struct indlg *in, const struct indlg_req *r);
bool indlg_glare(struct indlg *in, const struct sip_msg *msg);
const char *indlg_sdp_name(enum indlg_sdp sdp);
struct stimer *indlg_stimer(const struct indlg *in);
void indlg_stimer_set(struct indlg *in, struct stimer *st);


/* Timer: session timers (RFC 4028) */

enum timer_refresher {
	TIMER_REF_AUTO = 0,    /* the client's choice, else uas */
	TIMER_REF_UAC,
	TIMER_REF_UAS,
};

/** Rule key 'session-timer' */
struct timer_cfg {
	uint32_t minse;        /* s, our minimum (default 90) */
	uint32_t expires;      /* s, the interval we ask for (default 1800) */
	enum timer_refresher refresher;
};

/** The outcome for one INVITE or UPDATE */
struct timer_neg {
	const struct timer_cfg *cfg;  /* the rule's, kept by the dialog */
	uint32_t se;           /* s, 0: no session timer */
	uint32_t minse;        /* s, Min-SE of a 422 and of our refreshes */
	bool uac_refresh;      /* refresher=uac */
	bool require;          /* Require: timer in the 2xx */
	bool update;           /* the client allows UPDATE */
};

uint16_t timer_negotiate(struct timer_neg *tn, const struct sip_msg *msg,
			 const struct timer_cfg *cfg, struct dialog *dlg);
int  timer_resp_write(struct mbuf *mb, const struct timer_neg *tn,
		      uint16_t scode);
void timer_2xx(struct uas *uas, struct dialog *dlg,
	       const struct sip_msg *req, const struct timer_neg *tn);
const struct timer_cfg *rule_timer(const struct rule *rule);


/* UAS: the SIP stack, transports and request dispatch */

int  uas_alloc(struct uas **uasp, struct scenario *scn, struct evlog *el,
	       bool trace, const struct guard_cfg *limits);
void uas_count(struct uas *uas, bool dialog, int delta);
int  uas_listen(struct uas *uas, enum sip_transp tp, const struct sa *laddr,
		struct sa *bound);
struct sip *uas_sip(const struct uas *uas);
struct scenario *uas_scenario(const struct uas *uas);
void uas_set_scenario(struct uas *uas, struct scenario *scn);
struct stranss *uas_stranss(const struct uas *uas);
struct hash *uas_dialogs(const struct uas *uas);
struct hash *uas_early(const struct uas *uas);
struct subs *uas_subs(const struct uas *uas);
struct publ *uas_publ(const struct uas *uas);
struct list *uas_xacts(struct uas *uas);
struct evlog *uas_evlog(const struct uas *uas);
struct tqs *uas_tqs(const struct uas *uas);
void uas_set_max_size(struct uas *uas, size_t max);
void uas_set_workers(struct uas *uas, unsigned n);
void uas_set_tls(struct uas *uas, struct tls_srv *ts);
size_t uas_max_size(const struct uas *uas);
struct trace *uas_trace(const struct uas *uas);
void uas_local_addr(struct sa *laddr, const struct sip_msg *msg);
void uas_shutdown(struct uas *uas);
void uas_request(struct uas *uas, const struct sip_msg *msg);


/* Guard: resource limits */

struct guard_cfg {
	uint32_t max_xacts;    /* transactions being answered */
	uint32_t max_dialogs;
	uint32_t max_tcp;      /* TCP connections */
	uint32_t tcp_idle;     /* s without a message before closing */
	uint32_t retry_after;  /* s, in a 503 */
};

struct guard;

extern const struct guard_cfg guard_defaults;

int  guard_alloc(struct guard **gp, const struct guard_cfg *cfg);
int  guard_parse(struct guard_cfg *cfg, const char *spec);
bool guard_tcp_msg(struct guard *g, const struct sip_msg *msg);
void guard_tcp_close(const struct sip_msg *msg);
const char *guard_check(const struct guard *g, uint32_t xacts,
			uint32_t dialogs, bool invite);
uint32_t guard_retry_after(const struct guard *g);


/* Auth: digest challenges and verification (RFC 3261 22, RFC 7616) */

struct auth;

int  auth_alloc(struct auth **ap);
int  auth_set(void *arg, const char *key, const char *sub, const char *val,
	      const char **errp);
const char *auth_complete(struct auth *a);
bool auth_verify(struct auth *a, struct uas *uas, const struct sip_msg *msg);
const char *auth_password(const struct auth *a, const struct pl *user);


/* Registrar: REGISTER bindings (RFC 3261 10.3, RFC 5626, RFC 3327) */

struct registrar;
struct regcfg;

/** One current binding of an address of record */
struct reg_binding {
	const char *uri;       /* Contact URI */
	const char *path;      /* Path values (RFC 3327), or NULL */
	const char *instance;  /* +sip.instance, or NULL */
	uint32_t regid;        /* reg-id, 0: none */
	uint32_t expires;      /* seconds left */
};

typedef bool (registrar_binding_h)(const struct reg_binding *b, void *arg);

int  registrar_alloc(struct registrar **regp);
int  regcfg_alloc(struct regcfg **cfgp, struct registrar *reg);
int  regcfg_set(void *arg, const char *key, const char *sub, const char *val,
		const char **errp);
const char *regcfg_complete(struct regcfg *cfg);
bool registrar_request(struct regcfg *cfg, struct uas *uas,
		       const struct sip_msg *msg);
uint32_t registrar_lookup(const struct registrar *reg, const struct pl *aor,
			  registrar_binding_h *h, void *arg);


/* Callback: sipstub calls the caller back (step key 'callback') */

struct cbcfg;

void callback_start(struct uas *uas, const struct sip_msg *msg,
		    struct cbcfg *cfg, const struct auth *auth);
bool callback_request(struct uas *uas, const struct sip_msg *msg);
void callback_flush(void);


/* workers (the sipstub executable only) */
void reuseport_set(bool on);
int  workers_run(unsigned n, unsigned *idxp);
