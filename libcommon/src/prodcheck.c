/* prodcheck.c - production refuses development settings; see b4/prodcheck.h. */
#include "b4/prodcheck.h"
#include "b4/acquirer.h"
#include "b4/storage.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SECRET_MIN_LENGTH   16
#define SECRET_MIN_DISTINCT 6

/* The values of deploy/secrets.env.example; test_prodcheck keeps the list
 * in step with the file. */
static const char *const known_dev_values[] = {"change-me", "k1:", NULL};

/* Settings whose value this project does not generate (the database
 * password is whatever the database was provisioned with): only the
 * placeholder rules apply to them, not length and randomness. */
static const char *const provisioned_settings[] = {"B4_DB_PASSWORD", NULL};

/* Compared with the value lowercased and stripped of '-', '_', '.', ' '. */
static const char *const placeholder_words[] = {
    "changeme", "changeit",  "placeholder", "replaceme",  "example",   "dummy",
    "insecure", "notsecret", "fillme",	    "yoursecret", "devsecret", NULL};

bool b4_prodcheck_secret_is_weak(const char *value, bool generated, const char **why)
{
	char squashed[512];
	size_t len = strlen(value), n = 0;
	bool seen[256] = {false};
	int distinct = 0;

	for (size_t i = 0; known_dev_values[i]; i++)
		if (strcasecmp(value, known_dev_values[i]) == 0) {
			*why = "a value of deploy/secrets.env.example";
			return true;
		}
	for (size_t i = 0; i < len && n < sizeof(squashed) - 1; i++) {
		unsigned char c = (unsigned char)value[i];
		if (!seen[c]) {
			seen[c] = true;
			distinct++;
		}
		if (c != '-' && c != '_' && c != '.' && c != ' ')
			squashed[n++] = (char)tolower(c);
	}
	squashed[n] = '\0';
	for (size_t i = 0; placeholder_words[i]; i++)
		if (strstr(squashed, placeholder_words[i])) {
			*why = "a placeholder";
			return true;
		}
	if (!generated)
		return false;
	if (len < SECRET_MIN_LENGTH) {
		*why = "too short for production (at least 16 characters)";
		return true;
	}
	if (distinct < SECRET_MIN_DISTINCT) {
		*why = "not random (too few distinct characters)";
		return true;
	}
	return false;
}

static int report_weak(const char *prog, const char *setting, const char *why, FILE *err)
{
	fprintf(err, "%s: %s: %s; production needs a real secret (e.g. openssl rand -hex 32)\n",
		prog, setting, why);
	return -1;
}

/* B4_FIELD_KEYS is "kid:hex[,kid:hex]": each key is judged alone. */
static int check_keyring(const char *prog, const char *text, FILE *err)
{
	char *copy = strdup(text), *save = NULL, *item;
	const char *why;
	int rc = 0;

	if (!copy)
		return -1;
	for (item = strtok_r(copy, ",", &save); item && rc == 0;
	     item = strtok_r(NULL, ",", &save)) {
		const char *colon = strchr(item, ':');
		const char *key = colon ? colon + 1 : item;
		if (!*key) {
			rc = report_weak(prog, "B4_FIELD_KEYS", "a key is empty", err);
		} else if (b4_prodcheck_secret_is_weak(key, true, &why)) {
			rc = report_weak(prog, "B4_FIELD_KEYS", why, err);
		}
	}
	free(copy);
	return rc;
}

int b4_prodcheck_secrets(const char *prog, const struct b4_config_opt *opts, size_t nopts,
			 const char *(*environ_get)(const char *), FILE *err)
{
	static const char *const env_secrets[] = {"B4_BLIND_INDEX_KEY", "AWS_SECRET_ACCESS_KEY",
						  NULL};
	const char *value, *why;

	for (size_t i = 0; i < nopts; i++) {
		bool generated = true;
		if (!opts[i].secret || opts[i].type != B4_CFG_STR)
			continue;
		for (size_t j = 0; opts[i].env && provisioned_settings[j]; j++)
			if (strcmp(opts[i].env, provisioned_settings[j]) == 0)
				generated = false;
		value = *(const char **)opts[i].target;
		if (value && *value && b4_prodcheck_secret_is_weak(value, generated, &why))
			return report_weak(prog, opts[i].env ? opts[i].env : opts[i].flag, why,
					   err);
	}
	value = environ_get("B4_FIELD_KEYS");
	if (value && *value && check_keyring(prog, value, err) < 0)
		return -1;
	for (size_t i = 0; env_secrets[i]; i++) {
		value = environ_get(env_secrets[i]);
		if (value && *value && b4_prodcheck_secret_is_weak(value, true, &why))
			return report_weak(prog, env_secrets[i], why, err);
	}
	return 0;
}

static bool host_is_local(const char *host)
{
	unsigned char addr[16];
	char bare[256];
	size_t len = strlen(host);

	if (strcasecmp(host, "localhost") == 0 ||
	    (len > 10 && strcasecmp(host + len - 10, ".localhost") == 0))
		return true;
	/* curl gives IPv6 hosts in brackets */
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(bare)) {
		memcpy(bare, host + 1, len - 2);
		bare[len - 2] = '\0';
		host = bare;
	}
	if (inet_pton(AF_INET, host, addr) == 1)
		return addr[0] == 127 ||
		       (addr[0] == 0 && addr[1] == 0 && addr[2] == 0 && addr[3] == 0);
	if (inet_pton(AF_INET6, host, addr) == 1) {
		static const unsigned char loopback[16] = {[15] = 1};
		static const unsigned char any[16] = {0};
		return memcmp(addr, loopback, 16) == 0 || memcmp(addr, any, 16) == 0;
	}
	return false;
}

bool b4_prodcheck_url_is_sandbox(const char *url)
{
	CURLU *parsed = curl_url();
	char *host = NULL;
	bool sandbox = true; /* what cannot be read is not trusted */

	if (!parsed)
		return true;
	if (curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) {
		char lower[256];
		size_t i;
		for (i = 0; i < sizeof(lower) - 1 && host[i]; i++)
			lower[i] = (char)tolower((unsigned char)host[i]);
		lower[i] = '\0';
		sandbox = host_is_local(lower) || strstr(lower, "sandbox") != NULL;
	}
	curl_free(host);
	curl_url_cleanup(parsed);
	return sandbox;
}

int b4_prodcheck_acquirers(const char *prog, const char *setting, const struct b4_acquirers *set,
			   FILE *err)
{
	for (size_t i = 0; i < set->count; i++) {
		const struct b4_acquirer *a = &set->list[i];
		if (strcasecmp(a->name, "sandbox") == 0 || b4_prodcheck_url_is_sandbox(a->url)) {
			fprintf(
			    err,
			    "%s: %s: acquirer \"%s\" is the sandbox or this host (%s); production "
			    "needs a real acquirer\n",
			    prog, setting, a->name, a->url);
			return -1;
		}
	}
	return 0;
}

int b4_prodcheck_storage(const char *prog, const struct b4_storage *st, FILE *err)
{
	if (!st) {
		fprintf(err, "%s: B4_STORAGE: object storage is not configured\n", prog);
		return -1;
	}
	if (strcmp(b4_storage_backend_name(st), "s3") != 0) {
		fprintf(err,
			"%s: B4_STORAGE: local storage in production; set B4_STORAGE=s3 and "
			"B4_S3_BUCKET\n",
			prog);
		return -1;
	}
	return 0;
}
