/* b4-gateway static routes (static.h): files from a folder, with the
 * caching, conditional and content-coding rules of a CDN in front of a
 * bucket.  Lookups run on the worker's loop: local files, a handful of
 * syscalls each; the body is handed over as a file descriptor, so memory
 * does not grow with the file size. */
#include "static.h"
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
	const char *ext;
	const char *type;
} media_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
};

const char *gw_static_content_type(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *dot = strrchr(slash ? slash : name, '.');
	if (dot)
		for (size_t i = 0; i < sizeof(media_types) / sizeof(media_types[0]); i++)
			if (strcasecmp(dot + 1, media_types[i].ext) == 0)
				return media_types[i].type;
	return "application/octet-stream";
}

/* A qvalue ("1", "0.5", "0.000"): true when above zero. */
static bool qvalue_positive(const char *p, const char *end)
{
	if (p < end && *p == '1')
		return true;
	if (p >= end || *p != '0')
		return false;
	for (p++; p < end && (*p == '.' || (*p >= '0' && *p <= '9')); p++)
		if (*p >= '1' && *p <= '9')
			return true;
	return false;
}

bool gw_static_accepts(const struct gw_message_head *h, const char *coding)
{
	size_t clen = strlen(coding);
	int star = -1;

	for (size_t i = 0; i < h->nheaders; i++) {
		const char *p, *end;
		if (!gw_str_ieq(&h->headers[i].name, "accept-encoding"))
			continue;
		p = h->headers[i].value.ptr;
		end = p + h->headers[i].value.len;
		while (p < end) {
			const char *name, *name_end, *item_end;
			bool positive = true;
			while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
				p++;
			name = p;
			while (p < end && *p != ';' && *p != ',' && *p != ' ' && *p != '\t')
				p++;
			name_end = p;
			item_end = memchr(p, ',', (size_t)(end - p));
			if (!item_end)
				item_end = end;
			for (const char *q = p; q + 1 < item_end; q++)
				if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=' &&
				    (q[-1] == ';' || q[-1] == ' ' || q[-1] == '\t'))
					positive = qvalue_positive(q + 2, item_end);
			if ((size_t)(name_end - name) == clen &&
			    strncasecmp(name, coding, clen) == 0)
				return positive;
			if (name_end - name == 1 && *name == '*')
				star = positive;
			p = item_end;
		}
	}
	return star == 1;
}

time_t gw_static_parse_date(const char *s, size_t len)
{
	char buf[64];
	struct tm tm;
	const char *end;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(&tm, 0, sizeof(tm));
	end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	return timegm(&tm);
}

/* Reads the digits at *p (moved past them) into *value, saturating at
 * UINT64_MAX: no file is that long, so a saturated first-pos is still past
 * the end and a saturated last-pos or suffix still reaches it.  False, and
 * *value untouched, when there is no digit. */
static bool parse_range_number(const char **p, const char *end, uint64_t *value)
{
	const char *start = *p;
	uint64_t v = 0;

	for (; *p < end && **p >= '0' && **p <= '9'; (*p)++) {
		unsigned digit = (unsigned)(**p - '0');
		v = v > (UINT64_MAX - digit) / 10 ? UINT64_MAX : v * 10 + digit;
	}
	if (*p == start)
		return false;
	*value = v;
	return true;
}

enum gw_static_range gw_static_parse_range(const char *s, size_t len, uint64_t length,
					   uint64_t *first, uint64_t *last)
{
	const char *p = s, *end = s + len;
	uint64_t start = 0, stop = UINT64_MAX, suffix = 0;
	bool is_suffix = false;
	size_t specs = 0;

	/* range units compare case-insensitively (RFC 9110 14.1) */
	if (len < 6 || strncasecmp(s, "bytes=", 6) != 0)
		return GW_RANGE_IGNORE;
	for (p += 6; p < end;) {
		/* a list may hold empty elements and whitespace around commas */
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p == end)
			break;
		/* several ranges would want multipart/byteranges; a server may
		 * ignore the field instead (RFC 9110 14.2) */
		if (++specs > 1)
			return GW_RANGE_IGNORE;
		if (*p == '-') {
			p++;
			is_suffix = true;
			if (!parse_range_number(&p, end, &suffix))
				return GW_RANGE_IGNORE;
		} else {
			if (!parse_range_number(&p, end, &start) || p == end || *p != '-')
				return GW_RANGE_IGNORE;
			p++;
			if (parse_range_number(&p, end, &stop) && stop < start)
				return GW_RANGE_IGNORE; /* an invalid range-spec */
		}
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p != ',')
			return GW_RANGE_IGNORE;
	}
	if (specs == 0)
		return GW_RANGE_IGNORE;
	if (is_suffix) {
		if (suffix == 0)
			return GW_RANGE_UNSATISFIABLE;
		if (length == 0)
			return GW_RANGE_IGNORE; /* no byte to name in a Content-Range */
		start = suffix < length ? length - suffix : 0;
	} else if (start >= length) {
		return GW_RANGE_UNSATISFIABLE;
	}
	*first = start;
	*last = stop < length ? stop : length - 1;
	return GW_RANGE_SATISFIABLE;
}

/* How many fields of h are named lower; *first_value gets the first one's
 * value (left alone when there is none). */
static size_t count_header(const struct gw_message_head *h, const char *lower,
			   const struct gw_str **first_value)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nheaders; i++)
		if (gw_str_ieq(&h->headers[i].name, lower) && n++ == 0)
			*first_value = &h->headers[i].value;
	return n;
}

static const struct gw_str *find_header(const struct gw_message_head *h, const char *lower)
{
	const struct gw_str *value = NULL;
	count_header(h, lower, &value);
	return value;
}

#define FOUND_FILE    0
#define FOUND_FOLDER  1
#define FOUND_NONE    -1
#define FOUND_OUTSIDE -2 /* exists, but resolves out of the root or to a hidden file */

/* Opens root + rel when it resolves, symlinks followed, to a place inside
 * root_real that is not hidden.  Returns a FOUND_ value; *fd and *sb are
 * set for FOUND_FILE. */
static int open_under(const char *root, const char *root_real, const char *rel, int *fd,
		      struct stat *sb)
{
	char full[PATH_MAX + 256], real[PATH_MAX];
	size_t rl = strlen(root_real);
	int f;

	if ((size_t)snprintf(full, sizeof(full), "%s%s", root, rel) >= sizeof(full))
		return FOUND_NONE;
	if (!realpath(full, real))
		return FOUND_NONE;
	if (strncmp(real, root_real, rl) != 0 || (real[rl] != '/' && real[rl] != '\0') ||
	    gw_path_has_hidden_segment(real + rl))
		return FOUND_OUTSIDE;
	/* O_NONBLOCK: a FIFO under the root must not stall the loop */
	f = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (f < 0)
		return FOUND_NONE;
	if (fstat(f, sb) != 0 || !(S_ISREG(sb->st_mode) || S_ISDIR(sb->st_mode))) {
		close(f);
		return FOUND_NONE;
	}
	if (S_ISDIR(sb->st_mode)) {
		close(f);
		return FOUND_FOLDER;
	}
	*fd = f;
	return FOUND_FILE;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* open_under for a + b (written to served); FOUND_NONE when it does not fit. */
static int open_joined(const struct gw_static_cfg *st, const char *root_real, const char *a,
		       const char *b, char *served, size_t cap, int *fd, struct stat *sb)
{
	int n = snprintf(served, cap, "%s%s", a, b);
	if (n < 0 || (size_t)n >= cap)
		return FOUND_NONE;
	return open_under(st->root, root_real, served, fd, sb);
}

/* The file for rel: rel itself, its index file when it is a folder, or
 * rel.html.  The served path goes to served.  FOUND_FILE, FOUND_NONE, or
 * FOUND_OUTSIDE when a candidate leaves the root. */
static int find_file(const struct gw_static_cfg *st, const char *root_real, const char *rel,
		     char *served, size_t cap, int *fd, struct stat *sb)
{
	char folder[PATH_MAX];
	int rc;

	if (ends_with(rel, "/")) {
		rc = open_joined(st, root_real, rel, st->index, served, cap, fd, sb);
		return rc == FOUND_FOLDER ? FOUND_NONE : rc;
	}
	rc = open_joined(st, root_real, rel, "", served, cap, fd, sb);
	if (rc == FOUND_FILE || rc == FOUND_OUTSIDE)
		return rc;
	if (rc == FOUND_FOLDER &&
	    (size_t)snprintf(folder, sizeof(folder), "%s/", rel) < sizeof(folder)) {
		rc = open_joined(st, root_real, folder, st->index, served, cap, fd, sb);
		if (rc == FOUND_FILE || rc == FOUND_OUTSIDE)
			return rc;
	}
	if (st->html_extension && !ends_with(rel, ".html")) {
		rc = open_joined(st, root_real, rel, ".html", served, cap, fd, sb);
		return rc == FOUND_FOLDER ? FOUND_NONE : rc;
	}
	return FOUND_NONE;
}

static bool is_immutable(const struct gw_static_cfg *st, const char *rel)
{
	for (size_t i = 0; i < st->nimmutable; i++)
		if (strncmp(rel, st->immutable[i], strlen(st->immutable[i])) == 0)
			return true;
	return false;
}

/* True when an entity tag of the If-None-Match list is etag (weak
 * comparison, as for GET) or the list is "*". */
static bool etag_matches(const struct gw_str *inm, const char *etag)
{
	const char *p = inm->ptr, *end = p + inm->len;
	size_t elen = strlen(etag);

	while (p < end) {
		const char *tag;
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p < end && *p == '*')
			return true;
		if (end - p > 2 && p[0] == 'W' && p[1] == '/')
			p += 2;
		tag = p;
		while (p < end && *p != ',')
			p++;
		{
			const char *t_end = p;
			while (t_end > tag && (t_end[-1] == ' ' || t_end[-1] == '\t'))
				t_end--;
			if ((size_t)(t_end - tag) == elen && memcmp(tag, etag, elen) == 0)
				return true;
		}
	}
	return false;
}

static void add_line(struct gw_static_reply *rep, const char *name, const char *value)
{
	size_t room = sizeof(rep->headers) - rep->headers_len;
	int n = snprintf(rep->headers + rep->headers_len, room, "%s: %s\r\n", name, value);
	if (n > 0 && (size_t)n < room)
		rep->headers_len += (size_t)n;
}

static bool span_is(const struct gw_str *span, const char *s)
{
	return span->len == strlen(s) && memcmp(span->ptr, s, span->len) == 0;
}

/* The byte range h asks of the representation about to be sent (length
 * bytes, validators etag and last_modified).  Only a GET has ranges
 * (RFC 9110 14.2: HEAD gets the whole answer's fields).  Range counts only
 * when it is the one such field; with If-Range, only when that names this
 * very representation: its strong ETag compared strongly, or its
 * Last-Modified exactly (13.1.5), i.e. byte for byte.  A weak tag, another
 * tag or date, or a repeated If-Range sends the whole file. */
static enum gw_static_range requested_range(const struct gw_message_head *h, uint64_t length,
					    const char *etag, const char *last_modified,
					    uint64_t *first, uint64_t *last)
{
	const struct gw_str *range = NULL, *if_range = NULL;

	if (h->method_id != GW_METHOD_GET || count_header(h, "range", &range) != 1)
		return GW_RANGE_IGNORE;
	switch (count_header(h, "if-range", &if_range)) {
	case 0:
		break;
	case 1:
		if (span_is(if_range, etag) || span_is(if_range, last_modified))
			break;
		return GW_RANGE_IGNORE;
	default:
		return GW_RANGE_IGNORE;
	}
	return gw_static_parse_range(range->ptr, range->len, length, first, last);
}

/* The validators and cache policy of the file answered (200, 206, 304). */
static void add_validators(struct gw_static_reply *rep, const char *etag, const char *last_modified,
			   bool immutable)
{
	add_line(rep, "ETag", etag);
	add_line(rep, "Last-Modified", last_modified);
	add_line(rep, "Cache-Control", immutable ? GW_CACHE_IMMUTABLE : GW_CACHE_REVALIDATE);
}

static void refuse(struct gw_static_reply *rep, int status, enum gw_static_result result,
		   const char *code, const char *message)
{
	rep->status = status;
	rep->result = result;
	rep->err_code = code;
	rep->err_message = message;
}

/* Swaps *fd for the precompressed sibling of served the client accepts. */
static const char *pick_encoding(const struct gw_static_cfg *st, const char *root_real,
				 const struct gw_message_head *h, const char *served, int *fd,
				 struct stat *sb)
{
	static const struct {
		const char *coding, *suffix;
	} codings[] = {{"br", ".br"}, {"gzip", ".gz"}};
	char sibling[PATH_MAX];

	for (size_t i = 0; i < 2; i++) {
		struct stat ssb;
		int sfd;
		if (!gw_static_accepts(h, codings[i].coding) ||
		    open_joined(st, root_real, served, codings[i].suffix, sibling, sizeof(sibling),
				&sfd, &ssb) != FOUND_FILE)
			continue;
		close(*fd);
		*fd = sfd;
		*sb = ssb;
		return codings[i].coding;
	}
	return NULL;
}

void gw_static_serve(const struct gw_static_cfg *st, const struct gw_route_cfg *route,
		     const struct gw_message_head *h, struct gw_static_reply *rep)
{
	char norm[PATH_MAX], served[PATH_MAX], root_real[PATH_MAX], etag[96], date[64],
	    content_range[80];
	const char *rel, *encoding = NULL;
	const struct gw_str *inm, *ims;
	enum gw_static_range range;
	uint64_t length, first = 0, last = 0;
	struct stat sb;
	struct tm tm;
	int fd = -1, rc;
	bool root_ok;

	memset(rep, 0, sizeof(*rep));
	rep->fd = -1;
	if (h->method_id != GW_METHOD_GET && h->method_id != GW_METHOD_HEAD) {
		refuse(rep, 405, GW_STATIC_REFUSED, "method_not_allowed",
		       "only GET and HEAD are allowed here");
		add_line(rep, "Allow", "GET, HEAD");
		return;
	}
	rc = gw_path_normalize(h->target.ptr, h->target.len, GW_PATH_STRICT, norm, sizeof(norm));
	if (rc != GW_PATH_OK) {
		refuse(rep, 400, GW_STATIC_REFUSED, "bad_path", "invalid path");
		return;
	}
	if (gw_path_has_hidden_segment(norm)) {
		refuse(rep, 404, GW_STATIC_REFUSED, "not_found", "no file for this path");
		return;
	}
	rel = norm;
	if (route->strip_prefix && route->prefix_len > 1) {
		rel = norm + route->prefix_len;
		if (strncmp(norm, route->prefix, route->prefix_len) != 0)
			rel = norm; /* cannot happen: the route matched these bytes */
		else if (!*rel)
			rel = "/";
	}
	root_ok = realpath(st->root, root_real) != NULL;
	rc = root_ok ? find_file(st, root_real, rel, served, sizeof(served), &fd, &sb) : FOUND_NONE;
	if (rc == FOUND_OUTSIDE) {
		refuse(rep, 404, GW_STATIC_REFUSED, "not_found", "no file for this path");
		return;
	}
	if (rc != FOUND_FILE) {
		const char *fallback = NULL;
		/* a missing hashed asset stays a 404: a page in its place would
		 * be cached for a year */
		if (root_ok && !is_immutable(st, rel)) {
			for (size_t i = 0; i < st->nfallbacks && !fallback; i++)
				if (gw_path_match(st->fallbacks[i].pattern, norm))
					fallback = st->fallbacks[i].file;
			if (!fallback && st->fallback[0])
				fallback = st->fallback;
		}
		if (!fallback || open_joined(st, root_real, "/", fallback, served, sizeof(served),
					     &fd, &sb) != FOUND_FILE) {
			refuse(rep, 404, GW_STATIC_NOT_FOUND, "not_found", "no file for this path");
			return;
		}
		rep->result = GW_STATIC_FALLBACK;
	} else {
		rep->result = GW_STATIC_FILE;
	}
	if (st->precompressed)
		encoding = pick_encoding(st, root_real, h, served, &fd, &sb);
	rep->precompressed = encoding != NULL;

	snprintf(etag, sizeof(etag), "\"%llx-%llx%s%s\"", (unsigned long long)sb.st_size,
		 (unsigned long long)sb.st_mtim.tv_sec * 1000000000ull +
		     (unsigned long long)sb.st_mtim.tv_nsec,
		 encoding ? "-" : "", encoding ? encoding : "");
	gmtime_r(&sb.st_mtim.tv_sec, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	rep->vary_encoding = st->precompressed;
	length = (uint64_t)sb.st_size;

	/* conditionals come before Range (RFC 9110 13.2.2) */
	inm = find_header(h, "if-none-match");
	ims = find_header(h, "if-modified-since");
	if (inm ? etag_matches(inm, etag)
		: ims && gw_static_parse_date(ims->ptr, ims->len) >= sb.st_mtim.tv_sec) {
		close(fd);
		add_validators(rep, etag, date, is_immutable(st, served));
		rep->status = 304;
		rep->result = GW_STATIC_NOT_MODIFIED;
		return;
	}
	/* The range counts bytes of the representation picked above, a .br or
	 * .gz sibling included, as nginx's gzip_static does: Content-Range
	 * describes what is sent (RFC 9110 14.4), that representation has its
	 * own ETag for If-Range, and Vary: Accept-Encoding keeps caches from
	 * mixing parts of two encodings.  A client resumes in the encoding it
	 * started with; a tag of another encoding gets the whole file. */
	range = requested_range(h, length, etag, date, &first, &last);
	if (range == GW_RANGE_UNSATISFIABLE) {
		/* no validators nor cache policy: this answers the request, it
		 * does not describe the file (and must not be kept for a year) */
		close(fd);
		snprintf(content_range, sizeof(content_range), "bytes */%llu",
			 (unsigned long long)length);
		add_line(rep, "Content-Range", content_range);
		rep->status = 416;
		return;
	}
	add_validators(rep, etag, date, is_immutable(st, served));
	add_line(rep, "Content-Type", gw_static_content_type(served));
	if (encoding)
		add_line(rep, "Content-Encoding", encoding);
	add_line(rep, "X-Content-Type-Options", "nosniff");
	add_line(rep, "Accept-Ranges", "bytes");
	rep->status = 200;
	rep->size = length;
	if (range == GW_RANGE_SATISFIABLE) {
		snprintf(content_range, sizeof(content_range), "bytes %llu-%llu/%llu",
			 (unsigned long long)first, (unsigned long long)last,
			 (unsigned long long)length);
		add_line(rep, "Content-Range", content_range);
		rep->status = 206;
		rep->offset = first;
		rep->size = last - first + 1;
	}
	if (h->method_id == GW_METHOD_HEAD || rep->size == 0)
		close(fd);
	else
		rep->fd = fd;
}
