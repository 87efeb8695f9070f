/**
 * @file pcap.c  --pcap: every SIP message sent and received, as pcap
 *
 * Classic libpcap format, link type LINKTYPE_RAW (an IPv4 or IPv6
 * packet per record). The IP, UDP and TCP headers are made up from the
 * real addresses; a TCP message is one PSH|ACK segment whose sequence
 * numbers advance per direction and connection, kept in a fixed table
 * (a slot taken over by another connection starts it again at 1).
 * Records are buffered and written FLUSH_MS after the first one, when
 * the buffer grows large, and on close.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/time.h>
#include <sipstub.h>

#define DEBUG_MODULE "pcap"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	FLUSH_SIZE   = 65536,
	FLUSH_MS     = 200,
	LINKTYPE_RAW = 101,
	SNAPLEN      = 262144,
	TCP_SLOTS    = 4096,
	SEG_MAX      = 65000,       /* payload bytes of one made-up packet */
	PROTO_TCP    = 6,
	PROTO_UDP    = 17,
	TCP_PSH_ACK  = 0x18,
};

/* The sequence numbers of one TCP connection, both directions */
struct tcpseq {
	struct sa a, b;              /* a: the side that sent first */
	uint32_t seq_a, seq_b;       /* next sequence number of each */
};

struct pcap {
	struct mbuf *mb;
	struct tmr tmr;
	struct tcpseq *tcp;          /* TCP_SLOTS, made at the first use */
	int fd;
};


static void pcap_destructor(void *arg)
{
	struct pcap *p = arg;

	pcap_flush(p);
	tmr_cancel(&p->tmr);
	mem_deref(p->mb);
	mem_deref(p->tcp);

	if (p->fd >= 0)
		(void)close(p->fd);
}


static void flush_handler(void *arg)
{
	pcap_flush(arg);
}


/* The pcap file header (host byte order, as libpcap writes it) */
static int file_header(struct mbuf *mb)
{
	int err;

	err  = mbuf_write_u32(mb, 0xa1b2c3d4);
	err |= mbuf_write_u16(mb, 2);
	err |= mbuf_write_u16(mb, 4);
	err |= mbuf_write_u32(mb, 0);        /* thiszone */
	err |= mbuf_write_u32(mb, 0);        /* sigfigs  */
	err |= mbuf_write_u32(mb, SNAPLEN);
	err |= mbuf_write_u32(mb, LINKTYPE_RAW);

	return err;
}


/**
 * Open a pcap file (truncated) and write its header
 *
 * @param pp   Capture, set on success
 * @param path File name
 *
 * @return 0 if success, otherwise errorcode
 */
int pcap_alloc(struct pcap **pp, const char *path)
{
	struct pcap *p;
	int err;

	if (!pp || !path)
		return EINVAL;

	p = mem_zalloc(sizeof(*p), pcap_destructor);
	if (!p)
		return ENOMEM;

	p->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (p->fd < 0) {
		err = errno;
		goto out;
	}

	p->mb = mbuf_alloc(FLUSH_SIZE);
	if (!p->mb) {
		err = ENOMEM;
		goto out;
	}

	err = file_header(p->mb);
	if (err)
		goto out;

	pcap_flush(p);

 out:
	if (err)
		mem_deref(p);
	else
		*pp = p;

	return err;
}


/**
 * Write out all buffered records
 *
 * @param p Capture
 */
void pcap_flush(struct pcap *p)
{
	const uint8_t *buf;
	size_t left;

	if (!p || !p->mb->end)
		return;

	buf = p->mb->buf;
	left = p->mb->end;

	while (left) {
		ssize_t n = write(p->fd, buf, left);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			DEBUG_WARNING("write: %m (%zu bytes lost)\n", errno,
				      left);
			break;
		}

		buf += n;
		left -= (size_t)n;
	}

	mbuf_rewind(p->mb);
}


/* One's complement sum of 16-bit big-endian words (RFC 1071) */
static uint32_t csum_add(uint32_t sum, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;

	return sum;
}


static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);

	return (uint16_t)~sum;
}


static size_t addr_len(const struct sa *sa)
{
	return sa_af(sa) == AF_INET6 ? 16 : 4;
}


static const uint8_t *addr_bytes(const struct sa *sa)
{
	/* the sockaddr_in6 behind sa_in6(), without the copy */
	if (sa_af(sa) == AF_INET6)
		return ((const struct sockaddr_in6 *)(const void *)
			&sa->u.sa)->sin6_addr.s6_addr;

	return (const uint8_t *)&sa->u.in.sin_addr.s_addr;
}


/* The checksum of a UDP or TCP header and payload, pseudo-header
 * included (RFC 768, RFC 793 3.1, RFC 8200 8.1) */
static uint16_t l4_csum(const struct sa *src, const struct sa *dst,
			uint8_t proto, const uint8_t *hdr, size_t hlen,
			const uint8_t *pl, size_t plen)
{
	uint32_t sum = 0;
	uint8_t ph[8];
	size_t len = hlen + plen;

	sum = csum_add(sum, addr_bytes(src), addr_len(src));
	sum = csum_add(sum, addr_bytes(dst), addr_len(dst));

	ph[0] = (uint8_t)(len >> 24);
	ph[1] = (uint8_t)(len >> 16);
	ph[2] = (uint8_t)(len >> 8);
	ph[3] = (uint8_t)len;
	ph[4] = ph[5] = ph[6] = 0;
	ph[7] = proto;
	sum = csum_add(sum, ph, sizeof(ph));

	/* hlen is even: the header words and the payload add up alike */
	sum = csum_add(sum, hdr, hlen);
	sum = csum_add(sum, pl, plen);

	return csum_fold(sum);
}


static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}


static void put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b + 2, (uint16_t)v);
}


/* The IPv4 or IPv6 header of a packet with plen bytes after it */
static size_t ip_header(uint8_t *h, const struct sa *src,
			const struct sa *dst, uint8_t proto, size_t plen)
{
	if (sa_af(src) == AF_INET6) {
		memset(h, 0, 40);
		h[0] = 0x60;
		put16(h + 4, (uint16_t)plen);
		h[6] = proto;
		h[7] = 64;
		memcpy(h + 8, addr_bytes(src), 16);
		memcpy(h + 24, addr_bytes(dst), 16);
		return 40;
	}

	memset(h, 0, 20);
	h[0] = 0x45;
	put16(h + 2, (uint16_t)(20 + plen));
	put16(h + 6, 0x4000);                /* don't fragment */
	h[8] = 64;
	h[9] = proto;
	memcpy(h + 12, addr_bytes(src), 4);
	memcpy(h + 16, addr_bytes(dst), 4);
	put16(h + 10, csum_fold(csum_add(0, h, 20)));

	return 20;
}


static struct tcpseq *tcp_slot(struct pcap *p, const struct sa *src,
			       const struct sa *dst, uint32_t **seqp,
			       uint32_t **ackp)
{
	struct tcpseq *s;
	uint32_t h;

	if (!p->tcp) {
		p->tcp = mem_zalloc(TCP_SLOTS * sizeof(*p->tcp), NULL);
		if (!p->tcp)
			return NULL;
	}

	/* the same slot for both directions */
	h = sa_hash(src, SA_ALL) ^ sa_hash(dst, SA_ALL);
	s = &p->tcp[h % TCP_SLOTS];

	if (sa_cmp(&s->a, src, SA_ALL) && sa_cmp(&s->b, dst, SA_ALL)) {
		*seqp = &s->seq_a;
		*ackp = &s->seq_b;
	}
	else if (sa_cmp(&s->b, src, SA_ALL) && sa_cmp(&s->a, dst, SA_ALL)) {
		*seqp = &s->seq_b;
		*ackp = &s->seq_a;
	}
	else {
		s->a = *src;
		s->b = *dst;
		s->seq_a = s->seq_b = 1;
		*seqp = &s->seq_a;
		*ackp = &s->seq_b;
	}

	return s;
}


/* One record: pcap record header, IP header, UDP or TCP header, data */
static int record(struct pcap *p, const struct timeval *tv,
		  const struct sa *src, const struct sa *dst, bool tcp,
		  uint32_t seq, uint32_t ack, const uint8_t *data,
		  size_t len)
{
	uint8_t ip[40], l4[20];
	size_t iplen, l4len = tcp ? 20 : 8;
	uint8_t proto = tcp ? PROTO_TCP : PROTO_UDP;
	uint16_t cs;
	int err;

	memset(l4, 0, sizeof(l4));
	put16(l4, sa_port(src));
	put16(l4 + 2, sa_port(dst));
	if (tcp) {
		put32(l4 + 4, seq);
		put32(l4 + 8, ack);
		l4[12] = 5 << 4;
		l4[13] = TCP_PSH_ACK;
		put16(l4 + 14, 65535);
		cs = l4_csum(src, dst, proto, l4, l4len, data, len);
		put16(l4 + 16, cs);
	}
	else {
		put16(l4 + 4, (uint16_t)(8 + len));
		cs = l4_csum(src, dst, proto, l4, l4len, data, len);
		put16(l4 + 6, cs ? cs : 0xffff);
	}

	iplen = ip_header(ip, src, dst, proto, l4len + len);

	err  = mbuf_write_u32(p->mb, (uint32_t)tv->tv_sec);
	err |= mbuf_write_u32(p->mb, (uint32_t)tv->tv_usec);
	err |= mbuf_write_u32(p->mb, (uint32_t)(iplen + l4len + len));
	err |= mbuf_write_u32(p->mb, (uint32_t)(iplen + l4len + len));
	err |= mbuf_write_mem(p->mb, ip, iplen);
	err |= mbuf_write_mem(p->mb, l4, l4len);
	err |= mbuf_write_mem(p->mb, data, len);

	return err;
}


/**
 * Write one SIP message as one packet (UDP) or segments (TCP)
 *
 * @param p   Capture, or NULL
 * @param tp  Transport
 * @param src Source address
 * @param dst Destination address
 * @param pkt The whole message
 * @param len Its length
 */
void pcap_msg(struct pcap *p, enum sip_transp tp, const struct sa *src,
	      const struct sa *dst, const uint8_t *pkt, size_t len)
{
	struct timeval tv;
	int err = 0;

	if (!p || !src || !dst || sa_af(src) != sa_af(dst))
		return;

	(void)gettimeofday(&tv, NULL);

	if (tp == SIP_TRANSP_TCP) {
		uint32_t *seq, *ack;
		size_t off = 0;

		if (!tcp_slot(p, src, dst, &seq, &ack))
			return;

		do {
			size_t n = MIN(len - off, SEG_MAX);

			err |= record(p, &tv, src, dst, true, *seq, *ack,
				      pkt + off, n);
			*seq += (uint32_t)n;
			off += n;
		} while (off < len);
	}
	else {
		err = record(p, &tv, src, dst, false, 0, 0, pkt,
			     MIN(len, SEG_MAX));
	}

	if (err)
		DEBUG_WARNING("record: %m\n", err);

	if (p->mb->end >= FLUSH_SIZE)
		pcap_flush(p);
	else if (!tmr_isrunning(&p->tmr))
		tmr_start(&p->tmr, FLUSH_MS, flush_handler, p);
}
