/* storage.c - object storage handle and the local directory backend; see
 * b4/storage.h.  The S3 backend is in storage_s3.c. */
#include "b4/storage.h"
#include "b4/config.h"
#include "b4/crypto.h"
#include "b4/log.h"
#include "storage_internal.h"

#include <dirent.h>
#include <openssl/crypto.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_MODE  0750
#define FILE_MODE 0640

static bool key_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == '/';
}

bool b4_storage_key_is_valid(const char *key)
{
	size_t len;
	const char *seg;

	if (!key)
		return false;
	len = strlen(key);
	if (len == 0 || len > B4_STORAGE_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!key_char_ok(key[i]))
			return false;
	/* every segment is non-empty and does not start with '.' (this also
	 * rules out ".", ".." and the local backend's ".tmp-" files) */
	seg = key;
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t seg_len = slash ? (size_t)(slash - seg) : strlen(seg);
		if (seg_len == 0 || seg[0] == '.')
			return false;
		if (!slash)
			return true;
		seg = slash + 1;
	}
}

/* A list prefix: "" or the characters a key may hold. */
static bool prefix_is_valid(const char *prefix)
{
	size_t len = strlen(prefix);

	if (len > B4_STORAGE_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!key_char_ok(prefix[i]))
			return false;
	return true;
}

int b4_storage_keys_add(struct b4_storage_keys *list, const char *key, size_t len)
{
	char *copy;

	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;
		char **items;
		if (cap > SIZE_MAX / sizeof(*items))
			return -1;
		items = realloc(list->items, cap * sizeof(*items));
		if (!items)
			return -1;
		list->items = items;
		list->cap = cap;
	}
	copy = strndup(key, len);
	if (!copy)
		return -1;
	list->items[list->count++] = copy;
	return 0;
}

void b4_storage_list_free(char **keys, size_t count)
{
	if (!keys)
		return;
	for (size_t i = 0; i < count; i++)
		free(keys[i]);
	free(keys);
}

/* ---- handle -------------------------------------------------------------- */

static int mkdir_p(const char *path, size_t len)
{
	char buf[4096];

	if (len == 0 || len >= sizeof(buf))
		return len == 0 ? 0 : -1;
	memcpy(buf, path, len);
	buf[len] = '\0';
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, DIR_MODE) < 0 && errno != EEXIST)
			return -1;
		if (i < len)
			buf[i] = '/';
	}
	return 0;
}

/* The envelope keys of the local backend, when configured. */
static int ring_setup(struct b4_storage *st, const char *keys, char *err, size_t err_cap)
{
	char why[160];

	if (!keys || !*keys)
		return 0;
	st->ring = calloc(1, sizeof(*st->ring));
	if (!st->ring || b4_crypto_keyring_init(st->ring, keys, NULL, why, sizeof(why)) < 0) {
		snprintf(err, err_cap, "B4_STORAGE_KEY: %s", st->ring ? why : "out of memory");
		return -1;
	}
	return 0;
}

struct b4_storage *b4_storage_new(const struct b4_storage_config *cfg, char *err, size_t err_cap)
{
	struct b4_storage *st = calloc(1, sizeof(*st));

	if (!st) {
		snprintf(err, err_cap, "out of memory");
		return NULL;
	}
	st->backend = cfg->backend;
	st->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
	st->list_page_size =
	    cfg->list_page_size > 0 && cfg->list_page_size <= 1000 ? cfg->list_page_size : 0;
	if (cfg->backend == B4_STORAGE_LOCAL) {
		const char *dir = cfg->dir && *cfg->dir ? cfg->dir : "var/objects";
		if (ring_setup(st, cfg->encryption_keys, err, err_cap) < 0)
			goto out_free;
		size_t len = strlen(dir);
		while (len > 1 && dir[len - 1] == '/')
			len--;
		st->dir = strndup(dir, len);
		if (!st->dir || len >= 3000) {
			snprintf(err, err_cap, "B4_STORAGE_DIR: too long");
			goto out_free;
		}
		if (mkdir_p(st->dir, len) < 0) {
			snprintf(err, err_cap, "B4_STORAGE_DIR: cannot create %s: %s", st->dir,
				 strerror(errno));
			goto out_free;
		}
		return st;
	}
	if (b4_storage_s3_init(st, cfg, err, err_cap) < 0)
		goto out_free;
	return st;

out_free:
	b4_storage_free(st);
	return NULL;
}

void b4_storage_free(struct b4_storage *st)
{
	if (!st)
		return;
	free(st->dir);
	free(st->bucket);
	free(st->base_url);
	free(st->sigv4);
	free(st->sse);
	if (st->ring) {
		b4_crypto_keyring_cleanup(st->ring);
		free(st->ring);
	}
	b4_awscreds_free(st->creds);
	free(st);
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

/* B4_STORAGE_KEY ("id:hex,..." or a bare 64-hex key), else B4_FIELD_KEYS,
 * into out; "" when neither is set. */
static void storage_keys_from_env(char *out, size_t cap)
{
	const char *own = env_or("B4_STORAGE_KEY", NULL);

	if (own && strlen(own) == 64 && !strchr(own, ':'))
		snprintf(out, cap, "s1:%s", own);
	else
		snprintf(out, cap, "%s", own ? own : env_or("B4_FIELD_KEYS", ""));
}

struct b4_storage *b4_storage_from_env(char *err, size_t err_cap)
{
	static const char *const backends[] = {"local", "s3", NULL};
	static const char *const sse_modes[] = {"AES256", "aws:kms", NULL};
	struct b4_storage_config cfg = {0};
	const char *backend = NULL;
	const char *region_default =
	    env_or("AWS_REGION", env_or("AWS_DEFAULT_REGION", "us-east-1"));
	const struct b4_config_opt opts[] = {
	    {"storage", "B4_STORAGE", B4_CFG_STR, "local", "object storage backend", &backend, 0, 0,
	     backends, false},
	    {"storage-dir", "B4_STORAGE_DIR", B4_CFG_STR, "var/objects", "local object directory",
	     &cfg.dir, 0, 0, NULL, false},
	    {"s3-bucket", "B4_S3_BUCKET", B4_CFG_STR, NULL, "S3 bucket", &cfg.bucket, 0, 0, NULL,
	     false},
	    {"s3-endpoint", "B4_S3_ENDPOINT", B4_CFG_STR, NULL, "S3 endpoint URL", &cfg.endpoint, 0,
	     0, NULL, false},
	    {"s3-region", "B4_S3_REGION", B4_CFG_STR, region_default, "S3 region", &cfg.region, 0,
	     0, NULL, false},
	    {"s3-path-style", "B4_S3_PATH_STYLE", B4_CFG_BOOL, "false",
	     "path-style S3 URLs (endpoint/bucket/key)", &cfg.path_style, 0, 0, NULL, false},
	    {"s3-sse", "B4_S3_SSE", B4_CFG_STR, "AES256", "S3 server-side encryption", &cfg.s3_sse,
	     0, 0, sse_modes, false},
	};
	char keys[256];
	FILE *errf = fmemopen(err, err_cap, "w");
	enum b4_config_result loaded;
	char *argv[] = {(char *)"storage", NULL};

	if (!errf) {
		snprintf(err, err_cap, "out of memory");
		return NULL;
	}
	/* the environment only: the binaries' own flags are not ours */
	loaded = b4_config_load("storage", opts, sizeof(opts) / sizeof(opts[0]), 1, argv, env_get,
				errf, errf);
	fclose(errf);
	if (loaded != B4_CONFIG_OK) {
		size_t len = strlen(err);
		while (len > 0 && err[len - 1] == '\n')
			err[--len] = '\0';
		return NULL;
	}
	cfg.backend = strcmp(backend, "s3") == 0 ? B4_STORAGE_S3 : B4_STORAGE_LOCAL;
	cfg.access_key_id = env_or("AWS_ACCESS_KEY_ID", NULL);
	cfg.secret_access_key = env_or("AWS_SECRET_ACCESS_KEY", NULL);
	cfg.session_token = env_or("AWS_SESSION_TOKEN", NULL);
	storage_keys_from_env(keys, sizeof(keys));
	cfg.encryption_keys = keys;
	if (cfg.backend == B4_STORAGE_LOCAL && !keys[0] &&
	    strcmp(env_or("B4_ENV", "production"), "production") == 0) {
		snprintf(err, err_cap,
			 "B4_STORAGE_KEY: required in production (or B4_FIELD_KEYS): objects are"
			 " encrypted at rest");
		return NULL;
	}
	{
		struct b4_storage *st = b4_storage_new(&cfg, err, err_cap);
		OPENSSL_cleanse(keys, sizeof(keys));
		return st;
	}
}

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static struct b4_storage *default_storage;

struct b4_storage *b4_storage_default(void)
{
	struct b4_storage *st;
	char err[256];

	pthread_mutex_lock(&default_lock);
	if (!default_storage) {
		default_storage = b4_storage_from_env(err, sizeof(err));
		if (!default_storage)
			b4_log_error("storage not configured", B4_LS("reason", err));
	}
	st = default_storage;
	pthread_mutex_unlock(&default_lock);
	return st;
}

const char *b4_storage_backend_name(const struct b4_storage *st)
{
	return st->backend == B4_STORAGE_S3 ? "s3" : "local";
}

/* ---- local backend ------------------------------------------------------- */

static int local_path(const struct b4_storage *st, const char *key, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", st->dir, key);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void fsync_dir(const char *path, size_t len)
{
	char buf[4096];
	int fd;

	if (len >= sizeof(buf))
		return;
	memcpy(buf, path, len);
	buf[len] = '\0';
	fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static int local_put(struct b4_storage *st, const char *key, const void *data, size_t len)
{
	char path[4096], tmp[4200], rnd[17];
	const char *slash;
	size_t dir_len;
	int fd;

	if (local_path(st, key, path, sizeof(path)) < 0)
		return -1;
	slash = strrchr(path, '/');
	dir_len = (size_t)(slash - path);
	if (mkdir_p(path, dir_len) < 0) {
		b4_log_error("storage: cannot create directory", B4_LS("key", key),
			     B4_LS("error", strerror(errno)));
		return -1;
	}
	if (b4_crypto_token_hex(rnd, 8) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%.*s/.tmp-%s", (int)dir_len, path, rnd);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
	if (fd < 0) {
		b4_log_error("storage: cannot create file", B4_LS("key", key),
			     B4_LS("error", strerror(errno)));
		return -1;
	}
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		b4_log_error("storage: write failed", B4_LS("key", key),
			     B4_LS("error", strerror(errno)));
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		goto out_unlink;
	}
	fd = -1;
	/* rename is atomic: readers see the old object or the whole new one */
	if (rename(tmp, path) < 0) {
		b4_log_error("storage: rename failed", B4_LS("key", key),
			     B4_LS("error", strerror(errno)));
		goto out_unlink;
	}
	fsync_dir(path, dir_len);
	return 0;

out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

static int local_get(struct b4_storage *st, const char *key, char **data, size_t *len)
{
	char path[4096];
	struct stat sb;
	char *buf;
	size_t got = 0;
	int fd;

	if (local_path(st, key, path, sizeof(path)) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return S_ISDIR(sb.st_mode) ? 0 : -1;
	}
	if ((size_t)sb.st_size > B4_STORAGE_GET_MAX) {
		b4_log_error("storage: object too large", B4_LS("key", key));
		close(fd);
		return -1;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		close(fd);
		return -1;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)sb.st_size) {
		free(buf);
		return -1;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 1;
}

static int local_exists(struct b4_storage *st, const char *key)
{
	char path[4096];
	struct stat sb;

	if (local_path(st, key, path, sizeof(path)) < 0)
		return -1;
	if (stat(path, &sb) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	return S_ISREG(sb.st_mode) ? 1 : 0;
}

/* Adds every regular file under dir/rel (rel "" or ending in '/') whose
 * key starts with prefix; entries starting with '.' are skipped. */
static int local_walk(const struct b4_storage *st, const char *rel, const char *prefix,
		      struct b4_storage_keys *out, int depth)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (depth > 64)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", st->dir, rel);
	d = opendir(path);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char key[B4_STORAGE_KEY_MAX + 2];
		struct stat sb;
		int n;

		if (e->d_name[0] == '.')
			continue;
		n = snprintf(key, sizeof(key), "%s%s", rel, e->d_name);
		if (n < 0 || (size_t)n > B4_STORAGE_KEY_MAX)
			continue;
		snprintf(path, sizeof(path), "%s/%s", st->dir, key);
		if (lstat(path, &sb) < 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			size_t plen = strlen(prefix), klen = (size_t)n;
			/* descend only where the prefix can still match */
			if (strncmp(key, prefix, klen < plen ? klen : plen) != 0)
				continue;
			if ((size_t)n + 1 > B4_STORAGE_KEY_MAX)
				continue;
			key[n] = '/';
			key[n + 1] = '\0';
			rc = local_walk(st, key, prefix, out, depth + 1);
		} else if (S_ISREG(sb.st_mode) && strncmp(key, prefix, strlen(prefix)) == 0 &&
			   b4_storage_key_is_valid(key)) {
			rc = b4_storage_keys_add(out, key, (size_t)n);
		}
	}
	closedir(d);
	return rc;
}

static int local_list(struct b4_storage *st, const char *prefix, char ***keys, size_t *count)
{
	struct b4_storage_keys list = {0};

	if (local_walk(st, "", prefix, &list, 0) < 0) {
		b4_storage_list_free(list.items, list.count);
		return -1;
	}
	*keys = list.items;
	*count = list.count;
	return 0;
}

/* ---- dispatch ------------------------------------------------------------ */

int b4_storage_put(struct b4_storage *st, const char *key, const void *data, size_t len,
		   const char *content_type)
{
	if (!st || !b4_storage_key_is_valid(key) || (!data && len))
		return -1;
	if (st->backend == B4_STORAGE_S3)
		return b4_storage_s3_put(st, key, data, len, content_type);
	if (st->ring) {
		unsigned char *sealed;
		size_t sealed_len;
		int rc;
		/* the object's key is the aad: a file moved under another
		 * name does not open */
		if (b4_crypto_seal(st->ring, data, len, key, &sealed, &sealed_len) < 0) {
			b4_log_error("storage: cannot encrypt", B4_LS("key", key));
			return -1;
		}
		rc = local_put(st, key, sealed, sealed_len);
		free(sealed);
		return rc;
	}
	return local_put(st, key, data ? data : "", len);
}

/* Opens a sealed local object in place of its envelope (objects written
 * before keys were configured are returned as they are). */
static int local_open(struct b4_storage *st, const char *key, char **data, size_t *len)
{
	char *plain;
	size_t plain_len;

	if (!b4_crypto_is_sealed(*data, *len))
		return 1;
	if (!st->ring || b4_crypto_open(st->ring, *data, *len, key, &plain, &plain_len) < 0) {
		b4_log_error("storage: cannot decrypt", B4_LS("key", key));
		free(*data);
		*data = NULL;
		*len = 0;
		return -1;
	}
	free(*data);
	*data = plain;
	*len = plain_len;
	return 1;
}

int b4_storage_get(struct b4_storage *st, const char *key, char **data, size_t *len)
{
	int rc;

	*data = NULL;
	*len = 0;
	if (!st || !b4_storage_key_is_valid(key))
		return -1;
	if (st->backend == B4_STORAGE_S3)
		return b4_storage_s3_get(st, key, data, len);
	rc = local_get(st, key, data, len);
	return rc == 1 ? local_open(st, key, data, len) : rc;
}

int b4_storage_exists(struct b4_storage *st, const char *key)
{
	if (!st || !b4_storage_key_is_valid(key))
		return -1;
	if (st->backend == B4_STORAGE_S3)
		return b4_storage_s3_exists(st, key);
	return local_exists(st, key);
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int b4_storage_list(struct b4_storage *st, const char *prefix, char ***keys, size_t *count)
{
	int rc;

	*keys = NULL;
	*count = 0;
	if (!prefix)
		prefix = "";
	if (!st || !prefix_is_valid(prefix))
		return -1;
	if (st->backend == B4_STORAGE_S3)
		rc = b4_storage_s3_list(st, prefix, keys, count);
	else
		rc = local_list(st, prefix, keys, count);
	if (rc == 0 && *count > 1)
		qsort(*keys, *count, sizeof(**keys), compare_keys);
	return rc;
}
