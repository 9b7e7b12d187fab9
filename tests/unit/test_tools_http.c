/* test_tools_http.c -- unit tests of arrears-publish --http's pure logic:
 * batching events into an application/cloudevents-batch+json body, reading
 * the gateway's answers (per-event results on 202 and 400, the whole-batch
 * statuses), Retry-After and the endpoint URL.
 *
 * The logic is tools/http_lib.c in libtools, the library the binary links:
 * the functions tested are the ones the binary runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../tools/http_lib.h"

static void add_event(tool_http_batch *b, const char *id, size_t lineno, int want)
{
    char ev[256];
    int n = snprintf(ev, sizeof(ev),
                     "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"s\","
                     "\"type\":\"payment.received\",\"data\":{}}",
                     id);
    assert_int_equal(tool_http_batch_add(b, ev, (size_t)n, 0, lineno), want);
}

static void test_batch(void **state)
{
    (void)state;
    tool_http_batch b;
    size_t len;
    const char *body;
    json_t *arr;

    assert_int_equal(tool_http_batch_init(&b, 0), -1);
    assert_int_equal(tool_http_batch_init(&b, TOOL_HTTP_BATCH_MAX + 1), -1);
    assert_int_equal(tool_http_batch_init(&b, 3), 0);
    body = tool_http_batch_body(&b, &len);
    assert_string_equal(body, "[]");
    add_event(&b, "e1", 1, 0);
    add_event(&b, "e2", 2, 0);
    /* the body can be looked at, then filled on */
    body = tool_http_batch_body(&b, &len);
    arr = json_loadb(body, len, 0, NULL);
    assert_int_equal(json_array_size(arr), 2);
    json_decref(arr);
    add_event(&b, "e3", 7, 1); /* full */
    add_event(&b, "e4", 8, -1);
    body = tool_http_batch_body(&b, &len);
    assert_int_equal(strlen(body), len);
    arr = json_loadb(body, len, 0, NULL);
    assert_int_equal(json_array_size(arr), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 2), "id")), "e3");
    json_decref(arr);
    assert_string_equal(b.items[2].id, "e3");
    assert_int_equal(b.items[2].lineno, 7);
    /* the next batch starts empty */
    tool_http_batch_reset(&b);
    add_event(&b, "e9", 9, 0);
    body = tool_http_batch_body(&b, &len);
    arr = json_loadb(body, len, 0, NULL);
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);
    tool_http_batch_free(&b);
}

static void test_answers(void **state)
{
    (void)state;
    tool_http_batch b;
    const char *ok = "{\"results\":[{\"id\":\"e1\",\"status\":\"accepted\",\"errors\":[]},"
                     "{\"id\":\"e2\",\"status\":\"accepted\",\"errors\":[]}]}";
    /* 400: e2 refused with two reasons, e1 still taken; results out of order */
    const char *partial =
        "{\"results\":[{\"id\":\"e2\",\"status\":\"rejected\",\"errors\":["
        "{\"field\":\"data.amount\",\"rule\":\"money\",\"message\":\"not a decimal\"},"
        "{\"field\":\"time\",\"rule\":\"rfc3339\",\"message\":\"not a date\"}]},"
        "{\"id\":\"e1\",\"status\":\"accepted\",\"errors\":[]}]}";

    assert_int_equal(tool_http_batch_init(&b, 100), 0);
    add_event(&b, "e1", 1, 0);
    add_event(&b, "e2", 2, 0);
    assert_int_equal(tool_http_answer(&b, 202, ok, strlen(ok)), TOOL_HTTP_DONE);
    assert_false(b.items[0].failed || b.items[1].failed);
    /* 202 without a body: every event taken */
    assert_int_equal(tool_http_answer(&b, 202, NULL, 0), TOOL_HTTP_DONE);
    assert_false(b.items[0].failed || b.items[1].failed);

    assert_int_equal(tool_http_answer(&b, 400, partial, strlen(partial)), TOOL_HTTP_DONE);
    assert_false(b.items[0].failed);
    assert_true(b.items[1].failed);
    assert_string_equal(b.items[1].reason,
                        "data.amount: not a decimal (money); time: not a date (rfc3339)");
    /* 400 without results: the whole batch */
    assert_int_equal(tool_http_answer(&b, 400, "oops", 4), TOOL_HTTP_DONE);
    assert_true(b.items[0].failed && b.items[1].failed);

    /* a result without an id is matched by position; an HTTP-like status */
    const char *byidx = "{\"results\":[{\"status\":202},{\"status\":400,\"errors\":[\"bad\"]}]}";
    assert_int_equal(tool_http_answer(&b, 400, byidx, strlen(byidx)), TOOL_HTTP_DONE);
    assert_false(b.items[0].failed);
    assert_true(b.items[1].failed);
    assert_string_equal(b.items[1].reason, "bad");

    assert_int_equal(tool_http_answer(&b, 401, NULL, 0), TOOL_HTTP_STOP);
    assert_true(b.items[0].failed && b.items[1].failed);
    assert_non_null(strstr(b.items[0].reason, "401"));
    assert_int_equal(tool_http_answer(&b, 413, NULL, 0), TOOL_HTTP_DONE);
    assert_non_null(strstr(b.items[1].reason, "413"));
    assert_int_equal(tool_http_answer(&b, 415, NULL, 0), TOOL_HTTP_DONE);
    assert_true(b.items[0].failed);
    assert_int_equal(tool_http_answer(&b, 429, NULL, 0), TOOL_HTTP_RETRY);
    assert_int_equal(tool_http_answer(&b, 503, NULL, 0), TOOL_HTTP_RETRY);
    assert_int_equal(tool_http_answer(&b, 500, NULL, 0), TOOL_HTTP_DONE);
    assert_string_equal(b.items[0].reason, "HTTP 500");
    tool_http_batch_free(&b);
}

static void test_retry_after(void **state)
{
    (void)state;
    /* 1994-11-06T08:49:37Z = 784111777 (RFC 9110's example date) */
    const int64_t t = 784111777;
    assert_int_equal(tool_http_retry_after(NULL, t, 1), 1);
    assert_int_equal(tool_http_retry_after("3", t, 1), 3);
    assert_int_equal(tool_http_retry_after(" 0 ", t, 1), 0);
    assert_int_equal(tool_http_retry_after("3600", t, 1), TOOL_HTTP_RETRY_CAP_S);
    assert_int_equal(tool_http_retry_after("3s", t, 1), 1);
    assert_int_equal(tool_http_retry_after("", t, 1), 1);
    assert_int_equal(tool_http_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t, 1), 0);
    assert_int_equal(tool_http_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", t, 1), 10);
    assert_int_equal(tool_http_retry_after("Sun, 06 Nov 1994 08:49:30 GMT", t, 1), 0);
    assert_int_equal(tool_http_retry_after("Sun, 06 Nov 1994 09:49:37 GMT", t, 1),
                     TOOL_HTTP_RETRY_CAP_S);
    assert_int_equal(tool_http_retry_after("Sun, 06 Foo 1994 08:49:47 GMT", t, 1), 1);
    assert_int_equal(tool_http_retry_after("Sun, 06 Nov 1994 08:49:47 CET", t, 1), 1);
    assert_int_equal(tool_http_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", t, 1), 1);
}

static void test_url(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(tool_http_events_url("http://127.0.0.1:8480", out, sizeof(out)), 0);
    assert_string_equal(out, "http://127.0.0.1:8480/v1/events");
    assert_int_equal(tool_http_events_url("https://gw.example.com/", out, sizeof(out)), 0);
    assert_string_equal(out, "https://gw.example.com/v1/events");
    assert_int_equal(tool_http_events_url("https://gw.example.com/in/v1/events", out, sizeof(out)),
                     0);
    assert_string_equal(out, "https://gw.example.com/in/v1/events");
    assert_int_equal(tool_http_events_url("gw.example.com", out, sizeof(out)), -1);
    assert_int_equal(tool_http_events_url("http://", out, sizeof(out)), -1);
    assert_int_equal(tool_http_events_url("ftp://x/", out, sizeof(out)), -1);
    assert_int_equal(tool_http_events_url("http://a-very-long-host", out, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
