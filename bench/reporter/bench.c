/* bench.c -- the reporter's in-process benchmark (run by bench/reporter/run).
 *
 * Generates a ledger of canonical events as JSON lines in memory: N open
 * invoices (default 1,000,000) over N/10 customers in one tenant, and N*2/5
 * partial payments with explicit allocations (so every invoice stays open
 * and many carry a movement). Then, on the same bytes:
 *   baseline     parse every line with jansson and free it (json_loadb):
 *                what any jansson reader of the topic pays
 *   aggregation  rep_state_apply_event_bytes (the service's per-record work:
 *                the arena reader's parse, the decode and the apply)
 *   aging        rep_report_aging over the N open invoices (+ JSON text)
 *   kpis, effectiveness, snapshot encode/decode: for information
 * and prints events/s of both passes and their ratio, the aging time, and
 * the same as JSON on the last line (bench/reporter/run stores it). */
#include "reporter.h"

#include "buf.h"
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The generated ledger: one event a line, each ending in '\n'. */
typedef struct bench_lines {
    cm_buf text;
    size_t *starts; /* offset of each line in text */
    size_t n, capn;
} bench_lines;

static void bench_line(bench_lines *b, const char *s, int n)
{
    if (b->n == b->capn) {
        b->capn = b->capn ? b->capn * 2 : 1024;
        b->starts = realloc(b->starts, b->capn * sizeof *b->starts);
    }
    if (b->starts)
        b->starts[b->n++] = b->text.len;
    cm_buf_add(&b->text, s, (size_t)n);
    cm_buf_addc(&b->text, '\n');
    if (!b->starts || b->text.oom) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    /* bench N            the in-process benchmark
     * bench --dump N     print the generated events as "key<TAB>json" lines */
    int dump = argc > 1 && !strcmp(argv[1], "--dump");
    if (dump) {
        argv++;
        argc--;
    }
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    long ncust = n / 10 > 0 ? n / 10 : 1;
    long npay = n * 2 / 5;
    bench_lines b = {CM_BUF_INIT, NULL, 0, 0};
    char line[1024], d1[16], d2[16], err[256];
    int32_t base;
    cm_date_parse("2025-10-01", &base);
    srand(42);
    for (long i = 0; i < n; i++) {
        int32_t issued = base + (int32_t)(rand() % 180);
        cm_date_format(issued, d1, sizeof d1);
        cm_date_format(issued + 30, d2, sizeof d2);
        int k = snprintf(
            line, sizeof line,
            "{\"v\":1,\"id\":\"evt-i-%ld\",\"source\":\"billing\",\"type\":\"invoice.issued\","
            "\"tenant\":\"bench\",\"time\":\"%sT09:00:00.000Z\",\"customer_id\":\"C-%ld\","
            "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"data\":{\"invoice_id\":\"INV-%"
            "ld\","
            "\"customer_id\":\"C-%ld\",\"number\":\"2026-%07ld\",\"currency\":\"EUR\","
            "\"amount_minor\":%d,\"issued_on\":\"%s\",\"due_on\":\"%s\",\"tags\":[\"b2b\"]}}",
            i, d1, i % ncust, i, i % ncust, i, 10000 + rand() % 990000, d1, d2);
        bench_line(&b, line, k);
    }
    for (long i = 0; i < npay; i++) {
        long inv = (long)(((unsigned long)rand() * 7919u) % (unsigned long)n);
        int32_t day = base + 200 + (int32_t)(rand() % 30);
        cm_date_format(day, d1, sizeof d1);
        int k = snprintf(
            line, sizeof line,
            "{\"v\":1,\"id\":\"evt-p-%ld\",\"source\":\"billing\",\"type\":\"payment.received\","
            "\"tenant\":\"bench\",\"time\":\"%sT12:00:00.000Z\",\"customer_id\":\"C-%ld\","
            "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"data\":{\"payment_id\":\"PAY-%"
            "ld\","
            "\"customer_id\":\"C-%ld\",\"currency\":\"EUR\",\"amount_minor\":500,"
            "\"received_on\":\"%s\",\"allocations\":[{\"invoice_id\":\"INV-%ld\",\"amount_minor\":"
            "500}]}}",
            i, d1, inv % ncust, i, inv % ncust, d1, inv);
        bench_line(&b, line, k);
    }
    size_t nev = b.n;
    if (dump) {
        for (size_t i = 0; i < nev; i++) {
            size_t end = i + 1 < nev ? b.starts[i + 1] - 1 : b.text.len - 1;
            const char *l = b.text.p + b.starts[i];
            const char *c = strstr(l, "\"customer_id\":\"");
            int kl = 0;
            if (c) {
                c += 15;
                while (c[kl] && c[kl] != '"')
                    kl++;
            }
            printf("bench/%.*s\t%.*s\n", kl, c ? c : "", (int)(end - b.starts[i]), l);
        }
        cm_buf_free(&b.text);
        free(b.starts);
        return 0;
    }
    fprintf(stderr, "bench: %zu events, %.0f MB of JSON\n", nev, (double)b.text.len / 1e6);

    /* baseline: parse only */
    double t0 = cm_mono_sec();
    size_t parsed = 0;
    for (size_t i = 0; i < nev; i++) {
        size_t end = i + 1 < nev ? b.starts[i + 1] - 1 : b.text.len - 1;
        json_t *j = json_loadb(b.text.p + b.starts[i], end - b.starts[i], 0, NULL);
        parsed += j != NULL;
        json_decref(j);
    }
    double t_parse = cm_mono_sec() - t0;

    /* aggregation: parse + apply */
    rep_state *st = rep_state_new();
    t0 = cm_mono_sec();
    size_t applied = 0;
    for (size_t i = 0; i < nev; i++) {
        size_t end = i + 1 < nev ? b.starts[i + 1] - 1 : b.text.len - 1;
        applied += rep_state_apply_event_bytes(st, b.text.p + b.starts[i], end - b.starts[i], err,
                                               sizeof err) == 1;
    }
    double t_agg = cm_mono_sec() - t0;
    if (parsed != nev || applied != nev) {
        fprintf(stderr, "bench: parsed %zu, applied %zu of %zu (%s)\n", parsed, applied, nev, err);
        return 1;
    }

    int32_t asof = base + 240;
    t0 = cm_mono_sec();
    json_t *aging = rep_report_aging(st, 0, asof, 0);
    char *text = json_dumps(aging, JSON_COMPACT);
    double t_aging = cm_mono_sec() - t0;
    long open_count = (long)json_integer_value(json_object_get(
        json_object_get(json_array_get(json_object_get(aging, "currencies"), 0), "total"),
        "count"));
    free(text);
    json_decref(aging);

    t0 = cm_mono_sec();
    json_t *k = rep_report_kpis(st, 0, asof, 0);
    double t_kpis = cm_mono_sec() - t0;
    json_decref(k);

    char *snap = NULL;
    size_t snaplen = 0;
    t0 = cm_mono_sec();
    rep_snapshot_encode(st, &snap, &snaplen, err, sizeof err);
    double t_enc = cm_mono_sec() - t0;
    t0 = cm_mono_sec();
    rep_state *back = rep_snapshot_decode(snap, snaplen, err, sizeof err);
    double t_dec = cm_mono_sec() - t0;
    if (!back) {
        fprintf(stderr, "bench: snapshot: %s\n", err);
        return 1;
    }
    rep_state_free(back);
    free(snap);

    double r_parse = (double)nev / t_parse, r_agg = (double)nev / t_agg;
    printf("events                     %zu (%ld invoices, %ld payments, %ld customers)\n", nev, n,
           npay, ncust);
    printf("baseline parse-only        %10.0f events/s  (%.3f s)\n", r_parse, t_parse);
    printf("aggregation (parse+apply)  %10.0f events/s  (%.3f s)\n", r_agg, t_agg);
    printf("ratio aggregation/baseline %10.3f\n", r_agg / r_parse);
    printf("aging report, %ld open     %10.3f s  (target < 1 s)\n", open_count, t_aging);
    printf("kpis report (3 periods)    %10.3f s\n", t_kpis);
    printf("snapshot                   %10.1f MB, encode %.3f s, decode %.3f s\n",
           (double)snaplen / 1e6, t_enc, t_dec);
    printf("{\"events\":%zu,\"invoices\":%ld,\"open_invoices\":%ld,\"baseline_parse_events_per_s\":"
           "%.0f,"
           "\"aggregation_events_per_s\":%.0f,\"ratio\":%.4f,\"aging_seconds\":%.4f,\"kpis_"
           "seconds\":%.4f,"
           "\"snapshot_bytes\":%zu,\"snapshot_encode_seconds\":%.4f,\"snapshot_decode_seconds\":%."
           "4f}\n",
           nev, n, open_count, r_parse, r_agg, r_agg / r_parse, t_aging, t_kpis, snaplen, t_enc,
           t_dec);
    rep_state_free(st);
    cm_buf_free(&b.text);
    free(b.starts);
    return 0;
}
