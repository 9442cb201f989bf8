/* test_api_members.c - b4-api over HTTP against the real MariaDB: the
 * producer's path, affiliates, an authorization matrix generated from
 * svc-api/routes.c, bad input on every write route, login rules, webhook
 * URL policy, sales visibility, secrets kept out of logs, and the OpenAPI
 * spec covering every route. */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "b4/auth.h"
#include "b4/crypto.h"

static const char *db_name;
static struct h_proc api;

/* ---- small helpers ------------------------------------------------------ */

/* Everything the helpers allocate lives until the group ends. */
static void *kept[8192];
static size_t nkept;

static void *keep(void *p)
{
	assert_non_null(p);
	assert_true(nkept < sizeof(kept) / sizeof(kept[0]));
	kept[nkept++] = p;
	return p;
}

/* Secrets seen during the run (passwords, tokens, webhook secrets); none
 * may appear in any log. */
static char *secrets[256];
static size_t nsecrets;

static void remember_secret(const char *s)
{
	if (nsecrets < sizeof(secrets) / sizeof(secrets[0]))
		secrets[nsecrets++] = keep(strdup(s));
}

static char *vfmt(const char *fmt, va_list ap)
{
	char *out = NULL;

	if (vasprintf(&out, fmt, ap) < 0)
		return NULL;
	return out;
}

static char *fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	s = vfmt(f, ap);
	va_end(ap);
	return keep(s);
}

/* One request to b4-api as token (NULL: none). */
static void call_on(const struct h_proc *p, struct h_resp *r, const char *method, const char *path,
		    const char *token, const char *body)
{
	char auth[4200];
	const char *headers[3] = {NULL, NULL, NULL};
	size_t n = 0;

	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[n++] = auth;
	}
	if (body)
		headers[n++] = "Content-Type: application/json";
	assert_int_equal(h_http(r, method, h_url(p, path), body, headers), 0);
}

static void call(struct h_resp *r, const char *method, const char *path, const char *token,
		 const char *body)
{
	call_on(&api, r, method, path, token, body);
}

/* Calls and asserts the status; returns the response for inspection. */
static void expect(struct h_resp *r, long status, const char *method, const char *path,
		   const char *token, const char *body)
{
	call(r, method, path, token, body);
	if (r->status != status)
		fprintf(stderr, "%s %s -> %ld (want %ld): %s\n", method, path, r->status, status,
			r->body ? r->body : "");
	assert_int_equal(r->status, status);
}

/* Copies a string field of the last response. */
static char *field(const struct h_resp *r, const char *path)
{
	const char *v = h_json_str(r, path);

	if (!v)
		fprintf(stderr, "no %s in %s\n", path, r->body ? r->body : "");
	assert_non_null(v);
	return keep(strdup(v));
}

struct member {
	char *id, *token, *email, *password;
};

static int member_seq;

/* Signs a new member up; the token is theirs. */
static void member_new(struct member *m, const char *name)
{
	struct h_resp r;
	char *body;

	m->email = fmt("%s%d.%d@example.com", name, (int)getpid(), ++member_seq);
	m->password = fmt("pw-%s-%d-correct-horse", name, member_seq);
	body = fmt("{\"email\":\"%s\",\"password\":\"%s\",\"full_name\":\"%s Test\"}", m->email,
		   m->password, name);
	expect(&r, 201, "POST", "/v1/auth/signup", NULL, body);
	m->id = field(&r, "user.id");
	m->token = field(&r, "token");
	remember_secret(m->password);
	remember_secret(m->token);
	h_resp_free(&r);
}

/* POSTs (or another method) and returns the new object's id. */
static char *create(const char *method, const char *path, const char *token, const char *body)
{
	struct h_resp r;
	char *id;

	expect(&r, 201, method, path, token, body);
	id = field(&r, "id");
	h_resp_free(&r);
	return id;
}

/* A fingerprint of every table b4-api writes: equal before and after means
 * nothing changed. */
static char *db_snapshot(void)
{
	return h_sql_value(
	    db_name,
	    "SELECT CONCAT_WS('/',"
	    " (SELECT CONCAT(COUNT(*), ':', COALESCE(MAX(updated_at), '')) FROM users),"
	    " (SELECT CONCAT(COUNT(*), ':', COALESCE(MAX(updated_at), '')) FROM products),"
	    " (SELECT CONCAT(COUNT(*), ':', COALESCE(MAX(updated_at), '')) FROM offers),"
	    " (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(position), 0)) FROM offer_bumps),"
	    " (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(share_bps), 0)) FROM coproducers),"
	    " (SELECT CONCAT(COUNT(*), ':', COALESCE(MAX(updated_at), '')) FROM coupons),"
	    " (SELECT CONCAT(COUNT(*), ':', COALESCE(MAX(decided_at), ''),"
	    "   GROUP_CONCAT(status ORDER BY id)) FROM affiliations),"
	    " (SELECT CONCAT(COUNT(*), ':', COALESCE(MAX(updated_at), '')) FROM campaigns),"
	    " (SELECT CONCAT(COUNT(*), ':', COALESCE(MAX(updated_at), '')) FROM webhook_endpoints),"
	    " (SELECT CONCAT(COUNT(*), ':', COALESCE(MAX(updated_at), '')) FROM "
	    "webhook_deliveries),"
	    " (SELECT CONCAT(COUNT(*), ':', COALESCE(MAX(updated_at), '')) FROM orders),"
	    " (SELECT COUNT(*) FROM refunds), (SELECT COUNT(*) FROM jobs))");
}

/* ---- the route table, read from svc-api/routes.c ------------------------ */

struct route {
	char method[8];
	char pattern[128];
	bool public_route;
};

static struct route routes[128];
static size_t nroutes;

/* The whole file as a NUL-terminated string the caller frees. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text;
	long len;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return text;
}

static void routes_load(void)
{
	char path[2048], *text, *p;

	if (nroutes)
		return;
	snprintf(path, sizeof(path), "%s/svc-api/routes.c", h_top());
	text = read_text(path);
	p = strstr(text, "api_routes[] = {");
	assert_non_null(p);
	while ((p = strstr(p, "{\"")) != NULL) {
		struct route *r = &routes[nroutes];
		char *role;
		assert_int_equal(sscanf(p, "{\"%7[A-Z]\", \"%127[^\"]\"", r->method, r->pattern),
				 2);
		role = strstr(p, "B4_ROLE_");
		assert_non_null(role);
		r->public_route = strncmp(role, "B4_ROLE_PUBLIC", 14) == 0;
		nroutes++;
		p = role;
	}
	free(text);
	assert_true(nroutes > 30);
}

/* ---- fixtures ------------------------------------------------------------ */

static int group_setup(void **state)
{
	const char *env[] = {"B4_LOGIN_MAX_PER_IP=100000", NULL};
	(void)state;
	db_name = h_db_create("b4_api_members", false);
	if (!db_name)
		return -1;
	return h_start(&api, "b4-api", db_name, env);
}

static int group_teardown(void **state)
{
	(void)state;
	h_stop(&api, SIGTERM, 10000);
	for (size_t i = 0; i < nkept; i++)
		free(kept[i]);
	nkept = 0;
	return 0;
}

/* Objects of one member, built over HTTP (and SQL for what other services
 * write: orders, splits, deliveries). */
struct estate {
	struct member m;
	char *product, *open_product, *offer, *offer2, *coupon, *coproducer, *campaign, *webhook;
	char *affiliation, *order, *delivery;
	struct member helper; /* co-producer and affiliate of the estate */
};

static void estate_build(struct estate *e, const char *name)
{
	struct h_resp r;
	char *path, *body, *sql, *customer;

	member_new(&e->m, name);
	member_new(&e->helper, "helper");
	e->product =
	    create("POST", "/v1/products", e->m.token,
		   "{\"name\":\"Closed course\",\"type\":\"course\",\"status\":\"active\"}");
	e->open_product =
	    create("POST", "/v1/products", e->m.token,
		   "{\"name\":\"Open course\",\"type\":\"course\",\"status\":\"active\","
		   "\"affiliate_program\":{\"enabled\":true,\"commission_bps\":3000}}");
	path = fmt("/v1/products/%s/offers", e->product);
	e->offer = create("POST", path, e->m.token, "{\"name\":\"Main\",\"price_cents\":9700}");
	e->offer2 = create("POST", path, e->m.token, "{\"name\":\"Bump\",\"price_cents\":1900}");
	path = fmt("/v1/products/%s/coupons", e->product);
	e->coupon = create("POST", path, e->m.token, "{\"code\":\"TEN\",\"percent_bps\":1000}");
	path = fmt("/v1/products/%s/coproducers", e->product);
	body = fmt("{\"email\":\"%s\",\"share_bps\":1000}", e->helper.email);
	e->coproducer = create("POST", path, e->m.token, body);
	body = fmt("{\"name\":\"Launch\",\"product_id\":\"%s\",\"utm_source\":\"ig\"}", e->product);
	e->campaign = create("POST", "/v1/campaigns", e->m.token, body);
	e->webhook = create("POST", "/v1/webhooks", e->m.token,
			    "{\"url\":\"http://127.0.0.1:9/hook\",\"events\":[\"refund\"]}");
	path = fmt("/v1/products/%s/affiliations", e->open_product);
	e->affiliation = create("POST", path, e->helper.token, NULL);
	/* what checkout and the workers would have written */
	e->order = keep(malloc(37));
	e->delivery = keep(malloc(37));
	customer = malloc(37);
	b4_crypto_uuid7(e->order);
	b4_crypto_uuid7(e->delivery);
	b4_crypto_uuid7(customer);
	sql =
	    fmt("INSERT INTO customers (id, email, full_name, document_enc, document_bidx,"
		" document_type) VALUES ('%s', 'buyer@example.com', 'Bia Buyer', 'x', '%s', 'cpf');"
		"INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id, status,"
		" payment_method, subtotal_cents, total_cents, access_token_hash, paid_at)"
		" VALUES ('%s', '%s', '%s', '%s', '%s', 'paid', 'pix', 9700, 9700, REPEAT('a', 64),"
		" UTC_TIMESTAMP(6));"
		"INSERT INTO splits (id, order_id, party, user_id, amount_cents) VALUES"
		" (UUID(), '%s', 'platform', NULL, 970), (UUID(), '%s', 'producer', '%s', 7857),"
		" (UUID(), '%s', 'coproducer', '%s', 873);"
		"INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event, payload, status)"
		" VALUES ('%s', '%s', UUID(), 'refund', '{}', 'failed')",
		customer, customer, e->order, customer, e->offer, e->product, e->m.id, e->order,
		e->order, e->m.id, e->order, e->helper.id, e->delivery, e->webhook);
	assert_int_equal(h_sql(db_name, sql), 0);
	assert_int_equal(h_db_rebuild_aggregates(db_name), 0);
	free(customer);
	(void)r;
}

/* Replaces :params of a route pattern with the estate's ids. */
static char *route_path(const struct route *rt, const struct estate *e)
{
	char out[512], seg[128], prev[128] = "";
	const char *p = rt->pattern;
	size_t used = 0;

	out[0] = '\0';
	while (*p == '/') {
		size_t n = strcspn(p + 1, "/");
		const char *value;
		snprintf(seg, sizeof(seg), "%.*s", (int)n, p + 1);
		p += n + 1;
		value = seg;
		if (seg[0] == ':') {
			if (strcmp(seg, ":coproducer_id") == 0)
				value = e->coproducer;
			else if (strcmp(seg, ":delivery_id") == 0)
				value = e->delivery;
			else if (strcmp(prev, "products") == 0)
				value =
				    strstr(rt->pattern, "affiliations") ? e->product : e->product;
			else if (strcmp(prev, "offers") == 0)
				value = e->offer;
			else if (strcmp(prev, "coupons") == 0)
				value = e->coupon;
			else if (strcmp(prev, "affiliations") == 0)
				value = e->affiliation;
			else if (strcmp(prev, "campaigns") == 0)
				value = e->campaign;
			else if (strcmp(prev, "webhooks") == 0)
				value = e->webhook;
			else if (strcmp(prev, "sales") == 0 || strcmp(prev, "exports") == 0)
				value = e->order;
			else
				fail_msg("no id for %s in %s", seg, rt->pattern);
		}
		used += (size_t)snprintf(out + used, sizeof(out) - used, "/%s", value);
		snprintf(prev, sizeof(prev), "%s", seg);
	}
	return keep(strdup(out));
}

/* A body that would be accepted from the owner, so only ownership decides. */
static const char *valid_body(const struct route *rt, const struct estate *intruder)
{
	static char buf[512];
	const char *m = rt->method, *p = rt->pattern;

	if (strcmp(m, "GET") == 0 || strcmp(m, "DELETE") == 0)
		return NULL;
	if (strstr(p, "/resend"))
		return "{}";
	if (strstr(p, "/offers") && strcmp(m, "POST") == 0)
		return "{\"name\":\"Intruder\",\"price_cents\":1000}";
	if (strstr(p, "/coproducers")) {
		snprintf(buf, sizeof(buf), "{\"email\":\"%s\",\"share_bps\":100}",
			 intruder->helper.email);
		return buf;
	}
	if (strstr(p, "/coupons") && strcmp(m, "POST") == 0)
		return "{\"code\":\"INTRUDER\",\"percent_bps\":100}";
	if (strstr(p, "/coupons"))
		return "{\"active\":false}";
	if (strstr(p, "/bumps"))
		return "{\"offer_ids\":[]}";
	if (strstr(p, "/upsell"))
		return "{\"offer_id\":null}";
	if (strstr(p, "/refund"))
		return "{\"reason\":\"intruder\"}";
	if (strstr(p, "/webhooks/"))
		return "{\"active\":false}";
	if (strstr(p, "/campaigns/"))
		return "{\"name\":\"Intruder\"}";
	if (strstr(p, "/products/") && strcmp(m, "PATCH") == 0)
		return "{\"name\":\"Intruder\"}";
	if (strstr(p, "/offers/"))
		return "{\"name\":\"Intruder\"}";
	return "{}";
}

/* ---- tests ---------------------------------------------------------------- */

static void test_producer_full_path(void **state)
{
	struct member producer, affiliate;
	struct h_resp r;
	char *product, *offer, *bump1, *bump2, *upsell, *path, *body, *affiliation, *token;
	long long jobs;
	(void)state;

	member_new(&producer, "producer");
	/* log in with the password (the signup token is not needed) */
	body = fmt("{\"email\":\"%s\",\"password\":\"%s\"}", producer.email, producer.password);
	expect(&r, 200, "POST", "/v1/auth/login", NULL, body);
	token = field(&r, "token");
	remember_secret(token);
	assert_string_equal(h_json_str(&r, "user.id"), producer.id);
	assert_non_null(h_json_str(&r, "expires_at"));
	h_resp_free(&r);
	expect(&r, 200, "GET", "/v1/me", token, NULL);
	assert_string_equal(h_json_str(&r, "email"), producer.email);
	assert_null(strstr(r.body, "password"));
	h_resp_free(&r);

	product = create("POST", "/v1/products", token,
			 "{\"name\":\"Curso de C\",\"description\":\"Do zero\",\"type\":\"course\","
			 "\"guarantee_days\":15}");
	path = fmt("/v1/products/%s/offers", product);
	expect(&r, 201, "POST", path, token,
	       "{\"name\":\"Completo\",\"price_cents\":29700,\"max_installments\":12,"
	       "\"interest_free_installments\":3,\"payment_methods\":[\"card\",\"pix\"]}");
	offer = field(&r, "id");
	assert_int_equal(strlen(h_json_str(&r, "code")), 10);
	h_resp_free(&r);
	bump1 = create("POST", path, token, "{\"name\":\"Ebook\",\"price_cents\":4700}");
	bump2 = create("POST", path, token, "{\"name\":\"Mentoria\",\"price_cents\":9700}");
	upsell = create("POST", path, token, "{\"name\":\"Upsell\",\"price_cents\":19700}");

	path = fmt("/v1/offers/%s/bumps", offer);
	body = fmt("{\"offer_ids\":[\"%s\",\"%s\"]}", bump1, bump2);
	expect(&r, 200, "PUT", path, token, body);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "bumps")), 2);
	h_resp_free(&r);
	assert_int_equal(
	    h_sql_int(db_name,
		      fmt("SELECT COUNT(*) FROM offer_bumps WHERE offer_id = '%s'", offer)),
	    2);
	path = fmt("/v1/offers/%s/upsell", offer);
	body = fmt("{\"offer_id\":\"%s\",\"one_click\":true}", upsell);
	expect(&r, 200, "PUT", path, token, body);
	assert_string_equal(h_json_str(&r, "upsell.offer_id"), upsell);
	h_resp_free(&r);

	path = fmt("/v1/products/%s/coupons", product);
	expect(&r, 201, "POST", path, token,
	       "{\"code\":\"BEMVINDO10\",\"percent_bps\":1000,\"payment_methods\":[\"pix\"],"
	       "\"min_amount_cents\":1000,\"expires_at\":\"2099-12-31T23:59:59Z\",\"max_uses\":100,"
	       "\"once_per_customer\":true}");
	assert_string_equal(h_json_str(&r, "expires_at"), "2099-12-31T23:59:59.000000Z");
	h_resp_free(&r);
	/* the same code twice on one product is a conflict naming the field */
	expect(&r, 409, "POST", path, token, "{\"code\":\"BEMVINDO10\",\"amount_cents\":500}");
	assert_string_equal(h_json_str(&r, "error.param"), "code");
	h_resp_free(&r);

	/* open the affiliate program */
	path = fmt("/v1/products/%s", product);
	expect(&r, 200, "PATCH", path, token,
	       "{\"status\":\"active\",\"affiliate_program\":{\"enabled\":true,"
	       "\"commission_bps\":4000,\"cookie_days\":90,\"attribution\":\"first_click\"}}");
	assert_string_equal(h_json_str(&r, "affiliate_program.attribution"), "first_click");
	assert_string_equal(h_json_str(&r, "description"), "Do zero");
	h_resp_free(&r);

	/* an affiliate finds it and asks to promote it */
	member_new(&affiliate, "affiliate");
	expect(&r, 200, "GET", "/v1/marketplace?limit=100", affiliate.token, NULL);
	assert_non_null(strstr(r.body, product));
	h_resp_free(&r);
	path = fmt("/v1/products/%s/affiliations", product);
	expect(&r, 201, "POST", path, affiliate.token, NULL);
	affiliation = field(&r, "id");
	assert_string_equal(h_json_str(&r, "status"), "pending");
	h_resp_free(&r);
	expect(&r, 409, "POST", path, affiliate.token, NULL);
	h_resp_free(&r);
	/* the producer cannot affiliate to their own product */
	expect(&r, 422, "POST", path, token, NULL);
	h_resp_free(&r);
	jobs = h_sql_int(db_name, fmt("SELECT COUNT(*) FROM jobs WHERE type = 'webhook.event' AND"
				      " dedup_key = 'affiliation-requested:%s:pending' AND"
				      " JSON_VALUE(payload, '$.owner_id') = '%s'",
				      affiliation, producer.id));
	assert_int_equal(jobs, 1);

	/* the producer sees the request and approves it */
	expect(&r, 200, "GET", "/v1/affiliations?as=producer&status=pending", token, NULL);
	assert_non_null(strstr(r.body, affiliation));
	h_resp_free(&r);
	path = fmt("/v1/affiliations/%s/approve", affiliation);
	expect(&r, 200, "POST", path, token, NULL);
	assert_string_equal(h_json_str(&r, "status"), "approved");
	h_resp_free(&r);
	expect(&r, 409, "POST", path, token, NULL);
	h_resp_free(&r);
	jobs = h_sql_int(db_name, fmt("SELECT COUNT(*) FROM jobs WHERE dedup_key ="
				      " 'approved-affiliate:%s:approved' AND"
				      " JSON_VALUE(payload, '$.event') = 'approved-affiliate'",
				      affiliation));
	assert_int_equal(jobs, 1);

	/* the affiliate sees the ref for their links */
	expect(&r, 200, "GET", "/v1/affiliations?as=affiliate", affiliate.token, NULL);
	assert_non_null(strstr(r.body, affiliation));
	assert_non_null(strstr(r.body, "\"approved\""));
	{
		cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 0);
		cJSON *ref = cJSON_GetObjectItem(first, "ref");
		assert_true(cJSON_IsString(ref));
		assert_int_equal(strlen(ref->valuestring), 10);
	}
	h_resp_free(&r);
	/* the approved affiliate may run a campaign for it */
	body = fmt("{\"name\":\"Stories\",\"product_id\":\"%s\",\"utm_source\":\"instagram\","
		   "\"utm_medium\":\"stories\",\"utm_campaign\":\"black-friday\"}",
		   product);
	expect(&r, 201, "POST", "/v1/campaigns", affiliate.token, body);
	assert_string_equal(h_json_str(&r, "utm_campaign"), "black-friday");
	h_resp_free(&r);
}

static void test_coproducer_shares_keep_owner_30_percent(void **state)
{
	struct member owner, c1, c2;
	struct h_resp r;
	char *product, *path, *body;
	(void)state;

	member_new(&owner, "owner");
	member_new(&c1, "co1");
	member_new(&c2, "co2");
	product =
	    create("POST", "/v1/products", owner.token, "{\"name\":\"P\",\"type\":\"ebook\"}");
	path = fmt("/v1/products/%s/coproducers", product);
	body = fmt("{\"email\":\"%s\",\"share_bps\":6000}", c1.email);
	expect(&r, 201, "POST", path, owner.token, body);
	h_resp_free(&r);
	body = fmt("{\"email\":\"%s\",\"share_bps\":1001}", c2.email);
	expect(&r, 422, "POST", path, owner.token, body);
	assert_string_equal(h_json_str(&r, "error.param"), "share_bps");
	h_resp_free(&r);
	body = fmt("{\"email\":\"%s\",\"share_bps\":1000,\"ends_at\":\"2099-01-01T00:00:00Z\"}",
		   c2.email);
	expect(&r, 201, "POST", path, owner.token, body);
	h_resp_free(&r);
	/* the owner cannot be their own co-producer */
	body = fmt("{\"email\":\"%s\",\"share_bps\":1}", owner.email);
	expect(&r, 422, "POST", path, owner.token, body);
	h_resp_free(&r);
	assert_int_equal(h_sql_int(db_name, fmt("SELECT SUM(share_bps) FROM coproducers WHERE"
						" product_id = '%s'",
						product)),
			 7000);
}

static void test_signup_document_is_encrypted(void **state)
{
	struct h_resp r;
	char *email = fmt("doc%d@example.com", (int)getpid());
	char *body = fmt("{\"email\":\"%s\",\"password\":\"a-long-password-1\","
			 "\"full_name\":\"Dora Doc\",\"document\":\"529.982.247-25\"}",
			 email);
	char *sql;
	(void)state;

	remember_secret("a-long-password-1");
	remember_secret("52998224725");
	expect(&r, 201, "POST", "/v1/auth/signup", NULL, body);
	assert_true(
	    cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "user"), "has_document")));
	assert_null(strstr(r.body, "52998224725"));
	remember_secret(h_json_str(&r, "token"));
	h_resp_free(&r);
	sql = fmt("SELECT COUNT(*) FROM users WHERE email = '%s' AND document_enc NOT LIKE"
		  " '%%52998224725%%' AND document_enc NOT LIKE '%%529.982%%'"
		  " AND LENGTH(document_bidx) = 64",
		  email);
	assert_int_equal(h_sql_int(db_name, sql), 1);
	/* the same email again (any case) is a conflict on that field */
	email[0] = 'D';
	body = fmt("{\"email\":\"%s\",\"password\":\"a-long-password-1\","
		   "\"full_name\":\"Dora Again\"}",
		   email);
	expect(&r, 409, "POST", "/v1/auth/signup", NULL, body);
	assert_string_equal(h_json_str(&r, "error.param"), "email");
	h_resp_free(&r);
}

/* Forty co-producers of 35% asked for at once: the product row lock lets
 * exactly two in (70%), never a third past the cap. */
static void test_concurrent_coproducers_respect_the_cap(void **state)
{
	enum { RACERS = 40 };
	struct member owner;
	char *product, *path, *sql;
	pid_t pids[RACERS];
	int admitted = 0, gate[2];
	(void)state;

	member_new(&owner, "racer");
	/* the racers only need to exist: plain rows, no sign-up cost */
	sql = fmt("INSERT INTO users (id, email, password_hash, full_name)"
		  " SELECT CONCAT('01900000-0000-7000-9000-', LPAD(seq, 12, '0')),"
		  " CONCAT('racer', seq, '-%d@example.com'), '$argon2id$v=19$m=19456,t=2,p=1$"
		  "bnNiN0QyMUloWFZmVDJCeg$BjTcV8vZQF5tz5ZiI1F3CSZCKR+jMl4q2WG1urZHg3Y', 'Racer'"
		  " FROM seq_1_to_%d",
		  (int)getpid(), RACERS);
	assert_int_equal(h_sql(db_name, sql), 0);
	product =
	    create("POST", "/v1/products", owner.token, "{\"name\":\"R\",\"type\":\"course\"}");
	path = fmt("/v1/products/%s/coproducers", product);
	/* every racer waits at the gate (a pipe) until all are ready */
	assert_int_equal(pipe(gate), 0);
	for (int i = 0; i < RACERS; i++) {
		char *body = fmt("{\"email\":\"racer%d-%d@example.com\",\"share_bps\":3500}", i + 1,
				 (int)getpid());
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct h_resp r;
			char c;
			close(gate[1]);
			if (read(gate[0], &c, 1) != 0)
				_exit(3);
			call(&r, "POST", path, owner.token, body);
			_exit(r.status == 201 ? 0 : r.status == 422 ? 1 : 2);
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (int i = 0; i < RACERS; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_true(WEXITSTATUS(status) <= 1);
		admitted += WEXITSTATUS(status) == 0;
	}
	assert_int_equal(h_sql_int(db_name, fmt("SELECT SUM(share_bps) FROM coproducers WHERE"
						" product_id = '%s'",
						product)),
			 7000);
	assert_int_equal(admitted, 2);
}

static void test_login_rules(void **state)
{
	struct member m;
	struct h_resp wrong, unknown, r;
	char *body;
	(void)state;

	member_new(&m, "login");
	body = fmt("{\"email\":\"%s\",\"password\":\"not-the-password\"}", m.email);
	expect(&wrong, 401, "POST", "/v1/auth/login", NULL, body);
	expect(&unknown, 401, "POST", "/v1/auth/login", NULL,
	       "{\"email\":\"nobody-here@example.com\",\"password\":\"not-the-password\"}");
	/* a wrong password and an unknown email look the same */
	assert_string_equal(h_json_str(&wrong, "error.code"), h_json_str(&unknown, "error.code"));
	assert_string_equal(h_json_str(&wrong, "error.message"),
			    h_json_str(&unknown, "error.message"));
	assert_string_equal(h_json_str(&wrong, "error.type"), "authentication_error");
	h_resp_free(&wrong);
	h_resp_free(&unknown);

	/* email is case-insensitive */
	body = fmt("{\"email\":\"%c%s\",\"password\":\"%s\"}", m.email[0] - 32, m.email + 1,
		   m.password);
	expect(&r, 200, "POST", "/v1/auth/login", NULL, body);
	h_resp_free(&r);

	/* blocked: no login, and the token already issued stops working */
	assert_int_equal(
	    h_sql(db_name, fmt("UPDATE users SET status = 'blocked' WHERE id = '%s'", m.id)), 0);
	expect(&r, 403, "POST", "/v1/auth/login", NULL, body);
	assert_string_equal(h_json_str(&r, "error.code"), "account_blocked");
	assert_null(h_json_str(&r, "token"));
	h_resp_free(&r);
	expect(&r, 401, "GET", "/v1/me", m.token, NULL);
	h_resp_free(&r);

	/* a hash made with older, weaker parameters is upgraded at login */
	remember_secret("old-params-password-1");
	assert_int_equal(h_sql(db_name,
			       "INSERT INTO users (id, email, password_hash, full_name) VALUES"
			       " ('01900000-0000-7000-8000-0000000000aa', 'old-hash@example.com',"
			       " '$argon2id$v=19$m=4096,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$"
			       "zA3IUbMVoYF3bFmex6iKExHeCvup3QeJGljiJwRIvHQ', 'Old Hash')"),
			 0);
	expect(&r, 200, "POST", "/v1/auth/login", NULL,
	       "{\"email\":\"old-hash@example.com\",\"password\":\"old-params-password-1\"}");
	remember_secret(h_json_str(&r, "token"));
	h_resp_free(&r);
	assert_int_equal(h_sql_int(db_name, "SELECT COUNT(*) FROM users WHERE email ="
					    " 'old-hash@example.com' AND password_hash LIKE"
					    " '$argon2id$v=19$m=19456,t=2,p=1$%'"),
			 1);
}

static void test_login_rate_limit_spans_replicas(void **state)
{
	const char *env[] = {"B4_LOGIN_MAX_PER_EMAIL=3", "B4_LOGIN_MAX_PER_IP=100000", NULL};
	struct h_proc a, b;
	struct member m;
	struct h_resp r;
	char *body;
	const char *retry;
	(void)state;

	member_new(&m, "limited");
	assert_int_equal(h_start(&a, "b4-api", db_name, env), 0);
	assert_int_equal(h_start(&b, "b4-api", db_name, env), 0);
	body = fmt("{\"email\":\"%s\",\"password\":\"wrong-password\"}", m.email);
	/* three attempts spread over two replicas, then the fourth anywhere is refused */
	call_on(&a, &r, "POST", "/v1/auth/login", NULL, body);
	assert_int_equal(r.status, 401);
	h_resp_free(&r);
	call_on(&b, &r, "POST", "/v1/auth/login", NULL, body);
	assert_int_equal(r.status, 401);
	h_resp_free(&r);
	call_on(&a, &r, "POST", "/v1/auth/login", NULL, body);
	assert_int_equal(r.status, 401);
	h_resp_free(&r);
	call_on(&b, &r, "POST", "/v1/auth/login", NULL, body);
	assert_int_equal(r.status, 429);
	assert_string_equal(h_json_str(&r, "error.type"), "rate_limit_error");
	retry = h_resp_header(&r, "Retry-After");
	assert_non_null(retry);
	assert_true(atoi(retry) >= 1);
	h_resp_free(&r);
	/* even the right password waits out the window */
	body = fmt("{\"email\":\"%s\",\"password\":\"%s\"}", m.email, m.password);
	call_on(&a, &r, "POST", "/v1/auth/login", NULL, body);
	assert_int_equal(r.status, 429);
	h_resp_free(&r);
	h_stop(&a, SIGTERM, 10000);
	h_stop(&b, SIGTERM, 10000);
}

static void test_login_limit_per_client_address(void **state)
{
	const char *env[] = {"B4_LOGIN_MAX_PER_IP=2", "B4_TRUST_PROXY=true", NULL};
	const char *from_a[] = {"Content-Type: application/json", "X-Forwarded-For: 203.0.113.7",
				NULL};
	const char *from_b[] = {"Content-Type: application/json",
				"X-Forwarded-For: 203.0.113.7, 198.51.100.9", NULL};
	const char *body = "{\"email\":\"who@example.com\",\"password\":\"guess-guess\"}";
	struct h_proc p;
	struct h_resp r;
	(void)state;

	assert_int_equal(h_start(&p, "b4-api", db_name, env), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(h_http(&r, "POST", h_url(&p, "/v1/auth/login"), body, from_a), 0);
		assert_int_equal(r.status, 401);
		h_resp_free(&r);
	}
	assert_int_equal(h_http(&r, "POST", h_url(&p, "/v1/auth/login"), body, from_a), 0);
	assert_int_equal(r.status, 429);
	assert_non_null(h_resp_header(&r, "Retry-After"));
	h_resp_free(&r);
	/* behind the proxy the last X-Forwarded-For entry is the client */
	assert_int_equal(h_http(&r, "POST", h_url(&p, "/v1/auth/login"), body, from_b), 0);
	assert_int_equal(r.status, 401);
	h_resp_free(&r);
	h_stop(&p, SIGTERM, 10000);
}

static void test_startup_needs_field_keys(void **state)
{
	char cmd[2400];
	(void)state;

	snprintf(cmd, sizeof(cmd),
		 "timeout 5 env -u B4_FIELD_KEYS B4_JWT_SECRET=%s B4_PORT=0 '%s/bin/b4-api' "
		 ">/dev/null 2>&1",
		 H_JWT_SECRET, h_build());
	assert_int_equal(WEXITSTATUS(system(cmd)), 2);
}

/* Signs a token with the harness key but the given audience, expiry. */
static char *token_with(const char *user_id, const char *audience, int64_t now, int64_t ttl)
{
	struct b4_jwt_config cfg;
	struct b4_principal p;
	char err[128], *token = NULL;

	assert_int_equal(b4_auth_jwt_config_init(&cfg, H_JWT_SECRET, strlen(H_JWT_SECRET),
						 H_JWT_ISSUER, audience, ttl, 0, err, sizeof(err)),
			 0);
	memset(&p, 0, sizeof(p));
	snprintf(p.user_id, sizeof(p.user_id), "%s", user_id);
	snprintf(p.role, sizeof(p.role), "member");
	assert_int_equal(b4_auth_jwt_sign(&cfg, &p, now, &token), 0);
	b4_auth_jwt_config_cleanup(&cfg);
	return token;
}

static void test_authorization_matrix(void **state)
{
	struct estate a, b;
	struct h_resp r;
	char *before, *after, *bad[5], *good, *none_token;
	char header_b64[64], *payload;
	int64_t now = (int64_t)time(NULL);
	int cases = 0, idor = 0;
	(void)state;

	routes_load();
	estate_build(&a, "alice");
	estate_build(&b, "bob");

	/* tokens that must never pass */
	good = token_with(a.m.id, H_JWT_AUDIENCE, now, 600);
	bad[0] = strdup(good);
	bad[0][strlen(bad[0]) - 3] = bad[0][strlen(bad[0]) - 3] == 'A' ? 'B' : 'A'; /* tampered */
	bad[1] = token_with(a.m.id, H_JWT_AUDIENCE, now - 7200, 600);		    /* expired */
	bad[2] = token_with(a.m.id, "another-audience", now, 600);		    /* audience */
	b4_crypto_base64url_encode("{\"alg\":\"none\",\"typ\":\"JWT\"}", 27, header_b64,
				   sizeof(header_b64));
	payload = strchr(good, '.');
	none_token = fmt("%s%.*s.", header_b64, (int)(strchr(payload + 1, '.') - payload), payload);
	bad[3] = none_token; /* alg none, valid claims, no signature */
	bad[4] = fmt("%s.%s", "eyJhbGciOiJIUzI1NiJ9", "e30.c2lnbmF0dXJl"); /* garbage */

	before = db_snapshot();
	for (size_t i = 0; i < nroutes; i++) {
		const struct route *rt = &routes[i];
		char *path = route_path(rt, &a);
		const char *body = valid_body(rt, &b);

		if (rt->public_route) {
			continue;
		}
		/* no token, and every kind of bad token: 401 */
		call(&r, rt->method, path, NULL, body);
		if (r.status != 401)
			fprintf(stderr, "no token: %s %s -> %ld\n", rt->method, path, r.status);
		assert_int_equal(r.status, 401);
		assert_string_equal(h_json_str(&r, "error.type"), "authentication_error");
		h_resp_free(&r);
		cases++;
		for (int k = 0; k < 5; k++) {
			call(&r, rt->method, path, bad[k], body);
			if (r.status != 401)
				fprintf(stderr, "bad token %d: %s %s -> %ld\n", k, rt->method, path,
					r.status);
			assert_int_equal(r.status, 401);
			h_resp_free(&r);
			cases++;
		}
		/* member B with member A's ids: 404, never 200 */
		if (strchr(rt->pattern, ':')) {
			call(&r, rt->method, path, b.m.token, body);
			if (r.status != 404)
				fprintf(stderr, "IDOR: %s %s as B -> %ld %s\n", rt->method, path,
					r.status, r.body);
			assert_int_equal(r.status, 404);
			assert_string_equal(h_json_str(&r, "error.type"), "not_found");
			h_resp_free(&r);
			cases++;
			idor++;
		} else if (strcmp(rt->method, "GET") == 0) {
			/* B's lists never show A's objects */
			call(&r, rt->method, path, b.m.token, NULL);
			assert_int_equal(r.status, 200);
			assert_null(strstr(r.body, a.product));
			assert_null(strstr(r.body, a.offer));
			assert_null(strstr(r.body, a.campaign));
			assert_null(strstr(r.body, a.webhook));
			assert_null(strstr(r.body, a.order));
			h_resp_free(&r);
			cases++;
		}
	}
	after = db_snapshot();
	assert_string_equal(before, after);
	fprintf(stderr, "authorization matrix: %zu routes, %d cases (%d cross-member)\n", nroutes,
		cases, idor);
	for (int k = 0; k < 3; k++)
		free(bad[k]);
	free(good);
	free(before);
	free(after);
}

struct bad_case {
	const char *method;
	const char *path; /* %s: the product, offer, coupon, campaign, webhook or sale id */
	const char *which;
	const char *body;
	long status;
	const char *param;
};

static void test_bad_input_changes_nothing(void **state)
{
	struct estate e;
	char long_name[300], long_url[3100], six[300];
	char *before, *after;
	int count = 0;
	(void)state;

	estate_build(&e, "carol");
	memset(long_name, 'x', sizeof(long_name));
	memcpy(long_name, "{\"name\":\"", 9);
	snprintf(long_name + 9 + 201, sizeof(long_name) - 210, "\",\"type\":\"course\"}");
	snprintf(long_url, sizeof(long_url),
		 "{\"url\":\"https://a.example/%0*d\",\"events\":[\"refund\"]}", 3000, 0);
	snprintf(six, sizeof(six), "{\"offer_ids\":[\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\"]}",
		 e.offer2, e.offer2, e.offer2, e.offer2, e.offer2, e.offer2);
	{
		const struct bad_case cases[] = {
		    {"POST", "/v1/auth/signup", NULL, "{}", 400, "email"},
		    {"POST", "/v1/auth/signup", NULL,
		     "{\"email\":5,\"password\":\"0123456789\",\"full_name\":\"N\"}", 400, "email"},
		    {"POST", "/v1/auth/signup", NULL,
		     "{\"email\":\"not-an-email\",\"password\":\"0123456789\",\"full_name\":\"N\"}",
		     422, "email"},
		    {"POST", "/v1/auth/signup", NULL,
		     "{\"email\":\"s1@example.com\",\"password\":\"short\",\"full_name\":\"N\"}",
		     422, "password"},
		    {"POST", "/v1/auth/signup", NULL,
		     "{\"email\":\"s1@example.com\",\"password\":\"0123456789\",\"full_name\":"
		     "\"N\","
		     "\"document\":\"111.111.111-11\"}",
		     422, "document"},
		    {"POST", "/v1/auth/signup", NULL,
		     "{\"email\":\"s1@example.com\",\"password\":\"0123456789\",\"full_name\":"
		     "\"N\","
		     "\"role\":\"admin\"}",
		     400, "role"},
		    {"POST", "/v1/auth/signup", NULL, "[1,2]", 400, NULL},
		    {"POST", "/v1/auth/login", NULL, "{}", 400, "email"},
		    {"POST", "/v1/auth/login", NULL, "{\"email\":\"a@b.co\"}", 400, "password"},
		    {"POST", "/v1/auth/login", NULL, "{\"email\":[],\"password\":\"x\"}", 400,
		     "email"},
		    {"POST", "/v1/products", NULL, "{}", 400, "name"},
		    {"POST", "/v1/products", NULL, long_name, 422, "name"},
		    {"POST", "/v1/products", NULL, "{\"name\":123,\"type\":\"course\"}", 400,
		     "name"},
		    {"POST", "/v1/products", NULL, "{\"name\":\"x\",\"type\":\"podcast\"}", 422,
		     "type"},
		    {"POST", "/v1/products", NULL,
		     "{\"name\":\"x\",\"type\":\"course\",\"guarantee_days\":8}", 422,
		     "guarantee_days"},
		    {"POST", "/v1/products", NULL,
		     "{\"name\":\"x\",\"type\":\"course\",\"status\":\"deleted\"}", 422, "status"},
		    {"POST", "/v1/products", NULL,
		     "{\"name\":\"x\",\"type\":\"course\",\"affiliate_program\":{\"commission_"
		     "bps\":-1}}",
		     422, "affiliate_program.commission_bps"},
		    {"POST", "/v1/products", NULL,
		     "{\"name\":\"x\",\"type\":\"course\",\"affiliate_program\":{\"cookie_days\":"
		     "45}}",
		     422, "affiliate_program.cookie_days"},
		    {"POST", "/v1/products", NULL,
		     "{\"name\":\"x\",\"type\":\"course\",\"affiliate_program\":{\"foo\":1}}", 400,
		     "affiliate_program.foo"},
		    {"POST", "/v1/products", NULL,
		     "{\"name\":\"x\",\"type\":\"course\",\"affiliate_program\":{\"enabled\":true}"
		     "}",
		     422, "affiliate_program.commission_bps"},
		    {"PATCH", "/v1/products/%s", "product", "{\"guarantee_days\":\"7\"}", 400,
		     "guarantee_days"},
		    {"PATCH", "/v1/products/%s", "product", "{\"status\":\"gone\"}", 422, "status"},
		    {"PATCH", "/v1/products/%s", "product", "{\"producer_id\":\"x\"}", 400,
		     "producer_id"},
		    {"POST", "/v1/products/%s/offers", "product", "{\"name\":\"o\"}", 400,
		     "price_cents"},
		    {"POST", "/v1/products/%s/offers", "product",
		     "{\"name\":\"o\",\"price_cents\":-100}", 422, "price_cents"},
		    {"POST", "/v1/products/%s/offers", "product",
		     "{\"name\":\"o\",\"price_cents\":499}", 422, "price_cents"},
		    {"POST", "/v1/products/%s/offers", "product",
		     "{\"name\":\"o\",\"price_cents\":1000000000000000}", 422, "price_cents"},
		    {"POST", "/v1/products/%s/offers", "product",
		     "{\"name\":\"o\",\"price_cents\":1e300}", 400, "price_cents"},
		    {"POST", "/v1/products/%s/offers", "product",
		     "{\"name\":\"o\",\"price_cents\":10.5}", 400, "price_cents"},
		    {"POST", "/v1/products/%s/offers", "product",
		     "{\"name\":\"o\",\"price_cents\":1000,\"max_installments\":13}", 422,
		     "max_installments"},
		    {"POST", "/v1/products/%s/offers", "product",
		     "{\"name\":\"o\",\"price_cents\":1000,\"max_installments\":3,"
		     "\"interest_free_installments\":4}",
		     422, "interest_free_installments"},
		    {"POST", "/v1/products/%s/offers", "product",
		     "{\"name\":\"o\",\"price_cents\":1000,\"payment_methods\":[\"crypto\"]}", 422,
		     "payment_methods"},
		    {"POST", "/v1/products/%s/offers", "product",
		     "{\"name\":\"o\",\"price_cents\":1000,\"payment_methods\":[]}", 422,
		     "payment_methods"},
		    {"POST", "/v1/products/%s/offers", "product",
		     "{\"name\":\"o\",\"price_cents\":1000,\"payment_methods\":\"card\"}", 400,
		     "payment_methods"},
		    {"PATCH", "/v1/offers/%s", "offer", "{\"price_cents\":\"1000\"}", 400,
		     "price_cents"},
		    {"PATCH", "/v1/offers/%s", "offer", "{\"price_cents\":0}", 422, "price_cents"},
		    {"PATCH", "/v1/offers/%s", "offer", "{\"code\":\"HACKED1234\"}", 400, "code"},
		    {"PUT", "/v1/offers/%s/bumps", "offer", "{}", 400, "offer_ids"},
		    {"PUT", "/v1/offers/%s/bumps", "offer", "{\"offer_ids\":\"x\"}", 400,
		     "offer_ids"},
		    {"PUT", "/v1/offers/%s/bumps", "offer", six, 422, "offer_ids"},
		    {"PUT", "/v1/offers/%s/bumps", "offer",
		     "{\"offer_ids\":[\"01900000-0000-7000-8000-000000000201\"]}", 422,
		     "offer_ids"},
		    {"PUT", "/v1/offers/%s/upsell", "offer", "{\"offer_id\":\"nope\"}", 422,
		     "offer_id"},
		    {"PUT", "/v1/offers/%s/upsell", "offer", "{\"offer_id\":true}", 400,
		     "offer_id"},
		    {"POST", "/v1/products/%s/coproducers", "product", "{\"email\":\"x@y.com\"}",
		     400, "share_bps"},
		    {"POST", "/v1/products/%s/coproducers", "product",
		     "{\"email\":\"x@y.com\",\"share_bps\":7001}", 422, "share_bps"},
		    {"POST", "/v1/products/%s/coproducers", "product",
		     "{\"email\":\"x@y.com\",\"share_bps\":0}", 422, "share_bps"},
		    {"POST", "/v1/products/%s/coproducers", "product",
		     "{\"email\":\"nobody-at-all@example.com\",\"share_bps\":10}", 422, "email"},
		    {"POST", "/v1/products/%s/coproducers", "product",
		     "{\"email\":\"x@y.com\",\"share_bps\":10,\"ends_at\":\"tomorrow\"}", 422,
		     "ends_at"},
		    {"POST", "/v1/products/%s/coupons", "product", "{\"code\":\"AB\"}", 422,
		     "code"},
		    {"POST", "/v1/products/%s/coupons", "product", "{\"code\":\"ABC\"}", 422,
		     "percent_bps"},
		    {"POST", "/v1/products/%s/coupons", "product",
		     "{\"code\":\"ABC\",\"percent_bps\":10,\"amount_cents\":10}", 422,
		     "percent_bps"},
		    {"POST", "/v1/products/%s/coupons", "product",
		     "{\"code\":\"ABC\",\"percent_bps\":10001}", 422, "percent_bps"},
		    {"POST", "/v1/products/%s/coupons", "product",
		     "{\"code\":\"ABC\",\"amount_cents\":-5}", 422, "amount_cents"},
		    {"POST", "/v1/products/%s/coupons", "product",
		     "{\"code\":\"bad code!\",\"amount_cents\":5}", 422, "code"},
		    {"POST", "/v1/products/%s/coupons", "product",
		     "{\"code\":\"ABC\",\"amount_cents\":5,\"min_amount_cents\":-1}", 422,
		     "min_amount_cents"},
		    {"POST", "/v1/products/%s/coupons", "product",
		     "{\"code\":\"ABC\",\"amount_cents\":5,\"max_uses\":0}", 422, "max_uses"},
		    {"POST", "/v1/products/%s/coupons", "product",
		     "{\"code\":\"ABC\",\"amount_cents\":5,\"expires_at\":\"2020-13-45T00:00:"
		     "00Z\"}",
		     422, "expires_at"},
		    {"POST", "/v1/products/%s/coupons", "product",
		     "{\"code\":\"ABC\",\"amount_cents\":5,"
		     "\"affiliate_id\":\"01900000-0000-7000-8000-000000000002\"}",
		     422, "affiliate_id"},
		    {"POST", "/v1/products/%s/coupons", "product",
		     "{\"code\":\"ABC\",\"amount_cents\":5,\"payment_methods\":[\"pix\",\"pix\"]}",
		     422, "payment_methods"},
		    {"PATCH", "/v1/coupons/%s", "coupon", "{\"code\":\"NEW\"}", 400, "code"},
		    {"PATCH", "/v1/coupons/%s", "coupon", "{\"max_uses\":-1}", 422, "max_uses"},
		    {"PATCH", "/v1/coupons/%s", "coupon", "{\"active\":\"yes\"}", 400, "active"},
		    {"POST", "/v1/campaigns", NULL, "{}", 400, "name"},
		    {"POST", "/v1/campaigns", NULL,
		     "{\"name\":\"c\",\"product_id\":\"01900000-0000-7000-8000-000000000101\"}",
		     422, "product_id"},
		    {"PATCH", "/v1/campaigns/%s", "campaign", "{\"utm_source\":7}", 400,
		     "utm_source"},
		    {"POST", "/v1/webhooks", NULL, "{\"events\":[\"refund\"]}", 400, "url"},
		    {"POST", "/v1/webhooks", NULL,
		     "{\"url\":\"ftp://127.0.0.1/x\",\"events\":[\"refund\"]}", 422, "url"},
		    {"POST", "/v1/webhooks", NULL,
		     "{\"url\":\"http://169.254.169.254/latest/"
		     "meta-data\",\"events\":[\"refund\"]}",
		     422, "url"},
		    {"POST", "/v1/webhooks", NULL,
		     "{\"url\":\"http://127.0.0.1:9/h\",\"events\":[\"nope\"]}", 422, "events"},
		    {"POST", "/v1/webhooks", NULL,
		     "{\"url\":\"http://127.0.0.1:9/h\",\"events\":[]}", 422, "events"},
		    {"POST", "/v1/webhooks", NULL, long_url, 422, "url"},
		    {"PATCH", "/v1/webhooks/%s", "webhook", "{\"url\":\"http://[fe80::1]/x\"}", 422,
		     "url"},
		    {"POST", "/v1/sales/%s/refund", "sale", "{}", 400, "reason"},
		    {"POST", "/v1/sales/%s/refund", "sale", "{\"reason\":42}", 400, "reason"},
		    {"POST", "/v1/affiliations/%s/approve", "affiliation", "{\"status\":\"x\"}",
		     400, "status"},
		    {"GET", "/v1/products?limit=0", NULL, NULL, 400, "limit"},
		    {"GET", "/v1/products?limit=abc", NULL, NULL, 400, "limit"},
		    {"GET", "/v1/products?starting_after=%27%20OR%201=1", NULL, NULL, 400,
		     "starting_after"},
		    {"GET", "/v1/sales?status=bogus", NULL, NULL, 400, "status"},
		    {"GET", "/v1/sales?from=yesterday", NULL, NULL, 400, "from"},
		    {"GET", "/v1/affiliations?as=admin", NULL, NULL, 400, "as"},
		};
		before = db_snapshot();
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct bad_case *c = &cases[i];
			const char *id = NULL;
			char path[512];
			struct h_resp r;

			if (c->which) {
				id = strcmp(c->which, "product") == 0	    ? e.product
				     : strcmp(c->which, "offer") == 0	    ? e.offer
				     : strcmp(c->which, "coupon") == 0	    ? e.coupon
				     : strcmp(c->which, "campaign") == 0    ? e.campaign
				     : strcmp(c->which, "webhook") == 0	    ? e.webhook
				     : strcmp(c->which, "affiliation") == 0 ? e.affiliation
									    : e.order;
			}
			{
				const char *hole = strstr(c->path, "%s");
				if (hole)
					snprintf(path, sizeof(path), "%.*s%s%s",
						 (int)(hole - c->path), c->path, id, hole + 2);
				else
					snprintf(path, sizeof(path), "%s", c->path);
			}
			/* approve is the producer's; the rest the estate owner's too */
			call(&r, c->method, path, e.m.token, c->body);
			if (r.status != c->status ||
			    (c->param && (!h_json_str(&r, "error.param") ||
					  strcmp(h_json_str(&r, "error.param"), c->param) != 0)))
				fprintf(stderr, "case %zu: %s %s %s -> %ld %s\n", i, c->method,
					path, c->body ? c->body : "", r.status,
					r.body ? r.body : "");
			assert_int_equal(r.status, c->status);
			assert_string_equal(h_json_str(&r, "error.type"), "invalid_request_error");
			if (c->param)
				assert_string_equal(h_json_str(&r, "error.param"), c->param);
			h_resp_free(&r);
			count++;
		}
		after = db_snapshot();
		assert_string_equal(before, after);
	}
	fprintf(stderr, "bad input: %d cases, database unchanged\n", count);
	free(before);
	free(after);
}

static void test_webhook_secret_once_and_url_policy(void **state)
{
	const char *prod_env[] = {"B4_ENV=production", NULL};
	struct member m;
	struct h_proc prod;
	struct h_resp r;
	char *id, *secret, *stored, *path;
	(void)state;

	member_new(&m, "hooks");
	expect(&r, 201, "POST", "/v1/webhooks", m.token,
	       "{\"url\":\"http://127.0.0.1:9/receiver\",\"events\":[\"approved-payment\","
	       "\"refund\"]}");
	id = field(&r, "id");
	secret = field(&r, "secret");
	remember_secret(secret);
	assert_int_equal(strlen(secret), 64);
	h_resp_free(&r);
	stored = keep(h_sql_value(
	    db_name, fmt("SELECT secret_enc FROM webhook_endpoints WHERE id = '%s'", id)));
	assert_non_null(stored);
	assert_null(strstr(stored, secret));
	path = fmt("/v1/webhooks/%s", id);
	expect(&r, 200, "GET", path, m.token, NULL);
	assert_null(h_json_str(&r, "secret"));
	assert_null(strstr(r.body, secret));
	h_resp_free(&r);
	expect(&r, 200, "GET", "/v1/webhooks", m.token, NULL);
	assert_null(strstr(r.body, secret));
	h_resp_free(&r);
	expect(&r, 200, "PATCH", path, m.token, "{\"events\":[\"chargeback\"],\"active\":false}");
	assert_string_equal(h_json_str(&r, "url"), "http://127.0.0.1:9/receiver");
	h_resp_free(&r);
	expect(&r, 204, "DELETE", path, m.token, NULL);
	h_resp_free(&r);
	expect(&r, 404, "GET", path, m.token, NULL);
	h_resp_free(&r);

	/* production: loopback, private ranges and plain http are refused */
	assert_int_equal(h_start(&prod, "b4-api", db_name, prod_env), 0);
	call_on(&prod, &r, "POST", "/v1/webhooks", m.token,
		"{\"url\":\"http://127.0.0.1:9/receiver\",\"events\":[\"refund\"]}");
	assert_int_equal(r.status, 422);
	assert_string_equal(h_json_str(&r, "error.param"), "url");
	h_resp_free(&r);
	call_on(&prod, &r, "POST", "/v1/webhooks", m.token,
		"{\"url\":\"https://10.1.2.3/receiver\",\"events\":[\"refund\"]}");
	assert_int_equal(r.status, 422);
	h_resp_free(&r);
	call_on(&prod, &r, "POST", "/v1/webhooks", m.token,
		"{\"url\":\"https://127.0.0.1/receiver\",\"events\":[\"refund\"]}");
	assert_int_equal(r.status, 422);
	h_resp_free(&r);
	h_stop(&prod, SIGTERM, 10000);
}

/* Pages through GET /v1/sales?<query>limit=<limit> with the cursor and
 * returns the ids in order ("id,id,..."), checking has_more on the way. */
static char *list_all_sales(const char *token, const char *query, int limit)
{
	char ids[4096] = "", last[64] = "";
	int pages = 0;

	for (;;) {
		struct h_resp r;
		cJSON *data, *item;
		bool more;

		expect(&r, 200, "GET",
		       last[0] ? fmt("/v1/sales?%slimit=%d&starting_after=%s", query, limit, last)
			       : fmt("/v1/sales?%slimit=%d", query, limit),
		       token, NULL);
		data = cJSON_GetObjectItem(r.json, "data");
		more = cJSON_IsTrue(cJSON_GetObjectItem(r.json, "has_more"));
		assert_true(cJSON_GetArraySize(data) <= limit);
		cJSON_ArrayForEach(item, data)
		{
			const char *id = cJSON_GetObjectItem(item, "id")->valuestring;
			snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s%s",
				 ids[0] ? "," : "", id);
			snprintf(last, sizeof(last), "%s", id);
		}
		if (more)
			assert_int_equal(cJSON_GetArraySize(data), limit);
		h_resp_free(&r);
		assert_true(++pages < 50);
		if (!more)
			break;
	}
	return fmt("%s", ids);
}

/* One member in every role (co-producer, affiliate, both on one order)
 * among someone else's orders: each list is complete, newest first, with
 * no order twice, page by page and under every filter. */
static void test_sales_list_pages_across_roles(void **state)
{
	struct estate e;
	struct member other;
	struct h_resp r;
	char *open_offer, *customer = keep(malloc(37)), *ids[8], *stranger_order, *sql;
	const unsigned tag = (unsigned)getpid() & 0xfffff;
	(void)state;

	estate_build(&e, "erin");
	member_new(&other, "other");
	open_offer = create("POST", fmt("/v1/products/%s/offers", e.open_product), e.m.token,
			    "{\"name\":\"Open\",\"price_cents\":5000}");
	b4_crypto_uuid7(customer);
	assert_int_equal(h_sql(db_name, fmt("INSERT INTO customers (id, email, full_name,"
					    " document_enc, document_bidx, document_type) VALUES"
					    " ('%s', 'pages@example.com', 'Page Buyer', 'x', '%s',"
					    " 'cpf')",
					    customer, customer)),
			 0);
	/* ids[1..6]: older than the estate's order (uuid7 of now), in order */
	for (int i = 1; i <= 6; i++) {
		bool open = i >= 4; /* 4..6 through the helper's affiliate link */
		ids[i] = fmt("01900000-%04x-7000-8%03x-%012d", tag & 0xffff, tag >> 16, i);
		sql = fmt(
		    "INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id,"
		    " affiliation_id, affiliate_id, status, payment_method, subtotal_cents,"
		    " total_cents, access_token_hash, created_at) VALUES ('%s', '%s', '%s', '%s',"
		    " '%s', %s%s%s, %s%s%s, '%s', 'pix', 5000, 5000, REPEAT('c', 64),"
		    " UTC_TIMESTAMP(6) - INTERVAL %d DAY);"
		    "INSERT INTO splits (id, order_id, party, user_id, amount_cents) VALUES"
		    " (UUID(), '%s', 'producer', '%s', 3000)",
		    ids[i], customer, open ? open_offer : e.offer,
		    open ? e.open_product : e.product, e.m.id, open ? "'" : "",
		    open ? e.affiliation : "NULL", open ? "'" : "", open ? "'" : "",
		    open ? e.helper.id : "NULL", open ? "'" : "", i == 5 ? "refunded" : "paid",
		    10 - i, ids[i], e.m.id);
		assert_int_equal(h_sql(db_name, sql), 0);
		/* the helper co-produces 1, 3 and 6 (6 also as the affiliate) */
		if (i == 1 || i == 3 || i == 6)
			assert_int_equal(
			    h_sql(db_name, fmt("INSERT INTO splits (id, order_id, party,"
					       " user_id, amount_cents) VALUES (UUID(),"
					       " '%s', 'coproducer', '%s', 500)",
					       ids[i], e.helper.id)),
			    0);
		if (open)
			assert_int_equal(
			    h_sql(db_name, fmt("INSERT INTO splits (id, order_id, party,"
					       " user_id, amount_cents) VALUES (UUID(),"
					       " '%s', 'affiliate', '%s', 1500)",
					       ids[i], e.helper.id)),
			    0);
	}
	/* someone else's sale, seen by nobody here */
	stranger_order = fmt("01900000-%04x-7000-8%03x-%012d", tag & 0xffff, tag >> 16, 7);
	assert_int_equal(
	    h_sql(
		db_name,
		fmt("INSERT INTO products (id, producer_id, name, type, status) SELECT UUID(),"
		    " '%s', 'Other', 'course', 'active';"
		    "INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id, "
		    "status,"
		    " payment_method, subtotal_cents, total_cents, access_token_hash) SELECT '%s',"
		    " '%s', '%s', id, '%s', 'paid', 'pix', 5000, 5000, REPEAT('d', 64) FROM"
		    " products WHERE producer_id = '%s'",
		    other.id, stranger_order, customer, e.offer, other.id, other.id)),
	    0);
	assert_int_equal(h_db_rebuild_aggregates(db_name), 0);

	/* newest first: the estate's order, then 6 down to 1 */
	assert_string_equal(
	    list_all_sales(e.m.token, "", 3),
	    fmt("%s,%s,%s,%s,%s,%s,%s", e.order, ids[6], ids[5], ids[4], ids[3], ids[2], ids[1]));
	assert_string_equal(
	    list_all_sales(e.helper.token, "", 2),
	    fmt("%s,%s,%s,%s,%s,%s", e.order, ids[6], ids[5], ids[4], ids[3], ids[1]));
	assert_string_equal(
	    list_all_sales(e.helper.token, "", 100),
	    fmt("%s,%s,%s,%s,%s,%s", e.order, ids[6], ids[5], ids[4], ids[3], ids[1]));
	assert_string_equal(list_all_sales(other.token, "", 1), stranger_order);
	/* filters apply in every role */
	assert_string_equal(list_all_sales(e.helper.token, "status=refunded&", 1), ids[5]);
	assert_string_equal(list_all_sales(e.helper.token, fmt("product_id=%s&", e.product), 1),
			    fmt("%s,%s,%s", e.order, ids[3], ids[1]));
	assert_string_equal(list_all_sales(e.m.token, fmt("product_id=%s&", e.open_product), 2),
			    fmt("%s,%s,%s", ids[6], ids[5], ids[4]));
	assert_string_equal(
	    list_all_sales(e.helper.token,
			   fmt("from=%s&to=%s&", "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"),
			   4),
	    fmt("%s,%s,%s,%s,%s,%s", e.order, ids[6], ids[5], ids[4], ids[3], ids[1]));
	/* the role shown: affiliate wins over co-producer on order 6 */
	expect(&r, 200, "GET", fmt("/v1/sales/%s", ids[6]), e.helper.token, NULL);
	assert_string_equal(h_json_str(&r, "role"), "affiliate");
	assert_int_equal(cJSON_GetObjectItem(r.json, "my_amount_cents")->valueint, 2000);
	h_resp_free(&r);
	/* the summary counts the same orders */
	expect(&r, 200, "GET", "/v1/sales/summary", e.helper.token, NULL);
	assert_int_equal(cJSON_GetObjectItem(r.json, "paid_count")->valueint, 6);
	assert_string_equal(
	    keep(cJSON_PrintUnformatted(cJSON_GetObjectItem(r.json, "count_by_status"))),
	    "{\"paid\":5,\"refunded\":1}");
	assert_string_equal(
	    keep(cJSON_PrintUnformatted(cJSON_GetObjectItem(r.json, "count_by_payment_method"))),
	    "{\"pix\":6}");
	h_resp_free(&r);
	expect(&r, 200, "GET", "/v1/sales/summary", e.m.token, NULL);
	assert_int_equal(cJSON_GetObjectItem(r.json, "paid_count")->valueint, 7);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "count_by_status"), "paid")->valueint,
	    6);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "count_by_payment_method"), "pix")
		->valueint,
	    7);
	h_resp_free(&r);
}

static void test_sales_each_party_sees_its_part(void **state)
{
	struct estate e;
	struct member stranger;
	struct h_resp r;
	char *path, *sql;
	(void)state;

	estate_build(&e, "dave");
	member_new(&stranger, "stranger");
	path = fmt("/v1/sales/%s", e.order);
	/* the producer sees the whole sale and their split */
	expect(&r, 200, "GET", path, e.m.token, NULL);
	assert_string_equal(h_json_str(&r, "role"), "producer");
	assert_int_equal(cJSON_GetObjectItem(r.json, "total_cents")->valueint, 9700);
	assert_int_equal(cJSON_GetObjectItem(r.json, "my_amount_cents")->valueint, 7857);
	h_resp_free(&r);
	/* the co-producer sees only their own amount */
	expect(&r, 200, "GET", path, e.helper.token, NULL);
	assert_string_equal(h_json_str(&r, "role"), "coproducer");
	assert_int_equal(cJSON_GetObjectItem(r.json, "my_amount_cents")->valueint, 873);
	assert_null(cJSON_GetObjectItem(r.json, "total_cents"));
	assert_null(strstr(r.body, "7857"));
	assert_null(strstr(r.body, "buyer@example.com"));
	h_resp_free(&r);
	expect(&r, 200, "GET", "/v1/sales", e.helper.token, NULL);
	assert_non_null(strstr(r.body, e.order));
	assert_null(strstr(r.body, "7857"));
	h_resp_free(&r);
	expect(&r, 404, "GET", path, stranger.token, NULL);
	h_resp_free(&r);
	expect(&r, 200, "GET", "/v1/sales/summary", e.m.token, NULL);
	assert_int_equal(cJSON_GetObjectItem(r.json, "gross_cents")->valueint, 9700);
	assert_int_equal(cJSON_GetObjectItem(r.json, "net_cents")->valueint, 7857);
	h_resp_free(&r);
	expect(&r, 200, "GET", "/v1/sales/summary", e.helper.token, NULL);
	assert_int_equal(cJSON_GetObjectItem(r.json, "gross_cents")->valueint, 873);
	h_resp_free(&r);
	expect(&r, 200, "GET", "/v1/balance", e.helper.token, NULL);
	assert_int_equal(cJSON_GetObjectItem(r.json, "waiting_cents")->valueint, 873);
	h_resp_free(&r);

	/* only the producer may ask for a refund, once, of a paid sale */
	path = fmt("/v1/sales/%s/refund", e.order);
	expect(&r, 404, "POST", path, e.helper.token, "{\"reason\":\"mine?\"}");
	h_resp_free(&r);
	/* 201 with the refund, as the back-office answers (one domain path) */
	expect(&r, 201, "POST", path, e.m.token, "{\"reason\":\"buyer asked\"}");
	assert_string_equal(h_json_str(&r, "status"), "requested");
	h_resp_free(&r);
	expect(&r, 409, "POST", path, e.m.token, "{\"reason\":\"again\"}");
	h_resp_free(&r);
	sql =
	    fmt("SELECT CONCAT(o.status, '/', COUNT(f.id), '/', (SELECT COUNT(*) FROM jobs j"
		" WHERE j.type = 'refund.process' AND JSON_VALUE(j.payload, '$.order_id') = o.id))"
		" FROM orders o JOIN refunds f ON f.order_id = o.id WHERE o.id = '%s'",
		e.order);
	assert_string_equal(keep(h_sql_value(db_name, sql)), "refund_requested/1/1");

	/* delivery log and resend */
	path = fmt("/v1/webhooks/%s/deliveries", e.webhook);
	expect(&r, 200, "GET", path, e.m.token, NULL);
	assert_non_null(strstr(r.body, e.delivery));
	h_resp_free(&r);
	path = fmt("/v1/webhooks/%s/deliveries/%s/resend", e.webhook, e.delivery);
	expect(&r, 202, "POST", path, e.m.token, NULL);
	assert_string_equal(h_json_str(&r, "status"), "pending");
	h_resp_free(&r);
}

static void test_keyset_pagination(void **state)
{
	struct member m;
	struct h_resp r;
	char *ids[3], *path;
	(void)state;

	member_new(&m, "pager");
	for (int i = 0; i < 3; i++)
		ids[i] =
		    create("POST", "/v1/products", m.token, "{\"name\":\"P\",\"type\":\"ebook\"}");
	expect(&r, 200, "GET", "/v1/products?limit=2", m.token, NULL);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "has_more")));
	/* newest first */
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "data"), 0), "id")
		->valuestring,
	    ids[2]);
	h_resp_free(&r);
	path = fmt("/v1/products?limit=2&starting_after=%s", ids[1]);
	expect(&r, 200, "GET", path, m.token, NULL);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "has_more")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "data")), 1);
	assert_non_null(strstr(r.body, ids[0]));
	h_resp_free(&r);
}

static void test_passwords_are_argon2id_and_logs_are_clean(void **state)
{
	long long weak;
	(void)state;

	assert_true(nsecrets > 5);
	weak = h_sql_int(db_name, "SELECT COUNT(*) FROM users WHERE password_hash NOT LIKE"
				  " '$argon2id$v=19$m=19456,t=2,p=1$%'");
	assert_int_equal(weak, 0);
	assert_true(h_sql_int(db_name, "SELECT COUNT(*) FROM users") > 5);
	for (size_t i = 0; i < nsecrets; i++) {
		if (h_logs_contain(secrets[i]))
			fail_msg("a secret appears in the logs: entry %zu", i);
	}
	/* and the logs did record the run */
	assert_true(h_logs_contain("\"signup\""));
}

/* Every route of svc-api/routes.c is in docs/openapi.yaml with its method. */
static void test_openapi_lists_every_route(void **state)
{
	char path[2048], *spec;
	int missing = 0;
	(void)state;

	routes_load();
	snprintf(path, sizeof(path), "%s/docs/openapi.yaml", h_top());
	spec = read_text(path);
	for (size_t i = 0; i < nroutes; i++) {
		char key[300], method[16], *at, *end;
		size_t used;
		const char *p = routes[i].pattern;

		/* "/v1/products/:id" -> "\n  /api/v1/products/{id}:\n" */
		used = (size_t)snprintf(key, sizeof(key), "\n  /api");
		while (*p && used < sizeof(key) - 8) {
			if (*p == ':') {
				size_t n = strcspn(p + 1, "/");
				used += (size_t)snprintf(key + used, sizeof(key) - used, "{%.*s}",
							 (int)n, p + 1);
				p += n + 1;
			} else {
				key[used++] = *p++;
			}
		}
		snprintf(key + used, sizeof(key) - used, ":\n");
		snprintf(method, sizeof(method), "\n    %s:", routes[i].method);
		for (char *c = method; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		at = strstr(spec, key);
		if (!at) {
			fprintf(stderr, "openapi: missing path for %s %s\n", routes[i].method,
				routes[i].pattern);
			missing++;
			continue;
		}
		/* the method must be under this path, before the next path */
		end = at + strlen(key) - 1;
		{
			char *next = strstr(end, "\n  /");
			char *m = strstr(end - 1, method);
			if (!m || (next && m > next)) {
				fprintf(stderr, "openapi: missing %s under %s\n", routes[i].method,
					routes[i].pattern);
				missing++;
			}
		}
	}
	free(spec);
	assert_int_equal(missing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_openapi_lists_every_route),
	    cmocka_unit_test(test_producer_full_path),
	    cmocka_unit_test(test_coproducer_shares_keep_owner_30_percent),
	    cmocka_unit_test(test_concurrent_coproducers_respect_the_cap),
	    cmocka_unit_test(test_signup_document_is_encrypted),
	    cmocka_unit_test(test_login_rules),
	    cmocka_unit_test(test_login_rate_limit_spans_replicas),
	    cmocka_unit_test(test_login_limit_per_client_address),
	    cmocka_unit_test(test_startup_needs_field_keys),
	    cmocka_unit_test(test_authorization_matrix),
	    cmocka_unit_test(test_bad_input_changes_nothing),
	    cmocka_unit_test(test_webhook_secret_once_and_url_policy),
	    cmocka_unit_test(test_sales_each_party_sees_its_part),
	    cmocka_unit_test(test_sales_list_pages_across_roles),
	    cmocka_unit_test(test_keyset_pagination),
	    cmocka_unit_test(test_passwords_are_argon2id_and_logs_are_clean),
	};
	return cmocka_run_group_tests_name("api_members", tests, group_setup, group_teardown);
}
