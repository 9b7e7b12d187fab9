/* claims.h -- at most one successful send per command id, kept in Redis.
 *
 * Per command id two keys (prefix from ARREARS_NOTIFIER_KEY_PREFIX):
 *   <p>claim:<id>  owner token, PX ttl     -- who may send it now
 *   <p>out:<id>    hash {event, published} -- the outcome, once known;
 *                  {sending} -- an email passed its gate (sender.h)
 * (on a Redis Cluster <p>claim:{<id>} and <p>out:{<id>}: one hash slot)
 * Protocol (docs/notifier.md has the argument):
 *   claim   -> OK (send it) | HELD (another owner is on it: wait)
 *              | DONE (outcome published) | REPUBLISH (outcome recorded,
 *              its publisher died: publish the stored event)
 *              | UNCONFIRMED (an owner died past an email's gate: the
 *              server may have the message; answer, do not send again)
 *   gate    -> an email's point of no return: after a refresh that found
 *              the claim ours, HSET out sending 1 is written to Redis
 *              and, without waiting for its reply, the "." goes out
 *   record  -> the first outcome wins; a later one gets the stored event
 *   mark    -> published=1 and the claim released
 *   refresh -> extends our claims while sends and retries run
 * Every step of a loop iteration goes out in one pipeline (a batch).
 * Strings in results are malloc'ed and owned by the caller. */
#ifndef NTF_CLAIMS_H
#define NTF_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"

typedef enum {
    NTF_CLAIM_HELD = 0,
    NTF_CLAIM_OK = 1,
    NTF_CLAIM_DONE = 2,
    NTF_CLAIM_REPUBLISH = 3,
    NTF_CLAIM_UNCONFIRMED = 4,
} ntf_claim_state;

typedef struct ntf_claim_res {
    ntf_claim_state st;
    char *event; /* REPUBLISH: the stored outcome event */
} ntf_claim_res;

typedef struct ntf_record_res {
    int first;     /* 1: ours was recorded */
    char *event;   /* first == 0: the outcome recorded before ours */
    int published; /* first == 0: whether that one is published */
} ntf_record_res;

typedef struct ntf_claims ntf_claims;

/* r is borrowed. owner identifies this process (unique per start). */
ntf_claims *ntf_claims_new(cm_redis *r, const char *prefix, const char *owner, int64_t ttl_ms,
                           int64_t outcome_ttl_s);
void ntf_claims_free(ntf_claims *c);
int64_t ntf_claims_ttl_ms(const ntf_claims *c);

/* A batch: every step of every command of one loop iteration in one
 * pipeline (one round trip). begin, add_* (each returns the op's index or
 * -1 on out of memory), exec, then read each op's result by its index. */
void ntf_claims_begin(ntf_claims *c);
int ntf_claims_add_claim(ntf_claims *c, const char *id);
int ntf_claims_add_record(ntf_claims *c, const char *id, const char *event);
int ntf_claims_add_mark(ntf_claims *c, const char *id);
int ntf_claims_add_refresh(ntf_claims *c, const char *id);
size_t ntf_claims_pending(const ntf_claims *c);
/* -1 with errstr when Redis failed (the whole batch is to be retried).
 * idle (may be NULL) runs while Redis works on the batch (redis.h). */
int ntf_claims_exec(ntf_claims *c, cm_redis_idle_fn idle, void *opaque, char *errstr,
                    size_t errlen);
/* Results; -1 with errstr when that op's reply is an error. */
int ntf_claims_claim_result(ntf_claims *c, int op, ntf_claim_res *res, char *errstr, size_t errlen);
int ntf_claims_record_result(ntf_claims *c, int op, ntf_record_res *res, char *errstr,
                             size_t errlen);
int ntf_claims_ok_result(ntf_claims *c, int op, char *errstr, size_t errlen); /* mark */
/* 1 when the refreshed claim is still ours, 0 when not, -1 on error. */
int ntf_claims_refresh_result(ntf_claims *c, int op, char *errstr, size_t errlen);

/* The email gate in two halves, outside any batch (on the gate's own
 * connection): gate_send writes "sending" for id into the socket and
 * returns at once, so the caller can send the "." microseconds later,
 * not a round trip later; gate_recv reads its replies. Call gate_send only
 * right after a refresh found the claim ours: it does not check. -1 with
 * errstr on failure (after gate_send the record may or may not be made). */
int ntf_claims_gate_send(ntf_claims *c, const char *id, char *errstr, size_t errlen);
int ntf_claims_gate_recv(ntf_claims *c, char *errstr, size_t errlen);

/* Gives up our claims on commands not sent (shutdown), so the next owner
 * need not wait for them to expire. */
int ntf_claims_release(ntf_claims *c, const char *const *ids, size_t n, char *errstr,
                       size_t errlen);

#endif
