/**
 * @file seq.c  Dial-a-sequence: a Request-URI user C1*C2*...*Cn
 *
 * Phones dial digits and '*' only, so a reply step `user` whose user is
 * a '*'-separated list of status codes (e.g. 180*486, 183*200) sends
 * those codes in order, one second apart. The steps are made per
 * request; they share the headers and body of the rule's step.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <sipstub.h>


enum {
	SEQ_GAP = 1000,    /* ms between two codes */
	SEQ_MAX = 16,      /* codes in one sequence */
};


static void seqstep_destructor(void *arg)
{
	struct step *step = arg;

	list_unlink(&step->le);
}


/* The next element: three digits 100-699, then '*', "%2A" or the end */
static int code_next(struct pl *user, uint16_t *scodep)
{
	uint32_t sc;
	struct pl num = {user->p, 3};

	if (user->l < 3 || re_regex(num.p, num.l, "[0-9]+", NULL) ||
	    (sc = pl_u32(&num)) < 100 || sc > 699)
		return EBADMSG;

	pl_advance(user, 3);
	*scodep = (uint16_t)sc;

	if (!user->l)
		return 0;

	if (user->p[0] == '*') {
		pl_advance(user, 1);
	}
	else if (user->l >= 3 && !memcmp(user->p, "%2", 2) &&
		 (user->p[2] == 'A' || user->p[2] == 'a')) {
		pl_advance(user, 3);
	}
	else {
		return EBADMSG;
	}

	return user->l ? 0 : EBADMSG;
}


/**
 * Is a Request-URI user a sequence (at least two codes)?
 *
 * @param user Request-URI user
 *
 * @return true if it holds a '*' (or its escape)
 */
bool seq_is(const struct pl *user)
{
	return pl_strchr(user, '*') || pl_strchr(user, '%');
}


/**
 * Make the steps of a sequence
 *
 * @param steps Filled with the steps (struct step, to mem_deref with
 *              list_flush)
 * @param tmpl  The rule's `user` step: its reason is dropped (each code
 *              has its own), its other keys apply to every step
 * @param user  Request-URI user
 *
 * @return 0 if success, EBADMSG if the user is no valid sequence (every
 *         code 100-699, a final code only last), otherwise errorcode
 */
int seq_steps(struct list *steps, const struct step *tmpl,
	      const struct pl *user)
{
	struct pl rest = *user;
	bool final = false;
	unsigned n = 0;
	int err = 0;

	if (!steps || !tmpl || !user)
		return EINVAL;

	while (rest.l && !err) {
		struct step *step;
		uint16_t sc;

		err = code_next(&rest, &sc);
		if (err)
			break;

		if (final || ++n > SEQ_MAX) {
			err = EBADMSG;
			break;
		}

		final = sc >= 200;

		step = mem_zalloc(sizeof(*step), seqstep_destructor);
		if (!step) {
			err = ENOMEM;
			break;
		}

		/* shallow: the rule's step owns headers and body */
		*step = *tmpl;
		memset(&step->le, 0, sizeof(step->le));
		step->scode  = sc;
		step->reason = NULL;
		step->delay  = n == 1 ? tmpl->delay : SEQ_GAP;
		step->hangup = final && sc < 300 ? tmpl->hangup : 0;
		list_append(steps, &step->le, step);
	}

	if (!err && n < 2)
		err = EBADMSG;

	if (err)
		list_flush(steps);

	return err;
}
