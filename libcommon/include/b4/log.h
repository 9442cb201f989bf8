/* log.h - JSON-lines logging.
 *
 * One JSON object per line on stdout: time, level, service, request_id, msg
 * and the caller's fields.  Lines are written with a single write(2) so that
 * threads never interleave.  Never pass a card number, CVV, password, token
 * or plain CPF as a field: nothing here can tell them from other text.
 */
#ifndef B4_LOG_H
#define B4_LOG_H

enum b4_log_level { B4_LOG_DEBUG, B4_LOG_INFO, B4_LOG_WARN, B4_LOG_ERROR };

/* Sets the service name written on every line and the lowest level logged.
 * Call once at start-up, before threads start. */
void b4_log_init(const char *service, enum b4_log_level min_level);

/* Parses "debug", "info", "warn" or "error"; returns -1 on anything else. */
int b4_log_level_parse(const char *text, enum b4_log_level *out);

/* Sets the calling thread's request id, added to each line it logs.  The
 * string is copied; NULL clears it. */
void b4_log_set_request_id(const char *request_id);

/* Writes one line.  After msg come field triples (key, type, value) built
 * with the B4_L* macros, then NULL. */
void b4_log(enum b4_log_level level, const char *msg, ...);

#define B4_LS(k, v) (k), 's', (const char *)(v)
#define B4_LI(k, v) (k), 'i', (long long)(v)
#define B4_LD(k, v) (k), 'd', (double)(v)

#define b4_log_debug(msg, ...) b4_log(B4_LOG_DEBUG, msg, ##__VA_ARGS__, NULL)
#define b4_log_info(msg, ...)  b4_log(B4_LOG_INFO, msg, ##__VA_ARGS__, NULL)
#define b4_log_warn(msg, ...)  b4_log(B4_LOG_WARN, msg, ##__VA_ARGS__, NULL)
#define b4_log_error(msg, ...) b4_log(B4_LOG_ERROR, msg, ##__VA_ARGS__, NULL)

#endif
