/* Unit tests for libcommon/src/br.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "b4/br.h"

/* ---- CPF / CNPJ --------------------------------------------------------- */

static void test_cpf(void **state)
{
	(void)state;
	assert_true(b4_br_cpf_is_valid("529.982.247-25"));
	assert_true(b4_br_cpf_is_valid("52998224725"));
	assert_true(b4_br_cpf_is_valid(" 529 982 247 25 "));
	/* 123456789: sum 210, 2100 % 11 = 10 -> 0; then sum 255 + 0, 2550 % 11 = 9 */
	assert_true(b4_br_cpf_is_valid("123.456.789-09"));
	assert_false(b4_br_cpf_is_valid("529.982.247-24"));
	assert_false(b4_br_cpf_is_valid("529.982.247-15"));
	assert_false(b4_br_cpf_is_valid("111.111.111-11"));
	assert_false(b4_br_cpf_is_valid("000.000.000-00"));
	assert_false(b4_br_cpf_is_valid("5299822472"));
	assert_false(b4_br_cpf_is_valid("529982247250"));
	assert_false(b4_br_cpf_is_valid("529.982.247-2A"));
	assert_false(b4_br_cpf_is_valid("529,982,247-25"));
	assert_false(b4_br_cpf_is_valid(""));
	assert_false(b4_br_cpf_is_valid(NULL));
	/* a CNPJ is not a CPF and vice versa */
	assert_false(b4_br_cpf_is_valid("11.222.333/0001-81"));
	assert_false(b4_br_cnpj_is_valid("529.982.247-25"));
}

static void test_cnpj_numeric(void **state)
{
	(void)state;
	assert_true(b4_br_cnpj_is_valid("11.222.333/0001-81"));
	assert_true(b4_br_cnpj_is_valid("11222333000181"));
	assert_false(b4_br_cnpj_is_valid("11.222.333/0001-80"));
	assert_false(b4_br_cnpj_is_valid("11.222.333/0001-91"));
	assert_false(b4_br_cnpj_is_valid("11.222.333/0002-81"));
	assert_false(b4_br_cnpj_is_valid("00.000.000/0000-00"));
	assert_false(b4_br_cnpj_is_valid("11111111111111"));
	assert_false(b4_br_cnpj_is_valid("1122233300018"));
	assert_false(b4_br_cnpj_is_valid("112223330001811"));
	assert_false(b4_br_cnpj_is_valid(NULL));
}

/*
 * The Receita Federal example of the alphanumeric CNPJ: 12.ABC.345/01DE-35.
 * Values (ASCII - 48): 1 2 17 18 19 3 4 5 0 1 20 21.
 * DV1: weights 5 4 3 2 9 8 7 6 5 4 3 2 ->
 *   5+8+51+36+171+24+28+30+0+4+60+42 = 459; 459 % 11 = 8 -> 11 - 8 = 3.
 * DV2: weights 6 5 4 3 2 9 8 7 6 5 4 3 2 over the 12 values and 3 ->
 *   6+10+68+54+38+27+32+35+0+5+80+63+6 = 424; 424 % 11 = 6 -> 11 - 6 = 5.
 */
static void test_cnpj_alphanumeric(void **state)
{
	(void)state;
	assert_true(b4_br_cnpj_is_valid("12.ABC.345/01DE-35"));
	assert_true(b4_br_cnpj_is_valid("12ABC34501DE35"));
	assert_true(b4_br_cnpj_is_valid("12.abc.345/01de-35"));
	assert_false(b4_br_cnpj_is_valid("12.ABC.345/01DE-36"));
	assert_false(b4_br_cnpj_is_valid("12.ABC.345/01DE-45"));
	assert_false(b4_br_cnpj_is_valid("12.ABC.345/01DF-35"));
	assert_false(b4_br_cnpj_is_valid("12.ABD.345/01DE-35"));
	/* check digits are always numeric */
	assert_false(b4_br_cnpj_is_valid("12.ABC.345/01DE-3A"));
	assert_false(b4_br_cnpj_is_valid("12.AB#.345/01DE-35"));
	assert_false(b4_br_cnpj_is_valid("12.ABÇ.345/01DE-35"));
	assert_false(b4_br_cnpj_is_valid("AAAAAAAAAAAAAA"));
}

static void test_document_normalize(void **state)
{
	char out[B4_BR_CNPJ_LEN + 1];
	char small[12];
	enum b4_br_document_type type = B4_BR_DOCUMENT_CNPJ;

	(void)state;
	assert_int_equal(b4_br_document_normalize("529.982.247-25", out, sizeof(out), &type), 0);
	assert_string_equal(out, "52998224725");
	assert_int_equal(type, B4_BR_DOCUMENT_CPF);
	assert_int_equal(b4_br_document_normalize("12.abc.345/01de-35", out, sizeof(out), &type),
			 0);
	assert_string_equal(out, "12ABC34501DE35");
	assert_int_equal(type, B4_BR_DOCUMENT_CNPJ);
	assert_int_equal(b4_br_document_normalize("11.222.333/0001-81", out, sizeof(out), &type),
			 0);
	assert_string_equal(out, "11222333000181");

	assert_int_equal(b4_br_document_normalize("529.982.247-25", small, sizeof(small), &type),
			 0);
	assert_int_equal(
	    b4_br_document_normalize("11.222.333/0001-81", small, sizeof(small), &type), -1);
	assert_int_equal(b4_br_document_normalize("529.982.247-25", small, 11, &type), -1);
	assert_int_equal(b4_br_document_normalize("529.982.247-24", out, sizeof(out), &type), -1);
	/* a CPF-length number with a letter is neither */
	assert_int_equal(b4_br_document_normalize("5299822472A", out, sizeof(out), &type), -1);
	assert_int_equal(b4_br_document_normalize("123", out, sizeof(out), &type), -1);
	assert_int_equal(b4_br_document_normalize(NULL, out, sizeof(out), &type), -1);
	assert_int_equal(b4_br_document_normalize("52998224725", NULL, 12, &type), -1);
	assert_int_equal(b4_br_document_normalize("52998224725", out, sizeof(out), NULL), -1);
}

/* ---- Pix ------------------------------------------------------------------ */

/* The example BR Code of the Banco Central "Manual de Padroes para Iniciacao do Pix". */
static const char bcb_example[] =
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
    "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D";

static void test_crc16(void **state)
{
	(void)state;
	assert_int_equal(b4_br_crc16("123456789", 9), 0x29B1);
	assert_int_equal(b4_br_crc16("", 0), 0xFFFF);
	assert_int_equal(b4_br_crc16(bcb_example, strlen(bcb_example) - 4), 0x1D3D);
}

static void test_pix_parse_bcb_example(void **state)
{
	struct b4_br_pix_info info;

	(void)state;
	assert_int_equal(b4_br_pix_parse(bcb_example, strlen(bcb_example), &info), 0);
	assert_string_equal(info.key, "123e4567-e12b-12d1-a456-426655440000");
	assert_string_equal(info.url, "");
	assert_string_equal(info.merchant_name, "Fulano de Tal");
	assert_string_equal(info.merchant_city, "BRASILIA");
	assert_string_equal(info.txid, "***");
	assert_false(info.has_amount);
	assert_int_equal(info.amount_cents, 0);
	assert_false(info.single_use);
}

/* Building the BCB example from its fields gives it byte for byte. */
static void test_pix_build_bcb_example(void **state)
{
	struct b4_br_pix pix = {
	    .key = "123e4567-e12b-12d1-a456-426655440000",
	    .merchant_name = "Fulano de Tal",
	    .merchant_city = "BRASILIA",
	};
	char buf[B4_BR_PIX_PAYLOAD_MAX];

	(void)state;
	assert_int_equal(b4_br_pix_build(&pix, buf, sizeof(buf)), (int)strlen(bcb_example));
	assert_string_equal(buf, bcb_example);
	/* one byte short of the payload and its NUL fails cleanly */
	assert_int_equal(b4_br_pix_build(&pix, buf, strlen(bcb_example)), -1);
	assert_string_equal(buf, "");
}

static void test_pix_round_trip(void **state)
{
	struct b4_br_pix pix = {
	    .key = "comprador+loja@example.com.br",
	    .merchant_name = "Escola de Programação São João Ltda",
	    .merchant_city = "São José dos Campos",
	    .txid = "B4ORDER000123abc",
	    .amount_cents = 19790,
	    .single_use = true,
	};
	struct b4_br_pix_info info;
	char buf[B4_BR_PIX_PAYLOAD_MAX];
	int len;

	(void)state;
	len = b4_br_pix_build(&pix, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal((size_t)len, strlen(buf));
	assert_non_null(strstr(buf, "010212"));
	assert_non_null(strstr(buf, "5406197.90"));
	assert_non_null(strstr(buf, "5925Escola de Programacao Sao"));
	assert_non_null(strstr(buf, "6015Sao Jose dos Ca62"));
	assert_non_null(strstr(buf, "62200516B4ORDER000123abc6304"));
	assert_int_equal(b4_br_pix_parse(buf, (size_t)len, &info), 0);
	assert_string_equal(info.key, pix.key);
	assert_string_equal(info.txid, "B4ORDER000123abc");
	assert_true(info.has_amount);
	assert_int_equal(info.amount_cents, 19790);
	assert_true(info.single_use);
	assert_string_equal(info.merchant_name, "Escola de Programacao Sao");
	assert_string_equal(info.merchant_city, "Sao Jose dos Ca");

	/* dynamic: location URL, no key, txid "***" */
	pix.key = NULL;
	pix.url = "pix.example.com/qr/v2/9d36b84f-c70b-478f-b95c-12729b90ca25";
	pix.txid = NULL;
	pix.amount_cents = 1;
	len = b4_br_pix_build(&pix, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(b4_br_pix_parse(buf, (size_t)len, &info), 0);
	assert_string_equal(info.url, pix.url);
	assert_string_equal(info.key, "");
	assert_string_equal(info.txid, "***");
	assert_int_equal(info.amount_cents, 1);
	assert_non_null(strstr(buf, "54040.01"));
}

static void test_pix_build_rejects(void **state)
{
	char buf[B4_BR_PIX_PAYLOAD_MAX];
	char long_key[B4_BR_PIX_KEY_MAX + 2];
	struct b4_br_pix good = {
	    .key = "+5511999998888", .merchant_name = "B4", .merchant_city = "SP"};
	struct b4_br_pix pix;

	(void)state;
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	assert_true(b4_br_pix_build(&good, buf, sizeof(buf)) > 0);

	pix = good;
	pix.url = "pix.example.com/x";
	assert_int_equal(b4_br_pix_build(&pix, buf, sizeof(buf)), -1); /* key and url */
	pix = good;
	pix.key = NULL;
	assert_int_equal(b4_br_pix_build(&pix, buf, sizeof(buf)), -1); /* neither */
	pix = good;
	pix.key = long_key;
	assert_int_equal(b4_br_pix_build(&pix, buf, sizeof(buf)), -1);
	long_key[B4_BR_PIX_KEY_MAX] = '\0';
	assert_true(b4_br_pix_build(&pix, buf, sizeof(buf)) > 0); /* 77 is the limit */
	pix = good;
	pix.txid = "has-dash";
	assert_int_equal(b4_br_pix_build(&pix, buf, sizeof(buf)), -1);
	pix.txid = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	assert_int_equal(b4_br_pix_build(&pix, buf, sizeof(buf)), -1);
	pix.txid = "";
	assert_int_equal(b4_br_pix_build(&pix, buf, sizeof(buf)), -1);
	pix = good;
	pix.amount_cents = -1;
	assert_int_equal(b4_br_pix_build(&pix, buf, sizeof(buf)), -1);
	pix.amount_cents = INT64_C(1000000000000);
	assert_int_equal(b4_br_pix_build(&pix, buf, sizeof(buf)), -1);
	pix.amount_cents = INT64_C(999999999999);
	assert_true(b4_br_pix_build(&pix, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "54139999999999.99"));
	pix = good;
	pix.merchant_name = "   ";
	assert_int_equal(b4_br_pix_build(&pix, buf, sizeof(buf)), -1);
	pix.merchant_name = "\xe4\xb8\xad\xe6\x96\x87"; /* nothing foldable */
	assert_int_equal(b4_br_pix_build(&pix, buf, sizeof(buf)), -1);
	pix = good;
	pix.merchant_city = NULL;
	assert_int_equal(b4_br_pix_build(&pix, buf, sizeof(buf)), -1);
	pix = good;
	pix.key = "bad\nkey";
	assert_int_equal(b4_br_pix_build(&pix, buf, sizeof(buf)), -1);
	assert_int_equal(b4_br_pix_build(NULL, buf, sizeof(buf)), -1);
	assert_int_equal(b4_br_pix_build(&good, NULL, sizeof(buf)), -1);
	assert_int_equal(b4_br_pix_build(&good, buf, 0), -1);
}

/* Recomputes the CRC of an edited payload so only the edit is under test. */
static void fix_crc(char *payload)
{
	size_t len = strlen(payload);
	char crc[5];

	snprintf(crc, sizeof(crc), "%04X", (unsigned)b4_br_crc16(payload, len - 4));
	memcpy(payload + len - 4, crc, 4);
}

static int parse_str(const char *payload)
{
	struct b4_br_pix_info info;

	return b4_br_pix_parse(payload, strlen(payload), &info);
}

static void test_pix_parse_rejects(void **state)
{
	char buf[B4_BR_PIX_PAYLOAD_MAX];
	char *p;
	struct b4_br_pix_info info;

	(void)state;
	/* a corrupted byte fails the CRC */
	strcpy(buf, bcb_example);
	buf[60] = buf[60] == '0' ? '1' : '0';
	assert_int_equal(parse_str(buf), -1);
	/* wrong CRC value; lower-case hex of the right one is accepted */
	strcpy(buf, bcb_example);
	buf[strlen(buf) - 1] = 'E';
	assert_int_equal(parse_str(buf), -1);
	strcpy(buf, bcb_example);
	buf[strlen(buf) - 3] = 'd';
	buf[strlen(buf) - 1] = 'd';
	assert_int_equal(parse_str(buf), 0);
	/* truncated, and trailing bytes after the CRC */
	assert_int_equal(b4_br_pix_parse(bcb_example, strlen(bcb_example) - 1, &info), -1);
	assert_int_equal(b4_br_pix_parse(bcb_example, 20, &info), -1);
	assert_int_equal(b4_br_pix_parse(bcb_example, 0, &info), -1);
	strcpy(buf, bcb_example);
	strcat(buf, "0000");
	assert_int_equal(parse_str(buf), -1);
	assert_int_equal(b4_br_pix_parse(NULL, 10, &info), -1);
	assert_int_equal(b4_br_pix_parse(bcb_example, strlen(bcb_example), NULL), -1);

	/* valid CRC but bad content */
	strcpy(buf, bcb_example);
	p = strstr(buf, "5303986");
	p[6] = '0'; /* currency 980 */
	fix_crc(buf);
	assert_int_equal(parse_str(buf), -1);

	strcpy(buf, bcb_example);
	p = strstr(buf, "br.gov.bcb.pix");
	p[0] = 'x'; /* not a Pix account */
	fix_crc(buf);
	assert_int_equal(parse_str(buf), -1);

	strcpy(buf, bcb_example);
	p = strstr(buf, "br.gov.bcb.pix");
	memcpy(p, "BR.GOV.BCB.PIX", 14); /* the GUI is case insensitive */
	fix_crc(buf);
	assert_int_equal(parse_str(buf), 0);

	strcpy(buf, bcb_example);
	memcpy(buf, "000202", 6); /* format indicator "02" */
	fix_crc(buf);
	assert_int_equal(parse_str(buf), -1);

	strcpy(buf, bcb_example);
	p = strstr(buf, "5802BR");
	p[3] = '3'; /* length runs into the next field */
	fix_crc(buf);
	assert_int_equal(parse_str(buf), -1);

	strcpy(buf, bcb_example);
	p = strstr(buf, "0503***");
	memcpy(p, "0503*-*", 7); /* txid with a bad character */
	fix_crc(buf);
	assert_int_equal(parse_str(buf), -1);

	/* a non-printable byte */
	strcpy(buf, bcb_example);
	p = strstr(buf, "Fulano");
	p[0] = '\x01';
	fix_crc(buf);
	assert_int_equal(parse_str(buf), -1);

	/* the CRC field not last: a repeated 63 */
	strcpy(buf, bcb_example);
	p = strstr(buf, "6304");
	memmove(p + 8, p, strlen(p) + 1);
	memcpy(p, "6304", 4);
	{
		char crc[5];

		snprintf(crc, sizeof(crc), "%04X",
			 (unsigned)b4_br_crc16(buf, (size_t)(p - buf) + 4));
		memcpy(p + 4, crc, 4);
	}
	assert_int_equal(strlen(buf), strlen(bcb_example) + 8);
	assert_int_equal(parse_str(buf), -1);

	/* field 54 syntax: "1.23" parses, "1.234" does not */
	strcpy(buf, "00020126330014br.gov.bcb.pix0111123456789015204000053039865404"
		    "1.235802BR5902B46002SP62070503***6304FFFF");
	fix_crc(buf);
	assert_int_equal(b4_br_pix_parse(buf, strlen(buf), &info), 0);
	assert_int_equal(info.amount_cents, 123);
	assert_string_equal(info.key, "12345678901");
	strcpy(buf, "00020126330014br.gov.bcb.pix0111123456789015204000053039865405"
		    "1.2345802BR5902B46002SP62070503***6304FFFF");
	fix_crc(buf);
	assert_int_equal(parse_str(buf), -1);
	strcpy(buf, "00020126330014br.gov.bcb.pix0111123456789015204000053039865404"
		    "-1.05802BR5902B46002SP62070503***6304FFFF");
	fix_crc(buf);
	assert_int_equal(parse_str(buf), -1);
	/* longer than the 13 characters EMV allows */
	strcpy(buf, "00020126330014br.gov.bcb.pix0111123456789015204000053039865414"
		    "00000000001.005802BR5902B46002SP62070503***6304FFFF");
	fix_crc(buf);
	assert_int_equal(parse_str(buf), -1);
	/* a required field missing (60, city) */
	strcpy(buf, "00020126330014br.gov.bcb.pix0111123456789015204000053039865802BR"
		    "5902B462070503***6304FFFF");
	fix_crc(buf);
	assert_int_equal(parse_str(buf), -1);
}

/* Builder output round trips through the parser for many field mixes. */
static void test_pix_round_trip_property(void **state)
{
	static const char *names[] = {"Ana", "José da Silva Ñandú", "Loja Ω Ltda", "  X  "};
	static const char *keys[] = {"11222333000181", "+5511999998888", "a@b.co",
				     "123e4567-e12b-12d1-a456-426655440000"};
	char buf[B4_BR_PIX_PAYLOAD_MAX];
	char txid[B4_BR_PIX_TXID_MAX + 1];

	(void)state;
	for (int iter = 0; iter < 2000; iter++) {
		struct b4_br_pix pix = {
		    .key = keys[iter % 4],
		    .merchant_name = names[(iter / 4) % 4],
		    .merchant_city = "Rio de Janeiro e Niteroi",
		    .amount_cents = (int64_t)iter * 7919 % INT64_C(999999999999),
		    .single_use = iter % 3 == 0,
		};
		struct b4_br_pix_info info;
		int len;

		snprintf(txid, sizeof(txid), "T%d", iter * 31);
		pix.txid = iter % 5 == 0 ? NULL : txid;
		len = b4_br_pix_build(&pix, buf, sizeof(buf));
		assert_true(len > 0);
		assert_int_equal(b4_br_pix_parse(buf, (size_t)len, &info), 0);
		assert_string_equal(info.key, pix.key);
		assert_string_equal(info.txid, pix.txid == NULL ? "***" : txid);
		assert_int_equal(info.amount_cents, pix.amount_cents);
		assert_int_equal(info.has_amount, pix.amount_cents > 0);
		assert_int_equal(info.single_use, pix.single_use);
		assert_string_equal(info.merchant_city, "Rio de Janeiro");
		/* flipping any byte to another printable one breaks the code */
		buf[iter % len] = buf[iter % len] == 'Z' ? 'Y' : 'Z';
		assert_int_equal(b4_br_pix_parse(buf, (size_t)len, &info), -1);
	}
}

/* ---- Boleto ------------------------------------------------------------- */

/*
 * Independent reference implementations for the check digits, written
 * from the FEBRABAN layout rather than shared with br.c.
 */
static int ref_mod10(const char *digits)
{
	int sum = 0;
	size_t len = strlen(digits);

	for (size_t k = 0; k < len; k++) {
		/* the rightmost digit has weight 2 */
		int weight = (len - k) % 2 == 1 ? 2 : 1;
		int p = (digits[k] - '0') * weight;

		sum += p > 9 ? p - 9 : p;
	}
	return sum % 10 == 0 ? 0 : 10 - sum % 10;
}

static int ref_mod11(const char *digits43)
{
	static const int weights[8] = {2, 3, 4, 5, 6, 7, 8, 9};
	int sum = 0, rest;

	for (int k = 0; k < 43; k++)
		sum += (digits43[42 - k] - '0') * weights[k % 8];
	rest = sum % 11;
	if (rest == 0 || rest == 1 || rest == 10)
		return 1; /* 11 - rest would be 11, 10 or 1 */
	return 11 - rest;
}

/* Checks a line against the reference digits and returns nothing on success. */
static void ref_check_line(const char *barcode, const char *line)
{
	char field[12], without_dv[44];

	memcpy(without_dv, barcode, 4);
	memcpy(without_dv + 4, barcode + 5, 39);
	without_dv[43] = '\0';
	assert_int_equal(barcode[4] - '0', ref_mod11(without_dv));

	snprintf(field, sizeof(field), "%.9s", line);
	assert_int_equal(line[9] - '0', ref_mod10(field));
	snprintf(field, sizeof(field), "%.10s", line + 10);
	assert_int_equal(line[20] - '0', ref_mod10(field));
	snprintf(field, sizeof(field), "%.10s", line + 21);
	assert_int_equal(line[31] - '0', ref_mod10(field));
}

static void test_boleto_factor(void **state)
{
	int factor = 0, year, month, day;

	(void)state;
	assert_int_equal(b4_br_boleto_factor_from_date(2025, 2, 21, &factor), 0);
	assert_int_equal(factor, 9999);
	assert_int_equal(b4_br_boleto_factor_from_date(2025, 2, 22, &factor), 0);
	assert_int_equal(factor, 1000);
	assert_int_equal(b4_br_boleto_factor_from_date(2025, 2, 23, &factor), 0);
	assert_int_equal(factor, 1001);
	/* 2025-03-10 is 16 days after the reset */
	assert_int_equal(b4_br_boleto_factor_from_date(2025, 3, 10, &factor), 0);
	assert_int_equal(factor, 1016);
	/* the old cycle: 1000 was 2000-07-03 */
	assert_int_equal(b4_br_boleto_factor_from_date(2000, 7, 3, &factor), 0);
	assert_int_equal(factor, 1000);
	assert_int_equal(b4_br_boleto_factor_from_date(2000, 7, 2, &factor), -1);
	/* 2025-02-22 + 8999 days */
	assert_int_equal(b4_br_boleto_factor_from_date(2049, 10, 13, &factor), 0);
	assert_int_equal(factor, 9999);
	assert_int_equal(b4_br_boleto_factor_from_date(2049, 10, 14, &factor), -1);
	/* 2028 is a leap year */
	assert_int_equal(b4_br_boleto_factor_from_date(2028, 2, 29, &factor), 0);
	assert_int_equal(b4_br_boleto_factor_from_date(2027, 2, 29, &factor), -1);
	assert_int_equal(b4_br_boleto_factor_from_date(2025, 13, 1, &factor), -1);
	assert_int_equal(b4_br_boleto_factor_from_date(2025, 4, 31, &factor), -1);
	assert_int_equal(b4_br_boleto_factor_from_date(2025, 4, 0, &factor), -1);
	assert_int_equal(b4_br_boleto_factor_from_date(2025, 4, 1, NULL), -1);

	assert_int_equal(b4_br_boleto_date_from_factor(1000, &year, &month, &day), 0);
	assert_int_equal(year, 2025);
	assert_int_equal(month, 2);
	assert_int_equal(day, 22);
	assert_int_equal(b4_br_boleto_date_from_factor(9999, &year, &month, &day), 0);
	assert_int_equal(year, 2049);
	assert_int_equal(month, 10);
	assert_int_equal(day, 13);
	assert_int_equal(b4_br_boleto_date_from_factor(999, &year, &month, &day), -1);
	assert_int_equal(b4_br_boleto_date_from_factor(0, &year, &month, &day), -1);
	assert_int_equal(b4_br_boleto_date_from_factor(10000, &year, &month, &day), -1);

	/* every factor of the new cycle maps back to itself */
	for (int f = 1000; f <= 9999; f++) {
		int back;

		assert_int_equal(b4_br_boleto_date_from_factor(f, &year, &month, &day), 0);
		assert_int_equal(b4_br_boleto_factor_from_date(year, month, day, &back), 0);
		assert_int_equal(back, f);
	}
}

/*
 * Banco do Brasil (001), due 2025-03-10 (factor 1016), R$ 123.45, free
 * field 0000002821234567800000017.
 * Barcode without DV: 001 9 1016 0000012345 0000002821234567800000017
 * General DV (mod 11) = 6, so the barcode is
 *   00196101600000123450000002821234567800000017
 * Line fields: 001900000 -> DV 9; 0282123456 -> DV 0; 7800000017 -> DV 0.
 */
static void test_boleto_known_vector(void **state)
{
	struct b4_br_boleto boleto = {
	    .bank = "001",
	    .currency = '9',
	    .due_factor = 1016,
	    .amount_cents = 12345,
	    .free_field = "0000002821234567800000017",
	};
	char barcode[B4_BR_BOLETO_BARCODE_LEN + 1], line[B4_BR_BOLETO_LINE_LEN + 1];
	char formatted[B4_BR_BOLETO_LINE_FORMATTED_LEN + 1], back_barcode[45];
	struct b4_br_boleto back;

	(void)state;
	assert_int_equal(b4_br_boleto_encode(&boleto, barcode, line), 0);
	assert_string_equal(barcode, "00196101600000123450000002821234567800000017");
	assert_string_equal(line, "00190000090282123456078000000170610160000012345");
	ref_check_line(barcode, line);
	assert_int_equal(b4_br_boleto_format_line(line, formatted, sizeof(formatted)), 0);
	assert_string_equal(formatted, "00190.00009 02821.234560 78000.000170 6 10160000012345");
	assert_int_equal(strlen(formatted), B4_BR_BOLETO_LINE_FORMATTED_LEN);

	assert_int_equal(b4_br_boleto_parse_line(formatted, &back, back_barcode), 0);
	assert_string_equal(back_barcode, barcode);
	assert_string_equal(back.bank, "001");
	assert_int_equal(back.currency, '9');
	assert_int_equal(back.due_factor, 1016);
	assert_int_equal(back.amount_cents, 12345);
	assert_string_equal(back.free_field, boleto.free_field);
	assert_int_equal(b4_br_boleto_parse_line(line, &back, NULL), 0);
	assert_int_equal(b4_br_boleto_parse_barcode(barcode, &back), 0);
	assert_int_equal(back.amount_cents, 12345);

	/* Itau (341), factor 1000, R$ 1.00: DV 1 (the sum leaves rest 1 -> 10 -> 1) */
	boleto = (struct b4_br_boleto){.bank = "341",
				       .currency = '9',
				       .due_factor = 1000,
				       .amount_cents = 100,
				       .free_field = "1234567890123456789012345"};
	assert_int_equal(b4_br_boleto_encode(&boleto, barcode, line), 0);
	assert_string_equal(barcode, "34191100000000001001234567890123456789012345");
	assert_string_equal(line, "34191234546789012345767890123457110000000000100");
	ref_check_line(barcode, line);

	/* no due date, no amount */
	boleto = (struct b4_br_boleto){.bank = "237",
				       .currency = '9',
				       .due_factor = 0,
				       .amount_cents = 0,
				       .free_field = "0000000000000000000000000"};
	assert_int_equal(b4_br_boleto_encode(&boleto, barcode, NULL), 0);
	assert_string_equal(barcode, "23799000000000000000000000000000000000000000");
	assert_int_equal(b4_br_boleto_encode(&boleto, NULL, line), 0);
	assert_string_equal(line, "23790000090000000000000000000000900000000000000");
}

static void test_boleto_rejects(void **state)
{
	const char *good = "00190.00009 02821.234560 78000.000170 6 10160000012345";
	struct b4_br_boleto boleto = {.bank = "001",
				      .currency = '9',
				      .due_factor = 1016,
				      .amount_cents = 12345,
				      .free_field = "0000002821234567800000017"};
	struct b4_br_boleto bad, out;
	char buf[80], line[48], barcode[45];

	(void)state;
	/* every single-digit change in the line is caught */
	for (size_t k = 0; k < strlen(good); k++) {
		if (good[k] == ' ' || good[k] == '.')
			continue;
		for (char d = '0'; d <= '9'; d++) {
			if (d == good[k])
				continue;
			strcpy(buf, good);
			buf[k] = d;
			assert_int_equal(b4_br_boleto_parse_line(buf, &out, NULL), -1);
		}
	}
	assert_int_equal(b4_br_boleto_parse_line("0019000009", &out, NULL), -1);
	strcpy(buf, good);
	strcat(buf, "1");
	assert_int_equal(b4_br_boleto_parse_line(buf, &out, NULL), -1);
	strcpy(buf, good);
	buf[5] = '-';
	assert_int_equal(b4_br_boleto_parse_line(buf, &out, NULL), -1);
	assert_int_equal(b4_br_boleto_parse_line(NULL, &out, NULL), -1);
	assert_int_equal(b4_br_boleto_parse_line(good, NULL, NULL), -1);

	/* barcode: DV, currency, length */
	assert_int_equal(
	    b4_br_boleto_parse_barcode("00196101600000123450000002821234567800000017", &out), 0);
	assert_int_equal(
	    b4_br_boleto_parse_barcode("00197101600000123450000002821234567800000017", &out), -1);
	assert_int_equal(
	    b4_br_boleto_parse_barcode("00186101600000123450000002821234567800000017", &out), -1);
	assert_int_equal(
	    b4_br_boleto_parse_barcode("0019610160000012345000000282123456780000001", &out), -1);
	assert_int_equal(
	    b4_br_boleto_parse_barcode("001961016000001234500000028212345678000000170", &out), -1);

	/* encode arguments */
	bad = boleto;
	bad.currency = '0';
	assert_int_equal(b4_br_boleto_encode(&bad, barcode, line), -1);
	bad = boleto;
	bad.amount_cents = B4_BR_BOLETO_MAX_AMOUNT_CENTS + 1;
	assert_int_equal(b4_br_boleto_encode(&bad, barcode, line), -1);
	bad.amount_cents = B4_BR_BOLETO_MAX_AMOUNT_CENTS;
	assert_int_equal(b4_br_boleto_encode(&bad, barcode, line), 0);
	assert_int_equal(b4_br_boleto_parse_line(line, &out, NULL), 0);
	assert_int_equal(out.amount_cents, B4_BR_BOLETO_MAX_AMOUNT_CENTS);
	bad = boleto;
	bad.amount_cents = -1;
	assert_int_equal(b4_br_boleto_encode(&bad, barcode, line), -1);
	bad = boleto;
	bad.due_factor = 10000;
	assert_int_equal(b4_br_boleto_encode(&bad, barcode, line), -1);
	bad = boleto;
	memcpy(bad.bank, "0A1", 4);
	assert_int_equal(b4_br_boleto_encode(&bad, barcode, line), -1);
	bad = boleto;
	bad.free_field[24] = '\0';
	assert_int_equal(b4_br_boleto_encode(&bad, barcode, line), -1);
	bad = boleto;
	bad.free_field[3] = 'x';
	assert_int_equal(b4_br_boleto_encode(&bad, barcode, line), -1);
	assert_int_equal(b4_br_boleto_encode(NULL, barcode, line), -1);

	assert_int_equal(b4_br_boleto_format_line("123", buf, sizeof(buf)), -1);
	assert_int_equal(
	    b4_br_boleto_format_line("00190000090282123456078000000170610160000012345", buf, 54),
	    -1);
}

/* Random boletos: encode, check with the reference, format, parse back. */
static void test_boleto_property(void **state)
{
	uint64_t seed = UINT64_C(88172645463325252);

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		struct b4_br_boleto boleto, back;
		char barcode[45], line[48], formatted[55], back_barcode[45];

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		memset(&boleto, 0, sizeof(boleto));
		snprintf(boleto.bank, sizeof(boleto.bank), "%03u", (unsigned)(seed % 1000));
		boleto.currency = '9';
		boleto.due_factor = iter % 7 == 0 ? 0 : 1000 + (int)(seed % 9000);
		boleto.amount_cents =
		    (int64_t)(seed % (uint64_t)(B4_BR_BOLETO_MAX_AMOUNT_CENTS + 1));
		for (int k = 0; k < B4_BR_BOLETO_FREE_FIELD_LEN; k++)
			boleto.free_field[k] = (char)('0' + (seed >> (k * 2 % 60)) % 10);

		assert_int_equal(b4_br_boleto_encode(&boleto, barcode, line), 0);
		ref_check_line(barcode, line);
		assert_int_equal(b4_br_boleto_format_line(line, formatted, sizeof(formatted)), 0);
		assert_int_equal(b4_br_boleto_parse_line(formatted, &back, back_barcode), 0);
		assert_string_equal(back_barcode, barcode);
		assert_memory_equal(&back, &boleto, sizeof(back));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpf),
	    cmocka_unit_test(test_cnpj_numeric),
	    cmocka_unit_test(test_cnpj_alphanumeric),
	    cmocka_unit_test(test_document_normalize),
	    cmocka_unit_test(test_crc16),
	    cmocka_unit_test(test_pix_parse_bcb_example),
	    cmocka_unit_test(test_pix_build_bcb_example),
	    cmocka_unit_test(test_pix_round_trip),
	    cmocka_unit_test(test_pix_build_rejects),
	    cmocka_unit_test(test_pix_parse_rejects),
	    cmocka_unit_test(test_pix_round_trip_property),
	    cmocka_unit_test(test_boleto_factor),
	    cmocka_unit_test(test_boleto_known_vector),
	    cmocka_unit_test(test_boleto_rejects),
	    cmocka_unit_test(test_boleto_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
