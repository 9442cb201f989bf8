/* arena.c - per-request bump allocator; see b4/arena.h. */
#include "b4/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct chunk {
	struct chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

struct b4_arena {
	struct chunk *head;
	size_t next_size;
};

static struct chunk *chunk_new(size_t cap)
{
	struct chunk *c;

	if (cap > SIZE_MAX - sizeof(*c))
		return NULL;
	c = malloc(sizeof(*c) + cap);
	if (!c)
		return NULL;
	c->next = NULL;
	c->used = 0;
	c->cap = cap;
	return c;
}

struct b4_arena *b4_arena_new(size_t first_chunk)
{
	struct b4_arena *a = malloc(sizeof(*a));

	if (!a)
		return NULL;
	a->next_size = first_chunk ? first_chunk : 4096;
	a->head = chunk_new(a->next_size);
	if (!a->head) {
		free(a);
		return NULL;
	}
	return a;
}

void b4_arena_free(struct b4_arena *arena)
{
	struct chunk *c, *next;

	if (!arena)
		return;
	for (c = arena->head; c; c = next) {
		next = c->next;
		free(c);
	}
	free(arena);
}

void *b4_arena_alloc(struct b4_arena *arena, size_t size)
{
	struct chunk *c = arena->head;
	size_t start;

	if (size > SIZE_MAX - 15)
		return NULL;
	size = (size + 15) & ~(size_t)15;
	start = c->used;
	if (size > c->cap - start) {
		size_t cap = arena->next_size;
		while (cap < size) {
			if (cap > SIZE_MAX / 2)
				return NULL;
			cap *= 2;
		}
		c = chunk_new(cap);
		if (!c)
			return NULL;
		c->next = arena->head;
		arena->head = c;
		if (arena->next_size < 1 << 20)
			arena->next_size *= 2;
		start = 0;
	}
	c->used = start + size;
	return c->data + start;
}

void *b4_arena_calloc(struct b4_arena *arena, size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	p = b4_arena_alloc(arena, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

char *b4_arena_strndup(struct b4_arena *arena, const char *s, size_t n)
{
	char *d;

	if (n == SIZE_MAX)
		return NULL;
	d = b4_arena_alloc(arena, n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *b4_arena_strdup(struct b4_arena *arena, const char *s)
{
	return s ? b4_arena_strndup(arena, s, strlen(s)) : NULL;
}

char *b4_arena_printf(struct b4_arena *arena, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *d;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	d = b4_arena_alloc(arena, (size_t)n + 1);
	if (!d)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(d, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return d;
}
