/* json.c - strict JSON field access and the error shape; see b4/json.h. */
#include "b4/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Fills err from a format and its arguments. */
static void error_vfill(struct b4_error *err, int status, const char *type, const char *code,
			const char *param, const char *fmt, va_list ap)
{
	err->status = status;
	err->type = type;
	err->code = code;
	snprintf(err->param, sizeof(err->param), "%s", param ? param : "");
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

void b4_error_set(struct b4_error *err, int status, const char *type, const char *code,
		  const char *param, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vfill(err, status, type, code, param, fmt, ap);
	va_end(ap);
}

void b4_error_invalid(struct b4_error *err, int status, const char *code, const char *param,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vfill(err, status, "invalid_request_error", code, param, fmt, ap);
	va_end(ap);
}

void b4_form_init(struct b4_form *form)
{
	memset(form, 0, sizeof(*form));
}

/* Keeps the slot handed out last when its getter filled it. */
static void form_settle(struct b4_form *form)
{
	if (!form->pending)
		return;
	form->pending = false;
	if (form->slots[form->count].status == 0)
		return;
	if (form->count < B4_FORM_MAX_ERRORS)
		form->count++;
	else
		form->dropped++;
}

struct b4_error *b4_form_err(struct b4_form *form)
{
	struct b4_error *slot;

	form_settle(form);
	slot = &form->slots[form->count];
	memset(slot, 0, sizeof(*slot));
	form->pending = true;
	return slot;
}

void b4_form_add(struct b4_form *form, int status, const char *code, const char *param,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vfill(b4_form_err(form), status, "invalid_request_error", code, param, fmt, ap);
	va_end(ap);
	form_settle(form);
}

bool b4_form_failed(struct b4_form *form)
{
	form_settle(form);
	return form->count > 0 || form->dropped > 0;
}

bool b4_form_has(struct b4_form *form, const char *param)
{
	form_settle(form);
	for (size_t i = 0; i < form->count; i++)
		if (strcmp(form->slots[i].param, param) == 0)
			return true;
	return false;
}

const struct b4_error *b4_form_errors(struct b4_form *form, size_t *n)
{
	form_settle(form);
	*n = form->count;
	return form->count ? form->slots : NULL;
}

static int depth_of(const cJSON *item, int limit)
{
	int deepest = 0;

	if (limit < 0)
		return 1;
	for (const cJSON *c = item->child; c; c = c->next) {
		int d = depth_of(c, limit - 1);
		if (d > deepest)
			deepest = d;
		if (deepest > limit)
			break;
	}
	return deepest + 1;
}

cJSON *b4_json_parse_object(const char *data, size_t len, int max_depth, struct b4_error *err)
{
	cJSON *root;
	const char *end = NULL;

	if (!data || len == 0) {
		b4_error_invalid(err, 400, "body_required", NULL,
				 "A JSON object body is required.");
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(data, len, &end, false);
	if (!root) {
		b4_error_invalid(err, 400, "invalid_json", NULL, "The body is not valid JSON.");
		return NULL;
	}
	/* only whitespace may follow the value */
	while (end && (size_t)(end - data) < len &&
	       (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (end && (size_t)(end - data) < len) {
		cJSON_Delete(root);
		b4_error_invalid(err, 400, "invalid_json", NULL,
				 "Unexpected data after the JSON value.");
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		b4_error_invalid(err, 400, "body_not_object", NULL,
				 "The body must be a JSON object.");
		return NULL;
	}
	if (depth_of(root, max_depth) > max_depth) {
		cJSON_Delete(root);
		b4_error_invalid(err, 400, "too_deep", NULL, "The JSON body is nested too deeply.");
		return NULL;
	}
	return root;
}

/* Resolves a dotted name; *parent_missing tells a missing parent apart. */
static const cJSON *lookup(const cJSON *obj, const char *name)
{
	char part[96];
	const char *dot;

	while (obj && (dot = strchr(name, '.')) != NULL) {
		size_t n = (size_t)(dot - name);
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, name, n);
		part[n] = '\0';
		obj = cJSON_GetObjectItemCaseSensitive(obj, part);
		if (!cJSON_IsObject(obj))
			return NULL;
		name = dot + 1;
	}
	return obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

/* Common presence handling: returns 1 to go on, 0 absent-and-fine, -1 error. */
static int present(const cJSON *item, const char *name, enum b4_json_presence presence,
		   struct b4_error *err)
{
	if (item && !cJSON_IsNull(item))
		return 1;
	if (presence == B4_JSON_REQUIRED) {
		b4_error_invalid(err, 400, "missing_field", name, "The field '%s' is required.",
				 name);
		return -1;
	}
	return 0;
}

bool b4_json_text_is_valid(const char *s, size_t max_chars, size_t *chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t count = 0;

	while (*p) {
		size_t n;
		unsigned cp;
		if (*p < 0x80) {
			if (*p < 0x20 && *p != '\n' && *p != '\t')
				return false;
			if (*p == 0x7f)
				return false;
			n = 1;
			cp = *p;
		} else if ((*p & 0xE0) == 0xC0) {
			n = 2;
			cp = *p & 0x1F;
		} else if ((*p & 0xF0) == 0xE0) {
			n = 3;
			cp = *p & 0x0F;
		} else if ((*p & 0xF8) == 0xF0) {
			n = 4;
			cp = *p & 0x07;
		} else {
			return false;
		}
		for (size_t i = 1; i < n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		p += n;
		if (++count > max_chars)
			return false;
	}
	if (chars)
		*chars = count;
	return true;
}

int b4_json_get_str(const cJSON *obj, const char *name, enum b4_json_presence presence,
		    size_t min_chars, size_t max_chars, const char **out, struct b4_error *err)
{
	const cJSON *item = lookup(obj, name);
	size_t chars = 0;
	int p = present(item, name, presence, err);

	if (p <= 0)
		return p;
	if (!cJSON_IsString(item) || !item->valuestring) {
		b4_error_invalid(err, 400, "invalid_type", name, "The field '%s' must be a string.",
				 name);
		return -1;
	}
	if (!b4_json_text_is_valid(item->valuestring, SIZE_MAX, &chars)) {
		b4_error_invalid(err, 422, "invalid_text", name,
				 "The field '%s' has invalid characters.", name);
		return -1;
	}
	if (chars < min_chars || chars > max_chars) {
		b4_error_invalid(err, 422, "invalid_length", name,
				 "The field '%s' must have %zu to %zu characters.", name, min_chars,
				 max_chars);
		return -1;
	}
	*out = item->valuestring;
	return 0;
}

int b4_json_get_int(const cJSON *obj, const char *name, enum b4_json_presence presence, int64_t min,
		    int64_t max, int64_t *out, struct b4_error *err)
{
	const cJSON *item = lookup(obj, name);
	double v;
	int p = present(item, name, presence, err);

	if (p <= 0)
		return p;
	if (!cJSON_IsNumber(item)) {
		b4_error_invalid(err, 400, "invalid_type", name,
				 "The field '%s' must be an integer.", name);
		return -1;
	}
	v = item->valuedouble;
	if (!isfinite(v) || v != floor(v) || fabs(v) >= 9007199254740992.0) {
		b4_error_invalid(err, 400, "invalid_type", name,
				 "The field '%s' must be an integer.", name);
		return -1;
	}
	if ((int64_t)v < min || (int64_t)v > max) {
		b4_error_invalid(err, 422, "out_of_range", name,
				 "The field '%s' must be between %lld and %lld.", name,
				 (long long)min, (long long)max);
		return -1;
	}
	*out = (int64_t)v;
	return 0;
}

int b4_json_get_bool(const cJSON *obj, const char *name, enum b4_json_presence presence, bool *out,
		     struct b4_error *err)
{
	const cJSON *item = lookup(obj, name);
	int p = present(item, name, presence, err);

	if (p <= 0)
		return p;
	if (!cJSON_IsBool(item)) {
		b4_error_invalid(err, 400, "invalid_type", name,
				 "The field '%s' must be a boolean.", name);
		return -1;
	}
	*out = cJSON_IsTrue(item);
	return 0;
}

int b4_json_get_enum(const cJSON *obj, const char *name, enum b4_json_presence presence,
		     const char *const *values, int *out, struct b4_error *err)
{
	const cJSON *item = lookup(obj, name);
	int p = present(item, name, presence, err);
	char allowed[200];
	size_t used = 0;

	if (p <= 0)
		return p;
	if (!cJSON_IsString(item) || !item->valuestring) {
		b4_error_invalid(err, 400, "invalid_type", name, "The field '%s' must be a string.",
				 name);
		return -1;
	}
	allowed[0] = '\0';
	for (int i = 0; values[i]; i++) {
		if (strcmp(values[i], item->valuestring) == 0) {
			*out = i;
			return 0;
		}
		int n = snprintf(allowed + used, sizeof(allowed) - used, "%s%s", i ? ", " : "",
				 values[i]);
		if (n > 0 && (size_t)n < sizeof(allowed) - used)
			used += (size_t)n;
	}
	b4_error_invalid(err, 422, "invalid_value", name, "The field '%s' must be one of: %s.",
			 name, allowed);
	return -1;
}

int b4_json_get_object(const cJSON *obj, const char *name, enum b4_json_presence presence,
		       const cJSON **out, struct b4_error *err)
{
	const cJSON *item = lookup(obj, name);
	int p = present(item, name, presence, err);

	if (p <= 0)
		return p;
	if (!cJSON_IsObject(item)) {
		b4_error_invalid(err, 400, "invalid_type", name,
				 "The field '%s' must be an object.", name);
		return -1;
	}
	*out = item;
	return 0;
}

int b4_json_get_array(const cJSON *obj, const char *name, enum b4_json_presence presence,
		      size_t max_items, const cJSON **out, struct b4_error *err)
{
	const cJSON *item = lookup(obj, name);
	int p = present(item, name, presence, err);

	if (p <= 0)
		return p;
	if (!cJSON_IsArray(item)) {
		b4_error_invalid(err, 400, "invalid_type", name, "The field '%s' must be an array.",
				 name);
		return -1;
	}
	if ((size_t)cJSON_GetArraySize(item) > max_items) {
		b4_error_invalid(err, 422, "too_many_items", name,
				 "The field '%s' may have at most %zu items.", name, max_items);
		return -1;
	}
	*out = item;
	return 0;
}

bool b4_json_is_null(const cJSON *obj, const char *name)
{
	return cJSON_IsNull(lookup(obj, name));
}

int b4_json_reject_unknown(const cJSON *obj, const char *const *allowed, const char *prefix,
			   struct b4_error *err)
{
	char param[96];

	for (const cJSON *c = obj ? obj->child : NULL; c; c = c->next) {
		size_t i;
		for (i = 0; allowed[i]; i++)
			if (c->string && strcmp(c->string, allowed[i]) == 0)
				break;
		if (!allowed[i]) {
			snprintf(param, sizeof(param), "%s%.80s", prefix ? prefix : "",
				 c->string ? c->string : "");
			b4_error_invalid(err, 400, "unknown_field", param,
					 "The field '%s' is not allowed here.", param);
			return -1;
		}
	}
	return 0;
}
