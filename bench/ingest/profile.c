/* profile.c -- ingest's per-message CPU without Kafka or Redis, for
 * `valgrind --tool=callgrind` (instructions per message are repeatable
 * where wall-clock rates on a shared machine are not).
 *
 *   profile TSV COUNT [BATCH [DUMP]]
 *
 * Reads COUNT "key<TAB>json" lines (bench/out/ingest-events-N.tsv) and runs
 * them through ing_batch_prepare/send/finish in batches of BATCH (1000)
 * against a backend whose Redis and Kafka calls do nothing (DUMP: a file
 * that gets every produced record, to check that a change keeps the output
 * byte for byte). Build:
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iservices/ingest -Icommon \
 *      bench/ingest/profile.c build/libsvc_ingest.a build/libcommon.a \
 *      -lrdkafka -ljansson -lhiredis -lcurl -lmicrohttpd -lcrypto -lm -lpthread */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int seen(void *o, char *const *k, size_t n, unsigned char *s, char *e, size_t el)
{
    (void)o, (void)k, (void)e, (void)el;
    memset(s, 0, n);
    return 0;
}
static int mark(void *o, char *const *k, size_t n, char *e, size_t el)
{
    (void)o, (void)k, (void)n, (void)e, (void)el;
    return 0;
}
static size_t produced_bytes;
static FILE *dump;
static int produce(void *o, const ing_record *r, char *e, size_t el)
{
    (void)o, (void)e, (void)el;
    produced_bytes += r->bodylen;
    if (dump)
        fprintf(dump, "%s\t%s\t%s\t%s\t%s\t%.*s\n", r->key, r->type, r->id, r->tenant, r->trace_id,
                (int)r->bodylen, r->body);
    return 0;
}
static int waitd(void *o, char *e, size_t el)
{
    (void)o, (void)e, (void)el;
    return 0;
}
static int keep(void *o)
{
    (void)o;
    return 1;
}
static void backoff(void *o, int a)
{
    (void)o, (void)a;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: profile TSV COUNT [BATCH]\n");
        return 2;
    }
    size_t count = strtoul(argv[2], NULL, 10), batch = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
    if (argc > 4 && !(dump = fopen(argv[4], "w")))
        return 1;
    FILE *f = fopen(argv[1], "r");
    if (!f)
        return 1;
    char **lines = calloc(count, sizeof *lines);
    ing_input *in = calloc(count, sizeof *in);
    size_t n = 0, cap = 0;
    char *line = NULL;
    ssize_t len;
    while (n < count && (len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = 0;
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        lines[n] = strdup(line);
        char *l = lines[n];
        size_t kl = (size_t)(tab - line);
        in[n] = (ing_input){l + kl + 1, (size_t)len - kl - 1, l, kl, NULL, 0, "inbound", 0,
                            (int64_t)n, 1767225600000};
        n++;
    }
    free(line);
    fclose(f);
    ing_config cfg = {ING_DEFAULT_MAX_BYTES, ING_DEFAULT_MAX_DEPTH};
    ing_backend be = {NULL, seen, mark, produce, waitd, keep, backoff, NULL, NULL};
    ing_batch_stats st = {0};
    char err[256];
    for (size_t i = 0; i < n; i += batch) {
        size_t k = n - i < batch ? n - i : batch;
        if (ing_batch_run(&cfg, "p:", &be, in + i, k, &st, err, sizeof err) != 0) {
            fprintf(stderr, "profile: %s\n", err);
            return 1;
        }
    }
    printf("profile: %zu messages: %llu accepted, %llu rejected, %llu duplicates, %zu bytes out\n",
           n, (unsigned long long)st.accepted, (unsigned long long)st.rejected,
           (unsigned long long)st.duplicates, produced_bytes);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    free(in);
    ing_thread_cleanup();
    if (dump)
        fclose(dump);
    return 0;
}
