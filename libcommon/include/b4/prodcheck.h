/* prodcheck.h - settings production refuses to start with.
 *
 * With B4_ENV=production a binary stops at start-up (one line naming the
 * setting, exit status 2) on:
 *   - a development secret: a value of deploy/secrets.env.example or a
 *     placeholder word ("changeme", "placeholder", "example", ...); and for
 *     the secrets this project generates (every one but the database
 *     password, which is whatever the database was provisioned with)
 *     fewer than 16 characters or fewer than 6 distinct ones ("0000...");
 *   - an acquirer that is the sandbox: named "sandbox", a host that is
 *     loopback, unspecified or "localhost", or a host name containing
 *     "sandbox";
 *   - local object storage (production runs more than one task: objects
 *     live in S3);
 *   - b4-checkout without B4_CHECKOUT_CALLBACK_URL.
 * b4_settings_load runs the secret checks for every setting marked secret
 * plus the secrets read straight from the environment (B4_FIELD_KEYS,
 * B4_BLIND_INDEX_KEY, AWS_SECRET_ACCESS_KEY); binaries call the others
 * where they set those parts up.
 */
#ifndef B4_PRODCHECK_H
#define B4_PRODCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "b4/config.h"

struct b4_acquirers;
struct b4_storage;

/* True when value is a development or placeholder secret; generated adds
 * the length and randomness rules.  *why (static text) says which rule
 * matched.  An empty value is not judged here. */
bool b4_prodcheck_secret_is_weak(const char *value, bool generated, const char **why);

/* Checks every B4_CFG_STR option marked secret (its loaded value) and the
 * environment's own secrets.  Returns 0, or -1 after one line on err. */
int b4_prodcheck_secrets(const char *prog, const struct b4_config_opt *opts, size_t nopts,
			 const char *(*environ_get)(const char *), FILE *err);

/* True when url points at a sandbox or at this host (see above). */
bool b4_prodcheck_url_is_sandbox(const char *url);

/* -1 after one line naming setting when an acquirer of set is the sandbox. */
int b4_prodcheck_acquirers(const char *prog, const char *setting, const struct b4_acquirers *set,
			   FILE *err);

/* -1 after one line naming B4_STORAGE when st is missing or local. */
int b4_prodcheck_storage(const char *prog, const struct b4_storage *st, FILE *err);

#endif
