/* b4-gateway configuration: a JSON file (cJSON) or built-in defaults. */
#include "gateway.h"
#include "b4/clientaddr.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <unistd.h>

#include "path.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void pool_defaults(struct gw_pool_cfg *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->balance = GW_BALANCE_ROUND_ROBIN;
	p->max_connections = 1024;
	p->max_idle = 128;
	snprintf(p->health_path, sizeof(p->health_path), "/healthz");
	p->health_interval_ms = 3000;
	p->health_timeout_ms = 1000;
	p->rise = 2;
	p->fall = 3;
	p->eject_failures = 3;
	p->eject_base_ms = 1000;
	p->eject_max_ms = 30000;
}

static void config_defaults(struct gw_config *c)
{
	memset(c, 0, sizeof(*c));
	atomic_init(&c->refs, 1);
	c->nlisteners = 1;
	snprintf(c->listeners[0].host, sizeof(c->listeners[0].host), "0.0.0.0");
	c->listeners[0].port = 8080;
	snprintf(c->admin_host, sizeof(c->admin_host), "0.0.0.0");
	c->admin_port = 9080;
	c->max_header_bytes = 16384;
	/* the services' own default (B4_MAX_BODY_BYTES): a body they would
	 * refuse is refused here, in the API's error shape, since libevent
	 * 2.1 lets a service answer an over-size body only with its HTML 413 */
	c->max_body_bytes = 1024 * 1024;
	c->request_buffer_bytes = 64 * 1024;
	c->max_connections = 10000;
	c->connect_timeout_ms = 1000;
	c->first_byte_timeout_ms = 30000;
	c->total_timeout_ms = 60000;
	c->client_header_timeout_ms = 10000;
	c->client_body_timeout_ms = 30000;
	c->keepalive_timeout_ms = 60000;
	c->upstream_idle_timeout_ms = 30000;
	c->max_attempts = 3;
	c->retry_budget_ratio = 0.2;
	c->retry_budget_min = 10;
	c->access_log = true;
	c->threads = 2;
	c->drain_seconds = 10;
	c->cors.max_age_seconds = 600;
	c->dns.min_ttl_ms = 1000;
	c->dns.max_ttl_ms = 300000;
	c->dns.timeout_ms = 2000;
	c->ninternal = 3;
	snprintf(c->internal_paths[0], sizeof(c->internal_paths[0]), "/healthz");
	snprintf(c->internal_paths[1], sizeof(c->internal_paths[1]), "/readyz");
	snprintf(c->internal_paths[2], sizeof(c->internal_paths[2]), "/metrics");
}

/* An address literal (or "localhost") is used as it is; any other name is
 * a dynamic instance that dns.c resolves in the background, so loading a
 * configuration never waits on DNS. */
static int resolve(struct gw_instance_cfg *in, char *err, size_t errlen, const char *what)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&in->addr;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&in->addr;
	const char *host = strcmp(in->host, "localhost") == 0 ? "127.0.0.1" : in->host;

	memset(&in->addr, 0, sizeof(in->addr));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(in->port);
		in->addrlen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(in->port);
		in->addrlen = sizeof(*s6);
	} else if (host[0] && strlen(host) < 254 && !strpbrk(host, " /\\%@")) {
		in->dynamic = true;
		in->addrlen = 0;
	} else {
		set_err(err, errlen, "%s: \"%s\" is neither an address nor a host name", what,
			in->host);
		return -1;
	}
	return 0;
}

/* "host:port" or "[v6]:port" */
static int parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -1;
		if ((size_t)(close - s - 1) >= hostlen || close == s + 1)
			return -1;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon == s || (size_t)(colon - s) >= hostlen)
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p < 1 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

static int add_instance(struct gw_pool_cfg *pool, const char *spec, int weight, char *err,
			size_t errlen, const char *what)
{
	struct gw_instance_cfg *in;
	int port;

	if (pool->ninstances >= GW_MAX_INSTANCES) {
		set_err(err, errlen, "%s: more than %d instances", what, GW_MAX_INSTANCES);
		return -1;
	}
	in = &pool->instances[pool->ninstances];
	memset(in, 0, sizeof(*in));
	if (parse_hostport(spec, in->host, sizeof(in->host), &port) != 0) {
		set_err(err, errlen, "%s: expected host:port, got \"%s\"", what, spec);
		return -1;
	}
	in->port = (uint16_t)port;
	in->weight = weight;
	snprintf(in->label, sizeof(in->label), "%s", spec);
	if (resolve(in, err, errlen, what) != 0)
		return -1;
	pool->ninstances++;
	return 0;
}

int gw_pool_set_instances(struct gw_pool_cfg *pool, const char *spec, char *err, size_t errlen)
{
	char buf[1024], *save = NULL, *tok;

	if (strlen(spec) >= sizeof(buf)) {
		set_err(err, errlen, "expected host:port[,host:port], too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	pool->ninstances = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (add_instance(pool, tok, 1, err, errlen, "instance") != 0)
			return -1;
	}
	if (pool->ninstances == 0) {
		set_err(err, errlen, "expected host:port[,host:port], got \"%s\"", spec);
		return -1;
	}
	return 0;
}

/* One parser for CIDRs everywhere: libcommon's (b4/clientaddr.h). */
static int parse_cidr(const char *s, struct gw_cidr *out)
{
	struct b4_cidr cidr;

	if (b4_cidr_parse(s, &cidr) != 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->family = cidr.family;
	memcpy(out->addr, cidr.addr, sizeof(out->addr));
	out->bits = cidr.bits;
	return 0;
}

/* Copies the trusted networks into the list libcommon's client address
 * walk reads (GW_MAX_TRUSTED <= B4_TRUSTED_PROXIES_MAX). */
static void trusted_list_fill(struct gw_config *c)
{
	memset(&c->trusted_list, 0, sizeof(c->trusted_list));
	for (size_t i = 0; i < c->ntrusted && i < B4_TRUSTED_PROXIES_MAX; i++) {
		c->trusted_list.nets[i].family = c->trusted[i].family;
		memcpy(c->trusted_list.nets[i].addr, c->trusted[i].addr,
		       sizeof(c->trusted_list.nets[i].addr));
		c->trusted_list.nets[i].bits = c->trusted[i].bits;
		c->trusted_list.count = i + 1;
	}
}

/* ---- JSON helpers: every key is checked, unknown keys are refused ---- */

struct jctx {
	char *err;
	size_t errlen;
};

static int check_keys(struct jctx *j, const cJSON *obj, const char *where,
		      const char *const *allowed)
{
	const cJSON *it;
	if (!cJSON_IsObject(obj)) {
		set_err(j->err, j->errlen, "%s: expected an object", where);
		return -1;
	}
	cJSON_ArrayForEach(it, obj)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(it->string, allowed[i]) == 0)
				ok = true;
		if (!ok) {
			set_err(j->err, j->errlen, "%s.%s: unknown setting", where, it->string);
			return -1;
		}
	}
	return 0;
}

static int get_int(struct jctx *j, const cJSON *obj, const char *key, const char *where, long min,
		   long max, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble ||
	    v->valuedouble < (double)min || v->valuedouble > (double)max) {
		set_err(j->err, j->errlen, "%s.%s: expected an integer %ld..%ld", where, key, min,
			max);
		return -1;
	}
	*out = (int)v->valuedouble;
	return 0;
}

static int get_size(struct jctx *j, const cJSON *obj, const char *key, const char *where,
		    double min, double max, size_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
	    v->valuedouble < min || v->valuedouble > max) {
		set_err(j->err, j->errlen, "%s.%s: expected an integer %.0f..%.0f", where, key, min,
			max);
		return -1;
	}
	*out = (size_t)v->valuedouble;
	return 0;
}

static int get_double(struct jctx *j, const cJSON *obj, const char *key, const char *where,
		      double min, double max, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max) {
		set_err(j->err, j->errlen, "%s.%s: expected a number %g..%g", where, key, min, max);
		return -1;
	}
	*out = v->valuedouble;
	return 0;
}

static int get_bool(struct jctx *j, const cJSON *obj, const char *key, const char *where, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return 0;
	if (!cJSON_IsBool(v)) {
		set_err(j->err, j->errlen, "%s.%s: expected true or false", where, key);
		return -1;
	}
	*out = cJSON_IsTrue(v);
	return 0;
}

static int get_str(struct jctx *j, const cJSON *obj, const char *key, const char *where, char *out,
		   size_t outlen, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v) {
		if (required) {
			set_err(j->err, j->errlen, "%s.%s: required", where, key);
			return -1;
		}
		return 0;
	}
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= outlen) {
		set_err(j->err, j->errlen, "%s.%s: expected a string of at most %zu characters",
			where, key, outlen - 1);
		return -1;
	}
	snprintf(out, outlen, "%s", v->valuestring);
	return 0;
}

static int parse_listener(struct jctx *j, const cJSON *o, const char *where,
			  struct gw_listener_cfg *l)
{
	static const char *const keys[] = {"host", "port", "tls", NULL};
	memset(l, 0, sizeof(*l));
	snprintf(l->host, sizeof(l->host), "0.0.0.0");
	if (check_keys(j, o, where, keys) ||
	    get_str(j, o, "host", where, l->host, sizeof(l->host), false) ||
	    get_int(j, o, "port", where, 0, 65535, &l->port) ||
	    get_bool(j, o, "tls", where, &l->tls))
		return -1;
	return 0;
}

static int parse_pool(struct jctx *j, const cJSON *o, struct gw_pool_cfg *p)
{
	static const char *const keys[] = {
	    "instances", "balance", "max_connections", "max_idle", "health_check", "passive", NULL};
	static const char *const hkeys[] = {"path", "interval_ms", "timeout_ms",
					    "rise", "fall",	   NULL};
	static const char *const pkeys[] = {"failures", "base_ejection_ms", "max_ejection_ms",
					    NULL};
	char where[128], balance[32] = "";
	const cJSON *inst, *it, *h, *pv;

	snprintf(where, sizeof(where), "upstreams.%s", p->name);
	if (check_keys(j, o, where, keys))
		return -1;
	inst = cJSON_GetObjectItemCaseSensitive(o, "instances");
	if (!cJSON_IsArray(inst) || cJSON_GetArraySize(inst) == 0) {
		set_err(j->err, j->errlen, "%s.instances: expected a non-empty array", where);
		return -1;
	}
	cJSON_ArrayForEach(it, inst)
	{
		char w2[160];
		snprintf(w2, sizeof(w2), "%s.instances", where);
		if (cJSON_IsString(it)) {
			if (add_instance(p, it->valuestring, 1, j->err, j->errlen, w2))
				return -1;
		} else if (cJSON_IsObject(it)) {
			static const char *const ikeys[] = {"address", "weight", NULL};
			char addr[160];
			int weight = 1;
			if (check_keys(j, it, w2, ikeys) ||
			    get_str(j, it, "address", w2, addr, sizeof(addr), true) ||
			    get_int(j, it, "weight", w2, 1, 100, &weight) ||
			    add_instance(p, addr, weight, j->err, j->errlen, w2))
				return -1;
		} else {
			set_err(j->err, j->errlen, "%s: expected \"host:port\" or an object", w2);
			return -1;
		}
	}
	if (get_str(j, o, "balance", where, balance, sizeof(balance), false))
		return -1;
	if (balance[0]) {
		if (strcmp(balance, "round_robin") == 0)
			p->balance = GW_BALANCE_ROUND_ROBIN;
		else if (strcmp(balance, "least_outstanding") == 0)
			p->balance = GW_BALANCE_LEAST_OUTSTANDING;
		else {
			set_err(j->err, j->errlen,
				"%s.balance: expected \"round_robin\" or \"least_outstanding\"",
				where);
			return -1;
		}
	}
	if (get_int(j, o, "max_connections", where, 1, 100000, &p->max_connections) ||
	    get_int(j, o, "max_idle", where, 0, 100000, &p->max_idle))
		return -1;
	h = cJSON_GetObjectItemCaseSensitive(o, "health_check");
	if (h) {
		char w2[160];
		snprintf(w2, sizeof(w2), "%s.health_check", where);
		if (check_keys(j, h, w2, hkeys) ||
		    get_str(j, h, "path", w2, p->health_path, sizeof(p->health_path), false) ||
		    get_int(j, h, "interval_ms", w2, 0, 3600000, &p->health_interval_ms) ||
		    get_int(j, h, "timeout_ms", w2, 1, 600000, &p->health_timeout_ms) ||
		    get_int(j, h, "rise", w2, 1, 100, &p->rise) ||
		    get_int(j, h, "fall", w2, 1, 100, &p->fall))
			return -1;
		if (p->health_path[0] != '/') {
			set_err(j->err, j->errlen, "%s.path: must start with /", w2);
			return -1;
		}
	}
	pv = cJSON_GetObjectItemCaseSensitive(o, "passive");
	if (pv) {
		char w2[160];
		snprintf(w2, sizeof(w2), "%s.passive", where);
		if (check_keys(j, pv, w2, pkeys) ||
		    get_int(j, pv, "failures", w2, 0, 1000, &p->eject_failures) ||
		    get_int(j, pv, "base_ejection_ms", w2, 1, 3600000, &p->eject_base_ms) ||
		    get_int(j, pv, "max_ejection_ms", w2, 1, 3600000, &p->eject_max_ms))
			return -1;
	}
	return 0;
}

/* ---- static routes, CORS, internal paths ---- */

/* A path under a static root as written in the file ("index.html",
 * "pay/[code].html"): relative, no dot segment, no hidden part. */
static int check_under_root(struct jctx *j, const char *where, const char *file)
{
	char probe[512], norm[512];
	snprintf(probe, sizeof(probe), "/%s", file);
	if (!file[0] || file[0] == '/' ||
	    gw_path_normalize(probe, strlen(probe), GW_PATH_STRICT, norm, sizeof(norm)) !=
		GW_PATH_OK ||
	    gw_path_has_hidden_segment(norm) || strcmp(norm, probe) != 0) {
		set_err(j->err, j->errlen,
			"%s: expected a file path relative to the root, without . or .. parts",
			where);
		return -1;
	}
	return 0;
}

static int get_str_list(struct jctx *j, const cJSON *o, const char *key, const char *where,
			char *out, size_t each, size_t max, size_t *n)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, key), *it;
	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr) || (size_t)cJSON_GetArraySize(arr) > max) {
		set_err(j->err, j->errlen, "%s.%s: expected an array of at most %zu strings", where,
			key, max);
		return -1;
	}
	*n = 0;
	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) >= each) {
			set_err(j->err, j->errlen,
				"%s.%s[%zu]: expected a string of 1..%zu characters", where, key,
				*n, each - 1);
			return -1;
		}
		snprintf(out + *n * each, each, "%s", it->valuestring);
		(*n)++;
	}
	return 0;
}

static int parse_static(struct jctx *j, const cJSON *o, const char *route_where,
			struct gw_static_cfg *st)
{
	static const char *const keys[] = {"root",	     "index",	  "fallback",
					   "fallbacks",	     "immutable", "precompressed",
					   "html_extension", NULL};
	static const char *const fkeys[] = {"pattern", "file", NULL};
	char where[64];
	const cJSON *fbs, *it;

	snprintf(where, sizeof(where), "%s.static", route_where);
	memset(st, 0, sizeof(*st));
	snprintf(st->index, sizeof(st->index), "index.html");
	st->nimmutable = 2;
	snprintf(st->immutable[0], sizeof(st->immutable[0]), "/_next/static/");
	snprintf(st->immutable[1], sizeof(st->immutable[1]), "/assets/");
	st->precompressed = true;
	st->html_extension = true;
	if (check_keys(j, o, where, keys) ||
	    get_str(j, o, "root", where, st->root, sizeof(st->root), true) ||
	    get_str(j, o, "index", where, st->index, sizeof(st->index), false) ||
	    get_str(j, o, "fallback", where, st->fallback, sizeof(st->fallback), false) ||
	    get_str_list(j, o, "immutable", where, &st->immutable[0][0], sizeof(st->immutable[0]),
			 GW_STATIC_MAX_LIST, &st->nimmutable) ||
	    get_bool(j, o, "precompressed", where, &st->precompressed) ||
	    get_bool(j, o, "html_extension", where, &st->html_extension))
		return -1;
	if (!st->root[0] || strcmp(st->root, "/") == 0) {
		set_err(j->err, j->errlen, "%s.root: expected a folder other than /", where);
		return -1;
	}
	if (strchr(st->index, '/') || check_under_root(j, where, st->index) ||
	    (st->fallback[0] && check_under_root(j, where, st->fallback)))
		return -1;
	for (size_t i = 0; i < st->nimmutable; i++)
		if (st->immutable[i][0] != '/') {
			set_err(j->err, j->errlen, "%s.immutable[%zu]: must start with /", where,
				i);
			return -1;
		}
	fbs = cJSON_GetObjectItemCaseSensitive(o, "fallbacks");
	if (fbs && (!cJSON_IsArray(fbs) || cJSON_GetArraySize(fbs) > GW_STATIC_MAX_LIST)) {
		set_err(j->err, j->errlen, "%s.fallbacks: expected an array of at most %d objects",
			where, GW_STATIC_MAX_LIST);
		return -1;
	}
	cJSON_ArrayForEach(it, fbs)
	{
		struct gw_static_fallback *f = &st->fallbacks[st->nfallbacks];
		char w2[96];
		snprintf(w2, sizeof(w2), "%s.fallbacks[%zu]", where, st->nfallbacks);
		if (check_keys(j, it, w2, fkeys) ||
		    get_str(j, it, "pattern", w2, f->pattern, sizeof(f->pattern), true) ||
		    get_str(j, it, "file", w2, f->file, sizeof(f->file), true) ||
		    check_under_root(j, w2, f->file))
			return -1;
		if (f->pattern[0] != '/') {
			set_err(j->err, j->errlen, "%s.pattern: must start with /", w2);
			return -1;
		}
		st->nfallbacks++;
	}
	return 0;
}

static int parse_cors(struct jctx *j, const cJSON *o, struct gw_cors_cfg *cors)
{
	static const char *const keys[] = {"allowed_origins", "max_age_seconds", NULL};
	return check_keys(j, o, "cors", keys) ||
		       get_str_list(j, o, "allowed_origins", "cors", &cors->origins[0][0],
				    sizeof(cors->origins[0]), GW_MAX_ORIGINS, &cors->norigins) ||
		       get_int(j, o, "max_age_seconds", "cors", 0, 86400, &cors->max_age_seconds)
		   ? -1
		   : 0;
}

static int parse_dns(struct jctx *j, const cJSON *o, struct gw_dns_cfg *dns)
{
	static const char *const keys[] = {"resolver", "min_ttl_ms", "max_ttl_ms", "timeout_ms",
					   NULL};
	if (check_keys(j, o, "dns", keys) ||
	    get_str(j, o, "resolver", "dns", dns->resolver, sizeof(dns->resolver), false) ||
	    get_int(j, o, "min_ttl_ms", "dns", 100, 86400000, &dns->min_ttl_ms) ||
	    get_int(j, o, "max_ttl_ms", "dns", 100, 86400000, &dns->max_ttl_ms) ||
	    get_int(j, o, "timeout_ms", "dns", 100, 60000, &dns->timeout_ms))
		return -1;
	if (dns->max_ttl_ms < dns->min_ttl_ms) {
		set_err(j->err, j->errlen, "dns.max_ttl_ms: must not be below dns.min_ttl_ms");
		return -1;
	}
	return 0;
}

/* B4_CORS_ORIGINS (comma-separated) replaces the file's list. */
static int cors_from_env(struct gw_cors_cfg *cors, char *err, size_t errlen)
{
	const char *env = getenv("B4_CORS_ORIGINS");
	char buf[GW_MAX_ORIGINS * 256], *save = NULL, *tok;

	if (!env)
		return 0;
	if (strlen(env) >= sizeof(buf)) {
		set_err(err, errlen, "B4_CORS_ORIGINS: too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", env);
	cors->norigins = 0;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (cors->norigins >= GW_MAX_ORIGINS || strlen(tok) >= sizeof(cors->origins[0])) {
			set_err(err, errlen,
				"B4_CORS_ORIGINS: at most %d origins of 255 characters",
				GW_MAX_ORIGINS);
			return -1;
		}
		snprintf(cors->origins[cors->norigins++], sizeof(cors->origins[0]), "%s", tok);
	}
	return 0;
}

/* With a file, B4_API_UPSTREAM, B4_BACKOFFICE_UPSTREAM and
 * B4_CHECKOUT_UPSTREAM (when set) replace the instances of the file's pool
 * of that name: one file serves wherever the services listen (make run
 * moves its ports with B4_DEV_PORT_BASE). */
static int upstreams_from_env(struct gw_config *c, char *err, size_t errlen)
{
	static const char *const pools[][2] = {{"api", "B4_API_UPSTREAM"},
					       {"backoffice", "B4_BACKOFFICE_UPSTREAM"},
					       {"checkout", "B4_CHECKOUT_UPSTREAM"}};
	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
		const char *spec = getenv(pools[i][1]);
		char e2[256];
		if (!spec || !*spec)
			continue;
		for (size_t p = 0; p < c->npools; p++)
			if (strcmp(c->pools[p].name, pools[i][0]) == 0 &&
			    gw_pool_set_instances(&c->pools[p], spec, e2, sizeof(e2)) != 0) {
				set_err(err, errlen, "%s: %s", pools[i][1], e2);
				return -1;
			}
	}
	return 0;
}

/* Checks the origins and makes relative static roots absolute: against
 * B4_GATEWAY_STATIC_BASE, else the file's static_base, else the working
 * directory. */
static int finish_web_settings(struct gw_config *c, char *err, size_t errlen)
{
	const char *env = getenv("B4_GATEWAY_STATIC_BASE");
	char base[1024];

	for (size_t i = 0; i < c->cors.norigins; i++) {
		const char *o = c->cors.origins[i];
		if (strcmp(o, "*") != 0 && strncmp(o, "http://", 7) != 0 &&
		    strncmp(o, "https://", 8) != 0) {
			set_err(
			    err, errlen,
			    "cors.allowed_origins[%zu]: expected \"*\" or http(s)://host[:port], "
			    "got \"%s\"",
			    i, o);
			return -1;
		}
	}
	if (env && *env)
		snprintf(c->static_base, sizeof(c->static_base), "%s", env);
	if (c->static_base[0])
		snprintf(base, sizeof(base), "%s", c->static_base);
	else if (!getcwd(base, sizeof(base)))
		snprintf(base, sizeof(base), ".");
	for (size_t i = 0; i < c->nstatics; i++) {
		struct gw_static_cfg *st = &c->statics[i];
		char joined[sizeof(st->root)];
		size_t n;
		if (st->root[0] == '/')
			continue;
		if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", base, st->root) >=
		    sizeof(joined)) {
			set_err(err, errlen, "static root \"%s\": path too long", st->root);
			return -1;
		}
		memcpy(st->root, joined, sizeof(joined));
		n = strlen(st->root);
		while (n > 1 && st->root[n - 1] == '/')
			st->root[--n] = '\0';
	}
	return 0;
}

/* The "static" object of a route, if any: a route is either proxied
 * (upstream) or static, never both. */
static int parse_route_static(struct jctx *j, const cJSON *it, const char *where,
			      struct gw_config *c, struct gw_route_cfg *r, const char *upstream)
{
	const cJSON *so = cJSON_GetObjectItemCaseSensitive(it, "static");
	if (!so)
		return 0;
	if (upstream[0]) {
		set_err(j->err, j->errlen, "%s: a route has either upstream or static", where);
		return -1;
	}
	if (c->nstatics >= GW_MAX_STATIC) {
		set_err(j->err, j->errlen, "%s.static: more than %d static routes", where,
			GW_MAX_STATIC);
		return -1;
	}
	if (parse_static(j, so, where, &c->statics[c->nstatics]))
		return -1;
	r->static_index = (int)c->nstatics++;
	return 0;
}

static int parse_json(struct jctx *j, const cJSON *root, struct gw_config *c)
{
	static const char *const keys[] = {"listeners",
					   "admin",
					   "threads",
					   "tls",
					   "routes",
					   "upstreams",
					   "limits",
					   "timeouts",
					   "retry",
					   "rate_limits",
					   "trusted_proxies",
					   "access_log",
					   "drain_seconds",
					   "static_base",
					   "cors",
					   "internal_paths",
					   "dns",
					   NULL};
	static const char *const admin_keys[] = {"host", "port", NULL};
	static const char *const tls_keys[] = {"cert", "key", NULL};
	static const char *const route_keys[] = {"name",     "prefix", "strip_prefix",
						 "upstream", "static", NULL};
	static const char *const limit_keys[] = {"max_header_bytes", "max_body_bytes",
						 "request_buffer_bytes", "max_connections", NULL};
	static const char *const timeout_keys[] = {
	    "connect_ms",     "first_byte_ms", "total_ms",	   "client_header_ms",
	    "client_body_ms", "keepalive_ms",  "upstream_idle_ms", NULL};
	static const char *const retry_keys[] = {"max_attempts", "budget_ratio",
						 "budget_min_per_sec", NULL};
	static const char *const rate_keys[] = {"name", "prefix", "rate_per_sec", "burst", NULL};
	const cJSON *o, *it;

	if (check_keys(j, root, "config", keys))
		return -1;
	o = cJSON_GetObjectItemCaseSensitive(root, "listeners");
	if (o) {
		if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) < 1 ||
		    cJSON_GetArraySize(o) > GW_MAX_LISTENERS) {
			set_err(j->err, j->errlen, "listeners: expected an array of 1..%d objects",
				GW_MAX_LISTENERS);
			return -1;
		}
		c->nlisteners = 0;
		cJSON_ArrayForEach(it, o)
		{
			char where[32];
			snprintf(where, sizeof(where), "listeners[%zu]", c->nlisteners);
			if (parse_listener(j, it, where, &c->listeners[c->nlisteners]))
				return -1;
			c->nlisteners++;
		}
	}
	o = cJSON_GetObjectItemCaseSensitive(root, "admin");
	if (o && (check_keys(j, o, "admin", admin_keys) ||
		  get_str(j, o, "host", "admin", c->admin_host, sizeof(c->admin_host), false) ||
		  get_int(j, o, "port", "admin", 0, 65535, &c->admin_port)))
		return -1;
	if (get_int(j, root, "threads", "config", 1, 64, &c->threads) ||
	    get_int(j, root, "drain_seconds", "config", 0, 3600, &c->drain_seconds) ||
	    get_bool(j, root, "access_log", "config", &c->access_log))
		return -1;
	o = cJSON_GetObjectItemCaseSensitive(root, "tls");
	if (o && (check_keys(j, o, "tls", tls_keys) ||
		  get_str(j, o, "cert", "tls", c->tls_cert, sizeof(c->tls_cert), true) ||
		  get_str(j, o, "key", "tls", c->tls_key, sizeof(c->tls_key), true)))
		return -1;

	o = cJSON_GetObjectItemCaseSensitive(root, "upstreams");
	if (o) {
		if (!cJSON_IsObject(o)) {
			set_err(j->err, j->errlen, "upstreams: expected an object of pools");
			return -1;
		}
		c->npools = 0;
		cJSON_ArrayForEach(it, o)
		{
			if (c->npools >= GW_MAX_POOLS) {
				set_err(j->err, j->errlen, "upstreams: more than %d pools",
					GW_MAX_POOLS);
				return -1;
			}
			if (strlen(it->string) >= GW_NAME_MAX) {
				set_err(j->err, j->errlen, "upstreams.%s: name too long",
					it->string);
				return -1;
			}
			pool_defaults(&c->pools[c->npools], it->string);
			if (parse_pool(j, it, &c->pools[c->npools]))
				return -1;
			c->npools++;
		}
	}
	o = cJSON_GetObjectItemCaseSensitive(root, "routes");
	if (o) {
		if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) > GW_MAX_ROUTES) {
			set_err(j->err, j->errlen, "routes: expected an array of at most %d routes",
				GW_MAX_ROUTES);
			return -1;
		}
		c->nroutes = 0;
		cJSON_ArrayForEach(it, o)
		{
			struct gw_route_cfg *r = &c->routes[c->nroutes];
			char where[32], upstream[GW_NAME_MAX] = "";
			snprintf(where, sizeof(where), "routes[%zu]", c->nroutes);
			memset(r, 0, sizeof(*r));
			r->strip_prefix = true;
			if (check_keys(j, it, where, route_keys) ||
			    get_str(j, it, "prefix", where, r->prefix, sizeof(r->prefix), true) ||
			    get_str(j, it, "name", where, r->name, sizeof(r->name), false) ||
			    get_bool(j, it, "strip_prefix", where, &r->strip_prefix) ||
			    get_str(j, it, "upstream", where, upstream, sizeof(upstream),
				    !cJSON_GetObjectItemCaseSensitive(it, "static")))
				return -1;
			if (r->prefix[0] != '/') {
				set_err(j->err, j->errlen, "%s.prefix: must start with /", where);
				return -1;
			}
			r->prefix_len = strlen(r->prefix);
			while (r->prefix_len > 1 && r->prefix[r->prefix_len - 1] == '/')
				r->prefix[--r->prefix_len] = '\0';
			if (!r->name[0])
				snprintf(r->name, sizeof(r->name), "%s",
					 r->prefix_len > 1 ? r->prefix + 1 : "root");
			r->pool = -1;
			r->static_index = -1;
			if (parse_route_static(j, it, where, c, r, upstream))
				return -1;
			for (size_t k = 0; k < c->npools; k++)
				if (strcmp(c->pools[k].name, upstream) == 0)
					r->pool = (int)k;
			if (r->pool < 0 && r->static_index < 0) {
				set_err(j->err, j->errlen, "%s.upstream: no upstream named \"%s\"",
					where, upstream);
				return -1;
			}
			c->nroutes++;
		}
	}
	o = cJSON_GetObjectItemCaseSensitive(root, "cors");
	if (o && parse_cors(j, o, &c->cors))
		return -1;
	o = cJSON_GetObjectItemCaseSensitive(root, "dns");
	if (o && parse_dns(j, o, &c->dns))
		return -1;
	if (get_str(j, root, "static_base", "config", c->static_base, sizeof(c->static_base),
		    false) ||
	    get_str_list(j, root, "internal_paths", "config", &c->internal_paths[0][0],
			 sizeof(c->internal_paths[0]), GW_MAX_INTERNAL, &c->ninternal))
		return -1;
	for (size_t i = 0; i < c->ninternal; i++)
		if (c->internal_paths[i][0] != '/') {
			set_err(j->err, j->errlen, "internal_paths[%zu]: must start with /", i);
			return -1;
		}
	o = cJSON_GetObjectItemCaseSensitive(root, "limits");
	if (o &&
	    (check_keys(j, o, "limits", limit_keys) ||
	     get_size(j, o, "max_header_bytes", "limits", 1024, 1048576, &c->max_header_bytes) ||
	     get_size(j, o, "max_body_bytes", "limits", 0, 1e12, &c->max_body_bytes) ||
	     get_size(j, o, "request_buffer_bytes", "limits", 0, 64 * 1048576.0,
		      &c->request_buffer_bytes) ||
	     get_int(j, o, "max_connections", "limits", 1, 1000000, &c->max_connections)))
		return -1;
	o = cJSON_GetObjectItemCaseSensitive(root, "timeouts");
	if (o &&
	    (check_keys(j, o, "timeouts", timeout_keys) ||
	     get_int(j, o, "connect_ms", "timeouts", 1, 3600000, &c->connect_timeout_ms) ||
	     get_int(j, o, "first_byte_ms", "timeouts", 1, 3600000, &c->first_byte_timeout_ms) ||
	     get_int(j, o, "total_ms", "timeouts", 1, 3600000, &c->total_timeout_ms) ||
	     get_int(j, o, "client_header_ms", "timeouts", 1, 3600000,
		     &c->client_header_timeout_ms) ||
	     get_int(j, o, "client_body_ms", "timeouts", 1, 3600000, &c->client_body_timeout_ms) ||
	     get_int(j, o, "keepalive_ms", "timeouts", 1, 3600000, &c->keepalive_timeout_ms) ||
	     get_int(j, o, "upstream_idle_ms", "timeouts", 1, 3600000,
		     &c->upstream_idle_timeout_ms)))
		return -1;
	o = cJSON_GetObjectItemCaseSensitive(root, "retry");
	if (o && (check_keys(j, o, "retry", retry_keys) ||
		  get_int(j, o, "max_attempts", "retry", 1, 10, &c->max_attempts) ||
		  get_double(j, o, "budget_ratio", "retry", 0, 10, &c->retry_budget_ratio) ||
		  get_int(j, o, "budget_min_per_sec", "retry", 0, 100000, &c->retry_budget_min)))
		return -1;
	o = cJSON_GetObjectItemCaseSensitive(root, "rate_limits");
	if (o) {
		if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) > GW_MAX_RATE_GROUPS) {
			set_err(j->err, j->errlen,
				"rate_limits: expected an array of at most %d groups",
				GW_MAX_RATE_GROUPS);
			return -1;
		}
		c->nrates = 0;
		cJSON_ArrayForEach(it, o)
		{
			struct gw_rate_cfg *r = &c->rates[c->nrates];
			char where[32];
			snprintf(where, sizeof(where), "rate_limits[%zu]", c->nrates);
			memset(r, 0, sizeof(*r));
			if (check_keys(j, it, where, rate_keys) ||
			    get_str(j, it, "name", where, r->name, sizeof(r->name), true) ||
			    get_str(j, it, "prefix", where, r->prefix, sizeof(r->prefix), true) ||
			    get_double(j, it, "rate_per_sec", where, 0, 1e9, &r->rate_per_sec) ||
			    get_double(j, it, "burst", where, 0, 1e9, &r->burst))
				return -1;
			if (r->burst < 1)
				r->burst = r->rate_per_sec > 1 ? r->rate_per_sec : 1;
			r->prefix_len = strlen(r->prefix);
			c->nrates++;
		}
	}
	o = cJSON_GetObjectItemCaseSensitive(root, "trusted_proxies");
	if (o) {
		if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) > GW_MAX_TRUSTED) {
			set_err(j->err, j->errlen, "trusted_proxies: expected an array of CIDRs");
			return -1;
		}
		c->ntrusted = 0;
		cJSON_ArrayForEach(it, o)
		{
			if (!cJSON_IsString(it) ||
			    parse_cidr(it->valuestring, &c->trusted[c->ntrusted]) != 0) {
				set_err(j->err, j->errlen,
					"trusted_proxies[%zu]: expected an address or CIDR",
					c->ntrusted);
				return -1;
			}
			c->ntrusted++;
		}
	}
	return 0;
}

/* B4_TRUSTED_PROXIES (comma-separated addresses or CIDRs), when set,
 * replaces the file's or the default trusted_proxies list. */
static int trusted_from_env(struct gw_config *c, char *err, size_t errlen)
{
	const char *p = getenv("B4_TRUSTED_PROXIES");

	if (!p)
		return 0;
	c->ntrusted = 0;
	while (*p) {
		char item[64];
		size_t n;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		n = strcspn(p, ", ");
		if (n >= sizeof(item) || c->ntrusted == GW_MAX_TRUSTED) {
			set_err(err, errlen, "B4_TRUSTED_PROXIES: too many or too long entries");
			return -1;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (parse_cidr(item, &c->trusted[c->ntrusted]) != 0) {
			set_err(err, errlen,
				"B4_TRUSTED_PROXIES: expected an address or CIDR, got \"%s\"",
				item);
			return -1;
		}
		c->ntrusted++;
		p += n;
	}
	return 0;
}

static int build_defaults(struct gw_config *c, char *err, size_t errlen)
{
	static const struct {
		const char *name, *env, *def;
	} svc[] = {
	    {"api", "B4_API_UPSTREAM", "127.0.0.1:8081"},
	    {"backoffice", "B4_BACKOFFICE_UPSTREAM", "127.0.0.1:8082"},
	    {"checkout", "B4_CHECKOUT_UPSTREAM", "127.0.0.1:8083"},
	};
	c->npools = c->nroutes = 0;
	for (size_t i = 0; i < 3; i++) {
		const char *spec = getenv(svc[i].env);
		struct gw_pool_cfg *p = &c->pools[c->npools];
		struct gw_route_cfg *r = &c->routes[c->nroutes];
		char e2[256];
		pool_defaults(p, svc[i].name);
		if (!spec || !*spec)
			spec = svc[i].def;
		if (gw_pool_set_instances(p, spec, e2, sizeof(e2)) != 0) {
			set_err(err, errlen, "%s: %s", svc[i].env, e2);
			return -1;
		}
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", svc[i].name);
		snprintf(r->prefix, sizeof(r->prefix), "/%s", svc[i].name);
		r->prefix_len = strlen(r->prefix);
		r->strip_prefix = true;
		r->pool = (int)c->npools;
		r->static_index = -1;
		c->npools++;
		c->nroutes++;
	}
	/* per client IP: login and signup are the brute-force targets */
	c->nrates = 2;
	snprintf(c->rates[0].name, sizeof(c->rates[0].name), "auth");
	snprintf(c->rates[0].prefix, sizeof(c->rates[0].prefix), "/api/v1/auth/");
	c->rates[0].rate_per_sec = 5;
	c->rates[0].burst = 10;
	snprintf(c->rates[1].name, sizeof(c->rates[1].name), "default");
	snprintf(c->rates[1].prefix, sizeof(c->rates[1].prefix), "/");
	c->rates[1].rate_per_sec = 1000;
	c->rates[1].burst = 2000;
	for (size_t i = 0; i < c->nrates; i++)
		c->rates[i].prefix_len = strlen(c->rates[i].prefix);
	parse_cidr("127.0.0.1/32", &c->trusted[0]);
	parse_cidr("::1/128", &c->trusted[1]);
	c->ntrusted = 2;
	snprintf(c->source, sizeof(c->source), "defaults");
	return 0;
}

static SSL_CTX *build_ssl_ctx(const struct gw_config *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	unsigned long e;
	char buf[256];

	if (!ctx) {
		set_err(err, errlen, "tls: cannot create an SSL context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				     SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
		e = ERR_get_error();
		ERR_error_string_n(e, buf, sizeof(buf));
		set_err(err, errlen, "tls.cert: cannot load \"%s\": %s", c->tls_cert, buf);
		goto out_free_ctx;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		e = ERR_get_error();
		ERR_error_string_n(e, buf, sizeof(buf));
		set_err(err, errlen, "tls.key: cannot load \"%s\": %s", c->tls_key, buf);
		goto out_free_ctx;
	}
	ERR_clear_error();
	return ctx;
out_free_ctx:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

struct gw_config *gw_config_load(const char *path, char *err, size_t errlen)
{
	struct gw_config *c = malloc(sizeof(*c));
	bool any_tls = false;

	if (!c) {
		set_err(err, errlen, "config: out of memory");
		return NULL;
	}
	config_defaults(c);
	if (build_defaults(c, err, errlen) != 0)
		goto out_free;
	if (path) {
		FILE *f = fopen(path, "rb");
		char *text;
		long n;
		cJSON *root;
		struct jctx j = {err, errlen};
		int rc;

		if (!f) {
			set_err(err, errlen, "B4_GATEWAY_CONFIG: cannot open \"%s\": %s", path,
				strerror(errno));
			goto out_free;
		}
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		if (n < 0 || n > 4 * 1024 * 1024) {
			fclose(f);
			set_err(err, errlen, "B4_GATEWAY_CONFIG: \"%s\" is not a readable file",
				path);
			goto out_free;
		}
		text = malloc((size_t)n + 1);
		if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) {
			free(text);
			fclose(f);
			set_err(err, errlen, "B4_GATEWAY_CONFIG: cannot read \"%s\"", path);
			goto out_free;
		}
		text[n] = '\0';
		fclose(f);
		root = cJSON_Parse(text);
		free(text);
		if (!root) {
			set_err(err, errlen, "B4_GATEWAY_CONFIG: \"%s\" is not valid JSON", path);
			goto out_free;
		}
		rc = parse_json(&j, root, c);
		cJSON_Delete(root);
		if (rc != 0)
			goto out_free;
		snprintf(c->source, sizeof(c->source), "%s", path);
	}
	if (trusted_from_env(c, err, errlen) != 0)
		goto out_free;
	trusted_list_fill(c);
	for (size_t i = 0; i < c->nlisteners; i++)
		any_tls |= c->listeners[i].tls;
	if (any_tls) {
		if (!c->tls_cert[0] || !c->tls_key[0]) {
			set_err(err, errlen, "tls: a TLS listener needs tls.cert and tls.key");
			goto out_free;
		}
		c->ssl_ctx = build_ssl_ctx(c, err, errlen);
		if (!c->ssl_ctx)
			goto out_free;
	}
	if (getenv("B4_GATEWAY_RESOLVER"))
		snprintf(c->dns.resolver, sizeof(c->dns.resolver), "%s",
			 getenv("B4_GATEWAY_RESOLVER"));
	if ((path && upstreams_from_env(c, err, errlen) != 0) ||
	    cors_from_env(&c->cors, err, errlen) != 0 || finish_web_settings(c, err, errlen) != 0)
		goto out_free_ssl;
	return c;
out_free_ssl:
	if (c->ssl_ctx)
		SSL_CTX_free(c->ssl_ctx);
out_free:
	free(c);
	return NULL;
}

void gw_config_ref(struct gw_config *cfg)
{
	atomic_fetch_add(&cfg->refs, 1);
}

void gw_config_unref(struct gw_config *cfg)
{
	if (!cfg)
		return;
	if (atomic_fetch_sub(&cfg->refs, 1) == 1) {
		if (cfg->ssl_ctx)
			SSL_CTX_free(cfg->ssl_ctx);
		free(cfg);
	}
}
