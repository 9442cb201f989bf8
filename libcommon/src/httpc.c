/* httpc.c - outbound HTTP over libcurl; see b4/httpc.h. */
#include "b4/httpc.h"
#include "b4/buf.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The kept-alive handle of each thread: its connection cache keeps the
 * TCP connections to the hosts it talked to (keep_alive requests only);
 * freed when the thread ends. */
static pthread_key_t kept_key;
static pthread_once_t kept_once = PTHREAD_ONCE_INIT;

static void kept_free(void *handle)
{
	curl_easy_cleanup(handle);
}

static void kept_key_init(void)
{
	pthread_key_create(&kept_key, kept_free);
}

int b4_httpc_global_init(void)
{
	pthread_once(&kept_once, kept_key_init);
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

/* A handle for req: the thread's kept one (reset, its connections kept;
 * *kept true) or a new one the caller cleans up. */
static CURL *handle_for(const struct b4_httpc_request *req, bool *kept)
{
	CURL *c;

	*kept = false;
	if (!req->keep_alive || req->guard)
		return curl_easy_init();
	pthread_once(&kept_once, kept_key_init);
	c = pthread_getspecific(kept_key);
	if (c) {
		curl_easy_reset(c);
		*kept = true;
		return c;
	}
	c = curl_easy_init();
	if (c && pthread_setspecific(kept_key, c) == 0)
		*kept = true;
	return c;
}

struct sink {
	struct b4_buf buf;
	size_t max;
	bool truncated;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb, room;

	room = s->max > s->buf.len ? s->max - s->buf.len : 0;
	if (n > room) {
		s->truncated = true;
		b4_buf_append(&s->buf, data, room);
	} else {
		b4_buf_append(&s->buf, data, n);
	}
	/* keep reading so the connection stays usable; the excess is dropped */
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	/* a new status line (after 100 Continue) starts a new head */
	if (n > 5 && strncmp(data, "HTTP/", 5) == 0)
		b4_buf_reset(&s->buf);
	if (s->buf.len + n <= 64 * 1024)
		b4_buf_append(&s->buf, data, n);
	return n;
}

static int attempt(const struct b4_httpc_request *req, struct b4_httpc_response *resp)
{
	struct sink body = {.max = req->max_response_bytes ? req->max_response_bytes : 1 << 20};
	struct sink head = {.max = 64 * 1024};
	struct curl_slist *list = NULL;
	bool kept;
	CURL *c = handle_for(req, &kept);
	CURLcode rc;

	if (!c) {
		snprintf(resp->error, sizeof(resp->error), "out of memory");
		return -1;
	}
	b4_buf_init(&body.buf);
	b4_buf_init(&head.buf);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 req->connect_timeout_ms ? req->connect_timeout_ms : 2000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (req->body || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	list = curl_slist_append(list, "Expect:");
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		list = curl_slist_append(list, req->headers[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	if (req->guard)
		b4_netguard_curl_guard(c, req->guard);
	if (req->aws_sigv4) {
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, req->aws_sigv4);
		curl_easy_setopt(c, CURLOPT_USERPWD,
				 req->aws_credentials ? req->aws_credentials : "");
	}

	rc = curl_easy_perform(c);
	resp->status = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &resp->seconds);
	resp->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
	if (rc != CURLE_OK) {
		double pretransfer = 0;
		curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME, &pretransfer);
		/* nothing was sent: the peer cannot have acted on it */
		resp->not_sent = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
				 rc == CURLE_COULDNT_RESOLVE_PROXY || pretransfer <= 0;
	}
	if (rc != CURLE_OK)
		snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(rc));
	free(resp->body);
	free(resp->headers);
	resp->body = b4_buf_steal(&body.buf, &resp->body_len);
	resp->headers = b4_buf_steal(&head.buf, NULL);
	resp->truncated = body.truncated;
	curl_slist_free_all(list);
	if (!kept)
		curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

int b4_httpc_do(const struct b4_httpc_request *req, struct b4_httpc_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	for (int i = 0; i <= req->retries; i++) {
		resp->attempts = i + 1;
		resp->error[0] = '\0';
		if (attempt(req, resp) == 0)
			return 0;
		if (i < req->retries) {
			struct timespec pause = {0, (long)(50 << i) * 1000000L};
			nanosleep(&pause, NULL);
		}
	}
	return -1;
}

void b4_httpc_response_cleanup(struct b4_httpc_response *resp)
{
	free(resp->body);
	free(resp->headers);
	memset(resp, 0, sizeof(*resp));
}

bool b4_httpc_header(const struct b4_httpc_response *resp, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *line = resp->headers;

	while (line && *line) {
		const char *end = strstr(line, "\r\n");
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1;
			size_t vlen;
			while (*v == ' ' || *v == '\t')
				v++;
			vlen = len - (size_t)(v - line);
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= cap)
				vlen = cap - 1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return true;
		}
		line = end ? end + 2 : NULL;
	}
	return false;
}
