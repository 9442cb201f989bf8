/* Instance health shared by the workers.
 *
 * Worker 0 runs the active checks of every pool: one GET per interval and
 * instance for the whole process, not one per thread, and one rise/fall
 * count, so every thread takes an instance out (and back) at the same
 * moment.  Passive ejection is shared the same way: failed attempts on any
 * thread count towards it, and an ejection holds for all.  Each worker
 * reads the state when it picks an instance.  Entries are keyed by pool and
 * instance and live as long as the process, so a reload keeps what was
 * learnt. */
#include "gateway.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Looked up when a runtime is built (start, reload), never per request. */
static struct gw_health *entries;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

struct gw_health *gw_health_get(const char *pool, const char *instance)
{
	struct gw_health *h;

	pthread_mutex_lock(&lock);
	for (h = entries; h; h = h->next)
		if (strcmp(h->pool, pool) == 0 && strcmp(h->instance, instance) == 0)
			break;
	if (!h && (h = calloc(1, sizeof(*h))) != NULL) {
		snprintf(h->pool, sizeof(h->pool), "%s", pool);
		snprintf(h->instance, sizeof(h->instance), "%s", instance);
		atomic_init(&h->healthy, true);
		atomic_init(&h->consecutive_failures, 0);
		atomic_init(&h->ejections, 0);
		atomic_init(&h->ejected_until_us, 0);
		h->next = entries;
		entries = h;
	}
	pthread_mutex_unlock(&lock);
	return h;
}
