/**
 * @file scenario_int.h  Scenario and rule structs, shared by the loader
 *                       (scenario.c, scn_*.c), rule matching (match.c)
 *                       and the expect: loader (expect_load.c)
 *
 * Copyright (C) 2026 The sipstub authors
 */

#include <regex.h>
#include <yaml.h>


enum {
	CALLCOUNT_TTL = 300000,   /* ms a per-Call-ID counter is kept */
	/* 300 000 counters at 1000 calls/s: chains of about 18 */
	CALLCOUNT_HASH = 16384,
	MAX_BODY = 65536,
	MAX_DIALOG = SIPSTUB_MAX_DIALOGS_EARLY,
};

enum in_dialog {
	DLG_ANY = 0,
	DLG_NO,
	DLG_YES,
};

struct scenario {
	struct list rules;
	struct registrar *reg;  /* bindings of every registrar rule */
	struct list expects;   /* struct expdef (expect_load.c) */
	uint32_t nthc;      /* rules with 'nth' */
};

struct regex {
	regex_t re;
	bool compiled;
};

struct hdrmatch {
	struct le le;
	char *name;
	const char *compact;   /* RFC 3261 7.3.3 short form, or NULL */
	struct regex *re;
};

struct callcount {
	struct le he;
	struct le le;       /* in rule->lru, oldest first */
	char *callid;
	uint32_t count;
	uint64_t used;
};

struct rule {
	struct le le;
	char *name;
	char **methods;
	size_t methodc;
	char *user;
	struct regex *user_re;
	struct list hdrm;
	enum in_dialog in_dialog;
	uint32_t nth;
	bool per_call;
	uint32_t count;
	struct hash *counts;
	struct list lru;
	struct list steps;
	bool auto100;
	bool check199;
	struct auth *auth;      /* check credentials before the steps */
	struct regcfg *reg;     /* a registrar answers REGISTER */
	struct timer_cfg *timer;   /* 'session-timer', or NULL */
};


/** The state of loading one file */
struct loader {
	struct scenario *scn;
	yaml_document_t *doc;
	const char *file;
	char *dir;
	struct list vars;      /* struct hdrval: name, value */
	scenario_err_h *errh;
	void *arg;
	unsigned nerr;
};

typedef int (loader_key_h)(struct loader *ld, void *obj, const char *key,
			   yaml_node_t *k, yaml_node_t *v);

/* scenario.c: the file, its documents and vars */
void hdrval_destructor(void *arg);

/* scn_yaml.c: YAML node helpers and scalar parsers */
void node_err(struct loader *ld, const yaml_node_t *node,
	      const char *fmt, ...);
yaml_node_t *node_get(struct loader *ld, int id);
const char *scalar(const yaml_node_t *node);
int  subst(struct loader *ld, const yaml_node_t *node, const char *in,
	   char **outp);
int  uint_parse(const char *s, uint32_t min, uint32_t max, uint32_t *vp);
int  bool_parse(const char *s, bool *vp);
int  mapping_apply(struct loader *ld, yaml_node_t *node, const char *what,
		   loader_key_h *h, void *obj);
bool key_dup(struct loader *ld, const yaml_node_t *map,
	     const yaml_node_pair_t *pair);
bool token_valid(const char *s);
bool method_valid(const char *s);

/* scn_step.c: reply steps */
int  headers_parse(struct loader *ld, const yaml_node_t *node,
		   struct list *hdrs);
int  reply_parse(struct loader *ld, yaml_node_t *node, struct list *steps);

/* scn_rule.c: rules and their match keys */
int  methods_parse(struct loader *ld, yaml_node_t *node, struct rule *rule);
int  match_key(struct loader *ld, struct rule *rule, const char *key,
	       yaml_node_t *k, yaml_node_t *v);
void rule_destructor(void *arg);
int  rule_parse(struct loader *ld, yaml_node_t *node);
int  simple_rule_parse(struct loader *ld, yaml_node_t *k, yaml_node_t *v,
		       const char *method);

/* match.c */
bool rule_criteria_match(const struct rule *rule, const struct sip_msg *msg);

/* expect_load.c */
int  expect_parse(struct loader *ld, yaml_node_t *node);


/* Scn_reqs: the 'requests' key of a step */

int  reqs_parse(struct loader *ld, yaml_node_t *node, struct list *reqs);
int  timer_cfg_parse(struct loader *ld, yaml_node_t *node,
		     struct timer_cfg **cfgp);

/* a file name relative to the scenario file's directory */
int  scn_path(struct loader *ld, const char *name, char **fullp);

/* callback.c: the step key 'callback' */
int  callback_parse(struct loader *ld, yaml_node_t *node,
		    struct cbcfg **cfgp);

/* scn_media.c: the step keys 'media' and 'srtp' */
int  scn_media_parse(struct loader *ld, yaml_node_t *node,
		     struct rtp_cfg **cfgp);
int  scn_srtp_parse(struct loader *ld, yaml_node_t *node,
		    enum srtp_use *usep);
