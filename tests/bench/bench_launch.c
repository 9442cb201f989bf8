/* bench_launch.c - the launch-day load driver for tests/bench/bench_launch.sh.
 *
 *   bench_launch PORT CONNECTIONS SECONDS OFFER_CODE RUN_TAG [visit]
 *
 * CONNECTIONS threads, each with one kept-alive HTTP/1.1 connection to
 * 127.0.0.1:PORT (b4-gateway), act as a stream of distinct honest buyers
 * for SECONDS: every buyer has its own card number (Visa 4539..., Luhn
 * valid), CPF, e-mail and client address (X-Forwarded-For in 198.18.0.0/15,
 * the benchmarking range), tokenizes the card (POST
 * /checkout/v1/card-tokens) and then orders (POST /checkout/v1/orders, card,
 * new Idempotency-Key).  With BENCH_ADDRESSES=N in the environment the
 * buyers come from N client addresses instead (buyer n from the (n mod N)th):
 * 1 is a launch behind one carrier's NAT.  BENCH_COUPON=CODE has every
 * buyer order with that coupon (a launch's code in the link).  Only the
 * order request is timed.  Prints one line
 * of key=value figures: buyers, paid, refused (any answer but 201 paid),
 * transport errors, paid/s, order p50/p99/max in ms, token p50 in ms.
 *
 * With "visit", each stream is of visitors loading the checkout page as
 * web/checkout does on load: the offer (GET /checkout/v1/offers/CODE), a
 * checkout session (POST /checkout/v1/sessions), and the funnel's
 * checkout_page_view and checkout_session_started events (POST
 * /checkout/v1/events); the whole visit is timed.  Prints visits, failed
 * (any answer but 200/201/204), errors, visits/s and visit p50/p99 in ms. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 400000

static int port, seconds;
static long addresses;	   /* BENCH_ADDRESSES: 0, one per buyer */
static const char *coupon; /* BENCH_COUPON, or NULL */
static const char *offer, *tag;
static atomic_long next_buyer, paid, refused, errors, buyers;
static double deadline;
static double *order_ms, *token_ms;
static atomic_long norder, ntoken;
static atomic_long refused_status[600];
static int visit_mode;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_gw(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Appends what fd has to buf (NUL-terminated); -1 when full or closed. */
static int read_more(int fd, char *buf, size_t cap, size_t *have)
{
	ssize_t n;

	if (*have >= cap - 1)
		return -1;
	n = read(fd, buf + *have, cap - 1 - *have);
	if (n <= 0)
		return -1;
	*have += (size_t)n;
	buf[*have] = '\0';
	return 0;
}

/* Sends one request and reads the answer (Content-Length framing) into
 * body.  Returns the status, or -1 on a transport error. */
static int roundtrip(int fd, const char *req, size_t reqlen, char *body, size_t cap)
{
	char buf[16384];
	size_t have = 0, off = 0, clen;
	char *end, *cl;
	int status;

	while (off < reqlen) {
		ssize_t n = write(fd, req + off, reqlen - off);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	do {
		if (read_more(fd, buf, sizeof(buf), &have) < 0)
			return -1;
	} while (!(end = strstr(buf, "\r\n\r\n")));
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		return -1;
	cl = strcasestr(buf, "\r\nContent-Length:");
	if (status == 204 || status == 304)
		clen = 0; /* no body, whatever the fields say */
	else if (!cl || cl > end)
		return -1;
	else
		clen = strtoul(cl + 17, NULL, 10);
	end += 4;
	while ((size_t)(buf + have - end) < clen)
		if (read_more(fd, buf, sizeof(buf), &have) < 0)
			return -1;
	snprintf(body, cap, "%.*s", (int)clen, end);
	return status;
}

static void make_cpf(long n, char out[12])
{
	int d[11], s = 0;

	for (int i = 8; i >= 0; i--) {
		d[i] = (int)(n % 10);
		n /= 10;
	}
	if (d[0] == d[1])
		d[1] = (d[1] + 1) % 10;
	for (int i = 0; i < 9; i++)
		s += d[i] * (10 - i);
	d[9] = (s * 10) % 11 % 10;
	s = 0;
	for (int i = 0; i < 10; i++)
		s += d[i] * (11 - i);
	d[10] = (s * 10) % 11 % 10;
	for (int i = 0; i < 11; i++)
		out[i] = (char)('0' + d[i]);
	out[11] = '\0';
}

/* Visa 4539 + 11 digits of n + the Luhn digit. */
static void make_card(long n, char out[17])
{
	int sum = 0;

	snprintf(out, 17, "4539%011ld", n % 100000000000L);
	for (int i = 14, dbl = 1; i >= 0; i--, dbl = !dbl) {
		int v = out[i] - '0';
		if (dbl && (v *= 2) > 9)
			v -= 9;
		sum += v;
	}
	out[15] = (char)('0' + (10 - sum % 10) % 10);
	out[16] = '\0';
}

static void record(double *samples, atomic_long *count, double ms)
{
	long i = atomic_fetch_add(count, 1);

	if (i < MAX_SAMPLES)
		samples[i] = ms;
}

/* Buyer or visitor n's client address, in 198.18.0.0/15. */
static void client_address(long n, char xff[32])
{
	if (addresses > 0)
		n %= addresses;
	snprintf(xff, 32, "198.%d.%d.%d", 18 + (int)(n >> 16 & 1), (int)(n >> 8 & 255),
		 (int)(n & 255));
}

/* POSTs a JSON payload from client address xff, with extra header lines
 * (each ending in CRLF); the status, or -1 on a transport error. */
static int post_json(int fd, const char *path, const char *xff, const char *extra,
		     const char *payload, char *body, size_t cap)
{
	char req[4096];
	int len = snprintf(req, sizeof(req),
			   "POST %s HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
			   "X-Forwarded-For: %s\r\n%sContent-Length: %zu\r\n\r\n%s",
			   path, xff, extra, strlen(payload), payload);

	return roundtrip(fd, req, (size_t)len, body, cap);
}

/* Counts one buyer or visitor (who, n): a success, or a refusal by status
 * (the first three shown with their answer). */
static void outcome(bool ok, int status, const char *who, long n, const char *body)
{
	if (ok) {
		atomic_fetch_add(&paid, 1);
		return;
	}
	atomic_fetch_add(&refused, 1);
	atomic_fetch_add(&refused_status[status % 600], 1);
	if (atomic_load(&refused) <= 3)
		fprintf(stderr, "%s %ld: %d %.300s\n", who, n, status, body);
}

static long buy(int fd, long n)
{
	char body[8192], payload[2048], card[17], cpf[12], xff[32], key[128], *tok, *q;
	double t0;
	int status;

	make_card(n, card);
	make_cpf(n, cpf);
	client_address(n, xff);
	snprintf(payload, sizeof(payload),
		 "{\"number\":\"%s\",\"holder_name\":\"Comprador %ld\",\"exp_month\":12,"
		 "\"exp_year\":2031,\"cvv\":\"123\"}",
		 card, n);
	t0 = now_s();
	status = post_json(fd, "/checkout/v1/card-tokens", xff, "", payload, body, sizeof(body));
	if (status < 0)
		return -1;
	record(token_ms, &ntoken, (now_s() - t0) * 1000);
	tok = strstr(body, "\"token\":\"");
	if (status != 201 || !tok) {
		outcome(false, status, "refused buyer (token)", n, body);
		return 0;
	}
	tok += 9;
	if ((q = strchr(tok, '"')))
		*q = '\0';
	snprintf(payload, sizeof(payload),
		 "{\"offer_code\":\"%s\",\"customer\":{\"full_name\":\"Comprador %ld\","
		 "\"email\":\"comprador-%s-%ld@example.com\",\"document\":\"%s\","
		 "\"phone\":\"11987654321\"},\"payment\":{\"method\":\"card\","
		 "\"card_token\":\"%s\",\"installments\":3}%s%s%s}",
		 offer, n, tag, n, cpf, tok, coupon ? ",\"coupon\":\"" : "", coupon ? coupon : "",
		 coupon ? "\"" : "");
	snprintf(key, sizeof(key), "Idempotency-Key: launch-%s-%ld\r\n", tag, n);
	t0 = now_s();
	status = post_json(fd, "/checkout/v1/orders", xff, key, payload, body, sizeof(body));
	if (status < 0)
		return -1;
	record(order_ms, &norder, (now_s() - t0) * 1000);
	outcome(status == 201 && strstr(body, "\"status\":\"paid\""), status, "refused buyer", n,
		body);
	return 0;
}

/* Whether status is want; the first status that is not goes to *failed. */
static bool step_ok(int status, int want, int *failed)
{
	if (status != want && !*failed)
		*failed = status;
	return status == want;
}

/* Visitor n loads the checkout page; 0, or -1 on a transport error. */
static long visit(int fd, long n)
{
	char body[16384], req[1024], payload[1024], xff[32], session[40] = "", *id;
	double t0 = now_s();
	int status, len, failed = 0;

	client_address(n, xff);
	len = snprintf(req, sizeof(req),
		       "GET /checkout/v1/offers/%s HTTP/1.1\r\nHost: bench\r\n"
		       "X-Forwarded-For: %s\r\n\r\n",
		       offer, xff);
	if ((status = roundtrip(fd, req, (size_t)len, body, sizeof(body))) < 0)
		return -1;
	step_ok(status, 200, &failed);
	snprintf(payload, sizeof(payload), "{\"offer_code\":\"%s\"}", offer);
	status = post_json(fd, "/checkout/v1/sessions", xff, "", payload, body, sizeof(body));
	if (status < 0)
		return -1;
	if (step_ok(status, 201, &failed) && (id = strstr(body, "\"id\":\"")) &&
	    strlen(id + 6) > 36)
		snprintf(session, sizeof(session), "%.36s", id + 6);
	snprintf(payload, sizeof(payload),
		 "{\"event_id\":\"%s-%ld-view\",\"event_name\":\"checkout_page_view\","
		 "\"offer_code\":\"%s\",\"timestamp\":\"2026-12-07T12:00:00.000Z\"}",
		 tag, n, offer);
	status = post_json(fd, "/checkout/v1/events", xff, "", payload, body, sizeof(body));
	if (status < 0)
		return -1;
	step_ok(status, 204, &failed);
	snprintf(payload, sizeof(payload),
		 "{\"event_id\":\"%s-%ld-start\",\"event_name\":\"checkout_session_started\","
		 "\"session_id\":\"%s\",\"offer_code\":\"%s\","
		 "\"timestamp\":\"2026-12-07T12:00:00.000Z\"}",
		 tag, n, session, offer);
	status = post_json(fd, "/checkout/v1/events", xff, "", payload, body, sizeof(body));
	if (status < 0)
		return -1;
	step_ok(status, 204, &failed);
	record(order_ms, &norder, (now_s() - t0) * 1000);
	outcome(failed == 0, failed, "failed visitor", n, body);
	return 0;
}

static void *run(void *arg)
{
	int fd = connect_gw();
	(void)arg;

	while (fd >= 0 && now_s() < deadline) {
		long n = atomic_fetch_add(&next_buyer, 1);
		atomic_fetch_add(&buyers, 1);
		if ((visit_mode ? visit(fd, n) : buy(fd, n)) < 0) {
			atomic_fetch_add(&errors, 1);
			close(fd);
			fd = connect_gw();
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, long n, double p)
{
	if (n <= 0)
		return 0;
	return v[(long)((double)(n - 1) * p)];
}

int main(int argc, char **argv)
{
	pthread_t th[256];
	int conns;
	long no, nt;
	double t0, took;

	if (argc != 6 && !(argc == 7 && strcmp(argv[6], "visit") == 0)) {
		fprintf(
		    stderr,
		    "usage: bench_launch PORT CONNECTIONS SECONDS OFFER_CODE RUN_TAG [visit]\n");
		return 2;
	}
	visit_mode = argc == 7;
	port = atoi(argv[1]);
	conns = atoi(argv[2]);
	seconds = atoi(argv[3]);
	offer = argv[4];
	tag = argv[5];
	addresses = getenv("BENCH_ADDRESSES") ? atol(getenv("BENCH_ADDRESSES")) : 0;
	coupon = getenv("BENCH_COUPON");
	if (coupon && !coupon[0])
		coupon = NULL;
	if (conns < 1 || conns > 256 || seconds < 1)
		return 2;
	/* buyer numbers differ between runs of one database */
	atomic_store(&next_buyer, (long)(time(NULL) % 100000) * 100000);
	order_ms = calloc(MAX_SAMPLES, sizeof(double));
	token_ms = calloc(MAX_SAMPLES, sizeof(double));
	if (!order_ms || !token_ms)
		return 1;
	t0 = now_s();
	deadline = t0 + seconds;
	for (int i = 0; i < conns; i++)
		pthread_create(&th[i], NULL, run, NULL);
	for (int i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	took = now_s() - t0;
	no = atomic_load(&norder) < MAX_SAMPLES ? atomic_load(&norder) : MAX_SAMPLES;
	nt = atomic_load(&ntoken) < MAX_SAMPLES ? atomic_load(&ntoken) : MAX_SAMPLES;
	qsort(order_ms, (size_t)no, sizeof(double), cmp);
	qsort(token_ms, (size_t)nt, sizeof(double), cmp);
	if (visit_mode)
		printf("visits=%ld failed=%ld errors=%ld seconds=%.1f visits_per_s=%.1f"
		       " visit_p50_ms=%.1f visit_p99_ms=%.1f\n",
		       atomic_load(&buyers), atomic_load(&refused), atomic_load(&errors), took,
		       (double)atomic_load(&paid) / took, pct(order_ms, no, 0.50),
		       pct(order_ms, no, 0.99));
	else
		printf("buyers=%ld paid=%ld refused=%ld errors=%ld seconds=%.1f paid_per_s=%.1f"
		       " order_p50_ms=%.1f order_p99_ms=%.1f order_max_ms=%.1f token_p50_ms=%.1f\n",
		       atomic_load(&buyers), atomic_load(&paid), atomic_load(&refused),
		       atomic_load(&errors), took, (double)atomic_load(&paid) / took,
		       pct(order_ms, no, 0.50), pct(order_ms, no, 0.99), pct(order_ms, no, 1.0),
		       pct(token_ms, nt, 0.50));
	for (int s = 0; s < 600; s++)
		if (atomic_load(&refused_status[s]))
			printf("%s_status_%d=%ld\n", visit_mode ? "failed" : "refused", s,
			       atomic_load(&refused_status[s]));
	return 0;
}
