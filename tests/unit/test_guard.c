/**
 * @file test_guard.c  Unit tests: --limit parsing and the limit checks
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include "unit.h"


static int check_parse(void)
{
	static const char *bad[] = {
		"", "transactions", "transactions=", "transactions=0",
		"transactions=x", "transactions=-1", "transactions=1 ",
		"dialogs=123456789", "tcp-idle=0", "tcp-idle=86401",
		"nosuch=5", "=5", "Dialogs=5", "tcp=1000001",
	};
	struct guard_cfg cfg = guard_defaults;
	size_t i;
	int err = 0;

	TEST_EQUALS(0, guard_parse(&cfg, "transactions=10"));
	TEST_EQUALS(0, guard_parse(&cfg, "dialogs=20"));
	TEST_EQUALS(0, guard_parse(&cfg, "tcp=30"));
	TEST_EQUALS(0, guard_parse(&cfg, "tcp-idle=40"));
	TEST_EQUALS(0, guard_parse(&cfg, "retry-after=0"));
	TEST_EQUALS(10, cfg.max_xacts);
	TEST_EQUALS(20, cfg.max_dialogs);
	TEST_EQUALS(30, cfg.max_tcp);
	TEST_EQUALS(40, cfg.tcp_idle);
	TEST_EQUALS(0, cfg.retry_after);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct guard_cfg c = guard_defaults;

		if (guard_parse(&c, bad[i]) != EINVAL ||
		    memcmp(&c, &guard_defaults, sizeof(c))) {
			unit_note("'%s' accepted\n", bad[i]);
			err = EINVAL;
		}
	}

 out:
	return err;
}


static int check_limits(void)
{
	struct guard_cfg cfg = guard_defaults;
	struct guard *g = NULL;
	int err;

	cfg.max_xacts = 3;
	cfg.max_dialogs = 2;
	cfg.retry_after = 9;

	err = guard_alloc(&g, &cfg);
	TEST_ERR(err);

	TEST_ASSERT(guard_check(g, 2, 1, true) == NULL);
	TEST_STRCMP("transactions", guard_check(g, 3, 0, false));
	TEST_STRCMP("dialogs", guard_check(g, 0, 2, true));
	/* the dialog limit holds back INVITEs only */
	TEST_ASSERT(guard_check(g, 0, 2, false) == NULL);
	TEST_EQUALS(9, guard_retry_after(g));
	TEST_ASSERT(guard_check(NULL, 1000000, 1000000, true) == NULL);

 out:
	mem_deref(g);

	return err;
}


UNIT_WRAP(parse)
UNIT_WRAP(limits)


int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(parse),
		UNIT_TEST(limits),
	};

	return cmocka_run_group_tests(tests, unit_group_setup,
				      unit_group_teardown);
}
