/**
 * @file rtpprobe.c  Test peer for sipstub's media: sends RTP (or SRTP
 *                   with known keys, libsrtp2) and RFC 4733 digits,
 *                   receives what comes back, prints a JSON summary
 *
 *   rtpprobe --local PORT --remote IP:PORT [--count N] [--ptime MS]
 *            [--pt PT] [--suite NAME --tx-key B64 --rx-key B64]
 *            [--forge N] [--replay N] [--dtmf DIGITS] [--linger MS]
 *            [--silent] [--seq N]
 *
 * --forge N spoils the tag of every Nth packet (sipstub must drop it);
 * --replay N sends the first N packets again at the end (replays);
 * --silent sends nothing and only listens.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <math.h>
#include <time.h>
#include <poll.h>
#include <unistd.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <srtp2/srtp.h>
#include <re.h>


enum { MAXPKT = 2048, SENT_MAX = 4096, PTS_MAX = 16 };

struct probe {
	int fd, fd_rtcp;
	struct sockaddr_in remote;
	srtp_t tx_ctx, rx_ctx;
	bool srtp;
	int count, ptime, pt, forge, replay, linger, seq;
	bool silent;
	const char *dtmf;
	uint8_t (*sent)[160];    /* payloads sent, to match echoes */
	int nsent;
	uint8_t replays[16][MAXPKT];
	int replay_len[16];
	/* results */
	int tx, rx, rx_ok, rx_fail, rx_match, rtcp_rx, rtcp_ok;
	int pts[PTS_MAX], npts;
	uint32_t ssrcs[4];
	int nssrc;
	bool seq_ok;
	int32_t last_seq;
	double energy_tx, energy_rx;
	uint64_t samples_rx;
};


static int16_t ulaw_dec(uint8_t u)
{
	int t;

	u = ~u;
	t = ((u & 0x0f) << 3) + 0x84;
	t <<= (u & 0x70) >> 4;

	return (int16_t)((u & 0x80) ? 0x84 - t : t - 0x84);
}


static uint8_t ulaw_enc(int16_t s)
{
	int v = s, sign = 0, seg = 0;

	if (v < 0) {
		v = -v;
		sign = 0x80;
	}
	if (v > 32635)
		v = 32635;
	v += 0x84;
	while (seg < 7 && v >= (0x100 << seg))
		++seg;

	return (uint8_t)~(sign | (seg << 4) | ((v >> (seg + 3)) & 0x0f));
}


static void policy_set(srtp_policy_t *pol, const char *suite)
{
	if (!strcmp(suite, "AES_CM_128_HMAC_SHA1_32")) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol->rtp);
		srtp_crypto_policy_set_rtcp_default(&pol->rtcp);
	}
	else if (!strcmp(suite, "AEAD_AES_128_GCM")) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
	}
	else if (!strcmp(suite, "AEAD_AES_256_GCM")) {
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol->rtcp);
	}
	else {
		srtp_crypto_policy_set_rtp_default(&pol->rtp);
		srtp_crypto_policy_set_rtcp_default(&pol->rtcp);
	}
}


static int session(srtp_t *s, const char *suite, const char *b64, bool tx)
{
	uint8_t key[64];
	size_t len = sizeof(key);
	srtp_policy_t pol;

	if (base64_decode(b64, strlen(b64), key, &len))
		return EINVAL;

	memset(&pol, 0, sizeof(pol));
	policy_set(&pol, suite);
	pol.ssrc.type = tx ? ssrc_any_outbound : ssrc_any_inbound;
	pol.key = key;
	pol.window_size = 128;

	return srtp_create(s, &pol) ? EPROTO : 0;
}


static void pt_note(struct probe *p, int pt)
{
	int i;

	for (i = 0; i < p->npts; ++i)
		if (p->pts[i] == pt)
			return;
	if (p->npts < PTS_MAX)
		p->pts[p->npts++] = pt;
}


static void ssrc_note(struct probe *p, uint32_t ssrc)
{
	int i;

	for (i = 0; i < p->nssrc; ++i)
		if (p->ssrcs[i] == ssrc)
			return;
	if (p->nssrc < 4)
		p->ssrcs[p->nssrc++] = ssrc;
}


static void rtp_in(struct probe *p, uint8_t *b, int len)
{
	uint16_t seq;
	int i, hl, n;

	++p->rx;
	if (p->srtp && srtp_unprotect(p->rx_ctx, b, &len)) {
		++p->rx_fail;
		return;
	}
	if (len < 12 || (b[0] >> 6) != 2)
		return;

	++p->rx_ok;
	pt_note(p, b[1] & 0x7f);
	ssrc_note(p, (uint32_t)b[8] << 24 | b[9] << 16 | b[10] << 8 | b[11]);

	seq = (uint16_t)(b[2] << 8 | b[3]);
	if (p->last_seq >= 0 && seq != (uint16_t)(p->last_seq + 1))
		p->seq_ok = false;
	p->last_seq = seq;

	hl = 12 + 4 * (b[0] & 0x0f);
	n = len - hl;
	if (n <= 0)
		return;

	if ((b[1] & 0x7f) == 0) {
		for (i = 0; i < n; ++i) {
			double v = ulaw_dec(b[hl + i]);
			p->energy_rx += v * v;
		}
		p->samples_rx += n;
	}

	for (i = 0; i < p->nsent; ++i) {
		if (n == 160 && !memcmp(p->sent[i], b + hl, 160)) {
			++p->rx_match;
			break;
		}
	}
}


static void rtcp_in(struct probe *p, uint8_t *b, int len)
{
	++p->rtcp_rx;
	if (p->srtp && srtp_unprotect_rtcp(p->rx_ctx, b, &len))
		return;
	if (len >= 8 && (b[1] == 200 || b[1] == 201))
		++p->rtcp_ok;
}


static void drain(struct probe *p, int ms)
{
	struct pollfd pf[2] = {{p->fd, POLLIN, 0}, {p->fd_rtcp, POLLIN, 0}};
	uint8_t b[MAXPKT];
	struct timespec t0, t;
	int left = ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);

	while (left > 0 && poll(pf, 2, left) > 0) {
		int i;

		for (i = 0; i < 2; ++i) {
			ssize_t n;

			if (!(pf[i].revents & POLLIN))
				continue;
			n = recv(pf[i].fd, b, sizeof(b), 0);
			if (n <= 0)
				continue;
			/* RFC 5761: RTCP may come muxed */
			if (i == 1 || (n > 1 && b[1] >= 192 && b[1] <= 223))
				rtcp_in(p, b, (int)n);
			else
				rtp_in(p, b, (int)n);
		}

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
				  (t.tv_nsec - t0.tv_nsec) / 1000000);
	}
}


static void pkt_send(struct probe *p, uint8_t *b, int len, bool forge,
		     int idx)
{
	if (p->srtp) {
		if (srtp_protect(p->tx_ctx, b, &len))
			return;
		if (forge)
			b[len - 1] ^= 0x5a;
	}

	if (idx >= 0 && idx < p->replay && idx < 16) {
		memcpy(p->replays[idx], b, len);
		p->replay_len[idx] = len;
	}

	(void)sendto(p->fd, b, len, 0, (struct sockaddr *)&p->remote,
		     sizeof(p->remote));
	++p->tx;
}


static int hdr(uint8_t *b, int pt, bool m, uint16_t seq, uint32_t ts)
{
	b[0] = 0x80;
	b[1] = (uint8_t)(pt | (m ? 0x80 : 0));
	b[2] = seq >> 8;
	b[3] = seq & 0xff;
	b[4] = ts >> 24;
	b[5] = ts >> 16;
	b[6] = ts >> 8;
	b[7] = ts & 0xff;
	b[8] = 0x12;
	b[9] = 0x34;
	b[10] = 0x56;
	b[11] = 0x78;

	return 12;
}


static int digit_code(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c == '*')
		return 10;
	if (c == '#')
		return 11;
	if (c >= 'A' && c <= 'D')
		return 12 + c - 'A';
	return -1;
}


static void run(struct probe *p)
{
	uint8_t b[MAXPKT];
	uint16_t seq = (uint16_t)p->seq;
	uint32_t ts = 5000;
	int i, j;

	for (i = 0; i < p->count && !p->silent; ++i) {
		int hl = hdr(b, p->pt, i == 0, seq++, ts);

		for (j = 0; j < 160; ++j) {
			int16_t s = (int16_t)(6000 * sin(2 * M_PI * 400 *
						       (i * 160 + j) / 8000.0)
					      + (i % 7) * 13);
			b[hl + j] = ulaw_enc(s);
			p->energy_tx += (double)ulaw_dec(b[hl + j]) *
				ulaw_dec(b[hl + j]);
		}
		if (p->nsent < SENT_MAX)
			memcpy(p->sent[p->nsent++], b + hl, 160);
		ts += 160;
		pkt_send(p, b, hl + 160, p->forge && (i + 1) % p->forge == 0,
			 i);
		drain(p, p->ptime);
	}

	for (i = 0; p->dtmf && p->dtmf[i]; ++i) {
		int code = digit_code(p->dtmf[i]);

		/* RFC 4733 2.5.1: updates, then three end packets */
		for (j = 0; j < 6 && code >= 0; ++j) {
			const bool end = j >= 3;
			const uint16_t dur = end ? 800 :
				(uint16_t)(160 * (j + 1));
			int hl = hdr(b, 101, j == 0, seq++, ts);

			b[hl] = (uint8_t)code;
			b[hl + 1] = (end ? 0x80 : 0) | 10;
			b[hl + 2] = dur >> 8;
			b[hl + 3] = dur & 0xff;
			pkt_send(p, b, hl + 4, false, -1);
			drain(p, p->ptime);
		}
		ts += 1600;
	}

	for (i = 0; i < p->replay && i < 16; ++i) {
		(void)sendto(p->fd, p->replays[i], p->replay_len[i], 0,
			     (struct sockaddr *)&p->remote,
			     sizeof(p->remote));
		++p->tx;
		drain(p, p->ptime);
	}

	drain(p, p->linger);
}


static void report(const struct probe *p)
{
	int i;

	printf("{\"sent\":%d,\"recv\":%d,\"recv_ok\":%d,\"recv_fail\":%d,"
	       "\"recv_match\":%d,\"rtcp\":%d,\"rtcp_ok\":%d,\"seq_ok\":%s,"
	       "\"energy_tx\":%.1f,\"energy_rx\":%.1f,\"samples_rx\":%llu,"
	       "\"pts\":[", p->tx, p->rx, p->rx_ok, p->rx_fail, p->rx_match,
	       p->rtcp_rx, p->rtcp_ok, p->seq_ok ? "true" : "false",
	       p->energy_tx, p->energy_rx,
	       (unsigned long long)p->samples_rx);
	for (i = 0; i < p->npts; ++i)
		printf("%s%d", i ? "," : "", p->pts[i]);
	printf("],\"ssrcs\":[");
	for (i = 0; i < p->nssrc; ++i)
		printf("%s%u", i ? "," : "", p->ssrcs[i]);
	printf("]}\n");
}


static int sock_bind(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("bind");
		exit(2);
	}

	return fd;
}


int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"local", 1, NULL, 'l'}, {"remote", 1, NULL, 'r'},
		{"count", 1, NULL, 'n'}, {"ptime", 1, NULL, 'p'},
		{"pt", 1, NULL, 'P'}, {"suite", 1, NULL, 's'},
		{"tx-key", 1, NULL, 't'}, {"rx-key", 1, NULL, 'k'},
		{"forge", 1, NULL, 'f'}, {"replay", 1, NULL, 'R'},
		{"dtmf", 1, NULL, 'd'}, {"linger", 1, NULL, 'L'},
		{"silent", 0, NULL, 'S'}, {"seq", 1, NULL, 'q'},
		{NULL, 0, NULL, 0}
	};
	static struct probe p;
	const char *suite = NULL, *txk = NULL, *rxk = NULL;
	char host[64] = "127.0.0.1";
	int c, local = 0, rport = 0;

	p.count = 50;
	p.ptime = 20;
	p.linger = 500;
	p.seq_ok = true;
	p.seq = 1000;
	p.last_seq = -1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': local = atoi(optarg); break;
		case 'r':
			if (sscanf(optarg, "%63[^:]:%d", host, &rport) != 2)
				return 2;
			break;
		case 'n': p.count = atoi(optarg); break;
		case 'p': p.ptime = atoi(optarg); break;
		case 'P': p.pt = atoi(optarg); break;
		case 's': suite = optarg; break;
		case 't': txk = optarg; break;
		case 'k': rxk = optarg; break;
		case 'f': p.forge = atoi(optarg); break;
		case 'R': p.replay = atoi(optarg); break;
		case 'd': p.dtmf = optarg; break;
		case 'L': p.linger = atoi(optarg); break;
		case 'S': p.silent = true; break;
		case 'q': p.seq = atoi(optarg); break;
		default: return 2;
		}
	}

	if (!local || !rport)
		return 2;

	p.sent = calloc(SENT_MAX, sizeof(*p.sent));
	if (!p.sent)
		return 1;

	p.fd = sock_bind(local);
	p.fd_rtcp = sock_bind(local + 1);
	memset(&p.remote, 0, sizeof(p.remote));
	p.remote.sin_family = AF_INET;
	p.remote.sin_port = htons(rport);
	inet_pton(AF_INET, host, &p.remote.sin_addr);

	if (suite) {
		if (!txk || !rxk || srtp_init() ||
		    session(&p.tx_ctx, suite, txk, true) ||
		    session(&p.rx_ctx, suite, rxk, false)) {
			fprintf(stderr, "rtpprobe: SRTP setup failed\n");
			return 2;
		}
		p.srtp = true;
	}

	run(&p);
	report(&p);

	free(p.sent);
	close(p.fd);
	close(p.fd_rtcp);

	return 0;
}
