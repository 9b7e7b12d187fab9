/* it_redis_cluster.c -- common/redis against a real 6-node Redis Cluster
 * (deploy/local/stack up --redis-cluster, started by t_redis_cluster.sh).
 *
 * One process, tests in order, the client kept across them so that its
 * slot map goes stale as the cluster changes under it:
 *   spread    30,000 keys by pipelines: each master holds 10,000 +- 15%
 *             (slots split 5461/5462/5461 by redis-cli --cluster create);
 *             DBSIZE through the client is the sum, 30,000;
 *   order     pipelines across nodes answer in the caller's order;
 *   scripts   EVALSHA routed by its keys' slot, after SCRIPT FLUSH too
 *             (NOSCRIPT fallback), in pipelines; keys of two slots refused;
 *   ask       a slot in migration: a new key is written through ASK;
 *   moved     the slot moved (CLUSTER SETSLOT ... NODE): MOVED followed by
 *             a pipeline, then by a single command after it moves back;
 *   failover  CLUSTER FAILOVER on a replica: the old master answers MOVED;
 *   kill      a master killed (SIGKILL), its replica promoted: the client
 *             refreshes and reads all 30,000 keys.
 * The nodes are checked and driven with direct hiredis connections, never
 * through the code under test. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "redis.h"
#include "redis_slot.h"

#define NKEYS 30000

static cm_redis *R;
static cm_redis_url U;
static int dead_port; /* the master killed by test_kill */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A command on one node by port, on a fresh connection; NULL if down. */
static redisReply *ncmd(int port, const char *fmt, ...)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *rep = NULL;
    if (c && !c->err) {
        va_list ap;
        va_start(ap, fmt);
        rep = redisvCommand(c, fmt, ap);
        va_end(ap);
    }
    if (c)
        redisFree(c);
    return rep;
}

static int is_master(int port)
{
    redisReply *r = ncmd(port, "ROLE");
    int m = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
            strcmp(r->element[0]->str, "master") == 0;
    if (r)
        freeReplyObject(r);
    return m;
}

/* The port of the master serving slot, asked of any live node; -1. */
static int owner(int slot)
{
    for (int i = 0; i < U.nseeds; i++) {
        if (U.seeds[i].port == dead_port)
            continue;
        redisReply *r = ncmd(U.seeds[i].port, "CLUSTER SLOTS");
        int port = -1;
        if (!r)
            continue;
        for (size_t k = 0; r->type == REDIS_REPLY_ARRAY && k < r->elements; k++) {
            redisReply *e = r->element[k];
            if (slot >= e->element[0]->integer && slot <= e->element[1]->integer)
                port = (int)e->element[2]->element[1]->integer;
        }
        freeReplyObject(r);
        return port;
    }
    return -1;
}

static void node_id(int port, char *id, size_t n)
{
    redisReply *r = ncmd(port, "CLUSTER MYID");
    assert_non_null(r);
    snprintf(id, n, "%s", r->str);
    freeReplyObject(r);
}

/* The replica port of master port (from its ROLE); -1. */
static int replica_of(int port)
{
    for (int i = 0; i < U.nseeds; i++) {
        redisReply *r = ncmd(U.seeds[i].port, "ROLE");
        int m = r && r->elements >= 3 && strcmp(r->element[0]->str, "slave") == 0 &&
                r->element[2]->integer == port;
        if (r)
            freeReplyObject(r);
        if (m)
            return U.seeds[i].port;
    }
    return -1;
}

static void ok_reply(redisReply *r)
{
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("error reply: %s", r->str);
    freeReplyObject(r);
}

/* Waits (bounded: 30 s) until every live node says cluster_state:ok and
 * port is a master. */
static void wait_master(int port)
{
    for (int t = 0; t < 300; t++) {
        int ok = is_master(port);
        for (int i = 0; ok && i < U.nseeds; i++) {
            if (U.seeds[i].port == dead_port)
                continue;
            redisReply *r = ncmd(U.seeds[i].port, "CLUSTER INFO");
            ok = r && r->str && strstr(r->str, "cluster_state:ok");
            if (r)
                freeReplyObject(r);
        }
        if (ok)
            return;
        sleep_ms(100);
    }
    fail_msg("port %d did not become a master of an ok cluster", port);
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    const char *url = getenv("ARREARS_REDIS_URL");
    cm_log_init("it_redis_cluster", "debug"); /* t_redis_cluster.sh reads the redirections */
    if (!url || cm_redis_url_parse(url, &U, err, sizeof err) != 0 || !U.cluster || U.nseeds != 6) {
        fprintf(stderr, "ARREARS_REDIS_URL must be the 6-node redis+cluster:// of the stack\n");
        return -1;
    }
    R = cm_redis_connect(url, 5000, err, sizeof err);
    if (!R) {
        fprintf(stderr, "connect: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cm_redis_free(R);
    return 0;
}

static void test_spread(void **state)
{
    (void)state;
    char err[256], key[32], val[32];
    ok_reply(cm_redis_cmd(R, err, sizeof err, "FLUSHALL"));
    cm_redis_pipe *p = cm_redis_pipe_new();
    for (int i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof key, "k:%d", i);
        snprintf(val, sizeof val, "v%d", i);
        assert_int_equal(cm_redis_pipe_add(p, "SET %s %s", key, val), 0);
        if (cm_redis_pipe_len(p) == 1000 || i == NKEYS - 1) {
            assert_int_equal(cm_redis_pipe_exec(R, p, err, sizeof err), 0);
            for (size_t k = 0; k < cm_redis_pipe_len(p); k++)
                assert_string_equal(cm_redis_pipe_reply(p, k)->str, "OK");
            cm_redis_pipe_reset(p);
        }
    }
    cm_redis_pipe_free(p);
    int masters = 0;
    long long total = 0;
    for (int i = 0; i < U.nseeds; i++) {
        if (!is_master(U.seeds[i].port))
            continue;
        redisReply *r = ncmd(U.seeds[i].port, "DBSIZE");
        assert_non_null(r);
        printf("master %d: %lld keys\n", U.seeds[i].port, r->integer);
        assert_in_range(r->integer, 8500, 11500); /* 10,000 +- 15% */
        total += r->integer;
        masters++;
        freeReplyObject(r);
    }
    assert_int_equal(masters, 3);
    assert_int_equal(total, NKEYS);
    redisReply *r = cm_redis_cmd(R, err, sizeof err, "DBSIZE");
    assert_non_null(r);
    assert_int_equal(r->integer, NKEYS);
    freeReplyObject(r);
}

/* All NKEYS keys read back by one pipeline, replies in order. */
static void read_all(void)
{
    char err[256], key[32], val[32];
    cm_redis_pipe *p = cm_redis_pipe_new();
    for (int i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof key, "k:%d", i);
        assert_int_equal(cm_redis_pipe_add(p, "GET %s", key), 0);
    }
    if (cm_redis_pipe_exec(R, p, err, sizeof err) != 0)
        fail_msg("pipeline: %s", err);
    for (int i = 0; i < NKEYS; i++) {
        redisReply *r = cm_redis_pipe_reply(p, (size_t)i);
        snprintf(val, sizeof val, "v%d", i);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_string_equal(r->str, val);
    }
    cm_redis_pipe_free(p);
}

static void test_order(void **state)
{
    (void)state;
    char err[256];
    read_all();
    /* whatever the keys' slots, the replies come in the caller's order */
    cm_redis_pipe *p = cm_redis_pipe_new();
    cm_redis_pipe_add(p, "SET {t1}x 10");
    cm_redis_pipe_add(p, "INCRBY {t1}x 5");
    cm_redis_pipe_add(p, "SET {t2}y abc");
    cm_redis_pipe_add(p, "PING");
    cm_redis_pipe_add(p, "GET {t1}x");
    cm_redis_pipe_add(p, "DBSIZE"); /* a broadcast splits the pipeline */
    cm_redis_pipe_add(p, "GET {t2}y");
    cm_redis_pipe_add(p, "GET {t3}nothing");
    cm_redis_pipe_add(p, "INCR {t2}y"); /* an error reply stays in place */
    assert_int_equal(cm_redis_pipe_exec(R, p, err, sizeof err), 0);
    assert_string_equal(cm_redis_pipe_reply(p, 0)->str, "OK");
    assert_int_equal(cm_redis_pipe_reply(p, 1)->integer, 15);
    assert_string_equal(cm_redis_pipe_reply(p, 2)->str, "OK");
    assert_string_equal(cm_redis_pipe_reply(p, 3)->str, "PONG");
    assert_string_equal(cm_redis_pipe_reply(p, 4)->str, "15");
    assert_int_equal(cm_redis_pipe_reply(p, 5)->integer, NKEYS + 2);
    assert_string_equal(cm_redis_pipe_reply(p, 6)->str, "abc");
    assert_int_equal(cm_redis_pipe_reply(p, 7)->type, REDIS_REPLY_NIL);
    assert_int_equal(cm_redis_pipe_reply(p, 8)->type, REDIS_REPLY_ERROR);
    cm_redis_pipe_free(p);
    /* send without waiting: every node's part is written before recv (the
     * writes are seen on the nodes, asked directly, before any reply is
     * read), then recv gives the replies in the caller's order */
    const char *tags[3] = {"{t1}", "{t2}", "{t4}"};
    int ports[3];
    p = cm_redis_pipe_new();
    for (int i = 0; i < 3; i++) {
        cm_redis_pipe_add(p, "SET %ssplit s%d", tags[i], i);
        cm_redis_pipe_add(p, "EXPIRE %ssplit 600", tags[i]);
        ports[i] = owner(cm_redis_key_slot(tags[i], strlen(tags[i])));
    }
    assert_true(ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2]);
    if (cm_redis_pipe_send(R, p, err, sizeof err) != 0)
        fail_msg("pipe_send: %s", err);
    for (int i = 0; i < 3; i++) {
        int seen = 0;
        for (int t = 0; t < 500 && !seen; t++) {
            redisReply *g = ncmd(ports[i], "GET %ssplit", tags[i]);
            seen = g && g->type == REDIS_REPLY_STRING;
            if (g)
                freeReplyObject(g);
            if (!seen)
                sleep_ms(10);
        }
        assert_true(seen);
    }
    if (cm_redis_pipe_recv(R, p, err, sizeof err) != 0)
        fail_msg("pipe_recv: %s", err);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(cm_redis_pipe_reply(p, (size_t)(2 * i))->str, "OK");
        assert_int_equal(cm_redis_pipe_reply(p, (size_t)(2 * i + 1))->integer, 1);
    }
    /* a broadcast among them: send runs it whole, recv reports it */
    cm_redis_pipe_reset(p);
    cm_redis_pipe_add(p, "GET {t1}split");
    cm_redis_pipe_add(p, "DBSIZE");
    assert_int_equal(cm_redis_pipe_send(R, p, err, sizeof err), 0);
    assert_int_equal(cm_redis_pipe_recv(R, p, err, sizeof err), 0);
    assert_string_equal(cm_redis_pipe_reply(p, 0)->str, "s0");
    assert_int_equal(cm_redis_pipe_reply(p, 1)->integer, NKEYS + 5);
    cm_redis_pipe_free(p);
    /* commands with the key in argv[2] go to its slot: "v5" is a short
     * string, kept as embstr (up to 44 bytes) */
    redisReply *r = cm_redis_cmd(R, err, sizeof err, "OBJECT ENCODING k:5");
    if (!r)
        fail_msg("OBJECT ENCODING: %s", err);
    assert_string_equal(r->str, "embstr");
    freeReplyObject(r);
    r = cm_redis_cmd(R, err, sizeof err, "MEMORY USAGE k:6");
    if (!r)
        fail_msg("MEMORY USAGE: %s", err);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_true(r->integer > 0);
    freeReplyObject(r);
    /* a refused command: a clear error, not a wrong node's answer */
    assert_null(cm_redis_cmd(R, err, sizeof err, "KEYS *"));
    assert_non_null(strstr(err, "not supported on a cluster"));
}

static cm_redis_script two_incr =
    CM_REDIS_SCRIPT("return {redis.call('INCR', KEYS[1]), redis.call('INCRBY', KEYS[2], ARGV[1])}");

static void test_scripts(void **state)
{
    (void)state;
    char err[256];
    /* three tags, on (most likely) different masters: each runs where its
     * keys are, else Redis would answer MOVED or CROSSSLOT */
    const char *tags[] = {"{d1}", "{d2}", "{d3}"};
    for (int round = 0; round < 2; round++) {
        for (int t = 0; t < 3; t++) {
            char a[16], b[16];
            snprintf(a, sizeof a, "%sa", tags[t]);
            snprintf(b, sizeof b, "%sb", tags[t]);
            const char *args[] = {a, b, "7"};
            redisReply *r = cm_redis_eval(R, &two_incr, 2, 3, args, NULL, err, sizeof err);
            if (!r)
                fail_msg("eval: %s", err);
            assert_int_equal(r->elements, 2);
            assert_int_equal(r->element[0]->integer, round + 1);
            assert_int_equal(r->element[1]->integer, 7 * (round + 1));
            freeReplyObject(r);
        }
        ok_reply(cm_redis_cmd(R, err, sizeof err, "SCRIPT FLUSH")); /* NOSCRIPT next round */
    }
    /* "a" is slot 15495, "b" slot 3300, says the real cluster (the unit
     * test relies on it): keys of both refused, naming both */
    redisReply *ks = ncmd(U.seeds[0].port, "CLUSTER KEYSLOT a");
    assert_int_equal(ks->integer, 15495);
    freeReplyObject(ks);
    ks = ncmd(U.seeds[0].port, "CLUSTER KEYSLOT b");
    assert_int_equal(ks->integer, 3300);
    freeReplyObject(ks);
    const char *ab[] = {"a", "b", "1"};
    assert_null(cm_redis_eval(R, &two_incr, 2, 3, ab, NULL, err, sizeof err));
    assert_non_null(strstr(err, "several slots"));
    assert_non_null(strstr(err, "'a' slot 15495"));
    assert_non_null(strstr(err, "'b' slot 3300"));
    /* in a pipeline, after SCRIPT FLUSH: NOSCRIPT replies reloaded and re-run */
    ok_reply(cm_redis_cmd(R, err, sizeof err, "SCRIPT FLUSH"));
    assert_int_equal(cm_redis_script_load(R, &two_incr, err, sizeof err), 0);
    ok_reply(cm_redis_cmd(R, err, sizeof err, "SCRIPT FLUSH"));
    cm_redis_pipe *p = cm_redis_pipe_new();
    for (int t = 0; t < 3; t++) {
        char a[16], b[16];
        snprintf(a, sizeof a, "%sa", tags[t]);
        snprintf(b, sizeof b, "%sb", tags[t]);
        const char *args[] = {a, b, "1"};
        assert_int_equal(cm_redis_pipe_eval(p, &two_incr, 2, 3, args, NULL), 0);
    }
    assert_int_equal(cm_redis_pipe_exec(R, p, err, sizeof err), 0);
    for (int t = 0; t < 3; t++) {
        redisReply *r = cm_redis_pipe_reply(p, (size_t)t);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        assert_int_equal(r->element[0]->integer, 3);
        assert_int_equal(r->element[1]->integer, 15);
    }
    cm_redis_pipe_free(p);
}

/* Moves slot from its owner to another master, keys and all. */
static void move_slot(int slot, int from, int to)
{
    char from_id[64], to_id[64];
    node_id(from, from_id, sizeof from_id);
    node_id(to, to_id, sizeof to_id);
    ok_reply(ncmd(to, "CLUSTER SETSLOT %d IMPORTING %s", slot, from_id));
    ok_reply(ncmd(from, "CLUSTER SETSLOT %d MIGRATING %s", slot, to_id));
    for (;;) {
        redisReply *keys = ncmd(from, "CLUSTER GETKEYSINSLOT %d 100", slot);
        assert_non_null(keys);
        size_t n = keys->elements;
        for (size_t k = 0; k < n; k++)
            ok_reply(ncmd(from, "MIGRATE 127.0.0.1 %d %s 0 5000", to, keys->element[k]->str));
        freeReplyObject(keys);
        if (n == 0)
            break;
    }
    /* as redis-cli --cluster reshard does: the target, then the source;
     * the other nodes learn it by gossip, later */
    ok_reply(ncmd(to, "CLUSTER SETSLOT %d NODE %s", slot, to_id));
    ok_reply(ncmd(from, "CLUSTER SETSLOT %d NODE %s", slot, to_id));
}

static int other_master(int not )
{
    for (int i = 0; i < U.nseeds; i++)
        if (U.seeds[i].port != not &&U.seeds[i].port != dead_port && is_master(U.seeds[i].port))
            return U.seeds[i].port;
    return -1;
}

static void test_ask_and_moved(void **state)
{
    (void)state;
    char err[256], from_id[64], to_id[64];
    int slot = cm_redis_key_slot("k:0", 3);
    int from = owner(slot), to = other_master(from);
    assert_true(from > 0 && to > 0);
    /* ASK: the slot migrating, a key not on the source yet goes to the target */
    node_id(from, from_id, sizeof from_id);
    node_id(to, to_id, sizeof to_id);
    ok_reply(ncmd(to, "CLUSTER SETSLOT %d IMPORTING %s", slot, from_id));
    ok_reply(ncmd(from, "CLUSTER SETSLOT %d MIGRATING %s", slot, to_id));
    redisReply *r = cm_redis_cmd(R, err, sizeof err, "SET {k:0}new asked");
    if (!r)
        fail_msg("SET through ASK: %s", err);
    freeReplyObject(r);
    r = ncmd(from, "EXISTS {k:0}new");
    assert_int_equal(r->integer, 0); /* not written on the source */
    freeReplyObject(r);
    /* finish the move: the old owner answers MOVED, a pipeline follows it */
    move_slot(slot, from, to);
    cm_redis_pipe *p = cm_redis_pipe_new();
    cm_redis_pipe_add(p, "GET k:0");
    cm_redis_pipe_add(p, "GET k:1");
    cm_redis_pipe_add(p, "GET {k:0}new");
    assert_int_equal(cm_redis_pipe_exec(R, p, err, sizeof err), 0);
    assert_string_equal(cm_redis_pipe_reply(p, 0)->str, "v0");
    assert_string_equal(cm_redis_pipe_reply(p, 1)->str, "v1");
    assert_string_equal(cm_redis_pipe_reply(p, 2)->str, "asked");
    cm_redis_pipe_free(p);
    /* and back: a split send to the old owner answers MOVED; recv follows it */
    move_slot(slot, to, from);
    p = cm_redis_pipe_new();
    cm_redis_pipe_add(p, "SET {k:0}split moved");
    cm_redis_pipe_add(p, "GET k:1");
    if (cm_redis_pipe_send(R, p, err, sizeof err) != 0 ||
        cm_redis_pipe_recv(R, p, err, sizeof err) != 0)
        fail_msg("split pipeline after MOVED: %s", err);
    assert_string_equal(cm_redis_pipe_reply(p, 0)->str, "OK");
    assert_string_equal(cm_redis_pipe_reply(p, 1)->str, "v1");
    cm_redis_pipe_free(p);
    r = ncmd(from, "GET {k:0}split");
    assert_string_equal(r->str, "moved");
    freeReplyObject(r);
    /* a single command follows MOVED */
    move_slot(slot, from, to);
    r = cm_redis_cmd(R, err, sizeof err, "GET k:0");
    if (!r)
        fail_msg("GET after MOVED: %s", err);
    assert_string_equal(r->str, "v0");
    freeReplyObject(r);
}

static void test_failover(void **state)
{
    (void)state;
    char err[256];
    int slot = cm_redis_key_slot("k:2", 3);
    int m = owner(slot), rep = replica_of(m);
    assert_true(m > 0 && rep > 0);
    ok_reply(ncmd(rep, "CLUSTER FAILOVER"));
    wait_master(rep);
    assert_int_equal(owner(slot), rep);
    redisReply *r = cm_redis_cmd(R, err, sizeof err, "GET k:2"); /* old master: MOVED */
    if (!r)
        fail_msg("GET after failover: %s", err);
    assert_string_equal(r->str, "v2");
    freeReplyObject(r);
    r = cm_redis_cmd(R, err, sizeof err, "SET k:2 v2");
    assert_non_null(r);
    freeReplyObject(r);
}

static void test_kill(void **state)
{
    (void)state;
    int slot = cm_redis_key_slot("k:3", 3);
    int m = owner(slot), rep = replica_of(m);
    assert_true(m > 0 && rep > 0);
    /* the replica has every write before the master dies: a write, then
     * WAIT on the same connection */
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", m, tv);
    assert_true(c && !c->err);
    ok_reply(redisCommand(c, "SET k:3 v3"));
    redisReply *r = redisCommand(c, "WAIT 1 5000");
    assert_non_null(r);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    redisFree(c);
    r = ncmd(m, "INFO server");
    assert_non_null(r);
    const char *pid = strstr(r->str, "process_id:");
    assert_non_null(pid);
    assert_int_equal(kill((pid_t)atol(pid + 11), SIGKILL), 0);
    freeReplyObject(r);
    dead_port = m;
    wait_master(rep);
    read_all(); /* connection refused by the dead master: refresh, retry */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spread),   cmocka_unit_test(test_order),
        cmocka_unit_test(test_scripts),  cmocka_unit_test(test_ask_and_moved),
        cmocka_unit_test(test_failover), cmocka_unit_test(test_kill),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
