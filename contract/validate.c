/* validate.c -- one inbound message to one canonical event or the
 * reasons it is refused (ct_validate, validate.h).
 *
 * Design: the CloudEvents envelope is read in either Kafka binding mode:
 * binary when a `ce_specversion` header is present (attributes in `ce_*`
 * headers, the body is `data`), structured otherwise (the body is the whole
 * CloudEvent). Both modes are turned into one attribute object, so every
 * later rule is written once. Checks run cheapest first: size, then bytes
 * (UTF-8, nesting depth), then JSON, then attributes and data; every
 * reason found is kept. Nothing here touches Kafka or Redis. */
#include "validate.h"
#include "internal.h"

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ct_verdict_clear(ct_verdict *r)
{
    /* not a memset of the whole struct: it is 6 KiB and runs per message */
    free(r->body);
    r->body = NULL;
    r->bodylen = 0;
    r->accepted = 0;
    r->ev_type = CT_EV_NONE;
    r->key[0] = r->tenant[0] = r->source[0] = r->id[0] = r->type[0] = r->trace_id[0] = 0;
    r->phone[0] = 0;
    r->id_end = r->cust_at = r->dcust_at = 0;
    r->reasons.n = r->reasons.dropped = 0;
}

/* "2026-03-01T09:00:00.000Z" (the hot path's cm_time_format_rfc3339,
 * without snprintf); years 0..9999, else the common formatter. */
static void format_instant(int64_t ms, char buf[40])
{
    int32_t day = cm_time_day(ms);
    int64_t rem = ms - (int64_t)day * 86400000;
    int y;
    unsigned mo, d;
    cm_civil_from_days(day, &y, &mo, &d);
    if (y < 0 || y > 9999) {
        cm_time_format_rfc3339(ms, buf, 40);
        return;
    }
    int v[7] = {y,
                (int)mo,
                (int)d,
                (int)(rem / 3600000),
                (int)(rem / 60000 % 60),
                (int)(rem / 1000 % 60),
                (int)(rem % 1000)};
    char *o = buf;
    o[0] = (char)('0' + v[0] / 1000);
    o[1] = (char)('0' + v[0] / 100 % 10);
    o[2] = (char)('0' + v[0] / 10 % 10);
    o[3] = (char)('0' + v[0] % 10);
    o += 4;
    static const char sep[] = "--T::";
    for (int i = 1; i < 6; i++) {
        *o++ = sep[i - 1];
        *o++ = (char)('0' + v[i] / 10);
        *o++ = (char)('0' + v[i] % 10);
    }
    *o++ = '.';
    *o++ = (char)('0' + v[6] / 100);
    *o++ = (char)('0' + v[6] / 10 % 10);
    *o++ = (char)('0' + v[6] % 10);
    *o++ = 'Z';
    *o = 0;
}

static size_t message_size(const ct_message *in)
{
    size_t n = in->len + in->keylen;
    for (size_t i = 0; i < in->nheaders; i++)
        n += strlen(in->headers[i].name) + in->headers[i].len;
    return n;
}

static const ct_header *find_header(const ct_message *in, const char *name)
{
    for (size_t i = 0; i < in->nheaders; i++)
        if (strcmp(in->headers[i].name, name) == 0)
            return &in->headers[i];
    return NULL;
}

/* Where the attributes are: a JSON object (structured mode) or ce_*
 * headers (binary mode). */
typedef struct attrs {
    const cm_jv *obj;
    const ct_message *in; /* binary mode when non-NULL */
} attrs;

#define ATTR_BUF 1040

static int attr_ok(const char *name, const char *s, size_t n, size_t maxlen, ct_reasons *rs)
{
    if (n == 0) {
        ct_reason_add(rs, name, "non_empty", "must not be empty");
        return 0;
    }
    if (n > maxlen) {
        ct_reason_add(rs, name, "max_length", "longer than %zu bytes", maxlen);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            ct_reason_add(rs, name, "chars", "must not contain control characters");
            return 0;
        }
    return 1;
}

/* A string attribute copied into buf (ATTR_BUF bytes): NULL when absent
 * (reason added if required) or wrong (reason added). */
static const char *attr(const attrs *a, const char *name, int required, size_t maxlen, char *buf,
                        ct_reasons *rs)
{
    if (a->in) {
        char hname[64];
        snprintf(hname, sizeof hname, "ce_%s", name);
        const ct_header *h = find_header(a->in, hname);
        if (!h || !h->value) {
            if (required)
                ct_reason_add(rs, name, "required", "required");
            return NULL;
        }
        if (!ct_utf8_valid(h->value, h->len))
            return NULL; /* reported once per header by check_headers */
        if (!attr_ok(name, h->value, h->len, maxlen, rs))
            return NULL;
        memcpy(buf, h->value, h->len);
        buf[h->len] = 0;
        return buf;
    }
    const cm_jv *v = cm_jv_get(a->obj, name);
    if (!v || v->type == CM_JV_NULL) {
        if (required)
            ct_reason_add(rs, name, "required", "required");
        return NULL;
    }
    if (v->type != CM_JV_STRING) {
        ct_reason_add(rs, name, "type", "must be a string");
        return NULL;
    }
    if (!attr_ok(name, v->u.s, v->n, maxlen, rs))
        return NULL;
    return v->u.s;
}

static int attr_present(const attrs *a, const char *name)
{
    if (a->in) {
        char hname[64];
        snprintf(hname, sizeof hname, "ce_%s", name);
        const ct_header *h = find_header(a->in, hname);
        return h && h->value;
    }
    const cm_jv *v = cm_jv_get(a->obj, name);
    return v && v->type != CM_JV_NULL;
}

/* Binary mode: every ce_* header must be UTF-8 text. */
static void check_headers(const ct_message *in, ct_reasons *rs)
{
    for (size_t i = 0; i < in->nheaders; i++) {
        const ct_header *h = &in->headers[i];
        if (strncmp(h->name, "ce_", 3) != 0 || !h->value || ct_utf8_valid(h->value, h->len))
            continue;
        char f[96];
        snprintf(f, sizeof f, "header %.80s", h->name);
        ct_reason_add(rs, f, "utf8", "not valid UTF-8");
    }
}

/* The reader is reused from message to message (one per thread). */
static _Thread_local cm_json *tls_json;
/* The data writer's buffer, likewise. */
static _Thread_local cm_buf tls_data;

void ct_thread_cleanup(void)
{
    cm_json_free(tls_json);
    tls_json = NULL;
    cm_buf_free(&tls_data);
    ct_fields_thread_cleanup();
}

static const cm_jv *parse_json(const char *p, size_t n, const char *field, const ct_limits *cfg,
                               ct_reasons *rs, int *oom)
{
    if (n == 0) {
        ct_reason_add(rs, field, "json", "empty message body");
        return NULL;
    }
    /* UTF-8 first (a clear reason with the byte offset); the nesting
     * depth is enforced by the parser itself (ct_scan does both, slower). */
    if (!ct_utf8_valid(p, n))
        return ct_scan(p, n, cfg->max_depth, field, rs), NULL;
    if (!tls_json && !(tls_json = cm_json_new())) {
        *oom = 1;
        return NULL;
    }
    char err[160];
    const cm_jv *j = cm_json_parse(tls_json, p, n, cfg->max_depth, err, sizeof err);
    if (!j) {
        if (cm_json_too_deep(tls_json))
            ct_reason_add(rs, field, "depth", "JSON nested deeper than %d levels", cfg->max_depth);
        else
            ct_reason_add(rs, field, "json", "not valid JSON: %s", err);
        return NULL;
    }
    if (j->type != CM_JV_OBJECT) {
        ct_reason_add(rs, field, "json", "must be a JSON object");
        return NULL;
    }
    return j;
}

static int content_type_json(const char *ct)
{
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    if (n == 16 && strncmp(ct, "application/json", 16) == 0)
        return 1;
    return n > 5 && strncmp(ct + n - 5, "+json", 5) == 0;
}

static void copy(char *dst, size_t len, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= len)
        n = len - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = 0;
    if (n == len - 1) /* cut: maybe inside a UTF-8 sequence */
        ct_utf8_sanitize(dst);
}

/* A refused message: no body (the caller adds its own record, if any). */
static int reject(ct_verdict *out)
{
    out->accepted = 0;
    return 0;
}

int ct_validate(const ct_limits *cfg, const ct_message *in, ct_verdict *out, char *errstr,
                size_t errlen)
{
    /* data is rebuilt per message in a per-thread buffer; body is handed
     * over to the result, so it is allocated once at its final size */
    cm_buf body = CM_BUF_INIT;
    cm_buf data = tls_data;
    data.len = 0;
    data.oom = 0;
    int rc = -1, oom = 0;
    out->accepted = 0;
    out->ev_type = CT_EV_NONE;
    out->body = NULL;
    out->bodylen = 0;
    out->key[0] = out->tenant[0] = out->source[0] = out->id[0] = out->type[0] = 0;
    out->trace_id[0] = 0;
    out->phone[0] = out->upsert_phone[0] = 0;
    out->id_end = out->cust_at = out->dcust_at = 0;
    out->reasons.n = out->reasons.dropped = 0;
    ct_reasons *rs = &out->reasons;

    size_t size = message_size(in);
    if (size > cfg->max_bytes) {
        ct_reason_add(rs, "(message)", "size", "%zu bytes exceeds the limit of %zu bytes", size,
                      cfg->max_bytes);
        return reject(out);
    }

    const char *payload = in->payload ? in->payload : "";
    const cm_jv *dv = NULL; /* data */
    attrs a = {NULL, NULL};
    const ct_header *binary = find_header(in, "ce_specversion");
    if (binary) {
        a.in = in;
        dv = parse_json(payload, in->len, "data", cfg, rs, &oom);
        check_headers(in, rs);
    } else {
        a.obj = parse_json(payload, in->len, "(payload)", cfg, rs, &oom);
        if (!a.obj) {
            if (oom)
                goto nomem;
            return reject(out);
        }
        if (cm_jv_get(a.obj, "data_base64"))
            ct_reason_add(rs, "data_base64", "data", "not supported: data must be a JSON object");
        dv = cm_jv_get(a.obj, "data");
        if (!dv || dv->type == CM_JV_NULL) {
            ct_reason_add(rs, "data", "required", "required");
            dv = NULL;
        } else if (dv->type != CM_JV_OBJECT) {
            ct_reason_add(rs, "data", "type", "must be a JSON object");
            dv = NULL;
        }
    }
    if (oom)
        goto nomem;

    char b_spec[ATTR_BUF], b_id[ATTR_BUF], b_src[ATTR_BUF], b_type[ATTR_BUF], b_time[ATTR_BUF],
        b_ten[ATTR_BUF], b_ct[ATTR_BUF], b_tp[ATTR_BUF];
    const char *spec = attr(&a, "specversion", 1, 16, b_spec, rs);
    if (spec && strcmp(spec, "1.0") != 0)
        ct_reason_add(rs, "specversion", "specversion", "must be \"1.0\"");
    const char *id = attr(&a, "id", 1, CT_ID_MAX, b_id, rs);
    const char *source = attr(&a, "source", 1, CT_ID_MAX, b_src, rs);
    const char *type = attr(&a, "type", 1, CT_TYPE_MAX, b_type, rs);
    const char *time = attr(&a, "time", 1, 64, b_time, rs);
    int64_t time_ms = 0;
    if (time && cm_time_parse_rfc3339(time, &time_ms) != 0)
        ct_reason_add(rs, "time", "rfc3339", "not an RFC 3339 timestamp (2026-03-01T09:00:00Z)");
    const char *tenant = "default";
    if (attr_present(&a, "tenant")) {
        const char *t = attr(&a, "tenant", 0, 1024, b_ten, rs);
        if (t && !ct_tenant_valid(t))
            ct_reason_add(rs, "tenant", "tenant", "must match [A-Za-z0-9._-]{1,64}");
        else if (t)
            tenant = t;
    }
    if (binary) {
        const ct_header *h = find_header(in, "content-type");
        if (h && h->value && h->len > 0) {
            char b[257];
            size_t n = h->len < 256 ? h->len : 256;
            memcpy(b, h->value, n);
            b[n] = 0;
            if (!content_type_json(b))
                ct_reason_add(rs, "datacontenttype", "content_type",
                              "must be application/json (or a +json type)");
        }
    } else {
        const char *ct = attr(&a, "datacontenttype", 0, 256, b_ct, rs);
        if (ct && !content_type_json(ct))
            ct_reason_add(rs, "datacontenttype", "content_type",
                          "must be application/json (or a +json type)");
    }
    const char *traceparent = attr(&a, "traceparent", 0, 128, b_tp, rs);

    copy(out->tenant, sizeof out->tenant, tenant);
    copy(out->source, sizeof out->source, source);
    copy(out->id, sizeof out->id, id);
    copy(out->type, sizeof out->type, type);

    int data_ok = 0;
    ct_type etype = type ? ct_type_parse(type, strlen(type)) : CT_EV_NONE;
    if (type && !ct_type_inbound(etype))
        ct_reason_add(rs, "type", "type", "unknown event type '%s'", type);
    else if (type && dv)
        data_ok = ct_normalize_data(etype, dv, &data, rs) == 0;
    if (type && ct_type_inbound(etype))
        out->ev_type = etype;
    if (data.oom)
        goto nomem;

    if (rs->n > 0 || !data_ok || !id || !source || !type || !time) {
        if (rs->n == 0) /* defensive: never reject without a reason */
            ct_reason_add(rs, "(message)", "invalid", "rejected");
        rc = reject(out);
        goto cleanup;
    }

    /* validated by every type: customer_id, or (issue 17) phone instead */
    const cm_jv *cv = cm_jv_get(dv, "customer_id");
    const cm_jv *pv = NULL;
    if (!cv || cv->type != CM_JV_STRING) {
        pv = cm_jv_get(dv, "phone");
        cv = NULL;
        memcpy(out->phone, pv->u.s, pv->n + 1); /* bounded: CT_PHONE_MAX */
    }
    const char *customer = cv ? cv->u.s : pv->u.s;
    ct_trace_id(traceparent, tenant, source, id, out->trace_id);
    size_t lt = strlen(tenant), lc = cv ? cv->n : pv->n; /* bounded: 64 + 1 + 200 < CT_KEY_MAX */
    memcpy(out->key, tenant, lt);
    out->key[lt] = '/';
    memcpy(out->key + lt + 1, customer, lc + 1);
    char tbuf[40];
    format_instant(time_ms, tbuf);

    cm_buf_reserve(&body, data.len + 6 * (strlen(id) + strlen(source) + lt + lc) + 256);
    cm_buf_adds(&body, "{\"v\":1,\"id\":");
    cm_buf_json_str(&body, id, strlen(id));
    out->id_end = body.len - 1;
    cm_buf_adds(&body, ",\"source\":");
    cm_buf_json_str(&body, source, strlen(source));
    cm_buf_adds(&body, ",\"type\":");
    cm_buf_json_str(&body, type, strlen(type));
    cm_buf_adds(&body, ",\"tenant\":");
    cm_buf_json_str(&body, tenant, strlen(tenant));
    cm_buf_adds(&body, ",\"time\":");
    cm_buf_json_str(&body, tbuf, strlen(tbuf));
    if (cv) {
        cm_buf_adds(&body, ",\"customer_id\":");
        cm_buf_json_str(&body, customer, cv->n);
    } else {
        out->cust_at = body.len;
    }
    cm_buf_adds(&body, ",\"trace_id\":");
    cm_buf_json_str(&body, out->trace_id, 32);
    cm_buf_adds(&body, ",\"data\":");
    out->dcust_at = cv ? 0 : body.len + 1;
    cm_buf_add(&body, data.p, data.len);
    cm_buf_add(&body, "}", 1);
    if (body.oom)
        goto nomem;
    out->body = body.p;
    out->bodylen = body.len;
    body.p = NULL;
    if (etype == CT_EV_CUSTOMER_UPSERTED) {
        /* accepted: a phone given is a valid E.164 number, written as is */
        const cm_jv *ph = cm_jv_get(dv, "phone");
        if (ph && ph->type == CM_JV_STRING && ph->n <= CT_PHONE_MAX)
            memcpy(out->upsert_phone, ph->u.s, ph->n + 1);
    }
    out->accepted = 1;
    rc = 0;
    goto cleanup;

nomem:
    out->phone[0] = 0;
    snprintf(errstr, errlen, "out of memory");
    rc = -1;
cleanup:
    cm_buf_free(&body);
    tls_data = data; /* keep the buffer for the next message */
    return rc;
}

char *ct_verdict_for_customer(const ct_verdict *v, const char *customer_id, size_t *len,
                              char key[CT_KEY_MAX], char id[CT_PHONE_EVENT_ID_MAX + 1])
{
    size_t lc = customer_id ? strlen(customer_id) : 0;
    if (!v->accepted || !v->body || !v->phone[0] || lc == 0 || lc > CT_ID_MAX ||
        !(v->id_end < v->cust_at && v->cust_at < v->dcust_at && v->dcust_at < v->bodylen))
        return NULL;
    cm_buf b = CM_BUF_INIT, cj = CM_BUF_INIT;
    cm_buf_json_str(&cj, customer_id, lc); /* "C-1", quotes included */
    cm_buf_reserve(&b, v->bodylen + 2 * cj.len + 64);
    cm_buf_add(&b, v->body, v->id_end);
    cm_buf_add(&b, "/", 1);
    cm_buf_add(&b, cj.p + 1, cj.len - 2); /* an escaped string joins an escaped string */
    cm_buf_add(&b, v->body + v->id_end, v->cust_at - v->id_end);
    cm_buf_adds(&b, ",\"customer_id\":");
    cm_buf_add(&b, cj.p, cj.len);
    cm_buf_add(&b, v->body + v->cust_at, v->dcust_at - v->cust_at);
    cm_buf_adds(&b, "\"customer_id\":");
    cm_buf_add(&b, cj.p, cj.len);
    cm_buf_add(&b, ",", 1);
    cm_buf_add(&b, v->body + v->dcust_at, v->bodylen - v->dcust_at);
    int oom = b.oom || cj.oom;
    cm_buf_free(&cj);
    if (oom) {
        cm_buf_free(&b);
        return NULL;
    }
    snprintf(key, CT_KEY_MAX, "%s/%s", v->tenant, customer_id);
    snprintf(id, CT_PHONE_EVENT_ID_MAX + 1, "%s/%s", v->id, customer_id);
    *len = b.len;
    return b.p;
}
