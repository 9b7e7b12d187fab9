/* message.c -- a command rendered into the request a provider receives.
 *
 * Design notes:
 * - Header values that come from data (subject, names) are RFC 2047
 *   encoded words whenever they are not plain printable ASCII, so neither
 *   a CR/LF nor a non-ASCII byte can reach the header block raw.
 * - Parts are base64 (76-column lines), which keeps any line length and
 *   any leading "." safe over SMTP.
 * - The Message-ID is "<ntf.<sha256(command id)[:32]>.<base64url(customer
 *   id)>.<base64url(template)>@<from domain>>": deterministic, so a
 *   duplicate sent through the claim-expiry window (docs/notifier.md) is
 *   recognisable and collapsed by mail stores that de-duplicate on it; and
 *   an email provider's event about it names the debtor and the template,
 *   so the gateway can publish contact.bounced etc. without state.
 * - List-Unsubscribe puts the one-click http(s) URL first (the one clients
 *   should prefer), then the mailto; List-Unsubscribe-Post only with such
 *   a URL (RFC 8058 section 3.1). */
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "buf.h"
#include "clock.h"
#include "crypto.h"
#include "render.h"
#include "links.h"
#include "sign.h"

void ntf_request_free(ntf_request *req)
{
    free(req->url);
    free(req->body);
    free(req->mail_from);
    free(req->rcpt);
    free(req->idempotency_key);
    memset(req, 0, sizeof *req);
}

/* The longest Message-ID (RFC 5322 section 2.1.1: a line is at most 998
 * characters): "<ntf." 5 + 32 hex + "." + base64url of a customer id of
 * CT_ID_MAX = 200 bytes, 267 + "." + base64url of a template of
 * CT_ID_MAX, 267 + "@" + a domain of at most FROM_ADDR_MAX - 2 = 318 + ">"
 * = 893, and the line "Message-ID: " + 893 = 905 <= 998. */
#define FROM_ADDR_MAX     320 /* the envelope address, with its NUL */
#define B64URL_LEN(n)     ((4 * (n) + 2) / 3)
#define B64_PADDED_LEN(n) (4 * (((n) + 2) / 3))
#define MESSAGE_ID_LEN_MAX                                                                         \
    (5 + 32 + 1 + 2 * B64URL_LEN(CT_ID_MAX) + 1 + 1 + (FROM_ADDR_MAX - 2) + 1)
_Static_assert(MESSAGE_ID_LEN_MAX == 893, "the sum in the comment above");
_Static_assert(12 + MESSAGE_ID_LEN_MAX <= 998, "a Message-ID line within RFC 5322's limit");
_Static_assert(MESSAGE_ID_LEN_MAX < NTF_MESSAGE_ID_MAX, "room for the longest Message-ID");

void ntf_message_id(const char *command_id, const char *customer_id, const char *template_id,
                    const char *domain, char *out, size_t outlen)
{
    unsigned char h[32];
    /* cm_base64url_encode writes the padded form before it strips the
     * '=' (base64.h: out holds cm_base64_len(n) + 1 bytes) */
    char hex[65], cust[B64_PADDED_LEN(CT_ID_MAX) + 1], tpl[B64_PADDED_LEN(CT_ID_MAX) + 1];
    size_t cl = customer_id ? strlen(customer_id) : 0, tl = template_id ? strlen(template_id) : 0;
    cm_sha256(command_id, strlen(command_id), h);
    cm_hex(h, 16, hex);
    /* the contract caps both at CT_ID_MAX; a longer one is cut, not overrun */
    cm_base64url_encode(customer_id ? customer_id : "", cl < CT_ID_MAX ? cl : CT_ID_MAX, cust);
    cm_base64url_encode(template_id ? template_id : "", tl < CT_ID_MAX ? tl : CT_ID_MAX, tpl);
    snprintf(out, outlen, "<ntf.%s.%s.%s@%s>", hex, cust, tpl,
             domain && *domain ? domain : "arrears.invalid");
}

static int http_url(const char *u)
{
    return strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0;
}

void ntf_message_list_unsubscribe(cm_buf *b, const char *from_addr, const char *unsub)
{
    /* "List-Unsubscribe: <" + unsub + ">," must fit in one line: the URL
     * is not folded (RFC 2369 section 2: no whitespace goes inside the
     * angle brackets) */
    int oneclick = unsub && http_url(unsub) && 19 + strlen(unsub) + 2 <= 998;
    cm_buf_adds(b, "List-Unsubscribe: ");
    if (oneclick)
        cm_buf_printf(b, "<%s>,\r\n ", unsub);
    cm_buf_printf(b, "<mailto:%s?subject=unsubscribe>\r\n", from_addr);
    if (oneclick)
        cm_buf_adds(b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
}

/* The bare address of "Name <a@b>" or "a@b" into out. */
static int envelope_addr(const char *from, char *out, size_t outlen)
{
    const char *lt = strrchr(from, '<');
    const char *s = lt ? lt + 1 : from;
    size_t n = lt ? strcspn(s, ">") : strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        n--;
    while (n > 0 && *s == ' ')
        s++, n--;
    if (n == 0 || n >= outlen || !memchr(s, '@', n))
        return -1;
    memcpy(out, s, n);
    out[n] = 0;
    return 0;
}

static int plain_ascii(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return 0;
    return 1;
}

/* RFC 2047 B-encoded words, split at UTF-8 character boundaries and folded.
 * Control characters (C0 and DEL) become spaces first: an encoded word
 * keeps a CR LF out of the header block, but a client that decodes the
 * field and writes it out again (a reply, a forward) would put
 * "Name\r\nBcc: ..." back in raw (issue 18, tests/integration/t_hostile.py). */
static void add_encoded(cm_buf *b, const char *s)
{
    size_t n = strlen(s), i = 0;
    int first = 1;
    while (i < n) {
        size_t j = i, lim = i + 45;
        while (j < n && j < lim) {
            size_t k = j + 1;
            while (k < n && k - j < 4 && ((unsigned char)s[k] & 0xC0) == 0x80)
                k++; /* at most 4 bytes a character, even in bytes not UTF-8 */
            if (k > lim && j > i)
                break;
            j = k;
        }
        char word[64], enc[128];
        for (size_t k = i; k < j; k++) {
            unsigned char ch = (unsigned char)s[k];
            word[k - i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
        }
        cm_base64_encode(word, j - i, enc);
        cm_buf_printf(b, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", enc);
        first = 0;
        i = j;
    }
}

static void add_header_text(cm_buf *b, const char *s)
{
    if (plain_ascii(s))
        cm_buf_adds(b, s);
    else
        add_encoded(b, s);
}

static void add_display_name(cm_buf *b, const char *name)
{
    if (!plain_ascii(name)) {
        add_encoded(b, name);
        return;
    }
    cm_buf_addc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"' || *p == '\\')
            cm_buf_addc(b, '\\');
        cm_buf_addc(b, *p);
    }
    cm_buf_addc(b, '"');
}

/* A header value from user data: the From setting may already be
 * "Name <addr>"; keep it if it is plain ASCII, else encode its name. */
static void add_mailbox(cm_buf *b, const char *spec)
{
    const char *lt = strrchr(spec, '<');
    if (plain_ascii(spec) || !lt) {
        cm_buf_adds(b, spec);
        return;
    }
    char name[512];
    size_t n = (size_t)(lt - spec);
    while (n > 0 && spec[n - 1] == ' ')
        n--;
    if (n >= sizeof name)
        n = sizeof name - 1;
    memcpy(name, spec, n);
    name[n] = 0;
    add_encoded(b, name);
    cm_buf_addc(b, ' ');
    cm_buf_adds(b, lt);
}

/* Body text to CRLF lines, base64 in 76-column lines. */
static void add_base64_part(cm_buf *b, const char *text, size_t len)
{
    cm_buf crlf = CM_BUF_INIT;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
            cm_buf_addc(&crlf, '\r');
        cm_buf_addc(&crlf, text[i]);
    }
    for (size_t i = 0; i < crlf.len; i += 57) {
        size_t n = crlf.len - i < 57 ? crlf.len - i : 57;
        char line[80];
        cm_base64_encode(crlf.p + i, n, line);
        cm_buf_adds(b, line);
        cm_buf_adds(b, "\r\n");
    }
    cm_buf_free(&crlf);
}

static void trim_end(cm_buf *b)
{
    while (b->len > 0 && (b->p[b->len - 1] == '\n' || b->p[b->len - 1] == '\r' ||
                          b->p[b->len - 1] == ' ' || b->p[b->len - 1] == '\t'))
        b->p[--b->len] = 0;
}

static void one_line(cm_buf *b)
{
    trim_end(b);
    for (size_t i = 0; i < b->len; i++)
        if (b->p[i] == '\r' || b->p[i] == '\n' || b->p[i] == '\t')
            b->p[i] = ' ';
}

static void rfc5322_date(int64_t ms, char *out, size_t len)
{
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", wd[tm.tm_wday], tm.tm_mday,
             mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Variables for rendering: tenant vars, command vars, links, opt-out. */
static json_t *build_vars(const ntf_tenant_cfg *cfg, const ntf_templates *tpl,
                          const ntf_command *cmd, const ntf_template_set *set, char **unsub,
                          char *errstr, size_t errlen)
{
    json_t *extra = ntf_templates_vars(tpl, cmd->c.tenant);
    char *pl = ntf_links_pay(cfg, cmd);
    if (pl)
        json_object_set_new(extra, "pay_link", json_string(pl));
    free(pl);
    *unsub = ntf_links_unsubscribe(cfg, cmd);
    if (*unsub)
        json_object_set_new(extra, "unsubscribe_url", json_string(*unsub));
    json_t *vars = ntf_command_vars(cmd, extra, set ? set->locale : NULL, errstr, errlen);
    json_decref(extra);
    if (!vars)
        return NULL;
    if (set && set->opt_out) {
        cm_buf oo = CM_BUF_INIT;
        char err[256];
        if (ntf_render(set->opt_out, set->opt_out_len, vars, 0, &oo, err, sizeof err) < 0) {
            snprintf(errstr, errlen, "render %s/%s/_opt_out.txt: %s", set->tenant, set->locale,
                     err);
            cm_buf_free(&oo);
            json_decref(vars);
            return NULL;
        }
        trim_end(&oo);
        json_object_set_new(vars, "opt_out", json_string(oo.p ? oo.p : ""));
        cm_buf_free(&oo);
    }
    return vars;
}

static int render_part(const ntf_template_set *set, const char *id, const char *ext,
                       const char *src, size_t len, json_t *vars, int html, cm_buf *out,
                       char *errstr, size_t errlen)
{
    char err[256];
    if (ntf_render(src, len, vars, html, out, err, sizeof err) < 0) {
        snprintf(errstr, errlen, "render %s/%s/%s.%s: %s", set->tenant, set->locale, id, ext, err);
        return -1;
    }
    return 0;
}

int ntf_message_render(const ntf_tenant_cfg *cfg, const ntf_templates *tpl, const ntf_command *cmd,
                       ct_channel channel, cm_buf *subject, cm_buf *text, cm_buf *html,
                       char *errstr, size_t errlen)
{
    ntf_template_set set;
    char *unsub = NULL;
    int rc = -1;
    json_t *vars = NULL;
    int email = channel == CT_CH_EMAIL;
    if (ntf_templates_find(tpl, cmd->c.tenant, cmd->locale, ct_channel_name(channel),
                           cmd->c.template_id, &set, errstr, errlen) < 0)
        goto cleanup;
    vars = build_vars(cfg, tpl, cmd, &set, &unsub, errstr, errlen);
    if (!vars)
        goto cleanup;
    if (email && render_part(&set, cmd->c.template_id, "subject", set.subject, set.subject_len,
                             vars, 0, subject, errstr, errlen) < 0)
        goto cleanup;
    if (render_part(&set, cmd->c.template_id, "txt", set.text, set.text_len, vars, 0, text, errstr,
                    errlen) < 0)
        goto cleanup;
    if (email && render_part(&set, cmd->c.template_id, "html", set.html, set.html_len, vars, 1,
                             html, errstr, errlen) < 0)
        goto cleanup;
    if (email)
        one_line(subject);
    else
        trim_end(text);
    rc = 0;
cleanup:
    free(unsub);
    json_decref(vars);
    return rc;
}

static int build_email(const ntf_tenant_cfg *cfg, const ntf_templates *tpl, const ntf_command *cmd,
                       int64_t now_ms, ntf_request *req, char *errstr, size_t errlen)
{
    cm_buf subject = CM_BUF_INIT, text = CM_BUF_INIT, html = CM_BUF_INIT, msg = CM_BUF_INIT;
    char *unsub = NULL;
    int rc = -1;
    char from_addr[FROM_ADDR_MAX];
    if (!cfg->smtp_url || !cfg->smtp_from) {
        snprintf(errstr, errlen, "email provider not configured for tenant '%s' (smtp url/from)",
                 cmd->c.tenant);
        goto cleanup;
    }
    if (envelope_addr(cfg->smtp_from, from_addr, sizeof from_addr) < 0) {
        snprintf(errstr, errlen, "smtp from address '%s' has no address", cfg->smtp_from);
        goto cleanup;
    }
    if (ntf_message_render(cfg, tpl, cmd, CT_CH_EMAIL, &subject, &text, &html, errstr, errlen) < 0)
        goto cleanup;
    unsub = ntf_links_unsubscribe(cfg, cmd);

    const char *email = cmd->c.customer.email;
    const char *name = cmd->c.customer.name;
    const char *domain = strchr(from_addr, '@') + 1;
    ntf_message_id(cmd->c.command_id, cmd->c.customer.customer_id, cmd->c.template_id, domain,
                   req->message_id, sizeof req->message_id);
    char date[64], boundary[64];
    rfc5322_date(now_ms, date, sizeof date);
    snprintf(boundary, sizeof boundary, "=_ntf_%.24s", req->message_id + 5);

    cm_buf_printf(&msg, "Message-ID: %s\r\nDate: %s\r\nFrom: ", req->message_id, date);
    add_mailbox(&msg, cfg->smtp_from);
    cm_buf_adds(&msg, "\r\nTo: ");
    if (name && *name) {
        add_display_name(&msg, name);
        cm_buf_printf(&msg, " <%s>", email);
    } else {
        cm_buf_adds(&msg, email);
    }
    cm_buf_adds(&msg, "\r\nReply-To: ");
    add_mailbox(&msg, cfg->reply_to ? cfg->reply_to : cfg->smtp_from);
    cm_buf_adds(&msg, "\r\nSubject: ");
    add_header_text(&msg, subject.p ? subject.p : "");
    cm_buf_adds(&msg, "\r\n");
    ntf_message_list_unsubscribe(&msg, from_addr, unsub);
    cm_buf_adds(&msg, "Auto-Submitted: auto-generated\r\nX-Arrears-Command-Id: ");
    add_header_text(&msg, cmd->c.command_id);
    cm_buf_printf(&msg,
                  "\r\nMIME-Version: 1.0\r\n"
                  "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n"
                  "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n",
                  boundary, boundary);
    add_base64_part(&msg, text.p ? text.p : "", text.len);
    cm_buf_printf(&msg,
                  "--%s\r\nContent-Type: text/html; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n",
                  boundary);
    add_base64_part(&msg, html.p ? html.p : "", html.len);
    cm_buf_printf(&msg, "--%s--\r\n", boundary);
    if (msg.oom) {
        snprintf(errstr, errlen, "out of memory building the message");
        goto cleanup;
    }
    req->channel = CT_CH_EMAIL;
    req->url = strdup(cfg->smtp_url);
    req->mail_from = malloc(strlen(from_addr) + 3);
    req->rcpt = malloc(strlen(email) + 3);
    if (!req->url || !req->mail_from || !req->rcpt) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    sprintf(req->mail_from, "<%s>", from_addr);
    sprintf(req->rcpt, "<%s>", email);
    req->user = cfg->smtp_user;
    req->password = cfg->smtp_password;
    req->body = cm_buf_take(&msg, &req->body_len);
    rc = 0;
cleanup:
    free(unsub);
    cm_buf_free(&msg);
    cm_buf_free(&html);
    cm_buf_free(&text);
    cm_buf_free(&subject);
    return rc;
}

static void form_add(cm_buf *b, const char *k, const char *v)
{
    if (b->len)
        cm_buf_addc(b, '&');
    cm_buf_adds(b, k);
    cm_buf_addc(b, '=');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            cm_buf_addc(b, (char)*p);
        else if (*p == ' ')
            cm_buf_addc(b, '+');
        else
            cm_buf_printf(b, "%%%02X", *p);
    }
}

static int build_sms(const ntf_tenant_cfg *cfg, const ntf_templates *tpl, const ntf_command *cmd,
                     ntf_request *req, char *errstr, size_t errlen)
{
    cm_buf text = CM_BUF_INIT, form = CM_BUF_INIT, url = CM_BUF_INIT;
    char *cb = NULL;
    int rc = -1;
    if (!cfg->sms_url || !cfg->sms_account || !cfg->sms_from) {
        snprintf(errstr, errlen, "sms provider not configured for tenant '%s' (url/account/from)",
                 cmd->c.tenant);
        goto cleanup;
    }
    if (ntf_message_render(cfg, tpl, cmd, CT_CH_SMS, NULL, &text, NULL, errstr, errlen) < 0)
        goto cleanup;
    size_t chars = 0; /* characters: the bytes that do not continue a UTF-8 sequence */
    for (size_t i = 0; i < text.len; i++)
        chars += ((unsigned char)text.p[i] & 0xC0) != 0x80;
    if (chars > NTF_SMS_TEXT_MAX) {
        snprintf(errstr, errlen, "sms text is %zu characters, more than %d", chars,
                 NTF_SMS_TEXT_MAX);
        goto cleanup;
    }
    form_add(&form, "To", cmd->c.customer.phone);
    form_add(&form, "From", cfg->sms_from);
    form_add(&form, "Body", text.p ? text.p : "");
    /* Twilio posts the message's status there; the gateway turns it into
     * contact.delivered / contact.bounced for this command */
    cb = ntf_links_status_callback(cfg, cmd);
    if (cb)
        form_add(&form, "StatusCallback", cb);
    size_t bl = strlen(cfg->sms_url);
    cm_buf_add(&url, cfg->sms_url, bl && cfg->sms_url[bl - 1] == '/' ? bl - 1 : bl);
    cm_buf_printf(&url, "/Accounts/%s/Messages.json", cfg->sms_account);
    if (form.oom || url.oom) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    req->channel = CT_CH_SMS;
    req->url = cm_buf_take(&url, NULL);
    req->body = cm_buf_take(&form, &req->body_len);
    req->user = cfg->sms_account;
    req->password = cfg->sms_token ? cfg->sms_token : "";
    rc = 0;
cleanup:
    free(cb);
    cm_buf_free(&url);
    cm_buf_free(&form);
    cm_buf_free(&text);
    return rc;
}

static int build_webhook(const ntf_tenant_cfg *cfg, const ntf_command *cmd, ntf_request *req,
                         char *errstr, size_t errlen)
{
    if (!cfg->webhook_url || !cfg->webhook_secret) {
        snprintf(errstr, errlen, "webhook not configured for tenant '%s' (url/secret)",
                 cmd->c.tenant);
        return -1;
    }
    /* {"type":"arrears.<kind>","timestamp":<created_at>,"data":<the
     * command as received, with pay_link set>}, written from the record's
     * tree: no copy of it, no jansson */
    char *pl = ntf_links_pay(cfg, cmd);
    char created[40];
    cm_buf b = CM_BUF_INIT;
    cm_time_format_rfc3339(cmd->c.created_at_ms, created, sizeof created);
    cm_buf_adds(&b, "{\"type\":\"arrears.");
    cm_buf_adds(&b, ct_kind_name(cmd->c.kind)); /* a name of the contract: no escapes */
    cm_buf_adds(&b, "\",\"timestamp\":");
    cm_buf_json_str(&b, created, strlen(created));
    cm_buf_adds(&b, ",\"data\":");
    cm_jv_write_set(&b, cmd->root, pl ? "pay_link" : NULL, pl);
    cm_buf_addc(&b, '}');
    free(pl);
    req->url = strdup(cfg->webhook_url);
    if (b.oom || !req->url) {
        cm_buf_free(&b);
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    req->body = cm_buf_take(&b, &req->body_len);
    req->channel = CT_CH_WEBHOOK;
    req->webhook_secret = cfg->webhook_secret;
    return 0;
}

int ntf_message_build(const ntf_tenant_cfg *cfg, const ntf_templates *tpl, const ntf_command *cmd,
                      int64_t now_ms, ntf_request *req, char *errstr, size_t errlen)
{
    int rc = -1;
    memset(req, 0, sizeof *req);
    req->idempotency_key = strdup(cmd->c.command_id);
    if (!req->idempotency_key) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    switch (cmd->c.channel) {
    case CT_CH_EMAIL:
        rc = build_email(cfg, tpl, cmd, now_ms, req, errstr, errlen);
        break;
    case CT_CH_SMS:
        rc = build_sms(cfg, tpl, cmd, req, errstr, errlen);
        break;
    case CT_CH_WEBHOOK:
        rc = build_webhook(cfg, cmd, req, errstr, errlen);
        break;
    default:
        snprintf(errstr, errlen, "channel %s is not sent", ct_channel_name(cmd->c.channel));
        break;
    }
    if (rc < 0)
        ntf_request_free(req);
    return rc;
}

struct curl_slist *ntf_request_headers(const ntf_request *req, int64_t now_s)
{
    struct curl_slist *h = NULL, *t;
    char line[1024];
    if (req->channel == CT_CH_EMAIL)
        return NULL;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        snprintf(line, sizeof line, __VA_ARGS__);                                                  \
        t = curl_slist_append(h, line);                                                            \
        if (!t)                                                                                    \
            goto fail;                                                                             \
        h = t;                                                                                     \
    } while (0)
    ADD("Idempotency-Key: %s", req->idempotency_key);
    ADD("Expect:");
    if (req->channel == CT_CH_SMS) {
        ADD("Content-Type: application/x-www-form-urlencoded");
    } else {
        char sig[128];
        if (ntf_webhook_sign(req->webhook_secret, req->idempotency_key, now_s, req->body,
                             req->body_len, sig, sizeof sig) < 0)
            goto fail;
        ADD("Content-Type: application/json");
        ADD("webhook-id: %s", req->idempotency_key);
        ADD("webhook-timestamp: %lld", (long long)now_s);
        ADD("webhook-signature: %s", sig);
    }
#undef ADD
    return h;
fail:
    curl_slist_free_all(h);
    return NULL;
}
