/* settings.h -- one table of settings per service, read from the environment.
 *
 * Design: like Redis's config.c, every setting is a row in a static table
 * with its name, default, rule and help. cm_settings_load() reads every row
 * from the environment and validates all of them at once, so an operator
 * sees every problem in one run. Shared rows come from CM_SETTINGS_COMMON.
 *
 *   static cm_setting table[] = {
 *       CM_SETTINGS_COMMON("127.0.0.1:9101", "arrears-ingest"),
 *       {"ARREARS_MAX_BYTES", "1048576", "largest inbound message", CM_SET_INT, 1, 1 << 30},
 *       CM_SETTINGS_END};
 *
 * The table owns nothing: value points into the environment or at def. */
#ifndef CM_SETTINGS_H
#define CM_SETTINGS_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    CM_SET_STR,      /* any string */
    CM_SET_INT,      /* integer in [min, max] */
    CM_SET_BOOL,     /* true/false/1/0/yes/no */
    CM_SET_BROKERS,  /* host:port[,host:port...] */
    CM_SET_REDIS,    /* redis://[:password@]host:port[/db] */
    CM_SET_CLOCK,    /* empty, or <rfc3339>@<unix>x<factor> */
    CM_SET_LEVEL,    /* debug|info|warn|error */
    CM_SET_ADDR,     /* host:port or empty */
    CM_SET_PREFIX,   /* topic prefix */
    CM_SET_URL,      /* http(s)://..., smtp(s)://... or empty */
    CM_SET_PATH,     /* an existing file or directory, or empty */
    CM_SET_DURATION, /* 500ms, 30s, 5m, 2h, 7d (stored in ms) */
} cm_setting_type;

typedef struct cm_setting {
    const char *name;  /* environment variable */
    const char *def;   /* default; NULL means required */
    const char *help;  /* one line */
    cm_setting_type type;
    long long min, max; /* CM_SET_INT / CM_SET_DURATION bounds (ms); 0,0 = none */
    int secret;         /* never printed */
    /* filled by cm_settings_load */
    const char *value;
    long long ival; /* CM_SET_INT, CM_SET_BOOL, CM_SET_DURATION (ms) */
} cm_setting;

#define CM_SETTINGS_END {NULL, NULL, NULL, CM_SET_STR, 0, 0, 0, NULL, 0}

#define CM_SETTINGS_COMMON(http_addr, group)                                                   \
    {"ARREARS_KAFKA_BROKERS", "127.0.0.1:29092", "Kafka bootstrap servers (host:port,...)",    \
     CM_SET_BROKERS, 0, 0, 0, NULL, 0},                                                        \
        {"ARREARS_REDIS_URL", "redis://127.0.0.1:26379/0",                                     \
         "Redis URL redis://[:password@]host:port[/db]", CM_SET_REDIS, 0, 0, 1, NULL, 0},      \
        {"ARREARS_TOPIC_PREFIX", "arrears.", "prefix of every topic name", CM_SET_PREFIX, 0,   \
         0, 0, NULL, 0},                                                                        \
        {"ARREARS_HTTP_ADDR", http_addr, "health/metrics listener host:port (empty: off)",     \
         CM_SET_ADDR, 0, 0, 0, NULL, 0},                                                        \
        {"ARREARS_LOG_LEVEL", "info", "debug, info, warn or error", CM_SET_LEVEL, 0, 0, 0,     \
         NULL, 0},                                                                              \
        {"ARREARS_CLOCK", "", "simulated clock <RFC3339 start>@<unix real start>x<factor>",    \
         CM_SET_CLOCK, 0, 0, 0, NULL, 0},                                                       \
    {                                                                                          \
        "ARREARS_GROUP_ID", group, "Kafka consumer group id", CM_SET_STR, 0, 0, 0, NULL, 0     \
    }

/* Reads and validates every row. Returns 0, or -1 with every problem, one
 * per line ("ARREARS_REDIS_URL: ... "), in errstr. */
int cm_settings_load(cm_setting *table, char *errstr, size_t errlen);

/* Lookups by name; abort() on a name that is not in the table (a bug). */
const char *cm_settings_str(const cm_setting *table, const char *name);
long long cm_settings_int(const cm_setting *table, const char *name);

/* Checks one value against a type's rule (used by load and by tests). */
int cm_settings_check(const cm_setting *s, const char *value, char *errstr, size_t errlen);

void cm_settings_print_help(FILE *out, const char *prog, const char *summary,
                            const cm_setting *table);
/* Prints every setting with its value (secrets as ***). */
void cm_settings_dump(FILE *out, const cm_setting *table);

/* Handles --help, --version and --check-config for main(). Returns 1 when
 * main should exit with *code, 0 to continue. Loads the table in any case
 * (on 0 return it is loaded and valid). Unknown options are an error. */
int cm_settings_main(int argc, char **argv, const char *prog, const char *summary,
                     cm_setting *table, int *code);

/* Topic name: prefix + suffix into out. */
void cm_settings_topic(const cm_setting *table, const char *suffix, char *out, size_t outlen);

#endif
