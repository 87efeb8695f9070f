/**
 * @file fmt.c  Numbers and addresses written straight into an mbuf
 *
 * What %u, %016llx and %J print, without libre's printf engine, which
 * took most of the instructions of a response and of an event line.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <sipstub.h>


/* "%llu" */
int fmt_dec(struct mbuf *mb, uint64_t v)
{
	char buf[20];
	size_t i = sizeof(buf);

	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);

	return mbuf_write_mem(mb, (uint8_t *)&buf[i], sizeof(buf) - i);
}


/* "%016llx" */
int fmt_hex64(struct mbuf *mb, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	char buf[16];
	size_t i;

	for (i = sizeof(buf); i > 0; --i) {
		buf[i - 1] = hex[v & 0xf];
		v >>= 4;
	}

	return mbuf_write_mem(mb, (uint8_t *)buf, sizeof(buf));
}


/* An IPv4 address as inet_ntop() writes it (glibc's uses sprintf()) */
static int ipv4_write(struct mbuf *mb, uint32_t a)
{
	char buf[15];
	size_t n = 0;
	int shift;

	for (shift = 24; shift >= 0; shift -= 8) {
		unsigned b = (a >> shift) & 0xff;

		if (b >= 100)
			buf[n++] = '0' + b / 100;
		if (b >= 10)
			buf[n++] = '0' + b / 10 % 10;
		buf[n++] = '0' + b % 10;
		if (shift)
			buf[n++] = '.';
	}

	return mbuf_write_mem(mb, (uint8_t *)buf, n);
}


/* "%j", or "%J" with the port */
int fmt_addr(struct mbuf *mb, const struct sa *sa, bool port)
{
	const int af = sa_af(sa);
	char addr[64];
	int err = 0;

	if (af == AF_INET) {
		err |= ipv4_write(mb, sa_in(sa));
	}
	else if (sa_ntop(sa, addr, sizeof(addr))) {
		return LIT_WRITE(mb, "?");
	}
	else {
		if (port && af == AF_INET6)
			err |= mbuf_write_u8(mb, '[');
		err |= mbuf_write_str(mb, addr);
		if (port && af == AF_INET6)
			err |= mbuf_write_u8(mb, ']');
	}

	if (port) {
		err |= mbuf_write_u8(mb, ':');
		err |= fmt_dec(mb, sa_port(sa));
	}

	return err;
}
