/* test_panel_api.c - what the panel needs from b4-api, over HTTP against
 * the real MariaDB: sessions (refresh token rotation, reuse detection,
 * logout, a back-office block ending every session), the producer's sales
 * CSV export made by the real b4-worker, and the "Início" chart data in
 * the producer's time zone. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "b4/pii.h"

static const char *db_name;
static struct h_proc api, bo, worker;
static char storage_dir[1024];
static int seq;

#define ADMIN_ID "0190a000-0000-7000-8000-00000000ad01"

/* One request to p; token and cookie may be NULL. */
static void call(struct h_resp *r, const struct h_proc *p, const char *method, const char *path,
		 const char *token, const char *cookie, const char *body)
{
	char auth[4200], cookie_header[300];
	const char *headers[4] = {NULL, NULL, NULL, NULL};
	size_t n = 0;

	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[n++] = auth;
	}
	if (cookie) {
		snprintf(cookie_header, sizeof(cookie_header), "Cookie: theme=dark; %s", cookie);
		headers[n++] = cookie_header;
	}
	if (body)
		headers[n++] = "Content-Type: application/json";
	assert_int_equal(h_http(r, method, h_url(p, path), body, headers), 0);
}

static void expect(struct h_resp *r, long status, const char *method, const char *path,
		   const char *token, const char *cookie, const char *body)
{
	call(r, &api, method, path, token, cookie, body);
	if (r->status != status)
		fprintf(stderr, "%s %s -> %ld (want %ld): %s\n", method, path, r->status, status,
			r->body ? r->body : "");
	assert_int_equal(r->status, status);
}

/* The "b4_refresh=<value>" pair of the response's Set-Cookie, into out;
 * checks the attributes every session cookie must carry. */
static void session_cookie(const struct h_resp *r, char out[128])
{
	const char *set = h_resp_header(r, "Set-Cookie");

	assert_non_null(set);
	assert_non_null(strstr(set, "HttpOnly"));
	assert_non_null(strstr(set, "SameSite=Strict"));
	assert_non_null(strstr(set, "Path=/api/v1/auth"));
	assert_int_equal(strncmp(set, "b4_refresh=", 11), 0);
	snprintf(out, 128, "%.*s", (int)strcspn(set, ";"), set);
	assert_string_equal(h_resp_header(r, "Cache-Control"), "no-store");
}

struct member {
	char id[37], email[128], password[64], token[1024], cookie[128];
};

static void member_new(struct member *m)
{
	struct h_resp r;
	char body[512];

	snprintf(m->email, sizeof(m->email), "panel%d.%d@example.com", (int)getpid(), ++seq);
	snprintf(m->password, sizeof(m->password), "panel-password-%d", seq);
	snprintf(body, sizeof(body),
		 "{\"email\":\"%s\",\"password\":\"%s\",\"full_name\":\"Paula Painel\"}", m->email,
		 m->password);
	expect(&r, 201, "POST", "/v1/auth/signup", NULL, NULL, body);
	snprintf(m->id, sizeof(m->id), "%s", h_json_str(&r, "user.id"));
	snprintf(m->token, sizeof(m->token), "%s", h_json_str(&r, "token"));
	session_cookie(&r, m->cookie);
	/* the refresh token never travels in a body */
	assert_null(strstr(r.body, m->cookie + 11));
	h_resp_free(&r);
}

static int group_setup(void **state)
{
	char env_storage[1100];
	const char *env[] = {env_storage, "B4_STORAGE=local", "B4_LOGIN_MAX_PER_IP=100000", NULL};
	const char *worker_env[] = {env_storage, "B4_STORAGE=local",
				    "B4_WORKER_TYPES=report.export", NULL};
	(void)state;

	/* the test computes blind indexes with the keys the binaries get */
	setenv("B4_FIELD_KEYS", H_FIELD_KEYS, 1);
	setenv("B4_BLIND_INDEX_KEY", H_BLIND_INDEX_KEY, 1);
	if (b4_pii_init("test_panel_api") < 0)
		return -1;
	db_name = h_db_create("b4_panel_api", false);
	if (!db_name)
		return -1;
	snprintf(storage_dir, sizeof(storage_dir), "%s/panel-objects-%d", h_var(), (int)getpid());
	snprintf(env_storage, sizeof(env_storage), "B4_STORAGE_DIR=%s", storage_dir);
	if (h_sql(db_name,
		  "INSERT INTO users (id, email, password_hash, full_name, role)"
		  " VALUES ('" ADMIN_ID "', 'admin@example.com', 'x', 'Ana Admin', 'admin')") != 0)
		return -1;
	if (h_start(&api, "b4-api", db_name, env) != 0 ||
	    h_start(&bo, "b4-backoffice", db_name, env) != 0 ||
	    h_start(&worker, "b4-worker", db_name, worker_env) != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	h_stop(&worker, SIGTERM, 10000);
	h_stop(&bo, SIGTERM, 10000);
	h_stop(&api, SIGTERM, 10000);
	return 0;
}

/* ---- sessions ------------------------------------------------------------ */

static void test_refresh_rotates_and_reuse_revokes_the_family(void **state)
{
	struct member m;
	struct h_resp r;
	char first[128], second[128], third[128];
	(void)state;

	member_new(&m);
	snprintf(first, sizeof(first), "%s", m.cookie);
	expect(&r, 200, "POST", "/v1/auth/refresh", NULL, first, NULL);
	assert_string_equal(h_json_str(&r, "user.id"), m.id);
	assert_non_null(h_json_str(&r, "token"));
	assert_non_null(h_json_str(&r, "expires_at"));
	session_cookie(&r, second);
	assert_string_not_equal(first, second);
	snprintf(m.token, sizeof(m.token), "%s", h_json_str(&r, "token"));
	h_resp_free(&r);
	/* the new access token works */
	expect(&r, 200, "GET", "/v1/me", m.token, NULL, NULL);
	h_resp_free(&r);
	assert_int_equal(h_sql_intf(db_name,
				    "SELECT COUNT(*) FROM refresh_tokens WHERE user_id = '%s'"
				    " AND status = 'rotated'",
				    m.id),
			 1);
	/* only hashes are stored */
	assert_int_equal(h_sql_intf(db_name,
				    "SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = '%s'",
				    second + 11),
			 0);

	/* a second tab refreshing with the same token a moment later: 409,
	 * nothing revoked, the successor still good */
	expect(&r, 409, "POST", "/v1/auth/refresh", NULL, first, NULL);
	assert_string_equal(h_json_str(&r, "error.code"), "session_rotated");
	assert_null(h_resp_header(&r, "Set-Cookie"));
	h_resp_free(&r);
	assert_int_equal(h_sql_intf(db_name,
				    "SELECT COUNT(*) FROM refresh_tokens WHERE user_id = '%s'"
				    " AND status = 'active'",
				    m.id),
			 1);
	/* later (the rotation aged past the grace), the same token is a copy */
	assert_int_equal(
	    h_sqlf(db_name,
		   "UPDATE refresh_tokens SET updated_at = updated_at - INTERVAL 1 MINUTE"
		   " WHERE user_id = '%s' AND status = 'rotated'",
		   m.id),
	    0);
	/* the rotated token presented again: a copy; the whole family ends */
	expect(&r, 401, "POST", "/v1/auth/refresh", NULL, first, NULL);
	assert_string_equal(h_json_str(&r, "error.type"), "authentication_error");
	assert_non_null(strstr(h_resp_header(&r, "Set-Cookie"), "Max-Age=0"));
	h_resp_free(&r);
	expect(&r, 401, "POST", "/v1/auth/refresh", NULL, second, NULL);
	h_resp_free(&r);
	assert_int_equal(h_sql_intf(db_name,
				    "SELECT COUNT(*) FROM refresh_tokens WHERE user_id = '%s'"
				    " AND status <> 'revoked'",
				    m.id),
			 0);

	/* a new login opens a new family, unaffected */
	{
		char body[256];
		snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", m.email,
			 m.password);
		expect(&r, 200, "POST", "/v1/auth/login", NULL, NULL, body);
		session_cookie(&r, third);
		h_resp_free(&r);
	}
	expect(&r, 200, "POST", "/v1/auth/refresh", NULL, third, NULL);
	h_resp_free(&r);

	/* no cookie, a malformed one, an unknown one */
	expect(&r, 401, "POST", "/v1/auth/refresh", NULL, NULL, NULL);
	h_resp_free(&r);
	expect(&r, 401, "POST", "/v1/auth/refresh", NULL, "b4_refresh=short", NULL);
	h_resp_free(&r);
	expect(&r, 401, "POST", "/v1/auth/refresh", NULL,
	       "b4_refresh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL);
	h_resp_free(&r);
}

static void test_logout_revokes_the_session(void **state)
{
	struct member m;
	struct h_resp r;
	(void)state;

	member_new(&m);
	expect(&r, 204, "POST", "/v1/auth/logout", NULL, m.cookie, NULL);
	assert_non_null(strstr(h_resp_header(&r, "Set-Cookie"), "Max-Age=0"));
	h_resp_free(&r);
	expect(&r, 401, "POST", "/v1/auth/refresh", NULL, m.cookie, NULL);
	h_resp_free(&r);
	/* logging out twice, or with nothing, answers the same */
	expect(&r, 204, "POST", "/v1/auth/logout", NULL, m.cookie, NULL);
	h_resp_free(&r);
	expect(&r, 204, "POST", "/v1/auth/logout", NULL, NULL, NULL);
	h_resp_free(&r);
}

static void test_block_ends_every_session(void **state)
{
	struct member m;
	struct h_resp r;
	char body[256], path[128], second_cookie[128];
	(void)state;

	member_new(&m);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", m.email, m.password);
	expect(&r, 200, "POST", "/v1/auth/login", NULL, NULL, body);
	session_cookie(&r, second_cookie);
	h_resp_free(&r);
	assert_int_equal(h_sql_intf(db_name,
				    "SELECT COUNT(*) FROM refresh_tokens WHERE user_id = '%s'"
				    " AND status = 'active'",
				    m.id),
			 2);

	snprintf(path, sizeof(path), "/v1/users/%s/block", m.id);
	call(&r, &bo, "POST", path, h_bearer(ADMIN_ID, "admin") + strlen("Authorization: Bearer "),
	     NULL, "{\"reason\":\"test\"}");
	if (r.status != 200)
		fprintf(stderr, "block -> %ld %s\n", r.status, r.body);
	assert_int_equal(r.status, 200);
	h_resp_free(&r);
	assert_int_equal(h_sql_intf(db_name,
				    "SELECT COUNT(*) FROM refresh_tokens WHERE user_id = '%s'"
				    " AND status <> 'revoked'",
				    m.id),
			 0);
	/* the next request with the access token is refused, and so is a refresh */
	expect(&r, 401, "GET", "/v1/me", m.token, NULL, NULL);
	h_resp_free(&r);
	expect(&r, 401, "POST", "/v1/auth/refresh", NULL, m.cookie, NULL);
	h_resp_free(&r);
	expect(&r, 401, "POST", "/v1/auth/refresh", NULL, second_cookie, NULL);
	h_resp_free(&r);
}

static void test_role_change_ends_sessions(void **state)
{
	struct member m;
	struct h_resp r;
	char path[128];
	const char *admin = h_bearer(ADMIN_ID, "admin") + strlen("Authorization: Bearer ");
	(void)state;

	member_new(&m);
	snprintf(path, sizeof(path), "/v1/users/%s/role", m.id);
	call(&r, &bo, "POST", path, admin, NULL, "{\"role\":\"root\"}");
	assert_int_equal(r.status, 422);
	assert_string_equal(h_json_str(&r, "error.param"), "role");
	h_resp_free(&r);
	assert_int_equal(
	    h_sql_intf(db_name, "SELECT COUNT(*) FROM users WHERE id = '%s' AND role = 'member'",
		       m.id),
	    1);
	call(&r, &bo, "POST", path, admin, NULL, "{\"role\":\"admin\",\"reason\":\"suporte\"}");
	assert_int_equal(r.status, 200);
	assert_string_equal(h_json_str(&r, "role"), "admin");
	h_resp_free(&r);
	assert_int_equal(h_sql_intf(db_name,
				    "SELECT COUNT(*) FROM audit_log WHERE action = 'user.role'"
				    " AND target_id = '%s'",
				    m.id),
			 1);
	/* the old session carried the old role: it is over */
	expect(&r, 401, "POST", "/v1/auth/refresh", NULL, m.cookie, NULL);
	h_resp_free(&r);
	/* an admin cannot demote themself */
	snprintf(path, sizeof(path), "/v1/users/%s/role", ADMIN_ID);
	call(&r, &bo, "POST", path, admin, NULL, "{\"role\":\"member\"}");
	assert_int_equal(r.status, 409);
	h_resp_free(&r);
}

/* ---- sales data ------------------------------------------------------------ */

struct shop {
	struct member m;
	char product[37], offer[37], customer[37];
};

static void shop_new(struct shop *s)
{
	struct h_resp r;
	char path[128];

	member_new(&s->m);
	expect(&r, 201, "POST", "/v1/products", s->m.token, NULL,
	       "{\"name\":\"Curso\",\"type\":\"course\",\"status\":\"active\"}");
	snprintf(s->product, sizeof(s->product), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/products/%s/offers", s->product);
	expect(&r, 201, "POST", path, s->m.token, NULL,
	       "{\"name\":\"Oferta\",\"price_cents\":5000}");
	snprintf(s->offer, sizeof(s->offer), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	snprintf(s->customer, sizeof(s->customer), "0190b000-0000-7000-8000-%012d", seq);
	assert_int_equal(
	    h_sqlf(db_name,
		   "INSERT INTO customers (id, email, full_name, document_enc,"
		   " document_bidx, document_type) VALUES ('%s', 'buyer%d@example.com',"
		   " 'Bruna Compradora', 'x', SHA2('%s', 256), 'cpf')",
		   s->customer, seq, s->customer),
	    0);
}

/* An order of the shop created at `created` (UTC), in status and method. */
static void order_add(const struct shop *s, const char *status, const char *method, long long cents,
		      const char *created)
{
	assert_int_equal(
	    h_sqlf(db_name,
		   "INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id, status,"
		   " payment_method, subtotal_cents, total_cents, access_token_hash, created_at)"
		   " VALUES (UUID(), '%s', '%s', '%s', '%s', '%s', '%s', %lld, %lld,"
		   " REPEAT('a', 64), '%s')",
		   s->customer, s->offer, s->product, s->m.id, status, method, cents, cents,
		   created),
	    0);
}

static void event_add(const struct shop *s, const char *name, const char *at)
{
	assert_int_equal(h_sqlf(db_name,
				"INSERT INTO checkout_events (event_id, offer_id, event_name,"
				" occurred_at) VALUES (UUID(), '%s', '%s', '%s')",
				s->offer, name, at),
			 0);
}

static double num(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	assert_true(cJSON_IsNumber(item));
	return item->valuedouble;
}

/* The revenue_by_day entry of date. */
static const cJSON *day_of(const struct h_resp *r, const char *date)
{
	const cJSON *day;

	cJSON_ArrayForEach(day, cJSON_GetObjectItem(r->json, "revenue_by_day"))
	{
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(day, "date")), date) == 0)
			return day;
	}
	fail_msg("no day %s in %s", date, r->body);
	return NULL;
}

/* The charts' funnel: page views, checkouts started, paid. */
static void funnel_is(const struct h_resp *r, double views, double started, double paid)
{
	const cJSON *funnel = cJSON_GetObjectItem(r->json, "funnel");

	assert_true(num(cJSON_GetArrayItem(funnel, 0), "count") == views);
	assert_true(num(cJSON_GetArrayItem(funnel, 1), "count") == started);
	assert_true(num(cJSON_GetArrayItem(funnel, 2), "count") == paid);
}

static void test_charts_in_the_producer_time_zone(void **state)
{
	struct shop s, other;
	struct h_resp r;
	const cJSON *methods;
	(void)state;

	shop_new(&s);
	shop_new(&other);
	/* 02:30 UTC on the 10th is 23:30 on the 9th in São Paulo (UTC-3) */
	order_add(&s, "paid", "card", 10000, "2026-03-10 02:30:00");
	order_add(&s, "paid", "pix", 5000, "2026-03-10 12:00:00");
	order_add(&s, "refunded", "card", 7000, "2026-03-10 13:00:00");
	order_add(&s, "refused", "card", 9900, "2026-03-10 14:00:00");
	order_add(&s, "waiting_payment", "boleto", 9900, "2026-03-10 15:00:00");
	order_add(&s, "paid", "card", 1234, "2026-03-12 03:00:00"); /* the 12th local: outside */
	order_add(&other, "paid", "card", 99900, "2026-03-10 12:00:00");
	for (int i = 0; i < 3; i++)
		event_add(&s, "checkout_page_view", "2026-03-10 12:00:00");
	event_add(&s, "checkout_session_started", "2026-03-10 12:01:00");
	event_add(&s, "checkout_session_started", "2026-03-10 12:02:00");
	event_add(&s, "checkout_page_view", "2026-02-01 12:00:00"); /* before the period */
	event_add(&other, "checkout_page_view", "2026-03-10 12:00:00");
	/* the events' trigger (migration 0021) counted them per local day of
	 * the producer (UTC-3), whatever the slot */
	{
#define FUNNEL_LINES(INNER)                                                                        \
	"SELECT GROUP_CONCAT(CONCAT_WS(':', d, n, c) ORDER BY d, n SEPARATOR ',') FROM (" INNER    \
	") x"
		char sql[600], *kept, *recount;

		snprintf(sql, sizeof(sql),
			 FUNNEL_LINES("SELECT day d, event_name n, SUM(events) c FROM funnel_days"
				      " WHERE offer_id = '%s' GROUP BY 1, 2"),
			 s.offer);
		kept = h_sql_value(db_name, sql);
		snprintf(sql, sizeof(sql),
			 FUNNEL_LINES("SELECT DATE(occurred_at - INTERVAL 3 HOUR) d, event_name n,"
				      " COUNT(*) c FROM checkout_events WHERE offer_id = '%s'"
				      " GROUP BY 1, 2"),
			 s.offer);
		recount = h_sql_value(db_name, sql);
		assert_non_null(kept);
		assert_non_null(recount);
		assert_string_equal(kept, recount);
		free(kept);
		free(recount);
	}
	/* the orders went in by SQL: their aggregates too, as the domain
	 * would have kept them */
	assert_int_equal(h_db_rebuild_aggregates(db_name), 0);

	/* São Paulo is the producer's own day (users.utc_offset -03:00): from
	 * the aggregates */
	expect(&r, 200, "GET", "/v1/dashboard/charts?from=2026-03-09&to=2026-03-11", s.m.token,
	       NULL, NULL);
	assert_string_equal(h_json_str(&r, "tz"), "America/Sao_Paulo");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "revenue_by_day")), 3);
	assert_true(num(day_of(&r, "2026-03-09"), "gross_cents") == 10000);
	assert_true(num(day_of(&r, "2026-03-09"), "paid_count") == 1);
	assert_true(num(day_of(&r, "2026-03-10"), "gross_cents") == 12000);
	assert_true(num(day_of(&r, "2026-03-10"), "paid_count") == 2);
	assert_true(num(day_of(&r, "2026-03-11"), "gross_cents") == 0);
	methods = cJSON_GetObjectItem(r.json, "paid_by_method");
	assert_int_equal(cJSON_GetArraySize(methods), 3);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(methods, 0),
								     "payment_method")),
			    "card");
	assert_true(num(cJSON_GetArrayItem(methods, 0), "paid_count") == 2);
	assert_true(num(cJSON_GetArrayItem(methods, 1), "paid_count") == 1);
	assert_true(num(cJSON_GetArrayItem(methods, 2), "paid_count") == 0);
	funnel_is(&r, 3, 2, 3);
	h_resp_free(&r);

	/* another zone with the same days (Bahia, UTC-3 all year) gives the
	 * same days */
	expect(&r, 200, "GET",
	       "/v1/dashboard/charts?from=2026-03-09&to=2026-03-11&tz=America/Bahia", s.m.token,
	       NULL, NULL);
	assert_true(num(day_of(&r, "2026-03-09"), "gross_cents") == 10000);
	assert_true(num(day_of(&r, "2026-03-10"), "gross_cents") == 12000);
	assert_true(num(day_of(&r, "2026-03-10"), "paid_count") == 2);
	funnel_is(&r, 3, 2, 3);
	h_resp_free(&r);
	/* the same sales in UTC (from the orders and events): the 02:30 order
	 * is on the 10th, the funnel the same */
	expect(&r, 200, "GET", "/v1/dashboard/charts?from=2026-03-09&to=2026-03-11&tz=UTC",
	       s.m.token, NULL, NULL);
	assert_true(num(day_of(&r, "2026-03-09"), "paid_count") == 0);
	assert_true(num(day_of(&r, "2026-03-10"), "paid_count") == 3);
	funnel_is(&r, 3, 2, 3);
	h_resp_free(&r);
	/* a half-hour zone (UTC+5:30): 02:30 UTC is 08:00 on the 10th */
	expect(&r, 200, "GET", "/v1/dashboard/charts?from=2026-03-10&to=2026-03-10&tz=Asia/Kolkata",
	       s.m.token, NULL, NULL);
	assert_true(num(day_of(&r, "2026-03-10"), "gross_cents") == 22000);
	h_resp_free(&r);

	/* bad input: a clear 400 naming the parameter */
	expect(&r, 400, "GET", "/v1/dashboard/charts?tz=Mars/Olympus", s.m.token, NULL, NULL);
	assert_string_equal(h_json_str(&r, "error.param"), "tz");
	h_resp_free(&r);
	expect(&r, 400, "GET", "/v1/dashboard/charts?tz=../../etc/passwd", s.m.token, NULL, NULL);
	h_resp_free(&r);
	expect(&r, 400, "GET", "/v1/dashboard/charts?from=2026-02-30", s.m.token, NULL, NULL);
	assert_string_equal(h_json_str(&r, "error.param"), "from");
	h_resp_free(&r);
	expect(&r, 400, "GET", "/v1/dashboard/charts?from=2026-03-02&to=2026-03-01", s.m.token,
	       NULL, NULL);
	assert_string_equal(h_json_str(&r, "error.param"), "to");
	h_resp_free(&r);
	expect(&r, 400, "GET", "/v1/dashboard/charts?from=2024-01-01&to=2026-01-01", s.m.token,
	       NULL, NULL);
	h_resp_free(&r);
	/* the default period is the last 30 local days */
	expect(&r, 200, "GET", "/v1/dashboard/charts", s.m.token, NULL, NULL);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "revenue_by_day")), 30);
	h_resp_free(&r);
}

static void test_sales_export_by_the_worker(void **state)
{
	struct shop s, other;
	struct h_resp r;
	char path[160], body[256], *id;
	bool done = false;
	(void)state;

	shop_new(&s);
	shop_new(&other);
	order_add(&s, "paid", "card", 4321, "2026-04-02 12:00:00");
	order_add(&s, "paid", "pix", 8765, "2026-04-03 12:00:00");
	order_add(&s, "refused", "card", 1111, "2026-04-02 13:00:00");
	order_add(&other, "paid", "card", 2222, "2026-04-02 12:00:00");

	/* refused filters change nothing */
	expect(&r, 400, "POST", "/v1/sales/exports", s.m.token, NULL,
	       "{\"producer_id\":\"0190a000-0000-7000-8000-00000000ad01\"}");
	h_resp_free(&r);
	expect(&r, 422, "POST", "/v1/sales/exports", s.m.token, NULL, "{\"status\":\"lost\"}");
	assert_string_equal(h_json_str(&r, "error.param"), "status");
	h_resp_free(&r);
	snprintf(body, sizeof(body), "{\"product_id\":\"%s\"}", other.product);
	expect(&r, 404, "POST", "/v1/sales/exports", s.m.token, NULL, body);
	h_resp_free(&r);
	assert_int_equal(h_sql_int(db_name, "SELECT COUNT(*) FROM reports"), 0);

	snprintf(body, sizeof(body),
		 "{\"status\":\"paid\",\"product_id\":\"%s\",\"from\":\"2026-04-01\","
		 "\"to\":\"2026-04-30\"}",
		 s.product);
	expect(&r, 202, "POST", "/v1/sales/exports", s.m.token, NULL, body);
	id = strdup(h_json_str(&r, "id"));
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/sales/exports/%s", id);
	/* someone else's export is nobody's */
	expect(&r, 404, "GET", path, other.m.token, NULL, NULL);
	h_resp_free(&r);
	for (int i = 0; i < 300 && !done; i++) {
		expect(&r, 200, "GET", path, s.m.token, NULL, NULL);
		done = strcmp(h_json_str(&r, "status"), "done") == 0;
		assert_string_not_equal(h_json_str(&r, "status"), "failed");
		if (done)
			assert_non_null(strstr(h_json_str(&r, "download_url"), "/download"));
		h_resp_free(&r);
		if (!done)
			h_sleep_ms(100);
	}
	assert_true(done);
	snprintf(path, sizeof(path), "/v1/sales/exports/%s/download", id);
	expect(&r, 404, "GET", path, other.m.token, NULL, NULL);
	h_resp_free(&r);
	expect(&r, 200, "GET", path, s.m.token, NULL, NULL);
	assert_non_null(strstr(h_resp_header(&r, "Content-Type"), "text/csv"));
	assert_non_null(strstr(r.body, "order_id,"));
	assert_non_null(strstr(r.body, ",4321,"));
	assert_non_null(strstr(r.body, ",8765,"));
	assert_null(strstr(r.body, ",1111,"));
	assert_null(strstr(r.body, ",2222,"));
	h_resp_free(&r);
	free(id);
}

static void test_cpf_search_splits_and_method_filter(void **state)
{
	struct shop s;
	struct member helper;
	struct h_resp r;
	char cpf[12], other_cpf[12], formatted[20], bidx[65], path[200], order[37];
	const char *admin = h_bearer(ADMIN_ID, "admin") + strlen("Authorization: Bearer ");
	(void)state;

	shop_new(&s);
	member_new(&helper);
	h_make_cpf(4242, cpf);
	h_make_cpf(4343, other_cpf);
	assert_int_equal(b4_pii_blind_index("document", cpf, bidx), 0);
	assert_int_equal(h_sqlf(db_name,
				"UPDATE customers SET document_bidx = '%s' WHERE id = '%s'", bidx,
				s.customer),
			 0);
	snprintf(order, sizeof(order), "0190c000-0000-7000-8000-%012d", seq);
	assert_int_equal(
	    h_sqlf(
		db_name,
		"INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id, status,"
		" payment_method, subtotal_cents, total_cents, access_token_hash)"
		" VALUES ('%s', '%s', '%s', '%s', '%s', 'paid', 'pix', 10000, 10000,"
		" REPEAT('a', 64));"
		"INSERT INTO splits (id, order_id, party, user_id, amount_cents) VALUES"
		" (UUID(), '%s', 'platform', NULL, 1000), (UUID(), '%s', 'producer', '%s', 8000),"
		" (UUID(), '%s', 'coproducer', '%s', 1000)",
		order, s.customer, s.offer, s.product, s.m.id, order, order, s.m.id, order,
		helper.id),
	    0);
	order_add(&s, "paid", "card", 3000, "2026-05-01 12:00:00");

	/* the admin finds it by the buyer's CPF, typed with punctuation */
	snprintf(formatted, sizeof(formatted), "%.3s.%.3s.%.3s-%.2s", cpf, cpf + 3, cpf + 6,
		 cpf + 9);
	snprintf(path, sizeof(path), "/v1/orders?document=%s", formatted);
	call(&r, &bo, "GET", path, admin, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 2);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/orders?document=%s", other_cpf);
	call(&r, &bo, "GET", path, admin, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 0);
	h_resp_free(&r);
	call(&r, &bo, "GET", "/v1/orders?document=123", admin, NULL, NULL);
	assert_int_equal(r.status, 400);
	assert_string_equal(h_json_str(&r, "error.param"), "document");
	h_resp_free(&r);
	/* the CPF never reaches a log */
	assert_false(h_logs_contain(cpf));

	/* the producer sees every split, the co-producer only their own */
	snprintf(path, sizeof(path), "/v1/sales/%s", order);
	expect(&r, 200, "GET", path, s.m.token, NULL, NULL);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "splits")), 3);
	h_resp_free(&r);
	expect(&r, 200, "GET", path, helper.token, NULL, NULL);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "splits")), 1);
	assert_string_equal(
	    cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "splits"), 0), "party")),
	    "coproducer");
	h_resp_free(&r);

	/* GET /sales by payment method */
	expect(&r, 200, "GET", "/v1/sales?payment_method=pix", s.m.token, NULL, NULL);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 1);
	h_resp_free(&r);
	expect(&r, 200, "GET", "/v1/sales?payment_method=card", s.m.token, NULL, NULL);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 1);
	h_resp_free(&r);
	expect(&r, 400, "GET", "/v1/sales?payment_method=cash", s.m.token, NULL, NULL);
	assert_string_equal(h_json_str(&r, "error.param"), "payment_method");
	h_resp_free(&r);
}

static void test_affiliate_links(void **state)
{
	struct shop s;
	struct member affiliate;
	struct h_resp r;
	char path[200], body[256], affiliation[37], code[16];
	const cJSON *links;
	(void)state;

	shop_new(&s);
	member_new(&affiliate);
	snprintf(path, sizeof(path), "/v1/products/%s", s.product);
	expect(&r, 200, "PATCH", path, s.m.token, NULL,
	       "{\"affiliate_program\":{\"enabled\":true,\"commission_bps\":3000}}");
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/products/%s/affiliations", s.product);
	expect(&r, 201, "POST", path, affiliate.token, NULL, NULL);
	snprintf(affiliation, sizeof(affiliation), "%s", h_json_str(&r, "id"));
	h_resp_free(&r);
	/* pending: no links yet */
	snprintf(path, sizeof(path), "/v1/affiliations/%s/links", affiliation);
	expect(&r, 404, "GET", path, affiliate.token, NULL, NULL);
	h_resp_free(&r);
	snprintf(body, sizeof(body), "/v1/affiliations/%s/approve", affiliation);
	expect(&r, 200, "POST", body, s.m.token, NULL, "{}");
	h_resp_free(&r);

	expect(&r, 200, "GET", path, affiliate.token, NULL, NULL);
	links = cJSON_GetObjectItem(r.json, "data");
	assert_int_equal(cJSON_GetArraySize(links), 1);
	snprintf(
	    code, sizeof(code), "%s",
	    cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(links, 0), "offer_code")));
	snprintf(body, sizeof(body), "/pay/%s?ref=%s", code, h_json_str(&r, "ref"));
	assert_string_equal(
	    cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(links, 0), "path")), body);
	h_resp_free(&r);
	/* the links are the affiliate's: the producer and others get 404 */
	expect(&r, 404, "GET", path, s.m.token, NULL, NULL);
	h_resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refresh_rotates_and_reuse_revokes_the_family),
	    cmocka_unit_test(test_logout_revokes_the_session),
	    cmocka_unit_test(test_block_ends_every_session),
	    cmocka_unit_test(test_role_change_ends_sessions),
	    cmocka_unit_test(test_charts_in_the_producer_time_zone),
	    cmocka_unit_test(test_sales_export_by_the_worker),
	    cmocka_unit_test(test_cpf_search_splits_and_method_filter),
	    cmocka_unit_test(test_affiliate_links),
	};

	return cmocka_run_group_tests_name("panel_api", tests, group_setup, group_teardown);
}
