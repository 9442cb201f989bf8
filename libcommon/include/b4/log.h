/* TEMPORARY private stub of the lead's libcommon log API (branch gateway).
 * Delete when main's "libcommon core" is merged. */
#ifndef B4_LOG_H
#define B4_LOG_H

enum b4_log_level { B4_LOG_DEBUG, B4_LOG_INFO, B4_LOG_WARN, B4_LOG_ERROR };

void b4_log_init(const char *service, enum b4_log_level min_level);
void b4_log_set_request_id(const char *request_id);
void b4_log(enum b4_log_level level, const char *msg, ...);

#define B4_LS(k, v) (k), 's', (const char *)(v)
#define B4_LI(k, v) (k), 'i', (long long)(v)
#define B4_LD(k, v) (k), 'd', (double)(v)
#define b4_log_debug(msg, ...) b4_log(B4_LOG_DEBUG, msg, ##__VA_ARGS__, NULL)
#define b4_log_info(msg, ...) b4_log(B4_LOG_INFO, msg, ##__VA_ARGS__, NULL)
#define b4_log_warn(msg, ...) b4_log(B4_LOG_WARN, msg, ##__VA_ARGS__, NULL)
#define b4_log_error(msg, ...) b4_log(B4_LOG_ERROR, msg, ##__VA_ARGS__, NULL)

#endif
