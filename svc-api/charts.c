/* charts.c - GET /v1/dashboard/charts: the data of the panel's "Início"
 * for the producer's own products over a period of local days: revenue
 * and paid orders by day, paid orders by payment method, and the checkout
 * funnel (page views -> sessions started -> paid orders).
 *
 * Days are civil days in the caller's time zone (?tz=, an IANA name,
 * America/Sao_Paulo by default), converted with the system's zone files
 * (b4/tz.h).  When those days are the producer's own (users.utc_offset)
 * all through the period - the default zone for a producer in São Paulo -
 * revenue and paid orders come from the sales_days aggregates with the
 * outbox's rows not yet applied (B4_SALES_LIVE_ROWS, the producer's role
 * only) and the funnel from funnel_days: a few rows per day, however many
 * orders and page views.  Another zone counts the
 * events themselves and groups the orders into UTC buckets of an hour (or
 * 15 minutes for zones with half-hour offsets), read over the index
 * (producer_id, created_at); each bucket lands on its local day here. */
#include "api.h"
#include "b4/sales_agg.h"
#include "b4/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_TZ  "America/Sao_Paulo"
#define MAX_DAYS    366
#define PAID_STATES "('paid','refund_requested','refunded','disputed','chargeback')"

struct period {
	struct b4_tz tz;
	int64_t first_day, ndays; /* days since the epoch (local), count */
	int64_t start, end;	  /* Unix seconds: [local midnight, next) */
	char from[16], to[16];	  /* the first and last day, YYYY-MM-DD */
	int bucket_seconds;
};

/* Reads ?name=YYYY-MM-DD into *days; absent keeps *days.  -1 after 400. */
static int query_day(struct b4_req *req, const char *name, int64_t *days)
{
	const char *text = b4_req_query(req, name);
	int y, m, d;

	if (!text)
		return 0;
	if (!b4_text_is_date(text) || sscanf(text, "%4d-%2d-%2d", &y, &m, &d) != 3) {
		b4_req_errorf(req, 400, "invalid_request_error", "invalid_value", name,
			      "%s must be a date YYYY-MM-DD.", name);
		return -1;
	}
	*days = b4_tz_days_from_civil(y, m, d);
	return 0;
}

static int64_t midnight_of(const struct b4_tz *tz, int64_t days)
{
	int y, m, d;

	b4_tz_civil_from_days(days, &y, &m, &d);
	return b4_tz_local_midnight(tz, y, m, d);
}

/* Day number days (since the epoch) as YYYY-MM-DD. */
static void day_text(int64_t days, char out[16])
{
	int y, m, d;

	b4_tz_civil_from_days(days, &y, &m, &d);
	snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
}

/* Parses tz, from and to (default: the last 30 local days).  -1 after
 * answering. */
static int period_parse(struct b4_req *req, struct period *p)
{
	const char *tz = b4_req_query(req, "tz");
	int64_t now = (int64_t)time(NULL), today, to, from;

	if (!tz)
		tz = DEFAULT_TZ;
	if (b4_tz_load(&p->tz, tz) < 0) {
		b4_req_errorf(req, 400, "invalid_request_error", "invalid_value", "tz",
			      "tz must be a time zone name such as America/Sao_Paulo.");
		return -1;
	}
	today = (now + b4_tz_offset(&p->tz, now)) / 86400;
	to = today;
	from = today - 29;
	if (query_day(req, "from", &from) < 0 || query_day(req, "to", &to) < 0)
		goto out_cleanup;
	if (to < from || to - from + 1 > MAX_DAYS) {
		b4_req_errorf(req, 400, "invalid_request_error", "invalid_value", "to",
			      "to must be on or after from, at most %d days later.", MAX_DAYS);
		goto out_cleanup;
	}
	p->first_day = from;
	p->ndays = to - from + 1;
	day_text(from, p->from);
	day_text(to, p->to);
	p->start = midnight_of(&p->tz, from);
	p->end = midnight_of(&p->tz, to + 1);
	/* whole-hour offsets all through the period: hourly buckets suffice */
	p->bucket_seconds = b4_tz_offset(&p->tz, p->start) % 3600 ? 900 : 3600;
	for (size_t i = 0; i < p->tz.ntransitions; i++)
		if (p->tz.transitions[i] > p->start && p->tz.transitions[i] < p->end &&
		    p->tz.offsets[i] % 3600)
			p->bucket_seconds = 900;
	return 0;
out_cleanup:
	b4_tz_cleanup(&p->tz);
	return -1;
}

/* The local day index (0 .. ndays-1) of Unix time t, or -1 outside. */
static int64_t day_index(const struct period *p, int64_t t)
{
	int64_t local = t + b4_tz_offset(&p->tz, t);
	int64_t day = (local >= 0 ? local : local - 86399) / 86400 - p->first_day;

	return day >= 0 && day < p->ndays ? day : -1;
}

static cJSON *days_new(const struct period *p)
{
	cJSON *days = cJSON_CreateArray();
	char date[16];
	int y, m, d;

	for (int64_t i = 0; i < p->ndays; i++) {
		cJSON *day = cJSON_CreateObject();
		b4_tz_civil_from_days(p->first_day + i, &y, &m, &d);
		snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
		cJSON_AddStringToObject(day, "date", date);
		cJSON_AddNumberToObject(day, "gross_cents", 0);
		cJSON_AddNumberToObject(day, "paid_count", 0);
		cJSON_AddItemToArray(days, day);
	}
	return days;
}

static void add_to(cJSON *obj, const char *name, double n)
{
	cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	cJSON_SetNumberValue(item, item->valuedouble + n);
}

/* One entry per payment method, zeroes included, so charts keep colours. */
static cJSON *methods_new(void)
{
	static const char *const methods[] = {"card", "pix", "boleto"};
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < 3; i++) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "payment_method", methods[i]);
		cJSON_AddNumberToObject(m, "paid_count", 0);
		cJSON_AddNumberToObject(m, "gross_cents", 0);
		cJSON_AddItemToArray(arr, m);
	}
	return arr;
}

static cJSON *method_entry(cJSON *methods, const char *name)
{
	cJSON *m;

	cJSON_ArrayForEach(m, methods)
	{
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "payment_method")), name) ==
		    0)
			return m;
	}
	return NULL;
}

static cJSON *funnel_step(const char *step, int64_t count)
{
	cJSON *s = cJSON_CreateObject();

	cJSON_AddStringToObject(s, "step", step);
	cJSON_AddNumberToObject(s, "count", (double)count);
	return s;
}

#define FUNNEL_EVENTS "('checkout_page_view', 'checkout_session_started')"

/* The funnel over the producer's offers: page views and sessions started,
 * from their daily counts when the days are the producer's own (by_day,
 * funnel_days) or from the events themselves, then the paid orders. */
static cJSON *funnel_json(struct b4_req *req, const struct period *p, bool by_day, int64_t paid)
{
	struct b4_db_result *res;
	int64_t views = 0, started = 0;
	cJSON *funnel;

	res = by_day ? b4_db_query(req->db,
				   "SELECT d.event_name, SUM(d.events) FROM products pr"
				   " JOIN offers f ON f.product_id = pr.id"
				   " JOIN funnel_days d ON d.offer_id = f.id AND d.day >= ?"
				   " AND d.day <= ? AND d.event_name IN " FUNNEL_EVENTS
				   " WHERE pr.producer_id = ? GROUP BY d.event_name",
				   "sss", p->from, p->to, req->caller.user_id)
		     : b4_db_query(req->db,
				   "SELECT e.event_name, COUNT(*) FROM products pr"
				   " JOIN offers f ON f.product_id = pr.id"
				   " JOIN checkout_events e ON e.offer_id = f.id"
				   " AND e.occurred_at >= FROM_UNIXTIME(?)"
				   " AND e.occurred_at < FROM_UNIXTIME(?)"
				   " AND e.event_name IN " FUNNEL_EVENTS
				   " WHERE pr.producer_id = ? GROUP BY e.event_name",
				   "iis", p->start, p->end, req->caller.user_id);
	if (!res)
		return NULL;
	for (size_t i = 0; i < b4_db_rows(res); i++) {
		if (strcmp(b4_db_str(res, i, 0), "checkout_page_view") == 0)
			views = b4_db_i64(res, i, 1);
		else
			started = b4_db_i64(res, i, 1);
	}
	b4_db_result_free(res);
	funnel = cJSON_CreateArray();
	cJSON_AddItemToArray(funnel, funnel_step("page_view", views));
	cJSON_AddItemToArray(funnel, funnel_step("checkout_started", started));
	cJSON_AddItemToArray(funnel, funnel_step("paid", paid));
	return funnel;
}

/* Are the period's local days the caller's aggregate days: every local
 * midnight of the period (and its end) at UTC midnight minus the caller's
 * offset?  -1 on a database error. */
static int days_are_members(struct b4_req *req, const struct period *p)
{
	struct b4_db_result *res = b4_db_query(req->db, "SELECT utc_offset FROM users WHERE id = ?",
					       "s", req->caller.user_id);
	long offset;
	bool known;

	if (!res)
		return -1;
	known = b4_db_rows(res) == 1 && api_utc_offset_seconds(b4_db_str(res, 0, 0), &offset) == 0;
	b4_db_result_free(res);
	if (!known)
		return 0;
	for (int64_t d = 0; d <= p->ndays; d++)
		if (midnight_of(&p->tz, p->first_day + d) != (p->first_day + d) * 86400 - offset)
			return 0;
	return 1;
}

/* Paid orders and their gross by payment method: rows of (when, method,
 * count, gross), when being the local day's index from first_day (*by_day)
 * or a UTC bucket's number.  NULL on a database error. */
static struct b4_db_result *paid_sales(struct b4_req *req, const struct period *p, bool *by_day)
{
	int mine = days_are_members(req, p);

	if (mine < 0)
		return NULL;
	*by_day = mine == 1;
	if (!mine)
		return b4_db_query(
		    req->db,
		    "SELECT FLOOR(UNIX_TIMESTAMP(o.created_at) / ?), o.payment_method,"
		    " COUNT(*), SUM(o.total_cents) FROM orders o WHERE o.producer_id = ?"
		    " AND o.created_at >= FROM_UNIXTIME(?) AND o.created_at < FROM_UNIXTIME(?)"
		    " AND o.status IN " PAID_STATES " GROUP BY 1, 2",
		    "Isii", p->bucket_seconds, req->caller.user_id, p->start, p->end);
	/* a day and method may come twice: the table's and the outbox's */
	return b4_db_query(req->db,
			   B4_SALES_LIVE_ROWS("DATEDIFF(day, ?), CAST(payment_method AS CHAR),"
					      " SUM(orders), SUM(gross_cents)",
					      "sales_days",
					      "member_id = ? AND day >= ? AND day <= ?"
					      " AND role = 'producer' AND status IN " PAID_STATES,
					      "day, payment_method"),
			   "ssssssss", p->from, req->caller.user_id, p->from, p->to, p->from,
			   req->caller.user_id, p->from, p->to);
}

void api_dashboard_charts(struct b4_req *req)
{
	struct period p;
	struct b4_db_result *res;
	cJSON *out, *days, *methods, *funnel;
	int64_t paid = 0;
	bool by_day;

	if (period_parse(req, &p) < 0)
		return;
	res = paid_sales(req, &p, &by_day);
	if (!res) {
		b4_tz_cleanup(&p.tz);
		b4_req_db_error(req);
		return;
	}
	days = days_new(&p);
	methods = methods_new();
	for (size_t i = 0; i < b4_db_rows(res); i++) {
		int64_t when = b4_db_i64(res, i, 0);
		int64_t day = !by_day			    ? day_index(&p, when * p.bucket_seconds)
			      : when >= 0 && when < p.ndays ? when
							    : -1;
		double count = (double)b4_db_i64(res, i, 2), gross = (double)b4_db_i64(res, i, 3);
		cJSON *m = method_entry(methods, b4_db_str(res, i, 1));
		if (day < 0 || !m)
			continue;
		add_to(cJSON_GetArrayItem(days, (int)day), "gross_cents", gross);
		add_to(cJSON_GetArrayItem(days, (int)day), "paid_count", count);
		add_to(m, "gross_cents", gross);
		add_to(m, "paid_count", count);
		paid += b4_db_i64(res, i, 2);
	}
	b4_db_result_free(res);
	funnel = funnel_json(req, &p, by_day, paid);
	if (!funnel) {
		cJSON_Delete(days);
		cJSON_Delete(methods);
		b4_tz_cleanup(&p.tz);
		b4_req_db_error(req);
		return;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "tz",
				b4_req_query(req, "tz") ? b4_req_query(req, "tz") : DEFAULT_TZ);
	cJSON_AddItemToObject(out, "revenue_by_day", days);
	cJSON_AddItemToObject(out, "paid_by_method", methods);
	cJSON_AddItemToObject(out, "funnel", funnel);
	b4_tz_cleanup(&p.tz);
	b4_req_send_json(req, 200, out);
}
