/* Strict HTTP/1.1 message-head and chunked-body parsing for b4-gateway.
 *
 * Pure functions over caller-owned bytes: no allocation, no I/O, no globals,
 * so they can be unit-tested and fuzzed alone.  The rules follow RFC 9112 and
 * refuse everything a request-smuggling attack needs (section 6.3): both
 * Transfer-Encoding and Content-Length, repeated or malformed Content-Length,
 * any transfer coding other than a single "chunked", obs-fold, whitespace
 * before a colon, bare CR or bare LF, invalid chunk sizes.
 */
#ifndef GW_HTTP_PARSE_H
#define GW_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GW_MAX_HEADERS 100

/* Parse results: > 0 is the head length, 0 means "need more bytes". */
#define GW_PARSE_INCOMPLETE 0
#define GW_PARSE_BAD -400		/* malformed or ambiguous: answer 400 and close */
#define GW_PARSE_TOO_LARGE -431 /* head over the limit or too many fields */

struct gw_str {
	const char *ptr;
	size_t len;
};

struct gw_header {
	struct gw_str name;
	struct gw_str value;
};

enum gw_body_kind {
	GW_BODY_NONE,	 /* no body */
	GW_BODY_LENGTH,	 /* Content-Length bytes */
	GW_BODY_CHUNKED, /* chunked transfer coding */
	GW_BODY_CLOSE,	 /* responses only: until the connection closes */
};

enum gw_method {
	GW_METHOD_OTHER,
	GW_METHOD_GET,
	GW_METHOD_HEAD,
	GW_METHOD_POST,
	GW_METHOD_PUT,
	GW_METHOD_DELETE,
	GW_METHOD_OPTIONS,
	GW_METHOD_PATCH,
	GW_METHOD_CONNECT,
	GW_METHOD_TRACE,
};

/* Flags found while parsing the fields. */
#define GW_HF_CONN_CLOSE 0x01	   /* Connection: close */
#define GW_HF_CONN_KEEPALIVE 0x02  /* Connection: keep-alive */
#define GW_HF_EXPECT_CONTINUE 0x04 /* Expect: 100-continue */
#define GW_HF_UPGRADE 0x08	   /* an Upgrade field is present */
#define GW_HF_UPGRADE_H2C 0x10	   /* Upgrade names h2c */
#define GW_HF_IDEMPOTENCY_KEY 0x20 /* Idempotency-Key present */

/* Index of well-known fields; -1 when absent. */
struct gw_known_fields {
	int host;
	int request_id;
	int forwarded_for;
	int forwarded_proto;
	int forwarded_host;
};

struct gw_message_head {
	/* request line (requests) */
	struct gw_str method;
	struct gw_str target;
	enum gw_method method_id;
	/* status line (responses) */
	int status;
	int minor_version; /* 0 or 1 */
	struct gw_header headers[GW_MAX_HEADERS];
	size_t nheaders;
	enum gw_body_kind body_kind;
	uint64_t content_length;
	unsigned flags;
	struct gw_known_fields known;
	/* Tokens of the Connection fields (names of more hop-by-hop fields). */
	struct gw_str conn_tokens[16];
	size_t nconn_tokens;
	size_t head_len;
};

/* Parses a request head from buf[0..len).  Returns the head length (> 0) and
 * fills *out, GW_PARSE_INCOMPLETE when the head is not complete yet and still
 * within max_head bytes, GW_PARSE_TOO_LARGE when it is over max_head bytes or
 * has more than GW_MAX_HEADERS fields, GW_PARSE_BAD when it is malformed or its
 * framing is ambiguous.  Spans in *out point into buf. */
int gw_parse_request(const char *buf, size_t len, size_t max_head, struct gw_message_head *out);

/* Parses a response head the same way.  head_request: the request was HEAD,
 * so the response has no body whatever its fields say.  Responses without
 * Content-Length or chunked get GW_BODY_CLOSE. */
int gw_parse_response(const char *buf, size_t len, size_t max_head, bool head_request,
		      struct gw_message_head *out);

/* True when the field name is hop-by-hop for this message: the fixed list of
 * RFC 9110 7.6.1 plus any name listed in its Connection fields. */
bool gw_is_hop_by_hop(const struct gw_message_head *head, const struct gw_str *name);

/* Case-insensitive comparison of a span with a NUL-terminated lowercase
 * literal. */
bool gw_str_ieq(const struct gw_str *s, const char *lower);

/* True when s is a valid request id: 1..128 of [A-Za-z0-9._-]. */
bool gw_request_id_is_valid(const char *s, size_t len);

/* Incremental chunked-body decoder. */
struct gw_chunked {
	int state;
	uint64_t remaining; /* bytes left in the current chunk's data */
	unsigned digits;
	size_t line_bytes; /* bytes in the current size or trailer line */
	size_t trailer_bytes;
	bool done;
};

void gw_chunked_init(struct gw_chunked *c);

/* Feeds bytes of a chunked body.  Consumes a prefix of buf that is either all
 * chunk data (*is_data true) or all framing (size lines, CRLFs, trailers),
 * and returns its length; the caller loops until it has fed everything or
 * c->done is set (then the rest of buf belongs to the next message).  Returns
 * -1 on invalid framing: a size that is empty, not hex, over 2^60, a
 * missing CRLF, bare CR or LF, or trailers over max_trailer bytes. */
ssize_t gw_chunked_feed(struct gw_chunked *c, const char *buf, size_t len, size_t max_trailer,
			bool *is_data);

#endif
