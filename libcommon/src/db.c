/* db.c - MariaDB Connector/C with prepared statements; see b4/db.h. */
#include "b4/db.h"
#include "b4/buf.h"
#include "b4/log.h"

#include <dirent.h>
#include <errno.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STMT_CACHE 96
#define MAX_PARAMS B4_DB_MAX_PARAMS

struct cached_stmt {
	const char *sql_ptr; /* callers pass literals, so the pointer is the fast key */
	char *sql;
	MYSQL_STMT *stmt;
};

struct b4_db {
	MYSQL *mysql;
	struct b4_db_config cfg;
	char *strings[5]; /* owned copies of the config strings */
	struct cached_stmt cache[STMT_CACHE];
	size_t cache_next;
	unsigned last_errno;
	char last_error[256];
	bool in_tx;
};

struct b4_db_result {
	size_t rows, cols, cap_cells;
	char **names;
	size_t *offsets;
	size_t *lengths;
	bool *nulls;
	struct b4_buf data;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void set_error(struct b4_db *db, unsigned code, const char *msg)
{
	db->last_errno = code;
	snprintf(db->last_error, sizeof(db->last_error), "%s", msg ? msg : "");
}

static bool is_connection_error(unsigned code)
{
	return code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST ||
	       code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR ||
	       code == ER_CONNECTION_KILLED || code == 4031 /* client idle timeout */ ||
	       code == CR_COMMANDS_OUT_OF_SYNC || code == ER_UNKNOWN_STMT_HANDLER;
}

static void cache_clear(struct b4_db *db)
{
	for (size_t i = 0; i < STMT_CACHE; i++) {
		if (db->cache[i].stmt)
			mysql_stmt_close(db->cache[i].stmt);
		free(db->cache[i].sql);
		memset(&db->cache[i], 0, sizeof(db->cache[i]));
	}
	db->cache_next = 0;
}

static void disconnect(struct b4_db *db)
{
	cache_clear(db);
	if (db->mysql) {
		mysql_close(db->mysql);
		db->mysql = NULL;
	}
	db->in_tx = false;
}

static int do_connect(struct b4_db *db)
{
	const struct b4_db_config *c = &db->cfg;
	my_bool off = 0, on = 1;
	unsigned timeout;

	disconnect(db);
	db->mysql = mysql_init(NULL);
	if (!db->mysql) {
		set_error(db, CR_OUT_OF_MEMORY, "out of memory");
		return -1;
	}
	timeout = c->connect_timeout ? c->connect_timeout : 5;
	mysql_options(db->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	timeout = c->read_timeout ? c->read_timeout : 30;
	mysql_options(db->mysql, MYSQL_OPT_READ_TIMEOUT, &timeout);
	timeout = c->write_timeout ? c->write_timeout : 30;
	mysql_options(db->mysql, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	mysql_options(db->mysql, MYSQL_OPT_RECONNECT, &off);
	mysql_options(db->mysql, MYSQL_REPORT_DATA_TRUNCATION, &on);
	mysql_options(db->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(db->mysql, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
	if (!mysql_real_connect(db->mysql, c->socket ? NULL : c->host, c->user, c->password,
				c->database, c->socket ? 0 : (unsigned)c->port, c->socket, 0)) {
		set_error(db, mysql_errno(db->mysql), mysql_error(db->mysql));
		mysql_close(db->mysql);
		db->mysql = NULL;
		return -1;
	}
	return 0;
}

struct b4_db *b4_db_new(const struct b4_db_config *cfg)
{
	struct b4_db *db = calloc(1, sizeof(*db));

	if (!db)
		return NULL;
	db->cfg = *cfg;
	db->cfg.host = db->strings[0] = dup_or_null(cfg->host);
	db->cfg.socket = db->strings[1] = dup_or_null(cfg->socket);
	db->cfg.user = db->strings[2] = dup_or_null(cfg->user);
	db->cfg.password = db->strings[3] = dup_or_null(cfg->password);
	db->cfg.database = db->strings[4] = dup_or_null(cfg->database);
	return db;
}

struct b4_db *b4_db_connect(const struct b4_db_config *cfg)
{
	struct b4_db *db = b4_db_new(cfg);

	if (!db)
		return NULL;
	if (do_connect(db) < 0) {
		b4_log_error("database connection failed", B4_LS("error", db->last_error),
			     B4_LI("errno", db->last_errno));
		b4_db_close(db);
		return NULL;
	}
	return db;
}

void b4_db_close(struct b4_db *db)
{
	if (!db)
		return;
	disconnect(db);
	for (size_t i = 0; i < 5; i++)
		free(db->strings[i]);
	free(db);
}

static int ensure_connected(struct b4_db *db)
{
	if (db->mysql)
		return 0;
	return do_connect(db);
}

bool b4_db_is_connected(const struct b4_db *db)
{
	return db->mysql != NULL;
}

bool b4_db_ping(struct b4_db *db)
{
	if (ensure_connected(db) < 0)
		return false;
	if (mysql_ping(db->mysql) == 0)
		return true;
	set_error(db, mysql_errno(db->mysql), mysql_error(db->mysql));
	if (db->in_tx)
		return false;
	return do_connect(db) == 0 && mysql_ping(db->mysql) == 0;
}

unsigned b4_db_errno(const struct b4_db *db)
{
	return db->last_errno;
}

const char *b4_db_error(const struct b4_db *db)
{
	return db->last_error;
}

bool b4_db_is_duplicate(const struct b4_db *db)
{
	return db->last_errno == ER_DUP_ENTRY;
}

bool b4_db_is_retryable(const struct b4_db *db)
{
	return db->last_errno == ER_LOCK_DEADLOCK || db->last_errno == ER_LOCK_WAIT_TIMEOUT;
}

uint64_t b4_db_insert_id(const struct b4_db *db)
{
	return db->mysql ? mysql_insert_id(db->mysql) : 0;
}

/* The prepared statement for sql.  A constant text is found by its
 * address first; a text built per call (dynamic) only by its content, as
 * its address may next hold another text. */
static MYSQL_STMT *get_stmt(struct b4_db *db, const char *sql, bool dynamic)
{
	const char *ptr = dynamic ? NULL : sql;
	struct cached_stmt *slot;
	MYSQL_STMT *stmt;

	for (size_t i = 0; ptr && i < STMT_CACHE; i++) {
		if (db->cache[i].sql_ptr == ptr && db->cache[i].stmt)
			return db->cache[i].stmt;
	}
	for (size_t i = 0; i < STMT_CACHE; i++) {
		if (db->cache[i].stmt && strcmp(db->cache[i].sql, sql) == 0) {
			db->cache[i].sql_ptr = ptr;
			return db->cache[i].stmt;
		}
	}
	stmt = mysql_stmt_init(db->mysql);
	if (!stmt) {
		set_error(db, mysql_errno(db->mysql), mysql_error(db->mysql));
		return NULL;
	}
	if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0) {
		set_error(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
		mysql_stmt_close(stmt);
		return NULL;
	}
	slot = &db->cache[db->cache_next];
	db->cache_next = (db->cache_next + 1) % STMT_CACHE;
	if (slot->stmt)
		mysql_stmt_close(slot->stmt);
	free(slot->sql);
	slot->sql = strdup(sql);
	if (!slot->sql) {
		mysql_stmt_close(stmt);
		memset(slot, 0, sizeof(*slot));
		set_error(db, CR_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	slot->sql_ptr = ptr;
	slot->stmt = stmt;
	return stmt;
}

/* Storage for one call's bound values. */
struct binds {
	MYSQL_BIND bind[MAX_PARAMS];
	long long ints[MAX_PARAMS];
	double dbls[MAX_PARAMS];
	signed char tiny[MAX_PARAMS];
	unsigned long lens[MAX_PARAMS];
};

/* Clears the first n binds; -1 when n is over the limit. */
static int binds_start(struct b4_db *db, struct binds *b, size_t n)
{
	if (n > MAX_PARAMS) {
		set_error(db, CR_UNKNOWN_ERROR, "too many parameters");
		return -1;
	}
	memset(b->bind, 0, n * sizeof(MYSQL_BIND));
	return 0;
}

/* Binds string s (NULL: SQL NULL) as parameter i. */
static void bind_string(struct binds *b, size_t i, const char *s)
{
	MYSQL_BIND *x = &b->bind[i];

	if (!s) {
		x->buffer_type = MYSQL_TYPE_NULL;
		return;
	}
	x->buffer_type = MYSQL_TYPE_STRING;
	x->buffer = (void *)s;
	b->lens[i] = strlen(s);
	x->buffer_length = b->lens[i];
	x->length = &b->lens[i];
}

static int bind_params(struct b4_db *db, struct binds *b, const char *types, va_list ap)
{
	size_t n = strlen(types);

	if (binds_start(db, b, n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		MYSQL_BIND *x = &b->bind[i];
		switch (types[i]) {
		case 's':
			bind_string(b, i, va_arg(ap, const char *));
			break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t len = va_arg(ap, size_t);
			if (!p) {
				x->buffer_type = MYSQL_TYPE_NULL;
				break;
			}
			x->buffer_type = MYSQL_TYPE_BLOB;
			x->buffer = (void *)p;
			b->lens[i] = len;
			x->buffer_length = len;
			x->length = &b->lens[i];
			break;
		}
		case 'i':
			b->ints[i] = (long long)va_arg(ap, int64_t);
			x->buffer_type = MYSQL_TYPE_LONGLONG;
			x->buffer = &b->ints[i];
			break;
		case 'I':
			b->ints[i] = va_arg(ap, int);
			x->buffer_type = MYSQL_TYPE_LONGLONG;
			x->buffer = &b->ints[i];
			break;
		case 'u':
			b->ints[i] = (long long)va_arg(ap, uint64_t);
			x->buffer_type = MYSQL_TYPE_LONGLONG;
			x->is_unsigned = 1;
			x->buffer = &b->ints[i];
			break;
		case 'B':
			b->tiny[i] = va_arg(ap, int) ? 1 : 0;
			x->buffer_type = MYSQL_TYPE_TINY;
			x->buffer = &b->tiny[i];
			break;
		case 'd':
			b->dbls[i] = va_arg(ap, double);
			x->buffer_type = MYSQL_TYPE_DOUBLE;
			x->buffer = &b->dbls[i];
			break;
		case 'n':
			x->buffer_type = MYSQL_TYPE_NULL;
			break;
		default:
			set_error(db, CR_UNKNOWN_ERROR, "unknown bind type");
			return -1;
		}
	}
	return 0;
}

/* Binds n strings (NULL binds SQL NULL). */
static int bind_strings(struct b4_db *db, struct binds *b, size_t n, const char *const *values)
{
	if (binds_start(db, b, n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		bind_string(b, i, values[i]);
	return 0;
}

static bool result_grow(struct b4_db_result *res)
{
	size_t need = (res->rows + 1) * res->cols, cap;

	if (need <= res->cap_cells)
		return true;
	cap = res->cap_cells ? res->cap_cells * 2 : (res->cols ? res->cols * 16 : 16);
	while (cap < need)
		cap *= 2;
	size_t *off = realloc(res->offsets, cap * sizeof(size_t));
	if (!off)
		return false;
	res->offsets = off;
	size_t *len = realloc(res->lengths, cap * sizeof(size_t));
	if (!len)
		return false;
	res->lengths = len;
	bool *nul = realloc(res->nulls, cap * sizeof(bool));
	if (!nul)
		return false;
	res->nulls = nul;
	res->cap_cells = cap;
	return true;
}

/* Copies every row of an executed statement into a new result. */
static struct b4_db_result *fetch_all(struct b4_db *db, MYSQL_STMT *stmt)
{
	struct b4_db_result *res;
	MYSQL_RES *meta;
	MYSQL_FIELD *fields;
	MYSQL_BIND *bind = NULL;
	unsigned long *lens = NULL;
	my_bool *nulls = NULL, *errs = NULL;
	char **bufs = NULL;
	size_t ncols;
	int rc;

	res = calloc(1, sizeof(*res));
	if (!res)
		return NULL;
	b4_buf_init(&res->data);
	meta = mysql_stmt_result_metadata(stmt);
	if (!meta)
		return res; /* no result set: zero rows, zero columns */
	ncols = mysql_num_fields(meta);
	fields = mysql_fetch_fields(meta);
	res->cols = ncols;
	res->names = calloc(ncols ? ncols : 1, sizeof(char *));
	bind = calloc(ncols ? ncols : 1, sizeof(MYSQL_BIND));
	lens = calloc(ncols ? ncols : 1, sizeof(unsigned long));
	nulls = calloc(ncols ? ncols : 1, sizeof(my_bool));
	errs = calloc(ncols ? ncols : 1, sizeof(my_bool));
	bufs = calloc(ncols ? ncols : 1, sizeof(char *));
	if (!res->names || !bind || !lens || !nulls || !errs || !bufs)
		goto out_fail;
	for (size_t i = 0; i < ncols; i++) {
		res->names[i] = strdup(fields[i].name);
		bufs[i] = malloc(256);
		if (!res->names[i] || !bufs[i])
			goto out_fail;
		bind[i].buffer_type = MYSQL_TYPE_STRING;
		bind[i].buffer = bufs[i];
		bind[i].buffer_length = 256;
		bind[i].length = &lens[i];
		bind[i].is_null = &nulls[i];
		bind[i].error = &errs[i];
	}
	if (mysql_stmt_store_result(stmt) != 0 || mysql_stmt_bind_result(stmt, bind) != 0) {
		set_error(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
		/* an INSERT ... RETURNING that failed on the server (a
		 * duplicate key) reports it here, after its columns */
		if (!is_connection_error(db->last_errno))
			mysql_stmt_reset(stmt);
		goto out_fail;
	}
	while ((rc = mysql_stmt_fetch(stmt)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		if (!result_grow(res))
			goto out_fail;
		for (size_t i = 0; i < ncols; i++) {
			size_t cell = res->rows * ncols + i;
			if (!nulls[i] && lens[i] > bind[i].buffer_length) {
				/* the column did not fit: fetch it again into a big enough buffer
				 */
				char *bigger = realloc(bufs[i], lens[i] + 1);
				if (!bigger)
					goto out_fail;
				bufs[i] = bigger;
				bind[i].buffer = bigger;
				bind[i].buffer_length = lens[i] + 1;
				if (mysql_stmt_fetch_column(stmt, &bind[i], (unsigned)i, 0) != 0) {
					set_error(db, mysql_stmt_errno(stmt),
						  mysql_stmt_error(stmt));
					goto out_fail;
				}
				/* keep the wider buffer bound for the following rows */
				mysql_stmt_bind_result(stmt, bind);
			}
			res->nulls[cell] = nulls[i];
			res->offsets[cell] = res->data.len;
			res->lengths[cell] = nulls[i] ? 0 : lens[i];
			if (!nulls[i])
				b4_buf_append(&res->data, bufs[i], lens[i]);
			b4_buf_append(&res->data, "", 1); /* keep every cell NUL-terminated */
		}
		res->rows++;
	}
	if (rc != MYSQL_NO_DATA) {
		set_error(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
		goto out_fail;
	}
	if (b4_buf_failed(&res->data))
		goto out_fail;
	mysql_stmt_free_result(stmt);
	mysql_free_result(meta);
	for (size_t i = 0; i < ncols; i++)
		free(bufs[i]);
	free(bufs);
	free(bind);
	free(lens);
	free(nulls);
	free(errs);
	return res;

out_fail:
	mysql_stmt_free_result(stmt);
	mysql_free_result(meta);
	for (size_t i = 0; bufs && i < ncols; i++)
		free(bufs[i]);
	free(bufs);
	free(bind);
	free(lens);
	free(nulls);
	free(errs);
	if (db->last_errno == 0)
		set_error(db, CR_OUT_OF_MEMORY, "out of memory");
	b4_db_result_free(res);
	return NULL;
}

/* Prepares (or reuses), binds and executes; on a lost connection outside a
 * transaction reconnects and tries once more. */
/* The values of one call: a type string with its va_list, or (strs set)
 * nstrs strings of a dynamic statement. */
struct params {
	const char *types;
	va_list *ap;
	const char *const *strs;
	size_t nstrs;
};

static int run(struct b4_db *db, const char *sql, const struct params *p, struct b4_db_result **out,
	       int64_t *affected)
{
	size_t nparams = p->strs ? p->nstrs : strlen(p->types);
	struct binds b;

	db->last_errno = 0;
	db->last_error[0] = '\0';
	for (int attempt = 0; attempt < 2; attempt++) {
		MYSQL_STMT *stmt;
		va_list args;
		int rc = 0;

		if (ensure_connected(db) < 0)
			goto out_maybe_retry;
		stmt = get_stmt(db, sql, p->strs != NULL);
		if (!stmt)
			goto out_maybe_retry;
		if (mysql_stmt_param_count(stmt) != nparams) {
			set_error(db, CR_UNKNOWN_ERROR, "bind count does not match the statement");
			b4_log_error("bind count mismatch", B4_LS("sql", sql));
			return -1;
		}
		if (p->strs) {
			rc = bind_strings(db, &b, p->nstrs, p->strs);
		} else {
			va_copy(args, *p->ap);
			rc = bind_params(db, &b, p->types, args);
			va_end(args);
		}
		if (rc < 0)
			return -1;
		if (mysql_stmt_bind_param(stmt, b.bind) != 0 || mysql_stmt_execute(stmt) != 0) {
			set_error(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
			goto out_maybe_retry;
		}
		if (out) {
			*out = fetch_all(db, stmt);
			return *out ? 0 : -1;
		}
		if (affected)
			*affected = (int64_t)mysql_stmt_affected_rows(stmt);
		return 0;
	out_maybe_retry:
		if (!is_connection_error(db->last_errno) || db->in_tx || attempt == 1)
			return -1;
		b4_log_warn("database connection lost; reconnecting",
			    B4_LI("errno", db->last_errno));
		if (do_connect(db) < 0)
			return -1;
	}
	return -1;
}

int64_t b4_db_exec(struct b4_db *db, const char *sql, const char *types, ...)
{
	va_list ap;
	struct params p = {types, &ap, NULL, 0};
	int64_t affected = 0;
	int rc;

	va_start(ap, types);
	rc = run(db, sql, &p, NULL, &affected);
	va_end(ap);
	return rc < 0 ? -1 : affected;
}

int64_t b4_db_exec_strs(struct b4_db *db, const char *sql, size_t n, const char *const *values)
{
	struct params p = {NULL, NULL, values, n};
	int64_t affected = 0;

	return run(db, sql, &p, NULL, &affected) < 0 ? -1 : affected;
}

int64_t b4_db_insert_rows(struct b4_db *db, const char *head, const char *row, size_t row_params,
			  const char *tail, size_t nrows, const char *const *values)
{
	size_t per_sql = row_params ? B4_DB_MAX_PARAMS / row_params : 0;
	int64_t total = 0;

	if (per_sql == 0) {
		set_error(db, CR_UNKNOWN_ERROR, "too many parameters");
		return -1;
	}
	for (size_t first = 0; first < nrows; first += per_sql) {
		size_t n = nrows - first < per_sql ? nrows - first : per_sql;
		struct b4_buf sql;
		int64_t affected;

		b4_buf_init(&sql);
		b4_buf_puts(&sql, head);
		for (size_t k = 0; k < n; k++) {
			if (k)
				b4_buf_puts(&sql, ", ");
			b4_buf_puts(&sql, row);
		}
		b4_buf_puts(&sql, tail);
		affected = b4_buf_failed(&sql) ? -1
					       : b4_db_exec_strs(db, sql.data, n * row_params,
								 values + first * row_params);
		b4_buf_cleanup(&sql);
		if (affected < 0)
			return -1;
		total += affected;
	}
	return total;
}

struct b4_db_result *b4_db_query(struct b4_db *db, const char *sql, const char *types, ...)
{
	va_list ap;
	struct params p = {types, &ap, NULL, 0};
	struct b4_db_result *res = NULL;

	va_start(ap, types);
	if (run(db, sql, &p, &res, NULL) < 0)
		res = NULL;
	va_end(ap);
	return res;
}

struct b4_db_result *b4_db_query_strs(struct b4_db *db, const char *sql, size_t n,
				      const char *const *values)
{
	struct params p = {NULL, NULL, values, n};
	struct b4_db_result *res = NULL;

	return run(db, sql, &p, &res, NULL) < 0 ? NULL : res;
}

size_t b4_db_rows(const struct b4_db_result *res)
{
	return res ? res->rows : 0;
}

size_t b4_db_cols(const struct b4_db_result *res)
{
	return res ? res->cols : 0;
}

int b4_db_col(const struct b4_db_result *res, const char *name)
{
	for (size_t i = 0; res && i < res->cols; i++)
		if (strcmp(res->names[i], name) == 0)
			return (int)i;
	return -1;
}

bool b4_db_is_null(const struct b4_db_result *res, size_t row, size_t col)
{
	if (!res || row >= res->rows || col >= res->cols)
		return true;
	return res->nulls[row * res->cols + col];
}

const char *b4_db_str(const struct b4_db_result *res, size_t row, size_t col)
{
	if (!res || row >= res->rows || col >= res->cols)
		return "";
	return res->data.data + res->offsets[row * res->cols + col];
}

size_t b4_db_len(const struct b4_db_result *res, size_t row, size_t col)
{
	if (!res || row >= res->rows || col >= res->cols)
		return 0;
	return res->lengths[row * res->cols + col];
}

int64_t b4_db_i64(const struct b4_db_result *res, size_t row, size_t col)
{
	const char *s = b4_db_str(res, row, col);
	return *s ? strtoll(s, NULL, 10) : 0;
}

void b4_db_result_free(struct b4_db_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; res->names && i < res->cols; i++)
		free(res->names[i]);
	free(res->names);
	free(res->offsets);
	free(res->lengths);
	free(res->nulls);
	b4_buf_cleanup(&res->data);
	free(res);
}

/* A fixed command with no parameters (BEGIN and friends). */
static int simple(struct b4_db *db, const char *command)
{
	if (ensure_connected(db) < 0)
		return -1;
	if (mysql_real_query(db->mysql, command, strlen(command)) != 0) {
		set_error(db, mysql_errno(db->mysql), mysql_error(db->mysql));
		return -1;
	}
	return 0;
}

int b4_db_begin(struct b4_db *db)
{
	db->last_errno = 0;
	if (simple(db, "START TRANSACTION") < 0) {
		/* nothing is open yet, so a lost connection can be reopened */
		if (!is_connection_error(db->last_errno) || do_connect(db) < 0 ||
		    simple(db, "START TRANSACTION") < 0)
			return -1;
	}
	db->in_tx = true;
	return 0;
}

int b4_db_commit(struct b4_db *db)
{
	int rc = simple(db, "COMMIT");
	db->in_tx = false;
	return rc;
}

int b4_db_rollback(struct b4_db *db)
{
	unsigned saved = db->last_errno;
	char saved_msg[sizeof(db->last_error)];
	int rc;

	memcpy(saved_msg, db->last_error, sizeof(saved_msg));
	rc = db->mysql ? simple(db, "ROLLBACK") : 0;
	db->in_tx = false;
	if (rc == 0 && saved) {
		/* keep the error that made us roll back */
		db->last_errno = saved;
		memcpy(db->last_error, saved_msg, sizeof(saved_msg));
	}
	return rc;
}

int b4_db_tx(struct b4_db *db, int (*fn)(struct b4_db *db, void *arg), void *arg)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		if (b4_db_begin(db) < 0)
			return -1;
		if (fn(db, arg) == 0 && b4_db_commit(db) == 0)
			return 0;
		b4_db_rollback(db);
		if (!b4_db_is_retryable(db))
			return -1;
		/* back off 5, 10, 20, 40 ms plus jitter before running fn again */
		unsigned base_us = 5000u << attempt;
		struct timespec pause = {0, (long)(base_us + (unsigned)rand() % base_us) * 1000L};
		nanosleep(&pause, NULL);
		b4_log_info("transaction retried", B4_LI("attempt", attempt + 1),
			    B4_LI("errno", db->last_errno));
	}
	return -1;
}

/* --- migrations and SQL files -------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct b4_buf buf;
	char chunk[8192];
	size_t n;

	if (!f)
		return NULL;
	b4_buf_init(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		b4_buf_append(&buf, chunk, n);
	fclose(f);
	if (b4_buf_failed(&buf)) {
		b4_buf_cleanup(&buf);
		return NULL;
	}
	return b4_buf_steal(&buf, len);
}

/* Runs each statement of a trusted SQL text; statements end with `;`
 * outside quotes and comments. */
static int run_script(struct b4_db *db, const char *text, size_t len, const char *name)
{
	size_t start = 0, i = 0;
	char quote = 0;

	if (ensure_connected(db) < 0)
		return -1;
	while (i <= len) {
		char c = i < len ? text[i] : ';';
		if (quote) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == quote)
				quote = 0;
		} else if (c == '\'' || c == '"' || c == '`') {
			quote = c;
		} else if (c == '-' && i + 1 < len && text[i + 1] == '-') {
			while (i < len && text[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < len && text[i + 1] == '*') {
			const char *end = strstr(text + i + 2, "*/");
			i = end ? (size_t)(end - text) + 1 : len;
		} else if (c == ';') {
			size_t s = start, e = i;
			while (s < e && (text[s] == ' ' || text[s] == '\n' || text[s] == '\t' ||
					 text[s] == '\r'))
				s++;
			/* a piece of only comments still goes to the server: it ignores them */
			if (s < e) {
				if (mysql_real_query(db->mysql, text + s, e - s) != 0) {
					set_error(db, mysql_errno(db->mysql),
						  mysql_error(db->mysql));
					b4_log_error("SQL file statement failed",
						     B4_LS("file", name),
						     B4_LS("error", db->last_error));
					return -1;
				}
				do {
					MYSQL_RES *r = mysql_store_result(db->mysql);
					if (r)
						mysql_free_result(r);
				} while (mysql_next_result(db->mysql) == 0);
			}
			start = i + 1;
		}
		i++;
	}
	return 0;
}

int b4_db_run_file(struct b4_db *db, const char *path)
{
	size_t len;
	char *text = read_file(path, &len);
	int rc;

	if (!text) {
		b4_log_error("cannot read SQL file", B4_LS("file", path),
			     B4_LS("error", strerror(errno)));
		return -1;
	}
	rc = run_script(db, text, len, path);
	free(text);
	return rc;
}

static int migration_filter(const struct dirent *e)
{
	const char *n = e->d_name;
	size_t len = strlen(n);

	for (int i = 0; i < 4; i++)
		if (n[i] < '0' || n[i] > '9')
			return 0;
	return n[4] == '_' && len > 9 && strcmp(n + len - 4, ".sql") == 0;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (size_t i = 0; i < 32; i++)
		snprintf(out + i * 2, 3, "%02x", md[i]);
}

int b4_db_migrate(struct b4_db *db, const char *dir, int *applied)
{
	struct dirent **entries = NULL;
	struct b4_db_result *lock = NULL, *done = NULL;
	int count, rc = -1;

	*applied = 0;
	if (b4_db_exec(db,
		       "CREATE TABLE IF NOT EXISTS schema_migrations ("
		       " version INT UNSIGNED NOT NULL PRIMARY KEY,"
		       " name VARCHAR(255) NOT NULL,"
		       " checksum CHAR(64) NOT NULL,"
		       " applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
		       ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
		       "") < 0) {
		b4_log_error("cannot create schema_migrations", B4_LS("error", db->last_error));
		return -1;
	}
	lock = b4_db_query(db, "SELECT GET_LOCK('b4_migrate', 60)", "");
	if (!lock || b4_db_i64(lock, 0, 0) != 1) {
		b4_log_error("cannot take the migration lock", B4_LS("error", db->last_error));
		b4_db_result_free(lock);
		return -1;
	}
	count = scandir(dir, &entries, migration_filter, alphasort);
	if (count < 0) {
		b4_log_error("cannot list migrations", B4_LS("dir", dir),
			     B4_LS("error", strerror(errno)));
		goto out_unlock;
	}
	done = b4_db_query(db, "SELECT version, checksum FROM schema_migrations", "");
	if (!done)
		goto out_free_entries;
	for (int i = 0; i < count; i++) {
		char path[4096], sum[65];
		const char *name = entries[i]->d_name;
		int version = atoi(name);
		bool recorded = false;
		size_t len;
		char *text;

		snprintf(path, sizeof(path), "%s/%s", dir, name);
		text = read_file(path, &len);
		if (!text) {
			b4_log_error("cannot read migration", B4_LS("file", path));
			goto out_free_done;
		}
		sha256_hex(text, len, sum);
		for (size_t r = 0; r < b4_db_rows(done); r++) {
			if (b4_db_i64(done, r, 0) == version) {
				recorded = true;
				if (strcmp(b4_db_str(done, r, 1), sum) != 0) {
					b4_log_error("an applied migration was edited; add a new "
						     "one instead",
						     B4_LS("file", name));
					free(text);
					goto out_free_done;
				}
			}
		}
		if (!recorded) {
			if (run_script(db, text, len, name) < 0 ||
			    b4_db_exec(db,
				       "INSERT INTO schema_migrations (version, name, checksum) "
				       "VALUES (?, ?, ?)",
				       "Iss", version, name, sum) < 0) {
				free(text);
				goto out_free_done;
			}
			b4_log_info("migration applied", B4_LS("file", name));
			(*applied)++;
		}
		free(text);
	}
	rc = 0;
out_free_done:
	b4_db_result_free(done);
out_free_entries:
	for (int i = 0; i < count; i++)
		free(entries[i]);
	free(entries);
out_unlock:
	b4_db_result_free(b4_db_query(db, "SELECT RELEASE_LOCK('b4_migrate')", ""));
	b4_db_result_free(lock);
	return rc;
}
