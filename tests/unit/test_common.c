/* test_common.c -- unit tests of common/: clock, dates, money, settings,
 * URLs, broker lists, time zones, the log masks of e-mails and phones,
 * the closing of bidi overrides a value leaves open, the arena allocator.
 * Pure logic, no servers. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <jansson.h>

#include "arena.h"
#include "buf.h"
#include "json.h"
#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "money.h"
#include "redis.h"
#include "settings.h"
#include "str.h"
#include "tz.h"

static void test_dates(void **state)
{
    (void)state;
    int32_t d;
    char buf[16];
    assert_int_equal(cm_date_parse("1970-01-01", &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(cm_date_parse("2024-02-29", &d), 0);
    cm_date_format(d, buf, sizeof(buf));
    assert_string_equal(buf, "2024-02-29");
    assert_int_equal(cm_date_parse("2023-02-29", &d), -1); /* not a leap year */
    assert_int_equal(cm_date_parse("2026-13-01", &d), -1);
    assert_int_equal(cm_date_parse("2026-04-31", &d), -1);
    assert_int_equal(cm_date_parse("2026-4-1", &d), -1);
    assert_int_equal(cm_date_parse("2026-04-01x", &d), -1);
    assert_int_equal(cm_date_parse("1900-02-29", &d), -1);
    assert_int_equal(cm_date_parse("2000-02-29", &d), 0);
}

static void test_rfc3339(void **state)
{
    (void)state;
    int64_t ms;
    char buf[40];
    assert_int_equal(cm_time_parse_rfc3339("2026-03-01T09:00:00Z", &ms), 0);
    assert_int_equal(ms, 1772355600000LL);
    assert_int_equal(cm_time_parse_rfc3339("2026-03-01T10:00:00.5+01:00", &ms), 0);
    assert_int_equal(ms, 1772355600500LL);
    cm_time_format_rfc3339(ms, buf, sizeof(buf));
    assert_string_equal(buf, "2026-03-01T09:00:00.500Z");
    assert_int_equal(cm_time_parse_rfc3339("2026-03-01T09:00:00", &ms), -1); /* no zone */
    assert_int_equal(cm_time_parse_rfc3339("2026-03-01 25:00:00Z", &ms), -1);
    assert_int_equal(cm_time_parse_rfc3339("2026-02-30T09:00:00Z", &ms), -1);
    cm_time_format_rfc3339(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
}

static void test_clock(void **state)
{
    (void)state;
    cm_clock_spec c;
    char err[256];
    assert_int_equal(cm_clock_parse("2026-01-01T00:00:00Z@1767225600x86400", &c, err, 256), 0);
    assert_true(c.factor == 86400.0);
    assert_int_equal(c.real_start_ms, 1767225600000LL);
    assert_int_equal(cm_clock_parse("fast", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown clock format"));
    assert_int_equal(cm_clock_parse("2026-01-01@1x2", &c, err, sizeof(err)), -1);
    assert_int_equal(cm_clock_parse("2026-01-01T00:00:00Z@1x0", &c, err, sizeof(err)), -1);
    assert_int_equal(cm_clock_parse("", &c, err, sizeof(err)), 0);
    /* found by tests/fuzz/fuzz_settings: 1e300 s as ms overflowed the
     * int64_t (undefined behaviour); the real start is 0 to 1e12 s */
    assert_int_equal(cm_clock_parse("2026-01-01T00:00:00Z@1e300x86400", &c, err, sizeof(err)), -1);
    assert_string_equal(err, "clock real start '1e300' is not unix seconds (0 to 1e12)");
    assert_int_equal(cm_clock_parse("2026-01-01T00:00:00Z@1e12x2", &c, err, sizeof(err)), 0);
    assert_int_equal(c.real_start_ms, 1000000000000000LL);
    /* a simulated clock started "now" with factor 1000 runs ahead */
    char spec[128], ts[40];
    int64_t real = cm_clock_real_ms();
    cm_time_format_rfc3339(0, ts, sizeof(ts));
    snprintf(spec, sizeof(spec), "%s@%lldx1000", ts, (long long)(real / 1000 - 10));
    assert_int_equal(cm_clock_init(spec, err, sizeof(err)), 0);
    int64_t now = cm_clock_now_ms();
    assert_true(now >= 10000 * 1000 - 1000 && now < 20000 * 1000);
    assert_int_equal(cm_clock_init("", err, sizeof(err)), 0);
    int64_t dur;
    assert_int_equal(cm_duration_parse("7d", &dur), 0);
    assert_int_equal(dur, 7 * 86400000LL);
    assert_int_equal(cm_duration_parse("7w", &dur), -1);
}

static void test_money(void **state)
{
    (void)state;
    int64_t v;
    char err[128], buf[64];
    assert_int_equal(cm_money_exponent("EUR"), 2);
    assert_int_equal(cm_money_exponent("JPY"), 0);
    assert_int_equal(cm_money_exponent("KWD"), 3);
    assert_int_equal(cm_money_exponent("XXX"), -1);
    assert_int_equal(cm_money_exponent("eur"), -1);
    assert_int_equal(cm_money_parse("12.3", 2, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 1230);
    assert_int_equal(cm_money_parse("12", 3, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 12000);
    assert_int_equal(cm_money_parse("12.345", 2, &v, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "decimal places"));
    assert_int_equal(cm_money_parse("1.5", 0, &v, err, sizeof(err)), -1);
    assert_int_equal(cm_money_parse("-1", 2, &v, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "negative"));
    assert_int_equal(cm_money_parse("1e3", 2, &v, err, sizeof(err)), -1);
    assert_int_equal(cm_money_parse("1.", 2, &v, err, sizeof(err)), -1);
    assert_int_equal(cm_money_parse("99999999999999999999", 2, &v, err, sizeof(err)), -1);
    cm_money_format(1230, 2, buf, sizeof(buf));
    assert_string_equal(buf, "12.30");
    cm_money_format(5, 3, buf, sizeof(buf));
    assert_string_equal(buf, "0.005");
    cm_money_format(-1230, 0, buf, sizeof(buf));
    assert_string_equal(buf, "-1230");
}

static void test_urls(void **state)
{
    (void)state;
    cm_redis_url u;
    char err[256];
    assert_int_equal(cm_redis_url_parse("redis://:s3cret@cache.local:6380/2", &u, err, 256), 0);
    assert_string_equal(u.host, "cache.local");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_string_equal(u.password, "s3cret");
    assert_string_equal(u.user, "");
    /* an ACL user; the password may hold '/' */
    assert_int_equal(cm_redis_url_parse("redis://arrears:pa/ss@127.0.0.1:26379/0", &u, err, 256),
                     0);
    assert_string_equal(u.user, "arrears");
    assert_string_equal(u.password, "pa/ss");
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 26379);
    assert_int_equal(cm_redis_url_parse("redis://arrears@h:1", &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'user:password@'"));
    assert_int_equal(cm_redis_url_parse("redis://127.0.0.1", &u, err, sizeof(err)), 0);
    assert_int_equal(u.port, 6379);
    assert_string_equal(u.user, "");
    assert_int_equal(cm_redis_url_parse("http://x:1", &u, err, sizeof(err)), -1);
    assert_int_equal(cm_redis_url_parse("redis://h:99999", &u, err, sizeof(err)), -1);
    assert_int_equal(cm_redis_url_parse("redis://h:1/x", &u, err, sizeof(err)), -1);
    assert_int_equal(cm_redis_url_parse("redis://:6379", &u, err, sizeof(err)), -1);
    assert_int_equal(cm_kafka_brokers_check("a:9092,b.c:9093", err, sizeof(err)), 0);
    assert_int_equal(cm_kafka_brokers_check("a:9092,", err, sizeof(err)), 0);
    assert_int_equal(cm_kafka_brokers_check("a", err, sizeof(err)), -1);
    assert_int_equal(cm_kafka_brokers_check("a:0", err, sizeof(err)), -1);
    assert_int_equal(cm_kafka_brokers_check("a b:1", err, sizeof(err)), -1);
    assert_int_equal(cm_kafka_brokers_check("", err, sizeof(err)), -1);
}

/* Masks worked by hand from the rule: e-mail = first character of the
 * local part, "***", "@domain"; phone = '+', first 4 digits, one '*' per
 * hidden digit, last 2 digits, all starred under 7 digits. */
static void test_log_masks(void **state)
{
    (void)state;
    static const char *const emails[][2] = {
        {"alice@example.com", "a***@example.com"},
        {"a@x.org", "a***@x.org"},
        {"ap@ada.test", "a***@ada.test"},
        {"\xc3\xa9lise@exemple.fr", "\xc3\xa9***@exemple.fr"}, /* e-acute: 2 bytes */
        {"\"a@b\"@x.org", "\"***@x.org"},                      /* the last '@' */
        {"@x.org", "***@x.org"},
        {"nobody", "***"},
        {"", ""},
    };
    char out[CM_LOG_MASK_MAX];
    for (size_t i = 0; i < sizeof emails / sizeof *emails; i++) {
        cm_log_mask_email(emails[i][0], out, sizeof out);
        assert_string_equal(out, emails[i][1]);
    }
    cm_log_mask_email(NULL, out, sizeof out);
    assert_string_equal(out, "");
    cm_log_mask_email("alice@example.com", out, 8); /* 7 bytes and the NUL */
    assert_string_equal(out, "a***@ex");
    static const char *const phones[][2] = {
        {"+447700900123", "+4477******23"},      /* 12 digits: 4 + 6 hidden + 2 */
        {"+1 (415) 555-0100", "+1415*****00"},   /* 11 digits: 4 + 5 + 2 */
        {"+1234567", "+1234*67"},                /* 7 digits: 4 + 1 + 2 */
        {"+123456", "+******"},                  /* 6 digits: all hidden */
        {"0770090", "0770*90"},                  /* no '+': none added */
        {"+44<b>77 0090 0123", "+4477******23"}, /* only '+' and digits */
        {"12", "**"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof phones / sizeof *phones; i++) {
        cm_log_mask_phone(phones[i][0], out, sizeof out);
        assert_string_equal(out, phones[i][1]);
    }
    cm_log_mask_phone(NULL, out, sizeof out);
    assert_string_equal(out, "");
    cm_log_mask_phone("+447700900123", out, 6);
    assert_string_equal(out, "+4477");
}

static void test_settings(void **state)
{
    (void)state;
    int n = 0; /* bound: cm_settings_load stores the value here */
    cm_setting t[] = {CM_SETTINGS_COMMON("127.0.0.1:0", "g"),
                      CM_SETTING_INT("ARREARS_T_N", "5", "n", 1, 10, &n), CM_SETTINGS_END};
    char err[4096];
    setenv("ARREARS_KAFKA_BROKERS", "nohostport", 1);
    setenv("ARREARS_REDIS_URL", "redis//x", 1);
    setenv("ARREARS_CLOCK", "tomorrow", 1);
    setenv("ARREARS_T_N", "11", 1);
    assert_int_equal(cm_settings_load(t, err, sizeof(err)), -1);
    /* every problem named at once */
    assert_non_null(strstr(err, "ARREARS_KAFKA_BROKERS:"));
    assert_non_null(strstr(err, "ARREARS_REDIS_URL:"));
    assert_non_null(strstr(err, "ARREARS_CLOCK:"));
    assert_non_null(strstr(err, "ARREARS_T_N:"));
    unsetenv("ARREARS_KAFKA_BROKERS");
    unsetenv("ARREARS_REDIS_URL");
    unsetenv("ARREARS_CLOCK");
    setenv("ARREARS_T_N", "7", 1);
    assert_int_equal(cm_settings_load(t, err, sizeof(err)), 0);
    assert_int_equal(cm_settings_int(t, "ARREARS_T_N"), 7);
    assert_int_equal(n, 7);
    assert_string_equal(cm_settings_str(t, "ARREARS_GROUP_ID"), "g");
    unsetenv("ARREARS_T_N");
}

/* <NAME>_FILE: the value is the file's contents, one final newline dropped */
static void test_settings_file(void **state)
{
    (void)state;
    int n = 0;
    const char *url = NULL;
    cm_setting t[] = {
        CM_SETTING_INT("ARREARS_T_N", "5", "n", 1, 10, &n),
        CM_SETTING_S("ARREARS_T_URL", "redis://127.0.0.1:1", "u", CM_SET_REDIS, 1, &url, NULL),
        CM_SETTINGS_END};
    char err[4096], path[] = "/tmp/test_settings_file.XXXXXX", *v = NULL;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "redis://arrears:pw@10.0.0.7:6380/1\r\n", 36), 36);
    close(fd);
    setenv("ARREARS_T_URL_FILE", path, 1);
    setenv("ARREARS_T_N_FILE", path, 1); /* not a number: named as ARREARS_T_N's problem */
    assert_int_equal(cm_settings_load(t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "ARREARS_T_N: "));
    assert_null(strstr(err, "ARREARS_T_URL"));
    unsetenv("ARREARS_T_N_FILE");
    assert_int_equal(cm_settings_load(t, err, sizeof(err)), 0);
    assert_string_equal(url, "redis://arrears:pw@10.0.0.7:6380/1");
    setenv("ARREARS_T_URL", "redis://127.0.0.1:2", 1); /* both: refused */
    assert_int_equal(cm_settings_load(t, err, sizeof(err)), -1);
    assert_non_null(
        strstr(err, "ARREARS_T_URL: set ARREARS_T_URL or ARREARS_T_URL_FILE, not both"));
    unsetenv("ARREARS_T_URL");
    unlink(path);
    assert_int_equal(cm_settings_load(t, err, sizeof(err)), -1); /* the file is gone */
    assert_non_null(strstr(err, "ARREARS_T_URL: cannot read /tmp/test_settings_file."));
    unsetenv("ARREARS_T_URL_FILE");
    /* the reader alone: no final newline to drop, and a NUL is refused */
    fd = mkstemp(strcpy(path, "/tmp/test_settings_file.XXXXXX"));
    assert_int_equal(write(fd, "a\0b", 3), 3);
    close(fd);
    assert_int_equal(cm_settings_file_value(path, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "holds a NUL byte"));
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "s3cret", 6), 6);
    close(fd);
    assert_int_equal(cm_settings_file_value(path, &v, err, sizeof err), 0);
    assert_string_equal(v, "s3cret");
    free(v);
    unlink(path);
}

/* ARREARS_KAFKA_<PROPERTY>_FILE: the property's value from a file */
static void test_kafka_file(void **state)
{
    (void)state;
    char err[512], got[64], path[] = "/tmp/test_kafka_file.XXXXXX";
    size_t len = sizeof got;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "pa55-w0rd\n", 10), 10);
    close(fd);
    setenv("ARREARS_KAFKA_SASL_PASSWORD_FILE", path, 1);
    setenv("ARREARS_KAFKA_SASL_USERNAME", "arrears", 1);
    rd_kafka_conf_t *conf = cm_kafka_conf_new("127.0.0.1:9092", "t", err, sizeof err);
    assert_non_null(conf);
    assert_int_equal(rd_kafka_conf_get(conf, "sasl.password", got, &len), RD_KAFKA_CONF_OK);
    assert_string_equal(got, "pa55-w0rd");
    len = sizeof got;
    assert_int_equal(rd_kafka_conf_get(conf, "socket.nagle.disable", got, &len), RD_KAFKA_CONF_OK);
    assert_string_equal(got, "true");
    rd_kafka_conf_destroy(conf);
    unlink(path);
    conf = cm_kafka_conf_new("127.0.0.1:9092", "t", err, sizeof err);
    assert_null(conf);
    assert_non_null(
        strstr(err, "ARREARS_KAFKA_SASL_PASSWORD_FILE: cannot read /tmp/test_kafka_file."));
    unsetenv("ARREARS_KAFKA_SASL_PASSWORD_FILE");
    unsetenv("ARREARS_KAFKA_SASL_USERNAME");
}

static void test_tz(void **state)
{
    (void)state;
    char err[256];
    const cm_tz *lon = cm_tz_get("Europe/London", err, sizeof(err));
    assert_non_null(lon);
    int64_t ms;
    /* winter: GMT; summer: BST (+1h), far future through the footer rule */
    cm_time_parse_rfc3339("2026-01-15T12:00:00Z", &ms);
    assert_int_equal(cm_tz_offset(lon, ms), 0);
    cm_time_parse_rfc3339("2026-07-15T12:00:00Z", &ms);
    assert_int_equal(cm_tz_offset(lon, ms), 3600);
    cm_time_parse_rfc3339("2090-07-15T12:00:00Z", &ms);
    assert_int_equal(cm_tz_offset(lon, ms), 3600);
    /* 2026 BST starts 2026-03-29 01:00 UTC */
    cm_time_parse_rfc3339("2026-03-29T00:59:59Z", &ms);
    assert_int_equal(cm_tz_offset(lon, ms), 0);
    cm_time_parse_rfc3339("2026-03-29T01:00:00Z", &ms);
    assert_int_equal(cm_tz_offset(lon, ms), 3600);
    const cm_tz *syd = cm_tz_get("Australia/Sydney", err, sizeof(err));
    assert_non_null(syd);
    cm_time_parse_rfc3339("2091-01-15T00:00:00Z", &ms);
    assert_int_equal(cm_tz_offset(syd, ms), 11 * 3600);
    cm_time_parse_rfc3339("2091-07-15T00:00:00Z", &ms);
    assert_int_equal(cm_tz_offset(syd, ms), 10 * 3600);
    /* 09:00 local in Chicago on 2026-07-01 is 14:00 UTC */
    int32_t day;
    cm_date_parse("2026-07-01", &day);
    const cm_tz *chi = cm_tz_get("America/Chicago", err, sizeof(err));
    assert_non_null(chi);
    char buf[40];
    cm_time_format_rfc3339(cm_tz_local_to_utc(chi, day, 9, 0), buf, sizeof(buf));
    assert_string_equal(buf, "2026-07-01T14:00:00.000Z");
    int32_t lday;
    int minute;
    cm_tz_local(chi, cm_tz_local_to_utc(chi, day, 9, 0), &lday, &minute);
    assert_int_equal(lday, day);
    assert_int_equal(minute, 540);
    assert_null(cm_tz_get("Mars/Olympus_Mons", err, sizeof(err)));
    assert_null(cm_tz_get("../../etc/passwd", err, sizeof(err)));
    /* the cache finds each zone by its own name among many (offsets on
     * 2026-01-15 from tzdata: Tokyo JST +9, Kolkata IST +5:30, New York
     * EST -5, Kathmandu +5:45, Chatham +13:45 in its summer) */
    static const char *names[] = {"Asia/Tokyo",     "Asia/Kolkata",     "America/New_York",
                                  "Asia/Kathmandu", "Pacific/Chatham",  "Europe/Berlin",
                                  "Africa/Lagos",   "America/Sao_Paulo"};
    static const int32_t offs[] = {9 * 3600,         19800, -5 * 3600, 20700,
                                   13 * 3600 + 2700, 3600,  3600,      -3 * 3600};
    const cm_tz *zs[8];
    for (int i = 0; i < 8; i++)
        assert_non_null(zs[i] = cm_tz_get(names[i], err, sizeof(err)));
    cm_time_parse_rfc3339("2026-01-15T12:00:00Z", &ms);
    for (int i = 0; i < 8; i++) {
        assert_ptr_equal(cm_tz_get(names[i], err, sizeof(err)), zs[i]);
        assert_int_equal(cm_tz_offset(zs[i], ms), offs[i]);
    }
    assert_ptr_equal(cm_tz_get("Europe/London", err, sizeof(err)), lon);
    assert_ptr_equal(cm_tz_get("Australia/Sydney", err, sizeof(err)), syd);
    assert_true(cm_tz_valid("UTC"));
    assert_false(cm_tz_valid(""));
}

static void test_metrics(void **state)
{
    (void)state;
    cm_metric *c = cm_metrics_counter("t_total{k=\"a\"}", "test counter");
    cm_metric *h = cm_metrics_histogram("t_seconds", "test histogram");
    cm_metric_add(c, 3);
    cm_metric_observe(h, 0.003);
    size_t len;
    char *out = cm_metrics_render(&len);
    assert_non_null(strstr(out, "# TYPE t_total counter"));
    assert_non_null(strstr(out, "t_total{k=\"a\"} 3"));
    assert_non_null(strstr(out, "t_seconds_bucket{le=\"0.005\"} 1"));
    assert_non_null(strstr(out, "t_seconds_bucket{le=\"0.0025\"} 0"));
    assert_non_null(strstr(out, "t_seconds_count 1"));
    free(out);
}

/* cm_redis_format_argv must produce exactly what hiredis's own formatter
 * does: empty, binary (NUL, CR/LF) and long arguments, 0 to many args. */
static void test_redis_format(void **state)
{
    (void)state;
    static char big[70000];
    memset(big, 'x', sizeof big);
    const char *a1[] = {"SET", "k", "v"};
    const char *a2[] = {"HSET", "", "f\r\n", "a\0b"};
    size_t l2[] = {4, 0, 3, 3};
    const char *a3[] = {"SET", "big", big};
    size_t l3[] = {3, 3, sizeof big};
    const char *a4[200];
    for (int i = 0; i < 200; i++)
        a4[i] = i % 2 ? "1234567890" : "EVALSHA";
    struct {
        int argc;
        const char **argv;
        const size_t *len;
    } cases[] = {{3, a1, NULL}, {4, a2, l2}, {3, a3, l3}, {200, a4, NULL}, {0, a1, NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *ours = NULL, *theirs = NULL;
        int n = cm_redis_format_argv(&ours, cases[i].argc, cases[i].argv, cases[i].len);
        int m = redisFormatCommandArgv(&theirs, cases[i].argc, cases[i].argv, cases[i].len);
        assert_true(n > 0);
        assert_int_equal(n, m);
        assert_memory_equal(ours, theirs, (size_t)n);
        free(ours);
        redisFreeCommand(theirs);
    }
}

/* cm_buf_bidi_close: what UAX #9 (X1-X6a) leaves open, closed innermost
 * first. LRE..RLO U+202A-U+202E (PDF U+202C), LRI RLI FSI U+2066-U+2068
 * (PDI U+2069); the UTF-8 below written by hand. */
#define RLO "\xE2\x80\xAE"
#define LRO "\xE2\x80\xAD"
#define RLE "\xE2\x80\xAB"
#define PDF "\xE2\x80\xAC"
#define RLI "\xE2\x81\xA7"
#define FSI "\xE2\x81\xA8"
#define PDI "\xE2\x81\xA9"
static void test_bidi_close(void **state)
{
    (void)state;
    static const struct {
        const char *in, *closers;
    } cases[] = {
        {"Ada Ltd", ""},        {"Mallory " RLO "gnp.exe", PDF}, {RLO RLI "a", PDI PDF},
        {FSI RLO "a" PDI, ""},  /* a PDI closes what is open inside its isolate */
        {RLO "a" PDF, ""},      /* balanced */
        {RLI "a" PDF, PDI},     /* a PDF does not close across an isolate */
        {PDI RLO, PDF},         /* a stray PDI closes nothing */
        {LRO RLE "x", PDF PDF}, /* nested */
        {"\xE2\x80", ""},       /* cut UTF-8: nothing read past the end */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cm_buf b = CM_BUF_INIT;
        assert_int_equal(cm_buf_bidi_close(&b, cases[i].in, strlen(cases[i].in)), 0);
        assert_string_equal(b.p ? b.p : "", cases[i].closers);
        cm_buf_free(&b);
    }
}

/* cm_str_join writes what snprintf("%s\x1f%s...") writes, at every size,
 * and returns the same length. */
static void test_str_join(void **state)
{
    (void)state;
    const char *parts[] = {"e", "acme", "", "billing-7", "INV-1"};
    for (size_t k = 1; k <= 5; k++) {
        char want[64];
        int wl = 0;
        for (size_t i = 0; i < k; i++)
            wl += snprintf(want + wl, sizeof want - (size_t)wl, "%s%s", i ? "\x1f" : "", parts[i]);
        for (size_t n = 1; n <= (size_t)wl + 2; n++) {
            char got[64], ref[64];
            memset(got, '#', sizeof got);
            snprintf(ref, n, "%s", want);
            size_t gl = cm_str_join(got, n, '\x1f', parts, k);
            assert_int_equal(gl, (size_t)wl);
            assert_string_equal(got, ref);
            assert_int_equal(got[n], '#'); /* nothing written past n bytes */
        }
    }
}

/* cm_str_ll reads what strtoll(s, NULL, 10) reads (the C standard's
 * rules, glibc as the reference): stated values first, then every input
 * of the table against strtoll itself. */
static void test_str_ll(void **state)
{
    (void)state;
    assert_true(cm_str_ll("0") == 0);
    assert_true(cm_str_ll("12345") == 12345);
    assert_true(cm_str_ll("-250050") == -250050);
    assert_true(cm_str_ll("  +7x") == 7);
    assert_true(cm_str_ll("9223372036854775807") == LLONG_MAX);
    assert_true(cm_str_ll("-9223372036854775808") == LLONG_MIN);
    assert_true(cm_str_ll("9223372036854775808") == LLONG_MAX);  /* saturates */
    assert_true(cm_str_ll("-9223372036854775809") == LLONG_MIN); /* saturates */
    assert_true(cm_str_ll("") == 0);
    assert_true(cm_str_ll("-") == 0);
    const char *cases[] = {"",
                           " ",
                           "+",
                           "-",
                           "--1",
                           "+-1",
                           "-0",
                           "007",
                           "\t\n\v\f\r 42",
                           "12,34",
                           "1e5",
                           "0x1f",
                           "=",
                           "99999999999999999999999",
                           "-99999999999999999999999",
                           "9223372036854775806",
                           "9223372036854775807",
                           "9223372036854775808",
                           "9223372036854775809",
                           "-9223372036854775807",
                           "-9223372036854775808",
                           "-9223372036854775809",
                           "922337203685477580",
                           "-922337203685477580",
                           "1796637745123",
                           "000000000000000000000000012",
                           "0000000000000000000009223372036854775807",
                           "0000000000000000000009223372036854775808",
                           "-0000000000000000000009223372036854775808",
                           "-0000000000000000000009223372036854775809",
                           "999999999999999999",
                           "1000000000000000000",
                           "-999999999999999999",
                           "20795",
                           "  -3:EUR"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long want = strtoll(cases[i], NULL, 10);
        if (cm_str_ll(cases[i]) != want)
            fail_msg("\"%s\": %lld, strtoll %lld", cases[i], cm_str_ll(cases[i]), want);
    }
    char b[32];
    for (long long v = -100000; v <= 100000; v += 7) {
        snprintf(b, sizeof b, "%lld", v);
        assert_true(cm_str_ll(b) == v);
    }
}

/* cm_jv_write against jansson's compact, order-preserving dump of the
 * same text (jansson is the reference: the notifier's webhook bodies and
 * task records were written by it before), and cm_jv_write_set against
 * json_object_set_new. */
static void check_write(const char *text, const char *key, const char *val)
{
    char err[200];
    cm_json *a = cm_json_new();
    assert_non_null(a);
    cm_jv *v = cm_json_parse(a, text, strlen(text), 64, err, sizeof err);
    if (!v)
        fail_msg("%s: %s", text, err);
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    if (key)
        json_object_set_new(j, key, json_string(val));
    char *want = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    for (char *u = want; (u = strstr(u, "\\u")) != NULL; u += 2)
        for (int k = 2; k < 6 && u[k]; k++) /* cm_buf_json_str writes lower-case hex */
            u[k] = (char)tolower((unsigned char)u[k]);
    cm_buf b = CM_BUF_INIT;
    assert_int_equal(cm_jv_write_set(&b, v, key, val), 0);
    cm_buf_addc(&b, 0);
    if (strcmp(b.p, want) != 0)
        fail_msg("%s: wrote %s, jansson %s", text, b.p, want);
    free(want);
    json_decref(j);
    cm_buf_free(&b);
    cm_json_free(a);
}

static void test_json_write(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{}",
        "[]",
        "null",
        "true",
        "false",
        "0",
        "-9223372036854775808",
        "9223372036854775807",
        "1.5",
        "2.0",
        "0.1",
        "1e300",
        "-2.5e-7",
        "\"\"",
        "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0001\\u001f\"",
        "\"caf\u00e9 \\u20ac \\ud83d\\ude00\"",
        "{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":{\"e\":{}},\"f\":[]}",
        "[[[[]]],{\"x\":[true,false]},\"s\",-1,3.25]",
        " { \"sp\" : [ 1 , 2 ] , \"z\" : \"\" } ",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        check_write(texts[i], NULL, NULL);
    /* set in place, where the member is; appended last where it is not */
    check_write("{\"a\":1,\"pay_link\":\"old\",\"b\":2}", "pay_link", "https://p/\"x\"");
    check_write("{\"a\":1,\"b\":{\"pay_link\":1}}", "pay_link", "new");
    check_write("{}", "task_id", "t/1");
}

/* The arena: aligned, non-overlapping blocks; a block larger than a chunk;
 * reset keeps only the first chunk and hands out its start again; owns
 * tells its blocks from other memory. */
static void test_arena(void **state)
{
    (void)state;
    cm_arena a = {0};
    assert_null(a.head);
    unsigned char *p[300];
    for (int i = 0; i < 300; i++) {
        size_t n = (size_t)(1 + i * 37 % 1000);
        p[i] = cm_arena_alloc(&a, n);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % _Alignof(max_align_t), 0);
        memset(p[i], i & 0xff, n);
        assert_true(cm_arena_owns(&a, p[i]));
    }
    for (int i = 0; i < 300; i++) /* nothing written over another block */
        for (size_t k = 0; k < (size_t)(1 + i * 37 % 1000); k++)
            assert_int_equal(p[i][k], i & 0xff);
    assert_non_null(a.head->next); /* 150 KB: more than the first chunk */
    unsigned char *big = cm_arena_alloc(&a, 3 * CM_ARENA_CHUNK);
    assert_non_null(big);
    memset(big, 7, 3 * CM_ARENA_CHUNK);
    assert_true(cm_arena_owns(&a, big + 3 * CM_ARENA_CHUNK - 1));
    int local = 0;
    assert_false(cm_arena_owns(&a, &local));
    cm_arena_reset(&a);
    assert_non_null(a.head);
    assert_null(a.head->next);
    assert_ptr_equal(cm_arena_alloc(&a, 8), p[0]); /* the first chunk again */
    cm_arena_free(&a);
    assert_null(a.head);
    assert_false(cm_arena_owns(&a, p[0]));
    cm_arena b = {0};
    assert_int_equal(cm_arena_init(&b, 100), 0);
    assert_non_null(cm_arena_alloc(&b, 96));
    assert_null(b.head->next);
    assert_non_null(cm_arena_alloc(&b, 96)); /* past 100 bytes: a second chunk */
    assert_non_null(b.head->next);
    cm_arena_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_json_write),
        cmocka_unit_test(test_str_join),
        cmocka_unit_test(test_str_ll),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_settings_file),
        cmocka_unit_test(test_kafka_file),
        cmocka_unit_test(test_tz),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_redis_format),
        cmocka_unit_test(test_log_masks),
        cmocka_unit_test(test_bidi_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
