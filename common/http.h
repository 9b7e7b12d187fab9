/* http.h -- the health and metrics listener (libmicrohttpd).
 *
 * Design: libmicrohttpd (Debian's libmicrohttpd12) runs its own thread and
 * handles HTTP/1.1 parsing, keep-alive and timeouts, which a hand-written
 * listener would get wrong at the edges. Routes:
 *   GET /healthz  200 "ok" while the process runs
 *   GET /readyz   200 "ready", or 503 with the reason from the ready callback
 *   GET /metrics  Prometheus text (metrics.h)
 * The ready callback runs on the listener thread: it must only read state
 * that the service publishes atomically. */
#ifndef CM_HTTP_H
#define CM_HTTP_H

#include <stddef.h>

/* Returns 1 when ready (why may then hold a line the answer adds after
 * "ready"); else 0 and a reason in why. */
typedef int (*cm_http_ready_fn)(void *opaque, char *why, size_t whylen);

typedef struct cm_http cm_http;

/* addr "host:port" (port 0 picks a free one). Empty addr: returns NULL
 * without error (errstr[0] == 0). */
cm_http *cm_http_start(const char *addr, cm_http_ready_fn ready, void *opaque, char *errstr,
                       size_t errlen);
int cm_http_port(const cm_http *h);
/* "host:port" (IPv4 or localhost; port 0 = any) into sa: 0, or -1 with
 * errstr. Shared with the gateway's public listener. */
struct sockaddr_in;
int cm_http_sockaddr(const char *addr, struct sockaddr_in *sa, char *errstr, size_t errlen);
void cm_http_stop(cm_http *h);

#endif
