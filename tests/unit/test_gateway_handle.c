/* test_gateway_handle.c -- every answer of the gateway's request handler
 * (services/gateway/handle.c) over a publishing double: 202 per mode with
 * the records that reach the backend (structured JSON, the credential's
 * tenant, keyed tenant/customer_id), 400 with every reason, batch results,
 * 401, 404, 405, 413 (body and batch), 415, 429 with Retry-After, 503
 * with Retry-After when the backend cannot acknowledge; a Standard
 * Webhooks signature as the credential. */
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

#include "../../services/gateway/gateway.h"
#include "crypto.h"
#include "gateway_fake.h"
#include "base64.h"

/* printf %s s3cret | sha256sum */
#define S3CRET "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0"
#define WHSEC  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static gw_auth auth;
static gw_fake be;
static gw_config cfg;

static int setup(void **state)
{
    char err[256];
    (void)state;
    gw_auth_init(&auth);
    if (gw_auth_parse(&auth, "acme " S3CRET "\n", err, sizeof err) != 0 ||
        gw_auth_parse_secrets(&auth, "webby " WHSEC "\n", err, sizeof err) != 0)
        fail_msg("%s", err);
    memset(&be, 0, sizeof be);
    cfg = (gw_config){.auth = &auth,
                      .rate = 1000,
                      .max_body = 4096,
                      .batch_max = 3,
                      .limits = {CT_DEFAULT_MAX_BYTES, CT_DEFAULT_MAX_DEPTH},
                      .be = {&be, gw_fake_publish}};
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gw_fake_cleanup(&auth);
    return 0;
}

#define EVENT(id, cust)                                                                            \
    "{\"specversion\":\"1.0\",\"id\":\"" id "\",\"source\":\"billing\",\"type\":"                  \
    "\"contact.ceased\",\"time\":\"2026-03-01T09:00:00Z\",\"data\":{\"customer_id\":\"" cust       \
    "\"}}"

static int64_t now = 1000;
#define WALL 1614265330 /* unix seconds */

/* Posts body with the headers given (NULL-terminated name, value pairs). */
static json_t *call(gw_answer *a, const char *method, const char *path, const char *body, ...)
{
    gw_header h[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, body);
    for (const char *k; n < 16 && (k = va_arg(ap, const char *));) {
        h[n].name = k;
        h[n++].value = va_arg(ap, const char *);
    }
    va_end(ap);
    gw_request rq = {method, path, h,    n,    body, body ? strlen(body) : 0,
                     0,      now,  WALL, NULL, NULL, WALL};
    gw_handle(&cfg, &rq, a);
    json_error_t je;
    json_t *v = json_loadb(a->body.p, a->body.len, 0, &je);
    if (!v)
        fail_msg("answer %d is not JSON: %s", a->status, a->body.p ? a->body.p : "(null)");
    return v;
}

/* The answer's status is want; frees it. */
static void expect(int want, gw_answer *a, json_t *v)
{
    assert_int_equal(a->status, want);
    json_decref(v);
    gw_answer_free(a);
}

#define AUTH  "Authorization", "Bearer s3cret"
#define CE    "Content-Type", "application/cloudevents+json"
#define BATCH "Content-Type", "application/cloudevents-batch+json"

static void structured_202(void **state)
{
    (void)state;
    gw_answer a;
    json_t *v = call(&a, "POST", "/v1/events", EVENT("e1", "C-1"), AUTH, CE, NULL);
    assert_int_equal(a.status, 202);
    assert_int_equal(json_integer_value(json_object_get(v, "accepted")), 1);
    assert_int_equal(be.n, 1);
    assert_string_equal(be.keys[0], "acme/C-1");
    assert_non_null(strstr(be.values[0], "\"tenant\":\"acme\""));
    json_decref(v);
    gw_answer_free(&a);
}

static void binary_202_and_400(void **state)
{
    (void)state;
    gw_answer a;
    json_t *v = call(&a, "POST", "/v1/events", "{\"customer_id\":\"C-2\"}", AUTH, "Content-Type",
                     "application/json", "ce-specversion", "1.0", "ce-id", "b1", "ce-source", "crm",
                     "ce-type", "contact.ceased", "ce-time", "2026-03-01T10:00:00+01:00", NULL);
    assert_int_equal(a.status, 202);
    assert_int_equal(be.n, 1);
    assert_string_equal(be.keys[0], "acme/C-2");
    json_decref(v);
    gw_answer_free(&a);

    /* every reason: the tenant, the time and the data */
    v = call(&a, "POST", "/v1/events", "{\"invoice_id\":\"I-1\"}", AUTH, "ce-specversion", "1.0",
             "ce-id", "b2", "ce-source", "crm", "ce-type", "invoice.issued", "ce-time", "yesterday",
             "ce-tenant", "beta", NULL);
    assert_int_equal(a.status, 400);
    assert_int_equal(be.n, 1); /* nothing published */
    json_t *errs = json_object_get(v, "errors");
    assert_true(json_array_size(errs) >= 3);
    int tenant = 0, time = 0, customer = 0;
    for (size_t i = 0; i < json_array_size(errs); i++) {
        json_t *e = json_array_get(errs, i);
        const char *f = json_string_value(json_object_get(e, "field"));
        assert_non_null(json_string_value(json_object_get(e, "rule")));
        assert_non_null(json_string_value(json_object_get(e, "message")));
        tenant += !strcmp(f, "tenant");
        time += !strcmp(f, "time");
        customer += !strcmp(f, "data.customer_id");
    }
    assert_int_equal(tenant, 1);
    assert_int_equal(time, 1);
    assert_int_equal(customer, 1);
    json_decref(v);
    gw_answer_free(&a);
}

/* The structured and binary examples of docs/gateway.md. */
static void docs_examples(void **state)
{
    (void)state;
    gw_answer a;
    json_t *v = call(&a, "POST", "/v1/events",
                     "{\"specversion\":\"1.0\",\"id\":\"7f1c1b1e-0001\",\"source\":\"billing-eu\","
                     "\"type\":\"invoice.issued\",\"time\":\"2026-03-01T09:00:00Z\",\"data\":{"
                     "\"invoice_id\":\"INV-1\",\"customer_id\":\"C-1042\",\"number\":\"2026-0001\","
                     "\"currency\":\"EUR\",\"amount\":\"120.50\",\"issued_on\":\"2026-03-01\","
                     "\"due_on\":\"2026-03-31\"}}",
                     AUTH, CE, NULL);
    expect(202, &a, v);
    v = call(&a, "POST", "/v1/events",
             "{\"payment_id\":\"P-1\",\"customer_id\":\"C-1042\",\"currency\":\"EUR\","
             "\"amount\":\"120.50\",\"received_on\":\"2026-03-05\"}",
             AUTH, "Content-Type", "application/json", "ce-specversion", "1.0", "ce-id",
             "7f1c1b1e-0002", "ce-source", "billing-eu", "ce-type", "payment.received", "ce-time",
             "2026-03-05T10:00:00Z", NULL);
    expect(202, &a, v);
    assert_int_equal(be.n, 2);
    assert_string_equal(be.keys[1], "acme/C-1042");
}

static void structured_400(void **state)
{
    (void)state;
    gw_answer a;
    json_t *v = call(&a, "POST", "/v1/events", "[1,2]", AUTH, CE, NULL);
    assert_int_equal(a.status, 400);
    assert_int_equal(json_array_size(json_object_get(v, "errors")), 1);
    json_decref(v);
    gw_answer_free(&a);
    v = call(&a, "POST", "/v1/events", "{\"id\":", AUTH, CE, NULL);
    assert_int_equal(a.status, 400);
    json_t *e = json_array_get(json_object_get(v, "errors"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "(payload)");
    json_decref(v);
    gw_answer_free(&a);
    assert_int_equal(be.n, 0);
}

static void batch_results(void **state)
{
    (void)state;
    gw_answer a;
    json_t *v =
        call(&a, "POST", "/v1/events",
             "[" EVENT("k1", "C-1") "," EVENT("k2", "C-2") ",{\"id\":\"k3\"}]", AUTH, BATCH, NULL);
    assert_int_equal(a.status, 202);
    assert_int_equal(json_integer_value(json_object_get(v, "accepted")), 2);
    json_t *r = json_object_get(v, "results");
    assert_int_equal(json_array_size(r), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "id")), "k1");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 0), "status")), 202);
    assert_int_equal(json_array_size(json_object_get(json_array_get(r, 0), "errors")), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 2), "id")), "k3");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 2), "status")), 400);
    assert_true(json_array_size(json_object_get(json_array_get(r, 2), "errors")) > 1);
    assert_int_equal(be.calls, 1);
    assert_int_equal(be.n, 2);
    json_decref(v);
    gw_answer_free(&a);

    /* none valid: 400 with the results, nothing published */
    v = call(&a, "POST", "/v1/events", "[{\"id\":\"x\"}]", AUTH, BATCH, NULL);
    assert_int_equal(a.status, 400);
    assert_int_equal(json_integer_value(json_object_get(v, "accepted")), 0);
    assert_int_equal(be.calls, 1);
    json_decref(v);
    gw_answer_free(&a);

    /* too many: 413; not an array: 400; empty: 202 */
    v = call(&a, "POST", "/v1/events", "[{},{},{},{}]", AUTH, BATCH, NULL);
    expect(413, &a, v);
    v = call(&a, "POST", "/v1/events", "{}", AUTH, BATCH, NULL);
    expect(400, &a, v);
    v = call(&a, "POST", "/v1/events", "[]", AUTH, BATCH, NULL);
    expect(202, &a, v);
}

static void refusals(void **state)
{
    (void)state;
    gw_answer a;
    json_t *v = call(&a, "GET", "/v1/other", NULL, AUTH, NULL);
    expect(404, &a, v);
    v = call(&a, "GET", "/v1/events", NULL, AUTH, NULL);
    assert_int_equal(a.status, 405);
    assert_string_equal(a.allow, "POST");
    json_decref(v);
    gw_answer_free(&a);
    v = call(&a, "POST", "/v1/events", EVENT("e", "C"), CE, NULL);
    expect(401, &a, v);
    v = call(&a, "POST", "/v1/events", EVENT("e", "C"), CE, "Authorization", "Bearer nope", NULL);
    expect(401, &a, v);
    v = call(&a, "POST", "/v1/events", EVENT("e", "C"), AUTH, "Content-Type", "text/plain", NULL);
    expect(415, &a, v);

    char big[5000];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = 0;
    v = call(&a, "POST", "/v1/events", big, AUTH, CE, NULL);
    expect(413, &a, v);
    gw_header h[] = {{"Authorization", "Bearer s3cret"}};
    gw_request rq = {"POST", "/v1/events", h, 1, NULL, 0, 1, now, WALL, NULL, NULL, WALL};
    gw_handle(&cfg, &rq, &a);
    assert_int_equal(a.status, 413);
    gw_answer_free(&a);
    assert_int_equal(be.calls, 0);
}

static void rate_limited(void **state)
{
    (void)state;
    gw_answer a;
    cfg.rate = 2;
    now = 50000;
    json_t *v = call(&a, "POST", "/v1/events", "[" EVENT("r1", "C") "," EVENT("r2", "C") "]", AUTH,
                     BATCH, NULL);
    expect(202, &a, v);
    v = call(&a, "POST", "/v1/events", EVENT("r3", "C"), AUTH, CE, NULL);
    assert_int_equal(a.status, 429);
    assert_int_equal(a.retry_after, 1);
    json_decref(v);
    gw_answer_free(&a);
    now += 500; /* one token back */
    v = call(&a, "POST", "/v1/events", EVENT("r3", "C"), AUTH, CE, NULL);
    expect(202, &a, v);
}

/* "v1,<base64 HMAC-SHA256(key of WHSEC, id.ts.body)>" */
static void sign(const char *id, long long ts, const char *body, char *out)
{
    unsigned char key[64], mac[32];
    unsigned int maclen = 0;
    char msg[2048];
    long kl = cm_whsec_key(WHSEC, key, sizeof key);
    assert_true(kl > 0);
    int n = snprintf(msg, sizeof msg, "%s.%lld.%s", id, ts, body);
    assert_non_null(
        HMAC(EVP_sha256(), key, (int)kl, (unsigned char *)msg, (size_t)n, mac, &maclen));
    memcpy(out, "v1,", 3);
    cm_base64_encode(mac, maclen, out + 3);
}

static void webhook_signed(void **state)
{
    (void)state;
    gw_answer a;
    char sig[128], ts[32];
    const char *body = EVENT("w1", "C-9");
    sign("msg_1", WALL - 10, body, sig);
    snprintf(ts, sizeof ts, "%lld", (long long)WALL - 10);
    json_t *v = call(&a, "POST", "/v1/events", body, CE, "webhook-id", "msg_1", "webhook-timestamp",
                     ts, "webhook-signature", sig, NULL);
    expect(202, &a, v);
    assert_int_equal(be.n, 1);
    assert_string_equal(be.keys[0], "webby/C-9"); /* the secret's tenant */
    /* another id, a stale timestamp, a changed body: 401 */
    v = call(&a, "POST", "/v1/events", body, CE, "webhook-id", "msg_2", "webhook-timestamp", ts,
             "webhook-signature", sig, NULL);
    expect(401, &a, v);
    sign("msg_1", WALL - 400, body, sig);
    snprintf(ts, sizeof ts, "%lld", (long long)WALL - 400);
    v = call(&a, "POST", "/v1/events", body, CE, "webhook-id", "msg_1", "webhook-timestamp", ts,
             "webhook-signature", sig, NULL);
    expect(401, &a, v);
    sign("msg_1", WALL, body, sig);
    snprintf(ts, sizeof ts, "%lld", (long long)WALL);
    v = call(&a, "POST", "/v1/events", EVENT("w2", "C-9"), CE, "webhook-id", "msg_1",
             "webhook-timestamp", ts, "webhook-signature", sig, NULL);
    expect(401, &a, v);
    assert_int_equal(be.n, 1);
    /* a signed body too large to read: 413, not 401 */
    gw_header h[] = {
        {"webhook-id", "msg_1"}, {"webhook-timestamp", ts}, {"webhook-signature", sig}};
    gw_request rq = {"POST", "/v1/events", h, 3, NULL, 0, 1, now, WALL, NULL, NULL, WALL};
    gw_handle(&cfg, &rq, &a);
    assert_int_equal(a.status, 413);
    gw_answer_free(&a);
}

static void unavailable(void **state)
{
    (void)state;
    gw_answer a;
    be.fail = 1;
    json_t *v = call(&a, "POST", "/v1/events", EVENT("u1", "C"), AUTH, CE, NULL);
    assert_int_equal(a.status, 503);
    assert_int_equal(a.retry_after, 5);
    json_decref(v);
    gw_answer_free(&a);
    /* nothing to publish: no wait on Kafka, a plain 400 */
    v = call(&a, "POST", "/v1/events", "{}", AUTH, CE, NULL);
    expect(400, &a, v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(structured_202, setup, teardown),
        cmocka_unit_test_setup_teardown(binary_202_and_400, setup, teardown),
        cmocka_unit_test_setup_teardown(docs_examples, setup, teardown),
        cmocka_unit_test_setup_teardown(structured_400, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_results, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(webhook_signed, setup, teardown),
        cmocka_unit_test_setup_teardown(unavailable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
