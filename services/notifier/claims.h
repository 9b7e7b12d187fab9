/* claims.h -- at most one successful send per command id, kept in Redis.
 *
 * Per command id two keys (prefix from ARREARS_NOTIFIER_KEY_PREFIX):
 *   <p>claim:<id>  owner token, PX ttl     -- who may send it now
 *   <p>out:<id>    hash {event, published} -- the outcome, once known
 * Protocol (docs/notifier.md has the argument):
 *   claim   -> OK (send it) | HELD (another owner is on it: wait)
 *              | DONE (outcome published) | REPUBLISH (outcome recorded,
 *              its publisher died: publish the stored event)
 *   record  -> the first outcome wins; a later one gets the stored event
 *   mark    -> published=1 and the claim released
 *   refresh -> extends our claims while sends and retries run
 * Every call is one pipeline for a whole batch. Strings in results are
 * malloc'ed and owned by the caller. */
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
} ntf_claim_state;

typedef struct ntf_claim_res {
    ntf_claim_state st;
    char *event;    /* REPUBLISH: the stored outcome event */
    int64_t pttl;   /* HELD: ms left on the other owner's claim */
} ntf_claim_res;

typedef struct ntf_record_res {
    int first;       /* 1: ours was recorded */
    char *event;     /* first == 0: the outcome recorded before ours */
    int published;   /* first == 0: whether that one is published */
} ntf_record_res;

typedef struct ntf_claims ntf_claims;

/* r is borrowed. owner identifies this process (unique per start). */
ntf_claims *ntf_claims_new(cm_redis *r, const char *prefix, const char *owner, int64_t ttl_ms,
                           int64_t outcome_ttl_s);
void ntf_claims_free(ntf_claims *c);
int64_t ntf_claims_ttl_ms(const ntf_claims *c);

int ntf_claims_claim(ntf_claims *c, const char *const *ids, size_t n, ntf_claim_res *res,
                     char *errstr, size_t errlen);
int ntf_claims_record(ntf_claims *c, const char *const *ids, const char *const *events,
                      size_t n, ntf_record_res *res, char *errstr, size_t errlen);
int ntf_claims_mark(ntf_claims *c, const char *const *ids, size_t n, char *errstr,
                    size_t errlen);
/* ours[i] = 1 when the claim is still ours (and extended), else 0. */
int ntf_claims_refresh(ntf_claims *c, const char *const *ids, size_t n, int *ours,
                       char *errstr, size_t errlen);

/* Gives up our claims on commands not sent (shutdown), so the next owner
 * need not wait for them to expire. */
int ntf_claims_release(ntf_claims *c, const char *const *ids, size_t n, char *errstr,
                       size_t errlen);

#endif
