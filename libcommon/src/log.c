/* TEMPORARY private stub of the lead's libcommon log module (branch gateway).
 * Delete when main's "libcommon core" is merged. */
#include "b4/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_service = "b4";
static enum b4_log_level log_min = B4_LOG_INFO;
static _Thread_local char log_request_id[129];

void b4_log_init(const char *service, enum b4_log_level min_level)
{
	log_service = service;
	log_min = min_level;
}

void b4_log_set_request_id(const char *request_id)
{
	if (!request_id) {
		log_request_id[0] = '\0';
		return;
	}
	snprintf(log_request_id, sizeof(log_request_id), "%s", request_id);
}

static size_t put_json_str(char *out, size_t cap, size_t pos, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	if (pos < cap)
		out[pos] = '"';
	pos++;
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7];
		size_t n = 0;
		if (c == '"' || c == '\\') {
			esc[n++] = '\\';
			esc[n++] = (char)c;
		} else if (c < 0x20) {
			esc[n++] = '\\';
			esc[n++] = 'u';
			esc[n++] = '0';
			esc[n++] = '0';
			esc[n++] = hex[c >> 4];
			esc[n++] = hex[c & 15];
		} else {
			esc[n++] = (char)c;
		}
		for (size_t i = 0; i < n; i++, pos++)
			if (pos < cap)
				out[pos] = esc[i];
	}
	if (pos < cap)
		out[pos] = '"';
	return pos + 1;
}

void b4_log(enum b4_log_level level, const char *msg, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	char line[4096];
	size_t cap = sizeof(line) - 2, pos = 0;
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (level < log_min)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	pos = (size_t)snprintf(line, cap,
			       "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"level\":\"%s\","
			       "\"service\":",
			       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			       tm.tm_sec, (int)(tv.tv_usec / 1000), names[level]);
	pos = put_json_str(line, cap, pos, log_service);
	if (log_request_id[0]) {
		pos += (size_t)snprintf(line + (pos < cap ? pos : cap), pos < cap ? cap - pos : 0,
					",\"request_id\":");
		pos = put_json_str(line, cap, pos, log_request_id);
	}
	pos += (size_t)snprintf(line + (pos < cap ? pos : cap), pos < cap ? cap - pos : 0, ",\"msg\":");
	pos = put_json_str(line, cap, pos, msg);
	va_start(ap, msg);
	for (;;) {
		const char *key = va_arg(ap, const char *);
		int type;
		if (!key)
			break;
		type = va_arg(ap, int);
		if (pos < cap)
			line[pos] = ',';
		pos++;
		pos = put_json_str(line, cap, pos, key);
		if (pos < cap)
			line[pos] = ':';
		pos++;
		if (type == 's') {
			pos = put_json_str(line, cap, pos, va_arg(ap, const char *));
		} else if (type == 'i') {
			long long v = va_arg(ap, long long);
			pos += (size_t)snprintf(line + (pos < cap ? pos : cap),
						pos < cap ? cap - pos : 0, "%lld", v);
		} else {
			double v = va_arg(ap, double);
			pos += (size_t)snprintf(line + (pos < cap ? pos : cap),
						pos < cap ? cap - pos : 0, "%.3f", v);
		}
	}
	va_end(ap);
	if (pos > cap)
		pos = cap;
	line[pos++] = '}';
	line[pos++] = '\n';
	fwrite(line, 1, pos, stdout);
	fflush(stdout);
}
