/* libFuzzer driver for b4-gateway's path handling (gateway/path.c) and the
 * static route's header parsing (Accept-Encoding, dates, Range and
 * If-Range): untrusted request targets and fields, checked for the
 * invariants file lookups and file segments rely on. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../gateway/path.c"
#include "../../gateway/static.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A satisfiable range lies inside the representation: the file segment
 * it becomes never reads past the file. */
static void check_range(enum gw_static_range rc, uint64_t first, uint64_t last, uint64_t length)
{
	if (rc == GW_RANGE_SATISFIABLE && (first > last || last >= length))
		__builtin_trap();
}

static void check_normalized(const char *out)
{
	size_t n = strlen(out);
	if (out[0] != '/' || strstr(out, "//"))
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == '\\')
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char names[3][GW_PATH_NAME_MAX] = {"/healthz", "/readyz", "/metrics"};
	static struct gw_message_head head;
	const char *buf = (const char *)data;
	char strict[256], lenient[256], pattern[128], path[256];
	int rs = gw_path_normalize(buf, size, GW_PATH_STRICT, strict, sizeof(strict));
	int rl = gw_path_normalize(buf, size, 0, lenient, sizeof(lenient));

	if (rs == GW_PATH_OK) {
		check_normalized(strict);
		/* no dot segment survives a strict pass */
		if (strstr(strict, "/./") || strstr(strict, "/../") ||
		    (strlen(strict) >= 2 && strcmp(strict + strlen(strict) - 2, "/.") == 0) ||
		    (strlen(strict) >= 3 && strcmp(strict + strlen(strict) - 3, "/..") == 0))
			__builtin_trap();
		/* what the strict pass accepts, the lenient one reads the same way */
		if (rl != GW_PATH_OK || strcmp(strict, lenient) != 0)
			__builtin_trap();
		(void)gw_path_has_hidden_segment(strict);
	}
	if (rl == GW_PATH_OK)
		check_normalized(lenient);
	(void)gw_path_is_internal(buf, size, names, 3);

	/* "pattern\npath" */
	{
		const char *nl = memchr(buf, '\n', size);
		if (nl && (size_t)(nl - buf) < sizeof(pattern) &&
		    size - (size_t)(nl - buf) - 1 < sizeof(path)) {
			memcpy(pattern, buf, (size_t)(nl - buf));
			pattern[nl - buf] = '\0';
			memcpy(path, nl + 1, size - (size_t)(nl - buf) - 1);
			path[size - (size_t)(nl - buf) - 1] = '\0';
			(void)gw_path_match(pattern, path);
		}
	}
	if (gw_parse_request(buf, size, 8192, &head) > 0) {
		uint64_t first = 0, last = 0;
		(void)gw_static_accepts(&head, "br");
		(void)gw_static_accepts(&head, "gzip");
		check_range(requested_range(&head, 19, "\"13-17a\"",
					    "Sun, 06 Nov 1994 08:49:37 GMT", &first, &last),
			    first, last, 19);
	}
	{
		static const uint64_t lengths[] = {0, 1, 19, 1000, INT64_MAX, UINT64_MAX};
		for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
			uint64_t first = 0, last = 0;
			check_range(gw_static_parse_range(buf, size, lengths[i], &first, &last),
				    first, last, lengths[i]);
		}
	}
	(void)gw_static_parse_date(buf, size);
	if (size < sizeof(path)) {
		memcpy(path, buf, size);
		path[size] = '\0';
		(void)gw_static_content_type(path);
	}
	return 0;
}
