/* httpc.h - outbound HTTP over libcurl, safe to use from worker threads.
 *
 * Every call has explicit connect and total timeouts, never follows
 * redirects, keeps at most max_response_bytes of the body, and retries
 * transport failures (no HTTP answer at all) up to `retries` times with a
 * short growing pause - callers allow retries only when the request is
 * safe to repeat (GET/HEAD/PUT/DELETE, or one carrying an Idempotency-Key).
 * Member-supplied URLs pass a netguard policy so the connection itself is
 * checked.  For S3/SQS, aws_sigv4 turns on libcurl's SigV4 signer.
 *
 * Call b4_httpc_global_init once before threads start.
 */
#ifndef B4_HTTPC_H
#define B4_HTTPC_H

#include <stdbool.h>
#include <stddef.h>

#include "b4/netguard.h"

struct b4_httpc_request {
	const char *method; /* "GET", "POST", ... */
	const char *url;
	const char *const *headers; /* NULL-terminated "Name: value", or NULL */
	const void *body;	    /* may be NULL */
	size_t body_len;
	long connect_timeout_ms;	      /* 0: 2000 */
	long timeout_ms;		      /* 0: 10000 */
	int retries;			      /* extra attempts after a transport failure */
	size_t max_response_bytes;	      /* 0: 1 MiB; more is cut and flagged */
	const enum b4_netguard_policy *guard; /* NULL: no address policy */
	const char *aws_sigv4;		      /* e.g. "aws:amz:us-east-1:s3", or NULL */
	const char *aws_credentials;	      /* "ACCESS_KEY:SECRET" with aws_sigv4 */
	/* keep the connection open for the next request of this thread to the
	 * same host (one libcurl handle per thread); for trusted fixed
	 * endpoints such as the acquirers, never with a guard */
	bool keep_alive;
};

struct b4_httpc_response {
	long status; /* 0 when no HTTP answer came back */
	char *body;  /* NUL-terminated, malloc'd */
	size_t body_len;
	bool truncated; /* body was longer than max_response_bytes */
	char *headers;	/* raw response head, malloc'd */
	double seconds; /* total time of the last attempt */
	bool timed_out;
	bool not_sent; /* no answer, and the request never left (no connection) */
	int attempts;
	char error[256]; /* transport error text when status is 0 */
};

int b4_httpc_global_init(void);

/* Performs the request.  Returns 0 when an HTTP answer (any status) came
 * back, -1 otherwise (resp->error says why).  resp must be cleaned up with
 * b4_httpc_response_cleanup either way. */
int b4_httpc_do(const struct b4_httpc_request *req, struct b4_httpc_response *resp);
void b4_httpc_response_cleanup(struct b4_httpc_response *resp);

/* Copies the value of a response header (case-insensitive) into out;
 * returns false when absent. */
bool b4_httpc_header(const struct b4_httpc_response *resp, const char *name, char *out, size_t cap);

#endif
