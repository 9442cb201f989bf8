/* ratelimit.c - fixed-window limits in the database; see b4/ratelimit.h. */
#include "b4/ratelimit.h"
#include "b4/crypto.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int b4_ratelimit_hit(struct b4_db *db, const char *scope, const char *key, int64_t window_seconds,
		     int64_t max, int64_t *retry_after)
{
	int64_t now = (int64_t)time(NULL);
	int64_t window = now - now % window_seconds;
	unsigned char digest[32];
	char hash[65];
	struct b4_db_result *res;
	int64_t affected, count;

	b4_crypto_sha256(key, strlen(key), digest);
	b4_crypto_hex_encode(digest, sizeof(digest), hash, sizeof(hash));
	affected = b4_db_exec(db,
			      "INSERT INTO rate_limits (scope, key_hash, window_start, hits)"
			      " VALUES (?, ?, ?, 1) ON DUPLICATE KEY UPDATE hits = hits + 1",
			      "ssi", scope, hash, window);
	if (affected < 0)
		return -1;
	/* a new row: sweep a few past windows so the table stays small */
	if (affected == 1 &&
	    b4_db_exec(db, "DELETE FROM rate_limits WHERE window_start < ? LIMIT 100", "i",
		       now - 2 * window_seconds) < 0)
		return -1;
	res = b4_db_query(db,
			  "SELECT hits FROM rate_limits WHERE scope = ? AND key_hash = ?"
			  " AND window_start = ?",
			  "ssi", scope, hash, window);
	if (!res)
		return -1;
	count = b4_db_rows(res) ? b4_db_i64(res, 0, 0) : 0;
	b4_db_result_free(res);
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
