/* arena.h - a per-request bump allocator.
 *
 * Everything allocated from an arena is freed at once by b4_arena_free;
 * handlers never free arena memory one piece at a time.  Allocation
 * failure returns NULL.
 */
#ifndef B4_ARENA_H
#define B4_ARENA_H

#include <stddef.h>

struct b4_arena;

struct b4_arena *b4_arena_new(size_t first_chunk);
void b4_arena_free(struct b4_arena *arena);		   /* accepts NULL */
void *b4_arena_alloc(struct b4_arena *arena, size_t size); /* 16-byte aligned */
void *b4_arena_calloc(struct b4_arena *arena, size_t n, size_t size);
char *b4_arena_strdup(struct b4_arena *arena, const char *s);
char *b4_arena_strndup(struct b4_arena *arena, const char *s, size_t n);
char *b4_arena_printf(struct b4_arena *arena, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
