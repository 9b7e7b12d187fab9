/* handle.c -- POST /v1/events: one request in, one answer out.
 *
 * A pure function of the request and the configuration: the order of the
 * checks is the order of the answers a caller can get -- 404 path, 405
 * method, 401 credential (a bearer token, else a Standard Webhooks
 * signature), 413 body, 415 content type, 400/413 a batch
 * that is not an array or too long, 429 rate limit, then every event
 * validated with ct_validate (the code ingest runs), the valid ones
 * published through the backend, and 202 once all are acknowledged (503
 * with Retry-After when they could not be). A single event answers
 * 202 {"accepted":1} or 400 {"errors":[...]}; a batch answers
 * {"accepted":n,"results":[{"id","status","errors"}...]} with 202 when at
 * least one event was accepted, else 400. */
#include "gateway.h"
#include "pages.h"
#include "webhooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "metric_catalog.h"

static const struct {
    int code;
    ct_metric id;
} code_metric[] = {
    {200, CT_M_GATEWAY_REQ_200}, {202, CT_M_GATEWAY_REQ_202}, {303, CT_M_GATEWAY_REQ_303},
    {400, CT_M_GATEWAY_REQ_400}, {401, CT_M_GATEWAY_REQ_401}, {403, CT_M_GATEWAY_REQ_403},
    {404, CT_M_GATEWAY_REQ_404}, {405, CT_M_GATEWAY_REQ_405}, {409, CT_M_GATEWAY_REQ_409},
    {410, CT_M_GATEWAY_REQ_410}, {413, CT_M_GATEWAY_REQ_413}, {415, CT_M_GATEWAY_REQ_415},
    {429, CT_M_GATEWAY_REQ_429}, {500, CT_M_GATEWAY_REQ_500}, {503, CT_M_GATEWAY_REQ_503},
};

static void count(const gw_config *cfg, ct_metric id, uint64_t n)
{
    if (cfg->m && cfg->m[id] && n)
        cm_metric_add(cfg->m[id], n);
}

static void answer(gw_answer *a, int status, const char *error)
{
    a->status = status;
    cm_buf_reset(&a->body);
    cm_buf_adds(&a->body, "{\"error\":");
    cm_buf_json_str(&a->body, error, strlen(error));
    cm_buf_adds(&a->body, "}");
}

static void reasons_json(cm_buf *b, const ct_reasons *rs)
{
    cm_buf_adds(b, "[");
    for (size_t i = 0; i < rs->n; i++) {
        const ct_reason *r = &rs->r[i];
        cm_buf_adds(b, i ? ",{\"field\":" : "{\"field\":");
        cm_buf_json_str(b, r->field, strlen(r->field));
        cm_buf_adds(b, ",\"rule\":");
        cm_buf_json_str(b, r->rule, strlen(r->rule));
        cm_buf_adds(b, ",\"message\":");
        cm_buf_json_str(b, r->message, strlen(r->message));
        cm_buf_adds(b, "}");
    }
    cm_buf_adds(b, "]");
}

/* Appends the validator's reasons to the event's own. */
static void merge(ct_reasons *into, const ct_reasons *from)
{
    for (size_t i = 0; i < from->n; i++) {
        if (into->n < CT_MAX_REASONS)
            into->r[into->n++] = from->r[i];
        else
            into->dropped++;
    }
}

int gw_validate(const gw_config *cfg, gw_event *ev, char *key, size_t keylen)
{
    ct_verdict v;
    char err[128];
    if (!ev->json)
        return ev->reasons.n ? 0 : -1;
    ct_message m = {.payload = ev->json,
                    .len = ev->len,
                    .topic = "inbound",
                    .partition = -1,
                    .offset = -1,
                    .now_ms = cm_clock_now_ms()};
    if (ct_validate(&cfg->limits, &m, &v, err, sizeof err) != 0)
        return -1;
    int ok = v.accepted && !ev->raw && ev->reasons.n == 0;
    if (!v.accepted)
        merge(&ev->reasons, &v.reasons);
    else if (ev->raw && ev->reasons.n == 0)
        ct_reason_add(&ev->reasons, "(payload)", "object", "not a JSON object");
    if (ok)
        snprintf(key, keylen, "%s", v.key);
    ct_verdict_clear(&v);
    return ok;
}

/* Validates and publishes the events; fills the answer. */
static void events(const gw_config *cfg, gw_mode mode, gw_event *ev, size_t n, gw_answer *out)
{
    gw_record *recs = calloc(n ? n : 1, sizeof *recs);
    char(*keys)[CT_KEY_MAX] = calloc(n ? n : 1, sizeof *keys);
    int *ok = calloc(n ? n : 1, sizeof *ok);
    size_t accepted = 0;
    if (!recs || !keys || !ok)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        if ((ok[i] = gw_validate(cfg, &ev[i], keys[i], sizeof keys[i])) < 0)
            goto oom;
        if (ok[i])
            recs[accepted++] = (gw_record){keys[i], ev[i].json, ev[i].len};
    }
    if (accepted && cfg->be.publish(cfg->be.opaque, recs, accepted) != 0) {
        answer(out, 503, "inbound is unavailable; retry later (the same ids are harmless)");
        out->retry_after = 5;
        goto done;
    }
    count(cfg, CT_M_GATEWAY_ACCEPTED, accepted);
    count(cfg, CT_M_GATEWAY_REJECTED, n - accepted);
    cm_buf_reset(&out->body);
    if (mode != GW_BATCH) {
        out->status = ok[0] ? 202 : 400;
        if (ok[0]) {
            cm_buf_adds(&out->body, "{\"accepted\":1}");
        } else {
            cm_buf_adds(&out->body, "{\"errors\":");
            reasons_json(&out->body, &ev[0].reasons);
            cm_buf_adds(&out->body, "}");
        }
        goto done;
    }
    out->status = accepted || n == 0 ? 202 : 400;
    cm_buf_printf(&out->body, "{\"accepted\":%zu,\"results\":[", accepted);
    for (size_t i = 0; i < n; i++) {
        cm_buf_adds(&out->body, i ? ",{\"id\":" : "{\"id\":");
        cm_buf_json_str(&out->body, ev[i].id, strlen(ev[i].id));
        cm_buf_printf(&out->body, ",\"status\":%d,\"errors\":", ok[i] ? 202 : 400);
        reasons_json(&out->body, &ev[i].reasons);
        cm_buf_adds(&out->body, "}");
    }
    cm_buf_adds(&out->body, "]}");
    goto done;
oom:
    answer(out, 500, "out of memory");
done:
    free(recs);
    free(keys);
    free(ok);
}

static void handle(const gw_config *cfg, const gw_request *rq, gw_answer *out)
{
    char msg[160];
    if (gw_pages_route(cfg, rq, out)) /* /p/<token>, /u/<token>: pages.c */
        return;
    if (gw_webhooks_route(cfg, rq, out)) /* webhooks.h: /v1/sms/..., /v1/email/events */
        return;
    if (strcmp(rq->path, "/v1/events") != 0) {
        answer(out, 404, "not found");
        return;
    }
    if (strcmp(rq->method, "POST") != 0) {
        out->allow = "POST";
        answer(out, 405, "method not allowed; POST /v1/events");
        return;
    }
    const gw_header *h = rq->headers;
    size_t nh = rq->nheaders;
    const gw_cred *c = gw_auth_check(cfg->auth, gw_header_get(h, nh, "Authorization"));
    /* a signature covers the body: one too large to read is a 413 */
    int signed_large = !c && gw_header_get(h, nh, "webhook-signature") && rq->body_too_large;
    if (!c && !signed_large && gw_header_get(h, nh, "webhook-signature"))
        c = gw_auth_webhook(cfg->auth, gw_header_get(h, nh, "webhook-id"),
                            gw_header_get(h, nh, "webhook-timestamp"),
                            gw_header_get(h, nh, "webhook-signature"), rq->body, rq->body_len,
                            rq->wall_s);
    if (!c && !signed_large) {
        answer(out, 401,
               "a valid Authorization: Bearer <token>, or a valid Standard Webhooks signature, "
               "is required");
        return;
    }
    if (rq->body_too_large || rq->body_len > cfg->max_body) {
        snprintf(msg, sizeof msg, "the body is larger than %zu bytes", cfg->max_body);
        answer(out, 413, msg);
        return;
    }
    gw_mode mode = gw_mode_of(rq->headers, rq->nheaders);
    if (mode == GW_UNSUPPORTED) {
        answer(out, 415,
               "Content-Type must be application/cloudevents+json, "
               "application/cloudevents-batch+json, or application/json with ce- headers");
        return;
    }
    gw_event *ev = NULL;
    long n = gw_events_build(mode, rq->headers, rq->nheaders, rq->body, rq->body_len, c->tenant,
                             cfg->batch_max, &ev);
    if (n == -2) {
        snprintf(msg, sizeof msg, "a batch holds at most %zu events", cfg->batch_max);
        answer(out, 413, msg);
        return;
    }
    if (n < 0) {
        cm_buf_reset(&out->body);
        out->status = 400;
        cm_buf_adds(&out->body,
                    "{\"errors\":[{\"field\":\"(payload)\",\"rule\":\"batch\","
                    "\"message\":\"(payload): a batch is a JSON array of CloudEvents\"}]}");
        return;
    }
    int wait = gw_rate_take(cfg->auth, c, cfg->rate, rq->now_ms, (size_t)n);
    if (wait > 0) {
        gw_events_free(ev, (size_t)n);
        snprintf(msg, sizeof msg, "tenant rate limit of %.0f events per second", cfg->rate);
        answer(out, 429, msg);
        out->retry_after = wait;
        return;
    }
    events(cfg, mode, ev, (size_t)n, out);
    gw_events_free(ev, (size_t)n);
}

void gw_handle(const gw_config *cfg, const gw_request *rq, gw_answer *out)
{
    memset(out, 0, sizeof *out);
    handle(cfg, rq, out);
    if (out->body.oom) {
        cm_buf_free(&out->body);
        out->status = 500;
        out->retry_after = 0;
    }
    for (size_t i = 0; i < sizeof code_metric / sizeof code_metric[0]; i++)
        if (code_metric[i].code == out->status)
            count(cfg, code_metric[i].id, 1);
}

void gw_answer_free(gw_answer *a)
{
    cm_buf_free(&a->body);
    free(a->location);
    a->location = NULL;
}

void gw_answer_error(gw_answer *a, int status, const char *error)
{
    answer(a, status, error);
}

void gw_answer_reasons(gw_answer *a, int status, const ct_reasons *rs)
{
    a->status = status;
    cm_buf_reset(&a->body);
    cm_buf_adds(&a->body, "{\"errors\":");
    reasons_json(&a->body, rs);
    cm_buf_adds(&a->body, "}");
}
