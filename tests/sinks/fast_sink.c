/* fast_sink.c -- a minimal, fast HTTP sink for the notifier benchmark.
 *
 *   fast_sink [--port N] [--port-file FILE] [--threads N] [--status CODE]
 *
 * libmicrohttpd (epoll, a thread pool, keep-alive): answers every request
 * with CODE (200) and a fixed small JSON body, after reading the request
 * body. Stores nothing; counts requests and body bytes, served at
 * GET /_sink/stats as {"requests":N,"bytes":N}. Prints
 * "fast-sink listening on 127.0.0.1:PORT", writes the port to FILE and runs
 * until SIGTERM/SIGINT. It is the "provider" both the notifier and wrk hit
 * in `make bench-notifier`, and must out-run both (bench/notifier/run
 * measures its CPU share to show it does).
 *
 * Build: cc -O2 -o fast_sink tests/sinks/fast_sink.c -lmicrohttpd -lpthread
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong requests, bytes;
static volatile sig_atomic_t stop;
static struct MHD_Response *ok_resp;
static unsigned status = 200;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    (void)upload;
    static int marker;
    if (*con_cls == NULL) {
        *con_cls = &marker;
        return MHD_YES;
    }
    if (*upload_size) {
        atomic_fetch_add(&bytes, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/_sink/stats") == 0) {
        char buf[128];
        int n = snprintf(buf, sizeof buf, "{\"requests\":%lu,\"bytes\":%lu}\n",
                         atomic_load(&requests), atomic_load(&bytes));
        struct MHD_Response *r =
            MHD_create_response_from_buffer((size_t)n, buf, MHD_RESPMEM_MUST_COPY);
        enum MHD_Result rc = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return rc;
    }
    atomic_fetch_add(&requests, 1);
    return MHD_queue_response(c, status, ok_resp);
}

int main(int argc, char **argv)
{
    unsigned port = 0, threads = 2;
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--status") && i + 1 < argc)
            status = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
            port_file = argv[++i];
        else {
            fprintf(stderr, "usage: fast_sink [--port N] [--port-file F] [--threads N] "
                            "[--status CODE]\n");
            return 2;
        }
    }
    static const char body[] = "{\"sid\":\"SM0\",\"status\":\"queued\"}";
    ok_resp =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(ok_resp, "Content-Type", "application/json");
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_POLL_INTERNAL_THREAD, (uint16_t)port, NULL, NULL, handler, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, 8192u,
        MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "fast_sink: cannot listen on port %u\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    port = info ? info->port : port;
    if (port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, port_file)) {
            fprintf(stderr, "fast_sink: cannot write %s\n", port_file);
            return 1;
        }
    }
    printf("fast-sink listening on 127.0.0.1:%u\n", port);
    fflush(stdout);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    MHD_destroy_response(ok_resp);
    fprintf(stderr, "fast_sink: %lu requests\n", atomic_load(&requests));
    return 0;
}
