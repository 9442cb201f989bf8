/* Unit tests for libcommon/src/storage.c: key rules, settings, and the
 * local directory backend (atomic write, list, exists, missing keys).
 * The S3 backend is tested against a real S3-compatible server in
 * tests/integration/test_storage_s3.c. */
#include <dirent.h>
#include <stdbool.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "b4/storage.h"

static char root[256];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/b4-test-storage-%d", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

#define TEST_KEY_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* A local handle whose objects are sealed with keys (NULL: clear). */
static struct b4_storage *open_local_keys(const char *sub, const char *keys)
{
	char dir[400], err[256] = "";
	struct b4_storage_config cfg = {
	    .backend = B4_STORAGE_LOCAL, .dir = dir, .encryption_keys = keys};
	struct b4_storage *st;

	snprintf(dir, sizeof(dir), "%s/%s", root, sub);
	st = b4_storage_new(&cfg, err, sizeof(err));
	if (!st)
		fprintf(stderr, "storage: %s\n", err);
	return st;
}

/* The raw bytes of a file under root (malloc'd), *len its size. */
static char *read_raw(const char *rel, size_t *len)
{
	char path[600];
	FILE *f;
	char *buf = calloc(1, 65536);

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

static bool has_bytes(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return true;
	return false;
}

/* Objects at rest: sealed on disk, opened on get, bound to their key,
 * tampering refused, rotation keeps old objects readable, and objects
 * written before keys existed still read. */
static void test_objects_encrypted_at_rest(void **state)
{
	static const char doc[] = "<DPS><CPF>52998224725</CPF></DPS>";
	const char *k1 = "k1:" TEST_KEY_HEX;
	const char *k1k2 = "k1:" TEST_KEY_HEX
			   ",k2:ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
	struct b4_storage *st = open_local_keys("sealed", k1), *plain, *rotated;
	char *data, *raw, dst[600], src[600];
	size_t len, raw_len;
	(void)state;

	assert_non_null(st);
	assert_int_equal(b4_storage_put(st, "invoices/a.xml", doc, strlen(doc), NULL), 0);
	raw = read_raw("sealed/invoices/a.xml", &raw_len);
	assert_true(raw_len > strlen(doc));
	assert_memory_equal(raw, "B4S1", 4);
	assert_false(has_bytes(raw, raw_len, "52998224725"));
	assert_false(has_bytes(raw, raw_len, "<DPS>"));
	free(raw);
	assert_int_equal(b4_storage_get(st, "invoices/a.xml", &data, &len), 1);
	assert_int_equal(len, strlen(doc));
	assert_string_equal(data, doc);
	free(data);

	/* moved under another name, it does not open */
	snprintf(src, sizeof(src), "%s/sealed/invoices/a.xml", root);
	snprintf(dst, sizeof(dst), "%s/sealed/invoices/b.xml", root);
	assert_int_equal(link(src, dst), 0);
	assert_int_equal(b4_storage_get(st, "invoices/b.xml", &data, &len), -1);
	assert_null(data);

	/* one flipped byte is refused, never returned */
	assert_int_equal(b4_storage_put(st, "invoices/c.xml", doc, strlen(doc), NULL), 0);
	snprintf(src, sizeof(src), "%s/sealed/invoices/c.xml", root);
	{
		FILE *f = fopen(src, "r+b");
		int byte;
		assert_non_null(f);
		assert_int_equal(fseek(f, 20, SEEK_SET), 0);
		byte = fgetc(f);
		assert_true(byte != EOF);
		/* back to the same byte before writing (a read then a write
		 * needs a seek between them), and a non-zero XOR: it always
		 * changes */
		assert_int_equal(fseek(f, 20, SEEK_SET), 0);
		assert_int_equal(fputc(byte ^ 'X', f), byte ^ 'X');
		assert_int_equal(fclose(f), 0);
	}
	assert_int_equal(b4_storage_get(st, "invoices/c.xml", &data, &len), -1);

	/* after a rotation old objects still open; new ones use the new key */
	rotated = open_local_keys("sealed", k1k2);
	assert_non_null(rotated);
	assert_int_equal(b4_storage_get(rotated, "invoices/a.xml", &data, &len), 1);
	assert_string_equal(data, doc);
	free(data);
	assert_int_equal(b4_storage_put(rotated, "invoices/d.xml", doc, strlen(doc), NULL), 0);
	assert_int_equal(b4_storage_get(st, "invoices/d.xml", &data, &len), -1); /* k2 unknown */

	/* written in clear before keys were set: still readable */
	plain = open_local_keys("sealed", NULL);
	assert_non_null(plain);
	assert_int_equal(b4_storage_put(plain, "reports/old.csv", "a,b\n", 4, NULL), 0);
	assert_int_equal(b4_storage_get(st, "reports/old.csv", &data, &len), 1);
	assert_string_equal(data, "a,b\n");
	free(data);
	/* and a sealed object without keys is an error, not ciphertext */
	assert_int_equal(b4_storage_get(plain, "invoices/a.xml", &data, &len), -1);

	/* a bad key setting names itself */
	{
		char dir[400], err[256] = "";
		struct b4_storage_config cfg = {
		    .backend = B4_STORAGE_LOCAL, .dir = dir, .encryption_keys = "k1:short"};
		snprintf(dir, sizeof(dir), "%s/bad", root);
		assert_null(b4_storage_new(&cfg, err, sizeof(err)));
		assert_non_null(strstr(err, "B4_STORAGE_KEY"));
	}
	b4_storage_free(plain);
	b4_storage_free(rotated);
	b4_storage_free(st);
}

static struct b4_storage *open_local(const char *sub)
{
	return open_local_keys(sub, NULL);
}

/* Counts directory entries whose name starts with ".tmp-" under dir. */
static int count_temp_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char sub[1024];
		struct stat sb;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (strncmp(e->d_name, ".tmp-", 5) == 0)
			n++;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		if (stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
			n += count_temp_files(sub);
	}
	closedir(d);
	return n;
}

static void test_key_rules(void **state)
{
	char long_key[B4_STORAGE_KEY_MAX + 2];
	(void)state;

	assert_true(
	    b4_storage_key_is_valid("invoices/2026/01900000-0000-7000-8000-0000000000aa.xml"));
	assert_true(b4_storage_key_is_valid("reports/r_1.csv"));
	assert_true(b4_storage_key_is_valid("a"));
	assert_false(b4_storage_key_is_valid(NULL));
	assert_false(b4_storage_key_is_valid(""));
	assert_false(b4_storage_key_is_valid("/etc/passwd"));
	assert_false(b4_storage_key_is_valid("../secret"));
	assert_false(b4_storage_key_is_valid("a/../../b"));
	assert_false(b4_storage_key_is_valid("a/./b"));
	assert_false(b4_storage_key_is_valid("a//b"));
	assert_false(b4_storage_key_is_valid("a/"));
	assert_false(b4_storage_key_is_valid("a/.tmp-123"));
	assert_false(b4_storage_key_is_valid("with space"));
	assert_false(b4_storage_key_is_valid("percent%2F"));
	assert_false(b4_storage_key_is_valid("new\nline"));
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	assert_false(b4_storage_key_is_valid(long_key));
	long_key[B4_STORAGE_KEY_MAX] = '\0';
	assert_true(b4_storage_key_is_valid(long_key));
}

static void test_put_get_roundtrip_binary_and_overwrite(void **state)
{
	struct b4_storage *st = open_local("roundtrip");
	static const char bytes[] = {'a', '\0', 'b', '\n', (char)0xff, 'z'};
	char *data = NULL;
	size_t len = 0;
	(void)state;

	assert_non_null(st);
	assert_string_equal(b4_storage_backend_name(st), "local");
	assert_int_equal(b4_storage_put(st, "docs/bin/one.dat", bytes, sizeof(bytes), NULL), 0);
	assert_int_equal(b4_storage_get(st, "docs/bin/one.dat", &data, &len), 1);
	assert_int_equal(len, sizeof(bytes));
	assert_memory_equal(data, bytes, sizeof(bytes));
	assert_int_equal(data[len], '\0');
	free(data);

	/* a second put replaces the object whole */
	assert_int_equal(b4_storage_put(st, "docs/bin/one.dat", "new", 3, "text/plain"), 0);
	assert_int_equal(b4_storage_get(st, "docs/bin/one.dat", &data, &len), 1);
	assert_int_equal(len, 3);
	assert_string_equal(data, "new");
	free(data);

	/* an empty object is an object */
	assert_int_equal(b4_storage_put(st, "empty", "", 0, NULL), 0);
	assert_int_equal(b4_storage_get(st, "empty", &data, &len), 1);
	assert_int_equal(len, 0);
	free(data);

	/* invalid keys are refused, nothing is written outside the root */
	assert_int_equal(b4_storage_put(st, "../escape", "x", 1, NULL), -1);
	assert_int_equal(b4_storage_get(st, "../escape", &data, &len), -1);
	assert_null(data);
	assert_int_equal(b4_storage_exists(st, "/abs"), -1);
	{
		char outside[400];
		snprintf(outside, sizeof(outside), "%s/escape", root);
		assert_int_equal(access(outside, F_OK), -1);
	}
	b4_storage_free(st);
}

static void test_get_and_exists_of_missing_key(void **state)
{
	struct b4_storage *st = open_local("missing");
	char *data = (char *)"sentinel";
	size_t len = 99;
	(void)state;

	assert_non_null(st);
	assert_int_equal(b4_storage_get(st, "nope.txt", &data, &len), 0);
	assert_null(data);
	assert_int_equal(len, 0);
	assert_int_equal(b4_storage_get(st, "no/such/dir/file", &data, &len), 0);
	assert_int_equal(b4_storage_exists(st, "nope.txt"), 0);

	assert_int_equal(b4_storage_put(st, "dir/file", "x", 1, NULL), 0);
	assert_int_equal(b4_storage_exists(st, "dir/file"), 1);
	/* a directory is not an object, and a file is not a directory */
	assert_int_equal(b4_storage_exists(st, "dir"), 0);
	assert_int_equal(b4_storage_get(st, "dir", &data, &len), 0);
	assert_int_equal(b4_storage_get(st, "dir/file/under", &data, &len), 0);
	b4_storage_free(st);
}

static void test_list_prefix_sorted_without_temp_files(void **state)
{
	struct b4_storage *st = open_local("list");
	static const char *const keys[] = {"reports/b.csv", "invoices/2026/x.xml",
					   "reports/a.csv", "reports/sub/c.csv",
					   "reportsX.csv",  "top.txt"};
	char tmp_path[600], **found = NULL;
	size_t count = 0;
	FILE *f;
	(void)state;

	assert_non_null(st);
	assert_int_equal(b4_storage_list(st, "", &found, &count), 0);
	assert_int_equal(count, 0);
	b4_storage_list_free(found, count);

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(b4_storage_put(st, keys[i], keys[i], strlen(keys[i]), NULL), 0);
	/* a leftover temporary file of a crashed writer is not an object */
	snprintf(tmp_path, sizeof(tmp_path), "%s/list/reports/.tmp-deadbeef", root);
	f = fopen(tmp_path, "w");
	assert_non_null(f);
	fputs("partial", f);
	fclose(f);

	assert_int_equal(b4_storage_list(st, "reports/", &found, &count), 0);
	assert_int_equal(count, 3);
	assert_string_equal(found[0], "reports/a.csv");
	assert_string_equal(found[1], "reports/b.csv");
	assert_string_equal(found[2], "reports/sub/c.csv");
	b4_storage_list_free(found, count);

	/* a prefix that is not a directory boundary */
	assert_int_equal(b4_storage_list(st, "report", &found, &count), 0);
	assert_int_equal(count, 4);
	assert_string_equal(found[3], "reportsX.csv");
	b4_storage_list_free(found, count);

	assert_int_equal(b4_storage_list(st, "", &found, &count), 0);
	assert_int_equal(count, 6);
	assert_string_equal(found[0], "invoices/2026/x.xml");
	assert_string_equal(found[5], "top.txt");
	b4_storage_list_free(found, count);

	assert_int_equal(b4_storage_list(st, "nothing/here/", &found, &count), 0);
	assert_int_equal(count, 0);
	b4_storage_list_free(found, count);

	assert_int_equal(b4_storage_list(st, "bad prefix", &found, &count), -1);
	b4_storage_free(st);
}

/* ---- atomic write ---------------------------------------------------- */

#define BIG_LEN (256 * 1024)
#define ROUNDS	120

struct writer_arg {
	struct b4_storage *st;
	char *a, *b;
};

static void *writer(void *p)
{
	struct writer_arg *w = p;
	for (int i = 0; i < ROUNDS; i++)
		if (b4_storage_put(w->st, "atomic/obj", i % 2 ? w->a : w->b, BIG_LEN, NULL) < 0)
			return (void *)1;
	return NULL;
}

static void test_atomic_write_readers_never_see_partial_object(void **state)
{
	struct b4_storage *st = open_local("atomic");
	struct writer_arg w = {.st = st, .a = malloc(BIG_LEN), .b = malloc(BIG_LEN)};
	char dir[400], path[500];
	pthread_t thread;
	void *thread_rc = NULL;
	int whole_reads = 0;
	(void)state;

	assert_non_null(st);
	memset(w.a, 'A', BIG_LEN);
	memset(w.b, 'B', BIG_LEN);
	assert_int_equal(b4_storage_put(st, "atomic/obj", w.a, BIG_LEN, NULL), 0);

	/* a reader holding the old object keeps reading the old bytes */
	snprintf(path, sizeof(path), "%s/atomic/atomic/obj", root);
	{
		FILE *old = fopen(path, "rb");
		char first = 0;
		char *data = NULL;
		size_t len = 0;
		assert_non_null(old);
		assert_int_equal(b4_storage_put(st, "atomic/obj", w.b, BIG_LEN, NULL), 0);
		assert_int_equal(fseek(old, BIG_LEN - 1, SEEK_SET), 0);
		assert_int_equal(fread(&first, 1, 1, old), 1);
		assert_int_equal(first, 'A');
		fclose(old);
		assert_int_equal(b4_storage_get(st, "atomic/obj", &data, &len), 1);
		assert_int_equal(data[0], 'B');
		free(data);
	}

	assert_int_equal(pthread_create(&thread, NULL, writer, &w), 0);
	for (int i = 0; i < ROUNDS; i++) {
		char *data = NULL;
		size_t len = 0;
		assert_int_equal(b4_storage_get(st, "atomic/obj", &data, &len), 1);
		assert_int_equal(len, BIG_LEN);
		/* all A or all B, never a mix or a short file */
		assert_true(memcmp(data, w.a, BIG_LEN) == 0 || memcmp(data, w.b, BIG_LEN) == 0);
		whole_reads++;
		free(data);
	}
	pthread_join(thread, &thread_rc);
	assert_null(thread_rc);
	assert_int_equal(whole_reads, ROUNDS);
	snprintf(dir, sizeof(dir), "%s/atomic", root);
	assert_int_equal(count_temp_files(dir), 0);
	free(w.a);
	free(w.b);
	b4_storage_free(st);
}

static void test_failed_put_leaves_no_temp_file(void **state)
{
	struct b4_storage *st = open_local("failing");
	char dir[400];
	(void)state;

	assert_non_null(st);
	/* the target is a non-empty directory: rename must fail */
	assert_int_equal(b4_storage_put(st, "taken/inner", "x", 1, NULL), 0);
	assert_int_equal(b4_storage_put(st, "taken", "y", 1, NULL), -1);
	snprintf(dir, sizeof(dir), "%s/failing", root);
	assert_int_equal(count_temp_files(dir), 0);
	assert_int_equal(b4_storage_exists(st, "taken/inner"), 1);
	b4_storage_free(st);
}

/* ---- settings -------------------------------------------------------- */

static void clear_env(void)
{
	static const char *const names[] = {"B4_STORAGE",
					    "B4_STORAGE_DIR",
					    "B4_S3_BUCKET",
					    "B4_S3_ENDPOINT",
					    "B4_S3_REGION",
					    "B4_S3_PATH_STYLE",
					    "AWS_ACCESS_KEY_ID",
					    "AWS_SECRET_ACCESS_KEY",
					    "AWS_SESSION_TOKEN",
					    "AWS_REGION",
					    "AWS_DEFAULT_REGION",
					    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
					    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
					    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
					    "AWS_EC2_METADATA_DISABLED",
					    "B4_STORAGE_KEY",
					    "B4_FIELD_KEYS",
					    "B4_ENV"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unsetenv(names[i]);
}

static void test_settings_from_environment(void **state)
{
	char err[256], dir[400];
	struct b4_storage *st;
	(void)state;

	clear_env();
	setenv("B4_STORAGE", "ftp", 1);
	err[0] = '\0';
	assert_null(b4_storage_from_env(err, sizeof(err)));
	assert_non_null(strstr(err, "B4_STORAGE"));

	setenv("B4_STORAGE", "s3", 1);
	assert_null(b4_storage_from_env(err, sizeof(err)));
	assert_non_null(strstr(err, "B4_S3_BUCKET"));

	setenv("B4_S3_BUCKET", "b4-objects", 1);
	/* no keys: the task or instance role, asked on first use */
	st = b4_storage_from_env(err, sizeof(err));
	assert_non_null(st);
	b4_storage_free(st);
	/* ... unless instance metadata is off too: nothing left to ask */
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	assert_null(b4_storage_from_env(err, sizeof(err)));
	assert_non_null(strstr(err, "AWS_ACCESS_KEY_ID"));
	unsetenv("AWS_EC2_METADATA_DISABLED");

	/* a key id without its secret */
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	assert_null(b4_storage_from_env(err, sizeof(err)));
	assert_non_null(strstr(err, "AWS_SECRET_ACCESS_KEY"));

	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "do-not-print-this-secret", 1);
	setenv("B4_S3_PATH_STYLE", "maybe", 1);
	assert_null(b4_storage_from_env(err, sizeof(err)));
	assert_non_null(strstr(err, "B4_S3_PATH_STYLE"));

	setenv("B4_S3_PATH_STYLE", "true", 1);
	setenv("B4_S3_ENDPOINT", "ftp://example", 1);
	assert_null(b4_storage_from_env(err, sizeof(err)));
	assert_non_null(strstr(err, "B4_S3_ENDPOINT"));
	assert_null(strstr(err, "do-not-print-this-secret"));

	setenv("B4_S3_ENDPOINT", "http://127.0.0.1:9", 1);
	st = b4_storage_from_env(err, sizeof(err));
	assert_non_null(st);
	assert_string_equal(b4_storage_backend_name(st), "s3");
	b4_storage_free(st);

	clear_env();
	snprintf(dir, sizeof(dir), "%s/from-env/objects", root);
	setenv("B4_STORAGE_DIR", dir, 1);
	/* production keeps objects encrypted at rest: no key, no start */
	assert_null(b4_storage_from_env(err, sizeof(err)));
	assert_non_null(strstr(err, "B4_STORAGE_KEY"));
	setenv("B4_STORAGE_KEY", "not-a-key", 1);
	assert_null(b4_storage_from_env(err, sizeof(err)));
	assert_non_null(strstr(err, "B4_STORAGE_KEY"));
	setenv("B4_STORAGE_KEY", TEST_KEY_HEX, 1);
	st = b4_storage_from_env(err, sizeof(err));
	assert_non_null(st);
	assert_string_equal(b4_storage_backend_name(st), "local");
	assert_int_equal(access(dir, W_OK), 0);
	b4_storage_free(st);
	clear_env();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_rules),
	    cmocka_unit_test(test_put_get_roundtrip_binary_and_overwrite),
	    cmocka_unit_test(test_get_and_exists_of_missing_key),
	    cmocka_unit_test(test_list_prefix_sorted_without_temp_files),
	    cmocka_unit_test(test_atomic_write_readers_never_see_partial_object),
	    cmocka_unit_test(test_failed_put_leaves_no_temp_file),
	    cmocka_unit_test(test_settings_from_environment),
	    cmocka_unit_test(test_objects_encrypted_at_rest),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
