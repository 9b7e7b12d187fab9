/* event.c -- the CloudEvents HTTP binding: a request's body and headers
 * into the structured CloudEvents ingest reads on `inbound`.
 *
 * Binary mode: every `ce-<attr>` header is an attribute (percent-decoded,
 * as the binding says), the body is `data`. Structured mode: the body is
 * one CloudEvent; batch mode: a JSON array of them. In every mode the
 * tenant is the credential's: an event that names another one gets a
 * reason on `tenant`, and the event written carries the credential's.
 * A body that is not a JSON object is passed on as it is, flagged, so that
 * the validator words its reasons exactly as ingest would.
 *
 * The event written is exactly what jansson's compact dump of the posted
 * object with the tenant set would be (members in order, a "tenant"
 * replaced in place or appended). Batch and structured mode are the
 * gateway's hot path, so they do not build jansson trees: the body is
 * checked with the shared arena reader (common/json.h: strict like jansson
 * with JSON_REJECT_DUPLICATES, after ct_utf8_valid), each object's bytes
 * are scanned, and when they are already in jansson's compact form (no
 * whitespace, no real numbers, no -0, only the escapes jansson writes) the
 * tenant is spliced into those bytes, which gives the same text jansson
 * would. Anything else -- a body the reader refuses, nesting deeper than
 * FAST_DEPTH, an element that is not in compact form or not an object --
 * takes the jansson path as before, so every answer is the same either
 * way. Binary mode (headers) always uses jansson. */
#include "gateway.h"

#include "crypto.h"
#include "json.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "str.h"

/* Deepest nesting (arrays and objects, the batch array included) the fast
 * path takes; jansson refuses values deeper than JSON_PARSER_MAX_DEPTH
 * (2048), so whatever the reader accepts here jansson accepts too. */
#define FAST_DEPTH 512

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

/* The jansson path: the body parsed as a whole, every event dumped. */
static long build_jansson(gw_mode mode, const gw_header *h, size_t nh, const char *body, size_t len,
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

/* 1 when the escape at p (after the backslash) is one jansson writes:
 * \" \\ \b \f \n \r \t, or \u00XX (upper-case hex) for another control
 * character. */
static int jansson_escape(const char *p, const char *end)
{
    if (p >= end)
        return 0;
    if (strchr("\"\\bfnrt", *p) && *p)
        return 1;
    if (*p != 'u' || end - p < 5 || p[1] != '0' || p[2] != '0' || (p[3] != '0' && p[3] != '1'))
        return 0;
    char c = p[4];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (v < 0)
        return 0;
    v |= (p[3] - '0') << 4;
    return v != '\b' && v != '\f' && v != '\n' && v != '\r' && v != '\t';
}

/* Scans the value at p (valid JSON: the reader accepted it) to its end.
 * *compact is 1 when its bytes are what jansson's compact dump of it
 * would be; when the value is an object, [*tv, *tvend) is the value of its
 * own "tenant" member (both NULL when it has none). Returns the end. */
static const char *scan(const char *p, const char *end, int *compact, const char **tv,
                        const char **tvend)
{
    int depth = 0, key = 0; /* key: a key of the top object comes next */
    *compact = 1;
    *tv = *tvend = NULL;
    do {
        if (p >= end)
            break;
        char c = *p;
        switch (c) {
        case '{':
        case '[':
            key = ++depth == 1 && c == '{';
            p++;
            break;
        case '}':
        case ']':
        case ',':
            if (depth == 1 && *tv && !*tvend)
                *tvend = p;
            if (c == ',')
                key = depth == 1;
            else
                depth--;
            p++;
            break;
        case ':':
            if (depth == 1 && *tv == p) /* the tenant's key just ended */
                *tv = p + 1;
            p++;
            break;
        case '"': {
            const char *s = p++;
            while ((p = cm_json_plain_end(p, end)) < end && *p != '"') {
                if (*p == '\\') {
                    if (!jansson_escape(p + 1, end))
                        *compact = 0;
                    p += p + 1 < end && p[1] == 'u' ? 6 : 2;
                } else {
                    p++;
                }
            }
            p++;
            if (key && p - s == 8 && !memcmp(s, "\"tenant\"", 8) && p < end && *p == ':')
                *tv = p; /* moved past the ':' above */
            key = 0;
            break;
        }
        case 't':
        case 'n':
            p += 4;
            break;
        case 'f':
            p += 5;
            break;
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            *compact = 0;
            p++;
            break;
        default: { /* a number */
            const char *s = p;
            while (p < end && (*p == '-' || *p == '+' || *p == '.' || *p == 'e' || *p == 'E' ||
                               (*p >= '0' && *p <= '9'))) {
                if (*p == '.' || *p == 'e' || *p == 'E')
                    *compact = 0; /* a real: jansson writes it with 17 digits */
                p++;
            }
            if (p - s == 2 && s[0] == '-' && s[1] == '0')
                *compact = 0; /* jansson writes 0 */
            if (p == s) {     /* not reached on valid JSON; never loop */
                *compact = 0;
                p++;
            }
            break;
        }
        }
    } while (depth > 0);
    if (!*tvend)
        *tv = NULL;
    return p;
}

/* 1 when jansson writes s as it is between quotes. */
static int plain_string(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E || *s == '"' || *s == '\\')
            return 0;
    return 1;
}

/* The event of the object v whose compact bytes are p[0..n): the tenant
 * spliced in. */
static void splice(gw_event *ev, const cm_jv *v, const char *p, size_t n, const char *tv,
                   const char *tvend, const char *tenant)
{
    const cm_jv *id = cm_jv_get(v, "id");
    if (id && id->type == CM_JV_STRING)
        cm_strlcpy(ev->id, id->u.s, sizeof ev->id);
    const cm_jv *t = cm_jv_get(v, "tenant");
    if (t && t->type != CM_JV_NULL && !(t->type == CM_JV_STRING && !strcmp(t->u.s, tenant)))
        ct_reason_add(&ev->reasons, "tenant", "credential",
                      "names another tenant than the credential's; leave it out");
    size_t tl = strlen(tenant);
    size_t head = tv ? (size_t)(tv - p) : n - 1, tail = tv ? (size_t)(p + n - tvend) : 1;
    ev->json = malloc(n + tl + 16);
    if (!ev->json) {
        ct_reason_add(&ev->reasons, "(payload)", "memory", "out of memory");
        return;
    }
    char *o = ev->json;
    memcpy(o, p, head);
    o += head;
    if (!tv) /* appended, as jansson adds a new member last */
        o += v->n ? (memcpy(o, ",\"tenant\":", 10), 10) : (memcpy(o, "\"tenant\":", 9), 9);
    *o++ = '"';
    memcpy(o, tenant, tl);
    o += tl;
    *o++ = '"';
    memcpy(o, tv ? tvend : p + n - 1, tail);
    o += tail;
    *o = 0;
    ev->len = (size_t)(o - ev->json);
}

/* The event of the array item or body v at p[0..n) (scanned by scan()):
 * spliced when compact, else as jansson dumps it. 0, or -1 when jansson
 * refuses the bytes (the caller then takes the jansson path for the whole
 * body). */
static int one(gw_event *ev, const cm_jv *v, const char *p, size_t n, int compact, const char *tv,
               const char *tvend, const char *tenant)
{
    if (v->type == CM_JV_OBJECT && compact) {
        splice(ev, v, p, n, tv, tvend, tenant);
        return 0;
    }
    json_error_t je;
    json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!j)
        return -1;
    finish(ev, j, tenant);
    json_decref(j);
    return 0;
}

/* n events with every member but the reasons' texts zeroed (an event is
 * mostly its reasons: clearing them all cost as much as the splicing). */
static gw_event *events_new(size_t n)
{
    gw_event *ev = malloc((n ? n : 1) * sizeof *ev);
    for (size_t i = 0; ev && i < n; i++) {
        ev[i].json = NULL;
        ev[i].len = 0;
        ev[i].id[0] = 0;
        ev[i].raw = 0;
        ev[i].reasons.n = ev[i].reasons.dropped = 0;
    }
    return ev;
}

/* The fast path of batch and structured mode (see the note at the top).
 * Returns the count, -2, or -3 when the jansson path must decide. */
static long build_fast(gw_mode mode, const char *body, size_t len, const char *tenant,
                       size_t batch_max, gw_event **out)
{
    long rc = -3;
    size_t n = 0, i = 0;
    gw_event *ev = NULL;
    cm_json *j = NULL;
    char err[160];
    const char *p = body, *end = body + len;

    if (!body || !plain_string(tenant) || !ct_utf8_valid(body, len) || !(j = cm_json_new()))
        goto cleanup;
    const cm_jv *root = cm_json_parse(j, body, len, FAST_DEPTH, err, sizeof err);
    if (!root || root->type != (mode == GW_BATCH ? CM_JV_ARRAY : CM_JV_OBJECT))
        goto cleanup;
    if (mode == GW_STRUCTURED) {
        while (*p != '{')
            p++;
        while (end[-1] != '}')
            end--;
        int compact;
        const char *tv, *tvend;
        scan(p, end, &compact, &tv, &tvend);
        if (!(ev = events_new(1)) ||
            one(ev, root, p, (size_t)(end - p), compact, tv, tvend, tenant) != 0)
            goto cleanup;
        n = 1;
        rc = 1;
        goto cleanup;
    }
    if (root->n > batch_max) {
        rc = -2;
        goto cleanup;
    }
    if (!(ev = events_new(root->n)))
        goto cleanup;
    n = root->n;
    while (*p != '[')
        p++;
    p++;
    for (const cm_jv *v = root->u.first; v; v = v->next, i++) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',')
            p++;
        int compact;
        const char *tv, *tvend, *e = scan(p, end, &compact, &tv, &tvend);
        if (one(&ev[i], v, p, (size_t)(e - p), compact, tv, tvend, tenant) != 0)
            goto cleanup;
        p = e;
    }
    rc = (long)n;
cleanup:
    cm_json_free(j);
    if (rc >= 0) {
        *out = ev;
    } else {
        gw_events_free(ev, n);
        *out = NULL;
    }
    return rc;
}

long gw_events_build(gw_mode mode, const gw_header *h, size_t nh, const char *body, size_t len,
                     const char *tenant, size_t batch_max, gw_event **out)
{
    *out = NULL;
    if (mode == GW_BATCH || mode == GW_STRUCTURED) {
        long rc = build_fast(mode, body, len, tenant, batch_max, out);
        if (rc != -3)
            return rc;
    }
    return build_jansson(mode, h, nh, body, len, tenant, batch_max, out);
}

void gw_events_free(gw_event *ev, size_t n)
{
    if (!ev)
        return;
    for (size_t i = 0; i < n; i++)
        free(ev[i].json);
    free(ev);
}
