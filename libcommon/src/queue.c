/* queue.c - the MariaDB job queue; see b4/queue.h. */
#include "b4/queue.h"
#include "b4/db.h"

int b4_queue_enqueue(struct b4_db *db, const char *type, const char *payload_json,
		     const char *dedup_key, int64_t delay_seconds)
{
	int64_t affected;

	/* ON DUPLICATE KEY touches nothing, so a repeated dedup key affects 0
	 * rows instead of failing the caller's transaction */
	affected = b4_db_exec(db,
			      "INSERT INTO jobs (type, payload, dedup_key, run_at)"
			      " VALUES (?, ?, ?, CURRENT_TIMESTAMP(6) + INTERVAL ? SECOND)"
			      " ON DUPLICATE KEY UPDATE id = id",
			      "sssi", type, payload_json, dedup_key, delay_seconds);
	if (affected < 0)
		return -1;
	return affected > 0 ? 1 : 0;
}
