/**
 * @file main.c  sipstub: setup, listeners, event loop, stop, teardown
 *
 * The options are parsed by cli.c.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sipstub.h>
#include "cli.h"


enum {
	RECENT_CALLS = 1000,   /* ended calls in the --report */
	EXIT_FAILED = 1,       /* an expectation did not hold */
};

static struct sipstub {
	struct cli_opts opt;
	struct scenario *scn;
	struct evlog *el;
	struct uas *uas;
	struct tls_srv *tls;       /* with a tls: listener */
	struct pcap *pcap;
	struct ctrl *ctrl;
	struct expect *ex;
	struct calls *calls;
	struct tmr tmr_dur;        /* --duration */
	struct tmr tmr_idle;       /* --idle */
	uint64_t idle_n;           /* messages at the last idle check */
	unsigned idle_quiet;       /* checks without a message */
	const char *stop_reason;
	uint64_t t0;
	unsigned worker;           /* this worker's index */
	int sigfd;
	bool stop;
	bool scn_err;              /* a scenario did not load */
} app = {.sigfd = -1};


static void scn_err_handler(const char *file, size_t line, size_t col,
			    const char *msg, void *arg)
{
	(void)arg;

	(void)re_fprintf(stderr, "%s:%zu:%zu: %s\n", file, line, col, msg);
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

	tmr_start(&app.tmr_idle, MAX(app.opt.idle / 4, 1u), idle_handler,
		  NULL);
}


static void calls_handler(uint32_t ended, void *arg)
{
	(void)arg;

	if (app.opt.ncalls && ended >= app.opt.ncalls)
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

	for (i = 0; i < app.opt.lsc; i++) {
		if (app.opt.lsv[i].tp == SIP_TRANSP_TLS)
			addrv[n++] = app.opt.lsv[i].laddr;
	}

	if (!n) {
		if (!app.opt.tls_cert)
			return 0;

		(void)re_fprintf(stderr, "sipstub: --tls-cert needs "
				 "--listen tls:ADDR:PORT\n");
		return EINVAL;
	}

	err = tls_srv_alloc(&app.tls, app.opt.tls_cert, addrv, n);
	if (err) {
		(void)re_fprintf(stderr, "sipstub: TLS certificate%s%s: %m\n",
				 app.opt.tls_cert ? " " : "",
				 app.opt.tls_cert ? app.opt.tls_cert : "",
				 err);
	}

	return err;
}


/* The tap's consumers: expectations, and calls for --calls, --report
 * and the control API's GET /calls */
static int tap_setup(void)
{
	int err = 0;

	if (scenario_expect_count(app.scn))
		err = expect_alloc(&app.ex, app.scn, app.el);

	if (!err && (app.opt.ncalls || app.opt.report || app.opt.ctrl_on))
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
	FILE *out = app.opt.events && !strcmp(app.opt.events, "-") ?
		stderr : stdout;
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

	if (app.opt.junit) {
		err = report_junit_write(app.opt.junit, &r);
		if (err)
			(void)re_fprintf(stderr, "sipstub: cannot write %s: "
					 "%m\n", app.opt.junit, err);
	}

	if (app.opt.report) {
		int e = report_json_write(app.opt.report, &r);

		if (e)
			(void)re_fprintf(stderr, "sipstub: cannot write %s: "
					 "%m\n", app.opt.report, e);
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

	if (app.opt.workers > 1 && scenario_expect_count(app.scn)) {
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
	if (app.opt.events || app.opt.ctrl_on) {
		err = evlog_alloc(&app.el, app.opt.events);
		if (err) {
			(void)re_fprintf(stderr, "sipstub: cannot open event "
					 "log '%s': %m\n", app.opt.events,
					 err);
			return err;
		}

		if (app.opt.workers > 1)
			evlog_set_worker(app.el, app.worker);
	}

	err = uas_alloc(&app.uas, app.scn, app.el, app.opt.trace,
			&app.opt.limits);
	if (err)
		return err;

	if (app.opt.pcap_path) {
		err = pcap_alloc(&app.pcap, app.opt.pcap_path);
		if (err) {
			(void)re_fprintf(stderr, "sipstub: cannot open pcap "
					 "file '%s': %m\n", app.opt.pcap_path,
					 err);
			return err;
		}

		trace_set_pcap(uas_trace(app.uas), app.pcap);
	}

	err = tap_setup();
	if (err)
		return err;

	uas_set_max_size(app.uas, app.opt.max_size);
	uas_set_tls(app.uas, app.tls);
	uas_set_workers(app.uas, app.opt.workers);

	reuseport_set(app.opt.workers > 1);

	if (app.opt.lsc) {
		for (i = 0; i < app.opt.lsc && !err; i++)
			err = listen_spec(app.opt.lsv[i].tp,
					  &app.opt.lsv[i].laddr);
	}
	else {
		err = listen_default();
	}

	reuseport_set(false);

	if (err)
		return err;

	if (app.opt.ctrl_on) {
		err = ctrl_alloc(&app.ctrl, &app.opt.ctrl_addr, app.uas,
				 app.el, app.ex, app.calls);
		if (err) {
			(void)re_fprintf(stderr, "sipstub: cannot listen on "
					 "control %J: %m\n",
					 &app.opt.ctrl_addr, err);
			return err;
		}
	}

	evlog_event(app.el, "start", NULL, ",\"version\":\"%s\","
		    "\"rules\":%u,\"workers\":%u", SIPSTUB_VERSION,
		    scenario_rule_count(app.scn), app.opt.workers);
	evlog_flush(app.el);

	app.t0 = tmr_jiffies();
	if (app.opt.duration)
		tmr_start(&app.tmr_dur, app.opt.duration, duration_handler,
			  NULL);
	if (app.opt.idle)
		tmr_start(&app.tmr_idle, MAX(app.opt.idle / 4, 1u),
			  idle_handler, NULL);

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
	int err, rc;

	rc = cli_parse(&app.opt, argc, argv);
	if (rc >= 0)
		return rc;

	if (app.opt.check)
		return check_files(argc - optind, argv + optind);

	if (cli_workers_check(&app.opt))
		return EXIT_USAGE;

	if (tls_setup())
		return 2;

	if (app.opt.workers > 1) {
		rc = workers_run(app.opt.workers, &app.worker);

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
