/* ratelimit.c - fixed-window limits in the database; see b4/ratelimit.h. */
#include "b4/ratelimit.h"
#include "b4/crypto.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* When this process last swept past windows (Unix seconds). */
static _Atomic int64_t swept_at;

/* Deletes up to 1,000 rows of windows that ended before the last one, at
 * most once a second per process unless the last sweep found that many:
 * the table keeps to about two windows of keys without a statement per
 * new row. */
static int sweep(struct b4_db *db, int64_t now, int64_t window_seconds)
{
	int64_t last = atomic_load(&swept_at), deleted;

	if (now - last < 1 || !atomic_compare_exchange_strong(&swept_at, &last, now))
		return 0;
	deleted = b4_db_exec(db, "DELETE FROM rate_limits WHERE window_start < ? LIMIT 1000", "i",
			     now - 2 * window_seconds);
	if (deleted < 0)
		return -1;
	if (deleted == 1000)
		atomic_store(&swept_at, 0); /* more to go: the next new row sweeps again */
	return 0;
}

int b4_ratelimit_hit(struct b4_db *db, const char *scope, const char *key, int64_t window_seconds,
		     int64_t max, int64_t *retry_after)
{
	int64_t now = (int64_t)time(NULL);
	int64_t window = now - now % window_seconds;
	unsigned char digest[32];
	char hash[65];
	int64_t affected, count;

	b4_crypto_sha256(key, strlen(key), digest);
	b4_crypto_hex_encode(digest, sizeof(digest), hash, sizeof(hash));
	/* One statement counts and reads: a new row is 1 hit (1 affected
	 * row); an existing one hands its new count back as the statement's
	 * insert id (LAST_INSERT_ID(expr), 2 affected rows). */
	affected = b4_db_exec(db,
			      "INSERT INTO rate_limits (scope, key_hash, window_start, hits)"
			      " VALUES (?, ?, ?, 1) ON DUPLICATE KEY UPDATE"
			      " hits = LAST_INSERT_ID(hits + 1)",
			      "ssi", scope, hash, window);
	if (affected < 0)
		return -1;
	count = affected == 1 ? 1 : (int64_t)b4_db_insert_id(db);
	if (affected != 1 && count < 2)
		return -1; /* not the counter's value: never count blind */
	if (affected == 1 && sweep(db, now, window_seconds) < 0)
		return -1;
	*retry_after = window + window_seconds - now;
	if (*retry_after < 1)
		*retry_after = 1;
	return count > max ? 1 : 0;
}

void b4_ratelimit_refuse(struct b4_req *req, int64_t retry_after, const char *message)
{
	char value[24];

	snprintf(value, sizeof(value), "%lld", (long long)retry_after);
	b4_req_set_header(req, "Retry-After", value);
	b4_req_errorf(req, 429, "rate_limit_error", "rate_limited", NULL, "%s", message);
}

int b4_ratelimit_check(struct b4_req *req, const char *scope_address, int64_t max_per_address,
		       const char *scope_key2, const char *key2, int64_t max_per_key2,
		       int64_t window_seconds)
{
	int64_t retry_after = 0;
	int hit;

	hit = b4_ratelimit_hit(req->db, scope_address, req->client_ip, window_seconds,
			       max_per_address, &retry_after);
	if (hit == 0 && key2)
		hit = b4_ratelimit_hit(req->db, scope_key2, key2, window_seconds, max_per_key2,
				       &retry_after);
	if (hit < 0) {
		b4_req_db_error(req);
		return -1;
	}
	if (hit > 0) {
		b4_ratelimit_refuse(req, retry_after, "Too many requests; try again later.");
		return -1;
	}
	return 0;
}
