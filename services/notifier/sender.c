/* sender.c -- concurrent sends over libcurl's multi interface.
 *
 * Design: the notifier is one thread; curl_multi_poll() is where it waits
 * when transfers are in flight. Easy handles are kept in a free list
 * (curl_easy_reset keeps their connection-independent state cheap), and
 * CURLMOPT_MAXCONNECTS sizes the shared connection cache so a steady
 * stream to one provider reuses its keep-alive connections. */
#include "sender.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "retry.h"

typedef struct xfer {
    struct xfer *next_free;          /* free list */
    struct xfer *prev, *next;        /* active list */
    CURL *easy;
    struct curl_slist *hdrs, *rcpt;
    const ntf_request *req;
    size_t off;
    void *tag;
    char errbuf[CURL_ERROR_SIZE];
    char retry_after[64];
    char body[200];
    size_t body_len;
} xfer;

struct ntf_sender {
    CURLM *multi;
    ntf_sender_opts o;
    xfer *free_list;
    xfer *active;
    int inflight;
};

ntf_sender *ntf_sender_new(const ntf_sender_opts *o, char *errstr, size_t errlen)
{
    ntf_sender *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    s->o = *o;
    s->multi = curl_multi_init();
    if (!s->multi) {
        snprintf(errstr, errlen, "curl_multi_init failed");
        free(s);
        return NULL;
    }
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS,
                      (long)(o->max_connections > 0 ? o->max_connections : 256));
    return s;
}

static void xfer_destroy(xfer *x)
{
    curl_slist_free_all(x->hdrs);
    curl_slist_free_all(x->rcpt);
    if (x->easy)
        curl_easy_cleanup(x->easy);
    free(x);
}

void ntf_sender_free(ntf_sender *s)
{
    if (!s)
        return;
    while (s->active) {
        xfer *x = s->active;
        s->active = x->next;
        curl_multi_remove_handle(s->multi, x->easy);
        xfer_destroy(x);
    }
    while (s->free_list) {
        xfer *x = s->free_list;
        s->free_list = x->next_free;
        xfer_destroy(x);
    }
    curl_multi_cleanup(s->multi);
    free(s);
}

int ntf_sender_inflight(const ntf_sender *s)
{
    return s->inflight;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    size_t want = size * nitems, left = x->req->body_len - x->off;
    size_t n = want < left ? want : left;
    memcpy(buf, x->req->body + x->off, n);
    x->off += n;
    return n;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb, room = sizeof x->body - 1 - x->body_len;
    size_t c = n < room ? n : room;
    memcpy(x->body + x->body_len, ptr, c);
    x->body_len += c;
    x->body[x->body_len] = 0;
    return n;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    size_t n = size * nitems;
    if (n > 12 && strncasecmp(buf, "retry-after:", 12) == 0) {
        size_t v = n - 12 < sizeof x->retry_after - 1 ? n - 12 : sizeof x->retry_after - 1;
        memcpy(x->retry_after, buf + 12, v);
        x->retry_after[v] = 0;
        char *e = x->retry_after + strlen(x->retry_after);
        while (e > x->retry_after && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
            *--e = 0;
    }
    return n;
}

int ntf_sender_start(ntf_sender *s, const ntf_request *req, int64_t now_s, void *tag,
                     char *errstr, size_t errlen)
{
    xfer *x = s->free_list;
    if (x) {
        s->free_list = x->next_free;
        curl_easy_reset(x->easy);
    } else {
        x = calloc(1, sizeof *x);
        if (!x || !(x->easy = curl_easy_init())) {
            free(x);
            snprintf(errstr, errlen, "out of memory (curl handle)");
            return -1;
        }
    }
    curl_slist_free_all(x->hdrs);
    curl_slist_free_all(x->rcpt);
    x->hdrs = x->rcpt = NULL;
    x->next_free = NULL;
    x->req = req;
    x->off = 0;
    x->tag = tag;
    x->errbuf[0] = x->retry_after[0] = x->body[0] = 0;
    x->body_len = 0;

    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, s->o.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, s->o.timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    if (s->o.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (req->user) {
        curl_easy_setopt(e, CURLOPT_USERNAME, req->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, req->password ? req->password : "");
    }
    if (req->channel == NTF_CH_EMAIL) {
        x->rcpt = curl_slist_append(NULL, req->rcpt);
        if (!x->rcpt)
            goto oom;
        curl_easy_setopt(e, CURLOPT_MAIL_FROM, req->mail_from);
        curl_easy_setopt(e, CURLOPT_MAIL_RCPT, x->rcpt);
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(e, CURLOPT_READDATA, x);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(e, CURLOPT_USE_SSL, s->o.smtp_tls == 2   ? (long)CURLUSESSL_ALL
                                             : s->o.smtp_tls == 1 ? (long)CURLUSESSL_TRY
                                                                  : (long)CURLUSESSL_NONE);
    } else {
        x->hdrs = ntf_request_headers(req, now_s);
        if (!x->hdrs)
            goto oom;
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(e, CURLOPT_USERAGENT, "arrears-notifier/" ARREARS_VERSION);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
        if (req->user)
            curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    }
    if (curl_multi_add_handle(s->multi, e) != CURLM_OK) {
        snprintf(errstr, errlen, "curl_multi_add_handle failed");
        x->next_free = s->free_list;
        s->free_list = x;
        return -1;
    }
    x->prev = NULL;
    x->next = s->active;
    if (s->active)
        s->active->prev = x;
    s->active = x;
    s->inflight++;
    return 0;
oom:
    snprintf(errstr, errlen, "out of memory (request headers)");
    x->next_free = s->free_list;
    s->free_list = x;
    return -1;
}

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int collect(ntf_sender *s, ntf_send_done_fn done, void *opaque)
{
    int n = 0, left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        xfer *x = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
        ntf_send_result r;
        memset(&r, 0, sizeof r);
        r.tag = x->tag;
        r.curl_code = (int)m->data.result;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
        r.retry_after_ms = x->retry_after[0] ? ntf_retry_after_parse(x->retry_after, wall_ms())
                                             : -1;
        if (r.curl_code != CURLE_OK)
            snprintf(r.error, sizeof r.error, "%s",
                     x->errbuf[0] ? x->errbuf : curl_easy_strerror(m->data.result));
        else
            snprintf(r.error, sizeof r.error, "%s", x->body);
        curl_multi_remove_handle(s->multi, e);
        if (x->prev)
            x->prev->next = x->next;
        else
            s->active = x->next;
        if (x->next)
            x->next->prev = x->prev;
        s->inflight--;
        x->req = NULL;
        x->next_free = s->free_list;
        s->free_list = x;
        done(opaque, &r);
        n++;
    }
    return n;
}

int ntf_sender_run(ntf_sender *s, int wait_ms, ntf_send_done_fn done, void *opaque)
{
    int running = 0;
    curl_multi_perform(s->multi, &running);
    int n = collect(s, done, opaque);
    if (n == 0 && wait_ms > 0 && s->inflight > 0) {
        curl_multi_poll(s->multi, NULL, 0, wait_ms, NULL);
        curl_multi_perform(s->multi, &running);
        n = collect(s, done, opaque);
    }
    return n;
}
