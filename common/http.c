/* http.c -- /healthz, /readyz and /metrics on libmicrohttpd.
 *
 * libmicrohttpd runs one internal polling thread; the handlers only read
 * atomics (readiness) and render metrics, so they never block the service. */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "metrics.h"

#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

struct cm_http {
    struct MHD_Daemon *d;
    cm_http_ready_fn ready;
    void *opaque;
    int port;
};

static mhd_result reply(struct MHD_Connection *c, unsigned code, const char *type, char *body,
                        size_t len, int free_body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, free_body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    mhd_result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static mhd_result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                          const char *version, const char *upload, size_t *upload_size,
                          void **con_cls)
{
    cm_http *h = cls;
    (void)version;
    (void)upload;
    (void)con_cls;
    if (*upload_size) {
        *upload_size = 0; /* ignore bodies */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, 405, "text/plain", "method not allowed\n", 19, 0);
    if (strcmp(url, "/healthz") == 0)
        return reply(c, 200, "text/plain", "ok\n", 3, 0);
    if (strcmp(url, "/readyz") == 0) {
        char why[600] = "";
        if (!h->ready || h->ready(h->opaque, why, sizeof(why))) {
            if (!why[0])
                return reply(c, 200, "text/plain", "ready\n", 6, 0);
            char ok[620];
            int n = snprintf(ok, sizeof(ok), "ready\n%s\n", why);
            return reply(c, 200, "text/plain", ok, n > 0 && (size_t)n < sizeof(ok) ? (size_t)n : 6,
                         0);
        }
        char body[640];
        int n = snprintf(body, sizeof(body), "not ready: %s\n", why);
        return reply(c, 503, "text/plain", body, (size_t)n, 0);
    }
    if (strcmp(url, "/metrics") == 0) {
        size_t len = 0;
        char *m = cm_metrics_render(&len);
        if (!m)
            return reply(c, 500, "text/plain", "out of memory\n", 14, 0);
        return reply(c, 200, "text/plain; version=0.0.4", m, len, 1);
    }
    return reply(c, 404, "text/plain", "not found\n", 10, 0);
}

int cm_http_sockaddr(const char *addr, struct sockaddr_in *sa, char *errstr, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof(host)) {
        snprintf(errstr, errlen, "'%s' is not host:port", addr);
        return -1;
    }
    snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(colon + 1));
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        snprintf(errstr, errlen, "host '%s' is not an IPv4 address", host);
        return -1;
    }
    return 0;
}

cm_http *cm_http_start(const char *addr, cm_http_ready_fn ready, void *opaque, char *errstr,
                       size_t errlen)
{
    struct sockaddr_in sa;
    cm_http *h = NULL;
    char why[300];

    if (errlen)
        errstr[0] = 0;
    if (!addr || !*addr)
        return NULL;
    if (cm_http_sockaddr(addr, &sa, why, sizeof(why)) != 0) {
        snprintf(errstr, errlen, "ARREARS_HTTP_ADDR: %s", why);
        return NULL;
    }
    h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    h->ready = ready;
    h->opaque = opaque;
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            (MHD_AccessHandlerCallback)handler, h, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (!h->d) {
        snprintf(errstr, errlen, "cannot listen on %s (address in use?)", addr);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : ntohs(sa.sin_port);
    return h;
}

int cm_http_port(const cm_http *h)
{
    return h ? h->port : 0;
}

void cm_http_stop(cm_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}
