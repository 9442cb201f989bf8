/* testjobs.c - a job type for the queue's integration tests (registered
 * only when B4_ENV=test); see handlers.h. */
#include "handlers.h"

#include <stdio.h>

int test_record_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	(void)ctx;
	(void)job;
	snprintf(err, errcap, "not implemented yet");
	return WORKER_RETRY;
}
