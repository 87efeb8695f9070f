/**
 * @file strans.c  Server transactions (RFC 3261 17.2, RFC 6026)
 *
 * The same state machine as libre's sip_strans, with its timers on the
 * tq queues: libre's sorted timer list made each non-2xx final's timer G
 * walk past every 32 s timer H and J (perf: half of the CPU at 1000
 * calls/s). A transaction is found by its top Via's branch and sent-by
 * and its method; CANCEL and the ACK of a non-2xx find their INVITE.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>


enum state {
	TRYING,
	PROCEEDING,
	ACCEPTED,     /* RFC 6026: after a 2xx to INVITE */
	COMPLETED,
	CONFIRMED,
};

struct stranss {
	struct hash *ht;       /* by branch  */
	struct hash *ht_mrg;   /* by Call-ID, for merged requests */
	struct sip *sip;
	struct tqs *tqs;
};

struct strans {
	struct le he;
	struct le he_mrg;
	struct tqent tmr;      /* H, I, J, L: the end */
	struct tqent tmrg;     /* G: retransmit a non-2xx final */
	struct sa dst;
	struct stranss *ss;
	struct sip_msg *msg;
	struct mbuf *mb;       /* the last response */
	strans_cancel_h *cancelh;
	void *arg;
	enum state state;
	uint32_t txc;
	bool invite;
};


static void stranss_destructor(void *arg)
{
	struct stranss *ss = arg;

	hash_flush(ss->ht);
	mem_deref(ss->ht);
	mem_deref(ss->ht_mrg);
}


/**
 * Allocate the server transaction table of a SIP stack
 *
 * @param ssp  Table, set on success
 * @param sip  SIP stack that sends the responses
 * @param tqs  Timer queues
 * @param size Hash buckets (a power of two)
 *
 * @return 0 if success, otherwise errorcode
 */
int stranss_alloc(struct stranss **ssp, struct sip *sip, struct tqs *tqs,
		  uint32_t size)
{
	struct stranss *ss;
	int err;

	if (!ssp || !sip || !tqs)
		return EINVAL;

	ss = mem_zalloc(sizeof(*ss), stranss_destructor);
	if (!ss)
		return ENOMEM;

	ss->sip = sip;
	ss->tqs = tqs;

	err  = hash_alloc(&ss->ht, size);
	err |= hash_alloc(&ss->ht_mrg, size);

	if (err)
		mem_deref(ss);
	else
		*ssp = ss;

	return err;
}


static void strans_destructor(void *arg)
{
	struct strans *st = arg;

	hash_unlink(&st->he);
	hash_unlink(&st->he_mrg);
	tq_cancel(&st->tmr);
	tq_cancel(&st->tmrg);
	mem_deref(st->msg);
	mem_deref(st->mb);
}


static bool same_via(const struct sip_msg *a, const struct sip_msg *b)
{
	return !pl_cmp(&a->via.branch, &b->via.branch) &&
		!pl_cmp(&a->via.sentby, &b->via.sentby);
}


static bool cmp_handler(struct le *le, void *arg)
{
	const struct strans *st = le->data;
	const struct sip_msg *msg = arg;

	return same_via(st->msg, msg) &&
		!pl_cmp(&st->msg->cseq.met, &msg->cseq.met);
}


static bool cmp_ack_handler(struct le *le, void *arg)
{
	const struct strans *st = le->data;

	return st->invite && same_via(st->msg, arg);
}


static bool cmp_cancel_handler(struct le *le, void *arg)
{
	const struct strans *st = le->data;

	return same_via(st->msg, arg) &&
		pl_strcmp(&st->msg->cseq.met, "CANCEL");
}


/* RFC 3261 8.2.2.2: the same request again on another path */
static bool cmp_merge_handler(struct le *le, void *arg)
{
	const struct strans *st = le->data;
	const struct sip_msg *msg = arg;

	return !pl_cmp(&st->msg->cseq.met, &msg->cseq.met) &&
		st->msg->cseq.num == msg->cseq.num &&
		!pl_cmp(&st->msg->callid, &msg->callid) &&
		!pl_cmp(&st->msg->from.tag, &msg->from.tag) &&
		!pl_cmp(&st->msg->ruri, &msg->ruri);
}


static struct strans *lookup(struct stranss *ss, const struct sip_msg *msg,
			     list_apply_h *cmph)
{
	return list_ledata(hash_lookup(ss->ht,
				       hash_joaat_pl(&msg->via.branch),
				       cmph, (void *)msg));
}


static void end_handler(void *arg)
{
	mem_deref(arg);
}


/* Without its end timer a transaction would stay until exit */
static void end_start(struct strans *st, uint32_t delay)
{
	if (tq_start(st->ss->tqs, &st->tmr, delay, end_handler, st))
		mem_deref(st);
}


static int resend(const struct strans *st)
{
	return sip_send(st->ss->sip, st->msg->sock, st->msg->tp, &st->dst,
			st->mb);
}


/* Timer G: T1, doubling up to T2, until the ACK or timer H */
static void retransmit_handler(void *arg)
{
	struct strans *st = arg;

	(void)resend(st);

	st->txc++;
	(void)tq_start(st->ss->tqs, &st->tmrg,
		       MIN(SIP_T1 << MIN(st->txc, 8), SIP_T2),
		       retransmit_handler, st);
}


static bool ack_recv(struct stranss *ss, const struct sip_msg *msg)
{
	struct strans *st = lookup(ss, msg, cmp_ack_handler);

	if (!st)
		return false;

	switch (st->state) {

	case ACCEPTED:
		/* the ACK of a 2xx is the dialog's */
		return false;

	case COMPLETED:
		if ((st->msg->tp != SIP_TRANSP_UDP)) {
			mem_deref(st);
			break;
		}

		/* timer I */
		tq_cancel(&st->tmrg);
		st->state = CONFIRMED;
		end_start(st, SIP_T4);
		break;

	default:
		break;
	}

	return true;
}


static bool cancel_recv(struct stranss *ss, const struct sip_msg *msg)
{
	struct strans *st = lookup(ss, msg, cmp_cancel_handler);

	if (!st)
		return false;

	/* the 200 carries the To-tag of the INVITE's responses */
	((struct sip_msg *)msg)->tag = st->msg->tag;
	(void)sip_reply(ss->sip, msg, 200, "OK");

	if ((st->state == TRYING || st->state == PROCEEDING) && st->cancelh)
		st->cancelh(st->arg);

	return true;
}


/**
 * Let the transactions see a request first: retransmissions, the ACK
 * of a non-2xx, merged requests and CANCELs that match are handled here
 *
 * @param ss  Transaction table
 * @param msg Request
 *
 * @return true if handled, false if it is a new request for the TU
 */
bool stranss_recv(struct stranss *ss, const struct sip_msg *msg)
{
	struct strans *st;

	if (!ss || !msg)
		return false;

	if (!pl_strcmp(&msg->met, "ACK"))
		return ack_recv(ss, msg);

	st = lookup(ss, msg, cmp_handler);
	if (st) {
		if (st->state == PROCEEDING || st->state == COMPLETED)
			(void)resend(st);

		return true;
	}

	if (!pl_isset(&msg->to.tag) &&
	    list_ledata(hash_lookup(ss->ht_mrg, hash_joaat_pl(&msg->callid),
				    cmp_merge_handler, (void *)msg))) {
		(void)sip_reply(ss->sip, msg, 482, "Loop Detected");
		return true;
	}

	if (!pl_strcmp(&msg->met, "CANCEL"))
		return cancel_recv(ss, msg);

	return false;
}


/**
 * Start the server transaction of a request
 *
 * @param stp     Transaction, set on success
 * @param ss      Transaction table
 * @param msg     The request
 * @param cancelh Called when a CANCEL matches before the final response
 * @param arg     Its argument
 *
 * @return 0 if success, otherwise errorcode
 */
int strans_alloc(struct strans **stp, struct stranss *ss,
		 const struct sip_msg *msg, strans_cancel_h *cancelh,
		 void *arg)
{
	struct strans *st;

	if (!stp || !ss || !msg)
		return EINVAL;

	st = mem_zalloc(sizeof(*st), strans_destructor);
	if (!st)
		return ENOMEM;

	hash_append(ss->ht, hash_joaat_pl(&msg->via.branch), &st->he, st);
	hash_append(ss->ht_mrg, hash_joaat_pl(&msg->callid), &st->he_mrg, st);

	st->ss      = ss;
	st->invite  = !pl_strcmp(&msg->met, "INVITE");
	st->msg     = mem_ref((void *)msg);
	st->state   = TRYING;
	st->cancelh = cancelh;
	st->arg     = arg;

	*stp = st;

	return 0;
}


/**
 * Send a response in a server transaction
 *
 * After a final response the table keeps the transaction (to answer
 * retransmissions) and *stp is set to NULL.
 *
 * @param stp   Transaction (NULL or *stp NULL: one is started for a
 *              final response)
 * @param ss    Transaction table
 * @param msg   The request
 * @param dst   Where the response goes
 * @param scode Its status code
 * @param mb    The response
 *
 * @return 0 if success, otherwise errorcode
 */
int strans_reply(struct strans **stp, struct stranss *ss,
		 const struct sip_msg *msg, const struct sa *dst,
		 uint16_t scode, struct mbuf *mb)
{
	struct strans *st = stp ? *stp : NULL;
	bool reliable;
	int err;

	if (!ss || !msg || !dst || !mb || (scode < 200 && !stp))
		return EINVAL;

	if (!st) {
		err = strans_alloc(&st, ss, msg, NULL, NULL);
		if (err)
			return err;
	}

	mem_deref(st->mb);
	st->mb  = mem_ref(mb);
	st->dst = *dst;

	err = resend(st);

	if (stp)
		*stp = (err || scode >= 200) ? NULL : st;

	if (err) {
		mem_deref(st);
		return err;
	}

	reliable = (st->msg->tp != SIP_TRANSP_UDP);

	if (scode < 200) {
		st->state = PROCEEDING;
	}
	else if (st->invite && scode < 300) {
		/* timer L: absorb the INVITE's retransmissions */
		st->state = ACCEPTED;
		end_start(st, 64 * SIP_T1);
	}
	else if (st->invite) {
		/* timer H, and G over UDP */
		st->state = COMPLETED;
		if (!reliable)
			(void)tq_start(ss->tqs, &st->tmrg, SIP_T1,
				       retransmit_handler, st);
		end_start(st, 64 * SIP_T1);
	}
	else if (!reliable) {
		/* timer J */
		st->state = COMPLETED;
		end_start(st, 64 * SIP_T1);
	}
	else {
		mem_deref(st);
	}

	return 0;
}
