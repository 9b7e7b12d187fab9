/* setup.c -- the notifier's parts built from its settings (setup.h),
 * moved out of main.c with their behaviour unchanged. */
#include "setup.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "str.h"
#include "clock.h"
#include "log.h"
#include "outbox.h"
#include "settings.h"

int ntf_setup_check_tls(const char *v, char *errstr, size_t errlen)
{
    if (!strcmp(v, "none") || !strcmp(v, "try") || !strcmp(v, "require"))
        return 0;
    snprintf(errstr, errlen, "must be none, try or require");
    return -1;
}

/* Global provider settings (secrets from *_FILE when set). */
static int load_config(const ntf_settings *o, ntf_config *cfg, char *err, size_t errlen)
{
    const struct {
        const char *field, *value, *file;
    } map[] = {{"smtp_url", o->smtp_url, NULL},
               {"smtp_user", o->smtp_user, NULL},
               {"smtp_password", o->smtp_password, o->smtp_password_file},
               {"smtp_from", o->smtp_from, NULL},
               {"reply_to", o->smtp_reply_to, NULL},
               {"unsubscribe_url", o->unsubscribe_url, NULL},
               {"sms_url", o->sms_url, NULL},
               {"sms_account", o->sms_account, NULL},
               {"sms_token", o->sms_token, o->sms_token_file},
               {"sms_from", o->sms_from, NULL},
               {"webhook_url", o->webhook_url, NULL},
               {"webhook_secret", o->webhook_secret, o->webhook_secret_file},
               {"paylink_url", o->paylink_url, NULL},
               {"paylink_secret", o->paylink_secret, o->paylink_secret_file},
               {"gateway_url", o->gateway_url, NULL},
               {"link_key_id", o->link_key_id, NULL},
               {"link_valid_days", o->link_valid_days, NULL}};
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const char *v = map[i].value;
        char *fromfile = NULL;
        if (map[i].file && *map[i].file) {
            if (cm_settings_file_value(map[i].file, &fromfile, err, errlen) < 0)
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
            tmp[i] = err[i] == ',' || err[i] == ' '
                         ? err[i]
                         : (char)(err[i] - 32 * (err[i] >= 'a' && err[i] <= 'z'));
        tmp[i] = 0;
        char named[1200];
        snprintf(named, sizeof named, "ARREARS_%.200s%.900s", tmp, err + i);
        cm_strlcpy(err, named, errlen);
        return -1;
    }
    return ntf_config_load_tenants(cfg, o->tenants_file, err, errlen);
}

int ntf_setup_configure(void *app, char *errstr, size_t errlen)
{
    ntf_app *a = app;
    char err[1024];
    int bad = 0;
    size_t used = 0;
    a->cfg_loaded = 1;
    if (load_config(&a->o, &a->cfg, err, sizeof err) < 0) {
        used += (size_t)snprintf(errstr, errlen, "%s", err);
        bad = 1;
    }
    a->tpl = ntf_templates_load(a->o.templates_dir, err, sizeof err);
    if (!a->tpl) {
        if (used < errlen)
            snprintf(errstr + used, errlen - used, "%sARREARS_TEMPLATES_DIR: %s", used ? "\n" : "",
                     err);
        bad = 1;
    }
    return bad ? -1 : 0;
}

int ntf_setup_init(cm_service *s, void *app, char *errstr, size_t errlen)
{
    ntf_app *a = app;
    (void)errstr, (void)errlen;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    a->curl = 1;
    cm_log_fields(CM_LOG_INFO,
                  json_pack("{s:s,s:i}", "dir", a->o.templates_dir, "files",
                            (int)ntf_templates_count(a->tpl)),
                  "templates loaded");
    cm_service_topic(s, "contacts", a->contacts, sizeof a->contacts);
    cm_service_topic(s, "tasks", a->tasks, sizeof a->tasks);
    cm_service_topic(s, "commands", a->commands, sizeof a->commands);
    return 0;
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

rd_kafka_t *ntf_setup_producer(cm_service *s, void *app, char *errstr, size_t errlen)
{
    ntf_app *a = app;
    char txn_id[256];
    make_owner(a->owner, sizeof a->owner);
    /* transactional.id: the group id (ACLs grant its prefix) and this
     * process start; KIP-447 fences by group generation, not by this id */
    snprintf(txn_id, sizeof txn_id, "%s-%s", a->o.c.group_id, a->owner);
    return ntf_outbox_new(a->o.c.brokers, s->prog, txn_id, a->o.txn_timeout, 5, errstr, errlen);
}

void ntf_setup_rebalance(void *app, int assigned, const rd_kafka_topic_partition_list_t *parts)
{
    ntf_app *a = app;
    if (a->worker)
        ntf_worker_on_rebalance(a->worker, assigned, parts);
}

int ntf_setup_start(cm_service *s, void *app, char *errstr, size_t errlen)
{
    ntf_app *a = app;
    const ntf_settings *o = &a->o;
    if (cm_redis_prefix_check(cm_redis_is_cluster(s->redis), "ARREARS_NOTIFIER_KEY_PREFIX",
                              o->key_prefix, "{<command id>}", errstr, errlen) < 0)
        return -1;
    a->claims =
        ntf_claims_new(s->redis, o->key_prefix, a->owner, o->claim_ttl, o->outcome_ttl / 1000);
    /* the email gate's connection: the sender thread's own (worker.h) */
    a->gate_redis = cm_redis_connect(o->c.redis_url, 5000, errstr, errlen);
    if (!a->gate_redis)
        return -1;
    a->gate_claims =
        ntf_claims_new(a->gate_redis, o->key_prefix, a->owner, o->claim_ttl, o->outcome_ttl / 1000);
    ntf_sender_opts so = {
        .max_connections = o->max_inflight,
        .connect_timeout_ms = (long)o->connect_timeout,
        .timeout_ms = (long)o->send_timeout,
        .smtp_tls = strcmp(o->smtp_tls, "require") == 0 ? 2 : strcmp(o->smtp_tls, "try") == 0,
        .insecure = o->tls_insecure,
    };
    a->sender = ntf_sender_new(&so, errstr, errlen);
    if (!a->claims || !a->gate_claims || !a->sender) {
        if (!a->claims || !a->gate_claims)
            snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    double rate[3] = {o->rate_email, o->rate_sms, o->rate_webhook};
    ntf_worker_opts wo = {
        .producer = s->producer,
        .claims = a->claims,
        .gate_claims = a->gate_claims,
        .sender = a->sender,
        .cfg = &a->cfg,
        .tpl = a->tpl,
        .contacts_topic = a->contacts,
        .tasks_topic = a->tasks,
        .max_inflight = o->max_inflight,
        .max_queued = o->max_queued < o->max_inflight ? o->max_inflight : o->max_queued,
        .retry = {o->retry_attempts, o->retry_base, o->retry_max},
        .rate = {rate[0], rate[1], rate[2]},
        .burst = {rate[0], rate[1], rate[2]},
        .unhealthy_after = o->unhealthy_after,
        .ready = &s->ready,
        .commit_interval_ms = o->commit_interval,
        .txn_timeout_ms = o->txn_timeout,
    };
    a->worker = ntf_worker_new(&wo, errstr, errlen);
    if (!a->worker)
        return -1;
    ntf_worker_set_consumer(a->worker, s->consumer);
    ntf_sender_set_gate(a->sender, ntf_worker_gate, ntf_worker_gate_kept,
                        a->worker); /* before any send */
    cm_log_fields(CM_LOG_INFO,
                  json_pack("{s:s,s:s,s:i,s:s}", "topic", a->commands, "group", o->c.group_id,
                            "max_inflight", wo.max_inflight, "owner", a->owner),
                  "notifier started");
    return 0;
}

int ntf_setup_tick(cm_service *s, void *app)
{
    (void)s;
    return ntf_worker_step(((ntf_app *)app)->worker, 1) < 0 ? -1 : 0;
}

int ntf_setup_stop(cm_service *s, void *app, int failed)
{
    ntf_app *a = app;
    if (failed) {
        cm_log_error("stopping: the Kafka transaction failed for good; the group replays "
                     "this replica's commands");
        return -1;
    }
    cm_log_info("stopping: finishing sends in flight");
    ntf_worker_drain(a->worker, cm_mono_ms() + 7000);
    if (rd_kafka_flush(s->producer, 1000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        cm_log_warn("final flush: %d records not delivered", rd_kafka_outq_len(s->producer));
    return 0;
}

void ntf_setup_cleanup(void *app)
{
    ntf_app *a = app;
    ntf_sender_free(a->sender); /* before the worker: transfers borrow its requests */
    ntf_worker_free(a->worker);
    ntf_claims_free(a->claims);
    ntf_claims_free(a->gate_claims);
    cm_redis_free(a->gate_redis);
    ntf_templates_free(a->tpl);
    if (a->cfg_loaded)
        ntf_config_free(&a->cfg);
    if (a->curl)
        curl_global_cleanup();
    memset(a, 0, sizeof *a);
}
