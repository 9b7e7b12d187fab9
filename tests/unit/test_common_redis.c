/* test_common_redis.c -- unit tests of common/redis_slot.c (CRC16 and
 * hash-tag slots) and of the redis+cluster:// URL form of
 * cm_redis_url_parse.
 *
 * Expected values are published ones, not this code's output: the CRC16
 * check value of the Redis cluster specification ("123456789" -> 0x31C3),
 * the CLUSTER KEYSLOT examples of redis.io ("somekey" 11058,
 * "foo{hash_tag}" and "bar{hash_tag}" 2515), "{user1}.following" 8106
 * (Dragonfly's CLUSTER KEYSLOT page, "the same as in Valkey"), keys of
 * slots 0 and 1 from a published table of a key per slot
 * (gist mp911de/5f9890496faca01b0ff9), and the hash-tag rules of the spec
 * ("{user1000}.following" and "{user1000}.followers" share a slot;
 * "foo{}{bar}" hashes the whole key; "foo{{bar}}zap" hashes "{bar";
 * "foo{bar}{zap}" hashes "bar"). "a" is slot 15495 and "b" slot 3300
 * (CLUSTER KEYSLOT of Redis 7, checked by t_redis_cluster against the real
 * cluster). The routing table is redis_cluster.c's design note. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redis.h"
#include "redis_cluster.h"
#include "redis_slot.h"

static int slot(const char *k)
{
    return cm_redis_key_slot(k, strlen(k));
}

static int crc_slot(const char *s)
{
    return cm_redis_crc16(s, strlen(s)) % 16384;
}

/* A key prefix holding a hash tag is refused on a cluster only. */
static void test_prefix_check(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(cm_redis_prefix_check(0, "X_PREFIX", "a{b}:", "{t}", err, sizeof err), 0);
    assert_int_equal(cm_redis_prefix_check(1, "X_PREFIX", "sch:", "{t}", err, sizeof err), 0);
    assert_int_equal(cm_redis_prefix_check(1, "X_PREFIX", NULL, "{t}", err, sizeof err), 0);
    assert_int_equal(cm_redis_prefix_check(1, "X_PREFIX", "a}:", "{t}", err, sizeof err), -1);
    assert_string_equal(err, "X_PREFIX: must not hold '{' or '}' on a Redis Cluster (the keys' "
                             "hash tag is {t})");
}

static void test_crc16(void **state)
{
    (void)state;
    assert_int_equal(cm_redis_crc16("123456789", 9), 0x31C3);
    assert_int_equal(cm_redis_crc16("", 0), 0);
}

static void test_slots(void **state)
{
    (void)state;
    assert_int_equal(slot("somekey"), 11058);
    assert_int_equal(slot("foo{hash_tag}"), 2515);
    assert_int_equal(slot("bar{hash_tag}"), 2515);
    assert_int_equal(slot("{user1}.following"), 8106);
    assert_int_equal(slot("fyimk7v1CgnBo"), 0);
    assert_int_equal(slot("8HMdi"), 1);
    /* the spec's hash-tag rules */
    assert_int_equal(slot("{user1000}.following"), slot("{user1000}.followers"));
    assert_int_equal(slot("{user1000}.following"), crc_slot("user1000"));
    assert_int_equal(slot("foo{}{bar}"), crc_slot("foo{}{bar}"));
    assert_int_equal(slot("foo{{bar}}zap"), crc_slot("{bar"));
    assert_int_equal(slot("foo{bar}{zap}"), crc_slot("bar"));
    /* no closing brace: the whole key */
    assert_int_equal(slot("foo{bar"), crc_slot("foo{bar"));
    assert_int_equal(cm_redis_key_slot("", 0), 0);
    /* binary keys: the length counts, not a NUL */
    assert_int_equal(cm_redis_key_slot("a\0{b}", 5), crc_slot("b"));
}

static void test_cluster_urls(void **state)
{
    (void)state;
    cm_redis_url u;
    char err[256];
    assert_int_equal(
        cm_redis_url_parse("redis+cluster://127.0.0.1:7000,127.0.0.1:7001,cache-2.local:7002", &u,
                           err, sizeof err),
        0);
    assert_int_equal(u.cluster, 1);
    assert_int_equal(u.nseeds, 3);
    assert_string_equal(u.seeds[0].host, "127.0.0.1");
    assert_int_equal(u.seeds[0].port, 7000);
    assert_int_equal(u.seeds[1].port, 7001);
    assert_string_equal(u.seeds[2].host, "cache-2.local");
    assert_int_equal(u.seeds[2].port, 7002);
    assert_string_equal(u.host, "127.0.0.1"); /* the first seed */
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 0);
    /* credentials, a default port, /0 */
    assert_int_equal(
        cm_redis_url_parse("redis+cluster://arrears:pa/ss@h1,h2:7001/0", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "arrears");
    assert_string_equal(u.password, "pa/ss");
    assert_int_equal(u.nseeds, 2);
    assert_int_equal(u.seeds[0].port, 6379);
    assert_int_equal(cm_redis_url_parse("redis+cluster://:s3cret@h:1", &u, err, sizeof err), 0);
    assert_string_equal(u.password, "s3cret");
    assert_string_equal(u.user, "");
    /* a single-node URL is no cluster */
    assert_int_equal(cm_redis_url_parse("redis://h:1/2", &u, err, sizeof err), 0);
    assert_int_equal(u.cluster, 0);
    assert_int_equal(u.nseeds, 0);
    /* refused, with the rule */
    assert_int_equal(cm_redis_url_parse("redis+cluster://h:1/3", &u, err, sizeof err), -1);
    assert_non_null(strstr(err, "only database 0"));
    assert_int_equal(cm_redis_url_parse("redis+cluster://h:1,,h:2", &u, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing host"));
    assert_int_equal(cm_redis_url_parse("redis+cluster://h:1,h:99999", &u, err, sizeof err), -1);
    assert_non_null(strstr(err, "port must be 1..65535"));
    assert_int_equal(cm_redis_url_parse("redis+cluster://", &u, err, sizeof err), -1);
    assert_int_equal(cm_redis_url_parse("rediscluster://h:1", &u, err, sizeof err), -1);
    assert_non_null(strstr(err, "redis+cluster://"));
    char many[512] = "redis+cluster://";
    for (int i = 0; i < 17; i++)
        strcat(many, i ? ",h:1" : "h:1");
    assert_int_equal(cm_redis_url_parse(many, &u, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most 16 seed nodes"));
}

/* The route of a command given as words. */
static int route_of(int argc, const char **argv, int *slot, char *err, size_t errlen)
{
    char *cmd = NULL;
    int len = cm_redis_format_argv(&cmd, argc, argv, NULL);
    assert_true(len > 0);
    int kind = cm_rcluster_route(cmd, (size_t)len, slot, err, errlen);
    free(cmd);
    return kind;
}

#define ROUTE(slotp, ...)                                                                          \
    route_of((int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),                  \
             (const char *[]){__VA_ARGS__}, slotp, err, sizeof err)

static void test_routes(void **state)
{
    (void)state;
    char err[256];
    int s;
    const char *sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff831";
    assert_int_equal(ROUTE(&s, "GET", "somekey"), CM_RCLUSTER_SLOT);
    assert_int_equal(s, 11058);
    assert_int_equal(ROUTE(&s, "get", "somekey"), CM_RCLUSTER_SLOT); /* any case */
    assert_int_equal(s, 11058);
    assert_int_equal(ROUTE(&s, "SET", "foo{hash_tag}", "1"), CM_RCLUSTER_SLOT);
    assert_int_equal(s, 2515);
    /* the key in argv[2] */
    assert_int_equal(ROUTE(&s, "OBJECT", "ENCODING", "somekey"), CM_RCLUSTER_SLOT);
    assert_int_equal(s, 11058);
    assert_int_equal(ROUTE(&s, "MEMORY", "USAGE", "somekey"), CM_RCLUSTER_SLOT);
    assert_int_equal(s, 11058);
    assert_int_equal(ROUTE(&s, "MEMORY", "STATS"), CM_RCLUSTER_ANY);
    /* scripts: the keys after numkeys, one slot */
    assert_int_equal(ROUTE(&s, "EVALSHA", sha, "2", "foo{hash_tag}", "bar{hash_tag}", "x"),
                     CM_RCLUSTER_SLOT);
    assert_int_equal(s, 2515);
    assert_int_equal(ROUTE(&s, "EVAL", "return 1", "1", "somekey"), CM_RCLUSTER_SLOT);
    assert_int_equal(s, 11058);
    assert_int_equal(ROUTE(&s, "EVALSHA", sha, "0", "somekey"), CM_RCLUSTER_ANY);
    assert_int_equal(ROUTE(&s, "EVALSHA", sha, "2", "a", "b"), -1);
    assert_non_null(strstr(err, "several slots"));
    assert_non_null(strstr(err, "'a' slot 15495"));
    assert_non_null(strstr(err, "'b' slot 3300"));
    assert_int_equal(ROUTE(&s, "EVALSHA", sha, "x1", "a"), -1);
    assert_non_null(strstr(err, "malformed"));
    /* keyless */
    assert_int_equal(ROUTE(&s, "PING"), CM_RCLUSTER_ANY);
    assert_int_equal(ROUTE(&s, "INFO", "memory"), CM_RCLUSTER_ANY);
    assert_int_equal(ROUTE(&s, "SCRIPT", "LOAD", "return 1"), CM_RCLUSTER_ALL);
    assert_int_equal(ROUTE(&s, "FLUSHALL"), CM_RCLUSTER_ALL);
    assert_int_equal(ROUTE(&s, "DBSIZE"), CM_RCLUSTER_SUM);
    /* refused */
    assert_int_equal(ROUTE(&s, "KEYS", "*"), -1);
    assert_non_null(strstr(err, "KEYS is not supported on a cluster"));
    assert_int_equal(ROUTE(&s, "multi"), -1);
    assert_int_equal(cm_rcluster_route("*1\r\n$4\r\nPI", 12, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "malformed"));
    assert_int_equal(cm_rcluster_route("", 0, &s, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_check), cmocka_unit_test(test_crc16),
        cmocka_unit_test(test_slots),        cmocka_unit_test(test_cluster_urls),
        cmocka_unit_test(test_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
