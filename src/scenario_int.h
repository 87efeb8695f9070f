/**
 * @file scenario_int.h  Scenario and rule structs, shared by the loader
 *                       (scenario.c) and rule matching (match.c)
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
};


/* The loader's helpers, for keys parsed outside scenario.c */
struct loader;

typedef int (scn_key_h)(struct loader *ld, void *obj, const char *key,
			yaml_node_t *k, yaml_node_t *v);

void scn_err(struct loader *ld, const yaml_node_t *node, const char *fmt,
	     ...);
const char *scn_scalar(const yaml_node_t *node);
int  scn_duration(const char *s, uint32_t *msp);
int  scn_uint(const char *s, uint32_t min, uint32_t max, uint32_t *vp);
int  scn_bool(const char *s, bool *vp);
int  scn_mapping_apply(struct loader *ld, yaml_node_t *node,
		       const char *what, scn_key_h *h, void *obj);
int  scn_path(struct loader *ld, const char *name, char **fullp);

/* scnmedia.c: the step keys 'media' and 'srtp' */
int  scn_media_parse(struct loader *ld, yaml_node_t *node,
		     struct rtp_cfg **cfgp);
int  scn_srtp_parse(struct loader *ld, yaml_node_t *node,
		    enum srtp_use *usep);
