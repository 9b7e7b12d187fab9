/* store.c -- snapshots of the state (with its offsets) in Redis.
 *
 * Keys, under base = "<topic prefix>reporter:<group id>:":
 *   base "snap"            meta: {"v":1,"gen":G,"chunks":K,"bytes":N}
 *   base "snap:<G>:<i>"    chunk i (at most 32 MiB) of generation G
 * A save writes every chunk of generation G+1 first (one pipeline), then
 * switches the meta key (one SET, atomic), then deletes generation G. A
 * crash at any point leaves the previous complete snapshot in place. The
 * offsets inside the snapshot are exactly those the state reflects, so a
 * restart seeks there and neither skips nor double counts. */
#include "store.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

#define REP_CHUNK (32u << 20)

static int rep_meta_get(cm_redis *r, const char *base, long long *gen, long long *chunks,
                        long long *bytes, char *errstr, size_t errlen)
{
    *gen = 0;
    *chunks = 0;
    *bytes = 0;
    redisReply *rep = cm_redis_cmd(r, errstr, errlen, "GET %ssnap", base);
    if (!rep)
        return -1;
    if (rep->type == REDIS_REPLY_STRING) {
        json_t *m = json_loadb(rep->str, rep->len, 0, NULL);
        *gen = json_integer_value(json_object_get(m, "gen"));
        *chunks = json_integer_value(json_object_get(m, "chunks"));
        *bytes = json_integer_value(json_object_get(m, "bytes"));
        json_decref(m);
    }
    freeReplyObject(rep);
    return 0;
}

int rep_store_save(cm_redis *r, const char *base, const rep_state *st, size_t *bytes_out,
                   char *errstr, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    cm_redis_pipe *p = NULL;
    long long gen, oldchunks, oldbytes;
    int rc = -1;
    if (rep_meta_get(r, base, &gen, &oldchunks, &oldbytes, errstr, errlen) < 0 ||
        rep_snapshot_encode(st, &buf, &len, errstr, errlen) < 0)
        goto cleanup;
    p = cm_redis_pipe_new();
    if (!p) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    long long ngen = gen + 1;
    size_t nchunks = (len + REP_CHUNK - 1) / REP_CHUNK;
    for (size_t i = 0; i < nchunks; i++) {
        size_t n = len - i * REP_CHUNK < REP_CHUNK ? len - i * REP_CHUNK : REP_CHUNK;
        if (cm_redis_pipe_add(p, "SET %ssnap:%lld:%llu %b", base, ngen, (unsigned long long)i,
                              buf + i * REP_CHUNK, n) < 0) {
            snprintf(errstr, errlen, "snapshot: cannot queue chunk %zu", i);
            goto cleanup;
        }
    }
    if (cm_redis_pipe_exec(r, p, errstr, errlen) < 0)
        goto cleanup;
    for (size_t i = 0; i < cm_redis_pipe_len(p); i++) {
        redisReply *x = cm_redis_pipe_reply(p, i);
        if (!x || x->type == REDIS_REPLY_ERROR) {
            snprintf(errstr, errlen, "redis SET snapshot chunk: %s", x ? x->str : "no reply");
            goto cleanup;
        }
    }
    char meta[160];
    snprintf(meta, sizeof meta, "{\"v\":1,\"gen\":%lld,\"chunks\":%zu,\"bytes\":%zu}", ngen,
             nchunks, len);
    if (cm_redis_pipe_len(p) != nchunks) {
        snprintf(errstr, errlen, "snapshot: %zu of %zu chunks queued", cm_redis_pipe_len(p),
                 nchunks);
        goto cleanup;
    }
    redisReply *x = cm_redis_cmd(r, errstr, errlen, "SET %ssnap %s", base, meta);
    if (!x)
        goto cleanup;
    freeReplyObject(x);
    cm_redis_pipe_reset(p);
    for (long long i = 0; i < oldchunks; i++)
        cm_redis_pipe_add(p, "DEL %ssnap:%lld:%lld", base, gen, i);
    if (oldchunks && cm_redis_pipe_exec(r, p, errstr, errlen) < 0)
        cm_log_warn("snapshot: old generation not deleted: %s", errstr);
    if (bytes_out)
        *bytes_out = len;
    rc = 0;
cleanup:
    cm_redis_pipe_free(p);
    free(buf);
    return rc;
}

int rep_store_load(cm_redis *r, const char *base, rep_state **out, char *errstr, size_t errlen)
{
    long long gen, chunks, bytes;
    char *buf = NULL;
    size_t len = 0;
    int rc = -1;
    *out = NULL;
    if (rep_meta_get(r, base, &gen, &chunks, &bytes, errstr, errlen) < 0)
        return -1;
    if (gen <= 0 || chunks <= 0)
        return 0; /* no snapshot */
    if (bytes < 0 || (unsigned long long)bytes > (unsigned long long)chunks * REP_CHUNK) {
        snprintf(errstr, errlen, "snapshot meta: inconsistent sizes");
        return -1;
    }
    buf = malloc((size_t)bytes + 1);
    if (!buf) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    for (long long i = 0; i < chunks; i++) {
        redisReply *x = cm_redis_cmd(r, errstr, errlen, "GET %ssnap:%lld:%lld", base, gen, i);
        if (!x)
            goto cleanup;
        if (x->type != REDIS_REPLY_STRING || len + x->len > (size_t)bytes) {
            snprintf(errstr, errlen, "snapshot chunk %lld: missing or oversized", i);
            freeReplyObject(x);
            goto cleanup;
        }
        memcpy(buf + len, x->str, x->len);
        len += x->len;
        freeReplyObject(x);
    }
    if (len != (size_t)bytes) {
        snprintf(errstr, errlen, "snapshot: %zu bytes, meta says %lld", len, bytes);
        goto cleanup;
    }
    *out = rep_snapshot_decode(buf, len, errstr, errlen);
    if (*out)
        rc = 1;
cleanup:
    free(buf);
    return rc;
}
