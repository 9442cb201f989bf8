/*
 * libFuzzer driver for the untrusted-input parsers of libcommon/src/br.c:
 * the Pix BR Code parser and the boleto digitable-line and barcode
 * parsers.  Build with -fsanitize=fuzzer,address,undefined and link with
 * libb4common.a.
 *
 * Besides "does not crash", it checks that whatever the Pix parser accepts
 * builds back into a code the parser accepts with the same fields, and
 * that an accepted boleto line re-encodes to the same barcode.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b4/br.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_pix(const uint8_t *data, size_t size)
{
	struct b4_br_pix_info info, again;
	struct b4_br_pix pix;
	char buf[B4_BR_PIX_PAYLOAD_MAX];
	int len;

	if (b4_br_pix_parse((const char *)data, size, &info) < 0)
		return;
	memset(&pix, 0, sizeof(pix));
	pix.key = info.key[0] != '\0' ? info.key : NULL;
	pix.url = info.url[0] != '\0' ? info.url : NULL;
	pix.merchant_name = info.merchant_name;
	pix.merchant_city = info.merchant_city;
	pix.txid = info.txid;
	pix.amount_cents = info.amount_cents;
	pix.single_use = info.single_use;
	len = b4_br_pix_build(&pix, buf, sizeof(buf));
	if (len < 0)
		return; /* e.g. an amount above what the builder writes, or a blank name */
	if (b4_br_pix_parse(buf, (size_t)len, &again) < 0 || strcmp(again.key, info.key) != 0 ||
	    strcmp(again.url, info.url) != 0 || strcmp(again.txid, info.txid) != 0 ||
	    again.amount_cents != info.amount_cents)
		abort();
}

static void check_boleto(const uint8_t *data, size_t size)
{
	struct b4_br_boleto boleto;
	char text[128], barcode[B4_BR_BOLETO_BARCODE_LEN + 1];
	char again[B4_BR_BOLETO_BARCODE_LEN + 1], line[B4_BR_BOLETO_LINE_LEN + 1];

	if (size >= sizeof(text))
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	if (b4_br_boleto_parse_line(text, &boleto, barcode) == 0) {
		if (b4_br_boleto_encode(&boleto, again, line) < 0 || strcmp(again, barcode) != 0)
			abort();
	}
	if (b4_br_boleto_parse_barcode(text, &boleto) == 0) {
		if (b4_br_boleto_encode(&boleto, again, NULL) < 0 || strcmp(again, text) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_pix(data, size);
	check_boleto(data, size);
	return 0;
}
