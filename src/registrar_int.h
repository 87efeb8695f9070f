/**
 * @file registrar_int.h  The registrar's structs, shared by the binding
 *                        store (registrar.c) and REGISTER handling
 *                        (regmsg.c)
 *
 * Copyright (C) 2026 The sipstub authors
 */


enum {
	AOR_HASH = 1024,
	MAX_BINDINGS = 100000,   /* all AoRs together */
	MAX_CONTACTS = 32,       /* in one REGISTER */
};

struct registrar {
	struct hash *aors;       /* struct aor by canonical AoR */
	struct evlog *el;        /* set at the first REGISTER */
	uint32_t count;          /* bindings */
};

struct regcfg {
	struct registrar *reg;
	uint32_t min;            /* s, below: 423 */
	uint32_t max;            /* s, above: lowered to this */
	uint32_t dflt;           /* s, with no expires given */
};

struct aor {
	struct le he;
	struct registrar *reg;
	char *name;
	struct list bindings;
};

struct binding {
	struct le le;            /* in aor->bindings */
	struct tqent tmr;        /* expiry; tmr.jfs is when */
	struct aor *aor;
	char *uri;
	char *q;                 /* the contact's q, or NULL */
	char *instance;          /* +sip.instance, or NULL */
	uint32_t regid;          /* reg-id (RFC 5626), 0: none */
	char *path;              /* Path values (RFC 3327), or NULL */
	char *callid;
	uint32_t cseq;
};

/* One Contact of a REGISTER, decoded */
struct rcontact {
	struct sip_addr addr;
	uint32_t expires;
	struct pl instance, regid, q;
	struct binding *b;       /* the binding it matches, if any */
};

/* A REGISTER, decoded and checked before anything changes */
struct rreq {
	const struct regcfg *cfg;
	const struct sip_msg *msg;
	struct aor *aor;
	char *aorname;
	struct rcontact c[MAX_CONTACTS];
	uint32_t n;
	bool star;
	bool outbound;
	uint16_t scode;          /* != 0: rejected with this */
	const char *reason;
};


void regmsg_reject(struct rreq *rq, uint16_t scode, const char *reason);
void regmsg_check(struct rreq *rq);
void regmsg_respond(struct rreq *rq, struct uas *uas);
int  regmsg_path_join(char **pathp, const struct sip_msg *msg);
struct binding *reg_binding_match(const struct aor *aor,
				  const struct rcontact *c);
uint32_t reg_binding_left(const struct binding *b);
