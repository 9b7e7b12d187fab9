/* main.c -- arrears-gateway: CloudEvents over HTTP -> inbound.
 *
 * Settings and hooks of the service runtime (common/service.h). The
 * gateway consumes nothing and holds no state: the public listener
 * (listen.c) answers POST /v1/events (handle.c) and the provider webhooks
 * (webhooks.h) once the idempotent producer's records are acknowledged
 * (publish.c); the loop serves the delivery reports. SIGTERM stops
 * accepting, lets requests in hand finish, then flushes the producer.
 * docs/gateway.md is the endpoint's contract. */
#include "gateway.h"
#include "listen.h"
#include "pages.h"
#include "proxy.h"
#include "publish.h"
#include "webhooks.h"

#include "clock.h"
#include "log.h"
#include "metric_catalog.h"
#include "service.h"

#include <stdio.h>

static struct {
    cm_settings_common c;
    const char *addr, *tokens_file, *secrets_file, *tenants_file;
    const char *twilio_file, *public_url; /* webhooks.h */
    const char *trusted_proxies;          /* proxy.h */
    gw_proxies proxies;
    char public_default[300];
    int rate, delivery_timeout, page_rate, linger;
    gw_pages pages;
    size_t max_body, batch_max;
    char inbound[256];
    gw_auth auth;
    gw_publisher pub;
    gw_config cfg;
    gw_listener *l;
    cm_metric *m[CT_M_COUNT];
} app;

static int check_proxies(const char *v, char *errstr, size_t errlen)
{
    gw_proxies p;
    return gw_proxies_parse(v, &p, errstr, errlen);
}

static cm_setting table[] = {
    CM_SETTINGS_COMMON_BOUND(&app.c, "127.0.0.1:9105", "arrears-gateway"),
    CM_SETTING_S("ARREARS_GATEWAY_ADDR", "127.0.0.1:8480",
                 "public listener host:port (POST /v1/events)", CM_SET_ADDR, 0, &app.addr, NULL),
    CM_SETTING_S("ARREARS_GATEWAY_TOKENS_FILE", NULL,
                 "credentials, one line each: TENANT SHA256-HEX-OF-TOKEN", CM_SET_PATH, 0,
                 &app.tokens_file, NULL),
    CM_SETTING_PATH("ARREARS_GATEWAY_WEBHOOK_SECRETS_FILE", "",
                    "Standard Webhooks secrets, one line each: TENANT whsec_<base64> (empty: none)",
                    &app.secrets_file),
    CM_SETTING_PATH("ARREARS_GATEWAY_TWILIO_FILE", "",
                    "Twilio auth tokens (SMS webhooks), one line each: TENANT AUTH_TOKEN (empty: "
                    "none, every SMS webhook is 403)",
                    &app.twilio_file),
    CM_SETTING_URL("ARREARS_GATEWAY_PUBLIC_URL", "",
                   "the gateway's public scheme://host[:port], as Twilio calls it and signs it "
                   "(empty: http://ARREARS_GATEWAY_ADDR)",
                   &app.public_url),
    CM_SETTING_INT("ARREARS_GATEWAY_RATE", "1000", "events per second per tenant (burst the same)",
                   1, 1000000, &app.rate),
    CM_SETTING_INT("ARREARS_GATEWAY_MAX_BODY", "4194304", "largest request body (bytes)", 1024,
                   64LL << 20, &app.max_body),
    CM_SETTING_INT("ARREARS_GATEWAY_BATCH_MAX", "1000", "most events in one batch request", 1,
                   100000, &app.batch_max),
    CM_SETTING_DURATION("ARREARS_GATEWAY_DELIVERY_TIMEOUT", "10s",
                        "longest wait for the broker's acknowledgements before a 503", 100, 120000,
                        &app.delivery_timeout),
    CM_SETTING_DURATION("ARREARS_GATEWAY_LINGER", "0ms",
                        "how long the producer holds a request's events to batch them with "
                        "others' (librdkafka linger.ms); every request waits it out",
                        0, 1000, &app.linger),
    CM_SETTING_PATH("ARREARS_GATEWAY_TENANTS_FILE", "",
                    "self-service page and unsubscribe settings per tenant, JSON (empty: /p and /u "
                    "answer 404)",
                    &app.tenants_file),
    CM_SETTING_INT("ARREARS_GATEWAY_PAGE_RATE", "5",
                   "/p and /u requests per second per client address and per token (burst the "
                   "same)",
                   1, 10000, &app.page_rate),
    CM_SETTING_CHECKED("ARREARS_GATEWAY_TRUSTED_PROXIES", "",
                       "reverse proxies (IPv4 addresses, CIDR ranges, comma-separated) whose "
                       "X-Forwarded-For names the client of /p and /u (empty: none, the peer is "
                       "the client)",
                       &app.trusted_proxies, check_proxies),
    CM_SETTINGS_END};

static int configure(void *a, char *errstr, size_t errlen)
{
    (void)a;
    if (!app.addr[0]) {
        snprintf(errstr, errlen, "ARREARS_GATEWAY_ADDR: must not be empty");
        return -1;
    }
    char why[200];
    if (gw_proxies_parse(app.trusted_proxies, &app.proxies, why, sizeof why) != 0) {
        snprintf(errstr, errlen, "ARREARS_GATEWAY_TRUSTED_PROXIES: %s", why);
        return -1;
    }
    gw_auth_init(&app.auth);
    if (gw_auth_load(&app.auth, app.tokens_file, 0, errstr, errlen) != 0)
        return -1;
    if (app.secrets_file[0] && gw_auth_load(&app.auth, app.secrets_file, 1, errstr, errlen) != 0)
        return -1;
    if (app.twilio_file[0] &&
        gw_auth_load(&app.auth, app.twilio_file, GW_CRED_TWILIO, errstr, errlen) != 0)
        return -1;
    snprintf(app.public_default, sizeof app.public_default, "http://%s", app.addr);
    if (gw_pages_init(&app.pages, app.page_rate) != 0) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    return app.tenants_file[0] ? gw_pages_load(&app.pages, app.tenants_file, errstr, errlen) : 0;
}

static int init(cm_service *s, void *a, char *errstr, size_t errlen)
{
    (void)a, (void)errstr, (void)errlen;
    cm_service_topic(s, "inbound", app.inbound, sizeof app.inbound);
    ct_metrics_register(CT_SVC_GATEWAY, app.m);
    gw_publisher_init(&app.pub);
    app.pub.topic = app.inbound;
    app.pub.timeout_ms = app.delivery_timeout;
    return 0;
}

static rd_kafka_t *producer_new(cm_service *s, void *a, char *errstr, size_t errlen)
{
    (void)a;
    /* A request is answered once its events are acknowledged, so the
     * linger is added to every request's latency; events of concurrent
     * requests still share produce requests while others are in flight
     * (docs/gateway.md, "Settings"). */
    return cm_kafka_producer_new_cb(s->cfg->brokers, s->prog, gw_publisher_on_delivery, &app.pub,
                                    app.linger, errstr, errlen);
}

static int start(cm_service *s, void *a, char *errstr, size_t errlen)
{
    (void)a;
    app.pub.rk = s->producer;
    app.cfg = (gw_config){.auth = &app.auth,
                          .rate = app.rate,
                          .max_body = app.max_body,
                          .batch_max = app.batch_max,
                          .limits = {CT_DEFAULT_MAX_BYTES, CT_DEFAULT_MAX_DEPTH},
                          .m = app.m,
                          .pages = &app.pages,
                          .proxies = &app.proxies,
                          .public_url = app.public_url[0] ? app.public_url : app.public_default};
    gw_publisher_backend(&app.pub, &app.cfg.be);
    if (!(app.l = gw_listen(app.addr, &app.cfg, errstr, errlen)))
        return -1;
    cm_log_info("gateway started: port %d -> %s (%zu credentials)", gw_listener_port(app.l),
                app.inbound, app.auth.n);
    return 0;
}

/* Nothing is consumed: the loop serves delivery reports (and readiness). */
static int on_tick(cm_service *s, void *a)
{
    (void)a;
    gw_publisher_serve(&app.pub, 50, &s->ready.kafka_ok);
    return 0;
}

static int on_stop(cm_service *s, void *a, int failed)
{
    (void)a, (void)failed;
    gw_listener_quiesce(app.l);
    int64_t until = cm_mono_ms() + app.delivery_timeout + 1000;
    while (gw_listener_inflight(app.l) > 0 && cm_mono_ms() < until)
        rd_kafka_poll(s->producer, 50);
    gw_listener_stop(app.l);
    app.l = NULL;
    if (rd_kafka_flush(s->producer, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        cm_log_warn("gateway: %d records not flushed at stop", rd_kafka_outq_len(s->producer));
    cm_log_info("gateway stopped");
    return 0;
}

static void cleanup(void *a)
{
    (void)a;
    gw_listener_stop(app.l);
    gw_auth_free(&app.auth);
    gw_pages_free(&app.pages);
}

int main(int argc, char **argv)
{
    static const cm_service_def def = {
        .name = "gateway",
        .summary = "CloudEvents over HTTP (POST /v1/events) to inbound, answered once durable",
        .settings = table,
        .common = &app.c,
        .life = {.configure = configure, .init = init, .start = start, .cleanup = cleanup},
        .io = {.no_redis = 1, .producer_new = producer_new},
        .loop = {.on_tick = on_tick, .on_stop = on_stop}};
    return cm_service_main(&def, argc, argv);
}
