/* fuzz_gateway.c -- libFuzzer target over the gateway's provider webhook
 * parsers (services/gateway/form.c, twilio.c, sms.c, email.c) and the
 * request handler on their paths.
 *
 * Input framing: byte 0 selects what the rest feeds (mod 4):
 *   0: a form (gw_form_parse), then the Twilio signature over it and the
 *      SMS inbound and status events built from it;
 *   1: an email webhook body (gw_email_events);
 *   2: a Message-ID (gw_msgid_parse) and gw_utf8_cut over the bytes;
 *   3: a whole SMS request to gw_handle: the bytes up to the first NUL are
 *      the raw query string, the rest the body; path inbound or status by
 *      bit 2 of byte 0; bit 3 signs it with tenant acme's Twilio token
 *      (12345), so the paths past the signature (events, ct_validate, the
 *      publishing double) are reached too.
 *
 * Invariants checked (abort on violation, which libFuzzer reports):
 *   - a parsed form's names and values are NUL-terminated and hold no NUL;
 *     a refused form is empty;
 *   - every event built is a JSON object (jansson reads it back) whose
 *     "type" is one the path can give and whose "tenant" is the caller's;
 *   - a refused email body has at least one reason and no events;
 *   - a parsed Message-ID has 32 lower-case hex digits and non-empty ids;
 *   - gw_utf8_cut never grows the text and never ends inside a sequence
 *     of valid UTF-8;
 *   - gw_handle answers 200 (TwiML), 400, 403 or 413; never 200 unsigned
 *     (the fuzzer cannot forge HMAC-SHA1). */
#include "../../services/gateway/webhooks.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_event(const char *json, size_t len, const char *const *types)
{
    json_error_t je;
    json_t *v = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!v || !json_is_object(v))
        abort();
    const char *t = json_string_value(json_object_get(v, "type"));
    int known = 0;
    for (size_t i = 0; t && types[i]; i++)
        known |= !strcmp(t, types[i]);
    if (!known || strcmp(json_string_value(json_object_get(v, "tenant")), "acme") != 0)
        abort();
    json_decref(v);
}

static const char *const sms_types[] = {"contact.ceased",    "contact.resumed", "contact.replied",
                                        "contact.delivered", "contact.bounced", NULL};
static const char *const email_types[] = {"contact.delivered", "contact.bounced",
                                          "contact.complained", NULL};

static void form(const char *p, size_t n)
{
    gw_form f;
    char err[128], sig[29], id[CT_ID_MAX + 1];
    if (gw_form_parse(p, n, &f, err, sizeof err) != 0) {
        if (f.n || f.p)
            abort();
        return;
    }
    for (size_t i = 0; i < f.n; i++)
        if (!f.p[i].name || !f.p[i].value)
            abort();
    if (gw_twilio_sign("12345", 5, "https://gw.example.com/v1/sms/inbound", &f, sig) != 0 ||
        strlen(sig) != 28)
        abort();
    cm_buf b = CM_BUF_INIT;
    ct_reasons rs = {.n = 0};
    if (gw_sms_inbound_event("acme", &f, "2026-03-08T09:00:00Z", &b, id, sizeof id, &rs) == 0)
        check_event(b.p, b.len, sms_types);
    else if (rs.n == 0)
        abort();
    rs.n = 0;
    int r = gw_sms_status_event("acme", &f, &f, "2026-03-08T09:00:00Z", &b, id, sizeof id, &rs);
    if (r == 1)
        check_event(b.p, b.len, sms_types);
    else if (r < 0 && rs.n == 0)
        abort();
    cm_buf_free(&b);
    gw_form_free(&f);
}

static void email(const char *p, size_t n)
{
    gw_event *ev;
    ct_reasons rs = {.n = 0};
    long k = gw_email_events("acme", p, n, 16, &ev, &rs);
    if (k < 0) {
        if (ev || rs.n == 0)
            abort();
        return;
    }
    for (long i = 0; i < k; i++)
        check_event(ev[i].json, ev[i].len, email_types);
    gw_events_free(ev, (size_t)k);
}

static void msgid(const char *p, size_t n)
{
    char *s = malloc(n + 1), why[256];
    gw_msgid m;
    if (!s)
        return;
    memcpy(s, p, n);
    s[n] = 0;
    if (gw_msgid_parse(s, &m, why, sizeof why) == 0) {
        if (strlen(m.hash) != 32 || strspn(m.hash, "0123456789abcdef") != 32 || !m.customer_id[0] ||
            !m.template_[0])
            abort();
    }
    size_t max = n / 2;
    size_t cut = gw_utf8_cut(p, n, max);
    if (cut > n || (n > max && cut > max))
        abort();
    if (ct_utf8_valid(p, n) && !ct_utf8_valid(p, cut))
        abort();
    free(s);
}

static int no_publish(void *opaque, const gw_record *recs, size_t n)
{
    (void)opaque, (void)recs, (void)n;
    return 0;
}

static void request(const char *p, size_t n, int inbound, int sign)
{
    static gw_auth auth;
    static int ready;
    static int64_t now_ms;
    char err[128], sig[29] = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    if (!ready) {
        char path[] = "/tmp/fuzz_gateway_twilio_XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0 || write(fd, "acme 12345\n", 11) != 11)
            abort();
        close(fd);
        gw_auth_init(&auth);
        if (gw_auth_load(&auth, path, GW_CRED_TWILIO, err, sizeof err) != 0)
            abort();
        unlink(path);
        ready = 1;
    }
    now_ms += 1000; /* a full rate bucket each time */
    const char *nul = memchr(p, 0, n);
    size_t ql = nul ? (size_t)(nul - p) : 0;
    char *query = malloc(ql + 1);
    if (!query)
        return;
    memcpy(query, p, ql);
    query[ql] = 0;
    gw_config cfg = {.auth = &auth,
                     .rate = 1000,
                     .max_body = 4096,
                     .batch_max = 16,
                     .limits = {CT_DEFAULT_MAX_BYTES, CT_DEFAULT_MAX_DEPTH},
                     .be = {NULL, no_publish},
                     .public_url = "https://gw.example.com"};
    const char *body = nul ? nul + 1 : p;
    size_t blen = nul ? n - ql - 1 : n;
    gw_form f;
    if (sign && gw_form_parse(body, blen, &f, err, sizeof err) == 0) {
        /* signed as Twilio would: the handler's paths past the signature */
        cm_buf url = CM_BUF_INIT;
        cm_buf_printf(&url, "https://gw.example.com%s%s%s",
                      inbound ? "/v1/sms/inbound" : "/v1/sms/status", nul ? "?" : "",
                      nul ? query : "");
        if (url.oom || gw_twilio_sign("12345", 5, url.p, &f, sig) != 0)
            abort();
        cm_buf_free(&url);
        gw_form_free(&f);
    }
    gw_header h[] = {{"X-Twilio-Signature", sig}};
    gw_request rq = {.method = "POST",
                     .path = inbound ? "/v1/sms/inbound" : "/v1/sms/status",
                     .headers = h,
                     .nheaders = 1,
                     .body = body,
                     .body_len = blen,
                     .now_ms = now_ms,
                     .wall_s = 1772960400,
                     .query = nul ? query : NULL};
    gw_answer a;
    gw_handle(&cfg, &rq, &a);
    /* 200: a quiet callback, or published (the double acknowledges);
     * unsigned, nothing passes the signature */
    if (a.status != 200 && a.status != 400 && a.status != 403 && a.status != 413)
        abort();
    if (!sign && a.status == 200)
        abort();
    if (a.status == 200 && (!a.content_type || strcmp(a.content_type, "text/xml") != 0))
        abort();
    gw_answer_free(&a);
    free(query);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] & 3) {
    case 0:
        form(p, n);
        break;
    case 1:
        email(p, n);
        break;
    case 2:
        msgid(p, n);
        break;
    default:
        request(p, n, data[0] & 4, data[0] & 8);
    }
    ct_thread_cleanup();
    return 0;
}
