/* listen.h -- the public listener: libmicrohttpd in front of gw_handle. */
#ifndef GW_LISTEN_H
#define GW_LISTEN_H

#include "gateway.h"

typedef struct gw_listener gw_listener;

/* Listens on addr ("host:port", port 0: any) with one thread per
 * connection; cfg must outlive the listener. NULL with errstr. */
gw_listener *gw_listen(const char *addr, const gw_config *cfg, char *errstr, size_t errlen);
int gw_listener_port(const gw_listener *l);
/* Stops accepting connections (drain); requests in hand go on. */
void gw_listener_quiesce(gw_listener *l);
/* Requests being read or answered now. */
int gw_listener_inflight(const gw_listener *l);
void gw_listener_stop(gw_listener *l);

#endif
