/**
 * @file strans.c  Server transactions (RFC 3261 17.2, RFC 6026)
 *
 * The same state machine as libre's sip_strans, with its timers on the
 * tq queues: libre's sorted timer list made each non-2xx final's timer G
 * walk past every 32 s timer H and J (perf: half of the CPU at 1000
 * calls/s). A transaction is found by its top Via's branch and sent-by
 * and its method; CANCEL and the ACK of a non-2xx find their INVITE.
 * After the final response a transaction lives on for up to 32 s with
 * a copy of the few fields it is matched by, not the whole request.
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

/* What a transaction is matched by, pointing into the request or,
 * after the final response, into a copy */
struct key {
	struct pl branch, sentby, met, callid, ftag, ruri;
	uint32_t cseq;
};

struct strans {
	struct le he;
	struct le he_mrg;
	struct tqent tmr;      /* H, I, J, L: the end */
	struct tqent tmrg;     /* G: retransmit a non-2xx final */
	struct sa dst;
	struct stranss *ss;
	struct sip_msg *msg;   /* the request, until the final */
	char *copy;            /* the key's text after that   */
	struct key key;
	void *sock;
	enum sip_transp tp;
	uint64_t tag;          /* msg->tag: our To-tag */
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
	mem_deref(st->copy);
	mem_deref(st->sock);
	mem_deref(st->mb);
}


static void key_set(struct key *k, const struct sip_msg *msg)
{
	k->branch = msg->via.branch;
	k->sentby = msg->via.sentby;
	k->met    = msg->met;
	k->callid = msg->callid;
	k->ftag   = msg->from.tag;
	k->ruri   = msg->ruri;
	k->cseq   = msg->cseq.num;
}


static void pl_move(struct pl *pl, char **p)
{
	if (pl->l)
		memcpy(*p, pl->p, pl->l);

	pl->p = *p;
	*p += pl->l;
}


/* The request goes: keep its key in one small allocation */
static int key_copy(struct strans *st)
{
	struct key *k = &st->key;
	char *p;

	st->copy = mem_alloc(k->branch.l + k->sentby.l + k->met.l +
			     k->callid.l + k->ftag.l + k->ruri.l + 1, NULL);
	if (!st->copy)
		return ENOMEM;

	p = st->copy;
	pl_move(&k->branch, &p);
	pl_move(&k->sentby, &p);
	pl_move(&k->met, &p);
	pl_move(&k->callid, &p);
	pl_move(&k->ftag, &p);
	pl_move(&k->ruri, &p);

	st->msg = mem_deref(st->msg);

	return 0;
}


static bool same_via(const struct strans *st, const struct sip_msg *msg)
{
	return !pl_cmp(&st->key.branch, &msg->via.branch) &&
		!pl_cmp(&st->key.sentby, &msg->via.sentby);
}


/* RFC 3261 17.2.3: branch, sent-by and the Request-Line method, never
 * the CSeq method (RFC 4475 3.1.2.17) */
static bool cmp_handler(struct le *le, void *arg)
{
	const struct strans *st = le->data;
	const struct sip_msg *msg = arg;

	return same_via(st, msg) && !pl_cmp(&st->key.met, &msg->met);
}


static bool cmp_ack_handler(struct le *le, void *arg)
{
	const struct strans *st = le->data;

	return st->invite && same_via(st, arg);
}


static bool cmp_cancel_handler(struct le *le, void *arg)
{
	const struct strans *st = le->data;

	return same_via(st, arg) && pl_strcmp(&st->key.met, "CANCEL");
}


/* RFC 3261 8.2.2.2: the same request again on another path */
static bool cmp_merge_handler(struct le *le, void *arg)
{
	const struct strans *st = le->data;
	const struct sip_msg *msg = arg;

	return !pl_cmp(&st->key.met, &msg->met) &&
		st->key.cseq == msg->cseq.num &&
		!pl_cmp(&st->key.callid, &msg->callid) &&
		!pl_cmp(&st->key.ftag, &msg->from.tag) &&
		!pl_cmp(&st->key.ruri, &msg->ruri);
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
	return sip_send(st->ss->sip, st->sock, st->tp, &st->dst, st->mb);
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
		if (st->tp != SIP_TRANSP_UDP) {
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
	((struct sip_msg *)msg)->tag = st->tag;
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
	st->sock    = mem_ref(msg->sock);
	st->tp      = msg->tp;
	st->tag     = msg->tag;
	key_set(&st->key, msg);
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

	/* the To-tag the request carries by now */
	st->tag = msg->tag;

	err = resend(st);
	if (!err && scode >= 200)
		err = key_copy(st);

	if (stp)
		*stp = (err || scode >= 200) ? NULL : st;

	if (err) {
		mem_deref(st);
		return err;
	}

	reliable = st->tp != SIP_TRANSP_UDP;

	if (scode < 200) {
		st->state = PROCEEDING;
	}
	else if (st->invite && scode < 300) {
		/* timer L: absorb the INVITE's retransmissions; the dialog
		 * retransmits the 2xx, not the transaction */
		st->state = ACCEPTED;
		st->mb = mem_deref(st->mb);
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
