/* text.h - checks of short identifiers and dates that arrive as text
 * (route parameters, query strings, job payloads). */
#ifndef B4_TEXT_H
#define B4_TEXT_H

#include <stdbool.h>

/* A UUID in its 36-character form as this system writes them: lower-case
 * hex, dashes at 8, 13, 18 and 23 (ids are compared byte for byte). */
bool b4_text_is_uuid(const char *text);
/* A calendar date YYYY-MM-DD from year 2000 on (leap years respected). */
bool b4_text_is_date(const char *text);
/* An offer's public code: exactly 10 ASCII letters and digits. */
bool b4_text_is_offer_code(const char *text);
/* 1..20 ASCII digits (a numeric id). */
bool b4_text_is_digits(const char *text);

#endif
