/**
 * @file probe.c  The socket of a UDP transport, learnt from a probe
 *
 * libre 1.1.0 does not hand out the UDP socket of a SIP transport, which
 * rawrx.c needs. At start-up sipstub sends the transport an OPTIONS
 * request from a socket of its own and keeps the socket the request
 * came in on.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>

#define DEBUG_MODULE "probe"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


struct probe {
	char *callid;
	struct udp_sock *sock;     /* the transport's, once the probe is in */
};


static void probe_destructor(void *arg)
{
	struct probe *pr = arg;

	mem_deref(pr->sock);
	mem_deref(pr->callid);
}


static void probe_timeout(void *arg)
{
	(void)arg;

	re_cancel();
}


/* One probe from a new source port; waits up to wait ms for it */
static int probe_send(struct probe *pr, const struct sa *dst, uint32_t wait)
{
	struct udp_sock *ps = NULL;
	struct mbuf *mb = NULL;
	struct sa src = *dst;
	struct tmr tmr;
	int err;

	sa_set_port(&src, 0);

	err = udp_listen(&ps, &src, NULL, NULL);
	if (err)
		goto out;

	err = udp_local_get(ps, &src);
	if (err)
		goto out;

	mb = mbuf_alloc(512);
	if (!mb) {
		err = ENOMEM;
		goto out;
	}

	err = mbuf_printf(mb, "%s%J SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP %J;branch=z9hG4bK%016llx\r\n"
			  "From: <sip:probe@%J>;tag=%016llx\r\n"
			  "To: <sip:probe@%J>\r\n"
			  "Call-ID: %s\r\n"
			  "CSeq: 1 OPTIONS\r\n"
			  "Max-Forwards: 0\r\n"
			  "Content-Length: 0\r\n\r\n",
			  PROBE_RLINE, dst, &src, rand_u64(), &src, rand_u64(),
			  dst, pr->callid);
	if (err)
		goto out;

	mb->pos = 0;
	err = udp_send(ps, dst, mb);
	if (err)
		goto out;

	tmr_init(&tmr);
	tmr_start(&tmr, wait, probe_timeout, NULL);
	(void)re_main(NULL);

	/* stopped by a signal */
	if (!pr->sock && tmr_isrunning(&tmr))
		err = EINTR;

	tmr_cancel(&tmr);

 out:
	mem_deref(mb);
	mem_deref(ps);

	return err;
}


/**
 * Allocate a probe, with a Call-ID of its own
 *
 * @param prp Probe, set on success
 *
 * @return 0 if success, otherwise errorcode
 */
int probe_alloc(struct probe **prp)
{
	struct probe *pr;
	int err;

	if (!prp)
		return EINVAL;

	pr = mem_zalloc(sizeof(*pr), probe_destructor);
	if (!pr)
		return ENOMEM;

	err = re_sdprintf(&pr->callid, "sipstub-probe-%016llx", rand_u64());
	if (err)
		mem_deref(pr);
	else
		*prp = pr;

	return err;
}


/**
 * Learn a UDP transport's socket: send it a request and see where the
 * request comes in. Workers share the port, so a probe may reach
 * another worker (which drops it): try again from other source ports,
 * which hash to other sockets.
 *
 * @param pr      Probe
 * @param bound   The transport's address (any-address: loopback)
 * @param workers Processes sharing the port
 * @param usp     The socket, referenced, set on success
 *
 * @return 0 if success, ETIMEDOUT if no probe came in, else errorcode
 */
int probe_udp_sock(struct probe *pr, const struct sa *bound,
		   unsigned workers, struct udp_sock **usp)
{
	const unsigned tries = workers > 1 ? 32 * workers : 1;
	const uint32_t wait = workers > 1 ? 200 : 2000;
	struct sa dst;
	unsigned i;
	int err = 0;

	if (!pr || !bound || !usp)
		return EINVAL;

	dst = *bound;
	if (sa_is_any(&dst)) {
		(void)sa_set_str(&dst, sa_af(bound) == AF_INET6 ?
				 "::1" : "127.0.0.1", sa_port(bound));
	}

	for (i = 0; i < tries && !pr->sock && !err; i++)
		err = probe_send(pr, &dst, wait);

	if (err)
		return err;

	if (!pr->sock)
		return ETIMEDOUT;

	*usp = mem_ref(pr->sock);

	return 0;
}


/**
 * A probe request came in: if it is ours, keep the socket it came in on
 *
 * @param pr  The probe under way, or NULL
 * @param msg Request whose Request-URI is a probe's
 */
void probe_recv(struct probe *pr, const struct sip_msg *msg)
{
	if (pr && !pl_strcmp(&msg->callid, pr->callid)) {
		pr->sock = mem_ref(msg->sock);
		re_cancel();
	}
}
