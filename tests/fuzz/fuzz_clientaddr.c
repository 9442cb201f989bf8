/* fuzz_clientaddr.c - libFuzzer driver for the client-address parsers:
 * B4_TRUSTED_PROXIES lists and X-Forwarded-For chains (untrusted input
 * from every request), walked against a fixed trusted list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b4/clientaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct b4_proxy_list trusted;
	static int ready;
	struct b4_proxy_list parsed;
	char out[B4_CLIENT_ADDR_MAX], err[128];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	if (!ready) {
		b4_proxy_list_parse("127.0.0.1/32,10.0.0.0/8,::1,fd00::/8", &trusted, err,
				    sizeof(err));
		ready = 1;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	b4_client_addr_resolve(&trusted, "127.0.0.1", text, out, sizeof(out));
	if (strlen(out) >= sizeof(out))
		abort();
	b4_client_addr_resolve(&trusted, text, text, out, sizeof(out));
	if (b4_proxy_list_parse(text, &parsed, err, sizeof(err)) == 0 &&
	    parsed.count > B4_TRUSTED_PROXIES_MAX)
		abort();
	(void)b4_proxy_list_trusts(&trusted, text);
	free(text);
	return 0;
}
