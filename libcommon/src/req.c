/* req.c - request context helpers; see b4/http.h. */
#include "b4/http.h"
#include "b4/crypto.h"
#include "b4/db.h"
#include "b4/log.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool b4_request_id_is_valid(const char *text)
{
	size_t n = 0;

	if (!text)
		return false;
	for (; text[n]; n++) {
		char c = text[n];
		if (n >= 128)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return n > 0;
}

void b4_request_id_generate(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16];

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		/* the CSPRNG never fails once seeded; fall back to something unique enough */
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char)rand();
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[i * 2] = hex[raw[i] >> 4];
		out[i * 2 + 1] = hex[raw[i] & 15];
	}
	out[32] = '\0';
}

const char *b4_req_header(const struct b4_req *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

const char *b4_req_param(struct b4_req *req, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < req->params.count; i++) {
		if (req->params.items[i].name_len == len &&
		    memcmp(req->params.items[i].name, name, len) == 0)
			return b4_arena_strndup(req->arena, req->params.items[i].value,
						req->params.items[i].value_len);
	}
	return NULL;
}

/* Decodes %XX and '+' into the arena; NULL on a bad escape or a NUL byte. */
static char *url_decode(struct b4_arena *arena, const char *s, size_t len)
{
	char *out = b4_arena_alloc(arena, len + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;
			if (len - i < 3)
				return NULL;
			hi = b4_crypto_hex_value(s[i + 1]);
			lo = b4_crypto_hex_value(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '+') {
			*o++ = ' ';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

const char *b4_req_query(struct b4_req *req, const char *name)
{
	const char *p = req->query;
	size_t nlen = strlen(name);

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t plen = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', plen);
		size_t klen = eq ? (size_t)(eq - p) : plen;

		if (klen == nlen && memcmp(p, name, nlen) == 0) {
			if (!eq)
				return "";
			return url_decode(req->arena, eq + 1, plen - klen - 1);
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

int b4_req_page(struct b4_req *req, int *limit, const char **starting_after)
{
	const char *l = b4_req_query(req, "limit");
	const char *after = b4_req_query(req, "starting_after");

	*limit = 20;
	if (l) {
		char *end;
		long v = strtol(l, &end, 10);
		if (!*l || *end || v < 1 || v > 100) {
			b4_req_errorf(req, 400, "invalid_request_error", "invalid_limit", "limit",
				      "limit must be an integer from 1 to 100.");
			return -1;
		}
		*limit = (int)v;
	}
	if (after && (!*after || strlen(after) > 64 || !b4_request_id_is_valid(after))) {
		b4_req_errorf(req, 400, "invalid_request_error", "invalid_cursor", "starting_after",
			      "starting_after must be an id from a previous page.");
		return -1;
	}
	*starting_after = after;
	return 0;
}

const cJSON *b4_req_json_body(struct b4_req *req)
{
	struct b4_error err;

	if (req->json)
		return req->json;
	req->json = b4_json_parse_object(req->body, req->body_len, 16, &err);
	if (!req->json)
		b4_req_send_error(req, &err);
	return req->json;
}

void b4_req_set_header(struct b4_req *req, const char *name, const char *value)
{
	if (req->nresp_headers == B4_REQ_MAX_RESP_HEADERS)
		return;
	req->resp_headers[req->nresp_headers].name = b4_arena_strdup(req->arena, name);
	req->resp_headers[req->nresp_headers].value = b4_arena_strdup(req->arena, value);
	if (req->resp_headers[req->nresp_headers].name &&
	    req->resp_headers[req->nresp_headers].value)
		req->nresp_headers++;
}

void b4_req_send(struct b4_req *req, int status, const char *content_type, const void *body,
		 size_t len)
{
	req->status = status;
	req->content_type = content_type;
	b4_buf_reset(&req->resp_body);
	b4_buf_append(&req->resp_body, body, len);
}

void b4_req_send_json(struct b4_req *req, int status, cJSON *root)
{
	char *text = root ? cJSON_PrintUnformatted(root) : NULL;

	cJSON_Delete(root);
	if (!text) {
		b4_req_errorf(req, 500, "api_error", "internal_error", NULL, "Out of memory.");
		return;
	}
	b4_req_send(req, status, "application/json", text, strlen(text));
	free(text);
}

/* Appends the `errors` list: every failure with a param, as
 * {param, code, message}. */
static void error_list_put(struct b4_buf *out, const struct b4_error *errs, size_t n)
{
	bool first = true;

	b4_buf_puts(out, ",\"errors\":[");
	for (size_t i = 0; i < n; i++) {
		if (!errs[i].param[0])
			continue;
		b4_buf_puts(out, first ? "{\"param\":" : ",{\"param\":");
		b4_buf_json_string(out, errs[i].param, strlen(errs[i].param));
		b4_buf_puts(out, ",\"code\":");
		b4_buf_json_string(out, errs[i].code, strlen(errs[i].code));
		b4_buf_puts(out, ",\"message\":");
		b4_buf_json_string(out, errs[i].message, strlen(errs[i].message));
		b4_buf_puts(out, "}");
		first = false;
	}
	b4_buf_puts(out, "]");
}

char *b4_error_body_list(const struct b4_error *errs, size_t n, const char *request_id, size_t *len)
{
	const struct b4_error *err = &errs[0];
	bool named = false;
	struct b4_buf out;

	for (size_t i = 0; i < n; i++)
		named = named || errs[i].param[0];
	b4_buf_init(&out);
	b4_buf_puts(&out, "{\"error\":{\"type\":");
	b4_buf_json_string(&out, err->type, strlen(err->type));
	b4_buf_puts(&out, ",\"code\":");
	b4_buf_json_string(&out, err->code, strlen(err->code));
	b4_buf_puts(&out, ",\"message\":");
	b4_buf_json_string(&out, err->message, strlen(err->message));
	if (err->param[0]) {
		b4_buf_puts(&out, ",\"param\":");
		b4_buf_json_string(&out, err->param, strlen(err->param));
	}
	if (named && strcmp(err->type, "invalid_request_error") == 0)
		error_list_put(&out, errs, n);
	b4_buf_puts(&out, "},\"request_id\":");
	b4_buf_json_string(&out, request_id ? request_id : "", request_id ? strlen(request_id) : 0);
	b4_buf_puts(&out, "}");
	if (b4_buf_failed(&out)) {
		b4_buf_cleanup(&out);
		return NULL;
	}
	return b4_buf_steal(&out, len);
}

char *b4_error_body(const struct b4_error *err, const char *request_id, size_t *len)
{
	return b4_error_body_list(err, 1, request_id, len);
}

static void send_error_list(struct b4_req *req, const struct b4_error *errs, size_t n)
{
	size_t len;
	char *body = b4_error_body_list(errs, n, req->request_id, &len);

	req->status = errs[0].status;
	req->content_type = "application/json";
	b4_buf_reset(&req->resp_body);
	if (body)
		b4_buf_append(&req->resp_body, body, len);
	free(body);
}

void b4_req_send_form(struct b4_req *req, struct b4_form *form)
{
	size_t n;
	const struct b4_error *errs = b4_form_errors(form, &n);

	if (!errs) {
		b4_req_errorf(req, 422, "invalid_request_error", "invalid_request", NULL,
			      "The request is not valid.");
		return;
	}
	send_error_list(req, errs, n);
}

void b4_req_send_error(struct b4_req *req, const struct b4_error *err)
{
	send_error_list(req, err, 1);
}

void b4_req_errorf(struct b4_req *req, int status, const char *type, const char *code,
		   const char *param, const char *fmt, ...)
{
	struct b4_error err;
	va_list ap;

	err.status = status;
	err.type = type;
	err.code = code;
	snprintf(err.param, sizeof(err.param), "%s", param ? param : "");
	va_start(ap, fmt);
	vsnprintf(err.message, sizeof(err.message), fmt, ap);
	va_end(ap);
	b4_req_send_error(req, &err);
}

void b4_req_db_error(struct b4_req *req)
{
	b4_log_error("database error", B4_LI("errno", req->db ? b4_db_errno(req->db) : 0),
		     B4_LS("error", req->db ? b4_db_error(req->db) : "no connection"));
	b4_req_set_header(req, "Retry-After", "1");
	b4_req_errorf(req, 503, "api_error", "database_unavailable", NULL,
		      "The service is temporarily unavailable; retry shortly.");
}

void b4_req_not_found(struct b4_req *req, const char *what)
{
	b4_req_errorf(req, 404, "not_found", "resource_not_found", NULL, "No such %s.", what);
}
