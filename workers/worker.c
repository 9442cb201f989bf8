/* worker.c - the b4-worker runtime; see worker.h. */
#include "worker.h"
#include "handlers.h"

#include "b4/db.h"
#include "b4/idempotency.h"
#include "b4/log.h"
#include "b4/metrics.h"
#include "b4/pii.h"
#include "b4/queue.h"
#include "b4/sales_agg.h"

#include <errno.h>
#include <mysql.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct worker_config worker_config;

#define MAX_TYPES 64

struct consumer {
	struct runtime *rt;
	int index;
	pthread_t thread;
	bool started;
	atomic_bool finished;
	char owner[B4_QUEUE_OWNER_MAX + 1];
	pthread_mutex_t lock; /* guards current_id */
	uint64_t current_id;  /* job being run, 0 when idle */
};

struct runtime {
	const struct b4_settings *settings;
	const struct worker_handler *enabled[MAX_TYPES];
	atomic_int running[MAX_TYPES]; /* jobs of enabled[i] running now */
	size_t nenabled;
	bool any_limit;
	struct consumer *consumers;
	int nconsumers;
	pthread_t monitor;
	bool monitor_started;
	pthread_t applier;
	bool applier_started;
	atomic_bool stopping;
	pthread_mutex_t claim_lock; /* per-type limits: choose types and claim at once */
	pthread_mutex_t idle_lock;
	pthread_cond_t idle_cond;
	/* the monitor's and the applier's pauses: only the stop ends them (the
	 * consumers' idle_cond wakes at every finished job) */
	pthread_cond_t pause_cond;
	atomic_int busy;
	struct b4_metric *processed, *failed, *dead, *duration, *depth, *oldest;
	struct b4_metric *sales_applied, *sales_lag;
};

static const char *const type_label[] = {"type", NULL};

/* Waits on cond (under idle_lock) for at most seconds, or until the
 * stop. */
static void sleep_on_cond(struct runtime *rt, pthread_cond_t *cond, double seconds)
{
	struct timespec until;
	long long ns;

	clock_gettime(CLOCK_REALTIME, &until);
	ns = (long long)until.tv_nsec + (long long)(seconds * 1e9);
	until.tv_sec += (time_t)(ns / 1000000000LL);
	until.tv_nsec = (long)(ns % 1000000000LL);
	pthread_mutex_lock(&rt->idle_lock);
	if (!atomic_load(&rt->stopping))
		pthread_cond_timedwait(cond, &rt->idle_lock, &until);
	pthread_mutex_unlock(&rt->idle_lock);
}

static void sleep_on(struct runtime *rt, double seconds)
{
	sleep_on_cond(rt, &rt->idle_cond, seconds);
}

/* Wakes idle consumers: a finished job may have enqueued follow-ups. */
static void wake_all(struct runtime *rt)
{
	pthread_mutex_lock(&rt->idle_lock);
	pthread_cond_broadcast(&rt->idle_cond);
	pthread_mutex_unlock(&rt->idle_lock);
}

static size_t enabled_index(const struct runtime *rt, const char *type)
{
	for (size_t i = 0; i < rt->nenabled; i++)
		if (strcmp(rt->enabled[i]->type, type) == 0)
			return i;
	return rt->nenabled;
}

/* Claims one job of a type this process runs and whose limit is not
 * reached; returns 1, 0 (nothing ready) or -1. */
static int claim_one(struct consumer *c, struct b4_db *db, struct b4_job *job)
{
	struct runtime *rt = c->rt;
	const char *types[MAX_TYPES];
	size_t ntypes = 0, slot;
	double lease = worker_config.lease_seconds;
	int n;

	if (rt->any_limit)
		pthread_mutex_lock(&rt->claim_lock);
	for (size_t i = 0; i < rt->nenabled; i++) {
		int limit = rt->enabled[i]->max_concurrency;

		if (limit <= 0 || atomic_load(&rt->running[i]) < limit)
			types[ntypes++] = rt->enabled[i]->type;
	}
	n = ntypes ? b4_queue_claim(db, c->owner, types, ntypes, lease, job, 1) : 0;
	if (n == 1) {
		slot = enabled_index(rt, job->type);
		if (slot < rt->nenabled)
			atomic_fetch_add(&rt->running[slot], 1);
	}
	if (rt->any_limit)
		pthread_mutex_unlock(&rt->claim_lock);
	return n;
}

static void set_current(struct consumer *c, uint64_t id)
{
	pthread_mutex_lock(&c->lock);
	c->current_id = id;
	pthread_mutex_unlock(&c->lock);
}

enum result_kind { RESULT_COMPLETE, RESULT_RELEASE, RESULT_FAIL };

/* Records a job's result.  This races with other claimers; a deadlock or
 * lock wait timeout is retried a few times rather than leaving the job to
 * wait for its lease. */
static int record_result(struct b4_db *db, enum result_kind kind, const struct b4_job *job,
			 const char *owner, const char *err, double retry_seconds, bool permanent)
{
	int rc = -1;

	for (int i = 0; i < 5; i++) {
		if (kind == RESULT_COMPLETE)
			rc = b4_queue_complete(db, job, owner);
		else if (kind == RESULT_RELEASE)
			rc = b4_queue_release(db, job, owner);
		else
			rc = b4_queue_fail(db, job, owner, err, retry_seconds, permanent);
		if (rc >= 0 || !b4_db_is_retryable(db))
			break;
		struct timespec pause = {0, (long)(i + 1) * 10 * 1000000L};
		nanosleep(&pause, NULL);
	}
	return rc;
}

static void run_job(struct consumer *c, struct b4_db *db, struct b4_job *job)
{
	struct runtime *rt = c->rt;
	size_t slot = enabled_index(rt, job->type);
	const struct worker_handler *h = slot < rt->nenabled ? rt->enabled[slot] : NULL;
	const char *labels[] = {job->type};
	struct worker_ctx ctx = {db, rt->settings, c->owner, -1.0, &rt->stopping};
	char err[512] = "";
	struct timespec t0, t1;
	double seconds;
	int rc, outcome;

	set_current(c, job->id);
	if (h && h->timeout_seconds > 0 && h->timeout_seconds != worker_config.lease_seconds)
		b4_queue_extend(db, job, c->owner, h->timeout_seconds);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = h ? h->run(&ctx, job, err, sizeof(err)) : WORKER_FATAL;
	if (!h)
		snprintf(err, sizeof(err), "no handler for this job type");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (h)
		b4_metrics_observe(rt->duration, labels, seconds);
	if (rc == WORKER_DONE) {
		outcome = ctx.completed
			      ? 1
			      : record_result(db, RESULT_COMPLETE, job, c->owner, NULL, 0, false);
		if (outcome == 1)
			b4_metrics_add(rt->processed, labels, 1);
	} else if (rc == WORKER_RETRY && ctx.retry_seconds == 0 && atomic_load(&rt->stopping)) {
		outcome = record_result(db, RESULT_RELEASE, job, c->owner, NULL, 0, false);
	} else {
		if (!err[0])
			snprintf(err, sizeof(err), "failed");
		if (ctx.retry_seconds < 0)
			ctx.retry_seconds =
			    b4_queue_backoff(job->attempts, worker_config.backoff_scale);
		outcome = record_result(db, RESULT_FAIL, job, c->owner, err, ctx.retry_seconds,
					rc == WORKER_FATAL);
		if (outcome == 1)
			b4_metrics_add(rt->failed, labels, 1);
		else if (outcome == 2)
			b4_metrics_add(rt->dead, labels, 1);
		b4_log(outcome == 2 ? B4_LOG_ERROR : B4_LOG_WARN,
		       outcome == 2 ? "job dead" : "job failed", B4_LS("type", job->type),
		       B4_LI("job_id", (long long)job->id), B4_LI("attempt", job->attempts),
		       B4_LS("error", err), NULL);
	}
	if (outcome == 0)
		b4_log_warn("job lease lost before the result was recorded",
			    B4_LS("type", job->type), B4_LI("job_id", (long long)job->id));
	else if (outcome < 0)
		b4_log_error("cannot record a job result", B4_LS("type", job->type),
			     B4_LI("job_id", (long long)job->id),
			     B4_LS("db_error", b4_db_error(db)));
	set_current(c, 0);
	if (slot < rt->nenabled)
		atomic_fetch_sub(&rt->running[slot], 1);
	if (rc == WORKER_DONE)
		wake_all(rt);
}

static void *consumer_main(void *arg)
{
	struct consumer *c = arg;
	struct runtime *rt = c->rt;
	struct b4_db *db;
	bool db_warned = false;

	mysql_thread_init();
	db = b4_db_new(&rt->settings->db);
	while (db && !atomic_load(&rt->stopping)) {
		struct b4_job job;
		int n = claim_one(c, db, &job);

		if (n < 0) {
			if (!db_warned)
				b4_log_warn("cannot claim jobs",
					    B4_LS("db_error", b4_db_error(db)));
			db_warned = true;
			sleep_on(rt, worker_config.poll_seconds > 0.2 ? worker_config.poll_seconds
								      : 0.2);
			continue;
		}
		db_warned = false;
		if (n == 0) {
			sleep_on(rt, worker_config.poll_seconds);
			continue;
		}
		atomic_fetch_add(&rt->busy, 1);
		run_job(c, db, &job);
		atomic_fetch_sub(&rt->busy, 1);
		b4_queue_job_cleanup(&job);
	}
	b4_db_close(db);
	mysql_thread_end();
	atomic_store(&c->finished, true);
	return NULL;
}

/* Ready jobs per type and the age of the oldest, for the gauges. */
static void update_queue_gauges(struct runtime *rt, struct b4_db *db)
{
	struct b4_db_result *res;

	res = b4_db_query(db,
			  "SELECT type, COUNT(*),"
			  " TIMESTAMPDIFF(MICROSECOND, MIN(run_at), CURRENT_TIMESTAMP(6))"
			  " FROM jobs WHERE status = 'ready' AND run_at <= CURRENT_TIMESTAMP(6)"
			  " GROUP BY type",
			  "");
	if (!res)
		return;
	for (size_t i = 0; i < worker_nhandlers; i++) {
		const char *labels[] = {worker_handlers[i].type};
		double depth = 0, age = 0;

		for (size_t r = 0; r < b4_db_rows(res); r++)
			if (strcmp(b4_db_str(res, r, 0), worker_handlers[i].type) == 0) {
				depth = (double)b4_db_i64(res, r, 1);
				age = (double)b4_db_i64(res, r, 2) / 1e6;
			}
		b4_metrics_set(rt->depth, labels, depth);
		b4_metrics_set(rt->oldest, labels, age < 0 ? 0 : age);
	}
	b4_db_result_free(res);
}

/* The abandoned-cart scan runs once per slot of this many seconds. */
static double abandoned_scan_interval(void)
{
	double every = worker_abandoned_cart_delay / 4;

	return every < 1 ? 1 : every > 60 ? 60 : every;
}

/* Enqueues type once per slot of every seconds, when this process runs
 * it: the dedup key per slot makes several worker processes enqueue it
 * once. */
static void schedule_every(struct runtime *rt, struct b4_db *db, const char *type, double every)
{
	char key[96];
	long long slot;

	if (enabled_index(rt, type) == rt->nenabled)
		return;
	slot = (long long)((double)time(NULL) / every);
	snprintf(key, sizeof(key), "%s:%lld", type, slot);
	if (b4_queue_enqueue(db, type, "{}", key, 0) > 0)
		wake_all(rt);
}

static void schedule_periodic(struct runtime *rt, struct b4_db *db)
{
	schedule_every(rt, db, "cron.abandoned_cart", abandoned_scan_interval());
	schedule_every(rt, db, "cron.sales_compact", 3600);
}

static void *monitor_main(void *arg)
{
	struct runtime *rt = arg;
	struct b4_db *db;
	unsigned tick = 0;

	mysql_thread_init();
	db = b4_db_new(&rt->settings->db);
	while (db && !atomic_load(&rt->stopping)) {
		if (b4_queue_reap(db) > 0)
			wake_all(rt);
		update_queue_gauges(rt, db);
		schedule_periodic(rt, db);
		/* expired Idempotency-Keys and their stored answers */
		b4_idem_prune(db, 1000);
		/* done jobs are kept a week for inspection, then pruned */
		if (tick++ % 600 == 0)
			b4_db_exec(
			    db,
			    "DELETE FROM jobs WHERE status = 'done'"
			    " AND updated_at < CURRENT_TIMESTAMP(6) - INTERVAL 7 DAY LIMIT 10000",
			    "");
		sleep_on_cond(rt, &rt->pause_cond, worker_config.lease_seconds < 10 ? 0.25 : 1.0);
	}
	b4_db_close(db);
	mysql_thread_end();
	return NULL;
}

/* The sales outbox's applier (b4_sales_agg_apply): batches back to back
 * while there is a backlog, a pause of B4_SALES_APPLY_EVERY once it has
 * caught up.  Its own connection, so a long queue job never delays it. */
#define SALES_APPLY_BATCH 96
#define SALES_APPLY_RETRY 5.0 /* seconds after a database error */

static void *applier_main(void *arg)
{
	struct runtime *rt = arg;
	struct b4_db *db;

	mysql_thread_init();
	db = b4_db_new(&rt->settings->db);
	while (db && !atomic_load(&rt->stopping)) {
		int64_t applied = 0;
		double lag = 0, pause = worker_config.sales_apply_every;

		if (b4_sales_agg_apply(db, SALES_APPLY_BATCH, &applied, &lag) < 0) {
			/* the lag gauge keeps its last value until a batch goes;
			 * a database away is retried every few seconds, not logged
			 * four times a second */
			b4_log_warn("sales outbox not applied", B4_LS("error", b4_db_error(db)));
			pause = pause < SALES_APPLY_RETRY ? SALES_APPLY_RETRY : pause;
		} else {
			b4_metrics_add(rt->sales_applied, NULL, (double)applied);
			b4_metrics_set(rt->sales_lag, NULL, lag);
		}
		if (applied < SALES_APPLY_BATCH)
			sleep_on_cond(rt, &rt->pause_cond, pause);
	}
	b4_db_close(db);
	mysql_thread_end();
	return NULL;
}

/* The applier runs in the processes that own the aggregates' upkeep. */
static bool runs_applier(const struct runtime *rt)
{
	return worker_config.sales_apply_every > 0 &&
	       enabled_index(rt, "cron.sales_compact") < rt->nenabled;
}

static double gauge_busy(void *arg)
{
	struct runtime *rt = arg;

	return (double)atomic_load(&rt->busy);
}

static bool handler_allowed(const struct worker_handler *h, const struct b4_settings *s)
{
	return !h->test_only || s->env == B4_ENV_TEST;
}

static int enable_type(struct runtime *rt, const struct worker_handler *h)
{
	if (enabled_index(rt, h->type) < rt->nenabled)
		return 0;
	if (rt->nenabled == MAX_TYPES)
		return -1;
	rt->enabled[rt->nenabled++] = h;
	if (h->max_concurrency > 0)
		rt->any_limit = true;
	return 0;
}

/* Fills rt->enabled from B4_WORKER_TYPES. */
static int select_types(struct runtime *rt)
{
	const char *list = worker_config.types;
	const struct b4_settings *s = rt->settings;

	if (!list || !*list || strcmp(list, "all") == 0) {
		for (size_t i = 0; i < worker_nhandlers; i++)
			if (handler_allowed(&worker_handlers[i], s) &&
			    enable_type(rt, &worker_handlers[i]) < 0)
				return -1;
		return 0;
	}
	while (*list) {
		char name[B4_QUEUE_TYPE_MAX + 1];
		size_t len = strcspn(list, ",");
		const struct worker_handler *h;

		if (len > 0) {
			snprintf(name, sizeof(name), "%.*s", (int)len, list);
			h = worker_handler_find(name);
			if (!h || !handler_allowed(h, s) || len > B4_QUEUE_TYPE_MAX) {
				fprintf(stderr,
					"b4-worker: B4_WORKER_TYPES: unknown job type '%s'\n",
					name);
				return -1;
			}
			if (enable_type(rt, h) < 0)
				return -1;
		}
		list += len;
		if (*list == ',')
			list++;
	}
	if (rt->nenabled == 0) {
		fprintf(stderr, "b4-worker: B4_WORKER_TYPES: no job type given\n");
		return -1;
	}
	return 0;
}

static void make_owner(struct consumer *c)
{
	char host[40] = "host";

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(c->owner, sizeof(c->owner), "%s:%ld:%d", host, (long)getpid(), c->index);
}

static int start_threads(struct runtime *rt)
{
	sigset_t block, old;

	/* signals belong to the server's main thread (sigwait) */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (pthread_create(&rt->monitor, NULL, monitor_main, rt) == 0)
		rt->monitor_started = true;
	if (runs_applier(rt) && pthread_create(&rt->applier, NULL, applier_main, rt) == 0)
		rt->applier_started = true;
	for (int i = 0; i < rt->nconsumers; i++) {
		struct consumer *c = &rt->consumers[i];

		c->rt = rt;
		c->index = i;
		pthread_mutex_init(&c->lock, NULL);
		make_owner(c);
		if (pthread_create(&c->thread, NULL, consumer_main, c) == 0)
			c->started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rt->monitor_started && (rt->applier_started || !runs_applier(rt)) ? 0 : -1;
}

int worker_runtime_init(const struct b4_settings *settings, void **app)
{
	struct runtime *rt;

	if (settings->no_db) {
		fprintf(stderr, "b4-worker: B4_NO_DB: the worker needs its database\n");
		return -1;
	}
	if (!b4_pii_ready() && b4_pii_init("b4-worker") < 0)
		return -1;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -1;
	rt->settings = settings;
	pthread_mutex_init(&rt->claim_lock, NULL);
	pthread_mutex_init(&rt->idle_lock, NULL);
	pthread_cond_init(&rt->idle_cond, NULL);
	pthread_cond_init(&rt->pause_cond, NULL);
	if (select_types(rt) < 0)
		goto out_free;
	for (size_t i = 0; i < rt->nenabled; i++)
		if (rt->enabled[i]->init && rt->enabled[i]->init(settings) < 0)
			goto out_free;
	rt->processed = b4_metrics_counter("worker_jobs_processed_total",
					   "Jobs that completed successfully.", type_label);
	rt->failed = b4_metrics_counter("worker_jobs_failed_total",
					"Job runs that failed and were rescheduled.", type_label);
	rt->dead = b4_metrics_counter("worker_jobs_dead_total",
				      "Jobs that failed for good (max attempts or permanent).",
				      type_label);
	rt->duration = b4_metrics_histogram("worker_job_duration_seconds", "Time one job run took.",
					    type_label, NULL, 0);
	rt->depth = b4_metrics_gauge("worker_queue_depth", "Jobs ready to run now.", type_label);
	rt->oldest =
	    b4_metrics_gauge("worker_queue_oldest_age_seconds",
			     "How long the oldest ready job has been waiting.", type_label);
	rt->sales_applied =
	    b4_metrics_counter("worker_sales_applied_total",
			       "Rows of the sales outbox folded into the aggregates.", NULL);
	rt->sales_lag = b4_metrics_gauge(
	    "worker_sales_apply_lag_seconds",
	    "Age of the oldest outbox row in the applier's last batch (0: caught up).", NULL);
	b4_metrics_gauge_fn("worker_jobs_running", "Jobs running in this process now.", gauge_busy,
			    rt);
	rt->nconsumers = (int)worker_config.concurrency;
	rt->consumers = calloc((size_t)rt->nconsumers, sizeof(*rt->consumers));
	if (!rt->consumers || start_threads(rt) < 0) {
		fprintf(stderr, "b4-worker: cannot start the consumer threads\n");
		worker_runtime_cleanup(rt);
		return -1;
	}
	b4_log_info("consumers started", B4_LI("concurrency", rt->nconsumers),
		    B4_LI("types", (long long)rt->nenabled),
		    B4_LS("type_list", worker_config.types));
	*app = rt;
	return 0;

out_free:
	free(rt);
	return -1;
}

static bool all_finished(const struct runtime *rt)
{
	for (int i = 0; i < rt->nconsumers; i++)
		if (rt->consumers[i].started && !atomic_load(&rt->consumers[i].finished))
			return false;
	return true;
}

/* Gives back the jobs of consumers still running after the drain time. */
static int release_leftovers(struct runtime *rt)
{
	struct b4_db *db = b4_db_connect(&rt->settings->db);
	int released = 0;

	for (int i = 0; i < rt->nconsumers; i++) {
		struct consumer *c = &rt->consumers[i];
		struct b4_job job;

		if (!c->started || atomic_load(&c->finished))
			continue;
		memset(&job, 0, sizeof(job));
		pthread_mutex_lock(&c->lock);
		job.id = c->current_id;
		pthread_mutex_unlock(&c->lock);
		if (job.id && db && b4_queue_release(db, &job, c->owner) == 1)
			released++;
	}
	b4_db_close(db);
	return released;
}

void worker_runtime_cleanup(void *app)
{
	struct runtime *rt = app;
	struct timespec start, now;

	if (!rt)
		return;
	atomic_store(&rt->stopping, true);
	wake_all(rt);
	pthread_mutex_lock(&rt->idle_lock);
	pthread_cond_broadcast(&rt->pause_cond);
	pthread_mutex_unlock(&rt->idle_lock);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		double waited;

		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (double)(now.tv_sec - start.tv_sec) +
			 (double)(now.tv_nsec - start.tv_nsec) / 1e9;
		if (all_finished(rt) || waited >= rt->settings->drain_seconds)
			break;
		struct timespec pause = {0, 20 * 1000000L};
		nanosleep(&pause, NULL);
	}
	if (!all_finished(rt)) {
		int released = release_leftovers(rt);

		/* the unfinished handlers still run on their threads; their jobs
		 * are back in the queue, so the process ends here */
		b4_log_warn("drain time over; running jobs given back",
			    B4_LI("released", released));
		_exit(0);
	}
	for (int i = 0; i < rt->nconsumers; i++)
		if (rt->consumers[i].started) {
			pthread_join(rt->consumers[i].thread, NULL);
			pthread_mutex_destroy(&rt->consumers[i].lock);
		}
	if (rt->monitor_started)
		pthread_join(rt->monitor, NULL);
	if (rt->applier_started)
		pthread_join(rt->applier, NULL);
	for (size_t i = 0; i < rt->nenabled; i++)
		if (rt->enabled[i]->cleanup)
			rt->enabled[i]->cleanup();
	b4_log_info("consumers stopped");
	free(rt->consumers);
	free(rt);
}
