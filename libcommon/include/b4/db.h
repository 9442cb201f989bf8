/* db.h - MariaDB access: prepared statements with typed binds only.
 *
 * One struct b4_db is one connection, used by one thread at a time.
 * Statements are prepared once per connection and cached by SQL text;
 * auto-reconnect is off: when the server goes away outside a transaction
 * the connection is reopened, the cache dropped and the statement retried
 * once.  Result sets are copied out in full, so the connection is free for
 * the next command as soon as a call returns.
 *
 * Bind types (one letter per `?` in order):
 *   s  const char *        (NULL binds SQL NULL)
 *   b  const void *, size_t (a blob or a non-terminated string)
 *   i  int64_t
 *   I  int
 *   u  uint64_t
 *   B  bool (as TINYINT)
 *   d  double
 *   n  nothing: binds NULL and takes no argument
 */
#ifndef B4_DB_H
#define B4_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct b4_db_config {
	const char *host;
	int port;
	const char *socket; /* used instead of host/port when set */
	const char *user;
	const char *password;
	const char *database;
	unsigned connect_timeout; /* seconds */
	unsigned read_timeout;
	unsigned write_timeout;
};

struct b4_db;
struct b4_db_result;

/* Opens a connection (utf8mb4, UTC session time zone, autocommit on).
 * Returns NULL and logs one line on failure. */
struct b4_db *b4_db_connect(const struct b4_db_config *cfg);
/* Makes a handle that connects on first use (and again after the server
 * went away), for long-running threads that must start while the database
 * is down.  Returns NULL only when out of memory. */
struct b4_db *b4_db_new(const struct b4_db_config *cfg);
void b4_db_close(struct b4_db *db); /* accepts NULL */
/* True when the handle holds an open connection (no round trip). */
bool b4_db_is_connected(const struct b4_db *db);
/* True when the server answers; reconnects a broken connection first. */
bool b4_db_ping(struct b4_db *db);
/* Server or client error number of the last failed call (0 if none). */
unsigned b4_db_errno(const struct b4_db *db);
const char *b4_db_error(const struct b4_db *db);
/* True for a duplicate key (1062) on the last failed call. */
bool b4_db_is_duplicate(const struct b4_db *db);

/* Runs a statement without a result set.  Returns the number of affected
 * rows (>= 0), or -1 on error. */
int64_t b4_db_exec(struct b4_db *db, const char *sql, const char *types, ...);
/* b4_db_exec for a statement whose text is built per call (a multi-row
 * INSERT): n values, all bound as strings (NULL binds SQL NULL; MariaDB
 * converts them to the columns' types), at most 96.  The text is looked up
 * in the statement cache by content only. */
int64_t b4_db_exec_strs(struct b4_db *db, const char *sql, size_t n, const char *const *values);
#define B4_DB_MAX_PARAMS 96
/* A multi-row INSERT of nrows rows: head ("INSERT INTO t (a, b) VALUES "),
 * row ("(?, ?)": row_params markers) once per row, then tail (e.g. " ON
 * DUPLICATE KEY UPDATE ..."; may be ""); values holds nrows * row_params
 * strings, row after row, bound as b4_db_exec_strs binds them.  Sent in as
 * few statements as the parameter limit allows (one for a few rows).
 * Returns the affected rows summed, or -1 (the caller rolls back). */
int64_t b4_db_insert_rows(struct b4_db *db, const char *head, const char *row, size_t row_params,
			  const char *tail, size_t nrows, const char *const *values);
/* Runs a query and copies every row out.  Returns a result the caller
 * frees with b4_db_result_free, or NULL on error. */
struct b4_db_result *b4_db_query(struct b4_db *db, const char *sql, const char *types, ...);
/* b4_db_query for a text built per call: n values bound as
 * b4_db_exec_strs binds them. */
struct b4_db_result *b4_db_query_strs(struct b4_db *db, const char *sql, size_t n,
				      const char *const *values);
/* AUTO_INCREMENT value of the last insert on this connection. */
uint64_t b4_db_insert_id(const struct b4_db *db);

size_t b4_db_rows(const struct b4_db_result *res);
size_t b4_db_cols(const struct b4_db_result *res);
/* Column index by name, or -1. */
int b4_db_col(const struct b4_db_result *res, const char *name);
bool b4_db_is_null(const struct b4_db_result *res, size_t row, size_t col);
/* Text of a cell ("" for NULL); valid until the result is freed. */
const char *b4_db_str(const struct b4_db_result *res, size_t row, size_t col);
size_t b4_db_len(const struct b4_db_result *res, size_t row, size_t col);
/* Integer value of a cell (0 for NULL or non-numeric text). */
int64_t b4_db_i64(const struct b4_db_result *res, size_t row, size_t col);
void b4_db_result_free(struct b4_db_result *res); /* accepts NULL */

/* Transactions.  b4_db_tx runs fn inside BEGIN/COMMIT; fn returns 0 to
 * commit, -1 to roll back.  A deadlock (1213) or lock wait timeout (1205)
 * anywhere rolls back and runs fn again, up to 5 times with growing
 * jittered pauses.  Returns 0 when committed, -1 otherwise. */
int b4_db_begin(struct b4_db *db);
int b4_db_commit(struct b4_db *db);
int b4_db_rollback(struct b4_db *db);
int b4_db_tx(struct b4_db *db, int (*fn)(struct b4_db *db, void *arg), void *arg);
/* True when the last error is worth retrying the whole transaction for. */
bool b4_db_is_retryable(const struct b4_db *db);

/* Applies db/migrations/NNNN_name.sql files from dir that are not yet in
 * schema_migrations, in order, each recorded with its checksum.  Holds a
 * named lock so concurrent runners apply each file once.  *applied gets the
 * number of files applied.  Returns -1 (logged) on any failure, including a
 * recorded migration whose file has changed. */
int b4_db_migrate(struct b4_db *db, const char *dir, int *applied);

/* Runs a trusted multi-statement SQL file (seed data): statements split on
 * `;` at the end of a line.  Not for anything built from input. */
int b4_db_run_file(struct b4_db *db, const char *path);

#endif
