/* profile.c -- gw_events_build (and gw_validate) on batches of realistic
 * events, without HTTP or Kafka: the driver for callgrind's instruction
 * counts of the gateway's batch path, and a check that the events written
 * are byte for byte what jansson's compact dump gives (as the gateway wrote
 * them before the batch fast path).
 *
 * Design: events are read one a line (bench/gateway/run's cached
 * gateway-events-N.jsonl, or arrears-genledger's output), joined into
 * batches the way arrears-publish --http joins them ('[' ',' ']'), and each
 * batch is built ROUNDS times. --check compares every event written with
 * jansson's dump of the posted object with the credential's tenant set
 * (members in order, "tenant" replaced in place or appended), and also runs
 * a few hand-made batches (whitespace, reals, -0, escapes, a nested
 * "tenant"). Not a test: `make test` does not run it.
 *
 * Build (from the repo, after `make BUILD=b`):
 *   cc -O2 -g -std=c11 -D_DEFAULT_SOURCE -Icommon -Icontract -Iservices/gateway \
 *      bench/gateway/profile.c b/libsvc_gateway.a b/libsvc_notifier.a \
 *      b/libcontract.a b/libcommon.a -lrdkafka -ljansson -lhiredis -lcurl \
 *      -lmicrohttpd -lcrypto -lm -lpthread -o /tmp/gw-profile
 * Run:
 *   valgrind --tool=callgrind --toggle-collect=gw_events_build \
 *      --toggle-collect=gw_events_free /tmp/gw-profile EVENTS.jsonl 100 20
 *   (instructions per event = the total / (batch size * rounds * batches));
 *   (PROFILE_VALIDATE=1 and --toggle-collect=gw_validate: the validator
 *   too); /tmp/gw-profile --check EVENTS.jsonl 100 1
 * Ownership: everything is freed before exit. */
#include "gateway.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TENANT "bench"

static int failures;

/* Checks the events built from body against jansson's dump. */
static void check(const char *body, size_t len, const char *tenant)
{
    gw_event *ev;
    long n = gw_events_build(GW_BATCH, NULL, 0, body, len, tenant, 1000, &ev);
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_array(root)) {
        if (n != -1) {
            printf("MISMATCH: jansson refuses, built %ld: %.80s\n", n, body);
            failures++;
        }
        json_decref(root);
        gw_events_free(ev, n > 0 ? (size_t)n : 0);
        return;
    }
    if (n != (long)json_array_size(root)) {
        printf("MISMATCH: count %ld vs %zu: %.80s\n", n, json_array_size(root), body);
        failures++;
    }
    for (long i = 0; i < n && i < (long)json_array_size(root); i++) {
        json_t *v = json_array_get(root, (size_t)i);
        size_t nreasons = 0;
        if (json_is_object(v)) {
            json_t *t = json_object_get(v, "tenant");
            if (t && !json_is_null(t) &&
                !(json_is_string(t) && !strcmp(json_string_value(t), tenant)))
                nreasons = 1;
            json_object_set_new(v, "tenant", json_string(tenant));
        }
        char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        if (!ev[i].json || strcmp(ev[i].json, want) != 0 || ev[i].len != strlen(want) ||
            ev[i].reasons.n != nreasons || ev[i].raw != !json_is_object(v)) {
            printf("MISMATCH event %ld:\n  got  %s\n  want %s\n", i, ev[i].json, want);
            failures++;
        }
        free(want);
    }
    json_decref(root);
    gw_events_free(ev, n > 0 ? (size_t)n : 0);
}

static const char *const hand[] = {
    "[{\"id\":\"a\"},{},{\"tenant\":\"bench\"},{\"tenant\":\"x\",\"id\":\"b\"},7,\"s\",null,[1]]",
    "[ { \"id\" : \"a\" , \"tenant\" : null } ]",
    "[{\"a\":1.5},{\"a\":-0},{\"a\":1e2},{\"a\":-12,\"b\":[0,-1,true,false,null]}]",
    "[{\"a\":\"\\/\"},{\"a\":\"\\u00e9\"},{\"a\":\"\\u001f\"},{\"a\":\"\\u001F\\n\\t\\\"\\\\\"}]",
    "[{\"a\":\"\\u000A\"},{\"a\":\"\\u0041\"},{\"a\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}]",
    "[{\"d\":{\"tenant\":\"x\",\"e\":[{\"tenant\":1}]},\"tenant\":{\"x\":[1,2]},\"z\":0}]",
    "[{\"tenant\":[],\"x\":\"tenant\"},{\"x\":\"tenant\",\"y\":{\"tenant\":2}}]",
    "[{\"a\":1,\"a\":2}]",
    "[{\"a\":\"\xed\xa0\x80\"}]",
    "[{\"a\":\"\\ud800\"}]",
    "[{\"a\":99999999999999999999}]",
    "[]",
    " [ ] ",
    "[{\"id\":\"a\"}] x",
};

int main(int argc, char **argv)
{
    int chk = argc > 1 && !strcmp(argv[1], "--check");
    if (argc - chk < 4) {
        fprintf(stderr, "usage: profile [--check] EVENTS.jsonl BATCH ROUNDS\n");
        return 2;
    }
    /* PROFILE_VALIDATE=1: gw_validate every event too, as handle.c does */
    int validate = getenv("PROFILE_VALIDATE") && !strcmp(getenv("PROFILE_VALIDATE"), "1");
    gw_config cfg = {.limits = {CT_DEFAULT_MAX_BYTES, CT_DEFAULT_MAX_DEPTH}};
    FILE *f = fopen(argv[1 + chk], "r");
    size_t batch = (size_t)atoi(argv[2 + chk]);
    int rounds = atoi(argv[3 + chk]);
    if (!f || batch == 0 || rounds <= 0)
        return 2;
    if (chk)
        for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++)
            check(hand[i], strlen(hand[i]), TENANT);
    cm_buf body = CM_BUF_INIT;
    char *line = NULL;
    size_t cap = 0, in = 0, events = 0, batches = 0;
    ssize_t l;
    for (;;) {
        l = getline(&line, &cap, f);
        if (l > 0 && line[l - 1] == '\n')
            line[--l] = 0;
        if (l > 0) {
            cm_buf_addc(&body, in ? ',' : '[');
            cm_buf_add(&body, line, (size_t)l);
            in++;
        }
        if (in && (in == batch || l < 0)) {
            cm_buf_addc(&body, ']');
            if (chk) {
                check(body.p, body.len, TENANT);
                check(body.p, body.len, "other");
            }
            for (int r = 0; r < rounds; r++) {
                gw_event *ev;
                long n = gw_events_build(GW_BATCH, NULL, 0, body.p, body.len, TENANT, 1000, &ev);
                if (n < 0)
                    return 1;
                for (long k = 0; validate && k < n; k++) {
                    char key[CT_KEY_MAX];
                    if (gw_validate(&cfg, &ev[k], key, sizeof key) < 0)
                        return 1;
                }
                gw_events_free(ev, (size_t)n);
            }
            events += in;
            batches++;
            in = 0;
            body.len = 0;
            if (!chk) /* one batch is enough to count */
                break;
        }
        if (l < 0)
            break;
    }
    printf("%zu events in %zu batches of up to %zu, %d rounds; %d mismatches\n", events, batches,
           batch, rounds, failures);
    free(line);
    cm_buf_free(&body);
    fclose(f);
    return failures != 0;
}
