/* email.c -- POST /v1/email/events: an email provider's delivery events.
 *
 * The body is one event or a JSON array of them (at most the batch
 * limit):
 *   {"message_id":"<ntf.<32 hex>.<b64url customer_id>.<b64url template>@d>",
 *    "event":"delivered"|"bounced"|"complained",
 *    "kind":"hard"|"soft"            (bounced only, required there),
 *    "at":"2026-03-08T09:00:03Z"}    (RFC 3339: the event's time)
 * The gateway holds no state: the debtor and the template are read out of
 * the notifier's deterministic Message-ID (issue17.md section 2), which
 * names the command only by the first 32 hex digits of its SHA-256, so
 * the events carry the message_id instead of a command_id. The event id is
 * "email/<those 32 hex>/<event>": a provider's retries are de-duplicated.
 * Anything wrong in any item refuses the whole request with every reason
 * ("[i].field" in an array), so a provider retries nothing half-published.
 * Off the hot path: jansson, duplicate keys refused. */
#include "webhooks.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "clock.h"

#define MSGID_RULE                                                                                 \
    "not the notifier's Message-ID "                                                               \
    "(<ntf.<32 hex>.<base64url customer_id>.<base64url template>@domain>)"

/* base64url text s[0..n) decoded into out (max bytes + NUL): a non-empty
 * UTF-8 string without NUL; 0 or -1. */
static int b64part(const char *s, size_t n, char *out, size_t max)
{
    unsigned char buf[CT_ID_MAX + 8];
    if (n == 0 || n > (max * 4 + 2) / 3)
        return -1;
    long l = cm_base64url_decode(s, n, buf);
    if (l <= 0 || (size_t)l > max || memchr(buf, 0, (size_t)l) ||
        !ct_utf8_valid((const char *)buf, (size_t)l))
        return -1;
    memcpy(out, buf, (size_t)l);
    out[l] = 0;
    return 0;
}

int gw_msgid_parse(const char *s, gw_msgid *m, char *why, size_t whylen)
{
    size_t n = strlen(s);
    memset(m, 0, sizeof *m);
    if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
        s++, n -= 2;
    const char *end = s + n;
    const char *at = memchr(s, '@', n);
    if (n < 4 || memcmp(s, "ntf.", 4) != 0 || !at || at + 1 == end) {
        snprintf(why, whylen, MSGID_RULE);
        return -1;
    }
    for (const char *d = at + 1; d < end; d++)
        if (*d == '@' || *d == '<' || *d == '>' || *d <= ' ' || *d == 0x7f) {
            snprintf(why, whylen, MSGID_RULE ": a bad domain");
            return -1;
        }
    const char *h = s + 4;
    for (int i = 0; i < 32; i++)
        if (h + i >= at || !((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) {
            snprintf(why, whylen, MSGID_RULE ": 32 lower-case hex digits after ntf.");
            return -1;
        }
    const char *c = h + 32,
               *dot = c < at && *c == '.' ? memchr(c + 1, '.', (size_t)(at - c - 1)) : NULL;
    if (!dot || b64part(c + 1, (size_t)(dot - c - 1), m->customer_id, CT_ID_MAX) != 0) {
        snprintf(why, whylen, MSGID_RULE ": the customer id is not base64url of an id");
        return -1;
    }
    if (b64part(dot + 1, (size_t)(at - dot - 1), m->template_, CT_ID_MAX) != 0) {
        snprintf(why, whylen, MSGID_RULE ": the template is not base64url of a name");
        return -1;
    }
    memcpy(m->hash, h, 32);
    m->hash[32] = 0;
    return 0;
}

/* One item into ev; reasons with prefix into rs. 0 or -1. */
static int item(const char *tenant, json_t *o, const char *prefix, gw_event *ev, ct_reasons *rs)
{
    char f[64], why[200];
    gw_msgid m;
    size_t before = rs->n + rs->dropped;
    if (!json_is_object(o)) {
        snprintf(f, sizeof f, "%.*s", *prefix ? (int)strlen(prefix) - 1 : 9,
                 *prefix ? prefix : "(payload)");
        ct_reason_add(rs, f, "object", "not a JSON object");
        return -1;
    }
    const char *mid = json_string_value(json_object_get(o, "message_id"));
    const char *event = json_string_value(json_object_get(o, "event"));
    const char *kind = json_string_value(json_object_get(o, "kind"));
    const char *at = json_string_value(json_object_get(o, "at"));
    snprintf(f, sizeof f, "%smessage_id", prefix);
    if (!mid)
        ct_reason_add(rs, f, "required", "required (a string)");
    else if (gw_msgid_parse(mid, &m, why, sizeof why) != 0)
        ct_reason_add(rs, f, "message_id", "%s", why);
    snprintf(f, sizeof f, "%sevent", prefix);
    int bounced = event && !strcmp(event, "bounced");
    if (!event)
        ct_reason_add(rs, f, "required", "required (delivered, bounced or complained)");
    else if (!bounced && strcmp(event, "delivered") && strcmp(event, "complained"))
        ct_reason_add(rs, f, "enum", "not delivered, bounced or complained");
    snprintf(f, sizeof f, "%skind", prefix);
    if (bounced && (!kind || (strcmp(kind, "hard") && strcmp(kind, "soft"))))
        ct_reason_add(rs, f, "enum", "hard or soft is required for a bounce");
    snprintf(f, sizeof f, "%sat", prefix);
    int64_t ms;
    if (!at)
        ct_reason_add(rs, f, "required", "required (RFC 3339)");
    else if (cm_time_parse_rfc3339(at, &ms) != 0)
        ct_reason_add(rs, f, "time", "not an RFC 3339 time");
    if (rs->n + rs->dropped != before)
        return -1;
    cm_buf b = CM_BUF_INIT;
    snprintf(ev->id, sizeof ev->id, "email/%s/%s", m.hash, event);
    cm_buf_adds(&b, "{\"specversion\":\"1.0\",\"id\":");
    cm_buf_json_str(&b, ev->id, strlen(ev->id));
    cm_buf_printf(&b,
                  ",\"source\":\"arrears-gateway/email\",\"type\":\"contact.%s\",\"time\":", event);
    cm_buf_json_str(&b, at, strlen(at));
    cm_buf_adds(&b, ",\"tenant\":");
    cm_buf_json_str(&b, tenant, strlen(tenant));
    cm_buf_adds(&b, ",\"data\":{\"customer_id\":");
    cm_buf_json_str(&b, m.customer_id, strlen(m.customer_id));
    cm_buf_adds(&b, ",\"channel\":\"email\",\"template\":");
    cm_buf_json_str(&b, m.template_, strlen(m.template_));
    cm_buf_adds(&b, ",\"message_id\":");
    cm_buf_json_str(&b, mid, strlen(mid));
    if (bounced)
        cm_buf_printf(&b, ",\"kind\":\"%s\"", kind);
    cm_buf_adds(&b, "}}");
    ev->len = b.len;
    if (!(ev->json = cm_buf_take(&b, &ev->len)))
        return -1;
    return 0;
}

long gw_email_events(const char *tenant, const char *body, size_t len, size_t batch_max,
                     gw_event **out, ct_reasons *rs)
{
    json_error_t je;
    *out = NULL;
    json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        ct_reason_add(rs, "(payload)", "json", "not JSON: %s", je.text);
        return -1;
    }
    int arr = json_is_array(root);
    size_t n = arr ? json_array_size(root) : 1;
    if (arr && (n == 0 || n > batch_max)) {
        ct_reason_add(rs, "(payload)", "batch", "an array holds 1 to %zu events", batch_max);
        json_decref(root);
        return -1;
    }
    gw_event *ev = calloc(n, sizeof *ev);
    int bad = 0;
    for (size_t i = 0; ev && i < n; i++) {
        char prefix[32] = "";
        if (arr)
            snprintf(prefix, sizeof prefix, "[%zu].", i);
        if (item(tenant, arr ? json_array_get(root, i) : root, prefix, &ev[i], rs) != 0)
            bad = 1;
    }
    json_decref(root);
    if (!ev || bad) {
        gw_events_free(ev, n);
        return -1; /* no reason: out of memory */
    }
    *out = ev;
    return (long)n;
}
