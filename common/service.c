/* service.c -- signals and readiness shared by every service's main(). */
#include "service.h"

#include <stdio.h>
#include <string.h>

volatile sig_atomic_t cm_service_run = 1;

static void on_signal(int sig)
{
    (void)sig;
    cm_service_run = 0;
}

void cm_service_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

void cm_service_ready_init(cm_service_ready *r)
{
    atomic_init(&r->kafka_ok, 0);
    atomic_init(&r->redis_ok, 0);
    atomic_init(&r->extra_ok, 1);
    r->extra_why[0] = 0;
}

int cm_service_ready_fn(void *opaque, char *why, size_t whylen)
{
    cm_service_ready *r = opaque;
    if (!atomic_load(&r->kafka_ok)) {
        snprintf(why, whylen, "kafka: not connected or no partitions assigned");
        return 0;
    }
    if (!atomic_load(&r->redis_ok)) {
        snprintf(why, whylen, "redis: not connected");
        return 0;
    }
    if (!atomic_load(&r->extra_ok)) {
        snprintf(why, whylen, "%s", r->extra_why);
        return 0;
    }
    return 1;
}
