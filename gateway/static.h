/* b4-gateway static routes: answers a request from files under a folder,
 * as a CDN serves a bucket.  The caller (proxy.c) writes the reply. */
#ifndef GW_STATIC_H
#define GW_STATIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "gateway.h"
#include "http_parse.h"

#define GW_CACHE_IMMUTABLE  "public, max-age=31536000, immutable"
#define GW_CACHE_REVALIDATE "no-cache"

struct gw_static_reply {
	int status; /* 200, 206, 304, 400, 404, 405 or 416 */
	enum gw_static_result result;
	const char *err_code; /* 400, 404, 405: the API error's code and message; else NULL */
	const char *err_message;
	char headers[1024]; /* "Name: value\r\n" lines for a 200, 206, 304 or 416 (405: Allow) */
	size_t headers_len;
	int fd;		    /* 200 or 206 to a GET: the body's file, owned by the caller; else -1 */
	uint64_t offset;    /* where the body starts in fd (206: the range's first byte) */
	uint64_t size;	    /* Content-Length of a 200, 206 or 416 (0) */
	bool precompressed; /* the body is a .br / .gz sibling */
	bool vary_encoding; /* the answer depends on Accept-Encoding */
};

/* What a Range field asks of a representation (RFC 9110 14.2). */
enum gw_static_range {
	GW_RANGE_IGNORE,	/* absent, malformed, another unit or several ranges: 200 */
	GW_RANGE_SATISFIABLE,	/* one range inside the representation: 206 */
	GW_RANGE_UNSATISFIABLE, /* starts at or past its end, or "-0": 416 */
};

/* Answers the request h on static route (route, st): finds the file for its
 * path (index file for a folder, "x.html" for "x" when enabled, else the
 * fallback that matches), refuses what could leave the folder (dot
 * segments, encoded slashes, NUL, symlinks out of the root, hidden files),
 * picks a precompressed sibling the client accepts, answers 304 to a
 * matching If-None-Match / If-Modified-Since, then, for a GET, 206 or 416
 * to a single byte range (Range, If-Range).  Fills *rep; never fails. */
void gw_static_serve(const struct gw_static_cfg *st, const struct gw_route_cfg *route,
		     const struct gw_message_head *h, struct gw_static_reply *rep);

/* The media type for a file name, by extension (application/octet-stream
 * when unknown). */
const char *gw_static_content_type(const char *name);

/* True when the Accept-Encoding fields of h accept coding (q > 0, by name
 * or through "*"). */
bool gw_static_accepts(const struct gw_message_head *h, const char *coding);

/* Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); -1 if not one. */
time_t gw_static_parse_date(const char *s, size_t len);

/* Reads the Range field value s[0..len) against a representation of length
 * bytes.  Only "bytes=" (any case) with exactly one range-spec is honoured:
 * "first-last", "first-" or the suffix "-count", with optional whitespace
 * and empty elements around it as in any list.  For GW_RANGE_SATISFIABLE,
 * *first and *last are the inclusive offsets to send (last clamped to
 * length - 1; a suffix longer than the representation is all of it); they
 * are left alone otherwise.  Numbers too large for 64 bits saturate, which
 * keeps their meaning: past any end.  An empty representation has no part
 * to send, so a suffix on it is ignored (the whole, empty, file). */
enum gw_static_range gw_static_parse_range(const char *s, size_t len, uint64_t length,
					   uint64_t *first, uint64_t *last);

#endif
