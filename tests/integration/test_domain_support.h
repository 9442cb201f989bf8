/* test_domain_support.h - what the money domain's integration tests share
 * (header-only, static inline): starting the payment stack (the acquirer
 * sandbox, b4-checkout called back by it, and the other binaries a test
 * asks for) and one request helper with an optional Idempotency-Key and
 * bearer. */
#ifndef TEST_DOMAIN_SUPPORT_H
#define TEST_DOMAIN_SUPPORT_H

#include <signal.h>
#include <stdio.h>

#include "harness.h"

/* The stack a test runs against; unused members stay zero. */
struct td_stack {
	struct h_proc sandbox, checkout, api, backoffice, worker;
};

/* Starts the sandbox (secret), then b4-checkout on a known port so the
 * sandbox can call it back, then b4-api (when with_api), b4-backoffice and
 * b4-worker with worker_types.  The worker and back-office also get
 * worker_env (NULL-terminated, up to 4 entries).  0 or -1. */
static inline int td_start(struct td_stack *s, const char *db, const char *secret, bool with_api,
			   const char *worker_types, const char *const *worker_env)
{
	char acquirers[128], port[32], callback[96], key[128], types[256];
	const char *sandbox_env[] = {key, NULL};
	const char *checkout_env[] = {acquirers, key, port, callback, "B4_FRAUD_CARD_MAX=1000",
				      NULL};
	const char *env[10] = {acquirers, key, "B4_WORKER_POLL=50ms", types};
	int checkout_port = h_free_port();
	size_t n = 4;

	for (size_t i = 0; worker_env && worker_env[i] && n < 9; i++)
		env[n++] = worker_env[i];
	env[n] = NULL;
	snprintf(key, sizeof(key), "B4_ACQUIRER_SECRET=%s", secret);
	snprintf(types, sizeof(types), "B4_WORKER_TYPES=%s", worker_types);
	if (checkout_port < 0 || h_start(&s->sandbox, "b4-acquirer-sandbox", NULL, sandbox_env) < 0)
		return -1;
	snprintf(acquirers, sizeof(acquirers), "B4_ACQUIRERS=sandbox=http://127.0.0.1:%d",
		 s->sandbox.port);
	snprintf(port, sizeof(port), "B4_PORT=%d", checkout_port);
	snprintf(callback, sizeof(callback), "B4_CHECKOUT_CALLBACK_URL=http://127.0.0.1:%d",
		 checkout_port);
	if (h_start(&s->checkout, "b4-checkout", db, checkout_env) < 0 ||
	    (with_api && h_start(&s->api, "b4-api", db, NULL) < 0) ||
	    h_start(&s->backoffice, "b4-backoffice", db, env) < 0 ||
	    h_start(&s->worker, "b4-worker", db, env) < 0)
		return -1;
	return 0;
}

/* Stops whatever td_start started.  0, or -1 when one did not exit well. */
/* The co-producer of the demo's main product: a member with 20% of it. */
#define TD_COPRODUCER_ID "01900000-0000-7000-8000-0000000000c1"

/* Adds TD_COPRODUCER_ID to database db.  0 or -1. */
static inline int td_add_coproducer(const char *db)
{
	if (h_sql(db, "INSERT INTO users (id, email, password_hash, full_name, role, status)"
		      " VALUES ('" TD_COPRODUCER_ID "', 'coprodutora@example.com', 'x',"
		      " 'Carla Coprodutora', 'member', 'active')") < 0 ||
	    h_sql(db, "INSERT INTO coproducers (id, product_id, user_id, share_bps) VALUES"
		      " ('01900000-0000-7000-8000-0000000000c2',"
		      " '01900000-0000-7000-8000-000000000101', '" TD_COPRODUCER_ID "', 2000)") < 0)
		return -1;
	return 0;
}

static inline int td_stop(struct td_stack *s)
{
	struct h_proc *all[] = {&s->worker, &s->backoffice, &s->api, &s->checkout, &s->sandbox};
	int rc = 0;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i]->pid > 0 && h_stop(all[i], SIGTERM, 10000) != 0)
			rc = -1;
	return rc;
}

/* One request (JSON); key and auth ("Authorization: ...") may be NULL.
 * Fails the test when no answer comes back; returns the HTTP status.
 * (Include after <cmocka.h>.) */
static inline long call(struct h_resp *r, const char *method, const char *url, const char *body,
			const char *key, const char *auth)
{
	char key_header[300];
	const char *headers[4] = {"Content-Type: application/json", NULL, NULL, NULL};
	size_t n = 1;

	if (key) {
		snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s", key);
		headers[n++] = key_header;
	}
	if (auth)
		headers[n++] = auth;
	assert_int_equal(h_http(r, method, url, body, headers), 0);
	return r->status;
}

#endif
