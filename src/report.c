/**
 * @file report.c  The --junit and --report files written when a run ends
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <stdio.h>
#include <sipstub.h>


static int file_print(const char *path, re_printf_h *h, const void *arg)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f)
		return errno;

	err = re_fprintf(f, "%H", h, arg) < 0 ? EIO : 0;

	if (fclose(f) && !err)
		err = errno;

	return err;
}


static int junit_print(struct re_printf *pf, const struct report *r)
{
	return expect_print_junit(pf, r->ex, (double)r->ms / 1000.0);
}


/**
 * Write the expectations' verdict as JUnit XML
 *
 * @param path File
 * @param r    The run
 *
 * @return 0 if success, otherwise errorcode
 */
int report_junit_write(const char *path, const struct report *r)
{
	if (!path || !r)
		return EINVAL;

	return file_print(path, (re_printf_h *)junit_print, r);
}


static int json_print(struct re_printf *pf, const struct report *r)
{
	int i, err = 0;

	err |= re_hprintf(pf, "{\"version\":\"%s\",\"files\":[",
			  SIPSTUB_VERSION);
	for (i = 0; i < r->filec; i++) {
		struct pl pl;

		pl_set_str(&pl, r->files[i]);
		err |= re_hprintf(pf, "%s%H", i ? "," : "", json_str_print,
				  &pl);
	}

	err |= re_hprintf(pf, "],\"duration_ms\":%llu,\"stop\":\"%s\","
			  "\"result\":\"%s\",\"expectations\":",
			  (unsigned long long)r->ms, r->stop, !r->ex ? "none" :
			  expect_passed(r->ex) ? "pass" : "fail");

	if (r->ex)
		err |= expect_print_json(pf, r->ex);
	else
		err |= re_hprintf(pf, "null");

	err |= re_hprintf(pf, ",\"calls\":");
	err |= calls_print_json(pf, r->calls, false);
	err |= re_hprintf(pf, "}\n");

	return err;
}


/**
 * Write the run as one JSON object: expectations and calls
 *
 * @param path File
 * @param r    The run
 *
 * @return 0 if success, otherwise errorcode
 */
int report_json_write(const char *path, const struct report *r)
{
	if (!path || !r)
		return EINVAL;

	return file_print(path, (re_printf_h *)json_print, r);
}
