/**
 * @file expect_int.h  An expectation as loaded from a scenario file,
 *                     shared by its loader (expect_load.c) and the
 *                     checker (expect.c)
 *
 * Copyright (C) 2026 The sipstub authors
 */


enum {
	EXPECT_AFTER_MAX = 8,     /* code ranges in 'after' */
};

enum exp_kind {
	EXP_COUNT = 0,    /* a request arrives N times            */
	EXP_WITHIN,       /* ... within a time after a response   */
	EXP_NOT_BEFORE,   /* ... not sooner than this after it    */
	EXP_NEVER,        /* ... never after it                   */
	EXP_TARGET,       /* in-dialog requests go to our Contact */
};

enum exp_same {
	SAME_CALL = 0,    /* the response's Call-ID   */
	SAME_ADDRESS,     /* the client's IP address  */
	SAME_ANY,
};

enum exp_wait {
	WAIT_FIXED = 0,   /* wait_ms                                    */
	WAIT_RETRY_AFTER, /* the response's Retry-After                 */
	WAIT_EXPIRES,     /* the granted expiry (Contact or Expires)    */
};

struct code_range {
	uint16_t lo, hi;
};

struct expdef {
	struct le le;              /* in scenario->expects */
	char *name;
	char *file;                /* the scenario file, without directory */
	uint32_t line;
	enum exp_kind kind;
	struct rule *crit;         /* request: methods and match keys */
	char *desc;                /* what it says, for reports */
	uint32_t min, max;         /* EXP_COUNT */
	struct code_range after[EXPECT_AFTER_MAX];
	uint32_t afterc;
	char *after_txt;           /* 'after' as written: 183/2xx */
	char *after_met;           /* CSeq method of the response */
	uint32_t within;           /* ms, EXP_WITHIN */
	enum exp_wait wait;        /* EXP_NOT_BEFORE */
	uint32_t wait_ms;
	uint32_t wait_pct;         /* percent of the Retry-After/expiry */
	enum exp_same same;
	bool to_contact;           /* to a Contact of the response */
};


/* The checker's state (expect.c), read by the verdicts
 * (expect_verdict.c) */

enum {
	EXPECT_RING = 8,          /* message hashes kept per Call-ID */
};

struct xcall {
	struct le he;
	struct le le;             /* in ex->lru, least recently used first */
	char *callid;
	uint64_t used;
	uint32_t ring[EXPECT_RING];      /* hashes of recent messages */
	unsigned ringn;
	struct list contacts;     /* struct curi: remote targets we gave */
	uint32_t inv_cseq;        /* the INVITE with a final response */
	uint16_t inv_final;
	struct list pends;        /* struct pend of 'same: call' */
};

struct curi {
	struct le le;
	char *uri;
};

/* An obligation (within) or a window (never, not-before) */
struct pend {
	struct le le;             /* in it->pends or it->wins */
	struct le cle;            /* in call->pends ('same: call') */
	struct item *it;
	uint32_t *np;             /* the count of its list */
	struct xcall *call;       /* referenced */
	struct sa src;            /* the client */
	uint64_t t0, until;       /* until 0: never ends */
	uint32_t cseq;
	uint32_t rseq;            /* a reliable provisional's RSeq, or 0 */
	uint16_t scode;
	struct list contacts;     /* 'to: contact': those of the response */
	char *saw;                /* what came instead */
};

struct item {
	struct le le;
	struct expdef *def;       /* referenced */
	struct expect *ex;
	uint32_t seen;            /* requests that matched (count, target) */
	uint32_t due;             /* responses that 'after' names */
	uint32_t met;
	uint32_t failed;
	char *fail;               /* the first failure */
	struct list pends;        /* obligations, oldest first */
	struct list wins;         /* windows */
	uint32_t npends, nwins;
};

struct expect {
	struct list items;
	struct hash *calls;
	struct list lru;
	uint32_t ncalls;
	struct evlog *el;
	bool finished;
};


const char *expect_first_method(const struct expdef *def);

/* expect_call.c */
struct xcall *xcall_get(struct expect *ex, const struct pl *callid,
			uint64_t now);
bool xcall_dup(struct xcall *c, uint32_t h);
bool xcall_contact_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		     void *arg);
bool xcall_uri_in(const struct list *l, const struct pl *ruri);
