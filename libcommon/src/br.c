/*
 * br: CPF/CNPJ, Pix BR Code and boleto.  See include/b4/br.h for the
 * contracts.
 */
#include "b4/br.h"

#include <stdio.h>
#include <string.h>

#include "b4/money.h"
#include "b4/tz.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_alnum(char c)
{
	return is_digit(c) || is_upper(c) || (c >= 'a' && c <= 'z');
}

/* ---- CPF / CNPJ --------------------------------------------------------- */

/*
 * Copies the significant characters of text (digits and letters, letters
 * upper-cased) into out, dropping '.', '-', '/' and spaces.  Returns how
 * many there were, or -1 on any other character or more than cap.
 */
static int document_strip(const char *text, char *out, size_t cap)
{
	size_t len = 0;

	if (text == NULL)
		return -1;
	for (; *text != '\0'; text++) {
		char c = *text;

		if (c == '.' || c == '-' || c == '/' || c == ' ')
			continue;
		if (!is_alnum(c) || len == cap)
			return -1;
		out[len++] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
	}
	return (int)len;
}

static bool all_same(const char *s, size_t len)
{
	for (size_t k = 1; k < len; k++) {
		if (s[k] != s[0])
			return false;
	}
	return true;
}

static bool cpf_digits_are_valid(const char *d)
{
	for (int k = 0; k < B4_BR_CPF_LEN; k++) {
		if (!is_digit(d[k]))
			return false;
	}
	if (all_same(d, B4_BR_CPF_LEN))
		return false;
	for (int pos = 9; pos <= 10; pos++) {
		int sum = 0, dv;

		for (int k = 0; k < pos; k++)
			sum += (d[k] - '0') * (pos + 1 - k);
		dv = sum * 10 % 11 % 10;
		if (d[pos] - '0' != dv)
			return false;
	}
	return true;
}

static bool cnpj_chars_are_valid(const char *d)
{
	static const int weights[13] = {6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2};

	for (int k = 0; k < 12; k++) {
		if (!is_digit(d[k]) && !is_upper(d[k]))
			return false;
	}
	if (!is_digit(d[12]) || !is_digit(d[13]) || all_same(d, B4_BR_CNPJ_LEN))
		return false;
	for (int pos = 12; pos <= 13; pos++) {
		/* the first digit uses weights 5,4,...; the second 6,5,... */
		const int *w = weights + (13 - pos);
		int sum = 0, rest;

		for (int k = 0; k < pos; k++)
			sum += (d[k] - '0') * w[k];
		rest = sum % 11;
		if (d[pos] - '0' != (rest < 2 ? 0 : 11 - rest))
			return false;
	}
	return true;
}

bool b4_br_cpf_is_valid(const char *text)
{
	char d[B4_BR_CPF_LEN];

	return document_strip(text, d, sizeof(d)) == B4_BR_CPF_LEN && cpf_digits_are_valid(d);
}

bool b4_br_cnpj_is_valid(const char *text)
{
	char d[B4_BR_CNPJ_LEN];

	return document_strip(text, d, sizeof(d)) == B4_BR_CNPJ_LEN && cnpj_chars_are_valid(d);
}

int b4_br_document_normalize(const char *text, char *out, size_t size,
			     enum b4_br_document_type *type)
{
	char d[B4_BR_CNPJ_LEN];
	enum b4_br_document_type found;
	int len = document_strip(text, d, sizeof(d));

	if (out == NULL || type == NULL)
		return -1;
	if (len == B4_BR_CPF_LEN && cpf_digits_are_valid(d))
		found = B4_BR_DOCUMENT_CPF;
	else if (len == B4_BR_CNPJ_LEN && cnpj_chars_are_valid(d))
		found = B4_BR_DOCUMENT_CNPJ;
	else
		return -1;
	if (size < (size_t)len + 1)
		return -1;
	memcpy(out, d, (size_t)len);
	out[len] = '\0';
	*type = found;
	return 0;
}

/* ---- Pix BR Code -------------------------------------------------------- */

static const char pix_gui[] = "br.gov.bcb.pix";

uint16_t b4_br_crc16(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint16_t crc = 0xFFFF;

	for (size_t k = 0; k < len; k++) {
		crc ^= (uint16_t)(p[k] << 8);
		for (int bit = 0; bit < 8; bit++)
			crc =
			    (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

static bool is_printable(const char *s, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		if (s[k] < 0x20 || s[k] > 0x7E)
			return false;
	}
	return true;
}

/*
 * Folds UTF-8 text to printable ASCII into out (at most max characters,
 * NUL terminated): Latin-1 letters lose their accents, other non-ASCII and
 * control characters are dropped, leading spaces skipped.  Returns the
 * length written.
 */
static size_t ascii_fold(const char *text, char *out, size_t max)
{
	/* U+00C0..U+00FF; '.' marks a character with no ASCII letter */
	static const char latin1[] = "AAAAAAACEEEEIIIIDNOOOOO.OUUUUY.s"
				     "aaaaaaaceeeeiiiidnooooo.ouuuuy.y";
	const unsigned char *p = (const unsigned char *)text;
	size_t len = 0;

	_Static_assert(sizeof(latin1) == 65, "one letter per code point U+00C0..U+00FF");
	while (*p != '\0' && len < max) {
		char c = 0;

		if (*p < 0x80) {
			if (*p >= 0x20 && *p < 0x7F)
				c = (char)*p;
			p++;
		} else if ((*p == 0xC3) && (p[1] & 0xC0) == 0x80) {
			c = latin1[p[1] - 0x80];
			if (c == '.')
				c = 0;
			p += 2;
		} else {
			/* skip the lead byte and its continuation bytes */
			p++;
			while ((*p & 0xC0) == 0x80)
				p++;
		}
		if (c == 0 || (c == ' ' && len == 0))
			continue;
		out[len++] = c;
	}
	while (len > 0 && out[len - 1] == ' ')
		len--;
	out[len] = '\0';
	return len;
}

/* Appends id, two-digit length and value at buf[*pos]; -1 if it does not fit. */
static int tlv_put(char *buf, size_t size, size_t *pos, int id, const char *value, size_t len)
{
	if (len > 99 || size - *pos < 4 + len + 1)
		return -1;
	snprintf(buf + *pos, 5, "%02d%02zu", id, len);
	memcpy(buf + *pos + 4, value, len);
	*pos += 4 + len;
	buf[*pos] = '\0';
	return 0;
}

static bool txid_is_valid(const char *txid, size_t len)
{
	if (len == 3 && memcmp(txid, "***", 3) == 0)
		return true;
	if (len == 0 || len > B4_BR_PIX_TXID_MAX)
		return false;
	for (size_t k = 0; k < len; k++) {
		if (!is_alnum(txid[k]))
			return false;
	}
	return true;
}

int b4_br_pix_build(const struct b4_br_pix *pix, char *buf, size_t size)
{
	char account[100], additional[100], name[B4_BR_PIX_NAME_MAX + 1];
	char city[B4_BR_PIX_CITY_MAX + 1], amount[B4_MONEY_FORMAT_SIZE], crc[5];
	size_t account_len = 0, additional_len = 0, pos = 0;
	const char *txid;

	if (pix == NULL || buf == NULL || size == 0)
		return -1;
	buf[0] = '\0';
	if ((pix->key == NULL) == (pix->url == NULL))
		return -1;
	if (pix->key != NULL && (strlen(pix->key) == 0 || strlen(pix->key) > B4_BR_PIX_KEY_MAX ||
				 !is_printable(pix->key, strlen(pix->key))))
		return -1;
	if (pix->url != NULL && (strlen(pix->url) == 0 || strlen(pix->url) > B4_BR_PIX_URL_MAX ||
				 !is_printable(pix->url, strlen(pix->url))))
		return -1;
	txid = pix->txid != NULL ? pix->txid : "***";
	if (!txid_is_valid(txid, strlen(txid)))
		return -1;
	if (pix->amount_cents < 0 || pix->amount_cents > INT64_C(999999999999))
		return -1;
	if (pix->merchant_name == NULL || pix->merchant_city == NULL ||
	    ascii_fold(pix->merchant_name, name, B4_BR_PIX_NAME_MAX) == 0 ||
	    ascii_fold(pix->merchant_city, city, B4_BR_PIX_CITY_MAX) == 0)
		return -1;

	if (tlv_put(account, sizeof(account), &account_len, 0, pix_gui, strlen(pix_gui)) < 0 ||
	    (pix->key != NULL
		 ? tlv_put(account, sizeof(account), &account_len, 1, pix->key, strlen(pix->key))
		 : tlv_put(account, sizeof(account), &account_len, 25, pix->url,
			   strlen(pix->url))) < 0)
		return -1;
	if (tlv_put(additional, sizeof(additional), &additional_len, 5, txid, strlen(txid)) < 0)
		return -1;

	if (tlv_put(buf, size, &pos, 0, "01", 2) < 0 ||
	    (pix->single_use && tlv_put(buf, size, &pos, 1, "12", 2) < 0) ||
	    tlv_put(buf, size, &pos, 26, account, account_len) < 0 ||
	    tlv_put(buf, size, &pos, 52, "0000", 4) < 0 ||
	    tlv_put(buf, size, &pos, 53, "986", 3) < 0)
		goto out_too_small;
	if (pix->amount_cents > 0) {
		if (b4_money_format(pix->amount_cents, amount, sizeof(amount)) < 0 ||
		    tlv_put(buf, size, &pos, 54, amount, strlen(amount)) < 0)
			goto out_too_small;
	}
	if (tlv_put(buf, size, &pos, 58, "BR", 2) < 0 ||
	    tlv_put(buf, size, &pos, 59, name, strlen(name)) < 0 ||
	    tlv_put(buf, size, &pos, 60, city, strlen(city)) < 0 ||
	    tlv_put(buf, size, &pos, 62, additional, additional_len) < 0)
		goto out_too_small;
	/* the CRC covers its own id and length: "6304" */
	if (size - pos < 8 + 1)
		goto out_too_small;
	memcpy(buf + pos, "6304", 4);
	pos += 4;
	snprintf(crc, sizeof(crc), "%04X", (unsigned)b4_br_crc16(buf, pos));
	memcpy(buf + pos, crc, 4);
	pos += 4;
	buf[pos] = '\0';
	return (int)pos;

out_too_small:
	buf[0] = '\0';
	return -1;
}

/*
 * Reads one TLV at s[*pos] within len: two-digit id, two-digit length,
 * value.  Returns 0 and advances *pos, or -1 if malformed or truncated.
 */
static int tlv_next(const char *s, size_t len, size_t *pos, int *id, const char **value,
		    size_t *value_len)
{
	const char *p = s + *pos;
	size_t vlen;

	if (len - *pos < 4 || !is_digit(p[0]) || !is_digit(p[1]) || !is_digit(p[2]) ||
	    !is_digit(p[3]))
		return -1;
	*id = (p[0] - '0') * 10 + (p[1] - '0');
	vlen = (size_t)((p[2] - '0') * 10 + (p[3] - '0'));
	if (vlen == 0 || len - *pos - 4 < vlen)
		return -1;
	*value = p + 4;
	*value_len = vlen;
	*pos += 4 + vlen;
	return 0;
}

static int copy_field(char *out, size_t cap, const char *value, size_t len)
{
	if (len >= cap)
		return -1;
	memcpy(out, value, len);
	out[len] = '\0';
	return 0;
}

static bool equal_ignore_case(const char *a, size_t len, const char *b)
{
	if (strlen(b) != len)
		return false;
	for (size_t k = 0; k < len; k++) {
		char x = a[k], y = b[k];

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* A merchant account template; sets *is_pix if its GUI is Pix and fills key/url. */
static int pix_parse_account(const char *value, size_t len, struct b4_br_pix_info *info,
			     bool *is_pix)
{
	size_t pos = 0;
	bool has_gui = false;
	const char *key = NULL, *url = NULL;
	size_t key_len = 0, url_len = 0;

	*is_pix = false;
	while (pos < len) {
		int id;
		const char *v;
		size_t vlen;

		if (tlv_next(value, len, &pos, &id, &v, &vlen) < 0)
			return -1;
		if (id == 0) {
			if (has_gui)
				return -1;
			has_gui = true;
			*is_pix = equal_ignore_case(v, vlen, pix_gui);
		} else if (id == 1) {
			if (key != NULL)
				return -1;
			key = v;
			key_len = vlen;
		} else if (id == 25) {
			if (url != NULL)
				return -1;
			url = v;
			url_len = vlen;
		}
	}
	if (!has_gui)
		return -1;
	if (!*is_pix)
		return 0;
	if ((key == NULL) == (url == NULL))
		return -1;
	if (key != NULL)
		return copy_field(info->key, sizeof(info->key), key, key_len);
	return copy_field(info->url, sizeof(info->url), url, url_len);
}

static int pix_parse_additional(const char *value, size_t len, struct b4_br_pix_info *info)
{
	size_t pos = 0;
	bool has_txid = false;

	while (pos < len) {
		int id;
		const char *v;
		size_t vlen;

		if (tlv_next(value, len, &pos, &id, &v, &vlen) < 0)
			return -1;
		if (id == 5) {
			if (has_txid || !txid_is_valid(v, vlen) ||
			    copy_field(info->txid, sizeof(info->txid), v, vlen) < 0)
				return -1;
			has_txid = true;
		}
	}
	return 0;
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int b4_br_pix_parse(const char *payload, size_t len, struct b4_br_pix_info *info)
{
	bool seen[100] = {false};
	bool has_pix_account = false;
	size_t pos = 0;

	if (payload == NULL || info == NULL || len > B4_BR_PIX_PAYLOAD_MAX ||
	    !is_printable(payload, len))
		return -1;
	memset(info, 0, sizeof(*info));
	while (pos < len) {
		size_t start = pos, vlen;
		const char *v;
		int id;

		if (tlv_next(payload, len, &pos, &id, &v, &vlen) < 0 || seen[id])
			return -1;
		seen[id] = true;
		if ((start == 0) != (id == 0))
			return -1; /* 00 first, and only first */
		switch (id) {
		case 0:
			if (vlen != 2 || memcmp(v, "01", 2) != 0)
				return -1;
			break;
		case 1:
			if (vlen != 2 || (memcmp(v, "11", 2) != 0 && memcmp(v, "12", 2) != 0))
				return -1;
			info->single_use = v[1] == '2';
			break;
		case 52:
			if (vlen != 4 || !is_digit(v[0]) || !is_digit(v[1]) || !is_digit(v[2]) ||
			    !is_digit(v[3]))
				return -1;
			break;
		case 53:
			if (vlen != 3 || memcmp(v, "986", 3) != 0)
				return -1;
			break;
		case 54:
			/* EMV caps the amount at 13 characters: "9999999999.99" */
			if (vlen > 13 || b4_money_parse(v, vlen, &info->amount_cents) < 0)
				return -1;
			info->has_amount = true;
			break;
		case 58:
			if (vlen != 2 || memcmp(v, "BR", 2) != 0)
				return -1;
			break;
		case 59:
			if (copy_field(info->merchant_name, sizeof(info->merchant_name), v, vlen) <
			    0)
				return -1;
			break;
		case 60:
			if (copy_field(info->merchant_city, sizeof(info->merchant_city), v, vlen) <
			    0)
				return -1;
			break;
		case 62:
			if (pix_parse_additional(v, vlen, info) < 0)
				return -1;
			break;
		case 63: {
			uint16_t want = b4_br_crc16(payload, start + 4), got = 0;

			if (vlen != 4 || pos != len)
				return -1;
			for (int k = 0; k < 4; k++) {
				int h = hex_value(v[k]);

				if (h < 0)
					return -1;
				got = (uint16_t)(got << 4 | h);
			}
			if (got != want)
				return -1;
			break;
		}
		default:
			if (id >= 26 && id <= 51) {
				bool is_pix;

				if (pix_parse_account(v, vlen, info, &is_pix) < 0 ||
				    (is_pix && has_pix_account))
					return -1;
				has_pix_account = has_pix_account || is_pix;
			}
			break;
		}
	}
	if (!seen[63] || !seen[53] || !seen[58] || !seen[59] || !seen[60] || !has_pix_account)
		return -1;
	if (info->txid[0] == '\0')
		memcpy(info->txid, "***", 4);
	return 0;
}

/* ---- Boleto ------------------------------------------------------------- */

static bool all_digits(const char *s, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		if (!is_digit(s[k]))
			return false;
	}
	return true;
}

/* Mod 10 check digit: weights 2,1,2,... from the right; products' digits summed. */
static int mod10(const char *s, size_t len)
{
	int sum = 0, weight = 2;

	for (size_t k = len; k-- > 0;) {
		int p = (s[k] - '0') * weight;

		sum += p / 10 + p % 10;
		weight = 3 - weight;
	}
	return (10 - sum % 10) % 10;
}

/* Barcode general check digit over the 43 digits without position 5. */
static int barcode_dv(const char *barcode)
{
	int sum = 0, weight = 2, dv;

	for (int k = B4_BR_BOLETO_BARCODE_LEN - 1; k >= 0; k--) {
		if (k == 4)
			continue;
		sum += (barcode[k] - '0') * weight;
		weight = weight == 9 ? 2 : weight + 1;
	}
	dv = 11 - sum % 11;
	return (dv == 0 || dv == 10 || dv == 11) ? 1 : dv;
}

static void line_from_barcode(const char *bc, char *line)
{
	memcpy(line, bc, 4);
	memcpy(line + 4, bc + 19, 5);
	line[9] = (char)('0' + mod10(line, 9));
	memcpy(line + 10, bc + 24, 10);
	line[20] = (char)('0' + mod10(line + 10, 10));
	memcpy(line + 21, bc + 34, 10);
	line[31] = (char)('0' + mod10(line + 21, 10));
	line[32] = bc[4];
	memcpy(line + 33, bc + 5, 14);
	line[B4_BR_BOLETO_LINE_LEN] = '\0';
}

int b4_br_boleto_encode(const struct b4_br_boleto *boleto, char *barcode, char *line)
{
	char bc[B4_BR_BOLETO_BARCODE_LEN + 1];

	if (boleto == NULL || !all_digits(boleto->bank, 3) || boleto->bank[3] != '\0' ||
	    boleto->currency != '9' || boleto->due_factor < 0 || boleto->due_factor > 9999 ||
	    boleto->amount_cents < 0 || boleto->amount_cents > B4_BR_BOLETO_MAX_AMOUNT_CENTS ||
	    strnlen(boleto->free_field, sizeof(boleto->free_field)) !=
		B4_BR_BOLETO_FREE_FIELD_LEN ||
	    !all_digits(boleto->free_field, B4_BR_BOLETO_FREE_FIELD_LEN))
		return -1;
	snprintf(bc, sizeof(bc), "%.3s%c0%04d%010lld%.25s", boleto->bank, boleto->currency,
		 boleto->due_factor, (long long)boleto->amount_cents, boleto->free_field);
	bc[4] = (char)('0' + barcode_dv(bc));
	if (barcode != NULL)
		memcpy(barcode, bc, sizeof(bc));
	if (line != NULL)
		line_from_barcode(bc, line);
	return 0;
}

int b4_br_boleto_format_line(const char *line, char *out, size_t size)
{
	if (line == NULL || out == NULL || size < B4_BR_BOLETO_LINE_FORMATTED_LEN + 1 ||
	    strnlen(line, B4_BR_BOLETO_LINE_LEN + 1) != B4_BR_BOLETO_LINE_LEN ||
	    !all_digits(line, B4_BR_BOLETO_LINE_LEN))
		return -1;
	snprintf(out, size, "%.5s.%.5s %.5s.%.6s %.5s.%.6s %c %.14s", line, line + 5, line + 10,
		 line + 15, line + 21, line + 26, line[32], line + 33);
	return 0;
}

int b4_br_boleto_parse_barcode(const char *barcode, struct b4_br_boleto *boleto)
{
	long long amount = 0;

	if (barcode == NULL || boleto == NULL ||
	    strnlen(barcode, B4_BR_BOLETO_BARCODE_LEN + 1) != B4_BR_BOLETO_BARCODE_LEN ||
	    !all_digits(barcode, B4_BR_BOLETO_BARCODE_LEN) || barcode[3] != '9' ||
	    barcode[4] - '0' != barcode_dv(barcode))
		return -1;
	memset(boleto, 0, sizeof(*boleto));
	memcpy(boleto->bank, barcode, 3);
	boleto->currency = barcode[3];
	for (int k = 5; k < 9; k++)
		boleto->due_factor = boleto->due_factor * 10 + (barcode[k] - '0');
	for (int k = 9; k < 19; k++)
		amount = amount * 10 + (barcode[k] - '0');
	boleto->amount_cents = amount;
	memcpy(boleto->free_field, barcode + 19, B4_BR_BOLETO_FREE_FIELD_LEN);
	return 0;
}

int b4_br_boleto_parse_line(const char *line, struct b4_br_boleto *boleto, char *barcode)
{
	char digits[B4_BR_BOLETO_LINE_LEN], bc[B4_BR_BOLETO_BARCODE_LEN + 1];
	size_t len = 0;

	if (line == NULL || boleto == NULL)
		return -1;
	for (; *line != '\0'; line++) {
		if (*line == ' ' || *line == '.')
			continue;
		if (!is_digit(*line) || len == sizeof(digits))
			return -1;
		digits[len++] = *line;
	}
	if (len != B4_BR_BOLETO_LINE_LEN || mod10(digits, 9) != digits[9] - '0' ||
	    mod10(digits + 10, 10) != digits[20] - '0' ||
	    mod10(digits + 21, 10) != digits[31] - '0')
		return -1;
	memcpy(bc, digits, 4);
	bc[4] = digits[32];
	memcpy(bc + 5, digits + 33, 14);
	memcpy(bc + 19, digits + 4, 5);
	memcpy(bc + 24, digits + 10, 10);
	memcpy(bc + 34, digits + 21, 10);
	bc[B4_BR_BOLETO_BARCODE_LEN] = '\0';
	if (b4_br_boleto_parse_barcode(bc, boleto) < 0)
		return -1;
	if (barcode != NULL)
		memcpy(barcode, bc, sizeof(bc));
	return 0;
}

static bool date_is_valid(int year, int month, int day)
{
	static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int max;

	if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1)
		return false;
	max = month_days[month - 1];
	if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
		max = 29;
	return day <= max;
}

int b4_br_boleto_factor_from_date(int year, int month, int day, int *factor)
{
	int64_t days, f;

	if (factor == NULL || !date_is_valid(year, month, day))
		return -1;
	days = b4_tz_days_from_civil(year, month, day);
	if (days >= b4_tz_days_from_civil(2025, 2, 22))
		f = 1000 + (days - b4_tz_days_from_civil(2025, 2, 22));
	else
		f = days - b4_tz_days_from_civil(1997, 10, 7);
	if (f < 1000 || f > 9999)
		return -1;
	*factor = (int)f;
	return 0;
}

int b4_br_boleto_date_from_factor(int factor, int *year, int *month, int *day)
{
	if (year == NULL || month == NULL || day == NULL || factor < 1000 || factor > 9999)
		return -1;
	b4_tz_civil_from_days(b4_tz_days_from_civil(2025, 2, 22) + (factor - 1000), year, month,
			      day);
	return 0;
}
