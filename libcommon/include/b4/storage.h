/* storage.h - put/get/exists/list of objects (invoices, reports).
 *
 * Two backends behind one handle:
 *   local  files under a directory (default var/objects).  A put writes a
 *          temporary file next to the target, fsyncs it and renames it over
 *          the target, so a reader sees the old object or the new one,
 *          never a partial one.
 *   s3     an S3 bucket (or any S3-compatible server) over libcurl's SigV4
 *          signer (b4_httpc_do), path-style or virtual-hosted URLs.
 *
 * Keys are 1 to 512 characters of [A-Za-z0-9._/-]: no leading or trailing
 * '/', no empty, "." or ".." segment and no segment starting with '.'
 * (the local backend keeps its temporary files there), so a key maps to
 * one file under the directory and to one URL path without escaping.
 *
 * At rest: with encryption keys the local backend stores every object in
 * an AES-256-GCM envelope (b4_crypto_seal, bound to its key) and opens it
 * transparently on get; an object written before keys were set still
 * reads as it is.  S3 puts ask for server-side encryption
 * (x-amz-server-side-encryption, AES256 unless configured otherwise).
 *
 * A handle is read-only after creation: many threads may share it.
 */
#ifndef B4_STORAGE_H
#define B4_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#define B4_STORAGE_KEY_MAX 512
/* The largest object b4_storage_get returns (a bigger one is an error). */
#define B4_STORAGE_GET_MAX ((size_t)64 * 1024 * 1024)

enum b4_storage_backend { B4_STORAGE_LOCAL, B4_STORAGE_S3 };

struct b4_storage_config {
	enum b4_storage_backend backend;
	const char *dir; /* local: root directory (created when missing) */
	/* s3 */
	const char *bucket;
	const char *endpoint;	   /* "http://127.0.0.1:4568"; NULL/"": AWS for region */
	const char *region;	   /* NULL/"": us-east-1 */
	bool path_style;	   /* endpoint/bucket/key instead of bucket.host/key */
	const char *access_key_id; /* NULL/"": the chain of b4/awscreds.h */
	const char *secret_access_key;
	const char *session_token; /* NULL/"" when none */
	long timeout_ms;	   /* per request; 0: 30000 */
	int list_page_size;	   /* ListObjectsV2 max-keys; 0: the server's (1000) */
	/* local: "id:<64 hex>[,...]" keys for the envelope at rest (the last
	 * is active; see b4_crypto_keyring_init); NULL/"": stored in clear */
	const char *encryption_keys;
	const char *s3_sse; /* s3: "AES256" (NULL/"") or "aws:kms" */
};

struct b4_storage;

/* Creates a handle (copies everything it needs from cfg).  Returns NULL
 * and writes one line naming the bad setting into err (never a secret)
 * when the configuration is incomplete or the directory cannot be made. */
struct b4_storage *b4_storage_new(const struct b4_storage_config *cfg, char *err, size_t err_cap);
void b4_storage_free(struct b4_storage *st); /* accepts NULL */

/* Creates a handle from the environment:
 *   B4_STORAGE        local (default) | s3
 *   B4_STORAGE_DIR    local directory (default var/objects)
 *   B4_S3_BUCKET      required for s3
 *   B4_S3_ENDPOINT    e.g. http://127.0.0.1:4568 (default: AWS)
 *   B4_S3_REGION      falls back to AWS_REGION, AWS_DEFAULT_REGION, us-east-1
 *   B4_S3_PATH_STYLE  true|false (default false)
 *   credentials: the chain of b4/awscreds.h (AWS_ACCESS_KEY_ID +
 *   AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN], else the ECS task role,
 *   else the EC2 instance role), fetched on first use and refreshed
 *   B4_STORAGE_KEY    local envelope keys ("id:<64 hex>[,...]" or 64 hex);
 *                     default: B4_FIELD_KEYS.  Production refuses a local
 *                     backend without either.
 *   B4_S3_SSE         AES256 (default) | aws:kms
 * Returns NULL with one line in err like b4_storage_new. */
struct b4_storage *b4_storage_from_env(char *err, size_t err_cap);

/* The process-wide handle made by b4_storage_from_env on first call (kept
 * until exit; thread-safe).  Returns NULL (and logs the reason once per
 * call) when the environment is wrong. */
struct b4_storage *b4_storage_default(void);

/* "local" or "s3". */
const char *b4_storage_backend_name(const struct b4_storage *st);

/* Is key acceptable under the rules above? */
bool b4_storage_key_is_valid(const char *key);

/* Stores len bytes under key, replacing any previous object.  content_type
 * may be NULL (application/octet-stream).  Returns 0, or -1 (logged). */
int b4_storage_put(struct b4_storage *st, const char *key, const void *data, size_t len,
		   const char *content_type);

/* Reads the object.  Returns 1 with *data (malloc'd, NUL-terminated, free()
 * it) and *len set; 0 when there is no such object; -1 on error (logged).
 * *data is NULL unless 1 is returned. */
int b4_storage_get(struct b4_storage *st, const char *key, char **data, size_t *len);

/* Returns 1 when key exists, 0 when it does not, -1 on error. */
int b4_storage_exists(struct b4_storage *st, const char *key);

/* Lists every key starting with prefix ("" for all), sorted bytewise.
 * On success *keys is a malloc'd array of *count malloc'd strings that the
 * caller frees with b4_storage_list_free.  Returns 0 or -1. */
int b4_storage_list(struct b4_storage *st, const char *prefix, char ***keys, size_t *count);
void b4_storage_list_free(char **keys, size_t count); /* accepts NULL */

#endif
