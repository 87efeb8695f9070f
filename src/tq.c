/**
 * @file tq.c  Timer queues: one FIFO per delay, driven by a timerfd
 *
 * libre 1.1.0 keeps its timers in one sorted list and tmr_start() finds
 * the place by walking from the latest timer back: a short timer walks
 * past every longer one (libre's own 32 s transaction timers, tens of
 * thousands under load). perf showed that walk taking half of sipstub's
 * CPU time, so sipstub's timers stay out of that list.
 *
 * sipstub's delays come from a few values (T1 doublings, scenario
 * delays) and entries with the same delay expire in the order they were
 * started; so each delay gets a FIFO, and starting an entry is O(1). One
 * timerfd in the event loop is armed for the earliest queue head.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <unistd.h>
#include <sys/timerfd.h>
#include <sipstub.h>


enum {
	BATCH_MS = 2,   /* entries due this soon fire together */
};

struct tqueue {
	struct le le;           /* in tqs->queues */
	struct list entries;    /* struct tqent, oldest first */
	uint32_t delay;
};

struct tqs {
	struct list queues;
	uint64_t armed;         /* jiffies the timerfd fires at, 0: idle */
	int fd;
};


static void tqueue_destructor(void *arg)
{
	struct tqueue *q = arg;
	struct le *le;

	list_unlink(&q->le);

	while ((le = list_head(&q->entries))) {
		struct tqent *e = le->data;

		list_unlink(&e->le);
		e->q = NULL;
	}
}


static void tqs_destructor(void *arg)
{
	struct tqs *s = arg;

	list_flush(&s->queues);

	if (s->fd >= 0) {
		fd_close(s->fd);
		(void)close(s->fd);
	}
}


/* Arm the timerfd for the earliest head, unless already armed for then
 * (or within BATCH_MS after: each arming is a system call) */
static void arm(struct tqs *s, uint64_t jfs)
{
	struct itimerspec its = {{0, 0}, {0, 0}};
	uint64_t now;

	if (s->armed && s->armed <= jfs + BATCH_MS)
		return;

	now = tmr_jiffies();
	if (jfs > now) {
		its.it_value.tv_sec  = (jfs - now) / 1000;
		its.it_value.tv_nsec = (long)((jfs - now) % 1000) * 1000000;
	}
	else {
		its.it_value.tv_nsec = 1;   /* at once; 0 would disarm */
	}

	if (!timerfd_settime(s->fd, 0, &its, NULL))
		s->armed = jfs;
}


static void expire_handler(int flags, void *arg)
{
	struct tqs *s = arg;
	uint64_t n, now, next = 0;
	struct le *qle;
	(void)flags;

	if (read(s->fd, &n, sizeof(n)) < 0 && errno == EAGAIN)
		return;

	s->armed = 0;
	now = tmr_jiffies();

	LIST_FOREACH(&s->queues, qle) {
		struct tqueue *q = qle->data;
		struct le *le;

		while ((le = list_head(&q->entries))) {
			struct tqent *e = le->data;

			if (e->jfs > now + BATCH_MS)
				break;

			list_unlink(&e->le);
			e->q = NULL;
			e->h(e->arg);   /* may start or cancel entries */
		}
	}

	/* handlers may have armed it meanwhile; find the earliest head */
	LIST_FOREACH(&s->queues, qle) {
		const struct tqueue *q = qle->data;
		const struct tqent *e = list_ledata(list_head(&q->entries));

		if (e && (!next || e->jfs < next))
			next = e->jfs;
	}

	if (next)
		arm(s, next);
}


int tqs_alloc(struct tqs **sp)
{
	struct tqs *s;
	int err;

	if (!sp)
		return EINVAL;

	s = mem_zalloc(sizeof(*s), tqs_destructor);
	if (!s)
		return ENOMEM;

	s->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->fd < 0) {
		err = errno;
		goto out;
	}

	err = fd_listen(s->fd, FD_READ, expire_handler, s);

 out:
	if (err)
		mem_deref(s);
	else
		*sp = s;

	return err;
}


static struct tqueue *queue_get(struct tqs *s, uint32_t delay)
{
	struct tqueue *q;
	struct le *le;

	LIST_FOREACH(&s->queues, le) {
		q = le->data;
		if (q->delay == delay)
			return q;
	}

	q = mem_zalloc(sizeof(*q), tqueue_destructor);
	if (!q)
		return NULL;

	q->delay = delay;
	list_append(&s->queues, &q->le, q);

	return q;
}


/**
 * Start (or restart) an entry
 *
 * @param s     Queue set
 * @param e     Entry, embedded in its owner
 * @param delay ms until the handler runs
 * @param h     Handler
 * @param arg   Handler argument
 *
 * @return 0 if success, otherwise errorcode
 */
int tq_start(struct tqs *s, struct tqent *e, uint32_t delay, tmr_h *h,
	     void *arg)
{
	struct tqueue *q;

	if (!s || !e || !h)
		return EINVAL;

	tq_cancel(e);

	q = queue_get(s, delay);
	if (!q)
		return ENOMEM;

	e->jfs = tmr_jiffies() + delay;
	e->h   = h;
	e->arg = arg;
	e->q   = q;
	list_append(&q->entries, &e->le, e);

	arm(s, e->jfs);

	return 0;
}


/* A cancelled head may leave the timerfd armed: it then fires for
 * nothing, and is armed again for the real next head. */
void tq_cancel(struct tqent *e)
{
	if (!e || !e->q)
		return;

	list_unlink(&e->le);
	e->q = NULL;
}


bool tq_isrunning(const struct tqent *e)
{
	return e && e->q;
}
