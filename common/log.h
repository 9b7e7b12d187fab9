/* log.h -- structured logging: one JSON object per line on stderr.
 *
 * Every line has ts, level, service, msg and, when given, fields:
 *   {"ts":"2026-03-01T09:00:00.000Z","level":"info","service":"ingest",
 *    "msg":"consumer assigned","fields":{"partitions":6}}
 * The timestamp is the wall clock, not the simulated clock: logs are for
 * operators. Never pass secrets (passwords, tokens, full Redis URLs) as
 * fields; cm_log_redact_url() helps with URLs. A debtor's e-mail address
 * or phone number is logged masked (cm_log_mask_email, cm_log_mask_phone);
 * records on Kafka keep the full values. Thread-safe. */
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

/* The two masks below write into out (outlen > 0 bytes, the caller's),
 * truncating, always NUL-terminated; NULL or "" gives "". Room for the
 * whole mask: CM_LOG_MASK_MAX bytes for any e-mail or phone the contract
 * accepts (254 and 16 bytes). */
#define CM_LOG_MASK_MAX 260
/* email as the first character of its local part (one UTF-8 sequence),
 * "***", then "@" and the domain as given: "alice@example.com" ->
 * "a***@example.com", "a@x.org" -> "a***@x.org". The domain follows the
 * last '@'; without any '@' the whole value is "***". */
void cm_log_mask_email(const char *email, char *out, size_t outlen);
/* phone as a leading '+' (when it starts with one), its first 4 digits,
 * one '*' per hidden digit, and its last 2 digits: "+447700900123" ->
 * "+4477******23". With fewer than 7 digits every digit is a '*'
 * ("+123456" -> "+******"). Anything but digits and the leading '+'
 * (spaces, dashes, letters) is left out. */
void cm_log_mask_phone(const char *phone, char *out, size_t outlen);

#endif
