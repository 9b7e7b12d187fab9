/* event.c -- the CloudEvents HTTP binding: a request's body and headers
 * into the structured CloudEvents ingest reads on `inbound`.
 *
 * Binary mode: every `ce-<attr>` header is an attribute (percent-decoded,
 * as the binding says), the body is `data`. Structured mode: the body is
 * one CloudEvent; batch mode: a JSON array of them. In every mode the
 * tenant is the credential's: an event that names another one gets a
 * reason on `tenant`, and the event written carries the credential's.
 * A body that is not a JSON object is passed on as it is, flagged, so that
 * the validator words its reasons exactly as ingest would. Off the hot
 * path of the broker, so jansson (ordered objects, duplicate keys
 * refused) rather than the arena reader. */
#include "gateway.h"

#include "crypto.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "str.h"

const char *gw_header_get(const gw_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

/* The media type of a Content-Type value, lower-cased, without
 * parameters, into out. */
static void media_type(const char *v, char *out, size_t outlen)
{
    size_t o = 0;
    while (*v == ' ' || *v == '\t')
        v++;
    for (; *v && *v != ';' && *v != ' ' && o + 1 < outlen; v++)
        out[o++] = (char)tolower((unsigned char)*v);
    out[o] = 0;
}

gw_mode gw_mode_of(const gw_header *h, size_t n)
{
    const char *ct = gw_header_get(h, n, "Content-Type");
    char mt[128] = "";
    if (ct)
        media_type(ct, mt, sizeof mt);
    if (!strcmp(mt, "application/cloudevents+json"))
        return GW_STRUCTURED;
    if (!strcmp(mt, "application/cloudevents-batch+json"))
        return GW_BATCH;
    size_t l = strlen(mt);
    if (!strcmp(mt, "application/json") || (l > 5 && !strcmp(mt + l - 5, "+json")) ||
        (!ct && gw_header_get(h, n, "ce-specversion")))
        return GW_BINARY;
    return GW_UNSUPPORTED;
}

/* %XX-decodes s into a malloc'd string (a bad escape is kept as is). */
static char *pct_decode(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = cm_hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = cm_hexval((unsigned char)s[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = 0;
    return out;
}

/* Checks the tenant an event names against the credential's and sets the
 * credential's. */
static void set_tenant(json_t *obj, const char *tenant, ct_reasons *rs)
{
    json_t *t = json_object_get(obj, "tenant");
    if (t && !json_is_null(t) && !(json_is_string(t) && !strcmp(json_string_value(t), tenant)))
        ct_reason_add(rs, "tenant", "credential",
                      "names another tenant than the credential's; leave it out");
    json_object_set_new(obj, "tenant", json_string(tenant));
}

/* Writes obj (an object, or anything else flagged raw) into ev. */
static void finish(gw_event *ev, json_t *v, const char *tenant)
{
    if (json_is_object(v)) {
        json_t *id = json_object_get(v, "id");
        if (json_is_string(id))
            cm_strlcpy(ev->id, json_string_value(id), sizeof ev->id);
        set_tenant(v, tenant, &ev->reasons);
    } else {
        ev->raw = 1;
    }
    ev->json = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    ev->len = ev->json ? strlen(ev->json) : 0;
    if (!ev->json)
        ct_reason_add(&ev->reasons, "(payload)", "memory", "out of memory");
}

/* The raw body as the event (not JSON, or not an object). */
static void raw(gw_event *ev, const char *body, size_t len)
{
    ev->raw = 1;
    ev->json = malloc(len + 1);
    if (!ev->json) {
        ct_reason_add(&ev->reasons, "(payload)", "memory", "out of memory");
        return;
    }
    if (len)
        memcpy(ev->json, body, len);
    ev->json[len] = 0;
    ev->len = len;
}

static void binary(gw_event *ev, const gw_header *h, size_t nh, const char *body, size_t len,
                   const char *tenant)
{
    json_t *obj = json_object(), *data = NULL;
    json_error_t je;
    if (!obj) {
        ct_reason_add(&ev->reasons, "(payload)", "memory", "out of memory");
        return;
    }
    for (size_t i = 0; i < nh; i++) {
        if (strncasecmp(h[i].name, "ce-", 3) != 0 || !h[i].name[3])
            continue;
        char attr[64];
        size_t a = 0;
        for (const char *p = h[i].name + 3; *p && a + 1 < sizeof attr; p++)
            attr[a++] = (char)tolower((unsigned char)*p);
        attr[a] = 0;
        if (!strcmp(attr, "data") || !strcmp(attr, "data_base64"))
            continue;
        char *v = pct_decode(h[i].value);
        json_t *s = v ? json_string(v) : NULL;
        free(v);
        if (!s) {
            ct_reason_add(&ev->reasons, attr, "utf8", "header ce-%s is not UTF-8", attr);
            continue;
        }
        json_object_set_new(obj, attr, s);
    }
    if (len == 0)
        ct_reason_add(&ev->reasons, "data", "required", "the body (data) is empty");
    else if (!(data = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je)))
        ct_reason_add(&ev->reasons, "data", "json", "the body is not JSON: %s (line %d, column %d)",
                      je.text, je.line, je.column);
    else
        json_object_set_new(obj, "data", data);
    finish(ev, obj, tenant);
    json_decref(obj);
}

long gw_events_build(gw_mode mode, const gw_header *h, size_t nh, const char *body, size_t len,
                     const char *tenant, size_t batch_max, gw_event **out)
{
    json_error_t je;
    json_t *root = NULL;
    gw_event *ev;
    size_t n = 1;

    *out = NULL;
    if (mode == GW_BATCH) {
        root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_array(root)) {
            json_decref(root);
            return -1;
        }
        n = json_array_size(root);
        if (n > batch_max) {
            json_decref(root);
            return -2;
        }
    }
    ev = calloc(n ? n : 1, sizeof *ev);
    if (!ev) {
        json_decref(root);
        return -1;
    }
    if (mode == GW_BINARY) {
        binary(ev, h, nh, body, len, tenant);
    } else if (mode == GW_STRUCTURED) {
        root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
        if (json_is_object(root))
            finish(ev, root, tenant);
        else
            raw(ev, body, len);
    } else {
        for (size_t i = 0; i < n; i++)
            finish(&ev[i], json_array_get(root, i), tenant);
    }
    json_decref(root);
    *out = ev;
    return (long)n;
}

void gw_events_free(gw_event *ev, size_t n)
{
    if (!ev)
        return;
    for (size_t i = 0; i < n; i++)
        free(ev[i].json);
    free(ev);
}
