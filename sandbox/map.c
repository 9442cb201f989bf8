/* map.c - string-keyed hash map (chained, grows by doubling) for the
 * sandbox's in-memory indexes, so lookups stay O(1) however many charges
 * and idempotency keys a benchmark leaves behind. */
#include "sandbox.h"

#include <stdlib.h>
#include <string.h>

struct sbx_map_node {
	const char *key;
	void *value;
	uint64_t hash;
	struct sbx_map_node *next;
};

#define MAP_INITIAL_BUCKETS 1024

static uint64_t hash_of(const char *key)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	return h;
}

/* Doubles the bucket array; on allocation failure the map stays as is
 * (only slower). */
static void grow(struct sbx_map *map)
{
	size_t n = map->nbuckets ? map->nbuckets * 2 : MAP_INITIAL_BUCKETS;
	struct sbx_map_node **buckets = calloc(n, sizeof(*buckets));

	if (!buckets)
		return;
	for (size_t i = 0; i < map->nbuckets; i++) {
		struct sbx_map_node *node = map->buckets[i];
		while (node) {
			struct sbx_map_node *next = node->next;
			size_t b = (size_t)(node->hash & (n - 1));
			node->next = buckets[b];
			buckets[b] = node;
			node = next;
		}
	}
	free(map->buckets);
	map->buckets = buckets;
	map->nbuckets = n;
}

int sbx_map_put(struct sbx_map *map, const char *key, void *value)
{
	struct sbx_map_node *node;
	uint64_t h = hash_of(key);
	size_t b;

	if (map->count >= map->nbuckets)
		grow(map);
	if (!map->buckets)
		return -1;
	b = (size_t)(h & (map->nbuckets - 1));
	for (node = map->buckets[b]; node; node = node->next) {
		if (node->hash == h && strcmp(node->key, key) == 0) {
			node->key = key;
			node->value = value;
			return 0;
		}
	}
	node = malloc(sizeof(*node));
	if (!node)
		return -1;
	node->key = key;
	node->value = value;
	node->hash = h;
	node->next = map->buckets[b];
	map->buckets[b] = node;
	map->count++;
	return 0;
}

void *sbx_map_get(const struct sbx_map *map, const char *key)
{
	uint64_t h;

	if (!map->buckets)
		return NULL;
	h = hash_of(key);
	for (struct sbx_map_node *node = map->buckets[h & (map->nbuckets - 1)]; node;
	     node = node->next)
		if (node->hash == h && strcmp(node->key, key) == 0)
			return node->value;
	return NULL;
}

void sbx_map_remove(struct sbx_map *map, const char *key)
{
	uint64_t h;

	if (!map->buckets)
		return;
	h = hash_of(key);
	for (struct sbx_map_node **link = &map->buckets[h & (map->nbuckets - 1)]; *link;
	     link = &(*link)->next) {
		struct sbx_map_node *node = *link;
		if (node->hash == h && strcmp(node->key, key) == 0) {
			*link = node->next;
			free(node);
			map->count--;
			return;
		}
	}
}

void sbx_map_cleanup(struct sbx_map *map)
{
	for (size_t i = 0; i < map->nbuckets; i++) {
		struct sbx_map_node *node = map->buckets[i];
		while (node) {
			struct sbx_map_node *next = node->next;
			free(node);
			node = next;
		}
	}
	free(map->buckets);
	memset(map, 0, sizeof(*map));
}
