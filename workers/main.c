/* main.c - b4-worker: queue consumers and scheduled jobs.  Its HTTP port
 * serves only /healthz, /readyz and /metrics. */
#include "handlers.h"
#include "lambda.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct b4_config_opt runtime_opts[] = {
    {"concurrency", "B4_WORKER_CONCURRENCY", B4_CFG_INT, "4",
     "jobs run at once (one consumer thread and DB connection each)", &worker_config.concurrency, 1,
     256, NULL, false},
    {"types", "B4_WORKER_TYPES", B4_CFG_STR, "all",
     "comma list of job types this process consumes (all = every type)", &worker_config.types, 0, 0,
     NULL, false},
    {"lease", "B4_WORKER_LEASE", B4_CFG_SECONDS, "60s",
     "a claimed job returns to the queue if its worker is silent this long",
     &worker_config.lease_seconds, 1, 86400, NULL, false},
    {"poll", "B4_WORKER_POLL", B4_CFG_SECONDS, "500ms", "pause of an idle consumer between claims",
     &worker_config.poll_seconds, 0, 60, NULL, false},
    {"backoff-scale", "B4_WORKER_BACKOFF_SCALE", B4_CFG_SECONDS, "1",
     "multiplies the default retry backoff (5 s doubling to 1 h; tests shrink it)",
     &worker_config.backoff_scale, 0, 1, NULL, false},
    {"sales-apply-every", "B4_SALES_APPLY_EVERY", B4_CFG_SECONDS, "250ms",
     "pause of the sales outbox's applier once caught up (0: no applier here; it runs"
     " where cron.sales_compact does)",
     &worker_config.sales_apply_every, 0, 60, NULL, false},
};

int main(int argc, char **argv)
{
	size_t nruntime = sizeof(runtime_opts) / sizeof(runtime_opts[0]);
	size_t nopts = nruntime + worker_nhandler_opts;
	struct b4_config_opt *opts = calloc(nopts, sizeof(*opts));
	struct b4_service svc = {
	    .name = "b4-worker",
	    .default_port = 8084,
	    .routes = NULL,
	    .nroutes = 0,
	    .init = worker_runtime_init,
	    .cleanup = worker_runtime_cleanup,
	};
	int rc;

	if (!opts) {
		fprintf(stderr, "b4-worker: out of memory\n");
		return 1;
	}
	memcpy(opts, runtime_opts, sizeof(runtime_opts));
	if (worker_nhandler_opts)
		memcpy(opts + nruntime, worker_handler_opts,
		       worker_nhandler_opts * sizeof(*worker_handler_opts));
	svc.extra_opts = opts;
	svc.nextra_opts = nopts;
	if (worker_lambda_requested(argc, argv))
		rc = worker_lambda_main(argc, argv, opts, nopts);
	else
		rc = b4_service_main(&svc, argc, argv);
	free(opts);
	return rc;
}
