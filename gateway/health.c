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
#include <string.h>

#define GW_MAX_HEALTH 1024

static struct gw_health table[GW_MAX_HEALTH];
static size_t used;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

struct gw_health *gw_health_get(const char *pool, const char *instance)
{
	struct gw_health *h = NULL;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < used && !h; i++)
		if (strcmp(table[i].pool, pool) == 0 && strcmp(table[i].instance, instance) == 0)
			h = &table[i];
	if (!h && used < GW_MAX_HEALTH) {
		h = &table[used++];
		snprintf(h->pool, sizeof(h->pool), "%s", pool);
		snprintf(h->instance, sizeof(h->instance), "%s", instance);
		gw_health_init(h);
	}
	pthread_mutex_unlock(&lock);
	return h;
}

void gw_health_init(struct gw_health *h)
{
	atomic_init(&h->healthy, true);
	atomic_init(&h->consecutive_failures, 0);
	atomic_init(&h->ejections, 0);
	atomic_init(&h->ejected_until_us, 0);
}
