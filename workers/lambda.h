/* lambda.h - b4-worker as an AWS Lambda custom runtime: the same job
 * handlers, fed by the Lambda Runtime API instead of the queue table. */
#ifndef WORKERS_LAMBDA_H
#define WORKERS_LAMBDA_H

#include <stdbool.h>
#include <stddef.h>

#include "b4/config.h"
#include "b4/service.h"

/* True when argv asks for Lambda mode (--lambda NAME or --lambda=NAME). */
bool worker_lambda_requested(int argc, char **argv);

/* The whole of `b4-worker --lambda <job type>`: loads the common settings
 * plus opts (the handlers' settings) from the environment and the rest of
 * argv, then runs worker_lambda_run.  Returns the process exit status. */
int worker_lambda_main(int argc, char **argv, const struct b4_config_opt *opts, size_t nopts);

/* Serves invocations from AWS_LAMBDA_RUNTIME_API (host:port) with the
 * handler of job type handler_name until the Runtime API goes away:
 * GET /2018-06-01/runtime/invocation/next, then POST .../response or
 * .../error.  The event is one job payload, or an SQS event whose
 * Records[].body are job payloads (answered with the partial-batch
 * {"batchItemFailures": [{"itemIdentifier": messageId}]}).  Start-up
 * problems (unknown handler, its init failing) go to /runtime/init/error.
 * Returns the exit status (1 when the Runtime API fails or init fails). */
int worker_lambda_run(const char *handler_name, const struct b4_settings *settings);

#endif
