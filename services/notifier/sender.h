/* sender.h -- concurrent sends over libcurl's multi interface.
 *
 * A sender thread drives every transfer (SMTP and HTTP) with one multi
 * handle; easy handles are pooled and reset, and the multi handle's
 * connection cache keeps connections to each provider open between sends.
 * start() and run() are called from one (the pipeline's) thread; the
 * number of transfers at once is the caller's to bound (inflight()).
 * A request passed to start() is borrowed and must outlive the transfer:
 * until its result came back through run(), or ntf_sender_free(). */
#ifndef NTF_SENDER_H
#define NTF_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "message.h"

typedef struct ntf_sender_opts {
    int max_connections; /* connection cache size */
    long connect_timeout_ms;
    long timeout_ms; /* whole transfer */
    int smtp_tls;    /* 0 none, 1 STARTTLS when offered, 2 required */
    int insecure;    /* skip TLS verification (tests only) */
} ntf_sender_opts;

/* The gate of one email transfer (ntf_sender_gate): which transfer, and
 * which use of it. */
typedef struct ntf_gate {
    void *x;
    uint64_t gen;
} ntf_gate;

typedef struct ntf_send_result {
    void *tag;
    int at_gate;            /* 1: not finished: an email waits at its gate (below) */
    ntf_gate gate;          /* at_gate: what to pass to ntf_sender_gate */
    int curl_code;          /* CURLcode */
    long status;            /* HTTP status or last SMTP reply code */
    int64_t retry_after_ms; /* -1: none */
    char error[256];        /* curl's message, or the start of the response body */
} ntf_send_result;

typedef void (*ntf_send_done_fn)(void *opaque, const ntf_send_result *r);

typedef struct ntf_sender ntf_sender;

ntf_sender *ntf_sender_new(const ntf_sender_opts *o, char *errstr, size_t errlen);
/* Stops the thread and aborts transfers still running (their done
 * callbacks are not called). Free it before the requests it borrows. */
void ntf_sender_free(ntf_sender *s);

/* Starts one attempt of req at now_s (webhook timestamp); tag comes back
 * in the result. -1 with errstr when it cannot start (out of memory). */
int ntf_sender_start(ntf_sender *s, const ntf_request *req, int64_t now_s, void *tag, char *errstr,
                     size_t errlen);
int ntf_sender_inflight(const ntf_sender *s);

/* The email gate. An SMTP message is delivered only when the client
 * sends the final "." of DATA; before it, a client that dies leaves the
 * server nothing. So every email transfer stops before its last byte and
 * reports at_gate through run(); the caller makes its point of no return
 * durable (the notifier writes it into Redis, claims.h) and then opens the
 * gate (go = 1): the last byte and the "." go out. go = 0 aborts the
 * transfer (its result comes as a failure). A gate of a transfer that
 * ended meanwhile (timeout) is ignored. */
void ntf_sender_gate(ntf_sender *s, ntf_gate g, int go);

/* Calls done for every finished transfer, and every email that reached
 * its gate, waiting up to wait_ms for one when there is none yet. Returns
 * how many it passed. */
int ntf_sender_run(ntf_sender *s, int wait_ms, ntf_send_done_fn done, void *opaque);

#endif
