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

/* At most this many bad fields are named in one answer; later ones are
 * still counted as failures but not listed. */
#define B4_FORM_MAX_ERRORS 16

/* A validation pass that names every bad field at once (API.md: the
 * `errors` list).  Hand b4_form_err(form) to each getter where a single
 * struct b4_error would go: a getter that fails fills that slot, and the
 * next b4_form_err() or b4_form_failed() keeps it.  Check every field, then
 * answer once when b4_form_failed() (b4_req_send_form).  The first failure
 * gives the answer its status, code, message and `param`; every failure
 * with a param is listed in `errors`, in the order of the checks.
 * The caller owns the storage (a stack variable is fine). */
struct b4_form {
	struct b4_error slots[B4_FORM_MAX_ERRORS + 1]; /* the last one is scratch once full */
	size_t count;				       /* kept failures */
	size_t dropped;				       /* failures beyond the limit */
	bool pending;				       /* slots[count] was handed out */
};

void b4_form_init(struct b4_form *form);
/* A clean slot for one getter's error. */
struct b4_error *b4_form_err(struct b4_form *form);
/* Records a failure found by the handler itself (422 invalid_request_error
 * style checks such as a bad CPF); param may be NULL. */
void b4_form_add(struct b4_form *form, int status, const char *code, const char *param,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* True when any check failed. */
bool b4_form_failed(struct b4_form *form);
/* True when a failure already names param (skip dependent checks). */
bool b4_form_has(struct b4_form *form, const char *param);
/* The failures kept, in order (n receives the count); NULL when none. */
const struct b4_error *b4_form_errors(struct b4_form *form, size_t *n);

enum b4_json_presence { B4_JSON_OPTIONAL = 0, B4_JSON_REQUIRED = 1 };

/* Parses a request body that must be one JSON object (at most max_depth
 * levels deep).  Returns a cJSON tree the caller deletes, or NULL with err
 * set (400 invalid_json / body_not_object / too_deep). */
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
