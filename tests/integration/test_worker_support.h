/* test_worker_support.h - helpers the queue and worker integration tests
 * share (header-only, static inline): bounded waits on SQL counts and a b4_db
 * connection to the test's database, as a producer service would have. */
#ifndef TEST_WORKER_SUPPORT_H
#define TEST_WORKER_SUPPORT_H

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "b4/db.h"
#include "b4/pii.h"
#include "harness.h"

/* Polls the integer the SQL returns until it reaches want (timeout_ms at
 * most); true when it did. */
static inline bool tw_wait_sql(const char *db_name, const char *sql, long long want, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	while (h_now_ms() < deadline) {
		if (h_sql_int(db_name, sql) >= want)
			return true;
		h_sleep_ms(30);
	}
	return h_sql_int(db_name, sql) >= want;
}

/* Connects as the services' user to db_name; NULL on failure. */
static inline struct b4_db *tw_connect(const char *db_name)
{
	struct b4_db_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.socket = getenv("B4_TEST_DB_SOCKET");
	cfg.host = "127.0.0.1";
	cfg.port = h_db_port();
	cfg.user = "b4";
	cfg.password = "b4dev";
	cfg.database = db_name;
	cfg.connect_timeout = cfg.read_timeout = cfg.write_timeout = 10;
	return b4_db_connect(&cfg);
}

/* Field encryption with the keys the harness gives the services, so a
 * test writes and reads what they do.  0 or -1. */
static inline int tw_pii_init(void)
{
	setenv("B4_FIELD_KEYS", H_FIELD_KEYS, 1);
	setenv("B4_BLIND_INDEX_KEY", H_BLIND_INDEX_KEY, 1);
	return b4_pii_init("test");
}

/* Every worker a test started, so a failed test cannot leave one running
 * into the next: tw_track after h_start, tw_stop_all as the teardown. */
static struct h_proc *tw_started[8];
static size_t tw_nstarted;

static inline void tw_track(struct h_proc *p)
{
	if (tw_nstarted < sizeof(tw_started) / sizeof(tw_started[0]))
		tw_started[tw_nstarted++] = p;
}

static inline int tw_stop_all(void **state)
{
	(void)state;
	for (size_t i = 0; i < tw_nstarted; i++)
		if (h_alive(tw_started[i]))
			h_stop(tw_started[i], SIGKILL, 5000);
	tw_nstarted = 0;
	return 0;
}

#endif
