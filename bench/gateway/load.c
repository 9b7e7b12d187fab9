/* load.c -- the load generator of `make bench-gateway`: POSTs a file of
 * CloudEvents to arrears-gateway as batch requests over a few kept-alive
 * connections and measures events/s from the first request to the last 202.
 *
 *   load URL TOKEN FILE CONNECTIONS BATCH
 *
 * FILE holds one structured CloudEvent per line (what arrears-genledger
 * writes). Before the clock starts, every BATCH lines become one request
 * body with arrears-publish --http's own batch code (tools/http_lib.c:
 * tool_http_batch_*, the URL from tool_http_events_url), so nothing per
 * event is done while measuring. Then CONNECTIONS libcurl easy handles in
 * one multi handle (one thread, keep-alive, no 100-continue) each send a
 * body, and on its answer the next one. A 202's "accepted" count is read
 * from the head of the answer; a short count or any other status is
 * explained with tool_http_answer (the reasons arrears-publish prints) and
 * counted, never retried: a benchmark reports lost events, it does not hide
 * them.
 *
 * Prints one JSON object on stdout: events, requests, seconds (first
 * request started .. last 202 received), events_per_s, accepted, refused,
 * failed_requests, client_cpu_s (this process, from the first request
 * to the last answer: the bodies built before are not counted). Exit 0 when every
 * event was accepted, 1 otherwise, 2 on a usage or setup error.
 *
 * Memory: the bodies (about the file's size) are held for the whole run and
 * freed at exit; the answers are per connection. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "buf.h"
#include "clock.h"
#include "http_lib.h"

#define MAX_CONNECTIONS 256
#define MAX_REPORTS     5 /* failures explained on stderr; the rest only counted */

typedef struct body {
    char *p;
    size_t len, first, n; /* first line (0-based) and number of events */
} body;

typedef struct slot {
    CURL *h;
    size_t body; /* index of the body in flight */
    cm_buf resp;
} slot;

typedef struct run {
    char **lines;
    size_t *lens, nlines;
    body *bodies;
    size_t nbodies;
    int batch;
    size_t accepted, refused, failed_requests, reports;
} run;

static size_t on_body(char *data, size_t size, size_t n, void *opaque)
{
    return cm_buf_add(opaque, data, size * n) == 0 ? size * n : 0;
}

/* Reads FILE's non-empty lines into r. 0, or -1 with a message. */
static int read_lines(run *r, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, room = 0;
    ssize_t len;
    if (!f) {
        perror(path);
        return -1;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0)
            continue;
        if (r->nlines == room) {
            room = room ? room * 2 : 4096;
            char **l = realloc(r->lines, room * sizeof *l);
            size_t *s = l ? realloc(r->lens, room * sizeof *s) : NULL;
            if (l)
                r->lines = l;
            if (!l || !s)
                goto oom;
            r->lens = s;
        }
        if (!(r->lines[r->nlines] = malloc((size_t)len + 1)))
            goto oom;
        memcpy(r->lines[r->nlines], line, (size_t)len + 1);
        r->lens[r->nlines++] = (size_t)len;
    }
    free(line);
    fclose(f);
    return 0;
oom:
    fprintf(stderr, "load: out of memory reading %s\n", path);
    free(line);
    fclose(f);
    return -1;
}

/* Fills b with the events of body i (the batch the request carried). */
static int batch_of(const run *r, size_t i, tool_http_batch *b)
{
    const body *bd = &r->bodies[i];
    tool_http_batch_reset(b);
    for (size_t k = bd->first; k < bd->first + bd->n; k++)
        if (tool_http_batch_add(b, r->lines[k], r->lens[k], 0, k + 1) < 0)
            return -1;
    return 0;
}

/* Every BATCH lines into one request body. 0, or -1 out of memory. */
static int make_bodies(run *r)
{
    tool_http_batch b;
    size_t n = (r->nlines + (size_t)r->batch - 1) / (size_t)r->batch;
    if (tool_http_batch_init(&b, r->batch) != 0 ||
        !(r->bodies = calloc(n ? n : 1, sizeof *r->bodies)))
        goto oom;
    for (size_t i = 0; i < n; i++) {
        body *bd = &r->bodies[i];
        size_t len;
        bd->first = i * (size_t)r->batch;
        bd->n = r->nlines - bd->first < (size_t)r->batch ? r->nlines - bd->first : (size_t)r->batch;
        r->nbodies = i + 1;
        if (batch_of(r, i, &b) != 0)
            goto oom;
        const char *p = tool_http_batch_body(&b, &len);
        if (!p || !(bd->p = malloc(len)))
            goto oom;
        memcpy(bd->p, p, len);
        bd->len = len;
    }
    tool_http_batch_free(&b);
    return 0;
oom:
    fprintf(stderr, "load: out of memory building the request bodies\n");
    tool_http_batch_free(&b);
    return -1;
}

/* Counts the answer to body i and explains a failure on stderr. */
static void answered(run *r, size_t i, long status, const cm_buf *resp)
{
    const body *bd = &r->bodies[i];
    size_t ok = 0;
    const char *acc = status == 202 && resp->p ? strstr(resp->p, "\"accepted\":") : NULL;
    if (acc)
        ok = strtoul(acc + 11, NULL, 10);
    if (ok > bd->n)
        ok = bd->n;
    if (status != 202)
        r->failed_requests++;
    r->accepted += ok;
    r->refused += bd->n - ok;
    if (ok == bd->n || r->reports++ >= MAX_REPORTS)
        return;
    tool_http_batch b;
    if (tool_http_batch_init(&b, r->batch) == 0 && batch_of(r, i, &b) == 0) {
        tool_http_answer(&b, status, resp->p, resp->len);
        for (int k = 0; k < b.n; k++)
            if (b.items[k].failed) {
                fprintf(stderr, "load: HTTP %ld, %zu of %zu accepted; line %zu (%s): %s\n", status,
                        ok, bd->n, b.items[k].lineno, b.items[k].id, b.items[k].reason);
                break;
            }
    }
    tool_http_batch_free(&b);
}

/* user + system CPU seconds of this process so far */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void start(CURLM *m, slot *s, const run *r, size_t i)
{
    s->body = i;
    cm_buf_reset(&s->resp);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, r->bodies[i].p);
    curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->bodies[i].len);
    curl_multi_add_handle(m, s->h);
}

int main(int argc, char **argv)
{
    run r = {0};
    slot slots[MAX_CONNECTIONS];
    char url[2048], auth[1100];
    struct curl_slist *hdr = NULL;
    CURLM *m = NULL;
    int nconn, rc = 2;
    double t0 = 0, t1 = 0;

    memset(slots, 0, sizeof slots);
    if (argc != 6) {
        fprintf(stderr, "usage: load URL TOKEN FILE CONNECTIONS BATCH\n");
        return 2;
    }
    nconn = atoi(argv[4]);
    r.batch = atoi(argv[5]);
    if (nconn < 1 || nconn > MAX_CONNECTIONS || r.batch < 1 || r.batch > TOOL_HTTP_BATCH_MAX ||
        tool_http_events_url(argv[1], url, sizeof url) != 0 || strlen(argv[2]) > 1000) {
        fprintf(stderr, "load: bad URL, token, CONNECTIONS (1..%d) or BATCH (1..%d)\n",
                MAX_CONNECTIONS, TOOL_HTTP_BATCH_MAX);
        return 2;
    }
    if (read_lines(&r, argv[3]) != 0 || make_bodies(&r) != 0)
        goto cleanup;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(m = curl_multi_init()))
        goto cleanup;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[2]);
    hdr = curl_slist_append(hdr, "Content-Type: application/cloudevents-batch+json; charset=utf-8");
    hdr = curl_slist_append(hdr, auth);
    hdr = curl_slist_append(hdr, "Expect:"); /* no 100-continue round trip */
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)nconn);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)nconn);
    for (int k = 0; k < nconn; k++) {
        if (!(slots[k].h = curl_easy_init()))
            goto cleanup;
        curl_easy_setopt(slots[k].h, CURLOPT_URL, url);
        curl_easy_setopt(slots[k].h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(slots[k].h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(slots[k].h, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(slots[k].h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(slots[k].h, CURLOPT_WRITEDATA, &slots[k].resp);
        curl_easy_setopt(slots[k].h, CURLOPT_PRIVATE, &slots[k]);
    }

    size_t next = 0, done = 0;
    double cpu0 = cpu_s();
    t0 = cm_mono_sec();
    for (int k = 0; k < nconn && next < r.nbodies; k++)
        start(m, &slots[k], &r, next++);
    while (done < r.nbodies) {
        int running, left;
        CURLMsg *msg;
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left))) {
            slot *s;
            long status = 0;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            if (msg->data.result == CURLE_OK)
                curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
            else if (r.reports < MAX_REPORTS)
                fprintf(stderr, "load: %s\n", curl_easy_strerror(msg->data.result));
            curl_multi_remove_handle(m, s->h);
            answered(&r, s->body, status, &s->resp);
            if (status == 202)
                t1 = cm_mono_sec();
            done++;
            if (next < r.nbodies)
                start(m, s, &r, next++);
        }
        if (done < r.nbodies)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }

    double cpu = cpu_s() - cpu0;
    double secs = t1 > t0 ? t1 - t0 : 0;
    printf("{\"events\":%zu,\"requests\":%zu,\"connections\":%d,\"batch\":%d,\"seconds\":%.3f,"
           "\"events_per_s\":%.0f,\"accepted\":%zu,\"refused\":%zu,\"failed_requests\":%zu,"
           "\"client_cpu_s\":%.3f}\n",
           r.nlines, r.nbodies, nconn, r.batch, secs, secs > 0 ? (double)r.accepted / secs : 0.0,
           r.accepted, r.refused, r.failed_requests, cpu);
    rc = r.accepted == r.nlines ? 0 : 1;
cleanup:
    for (int k = 0; k < MAX_CONNECTIONS; k++) {
        if (slots[k].h)
            curl_easy_cleanup(slots[k].h);
        cm_buf_free(&slots[k].resp);
    }
    if (m)
        curl_multi_cleanup(m);
    curl_slist_free_all(hdr);
    for (size_t i = 0; i < r.nbodies; i++)
        free(r.bodies[i].p);
    for (size_t i = 0; i < r.nlines; i++)
        free(r.lines[i]);
    free(r.bodies);
    free(r.lines);
    free(r.lens);
    if (m || rc != 2)
        curl_global_cleanup();
    return rc;
}
