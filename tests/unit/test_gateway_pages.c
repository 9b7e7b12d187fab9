/* test_gateway_pages.c -- the debtor-facing pages of the gateway
 * (services/gateway/pages.c, page.c, form.c, tenants.c) through gw_handle
 * over a publishing double: the self-service page in en-GB and de-DE
 * (amounts and dates worked by hand), HTML escaping of hostile values,
 * token expiry, tampering, unknown keys and rotation via the tenants
 * file's keys, the wrong "use", the anti-forgery value, every action's
 * event (id, type, data) and a double submit giving the same id, Pay now's
 * redirect, /u GET changing nothing and the one-click POST publishing,
 * the rate limit, the form parser, the tenants file's errors and the
 * pages' answers counted by code.
 *
 * Anti-forgery values and token hashes are computed here with OpenSSL
 * directly, as docs/gateway.md says a client would, not with the
 * gateway's helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "../../services/gateway/gateway.h"
#include "../../services/gateway/pages.h"
#include "metric_catalog.h"
#include "metrics.h"
#include "token.h"

#define K2 "acme-link-key-2-0123456789" /* current */
#define K1 "acme-link-key-1-0123456789" /* previous */
#define K0 "acme-link-key-0-0123456789" /* retired: not in the file */

#define TENANTS                                                                                    \
    "{\"acme\":{\"link_keys\":[{\"kid\":\"k2\",\"secret\":\"" K2 "\"},"                            \
    "{\"kid\":\"k1\",\"secret\":\"" K1 "\"}],"                                                     \
    "\"pay_url\":\"https://pay.acme.test/pay?ref={reference}&amount={amount_minor}&currency={"     \
    "currency}\","                                                                                 \
    "\"promise_max_days\":30,\"locale\":\"en-GB\"}}"

/* 2026-03-10T12:00:00Z: "today" is 2026-03-10 */
#define WALL 1773144000

/* The backend double: what was published, as [key, event] pairs. */
typedef struct fake {
    int fail;
    size_t n;
    json_t *recs;
} fake;

static int fake_publish(void *opaque, const gw_record *recs, size_t n)
{
    fake *f = opaque;
    if (f->fail)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *ev = json_loadb(recs[i].value, recs[i].len, JSON_PRESERVE_ORDER, NULL);
        if (!ev)
            fail_msg("record not JSON: %.*s", (int)recs[i].len, recs[i].value);
        json_array_append_new(f->recs, json_pack("[s,o]", recs[i].key, ev));
    }
    f->n = json_array_size(f->recs);
    return 0;
}

static gw_auth auth;
static gw_pages pages;
static fake be;
static gw_config cfg;
static int64_t now = 1000;

static int setup(void **state)
{
    char err[512];
    (void)state;
    gw_auth_init(&auth);
    assert_int_equal(gw_pages_init(&pages, 1000), 0);
    if (gw_pages_parse(&pages, TENANTS, strlen(TENANTS), err, sizeof err) != 0)
        fail_msg("%s", err);
    memset(&be, 0, sizeof be);
    be.recs = json_array();
    cfg = (gw_config){.auth = &auth,
                      .rate = 1000,
                      .max_body = 4096,
                      .batch_max = 3,
                      .limits = {CT_DEFAULT_MAX_BYTES, CT_DEFAULT_MAX_DEPTH},
                      .be = {&be, fake_publish},
                      .pages = &pages};
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gw_auth_free(&auth);
    gw_pages_free(&pages);
    json_decref(be.recs);
    ct_thread_cleanup();
    return 0;
}

/* --- tokens ---------------------------------------------------------------- */

static json_t *claims_page(const char *locale)
{
    json_error_t je;
    json_t *c = json_loads(
        "{\"use\":\"page\",\"tenant\":\"acme\",\"customer_id\":\"C-1\","
        "\"invoice_ids\":[\"I-1\",\"I-2\"],\"command_id\":\"acme/inv/I-1/step/2/attempt/0\","
        "\"locale\":\"en-GB\",\"currency\":\"GBP\",\"as_of\":\"2026-03-08\","
        "\"invoices\":[{\"invoice_id\":\"I-1\",\"number\":\"N-1\",\"due_on\":\"2026-02-01\","
        "\"outstanding_minor\":12000,\"total_minor\":13250},"
        "{\"invoice_id\":\"I-2\",\"number\":\"N-2\",\"due_on\":\"2026-02-15\","
        "\"outstanding_minor\":100000,\"total_minor\":100000}],"
        "\"total_minor\":113250,\"channels\":[\"email\",\"sms\"],"
        "\"iat\":1772960400,\"exp\":1773834000}",
        JSON_PRESERVE_ORDER, &je);
    if (!c)
        fail_msg("claims: %s", je.text);
    if (locale)
        json_object_set_new(c, "locale", json_string(locale));
    return c;
}

static json_t *claims_unsub(void)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i}", "use", "unsubscribe", "tenant", "acme",
                     "customer_id", "C-1", "command_id", "acme/inv/I-1/step/2/attempt/0", "channel",
                     "email", "iat", 1772960400, "exp", 1773834000);
}

/* The token of c (stolen) under kid/secret: malloc'd. */
static char *sign(json_t *c, const char *kid, const char *secret)
{
    cm_token_key k;
    char err[128];
    if (cm_token_key_set(&k, kid, secret, err, sizeof err) != 0)
        fail_msg("%s", err);
    char *t = cm_token_sign(&k, c);
    json_decref(c);
    assert_non_null(t);
    return t;
}

/* sha256(token) in hex */
static void token_hash(const char *tok, char hex[65])
{
    unsigned char h[32];
    SHA256((const unsigned char *)tok, strlen(tok), h);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
}

/* hex HMAC-SHA256(secret, "csrf|<action>|<sha256 hex of token>") */
static void csrf(const char *secret, const char *action, const char *tok, char hex[65])
{
    char th[65], msg[128];
    unsigned char mac[32];
    unsigned int ml = 32;
    token_hash(tok, th);
    snprintf(msg, sizeof msg, "csrf|%s|%s", action, th);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, strlen(msg), mac,
         &ml);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

/* --- requests --------------------------------------------------------------- */

static void call(gw_answer *a, const char *method, const char *prefix, const char *tok,
                 const char *body, const char *ctype)
{
    static char path[9000];
    gw_header h[1] = {{"Content-Type", ctype ? ctype : "application/x-www-form-urlencoded"}};
    snprintf(path, sizeof path, "%s%s", prefix, tok);
    gw_request rq = {method, path,  h,    1,           body, body ? strlen(body) : 0,
                     0,      now++, WALL, "192.0.2.7", NULL, WALL};
    gw_handle(&cfg, &rq, a);
}

static const char *body(const gw_answer *a)
{
    return a->body.p ? a->body.p : "";
}

static void has(const gw_answer *a, const char *want)
{
    if (!strstr(body(a), want))
        fail_msg("answer %d lacks %s:\n%s", a->status, want, body(a));
}

static void lacks(const gw_answer *a, const char *bad)
{
    if (strstr(body(a), bad))
        fail_msg("answer %d has %s:\n%s", a->status, bad, body(a));
}

/* POSTs action with its valid anti-forgery value and fields ("k=v&..."). */
static void post_action(gw_answer *a, const char *tok, const char *action, const char *fields)
{
    char c[65], form[4096];
    csrf(K2, action, tok, c);
    snprintf(form, sizeof form, "action=%s&csrf=%s%s%s", action, c, fields ? "&" : "",
             fields ? fields : "");
    call(a, "POST", "/p/", tok, form, NULL);
}

/* The i-th event published (a new reference), and its key. */
static json_t *record(size_t i)
{
    assert_true(i < be.n);
    return json_incref(json_array_get(json_array_get(be.recs, i), 1));
}

static const char *record_key(size_t i)
{
    return json_string_value(json_array_get(json_array_get(be.recs, i), 0));
}

static void expect_id(json_t *ev, const char *tok, const char *what)
{
    char th[65], want[256];
    token_hash(tok, th);
    snprintf(want, sizeof want, "page/%.32s/%s", th, what);
    assert_string_equal(json_string_value(json_object_get(ev, "id")), want);
    assert_string_equal(json_string_value(json_object_get(ev, "source")), "portal");
    assert_string_equal(json_string_value(json_object_get(ev, "tenant")), "acme");
    assert_string_equal(json_string_value(json_object_get(ev, "time")), "2026-03-10T12:00:00.000Z");
}

static void expect_data(json_t *ev, const char *type, const char *data_json)
{
    json_error_t je;
    json_t *want = json_loads(data_json, 0, &je);
    assert_non_null(want);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), type);
    if (!json_equal(json_object_get(ev, "data"), want)) {
        char *got = json_dumps(json_object_get(ev, "data"), JSON_COMPACT);
        fail_msg("data %s, want %s", got, data_json);
    }
    json_decref(want);
}

/* --- the page ----------------------------------------------------------------- */

static void page_en_gb(void **state)
{
    (void)state;
    char *tok = sign(claims_page(NULL), "k2", K2), c[65], frag[200];
    gw_answer a;
    call(&a, "GET", "/p/", tok, NULL, NULL);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.content_type, "text/html; charset=utf-8");
    has(&a, "<html lang=\"en-GB\">");
    has(&a, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    /* 12000 -> £120.00, 13250 -> £132.50, 100000 -> £1,000.00, 113250 -> £1,132.50 */
    has(&a, "<td class=\"number\">N-1</td><td class=\"due\">1 February 2026</td>"
            "<td class=\"amount outstanding\">\xc2\xa3"
            "120.00</td><td class=\"amount total\">\xc2\xa3"
            "132.50</td>");
    has(&a, "<td class=\"due\">15 February 2026</td><td class=\"amount outstanding\">\xc2\xa3"
            "1,000.00</td>");
    has(&a, "<p id=\"total\">Total due as of 8 March 2026: \xc2\xa3"
            "1,132.50</p>");
    /* the forms: labelled controls, per-form anti-forgery values */
    has(&a, "<label for=\"promised_on\">");
    /* today 2026-03-10: from max(as_of 2026-03-08, today - 1) to today + 30 */
    has(&a, "name=\"promised_on\" min=\"2026-03-09\" max=\"2026-04-09\" required>");
    has(&a, "<label for=\"dispute-invoice\">");
    has(&a, "<option value=\"I-2\">N-2</option>");
    has(&a, "<label for=\"dispute-reason\">");
    has(&a, "<input type=\"radio\" name=\"channel\" id=\"stop-sms\" value=\"sms\" required>"
            "<label for=\"stop-sms\">text message (SMS)</label>");
    has(&a, "id=\"pay-submit\">Pay \xc2\xa3"
            "1,132.50 now</button>");
    lacks(&a, "id=\"form-plan\""); /* no plan offered */
    lacks(&a, "<script");
    const char *acts[] = {"pay", "promise", "dispute", "stop"};
    for (size_t i = 0; i < 4; i++) {
        csrf(K2, acts[i], tok, c);
        snprintf(frag, sizeof frag,
                 "<input type=\"hidden\" name=\"action\" value=\"%s\">\n"
                 "<input type=\"hidden\" name=\"csrf\" value=\"%s\">",
                 acts[i], c);
        has(&a, frag);
    }
    assert_non_null(a.csp);
    assert_non_null(strstr(a.csp, "form-action 'self' https://pay.acme.test;"));
    assert_non_null(strstr(a.csp, "frame-ancestors 'none'"));
    assert_int_equal(be.n, 0);
    gw_answer_free(&a);
    free(tok);
}

static void page_de_de(void **state)
{
    (void)state;
    /* de-AT is not shipped: the same language, de-DE, as the templates */
    char *tok = sign(claims_page("de-AT"), "k2", K2);
    gw_answer a;
    call(&a, "GET", "/p/", tok, NULL, NULL);
    assert_int_equal(a.status, 200);
    has(&a, "<html lang=\"de-DE\">");
    /* 13250 -> 132,50 £ (no-break space), 113250 -> 1.132,50 £ */
    has(&a, "<td class=\"number\">N-1</td><td class=\"due\">1. Februar 2026</td>"
            "<td class=\"amount outstanding\">120,00\xc2\xa0\xc2\xa3</td>"
            "<td class=\"amount total\">132,50\xc2\xa0\xc2\xa3</td>");
    has(&a, "<td class=\"amount outstanding\">1.000,00\xc2\xa0\xc2\xa3</td>");
    has(&a,
        "<p id=\"total\">Gesamtbetrag, Stand 8. M\xc3\xa4rz 2026: 1.132,50\xc2\xa0\xc2\xa3</p>");
    has(&a, "<label for=\"stop-email\">E-Mail</label>");
    gw_answer_free(&a);
    free(tok);
    assert_string_equal(gw_page_locale("fr-FR", "de-DE"), "de-DE");
    assert_string_equal(gw_page_locale("fr-FR", "it-IT"), "en-GB");
    assert_string_equal(gw_page_locale(NULL, NULL), "en-GB");
    assert_string_equal(gw_page_locale("en-US", "de-DE"), "en-GB");
    for (int i = 0; i < GW_T_COUNT; i++) {
        assert_non_null(gw_page_text("en-GB", (gw_text)i));
        assert_non_null(gw_page_text("de-DE", (gw_text)i));
    }
}

static void page_escapes(void **state)
{
    (void)state;
    json_t *c = claims_page(NULL);
    json_object_set_new(c, "customer_id", json_string("C-<script>alert(\"x\")</script>&'"));
    json_t *inv = json_array_get(json_object_get(c, "invoices"), 0);
    json_object_set_new(inv, "number", json_string("<b>\"N&1\"</b>"));
    json_object_set_new(inv, "invoice_id", json_string("I-1\"><script>"));
    char *tok = sign(c, "k2", K2);
    gw_answer a;
    call(&a, "GET", "/p/", tok, NULL, NULL);
    assert_int_equal(a.status, 200);
    lacks(&a, "<script");
    lacks(&a, "<b>");
    has(&a, "Customer number: C-&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;");
    has(&a, "<td class=\"number\">&lt;b&gt;&quot;N&amp;1&quot;&lt;/b&gt;</td>");
    has(&a, "<option value=\"I-1&quot;&gt;&lt;script&gt;\">&lt;b&gt;");
    gw_answer_free(&a);

    /* a hostile reason goes to the event verbatim and is never printed */
    post_action(
        &a, tok, "dispute",
        "invoice_id=I-1%22%3E%3Cscript%3E&reason=%3Cscript%3Ealert(1)%3C%2Fscript%3E+%26+%22x%22");
    assert_int_equal(a.status, 200);
    lacks(&a, "<script");
    lacks(&a, "alert(1)");
    has(&a, "invoice &lt;b&gt;&quot;N&amp;1&quot;&lt;/b&gt; has been recorded");
    json_t *ev = record(0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "data"), "reason")),
                        "<script>alert(1)</script> & \"x\"");
    json_decref(ev);
    gw_answer_free(&a);
    free(tok);

    /* issue 18: a number opening an RTL override (U+202E) has it closed
     * (PDF U+202C) before the cell ends, so nothing after it is reordered */
    c = claims_page(NULL);
    inv = json_array_get(json_object_get(c, "invoices"), 0);
    json_object_set_new(inv, "number",
                        json_string("N-\xE2\x80\xAE"
                                    "4-TAD"));
    tok = sign(c, "k2", K2);
    call(&a, "GET", "/p/", tok, NULL, NULL);
    assert_int_equal(a.status, 200);
    has(&a, "<td class=\"number\">N-\xE2\x80\xAE"
            "4-TAD\xE2\x80\xAC</td>");
    gw_answer_free(&a);
    free(tok);
}

/* --- tokens ---------------------------------------------------------------------- */

static void expect_page(const char *method, const char *prefix, const char *tok, int status,
                        const char *text)
{
    gw_answer a;
    call(&a, method, prefix, tok, NULL, NULL);
    assert_int_equal(a.status, status);
    assert_string_equal(a.content_type, "text/html; charset=utf-8");
    has(&a, "<main id=\"error\">");
    has(&a, text);
    gw_answer_free(&a);
}

static void token_errors(void **state)
{
    (void)state;
    /* expired: exp 1773834000 is 2026-03-18T12:00Z; sign one that ended at WALL */
    json_t *c = claims_page(NULL);
    json_object_set_new(c, "exp", json_integer(WALL));
    char *tok = sign(c, "k2", K2);
    expect_page("GET", "/p/", tok, 410, "This link has expired.");
    free(tok);

    /* tampered: the claims' customer changed, the signature kept */
    tok = sign(claims_page(NULL), "k2", K2);
    char *good = sign(claims_page(NULL), "k2", K2);
    json_t *c2 = claims_page(NULL);
    json_object_set_new(c2, "customer_id", json_string("C-2"));
    char *other = sign(c2, "k2", K2);
    char forged[8192];
    const char *d1 = strchr(other, '.'), *d2 = strrchr(other, '.'), *s = strrchr(good, '.');
    snprintf(forged, sizeof forged, "%.*s%s", (int)(d2 - other), other, s);
    (void)d1;
    expect_page("GET", "/p/", forged, 403, "could not be verified");
    free(other);
    free(good);

    /* rotation: the previous key (k1) still verifies; a retired one (k0)
     * and an unknown kid do not; the page's forms are signed with k2 */
    char *prev = sign(claims_page(NULL), "k1", K1);
    gw_answer a;
    call(&a, "GET", "/p/", prev, NULL, NULL);
    assert_int_equal(a.status, 200);
    char cur[65];
    csrf(K2, "promise", prev, cur);
    has(&a, cur);
    gw_answer_free(&a);
    /* an anti-forgery value under the previous key is still accepted */
    char c1[65], form[300];
    csrf(K1, "promise", prev, c1);
    snprintf(form, sizeof form, "action=promise&csrf=%s&promised_on=2026-03-20", c1);
    call(&a, "POST", "/p/", prev, form, NULL);
    assert_int_equal(a.status, 200);
    gw_answer_free(&a);
    free(prev);
    char *old = sign(claims_page(NULL), "k1", K0);
    expect_page("GET", "/p/", old, 403, "could not be verified");
    free(old);
    old = sign(claims_page(NULL), "k0", K0);
    expect_page("GET", "/p/", old, 403, "could not be verified");
    free(old);

    /* the wrong use, either way; an unknown tenant; not a token */
    char *u = sign(claims_unsub(), "k2", K2);
    expect_page("GET", "/p/", u, 404, "This link is not valid.");
    expect_page("GET", "/u/", tok, 404, "This link is not valid.");
    free(u);
    json_t *c3 = claims_page(NULL);
    json_object_set_new(c3, "tenant", json_string("nobody"));
    u = sign(c3, "k2", K2);
    expect_page("GET", "/p/", u, 404, "This link is not valid.");
    free(u);
    expect_page("GET", "/p/", "not-a-token", 404, "This link is not valid.");
    expect_page("GET", "/p/", "a.b.c", 404, "This link is not valid.");
    expect_page("GET", "/p/", "%3Cscript%3E", 404, "This link is not valid.");
    expect_page("GET", "/p/", "", 404, "This link is not valid.");
    expect_page("PUT", "/p/", tok, 405, "cannot be used that way");
    assert_int_equal(be.n, 1); /* only the rotation's promise */

    /* without a tenants file every page is a 404 page */
    cfg.pages = NULL;
    expect_page("GET", "/p/", tok, 404, "This link is not valid.");
    expect_page("POST", "/u/", tok, 404, "This link is not valid.");
    cfg.pages = &pages;
    free(tok);
}

static void csrf_refused(void **state)
{
    (void)state;
    char *tok = sign(claims_page(NULL), "k2", K2), *other = sign(claims_page("de-DE"), "k2", K2);
    char c[65], form[300];
    gw_answer a;
    /* none; another action's; another token's; under a key not in the file */
    const char *forms[4];
    char f1[200], f2[200], f3[200];
    csrf(K2, "stop", tok, c);
    snprintf(f1, sizeof f1, "action=promise&csrf=%s&promised_on=2026-03-20", c);
    csrf(K2, "promise", other, c);
    snprintf(f2, sizeof f2, "action=promise&csrf=%s&promised_on=2026-03-20", c);
    csrf(K0, "promise", tok, c);
    snprintf(f3, sizeof f3, "action=promise&csrf=%s&promised_on=2026-03-20", c);
    forms[0] = "action=promise&promised_on=2026-03-20";
    forms[1] = f1;
    forms[2] = f2;
    forms[3] = f3;
    for (size_t i = 0; i < 4; i++) {
        call(&a, "POST", "/p/", tok, forms[i], NULL);
        assert_int_equal(a.status, 403);
        has(&a, "This form could not be verified.");
        gw_answer_free(&a);
    }
    assert_int_equal(be.n, 0);
    /* a form that is not urlencoded */
    csrf(K2, "promise", tok, c);
    snprintf(form, sizeof form, "action=promise&csrf=%s&promised_on=2026-03-20", c);
    call(&a, "POST", "/p/", tok, form, "text/plain");
    assert_int_equal(a.status, 415);
    gw_answer_free(&a);
    assert_int_equal(be.n, 0);
    free(tok);
    free(other);
}

/* --- the actions ------------------------------------------------------------------ */

static void promise(void **state)
{
    (void)state;
    char *tok = sign(claims_page(NULL), "k2", K2);
    gw_answer a;
    /* out of range: before 2026-03-09, after 2026-04-09, not a date */
    const char *bad[] = {"promised_on=2026-03-08", "promised_on=2026-04-10",
                         "promised_on=2026-02-30", NULL};
    for (size_t i = 0; i < 4; i++) {
        post_action(&a, tok, "promise", bad[i]);
        assert_int_equal(a.status, 400);
        has(&a, "promised_on: must be a date from 2026-03-09 to 2026-04-09");
        gw_answer_free(&a);
    }
    assert_int_equal(be.n, 0);
    post_action(&a, tok, "promise", "promised_on=2026-04-09");
    assert_int_equal(a.status, 200);
    has(&a, "<main id=\"confirmation\">");
    has(&a, "Your promise to pay \xc2\xa3"
            "1,132.50 by 9 April 2026 has been recorded.");
    gw_answer_free(&a);
    /* a double submit: the same id again */
    post_action(&a, tok, "promise", "promised_on=2026-04-09");
    assert_int_equal(a.status, 200);
    gw_answer_free(&a);
    assert_int_equal(be.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(record_key(i), "acme/C-1");
        json_t *ev = record(i);
        expect_id(ev, tok, "promise");
        expect_data(ev, "promise.made",
                    "{\"customer_id\":\"C-1\",\"invoice_ids\":[\"I-1\",\"I-2\"],"
                    "\"currency\":\"GBP\",\"amount\":\"1132.50\",\"promised_on\":\"2026-04-09\"}");
        json_decref(ev);
    }
    free(tok);
}

static void dispute(void **state)
{
    (void)state;
    char *tok = sign(claims_page(NULL), "k2", K2);
    gw_answer a;
    post_action(&a, tok, "dispute", "invoice_id=I-9&reason=wrong");
    assert_int_equal(a.status, 400);
    has(&a, "invoice_id: must be one of the page");
    gw_answer_free(&a);
    post_action(&a, tok, "dispute", "invoice_id=I-2&reason=+++");
    assert_int_equal(a.status, 400);
    has(&a, "reason: required");
    gw_answer_free(&a);
    post_action(&a, tok, "dispute", "invoice_id=I-2&reason=Goods+damaged%0Aon+arrival");
    assert_int_equal(a.status, 200);
    has(&a, "Your dispute of invoice N-2 has been recorded.");
    gw_answer_free(&a);
    assert_int_equal(be.n, 1);
    json_t *ev = record(0);
    expect_id(ev, tok, "dispute/I-2");
    expect_data(ev, "dispute.opened",
                "{\"customer_id\":\"C-1\",\"invoice_id\":\"I-2\","
                "\"reason\":\"Goods damaged\\non arrival\"}");
    json_decref(ev);
    free(tok);
}

static void plan(void **state)
{
    (void)state;
    /* two plans of the 1,132.50: 2 x 566.25, 3 x 377.50 */
    json_t *c = claims_page(NULL);
    json_error_t je;
    json_t *offer =
        json_loads("{\"kind\":\"plan\",\"amount_minor\":113250,\"forgiven_minor\":0,"
                   "\"valid_until\":\"2026-04-10\",\"plans\":["
                   "{\"instalments\":[{\"due_on\":\"2026-04-10\",\"amount_minor\":56625},"
                   "{\"due_on\":\"2026-05-10\",\"amount_minor\":56625}]},"
                   "{\"instalments\":[{\"due_on\":\"2026-04-10\",\"amount_minor\":37750},"
                   "{\"due_on\":\"2026-05-10\",\"amount_minor\":37750},"
                   "{\"due_on\":\"2026-06-09\",\"amount_minor\":37750}]}]}",
                   JSON_PRESERVE_ORDER, &je);
    assert_non_null(offer);
    json_object_set_new(c, "offer", offer);
    char *tok = sign(c, "k2", K2), th[65], want[300];
    gw_answer a;
    call(&a, "GET", "/p/", tok, NULL, NULL);
    assert_int_equal(a.status, 200);
    has(&a, "<input type=\"radio\" name=\"plan\" id=\"plan-2\" value=\"2\" required>"
            "<label for=\"plan-2\">3 instalments: \xc2\xa3"
            "377.50 (10 April 2026), \xc2\xa3"
            "377.50 (10 May 2026), \xc2\xa3"
            "377.50 (9 June 2026)</label>");
    gw_answer_free(&a);
    post_action(&a, tok, "plan", "plan=3");
    assert_int_equal(a.status, 400);
    gw_answer_free(&a);
    post_action(&a, tok, "plan", "plan=2");
    assert_int_equal(a.status, 200);
    has(&a, "Your instalment plan has been recorded: \xc2\xa3"
            "377.50 (10 April 2026)");
    gw_answer_free(&a);
    assert_int_equal(be.n, 1);
    json_t *ev = record(0);
    expect_id(ev, tok, "plan");
    token_hash(tok, th);
    snprintf(
        want, sizeof want,
        "{\"plan_id\":\"page-%.32s\",\"customer_id\":\"C-1\",\"invoice_ids\":[\"I-1\",\"I-2\"],"
        "\"currency\":\"GBP\",\"instalments\":[{\"due_on\":\"2026-04-10\",\"amount\":\"377.50\"},"
        "{\"due_on\":\"2026-05-10\",\"amount\":\"377.50\"},"
        "{\"due_on\":\"2026-06-09\",\"amount\":\"377.50\"}],\"total\":\"1132.50\","
        "\"source\":\"portal\"}",
        th);
    expect_data(ev, "plan.agreed", want);
    json_decref(ev);
    free(tok);

    /* an offer past valid_until: not shown, refused */
    c = claims_page(NULL);
    offer = json_loads("{\"kind\":\"plan\",\"amount_minor\":113250,\"forgiven_minor\":0,"
                       "\"valid_until\":\"2026-03-09\",\"plans\":[{\"instalments\":["
                       "{\"due_on\":\"2026-03-09\",\"amount_minor\":56625},"
                       "{\"due_on\":\"2026-04-09\",\"amount_minor\":56625}]}]}",
                       0, &je);
    json_object_set_new(c, "offer", offer);
    tok = sign(c, "k2", K2);
    call(&a, "GET", "/p/", tok, NULL, NULL);
    lacks(&a, "form-plan");
    gw_answer_free(&a);
    post_action(&a, tok, "plan", "plan=1");
    assert_int_equal(a.status, 409);
    gw_answer_free(&a);
    assert_int_equal(be.n, 1);
    free(tok);
}

static void stop_and_pay(void **state)
{
    (void)state;
    char *tok = sign(claims_page(NULL), "k2", K2);
    gw_answer a;
    post_action(&a, tok, "stop", "channel=letter");
    assert_int_equal(a.status, 400);
    gw_answer_free(&a);
    post_action(&a, tok, "stop", "channel=sms");
    assert_int_equal(a.status, 200);
    has(&a, "You will receive no more messages from us by text message (SMS).");
    gw_answer_free(&a);
    assert_int_equal(be.n, 1);
    json_t *ev = record(0);
    expect_id(ev, tok, "stop/sms");
    expect_data(ev, "contact.ceased", "{\"customer_id\":\"C-1\",\"channel\":\"sms\"}");
    json_decref(ev);

    /* Pay now: 303 to the template, values percent-encoded ("," is %2C) */
    post_action(&a, tok, "pay", NULL);
    assert_int_equal(a.status, 303);
    assert_string_equal(a.location,
                        "https://pay.acme.test/pay?ref=N-1%2CN-2&amount=113250&currency=GBP");
    has(&a, "href=\"https://pay.acme.test/pay?ref=N-1%2CN-2&amp;amount=113250&amp;currency=GBP\"");
    gw_answer_free(&a);
    assert_int_equal(be.n, 1);
    free(tok);

    /* an open discount: Pay now asks its amount (1,109.85 by 2026-03-31) */
    json_t *c = claims_page(NULL);
    json_object_set_new(c, "offer",
                        json_pack("{s:s,s:i,s:i,s:s}", "kind", "discount", "amount_minor", 110985,
                                  "forgiven_minor", 2265, "valid_until", "2026-03-31"));
    tok = sign(c, "k2", K2);
    call(&a, "GET", "/p/", tok, NULL, NULL);
    has(&a, "<p id=\"offer\">Pay only \xc2\xa3"
            "1,109.85 if you pay by 31 March 2026.</p>");
    gw_answer_free(&a);
    post_action(&a, tok, "pay", NULL);
    assert_string_equal(a.location,
                        "https://pay.acme.test/pay?ref=N-1%2CN-2&amount=110985&currency=GBP");
    gw_answer_free(&a);
    free(tok);
}

static void unsubscribe(void **state)
{
    (void)state;
    char *tok = sign(claims_unsub(), "k2", K2);
    gw_answer a;
    call(&a, "GET", "/u/", tok, NULL, NULL);
    assert_int_equal(a.status, 200);
    has(&a, "<form id=\"form-unsubscribe\" method=\"post\"");
    has(&a, "<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">");
    has(&a, "id=\"unsubscribe-submit\"");
    gw_answer_free(&a);
    assert_int_equal(be.n, 0); /* GET changes nothing */
    call(&a, "POST", "/u/", tok, "List-Unsubscribe=Other", NULL);
    assert_int_equal(a.status, 400);
    gw_answer_free(&a);
    assert_int_equal(be.n, 0);
    call(&a, "POST", "/u/", tok, "List-Unsubscribe=One-Click", NULL);
    assert_int_equal(a.status, 200);
    has(&a, "You are unsubscribed");
    gw_answer_free(&a);
    /* the multipart form of RFC 8058 */
    call(&a, "POST", "/u/", tok,
         "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n"
         "One-Click\r\n--XyZ--\r\n",
         "multipart/form-data; boundary=XyZ");
    assert_int_equal(a.status, 200);
    gw_answer_free(&a);
    assert_int_equal(be.n, 2);
    json_t *ev = record(1);
    expect_id(ev, tok, "unsubscribe");
    expect_data(ev, "contact.ceased", "{\"customer_id\":\"C-1\",\"channel\":\"email\"}");
    json_decref(ev);
    assert_string_equal(record_key(0), "acme/C-1");
    free(tok);
}

static void unavailable_and_limits(void **state)
{
    (void)state;
    char *tok = sign(claims_unsub(), "k2", K2);
    gw_answer a;
    be.fail = 1;
    call(&a, "POST", "/u/", tok, "List-Unsubscribe=One-Click", NULL);
    assert_int_equal(a.status, 503);
    assert_int_equal(a.retry_after, 5);
    has(&a, "Please try again in a few minutes.");
    gw_answer_free(&a);
    be.fail = 0;
    /* a body over 16 KiB */
    char *big = malloc(GW_FORM_MAX + 2);
    memset(big, 'a', GW_FORM_MAX + 1);
    big[GW_FORM_MAX + 1] = 0;
    call(&a, "POST", "/u/", tok, big, NULL);
    assert_int_equal(a.status, 413);
    gw_answer_free(&a);
    free(big);
    assert_int_equal(gw_pages_body_max("/p/x", 4 << 20), GW_FORM_MAX);
    assert_int_equal(gw_pages_body_max("/v1/events", 4 << 20), 4 << 20);
    /* rate 2 per second: the third request in the same millisecond waits */
    pages.rate = 2;
    int64_t t0 = now + 100000;
    int codes[3];
    for (int i = 0; i < 3; i++) {
        gw_header h[1] = {{"Content-Type", "text/plain"}};
        char path[4096];
        snprintf(path, sizeof path, "/u/%s", tok);
        gw_request rq = {"GET", path, h, 1, NULL, 0, 0, t0, WALL, "198.51.100.9", NULL, WALL};
        gw_handle(&cfg, &rq, &a);
        codes[i] = a.status;
        if (i == 2)
            assert_int_equal(a.retry_after, 1);
        gw_answer_free(&a);
    }
    pages.rate = 1000;
    assert_int_equal(codes[0], 200);
    assert_int_equal(codes[1], 200);
    assert_int_equal(codes[2], 429);
    free(tok);
}

/* --- parsers ------------------------------------------------------------------------ */

static void form_parser(void **state)
{
    (void)state;
    gw_form f;
    char err[160];
    const char *s = "a=1&b=%41+c%C3%A4&&c&d=";
    assert_int_equal(gw_form_parse(s, strlen(s), &f, err, sizeof err), 0);
    assert_int_equal(f.n, 4);
    assert_string_equal(gw_form_get(&f, "a"), "1");
    assert_string_equal(gw_form_get(&f, "b"), "A c\xc3\xa4");
    assert_string_equal(gw_form_get(&f, "c"), "");
    assert_string_equal(gw_form_get(&f, "d"), "");
    assert_null(gw_form_get(&f, "e"));
    gw_form_free(&f);
    /* what the page refuses: the parser's escapes, then gw_form_strict */
    const char *bad[][2] = {{"a=%4", "not a %XX escape at byte 2"},
                            {"a=%G1", "not a %XX escape at byte 2"},
                            {"a=x%00y", "a %00 escape at byte 3"},
                            {"a=1&a=2", "a: given twice"},
                            {"a=%FF", "(form): field 1: must be UTF-8 text without NUL"},
                            {"a=%C0%AF", "(form): field 1: must be UTF-8 text without NUL"},
                            {"a=%ED%A0%80", "(form): field 1: must be UTF-8 text without NUL"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = gw_form_parse(bad[i][0], strlen(bad[i][0]), &f, err, sizeof err);
        if (rc == 0) {
            rc = gw_form_strict(&f, GW_FORM_FIELDS, err, sizeof err);
            gw_form_free(&f);
        }
        assert_int_equal(rc, -1);
        assert_string_equal(err, bad[i][1]);
        assert_null(f.p);
    }
    char many[400] = "";
    for (int i = 0; i <= GW_FORM_FIELDS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "f%d=1&", i);
    assert_int_equal(gw_form_parse(many, strlen(many), &f, err, sizeof err), 0);
    assert_int_equal(gw_form_strict(&f, GW_FORM_FIELDS, err, sizeof err), -1);
    assert_string_equal(err, "(form): at most 32 fields");
    gw_form_free(&f);
    cm_buf b = CM_BUF_INIT;
    gw_form_pct(&b, "N-1,N 2/\xc3\xa4~");
    assert_string_equal(b.p, "N-1%2CN%202%2F%C3%A4~");
    cm_buf_free(&b);
}

static void tenants_file(void **state)
{
    (void)state;
    gw_pages p;
    char err[1024];
    const char *bad =
        "{\"acme\":{\"link_keys\":[{\"kid\":\"k1\",\"secret\":\"short\"}],\"pay_url\":\"ftp://x\","
        "\"promise_max_days\":0,\"locale\":\"x\",\"colour\":1},"
        "\"beta\":{\"link_keys\":[]},\"bad tenant\":{\"link_keys\":[{\"kid\":\"k1\","
        "\"secret_file\":\"/nonexistent/secret\"}]},"
        "\"gamma\":{\"link_keys\":[{\"kid\":\"k1\",\"secret\":\"0123456789abcdef\"},"
        "{\"kid\":\"k1\",\"secret\":\"0123456789abcdef\"}]}}";
    assert_int_equal(gw_pages_init(&p, 1), 0);
    assert_int_equal(gw_pages_parse(&p, bad, strlen(bad), err, sizeof err), -1);
    const char *want[] = {
        "acme.colour: unknown member",
        "acme.link_keys[0].secret: must be 16-256 bytes, is 5",
        "acme.pay_url: must be an http(s) URL",
        "acme.promise_max_days: must be an integer from 1 to 365",
        "acme.locale: must be a locale such as en-GB or de-DE",
        "beta.link_keys: required, an array of 1 or 2 keys (current, previous)",
        "bad tenant: a tenant is 1-64 of [A-Za-z0-9._-]",
        "bad tenant.link_keys[0].secret_file: cannot read /nonexistent/secret",
        "gamma.link_keys[1].kid: must differ from the current key's",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(err, want[i]))
            fail_msg("%s lacks %s", err, want[i]);
    gw_pages_free(&p);
    assert_int_equal(gw_pages_init(&p, 1), 0);
    assert_int_equal(gw_pages_parse(&p, "[]", 2, err, sizeof err), -1);
    assert_string_equal(err, "(file): must be a JSON object keyed by tenant");
    gw_pages_free(&p);
    /* defaults */
    const char *ok = "{\"t\":{\"link_keys\":[{\"kid\":\"k1\",\"secret\":\"0123456789abcdef\"}]}}";
    assert_int_equal(gw_pages_init(&p, 1), 0);
    assert_int_equal(gw_pages_parse(&p, ok, strlen(ok), err, sizeof err), 0);
    const gw_tenant *t = gw_pages_tenant(&p, "t");
    assert_non_null(t);
    assert_int_equal(t->promise_max_days, 30);
    assert_string_equal(t->locale, "en-GB");
    assert_null(t->pay_url);
    assert_null(t->csp);
    gw_pages_free(&p);
    /* every answer's CSP (listen.c) */
    assert_string_equal(GW_CSP, "default-src 'none'; style-src 'unsafe-inline'; form-action "
                                "'self'; frame-ancestors 'none'; base-uri 'none'");
}

/* --- metrics ---------------------------------------------------------------------- */

/* Every answer of the pages is counted by its code (gw_handle):
 * arrears_gateway_requests_total{code="200"|"303"|"403"|"409"|"410"}, one
 * request each, nothing counted under another code. */
static void answers_counted(void **state)
{
    (void)state;
    static cm_metric *m[CT_M_COUNT];
    ct_metrics_register(CT_SVC_GATEWAY, m);
    cfg.m = m;
    double before[CT_M_COUNT];
    for (int i = 0; i < CT_M_COUNT; i++)
        before[i] = m[i] ? cm_metric_value(m[i]) : 0;

    gw_answer a;
    char *tok = sign(claims_page(NULL), "k2", K2);
    call(&a, "GET", "/p/", tok, NULL, NULL); /* 200 */
    gw_answer_free(&a);
    post_action(&a, tok, "pay", NULL); /* 303 */
    gw_answer_free(&a);
    call(&a, "POST", "/p/", tok, "action=promise&promised_on=2026-03-20", NULL); /* 403 */
    gw_answer_free(&a);
    free(tok);
    json_t *c = claims_page(NULL);
    json_object_set_new(c, "exp", json_integer(WALL));
    tok = sign(c, "k2", K2);
    call(&a, "GET", "/p/", tok, NULL, NULL); /* 410 */
    gw_answer_free(&a);
    free(tok);
    json_error_t je;
    c = claims_page(NULL);
    json_object_set_new(c, "offer",
                        json_loads("{\"kind\":\"plan\",\"amount_minor\":113250,"
                                   "\"forgiven_minor\":0,\"valid_until\":\"2026-03-09\","
                                   "\"plans\":[{\"instalments\":[{\"due_on\":\"2026-03-09\","
                                   "\"amount_minor\":113250}]}]}",
                                   0, &je));
    tok = sign(c, "k2", K2);
    post_action(&a, tok, "plan", "plan=1"); /* 409 */
    gw_answer_free(&a);
    free(tok);
    cfg.m = NULL;

    const ct_metric want[] = {CT_M_GATEWAY_REQ_200, CT_M_GATEWAY_REQ_303, CT_M_GATEWAY_REQ_403,
                              CT_M_GATEWAY_REQ_409, CT_M_GATEWAY_REQ_410};
    for (int i = CT_M_GATEWAY_REQ_200; i <= CT_M_GATEWAY_REQ_503; i++) {
        int one = 0;
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            one |= want[k] == (ct_metric)i;
        assert_non_null(m[i]);
        if (cm_metric_value(m[i]) - before[i] != (one ? 1 : 0)) {
            char name[128];
            ct_metric_series((ct_metric)i, name, sizeof name);
            fail_msg("%s moved by %.0f, want %d", name, cm_metric_value(m[i]) - before[i], one);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(page_en_gb, setup, teardown),
        cmocka_unit_test_setup_teardown(page_de_de, setup, teardown),
        cmocka_unit_test_setup_teardown(page_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(token_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(csrf_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(promise, setup, teardown),
        cmocka_unit_test_setup_teardown(dispute, setup, teardown),
        cmocka_unit_test_setup_teardown(plan, setup, teardown),
        cmocka_unit_test_setup_teardown(stop_and_pay, setup, teardown),
        cmocka_unit_test_setup_teardown(unsubscribe, setup, teardown),
        cmocka_unit_test_setup_teardown(unavailable_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(answers_counted, setup, teardown),
        cmocka_unit_test(form_parser),
        cmocka_unit_test(tenants_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
