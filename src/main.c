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
};

struct listen_spec {
	enum sip_transp tp;
	struct sa laddr;
};

static struct sipstub {
	struct scenario *scn;
	struct evlog *el;
	struct uas *uas;
	struct listen_spec lsv[LISTEN_MAX];
	size_t lsc;
	const char *events;
	size_t max_size;
	struct guard_cfg limits;
	unsigned workers;
	unsigned worker;           /* this worker's index */
	int sigfd;
	bool stop;
	bool trace;
	bool check;
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
	"  -l, --listen PROTO:ADDR:PORT  listen on udp or tcp (repeatable),\n"
	"                                e.g. udp:127.0.0.1:5060, "
	"tcp:[::1]:5070;\n"
	"                                port 0 picks a free port\n"
	"                                (default: udp and tcp on port 5060,"
	"\n"
	"                                all IPv4 and IPv6 addresses)\n"
	"  -c, --check FILE...           check scenario files and exit\n"
	"  -e, --events FILE             JSON-lines event log "
	"('-' for stdout)\n"
	"  -t, --trace                   print every SIP message to stderr\n"
	"  -m, --max-size BYTES          larger UDP requests get 513 "
	"(default 65535)\n"
	"  -w, --workers N               N processes sharing the ports "
	"(SO_REUSEPORT;\n"
	"                                default 1)\n"
	"  -L, --limit NAME=VALUE        transactions, dialogs, tcp "
	"(connections),\n"
	"                                tcp-idle (s), retry-after (s of a "
	"503)\n"
	"  -r, --rtp-ports MIN-MAX       RTP/RTCP port pairs of calls "
	"(default\n"
	"                                10000-59999)\n"
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
			 "udp:ADDR:PORT or tcp:ADDR:PORT)\n", spec);
	return EINVAL;
}


struct ifwalk {
	enum sip_transp tp;
	const struct sa *laddr;   /* any-address and port */
	unsigned n;
	int err;
};


static int listen_one(enum sip_transp tp, const struct sa *laddr)
{
	int err = uas_listen(app.uas, tp, laddr, NULL);

	if (err) {
		(void)re_fprintf(stderr, "sipstub: cannot listen on %s %J: "
				 "%m\n", sip_transp_name(tp), laddr, err);
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


/* Workers bind the same ports: port 0 would give each its own */
static int workers_check(void)
{
	size_t i;

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
	re_cancel();
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
		return 2;
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

	return bad ? 1 : 0;
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
		if (err)
			return err;
	}

	/* dial-a-code answers whatever the given rules leave */
	return scenario_load_buf(app.scn, "dial-a-code (built-in)",
				 dial_a_code_yaml, dial_a_code_yaml_len,
				 scn_err_handler, NULL);
}


static int run(int argc, char *argv[])
{
	size_t i;
	int err;

	err = scenarios_load(argc, argv);
	if (err)
		return err;

	err = signals_watch();
	if (err) {
		(void)re_fprintf(stderr, "sipstub: signals: %m\n", err);
		return err;
	}

	if (app.events) {
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

	uas_set_max_size(app.uas, app.max_size);
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

	evlog_event(app.el, "start", NULL, ",\"version\":\"%s\","
		    "\"rules\":%u,\"workers\":%u", SIPSTUB_VERSION,
		    scenario_rule_count(app.scn), app.workers);
	evlog_flush(app.el);

	/* a signal during start-up (the UDP probe loops) stops us here */
	if (!app.stop)
		err = re_main(NULL);

	(void)re_fprintf(stderr, "%H\n", trace_summary,
			 uas_trace(app.uas));
	evlog_event(app.el, "stop", NULL, NULL);

	return err;
}


int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"listen",  required_argument, NULL, 'l'},
		{"check",   no_argument,       NULL, 'c'},
		{"events",  required_argument, NULL, 'e'},
		{"trace",   no_argument,       NULL, 't'},
		{"max-size", required_argument, NULL, 'm'},
		{"workers", required_argument, NULL, 'w'},
		{"limit",   required_argument, NULL, 'L'},
		{"rtp-ports", required_argument, NULL, 'r'},
		{"help",    no_argument,       NULL, 'h'},
		{"version", no_argument,       NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	unsigned long v;
	int c, err;

	app.limits = guard_defaults;

	while ((c = getopt_long(argc, argv, "l:ce:tm:w:L:r:hV", opts, NULL)) != -1) {

		switch (c) {

		case 'l':
			if (listen_parse(optarg))
				return 2;
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

		case 'm':
			if (num_parse("max-size", optarg, 512, 65535, " bytes",
				      &v))
				return 2;
			app.max_size = v;
			break;

		case 'w':
			if (num_parse("workers", optarg, 1, 64, "", &v))
				return 2;
			app.workers = (unsigned)v;
			break;

		case 'L':
			if (guard_parse(&app.limits, optarg)) {
				(void)re_fprintf(stderr, "sipstub: bad --limit "
						 "'%s' (see --help)\n", optarg);
				return 2;
			}
			break;

		case 'r':
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
			return 2;
		}
	}

	if (app.check)
		return check_files(argc - optind, argv + optind);

	if (workers_check())
		return 2;

	if (app.workers > 1) {
		int rc = workers_run(app.workers, &app.worker);

		if (rc >= 0)
			return rc;
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

	app.uas = mem_deref(app.uas);
	app.el  = mem_deref(app.el);
	app.scn = mem_deref(app.scn);

	if (app.sigfd >= 0) {
		fd_close(app.sigfd);
		(void)close(app.sigfd);
	}

	libre_close();
	tmr_debug();
	mem_debug();

	return err ? 1 : 0;
}
