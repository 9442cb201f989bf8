/* main.c - b4-migrate: create the database if needed, apply migrations,
 * optionally load a seed file, fill the sales aggregates when they are
 * empty, or rebuild them (--rebuild-aggregates), and fold their live slots
 * (--compact-aggregates, what the worker's cron.sales_compact does).  Used
 * by `make run`, the tests and deploys. */
#include "b4/db.h"
#include "b4/log.h"
#include "b4/sales_agg.h"
#include "b4/service.h"

#include <mysql.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Database names go into DDL as identifiers, which cannot be bound: accept
 * only [A-Za-z0-9_]. */
static bool name_is_safe(const char *name)
{
	if (!*name || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

/* A real calendar day written YYYY-MM-DD. */
static bool date_is_valid(const char *s)
{
	struct tm tm = {0}, back;
	char end;
	time_t t;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &end) != 3 ||
	    tm.tm_year < 1000)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	t = timegm(&back);
	return t != (time_t)-1 && back.tm_year == tm.tm_year && back.tm_mon == tm.tm_mon &&
	       back.tm_mday == tm.tm_mday;
}

int main(int argc, char **argv)
{
	struct b4_settings settings;
	const char *dir = NULL, *seed = NULL, *before = NULL;
	bool create = false, rebuild = false, compact = false;
	struct b4_config_opt extra[] = {
	    {"migrations-dir", "B4_MIGRATIONS_DIR", B4_CFG_STR, "db/migrations",
	     "folder of NNNN_name.sql files", &dir, 0, 0, NULL, false},
	    {"seed", "B4_SEED_FILE", B4_CFG_STR, NULL, "SQL file to run after migrating", &seed, 0,
	     0, NULL, false},
	    {"create-database", "B4_CREATE_DATABASE", B4_CFG_FLAG, NULL,
	     "create the database when it does not exist", &create, 0, 0, NULL, false},
	    {"rebuild-aggregates", "B4_REBUILD_AGGREGATES", B4_CFG_FLAG, NULL,
	     "recompute sales_daily from orders and splits", &rebuild, 0, 0, NULL, false},
	    {"compact-aggregates", "B4_COMPACT_AGGREGATES", B4_CFG_FLAG, NULL,
	     "fold the live slots of past days of sales_daily and funnel_days into slot 0",
	     &compact, 0, 0, NULL, false},
	    {"compact-before", "B4_COMPACT_BEFORE", B4_CFG_STR, NULL,
	     "with --compact-aggregates: the days before this YYYY-MM-DD (default: before"
	     " yesterday, UTC)",
	     &before, 0, 0, NULL, false},
	};
	int64_t rows = 0, folded = 0;
	struct b4_db *db;
	int applied = 0, rc = 1;

	switch (b4_settings_load("b4-migrate", &settings, 0, extra,
				 sizeof(extra) / sizeof(extra[0]), argc, argv)) {
	case B4_CONFIG_EXIT:
		return 0;
	case B4_CONFIG_ERROR:
		return 2;
	case B4_CONFIG_OK:
		break;
	}
	if (before && !date_is_valid(before)) {
		fprintf(stderr, "b4-migrate: --compact-before: a date as YYYY-MM-DD\n");
		return 2;
	}
	if (!name_is_safe(settings.db.database)) {
		fprintf(stderr, "b4-migrate: B4_DB_NAME: use letters, digits and _ only\n");
		return 2;
	}
	mysql_library_init(0, NULL, NULL);
	if (create) {
		struct b4_db_config server = settings.db;
		char sql[160];
		server.database = NULL;
		db = b4_db_connect(&server);
		if (!db)
			goto out_end;
		snprintf(sql, sizeof(sql),
			 "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 COLLATE "
			 "utf8mb4_unicode_ci",
			 settings.db.database);
		if (b4_db_exec(db, sql, "") < 0) {
			fprintf(stderr, "b4-migrate: cannot create database: %s\n",
				b4_db_error(db));
			b4_db_close(db);
			goto out_end;
		}
		b4_db_close(db);
	}
	db = b4_db_connect(&settings.db);
	if (!db)
		goto out_end;
	if (b4_db_migrate(db, dir, &applied) < 0)
		goto out_close;
	if (seed && b4_db_run_file(db, seed) < 0)
		goto out_close;
	if (rebuild ? b4_sales_agg_rebuild(db, &rows) < 0 : b4_sales_agg_fill_if_empty(db) < 0)
		goto out_close;
	if (compact && b4_sales_agg_compact(db, before, SIZE_MAX, &folded) < 0)
		goto out_close;
	b4_log_info("migrations done", B4_LI("applied", applied), B4_LS("seed", seed));
	if (rebuild)
		printf("sales_daily rebuilt: %lld rows\n", (long long)rows);
	if (compact)
		printf(
		    "aggregates compacted: %lld days (of a member's sales or an offer's funnel)\n",
		    (long long)folded);
	rc = 0;
out_close:
	b4_db_close(db);
out_end:
	mysql_library_end();
	return rc;
}
