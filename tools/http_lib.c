/* http_lib.c -- arrears-publish --http's batch, answer and Retry-After
 * logic (http_lib.h).
 *
 * Design: the batch body is built by appending the events' own bytes
 * between '[' ',' and ']' (no re-serialisation); each event's id is read
 * once, when it is added, so an answer's results can be tied back to the
 * input lines. A result is a failure when it carries errors or a status
 * other than accepted (the gateway's words, docs/gateway.md); its reasons
 * are printed as the DLQ prints them, "field: message (rule)". */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "http_lib.h"

/* ----------------------------------------------------------------- batch */

int tool_http_batch_init(tool_http_batch *b, int max)
{
    memset(b, 0, sizeof(*b));
    if (max < 1 || max > TOOL_HTTP_BATCH_MAX)
        return -1;
    b->max = max;
    b->items = calloc((size_t)max, sizeof(*b->items));
    return b->items ? 0 : -1;
}

void tool_http_batch_free(tool_http_batch *b)
{
    cm_buf_free(&b->body);
    free(b->items);
    memset(b, 0, sizeof(*b));
}

void tool_http_batch_reset(tool_http_batch *b)
{
    cm_buf_reset(&b->body);
    b->n = 0;
}

static void tool_http_id_of(const char *event, size_t len, char *id, size_t idlen)
{
    json_t *ce = json_loadb(event, len, 0, NULL);
    const char *s = json_string_value(json_object_get(ce, "id"));
    snprintf(id, idlen, "%s", s ? s : "");
    json_decref(ce);
}

int tool_http_batch_add(tool_http_batch *b, const char *event, size_t len, int input, size_t lineno)
{
    tool_http_item *it;
    if (b->n >= b->max)
        return -1;
    it = &b->items[b->n];
    memset(it, 0, sizeof(*it));
    it->input = input;
    it->lineno = lineno;
    tool_http_id_of(event, len, it->id, sizeof(it->id));
    if (b->body.len && b->body.p[b->body.len - 1] == ']')
        b->body.len--; /* reopened after tool_http_batch_body */
    cm_buf_addc(&b->body, b->n ? ',' : '[');
    cm_buf_add(&b->body, event, len);
    if (b->body.oom)
        return -1;
    b->n++;
    return b->n == b->max;
}

const char *tool_http_batch_body(tool_http_batch *b, size_t *len)
{
    if (!b->n) {
        *len = 2;
        return "[]";
    }
    if (!b->body.len || b->body.p[b->body.len - 1] != ']')
        cm_buf_addc(&b->body, ']');
    *len = b->body.len;
    return b->body.oom ? NULL : b->body.p;
}

/* ---------------------------------------------------------------- answer */

static void tool_http_fail_all(tool_http_batch *b, const char *why)
{
    for (int i = 0; i < b->n; i++) {
        b->items[i].failed = 1;
        snprintf(b->items[i].reason, sizeof(b->items[i].reason), "%s", why);
    }
}

/* "field: message (rule); ..." from an errors array of objects or strings. */
static void tool_http_reasons(const json_t *errors, char *out, size_t outlen)
{
    size_t i, off = 0;
    json_t *e;
    out[0] = 0;
    json_array_foreach(errors, i, e)
    {
        const char *field = json_string_value(json_object_get(e, "field"));
        const char *rule = json_string_value(json_object_get(e, "rule"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        int w;
        if (json_is_string(e))
            msg = json_string_value(e);
        w = snprintf(out + off, outlen - off, "%s%s%s%s%s%s%s", off ? "; " : "", field ? field : "",
                     field ? ": " : "", msg ? msg : (rule ? "" : "invalid"),
                     rule ? (msg ? " (" : "") : "", rule ? rule : "", rule && msg ? ")" : "");
        if (w < 0 || (size_t)w >= outlen - off)
            return;
        off += (size_t)w;
    }
}

/* Whether one result says the event was not taken. */
static int tool_http_result_failed(const json_t *r)
{
    const json_t *st = json_object_get(r, "status"), *errors = json_object_get(r, "errors");
    if (json_array_size(errors) > 0)
        return 1;
    if (json_is_integer(st))
        return json_integer_value(st) < 200 || json_integer_value(st) > 299;
    if (json_is_string(st)) {
        const char *s = json_string_value(st);
        return strcasecmp(s, "accepted") && strcasecmp(s, "duplicate") && strcasecmp(s, "ok");
    }
    return 0; /* no status, no errors: taken */
}

/* The item a result belongs to: the first unanswered one with its id, else
 * the one at its position. */
static tool_http_item *tool_http_item_of(tool_http_batch *b, const char *id, size_t pos,
                                         unsigned char *seen)
{
    if (id && *id)
        for (int i = 0; i < b->n; i++)
            if (!seen[i] && !strcmp(b->items[i].id, id)) {
                seen[i] = 1;
                return &b->items[i];
            }
    if (pos < (size_t)b->n && !seen[pos]) {
        seen[pos] = 1;
        return &b->items[pos];
    }
    return NULL;
}

static int tool_http_results(tool_http_batch *b, const char *body, size_t len)
{
    json_t *doc = body ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *results = json_object_get(doc, "results"), *r;
    unsigned char *seen;
    size_t i;
    if (!json_is_array(results) || !(seen = calloc((size_t)b->n + 1, 1))) {
        json_decref(doc);
        return -1;
    }
    json_array_foreach(results, i, r)
    {
        tool_http_item *it =
            tool_http_item_of(b, json_string_value(json_object_get(r, "id")), i, seen);
        if (!it || !tool_http_result_failed(r))
            continue;
        it->failed = 1;
        tool_http_reasons(json_object_get(r, "errors"), it->reason, sizeof(it->reason));
        if (!it->reason[0]) {
            const char *st = json_string_value(json_object_get(r, "status"));
            snprintf(it->reason, sizeof(it->reason), "%s", st ? st : "not accepted");
        }
    }
    free(seen);
    json_decref(doc);
    return 0;
}

enum tool_http_next tool_http_answer(tool_http_batch *b, long status, const char *body, size_t len)
{
    /* answers that fail the whole batch, and whether the run can go on */
    static const struct {
        long status;
        const char *why;
        enum tool_http_next next;
    } whole[] = {
        {401, "401 Unauthorized: check --token or ARREARS_GATEWAY_TOKEN", TOOL_HTTP_STOP},
        {413, "413 Payload Too Large: try a smaller --batch", TOOL_HTTP_DONE},
        {415, "415 Unsupported Media Type: is the URL a gateway's?", TOOL_HTTP_DONE},
    };
    char why[128];
    for (int i = 0; i < b->n; i++)
        b->items[i].failed = 0, b->items[i].reason[0] = 0;
    for (size_t k = 0; k < sizeof(whole) / sizeof(whole[0]); k++)
        if (status == whole[k].status) {
            tool_http_fail_all(b, whole[k].why);
            return whole[k].next;
        }
    switch (status) {
    case 200:
    case 202:
        /* taken; a body without results means every event was */
        tool_http_results(b, body, len);
        return TOOL_HTTP_DONE;
    case 400:
        if (tool_http_results(b, body, len) != 0)
            tool_http_fail_all(b, "400 Bad Request (no per-event results)");
        return TOOL_HTTP_DONE;
    case 429:
    case 503:
        return TOOL_HTTP_RETRY;
    default:
        snprintf(why, sizeof(why), "HTTP %ld", status);
        tool_http_fail_all(b, why);
        return TOOL_HTTP_DONE;
    }
}

/* ----------------------------------------------------------- Retry-After */

int tool_http_retry_after(const char *value, int64_t now, int dflt)
{
    const char *p = value;
    int64_t d;
    if (!value)
        return dflt;
    while (isspace((unsigned char)*p))
        p++;
    if (isdigit((unsigned char)*p)) {
        char *end;
        long long v = strtoll(p, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (*end)
            return dflt;
        d = v;
    } else {
        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT (no locale: %a %b
         * are the English names whatever the environment says) */
        static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
        char mon[4] = "";
        int day, year, hh, mm, ss, used = 0;
        const char *m;
        if (!(p = strchr(p, ',')) ||
            sscanf(p, ", %2d %3s %4d %2d:%2d:%2d GMT%n", &day, mon, &year, &hh, &mm, &ss, &used) !=
                6 ||
            !used || strlen(mon) != 3 || !(m = strstr(months, mon)) || (m - months) % 3 ||
            day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
            return dflt;
        for (p += used; isspace((unsigned char)*p); p++)
            ;
        if (*p)
            return dflt;
        d = ((int64_t)cm_days_from_civil(year, (unsigned)((m - months) / 3 + 1), (unsigned)day) *
                 86400 +
             hh * 3600 + mm * 60 + ss) -
            now;
    }
    if (d < 0)
        return 0;
    return d > TOOL_HTTP_RETRY_CAP_S ? TOOL_HTTP_RETRY_CAP_S : (int)d;
}

/* ------------------------------------------------------------------- URL */

int tool_http_events_url(const char *url, char *out, size_t outlen)
{
    const char *host, *path;
    size_t n = strlen(url);
    int w;
    if (!strncasecmp(url, "http://", 7))
        host = url + 7;
    else if (!strncasecmp(url, "https://", 8))
        host = url + 8;
    else
        return -1;
    if (!*host || *host == '/')
        return -1;
    path = strchr(host, '/');
    if (path && path[1]) /* a path of its own: as given */
        w = snprintf(out, outlen, "%s", url);
    else
        w = snprintf(out, outlen, "%.*s/v1/events", (int)(path ? (size_t)(path - url) : n), url);
    return w < 0 || (size_t)w >= outlen ? -1 : 0;
}
