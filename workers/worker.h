/* worker.h - the b4-worker runtime: consumer threads claiming jobs from
 * the queue, a monitor thread (expired leases, queue gauges, the periodic
 * jobs), the sales outbox's applier thread, metrics and the graceful
 * stop. */
#ifndef WORKERS_WORKER_H
#define WORKERS_WORKER_H

#include <stdint.h>

#include "b4/service.h"

struct worker_config {
	int64_t concurrency; /* consumer threads = jobs at once */
	const char *types;   /* comma list, "" or "all" = every type */
	double lease_seconds;
	double poll_seconds;
	double backoff_scale;	  /* multiplies the default retry backoff */
	double sales_apply_every; /* the sales applier's pause once caught up; 0: none */
};

extern struct worker_config worker_config;

/* init/cleanup hooks of b4_service_main: init starts the threads (after
 * loading the handlers' settings and keys); cleanup stops claiming, lets
 * running jobs finish within drain_seconds and gives the rest back. */
int worker_runtime_init(const struct b4_settings *settings, void **app);
void worker_runtime_cleanup(void *app);

#endif
