/* awscreds.c - the AWS credentials chain; see b4/awscreds.h. */
#include "b4/awscreds.h"
#include "b4/httpc.h"
#include "b4/log.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ECS_DEFAULT_ENDPOINT  "http://169.254.170.2"
#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_TOKEN_TTL	      "21600"
#define FETCH_TIMEOUT_MS      3000
#define FETCH_CONNECT_MS      1000
/* after a failed fetch, wait this long before asking again, so a dead
 * endpoint is not hammered by every request */
#define RETRY_PAUSE_MS 1000

struct b4_awscreds {
	enum b4_awscreds_source source;
	char *url;	  /* container: the full URL; imds: the endpoint */
	char *auth_token; /* container: Authorization value, or NULL */
	char *auth_file;  /* container: file holding it, read per fetch */
	pthread_mutex_t lock;
	struct b4_awscreds_value cached; /* valid when cached.access_key_id[0] */
	int64_t last_failure_ms;	 /* monotonic; 0 = none since the last success */
	unsigned fetches;
};

static int64_t now_seconds(void)
{
	return (int64_t)time(NULL);
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void b4_awscreds_value_cleanse(struct b4_awscreds_value *value)
{
	OPENSSL_cleanse(value, sizeof(*value));
}

static const char *env_nonempty(const char *(*environ_get)(const char *), const char *name)
{
	const char *v = environ_get(name);
	return v && *v ? v : NULL;
}

/* FULL_URI over plain http may only reach this host or the link-local
 * addresses ECS and EKS serve credentials on, as the AWS SDKs require. */
static bool full_uri_is_allowed(const char *url)
{
	static const char *const http_hosts[] = {
	    "http://127.",	     "http://localhost:",     "http://localhost/",
	    "http://[::1]",	     "http://169.254.170.2:", "http://169.254.170.2/",
	    "http://169.254.170.23", "http://[fd00:ec2::23]"};

	if (strncasecmp(url, "https://", 8) == 0)
		return true;
	for (size_t i = 0; i < sizeof(http_hosts) / sizeof(http_hosts[0]); i++)
		if (strncasecmp(url, http_hosts[i], strlen(http_hosts[i])) == 0)
			return true;
	return strcasecmp(url, "http://169.254.170.2") == 0;
}

static struct b4_awscreds *creds_alloc(enum b4_awscreds_source source)
{
	struct b4_awscreds *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->source = source;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static int copy_field(char *dst, size_t cap, const char *src)
{
	size_t len = strlen(src);

	if (len >= cap)
		return -1;
	memcpy(dst, src, len + 1);
	return 0;
}

struct b4_awscreds *b4_awscreds_new_static(const char *key_id, const char *secret,
					   const char *token, char *err, size_t err_cap)
{
	struct b4_awscreds *c;

	if (!key_id || !*key_id || strchr(key_id, ':')) {
		snprintf(err, err_cap, "AWS_ACCESS_KEY_ID: not a key id");
		return NULL;
	}
	if (!secret || !*secret) {
		snprintf(err, err_cap, "AWS_SECRET_ACCESS_KEY: required with AWS_ACCESS_KEY_ID");
		return NULL;
	}
	c = creds_alloc(B4_AWSCREDS_ENV);
	if (!c) {
		snprintf(err, err_cap, "out of memory");
		return NULL;
	}
	if (copy_field(c->cached.access_key_id, sizeof(c->cached.access_key_id), key_id) < 0 ||
	    copy_field(c->cached.secret_access_key, sizeof(c->cached.secret_access_key), secret) <
		0 ||
	    copy_field(c->cached.session_token, sizeof(c->cached.session_token),
		       token ? token : "") < 0) {
		snprintf(err, err_cap, "AWS_ACCESS_KEY_ID: a value is too long");
		b4_awscreds_free(c);
		return NULL;
	}
	return c;
}

static struct b4_awscreds *from_container(const char *(*environ_get)(const char *),
					  const char *relative, const char *full, char *err,
					  size_t err_cap)
{
	const char *token = env_nonempty(environ_get, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *token_file =
	    env_nonempty(environ_get, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *ecs = env_nonempty(environ_get, "B4_AWS_ECS_ENDPOINT");
	struct b4_awscreds *c;
	int rc;

	if (!relative && !full_uri_is_allowed(full)) {
		snprintf(err, err_cap,
			 "AWS_CONTAINER_CREDENTIALS_FULL_URI: http only to loopback or "
			 "169.254.170.2/23; use https");
		return NULL;
	}
	if (relative && relative[0] != '/') {
		snprintf(err, err_cap, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: must start with /");
		return NULL;
	}
	c = creds_alloc(B4_AWSCREDS_CONTAINER);
	if (!c) {
		snprintf(err, err_cap, "out of memory");
		return NULL;
	}
	if (relative)
		rc = asprintf(&c->url, "%s%s", ecs ? ecs : ECS_DEFAULT_ENDPOINT, relative);
	else
		rc = asprintf(&c->url, "%s", full);
	if (rc < 0) {
		c->url = NULL;
		goto out_nomem;
	}
	/* the token goes only with FULL_URI, as the SDKs do */
	if (!relative && token && !(c->auth_token = strdup(token)))
		goto out_nomem;
	if (!relative && !token && token_file && !(c->auth_file = strdup(token_file)))
		goto out_nomem;
	return c;

out_nomem:
	snprintf(err, err_cap, "out of memory");
	b4_awscreds_free(c);
	return NULL;
}

struct b4_awscreds *b4_awscreds_from_env(const char *(*environ_get)(const char *), char *err,
					 size_t err_cap)
{
	const char *key_id = env_nonempty(environ_get, "AWS_ACCESS_KEY_ID");
	const char *relative = env_nonempty(environ_get, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env_nonempty(environ_get, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *imds = env_nonempty(environ_get, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *disabled = env_nonempty(environ_get, "AWS_EC2_METADATA_DISABLED");
	struct b4_awscreds *c;
	size_t len;

	if (key_id)
		return b4_awscreds_new_static(
		    key_id, env_nonempty(environ_get, "AWS_SECRET_ACCESS_KEY"),
		    env_nonempty(environ_get, "AWS_SESSION_TOKEN"), err, err_cap);
	if (relative || full)
		return from_container(environ_get, relative, full, err, err_cap);
	if (disabled && strcasecmp(disabled, "true") == 0) {
		snprintf(err, err_cap,
			 "AWS_ACCESS_KEY_ID: no credentials (environment, container endpoint; "
			 "instance metadata disabled)");
		return NULL;
	}
	c = creds_alloc(B4_AWSCREDS_IMDS);
	if (!c || !(c->url = strdup(imds ? imds : IMDS_DEFAULT_ENDPOINT))) {
		snprintf(err, err_cap, "out of memory");
		b4_awscreds_free(c);
		return NULL;
	}
	len = strlen(c->url);
	while (len > 0 && c->url[len - 1] == '/')
		c->url[--len] = '\0';
	return c;
}

void b4_awscreds_free(struct b4_awscreds *c)
{
	if (!c)
		return;
	b4_awscreds_value_cleanse(&c->cached);
	if (c->auth_token) {
		OPENSSL_cleanse(c->auth_token, strlen(c->auth_token));
		free(c->auth_token);
	}
	free(c->auth_file);
	free(c->url);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

enum b4_awscreds_source b4_awscreds_source(const struct b4_awscreds *c)
{
	return c->source;
}

const char *b4_awscreds_source_name(const struct b4_awscreds *c)
{
	static const char *const names[] = {"environment", "container", "imds"};
	return names[c->source];
}

/* "2026-12-02T03:04:05Z" (fractions and an explicit offset accepted) to
 * unix seconds; -1 when it is not a time. */
static int64_t parse_expiration(const char *text)
{
	struct tm tm;
	const char *rest;
	int64_t t;

	memset(&tm, 0, sizeof(tm));
	rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return -1;
	t = (int64_t)timegm(&tm);
	if (*rest == '.')
		while (*++rest >= '0' && *rest <= '9')
			;
	if (*rest == 'Z' || *rest == '\0')
		return t;
	if ((*rest == '+' || *rest == '-') && strlen(rest) == 6 && rest[3] == ':') {
		int64_t offset = ((rest[1] - '0') * 10 + (rest[2] - '0')) * 3600 +
				 ((rest[4] - '0') * 10 + (rest[5] - '0')) * 60;
		return *rest == '+' ? t - offset : t + offset;
	}
	return -1;
}

/* Reads the credentials document both endpoints answer with. */
static int parse_document(const char *body, struct b4_awscreds_value *out, char *why, size_t cap)
{
	cJSON *doc = cJSON_Parse(body);
	const char *key_id, *secret, *token, *expiration, *code;
	int rc = -1;

	if (!doc) {
		snprintf(why, cap, "not JSON");
		return -1;
	}
	code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "Code"));
	key_id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "AccessKeyId"));
	secret = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "SecretAccessKey"));
	token = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "Token"));
	expiration = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "Expiration"));
	memset(out, 0, sizeof(*out));
	if (code && strcmp(code, "Success") != 0) {
		snprintf(why, cap, "answered Code %.40s", code);
	} else if (!key_id || !*key_id || !secret || !*secret || strchr(key_id, ':')) {
		snprintf(why, cap, "no AccessKeyId/SecretAccessKey");
	} else if (copy_field(out->access_key_id, sizeof(out->access_key_id), key_id) < 0 ||
		   copy_field(out->secret_access_key, sizeof(out->secret_access_key), secret) < 0 ||
		   copy_field(out->session_token, sizeof(out->session_token), token ? token : "") <
		       0) {
		snprintf(why, cap, "a value is too long");
	} else if (expiration && (out->expires_at = parse_expiration(expiration)) < 0) {
		snprintf(why, cap, "Expiration is not a time");
	} else {
		if (!expiration)
			out->expires_at = 0;
		rc = 0;
	}
	if (rc < 0)
		b4_awscreds_value_cleanse(out);
	/* the document held secrets: wipe cJSON's copies before freeing */
	if (secret)
		OPENSSL_cleanse((char *)secret, strlen(secret));
	if (token)
		OPENSSL_cleanse((char *)token, strlen(token));
	cJSON_Delete(doc);
	return rc;
}

static void response_cleanse(struct b4_httpc_response *resp)
{
	if (resp->body)
		OPENSSL_cleanse(resp->body, resp->body_len);
	b4_httpc_response_cleanup(resp);
}

/* One GET or PUT to an endpoint; 0 with the body on a 200. */
static int endpoint_call(const char *method, const char *url, const char *const *headers,
			 struct b4_httpc_response *resp, char *why, size_t cap)
{
	struct b4_httpc_request req = {
	    .method = method,
	    .url = url,
	    .headers = headers,
	    .connect_timeout_ms = FETCH_CONNECT_MS,
	    .timeout_ms = FETCH_TIMEOUT_MS,
	    .retries = 1,
	    .max_response_bytes = 64 * 1024,
	};

	if (b4_httpc_do(&req, resp) < 0) {
		snprintf(why, cap, "%s", resp->error);
		return -1;
	}
	if (resp->status != 200 || !resp->body) {
		snprintf(why, cap, "status %ld", resp->status);
		return -1;
	}
	return 0;
}

static int fetch_container(struct b4_awscreds *c, struct b4_awscreds_value *out, char *why,
			   size_t cap)
{
	char auth[4200] = "";
	const char *headers[2] = {NULL, NULL};
	struct b4_httpc_response resp;
	int rc;

	if (c->auth_token || c->auth_file) {
		const char *token = c->auth_token;
		char file_token[4096];
		if (!token) {
			FILE *f = fopen(c->auth_file, "r");
			size_t n = f ? fread(file_token, 1, sizeof(file_token) - 1, f) : 0;
			if (f)
				fclose(f);
			if (n == 0) {
				snprintf(why, cap,
					 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE unreadable");
				return -1;
			}
			file_token[n] = '\0';
			file_token[strcspn(file_token, "\r\n")] = '\0';
			token = file_token;
		}
		snprintf(auth, sizeof(auth), "Authorization: %s", token);
		headers[0] = auth;
		OPENSSL_cleanse(file_token, sizeof(file_token));
	}
	rc = endpoint_call("GET", c->url, headers, &resp, why, cap);
	if (rc == 0)
		rc = parse_document(resp.body, out, why, cap);
	response_cleanse(&resp);
	OPENSSL_cleanse(auth, sizeof(auth));
	return rc;
}

static int fetch_imds(struct b4_awscreds *c, struct b4_awscreds_value *out, char *why, size_t cap)
{
	char url[1400], token_header[1200], role[256];
	const char *ttl_headers[] = {"X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL, NULL};
	const char *headers[] = {token_header, NULL};
	struct b4_httpc_response resp;
	int rc = -1;

	snprintf(url, sizeof(url), "%s/latest/api/token", c->url);
	if (endpoint_call("PUT", url, ttl_headers, &resp, why, cap) < 0)
		goto out_cleanup;
	if (resp.body_len == 0 || resp.body_len > 1000) {
		snprintf(why, cap, "IMDSv2 token missing");
		goto out_cleanup;
	}
	snprintf(token_header, sizeof(token_header), "X-aws-ec2-metadata-token: %s", resp.body);
	response_cleanse(&resp);

	snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/", c->url);
	if (endpoint_call("GET", url, headers, &resp, why, cap) < 0)
		goto out_cleanup;
	snprintf(role, sizeof(role), "%.*s", (int)strcspn(resp.body, "\r\n"), resp.body);
	response_cleanse(&resp);
	if (!role[0] || strpbrk(role, "/?#% ")) {
		snprintf(why, cap, "no instance role");
		goto out_cleanup;
	}

	snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s", c->url, role);
	if (endpoint_call("GET", url, headers, &resp, why, cap) < 0)
		goto out_cleanup;
	rc = parse_document(resp.body, out, why, cap);

out_cleanup:
	response_cleanse(&resp);
	OPENSSL_cleanse(token_header, sizeof(token_header));
	return rc;
}

static bool usable(const struct b4_awscreds_value *v, int64_t now, int64_t margin)
{
	return v->access_key_id[0] && (v->expires_at == 0 || v->expires_at - margin > now);
}

int b4_awscreds_get(struct b4_awscreds *c, struct b4_awscreds_value *out)
{
	struct b4_awscreds_value fresh;
	char why[256] = "";
	int64_t now = now_seconds();
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (c->source == B4_AWSCREDS_ENV || usable(&c->cached, now, B4_AWSCREDS_REFRESH_SECONDS))
		goto out_copy;
	if (c->last_failure_ms && monotonic_ms() - c->last_failure_ms < RETRY_PAUSE_MS) {
		rc = usable(&c->cached, now, 0) ? 0 : -1;
		goto out_copy;
	}
	c->fetches++;
	rc = c->source == B4_AWSCREDS_CONTAINER ? fetch_container(c, &fresh, why, sizeof(why))
						: fetch_imds(c, &fresh, why, sizeof(why));
	if (rc == 0 && !usable(&fresh, now, 0)) {
		snprintf(why, sizeof(why), "the credentials served have already expired");
		rc = -1;
	}
	if (rc == 0) {
		c->cached = fresh;
		c->last_failure_ms = 0;
		b4_log_info("aws credentials fetched", B4_LS("source", b4_awscreds_source_name(c)),
			    B4_LI("expires_in", fresh.expires_at ? fresh.expires_at - now : 0));
	} else {
		c->last_failure_ms = monotonic_ms();
		b4_log_warn("aws credentials fetch failed",
			    B4_LS("source", b4_awscreds_source_name(c)), B4_LS("reason", why));
		/* an older set still valid carries on until it expires */
		rc = usable(&c->cached, now, 0) ? 0 : -1;
	}
	b4_awscreds_value_cleanse(&fresh);
out_copy:
	if (rc == 0)
		*out = c->cached;
	pthread_mutex_unlock(&c->lock);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

unsigned b4_awscreds_fetches(struct b4_awscreds *c)
{
	unsigned n;

	pthread_mutex_lock(&c->lock);
	n = c->fetches;
	pthread_mutex_unlock(&c->lock);
	return n;
}
