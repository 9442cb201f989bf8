/* scheduled.c - order expiry, commission release, abandoned carts; see
 * handlers.h. */
#include "handlers.h"

#include <stdio.h>

double worker_abandoned_cart_delay = 3600.0;

int order_expire_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	(void)ctx;
	(void)job;
	snprintf(err, errcap, "not implemented yet");
	return WORKER_RETRY;
}

int commission_release_job(struct worker_ctx *ctx, const struct b4_job *job, char *err,
			   size_t errcap)
{
	(void)ctx;
	(void)job;
	snprintf(err, errcap, "not implemented yet");
	return WORKER_RETRY;
}

int abandoned_cart_job(struct worker_ctx *ctx, const struct b4_job *job, char *err, size_t errcap)
{
	(void)ctx;
	(void)job;
	snprintf(err, errcap, "not implemented yet");
	return WORKER_RETRY;
}
