/* log.c -- structured logging: one JSON object per line on stderr.
 *
 * Design: masks of a debtor's contact details live here, next to the URL
 * redaction, so every service logs them the same way; they keep just
 * enough (first letter and domain, country/area digits and the last two)
 * for an operator to tell two debtors apart in a log. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "str.h"

static char log_service[64] = "arrears";
static int log_min = CM_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

int cm_log_level_parse(const char *name, int *level)
{
    for (int i = 0; i < 4; i++) {
        if (name && strcmp(name, level_names[i]) == 0) {
            *level = i;
            return 0;
        }
    }
    return -1;
}

int cm_log_init(const char *service, const char *level)
{
    if (service)
        snprintf(log_service, sizeof(log_service), "%s", service);
    if (level && *level)
        return cm_log_level_parse(level, &log_min);
    return 0;
}

int cm_log_enabled(int level)
{
    return level >= log_min;
}

void cm_log_fields(int level, json_t *fields, const char *fmt, ...)
{
    char msg[2048], ts[40];
    va_list ap;
    json_t *line = NULL;
    char *out = NULL;

    if (level < log_min || level < 0 || level > CM_LOG_ERROR) {
        json_decref(fields);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cm_time_format_rfc3339(cm_clock_real_ms(), ts, sizeof(ts));

    line = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", level_names[level], "service",
                     log_service, "msg", msg);
    if (line && fields)
        json_object_set(line, "fields", fields);
    json_decref(fields);
    if (line)
        out = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII);
    pthread_mutex_lock(&log_lock);
    if (out)
        fprintf(stderr, "%s\n", out);
    else /* out of memory: still say something */
        fprintf(stderr, "{\"level\":\"%s\",\"msg\":\"(log formatting failed)\"}\n",
                level_names[level]);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
    free(out);
    json_decref(line);
}

void cm_log_redact_url(const char *url, char *out, size_t outlen)
{
    const char *scheme = strstr(url, "://");
    const char *at = strrchr(url, '@');
    if (!scheme || !at || at < scheme) {
        snprintf(out, outlen, "%s", url);
        return;
    }
    const char *colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
    if (!colon) {
        snprintf(out, outlen, "%s", url);
        return;
    }
    snprintf(out, outlen, "%.*s:***%s", (int)(colon - url), url, at);
}

void cm_log_mask_email(const char *email, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return;
    out[0] = 0;
    if (!email || !*email)
        return;
    const char *at = strrchr(email, '@');
    if (!at) {
        cm_strlcpy(out, "***", outlen);
        return;
    }
    /* the first character: a lead byte and its continuation bytes */
    size_t first = 0;
    if (at > email) {
        first = 1;
        while (first < 4 && email + first < at && ((unsigned char)email[first] & 0xC0) == 0x80)
            first++;
    }
    snprintf(out, outlen, "%.*s***%s", (int)first, email, at);
}

void cm_log_mask_phone(const char *phone, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return;
    out[0] = 0;
    if (!phone)
        return;
    size_t digits = 0, k = 0, o = 0;
    for (const char *p = phone; *p; p++)
        digits += *p >= '0' && *p <= '9';
    if (*phone == '+' && o + 1 < outlen)
        out[o++] = '+';
    for (const char *p = phone; *p && o + 1 < outlen; p++) {
        if (*p < '0' || *p > '9')
            continue;
        k++;
        int shown = digits >= 7 && (k <= 4 || k > digits - 2);
        out[o++] = shown ? *p : '*';
    }
    out[o] = 0;
}
