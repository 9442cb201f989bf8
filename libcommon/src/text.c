/* text.c - identifier and date checks; see b4/text.h. */
#include "b4/text.h"

#include <stdlib.h>
#include <string.h>

bool b4_text_is_uuid(const char *text)
{
	if (!text || strlen(text) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		char c = text[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return false;
		}
	}
	return true;
}

bool b4_text_is_date(const char *text)
{
	static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;

	if (!text || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
		return false;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9'))
			return false;
	y = atoi(text);
	m = atoi(text + 5);
	d = atoi(text + 8);
	if (y < 2000 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
		return false;
	return !(m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

bool b4_text_is_digits(const char *text)
{
	size_t n = text ? strlen(text) : 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++)
		if (text[i] < '0' || text[i] > '9')
			return false;
	return true;
}

bool b4_text_is_offer_code(const char *text)
{
	if (!text || strlen(text) != 10)
		return false;
	for (size_t i = 0; i < 10; i++) {
		char c = text[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}
