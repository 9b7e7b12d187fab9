/* gateway.h -- the gateway's parts: credentials, the per-tenant rate
 * limit, the CloudEvents HTTP binding, the request handler and its
 * publishing backend.
 *
 * Design: the request handler (handle.c) is a pure function of one HTTP
 * request (method, path, headers, body) to one answer (status, JSON body,
 * Retry-After); it reads credentials (auth.c) and rate buckets (rate.c),
 * turns the body into CloudEvents of the tenant the credential names
 * (event.c), validates each with the contract's ct_validate (the code
 * ingest runs) and hands the valid ones to a gw_backend, which answers once
 * the broker acknowledged every one (publish.c: Kafka; tests: a double).
 * listen.c is the libmicrohttpd adapter, main.c the settings and hooks.
 *
 * Ownership: a gw_auth owns its entries; a gw_answer owns its body (cm_buf);
 * everything a gw_request points to is borrowed. */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "contract.h"
#include "metrics.h"
#include "validate.h"

/* --- credentials (auth.c) ------------------------------------------------ */

typedef struct gw_cred {
    char tenant[CT_TENANT_MAX + 1];
    int webhook;            /* 0: a bearer token (hash); 1: a webhook secret (key) */
    unsigned char hash[32]; /* SHA-256 of the bearer token */
    unsigned char key[64];  /* the decoded whsec_ secret */
    size_t keylen;
    int bucket; /* index of the tenant's rate bucket */
} gw_cred;

typedef struct gw_bucket {
    double tokens;   /* may go below zero: a batch larger than what is left */
    int64_t last_ms; /* last refill (monotonic ms); 0: never used (full) */
} gw_bucket;

typedef struct gw_auth {
    gw_cred *creds;
    size_t n;
    /* one bucket per distinct tenant, guarded by mu */
    gw_bucket *buckets;
    size_t nbuckets;
    pthread_mutex_t mu;
} gw_auth;

/* An empty table (gw_auth_free releases it). */
void gw_auth_init(gw_auth *a);
/* Adds a tokens file's credentials: lines `TENANT SHA256-HEX`, blank
 * lines and `#` comments ignored. 0, or -1 with every bad line ("line 3:
 * ...") in errstr. An empty file is valid (every request is then 401). */
int gw_auth_parse(gw_auth *a, const char *text, char *errstr, size_t errlen);
/* Adds a webhook secrets file's: lines `TENANT whsec_<base64>`. */
int gw_auth_parse_secrets(gw_auth *a, const char *text, char *errstr, size_t errlen);
/* Reads and adds a file: tokens (webhook 0), webhook secrets (1) or
 * Twilio auth tokens (2, `TENANT AUTH_TOKEN`, webhooks.h). */
int gw_auth_load(gw_auth *a, const char *path, int webhook, char *errstr, size_t errlen);
void gw_auth_free(gw_auth *a);
/* The credential of an `Authorization` header value (`Bearer <token>`),
 * compared in constant time against every entry; NULL when absent or
 * unknown. */
const gw_cred *gw_auth_check(const gw_auth *a, const char *authorization);
/* The credential whose webhook key signed "id.timestamp.body" as one of
 * the v1 signatures of the webhook-signature header says, with timestamp
 * (unix seconds) within 5 minutes of now_s; NULL otherwise. */
const gw_cred *gw_auth_webhook(const gw_auth *a, const char *id, const char *timestamp,
                               const char *signature, const char *body, size_t len, int64_t now_s);

/* --- rate limit (rate.c) ------------------------------------------------- */

/* Token bucket of `rate` events per second, burst `rate`: takes n events
 * at now_ms when at least one token is left (the bucket may go negative
 * by a batch). Returns 0, or the seconds to wait (>= 1) for Retry-After. */
int gw_bucket_take(gw_bucket *b, double rate, int64_t now_ms, size_t n);
/* The same on a credential's tenant bucket, under the table's lock. */
int gw_rate_take(gw_auth *a, const gw_cred *c, double rate, int64_t now_ms, size_t n);

/* --- the CloudEvents HTTP binding (event.c) ------------------------------ */

typedef struct gw_header {
    const char *name, *value; /* NUL-terminated; names compared case-insensitively */
} gw_header;

typedef enum gw_mode { GW_BINARY = 0, GW_STRUCTURED, GW_BATCH, GW_UNSUPPORTED } gw_mode;

/* The header's value, or NULL. */
const char *gw_header_get(const gw_header *h, size_t n, const char *name);
/* The mode of a request from its Content-Type (and, for binary mode, the
 * ce-specversion header). */
gw_mode gw_mode_of(const gw_header *h, size_t n);

/* One event of a request, as it will go to `inbound`. */
typedef struct gw_event {
    char *json;             /* the structured CloudEvent with the credential's tenant (malloc'd) */
    size_t len;             /* NULL json: the body could not be made one (see reasons) */
    char id[CT_ID_MAX + 1]; /* as posted ("" when absent) */
    int raw;                /* json is the body as posted: not a JSON object, never accepted */
    ct_reasons reasons;     /* problems found before validation (tenant, JSON) */
} gw_event;

/* Builds the events of a request in mode: one for binary and structured
 * mode, one per array item for a batch. Returns the count (>= 0) with
 * *out malloc'd (gw_events_free), or -1 when the body is not a JSON array
 * in batch mode (*out NULL), or -2 when a batch holds more than batch_max
 * items. */
long gw_events_build(gw_mode mode, const gw_header *h, size_t nh, const char *body, size_t len,
                     const char *tenant, size_t batch_max, gw_event **out);
void gw_events_free(gw_event *ev, size_t n);

/* --- the backend: publishing to inbound ---------------------------------- */

typedef struct gw_record {
    const char *key; /* tenant/customer_id */
    const char *value;
    size_t len;
} gw_record;

typedef struct gw_backend {
    void *opaque;
    /* Produces recs to inbound and returns 0 once the broker acknowledged
     * every one, -1 when it is unavailable or the wait timed out. */
    int (*publish)(void *opaque, const gw_record *recs, size_t n);
} gw_backend;

/* --- the request handler (handle.c) -------------------------------------- */

typedef struct gw_config {
    gw_auth *auth;
    double rate;      /* events per second per tenant */
    size_t max_body;  /* bytes */
    size_t batch_max; /* events per batch */
    ct_limits limits; /* the inbound validator's (ingest's defaults) */
    gw_backend be;
    cm_metric **m;          /* ct_metric ids; NULL: no metrics (tests) */
    struct gw_pages *pages; /* /p and /u (pages.h); NULL: they answer 404 pages */
    /* webhooks.h: the public scheme://host[:port] Twilio signs */
    const char *public_url;
    /* proxy.h: whose X-Forwarded-For the listener believes; NULL: none */
    const struct gw_proxies *proxies;
} gw_config;

typedef struct gw_request {
    const char *method, *path;
    const gw_header *headers;
    size_t nheaders;
    const char *body; /* may be NULL when body_len == 0 */
    size_t body_len;
    int body_too_large; /* the adapter stopped reading past max_body */
    int64_t now_ms;     /* monotonic, for the rate limit */
    int64_t wall_s;     /* unix seconds, for webhook timestamps */
    const char *client; /* the client's address (proxy.h; rate limit of /p and /u); may be NULL */
    const char *query;  /* the raw query string after '?' (NULL: none) */
    /* the service clock (ARREARS_CLOCK, common/clock.h; unix seconds):
     * the time of the events the gateway builds, a token's expiry, the
     * debtor's "today". wall_s stays real: a webhook signature's timestamp
     * is the sender's wall clock. */
    int64_t clock_s;
} gw_request;

typedef struct gw_answer {
    int status;
    int retry_after;          /* seconds; 0: no Retry-After header */
    const char *allow;        /* Allow header of a 405, else NULL */
    cm_buf body;              /* JSON, or what content_type says */
    const char *content_type; /* NULL: application/json */
    char *location;           /* Location of a 303 (malloc'd), or NULL */
    const char *csp;          /* Content-Security-Policy (borrowed); NULL: GW_CSP */
} gw_answer;

/* Every answer's Content-Security-Policy, unless the answer names one (a
 * self-service page whose form may go to the tenant's pay_url origin). */
#define GW_CSP                                                                                     \
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "  \
    "base-uri 'none'"

/* Answers one request. Never fails: out of memory is a 500. */
void gw_handle(const gw_config *cfg, const gw_request *rq, gw_answer *out);
void gw_answer_free(gw_answer *a);
/* Validates ev with ct_validate as ingest will: 1 accepted (its record
 * key into key), 0 refused (the reasons added to ev->reasons), -1 out of
 * memory. */
int gw_validate(const gw_config *cfg, gw_event *ev, char *key, size_t keylen);
/* Fills a with status and {"error":error}, or {"errors":[reasons]}. */
void gw_answer_error(gw_answer *a, int status, const char *error);
void gw_answer_reasons(gw_answer *a, int status, const ct_reasons *rs);

#endif
