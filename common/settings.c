/* settings.c -- one table of settings per service, from the environment.
 *
 * Load checks every row (its type's rule, then its own check), collecting
 * every problem; only when all are valid does it store the bound values,
 * so a service never runs on a half-loaded table. */
#include "settings.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "redis.h"

static int check_int(const cm_setting *s, const char *v, long long *out, char *errstr,
                     size_t errlen)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end) {
        snprintf(errstr, errlen, "'%s' is not an integer", v);
        return -1;
    }
    if ((s->min || s->max) && (n < s->min || n > s->max)) {
        snprintf(errstr, errlen, "%lld is outside [%lld, %lld]", n, s->min, s->max);
        return -1;
    }
    *out = n;
    return 0;
}

static int check_addr(const char *v, char *errstr, size_t errlen)
{
    const char *colon = strrchr(v, ':');
    char *end;
    if (!*v)
        return 0;
    if (!colon || colon == v) {
        snprintf(errstr, errlen, "'%s' is not host:port", v);
        return -1;
    }
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535) {
        snprintf(errstr, errlen, "'%s': port must be 0..65535", v);
        return -1;
    }
    return 0;
}

static int check_one(const cm_setting *s, const char *v, long long *ival, char *errstr,
                     size_t errlen)
{
    int64_t ms;
    int level;
    struct stat st;
    cm_redis_url u;
    cm_clock_spec c;

    switch (s->type) {
    case CM_SET_STR:
        return 0;
    case CM_SET_INT:
        return check_int(s, v, ival, errstr, errlen);
    case CM_SET_BOOL:
        if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")) {
            *ival = 1;
            return 0;
        }
        if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")) {
            *ival = 0;
            return 0;
        }
        snprintf(errstr, errlen, "'%s' is not a boolean (true/false/1/0/yes/no)", v);
        return -1;
    case CM_SET_BROKERS:
        return cm_kafka_brokers_check(v, errstr, errlen);
    case CM_SET_REDIS:
        return cm_redis_url_parse(v, &u, errstr, errlen);
    case CM_SET_CLOCK:
        return cm_clock_parse(v, &c, errstr, errlen);
    case CM_SET_LEVEL:
        if (cm_log_level_parse(v, &level) != 0) {
            snprintf(errstr, errlen, "'%s' is not one of debug, info, warn, error", v);
            return -1;
        }
        return 0;
    case CM_SET_ADDR:
        return check_addr(v, errstr, errlen);
    case CM_SET_PREFIX:
        if (strlen(v) > 200) {
            snprintf(errstr, errlen, "longer than 200 characters");
            return -1;
        }
        for (const char *p = v; *p; p++) {
            if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-') {
                snprintf(errstr, errlen, "'%s': only letters, digits, '.', '_' and '-' allowed", v);
                return -1;
            }
        }
        return 0;
    case CM_SET_URL:
        if (!*v || !strncmp(v, "http://", 7) || !strncmp(v, "https://", 8) ||
            !strncmp(v, "smtp://", 7) || !strncmp(v, "smtps://", 8))
            return 0;
        snprintf(errstr, errlen, "'%s' is not an http(s):// or smtp(s):// URL", v);
        return -1;
    case CM_SET_PATH:
        if (!*v || stat(v, &st) == 0)
            return 0;
        snprintf(errstr, errlen, "'%s': %s", v, strerror(errno));
        return -1;
    case CM_SET_DURATION:
        if (cm_duration_parse(v, &ms) != 0) {
            snprintf(errstr, errlen, "'%s' is not a duration (e.g. 500ms, 30s, 5m, 2h, 7d)", v);
            return -1;
        }
        if ((s->min || s->max) && (ms < s->min || ms > s->max)) {
            snprintf(errstr, errlen, "'%s' is outside [%lldms, %lldms]", v, s->min, s->max);
            return -1;
        }
        *ival = ms;
        return 0;
    }
    snprintf(errstr, errlen, "unknown setting type");
    return -1;
}

int cm_settings_check(const cm_setting *s, const char *value, char *errstr, size_t errlen)
{
    long long ival = 0;
    return check_one(s, value, &ival, errstr, errlen);
}

/* Stores a checked row into its bound variable; -1 when the number does
 * not fit the variable (a table bug: an int bound to a long duration). */
static int store(const cm_setting *s, char *why, size_t whylen)
{
    long long v = s->ival;
    switch (s->bind_kind) {
    case CM_BIND_NONE:
        return 0;
    case CM_BIND_STR:
        *(const char **)s->bind = s->value;
        return 0;
    case CM_BIND_INT:
        if (v < INT_MIN || v > INT_MAX)
            break;
        *(int *)s->bind = (int)v;
        return 0;
    case CM_BIND_LONG:
        *(long *)s->bind = (long)v;
        return 0;
    case CM_BIND_LLONG:
        *(long long *)s->bind = v;
        return 0;
    case CM_BIND_SIZE:
        if (v < 0)
            break;
        *(size_t *)s->bind = (size_t)v;
        return 0;
    }
    snprintf(why, whylen, "%lld does not fit the variable it is bound to", v);
    return -1;
}

static void add_problem(char *errstr, size_t errlen, size_t *used, const char *name,
                        const char *why)
{
    if (*used < errlen) {
        int n = snprintf(errstr + *used, errlen - *used, "%s%s: %s", *used ? "\n" : "", name, why);
        if (n > 0)
            *used += (size_t)n;
    }
}

int cm_settings_file_value(const char *path, char **out, char *errstr, size_t errlen)
{
    FILE *f = NULL;
    char *v = NULL;
    size_t n = 0;
    int rc = -1;
    *out = NULL;
    if (!(f = fopen(path, "rb"))) {
        snprintf(errstr, errlen, "cannot read %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!(v = malloc(CM_SETTINGS_FILE_MAX + 2))) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    n = fread(v, 1, CM_SETTINGS_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(errstr, errlen, "cannot read %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (n > CM_SETTINGS_FILE_MAX) {
        snprintf(errstr, errlen, "%s is larger than %d bytes", path, CM_SETTINGS_FILE_MAX);
        goto cleanup;
    }
    if (n > 0 && v[n - 1] == '\n') /* one final newline, as an editor or echo leaves */
        n--;
    if (n > 0 && v[n - 1] == '\r')
        n--;
    v[n] = 0;
    if (memchr(v, 0, n)) {
        snprintf(errstr, errlen, "%s holds a NUL byte", path);
        goto cleanup;
    }
    *out = v;
    v = NULL; /* now the caller's */
    rc = 0;
cleanup:
    free(v);
    if (f)
        fclose(f);
    return rc;
}

/* Values read from NAME_FILE live until exit: the table and the bound
 * variables point at them, and a later load may fail and leave a bound
 * variable on the old value. They are kept here, cut to their length, so
 * none is ever unreachable (a refused value too); one list per process. */
static char **file_values;
static size_t nfile_values;

static int keep_file_value(char **v)
{
    char **grown = realloc(file_values, (nfile_values + 1) * sizeof *grown);
    if (!grown) {
        free(*v);
        *v = NULL;
        return -1;
    }
    file_values = grown;
    char *cut = realloc(*v, strlen(*v) + 1);
    if (cut)
        *v = cut;
    file_values[nfile_values++] = *v;
    return 0;
}

/* The value of s from NAME or NAME_FILE (a Kubernetes Secret mounted as a
 * file): *v, or -1 with why. A value read from a file lives until exit
 * (keep_file_value). */
static int env_value(const cm_setting *s, const char **v, char *why, size_t whylen)
{
    char name[256];
    const char *path;
    char *file = NULL;
    *v = getenv(s->name);
    snprintf(name, sizeof name, "%s_FILE", s->name);
    if (!(path = getenv(name)) || !path[0]) /* an empty NAME_FILE is unset */
        return 0;
    if (*v) {
        snprintf(why, whylen, "set %s or %s, not both", s->name, name);
        return -1;
    }
    if (cm_settings_file_value(path, &file, why, whylen) != 0)
        return -1;
    if (keep_file_value(&file) != 0) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    *v = file; /* lives until exit */
    return 0;
}

int cm_settings_load(cm_setting *table, char *errstr, size_t errlen)
{
    size_t used = 0;
    int bad = 0;
    if (errlen)
        errstr[0] = 0;
    for (cm_setting *s = table; s->name; s++) {
        char why[512];
        const char *v = NULL;
        if (env_value(s, &v, why, sizeof why) != 0) {
            bad++;
            add_problem(errstr, errlen, &used, s->name, why);
            continue;
        }
        if (!v)
            v = s->def;
        if (!v) {
            snprintf(why, sizeof(why), "required but not set");
        } else {
            s->value = v;
            s->ival = 0;
            if (check_one(s, v, &s->ival, why, sizeof(why)) == 0 &&
                (!s->check || s->check(v, why, sizeof(why)) == 0))
                continue;
        }
        bad++;
        add_problem(errstr, errlen, &used, s->name, why);
    }
    if (bad)
        return -1;
    for (cm_setting *s = table; s->name; s++) {
        char why[128];
        if (store(s, why, sizeof(why)) != 0) {
            bad++;
            add_problem(errstr, errlen, &used, s->name, why);
        }
    }
    return bad ? -1 : 0;
}

static const cm_setting *find(const cm_setting *table, const char *name)
{
    for (const cm_setting *s = table; s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    fprintf(stderr, "BUG: setting %s is not in the table\n", name);
    abort();
}

const char *cm_settings_str(const cm_setting *table, const char *name)
{
    const char *v = find(table, name)->value;
    return v ? v : "";
}

long long cm_settings_int(const cm_setting *table, const char *name)
{
    return find(table, name)->ival;
}

void cm_settings_topic(const cm_setting *table, const char *suffix, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s", cm_settings_str(table, "ARREARS_TOPIC_PREFIX"), suffix);
}

void cm_settings_print_help(FILE *out, const char *prog, const char *summary,
                            const cm_setting *table)
{
    fprintf(out,
            "Usage: %s [--check-config] [--help] [--version]\n%s\n\n"
            "Settings (environment variables):\n",
            prog, summary);
    for (const cm_setting *s = table; s->name; s++)
        fprintf(out, "  %-28s %s (default: %s)\n", s->name, s->help,
                s->def ? (*s->def ? s->def : "\"\"") : "required");
    fprintf(out, "  %-28s %s\n", "ARREARS_KAFKA_<PROPERTY>",
            "any librdkafka property, e.g. ARREARS_KAFKA_SECURITY_PROTOCOL=SASL_SSL");
}

void cm_settings_dump(FILE *out, const cm_setting *table)
{
    for (const cm_setting *s = table; s->name; s++) {
        char red[512];
        const char *v = s->value ? s->value : "";
        if (s->type == CM_SET_REDIS) {
            cm_log_redact_url(v, red, sizeof(red));
            v = red;
        } else if (s->secret && *v) {
            v = "***";
        }
        fprintf(out, "  %s=%s\n", s->name, v);
    }
}

int cm_settings_args(int argc, char **argv, const char *prog, const char *summary,
                     cm_setting *table, cm_settings_check_all_fn check_all, void *opaque, int *code)
{
    char err[8192];
    int check = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cm_settings_print_help(stdout, prog, summary, table);
            *code = 0;
            return 1;
        } else if (!strcmp(argv[i], "--version")) {
            printf("%s %s\n", prog, ARREARS_VERSION);
            *code = 0;
            return 1;
        } else if (!strcmp(argv[i], "--check-config")) {
            check = 1;
        } else {
            fprintf(stderr, "%s: unknown option '%s' (try --help)\n", prog, argv[i]);
            *code = 2;
            return 1;
        }
    }
    if (cm_settings_load(table, err, sizeof(err)) != 0 ||
        (check_all && check_all(opaque, err, sizeof(err)) != 0)) {
        fprintf(stderr, "%s: configuration invalid:\n%s\n", prog, err);
        *code = 1;
        return 1;
    }
    if (check) {
        cm_settings_dump(stdout, table);
        printf("configuration OK\n");
        *code = 0;
        return 1;
    }
    return 0;
}
