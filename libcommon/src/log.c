/* log.c - JSON-lines logging; see b4/log.h. */
#include "b4/log.h"
#include "b4/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char log_service[64] = "b4";
static enum b4_log_level log_min = B4_LOG_INFO;
static _Thread_local char log_request_id[129];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void b4_log_init(const char *service, enum b4_log_level min_level)
{
	snprintf(log_service, sizeof(log_service), "%s", service);
	log_min = min_level;
}

int b4_log_level_parse(const char *text, enum b4_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(text, level_names[i]) == 0) {
			*out = (enum b4_log_level)i;
			return 0;
		}
	}
	return -1;
}

void b4_log_set_request_id(const char *request_id)
{
	if (!request_id)
		log_request_id[0] = '\0';
	else
		snprintf(log_request_id, sizeof(log_request_id), "%s", request_id);
}

static void write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n <= 0)
			return; /* nowhere left to report a failed log write */
		data += n;
		len -= (size_t)n;
	}
}

void b4_log(enum b4_log_level level, const char *msg, ...)
{
	struct b4_buf line;
	struct timeval tv;
	struct tm tm;
	char stamp[40];
	const char *key;
	va_list ap;

	if (level < log_min)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	b4_buf_init(&line);
	b4_buf_printf(&line, "{\"time\":\"%s.%03dZ\",\"level\":\"%s\",\"service\":", stamp,
		      (int)(tv.tv_usec / 1000), level_names[level]);
	b4_buf_json_string(&line, log_service, strlen(log_service));
	if (log_request_id[0]) {
		b4_buf_puts(&line, ",\"request_id\":");
		b4_buf_json_string(&line, log_request_id, strlen(log_request_id));
	}
	b4_buf_puts(&line, ",\"msg\":");
	b4_buf_json_string(&line, msg, strlen(msg));

	va_start(ap, msg);
	while ((key = va_arg(ap, const char *)) != NULL) {
		int type = va_arg(ap, int);
		b4_buf_puts(&line, ",");
		b4_buf_json_string(&line, key, strlen(key));
		b4_buf_puts(&line, ":");
		if (type == 's') {
			const char *value = va_arg(ap, const char *);
			if (value)
				b4_buf_json_string(&line, value, strlen(value));
			else
				b4_buf_puts(&line, "null");
		} else if (type == 'i') {
			b4_buf_printf(&line, "%lld", va_arg(ap, long long));
		} else if (type == 'd') {
			b4_buf_printf(&line, "%.6g", va_arg(ap, double));
		} else {
			/* an unknown type means the arguments are misaligned: stop */
			b4_buf_puts(&line, "null");
			break;
		}
	}
	va_end(ap);
	b4_buf_puts(&line, "}\n");
	if (!b4_buf_failed(&line))
		write_all(STDOUT_FILENO, line.data, line.len);
	b4_buf_cleanup(&line);
}
