/* Strict HTTP/1.1 head and chunked-body parsing; see http_parse.h. */
#include "http_parse.h"

#include <string.h>

/* tchar of RFC 9110 5.6.2 */
static const unsigned char tchar_table[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
	['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1,  ['|'] = 1,
	['~'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,  ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1,  ['C'] = 1,
	['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,  ['J'] = 1,
	['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,  ['Q'] = 1,
	['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1,  ['X'] = 1,
	['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1,  ['e'] = 1,
	['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,  ['s'] = 1,
	['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1,  ['z'] = 1,
};

static bool is_tchar(unsigned char c)
{
	return tchar_table[c] != 0;
}

/* field-vchar, SP, HTAB or obs-text: what a field value may hold */
static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

bool gw_str_ieq(const struct gw_str *s, const char *lower_lit)
{
	size_t n = strlen(lower_lit);
	if (s->len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s->ptr[i]) != lower_lit[i])
			return false;
	return true;
}

bool gw_request_id_is_valid(const char *s, size_t len)
{
	if (len < 1 || len > 128)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Finds the end of the head: the CRLF CRLF.  Every LF must follow a CR and
 * every CR must precede an LF; NUL is refused anywhere. */
static int find_head_end(const char *buf, size_t len, size_t max_head, size_t *end)
{
	size_t scan = len < max_head ? len : max_head;
	size_t line_start = 0;

	for (size_t i = 0; i < scan; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\r') {
			if (i + 1 >= scan)
				break;
			if (buf[i + 1] != '\n')
				return GW_PARSE_BAD;
			if (i == line_start) {
				*end = i + 2;
				return 1;
			}
			i++;
			line_start = i + 1;
		} else if (c == '\n' || c == '\0') {
			return GW_PARSE_BAD;
		}
	}
	if (len >= max_head)
		return GW_PARSE_TOO_LARGE;
	return GW_PARSE_INCOMPLETE;
}

/* Next CRLF-terminated line starting at *pos (the head was validated by
 * find_head_end, so a CRLF exists). */
static struct gw_str next_line(const char *buf, size_t end, size_t *pos)
{
	struct gw_str line = {buf + *pos, 0};
	const char *cr = memchr(buf + *pos, '\r', end - *pos);
	line.len = (size_t)(cr - line.ptr);
	*pos += line.len + 2;
	return line;
}

static enum gw_method method_id(const struct gw_str *m)
{
	static const struct {
		const char *name;
		enum gw_method id;
	} methods[] = {
		{"GET", GW_METHOD_GET},	    {"HEAD", GW_METHOD_HEAD},	    {"POST", GW_METHOD_POST},
		{"PUT", GW_METHOD_PUT},	    {"DELETE", GW_METHOD_DELETE},   {"OPTIONS", GW_METHOD_OPTIONS},
		{"PATCH", GW_METHOD_PATCH}, {"CONNECT", GW_METHOD_CONNECT}, {"TRACE", GW_METHOD_TRACE},
	};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t n = strlen(methods[i].name);
		if (m->len == n && memcmp(m->ptr, methods[i].name, n) == 0)
			return methods[i].id;
	}
	return GW_METHOD_OTHER;
}

static int parse_version(const char *p, size_t len, int *minor)
{
	if (len != 8 || memcmp(p, "HTTP/1.", 7) != 0)
		return -1;
	if (p[7] != '0' && p[7] != '1')
		return -1;
	*minor = p[7] - '0';
	return 0;
}

static int parse_request_line(struct gw_str line, struct gw_message_head *out)
{
	size_t i = 0;

	while (i < line.len && is_tchar((unsigned char)line.ptr[i]))
		i++;
	if (i == 0 || i >= line.len || line.ptr[i] != ' ')
		return -1;
	out->method.ptr = line.ptr;
	out->method.len = i;
	i++;
	out->target.ptr = line.ptr + i;
	while (i < line.len) {
		unsigned char c = (unsigned char)line.ptr[i];
		if (c == ' ')
			break;
		if (c <= 0x20 || c >= 0x7f)
			return -1;
		i++;
	}
	out->target.len = (size_t)(line.ptr + i - out->target.ptr);
	if (out->target.len == 0 || i >= line.len)
		return -1;
	i++;
	if (parse_version(line.ptr + i, line.len - i, &out->minor_version) != 0)
		return -1;
	out->method_id = method_id(&out->method);
	if (out->target.ptr[0] != '/') {
		/* only origin-form, and "*" for OPTIONS */
		if (!(out->target.len == 1 && out->target.ptr[0] == '*' &&
		      out->method_id == GW_METHOD_OPTIONS))
			return -1;
	}
	return 0;
}

static int parse_status_line(struct gw_str line, struct gw_message_head *out)
{
	const char *p = line.ptr;
	if (line.len < 12 || parse_version(p, 8, &out->minor_version) != 0 || p[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return -1;
	out->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (out->status < 100 || out->status > 599)
		return -1;
	if (line.len > 12 && p[12] != ' ')
		return -1;
	for (size_t i = 13; i < line.len; i++)
		if (!is_value_char((unsigned char)p[i]))
			return -1;
	return 0;
}

/* Splits a comma-separated token list; calls back with each trimmed element.
 * Returns -1 on an element that is not a token. */
static int for_each_token(struct gw_str v, int (*fn)(struct gw_str tok, void *arg), void *arg)
{
	size_t i = 0;
	while (i <= v.len) {
		size_t start, stop;
		while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == '\t'))
			i++;
		start = i;
		while (i < v.len && v.ptr[i] != ',')
			i++;
		stop = i;
		while (stop > start && (v.ptr[stop - 1] == ' ' || v.ptr[stop - 1] == '\t'))
			stop--;
		if (stop > start) {
			struct gw_str tok = {v.ptr + start, stop - start};
			for (size_t k = 0; k < tok.len; k++)
				if (!is_tchar((unsigned char)tok.ptr[k]))
					return -1;
			if (fn(tok, arg) != 0)
				return -1;
		}
		i++;
	}
	return 0;
}

static int connection_token(struct gw_str tok, void *arg)
{
	struct gw_message_head *h = arg;
	if (gw_str_ieq(&tok, "close"))
		h->flags |= GW_HF_CONN_CLOSE;
	else if (gw_str_ieq(&tok, "keep-alive"))
		h->flags |= GW_HF_CONN_KEEPALIVE;
	if (h->nconn_tokens >= sizeof(h->conn_tokens) / sizeof(h->conn_tokens[0]))
		return -1;
	h->conn_tokens[h->nconn_tokens++] = tok;
	return 0;
}

static int upgrade_token(struct gw_str tok, void *arg)
{
	struct gw_message_head *h = arg;
	if (gw_str_ieq(&tok, "h2c"))
		h->flags |= GW_HF_UPGRADE_H2C;
	return 0;
}

static int parse_content_length(struct gw_str v, uint64_t *out)
{
	uint64_t n = 0;
	if (v.len == 0 || v.len > 18)
		return -1;
	for (size_t i = 0; i < v.len; i++) {
		if (v.ptr[i] < '0' || v.ptr[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(v.ptr[i] - '0');
	}
	*out = n;
	return 0;
}

/* Parses the field lines from pos to the end of the head. */
static int parse_fields(const char *buf, size_t pos, size_t end, bool is_request,
			struct gw_message_head *out)
{
	bool seen_cl = false, seen_te = false;
	int hosts = 0;

	while (pos < end - 2) {
		struct gw_str line = next_line(buf, end, &pos);
		struct gw_header *h;
		size_t i = 0, vstart, vend;

		if (line.len == 0)
			break;
		if (line.ptr[0] == ' ' || line.ptr[0] == '\t')
			return GW_PARSE_BAD; /* obs-fold */
		while (i < line.len && is_tchar((unsigned char)line.ptr[i]))
			i++;
		if (i == 0 || i >= line.len || line.ptr[i] != ':')
			return GW_PARSE_BAD; /* also whitespace before the colon */
		if (out->nheaders >= GW_MAX_HEADERS)
			return GW_PARSE_TOO_LARGE;
		h = &out->headers[out->nheaders];
		h->name.ptr = line.ptr;
		h->name.len = i;
		vstart = i + 1;
		while (vstart < line.len && (line.ptr[vstart] == ' ' || line.ptr[vstart] == '\t'))
			vstart++;
		vend = line.len;
		while (vend > vstart && (line.ptr[vend - 1] == ' ' || line.ptr[vend - 1] == '\t'))
			vend--;
		for (size_t k = vstart; k < vend; k++)
			if (!is_value_char((unsigned char)line.ptr[k]))
				return GW_PARSE_BAD;
		h->value.ptr = line.ptr + vstart;
		h->value.len = vend - vstart;

		switch (lower((unsigned char)h->name.ptr[0])) {
		case 'c':
			if (gw_str_ieq(&h->name, "content-length")) {
				if (seen_cl || parse_content_length(h->value, &out->content_length) != 0)
					return GW_PARSE_BAD;
				seen_cl = true;
			} else if (gw_str_ieq(&h->name, "connection")) {
				if (for_each_token(h->value, connection_token, out) != 0)
					return GW_PARSE_BAD;
			}
			break;
		case 't':
			if (gw_str_ieq(&h->name, "transfer-encoding")) {
				if (seen_te || !gw_str_ieq(&h->value, "chunked"))
					return GW_PARSE_BAD;
				seen_te = true;
			}
			break;
		case 'h':
			if (gw_str_ieq(&h->name, "host")) {
				hosts++;
				out->known.host = (int)out->nheaders;
			}
			break;
		case 'u':
			if (gw_str_ieq(&h->name, "upgrade")) {
				out->flags |= GW_HF_UPGRADE;
				if (for_each_token(h->value, upgrade_token, out) != 0)
					out->flags |= GW_HF_UPGRADE_H2C; /* unparseable: assume the worst */
			}
			break;
		case 'e':
			if (gw_str_ieq(&h->name, "expect") && gw_str_ieq(&h->value, "100-continue"))
				out->flags |= GW_HF_EXPECT_CONTINUE;
			break;
		case 'i':
			if (gw_str_ieq(&h->name, "idempotency-key") && h->value.len > 0)
				out->flags |= GW_HF_IDEMPOTENCY_KEY;
			break;
		case 'x':
			if (out->known.request_id < 0 && gw_str_ieq(&h->name, "x-request-id"))
				out->known.request_id = (int)out->nheaders;
			else if (out->known.forwarded_for < 0 &&
				 gw_str_ieq(&h->name, "x-forwarded-for"))
				out->known.forwarded_for = (int)out->nheaders;
			else if (out->known.forwarded_proto < 0 &&
				 gw_str_ieq(&h->name, "x-forwarded-proto"))
				out->known.forwarded_proto = (int)out->nheaders;
			else if (out->known.forwarded_host < 0 &&
				 gw_str_ieq(&h->name, "x-forwarded-host"))
				out->known.forwarded_host = (int)out->nheaders;
			break;
		default:
			break;
		}
		out->nheaders++;
	}

	if (seen_te && seen_cl)
		return GW_PARSE_BAD;
	if (is_request) {
		if (seen_te && out->minor_version == 0)
			return GW_PARSE_BAD;
		if (hosts > 1 || (out->minor_version == 1 && hosts != 1))
			return GW_PARSE_BAD;
	}
	if (seen_te)
		out->body_kind = GW_BODY_CHUNKED;
	else if (seen_cl)
		out->body_kind = out->content_length ? GW_BODY_LENGTH : GW_BODY_NONE;
	else
		out->body_kind = is_request ? GW_BODY_NONE : GW_BODY_CLOSE;
	return 0;
}

static void head_reset(struct gw_message_head *out)
{
	out->nheaders = 0;
	out->nconn_tokens = 0;
	out->flags = 0;
	out->content_length = 0;
	out->body_kind = GW_BODY_NONE;
	out->status = 0;
	out->method_id = GW_METHOD_OTHER;
	out->method.ptr = out->target.ptr = NULL;
	out->method.len = out->target.len = 0;
	out->known.host = out->known.request_id = out->known.forwarded_for = -1;
	out->known.forwarded_proto = out->known.forwarded_host = -1;
	out->head_len = 0;
}

int gw_parse_request(const char *buf, size_t len, size_t max_head, struct gw_message_head *out)
{
	size_t end = 0, pos = 0;
	int rc = find_head_end(buf, len, max_head, &end);
	if (rc <= 0)
		return rc;
	head_reset(out);
	if (parse_request_line(next_line(buf, end, &pos), out) != 0)
		return GW_PARSE_BAD;
	rc = parse_fields(buf, pos, end, true, out);
	if (rc != 0)
		return rc;
	out->head_len = end;
	return (int)end;
}

int gw_parse_response(const char *buf, size_t len, size_t max_head, bool head_request,
		      struct gw_message_head *out)
{
	size_t end = 0, pos = 0;
	int rc = find_head_end(buf, len, max_head, &end);
	if (rc <= 0)
		return rc;
	head_reset(out);
	if (parse_status_line(next_line(buf, end, &pos), out) != 0)
		return GW_PARSE_BAD;
	rc = parse_fields(buf, pos, end, false, out);
	if (rc != 0)
		return rc;
	if (head_request || out->status < 200 || out->status == 204 || out->status == 304)
		out->body_kind = GW_BODY_NONE;
	out->head_len = end;
	return (int)end;
}

bool gw_is_hop_by_hop(const struct gw_message_head *head, const struct gw_str *name)
{
	static const char *const fixed[] = {
		"connection", "keep-alive", "proxy-connection", "te",
		"transfer-encoding", "upgrade", "http2-settings", "trailer",
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (gw_str_ieq(name, fixed[i]))
			return true;
	for (size_t i = 0; i < head->nconn_tokens; i++) {
		const struct gw_str *t = &head->conn_tokens[i];
		if (t->len != name->len)
			continue;
		size_t k = 0;
		while (k < t->len && lower((unsigned char)t->ptr[k]) ==
					     lower((unsigned char)name->ptr[k]))
			k++;
		if (k == t->len)
			return true;
	}
	return false;
}

/* ---- chunked ---- */

enum {
	CH_SIZE,	   /* hex digits of the chunk size */
	CH_EXT,		   /* chunk extensions up to CR */
	CH_SIZE_LF,	   /* LF after the size line */
	CH_DATA,	   /* chunk data */
	CH_DATA_CR,	   /* CR after data */
	CH_DATA_LF,	   /* LF after data */
	CH_TRAILER_START,  /* start of a trailer line or the final CRLF */
	CH_TRAILER_LINE,   /* inside a trailer line */
	CH_TRAILER_LF,	   /* LF ending a trailer line */
	CH_END_LF,	   /* LF of the final empty line */
};

#define CH_MAX_SIZE_LINE 4096

void gw_chunked_init(struct gw_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_SIZE;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t gw_chunked_feed(struct gw_chunked *c, const char *buf, size_t len, size_t max_trailer,
			bool *is_data)
{
	size_t i = 0;

	*is_data = false;
	if (c->done || len == 0)
		return 0;
	if (c->state == CH_DATA) {
		size_t n = len < c->remaining ? len : (size_t)c->remaining;
		c->remaining -= n;
		if (c->remaining == 0)
			c->state = CH_DATA_CR;
		*is_data = true;
		return (ssize_t)n;
	}
	for (; i < len && !c->done && c->state != CH_DATA; i++) {
		unsigned char ch = (unsigned char)buf[i];
		switch (c->state) {
		case CH_SIZE: {
			int v = hexval(ch);
			if (v >= 0) {
				if (c->remaining >> 56)
					return -1;
				c->remaining = (c->remaining << 4) | (uint64_t)v;
				c->digits++;
			} else if (c->digits == 0) {
				return -1;
			} else if (ch == '\r') {
				c->state = CH_SIZE_LF;
			} else if (ch == ';' || ch == ' ' || ch == '\t') {
				c->state = CH_EXT;
			} else {
				return -1;
			}
			if (++c->line_bytes > CH_MAX_SIZE_LINE)
				return -1;
			break;
		}
		case CH_EXT:
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (!is_value_char(ch))
				return -1;
			if (++c->line_bytes > CH_MAX_SIZE_LINE)
				return -1;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return -1;
			c->line_bytes = 0;
			c->digits = 0;
			c->state = c->remaining ? CH_DATA : CH_TRAILER_START;
			break;
		case CH_DATA_CR:
			if (ch != '\r')
				return -1;
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return -1;
			c->state = CH_SIZE;
			break;
		case CH_TRAILER_START:
			if (ch == '\r') {
				c->state = CH_END_LF;
			} else if (is_tchar(ch)) {
				c->state = CH_TRAILER_LINE;
			} else {
				return -1;
			}
			if (++c->trailer_bytes > max_trailer)
				return -1;
			break;
		case CH_TRAILER_LINE:
			if (ch == '\r')
				c->state = CH_TRAILER_LF;
			else if (!is_value_char(ch))
				return -1;
			if (++c->trailer_bytes > max_trailer)
				return -1;
			break;
		case CH_TRAILER_LF:
			if (ch != '\n')
				return -1;
			c->state = CH_TRAILER_START;
			break;
		case CH_END_LF:
			if (ch != '\n')
				return -1;
			c->done = true;
			break;
		default:
			return -1;
		}
	}
	return (ssize_t)i;
}
