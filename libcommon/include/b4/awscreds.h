/* awscreds.h - where AWS credentials come from (S3 now, SQS/DynamoDB later).
 *
 * The chain the AWS SDKs use, first match wins, decided once when the
 * provider is made:
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *      (+ AWS_SESSION_TOKEN); never expire;
 *   2. the ECS container endpoint (a Fargate task role):
 *      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI against http://169.254.170.2
 *      (B4_AWS_ECS_ENDPOINT overrides the host for tests), or
 *      AWS_CONTAINER_CREDENTIALS_FULL_URI (http only to loopback or the
 *      ECS/EKS link-local addresses; https anywhere) with the header
 *      Authorization from AWS_CONTAINER_AUTHORIZATION_TOKEN or the file
 *      named by AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
 *   3. EC2 instance metadata, IMDSv2 only (PUT /latest/api/token, then the
 *      role under /latest/meta-data/iam/security-credentials/), at
 *      http://169.254.169.254 or AWS_EC2_METADATA_SERVICE_ENDPOINT; off
 *      when AWS_EC2_METADATA_DISABLED=true.
 * Fetched credentials carry an Expiration; they are fetched again once
 * less than B4_AWSCREDS_REFRESH_SECONDS remain (or after expiry), and an
 * old set still valid is kept when a refresh fails.  The first fetch
 * happens on first use, so a task starts even before its role answers.
 *
 * A provider is shared by any number of threads (a mutex guards the
 * cached set; copies go out).  Secrets never reach a log line.
 */
#ifndef B4_AWSCREDS_H
#define B4_AWSCREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define B4_AWSCREDS_REFRESH_SECONDS 300

enum b4_awscreds_source {
	B4_AWSCREDS_ENV,
	B4_AWSCREDS_CONTAINER,
	B4_AWSCREDS_IMDS,
};

/* One set of credentials; wipe with b4_awscreds_value_cleanse. */
struct b4_awscreds_value {
	char access_key_id[129];
	char secret_access_key[129];
	char session_token[4097]; /* "" when none */
	int64_t expires_at;	  /* unix seconds; 0 = never */
};

struct b4_awscreds;

/* Makes the provider the environment describes (environ_get is getenv or
 * a test's lookup).  Returns NULL with one line naming the setting in err
 * when the environment is inconsistent (a key id without its secret, a
 * FULL_URI that is not allowed, an unreadable token file). */
struct b4_awscreds *b4_awscreds_from_env(const char *(*environ_get)(const char *), char *err,
					 size_t err_cap);
/* A provider of fixed credentials (source B4_AWSCREDS_ENV); token may be
 * NULL.  Returns NULL with err set when the key id or secret is missing. */
struct b4_awscreds *b4_awscreds_new_static(const char *key_id, const char *secret,
					   const char *token, char *err, size_t err_cap);
void b4_awscreds_free(struct b4_awscreds *creds); /* accepts NULL */

enum b4_awscreds_source b4_awscreds_source(const struct b4_awscreds *creds);
/* "environment", "container" or "imds", for logs. */
const char *b4_awscreds_source_name(const struct b4_awscreds *creds);

/* Copies current credentials into out, fetching or refreshing them first
 * when needed.  Returns 0, or -1 (logged, out zeroed) when none valid can
 * be had. */
int b4_awscreds_get(struct b4_awscreds *creds, struct b4_awscreds_value *out);

/* Number of fetches from an endpoint so far (tests and metrics). */
unsigned b4_awscreds_fetches(struct b4_awscreds *creds);

void b4_awscreds_value_cleanse(struct b4_awscreds_value *value);

#endif
