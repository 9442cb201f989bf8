/* buf.h - a growable byte buffer and JSON string escaping.
 *
 * The buffer owns its memory (malloc); b4_buf_cleanup frees it.  Appends
 * never fail silently: on allocation failure the buffer is marked failed,
 * later appends do nothing and b4_buf_failed() says so.
 */
#ifndef B4_BUF_H
#define B4_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct b4_buf {
	char *data; /* always NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	bool failed;
};

void b4_buf_init(struct b4_buf *buf);
void b4_buf_cleanup(struct b4_buf *buf);
void b4_buf_reset(struct b4_buf *buf);
void b4_buf_append(struct b4_buf *buf, const void *data, size_t len);
void b4_buf_puts(struct b4_buf *buf, const char *text);
void b4_buf_printf(struct b4_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends text as a JSON string literal, quotes included.  Invalid UTF-8
 * bytes are replaced by U+FFFD so the output is always valid JSON. */
void b4_buf_json_string(struct b4_buf *buf, const char *text, size_t len);
bool b4_buf_failed(const struct b4_buf *buf);
/* Hands the data to the caller (free() it) and leaves the buffer empty. */
char *b4_buf_steal(struct b4_buf *buf, size_t *len);

/* Writes a formatted message into err (cap bytes) when err is not NULL:
 * for functions that report a reason to their caller. */
void b4_errbuf_set(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
