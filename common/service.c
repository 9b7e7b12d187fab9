/* service.c -- the runtime every service's main() shares (service.h).
 *
 * One function, cm_service_main, runs a service from its def: settings,
 * bring-up, the poll loop calling the service's hooks, and teardown in the
 * reverse order. The loop stores a batch's offsets only after on_batch
 * says its effects are durable; a hook that keeps messages stores them
 * itself. Every step that fails is logged here, once. */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "statemark.h"

volatile sig_atomic_t cm_service_run = 1;

static void on_signal(int sig)
{
    (void)sig;
    cm_service_run = 0;
}

void cm_service_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

void cm_service_ready_init(cm_service_ready *r)
{
    atomic_init(&r->kafka_ok, 0);
    atomic_init(&r->redis_ok, 0);
    atomic_init(&r->extra_ok, 1);
    r->extra_why[0] = 0;
    r->info[0][0] = r->info[1][0] = 0;
    atomic_init(&r->info_cur, 0);
}

int cm_service_ready_fn(void *opaque, char *why, size_t whylen)
{
    cm_service_ready *r = opaque;
    if (!atomic_load(&r->kafka_ok)) {
        snprintf(why, whylen, "kafka: not connected or no partitions assigned");
        return 0;
    }
    if (!atomic_load(&r->redis_ok)) {
        snprintf(why, whylen, "redis: not connected");
        return 0;
    }
    if (!atomic_load(&r->extra_ok)) {
        snprintf(why, whylen, "%s", r->extra_why);
        return 0;
    }
    snprintf(why, whylen, "%s", r->info[atomic_load(&r->info_cur) & 1]);
    return 1;
}

void cm_service_ready_info(cm_service_ready *r, const char *text)
{
    int next = (atomic_load(&r->info_cur) + 1) & 1;
    snprintf(r->info[next], sizeof r->info[next], "%s", text);
    atomic_store(&r->info_cur, next);
}

void cm_service_topic(const cm_service *s, const char *suffix, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s", s->cfg->topic_prefix, suffix);
}

void cm_service_store(cm_service *s, rd_kafka_message_t **msgs, size_t n)
{
    char err[256];
    if (n && cm_kafka_store(s->consumer, msgs, n, err, sizeof(err)) != 0)
        cm_log_warn("store offsets: %s (the batch will be replayed)", err);
}

/* A consumer in the group only to commit what the service assigns itself
 * (manual offsets, no auto commit). */
static rd_kafka_t *consumer_manual(cm_service *s, char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = cm_kafka_conf_new(s->cfg->brokers, s->prog, errstr, errlen);
    if (!conf)
        return NULL;
    if (cm_kafka_consumer_conf(conf, errstr, errlen) < 0 ||
        rd_kafka_conf_set(conf, "group.id", s->cfg->group_id, errstr, errlen) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, errlen) ||
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, errlen) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errlen);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

static rd_kafka_t *consumer_new(cm_service *s, char *errstr, size_t errlen)
{
    const cm_service_def *d = s->def;
    char names[8][256];
    const char *topics[8];
    if (d->io.manual_assign)
        return consumer_manual(s, errstr, errlen);
    int n = 0;
    for (const char *p = d->io.inputs; *p;) {
        size_t len = strcspn(p, ",");
        char suffix[128];
        if (n == 8 || len == 0 || len >= sizeof suffix) {
            snprintf(errstr, errlen, "inputs \"%s\": 1 to 8 topic suffixes, comma-separated",
                     d->io.inputs);
            return NULL;
        }
        memcpy(suffix, p, len);
        suffix[len] = 0;
        cm_service_topic(s, suffix, names[n], sizeof(names[n]));
        topics[n] = names[n];
        n++;
        p += len + (p[len] == ',');
    }
    cm_kafka_consumer_opts co = {
        .brokers = s->cfg->brokers,
        .group_id = s->cfg->group_id,
        .client_id = s->prog,
        .topics = topics,
        .ntopics = n,
        .on_rebalance = d->io.on_rebalance,
        .opaque = d->app,
    };
    return cm_kafka_consumer_new(&co, errstr, errlen);
}

/* The state marker before start (statemark.h), retried once a second
 * while Redis or Kafka does not answer. 0: go on; 1: stopped by a signal;
 * -1: refused (logged). */
static int marker_start(cm_service *s)
{
    const cm_service_def *d = s->def;
    const char *prefix = *d->io.state_prefix;
    char suffix[128], topic[256], err[2048];
    snprintf(suffix, sizeof suffix, "%.*s", (int)strcspn(d->io.inputs, ","), d->io.inputs);
    cm_service_topic(s, suffix, topic, sizeof topic);
    cm_statemark_key(prefix, s->marker, sizeof s->marker);
    while (cm_service_run) {
        int v = cm_statemark_check(s->redis, s->consumer, s->marker, d->name, s->cfg->group_id,
                                   topic, suffix, prefix, err, sizeof err);
        if (v == CM_STATEMARK_REFUSE) {
            cm_log_error("%s", err);
            return -1;
        }
        if (v == CM_STATEMARK_WRITE)
            cm_log_info("first start of group %s on this Redis: state marker %s written",
                        s->cfg->group_id, s->marker);
        if (v >= 0) {
            s->mark_redis = cm_redis_connect(s->cfg->redis_url, 2000, err, sizeof err);
            if (!s->mark_redis)
                cm_log_warn("state marker: no connection for the periodic check: %s", err);
            return 0;
        }
        cm_log_warn("state marker check: %s (retrying in 1 s)", err);
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
    return 1;
}

/* Every 5 s while running: the marker must still be there. -1 when it is
 * gone (logged); a Redis that does not answer is the service's own calls'
 * business, not a verdict. */
static int marker_watch(cm_service *s, int64_t now)
{
    char err[256];
    if (!s->mark_redis || now - s->mark_last < 5000)
        return 0;
    s->mark_last = now;
    if (cm_statemark_exists(s->mark_redis, s->marker, err, sizeof err) != 0)
        return 0;
    cm_log_error("state lost: the state marker %s disappeared while running (Redis was "
                 "emptied or replaced); stopping. The next start refuses until an arrears-admin "
                 "recovery (docs/operations.md, State loss)",
                 s->marker);
    return -1;
}

/* Every second: readiness (partitions assigned) and the lag gauge. */
static void observe(cm_service *s, int64_t *last)
{
    int64_t now = cm_clock_real_ms();
    if (now - *last < 1000)
        return;
    *last = now;
    atomic_store(&s->ready.kafka_ok, cm_kafka_assigned_count(s->consumer) > 0);
    if (s->m_lag) {
        int64_t lag = cm_kafka_lag(s->consumer);
        if (lag >= 0)
            cm_metric_set(s->m_lag, (double)lag);
    }
}

/* The poll loop. 0 when stopped by a signal, -1 when a hook or the
 * producer failed. */
static int loop(cm_service *s)
{
    const cm_service_def *d = s->def;
    void *app = d->app;
    rd_kafka_message_t **msgs = NULL;
    int64_t last = 0;
    int rc = -1;
    char err[512];

    if (!d->loop.own_poll && s->consumer && !(msgs = calloc(s->batch_max, sizeof(*msgs)))) {
        cm_log_error("out of memory for batches of %zu", s->batch_max);
        return -1;
    }
    while (cm_service_run) {
        size_t n = 0;
        if (marker_watch(s, cm_clock_real_ms()) < 0)
            goto done; /* before polling: nothing in hand */
        if (msgs) {
            int wait = d->loop.poll_wait ? d->loop.poll_wait(s, app) : s->poll_ms;
            if (wait == CM_POLL_FAIL)
                goto done;
            if (wait >= 0)
                n = cm_kafka_poll_batch(s->consumer, msgs, s->batch_max, wait);
            if (n > 0 && n < s->batch_max && s->fill_ms > 0) {
                /* every batch costs round trips: fill it for a moment */
                int64_t until = cm_clock_real_ms() + s->fill_ms;
                while (n < s->batch_max && cm_clock_real_ms() < until)
                    n += cm_kafka_poll_batch(s->consumer, msgs + n, s->batch_max - n, 2);
            }
            observe(s, &last);
            if (n > 0)
                atomic_store(&s->ready.kafka_ok, 1);
        }
        int r = d->loop.on_batch ? d->loop.on_batch(s, app, msgs, n) : CM_BATCH_DONE;
        if (r < 0)
            goto done;
        if (r == CM_BATCH_DONE && n > 0) {
            cm_service_store(s, msgs, n);
            for (size_t i = 0; i < n; i++)
                rd_kafka_message_destroy(msgs[i]);
        }
        if (d->loop.on_tick && d->loop.on_tick(s, app) < 0)
            goto done;
        /* the one fatal-error policy (kafka.h): stop, the batch in hand
         * not stored, exit 1 */
        if (cm_kafka_fatal(s->producer, err, sizeof(err)) != 0 ||
            cm_kafka_fatal(s->consumer, err, sizeof(err)) != 0) {
            cm_log_error("stopping: %s", err);
            goto done;
        }
    }
    rc = 0;
done:
    free(msgs);
    return rc;
}

/* cm_settings_check_all_fn over def->life.configure. */
static int configure(void *opaque, char *errstr, size_t errlen)
{
    const cm_service_def *d = opaque;
    return d->life.configure ? d->life.configure(d->app, errstr, errlen) : 0;
}

int cm_service_main(const cm_service_def *d, int argc, char **argv)
{
    static cm_service svc; /* the one service of this process */
    cm_service *s = &svc;
    char err[1024] = "";
    int code = 0, rc = 1;

    memset(s, 0, sizeof(*s));
    s->def = d;
    s->cfg = d->common;
    s->batch_max = 1000;
    s->poll_ms = 100;
    snprintf(s->prog, sizeof(s->prog), "arrears-%s", d->name);
    if (cm_settings_args(argc, argv, s->prog, d->summary, d->settings, configure, (void *)d,
                         &code)) {
        if (d->life.cleanup)
            d->life.cleanup(d->app);
        return code;
    }
    cm_log_init(d->name, s->cfg->log_level);
    if (cm_clock_init(s->cfg->clock, err, sizeof(err)) != 0) {
        cm_log_error("ARREARS_CLOCK: %s", err);
        goto cleanup;
    }
    cm_service_signals();
    cm_service_ready_init(&s->ready);
    if (d->life.init && d->life.init(s, d->app, err, sizeof(err)) != 0) {
        cm_log_error("%s", err[0] ? err : "start failed");
        goto cleanup;
    }
    if (d->io.lag_metric)
        s->m_lag =
            cm_metrics_gauge(d->io.lag_metric, d->io.lag_help ? d->io.lag_help : "consumer lag");

    s->http = cm_http_start(s->cfg->http_addr, cm_service_ready_fn, &s->ready, err, sizeof(err));
    if (!s->http && err[0]) {
        cm_log_error("http listener: %s", err);
        goto cleanup;
    }
    if (d->io.no_redis) {
        /* nothing to connect: readiness counts Redis as up */
    } else if (d->io.redis_once) {
        s->redis = cm_redis_connect(s->cfg->redis_url, 5000, err, sizeof(err));
        if (!s->redis) {
            cm_log_error("redis: %s", err);
            goto cleanup;
        }
    } else {
        /* Redis may come up after us: retry until it answers or we stop */
        s->redis = cm_redis_connect_until(s->cfg->redis_url, &cm_service_run, err, sizeof(err));
        if (!s->redis)
            goto stopped;
    }
    atomic_store(&s->ready.redis_ok, 1);

    if (d->io.producer_new)
        s->producer = d->io.producer_new(s, d->app, err, sizeof(err));
    else
        s->producer = cm_kafka_producer_new(s->cfg->brokers, s->prog, &s->dr, 5, err, sizeof(err));
    if (!s->producer) {
        cm_log_error("kafka producer: %s", err);
        goto cleanup;
    }
    if (d->io.inputs && *d->io.inputs && !(s->consumer = consumer_new(s, err, sizeof(err)))) {
        cm_log_error("kafka consumer: %s", err);
        goto cleanup;
    }
    if (d->io.state_prefix && d->io.inputs && *d->io.inputs && s->consumer) {
        int m = marker_start(s);
        if (m < 0)
            goto cleanup;
        if (m > 0)
            goto stopped;
    }
    err[0] = 0;
    if (d->life.start && d->life.start(s, d->app, err, sizeof(err)) != 0) {
        cm_log_error("%s", err[0] ? err : "start failed");
        goto cleanup;
    }

    int failed = loop(s) != 0;
    if (d->loop.on_stop && d->loop.on_stop(s, d->app, failed) != 0)
        failed = 1;
    if (failed)
        goto cleanup;
stopped:
    rc = 0;
cleanup:
    if (s->consumer)
        cm_kafka_consumer_close(s->consumer); /* commits stored offsets */
    if (s->producer) {
        if (!d->io.producer_new)
            rd_kafka_flush(s->producer, 5000);
        rd_kafka_destroy(s->producer);
    }
    if (d->life.cleanup)
        d->life.cleanup(d->app);
    cm_redis_free(s->redis);
    cm_redis_free(s->mark_redis);
    cm_http_stop(s->http);
    return rc;
}
