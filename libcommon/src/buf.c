/* buf.c - growable byte buffer; see b4/buf.h. */
#include "b4/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void b4_buf_init(struct b4_buf *buf)
{
	memset(buf, 0, sizeof(*buf));
}

void b4_buf_cleanup(struct b4_buf *buf)
{
	free(buf->data);
	memset(buf, 0, sizeof(*buf));
}

void b4_buf_reset(struct b4_buf *buf)
{
	buf->len = 0;
	buf->failed = false;
	if (buf->data)
		buf->data[0] = '\0';
}

static bool buf_reserve(struct b4_buf *buf, size_t extra)
{
	size_t need, cap;
	char *data;

	if (buf->failed)
		return false;
	if (extra > SIZE_MAX - buf->len - 1)
		goto fail;
	need = buf->len + extra + 1;
	if (need <= buf->cap)
		return true;
	cap = buf->cap ? buf->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			goto fail;
		cap *= 2;
	}
	data = realloc(buf->data, cap);
	if (!data)
		goto fail;
	buf->data = data;
	buf->cap = cap;
	return true;
fail:
	buf->failed = true;
	return false;
}

void b4_buf_append(struct b4_buf *buf, const void *data, size_t len)
{
	if (!buf_reserve(buf, len))
		return;
	if (len)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

void b4_buf_puts(struct b4_buf *buf, const char *text)
{
	b4_buf_append(buf, text, strlen(text));
}

void b4_buf_printf(struct b4_buf *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(buf, (size_t)n)) {
		buf->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (at most left bytes), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t left)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xE0) == 0xC0) {
		n = 2;
		cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3;
		cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

void b4_buf_json_string(struct b4_buf *buf, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, run;

	b4_buf_append(buf, "\"", 1);
	while (i < len) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			b4_buf_append(buf, "\\", 1);
			b4_buf_append(buf, &s[i], 1);
			i++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n':
				b4_buf_puts(buf, "\\n");
				break;
			case '\r':
				b4_buf_puts(buf, "\\r");
				break;
			case '\t':
				b4_buf_puts(buf, "\\t");
				break;
			default:
				b4_buf_printf(buf, "\\u%04x", c);
				break;
			}
			i++;
		} else {
			run = utf8_seq_len(s + i, len - i);
			if (run == 0) {
				b4_buf_puts(buf, "\xEF\xBF\xBD");
				i++;
			} else {
				b4_buf_append(buf, s + i, run);
				i += run;
			}
		}
	}
	b4_buf_append(buf, "\"", 1);
}

bool b4_buf_failed(const struct b4_buf *buf)
{
	return buf->failed;
}

char *b4_buf_steal(struct b4_buf *buf, size_t *len)
{
	char *data = buf->data;

	if (len)
		*len = buf->len;
	if (!data) {
		data = calloc(1, 1);
	}
	memset(buf, 0, sizeof(*buf));
	return data;
}

void b4_errbuf_set(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!err || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}
