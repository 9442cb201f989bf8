/* acquirer.c - client side of the acquirer protocol; see b4/acquirer.h. */
#include "b4/acquirer.h"
#include "b4/db.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int b4_acquirers_parse(struct b4_acquirers *set, const char *text)
{
	const char *p = text;

	set->count = 0;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		struct b4_acquirer *a;
		size_t name_len, url_len;

		if (!eq || eq == p || set->count == B4_ACQUIRERS_MAX)
			return -1;
		a = &set->list[set->count];
		name_len = (size_t)(eq - p);
		url_len = len - name_len - 1;
		if (name_len >= sizeof(a->name) || url_len >= sizeof(a->url))
			return -1;
		memcpy(a->name, p, name_len);
		a->name[name_len] = '\0';
		memcpy(a->url, eq + 1, url_len);
		a->url[url_len] = '\0';
		if (strncmp(a->url, "http://", 7) != 0 && strncmp(a->url, "https://", 8) != 0)
			return -1;
		set->count++;
		p = end ? end + 1 : p + len;
	}
	return set->count > 0 ? 0 : -1;
}

const struct b4_acquirer *b4_acquirers_find(const struct b4_acquirers *set, const char *name)
{
	for (size_t i = 0; i < set->count; i++)
		if (strcmp(set->list[i].name, name) == 0)
			return &set->list[i];
	return NULL;
}

/* The settings row, read at most once per B4_ACQUIRER_PRIORITY_TTL_MS in
 * a process (the order path asks for every order; the back-office changes
 * it a few times a year). */
#define PRIORITY_MAX 1024
static pthread_mutex_t priority_lock = PTHREAD_MUTEX_INITIALIZER;
static char priority_cached[PRIORITY_MAX];
static struct timespec priority_read_at;
static bool priority_known;

static int64_t ms_since(const struct timespec *then)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - then->tv_sec) * 1000 +
	       (now.tv_nsec - then->tv_nsec) / 1000000;
}

/* The row's value ("" when missing) into value.  0, or -1 (database). */
static int priority_value(struct b4_db *db, char value[PRIORITY_MAX])
{
	struct b4_db_result *res;
	bool fresh;

	pthread_mutex_lock(&priority_lock);
	fresh = priority_known && ms_since(&priority_read_at) < B4_ACQUIRER_PRIORITY_TTL_MS;
	if (fresh)
		memcpy(value, priority_cached, PRIORITY_MAX);
	pthread_mutex_unlock(&priority_lock);
	if (fresh)
		return 0;
	res = b4_db_query(db, "SELECT value FROM settings WHERE name = 'acquirer_priority'", "");
	if (!res)
		return -1;
	snprintf(value, PRIORITY_MAX, "%s", b4_db_rows(res) > 0 ? b4_db_str(res, 0, 0) : "");
	b4_db_result_free(res);
	pthread_mutex_lock(&priority_lock);
	memcpy(priority_cached, value, PRIORITY_MAX);
	clock_gettime(CLOCK_MONOTONIC, &priority_read_at);
	priority_known = true;
	pthread_mutex_unlock(&priority_lock);
	return 0;
}

int b4_acquirers_priority(struct b4_db *db, const struct b4_acquirers *set,
			  const struct b4_acquirer **out)
{
	char value[PRIORITY_MAX];
	cJSON *names = NULL, *list, *item;
	int n = 0;

	if (priority_value(db, value) < 0)
		return -1;
	names = cJSON_Parse(value);
	list = cJSON_IsArray(names) ? names : NULL;
	cJSON_ArrayForEach(item, list)
	{
		const struct b4_acquirer *a;
		bool seen = false;

		if (!cJSON_IsString(item) || n == B4_ACQUIRERS_MAX)
			continue;
		a = b4_acquirers_find(set, item->valuestring);
		for (int k = 0; k < n; k++)
			seen = seen || out[k] == a;
		if (a && !seen)
			out[n++] = a;
	}
	cJSON_Delete(names);
	if (n == 0)
		for (size_t i = 0; i < set->count; i++)
			out[n++] = &set->list[i];
	return n;
}

int b4_acquirer_call(const struct b4_acquirers *set, const struct b4_acquirer *acq,
		     const char *method, const char *path, const char *idem_key, const char *body,
		     struct b4_httpc_response *resp)
{
	char url[512], auth[320], idem[320];
	const char *headers[4];
	size_t nh = 0;
	struct b4_httpc_request req;

	snprintf(url, sizeof(url), "%s%s", acq->url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", set->secret ? set->secret : "");
	headers[nh++] = auth;
	headers[nh++] = "Content-Type: application/json";
	if (idem_key) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", idem_key);
		headers[nh++] = idem;
	}
	headers[nh] = NULL;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.connect_timeout_ms = 2000;
	req.timeout_ms = set->timeout > 0 ? (long)(set->timeout * 1000.0) : 10000;
	req.max_response_bytes = 256 * 1024;
	req.keep_alive = true; /* one connection per worker thread */
	return b4_httpc_do(&req, resp);
}

int b4_acquirer_find_charge(const struct b4_acquirers *set, const struct b4_acquirer *acq,
			    const char *reference, cJSON **charge)
{
	struct b4_httpc_response resp;
	char path[160];
	int found = -1;

	*charge = NULL;
	snprintf(path, sizeof(path), "/v1/charges?reference=%s", reference);
	if (b4_acquirer_call(set, acq, "GET", path, NULL, NULL, &resp) == 0 && resp.status == 200) {
		cJSON *list = cJSON_Parse(resp.body);
		cJSON *data = cJSON_GetObjectItemCaseSensitive(list, "data");
		if (cJSON_IsArray(data)) {
			found = cJSON_GetArraySize(data) > 0;
			if (found)
				*charge = cJSON_DetachItemFromArray(data, 0);
		}
		cJSON_Delete(list);
	}
	b4_httpc_response_cleanup(&resp);
	return found;
}
