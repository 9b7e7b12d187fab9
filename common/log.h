/* log.h -- structured logging: one JSON object per line on stderr.
 *
 * Every line has ts, level, service, msg and, when given, fields:
 *   {"ts":"2026-03-01T09:00:00.000Z","level":"info","service":"ingest",
 *    "msg":"consumer assigned","fields":{"partitions":6}}
 * The timestamp is the wall clock, not the simulated clock: logs are for
 * operators. Never pass secrets (passwords, tokens, full Redis URLs) as
 * fields; cm_log_redact_url() helps with URLs. Thread-safe. */
#ifndef CM_LOG_H
#define CM_LOG_H

#include <jansson.h>
#include <stddef.h>

enum { CM_LOG_DEBUG = 0, CM_LOG_INFO = 1, CM_LOG_WARN = 2, CM_LOG_ERROR = 3 };

/* Sets the service name and minimum level ("debug", "info", "warn",
 * "error"); returns -1 on an unknown level name (the level is unchanged). */
int cm_log_init(const char *service, const char *level);
int cm_log_level_parse(const char *name, int *level);
int cm_log_enabled(int level);

/* Logs msg (printf format). fields may be NULL; the reference is stolen. */
void cm_log_fields(int level, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define cm_log_debug(...) cm_log_fields(CM_LOG_DEBUG, NULL, __VA_ARGS__)
#define cm_log_info(...)  cm_log_fields(CM_LOG_INFO, NULL, __VA_ARGS__)
#define cm_log_warn(...)  cm_log_fields(CM_LOG_WARN, NULL, __VA_ARGS__)
#define cm_log_error(...) cm_log_fields(CM_LOG_ERROR, NULL, __VA_ARGS__)

/* Copies url into out with any password replaced by "***". */
void cm_log_redact_url(const char *url, char *out, size_t outlen);

#endif
