/* bench_workers.c - webhook delivery figures for docs/BENCHMARKS.md
 * ("Workers"), driven by tests/bench/bench_workers.sh against a running
 * b4-worker and the private bench database (B4_DB_* in the environment).
 *
 *   bench_workers throughput N   N deliveries committed at once; prints
 *                                deliveries per second until the last one
 *                                reached the loopback receiver.
 *   bench_workers latency M RATE M orders paid at RATE per second, each
 *                                payment's transaction enqueuing its
 *                                approved-payment event; prints the time
 *                                from commit to the webhook's arrival
 *                                (median, p99, max).
 */
#include "receiver.h"

#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/pii.h"
#include "b4/queue.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRODUCER "01900000-0000-7000-8000-000000000001"
#define PRODUCT	 "01900000-0000-7000-8000-000000000101"
#define OFFER	 "01900000-0000-7000-8000-000000000201"
#define CUSTOMER "0190c000-0000-7000-8000-00000000bec0"

static struct b4_db *db;
static struct receiver rcv;

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

static int setup(void)
{
	struct b4_db_config cfg = {0};
	char url[128], id[37], *enc;

	cfg.host = env_or("B4_DB_HOST", "127.0.0.1");
	cfg.port = atoi(env_or("B4_DB_PORT", "3306"));
	cfg.user = env_or("B4_DB_USER", "b4");
	cfg.password = env_or("B4_DB_PASSWORD", "");
	cfg.database = env_or("B4_DB_NAME", "b4bench");
	cfg.connect_timeout = cfg.read_timeout = cfg.write_timeout = 30;
	if (b4_pii_init("bench_workers") < 0 || rcv_start(&rcv, 0) < 0)
		return -1;
	db = b4_db_connect(&cfg);
	if (!db)
		return -1;
	/* one endpoint of the producer on the receiver, replacing earlier ones */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", rcv.port);
	enc = b4_pii_encrypt("webhook_endpoints.secret_enc", "whsec_bench_secret");
	if (!enc || b4_crypto_uuid7(id) < 0 ||
	    b4_db_exec(db, "UPDATE webhook_endpoints SET active = 0", "") < 0 ||
	    b4_db_exec(db,
		       "INSERT INTO webhook_endpoints (id, owner_id, url, events, secret_enc)"
		       " VALUES (?, '" PRODUCER "', ?, '[\"approved-payment\"]', ?)",
		       "sss", id, url, enc) != 1 ||
	    b4_db_exec(db,
		       "INSERT IGNORE INTO customers (id, email, full_name, document_enc,"
		       " document_bidx, document_type) VALUES ('" CUSTOMER "', 'bench@example.com',"
		       " 'Bench Buyer', 'x', REPEAT('b', 64), 'cpf')",
		       "") < 0) {
		free(enc);
		return -1;
	}
	free(enc);
	return 0;
}

static int throughput(int n)
{
	char delivery[37], event_id[37], payload[64];
	long long start, end;
	const char *endpoint_sql = "SELECT id FROM webhook_endpoints WHERE active = 1";
	struct b4_db_result *res = b4_db_query(db, endpoint_sql, "");
	const char *endpoint;

	if (!res || b4_db_rows(res) != 1)
		return -1;
	endpoint = b4_db_str(res, 0, 0);
	if (b4_db_begin(db) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (b4_crypto_uuid7(delivery) < 0 || b4_crypto_uuid7(event_id) < 0)
			return -1;
		snprintf(payload, sizeof(payload), "{\"delivery_id\":\"%s\"}", delivery);
		if (b4_db_exec(
			db,
			"INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event, payload)"
			" VALUES (?, ?, ?, 'approved-payment',"
			" '{\"id\":\"bench\",\"event\":\"approved-payment\",\"data\":{}}')",
			"sss", delivery, endpoint, event_id) != 1 ||
		    b4_queue_enqueue(db, "webhook.deliver", payload, NULL, 0) != 1)
			return -1;
	}
	start = rcv_now_us();
	if (b4_db_commit(db) < 0)
		return -1;
	if (!rcv_wait(&rcv, (size_t)n, 600000))
		return -1;
	end = rcv.reqs[n - 1].at_us;
	printf("webhook.deliver: %d deliveries in %.2f s = %.0f deliveries/s\n", n,
	       (double)(end - start) / 1e6, n / ((double)(end - start) / 1e6));
	b4_db_result_free(res);
	return 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static int latency(int m, double rate)
{
	long long *committed = calloc((size_t)m, sizeof(*committed));
	long long *lat = calloc((size_t)m, sizeof(*lat));
	char order_id[37], data[160];
	size_t base = rcv_count(&rcv);

	if (!committed || !lat)
		return -1;
	for (int i = 0; i < m; i++) {
		long long due = rcv_now_us() + (long long)(1e6 / rate);

		if (b4_crypto_uuid7(order_id) < 0 ||
		    b4_db_exec(
			db,
			"INSERT INTO orders (id, customer_id, offer_id, product_id, producer_id,"
			" payment_method, subtotal_cents, total_cents, access_token_hash)"
			" VALUES (?, '" CUSTOMER "', '" OFFER "', '" PRODUCT "', '" PRODUCER
			"', 'pix', 29700, 29700, REPEAT('0', 64))",
			"s", order_id) != 1)
			return -1;
		/* the payment: order paid and its event, one transaction */
		snprintf(data, sizeof(data), "{\"order\":{\"id\":\"%s\",\"seq\":%d}}", order_id, i);
		if (b4_db_begin(db) < 0 ||
		    b4_db_exec(db,
			       "UPDATE orders SET status = 'paid', paid_at = CURRENT_TIMESTAMP(6)"
			       " WHERE id = ? AND status = 'waiting_payment'",
			       "s", order_id) != 1 ||
		    b4_queue_webhook_event(db, "approved-payment", PRODUCER, NULL, PRODUCT, data,
					   NULL) != 1 ||
		    b4_db_commit(db) < 0)
			return -1;
		committed[i] = rcv_now_us();
		while (rcv_now_us() < due) {
			struct timespec pause = {0, 1000000L};
			nanosleep(&pause, NULL);
		}
	}
	if (!rcv_wait(&rcv, base + (size_t)m, 120000))
		return -1;
	pthread_mutex_lock(&rcv.lock);
	for (size_t r = base; r < rcv.n; r++) {
		cJSON *body = cJSON_Parse(rcv.reqs[r].body);
		cJSON *seq = cJSON_GetObjectItem(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(body, "data"), "order"), "seq");

		if (cJSON_IsNumber(seq) && seq->valueint >= 0 && seq->valueint < m)
			lat[seq->valueint] = rcv.reqs[r].at_us - committed[seq->valueint];
		cJSON_Delete(body);
	}
	pthread_mutex_unlock(&rcv.lock);
	qsort(lat, (size_t)m, sizeof(*lat), cmp_ll);
	printf("payment commit -> webhook arrival, %d orders at %.0f/s: median %.1f ms,"
	       " p99 %.1f ms, max %.1f ms\n",
	       m, rate, lat[m / 2] / 1e3, lat[(m * 99) / 100 < m ? (m * 99) / 100 : m - 1] / 1e3,
	       lat[m - 1] / 1e3);
	free(committed);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_workers throughput N | latency M RATE\n");
		return 2;
	}
	if (setup() < 0) {
		fprintf(stderr, "bench_workers: setup failed\n");
		return 1;
	}
	if (strcmp(argv[1], "throughput") == 0)
		return throughput(atoi(argv[2])) < 0 ? 1 : 0;
	if (strcmp(argv[1], "latency") == 0 && argc >= 4)
		return latency(atoi(argv[2]), atof(argv[3])) < 0 ? 1 : 0;
	fprintf(stderr, "usage: bench_workers throughput N | latency M RATE\n");
	return 2;
}
