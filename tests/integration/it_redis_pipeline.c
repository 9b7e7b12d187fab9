/* it_redis_pipeline.c -- cm_redis pipelines of megabytes against a real Redis.
 *
 * Run by t_redis_pipeline.sh with ARREARS_REDIS_URL set by
 * tests/integration/run. A pipeline is written from its commands' own
 * buffers by gathering writes (common/redis.c write_cmds): 64 commands a call at
 * most, a command split wherever the socket takes part of it. Each way a
 * pipeline is sent (exec, exec with an idle callback, send then recv, send
 * on the writer thread then recv) writes 3,000 SETs of 1 byte to 200 KB
 * (about 31 MB, more than the kernel buffers of a loopback connection
 * hold) and reads every value back with GET, byte for byte, in order.
 * Every other SET is queued with cm_redis_pipe_add_hole, its value then
 * written into the pipeline's command (the scheduler's outbox rounds).
 *
 * A blocking socket takes a whole write unless a signal comes while it
 * waits. So Redis is kept busy for 300 ms (a Lua loop on another
 * connection) while the SETs are written, and a SIGALRM every millisecond
 * for up to 2 s (no SA_RESTART) makes the waiting writes return part done,
 * as a signal to a service would: dozens of them per run. A byte lost,
 * doubled or moved across a write's edge fails the test. Checked by taking
 * partial writes as whole: two of the four tests fail; the other two went
 * through on a second connection (Redis drops one whose protocol breaks,
 * and exec runs a pipeline again after an I/O error). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "redis.h"

#define NCMD 3000

static const char *redis_url(void)
{
    const char *u = getenv("ARREARS_REDIS_URL");
    return u ? u : "redis://127.0.0.1:26379/0";
}

/* Value i: every 20th 200,000 bytes and more, the others 1-700 bytes; its
 * bytes depend on i and on their position. */
static size_t value_len(int i)
{
    return i % 20 == 7 ? 200000 + (size_t)(i % 13) : (size_t)(i * 31 % 700) + 1;
}

static void value_fill(char *v, int i, size_t len)
{
    for (size_t j = 0; j < len; j++)
        v[j] = (char)('a' + (i + j * 7) % 26);
}

static void key_of(char *k, size_t len, const char *prefix, int i)
{
    snprintf(k, len, "%s%d", prefix, i);
}

static void on_tick(int sig)
{
    (void)sig;
}

static volatile int tick_stop;
static pthread_t ticker;

/* Sends the process a SIGALRM every millisecond, 2,000 at most; it blocks
 * the signal itself, so another thread takes it. */
static void *tick_main(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct timespec ms = {0, 1000000};
    for (int n = 0; n < 2000 && !tick_stop; n++) {
        kill(getpid(), SIGALRM);
        nanosleep(&ms, NULL);
    }
    return NULL;
}

/* The signals while on (no SA_RESTART: a write waiting for the socket
 * returns what it wrote so far). */
static void ticking(int on)
{
    if (on) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_tick;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
        tick_stop = 0;
        assert_int_equal(pthread_create(&ticker, NULL, tick_main, NULL), 0);
    } else {
        tick_stop = 1;
        pthread_join(ticker, NULL);
    }
}

/* Keeps Redis's one thread busy for 300 ms, from a connection of its own. */
static void *stall_main(void *arg)
{
    (void)arg;
    char err[256];
    cm_redis *r = cm_redis_connect(redis_url(), 10000, err, sizeof err);
    if (!r)
        return NULL;
    redisReply *rep = cm_redis_cmd(
        r, err, sizeof err, "EVAL %s 0",
        "local function us() local t = redis.call('TIME') return t[1] * 1000000 + t[2] end "
        "local s = us() repeat until us() - s >= 300000 return 1");
    if (rep)
        freeReplyObject(rep);
    cm_redis_free(r);
    return NULL;
}

typedef enum { VIA_EXEC, VIA_IDLE, VIA_SEND, VIA_SEND_BG } via;

static void idle_count(void *opaque)
{
    (*(int *)opaque)++;
}

/* Runs p the given way; 0 or -1 (err says why). */
static int run(cm_redis *r, cm_redis_pipe *p, via how, char *err, size_t errlen)
{
    int idles = 0;
    switch (how) {
    case VIA_EXEC:
        return cm_redis_pipe_exec(r, p, err, errlen);
    case VIA_IDLE:
        return cm_redis_pipe_exec_idle(r, p, idle_count, &idles, err, errlen);
    case VIA_SEND:
        if (cm_redis_pipe_send(r, p, err, errlen) < 0)
            return -1;
        return cm_redis_pipe_recv(r, p, err, errlen);
    case VIA_SEND_BG:
        if (cm_redis_pipe_send_bg(r, p, err, errlen) < 0)
            return -1;
        return cm_redis_pipe_recv(r, p, err, errlen);
    }
    return -1;
}

static void roundtrip(via how)
{
    char err[512], prefix[64], key[96];
    cm_redis *r = cm_redis_connect(redis_url(), 10000, err, sizeof err);
    if (!r)
        fail_msg("redis: %s", err);
    snprintf(prefix, sizeof prefix, "it-pipe-%d-%d:", (int)getpid(), (int)how);
    char *v = malloc(200100);
    assert_non_null(v);

    cm_redis_pipe *p = cm_redis_pipe_new();
    assert_non_null(p);
    size_t total = 0;
    for (int i = 0; i < NCMD; i++) {
        size_t len = value_len(i);
        value_fill(v, i, len);
        key_of(key, sizeof key, prefix, i);
        const char *argv[3] = {"SET", key, v};
        size_t lens[3] = {3, strlen(key), len};
        if (i % 2) { /* the value written in place, as the scheduler's rounds */
            char *at = cm_redis_pipe_add_hole(p, 3, argv, lens, 2);
            assert_non_null(at);
            value_fill(at, i, len);
        } else {
            assert_int_equal(cm_redis_pipe_add_argv(p, 3, argv, lens), 0);
        }
        total += len;
    }
    assert_true(total > 30 * 1000 * 1000);
    pthread_t stall;
    assert_int_equal(pthread_create(&stall, NULL, stall_main, NULL), 0);
    struct timespec wait = {0, 50 * 1000000}; /* its EVAL first */
    nanosleep(&wait, NULL);
    ticking(1);
    int rc = run(r, p, how, err, sizeof err);
    ticking(0);
    pthread_join(stall, NULL);
    if (rc < 0)
        fail_msg("SET pipeline: %s", err);
    for (int i = 0; i < NCMD; i++) {
        const redisReply *rep = cm_redis_pipe_reply(p, (size_t)i);
        assert_non_null(rep);
        assert_int_equal(rep->type, REDIS_REPLY_STATUS);
        assert_string_equal(rep->str, "OK");
    }
    cm_redis_pipe_free(p);

    /* read back, the same way */
    p = cm_redis_pipe_new();
    assert_non_null(p);
    for (int i = 0; i < NCMD; i++) {
        key_of(key, sizeof key, prefix, i);
        const char *argv[2] = {"GET", key};
        assert_int_equal(cm_redis_pipe_add_argv(p, 2, argv, NULL), 0);
    }
    ticking(1);
    rc = run(r, p, how, err, sizeof err);
    ticking(0);
    if (rc < 0)
        fail_msg("GET pipeline: %s", err);
    for (int i = 0; i < NCMD; i++) {
        const redisReply *rep = cm_redis_pipe_reply(p, (size_t)i);
        size_t len = value_len(i);
        value_fill(v, i, len);
        assert_non_null(rep);
        assert_int_equal(rep->type, REDIS_REPLY_STRING);
        if (rep->len != len || memcmp(rep->str, v, len) != 0)
            fail_msg("value %d: %zu bytes back, %zu written, or other bytes", i, rep->len, len);
    }
    cm_redis_pipe_free(p);

    /* the connection is still in step: one more command after them */
    p = cm_redis_pipe_new();
    assert_non_null(p);
    for (int i = 0; i < NCMD; i++) {
        key_of(key, sizeof key, prefix, i);
        const char *argv[2] = {"DEL", key};
        assert_int_equal(cm_redis_pipe_add_argv(p, 2, argv, NULL), 0);
    }
    if (cm_redis_pipe_exec(r, p, err, sizeof err) < 0)
        fail_msg("DEL pipeline: %s", err);
    for (int i = 0; i < NCMD; i++) {
        const redisReply *rep = cm_redis_pipe_reply(p, (size_t)i);
        assert_non_null(rep);
        assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
        assert_int_equal(rep->integer, 1);
    }
    cm_redis_pipe_free(p);
    free(v);
    cm_redis_free(r);
}

/* cm_redis_pipe_add_hole refuses a hole it cannot place, queuing nothing. */
static void test_hole_args(void **state)
{
    (void)state;
    const char *argv[3] = {"SET", "k", NULL};
    size_t lens[3] = {3, 1, 5};
    cm_redis_pipe *p = cm_redis_pipe_new();
    assert_non_null(p);
    assert_null(cm_redis_pipe_add_hole(p, 3, argv, lens, 3));
    assert_null(cm_redis_pipe_add_hole(p, 3, argv, lens, -1));
    assert_null(cm_redis_pipe_add_hole(p, 3, argv, NULL, 2));
    assert_int_equal(cm_redis_pipe_len(p), 0);
    char *at = cm_redis_pipe_add_hole(p, 3, argv, lens, 2);
    assert_non_null(at);
    memcpy(at, "hello", 5);
    assert_int_equal(cm_redis_pipe_len(p), 1);
    cm_redis_pipe_free(p);
}

static void test_exec(void **state)
{
    (void)state;
    roundtrip(VIA_EXEC);
}

static void test_exec_idle(void **state)
{
    (void)state;
    roundtrip(VIA_IDLE);
}

static void test_send_recv(void **state)
{
    (void)state;
    roundtrip(VIA_SEND);
}

static void test_send_bg(void **state)
{
    (void)state;
    roundtrip(VIA_SEND_BG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hole_args), cmocka_unit_test(test_exec),
        cmocka_unit_test(test_exec_idle), cmocka_unit_test(test_send_recv),
        cmocka_unit_test(test_send_bg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
