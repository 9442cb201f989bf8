/* b4-gateway request paths: percent-decoding and normalisation for the
 * static route type and the internal-path guard.  Pure functions, no I/O. */
#ifndef GW_PATH_H
#define GW_PATH_H

#include <stdbool.h>
#include <stddef.h>

enum gw_path_rc {
	GW_PATH_OK = 0,
	GW_PATH_BAD = -1,	    /* bad escape, NUL, control byte, backslash, too long */
	GW_PATH_DOT_SEGMENT = -2,   /* a "." or ".." segment (literal or encoded) */
	GW_PATH_ENCODED_SLASH = -3, /* %2F inside a segment */
};

/* GW_PATH_STRICT: refuse dot segments and encoded slashes (file lookups).
 * Without it a "." segment is dropped, ".." removes the segment before it
 * (never above the root) and %2F counts as a separator: the path that a
 * lenient server behind us could end up seeing. */
#define GW_PATH_STRICT 1u

/* Decodes the path part of target[0..len) (it stops at '?' or '#') into out, a
 * NUL-terminated path that starts with '/', with runs of '/' collapsed and
 * a trailing '/' kept.  Returns GW_PATH_OK or a negative gw_path_rc. */
int gw_path_normalize(const char *target, size_t len, unsigned flags, char *out, size_t cap);

/* True when path (normalised) ends in a segment that starts with '.'
 * (".env", ".git/..."): such files are never served. */
bool gw_path_has_hidden_segment(const char *path);

/* Matches a normalised path against a pattern where '*' stands for one or
 * more bytes other than '/', and a final slash and two stars for any
 * rest (also none).  A trailing '/' of the path is ignored. */
bool gw_path_match(const char *pattern, const char *path);

#define GW_PATH_NAME_MAX 32

/* True when the path part of target[0..len) (the path an upstream sees)
 * names an internal endpoint ("/healthz", "/readyz", "/metrics", ...) in
 * any spelling: percent-encoded, with dot segments, doubled or trailing
 * slashes, any letter case.  names: n entries of "/name". */
bool gw_path_is_internal(const char *target, size_t len, const char (*names)[GW_PATH_NAME_MAX],
			 size_t n);

#endif
