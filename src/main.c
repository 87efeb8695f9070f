/**
 * @file main.c  sipstub: command line, setup, event loop, teardown
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <stdlib.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sipstub.h>


enum {
	LISTEN_MAX = 32,
	OPT_TLS_CERT = 256,    /* long options without a letter */
	OPT_RTP_PORTS,
	RECENT_CALLS = 1000,   /* ended calls in the --report */
	EXIT_FAILED = 1,       /* an expectation did not hold */
	EXIT_USAGE = 2,        /* a usage or scenario error */
};

struct listen_spec {
	enum sip_transp tp;
	struct sa laddr;
};

static struct sipstub {
	struct scenario *scn;
	struct evlog *el;
	struct uas *uas;
	struct tls_srv *tls;       /* with a tls: listener */
	struct pcap *pcap;
	struct ctrl *ctrl;
	struct sa ctrl_addr;
	bool ctrl_on;
	struct expect *ex;
	struct calls *calls;
	struct tmr tmr_dur;        /* --duration */
	struct tmr tmr_idle;       /* --idle */
	uint64_t idle_n;           /* messages at the last idle check */
	unsigned idle_quiet;       /* checks without a message */
	uint32_t duration;         /* ms */
	uint32_t idle;             /* ms */
	uint32_t ncalls;           /* --calls */
	const char *junit;
	const char *report;
	const char *stop_reason;
	uint64_t t0;
	struct listen_spec lsv[LISTEN_MAX];
	size_t lsc;
	const char *events;
	const char *tls_cert;
	const char *pcap_path;
	size_t max_size;
	struct guard_cfg limits;
	unsigned workers;
	unsigned worker;           /* this worker's index */
	int sigfd;
	bool stop;
	bool trace;
	bool check;
	bool scn_err;              /* a scenario did not load */
} app = {.sigfd = -1, .max_size = SIPSTUB_MAX_SIZE, .workers = 1};


static void usage(FILE *f)
{
	(void)re_fprintf(f,
	"usage: sipstub [OPTIONS] [SCENARIO...]\n"
	"\n"
	"A SIP user-agent server that answers from scenario files.\n"
	"Without a scenario it runs the built-in dial-a-code scenario:\n"
	"INVITE sip:486@host gets 486, any other user gets a call.\n"
	"\n"
	"  -l, --listen PROTO:ADDR:PORT  listen on udp, tcp or tls "
	"(repeatable),\n"
	"                                e.g. udp:127.0.0.1:5060, "
	"tcp:[::1]:5070;\n"
	"                                port 0 picks a free port\n"
	"                                (default: udp and tcp on port 5060,"
	"\n"
	"                                all IPv4 and IPv6 addresses)\n"
	"      --tls-cert FILE           PEM certificate and key for tls:\n"
	"                                (default: a self-signed one)\n"
	"  -c, --check FILE...           check scenario files and exit\n"
	"  -e, --events FILE             JSON-lines event log "
	"('-' for stdout)\n"
	"  -t, --trace                   print every SIP message to stderr\n"
	"  -p, --pcap FILE               write every SIP message to a pcap "
	"file\n"
	"  -C, --control [ADDR:]PORT     HTTP control API and call-ladder "
	"page\n"
	"                                (ADDR default 127.0.0.1)\n"
	"  -m, --max-size BYTES          larger UDP requests get 513 "
	"(default 65535)\n"
	"  -w, --workers N               N processes sharing the ports "
	"(SO_REUSEPORT;\n"
	"                                default 1)\n"
	"  -L, --limit NAME=VALUE        transactions, dialogs, tcp "
	"(connections),\n"
	"                                tcp-idle (s), retry-after (s of a "
	"503)\n"
	"  -d, --duration TIME           stop after this long (30s, 2m)\n"
	"  -n, --calls N                 stop when N calls have ended\n"
	"  -i, --idle TIME               stop after no SIP message for "
	"this long\n"
	"  -j, --junit FILE              write the expectations as JUnit "
	"XML\n"
	"  -r, --report FILE             write expectations and calls as "
	"JSON\n"
	"      --rtp-ports MIN-MAX       RTP/RTCP port pairs of calls "
	"(default\n"
	"                                10000-59999)\n"
	"\n"
	"With expect: in a scenario, the exit code is 0 if every "
	"expectation held,\n"
	"1 if one failed; 2 means a usage or scenario error.\n"
	"  -h, --help                    this help\n"
	"  -V, --version                 print the version\n");
}


static void scn_err_handler(const char *file, size_t line, size_t col,
			    const char *msg, void *arg)
{
	(void)arg;

	(void)re_fprintf(stderr, "%s:%zu:%zu: %s\n", file, line, col, msg);
}


static int listen_parse(const char *spec)
{
	struct listen_spec *ls;
	const char *colon = strchr(spec, ':');
	struct pl proto, port;

	if (app.lsc >= LISTEN_MAX) {
		(void)re_fprintf(stderr, "sipstub: too many --listen\n");
		return E2BIG;
	}

	ls = &app.lsv[app.lsc];

	if (!colon)
		goto bad;

	proto.p = spec;
	proto.l = colon - spec;
	if (!pl_strcasecmp(&proto, "udp"))
		ls->tp = SIP_TRANSP_UDP;
	else if (!pl_strcasecmp(&proto, "tcp"))
		ls->tp = SIP_TRANSP_TCP;
	else if (!pl_strcasecmp(&proto, "tls"))
		ls->tp = SIP_TRANSP_TLS;
	else
		goto bad;

	if (sa_decode(&ls->laddr, colon + 1, strlen(colon + 1)))
		goto bad;

	/* sa_decode() takes the port modulo 65536 */
	pl_set_str(&port, strrchr(spec, ':') + 1);
	if (!port.l || port.l > 5 || strspn(port.p, "0123456789") != port.l ||
	    pl_u32(&port) > 65535)
		goto bad;

	++app.lsc;

	return 0;

 bad:
	(void)re_fprintf(stderr, "sipstub: bad --listen '%s' (expected "
			 "udp:ADDR:PORT, tcp:ADDR:PORT or tls:ADDR:PORT)\n",
			 spec);
	return EINVAL;
}


struct ifwalk {
	enum sip_transp tp;
	const struct sa *laddr;   /* any-address and port */
	unsigned n;
	int err;
};


static const char *proto_name(enum sip_transp tp)
{
	switch (tp) {

	case SIP_TRANSP_UDP: return "udp";
	case SIP_TRANSP_TLS: return "tls";
	default:             return "tcp";
	}
}


static int fingerprint_print(struct re_printf *pf, enum sip_transp tp)
{
	if (tp != SIP_TRANSP_TLS)
		return 0;

	return re_hprintf(pf, " (%s certificate, sha-256 %H)",
			  tls_srv_self_signed(app.tls) ? "self-signed" :
			  "--tls-cert", tls_srv_fingerprint_print, app.tls);
}


/* One line on stderr per socket (once, not per worker) */
static int listen_one(enum sip_transp tp, const struct sa *laddr)
{
	struct sa bound;
	int err = uas_listen(app.uas, tp, laddr, &bound);

	if (err) {
		(void)re_fprintf(stderr, "sipstub: cannot listen on %s %J: "
				 "%m\n", sip_transp_name(tp), laddr, err);
	}
	else if (app.worker == 0) {
		(void)re_fprintf(stderr, "sipstub: listening on %s:%J%H\n",
				 proto_name(tp), &bound, fingerprint_print,
				 tp);
	}

	return err;
}


static bool ifaddr_handler(const char *ifname, const struct sa *sa,
			   void *arg)
{
	struct ifwalk *w = arg;
	struct sa a = *sa;
	(void)ifname;

	if (sa_af(sa) != sa_af(w->laddr) || sa_is_linklocal(sa))
		return false;

	sa_set_port(&a, sa_port(w->laddr));

	if (listen_one(w->tp, &a))
		w->err = EADDRNOTAVAIL;
	else
		++w->n;

	return false;
}


/* libre's transports bind one address each: the any-address stands for
 * every address of its family (those up at start-up) */
static int listen_spec(enum sip_transp tp, const struct sa *laddr)
{
	struct ifwalk w = {tp, laddr, 0, 0};

	if (!sa_is_any(laddr))
		return listen_one(tp, laddr);

	(void)net_if_apply(ifaddr_handler, &w);

	if (!w.n) {
		(void)re_fprintf(stderr, "sipstub: no %s address to listen "
				 "on for %J\n", sa_af(laddr) == AF_INET ?
				 "IPv4" : "IPv6", laddr);
		return EADDRNOTAVAIL;
	}

	return w.err;
}


/* Port 5060 of every IPv4 and IPv6 address, UDP and TCP */
static int listen_default(void)
{
	static const char *any[] = {"0.0.0.0", "::"};
	enum sip_transp tp;
	struct sa a;
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(any); i++) {
		(void)sa_set_str(&a, any[i], SIP_PORT);

		for (tp = SIP_TRANSP_UDP; tp <= SIP_TRANSP_TCP; tp++) {
			int e = listen_spec(tp, &a);

			/* a host without IPv6 still runs */
			if (e && !(e == EADDRNOTAVAIL && i == 1))
				err = e;
		}
	}

	return err;
}


/* A decimal option value in min..max */
static int num_parse(const char *opt, const char *s, unsigned long min,
		     unsigned long max, const char *unit, unsigned long *vp)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s < '0' || *s > '9' || *end || v < min || v > max) {
		(void)re_fprintf(stderr, "sipstub: bad --%s '%s' (%lu..%lu%s)\n",
				 opt, s, min, max, unit);
		return EINVAL;
	}

	*vp = v;

	return 0;
}


/* A time option: 30s, 500ms, 2m */
static int time_parse(const char *opt, const char *s, uint32_t *msp)
{
	if (duration_parse(s, msp) || !*msp) {
		(void)re_fprintf(stderr, "sipstub: bad --%s '%s' (a time such "
				 "as 30s, 500ms or 2m)\n", opt, s);
		return EINVAL;
	}

	return 0;
}


/* Workers bind the same ports: port 0 would give each its own */
static int workers_check(void)
{
	size_t i;

	/* one capture file, one control port */
	if (app.workers > 1 && (app.pcap_path || app.ctrl_on)) {
		(void)re_fprintf(stderr, "sipstub: --pcap and --control need "
				 "one worker\n");
		return EINVAL;
	}

	if (app.workers > 1 && (app.ncalls || app.idle || app.junit ||
				app.report)) {
		(void)re_fprintf(stderr, "sipstub: --calls, --idle, --junit "
				 "and --report need one worker\n");
		return EINVAL;
	}

	for (i = 0; i < app.lsc && app.workers > 1; i++) {
		if (!sa_port(&app.lsv[i].laddr)) {
			(void)re_fprintf(stderr, "sipstub: --workers needs "
					 "fixed ports, not port 0\n");
			return EINVAL;
		}
	}

	return 0;
}


static void signal_handler(int flags, void *arg)
{
	struct signalfd_siginfo si;
	(void)flags;
	(void)arg;

	if (read(app.sigfd, &si, sizeof(si)) != sizeof(si))
		return;

	(void)re_fprintf(stderr, "sipstub: %s, stopping\n",
			 si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
	app.stop = true;
	app.stop_reason = "signal";
	re_cancel();
}


static void stop(const char *reason)
{
	if (app.stop)
		return;

	(void)re_fprintf(stderr, "sipstub: %s, stopping\n", reason);
	app.stop = true;
	app.stop_reason = reason;
	re_cancel();
}


static void duration_handler(void *arg)
{
	(void)arg;

	stop("duration");
}


/* Checked every quarter of --idle: stop after four checks without a
 * message, between 1 and 1.25 times --idle after the last one */
static void idle_handler(void *arg)
{
	const uint64_t n = trace_msg_count(uas_trace(app.uas));
	(void)arg;

	if (n != app.idle_n) {
		app.idle_n = n;
		app.idle_quiet = 0;
	}
	else if (++app.idle_quiet >= 4) {
		stop("idle");
		return;
	}

	tmr_start(&app.tmr_idle, MAX(app.idle / 4, 1u), idle_handler, NULL);
}


static void calls_handler(uint32_t ended, void *arg)
{
	(void)arg;

	if (app.ncalls && ended >= app.ncalls)
		stop("calls");
}


/* SIGINT and SIGTERM through a signalfd in the event loop: a signal
 * that lands outside epoll_wait() is not lost (re_main()'s own handler
 * only looks at it when the loop next wakes up). */
static int signals_watch(void)
{
	sigset_t set;
	int err;

	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGINT);
	(void)sigaddset(&set, SIGTERM);

	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return errno;

	app.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (app.sigfd < 0)
		return errno;

	err = fd_listen(app.sigfd, FD_READ, signal_handler, NULL);
	if (err) {
		(void)close(app.sigfd);
		app.sigfd = -1;
	}

	return err;
}


/* Every call holds an RTP socket: raise the descriptor limit to the hard
 * limit (up to FDS_MAX) and size libre's descriptor table to match, which
 * is 1024 unless set before the first fd_listen(). */
static int fds_raise(void)
{
	enum { FDS_MAX = 1 << 18 };
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return errno;

	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FDS_MAX)
		rl.rlim_max = FDS_MAX;

	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}

	return fd_setsize((int)MIN(rl.rlim_cur, FDS_MAX));
}


static int check_files(int argc, char *argv[])
{
	int i, bad = 0;

	if (argc < 1) {
		(void)re_fprintf(stderr, "sipstub: --check needs files\n");
		return EXIT_USAGE;
	}

	for (i = 0; i < argc; i++) {
		struct scenario *scn = NULL;
		int err;

		err = scenario_alloc(&scn);
		if (!err)
			err = scenario_load_file(scn, argv[i],
						 scn_err_handler, NULL);
		if (err)
			++bad;
		else
			(void)re_fprintf(stderr, "%s: OK (%u rules)\n",
					 argv[i], scenario_rule_count(scn));

		mem_deref(scn);
	}

	return bad ? EXIT_USAGE : 0;
}


static int scenarios_load(int argc, char *argv[])
{
	int i, err;

	err = scenario_alloc(&app.scn);
	if (err)
		return err;

	for (i = 0; i < argc; i++) {
		err = scenario_load_file(app.scn, argv[i], scn_err_handler,
					 NULL);
		if (err) {
			app.scn_err = err != ENOMEM;
			return err;
		}
	}

	/* dial-a-code answers whatever the given rules leave */
	return scenario_load_buf(app.scn, "dial-a-code (built-in)",
				 dial_a_code_yaml, dial_a_code_yaml_len,
				 scn_err_handler, NULL);
}


/* The certificate is made once, before the workers fork: all of them
 * show the same one */
static int tls_setup(void)
{
	struct sa addrv[LISTEN_MAX];
	size_t i, n = 0;
	int err;

	for (i = 0; i < app.lsc; i++) {
		if (app.lsv[i].tp == SIP_TRANSP_TLS)
			addrv[n++] = app.lsv[i].laddr;
	}

	if (!n) {
		if (!app.tls_cert)
			return 0;

		(void)re_fprintf(stderr, "sipstub: --tls-cert needs "
				 "--listen tls:ADDR:PORT\n");
		return EINVAL;
	}

	err = tls_srv_alloc(&app.tls, app.tls_cert, addrv, n);
	if (err) {
		(void)re_fprintf(stderr, "sipstub: TLS certificate%s%s: %m\n",
				 app.tls_cert ? " " : "",
				 app.tls_cert ? app.tls_cert : "", err);
	}

	return err;
}


/* The tap's consumers: expectations, and calls for --calls/--report */
static int tap_setup(void)
{
	int err = 0;

	if (scenario_expect_count(app.scn))
		err = expect_alloc(&app.ex, app.scn, app.el);

	if (!err && (app.ncalls || app.report))
		err = calls_alloc(&app.calls, RECENT_CALLS, app.el,
				  calls_handler, NULL);

	if (!err)
		trace_set_tap(uas_trace(app.uas), app.ex, app.calls);

	return err;
}


/* Verdict lines (stdout, or stderr when the event log is on stdout),
 * report files, the stop event */
static int run_end(int argc, char *argv[])
{
	struct report r;
	FILE *out = app.events && !strcmp(app.events, "-") ? stderr : stdout;
	int err = 0;

	expect_finish(app.ex, tmr_jiffies());

	memset(&r, 0, sizeof(r));
	r.ex    = app.ex;
	r.calls = app.calls;
	r.files = argv;
	r.filec = argc;
	r.ms    = tmr_jiffies() - app.t0;
	r.stop  = app.stop_reason ? app.stop_reason : "signal";

	expect_log(app.ex);
	evlog_event(app.el, "stop", NULL, ",\"reason\":\"%s\"", r.stop);
	evlog_flush(app.el);

	(void)re_fprintf(out, "%H", expect_print_lines, app.ex);
	(void)fflush(out);

	if (app.junit) {
		err = report_junit_write(app.junit, &r);
		if (err)
			(void)re_fprintf(stderr, "sipstub: cannot write %s: "
					 "%m\n", app.junit, err);
	}

	if (app.report) {
		int e = report_json_write(app.report, &r);

		if (e)
			(void)re_fprintf(stderr, "sipstub: cannot write %s: "
					 "%m\n", app.report, e);
		err = err ? err : e;
	}

	return err;
}


static int run(int argc, char *argv[])
{
	size_t i;
	int err;

	err = scenarios_load(argc, argv);
	if (err)
		return err;

	if (app.workers > 1 && scenario_expect_count(app.scn)) {
		(void)re_fprintf(stderr, "sipstub: expect: needs one worker "
				 "(no --workers)\n");
		app.scn_err = true;
		return EINVAL;
	}

	err = signals_watch();
	if (err) {
		(void)re_fprintf(stderr, "sipstub: signals: %m\n", err);
		return err;
	}

	/* --control streams the event log, even without a file */
	if (app.events || app.ctrl_on) {
		err = evlog_alloc(&app.el, app.events);
		if (err) {
			(void)re_fprintf(stderr, "sipstub: cannot open event "
					 "log '%s': %m\n", app.events, err);
			return err;
		}

		if (app.workers > 1)
			evlog_set_worker(app.el, app.worker);
	}

	err = uas_alloc(&app.uas, app.scn, app.el, app.trace, &app.limits);
	if (err)
		return err;

	if (app.pcap_path) {
		err = pcap_alloc(&app.pcap, app.pcap_path);
		if (err) {
			(void)re_fprintf(stderr, "sipstub: cannot open pcap "
					 "file '%s': %m\n", app.pcap_path,
					 err);
			return err;
		}

		trace_set_pcap(uas_trace(app.uas), app.pcap);
	}

	err = tap_setup();
	if (err)
		return err;

	uas_set_max_size(app.uas, app.max_size);
	uas_set_tls(app.uas, app.tls);
	uas_set_workers(app.uas, app.workers);

	reuseport_set(app.workers > 1);

	if (app.lsc) {
		for (i = 0; i < app.lsc && !err; i++)
			err = listen_spec(app.lsv[i].tp, &app.lsv[i].laddr);
	}
	else {
		err = listen_default();
	}

	reuseport_set(false);

	if (err)
		return err;

	if (app.ctrl_on) {
		err = ctrl_alloc(&app.ctrl, &app.ctrl_addr, app.uas, app.el);
		if (err) {
			(void)re_fprintf(stderr, "sipstub: cannot listen on "
					 "control %J: %m\n", &app.ctrl_addr,
					 err);
			return err;
		}
	}

	evlog_event(app.el, "start", NULL, ",\"version\":\"%s\","
		    "\"rules\":%u,\"workers\":%u", SIPSTUB_VERSION,
		    scenario_rule_count(app.scn), app.workers);
	evlog_flush(app.el);

	app.t0 = tmr_jiffies();
	if (app.duration)
		tmr_start(&app.tmr_dur, app.duration, duration_handler, NULL);
	if (app.idle)
		tmr_start(&app.tmr_idle, MAX(app.idle / 4, 1u), idle_handler,
			  NULL);

	/* the UAS holds it, until POST /scenario replaces it */
	app.scn = mem_deref(app.scn);

	/* a signal during start-up (the UDP probe loops) stops us here */
	if (!app.stop)
		err = re_main(NULL);

	tmr_cancel(&app.tmr_dur);
	tmr_cancel(&app.tmr_idle);

	(void)re_fprintf(stderr, "%H\n", trace_summary,
			 uas_trace(app.uas));

	return err ? err : run_end(argc, argv);
}


int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"listen",  required_argument, NULL, 'l'},
		{"check",   no_argument,       NULL, 'c'},
		{"events",  required_argument, NULL, 'e'},
		{"trace",   no_argument,       NULL, 't'},
		{"pcap",    required_argument, NULL, 'p'},
		{"control", required_argument, NULL, 'C'},
		{"max-size", required_argument, NULL, 'm'},
		{"workers", required_argument, NULL, 'w'},
		{"limit",   required_argument, NULL, 'L'},
		{"tls-cert", required_argument, NULL, OPT_TLS_CERT},
		{"duration", required_argument, NULL, 'd'},
		{"calls",   required_argument, NULL, 'n'},
		{"idle",    required_argument, NULL, 'i'},
		{"junit",   required_argument, NULL, 'j'},
		{"report",  required_argument, NULL, 'r'},
		{"rtp-ports", required_argument, NULL, OPT_RTP_PORTS},
		{"help",    no_argument,       NULL, 'h'},
		{"version", no_argument,       NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	unsigned long v;
	int c, err, rc;

	app.limits = guard_defaults;

	while ((c = getopt_long(argc, argv, "l:ce:tp:C:m:w:L:d:n:i:j:r:hV",
				opts, NULL)) != -1) {

		switch (c) {

		case 'l':
			if (listen_parse(optarg))
				return EXIT_USAGE;
			break;

		case 'c':
			app.check = true;
			break;

		case 'e':
			app.events = optarg;
			break;

		case 't':
			app.trace = true;
			break;

		case 'p':
			app.pcap_path = optarg;
			break;

		case 'C':
			if (ctrl_addr_parse(&app.ctrl_addr, optarg)) {
				(void)re_fprintf(stderr, "sipstub: bad "
						 "--control '%s' (expected "
						 "PORT or ADDR:PORT)\n",
						 optarg);
				return 2;
			}
			app.ctrl_on = true;
			break;

		case 'm':
			if (num_parse("max-size", optarg, 512, 65535, " bytes",
				      &v))
				return EXIT_USAGE;
			app.max_size = v;
			break;

		case 'w':
			if (num_parse("workers", optarg, 1, 64, "", &v))
				return EXIT_USAGE;
			app.workers = (unsigned)v;
			break;

		case 'L':
			if (guard_parse(&app.limits, optarg)) {
				(void)re_fprintf(stderr, "sipstub: bad --limit "
						 "'%s' (see --help)\n", optarg);
				return EXIT_USAGE;
			}
			break;

		case OPT_TLS_CERT:
			app.tls_cert = optarg;
			break;

		case 'd':
		case 'i':
			if (time_parse(c == 'd' ? "duration" : "idle", optarg,
				       c == 'd' ? &app.duration : &app.idle))
				return EXIT_USAGE;
			break;

		case 'n':
			if (num_parse("calls", optarg, 1, 100000000, "", &v))
				return EXIT_USAGE;
			app.ncalls = (uint32_t)v;
			break;

		case 'j':
			app.junit = optarg;
			break;

		case 'r':
			app.report = optarg;
			break;

		case OPT_RTP_PORTS:
			if (rtp_ports_set(optarg)) {
				(void)re_fprintf(stderr, "sipstub: bad "
						 "--rtp-ports '%s' (MIN-MAX, "
						 "1024-65535, MIN < MAX)\n",
						 optarg);
				return 2;
			}
			break;

		case 'h':
			usage(stdout);
			return 0;

		case 'V':
			(void)re_printf("sipstub %s (libre %s)\n",
					SIPSTUB_VERSION, sys_libre_version_get());
			return 0;

		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}

	if (app.check)
		return check_files(argc - optind, argv + optind);

	if (workers_check())
		return EXIT_USAGE;

	if (tls_setup())
		return 2;

	if (app.workers > 1) {
		rc = workers_run(app.workers, &app.worker);

		if (rc >= 0) {
			mem_deref(app.tls);
			return rc;
		}
	}

	err = libre_init();
	if (err) {
		(void)re_fprintf(stderr, "sipstub: libre_init: %m\n", err);
		return 1;
	}

	(void)signal(SIGPIPE, SIG_IGN);

	err = fds_raise();
	if (err)
		(void)re_fprintf(stderr, "sipstub: descriptors: %m\n", err);
	else
		err = run(argc - optind, argv + optind);

	if (app.scn_err)
		rc = EXIT_USAGE;
	else if (err)
		rc = 1;
	else
		rc = expect_passed(app.ex) ? 0 : EXIT_FAILED;

	app.ctrl  = mem_deref(app.ctrl);
	callback_flush();
	app.uas   = mem_deref(app.uas);
	app.tls   = mem_deref(app.tls);
	app.pcap  = mem_deref(app.pcap);
	app.ex    = mem_deref(app.ex);
	app.calls = mem_deref(app.calls);
	app.el    = mem_deref(app.el);
	app.scn   = mem_deref(app.scn);

	if (app.sigfd >= 0) {
		fd_close(app.sigfd);
		(void)close(app.sigfd);
	}

	libre_close();
	tmr_debug();
	mem_debug();

	return rc;
}
