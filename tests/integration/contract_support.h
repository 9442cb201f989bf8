/* contract_support.h - hands recorded answers or webhook bodies to
 * web/contract/scripts/validate-responses.mjs (header-only, static inline);
 * shared by the contract tests. */
#ifndef CONTRACT_SUPPORT_H
#define CONTRACT_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

/* Runs the validator over records (an array of its records); fails the
 * test unless every one is as expected against docs/openapi.yaml. */
static inline void tc_validate(const cJSON *records)
{
	char file[2048], cmd[8192];
	char *text = cJSON_Print(records);
	FILE *f;
	int rc;

	assert_non_null(text);
	snprintf(file, sizeof(file), "%s/contract-%d-%d.json", h_var(), (int)getpid(),
		 cJSON_GetArraySize(records));
	f = fopen(file, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(text);
	snprintf(cmd, sizeof(cmd), "node '%s/web/contract/scripts/validate-responses.mjs' '%s'",
		 h_top(), file);
	rc = system(cmd);
	assert_true(WIFEXITED(rc));
	assert_int_equal(WEXITSTATUS(rc), 0);
	unlink(file);
}

#endif
