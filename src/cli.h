/**
 * @file cli.h  The command line, parsed by cli.c for main.c
 *
 * Copyright (C) 2026 The sipstub authors
 */


enum {
	LISTEN_MAX = 32,
	EXIT_USAGE = 2,        /* a usage or scenario error */
};

struct listen_spec {
	enum sip_transp tp;
	struct sa laddr;
};

/** What the options ask for */
struct cli_opts {
	struct listen_spec lsv[LISTEN_MAX];
	size_t lsc;
	const char *events;
	const char *tls_cert;
	const char *pcap_path;
	struct sa ctrl_addr;
	bool ctrl_on;
	size_t max_size;
	struct guard_cfg limits;
	unsigned workers;
	uint32_t duration;         /* ms */
	uint32_t idle;             /* ms */
	uint32_t ncalls;           /* --calls */
	const char *junit;
	const char *report;
	bool trace;
	bool check;
};

int cli_parse(struct cli_opts *o, int argc, char *argv[]);
int cli_workers_check(const struct cli_opts *o);
