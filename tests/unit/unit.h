/**
 * @file unit.h  Helpers shared by the cmocka unit tests
 *
 * The checks are written like libre's retest cases: an int function that
 * returns an errno value and leaves through one 'out:' label. The TEST_*
 * macros report the failing line and value and jump there.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <sipstub.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNIT_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNIT_LSAN 1
#endif
#endif

#ifdef UNIT_LSAN
#include <sanitizer/lsan_interface.h>
#endif


#define TEST_ERR(e)							\
	do {								\
		if ((e)) {						\
			print_error("%s:%d: error %d (%s)\n",		\
				    __FILE__, __LINE__, (int)(e),	\
				    strerror((int)(e)));		\
			goto out;					\
		}							\
	} while (0)

#define TEST_EQUALS(expected, actual)					\
	do {								\
		long long e_ = (long long)(expected);			\
		long long a_ = (long long)(actual);			\
									\
		if (e_ != a_) {						\
			print_error("%s:%d: expected %lld, got %lld\n",	\
				    __FILE__, __LINE__, e_, a_);	\
			err = EINVAL;					\
			goto out;					\
		}							\
	} while (0)

#define TEST_STRCMP(expected, actual)					\
	do {								\
		if (unit_strcmp((expected), (actual))) {		\
			print_error("%s:%d: expected \"%s\", got \"%s\"\n", \
				    __FILE__, __LINE__, (expected),	\
				    (actual) ? (actual) : "(null)");	\
			err = EINVAL;					\
			goto out;					\
		}							\
	} while (0)

#define TEST_PLSTR(expected, pl)					\
	do {								\
		if (pl_strcmp((pl), (expected))) {			\
			unit_note("%s:%d: expected \"%s\", got \"%r\"\n", \
				  __FILE__, __LINE__, (expected), (pl)); \
			err = EINVAL;					\
			goto out;					\
		}							\
	} while (0)

#define TEST_ASSERT(cond)						\
	do {								\
		if (!(cond)) {						\
			print_error("%s:%d: failed: %s\n", __FILE__,	\
				    __LINE__, #cond);			\
			err = EINVAL;					\
			goto out;					\
		}							\
	} while (0)


static inline int unit_strcmp(const char *a, const char *b)
{
	if (!a || !b)
		return a != b;

	return strcmp(a, b);
}


/* cmocka's print_error() does not know %r and %J: format with libre */
static inline void unit_note(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	print_error("%s", buf);
}


static inline int unit_group_setup(void **state)
{
	(void)state;

	return libre_init();
}


static inline int unit_group_teardown(void **state)
{
	(void)state;

	libre_close();

	return 0;
}


/*
 * Per-test leak check: the mem_get_stat() block count must not grow
 * (libre built with MEM_DEBUG). Debian's libre is not, so under ASan
 * LeakSanitizer looks for unreachable blocks after each test as well.
 * A leak stays reported until exit, so only the first test is blamed.
 */
static inline size_t unit_mem_blocks(void)
{
	struct memstat st;

	if (mem_get_stat(&st))
		return 0;

	return st.blocks_cur;
}


static inline int unit_mem_setup(void **state)
{
	*state = (void *)(uintptr_t)unit_mem_blocks();

	return 0;
}


static inline int unit_mem_teardown(void **state)
{
#ifdef UNIT_LSAN
	static bool leaked;
#endif
	size_t before = (size_t)(uintptr_t)*state;

	assert_int_equal(before, unit_mem_blocks());

#ifdef UNIT_LSAN
	if (!leaked && __lsan_do_recoverable_leak_check()) {
		leaked = true;
		fail_msg("this test leaked memory (see the report above)");
	}
#endif

	return 0;
}


/* test_name(), a cmocka test running check_name() (0: passed) */
#define UNIT_WRAP(name)							\
	static void test_##name(void **s)				\
	{								\
		(void)s;						\
		assert_int_equal(0, check_##name());			\
	}

#define UNIT_TEST(name)							\
	cmocka_unit_test_setup_teardown(test_##name, unit_mem_setup,	\
					unit_mem_teardown)


/*
 * A SIP message from text. Lines end with \n here and get \r\n; the
 * message gets the given transport, source and destination.
 */
static inline int unit_msg(struct sip_msg **msgp, enum sip_transp tp,
			   const char *src, const char *dst, const char *text)
{
	struct sip_msg *msg = NULL;
	struct mbuf *mb;
	const char *p;
	int err = 0;

	mb = mbuf_alloc(1024);
	if (!mb)
		return ENOMEM;

	for (p = text; *p && !err; ++p) {
		if (*p == '\n')
			err = mbuf_write_u8(mb, '\r');
		if (!err)
			err = mbuf_write_u8(mb, (uint8_t)*p);
	}

	if (err)
		goto out;

	mb->pos = 0;
	err = sip_msg_decode(&msg, mb);
	if (err)
		goto out;

	msg->tp = tp;
	err  = sa_decode(&msg->src, src, strlen(src));
	err |= sa_decode(&msg->dst, dst, strlen(dst));
	if (err) {
		err = EINVAL;
		goto out;
	}

	*msgp = msg;
	msg = NULL;

 out:
	mem_deref(msg);
	mem_deref(mb);

	return err;
}


/*
 * A request from text, received over UDP from 192.0.2.5:6000 at
 * 127.0.0.1:5060, with the first occurrence of 'from' replaced by 'to'
 */
static inline int unit_req_edit(struct sip_msg **msgp, const char *text,
				const char *from, const char *to)
{
	const char *p = strstr(text, from);
	char *edited = NULL;
	int err;

	if (!p) {
		print_error("no \"%s\" in the request\n", from);
		return EINVAL;
	}

	err = re_sdprintf(&edited, "%b%s%s", text, (size_t)(p - text), to,
			  p + strlen(from));
	if (err)
		return err;

	err = unit_msg(msgp, SIP_TRANSP_UDP, "192.0.2.5:6000",
		       "127.0.0.1:5060", edited);
	mem_deref(edited);

	return err;
}


/*
 * Run a check in a child process, so that a crash (or a sanitizer
 * abort) fails this test and not the whole binary. Under ASan the child
 * also fails if the check leaked.
 */
static inline int unit_fork(int (*check)(void))
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);

	pid = fork();
	if (pid < 0)
		return errno;

	if (pid == 0) {
		int err;

		/* a crash ends the child: not cmocka's handlers */
		(void)signal(SIGSEGV, SIG_DFL);
		(void)signal(SIGBUS, SIG_DFL);
		(void)signal(SIGILL, SIG_DFL);
		(void)signal(SIGFPE, SIG_DFL);
		(void)signal(SIGABRT, SIG_DFL);

		err = check();

#ifdef UNIT_LSAN
		if (__lsan_do_recoverable_leak_check()) {
			print_error("the check leaked memory\n");
			err = ENOMEM;
		}
#endif
		fflush(stdout);
		fflush(stderr);
		_exit(err ? 1 : 0);
	}

	if (waitpid(pid, &status, 0) < 0)
		return errno;

	if (WIFSIGNALED(status)) {
		print_error("the check died of signal %d\n", WTERMSIG(status));
		return EFAULT;
	}

	if (WEXITSTATUS(status)) {
		print_error("the check failed or crashed (exit status %d)\n",
			    WEXITSTATUS(status));
		return EINVAL;
	}

	return 0;
}
