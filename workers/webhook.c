/* webhook.c - webhook fan-out and signed delivery; see handlers.h. */
#include "handlers.h"

#include <stdio.h>

double worker_webhook_timeout = 10.0;
double worker_webhook_backoff_scale = 1.0;

int webhook_init(const struct b4_settings *settings)
{
	(void)settings;
	return 0;
}

int webhook_event_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	(void)ctx;
	(void)job;
	snprintf(err, errcap, "not implemented yet");
	return WORKER_RETRY;
}

int webhook_deliver_job(struct worker_ctx *ctx, const struct b4_job *job, char *err,
			size_t errcap)
{
	(void)ctx;
	(void)job;
	snprintf(err, errcap, "not implemented yet");
	return WORKER_RETRY;
}
