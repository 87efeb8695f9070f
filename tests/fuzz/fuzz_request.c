/**
 * @file fuzz_request.c  libFuzzer target: bytes in, sipstub's answer out
 *
 * The input is sent as one UDP datagram to a sipstub UAS on loopback
 * (the built-in dial-a-code scenario) and the event loop runs until it
 * is handled: libre's parser and transactions, rawrx, the scenario
 * match, the reply builder and the event log all see it, as in the
 * server.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <stdlib.h>
#include <sipstub.h>


enum {
	RESET_EVERY = 2000,   /* inputs between flushes of pending state */
};

static struct {
	struct scenario *scn;
	struct evlog *el;
	struct uas *uas;
	struct udp_sock *peer;
	struct sa dst;
	struct tmr tmr;
	unsigned n;
} fz;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void peer_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	(void)src;
	(void)mb;
	(void)arg;
}


static void loop_timeout(void *arg)
{
	(void)arg;

	re_cancel();
}


static int setup(void)
{
	struct sa laddr;
	int err;

	err = libre_init();
	if (err)
		return err;

	err = scenario_alloc(&fz.scn);
	if (!err)
		err = scenario_load_buf(fz.scn, "dial-a-code", dial_a_code_yaml,
					dial_a_code_yaml_len, NULL, NULL);
	if (!err)
		err = evlog_alloc(&fz.el, "/dev/null");
	if (!err)
		err = uas_alloc(&fz.uas, fz.scn, fz.el, false, NULL);
	if (err)
		return err;

	(void)sa_set_str(&laddr, "127.0.0.1", 0);

	err = uas_listen(fz.uas, SIP_TRANSP_UDP, &laddr, &fz.dst);
	if (err)
		return err;

	return udp_listen(&fz.peer, &laddr, peer_recv, NULL);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbuf *mb;

	if (!fz.uas && setup())
		abort();

	if (size > 65000)
		return 0;

	mb = mbuf_alloc(size + 1);
	if (!mb)
		return 0;

	(void)mbuf_write_mem(mb, data, size);
	mb->pos = 0;

	if (!udp_send(fz.peer, &fz.dst, mb)) {
		/* loopback delivers at once: one loop turn handles it */
		tmr_start(&fz.tmr, 1, loop_timeout, NULL);
		(void)re_main(NULL);
	}

	mem_deref(mb);

	if (++fz.n % RESET_EVERY == 0)
		uas_shutdown(fz.uas);

	return 0;
}
