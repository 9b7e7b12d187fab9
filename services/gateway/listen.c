/* listen.c -- the public listener on libmicrohttpd.
 *
 * One thread per connection, because a request waits for the broker's
 * acknowledgements before it is answered. The body is read up to
 * max_body (a longer one is drained and answered 413; a Content-Length
 * over the limit is answered at once); headers are bounded by the
 * connection's memory limit (libmicrohttpd answers 431 past it). Every
 * answer (JSON, or the pages' HTML) carries the security headers (GW_CSP);
 * /p/ and /u/ bodies are read up to GW_FORM_MAX. The raw query string is
 * kept from the URI log callback, since a Twilio signature covers it as
 * sent. A connection's thread frees
 * the validator's per-thread state when the connection closes. */
#include "listen.h"
#include "pages.h"

#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "http.h"
#include "proxy.h"

#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

#define MAX_HEADERS 64

struct gw_listener {
    struct MHD_Daemon *d;
    const gw_config *cfg;
    atomic_int inflight;
    int port;
};

typedef struct conn {
    cm_buf body;
    int too_large;
    int started; /* the first call of the handler was made */
    char *query; /* the raw query string (Twilio signs it as sent); NULL: none */
} conn;

typedef struct headers {
    gw_header h[MAX_HEADERS];
    size_t n;
} headers;

static mhd_result collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    headers *hs = cls;
    (void)kind;
    if (hs->n < MAX_HEADERS && key)
        hs->h[hs->n++] = (gw_header){key, value ? value : ""};
    return MHD_YES;
}

static mhd_result respond(struct MHD_Connection *c, gw_answer *a)
{
    static const char fallback[] = "{\"error\":\"out of memory\"}";
    size_t len = a->body.len;
    char *body = cm_buf_take(&a->body, &len);
    struct MHD_Response *r =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(sizeof fallback - 1, (void *)fallback,
                                               MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type",
                            a->content_type ? a->content_type : "application/json");
    MHD_add_response_header(r, "Content-Security-Policy", a->csp ? a->csp : GW_CSP);
    if (a->location)
        MHD_add_response_header(r, "Location", a->location);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (a->retry_after > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", a->retry_after);
        MHD_add_response_header(r, "Retry-After", v);
    }
    if (a->allow)
        MHD_add_response_header(r, "Allow", a->allow);
    if (a->status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    mhd_result ret = MHD_queue_response(c, (unsigned)a->status, r);
    MHD_destroy_response(r);
    return ret;
}

static mhd_result answer(gw_listener *l, struct MHD_Connection *c, const char *url,
                         const char *method, conn *k)
{
    headers hs = {.n = 0};
    gw_answer a;
    char peer[INET6_ADDRSTRLEN] = "", client[INET6_ADDRSTRLEN];
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, peer,
                  sizeof peer);
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect, &hs);
    gw_client_address(l->cfg->proxies, peer, hs.h, hs.n, client, sizeof client);
    gw_request rq = {.method = method,
                     .path = url,
                     .headers = hs.h,
                     .nheaders = hs.n,
                     .body = k->body.p,
                     .body_len = k->body.len,
                     .body_too_large = k->too_large,
                     .now_ms = cm_mono_ms(),
                     .wall_s = cm_clock_real_ms() / 1000,
                     .client = client,
                     .query = k->query,
                     .clock_s = cm_clock_now_ms() / 1000};
    gw_handle(l->cfg, &rq, &a);
    mhd_result r = respond(c, &a);
    gw_answer_free(&a);
    return r;
}

static mhd_result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                          const char *version, const char *upload, size_t *upload_size,
                          void **con_cls)
{
    gw_listener *l = cls;
    conn *k = *con_cls;
    (void)version;
    if (!k || !k->started) {
        if (!k && !(k = calloc(1, sizeof *k)))
            return MHD_NO;
        *con_cls = k;
        k->started = 1;
        atomic_fetch_add(&l->inflight, 1);
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > gw_pages_body_max(url, l->cfg->max_body)) {
            k->too_large = 1;
            return answer(l, c, url, method, k);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!k->too_large && k->body.len + *upload_size <= gw_pages_body_max(url, l->cfg->max_body))
            cm_buf_add(&k->body, upload, *upload_size);
        else
            k->too_large = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    if (k->body.oom)
        k->too_large = 1;
    return answer(l, c, url, method, k);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    gw_listener *l = cls;
    conn *k = *con_cls;
    (void)c;
    (void)toe;
    if (!k)
        return;
    cm_buf_free(&k->body);
    if (k->started)
        atomic_fetch_sub(&l->inflight, 1);
    free(k->query);
    free(k);
    *con_cls = NULL;
}

/* Before the URL is parsed: keeps its raw query string (libmicrohttpd
 * hands the handler only decoded arguments). The conn becomes the
 * request's *con_cls. */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    conn *k = calloc(1, sizeof *k);
    const char *q = uri ? strchr(uri, '?') : NULL;
    if (k && q && !(k->query = strdup(q + 1))) {
        free(k);
        return NULL;
    }
    return k;
}

static void connection(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)c;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
        ct_thread_cleanup(); /* this connection's thread ends */
}

gw_listener *gw_listen(const char *addr, const gw_config *cfg, char *errstr, size_t errlen)
{
    struct sockaddr_in sa;
    char why[300];
    if (cm_http_sockaddr(addr, &sa, why, sizeof why) != 0) {
        snprintf(errstr, errlen, "ARREARS_GATEWAY_ADDR: %s", why);
        return NULL;
    }
    gw_listener *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    l->cfg = cfg;
    atomic_init(&l->inflight, 0);
    l->d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, (MHD_AccessHandlerCallback)handler, l, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_NOTIFY_COMPLETED, completed,
        l, MHD_OPTION_NOTIFY_CONNECTION, connection, l, MHD_OPTION_URI_LOG_CALLBACK, uri_seen, l,
        MHD_OPTION_END);
    if (!l->d) {
        snprintf(errstr, errlen, "cannot listen on %s (address in use?)", addr);
        free(l);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_BIND_PORT);
    l->port = info ? info->port : ntohs(sa.sin_port);
    return l;
}

int gw_listener_port(const gw_listener *l)
{
    return l ? l->port : 0;
}

void gw_listener_quiesce(gw_listener *l)
{
    if (!l || !l->d)
        return;
    MHD_socket fd = MHD_quiesce_daemon(l->d); /* ours to close now */
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

int gw_listener_inflight(const gw_listener *l)
{
    return l ? atomic_load(&l->inflight) : 0;
}

void gw_listener_stop(gw_listener *l)
{
    if (!l)
        return;
    MHD_stop_daemon(l->d);
    free(l);
}
