/* http_lib.h -- arrears-publish --http's logic, without the network: the
 * batch it POSTs to the gateway, the gateway's answer, Retry-After and the
 * endpoint URL.
 *
 * Design: tools/publish.c owns the transport (one libcurl handle, kept
 * alive across batches) and the retry loop; what goes into a request and
 * what an answer means is here, in libtools, so that
 * tests/unit/test_tools_http.c tests the functions the binary runs. The
 * wire format is the CloudEvents HTTP binding's batch mode
 * (application/cloudevents-batch+json: a JSON array of structured events);
 * the answers are docs/gateway.md's: 202 or 400 with
 * {"results":[{"id","status","errors":[...]}]}, else 401, 413, 415, 429 or
 * 503 (the last two with Retry-After).
 *
 * Ownership: a batch owns its body and its per-event records; answers are
 * written into the caller's batch (each event's verdict and reason). */
#ifndef TOOL_HTTP_LIB_H
#define TOOL_HTTP_LIB_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define TOOL_HTTP_BATCH_DEFAULT 100
#define TOOL_HTTP_BATCH_MAX     1000 /* the gateway's own cap (docs/gateway.md) */
#define TOOL_HTTP_RETRIES       5    /* 429/503 or a transport error, per batch */
#define TOOL_HTTP_RETRY_CAP_S   60   /* a longer Retry-After is cut to this */

/* One event of a batch: where it came from and what the gateway said. */
typedef struct tool_http_item {
    char id[256];     /* its CloudEvents id ("" when it had none) */
    int input;        /* the caller's input index */
    size_t lineno;    /* its line in that input */
    int failed;       /* set by tool_http_answer */
    char reason[512]; /* why, when failed */
} tool_http_item;

typedef struct tool_http_batch {
    int max, n;
    cm_buf body; /* "[e1,e2,...]" once closed, "[e1,e2" while filling */
    tool_http_item *items;
} tool_http_batch;

/* What to do with a batch after an answer. */
enum tool_http_next {
    TOOL_HTTP_DONE,  /* answered: each item's failed/reason says how it went */
    TOOL_HTTP_RETRY, /* 429 or 503: send it again after the delay */
    TOOL_HTTP_STOP   /* 401: no later batch can succeed either; every item failed */
};

/* max events a batch (1..TOOL_HTTP_BATCH_MAX). 0, or -1 out of memory. */
int tool_http_batch_init(tool_http_batch *b, int max);
void tool_http_batch_free(tool_http_batch *b);
/* Empties the batch for the next events (keeps its memory). */
void tool_http_batch_reset(tool_http_batch *b);
/* Appends one structured-mode event (a JSON object, as read or converted).
 * 1 when the batch is now full, 0 when it has room, -1 out of memory. */
int tool_http_batch_add(tool_http_batch *b, const char *event, size_t len, int input,
                        size_t lineno);
/* The request body: a JSON array of the events added. */
const char *tool_http_batch_body(tool_http_batch *b, size_t *len);

/* Reads the gateway's answer to b: status, body (may be NULL). Marks each
 * item failed with its reason: per event from "results" (matched by id,
 * else by position) on 202 and 400; every item with the status's meaning
 * on any other answer. Returns what to do next. */
enum tool_http_next tool_http_answer(tool_http_batch *b, long status, const char *body, size_t len);

/* Seconds to wait from a Retry-After value (delta-seconds or an IMF-fixdate
 * HTTP-date, RFC 9110 10.2.3) at now (Unix seconds): 0..TOOL_HTTP_RETRY_CAP_S,
 * or dflt when the value is absent or unreadable. */
int tool_http_retry_after(const char *value, int64_t now, int dflt);

/* The URL to POST to: the given one when it has a path, else
 * "<url>/v1/events". 0, or -1 when it is not http(s)://host[...] or does
 * not fit in out. */
int tool_http_events_url(const char *url, char *out, size_t outlen);

#endif
