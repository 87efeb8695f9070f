/**
 * @file tq.c  Timer queues: one FIFO per delay
 *
 * libre 1.1.0 keeps its timers in one sorted list, so tmr_start() with a
 * short delay walks past every longer timer (libre's own 32 s
 * transaction timers: tens of thousands under load). sipstub's delays
 * come from a few values (T1 doublings, scenario delays), and entries
 * with the same delay expire in the order they were started; so each
 * delay gets a FIFO with one libre timer for its head. Starting an entry
 * is O(1); the libre timer is re-armed once per expiry batch.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <sipstub.h>


enum {
	BATCH_MS = 2,   /* entries due this soon fire with the head */
};

struct tqueue {
	struct le le;           /* in tqs->queues */
	struct list entries;    /* struct tqent, oldest first */
	struct tmr tmr;
	uint32_t delay;
};

struct tqs {
	struct list queues;
};


static void tqueue_destructor(void *arg)
{
	struct tqueue *q = arg;
	struct le *le;

	tmr_cancel(&q->tmr);
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
}


int tqs_alloc(struct tqs **sp)
{
	struct tqs *s;

	if (!sp)
		return EINVAL;

	s = mem_zalloc(sizeof(*s), tqs_destructor);
	if (!s)
		return ENOMEM;

	*sp = s;

	return 0;
}


static void queue_arm(struct tqueue *q);


static void queue_handler(void *arg)
{
	struct tqueue *q = arg;
	uint64_t now = tmr_jiffies();
	struct le *le;

	while ((le = list_head(&q->entries))) {
		struct tqent *e = le->data;

		if (e->jfs > now + BATCH_MS)
			break;

		list_unlink(&e->le);
		e->q = NULL;
		e->h(e->arg);   /* may start or cancel entries, not free q */
	}

	queue_arm(q);
}


static void queue_arm(struct tqueue *q)
{
	const struct tqent *e = list_ledata(list_head(&q->entries));
	uint64_t now;

	if (!e) {
		tmr_cancel(&q->tmr);
		return;
	}

	if (tmr_isrunning(&q->tmr))
		return;

	now = tmr_jiffies();
	tmr_start(&q->tmr, e->jfs > now ? e->jfs - now : 0, queue_handler,
		  q);
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

	queue_arm(q);

	return 0;
}


void tq_cancel(struct tqent *e)
{
	struct tqueue *q;

	if (!e || !e->q)
		return;

	q = e->q;
	list_unlink(&e->le);
	e->q = NULL;

	if (list_isempty(&q->entries))
		tmr_cancel(&q->tmr);
}


bool tq_isrunning(const struct tqent *e)
{
	return e && e->q;
}
