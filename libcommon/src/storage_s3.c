/* storage_s3.c - the S3 backend of b4/storage.h: PUT/GET/HEAD object and
 * ListObjectsV2, signed by libcurl's SigV4 through b4_httpc_do. */
#include "b4/buf.h"
#include "b4/crypto.h"
#include "b4/httpc.h"
#include "b4/log.h"
#include "storage_internal.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX_PAGES 10000

static bool bucket_is_valid(const char *bucket)
{
	size_t len = strlen(bucket);

	if (len < 3 || len > 63)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = bucket[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static bool region_is_valid(const char *region)
{
	size_t len = strlen(region);

	if (len == 0 || len > 32)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = region[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

int b4_storage_s3_init(struct b4_storage *st, const struct b4_storage_config *cfg, char *err,
		       size_t err_cap)
{
	const char *region = cfg->region && *cfg->region ? cfg->region : "us-east-1";

	/* objects at rest are encrypted by S3 itself */
	st->sse = strdup(cfg->s3_sse && *cfg->s3_sse ? cfg->s3_sse : "AES256");
	if (!st->sse) {
		snprintf(err, err_cap, "out of memory");
		return -1;
	}
	char endpoint[1024], url[1200];
	const char *host;
	size_t len, scheme_len;

	if (!cfg->bucket || !bucket_is_valid(cfg->bucket)) {
		snprintf(err, err_cap, "B4_S3_BUCKET: required, 3-63 characters of [a-z0-9.-]");
		return -1;
	}
	if (!region_is_valid(region)) {
		snprintf(err, err_cap, "B4_S3_REGION: not a region name");
		return -1;
	}
	if (cfg->endpoint && *cfg->endpoint)
		snprintf(endpoint, sizeof(endpoint), "%s", cfg->endpoint);
	else
		snprintf(endpoint, sizeof(endpoint), "https://s3.%s.amazonaws.com", region);
	len = strlen(endpoint);
	while (len > 0 && endpoint[len - 1] == '/')
		endpoint[--len] = '\0';
	if (strncmp(endpoint, "http://", 7) == 0)
		scheme_len = 7;
	else if (strncmp(endpoint, "https://", 8) == 0)
		scheme_len = 8;
	else {
		snprintf(err, err_cap, "B4_S3_ENDPOINT: must start with http:// or https://");
		return -1;
	}
	host = endpoint + scheme_len;
	if (!*host || strpbrk(host, "/?#@ ")) {
		snprintf(err, err_cap, "B4_S3_ENDPOINT: must be scheme://host[:port]");
		return -1;
	}
	if (cfg->path_style)
		snprintf(url, sizeof(url), "%s/%s", endpoint, cfg->bucket);
	else
		snprintf(url, sizeof(url), "%.*s%s.%s", (int)scheme_len, endpoint, cfg->bucket,
			 host);

	/* fixed keys when given; otherwise the task role, then the instance's */
	if (cfg->access_key_id && *cfg->access_key_id)
		st->creds = b4_awscreds_new_static(cfg->access_key_id, cfg->secret_access_key,
						   cfg->session_token, err, err_cap);
	else
		st->creds = b4_awscreds_from_env(env_get, err, err_cap);
	if (!st->creds)
		return -1;
	st->bucket = strdup(cfg->bucket);
	st->base_url = strdup(url);
	st->sigv4 = NULL;
	if (asprintf(&st->sigv4, "aws:amz:%s:s3", region) < 0)
		st->sigv4 = NULL;
	if (!st->bucket || !st->base_url || !st->sigv4) {
		snprintf(err, err_cap, "out of memory");
		return -1;
	}
	return 0;
}

/* Percent-encodes text for a query value the way SigV4 canonicalises it
 * (unreserved characters kept, everything else %XX upper case). */
static void query_escape(struct b4_buf *out, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			b4_buf_append(out, p, 1);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
			b4_buf_append(out, esc, 3);
		}
	}
}

/* One signed request.  Returns 0 when S3 answered (resp->status says
 * how), -1 when it did not (logged). */
static int s3_request(struct b4_storage *st, const char *method, const char *url, const void *body,
		      size_t len, const char *content_type, size_t max_bytes,
		      struct b4_httpc_response *resp)
{
	unsigned char digest[B4_CRYPTO_SHA256_LEN];
	char sha_header[100], hex[65], token_header[4200], type_header[200], sse_header[80],
	    userpwd[260];
	const char *headers[5];
	size_t nheaders = 0;
	struct b4_awscreds_value creds;
	struct b4_httpc_request req = {
	    .method = method,
	    .url = url,
	    .body = body,
	    .body_len = len,
	    .connect_timeout_ms = 2000,
	    .timeout_ms = st->timeout_ms,
	    .retries = 2, /* PUT/GET/HEAD of one object are safe to repeat */
	    .max_response_bytes = max_bytes,
	    .aws_sigv4 = st->sigv4,
	    .aws_credentials = userpwd,
	};
	int rc;

	memset(resp, 0, sizeof(*resp));
	if (b4_awscreds_get(st->creds, &creds) < 0) {
		snprintf(resp->error, sizeof(resp->error), "no AWS credentials");
		b4_log_error("storage: s3 credentials unavailable", B4_LS("method", method),
			     B4_LS("source", b4_awscreds_source_name(st->creds)));
		return -1;
	}
	snprintf(userpwd, sizeof(userpwd), "%s:%s", creds.access_key_id, creds.secret_access_key);

	/* S3 wants the payload hash; curl includes the header in the signature */
	if (b4_crypto_sha256(body ? body : "", len, digest) < 0)
		return -1;
	b4_crypto_hex_encode(digest, sizeof(digest), hex, sizeof(hex));
	snprintf(sha_header, sizeof(sha_header), "x-amz-content-sha256: %s", hex);
	headers[nheaders++] = sha_header;
	if (creds.session_token[0]) {
		snprintf(token_header, sizeof(token_header), "x-amz-security-token: %s",
			 creds.session_token);
		headers[nheaders++] = token_header;
	}
	if (strcmp(method, "PUT") == 0 && st->sse) {
		snprintf(sse_header, sizeof(sse_header), "x-amz-server-side-encryption: %s",
			 st->sse);
		headers[nheaders++] = sse_header;
	}
	if (content_type) {
		snprintf(type_header, sizeof(type_header), "Content-Type: %s", content_type);
		headers[nheaders++] = type_header;
	}
	headers[nheaders] = NULL;
	req.headers = headers;

	rc = b4_httpc_do(&req, resp);
	OPENSSL_cleanse(token_header, sizeof(token_header));
	OPENSSL_cleanse(userpwd, sizeof(userpwd));
	b4_awscreds_value_cleanse(&creds);
	if (rc < 0) {
		b4_log_error("storage: s3 unreachable", B4_LS("method", method),
			     B4_LS("error", resp->error));
		return -1;
	}
	return 0;
}

/* Logs an unexpected S3 answer with its error code (never the request). */
static void s3_log_failure(const char *what, const char *key, const struct b4_httpc_response *resp)
{
	char code[64] = "";
	const char *start = resp->body ? strstr(resp->body, "<Code>") : NULL;

	if (start) {
		const char *end = strstr(start + 6, "</Code>");
		if (end && (size_t)(end - start - 6) < sizeof(code))
			snprintf(code, sizeof(code), "%.*s", (int)(end - start - 6), start + 6);
	}
	b4_log_error(what, B4_LS("key", key), B4_LI("status", resp->status), B4_LS("code", code));
}

static char *object_url(const struct b4_storage *st, const char *key)
{
	char *url = NULL;

	/* valid keys hold only unreserved characters and '/': no escaping */
	if (asprintf(&url, "%s/%s", st->base_url, key) < 0)
		return NULL;
	return url;
}

int b4_storage_s3_put(struct b4_storage *st, const char *key, const void *data, size_t len,
		      const char *content_type)
{
	struct b4_httpc_response resp;
	char *url = object_url(st, key);
	int rc = -1;

	if (!url)
		return -1;
	if (s3_request(st, "PUT", url, data ? data : "", len,
		       content_type ? content_type : "application/octet-stream", 0, &resp) == 0) {
		if (resp.status == 200)
			rc = 0;
		else
			s3_log_failure("storage: s3 put failed", key, &resp);
	}
	b4_httpc_response_cleanup(&resp);
	free(url);
	return rc;
}

int b4_storage_s3_get(struct b4_storage *st, const char *key, char **data, size_t *len)
{
	struct b4_httpc_response resp;
	char *url = object_url(st, key);
	int rc = -1;

	if (!url)
		return -1;
	if (s3_request(st, "GET", url, NULL, 0, NULL, B4_STORAGE_GET_MAX, &resp) == 0) {
		if (resp.status == 200 && !resp.truncated) {
			*data = resp.body;
			*len = resp.body_len;
			resp.body = NULL;
			if (!*data) { /* an empty object */
				*data = calloc(1, 1);
				if (!*data)
					goto out_cleanup;
			}
			rc = 1;
		} else if (resp.status == 404) {
			rc = 0;
		} else {
			s3_log_failure("storage: s3 get failed", key, &resp);
		}
	}
out_cleanup:
	b4_httpc_response_cleanup(&resp);
	free(url);
	return rc;
}

int b4_storage_s3_exists(struct b4_storage *st, const char *key)
{
	struct b4_httpc_response resp;
	char *url = object_url(st, key);
	int rc = -1;

	if (!url)
		return -1;
	if (s3_request(st, "HEAD", url, NULL, 0, NULL, 0, &resp) == 0) {
		if (resp.status == 200)
			rc = 1;
		else if (resp.status == 404)
			rc = 0;
		else
			s3_log_failure("storage: s3 head failed", key, &resp);
	}
	b4_httpc_response_cleanup(&resp);
	free(url);
	return rc;
}

/* Copies the XML text between open and close tags starting at from,
 * decoding the five predefined entities.  Returns the position after the
 * close tag, or NULL when the element is absent. */
static const char *xml_text(const char *from, const char *end, const char *open, const char *close,
			    struct b4_buf *out)
{
	const char *start = strstr(from, open), *stop;

	if (!start || start >= end)
		return NULL;
	start += strlen(open);
	stop = strstr(start, close);
	if (!stop || stop > end)
		return NULL;
	b4_buf_reset(out);
	for (const char *p = start; p < stop; p++) {
		static const struct {
			const char *entity;
			char c;
		} entities[] = {{"&amp;", '&'},
				{"&lt;", '<'},
				{"&gt;", '>'},
				{"&quot;", '"'},
				{"&apos;", '\''}};
		bool decoded = false;
		if (*p == '&') {
			for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
				size_t elen = strlen(entities[i].entity);
				if ((size_t)(stop - p) >= elen &&
				    strncmp(p, entities[i].entity, elen) == 0) {
					b4_buf_append(out, &entities[i].c, 1);
					p += elen - 1;
					decoded = true;
					break;
				}
			}
		}
		if (!decoded)
			b4_buf_append(out, p, 1);
	}
	return stop + strlen(close);
}

/* Adds the keys of one ListObjectsV2 page; sets *next to the continuation
 * token (malloc'd) when the listing goes on.  Returns 0 or -1. */
static int parse_list_page(const char *xml, size_t xml_len, struct b4_storage_keys *list,
			   char **next)
{
	const char *end = xml + xml_len, *p = xml;
	struct b4_buf text;
	int rc = 0;

	*next = NULL;
	if (!strstr(xml, "<ListBucketResult"))
		return -1;
	b4_buf_init(&text);
	for (;;) {
		const char *contents = strstr(p, "<Contents>"), *contents_end;
		if (!contents)
			break;
		contents_end = strstr(contents, "</Contents>");
		if (!contents_end) {
			rc = -1;
			break;
		}
		if (!xml_text(contents, contents_end, "<Key>", "</Key>", &text) || text.len == 0 ||
		    b4_storage_keys_add(list, text.data, text.len) < 0) {
			rc = -1;
			break;
		}
		p = contents_end + strlen("</Contents>");
	}
	if (rc == 0 && xml_text(xml, end, "<IsTruncated>", "</IsTruncated>", &text) &&
	    text.len == 4 && memcmp(text.data, "true", 4) == 0) {
		if (xml_text(xml, end, "<NextContinuationToken>", "</NextContinuationToken>",
			     &text) &&
		    text.len > 0)
			*next = strndup(text.data, text.len);
		else
			rc = -1;
	}
	b4_buf_cleanup(&text);
	return rc;
}

int b4_storage_s3_list(struct b4_storage *st, const char *prefix, char ***keys, size_t *count)
{
	struct b4_storage_keys list = {0};
	char *token = NULL;
	int rc = -1;

	for (int page = 0; page < LIST_MAX_PAGES; page++) {
		struct b4_httpc_response resp;
		struct b4_buf url;
		int parsed;

		/* query parameters in SigV4 canonical (sorted) order */
		b4_buf_init(&url);
		b4_buf_printf(&url, "%s/?", st->base_url);
		if (token) {
			b4_buf_puts(&url, "continuation-token=");
			query_escape(&url, token);
			b4_buf_puts(&url, "&");
		}
		b4_buf_puts(&url, "list-type=2&");
		if (st->list_page_size > 0)
			b4_buf_printf(&url, "max-keys=%d&", st->list_page_size);
		b4_buf_puts(&url, "prefix=");
		query_escape(&url, prefix);
		free(token);
		token = NULL;
		if (b4_buf_failed(&url) ||
		    s3_request(st, "GET", url.data, NULL, 0, NULL, 16 << 20, &resp) < 0) {
			b4_buf_cleanup(&url);
			goto out_free;
		}
		b4_buf_cleanup(&url);
		if (resp.status != 200 || resp.truncated) {
			s3_log_failure("storage: s3 list failed", prefix, &resp);
			b4_httpc_response_cleanup(&resp);
			goto out_free;
		}
		parsed = parse_list_page(resp.body ? resp.body : "", resp.body_len, &list, &token);
		b4_httpc_response_cleanup(&resp);
		if (parsed < 0) {
			b4_log_error("storage: s3 list answer not understood",
				     B4_LS("prefix", prefix));
			goto out_free;
		}
		if (!token) {
			rc = 0;
			break;
		}
	}
	if (rc == 0) {
		*keys = list.items;
		*count = list.count;
		return 0;
	}
out_free:
	free(token);
	b4_storage_list_free(list.items, list.count);
	return -1;
}
