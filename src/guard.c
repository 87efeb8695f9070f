/**
 * @file guard.c  Resource limits: transactions, dialogs, TCP connections
 *
 * A new request over a limit gets a stateless 503 with Retry-After
 * (RFC 3261 21.5.4), which holds no memory, and an "overload" event;
 * requests inside dialogs are always served, since they end calls.
 *
 * libre 1.1.0 owns the TCP connections and shows sipstub one only when
 * a message arrives on it. Each is remembered by descriptor and socket
 * inode (never by pointer, which could dangle), swept once a second:
 * gone when the inode changed, shut down when idle too long. Shutting
 * the socket makes libre see the end of the stream and free its side.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sipstub.h>

#define DEBUG_MODULE "guard"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	SWEEP_MS = 1000,
	TCP_HASH = 1024,
};

struct guard {
	struct guard_cfg cfg;
	struct hash *conns;        /* struct conn, by descriptor */
	struct tmr tmr;
	uint32_t nconns;
};

struct conn {
	struct le he;
	struct guard *g;
	uint64_t last;             /* ms, last message */
	ino_t ino;
	int fd;
};


const struct guard_cfg guard_defaults = {
	.max_xacts   = 100000,
	.max_dialogs = 100000,
	.max_tcp     = 10000,
	.tcp_idle    = 900,
	.retry_after = 5,
};


static void conn_destructor(void *arg)
{
	struct conn *c = arg;

	hash_unlink(&c->he);
	--c->g->nconns;
}


static void guard_destructor(void *arg)
{
	struct guard *g = arg;

	tmr_cancel(&g->tmr);
	hash_flush(g->conns);
	mem_deref(g->conns);
}


static ino_t fd_ino(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) || !S_ISSOCK(st.st_mode))
		return 0;

	return st.st_ino;
}


static bool sweep_handler(struct le *le, void *arg)
{
	struct conn *c = le->data;
	uint64_t now = *(uint64_t *)arg;

	if (fd_ino(c->fd) != c->ino) {
		mem_deref(c);
		return false;
	}

	if (now - c->last >= (uint64_t)c->g->cfg.tcp_idle * 1000) {
		DEBUG_INFO("closing idle TCP connection (fd %d)\n", c->fd);
		(void)shutdown(c->fd, SHUT_RDWR);
		mem_deref(c);
	}

	return false;
}


static void sweep(void *arg)
{
	struct guard *g = arg;
	uint64_t now = tmr_jiffies();

	(void)hash_apply(g->conns, sweep_handler, &now);

	if (g->nconns)
		tmr_start(&g->tmr, SWEEP_MS, sweep, g);
}


/**
 * Allocate the resource guard
 *
 * @param gp  Guard, set on success
 * @param cfg Limits (0 means the default)
 *
 * @return 0 if success, otherwise errorcode
 */
int guard_alloc(struct guard **gp, const struct guard_cfg *cfg)
{
	struct guard *g;
	int err;

	if (!gp || !cfg)
		return EINVAL;

	g = mem_zalloc(sizeof(*g), guard_destructor);
	if (!g)
		return ENOMEM;

	g->cfg = *cfg;

	err = hash_alloc(&g->conns, TCP_HASH);
	if (err)
		mem_deref(g);
	else
		*gp = g;

	return err;
}


static struct conn *conn_find(const struct guard *g, int fd, ino_t ino)
{
	struct le *le = list_head(hash_list(g->conns, (uint32_t)fd));

	for (; le; le = le->next) {
		struct conn *c = le->data;

		if (c->fd == fd && c->ino == ino)
			return c;
	}

	return NULL;
}


/**
 * Note a message received over TCP or TLS (a TLS connection counts as
 * a TCP one)
 *
 * @param g   Guard
 * @param msg The message
 *
 * @return false if its connection is one too many (then the request is
 *         to be answered 503 and the connection closed)
 */
bool guard_tcp_msg(struct guard *g, const struct sip_msg *msg)
{
	struct tcp_conn *tc;
	struct conn *c;
	ino_t ino;
	int fd;

	if (!g || !msg ||
	    (msg->tp != SIP_TRANSP_TCP && msg->tp != SIP_TRANSP_TLS))
		return true;

	tc = sip_msg_tcpconn(msg);
	fd = tc ? tcp_conn_fd(tc) : -1;
	ino = fd_ino(fd);
	if (!ino)
		return true;

	c = conn_find(g, fd, ino);
	if (c) {
		c->last = tmr_jiffies();
		return true;
	}

	if (g->nconns >= g->cfg.max_tcp)
		return false;

	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (!c)
		return true;

	c->g    = g;
	c->fd   = fd;
	c->ino  = ino;
	c->last = tmr_jiffies();
	hash_append(g->conns, (uint32_t)fd, &c->he, c);
	++g->nconns;

	if (!tmr_isrunning(&g->tmr))
		tmr_start(&g->tmr, SWEEP_MS, sweep, g);

	return true;
}


/**
 * Close the TCP connection of a message (after the response queued on
 * it has gone out)
 *
 * @param msg The message
 */
void guard_tcp_close(const struct sip_msg *msg)
{
	struct tcp_conn *tc = sip_msg_tcpconn(msg);

	if (tc)
		(void)shutdown(tcp_conn_fd(tc), SHUT_RDWR);
}


/**
 * The limit a new request would exceed
 *
 * @param g       Guard
 * @param xacts   Transactions open now
 * @param dialogs Dialogs open now
 * @param invite  True for an INVITE
 *
 * @return Name of the limit, or NULL if the request may go on
 */
const char *guard_check(const struct guard *g, uint32_t xacts,
			uint32_t dialogs, bool invite)
{
	if (!g)
		return NULL;

	if (xacts >= g->cfg.max_xacts)
		return "transactions";

	if (invite && dialogs >= g->cfg.max_dialogs)
		return "dialogs";

	return NULL;
}


/**
 * Seconds for the Retry-After of a 503
 *
 * @param g Guard
 *
 * @return Seconds
 */
uint32_t guard_retry_after(const struct guard *g)
{
	return g ? g->cfg.retry_after : guard_defaults.retry_after;
}


/**
 * Parse one --limit NAME=VALUE into a configuration
 *
 * @param cfg  Configuration to change
 * @param spec NAME=VALUE
 *
 * @return 0 if success, otherwise EINVAL
 */
int guard_parse(struct guard_cfg *cfg, const char *spec)
{
	static const struct {
		const char *name;
		size_t off;
		uint32_t min, max;
	} lim[] = {
		{"transactions", offsetof(struct guard_cfg, max_xacts),
		 1, 10000000},
		{"dialogs",      offsetof(struct guard_cfg, max_dialogs),
		 1, 10000000},
		{"tcp",          offsetof(struct guard_cfg, max_tcp),
		 1, 1000000},
		{"tcp-idle",     offsetof(struct guard_cfg, tcp_idle),
		 1, 86400},
		{"retry-after",  offsetof(struct guard_cfg, retry_after),
		 0, 86400},
	};
	const char *eq = spec ? strchr(spec, '=') : NULL;
	struct pl name, val;
	size_t i;

	if (!eq)
		return EINVAL;

	name.p = spec;
	name.l = eq - spec;
	pl_set_str(&val, eq + 1);

	if (!val.l || val.l > 8 || strspn(val.p, "0123456789") != val.l)
		return EINVAL;

	for (i = 0; i < ARRAY_SIZE(lim); i++) {
		uint32_t v = pl_u32(&val);

		if (pl_strcmp(&name, lim[i].name))
			continue;

		if (v < lim[i].min || v > lim[i].max)
			return EINVAL;

		*(uint32_t *)(void *)((uint8_t *)cfg + lim[i].off) = v;
		return 0;
	}

	return EINVAL;
}
