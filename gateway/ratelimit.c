/* Token buckets per (rate-limit group, client IP), shared by all workers.
 *
 * The table is split into shards, each with its own mutex, so two workers
 * rarely contend; each shard is a small open-addressing table that evicts
 * the least recently seen bucket of a probe window when full. */
#include "gateway.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RL_SHARDS 64
#define RL_SLOTS 1024
#define RL_PROBE 16
#define RL_KEY_MAX 112

struct rl_entry {
	uint64_t hash;
	uint64_t last_us;
	double tokens;
	char key[RL_KEY_MAX];
};

struct rl_shard {
	pthread_mutex_t mu;
	struct rl_entry slots[RL_SLOTS];
};

static struct rl_shard *rl_shards;

int gw_ratelimit_init(void)
{
	rl_shards = calloc(RL_SHARDS, sizeof(*rl_shards));
	if (!rl_shards)
		return -1;
	for (size_t i = 0; i < RL_SHARDS; i++)
		pthread_mutex_init(&rl_shards[i].mu, NULL);
	return 0;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h | 1; /* 0 marks a free slot */
}

int gw_ratelimit_take(const struct gw_rate_cfg *group, int group_index, const char *client,
		      uint64_t now_us)
{
	char key[RL_KEY_MAX];
	uint64_t hash;
	struct rl_shard *sh;
	struct rl_entry *e = NULL, *victim = NULL;
	size_t start;
	int wait = 0;
	(void)group_index;

	if (!rl_shards || group->rate_per_sec <= 0)
		return 0;
	snprintf(key, sizeof(key), "%s|%s", group->name, client);
	hash = fnv1a(key);
	sh = &rl_shards[hash % RL_SHARDS];
	start = (size_t)(hash / RL_SHARDS) % RL_SLOTS;

	pthread_mutex_lock(&sh->mu);
	{
		struct rl_entry *free_slot = NULL, *oldest = NULL;
		for (size_t k = 0; k < RL_PROBE; k++) {
			struct rl_entry *s = &sh->slots[(start + k) % RL_SLOTS];
			if (s->hash == hash && strcmp(s->key, key) == 0) {
				e = s;
				break;
			}
			if (s->hash == 0) {
				if (!free_slot)
					free_slot = s;
			} else if (!oldest || s->last_us < oldest->last_us) {
				oldest = s;
			}
		}
		victim = free_slot ? free_slot : oldest;
	}
	if (!e) {
		e = victim;
		e->hash = hash;
		snprintf(e->key, sizeof(e->key), "%s", key);
		e->tokens = group->burst;
		e->last_us = now_us;
	}
	if (now_us > e->last_us) {
		e->tokens += (double)(now_us - e->last_us) / 1e6 * group->rate_per_sec;
		if (e->tokens > group->burst)
			e->tokens = group->burst;
		e->last_us = now_us;
	}
	if (e->tokens >= 1.0) {
		e->tokens -= 1.0;
	} else {
		wait = (int)ceil((1.0 - e->tokens) / group->rate_per_sec);
		if (wait < 1)
			wait = 1;
	}
	pthread_mutex_unlock(&sh->mu);
	return wait;
}
