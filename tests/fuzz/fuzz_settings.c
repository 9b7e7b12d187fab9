/* fuzz_settings.c -- libFuzzer target over the ARREARS_* settings table
 * (common/settings.c: cm_settings_load, cm_settings_check, and the rules
 * it calls: cm_kafka_brokers_check, cm_redis_url_parse, cm_clock_parse,
 * cm_duration_parse, cm_log_level_parse; cm_settings_dump's redaction).
 *
 * Input: "NAME=value" lines, as an operator's environment would hold
 * them. A line whose NAME is a row of the table below sets that variable;
 * any other line's value is checked against the row its NAME hashes to
 * (cm_settings_check), so every rule sees every value. The table is the
 * shape of a service's (docs/conventions.md): the shared rows bound
 * (CM_SETTINGS_COMMON_BOUND) and one row of each other type, bound to an
 * int, a long long, a size_t and strings, with a row check function. Every
 * row's variable is unset again after each input.
 *
 * Invariants checked (abort on violation, which libFuzzer reports):
 *   - a refused table has one problem per line, each "<row name>: why";
 *   - an accepted table stored each number within its row's bounds and
 *     each bound string is the row's value;
 *   - cm_settings_check agrees with load on a value load accepted;
 * and every allocation is freed (ASan's leak check). */
#include "settings.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    cm_settings_common c;
    int batch;
    long long window_ms;
    size_t max_bytes;
    int flag;
    const char *dir, *url, *token, *mode;
} cfg;

static int check_mode(const char *v, char *errstr, size_t errlen)
{
    if (!strcmp(v, "none") || !strcmp(v, "try") || !strcmp(v, "require"))
        return 0;
    snprintf(errstr, errlen, "'%s' is not none, try or require", v);
    return -1;
}

static cm_setting table[] = {
    CM_SETTINGS_COMMON_BOUND(&cfg.c, "127.0.0.1:9109", "arrears-fuzz"),
    CM_SETTING_INT("ARREARS_FUZZ_BATCH", "4000", "int", 1, 100000, &cfg.batch),
    CM_SETTING_DURATION("ARREARS_FUZZ_WINDOW", "7d", "duration", 1000, INT64_C(31536000000),
                        &cfg.window_ms),
    CM_SETTING_INT("ARREARS_FUZZ_MAX_BYTES", "262144", "size", 1024, 67108864, &cfg.max_bytes),
    CM_SETTING_BOOL("ARREARS_FUZZ_FLAG", "false", "bool", &cfg.flag),
    CM_SETTING_PATH("ARREARS_FUZZ_DIR", "", "path", &cfg.dir),
    CM_SETTING_URL("ARREARS_FUZZ_URL", "", "url", &cfg.url),
    CM_SETTING_SECRET("ARREARS_FUZZ_TOKEN", "", "secret", &cfg.token),
    CM_SETTING_CHECKED("ARREARS_FUZZ_MODE", "try", "checked", &cfg.mode, check_mode),
    CM_SETTINGS_END};

#define NROWS (sizeof table / sizeof table[0] - 1)

static cm_setting *row(const char *name, size_t n)
{
    for (size_t i = 0; i < NROWS; i++)
        if (strlen(table[i].name) == n && !memcmp(table[i].name, name, n))
            return &table[i];
    return NULL;
}

static void check_problems(const char *err)
{
    if (!*err)
        abort();
    for (const char *l = err; *l;) {
        const char *colon = strstr(l, ": ");
        if (!colon || !row(l, (size_t)(colon - l)))
            abort();
        const char *nl = strchr(l, '\n');
        if (!nl)
            break;
        l = nl + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        abort();
    char *text = malloc(size + 1), err[8192];
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    for (char *l = text, *next; l; l = next) {
        next = strchr(l, '\n');
        if (next)
            *next++ = 0;
        char *eq = strchr(l, '=');
        if (!eq)
            continue;
        *eq = 0;
        cm_setting *s = row(l, (size_t)(eq - l));
        if (s) {
            setenv(l, eq + 1, 1);
        } else {
            size_t h = 0;
            for (const char *p = l; *p; p++)
                h = h * 31 + (unsigned char)*p;
            cm_settings_check(&table[h % NROWS], eq + 1, err, sizeof err);
        }
    }
    if (cm_settings_load(table, err, sizeof err) != 0) {
        check_problems(err);
    } else {
        for (size_t i = 0; i < NROWS; i++) {
            const cm_setting *s = &table[i];
            if (!s->value || cm_settings_check(s, s->value, err, sizeof err) != 0)
                abort();
            if ((s->type == CM_SET_INT || s->type == CM_SET_DURATION) && (s->min || s->max) &&
                (s->ival < s->min || s->ival > s->max))
                abort();
            if (s->bind_kind == CM_BIND_STR && *(const char **)s->bind != s->value)
                abort();
        }
        if (cfg.batch != cm_settings_int(table, "ARREARS_FUZZ_BATCH") ||
            (long long)cfg.max_bytes != cm_settings_int(table, "ARREARS_FUZZ_MAX_BYTES") ||
            cfg.window_ms != cm_settings_int(table, "ARREARS_FUZZ_WINDOW") ||
            (cfg.flag != 0 && cfg.flag != 1))
            abort();
        cm_settings_dump(devnull, table);
    }
    for (size_t i = 0; i < NROWS; i++)
        unsetenv(table[i].name);
    free(text);
    return 0;
}
