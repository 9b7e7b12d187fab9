/* sms.c -- Twilio-compatible SMS webhooks, and the routing of every
 * provider webhook.
 *
 * POST /v1/sms/inbound: a debtor's text. Body, trimmed of ASCII white
 * space and compared case-insensitively, is a keyword (Twilio's own
 * opt-out and opt-in words) or a reply:
 *   STOP STOPALL UNSUBSCRIBE CANCEL END QUIT -> contact.ceased  channel sms
 *   START YES UNSTOP                         -> contact.resumed channel sms
 *   anything else                            -> contact.replied (text cut
 *                                               to 1600 bytes at a UTF-8
 *                                               boundary)
 * The gateway holds no state, so the debtor is named by data.phone (the
 * From number, E.164): ingest resolves it to customers (issue17.md
 * section 3). The answer is an empty TwiML <Response/>, so Twilio sends
 * nothing back (its own STOP handling, if enabled, still answers).
 *
 * POST /v1/sms/status: a StatusCallback. MessageStatus delivered ->
 * contact.delivered; failed (the carrier refused: a number that does not
 * exist or cannot take SMS) -> contact.bounced kind hard; undelivered (a
 * temporary failure: handset off, carrier congestion) -> contact.bounced
 * kind soft. queued, sending, sent, receiving, received, accepted,
 * scheduled, read, canceled publish nothing and are answered 200. The
 * customer, command and template come from the callback URL's query,
 * which the notifier wrote and Twilio signed.
 *
 * Both check X-Twilio-Signature against the tenant the URL's `tenant`
 * parameter names (403 when absent, unknown or wrong), then publish like
 * /v1/events: ct_validate, the backend, an answer only once the broker
 * acknowledged (503 with Retry-After otherwise). Event ids are
 * "sms/<MessageSid>" and "sms/<MessageSid>/status/<status>", so Twilio's
 * retries are de-duplicated by ingest; time is the receipt time. */
#include "webhooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"

static const char *const stop_words[] = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"};
static const char *const start_words[] = {"START", "YES", "UNSTOP"};

static int ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int listed(const char *const *words, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(words[i]) == len && strncasecmp(words[i], s, len) == 0)
            return 1;
    return 0;
}

gw_sms_kind gw_sms_keyword(const char *body, size_t len)
{
    while (len && ws(*body))
        body++, len--;
    while (len && ws(body[len - 1]))
        len--;
    if (listed(stop_words, sizeof stop_words / sizeof *stop_words, body, len))
        return GW_SMS_STOP;
    if (listed(start_words, sizeof start_words / sizeof *start_words, body, len))
        return GW_SMS_START;
    return GW_SMS_REPLY;
}

size_t gw_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) /* s[k] continues a sequence */
        k--;
    return k;
}

/* The CloudEvent's attributes up to "data":{ (the caller closes it). */
static void head(cm_buf *out, const char *id, const char *source, const char *type,
                 const char *time, const char *tenant)
{
    cm_buf_reset(out);
    cm_buf_adds(out, "{\"specversion\":\"1.0\",\"id\":");
    cm_buf_json_str(out, id, strlen(id));
    cm_buf_adds(out, ",\"source\":");
    cm_buf_json_str(out, source, strlen(source));
    cm_buf_printf(out, ",\"type\":\"%s\",\"time\":", type);
    cm_buf_json_str(out, time, strlen(time));
    cm_buf_adds(out, ",\"tenant\":");
    cm_buf_json_str(out, tenant, strlen(tenant));
    cm_buf_adds(out, ",\"data\":{");
}

/* ,"name":"value" (first: without the comma). */
static void member(cm_buf *out, int first, const char *name, const char *value)
{
    cm_buf_printf(out, "%s\"%s\":", first ? "" : ",", name);
    cm_buf_json_str(out, value, strlen(value));
}

/* A required parameter: UTF-8 of at most max bytes; NULL with a reason. */
static const char *param(const gw_form *f, const char *name, size_t max, ct_reasons *rs)
{
    const char *v = gw_form_get(f, name);
    if (!v || !*v)
        ct_reason_add(rs, name, "required", "required");
    else if (strlen(v) > max)
        ct_reason_add(rs, name, "length", "longer than %zu bytes", max);
    else if (!ct_utf8_valid(v, strlen(v)))
        ct_reason_add(rs, name, "utf8", "not UTF-8");
    else
        return v;
    return NULL;
}

/* The event id prefix "sms/<sid>" room: CT_ID_MAX less "/status/undelivered". */
#define SID_MAX (CT_ID_MAX - 24)

int gw_sms_inbound_event(const char *tenant, const gw_form *form, const char *time, cm_buf *out,
                         char *id, size_t idlen, ct_reasons *rs)
{
    const char *sid = param(form, "MessageSid", SID_MAX, rs);
    const char *from = param(form, "From", 16, rs);
    if (from && !ct_e164_valid(from)) {
        ct_reason_add(rs, "From", "e164", "not an E.164 number (+ and 8 to 15 digits)");
        from = NULL;
    }
    if (!sid || !from)
        return -1;
    const char *body = gw_form_get(form, "Body");
    size_t blen = body ? strlen(body) : 0;
    gw_sms_kind k = gw_sms_keyword(body ? body : "", blen);
    snprintf(id, idlen, "sms/%s", sid);
    if (k != GW_SMS_REPLY) {
        head(out, id, "arrears-gateway/sms",
             k == GW_SMS_STOP ? "contact.ceased" : "contact.resumed", time, tenant);
        member(out, 1, "phone", from);
        member(out, 0, "channel", "sms");
        cm_buf_adds(out, "}}");
        goto written;
    }
    size_t cut = gw_utf8_cut(body ? body : "", blen, GW_SMS_TEXT_MAX);
    char *text = malloc(cut + 1);
    if (!text)
        return -1; /* no reason: out of memory */
    memcpy(text, body ? body : "", cut);
    text[cut] = 0;
    ct_utf8_sanitize(text); /* a provider's stray byte is not the debtor's fault */
    head(out, id, "arrears-gateway/sms", "contact.replied", time, tenant);
    member(out, 1, "channel", "sms");
    member(out, 0, "phone", from);
    member(out, 0, "text", text);
    member(out, 0, "provider_id", sid);
    cm_buf_adds(out, "}}");
    free(text);
written:
    return out->oom ? -1 : 0;
}

int gw_sms_status_event(const char *tenant, const gw_form *form, const gw_form *query,
                        const char *time, cm_buf *out, char *id, size_t idlen, ct_reasons *rs)
{
    const char *status = param(form, "MessageStatus", 32, rs);
    if (!status)
        return -1;
    const char *kind = !strcmp(status, "failed")        ? "hard"
                       : !strcmp(status, "undelivered") ? "soft"
                                                        : NULL;
    if (!kind && strcmp(status, "delivered") != 0)
        return 0;
    const char *sid = param(form, "MessageSid", SID_MAX, rs);
    const char *cust = param(query, "customer_id", CT_ID_MAX, rs);
    const char *cmd = param(query, "command_id", CT_ID_MAX, rs);
    const char *tpl = param(query, "template", CT_ID_MAX, rs);
    if (!sid || !cust || !cmd || !tpl)
        return -1;
    snprintf(id, idlen, "sms/%s/status/%s", sid, status);
    head(out, id, "arrears-gateway/sms", kind ? "contact.bounced" : "contact.delivered", time,
         tenant);
    member(out, 1, "customer_id", cust);
    member(out, 0, "channel", "sms");
    member(out, 0, "command_id", cmd);
    member(out, 0, "template", tpl);
    if (kind) {
        const char *to = gw_form_get(form, "To");
        member(out, 0, "kind", kind);
        if (to && ct_e164_valid(to))
            member(out, 0, "address", to);
    } else {
        member(out, 0, "provider_id", sid);
    }
    cm_buf_adds(out, "}}");
    return out->oom ? -1 : 1;
}

/* --- routing ------------------------------------------------------------- */

/* Validates and publishes n events; 0 done (the caller answers success),
 * or -1 with out filled (400 every refused event's reasons, 503, 500). */
static int publish(const gw_config *cfg, gw_event *ev, size_t n, gw_answer *out)
{
    gw_record *recs = calloc(n ? n : 1, sizeof *recs);
    char(*keys)[CT_KEY_MAX] = calloc(n ? n : 1, sizeof *keys);
    ct_reasons all = {.n = 0};
    int rc = -1, refused = 0, oom = !recs || !keys;
    for (size_t i = 0; !oom && i < n; i++) {
        int ok = gw_validate(cfg, &ev[i], keys[i], sizeof keys[i]);
        oom = ok < 0;
        recs[i] = (gw_record){keys[i], ev[i].json, ev[i].len};
        for (size_t r = 0; ok == 0 && r < ev[i].reasons.n; r++) {
            const ct_reason *x = &ev[i].reasons.r[r];
            if (n > 1)
                ct_reason_add(&all, x->field, x->rule, "[%zu] %s", i, x->message);
            else if (all.n < CT_MAX_REASONS)
                all.r[all.n++] = *x;
        }
        refused |= ok == 0;
    }
    if (oom)
        gw_answer_error(out, 500, "out of memory");
    else if (refused)
        gw_answer_reasons(out, 400, &all);
    else if (n && cfg->be.publish(cfg->be.opaque, recs, n) != 0)
        out->retry_after = 5, gw_answer_error(out, 503,
                                              "inbound is unavailable; retry later "
                                              "(the same ids are harmless)");
    else
        rc = 0;
    free(recs);
    free(keys);
    return rc;
}

static void twiml(gw_answer *out)
{
    out->status = 200;
    out->content_type = "text/xml";
    cm_buf_reset(&out->body);
    cm_buf_adds(&out->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>");
}

static void sms(const gw_config *cfg, const gw_request *rq, int inbound, gw_answer *out)
{
    gw_form query = {0}, form = {0};
    cm_buf url = CM_BUF_INIT, ev = CM_BUF_INIT;
    char why[300], id[CT_ID_MAX + 1], time[40], msg[160];
    const char *sig = gw_header_get(rq->headers, rq->nheaders, "X-Twilio-Signature");
    if (rq->body_too_large || rq->body_len > cfg->max_body) {
        snprintf(msg, sizeof msg, "the body is larger than %zu bytes", cfg->max_body);
        gw_answer_error(out, 413, msg);
        return;
    }
    const char *q = rq->query ? rq->query : "";
    int bad_query = gw_form_parse(q, strlen(q), &query, why, sizeof why) != 0;
    if (bad_query ||
        gw_form_parse(rq->body ? rq->body : "", rq->body_len, &form, why, sizeof why) != 0) {
        ct_reasons rs = {.n = 0};
        gw_form_free(&query);
        ct_reason_add(&rs, bad_query ? "(query)" : "(payload)", "form",
                      "not application/x-www-form-urlencoded: %s", why);
        gw_answer_reasons(out, 400, &rs);
        return;
    }
    const char *base = cfg->public_url ? cfg->public_url : "";
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    cm_buf_add(&url, base, bl);
    cm_buf_adds(&url, rq->path);
    if (rq->query) {
        cm_buf_adds(&url, "?");
        cm_buf_adds(&url, rq->query);
    }
    const char *tenant = gw_form_get(&query, "tenant");
    const gw_cred *c =
        url.oom ? NULL : gw_twilio_check(cfg->auth, tenant, url.p, &form, sig ? sig : "");
    if (!c) {
        gw_answer_error(out, 403,
                        "a valid X-Twilio-Signature from the auth token of the tenant the URL's "
                        "tenant parameter names is required");
        goto done;
    }
    int wait = gw_rate_take(cfg->auth, c, cfg->rate, rq->now_ms, 1);
    if (wait > 0) {
        snprintf(msg, sizeof msg, "tenant rate limit of %.0f events per second", cfg->rate);
        gw_answer_error(out, 429, msg);
        out->retry_after = wait;
        goto done;
    }
    cm_time_format_rfc3339(rq->clock_s * 1000, time, sizeof time);
    ct_reasons rs = {.n = 0};
    int r = inbound ? gw_sms_inbound_event(c->tenant, &form, time, &ev, id, sizeof id, &rs)
                    : gw_sms_status_event(c->tenant, &form, &query, time, &ev, id, sizeof id, &rs);
    if (r < 0) {
        if (rs.n)
            gw_answer_reasons(out, 400, &rs);
        else
            gw_answer_error(out, 500, "out of memory");
        goto done;
    }
    if (r == 0 && !inbound) { /* a status that publishes nothing */
        twiml(out);
        goto done;
    }
    gw_event e = {.len = ev.len};
    snprintf(e.id, sizeof e.id, "%s", id);
    e.json = cm_buf_take(&ev, &e.len);
    if (!e.json) {
        gw_answer_error(out, 500, "out of memory");
        goto done;
    }
    if (publish(cfg, &e, 1, out) == 0)
        twiml(out);
    free(e.json);
done:
    cm_buf_free(&url);
    cm_buf_free(&ev);
    gw_form_free(&query);
    gw_form_free(&form);
}

static void email(const gw_config *cfg, const gw_request *rq, gw_answer *out)
{
    char msg[160];
    const gw_header *h = rq->headers;
    size_t nh = rq->nheaders;
    if (rq->body_too_large || rq->body_len > cfg->max_body) { /* the signature covers it */
        snprintf(msg, sizeof msg, "the body is larger than %zu bytes", cfg->max_body);
        gw_answer_error(out, 413, msg);
        return;
    }
    const gw_cred *c = gw_auth_webhook(
        cfg->auth, gw_header_get(h, nh, "webhook-id"), gw_header_get(h, nh, "webhook-timestamp"),
        gw_header_get(h, nh, "webhook-signature"), rq->body, rq->body_len, rq->wall_s);
    if (!c) {
        gw_answer_error(out, 401, "a valid Standard Webhooks signature is required");
        return;
    }
    gw_event *ev = NULL;
    ct_reasons rs = {.n = 0};
    long n = gw_email_events(c->tenant, rq->body, rq->body_len, cfg->batch_max, &ev, &rs);
    if (n < 0) {
        gw_answer_reasons(out, rs.n ? 400 : 500, &rs);
        return;
    }
    int wait = gw_rate_take(cfg->auth, c, cfg->rate, rq->now_ms, (size_t)n);
    if (wait > 0) {
        snprintf(msg, sizeof msg, "tenant rate limit of %.0f events per second", cfg->rate);
        gw_answer_error(out, 429, msg);
        out->retry_after = wait;
    } else if (publish(cfg, ev, (size_t)n, out) == 0) {
        out->status = 202;
        cm_buf_reset(&out->body);
        cm_buf_printf(&out->body, "{\"accepted\":%ld}", n);
    }
    gw_events_free(ev, (size_t)n);
}

int gw_webhooks_route(const gw_config *cfg, const gw_request *rq, gw_answer *out)
{
    int in = !strcmp(rq->path, "/v1/sms/inbound"), st = !strcmp(rq->path, "/v1/sms/status"),
        em = !strcmp(rq->path, "/v1/email/events");
    if (!in && !st && !em)
        return 0;
    if (strcmp(rq->method, "POST") != 0) {
        out->allow = "POST";
        gw_answer_error(out, 405, "method not allowed; POST");
    } else if (em) {
        email(cfg, rq, out);
    } else {
        sms(cfg, rq, in, out);
    }
    return 1;
}
