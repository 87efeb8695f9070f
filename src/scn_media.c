/**
 * @file scn_media.c  The scenario step keys 'media' and 'srtp'
 *
 *   media: echo                        (or tone, file, silence, none)
 *   media: {mode: file, file: x.wav, loop: false, hangup-at-end: true}
 *   media: {mode: tone, tone: {freq: 425, on: 1s, off: 4s}}
 *   srtp: optional | required | refused
 *
 * A WAV file is read once, at load time.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>
#include "scenario_int.h"


struct mload {
	struct rtp_cfg *cfg;
	yaml_node_t *file;     /* the 'file' value, for errors */
	yaml_node_t *tone;
	bool has_mode;
};

static const char * const modes[] = {
	"echo", "tone", "file", "silence", "none"
};


static void cfg_destructor(void *arg)
{
	struct rtp_cfg *cfg = arg;

	mem_deref(cfg->pcm);
}


static int mode_parse(struct loader *ld, yaml_node_t *v,
		      enum rtp_mode *modep)
{
	const char *s = scalar(v);
	size_t i;

	for (i = 0; s && i < ARRAY_SIZE(modes); ++i) {
		if (!strcmp(s, modes[i])) {
			*modep = (enum rtp_mode)i;
			return 0;
		}
	}

	node_err(ld, v, "'mode' must be echo, tone, file, silence or none");

	return EBADMSG;
}


static int tone_h(struct loader *ld, void *obj, const char *key,
		  yaml_node_t *k, yaml_node_t *v)
{
	struct rtp_cfg *cfg = obj;
	const char *s = scalar(v);

	if (!strcmp(key, "freq")) {
		if (uint_parse(s, 50, 3900, &cfg->freq)) {
			node_err(ld, v, "'freq' must be 50..3900 (Hz)");
			return EBADMSG;
		}
		return 0;
	}

	if (!strcmp(key, "on") || !strcmp(key, "off")) {
		uint32_t *msp = key[1] == 'n' ? &cfg->on : &cfg->off;

		if (duration_parse(s, msp)) {
			node_err(ld, v, "bad '%s' '%s': use e.g. 1s or 400ms",
				key, s ? s : "");
			return EBADMSG;
		}
		return 0;
	}

	node_err(ld, k, "unknown tone key '%s' (expected freq, on, off)", key);

	return EBADMSG;
}


static int wav_take(struct loader *ld, yaml_node_t *v, struct rtp_cfg *cfg)
{
	const char *name = scalar(v);
	char *full = NULL;
	int err;

	if (!name || !*name) {
		node_err(ld, v, "'file' needs a WAV file name");
		return EBADMSG;
	}

	err = scn_path(ld, name, &full);
	if (err)
		return err;

	err = wav_load(full, &cfg->pcm, &cfg->pcmc);
	if (err == ENOTSUP)
		node_err(ld, v, "'%s' is not PCM, mono, 16 bit, 8 or 16 kHz",
			full);
	else if (err == EBADMSG)
		node_err(ld, v, "'%s' is not a WAV file with audio", full);
	else if (err && err != ENOMEM)
		node_err(ld, v, "cannot read '%s': %m", full, err);

	mem_deref(full);

	return err == ENOMEM ? err : err ? EBADMSG : 0;
}


static int media_h(struct loader *ld, void *obj, const char *key,
		   yaml_node_t *k, yaml_node_t *v)
{
	struct mload *ml = obj;
	struct rtp_cfg *cfg = ml->cfg;
	const char *s = scalar(v);

	if (!strcmp(key, "mode")) {
		ml->has_mode = true;
		return mode_parse(ld, v, &cfg->mode);
	}

	if (!strcmp(key, "file")) {
		ml->file = v;
		return wav_take(ld, v, cfg);
	}

	if (!strcmp(key, "tone")) {
		ml->tone = v;
		return mapping_apply(ld, v, "'tone'", tone_h, cfg);
	}

	if (!strcmp(key, "loop") || !strcmp(key, "hangup-at-end")) {
		bool *bp = key[0] == 'l' ? &cfg->loop : &cfg->hangup_end;

		if (bool_parse(s, bp)) {
			node_err(ld, v, "'%s' must be true or false", key);
			return EBADMSG;
		}
		return 0;
	}

	node_err(ld, k, "unknown media key '%s' (expected mode, file, loop, "
		"hangup-at-end, tone)", key);

	return EBADMSG;
}


/* A file without mode plays it; a mode needs what it plays */
static int media_check(struct loader *ld, yaml_node_t *node,
		       struct mload *ml)
{
	struct rtp_cfg *cfg = ml->cfg;

	if (!ml->has_mode)
		cfg->mode = ml->file ? RTP_FILE : ml->tone ? RTP_TONE :
			RTP_ECHO;

	if (cfg->mode == RTP_FILE && !ml->file) {
		node_err(ld, node, "media mode 'file' needs 'file'");
		return EBADMSG;
	}

	if (ml->file && cfg->mode != RTP_FILE) {
		node_err(ld, ml->file, "'file' only goes with mode 'file'");
		return EBADMSG;
	}

	if (ml->tone && cfg->mode != RTP_TONE) {
		node_err(ld, ml->tone, "'tone' only goes with mode 'tone'");
		return EBADMSG;
	}

	if (cfg->mode == RTP_TONE && cfg->off && !cfg->on) {
		node_err(ld, ml->tone, "a tone with 'off' needs 'on'");
		return EBADMSG;
	}

	return 0;
}


/**
 * The step key 'media': a mode name, or a mapping
 */
int scn_media_parse(struct loader *ld, yaml_node_t *node,
		    struct rtp_cfg **cfgp)
{
	struct mload ml;
	struct rtp_cfg *cfg;
	int err;

	cfg = mem_zalloc(sizeof(*cfg), cfg_destructor);
	if (!cfg)
		return ENOMEM;

	cfg->freq = 425;   /* ITU-T E.180 ring-back tone */
	mem_deref(*cfgp);
	*cfgp = cfg;

	memset(&ml, 0, sizeof(ml));
	ml.cfg = cfg;

	if (node->type == YAML_SCALAR_NODE) {
		err = mode_parse(ld, node, &cfg->mode);
		if (!err && cfg->mode == RTP_FILE) {
			node_err(ld, node, "mode 'file' needs 'file': use "
				"{file: x.wav}");
			err = EBADMSG;
		}
		return err;
	}

	err = mapping_apply(ld, node, "'media'", media_h, &ml);
	if (err)
		return err;

	return media_check(ld, node, &ml);
}


/**
 * The step key 'srtp': optional (as offered), required, refused
 */
int scn_srtp_parse(struct loader *ld, yaml_node_t *node,
		   enum srtp_use *usep)
{
	const char *s = scalar(node);

	if (s && !strcmp(s, "optional"))
		*usep = SRTP_USE_OPTIONAL;
	else if (s && !strcmp(s, "required"))
		*usep = SRTP_USE_REQUIRED;
	else if (s && !strcmp(s, "refused"))
		*usep = SRTP_USE_REFUSED;
	else {
		node_err(ld, node, "'srtp' must be optional, required or "
			"refused");
		return EBADMSG;
	}

	return 0;
}
