/**
 * @file fuzz_scenario.c  libFuzzer target: the scenario loader
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <sipstub.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scenario *scn = NULL;

	if (scenario_alloc(&scn))
		return 0;

	(void)scenario_load_buf(scn, "fuzz.yaml", (const char *)data, size,
				NULL, NULL);
	mem_deref(scn);

	return 0;
}
