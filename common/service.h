/* service.h -- what every service's main() shares: signals and readiness.
 *
 * cm_service_signals() traps SIGTERM (Kubernetes) and SIGINT, clearing
 * cm_service_run, and ignores SIGPIPE. The loop polls with a short timeout
 * while cm_service_run is set, then drains, flushes and commits. */
#ifndef CM_SERVICE_H
#define CM_SERVICE_H

#include <signal.h>
#include <stdatomic.h>

extern volatile sig_atomic_t cm_service_run;

void cm_service_signals(void);

/* Readiness published by the loop and read by the HTTP thread. */
typedef struct cm_service_ready {
    atomic_int kafka_ok;    /* partitions assigned or producer connected */
    atomic_int redis_ok;
    atomic_int extra_ok;    /* service-specific (1 when unused) */
    char extra_why[128];    /* written before extra_ok is cleared */
} cm_service_ready;

void cm_service_ready_init(cm_service_ready *r);
/* A cm_http_ready_fn over a cm_service_ready. */
int cm_service_ready_fn(void *opaque, char *why, size_t whylen);

#endif
