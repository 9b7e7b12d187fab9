/* settings.h -- one table of settings per service, read from the environment.
 *
 * Design: like Redis's config.c (createIntConfig, createStringConfig),
 * every setting is a row in a static table with its name, default, rule,
 * help and the variable it is bound to. cm_settings_load() reads every row
 * from the environment, validates all of them at once (so an operator sees
 * every problem in one run) and stores each value into its bound variable.
 * Code reads the variables, never a name: a misspelt setting is a compile
 * error, not a lookup that fails when it runs.
 *
 *   static struct { cm_settings_common c; int batch; int64_t window_ms; } cfg;
 *   static cm_setting table[] = {
 *       CM_SETTINGS_COMMON_BOUND(&cfg.c, "127.0.0.1:9101", "arrears-ingest"),
 *       CM_SETTING_INT("ARREARS_INGEST_BATCH", "4000", "most messages per batch", 1, 100000,
 *                      &cfg.batch),
 *       CM_SETTING_DURATION("ARREARS_INGEST_DEDUP_WINDOW", "7d", "...", 1000, 0, &cfg.window_ms),
 *       CM_SETTINGS_END};
 *
 * A bound variable's type is checked at compile time (_Generic): strings
 * bind a const char *, integers and durations (ms) an int, long, long long
 * or size_t. A row may add a check function for a rule of its own.
 *
 * Tools still read unbound rows by name (cm_settings_str/_int). The table
 * owns nothing: value and the bound strings point into the environment, at
 * def, or at a <NAME>_FILE value, which settings.c keeps until exit. */
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

/* How a row's value is stored into its bound variable. */
typedef enum {
    CM_BIND_NONE, /* unbound: read it by name */
    CM_BIND_STR,  /* const char * */
    CM_BIND_INT,  /* int */
    CM_BIND_LONG, /* long (int64_t) */
    CM_BIND_LLONG,
    CM_BIND_SIZE, /* size_t */
} cm_bind_kind;

/* A row's own rule, after its type's: 0, or -1 with errstr. */
typedef int (*cm_setting_check_fn)(const char *value, char *errstr, size_t errlen);

typedef struct cm_setting {
    const char *name; /* environment variable */
    const char *def;  /* default; NULL means required */
    const char *help; /* one line */
    cm_setting_type type;
    long long min, max; /* CM_SET_INT / CM_SET_DURATION bounds (ms); 0,0 = none */
    int secret;         /* never printed */
    /* filled by cm_settings_load */
    const char *value;
    long long ival; /* CM_SET_INT, CM_SET_BOOL, CM_SET_DURATION (ms) */
    /* binding (CM_SETTING_* macros) */
    void *bind;
    cm_bind_kind bind_kind;
    cm_setting_check_fn check; /* may be NULL */
} cm_setting;

/* The shared settings (CM_SETTINGS_COMMON_BOUND), as loaded. */
typedef struct cm_settings_common {
    const char *brokers, *redis_url, *topic_prefix, *http_addr, *log_level, *clock, *group_id;
} cm_settings_common;

#define CM_BIND_STR_PTR_(p) _Generic((p), const char ** : (void *)(p))
#define CM_BIND_NUM_KIND_(p)                                                                       \
    _Generic((p), int *: CM_BIND_INT, long *: CM_BIND_LONG, long long *: CM_BIND_LLONG,            \
             size_t *: CM_BIND_SIZE)

/* A string-valued row of any string type, bound to a const char *. */
#define CM_SETTING_S(name, def, help, type, secret, ptr, check)                                    \
    {                                                                                              \
        name, def, help, type, 0, 0, secret, NULL, 0, CM_BIND_STR_PTR_(ptr), CM_BIND_STR, check    \
    }
/* A number-valued row (CM_SET_INT, CM_SET_DURATION in ms, CM_SET_BOOL). */
#define CM_SETTING_N(name, def, help, type, min, max, ptr)                                         \
    {                                                                                              \
        name, def, help, type, min, max, 0, NULL, 0, (void *)(ptr), CM_BIND_NUM_KIND_(ptr), NULL   \
    }

#define CM_SETTING_STR(name, def, help, ptr) CM_SETTING_S(name, def, help, CM_SET_STR, 0, ptr, NULL)
#define CM_SETTING_SECRET(name, def, help, ptr)                                                    \
    CM_SETTING_S(name, def, help, CM_SET_STR, 1, ptr, NULL)
#define CM_SETTING_PATH(name, def, help, ptr)                                                      \
    CM_SETTING_S(name, def, help, CM_SET_PATH, 0, ptr, NULL)
#define CM_SETTING_URL(name, def, help, ptr) CM_SETTING_S(name, def, help, CM_SET_URL, 0, ptr, NULL)
#define CM_SETTING_CHECKED(name, def, help, ptr, check)                                            \
    CM_SETTING_S(name, def, help, CM_SET_STR, 0, ptr, check)
#define CM_SETTING_INT(name, def, help, min, max, ptr)                                             \
    CM_SETTING_N(name, def, help, CM_SET_INT, min, max, ptr)
#define CM_SETTING_DURATION(name, def, help, min, max, ptr)                                        \
    CM_SETTING_N(name, def, help, CM_SET_DURATION, min, max, ptr)
#define CM_SETTING_BOOL(name, def, help, ptr) CM_SETTING_N(name, def, help, CM_SET_BOOL, 0, 0, ptr)

#define CM_SETTINGS_END                                                                            \
    {                                                                                              \
        NULL, NULL, NULL, CM_SET_STR, 0, 0, 0, NULL, 0, NULL, CM_BIND_NONE, NULL                   \
    }

#define CM_SET_ROW_(name, def, help, type, secret)                                                 \
    {                                                                                              \
        name, def, help, type, 0, 0, secret, NULL, 0, NULL, CM_BIND_NONE, NULL                     \
    }
/* The shared rows, unbound (tools read them by name). */
#define CM_SETTINGS_COMMON(addr_, group_)                                                          \
    CM_SET_ROW_("ARREARS_KAFKA_BROKERS", "127.0.0.1:29092",                                        \
                "Kafka bootstrap servers (host:port,...)", CM_SET_BROKERS, 0),                     \
        CM_SET_ROW_("ARREARS_REDIS_URL", "redis://127.0.0.1:26379/0",                              \
                    "Redis URL redis://[:password@]host:port[/db]", CM_SET_REDIS, 1),              \
        CM_SET_ROW_("ARREARS_TOPIC_PREFIX", "arrears.", "prefix of every topic name",              \
                    CM_SET_PREFIX, 0),                                                             \
        CM_SET_ROW_("ARREARS_HTTP_ADDR", addr_, "health/metrics listener host:port (empty: off)",  \
                    CM_SET_ADDR, 0),                                                               \
        CM_SET_ROW_("ARREARS_LOG_LEVEL", "info", "debug, info, warn or error", CM_SET_LEVEL, 0),   \
        CM_SET_ROW_("ARREARS_CLOCK", "",                                                           \
                    "simulated clock <RFC3339 start>@<unix real start>x<factor>", CM_SET_CLOCK,    \
                    0),                                                                            \
        CM_SET_ROW_("ARREARS_GROUP_ID", group_, "Kafka consumer group id", CM_SET_STR, 0)

/* The shared rows, bound to the fields of a cm_settings_common *c. */
#define CM_SETTINGS_COMMON_BOUND(c, addr_, group_)                                                 \
    CM_SETTING_S("ARREARS_KAFKA_BROKERS", "127.0.0.1:29092",                                       \
                 "Kafka bootstrap servers (host:port,...)", CM_SET_BROKERS, 0, &(c)->brokers,      \
                 NULL),                                                                            \
        CM_SETTING_S("ARREARS_REDIS_URL", "redis://127.0.0.1:26379/0",                             \
                     "Redis URL redis://[:password@]host:port[/db]", CM_SET_REDIS, 1,              \
                     &(c)->redis_url, NULL),                                                       \
        CM_SETTING_S("ARREARS_TOPIC_PREFIX", "arrears.", "prefix of every topic name",             \
                     CM_SET_PREFIX, 0, &(c)->topic_prefix, NULL),                                  \
        CM_SETTING_S("ARREARS_HTTP_ADDR", addr_, "health/metrics listener host:port (empty: off)", \
                     CM_SET_ADDR, 0, &(c)->http_addr, NULL),                                       \
        CM_SETTING_S("ARREARS_LOG_LEVEL", "info", "debug, info, warn or error", CM_SET_LEVEL, 0,   \
                     &(c)->log_level, NULL),                                                       \
        CM_SETTING_S("ARREARS_CLOCK", "",                                                          \
                     "simulated clock <RFC3339 start>@<unix real start>x<factor>", CM_SET_CLOCK,   \
                     0, &(c)->clock, NULL),                                                        \
        CM_SETTING_S("ARREARS_GROUP_ID", group_, "Kafka consumer group id", CM_SET_STR, 0,         \
                     &(c)->group_id, NULL)

/* Reads and validates every row and, when all are valid, stores each bound
 * row's value into its variable. Returns 0, or -1 with every problem, one
 * per line ("ARREARS_REDIS_URL: ... "), in errstr. Every row may instead be
 * given as <NAME>_FILE, a path whose contents are the value (a Kubernetes
 * Secret mounted as a file; one final newline dropped; an empty NAME_FILE
 * counts as unset); setting both is an error. */
int cm_settings_load(cm_setting *table, char *errstr, size_t errlen);

#define CM_SETTINGS_FILE_MAX 65536 /* bytes of a <NAME>_FILE value */

/* The value held in the file at path, for <NAME>_FILE settings (also the
 * ARREARS_KAFKA_<PROPERTY>_FILE pass-through): at most CM_SETTINGS_FILE_MAX
 * bytes, one final "\n" or "\r\n" dropped, no NUL. *out is malloc'd, the
 * caller frees it; -1 with errstr naming the path and the rule. */
int cm_settings_file_value(const char *path, char **out, char *errstr, size_t errlen);

/* Lookups by name, for unbound tables (tools); abort() on a name that is
 * not in the table (a bug). Services read their bound variables instead. */
const char *cm_settings_str(const cm_setting *table, const char *name);
long long cm_settings_int(const cm_setting *table, const char *name);

/* Checks one value against a type's rule (used by load and by tests). */
int cm_settings_check(const cm_setting *s, const char *value, char *errstr, size_t errlen);

void cm_settings_print_help(FILE *out, const char *prog, const char *summary,
                            const cm_setting *table);
/* Prints every setting with its value (secrets as ***). */
void cm_settings_dump(FILE *out, const cm_setting *table);

/* A check across rows (a policy file that must parse, settings that must
 * agree), run once the table is loaded: 0, or -1 with every problem, one
 * per line, in errstr. What it builds may be kept for the run. */
typedef int (*cm_settings_check_all_fn)(void *opaque, char *errstr, size_t errlen);

/* Handles --help, --version and --check-config for main(). Returns 1 when
 * main should exit with *code, 0 to continue. Loads the table and runs
 * check_all (may be NULL) in any case (on 0 return both passed); on a
 * problem prints "<prog>: configuration invalid:" and every problem to
 * stderr. --check-config prints the effective settings and "configuration
 * OK". Unknown options are an error. */
int cm_settings_args(int argc, char **argv, const char *prog, const char *summary,
                     cm_setting *table, cm_settings_check_all_fn check_all, void *opaque,
                     int *code);

/* Topic name: prefix + suffix into out. */
void cm_settings_topic(const cm_setting *table, const char *suffix, char *out, size_t outlen);

#endif
