/* publish.c -- arrears-publish: the reference way for a billing system to
 * publish inbound events to arrears.
 *
 *   arrears-publish [--format auto|csv|jsonl] [--paced] [--tenant T]
 *                   [--source S] [--dry-run] [--progress SECONDS]
 *                   [--http URL [--token T] [--batch N]] [FILE...]
 *
 * Reads CloudEvents 1.0 JSON lines (structured mode, one event a line) or a
 * flat CSV with a header row and a `type` column (docs/publishing.md lists
 * the columns), and produces every event to <ARREARS_TOPIC_PREFIX>inbound
 * keyed `tenant/customer_id`, with an idempotent producer (acks=all), then
 * waits for every delivery report. No FILE, or "-", reads stdin.
 *
 * Design: what the publisher checks and converts per record (the envelope,
 * the key, CSV values) is publish_lib.c's, in libtools; this file is the
 * binary: options, the idempotent producer, pacing and progress. A bad line
 * is reported as "FILE:LINE: field: rule" on stderr and skipped; the run
 * goes on and exits 1 at the end if any line was rejected or any delivery
 * failed (naming the line). Each produced record carries its input line
 * number as the delivery opaque, so a failed delivery names its line.
 *
 * --paced: waits until the shared clock (ARREARS_CLOCK, scaled or wall)
 * reaches each event's `time` before producing it, so a ledger plays out
 * as a billing system would publish it. Events already in the past go out
 * at once.
 *
 * --http URL: the same events go through arrears-gateway instead of Kafka
 * (docs/gateway.md): batches of --batch (default 100) events POSTed as
 * application/cloudevents-batch+json on one kept-alive libcurl connection,
 * with the bearer token of --token or ARREARS_GATEWAY_TOKEN. What a batch
 * is and what an answer means is http_lib.c's; this file sends, retries a
 * 429 or 503 (or a transport error) after Retry-After at most 5 times, and
 * names each refused event as "FILE:LINE: rejected by the gateway: ...".
 * A 401 stops the run: no later batch could pass either. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "http_lib.h"
#include "kafka.h"
#include "log.h"
#include "publish_lib.h"
#include "service.h"
#include "json.h"
#include "settings.h"
#include "tz.h"

/* --------------------------------------------------------------- output */

typedef struct tool_pub {
    tool_pub_opts o;
    int dry_run, paced;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt; /* the topic's handle, looked up once (owned, destroyed before rk) */
    char topic[256];
    const char *fname;
    const char *fnames[256]; /* by input index, for delivery reports */
    int fidx;
    uint64_t read, published, rejected, delivered, failed;
    int progress_s;
    int64_t last_progress_ms, last_time_ms;
    /* --http */
    const char *http_url, *token;
    char endpoint[2048];
    int batch_max, http_stop;
    uint64_t batches;
    CURL *curl;
    struct curl_slist *headers;
    tool_http_batch batch;
    cm_json *reader; /* JSON lines: the arena reader, reused line to line */
} tool_pub;

static void tool_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    tool_pub *p = opaque;
    (void)rk;
    if (m->err) {
        /* the opaque is (input index << 40) | line number */
        uint64_t o = (uint64_t)(uintptr_t)m->_private;
        p->failed++;
        if (p->failed <= 20)
            fprintf(stderr, "arrears-publish: %s:%" PRIu64 ": delivery failed: %s\n",
                    p->fnames[(o >> 40) & 0xff], o & ((UINT64_C(1) << 40) - 1),
                    rd_kafka_err2str(m->err));
    } else {
        p->delivered++;
    }
}

static void tool_progress(tool_pub *p, int force)
{
    int64_t now = cm_clock_real_ms();
    char sim[40] = "-";
    if (!p->progress_s && !force)
        return;
    if (!force && now - p->last_progress_ms < (int64_t)p->progress_s * 1000)
        return;
    p->last_progress_ms = now;
    if (p->last_time_ms)
        cm_time_format_rfc3339(p->last_time_ms, sim, sizeof(sim));
    fprintf(stderr,
            "arrears-publish: progress read=%" PRIu64 " published=%" PRIu64 " delivered=%" PRIu64
            " rejected=%" PRIu64 " failed=%" PRIu64 " last_event_time=%s\n",
            p->read, p->published, p->delivered, p->rejected, p->failed, sim);
}

/* Waits (serving delivery reports) until the clock reaches t. 0, or -1 if
 * interrupted. */
static int tool_pace(tool_pub *p, int64_t t)
{
    for (;;) {
        int64_t d = cm_clock_real_delay_ms(t);
        if (!cm_service_run)
            return -1;
        if (d <= 0)
            return 0;
        if (d > 200)
            d = 200;
        if (p->rk)
            rd_kafka_poll(p->rk, (int)d);
        else
            usleep((useconds_t)d * 1000);
        tool_progress(p, 0);
    }
}

/* ------------------------------------------------------------------ --http */

static size_t tool_http_on_body(char *data, size_t size, size_t n, void *opaque)
{
    cm_buf *b = opaque;
    return cm_buf_add(b, data, size * n) == 0 ? size * n : 0;
}

static size_t tool_http_on_header(char *data, size_t size, size_t n, void *opaque)
{
    char *retry_after = opaque; /* 64 bytes */
    size_t len = size * n;
    if (len > 12 && !strncasecmp(data, "Retry-After:", 12)) {
        size_t k = 12, e = len;
        while (k < e && (data[k] == ' ' || data[k] == '\t'))
            k++;
        while (e > k && (data[e - 1] == '\r' || data[e - 1] == '\n' || data[e - 1] == ' '))
            e--;
        snprintf(retry_after, 64, "%.*s", (int)(e - k), data + k);
    }
    return len;
}

static int tool_http_open(tool_pub *p)
{
    char auth[4096];
    if (tool_http_events_url(p->http_url, p->endpoint, sizeof(p->endpoint)) != 0) {
        fprintf(stderr, "arrears-publish: --http: not an http(s)://host[:port][/path] URL: %s\n",
                p->http_url);
        return -1;
    }
    if (tool_http_batch_init(&p->batch, p->batch_max) != 0 ||
        curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(p->curl = curl_easy_init()))
        return -1;
    p->headers = curl_slist_append(NULL, "Content-Type: application/cloudevents-batch+json; "
                                         "charset=utf-8");
    p->headers = curl_slist_append(p->headers, "Accept: application/json");
    p->headers = curl_slist_append(p->headers, "Expect:"); /* no 100-continue round trip */
    if (p->token && *p->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->token);
        p->headers = curl_slist_append(p->headers, auth);
    }
    curl_easy_setopt(p->curl, CURLOPT_URL, p->endpoint);
    curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, p->headers);
    curl_easy_setopt(p->curl, CURLOPT_USERAGENT, "arrears-publish/" ARREARS_VERSION);
    curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(p->curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, tool_http_on_body);
    curl_easy_setopt(p->curl, CURLOPT_HEADERFUNCTION, tool_http_on_header);
    return p->headers ? 0 : -1;
}

static void tool_http_close(tool_pub *p)
{
    if (p->curl)
        curl_easy_cleanup(p->curl);
    curl_slist_free_all(p->headers);
    tool_http_batch_free(&p->batch);
    if (p->http_url)
        curl_global_cleanup();
    p->curl = NULL;
    p->headers = NULL;
}

/* Sleeps s seconds unless interrupted (progress lines go on). */
static void tool_http_wait(tool_pub *p, int s)
{
    int64_t until = cm_clock_real_ms() + (int64_t)s * 1000;
    while (cm_service_run && cm_clock_real_ms() < until) {
        usleep(100 * 1000);
        tool_progress(p, 0);
    }
}

/* POSTs the batch until it is answered (retrying 429, 503 and transport
 * errors at most TOOL_HTTP_RETRIES times) and counts its events. 0, or -1
 * when the run must stop (401, interrupted). */
static int tool_http_flush(tool_pub *p)
{
    tool_http_batch *b = &p->batch;
    size_t len;
    const char *body = tool_http_batch_body(b, &len);
    cm_buf resp = CM_BUF_INIT;
    enum tool_http_next next = TOOL_HTTP_RETRY;
    int tries = 0, failed = 0;
    char why[CURL_ERROR_SIZE + 64];

    if (!b->n)
        return 0;
    p->batches++;
    if (!body) {
        for (int i = 0; i < b->n; i++)
            snprintf(b->items[i].reason, sizeof(b->items[i].reason), "out of memory"),
                b->items[i].failed = 1;
        next = TOOL_HTTP_DONE;
    }
    while (next == TOOL_HTTP_RETRY) {
        char retry_after[64] = "", cerr[CURL_ERROR_SIZE] = "";
        long status = 0;
        CURLcode rc;
        cm_buf_reset(&resp);
        curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, &resp);
        curl_easy_setopt(p->curl, CURLOPT_HEADERDATA, retry_after);
        curl_easy_setopt(p->curl, CURLOPT_ERRORBUFFER, cerr);
        rc = curl_easy_perform(p->curl);
        if (rc == CURLE_OK) {
            curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
            next = tool_http_answer(b, status, resp.p, resp.len);
            if (next != TOOL_HTTP_RETRY)
                break;
            snprintf(why, sizeof(why), "HTTP %ld", status);
        } else {
            snprintf(why, sizeof(why), "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        }
        if (tries++ >= TOOL_HTTP_RETRIES || !cm_service_run) {
            for (int i = 0; i < b->n; i++) {
                b->items[i].failed = 1;
                snprintf(b->items[i].reason, sizeof(b->items[i].reason),
                         "%s, %d attempts: giving up", why, tries);
            }
            break;
        }
        {
            /* transport errors back off 1, 2, 4... s; answers say how long */
            int wait = tool_http_retry_after(rc == CURLE_OK ? retry_after : NULL,
                                             cm_clock_real_ms() / 1000, 1 << (tries - 1));
            fprintf(stderr, "arrears-publish: batch %" PRIu64 ": %s, retrying in %d s (%d/%d)\n",
                    p->batches, why, wait, tries, TOOL_HTTP_RETRIES);
            tool_http_wait(p, wait);
        }
    }
    cm_buf_free(&resp);
    for (int i = 0; i < b->n; i++)
        failed += b->items[i].failed;
    p->failed += (uint64_t)failed;
    p->delivered += (uint64_t)(b->n - failed);
    if (failed == b->n && b->n > 1 && !strcmp(b->items[0].reason, b->items[b->n - 1].reason)) {
        /* the whole batch, for one reason (401, 413, 415, retries spent) */
        const tool_http_item *a = &b->items[0], *z = &b->items[b->n - 1];
        fprintf(stderr, "arrears-publish: batch %" PRIu64 " (%s:%zu .. %s:%zu, %d events): %s\n",
                p->batches, p->fnames[a->input], a->lineno, p->fnames[z->input], z->lineno, b->n,
                a->reason);
    } else if (failed) {
        int shown = 0;
        for (int i = 0; i < b->n && shown < 20; i++)
            if (b->items[i].failed && ++shown)
                fprintf(stderr, "arrears-publish: %s:%zu: rejected by the gateway: %s\n",
                        p->fnames[b->items[i].input], b->items[i].lineno, b->items[i].reason);
        fprintf(stderr, "arrears-publish: batch %" PRIu64 ": %d of %d event(s) not accepted%s\n",
                p->batches, failed, b->n, failed > shown ? " (first 20 shown)" : "");
    }
    tool_http_batch_reset(b);
    tool_progress(p, 0);
    if (next == TOOL_HTTP_STOP)
        p->http_stop = 1;
    return p->http_stop || !cm_service_run ? -1 : 0;
}

static int tool_http_emit(tool_pub *p, const char *payload, size_t len, size_t lineno)
{
    int full = tool_http_batch_add(&p->batch, payload, len, p->fidx, lineno);
    if (full < 0) {
        fprintf(stderr, "arrears-publish: %s:%zu: out of memory\n", p->fname, lineno);
        p->failed++;
        return -1;
    }
    p->published++;
    return full ? tool_http_flush(p) : 0;
}

static int tool_emit(tool_pub *p, const char *key, const char *payload, size_t len, int64_t t,
                     size_t lineno)
{
    rd_kafka_resp_err_t err;
    /* paced: what is batched goes out before waiting for the next event */
    if (p->paced && p->curl && cm_clock_real_delay_ms(t) > 0 && tool_http_flush(p) != 0)
        return -1;
    if (p->paced && tool_pace(p, t) != 0)
        return -1;
    p->last_time_ms = t;
    if (p->dry_run) {
        printf("%s\t%.*s\n", key, (int)len, payload);
        p->published++;
        p->delivered++;
        return 0;
    }
    if (p->curl)
        return tool_http_emit(p, payload, len, lineno);
    for (;;) {
        err = rd_kafka_producev(
            p->rk, RD_KAFKA_V_RKT(p->rkt), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADER("content-type", "application/cloudevents+json; charset=UTF-8", -1),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)(((uint64_t)p->fidx << 40) | lineno)),
            RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(p->rk, 50);
    }
    if (err) {
        fprintf(stderr, "arrears-publish: %s:%zu: produce failed: %s\n", p->fname, lineno,
                rd_kafka_err2str(err));
        p->failed++;
        return -1;
    }
    /* Delivery reports and the progress line every 256 records: each poll
     * takes the reports queue's lock, each progress check reads the clock. */
    if ((++p->published & 255) == 0) {
        rd_kafka_poll(p->rk, 0);
        tool_progress(p, 0);
    }
    return 0;
}

static void tool_reject(tool_pub *p, size_t lineno, const char *why)
{
    p->rejected++;
    fprintf(stderr, "arrears-publish: %s:%zu: %s\n", p->fname, lineno, why);
}

/* Reads one input. Returns 0, or -1 on a fatal problem (unreadable file,
 * bad CSV header, interrupted, produce error). */
static int tool_publish_file(tool_pub *p, FILE *f, const char *format)
{
    char *line = NULL, *rec = NULL, err[1024];
    size_t cap = 0, reccap = 0, lineno = 0;
    ssize_t n;
    int is_csv = -1, have_header = 0, rc = 0;
    tool_csv_header h = {0};

    if (!strcmp(format, "csv"))
        is_csv = 1;
    else if (!strcmp(format, "jsonl"))
        is_csv = 0;
    while (cm_service_run && (n = getline(&line, &cap, f)) >= 0) {
        char *s = line;
        size_t len = (size_t)n, start = ++lineno;
        if (lineno == 1 && len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
            s += 3, len -= 3; /* UTF-8 BOM */
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
            len--;
        {
            size_t k = 0;
            while (k < len && isspace((unsigned char)s[k]))
                k++;
            if (k == len)
                continue; /* blank line */
            if (is_csv < 0)
                is_csv = s[k] != '{';
        }
        if (!is_csv) {
            char key[512], *rewritten = NULL;
            int64_t t;
            p->read++;
            if (!p->reader && !(p->reader = cm_json_new())) {
                rc = -1;
                break;
            }
            if (tool_jsonl_check(p->reader, s, len, &p->o, key, sizeof(key), &t, &rewritten, err,
                                 sizeof(err)) != 0) {
                tool_reject(p, start, err);
                continue;
            }
            rc = rewritten ? tool_emit(p, key, rewritten, strlen(rewritten), t, start)
                           : tool_emit(p, key, s, len, t, start);
            free(rewritten);
            if (rc != 0)
                break;
            continue;
        }
        /* CSV: gather physical lines until the quotes balance. */
        if (reccap < len + 2) {
            free(rec);
            reccap = len + 2 > 4096 ? len + 2 : 4096;
            if (!(rec = malloc(reccap))) {
                rc = -1;
                break;
            }
        }
        memcpy(rec, s, len);
        {
            size_t rlen = len;
            int toolong = 0;
            while (!tool_csv_complete(rec, rlen)) {
                if ((n = getline(&line, &cap, f)) < 0)
                    break;
                lineno++;
                if (rlen + (size_t)n + 2 > TOOL_MAX_RECORD) {
                    toolong = 1;
                    continue;
                }
                if (rlen + (size_t)n + 2 > reccap) {
                    char *r2;
                    reccap = (rlen + (size_t)n + 2) * 2;
                    if (!(r2 = realloc(rec, reccap))) {
                        rc = -1;
                        goto cleanup;
                    }
                    rec = r2;
                }
                rec[rlen++] = '\n';
                memcpy(rec + rlen, line, (size_t)n);
                rlen += (size_t)n;
                while (rlen && (rec[rlen - 1] == '\n' || rec[rlen - 1] == '\r'))
                    rlen--;
            }
            rec[rlen] = 0;
            char *fields[TOOL_MAX_FIELDS];
            int nf;
            if (toolong) {
                p->read++;
                tool_reject(p, start, "record longer than 1 MiB");
                continue;
            }
            nf = tool_csv_split(rec, rlen, fields, TOOL_MAX_FIELDS, err, sizeof(err));
            if (!have_header) {
                if (nf < 0 || tool_csv_header_parse(fields, nf, &h, err, sizeof(err)) != 0) {
                    fprintf(stderr, "arrears-publish: %s:%zu: %s\n", p->fname, start, err);
                    rc = -2;
                    goto cleanup;
                }
                have_header = 1;
                continue;
            }
            p->read++;
            if (nf < 0) {
                tool_reject(p, start, err);
                continue;
            }
            json_t *ce = NULL;
            if (tool_csv_to_event(&h, fields, nf, &p->o, &ce, err, sizeof(err)) != 0) {
                tool_reject(p, start, err);
                continue;
            }
            char key[512], *dump;
            int64_t t;
            tool_event_key(ce, &p->o, key, sizeof(key), &t);
            dump = json_dumps(ce, JSON_COMPACT | JSON_PRESERVE_ORDER);
            json_decref(ce);
            rc = dump ? tool_emit(p, key, dump, strlen(dump), t, start) : -1;
            free(dump);
            if (rc != 0)
                break;
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "arrears-publish: %s: read error: %s\n", p->fname, strerror(errno));
        rc = -1;
    }
cleanup:
    free(rec);
    free(line);
    return rc;
}

static void tool_pub_usage(FILE *f)
{
    fprintf(f,
            "usage: arrears-publish [options] [FILE...]\n"
            "Publishes billing events (CloudEvents JSON lines or CSV) to\n"
            "<ARREARS_TOPIC_PREFIX>inbound, keyed tenant/customer_id. No FILE or '-': stdin.\n\n"
            "  --format auto|csv|jsonl  input format (auto: '{' first = JSON lines)\n"
            "  --paced                  wait until the clock (ARREARS_CLOCK) reaches each\n"
            "                           event's time before publishing it\n"
            "  --tenant T               tenant for events without one (default 'default')\n"
            "  --source S               CloudEvents source of CSV rows (default arrears-publish)\n"
            "  --dry-run                print 'key<TAB>event' lines instead of publishing\n"
            "  --progress SECONDS       a progress line on stderr every SECONDS\n"
            "  --http URL               POST through arrears-gateway instead of Kafka\n"
            "                           (URL without a path: URL/v1/events)\n"
            "  --token T                the gateway's bearer token (default:\n"
            "                           ARREARS_GATEWAY_TOKEN)\n"
            "  --batch N                events per POST with --http, 1..1000 (default 100)\n"
            "  --help, --version\n\n"
            "Settings (environment): ARREARS_KAFKA_BROKERS, ARREARS_TOPIC_PREFIX,\n"
            "ARREARS_CLOCK, ARREARS_KAFKA_<PROPERTY>, ARREARS_GATEWAY_TOKEN.\n"
            "CSV columns, --http: docs/publishing.md.\n"
            "Exit: 0 all published; 1 some lines rejected or deliveries failed; 2 usage or\n"
            "configuration error.\n");
}

static cm_setting tool_pub_settings[] = {CM_SETTINGS_COMMON("", "arrears-publish"),
                                         CM_SETTINGS_END};

int main(int argc, char **argv)
{
    tool_pub p;
    const char *format = "auto", *files[256];
    int nfiles = 0, status = 0;
    char err[4096];
    rd_kafka_conf_t *conf = NULL;

    memset(&p, 0, sizeof(p));
    p.o.tenant = "default";
    p.o.source = "arrears-publish";
    p.batch_max = TOOL_HTTP_BATCH_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            tool_pub_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("arrears-publish %s\n", ARREARS_VERSION);
            return 0;
        } else if (!strcmp(a, "--paced")) {
            p.paced = 1;
        } else if (!strcmp(a, "--dry-run")) {
            p.dry_run = 1;
        } else if (!strcmp(a, "--format") || !strcmp(a, "--tenant") || !strcmp(a, "--source") ||
                   !strcmp(a, "--progress") || !strcmp(a, "--http") || !strcmp(a, "--token") ||
                   !strcmp(a, "--batch")) {
            if (!v || !*v) {
                fprintf(stderr, "arrears-publish: %s needs a value\n", a);
                return 2;
            }
            i++;
            if (!strcmp(a, "--format")) {
                if (strcmp(v, "auto") && strcmp(v, "csv") && strcmp(v, "jsonl")) {
                    fprintf(stderr, "arrears-publish: --format: auto, csv or jsonl, not '%s'\n", v);
                    return 2;
                }
                format = v;
            } else if (!strcmp(a, "--tenant")) {
                p.o.tenant = v;
                p.o.tenant_given = 1;
            } else if (!strcmp(a, "--source")) {
                p.o.source = v;
            } else if (!strcmp(a, "--http")) {
                p.http_url = v;
            } else if (!strcmp(a, "--token")) {
                p.token = v;
            } else if (!strcmp(a, "--batch")) {
                p.batch_max = atoi(v);
                if (p.batch_max < 1 || p.batch_max > TOOL_HTTP_BATCH_MAX) {
                    fprintf(stderr, "arrears-publish: --batch: events in 1..%d\n",
                            TOOL_HTTP_BATCH_MAX);
                    return 2;
                }
            } else {
                p.progress_s = atoi(v);
                if (p.progress_s < 1 || p.progress_s > 3600) {
                    fprintf(stderr, "arrears-publish: --progress: seconds in 1..3600\n");
                    return 2;
                }
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "arrears-publish: unknown option %s (see --help)\n", a);
            return 2;
        } else if (nfiles < 256) {
            files[nfiles++] = a;
        } else {
            fprintf(stderr, "arrears-publish: at most 256 files\n");
            return 2;
        }
    }
    if (cm_settings_load(tool_pub_settings, err, sizeof(err)) != 0) {
        fprintf(stderr, "arrears-publish: configuration invalid:\n%s\n", err);
        return 2;
    }
    cm_log_init("publish", cm_settings_str(tool_pub_settings, "ARREARS_LOG_LEVEL"));
    if (cm_clock_init(cm_settings_str(tool_pub_settings, "ARREARS_CLOCK"), err, sizeof(err)) != 0) {
        fprintf(stderr, "arrears-publish: ARREARS_CLOCK: %s\n", err);
        return 2;
    }
    cm_service_signals();
    cm_settings_topic(tool_pub_settings, "inbound", p.topic, sizeof(p.topic));
    if (!p.token)
        p.token = getenv("ARREARS_GATEWAY_TOKEN");
    if (p.http_url && !p.dry_run) {
        if (tool_http_open(&p) != 0) {
            tool_http_close(&p);
            return 2;
        }
    } else if (!p.dry_run) {
        conf = cm_kafka_conf_new(cm_settings_str(tool_pub_settings, "ARREARS_KAFKA_BROKERS"),
                                 "arrears-publish", err, sizeof(err));
        if (!conf || rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)) ||
            rd_kafka_conf_set(conf, "acks", "all", err, sizeof(err)) ||
            rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof(err)) ||
            rd_kafka_conf_set(conf, "compression.codec", "lz4", err, sizeof(err)) ||
            /* 60 s unless ARREARS_KAFKA_MESSAGE_TIMEOUT_MS says otherwise */
            (!getenv("ARREARS_KAFKA_MESSAGE_TIMEOUT_MS") &&
             rd_kafka_conf_set(conf, "message.timeout.ms", "60000", err, sizeof(err)))) {
            fprintf(stderr, "arrears-publish: Kafka configuration: %s\n", err);
            if (conf)
                rd_kafka_conf_destroy(conf);
            return 2;
        }
        rd_kafka_conf_set_opaque(conf, &p);
        rd_kafka_conf_set_dr_msg_cb(conf, tool_on_delivery);
        p.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!p.rk) {
            rd_kafka_conf_destroy(conf);
            fprintf(stderr, "arrears-publish: Kafka producer: %s\n", err);
            return 2;
        }
        conf = NULL; /* owned by p.rk */
        if (!(p.rkt = rd_kafka_topic_new(p.rk, p.topic, NULL))) {
            fprintf(stderr, "arrears-publish: Kafka topic %s: %s\n", p.topic,
                    rd_kafka_err2str(rd_kafka_last_error()));
            rd_kafka_destroy(p.rk);
            return 2;
        }
    }
    if (nfiles == 0)
        files[nfiles++] = "-";
    for (int i = 0; i < nfiles && cm_service_run; i++) {
        FILE *f = strcmp(files[i], "-") ? fopen(files[i], "r") : stdin;
        int rc;
        p.fname = strcmp(files[i], "-") ? files[i] : "<stdin>";
        p.fnames[i] = p.fname;
        p.fidx = i;
        if (!f) {
            fprintf(stderr, "arrears-publish: %s: %s\n", files[i], strerror(errno));
            status = 2;
            break;
        }
        rc = tool_publish_file(&p, f, format);
        if (f != stdin)
            fclose(f);
        if (rc == -2) {
            status = 2;
            break;
        }
        if (rc != 0)
            break;
    }
    if (p.curl) {
        /* the last, partial batch (not after a 401 or an interrupt) */
        if (!p.http_stop && cm_service_run)
            tool_http_flush(&p);
        tool_http_close(&p);
    }
    if (p.rk) {
        /* Every record queued so far gets its report (or times out). */
        int64_t deadline = cm_clock_real_ms() + 90000;
        while (rd_kafka_outq_len(p.rk) > 0 && cm_clock_real_ms() < deadline) {
            rd_kafka_flush(p.rk, 500);
            tool_progress(&p, 0);
        }
        if (rd_kafka_outq_len(p.rk) > 0) {
            fprintf(stderr, "arrears-publish: %d record(s) still undelivered after 90 s\n",
                    rd_kafka_outq_len(p.rk));
            p.failed += (uint64_t)rd_kafka_outq_len(p.rk);
        }
        rd_kafka_topic_destroy(p.rkt);
        p.rkt = NULL;
        rd_kafka_destroy(p.rk);
        p.rk = NULL;
    }
    fprintf(stderr,
            "arrears-publish: %" PRIu64 " read, %" PRIu64 " published, %" PRIu64
            " delivered, %" PRIu64 " rejected, %" PRIu64 " failed delivery%s\n",
            p.read, p.published, p.delivered, p.rejected, p.failed,
            cm_service_run ? "" : " (interrupted)");
    cm_json_free(p.reader);
    cm_tz_cache_free();
    if (status)
        return status;
    if (!cm_service_run)
        return 130;
    return p.rejected || p.failed || p.published != p.delivered ? 1 : 0;
}
