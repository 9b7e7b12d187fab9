/* sender.c -- concurrent sends over libcurl's multi interface, on a
 * thread of their own.
 *
 * Design: the pipeline's thread blocks on Redis and Kafka round trips;
 * transfers must not wait for those. So one sender thread owns the multi
 * handle and every easy handle, and waits in curl_multi_poll(); the
 * pipeline hands it requests through a mutex-guarded list (and
 * curl_multi_wakeup) and takes results from another, waiting on a
 * condition variable when it has nothing else to do. A request stays
 * owned by the caller and untouched until its result has been taken.
 * Easy handles are pooled (curl_easy_reset), and CURLMOPT_MAXCONNECTS
 * sizes the shared connection cache so a steady stream to one provider
 * reuses its keep-alive connections. An SMTP transfer pauses before its
 * last body byte (CURL_READFUNC_PAUSE) at its gate; after each
 * curl_multi_perform this thread asks the keeper about the transfers
 * waiting so, one at a time, and resumes each (curl_easy_pause, which only
 * the thread driving the multi handle may call) before the next. */
#include "sender.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "clock.h"
#include "retry.h"

typedef enum { GATE_NONE, GATE_WAITING, GATE_OPEN, GATE_ABORT } gate_state;

typedef struct xfer {
    struct ntf_sender *s;
    struct xfer *next_free;   /* free list */
    struct xfer *prev, *next; /* active list */
    CURL *easy;
    struct curl_slist *hdrs, *rcpt;
    const ntf_request *req;
    size_t off;
    void *tag;
    char errbuf[CURL_ERROR_SIZE];
    char retry_after[64];
    char body[200];
    size_t body_len;
    gate_state gate;
    int gated;   /* an SMTP transfer with a keeper: it stops at its gate */
    int refused; /* aborted at its gate */
} xfer;

typedef struct work {
    struct work *next;
    const ntf_request *req;
    int64_t now_s;
    void *tag;
} work;

typedef struct result_node {
    struct result_node *next;
    ntf_send_result r;
} result_node;

struct ntf_sender {
    ntf_sender_opts o;
    CURLM *multi;
    xfer *free_list, *active; /* sender thread only */
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    work *in_head, *in_tail;          /* mu */
    result_node *out_head, *out_tail; /* mu */
    ntf_gate_fn keep;                 /* the gate's keeper (set before the first start) */
    ntf_gate_kept_fn kept;            /* and its second half, after the "." */
    void *keep_opaque;
    int gates_waiting;     /* sender thread only */
    int64_t gate_retry_ms; /* sender thread only: the keeper failed, ask then */
    int stop;              /* mu */
    int inflight;          /* caller's thread only */
};

static void *sender_main(void *arg);

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
    pthread_mutex_init(&s->mu, NULL);
    cm_mono_cond_init(&s->cv);
    if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
        snprintf(errstr, errlen, "cannot start the sender thread");
        curl_multi_cleanup(s->multi);
        free(s);
        return NULL;
    }
    s->started = 1;
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
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_mutex_unlock(&s->mu);
        curl_multi_wakeup(s->multi);
        pthread_join(s->thread, NULL);
    }
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
    while (s->in_head) {
        work *w = s->in_head;
        s->in_head = w->next;
        free(w);
    }
    while (s->out_head) {
        result_node *r = s->out_head;
        s->out_head = r->next;
        free(r);
    }
    curl_multi_cleanup(s->multi);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

int ntf_sender_inflight(const ntf_sender *s)
{
    return s->inflight;
}

/* The body, holding back its last byte until the gate is open (sender.h):
 * without it, and without the "." libcurl sends after it, the server has
 * no message. Holding a byte rather than the end-of-file keeps the gate
 * whether or not libcurl asks for the end of a body of known length. */
static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    size_t want = size * nitems, left = x->req->body_len - x->off;
    if (x->gate == GATE_ABORT)
        return CURL_READFUNC_ABORT;
    if (x->gated && x->gate != GATE_OPEN && left > 0) {
        if (left == 1) {
            if (x->gate == GATE_NONE) {
                x->gate = GATE_WAITING;
                x->s->gates_waiting++;
            }
            return CURL_READFUNC_PAUSE;
        }
        left--;
    }
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

/* Sender thread: sets up and adds one transfer. */
static int setup(ntf_sender *s, const ntf_request *req, int64_t now_s, void *tag, char *errstr,
                 size_t errlen)
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
    x->s = s;
    x->req = req;
    x->off = 0;
    x->tag = tag;
    x->gate = GATE_NONE;
    x->gated = 0;
    x->refused = 0;
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
    if (req->channel == CT_CH_EMAIL) {
        x->rcpt = curl_slist_append(NULL, req->rcpt);
        if (!x->rcpt)
            goto oom;
        curl_easy_setopt(e, CURLOPT_MAIL_FROM, req->mail_from);
        curl_easy_setopt(e, CURLOPT_MAIL_RCPT, x->rcpt);
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        x->gated = s->keep != NULL;
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(e, CURLOPT_READDATA, x);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(e, CURLOPT_USE_SSL,
                         s->o.smtp_tls == 2   ? (long)CURLUSESSL_ALL
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

/* Sender thread: finished transfers into results (appended to *list). */
static void collect(ntf_sender *s, result_node **head, result_node **tail)
{
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        xfer *x = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
        result_node *n = calloc(1, sizeof *n);
        if (n) {
            ntf_send_result *r = &n->r;
            r->tag = x->tag;
            r->gate_refused = x->refused;
            r->curl_code = (int)m->data.result;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
            r->retry_after_ms =
                x->retry_after[0] ? ntf_retry_after_parse(x->retry_after, wall_ms()) : -1;
            if (r->curl_code != CURLE_OK)
                snprintf(r->error, sizeof r->error, "%s",
                         x->errbuf[0] ? x->errbuf : curl_easy_strerror(m->data.result));
            else
                snprintf(r->error, sizeof r->error, "%s", x->body);
            if (*tail)
                (*tail)->next = n;
            else
                *head = n;
            *tail = n;
        }
        /* without memory for the result the tag would be lost for good: a
         * calloc failure here is fatal in all but name, so it is not
         * handled further */
        curl_multi_remove_handle(s->multi, e);
        if (x->prev)
            x->prev->next = x->next;
        else
            s->active = x->next;
        if (x->next)
            x->next->prev = x->prev;
        if (x->gate == GATE_WAITING) /* it timed out at its gate */
            s->gates_waiting--;
        x->req = NULL;
        x->gate = GATE_NONE;
        x->next_free = s->free_list;
        s->free_list = x;
    }
}

/* Sender thread: asks the keeper about the transfers waiting at their
 * gates, one at a time, and opens (or aborts) each at once, its "." sent by
 * the curl_multi_perform right after; then lets the keeper read its
 * record's reply (sender.h). One at a time because libcurl ends an SMTP
 * message synchronously (smtp_done sends the "." and waits for the reply
 * inside curl_multi_perform): gates recorded together would see their
 * "."s go out one reply after another, each recorded long before its "."
 * -- the window the gate exists to close. */
static void keep_gates(ntf_sender *s, int *running)
{
    while (s->gates_waiting > 0 && cm_mono_ms() >= s->gate_retry_ms) {
        xfer *x = s->active;
        while (x && x->gate != GATE_WAITING)
            x = x->next;
        if (!x) { /* cannot happen: the count follows the states */
            s->gates_waiting = 0;
            break;
        }
        int ok = 0;
        if (s->keep(s->keep_opaque, x->tag, &ok) < 0) {
            s->gate_retry_ms = cm_mono_ms() + 100;
            break;
        }
        x->gate = ok ? GATE_OPEN : GATE_ABORT;
        x->refused = !ok;
        s->gates_waiting--;
        void *tag = x->tag; /* x may be done and reused after the perform */
        curl_easy_pause(x->easy, CURLPAUSE_CONT);
        curl_multi_perform(s->multi, running); /* its last byte and "." */
        if (ok && s->kept)
            s->kept(s->keep_opaque, tag);
    }
}

static void push_results(ntf_sender *s, result_node *head, result_node *tail)
{
    if (!head)
        return;
    pthread_mutex_lock(&s->mu);
    if (s->out_tail)
        s->out_tail->next = head;
    else
        s->out_head = head;
    s->out_tail = tail;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void *sender_main(void *arg)
{
    ntf_sender *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        work *in = s->in_head;
        s->in_head = s->in_tail = NULL;
        int stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop) {
            while (in) {
                work *w = in;
                in = w->next;
                free(w);
            }
            break;
        }
        result_node *head = NULL, *tail = NULL;
        while (in) {
            work *w = in;
            in = w->next;
            char err[200];
            if (setup(s, w->req, w->now_s, w->tag, err, sizeof err) < 0) {
                result_node *n = calloc(1, sizeof *n);
                if (n) {
                    n->r.tag = w->tag;
                    n->r.curl_code = CURLE_AGAIN; /* retried like a transient error */
                    n->r.retry_after_ms = -1;
                    snprintf(n->r.error, sizeof n->r.error, "%s", err);
                    if (tail)
                        tail->next = n;
                    else
                        head = n;
                    tail = n;
                }
            }
            free(w);
        }
        int running = 0;
        curl_multi_perform(s->multi, &running);
        keep_gates(s, &running);
        collect(s, &head, &tail);
        push_results(s, head, tail);
        curl_multi_poll(s->multi, NULL, 0, s->gates_waiting > 0 ? 100 : 1000, NULL);
    }
    return NULL;
}

int ntf_sender_start(ntf_sender *s, const ntf_request *req, int64_t now_s, void *tag, char *errstr,
                     size_t errlen)
{
    work *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    w->req = req;
    w->now_s = now_s;
    w->tag = tag;
    pthread_mutex_lock(&s->mu);
    if (s->in_tail)
        s->in_tail->next = w;
    else
        s->in_head = w;
    s->in_tail = w;
    pthread_mutex_unlock(&s->mu);
    curl_multi_wakeup(s->multi);
    s->inflight++;
    return 0;
}

void ntf_sender_set_gate(ntf_sender *s, ntf_gate_fn keep, ntf_gate_kept_fn kept, void *opaque)
{
    s->keep = keep;
    s->kept = kept;
    s->keep_opaque = opaque;
}

int ntf_sender_run(ntf_sender *s, int wait_ms, ntf_send_done_fn done, void *opaque)
{
    pthread_mutex_lock(&s->mu);
    if (!s->out_head && wait_ms > 0 && s->inflight > 0) {
        struct timespec ts;
        cm_mono_deadline(wait_ms, &ts);
        while (!s->out_head)
            if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0)
                break;
    }
    result_node *list = s->out_head;
    s->out_head = s->out_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    int n = 0;
    while (list) {
        result_node *r = list;
        list = r->next;
        s->inflight--;
        done(opaque, &r->r);
        free(r);
        n++;
    }
    return n;
}
