/* json.h - strict typed access to request JSON, and the API error shape.
 *
 * Every getter takes a field name, which may be dotted to reach into nested
 * objects ("customer.email"), checks presence, type and bounds, and on
 * failure fills a struct b4_error whose `param` names the field.  A getter
 * returns 0 when the value is valid or absent-and-optional (out untouched
 * for absent fields, and *present set false when given), -1 on error.
 *
 * Status codes: malformed JSON, a missing field, a wrong type or an unknown
 * field -> 400; a value of the right type out of range, too long, or not
 * one of the allowed values -> 422.  Both are `invalid_request_error`.
 */
#ifndef B4_JSON_H
#define B4_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An API error (see API.md): HTTP status, type, code, message, param. */
struct b4_error {
	int status;
	const char *type; /* static strings */
	const char *code;
	char param[96];
	char message[256];
};

/* Fills err.  param may be NULL. */
void b4_error_set(struct b4_error *err, int status, const char *type, const char *code,
		  const char *param, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Shorthand for the common validation failure (invalid_request_error). */
void b4_error_invalid(struct b4_error *err, int status, const char *code, const char *param,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

enum b4_json_presence { B4_JSON_OPTIONAL = 0, B4_JSON_REQUIRED = 1 };

/* Parses a request body that must be one JSON object (at most max_depth
 * levels deep).  Returns a cJSON tree the caller deletes, or NULL with err
 * set (400 invalid_json / body_not_object / too_deep, or nul_character for
 * a raw NUL byte or a \u0000 escape anywhere: never a silently shortened
 * value). */
cJSON *b4_json_parse_object(const char *data, size_t len, int max_depth, struct b4_error *err);

/* A string of min_chars..max_chars Unicode characters, valid UTF-8, no
 * control characters other than \n and \t.  *out points into the tree. */
int b4_json_get_str(const cJSON *obj, const char *name, enum b4_json_presence presence,
		    size_t min_chars, size_t max_chars, const char **out, struct b4_error *err);
/* An integer in min..max (a JSON number with no fraction, |v| < 2^53, so no value
 * that lost precision in parsing gets through). */
int b4_json_get_int(const cJSON *obj, const char *name, enum b4_json_presence presence, int64_t min,
		    int64_t max, int64_t *out, struct b4_error *err);
int b4_json_get_bool(const cJSON *obj, const char *name, enum b4_json_presence presence, bool *out,
		     struct b4_error *err);
/* A string equal to one of values (NULL-terminated); *out is its index. */
int b4_json_get_enum(const cJSON *obj, const char *name, enum b4_json_presence presence,
		     const char *const *values, int *out, struct b4_error *err);
/* An object, or an array of at most max_items elements. */
int b4_json_get_object(const cJSON *obj, const char *name, enum b4_json_presence presence,
		       const cJSON **out, struct b4_error *err);
int b4_json_get_array(const cJSON *obj, const char *name, enum b4_json_presence presence,
		      size_t max_items, const cJSON **out, struct b4_error *err);
/* True when the field is present with a JSON null value. */
bool b4_json_is_null(const cJSON *obj, const char *name);
/* Fails (400 unknown_field) on any member of obj not listed in allowed
 * (NULL-terminated).  prefix is prepended to param ("customer."), or NULL. */
int b4_json_reject_unknown(const cJSON *obj, const char *const *allowed, const char *prefix,
			   struct b4_error *err);

/* True for valid UTF-8 of at most max_chars characters, no controls
 * except \n and \t; *chars receives the count when not NULL. */
bool b4_json_text_is_valid(const char *s, size_t max_chars, size_t *chars);

#endif
