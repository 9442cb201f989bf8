/* storage_internal.h - what storage.c and storage_s3.c share. */
#ifndef B4_STORAGE_INTERNAL_H
#define B4_STORAGE_INTERNAL_H

#include "b4/awscreds.h"
#include "b4/crypto.h"
#include "b4/storage.h"

struct b4_storage {
	enum b4_storage_backend backend;
	char *dir;
	/* s3 */
	char *bucket;
	char *base_url;		   /* "http://host:port/bucket" or "https://bucket.host" */
	char *sigv4;		   /* "aws:amz:<region>:s3" */
	struct b4_awscreds *creds; /* owned */
	long timeout_ms;
	int list_page_size;
	struct b4_keyring *ring; /* local envelope keys, or NULL */
	char *sse;		 /* s3 x-amz-server-side-encryption value */
};

/* Fills the s3 fields of st from cfg; 0, or -1 with err set. */
int b4_storage_s3_init(struct b4_storage *st, const struct b4_storage_config *cfg, char *err,
		       size_t err_cap);
int b4_storage_s3_put(struct b4_storage *st, const char *key, const void *data, size_t len,
		      const char *content_type);
int b4_storage_s3_get(struct b4_storage *st, const char *key, char **data, size_t *len);
int b4_storage_s3_exists(struct b4_storage *st, const char *key);
int b4_storage_s3_list(struct b4_storage *st, const char *prefix, char ***keys, size_t *count);

/* A growable list of malloc'd keys. */
struct b4_storage_keys {
	char **items;
	size_t count;
	size_t cap;
};
/* Appends a copy of len bytes of key; 0 or -1. */
int b4_storage_keys_add(struct b4_storage_keys *list, const char *key, size_t len);

#endif
