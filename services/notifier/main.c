/* main.c -- arrears-notifier: commands in, email/SMS/webhooks out, contact
 * outcomes recorded.
 *
 * Settings, signals, the loop and teardown live here; the pipeline is
 * worker.c, sends are sender.c, rendering message.c/render.c, the
 * at-most-once claims claims.c (docs/notifier.md). */
/* transitional, until this main is on the runtime: unbound positional rows */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "claims.h"
#include "clock.h"
#include "config.h"
#include "http.h"
#include "kafka.h"
#include "log.h"
#include "outbox.h"
#include "redis.h"
#include "sender.h"
#include "service.h"
#include "settings.h"
#include "templates.h"
#include "worker.h"
#include "str.h"

static cm_setting settings[] = {
    CM_SETTINGS_COMMON("127.0.0.1:9103", "arrears-notifier"),
    {"ARREARS_TEMPLATES_DIR", "deploy/config/templates",
     "message templates: <tenant>/<locale>/<channel>/<id>.{subject,txt,html}", CM_SET_PATH, 0, 0,
     0, NULL, 0},
    {"ARREARS_TENANTS_FILE", "", "JSON of per-tenant provider overrides (docs/notifier.md)",
     CM_SET_PATH, 0, 0, 0, NULL, 0},
    {"ARREARS_SMTP_URL", "", "SMTP server smtp://host:port or smtps://host:port", CM_SET_URL, 0,
     0, 0, NULL, 0},
    {"ARREARS_SMTP_USER", "", "SMTP login (empty: no AUTH)", CM_SET_STR, 0, 0, 0, NULL, 0},
    {"ARREARS_SMTP_PASSWORD", "", "SMTP password", CM_SET_STR, 0, 0, 1, NULL, 0},
    {"ARREARS_SMTP_PASSWORD_FILE", "", "file holding the SMTP password", CM_SET_PATH, 0, 0, 0,
     NULL, 0},
    {"ARREARS_SMTP_FROM", "", "From: of emails, \"Name <addr>\" or addr", CM_SET_STR, 0, 0, 0,
     NULL, 0},
    {"ARREARS_SMTP_REPLY_TO", "", "Reply-To: of emails (empty: the From)", CM_SET_STR, 0, 0, 0,
     NULL, 0},
    {"ARREARS_SMTP_TLS", "try", "STARTTLS on smtp://: none, try or require", CM_SET_STR, 0, 0, 0,
     NULL, 0},
    {"ARREARS_UNSUBSCRIBE_URL", "",
     "one-click unsubscribe URL template ({tenant}, {customer}, {token})", CM_SET_STR, 0, 0, 0,
     NULL, 0},
    {"ARREARS_SMS_URL", "", "SMS API base URL (Twilio form: {base}/Accounts/{sid}/Messages.json)",
     CM_SET_URL, 0, 0, 0, NULL, 0},
    {"ARREARS_SMS_ACCOUNT", "", "SMS account sid (basic auth user)", CM_SET_STR, 0, 0, 0, NULL,
     0},
    {"ARREARS_SMS_TOKEN", "", "SMS auth token (basic auth password)", CM_SET_STR, 0, 0, 1, NULL,
     0},
    {"ARREARS_SMS_TOKEN_FILE", "", "file holding the SMS auth token", CM_SET_PATH, 0, 0, 0, NULL,
     0},
    {"ARREARS_SMS_FROM", "", "SMS sender number or id", CM_SET_STR, 0, 0, 0, NULL, 0},
    {"ARREARS_WEBHOOK_URL", "", "tenant webhook URL (per tenant: ARREARS_TENANTS_FILE)",
     CM_SET_URL, 0, 0, 0, NULL, 0},
    {"ARREARS_WEBHOOK_SECRET", "", "Standard Webhooks signing secret whsec_<base64>",
     CM_SET_STR, 0, 0, 1, NULL, 0},
    {"ARREARS_WEBHOOK_SECRET_FILE", "", "file holding the webhook secret", CM_SET_PATH, 0, 0, 0,
     NULL, 0},
    {"ARREARS_PAYLINK_URL", "", "pay link template, e.g. https://pay.example/{tenant}/{token}",
     CM_SET_STR, 0, 0, 0, NULL, 0},
    {"ARREARS_PAYLINK_SECRET", "", "HMAC key of pay-link tokens (JWT HS256)", CM_SET_STR, 0, 0,
     1, NULL, 0},
    {"ARREARS_PAYLINK_SECRET_FILE", "", "file holding the pay-link secret", CM_SET_PATH, 0, 0, 0,
     NULL, 0},
    {"ARREARS_MAX_INFLIGHT", "256", "sends in flight at once", CM_SET_INT, 1, 10000, 0, NULL, 0},
    {"ARREARS_MAX_QUEUED", "4096", "commands held in memory (then consumption pauses)",
     CM_SET_INT, 1, 1000000, 0, NULL, 0},
    {"ARREARS_RATE_EMAIL", "0", "emails per second (token bucket; 0 = unlimited)", CM_SET_INT, 0,
     1000000, 0, NULL, 0},
    {"ARREARS_RATE_SMS", "0", "SMS per second (0 = unlimited)", CM_SET_INT, 0, 1000000, 0, NULL,
     0},
    {"ARREARS_RATE_WEBHOOK", "0", "webhooks per second (0 = unlimited)", CM_SET_INT, 0, 1000000,
     0, NULL, 0},
    {"ARREARS_RETRY_ATTEMPTS", "5", "attempts per message, first included", CM_SET_INT, 1, 100,
     0, NULL, 0},
    {"ARREARS_RETRY_BASE", "1s", "first retry delay (doubles each retry, with jitter)",
     CM_SET_DURATION, 1, 3600000, 0, NULL, 0},
    {"ARREARS_RETRY_MAX", "5m", "longest retry delay (also caps Retry-After)", CM_SET_DURATION,
     1, 86400000, 0, NULL, 0},
    {"ARREARS_SEND_TIMEOUT", "30s", "one attempt, whole transfer", CM_SET_DURATION, 100,
     3600000, 0, NULL, 0},
    {"ARREARS_CONNECT_TIMEOUT", "10s", "connection set-up", CM_SET_DURATION, 100, 600000, 0,
     NULL, 0},
    {"ARREARS_CLAIM_TTL", "60s", "lifetime of a send claim not refreshed (a dead replica's)",
     CM_SET_DURATION, 1000, 3600000, 0, NULL, 0},
    {"ARREARS_OUTCOME_TTL", "30d", "how long outcomes are remembered per command id",
     CM_SET_DURATION, 60000, 3650LL * 86400000, 0, NULL, 0},
    {"ARREARS_NOTIFIER_KEY_PREFIX", "arrears:ntf:", "Redis key prefix of claims and outcomes",
     CM_SET_STR, 0, 0, 0, NULL, 0},
    {"ARREARS_COMMIT_INTERVAL", "100ms",
     "how long one Kafka transaction collects outcomes and offsets", CM_SET_DURATION, 1, 60000,
     0, NULL, 0},
    {"ARREARS_TRANSACTION_TIMEOUT", "10s",
     "transaction.timeout.ms: how long a dead replica's open transaction holds back readers",
     CM_SET_DURATION, 1000, 900000, 0, NULL, 0},
    {"ARREARS_UNHEALTHY_AFTER", "10", "transient failures in a row that make /readyz fail",
     CM_SET_INT, 1, 1000000, 0, NULL, 0},
    {"ARREARS_TLS_INSECURE", "false", "skip TLS certificate checks (tests only)", CM_SET_BOOL, 0,
     0, 0, NULL, 0},
    CM_SETTINGS_END};

static const char *S(const char *name)
{
    return cm_settings_str(settings, name);
}
static long long I(const char *name)
{
    return cm_settings_int(settings, name);
}

/* Global provider settings from the table (secrets from *_FILE when set). */
static int load_config(ntf_config *cfg, char *err, size_t errlen)
{
    static const struct {
        const char *field, *env;
    } map[] = {{"smtp_url", "ARREARS_SMTP_URL"},
               {"smtp_user", "ARREARS_SMTP_USER"},
               {"smtp_password", "ARREARS_SMTP_PASSWORD"},
               {"smtp_from", "ARREARS_SMTP_FROM"},
               {"reply_to", "ARREARS_SMTP_REPLY_TO"},
               {"unsubscribe_url", "ARREARS_UNSUBSCRIBE_URL"},
               {"sms_url", "ARREARS_SMS_URL"},
               {"sms_account", "ARREARS_SMS_ACCOUNT"},
               {"sms_token", "ARREARS_SMS_TOKEN"},
               {"sms_from", "ARREARS_SMS_FROM"},
               {"webhook_url", "ARREARS_WEBHOOK_URL"},
               {"webhook_secret", "ARREARS_WEBHOOK_SECRET"},
               {"paylink_url", "ARREARS_PAYLINK_URL"},
               {"paylink_secret", "ARREARS_PAYLINK_SECRET"}};
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        char fenv[80];
        snprintf(fenv, sizeof fenv, "%s_FILE", map[i].env);
        const char *v = S(map[i].env);
        char *fromfile = NULL;
        int has_file = 0;
        for (const cm_setting *s = settings; s->name; s++)
            if (strcmp(s->name, fenv) == 0)
                has_file = 1;
        if (has_file && *S(fenv)) {
            fromfile = ntf_read_secret_file(S(fenv), err, errlen);
            if (!fromfile)
                return -1;
            v = fromfile;
        }
        int rc = ntf_config_set(&cfg->global, map[i].field, v);
        free(fromfile);
        if (rc < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    if (ntf_config_check(&cfg->global, err, errlen) < 0) {
        /* "webhook_secret: ..." names the setting ARREARS_WEBHOOK_SECRET */
        char tmp[1024];
        size_t i = 0;
        for (; err[i] && err[i] != ':' && i < 200; i++)
            tmp[i] = err[i] == ',' || err[i] == ' ' ? err[i] : (char)(err[i] - 32 * (err[i] >= 'a' && err[i] <= 'z'));
        tmp[i] = 0;
        char named[1200];
        snprintf(named, sizeof named, "ARREARS_%s%s", tmp, err + i);
        cm_strlcpy(err, named, errlen);
        return -1;
    }
    const char *tls = S("ARREARS_SMTP_TLS");
    if (strcmp(tls, "none") && strcmp(tls, "try") && strcmp(tls, "require")) {
        snprintf(err, errlen, "ARREARS_SMTP_TLS: must be none, try or require");
        return -1;
    }
    return ntf_config_load_tenants(cfg, S("ARREARS_TENANTS_FILE"), err, errlen);
}

/* The checks beyond the table's rules: templates load, provider settings
 * are consistent. Prints and returns 1 on a problem. */
static int check_more(const char *prog)
{
    char err[1024];
    ntf_config cfg;
    int bad = 0;
    if (load_config(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "%s: configuration invalid:\n%s\n", prog, err);
        bad = 1;
    }
    ntf_config_free(&cfg);
    ntf_templates *t = ntf_templates_load(S("ARREARS_TEMPLATES_DIR"), err, sizeof err);
    if (!t) {
        fprintf(stderr, "%s: configuration invalid:\nARREARS_TEMPLATES_DIR: %s\n", prog, err);
        bad = 1;
    }
    ntf_templates_free(t);
    return bad;
}

static void make_owner(char *out, size_t len)
{
    char host[128] = "host";
    gethostname(host, sizeof host - 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long r = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 20);
    snprintf(out, len, "%.60s:%d:%lx", host, (int)getpid(), r);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    const char *prog = "arrears-notifier";
    int code = 0;
    char err[1024];
    ntf_config cfg;
    int cfg_loaded = 0;
    ntf_templates *tpl = NULL;
    cm_redis *redis = NULL;
    ntf_claims *claims = NULL;
    ntf_sender *sender = NULL;
    ntf_worker *worker = NULL;
    rd_kafka_t *producer = NULL, *consumer = NULL;
    cm_http *http = NULL;
    cm_service_ready ready;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check-config") == 0 && cm_settings_load(settings, err, sizeof err) == 0 &&
            check_more(prog))
            return 1;
    }
    if (cm_settings_main(argc, argv, prog,
                         "sends the scheduler's commands as email, SMS and webhooks and records "
                         "each outcome on contacts",
                         settings, &code))
        return code;
    cm_log_init("notifier", S("ARREARS_LOG_LEVEL"));
    if (cm_clock_init(S("ARREARS_CLOCK"), err, sizeof err) < 0) {
        cm_log_error("ARREARS_CLOCK: %s", err);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    cm_service_signals();
    cm_service_ready_init(&ready);
    code = 1;

    cfg_loaded = 1;
    if (load_config(&cfg, err, sizeof err) < 0) {
        cm_log_error("configuration: %s", err);
        goto cleanup;
    }
    tpl = ntf_templates_load(S("ARREARS_TEMPLATES_DIR"), err, sizeof err);
    if (!tpl) {
        cm_log_error("templates: %s", err);
        goto cleanup;
    }
    cm_log_fields(CM_LOG_INFO,
                  json_pack("{s:s,s:i}", "dir", S("ARREARS_TEMPLATES_DIR"), "files",
                            (int)ntf_templates_count(tpl)),
                  "templates loaded");

    http = cm_http_start(S("ARREARS_HTTP_ADDR"), cm_service_ready_fn, &ready, err, sizeof err);
    if (!http && err[0]) {
        cm_log_error("http listener: %s", err);
        goto cleanup;
    }
    redis = cm_redis_connect(S("ARREARS_REDIS_URL"), 5000, err, sizeof err);
    if (!redis) {
        cm_log_error("redis: %s", err);
        goto cleanup;
    }
    atomic_store(&ready.redis_ok, 1);
    char owner[128];
    make_owner(owner, sizeof owner);
    claims = ntf_claims_new(redis, S("ARREARS_NOTIFIER_KEY_PREFIX"), owner,
                            I("ARREARS_CLAIM_TTL"), I("ARREARS_OUTCOME_TTL") / 1000);
    const char *tls = S("ARREARS_SMTP_TLS");
    ntf_sender_opts so = {
        .max_connections = (int)I("ARREARS_MAX_INFLIGHT"),
        .connect_timeout_ms = (long)I("ARREARS_CONNECT_TIMEOUT"),
        .timeout_ms = (long)I("ARREARS_SEND_TIMEOUT"),
        .smtp_tls = strcmp(tls, "require") == 0 ? 2 : strcmp(tls, "try") == 0 ? 1 : 0,
        .insecure = (int)I("ARREARS_TLS_INSECURE"),
    };
    sender = ntf_sender_new(&so, err, sizeof err);
    if (!claims || !sender) {
        cm_log_error("start: %s", claims ? err : "out of memory");
        goto cleanup;
    }
    /* transactional.id: the group id (ACLs grant its prefix) and this
     * process start; KIP-447 fences by group generation, not by this id */
    char txn_id[256];
    snprintf(txn_id, sizeof txn_id, "%s-%s", S("ARREARS_GROUP_ID"), owner);
    producer = ntf_outbox_new(S("ARREARS_KAFKA_BROKERS"), "arrears-notifier", txn_id,
                              (int)I("ARREARS_TRANSACTION_TIMEOUT"), 5, err, sizeof err);
    if (!producer) {
        cm_log_error("kafka producer: %s", err);
        goto cleanup;
    }
    char contacts[256], tasks[256], commands[256];
    cm_settings_topic(settings, "contacts", contacts, sizeof contacts);
    cm_settings_topic(settings, "tasks", tasks, sizeof tasks);
    cm_settings_topic(settings, "commands", commands, sizeof commands);
    ntf_worker_opts wo = {
        .producer = producer,
        .claims = claims,
        .sender = sender,
        .cfg = &cfg,
        .tpl = tpl,
        .contacts_topic = contacts,
        .tasks_topic = tasks,
        .max_inflight = (int)I("ARREARS_MAX_INFLIGHT"),
        .max_queued = (int)I("ARREARS_MAX_QUEUED"),
        .retry = {(int)I("ARREARS_RETRY_ATTEMPTS"), I("ARREARS_RETRY_BASE"),
                  I("ARREARS_RETRY_MAX")},
        .rate = {(double)I("ARREARS_RATE_EMAIL"), (double)I("ARREARS_RATE_SMS"),
                 (double)I("ARREARS_RATE_WEBHOOK")},
        .burst = {(double)I("ARREARS_RATE_EMAIL"), (double)I("ARREARS_RATE_SMS"),
                  (double)I("ARREARS_RATE_WEBHOOK")},
        .unhealthy_after = (int)I("ARREARS_UNHEALTHY_AFTER"),
        .ready = &ready,
        .commit_interval_ms = I("ARREARS_COMMIT_INTERVAL"),
        .txn_timeout_ms = (int)I("ARREARS_TRANSACTION_TIMEOUT"),
    };
    if (wo.max_queued < wo.max_inflight)
        wo.max_queued = wo.max_inflight;
    worker = ntf_worker_new(&wo, err, sizeof err);
    if (!worker) {
        cm_log_error("worker: %s", err);
        goto cleanup;
    }
    const char *topics[1] = {commands};
    cm_kafka_consumer_opts co = {
        .brokers = S("ARREARS_KAFKA_BROKERS"),
        .group_id = S("ARREARS_GROUP_ID"),
        .client_id = "arrears-notifier",
        .topics = topics,
        .ntopics = 1,
        .on_rebalance = ntf_worker_on_rebalance,
        .opaque = worker,
    };
    consumer = cm_kafka_consumer_new(&co, err, sizeof err);
    if (!consumer) {
        cm_log_error("kafka consumer: %s", err);
        goto cleanup;
    }
    ntf_worker_set_consumer(worker, consumer);
    cm_log_fields(CM_LOG_INFO,
                  json_pack("{s:s,s:s,s:i,s:s}", "topic", commands, "group",
                            S("ARREARS_GROUP_ID"), "max_inflight", wo.max_inflight, "owner",
                            owner),
                  "notifier started");

    int failed = 0;
    while (cm_service_run && !failed)
        failed = ntf_worker_step(worker, 1) < 0;
    if (failed) {
        cm_log_error("stopping: the Kafka transaction failed for good; the group replays "
                     "this replica's commands");
        goto cleanup;
    }

    cm_log_info("stopping: finishing sends in flight");
    ntf_worker_drain(worker, mono_ms() + 7000);
    if (rd_kafka_flush(producer, 1000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        cm_log_warn("final flush: %d records not delivered", rd_kafka_outq_len(producer));
    code = 0;
cleanup:
    if (consumer)
        cm_kafka_consumer_close(consumer);
    if (producer) /* aborts a transaction still open */
        rd_kafka_destroy(producer);
    ntf_sender_free(sender); /* before the worker: transfers borrow its requests */
    ntf_worker_free(worker);
    ntf_claims_free(claims);
    cm_redis_free(redis);
    cm_http_stop(http);
    ntf_templates_free(tpl);
    if (cfg_loaded)
        ntf_config_free(&cfg);
    curl_global_cleanup();
    return code;
}
