/* dlq.c -- the dead-letter record of a rejected inbound message.
 *
 * Design: the record lets an operator see why a message was refused and
 * replay it after fixing the publisher: the original bytes (as a string
 * when they are valid UTF-8 without NUL bytes, else base64), the original
 * key and headers,
 * where it came from (topic, partition, offset) and every reason. The one
 * exception is an oversized message, whose payload is cut to the size
 * limit (always base64, "truncated": true) and whose header values are cut
 * to 1 KiB, so that the DLQ record itself stays deliverable; the full
 * message stays on the inbound topic at the recorded offset. A record that
 * would still exceed CT_DLQ_MAX_RECORD (escaping, many headers) is cut the
 * same way, with at most 64 headers ("headers_dropped": n) and at most
 * 512 KiB of payload.
 * docs/events.md documents the format. */
#include "validate.h"

#include "base64.h"
#include "clock.h"

#include <jansson.h>

#include <stdlib.h>
#include <string.h>

#define DLQ_HEADER_CUT  1024
#define DLQ_HEADERS     64
#define DLQ_PAYLOAD_CUT (512 * 1024)

/* Sets "<name>" to the bytes as a string when valid UTF-8 without NUL
 * (many JSON readers refuse \u0000) and not cut,
 * else "<name>_base64". Returns -1 on out of memory. */
static int set_bytes(json_t *o, const char *name, const void *p, size_t n, size_t cut,
                     int force_base64)
{
    if (!p)
        return json_object_set_new(o, name, json_null());
    int truncated = n > cut;
    if (truncated)
        n = cut;
    if (!truncated && !force_base64 && !memchr(p, 0, n) && ct_utf8_valid(p, n))
        return json_object_set_new(o, name, json_stringn(p, n));
    char *b = cm_base64_dup(p, n);
    if (!b)
        return -1;
    char key[64];
    snprintf(key, sizeof key, "%s_base64", name);
    int rc = json_object_set_new(o, key, json_string(b));
    free(b);
    return rc;
}

/* compact: cut as for an oversized message, at most DLQ_HEADERS headers,
 * the payload to DLQ_PAYLOAD_CUT bytes, and every byte string in base64
 * (at most 4/3 of its size, where escaped text can take 6x). */
static char *build(const ct_limits *cfg, const ct_message *in, const ct_reasons *rs,
                   const char *tenant, const char *source, const char *id, const char *type,
                   int compact, size_t *len)
{
    char *out = NULL;
    json_t *rec = json_object(), *reasons = json_array(), *origin = json_object(),
           *headers = json_array(), *event = json_object();
    if (!rec || !reasons || !origin || !headers || !event)
        goto cleanup;

    size_t total = in->len + in->keylen;
    for (size_t i = 0; i < in->nheaders; i++)
        total += strlen(in->headers[i].name) + in->headers[i].len;
    int oversized = total > cfg->max_bytes || compact;
    size_t hcut = oversized ? DLQ_HEADER_CUT : (size_t)-1;
    size_t pcut = cfg->max_bytes;
    if (compact && pcut > DLQ_PAYLOAD_CUT)
        pcut = DLQ_PAYLOAD_CUT;

    for (size_t i = 0; i < rs->n; i++) {
        json_t *r = json_pack("{s:s, s:s, s:s}", "field", rs->r[i].field, "rule", rs->r[i].rule,
                              "message", rs->r[i].message);
        if (!r || json_array_append_new(reasons, r))
            goto cleanup;
    }
    if (json_object_set_new(origin, "topic", json_string(in->topic ? in->topic : "")) ||
        json_object_set_new(origin, "partition", json_integer(in->partition)) ||
        json_object_set_new(origin, "offset", json_integer(in->offset)))
        goto cleanup;
    if (tenant && *tenant)
        json_object_set_new(event, "tenant", json_string(tenant));
    if (source && *source)
        json_object_set_new(event, "source", json_string(source));
    if (id && *id)
        json_object_set_new(event, "id", json_string(id));
    if (type && *type)
        json_object_set_new(event, "type", json_string(type));
    size_t nh = in->nheaders;
    if (compact && nh > DLQ_HEADERS)
        nh = DLQ_HEADERS;
    for (size_t i = 0; i < nh; i++) {
        const ct_header *h = &in->headers[i];
        json_t *o = json_object();
        if (!o || json_array_append_new(headers, o))
            goto cleanup;
        size_t nl = strlen(h->name);
        if (json_object_set_new(o, "name",
                                ct_utf8_valid(h->name, nl) ? json_stringn(h->name, nl)
                                                           : json_string("(not UTF-8)")) ||
            set_bytes(o, "value", h->value, h->len, hcut, compact))
            goto cleanup;
    }

    char at[40];
    cm_time_format_rfc3339(in->now_ms, at, sizeof at);
    if (json_object_set_new(rec, "v", json_integer(1)) ||
        json_object_set_new(rec, "reasons", reasons) ||
        json_object_set_new(rec, "origin", origin) ||
        json_object_set_new(rec, "rejected_at", json_string(at)) ||
        json_object_set_new(rec, "event", event) ||
        set_bytes(rec, "key", in->key, in->keylen, hcut, compact) ||
        json_object_set_new(rec, "headers", headers)) {
        reasons = origin = event = headers = NULL; /* stolen even on failure */
        goto cleanup;
    }
    reasons = origin = event = headers = NULL;
    if (rs->dropped)
        json_object_set_new(rec, "reasons_dropped", json_integer((json_int_t)rs->dropped));
    if (set_bytes(rec, "payload", in->len ? in->payload : "", in->len,
                  oversized ? pcut : (size_t)-1, compact) ||
        json_object_set_new(rec, "payload_bytes", json_integer((json_int_t)in->len)))
        goto cleanup;
    if (oversized)
        json_object_set_new(rec, "truncated", json_true());
    if (nh < in->nheaders)
        json_object_set_new(rec, "headers_dropped", json_integer((json_int_t)(in->nheaders - nh)));

    out = json_dumps(rec, JSON_COMPACT);
    if (out)
        *len = strlen(out);

cleanup:
    json_decref(event);
    json_decref(headers);
    json_decref(origin);
    json_decref(reasons);
    json_decref(rec);
    return out;
}

char *ct_dlq_record(const ct_limits *cfg, const ct_message *in, const ct_reasons *rs,
                    const char *tenant, const char *source, const char *id, const char *type,
                    size_t *len)
{
    char *out = build(cfg, in, rs, tenant, source, id, type, 0, len);
    /* JSON escaping can grow text 6x (control characters), and many
     * headers add up: a record the broker would refuse would stall the
     * partition, so a large one is rebuilt in the cut-down form. */
    if (out && *len > CT_DLQ_MAX_RECORD) {
        free(out);
        out = build(cfg, in, rs, tenant, source, id, type, 1, len);
    }
    return out;
}
