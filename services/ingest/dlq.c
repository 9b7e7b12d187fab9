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
 * message stays on the inbound topic at the recorded offset.
 * docs/events.md documents the format. */
#include "ingest.h"

#include "clock.h"

#include <jansson.h>

#include <stdlib.h>
#include <string.h>

#define DLQ_HEADER_CUT 1024

/* Sets "<name>" to the bytes as a string when valid UTF-8 without NUL
 * (many JSON readers refuse \u0000) and not cut,
 * else "<name>_base64". Returns -1 on out of memory. */
static int set_bytes(json_t *o, const char *name, const void *p, size_t n, size_t cut)
{
    if (!p)
        return json_object_set_new(o, name, json_null());
    int truncated = n > cut;
    if (truncated)
        n = cut;
    if (!truncated && !memchr(p, 0, n) && ing_utf8_valid(p, n))
        return json_object_set_new(o, name, json_stringn(p, n));
    char *b = ing_base64(p, n);
    if (!b)
        return -1;
    char key[64];
    snprintf(key, sizeof key, "%s_base64", name);
    int rc = json_object_set_new(o, key, json_string(b));
    free(b);
    return rc;
}

char *ing_dlq_record(const ing_config *cfg, const ing_input *in, const ing_reasons *rs,
                     const char *tenant, const char *source, const char *id, const char *type,
                     size_t *len)
{
    char *out = NULL;
    json_t *rec = json_object(), *reasons = json_array(), *origin = json_object(),
           *headers = json_array(), *event = json_object();
    if (!rec || !reasons || !origin || !headers || !event)
        goto cleanup;

    size_t total = in->len + in->keylen;
    for (size_t i = 0; i < in->nheaders; i++)
        total += strlen(in->headers[i].name) + in->headers[i].len;
    int oversized = total > cfg->max_bytes;
    size_t hcut = oversized ? DLQ_HEADER_CUT : (size_t)-1;

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
    for (size_t i = 0; i < in->nheaders; i++) {
        const ing_header *h = &in->headers[i];
        json_t *o = json_object();
        if (!o || json_array_append_new(headers, o))
            goto cleanup;
        size_t nl = strlen(h->name);
        if (json_object_set_new(o, "name",
                                ing_utf8_valid(h->name, nl) ? json_stringn(h->name, nl)
                                                            : json_string("(not UTF-8)")) ||
            set_bytes(o, "value", h->value, h->len, hcut))
            goto cleanup;
    }

    char at[40];
    cm_time_format_rfc3339(in->now_ms, at, sizeof at);
    if (json_object_set_new(rec, "v", json_integer(1)) ||
        json_object_set_new(rec, "reasons", reasons) ||
        json_object_set_new(rec, "origin", origin) ||
        json_object_set_new(rec, "rejected_at", json_string(at)) ||
        json_object_set_new(rec, "event", event) ||
        set_bytes(rec, "key", in->key, in->keylen, hcut) ||
        json_object_set_new(rec, "headers", headers)) {
        reasons = origin = event = headers = NULL; /* stolen even on failure */
        goto cleanup;
    }
    reasons = origin = event = headers = NULL;
    if (rs->dropped)
        json_object_set_new(rec, "reasons_dropped", json_integer((json_int_t)rs->dropped));
    if (set_bytes(rec, "payload", in->len ? in->payload : "", in->len,
                  oversized ? cfg->max_bytes : (size_t)-1) ||
        json_object_set_new(rec, "payload_bytes", json_integer((json_int_t)in->len)))
        goto cleanup;
    if (oversized)
        json_object_set_new(rec, "truncated", json_true());

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
