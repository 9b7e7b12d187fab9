/* kafka.c -- librdkafka consumers and producers with at-least-once rules.
 *
 * See kafka.h for the contract. The consumer uses eager rebalancing with a
 * callback that commits stored offsets synchronously before giving up its
 * partitions, so a new owner starts exactly after the last durable message. */
#include "kafka.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "settings.h"

extern char **environ;

int cm_kafka_brokers_check(const char *brokers, char *errstr, size_t errlen)
{
    const char *p = brokers;
    if (!brokers || !*brokers) {
        snprintf(errstr, errlen, "empty broker list: expected host:port[,host:port...]");
        return -1;
    }
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *colon = NULL;
        for (size_t i = 0; i < n; i++)
            if (p[i] == ':')
                colon = p + i;
        if (n == 0 || !colon || colon == p || colon == p + n - 1) {
            snprintf(errstr, errlen, "'%.*s' in '%s' is not host:port", (int)n, p, brokers);
            return -1;
        }
        for (const char *h = p; h < colon; h++) {
            if (!isalnum((unsigned char)*h) && *h != '.' && *h != '-' && *h != '_' && *h != '[' &&
                *h != ']' && *h != ':') {
                snprintf(errstr, errlen, "'%.*s' in '%s': invalid host character '%c'", (int)n, p,
                         brokers, *h);
                return -1;
            }
        }
        long port = 0;
        for (const char *d = colon + 1; d < p + n; d++) {
            if (!isdigit((unsigned char)*d) || port > 65535) {
                port = -1;
                break;
            }
            port = port * 10 + (*d - '0');
        }
        if (port < 1 || port > 65535) {
            snprintf(errstr, errlen, "'%.*s' in '%s': port must be 1..65535", (int)n, p, brokers);
            return -1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        /* The callback's err is only __FATAL; the underlying error is what
         * the operator needs. cm_kafka_fatal() reports it to the loop. */
        char why[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
        cm_log_fields(CM_LOG_ERROR,
                      json_pack("{s:s,s:s}", "error", rd_kafka_err2name(err), "fatal",
                                rd_kafka_err2name(orig)),
                      "kafka: fatal: %s", orig ? why : reason);
        return;
    }
    cm_log_fields(CM_LOG_WARN, json_pack("{s:s}", "error", rd_kafka_err2name(err)), "kafka: %s",
                  reason);
}

int cm_kafka_fatal(rd_kafka_t *rk, char *errstr, size_t errlen)
{
    char why[512];
    if (!rk)
        return 0;
    rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk, why, sizeof why);
    if (!err)
        return 0;
    snprintf(errstr, errlen, "kafka %s fatal error (%s): %s",
             rd_kafka_type(rk) == RD_KAFKA_PRODUCER ? "producer" : "consumer",
             rd_kafka_err2name(err), why);
    return -1;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    cm_log_fields(level <= 3   ? CM_LOG_ERROR
                  : level <= 5 ? CM_LOG_WARN
                               : CM_LOG_DEBUG,
                  json_pack("{s:s}", "facility", fac), "librdkafka: %s", buf);
}

rd_kafka_conf_t *cm_kafka_conf_new(const char *brokers, const char *client_id, char *errstr,
                                   size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    static const char pfx[] = "ARREARS_KAFKA_";

    /* TCP_NODELAY, as Kafka's Java client always sets it: batching is
     * linger.ms's job, and Nagle's algorithm against the broker's delayed
     * ACK held each produce request up to 40 ms (the gateway answers a
     * request only once its records are acknowledged). An
     * ARREARS_KAFKA_SOCKET_NAGLE_DISABLE=false still overrides it. */
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, errlen) ||
        rd_kafka_conf_set(conf, "client.id", client_id ? client_id : "arrears", errstr, errlen) ||
        rd_kafka_conf_set(conf, "socket.nagle.disable", "true", errstr, errlen))
        goto fail;
    for (char **e = environ; *e; e++) {
        char prop[256];
        size_t j = 0;
        const char *eq = strchr(*e, '=');
        if (strncmp(*e, pfx, sizeof(pfx) - 1) != 0 || !eq)
            continue;
        const char *name = *e + sizeof(pfx) - 1, *value = eq + 1, *end = eq;
        char *file = NULL;
        if (((size_t)(eq - name) == 7 && strncmp(name, "BROKERS", 7) == 0) ||
            ((size_t)(eq - name) == 12 && strncmp(name, "BROKERS_FILE", 12) == 0))
            continue; /* the settings row ARREARS_KAFKA_BROKERS */
        if (eq - name > 5 && strncmp(eq - 5, "_FILE", 5) == 0) {
            /* ARREARS_KAFKA_SASL_PASSWORD_FILE=/run/secrets/pw: the
             * property sasl.password, its value the file's contents */
            char why[300];
            end = eq - 5;
            if (cm_settings_file_value(eq + 1, &file, why, sizeof why) != 0) {
                snprintf(errstr, errlen, "%.*s: %s", (int)(eq - *e), *e, why);
                goto fail;
            }
            value = file;
        }
        for (const char *c = name; c < end && j + 1 < sizeof(prop); c++) {
            if (c[0] == '_' && c[1] == '_') { /* "__" is a literal '_' */
                prop[j++] = '_';
                c++;
            } else {
                prop[j++] = *c == '_' ? '.' : (char)tolower((unsigned char)*c);
            }
        }
        prop[j] = 0;
        char why[512];
        rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, prop, value, why, sizeof(why));
        free(file); /* librdkafka copied it */
        if (res != RD_KAFKA_CONF_OK) {
            snprintf(errstr, errlen, "%.*s: %s", (int)(eq - *e), *e, why);
            goto fail;
        }
    }
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* ---- consumer ---------------------------------------------------------- */

typedef struct consumer_ctx {
    cm_kafka_rebalance_fn fn;
    void *opaque;
} consumer_ctx;

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    consumer_ctx *ctx = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        cm_log_fields(CM_LOG_INFO, json_pack("{s:i}", "partitions", parts->cnt),
                      "partitions assigned");
        if (ctx && ctx->fn)
            ctx->fn(ctx->opaque, 1, parts);
        rd_kafka_assign(rk, parts);
    } else {
        /* Everything stored so far is durable: commit it before the new
         * owner reads the committed offsets. */
        rd_kafka_resp_err_t cerr = rd_kafka_commit(rk, NULL, 0);
        if (cerr && cerr != RD_KAFKA_RESP_ERR__NO_OFFSET)
            cm_log_warn("commit on revoke failed: %s", rd_kafka_err2str(cerr));
        cm_log_fields(CM_LOG_INFO, json_pack("{s:i}", "partitions", parts->cnt),
                      "partitions revoked");
        if (ctx && ctx->fn)
            ctx->fn(ctx->opaque, 0, parts);
        rd_kafka_assign(rk, NULL);
    }
}

int cm_kafka_consumer_conf(rd_kafka_conf_t *conf, char *errstr, size_t errlen)
{
    if (getenv("ARREARS_KAFKA_QUEUED_MIN_MESSAGES"))
        return 0; /* the operator's, set by cm_kafka_conf_new */
    return rd_kafka_conf_set(conf, "queued.min.messages", CM_KAFKA_QUEUED_MIN_MESSAGES, errstr,
                             errlen) == RD_KAFKA_CONF_OK
               ? 0
               : -1;
}

rd_kafka_t *cm_kafka_consumer_new(const cm_kafka_consumer_opts *o, char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *subs = NULL;
    consumer_ctx *ctx = calloc(1, sizeof(*ctx));

    if (!ctx) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    ctx->fn = o->on_rebalance;
    ctx->opaque = o->opaque;
    conf = cm_kafka_conf_new(o->brokers, o->client_id, errstr, errlen);
    if (!conf || cm_kafka_consumer_conf(conf, errstr, errlen) < 0)
        goto fail;
    if (rd_kafka_conf_set(conf, "group.id", o->group_id, errstr, errlen) ||
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, errlen) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "true", errstr, errlen) ||
        rd_kafka_conf_set(conf, "auto.commit.interval.ms", "1000", errstr, errlen) ||
        rd_kafka_conf_set(conf, "auto.offset.reset",
                          o->auto_offset_reset ? o->auto_offset_reset : "earliest", errstr,
                          errlen) ||
        rd_kafka_conf_set(conf, "session.timeout.ms", "10000", errstr, errlen) ||
        rd_kafka_conf_set(conf, "heartbeat.interval.ms", "1000", errstr, errlen))
        goto fail;
    rd_kafka_conf_set_opaque(conf, ctx);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errlen);
    if (!rk)
        goto fail;
    conf = NULL; /* now owned by rk */
    rd_kafka_poll_set_consumer(rk);
    subs = rd_kafka_topic_partition_list_new(o->ntopics);
    for (int i = 0; i < o->ntopics; i++)
        rd_kafka_topic_partition_list_add(subs, o->topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err) {
        snprintf(errstr, errlen, "subscribe: %s", rd_kafka_err2str(err));
        rd_kafka_destroy(rk);
        free(ctx);
        return NULL;
    }
    return rk;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    free(ctx);
    return NULL;
}

void cm_kafka_consumer_close(rd_kafka_t *rk)
{
    if (!rk)
        return;
    consumer_ctx *ctx = rd_kafka_opaque(rk);
    rd_kafka_resp_err_t err = rd_kafka_commit(rk, NULL, 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        cm_log_warn("final commit: %s", rd_kafka_err2str(err));
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    free(ctx);
}

int cm_kafka_store(rd_kafka_t *rk, rd_kafka_message_t **msgs, size_t n, char *errstr, size_t errlen)
{
    if (n == 0)
        return 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++) {
        const char *t = rd_kafka_topic_name(msgs[i]->rkt);
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(l, t, msgs[i]->partition);
        if (!p)
            p = rd_kafka_topic_partition_list_add(l, t, msgs[i]->partition);
        if (p->offset < msgs[i]->offset + 1)
            p->offset = msgs[i]->offset + 1;
    }
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(rk, l);
    int ret = 0;
    if (err && err != RD_KAFKA_RESP_ERR__STATE) {
        snprintf(errstr, errlen, "offsets_store: %s", rd_kafka_err2str(err));
        ret = -1;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return ret;
}

size_t cm_kafka_poll_batch(rd_kafka_t *rk, rd_kafka_message_t **msgs, size_t max, int timeout_ms)
{
    size_t n = 0;
    while (n < max) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, n == 0 ? timeout_ms : 0);
        if (!m)
            break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                cm_log_warn("consume: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            if (n == 0)
                break;
            continue;
        }
        msgs[n++] = m;
    }
    return n;
}

int cm_kafka_assigned_count(rd_kafka_t *rk)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(rk, &l) || !l)
        return 0;
    int n = l->cnt;
    rd_kafka_topic_partition_list_destroy(l);
    return n;
}

int64_t cm_kafka_lag(rd_kafka_t *rk)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    int64_t lag = 0;
    int known = 0;
    if (rd_kafka_assignment(rk, &l) || !l)
        return -1;
    rd_kafka_position(rk, l);
    /* A partition with no position yet (assigned, nothing consumed since)
     * counts from the group's committed offset, not from its start: an
     * idle partition taken over in a rebalance has no lag. The committed
     * offsets are asked for only then, briefly (50 ms); unanswered, the
     * partition is left out. */
    rd_kafka_topic_partition_list_t *unk = rd_kafka_topic_partition_list_new(l->cnt ? l->cnt : 1);
    for (int i = 0; i < l->cnt; i++)
        if (l->elems[i].offset < 0)
            rd_kafka_topic_partition_list_add(unk, l->elems[i].topic, l->elems[i].partition);
    int committed_ok =
        unk->cnt == 0 || rd_kafka_committed(rk, unk, 50) == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; i < l->cnt; i++) {
        int64_t lo, hi, pos = l->elems[i].offset;
        if (rd_kafka_get_watermark_offsets(rk, l->elems[i].topic, l->elems[i].partition, &lo,
                                           &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0)
            continue;
        if (pos < 0) {
            rd_kafka_topic_partition_t *c =
                committed_ok ? rd_kafka_topic_partition_list_find(unk, l->elems[i].topic,
                                                                  l->elems[i].partition)
                             : NULL;
            if (!c || c->err)
                continue; /* not known */
            pos = c->offset >= 0 ? c->offset : lo;
        }
        lag += hi > pos ? hi - pos : 0;
        known++;
    }
    rd_kafka_topic_partition_list_destroy(unk);
    rd_kafka_topic_partition_list_destroy(l);
    return known ? lag : 0;
}

/* ---- producer ---------------------------------------------------------- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    cm_kafka_dr *dr = opaque;
    (void)rk;
    if (!dr)
        return;
    if (m->err) {
        dr->failed++;
        snprintf(dr->last_error, sizeof(dr->last_error), "%s", rd_kafka_err2str(m->err));
    } else {
        dr->ok++;
    }
}

rd_kafka_t *cm_kafka_producer_new(const char *brokers, const char *client_id, cm_kafka_dr *dr,
                                  int linger_ms, char *errstr, size_t errlen)
{
    if (dr)
        memset(dr, 0, sizeof(*dr));
    return cm_kafka_producer_new_cb(brokers, client_id, on_delivery, dr, linger_ms, errstr, errlen);
}

rd_kafka_t *cm_kafka_producer_new_cb(const char *brokers, const char *client_id,
                                     cm_kafka_delivery_fn on_report, void *opaque, int linger_ms,
                                     char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = cm_kafka_conf_new(brokers, client_id, errstr, errlen);
    rd_kafka_t *rk;
    char linger[32];
    if (!conf)
        return NULL;
    if (rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, errlen) ||
        rd_kafka_conf_set(conf, "acks", "all", errstr, errlen) ||
        rd_kafka_conf_set(conf, "compression.codec", "lz4", errstr, errlen) ||
        rd_kafka_conf_set(conf, "message.timeout.ms", "60000", errstr, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (linger_ms >= 0) {
        snprintf(linger, sizeof(linger), "%d", linger_ms);
        if (rd_kafka_conf_set(conf, "linger.ms", linger, errstr, errlen)) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_conf_set_dr_msg_cb(conf, on_report);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errlen);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return rk; /* conf now owned by rk */
}

int cm_kafka_produce(rd_kafka_t *rk, const char *topic, const char *key, size_t keylen,
                     const void *payload, size_t len, rd_kafka_headers_t *headers, char *errstr,
                     size_t errlen)
{
    return cm_kafka_produce_opaque(rk, topic, key, keylen, payload, len, headers, NULL, errstr,
                                   errlen);
}

int cm_kafka_produce_opaque(rd_kafka_t *rk, const char *topic, const char *key, size_t keylen,
                            const void *payload, size_t len, rd_kafka_headers_t *headers,
                            void *msg_opaque, char *errstr, size_t errlen)
{
    for (int tries = 0;; tries++) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
            RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
        if (!err)
            return 0; /* headers now owned by librdkafka */
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && tries < 600) {
            rd_kafka_poll(rk, 100);
            continue;
        }
        snprintf(errstr, errlen, "produce to %s: %s", topic, rd_kafka_err2str(err));
        if (headers)
            rd_kafka_headers_destroy(headers);
        return -1;
    }
}

int cm_kafka_wait_delivered(rd_kafka_t *rk, cm_kafka_dr *dr, int timeout_ms, char *errstr,
                            size_t errlen)
{
    rd_kafka_resp_err_t err = rd_kafka_flush(rk, timeout_ms);
    int ret = 0;
    if (err) {
        snprintf(errstr, errlen, "%d records not delivered within %d ms", rd_kafka_outq_len(rk),
                 timeout_ms);
        ret = -1;
    }
    if (dr && dr->failed) {
        snprintf(errstr, errlen, "%llu records failed: %s", (unsigned long long)dr->failed,
                 dr->last_error);
        dr->failed = 0;
        ret = -1;
    }
    return ret;
}

int cm_kafka_header(const rd_kafka_message_t *m, const char *name, char *out, size_t outlen)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t n;
    if (rd_kafka_message_headers(m, &h) || !h)
        return -1;
    if (rd_kafka_header_get_last(h, name, &v, &n))
        return -1;
    if (!v)
        n = 0;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, v, n);
    out[n] = 0;
    return 0;
}

/* The result event of an admin operation queued on q: waits up to 30 s;
 * NULL with errstr ("<what>: ...") when none came or it is an error. The
 * caller destroys the event. */
static rd_kafka_event_t *admin_result(rd_kafka_queue_t *q, const char *what, char *errstr,
                                      size_t errlen)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    if (!ev) {
        snprintf(errstr, errlen, "%s: no answer within 30 s", what);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(errstr, errlen, "%s: %s", what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

int cm_kafka_create_topics(const char *brokers, const char *const *names, int n, int partitions,
                           char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = cm_kafka_conf_new(brokers, "arrears-admin", errstr, errlen);
    rd_kafka_t *rk = NULL;
    rd_kafka_NewTopic_t **nt = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;
    int ret = -1;

    if (!conf)
        return -1;
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errlen);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    conf = NULL; /* now owned by rk */
    nt = calloc((size_t)n, sizeof(*nt));
    if (!nt)
        goto cleanup;
    for (int i = 0; i < n; i++) {
        nt[i] = rd_kafka_NewTopic_new(names[i], partitions, 1, errstr, errlen);
        if (!nt[i])
            goto cleanup;
    }
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, (size_t)n, NULL, q);
    if (!(ev = admin_result(q, "CreateTopics", errstr, errlen)))
        goto cleanup;
    size_t cnt;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            snprintf(errstr, errlen, "create %s: %s", rd_kafka_topic_result_name(res[i]),
                     rd_kafka_topic_result_error_string(res[i]));
            goto cleanup;
        }
    }
    ret = 0;
cleanup:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (q)
        rd_kafka_queue_destroy(q);
    if (nt) {
        for (int i = 0; i < n; i++)
            if (nt[i])
                rd_kafka_NewTopic_destroy(nt[i]);
        free(nt);
    }
    rd_kafka_destroy(rk);
    return ret;
}

rd_kafka_topic_partition_list_t *cm_kafka_committed(rd_kafka_t *rk, const char *topic,
                                                    int timeout_ms, char *errstr, size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;

    if (!rkt) {
        snprintf(errstr, errlen, "topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        return NULL;
    }
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    if (e) {
        snprintf(errstr, errlen, "topic %s: metadata: %s", topic, rd_kafka_err2str(e));
        goto cleanup;
    }
    if (md->topic_cnt != 1 ||
        (md->topics[0].err && md->topics[0].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)) {
        snprintf(
            errstr, errlen, "topic %s: %s", topic,
            rd_kafka_err2str(md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        goto cleanup;
    }
    int n = md->topics[0].err ? 0 : md->topics[0].partition_cnt;
    parts = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
    for (int i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id);
    if (n > 0 && (e = rd_kafka_committed(rk, parts, timeout_ms)) != 0) {
        snprintf(errstr, errlen, "topic %s: committed offsets: %s", topic, rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(parts);
        parts = NULL;
    }
cleanup:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return parts;
}

/* 0 when every partition of a DeleteConsumerGroupOffsets result went, else
 * -1 with the first error. */
static int offsets_deleted(rd_kafka_event_t *ev, const char *group, char *errstr, size_t errlen)
{
    size_t cnt;
    const rd_kafka_group_result_t **res = rd_kafka_DeleteConsumerGroupOffsets_result_groups(
        rd_kafka_event_DeleteConsumerGroupOffsets_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++) {
        const rd_kafka_error_t *ge = rd_kafka_group_result_error(res[i]);
        if (ge) {
            snprintf(errstr, errlen, "delete offsets of group %s: %s", group,
                     rd_kafka_error_string(ge));
            return -1;
        }
        const rd_kafka_topic_partition_list_t *pl = rd_kafka_group_result_partitions(res[i]);
        for (int j = 0; pl && j < pl->cnt; j++)
            if (pl->elems[j].err) {
                snprintf(errstr, errlen, "delete offsets of group %s, %s [%d]: %s", group,
                         pl->elems[j].topic, pl->elems[j].partition,
                         rd_kafka_err2str(pl->elems[j].err));
                return -1;
            }
    }
    return 0;
}

int cm_kafka_delete_offsets(const char *brokers, const char *group, const char *topic, char *errstr,
                            size_t errlen)
{
    rd_kafka_conf_t *conf = cm_kafka_conf_new(brokers, "arrears-admin", errstr, errlen);
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    int ret = -1;

    if (!conf)
        return -1;
    if (rd_kafka_conf_set(conf, "group.id", group, errstr, errlen) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errlen);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    if (!(parts = cm_kafka_committed(rk, topic, 10000, errstr, errlen)))
        goto cleanup;
    if (parts->cnt == 0) {
        ret = 0; /* no such topic: nothing committed */
        goto cleanup;
    }
    rd_kafka_DeleteConsumerGroupOffsets_t *del =
        rd_kafka_DeleteConsumerGroupOffsets_new(group, parts);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteConsumerGroupOffsets(rk, &del, 1, NULL, q);
    rd_kafka_event_t *ev = admin_result(q, "DeleteConsumerGroupOffsets", errstr, errlen);
    if (ev) {
        ret = offsets_deleted(ev, group, errstr, errlen);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteConsumerGroupOffsets_destroy(del);
cleanup:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
    return ret;
}
