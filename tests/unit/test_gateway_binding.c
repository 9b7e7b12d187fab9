/* test_gateway_binding.c -- the gateway's pure parts: the CloudEvents HTTP
 * binding (binary, structured and batch mode into the structured events
 * ingest reads, the credential's tenant), the tokens file and the bearer
 * check, the webhook secrets file and Standard Webhooks signatures (the
 * reference vector), and the token bucket's arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../services/gateway/gateway.h"
#include "crypto.h"

/* any 64 hex digits */
#define ACME_HASH "e8a5b9a0fb7a5b0e0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"

static json_t *parse(const gw_event *ev)
{
    json_error_t je;
    json_t *v = json_loadb(ev->json, ev->len, 0, &je);
    if (!v)
        fail_msg("not JSON: %s", ev->json);
    return v;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void modes(void **state)
{
    (void)state;
    gw_header ce[] = {{"Content-Type", "application/cloudevents+json; charset=utf-8"}};
    assert_int_equal(gw_mode_of(ce, 1), GW_STRUCTURED);
    gw_header b[] = {{"content-type", "Application/CloudEvents-Batch+JSON"}};
    assert_int_equal(gw_mode_of(b, 1), GW_BATCH);
    gw_header bin[] = {{"Content-Type", "application/json"}, {"ce-specversion", "1.0"}};
    assert_int_equal(gw_mode_of(bin, 2), GW_BINARY);
    assert_int_equal(gw_mode_of(bin + 1, 1), GW_BINARY); /* no Content-Type, ce- headers */
    gw_header vnd[] = {{"Content-Type", "application/vnd.acme+json"}};
    assert_int_equal(gw_mode_of(vnd, 1), GW_BINARY);
    gw_header txt[] = {{"Content-Type", "text/plain"}, {"ce-specversion", "1.0"}};
    assert_int_equal(gw_mode_of(txt, 2), GW_UNSUPPORTED);
    gw_header form[] = {{"Content-Type", "application/x-www-form-urlencoded"}};
    assert_int_equal(gw_mode_of(form, 1), GW_UNSUPPORTED);
    assert_int_equal(gw_mode_of(NULL, 0), GW_UNSUPPORTED);
    assert_string_equal(gw_header_get(bin, 2, "CE-SPECVERSION"), "1.0");
    assert_null(gw_header_get(bin, 2, "ce-id"));
}

static void binary_mode(void **state)
{
    (void)state;
    gw_header h[] = {{"Content-Type", "application/json"},
                     {"ce-specversion", "1.0"},
                     {"ce-id", "ev-1"},
                     {"CE-Source", "billing%2Feu"},
                     {"ce-type", "contact.ceased"},
                     {"ce-time", "2026-03-01T09:00:00Z"},
                     {"ce-subject", "C-1"},
                     {"Authorization", "Bearer x"}};
    const char body[] = "{\"customer_id\":\"C-1\",\"amount\":120.5}";
    gw_event *ev;
    assert_int_equal(gw_events_build(GW_BINARY, h, 8, body, strlen(body), "acme", 10, &ev), 1);
    assert_int_equal(ev[0].reasons.n, 0);
    assert_int_equal(ev[0].raw, 0);
    assert_string_equal(ev[0].id, "ev-1");
    json_t *v = parse(&ev[0]);
    assert_string_equal(str(v, "specversion"), "1.0");
    assert_string_equal(str(v, "source"), "billing/eu"); /* percent-decoded */
    assert_string_equal(str(v, "type"), "contact.ceased");
    assert_string_equal(str(v, "subject"), "C-1");
    assert_string_equal(str(v, "tenant"), "acme");
    assert_null(json_object_get(v, "authorization"));
    json_t *d = json_object_get(v, "data");
    assert_string_equal(str(d, "customer_id"), "C-1");
    assert_true(json_real_value(json_object_get(d, "amount")) == 120.5);
    json_decref(v);
    gw_events_free(ev, 1);

    /* a ce-tenant header naming another tenant; a body that is not JSON */
    gw_header h2[] = {{"ce-specversion", "1.0"}, {"ce-tenant", "other"}};
    assert_int_equal(gw_events_build(GW_BINARY, h2, 2, "{oops", 5, "acme", 10, &ev), 1);
    assert_int_equal(ev[0].reasons.n, 2);
    assert_string_equal(ev[0].reasons.r[0].field, "data");
    assert_string_equal(ev[0].reasons.r[0].rule, "json");
    assert_string_equal(ev[0].reasons.r[1].field, "tenant");
    assert_string_equal(ev[0].reasons.r[1].rule, "credential");
    v = parse(&ev[0]);
    assert_string_equal(str(v, "tenant"), "acme"); /* the credential's, whatever was sent */
    json_decref(v);
    gw_events_free(ev, 1);

    /* the same tenant is fine; an empty body is a reason */
    gw_header h3[] = {{"ce-specversion", "1.0"}, {"ce-tenant", "acme"}};
    assert_int_equal(gw_events_build(GW_BINARY, h3, 2, NULL, 0, "acme", 10, &ev), 1);
    assert_int_equal(ev[0].reasons.n, 1);
    assert_string_equal(ev[0].reasons.r[0].field, "data");
    assert_string_equal(ev[0].reasons.r[0].rule, "required");
    gw_events_free(ev, 1);
}

static void structured_and_batch(void **state)
{
    (void)state;
    gw_event *ev;
    const char one[] = "{\"specversion\":\"1.0\",\"id\":\"a\",\"tenant\":null,\"data\":{}}";
    assert_int_equal(gw_events_build(GW_STRUCTURED, NULL, 0, one, strlen(one), "acme", 10, &ev), 1);
    assert_int_equal(ev[0].reasons.n, 0); /* null counts as absent */
    assert_string_equal(ev[0].id, "a");
    json_t *v = parse(&ev[0]);
    assert_string_equal(str(v, "tenant"), "acme");
    /* the order of the members is kept, the tenant replaced in place */
    assert_non_null(
        strstr(ev[0].json, "{\"specversion\":\"1.0\",\"id\":\"a\",\"tenant\":\"acme\""));
    json_decref(v);
    gw_events_free(ev, 1);

    /* not JSON, or not an object: passed on as it is, flagged raw */
    assert_int_equal(gw_events_build(GW_STRUCTURED, NULL, 0, "[1]", 3, "acme", 10, &ev), 1);
    assert_int_equal(ev[0].raw, 1);
    assert_string_equal(ev[0].json, "[1]");
    gw_events_free(ev, 1);

    const char batch[] = "[{\"id\":\"1\"},{\"id\":\"2\",\"tenant\":\"beta\"},7]";
    assert_int_equal(gw_events_build(GW_BATCH, NULL, 0, batch, strlen(batch), "acme", 10, &ev), 3);
    assert_int_equal(ev[0].reasons.n, 0);
    assert_int_equal(ev[1].reasons.n, 1);
    assert_string_equal(ev[1].reasons.r[0].field, "tenant");
    assert_string_equal(ev[1].id, "2");
    assert_int_equal(ev[2].raw, 1);
    assert_string_equal(ev[2].json, "7");
    gw_events_free(ev, 3);

    assert_int_equal(gw_events_build(GW_BATCH, NULL, 0, batch, strlen(batch), "acme", 2, &ev), -2);
    assert_null(ev);
    assert_int_equal(gw_events_build(GW_BATCH, NULL, 0, "{}", 2, "acme", 2, &ev), -1);
    assert_int_equal(gw_events_build(GW_BATCH, NULL, 0, "[", 1, "acme", 2, &ev), -1);
    assert_int_equal(gw_events_build(GW_BATCH, NULL, 0, "[]", 2, "acme", 2, &ev), 0);
    gw_events_free(ev, 0);
}

static void tokens_file(void **state)
{
    (void)state;
    gw_auth a;
    char err[512];
    char text[512];
    snprintf(text, sizeof text, "# credentials\n\n  acme   %s  \nacme %s\nbeta %s\n",
             "4e2cd37c3a0ab8d6c85e0e2d7c4aaef7e7fa7ec49e5df9ad1e0a9d3b8e6b7d61",
             "E8A5B9A0FB7A5B0E0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B", ACME_HASH);
    gw_auth_init(&a);
    assert_int_equal(gw_auth_parse(&a, text, err, sizeof err), 0);
    assert_int_equal(a.n, 3);
    assert_int_equal(a.nbuckets, 2);
    assert_int_equal(a.creds[0].bucket, a.creds[1].bucket);
    assert_true(a.creds[2].bucket != a.creds[0].bucket);
    gw_auth_free(&a);

    gw_auth_init(&a);

    assert_int_equal(
        gw_auth_parse(&a,
                      "acme 12\nac/me " ACME_HASH "\nok " ACME_HASH "\n"
                      "zz "
                      "g8a5b9a0fb7a5b0e0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
                      err, sizeof err),
        -1);
    assert_non_null(strstr(err, "line 1: expected TENANT and 64 hex digits"));
    assert_non_null(strstr(err, "line 2: tenant is not"));
    assert_null(strstr(err, "line 3"));
    assert_non_null(strstr(err, "line 4: the hash is not hexadecimal"));
    gw_auth_free(&a);

    gw_auth_init(&a);

    assert_int_equal(gw_auth_parse(&a, "", err, sizeof err), 0);
    assert_int_equal(a.n, 0);
    assert_null(gw_auth_check(&a, "Bearer x"));
    gw_auth_free(&a);
}

static void bearer_check(void **state)
{
    (void)state;
    gw_auth a;
    char err[512], text[256];
    /* printf %s s3cret | sha256sum */
    snprintf(text, sizeof text, "beta %s\nacme %s\n",
             "d32afa68afe2184aede6d634480ba81600a3e467932ae2035df75b14aa3dde2d",
             "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0");
    gw_auth_init(&a);
    assert_int_equal(gw_auth_parse(&a, text, err, sizeof err), 0);
    const gw_cred *c = gw_auth_check(&a, "Bearer s3cret");
    assert_non_null(c);
    assert_string_equal(c->tenant, "acme");
    assert_non_null(gw_auth_check(&a, "bearer   s3cret "));
    assert_null(gw_auth_check(&a, "Bearer s3cre"));
    assert_null(gw_auth_check(&a, "Bearer "));
    assert_null(gw_auth_check(&a, "Basic s3cret"));
    assert_null(gw_auth_check(&a, NULL));
    gw_auth_free(&a);
}

static void webhook_signatures(void **state)
{
    (void)state;
    gw_auth a;
    char err[512];
    unsigned char key[64];
    /* the Standard Webhooks reference libraries' vector */
    const char *secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const char *body = "{\"test\": 2432232314}", *id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const char *sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    assert_true(cm_whsec_key(secret, key, sizeof key) > 0);
    assert_int_equal(cm_whsec_key("whsec_", key, sizeof key), -1);
    assert_int_equal(cm_whsec_key("whsec_not base64!", key, sizeof key), -1);
    assert_int_equal(cm_whsec_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, sizeof key), -1);
    gw_auth_init(&a);
    assert_int_equal(
        gw_auth_parse(&a, "acme 1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0\n",
                      err, sizeof err),
        0);
    assert_int_equal(gw_auth_parse_secrets(&a,
                                           "# secrets\nbeta whsec_dGVzdA==\nacme "
                                           "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
                                           err, sizeof err),
                     0);
    assert_int_equal(a.n, 3);
    assert_int_equal(a.nbuckets, 2);
    assert_int_equal(a.creds[2].bucket, a.creds[0].bucket); /* acme's bucket, both kinds */
    const gw_cred *c = gw_auth_webhook(&a, id, "1614265330", sig, body, strlen(body), 1614265330);
    assert_non_null(c);
    assert_string_equal(c->tenant, "acme");
    /* several signatures (a rotation): any one */
    assert_non_null(gw_auth_webhook(&a, id, "1614265330",
                                    "v1,AAAA v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", body,
                                    strlen(body), 1614265330 + 299));
    /* too old, too new, another id, another body, not v1, no timestamp */
    assert_null(gw_auth_webhook(&a, id, "1614265330", sig, body, strlen(body), 1614265330 + 301));
    assert_null(gw_auth_webhook(&a, id, "1614265330", sig, body, strlen(body), 1614265330 - 301));
    assert_null(gw_auth_webhook(&a, "msg_x", "1614265330", sig, body, strlen(body), 1614265330));
    assert_null(gw_auth_webhook(&a, id, "1614265330", sig, "{}", 2, 1614265330));
    assert_null(gw_auth_webhook(&a, id, "1614265330", sig + 1, body, strlen(body), 1614265330));
    assert_null(gw_auth_webhook(&a, id, "x", sig, body, strlen(body), 1614265330));
    /* a webhook secret is no bearer token, a token no webhook key */
    assert_null(gw_auth_check(&a, "Bearer whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    assert_non_null(gw_auth_check(&a, "Bearer s3cret"));
    gw_auth_free(&a);
    gw_auth_init(&a);
    assert_int_equal(gw_auth_parse_secrets(&a, "acme secret\nbeta whsec_###", err, sizeof err), -1);
    assert_non_null(strstr(err, "line 1: expected TENANT whsec_"));
    assert_non_null(strstr(err, "line 2: expected TENANT whsec_"));
    gw_auth_free(&a);
}

static void token_bucket(void **state)
{
    (void)state;
    gw_bucket b = {0, 0};
    /* rate 10/s, burst 10: ten pass at once, the eleventh waits a second */
    for (int i = 0; i < 10; i++)
        assert_int_equal(gw_bucket_take(&b, 10, 1000, 1), 0);
    assert_int_equal(gw_bucket_take(&b, 10, 1000, 1), 1);
    /* 100 ms later one token is back */
    assert_int_equal(gw_bucket_take(&b, 10, 1100, 1), 0);
    assert_int_equal(gw_bucket_take(&b, 10, 1100, 1), 1);
    /* a batch larger than what is left passes on one token and leaves a debt */
    assert_int_equal(gw_bucket_take(&b, 10, 2100, 35), 0); /* 10 back, -25 */
    assert_int_equal(gw_bucket_take(&b, 10, 2100, 1), 3);  /* (1 + 25) / 10 -> 3 s */
    assert_int_equal(gw_bucket_take(&b, 10, 4700, 1), 0);  /* 26 back: 1 token */
    /* the bucket never holds more than the burst */
    assert_int_equal(gw_bucket_take(&b, 10, 100000, 10), 0);
    assert_int_equal(gw_bucket_take(&b, 10, 100000, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(modes),
        cmocka_unit_test(binary_mode),
        cmocka_unit_test(structured_and_batch),
        cmocka_unit_test(tokens_file),
        cmocka_unit_test(bearer_check),
        cmocka_unit_test(webhook_signatures),
        cmocka_unit_test(token_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
