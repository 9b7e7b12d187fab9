/* it_common.c -- common/ against a real Redis and a real Kafka broker.
 *
 * Run by t_common.sh with ARREARS_KAFKA_BROKERS and ARREARS_REDIS_URL set
 * by tests/integration/run. Checks what unit tests cannot: reconnect after
 * the server drops the connection, pipelines, EVALSHA after SCRIPT FLUSH,
 * and that only stored offsets are committed (at-least-once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "kafka.h"
#include "redis.h"

static const char *redis_url(void)
{
    const char *u = getenv("ARREARS_REDIS_URL");
    return u ? u : "redis://127.0.0.1:26379/0";
}

static const char *brokers(void)
{
    const char *b = getenv("ARREARS_KAFKA_BROKERS");
    return b ? b : "127.0.0.1:29092";
}

static void test_redis_pipeline_and_reconnect(void **state)
{
    (void)state;
    char err[512];
    cm_redis *r = cm_redis_connect(redis_url(), 2000, err, sizeof(err));
    assert_non_null(r);
    cm_redis_pipe *p = cm_redis_pipe_new();
    for (int i = 0; i < 1000; i++)
        assert_int_equal(cm_redis_pipe_add(p, "SET it:common:%d %d", i, i * 2), 0);
    assert_int_equal(cm_redis_pipe_exec(r, p, err, sizeof(err)), 0);
    assert_int_equal(cm_redis_pipe_len(p), 1000);
    redisReply *rep = cm_redis_cmd(r, err, sizeof(err), "GET it:common:999");
    assert_non_null(rep);
    assert_string_equal(rep->str, "1998");
    freeReplyObject(rep);

    /* The server drops our connection: the next call reconnects. */
    rep = cm_redis_cmd(r, err, sizeof(err), "CLIENT ID");
    assert_non_null(rep);
    long long id = rep->integer;
    freeReplyObject(rep);
    cm_redis *killer = cm_redis_connect(redis_url(), 2000, err, sizeof(err));
    assert_non_null(killer);
    rep = cm_redis_cmd(killer, err, sizeof(err), "CLIENT KILL ID %lld", id);
    assert_non_null(rep);
    assert_int_equal(rep->integer, 1);
    freeReplyObject(rep);
    rep = cm_redis_cmd(r, err, sizeof(err), "GET it:common:1");
    assert_non_null(rep);
    assert_string_equal(rep->str, "2");
    freeReplyObject(rep);

    /* A Redis error reply is an error with the message. */
    rep = cm_redis_cmd(r, err, sizeof(err), "INCR it:common:notanumber:%s", "x");
    assert_non_null(rep);
    freeReplyObject(rep);
    rep = cm_redis_cmd(r, err, sizeof(err), "SET it:common:str abc");
    freeReplyObject(rep);
    rep = cm_redis_cmd(r, err, sizeof(err), "INCR it:common:str");
    assert_null(rep);
    assert_non_null(strstr(err, "not an integer"));

    cm_redis_pipe_free(p);
    cm_redis_free(killer);
    cm_redis_free(r);
}

/* get_str: the string of GET key on c, or "" when it has none yet. */
static void get_str(cm_redis *c, const char *key, char *out, size_t outlen)
{
    char err[256];
    redisReply *rep = cm_redis_cmd(c, err, sizeof err, "GET %s", key);
    snprintf(out, outlen, "%s", rep && rep->type == REDIS_REPLY_STRING ? rep->str : "");
    freeReplyObject(rep);
}

/* send puts the commands on the wire and returns without their replies
 * (another connection sees them run first); recv reads them. A connection
 * lost in between fails recv, and the next send reconnects. */
static void test_redis_send_then_recv(void **state)
{
    (void)state;
    char err[512], got[64] = "";
    cm_redis *r = cm_redis_connect(redis_url(), 2000, err, sizeof(err));
    cm_redis *other = cm_redis_connect(redis_url(), 2000, err, sizeof(err));
    assert_non_null(r);
    assert_non_null(other);
    freeReplyObject(cm_redis_cmd(other, err, sizeof err, "DEL it:common:gate"));
    cm_redis_pipe *p = cm_redis_pipe_new();
    assert_int_equal(cm_redis_pipe_add(p, "SET it:common:gate 1"), 0);
    assert_int_equal(cm_redis_pipe_add(p, "GET it:common:gate"), 0);
    assert_int_equal(cm_redis_pipe_send(r, p, err, sizeof err), 0);
    assert_null(cm_redis_pipe_reply(p, 0)); /* nothing read yet */
    for (int i = 0; i < 500 && strcmp(got, "1") != 0; i++) {
        get_str(other, "it:common:gate", got, sizeof got);
        if (strcmp(got, "1") != 0)
            usleep(10000);
    }
    assert_string_equal(got, "1");
    assert_int_equal(cm_redis_pipe_recv(r, p, err, sizeof err), 0);
    assert_int_equal(cm_redis_pipe_reply(p, 0)->type, REDIS_REPLY_STATUS);
    assert_string_equal(cm_redis_pipe_reply(p, 1)->str, "1");

    redisReply *rep = cm_redis_cmd(r, err, sizeof err, "CLIENT ID");
    assert_non_null(rep);
    long long id = rep->integer;
    freeReplyObject(rep);
    rep = cm_redis_cmd(other, err, sizeof err, "CLIENT KILL ID %lld", id);
    assert_non_null(rep);
    freeReplyObject(rep);
    cm_redis_pipe_reset(p);
    assert_int_equal(cm_redis_pipe_add(p, "SET it:common:gate 2"), 0);
    cm_redis_pipe_send(r, p, err, sizeof err); /* the kernel may still take it */
    assert_int_equal(cm_redis_pipe_recv(r, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "redis I/O"));
    assert_int_equal(cm_redis_pipe_send(r, p, err, sizeof err), 0); /* reconnected */
    assert_int_equal(cm_redis_pipe_recv(r, p, err, sizeof err), 0);
    get_str(other, "it:common:gate", got, sizeof got);
    assert_string_equal(got, "2");

    cm_redis_pipe_free(p);
    cm_redis_free(other);
    cm_redis_free(r);
}

static cm_redis_script incr_by = CM_REDIS_SCRIPT("return redis.call('INCRBY', KEYS[1], ARGV[1])");

static void test_redis_scripts_survive_flush(void **state)
{
    (void)state;
    char err[512];
    cm_redis *r = cm_redis_connect(redis_url(), 2000, err, sizeof(err));
    assert_non_null(r);
    redisReply *rep = cm_redis_cmd(r, err, sizeof(err), "DEL it:common:ctr");
    freeReplyObject(rep);
    const char *args[] = {"it:common:ctr", "5"};
    rep = cm_redis_eval(r, &incr_by, 1, 2, args, NULL, err, sizeof(err));
    assert_non_null(rep);
    assert_int_equal(rep->integer, 5);
    freeReplyObject(rep);
    /* Redis forgets scripts (restart, failover): EVALSHA falls back. */
    rep = cm_redis_cmd(r, err, sizeof(err), "SCRIPT FLUSH");
    freeReplyObject(rep);
    rep = cm_redis_eval(r, &incr_by, 1, 2, args, NULL, err, sizeof(err));
    assert_non_null(rep);
    assert_int_equal(rep->integer, 10);
    freeReplyObject(rep);
    /* Same in a pipeline, with a plain command between two evals. */
    assert_int_equal(cm_redis_script_load(r, &incr_by, err, sizeof(err)), 0);
    rep = cm_redis_cmd(r, err, sizeof(err), "SCRIPT FLUSH");
    freeReplyObject(rep);
    /* Both kinds of pipeline: the replies in an arena, the NOSCRIPT ones
     * replaced by hiredis's own (freed apart, common/redis.c). */
    for (int k = 0; k < 2; k++) {
        if (k) {
            rep = cm_redis_cmd(r, err, sizeof(err), "SCRIPT FLUSH");
            freeReplyObject(rep);
        }
        cm_redis_pipe *p = k ? cm_redis_pipe_new_arena() : cm_redis_pipe_new();
        cm_redis_pipe_eval(p, &incr_by, 1, 2, args, NULL);
        cm_redis_pipe_add(p, "GET it:common:ctr");
        cm_redis_pipe_eval(p, &incr_by, 1, 2, args, NULL);
        assert_int_equal(cm_redis_pipe_exec(r, p, err, sizeof(err)), 0);
        assert_int_equal(cm_redis_pipe_reply(p, 0)->integer, 15 + 10 * k);
        /* the GET ran between two EVALSHAs that met NOSCRIPT and ran after */
        assert_string_equal(cm_redis_pipe_reply(p, 1)->str, k ? "20" : "10");
        assert_int_equal(cm_redis_pipe_reply(p, 2)->integer, 20 + 10 * k);
        cm_redis_pipe_free(p);
    }
    cm_redis_free(r);
}

/* A pipeline whose replies are built in its arena: strings, arrays,
 * integers and nils read back as hiredis builds them, run twice (the arena
 * reset between), and a connection lost before the read. */
static void test_redis_arena_pipeline(void **state)
{
    (void)state;
    char err[512];
    cm_redis *r = cm_redis_connect(redis_url(), 2000, err, sizeof(err));
    assert_non_null(r);
    freeReplyObject(cm_redis_cmd(r, err, sizeof err, "DEL it:common:h it:common:none"));
    cm_redis_pipe *p = cm_redis_pipe_new_arena();
    for (int run = 0; run < 2; run++) {
        cm_redis_pipe_reset(p);
        assert_int_equal(cm_redis_pipe_add(p, "HSET it:common:h a %d b x", run), 0);
        for (int i = 0; i < 2000; i++) /* more than one chunk of replies */
            assert_int_equal(cm_redis_pipe_add(p, "HGETALL it:common:h"), 0);
        assert_int_equal(cm_redis_pipe_add(p, "GET it:common:none"), 0);
        assert_int_equal(cm_redis_pipe_exec(r, p, err, sizeof(err)), 0);
        assert_int_equal(cm_redis_pipe_reply(p, 0)->type, REDIS_REPLY_INTEGER);
        for (size_t i = 1; i <= 2000; i++) {
            redisReply *h = cm_redis_pipe_reply(p, i);
            assert_int_equal(h->type, REDIS_REPLY_ARRAY);
            assert_int_equal(h->elements, 4);
            assert_string_equal(h->element[0]->str, "a");
            assert_int_equal(h->element[1]->str[0], '0' + run);
            assert_int_equal(h->element[1]->len, 1);
            assert_string_equal(h->element[3]->str, "x");
        }
        assert_int_equal(cm_redis_pipe_reply(p, 2001)->type, REDIS_REPLY_NIL);
    }
    redisReply *rep = cm_redis_cmd(r, err, sizeof err, "CLIENT ID");
    assert_non_null(rep);
    long long id = rep->integer;
    freeReplyObject(rep);
    cm_redis *killer = cm_redis_connect(redis_url(), 2000, err, sizeof(err));
    assert_non_null(killer);
    freeReplyObject(cm_redis_cmd(killer, err, sizeof err, "CLIENT KILL ID %lld", id));
    assert_int_equal(cm_redis_pipe_exec(r, p, err, sizeof(err)), 0); /* reconnected, re-run */
    assert_int_equal(cm_redis_pipe_reply(p, 2000)->elements, 4);
    cm_redis_pipe_free(p);
    cm_redis_free(killer);
    cm_redis_free(r);
}

static void test_redis_bad_password(void **state)
{
    (void)state;
    char err[512], url[600];
    cm_redis_url u;
    assert_int_equal(cm_redis_url_parse(redis_url(), &u, err, sizeof(err)), 0);
    snprintf(url, sizeof(url), "redis://:wrong@%s:%d/0", u.host, u.port);
    cm_redis *r = cm_redis_connect(url, 1000, err, sizeof(err));
    assert_null(r);
    assert_non_null(strstr(err, "AUTH"));
}

static void test_redis_connect_until(void **state)
{
    (void)state;
    char err[512];
    volatile sig_atomic_t run = 1;
    cm_redis *r = cm_redis_connect_until(redis_url(), &run, err, sizeof(err));
    assert_non_null(r);
    cm_redis_free(r);
    /* Nothing listens on port 1: it retries until told to stop. */
    run = 0;
    assert_null(cm_redis_connect_until("redis://127.0.0.1:1/0", &run, err, sizeof(err)));
}

/* A fresh one-partition topic (name in topic, its group in group) with
 * the messages "0".."99" on it. */
static void topic_of_100(const char *what, char *topic, size_t tlen, char *group, size_t glen)
{
    char err[512];
    snprintf(topic, tlen, "%s-%d-%lld", what, (int)getpid(), (long long)cm_clock_real_ms());
    snprintf(group, glen, "%s-g", topic);
    const char *names[] = {topic};
    assert_int_equal(cm_kafka_create_topics(brokers(), names, 1, 1, err, sizeof(err)), 0);
    cm_kafka_dr dr;
    rd_kafka_t *p = cm_kafka_producer_new(brokers(), "it-common", &dr, 5, err, sizeof(err));
    assert_non_null(p);
    for (int i = 0; i < 100; i++) {
        char v[16];
        int n = snprintf(v, sizeof(v), "%d", i);
        assert_int_equal(cm_kafka_produce(p, topic, "k", 1, v, (size_t)n, NULL, err, sizeof(err)),
                         0);
    }
    assert_int_equal(cm_kafka_wait_delivered(p, &dr, 30000, err, sizeof(err)), 0);
    assert_int_equal(dr.ok, 100);
    rd_kafka_destroy(p);
}

/* A member of o's group consumes the 100, stores the offsets of the first
 * nstore ("durable") and closes. */
static void consume_100_store(const cm_kafka_consumer_opts *o, size_t nstore)
{
    char err[512];
    rd_kafka_t *c = cm_kafka_consumer_new(o, err, sizeof(err));
    assert_non_null(c);
    rd_kafka_message_t *msgs[100];
    size_t got = 0;
    int64_t deadline = cm_clock_real_ms() + 60000;
    while (got < 100 && cm_clock_real_ms() < deadline)
        got += cm_kafka_poll_batch(c, msgs + got, 100 - got, 200);
    assert_int_equal(got, 100);
    assert_int_equal(cm_kafka_store(c, msgs, nstore, err, sizeof(err)), 0);
    for (size_t i = 0; i < got; i++)
        rd_kafka_message_destroy(msgs[i]);
    cm_kafka_consumer_close(c);
}

static void test_kafka_only_stored_offsets_commit(void **state)
{
    (void)state;
    char err[512], topic[128], group[160];
    topic_of_100("it-common", topic, sizeof topic, group, sizeof group);
    const char *topics[] = {topic};
    cm_kafka_consumer_opts o = {brokers(), group, "it-common", topics, 1, NULL, NULL, NULL};
    /* Only the first 40 are "durable". */
    consume_100_store(&o, 40);

    /* The group resumes exactly after the last stored message. */
    rd_kafka_t *c = cm_kafka_consumer_new(&o, err, sizeof(err));
    assert_non_null(c);
    rd_kafka_message_t *msgs[1];
    size_t got = 0;
    int64_t deadline = cm_clock_real_ms() + 60000;
    while (got == 0 && cm_clock_real_ms() < deadline)
        got = cm_kafka_poll_batch(c, msgs, 1, 200);
    assert_int_equal(got, 1);
    assert_int_equal(msgs[0]->offset, 40);
    assert_memory_equal(msgs[0]->payload, "40", 2);
    rd_kafka_message_destroy(msgs[0]);
    cm_kafka_consumer_close(c);
}

/* A partition assigned but not consumed from yet has no position: its lag
 * counts from the group's committed offset (100 of 100: none), not from
 * the partition's start (which said 100). */
static void test_kafka_lag_from_committed(void **state)
{
    (void)state;
    char err[512], topic[128], group[160];
    topic_of_100("it-lag", topic, sizeof topic, group, sizeof group);
    const char *topics[] = {topic};
    cm_kafka_consumer_opts o = {brokers(), group, "it-common", topics, 1, NULL, NULL, NULL};
    consume_100_store(&o, 100);

    /* a new member: assigned, nothing to consume, watermarks fetched */
    rd_kafka_t *c = cm_kafka_consumer_new(&o, err, sizeof(err));
    assert_non_null(c);
    rd_kafka_message_t *msgs[1];
    int64_t lo = -1, hi = -1, deadline = cm_clock_real_ms() + 60000;
    while (cm_clock_real_ms() < deadline) {
        assert_int_equal(cm_kafka_poll_batch(c, msgs, 1, 200), 0);
        if (cm_kafka_assigned_count(c) > 0 &&
            rd_kafka_get_watermark_offsets(c, topic, 0, &lo, &hi) == 0 && hi == 100)
            break;
    }
    assert_int_equal(hi, 100);
    assert_int_equal(cm_kafka_lag(c), 0);
    cm_kafka_consumer_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_pipeline_and_reconnect),
        cmocka_unit_test(test_redis_send_then_recv),
        cmocka_unit_test(test_redis_scripts_survive_flush),
        cmocka_unit_test(test_redis_arena_pipeline),
        cmocka_unit_test(test_redis_bad_password),
        cmocka_unit_test(test_redis_connect_until),
        cmocka_unit_test(test_kafka_only_stored_offsets_commit),
        cmocka_unit_test(test_kafka_lag_from_committed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
