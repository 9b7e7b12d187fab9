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

typedef struct ntf_send_result {
    void *tag;
    int gate_refused;       /* an email aborted at its gate: its claim is not ours */
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

/* The email gate. An SMTP server takes a message only with the "." that
 * ends DATA; a client that dies before it leaves the server nothing. So,
 * once a keeper is set, every email transfer stops before its last byte,
 * and the sender thread calls keep(opaque, tag, ok) for the transfers
 * waiting so, one at a time (libcurl ends an SMTP message synchronously,
 * sender.c). The keeper decides (the notifier: is the claim still ours?),
 * and when it sets *ok 1 it has also *written* the email's point of no
 * return towards its durable store (Redis, on a connection of its own,
 * claims.h) without waiting for the reply; the sender then opens the gate
 * at once (the last byte and the "." go out) and calls kept(opaque, tag),
 * which reads the record's reply. *ok 0 aborts the transfer (its result
 * comes with gate_refused). Returning -1 (it could not decide: Redis
 * down) leaves the transfer waiting; it is asked again 100 ms later, until
 * the transfer's timeout. Writing the record and the "." back to back, on
 * the sender thread, leaves between them only this thread's own
 * microseconds of work, not a Redis round trip: a crash exactly there
 * answers a message as sent that the server never got (docs/notifier.md).
 * Set it before the first start; keep NULL: no gate. */
typedef int (*ntf_gate_fn)(void *opaque, void *tag, int *ok);
typedef void (*ntf_gate_kept_fn)(void *opaque, void *tag);
void ntf_sender_set_gate(ntf_sender *s, ntf_gate_fn keep, ntf_gate_kept_fn kept, void *opaque);

/* Calls done for every finished transfer, waiting up to wait_ms for one
 * when none has finished yet. Returns how many finished. */
int ntf_sender_run(ntf_sender *s, int wait_ms, ntf_send_done_fn done, void *opaque);

#endif
