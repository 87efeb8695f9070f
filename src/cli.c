/**
 * @file cli.c  sipstub's command line: options, their checks, --help
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <stdlib.h>
#include <getopt.h>
#include <sipstub.h>
#include "cli.h"


enum {
	OPT_TLS_CERT = 256,    /* long options without a letter */
	OPT_RTP_PORTS,
};


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


static int listen_parse(struct cli_opts *o, const char *spec)
{
	struct listen_spec *ls;
	const char *colon = strchr(spec, ':');
	struct pl proto, port;

	if (o->lsc >= LISTEN_MAX) {
		(void)re_fprintf(stderr, "sipstub: too many --listen\n");
		return E2BIG;
	}

	ls = &o->lsv[o->lsc];

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

	++o->lsc;

	return 0;

 bad:
	(void)re_fprintf(stderr, "sipstub: bad --listen '%s' (expected "
			 "udp:ADDR:PORT, tcp:ADDR:PORT or tls:ADDR:PORT)\n",
			 spec);
	return EINVAL;
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
int cli_workers_check(const struct cli_opts *o)
{
	size_t i;

	/* one capture file, one control port */
	if (o->workers > 1 && (o->pcap_path || o->ctrl_on)) {
		(void)re_fprintf(stderr, "sipstub: --pcap and --control need "
				 "one worker\n");
		return EINVAL;
	}

	if (o->workers > 1 && (o->ncalls || o->idle || o->junit ||
				o->report)) {
		(void)re_fprintf(stderr, "sipstub: --calls, --idle, --junit "
				 "and --report need one worker\n");
		return EINVAL;
	}

	for (i = 0; i < o->lsc && o->workers > 1; i++) {
		if (!sa_port(&o->lsv[i].laddr)) {
			(void)re_fprintf(stderr, "sipstub: --workers needs "
					 "fixed ports, not port 0\n");
			return EINVAL;
		}
	}

	return 0;
}


/**
 * Parse the command line
 *
 * @param o    Options, set from their defaults and argv
 * @param argc Argument count
 * @param argv Arguments; optind is left at the first scenario
 *
 * @return -1 to run, otherwise the exit code (--help, --version,
 *         a usage error)
 */
int cli_parse(struct cli_opts *o, int argc, char *argv[])
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
	int c;

	o->max_size = SIPSTUB_MAX_SIZE;
	o->workers = 1;
	o->limits = guard_defaults;

	while ((c = getopt_long(argc, argv, "l:ce:tp:C:m:w:L:d:n:i:j:r:hV",
				opts, NULL)) != -1) {

		switch (c) {

		case 'l':
			if (listen_parse(o, optarg))
				return EXIT_USAGE;
			break;

		case 'c':
			o->check = true;
			break;

		case 'e':
			o->events = optarg;
			break;

		case 't':
			o->trace = true;
			break;

		case 'p':
			o->pcap_path = optarg;
			break;

		case 'C':
			if (ctrl_addr_parse(&o->ctrl_addr, optarg)) {
				(void)re_fprintf(stderr, "sipstub: bad "
						 "--control '%s' (expected "
						 "PORT or ADDR:PORT)\n",
						 optarg);
				return 2;
			}
			o->ctrl_on = true;
			break;

		case 'm':
			if (num_parse("max-size", optarg, 512, 65535, " bytes",
				      &v))
				return EXIT_USAGE;
			o->max_size = v;
			break;

		case 'w':
			if (num_parse("workers", optarg, 1, 64, "", &v))
				return EXIT_USAGE;
			o->workers = (unsigned)v;
			break;

		case 'L':
			if (guard_parse(&o->limits, optarg)) {
				(void)re_fprintf(stderr, "sipstub: bad --limit "
						 "'%s' (see --help)\n", optarg);
				return EXIT_USAGE;
			}
			break;

		case OPT_TLS_CERT:
			o->tls_cert = optarg;
			break;

		case 'd':
		case 'i':
			if (time_parse(c == 'd' ? "duration" : "idle", optarg,
				       c == 'd' ? &o->duration : &o->idle))
				return EXIT_USAGE;
			break;

		case 'n':
			if (num_parse("calls", optarg, 1, 100000000, "", &v))
				return EXIT_USAGE;
			o->ncalls = (uint32_t)v;
			break;

		case 'j':
			o->junit = optarg;
			break;

		case 'r':
			o->report = optarg;
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

	return -1;
}
