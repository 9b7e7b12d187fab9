/* process.c -- one inbound message to one canonical event or DLQ record.
 *
 * Design: the CloudEvents envelope is read in either Kafka binding mode:
 * binary when a `ce_specversion` header is present (attributes in `ce_*`
 * headers, the body is `data`), structured otherwise (the body is the whole
 * CloudEvent). Both modes are turned into one attribute object, so every
 * later rule is written once. Checks run cheapest first: size, then bytes
 * (UTF-8, nesting depth), then JSON, then attributes and data; every
 * reason found is kept. Nothing here touches Kafka or Redis. */
#include "ingest.h"

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ing_result_clear(ing_result *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

static size_t message_size(const ing_input *in)
{
    size_t n = in->len + in->keylen;
    for (size_t i = 0; i < in->nheaders; i++)
        n += strlen(in->headers[i].name) + in->headers[i].len;
    return n;
}

static const ing_header *find_header(const ing_input *in, const char *name)
{
    for (size_t i = 0; i < in->nheaders; i++)
        if (strcmp(in->headers[i].name, name) == 0)
            return &in->headers[i];
    return NULL;
}

/* A string attribute: NULL when absent (reason added if required) or wrong. */
static const char *attr(json_t *attrs, const char *name, int required, size_t maxlen,
                        ing_reasons *rs)
{
    json_t *v = json_object_get(attrs, name);
    if (!v || json_is_null(v)) {
        if (required)
            ing_reason_add(rs, name, "required", "required");
        return NULL;
    }
    if (!json_is_string(v)) {
        ing_reason_add(rs, name, "type", "must be a string");
        return NULL;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0) {
        ing_reason_add(rs, name, "non_empty", "must not be empty");
        return NULL;
    }
    if (n > maxlen) {
        ing_reason_add(rs, name, "max_length", "longer than %zu bytes", maxlen);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            ing_reason_add(rs, name, "chars", "must not contain control characters");
            return NULL;
        }
    return s;
}

static json_t *parse_json(const char *p, size_t n, const char *field, const ing_config *cfg,
                          ing_reasons *rs)
{
    if (n == 0) {
        ing_reason_add(rs, field, "json", "empty message body");
        return NULL;
    }
    if (ing_scan(p, n, cfg->max_depth, field, rs) != 0)
        return NULL;
    json_error_t e;
    json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        ing_reason_add(rs, field, "json", "not valid JSON: %s (line %d, column %d)", e.text,
                       e.line, e.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        ing_reason_add(rs, field, "json", "must be a JSON object");
        json_decref(j);
        return NULL;
    }
    return j;
}

/* Binary mode: attributes from ce_* headers (first occurrence wins). */
static json_t *attrs_from_headers(const ing_input *in, ing_reasons *rs)
{
    json_t *a = json_object();
    if (!a)
        return NULL;
    for (size_t i = 0; i < in->nheaders; i++) {
        const ing_header *h = &in->headers[i];
        if (strncmp(h->name, "ce_", 3) != 0 || !h->name[3] || json_object_get(a, h->name + 3))
            continue;
        if (!h->value) {
            json_object_set_new(a, h->name + 3, json_null());
            continue;
        }
        if (!ing_utf8_valid(h->value, h->len)) {
            char f[128];
            snprintf(f, sizeof f, "header %.80s", h->name);
            ing_reason_add(rs, f, "utf8", "not valid UTF-8");
            json_object_set_new(a, h->name + 3, json_null());
            continue;
        }
        json_object_set_new(a, h->name + 3, json_stringn(h->value, h->len));
    }
    return a;
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
    snprintf(dst, len, "%s", src ? src : "");
    ing_utf8_sanitize(dst);
}

static int reject(const ing_config *cfg, const ing_input *in, ing_result *out, char *errstr,
                  size_t errlen)
{
    out->accepted = 0;
    out->body = ing_dlq_record(cfg, in, &out->reasons, out->tenant, out->source, out->id,
                               out->type, &out->bodylen);
    if (!out->body) {
        snprintf(errstr, errlen, "out of memory building a DLQ record");
        return -1;
    }
    return 0;
}

int ing_process(const ing_config *cfg, const ing_input *in, ing_result *out, char *errstr,
                size_t errlen)
{
    json_t *doc = NULL, *attrs = NULL, *body = NULL, *norm = NULL, *ev = NULL;
    int rc = -1;
    memset(out, 0, sizeof *out);
    ing_reasons *rs = &out->reasons;

    size_t size = message_size(in);
    if (size > cfg->max_bytes) {
        ing_reason_add(rs, "(message)", "size", "%zu bytes exceeds the limit of %zu bytes", size,
                       cfg->max_bytes);
        return reject(cfg, in, out, errstr, errlen);
    }

    const char *payload = in->payload ? in->payload : "";
    json_t *data = NULL; /* borrowed */
    const ing_header *binary = find_header(in, "ce_specversion");
    if (binary) {
        attrs = attrs_from_headers(in, rs);
        body = parse_json(payload, in->len, "data", cfg, rs);
        data = body;
    } else {
        doc = parse_json(payload, in->len, "(payload)", cfg, rs);
        if (!doc)
            return reject(cfg, in, out, errstr, errlen);
        attrs = json_incref(doc);
        if (json_object_get(doc, "data_base64"))
            ing_reason_add(rs, "data_base64", "data", "not supported: data must be a JSON object");
        data = json_object_get(doc, "data");
        if (!data || json_is_null(data)) {
            ing_reason_add(rs, "data", "required", "required");
            data = NULL;
        } else if (!json_is_object(data)) {
            ing_reason_add(rs, "data", "type", "must be a JSON object");
            data = NULL;
        }
    }
    if (!attrs) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }

    const char *spec = attr(attrs, "specversion", 1, 16, rs);
    if (spec && strcmp(spec, "1.0") != 0)
        ing_reason_add(rs, "specversion", "specversion", "must be \"1.0\"");
    const char *id = attr(attrs, "id", 1, ING_ID_MAX, rs);
    const char *source = attr(attrs, "source", 1, ING_ID_MAX, rs);
    const char *type = attr(attrs, "type", 1, ING_TYPE_MAX, rs);
    const char *time = attr(attrs, "time", 1, 64, rs);
    int64_t time_ms = 0;
    if (time && cm_time_parse_rfc3339(time, &time_ms) != 0)
        ing_reason_add(rs, "time", "rfc3339", "not an RFC 3339 timestamp (2026-03-01T09:00:00Z)");
    const char *tenant = "default";
    json_t *tv = json_object_get(attrs, "tenant");
    if (tv && !json_is_null(tv)) {
        const char *t = attr(attrs, "tenant", 0, 1024, rs);
        if (t && !ing_tenant_valid(t))
            ing_reason_add(rs, "tenant", "tenant", "must match [A-Za-z0-9._-]{1,64}");
        else if (t)
            tenant = t;
    }
    const char *ct = binary ? NULL : attr(attrs, "datacontenttype", 0, 256, rs);
    if (binary) {
        const ing_header *h = find_header(in, "content-type");
        if (h && h->value && h->len > 0) {
            char b[257];
            size_t n = h->len < 256 ? h->len : 256;
            memcpy(b, h->value, n);
            b[n] = 0;
            if (!content_type_json(b))
                ing_reason_add(rs, "datacontenttype", "content_type",
                               "must be application/json (or a +json type)");
        }
    } else if (ct && !content_type_json(ct)) {
        ing_reason_add(rs, "datacontenttype", "content_type",
                       "must be application/json (or a +json type)");
    }
    const char *traceparent = attr(attrs, "traceparent", 0, 128, rs);

    copy(out->tenant, sizeof out->tenant, tenant);
    copy(out->source, sizeof out->source, source);
    copy(out->id, sizeof out->id, id);
    copy(out->type, sizeof out->type, type);

    if (type && !ing_type_known(type))
        ing_reason_add(rs, "type", "type", "unknown event type '%s'", type);
    else if (type && data)
        ing_normalize_data(type, data, &norm, rs);

    if (rs->n > 0 || !norm || !id || !source || !type || !time) {
        if (rs->n == 0) /* defensive: never reject without a reason */
            ing_reason_add(rs, "(message)", "invalid", "rejected");
        rc = reject(cfg, in, out, errstr, errlen);
        goto cleanup;
    }

    const char *customer = json_string_value(json_object_get(norm, "customer_id"));
    ing_trace_id(traceparent, tenant, source, id, out->trace_id);
    snprintf(out->key, sizeof out->key, "%s/%s", tenant, customer);
    char tbuf[40];
    cm_time_format_rfc3339(time_ms, tbuf, sizeof tbuf);

    ev = json_object();
    if (!ev || json_object_set_new(ev, "v", json_integer(1)) ||
        json_object_set_new(ev, "id", json_string(id)) ||
        json_object_set_new(ev, "source", json_string(source)) ||
        json_object_set_new(ev, "type", json_string(type)) ||
        json_object_set_new(ev, "tenant", json_string(tenant)) ||
        json_object_set_new(ev, "time", json_string(tbuf)) ||
        json_object_set_new(ev, "customer_id", json_string(customer)) ||
        json_object_set_new(ev, "trace_id", json_string(out->trace_id)) ||
        json_object_set(ev, "data", norm)) {
        snprintf(errstr, errlen, "out of memory building the canonical event");
        goto cleanup;
    }
    out->body = json_dumps(ev, JSON_COMPACT);
    if (!out->body) {
        snprintf(errstr, errlen, "out of memory serializing the canonical event");
        goto cleanup;
    }
    out->bodylen = strlen(out->body);
    out->accepted = 1;
    rc = 0;

cleanup:
    json_decref(ev);
    json_decref(norm);
    json_decref(body);
    json_decref(attrs);
    json_decref(doc);
    return rc;
}
