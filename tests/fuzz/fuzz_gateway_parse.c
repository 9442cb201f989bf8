/* libFuzzer driver for b4-gateway's request parsing path: the request head
 * parser, the response head parser and the chunked decoder, fed the same
 * bytes the way the gateway feeds them (head, then the rest as a body split
 * at arbitrary points). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../gateway/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gw_message_head head;
	const char *buf = (const char *)data;
	int rc;

	rc = gw_parse_request(buf, size, 8192, &head);
	if (rc > 0) {
		size_t used = (size_t)rc;
		/* every span must lie inside the input */
		for (size_t i = 0; i < head.nheaders; i++) {
			const struct gw_header *h = &head.headers[i];
			if (h->name.ptr < buf || h->name.ptr + h->name.len > buf + size ||
			    h->value.ptr < buf || h->value.ptr + h->value.len > buf + size)
				__builtin_trap();
			(void)gw_is_hop_by_hop(&head, &h->name);
		}
		if (head.body_kind == GW_BODY_CHUNKED) {
			struct gw_chunked c;
			size_t pos = used, step = 1;
			gw_chunked_init(&c);
			while (pos < size && !c.done) {
				bool is_data;
				size_t n = size - pos < step ? size - pos : step;
				ssize_t k = gw_chunked_feed(&c, buf + pos, n, 8192, &is_data);
				if (k < 0)
					break;
				if ((size_t)k > n)
					__builtin_trap();
				if (k == 0 && !c.done)
					__builtin_trap(); /* no progress */
				pos += (size_t)k;
				step = step * 3 % 17 + 1;
			}
		}
		if (head.known.request_id >= 0) {
			const struct gw_str *v = &head.headers[head.known.request_id].value;
			(void)gw_request_id_is_valid(v->ptr, v->len);
		}
	} else if (rc != GW_PARSE_INCOMPLETE && rc != GW_PARSE_BAD && rc != GW_PARSE_TOO_LARGE) {
		__builtin_trap();
	}
	rc = gw_parse_response(buf, size, 8192, size > 0 && (data[0] & 1), &head);
	if (rc > 0 && (size_t)rc > size)
		__builtin_trap();
	return 0;
}
