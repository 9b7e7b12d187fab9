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
 *      bit 2 of byte 0.
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
 *   - gw_handle answers a status among those documented, 403 when no
 *     signature could match (the fuzzer cannot forge HMAC-SHA1). */
#include "../../services/gateway/webhooks.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void request(const char *p, size_t n, int inbound)
{
    static gw_auth auth;
    static int ready;
    char err[128];
    if (!ready) {
        gw_auth_init(&auth);
        if (gw_auth_parse(&auth, "", err, sizeof err) != 0)
            abort();
        ready = 1;
    }
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
    gw_header h[] = {{"X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8="}};
    gw_request rq = {.method = "POST",
                     .path = inbound ? "/v1/sms/inbound" : "/v1/sms/status",
                     .headers = h,
                     .nheaders = 1,
                     .body = nul ? nul + 1 : p,
                     .body_len = nul ? n - ql - 1 : n,
                     .now_ms = 1,
                     .wall_s = 1772960400,
                     .query = nul ? query : NULL};
    gw_answer a;
    gw_handle(&cfg, &rq, &a);
    if (a.status != 403 && a.status != 400 && a.status != 413)
        abort(); /* no Twilio credential: nothing is ever accepted */
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
        request(p, n, data[0] & 4);
    }
    ct_thread_cleanup();
    return 0;
}
