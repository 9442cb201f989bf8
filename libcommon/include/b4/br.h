/*
 * br: Brazilian documents and payment codes.
 *
 *  - CPF and CNPJ validation and normalisation, including the alphanumeric
 *    CNPJ (Receita Federal, from July 2026).
 *  - Pix BR Code (EMV QR Code merchant-presented mode, TLV with CRC16):
 *    builder and parser.
 *  - Boleto (FEBRABAN bank collection): 44-digit barcode, 47-digit
 *    digitable line, due-date factor with the February 2025 reset.
 *
 * Nothing here allocates; outputs go to caller buffers.  All functions are
 * thread safe.
 */
#ifndef B4_BR_H
#define B4_BR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- CPF / CNPJ --------------------------------------------------------- */

#define B4_BR_CPF_LEN  11
#define B4_BR_CNPJ_LEN 14

enum b4_br_document_type {
	B4_BR_DOCUMENT_CPF,
	B4_BR_DOCUMENT_CNPJ,
};

/*
 * Input rules shared by every function below: the text may carry the usual
 * punctuation ('.', '-', '/') and spaces anywhere, which are dropped; any
 * other character makes it invalid.  Letters (CNPJ only) may be lower case
 * and are folded to upper case.  A number made of one repeated character
 * ("111.111.111-11", "00000000000000") is invalid.
 */

/* True if text is a valid CPF (11 digits, both mod-11 check digits right). */
bool b4_br_cpf_is_valid(const char *text);

/*
 * True if text is a valid CNPJ: 14 positions, the first 12 in 0-9 or A-Z,
 * the last two digits; each position counts as its ASCII code minus 48
 * ('0' = 0, 'A' = 17) with the mod-11 weights 5,4,3,2,9,8,7,6,5,4,3,2 (and
 * 6,5,4,... for the second check digit).  Numeric CNPJs are the special
 * case with digits only.
 */
bool b4_br_cnpj_is_valid(const char *text);

/*
 * Validates text as a CPF or a CNPJ (chosen by its number of significant
 * characters, 11 or 14) and writes it without punctuation, upper case, NUL
 * terminated, into out (size >= B4_BR_CNPJ_LEN + 1 always suffices).
 * *type receives which document it is.
 * Returns 0, or -1 if it is neither a valid CPF nor a valid CNPJ or out is
 * too small (then out and *type are untouched).
 */
int b4_br_document_normalize(const char *text, char *out, size_t size,
			     enum b4_br_document_type *type);

/* ---- Pix BR Code -------------------------------------------------------- */

/* CRC16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xorout). */
uint16_t b4_br_crc16(const void *data, size_t len);

#define B4_BR_PIX_KEY_MAX  77 /* field 26.01 */
#define B4_BR_PIX_URL_MAX  77 /* field 26.25, without "https://" */
#define B4_BR_PIX_NAME_MAX 25
#define B4_BR_PIX_CITY_MAX 15
#define B4_BR_PIX_TXID_MAX 25
/* The longest payload b4_br_pix_build writes is well below this. */
#define B4_BR_PIX_PAYLOAD_MAX 512

/*
 * What goes into a BR Code.  Exactly one of key (static Pix, field 26.01)
 * and url (dynamic Pix, field 26.25: the PSP's location URL without the
 * scheme) is set.
 *
 * merchant_name and merchant_city are UTF-8; the builder folds accented
 * Latin letters to ASCII ("São Paulo" -> "Sao Paulo"), drops other
 * non-ASCII and control characters, and cuts them to 25 and 15 characters.
 * txid: 1..25 letters and digits, or NULL for "***" (no id; always used
 * with a url).  amount_cents: 0 omits field 54 (the payer types the value).
 * single_use writes field 01 = "12" (the code must not be paid twice).
 */
struct b4_br_pix {
	const char *key;
	const char *url;
	const char *merchant_name;
	const char *merchant_city;
	const char *txid;
	int64_t amount_cents;
	bool single_use;
};

/*
 * Writes the BR Code for pix into buf (NUL terminated): fields 00, 01 (if
 * single use), 26, 52 "0000", 53 "986", 54 (if an amount), 58 "BR", 59,
 * 60, 62 (05 txid), 63 CRC16 over everything before it including "6304",
 * as four upper-case hex digits.
 * Returns the payload length, or -1 on a bad field (missing or both
 * key/url, key or url too long, empty name or city after folding, bad
 * txid, negative amount or one above 9999999999.99) or a buffer too small.
 */
int b4_br_pix_build(const struct b4_br_pix *pix, char *buf, size_t size);

/* What b4_br_pix_parse extracts.  Strings are NUL terminated; absent ones are "". */
struct b4_br_pix_info {
	char key[B4_BR_PIX_KEY_MAX + 1];
	char url[B4_BR_PIX_URL_MAX + 1];
	char merchant_name[B4_BR_PIX_NAME_MAX + 1];
	char merchant_city[B4_BR_PIX_CITY_MAX + 1];
	char txid[B4_BR_PIX_TXID_MAX + 1]; /* "***" when the code carries no id */
	int64_t amount_cents;		   /* 0 when field 54 is absent */
	bool has_amount;
	bool single_use;
};

/*
 * Parses and validates the len bytes of payload (no NUL needed) as a Pix
 * BR Code: well-formed TLV (two-digit id, two-digit length) to the last
 * byte, no repeated top-level id, 00 = "01" first, 63 last with length 04
 * and the right CRC (hex in either case), a merchant account (26..51) with
 * GUI "br.gov.bcb.pix" (any case) and a key or url, 53 = "986", 58 = "BR",
 * 59 and 60 present, optional 54 as a decimal amount with up to 2 places
 * (at most 13 characters), optional 62 whose 05 is the txid.  Only
 * printable ASCII is accepted, at most B4_BR_PIX_PAYLOAD_MAX bytes.
 * Returns 0 and fills *info, or -1 if anything is wrong (then *info is
 * unspecified).
 */
int b4_br_pix_parse(const char *payload, size_t len, struct b4_br_pix_info *info);

/* ---- Boleto ------------------------------------------------------------- */

#define B4_BR_BOLETO_BARCODE_LEN 44
#define B4_BR_BOLETO_LINE_LEN	 47
/* "AAAAA.AAAAA BBBBB.BBBBBB CCCCC.CCCCCC D FFFFVVVVVVVVVV" */
#define B4_BR_BOLETO_LINE_FORMATTED_LEN 54
#define B4_BR_BOLETO_FREE_FIELD_LEN	25
#define B4_BR_BOLETO_MAX_AMOUNT_CENTS	INT64_C(9999999999)

/*
 * The fields of a bank boleto.  bank is the 3-digit FEBRABAN code,
 * currency is always '9' (real), due_factor 0 means no due date (else
 * 1000..9999, see b4_br_boleto_factor_from_date), amount_cents 0 means the
 * payer types the amount, free_field is the bank's 25 digits.
 */
struct b4_br_boleto {
	char bank[4];
	char currency;
	int due_factor;
	int64_t amount_cents;
	char free_field[B4_BR_BOLETO_FREE_FIELD_LEN + 1];
};

/*
 * Builds the 44-digit barcode and the 47-digit digitable line (digits only)
 * of boleto; either output may be NULL.  barcode needs 45 bytes and line
 * 48 (NUL terminated).
 * Barcode: bank(3) currency(1) DV(1) factor(4) amount(10) free field(25);
 * DV is mod 11 over the other 43 digits, weights 2..9 from the right, with
 * 11 - remainder mapped to 1 when it is 0, 10 or 11.
 * Line: bank+currency+free[0..4]+DV10, free[5..14]+DV10, free[15..24]+DV10,
 * the barcode DV, factor+amount; DV10 is mod 10 with weights 2,1,2,...
 * from the right (products above 9 have their digits summed).
 * Returns 0, or -1 on a bad field.
 */
int b4_br_boleto_encode(const struct b4_br_boleto *boleto, char *barcode, char *line);

/*
 * Writes the 47-digit line as "AAAAA.AAAAA BBBBB.BBBBBB CCCCC.CCCCCC D
 * FFFFVVVVVVVVVV" into out (size >= B4_BR_BOLETO_LINE_FORMATTED_LEN + 1).
 * Returns 0, or -1 if line is not 47 digits or out is too small.
 */
int b4_br_boleto_format_line(const char *line, char *out, size_t size);

/*
 * Validates a 44-digit barcode (general check digit) and splits it into
 * *boleto.  Returns 0, or -1 if it is not 44 digits, the currency is not
 * 9 or the check digit is wrong.
 */
int b4_br_boleto_parse_barcode(const char *barcode, struct b4_br_boleto *boleto);

/*
 * Validates a digitable line, either 47 digits or formatted with the
 * spaces and dots of b4_br_boleto_format_line (any spaces and dots are
 * ignored), checking the three mod-10 field digits and the general mod-11
 * digit; fills *boleto and, if barcode is not NULL, writes the 44-digit
 * barcode (45 bytes).  Returns 0, or -1 if anything does not check.
 */
int b4_br_boleto_parse_line(const char *line, struct b4_br_boleto *boleto, char *barcode);

/*
 * Due-date factor of a calendar date: days since 1997-10-07 for dates from
 * 2000-07-03 (1000) to 2025-02-21 (9999); from 2025-02-22 the count
 * restarts at 1000, so 2025-02-22 is 1000 and 2049-10-13 is 9999.
 * Returns 0 and sets *factor, or -1 for an invalid date or one outside
 * 2000-07-03 .. 2049-10-13.
 */
int b4_br_boleto_factor_from_date(int year, int month, int day, int *factor);

/*
 * The date of a due-date factor in the current cycle (1000 = 2025-02-22 ..
 * 9999 = 2049-10-13).  Returns 0, or -1 if factor is outside 1000..9999
 * (0 means "no due date" and has no date).
 */
int b4_br_boleto_date_from_factor(int factor, int *year, int *month, int *day);

#endif /* B4_BR_H */
