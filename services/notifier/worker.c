/* worker.c -- the notifier's pipeline: commands in, sends, outcomes out.
 *
 * Design: one pipeline thread, one loop (transfers run on the sender's
 * thread). Jobs live in an array in consumption order; each iteration
 * scans it a few times (it holds at most max_queued jobs), batching every
 * Redis step of the iteration into one pipeline (do_redis) and producing
 * outcomes into a Kafka transaction that commits every
 * ARREARS_COMMIT_INTERVAL (do_publish, do_commit; outbox.h). The commit
 * runs on a thread of its own (committer.h): while the broker holds it up,
 * this loop goes on recording what the providers answered, so a crash
 * then repeats no send; only the next transaction waits. The order of
 * steps inside an iteration matters only for latency; correctness rests on
 * four rules:
 *   1. nothing is sent without a live claim (claims.h);
 *   2. an outcome is recorded in Redis before it is produced, and marked
 *      published only after its transaction committed;
 *   3. outcomes enter a transaction in offset order per partition: a job's
 *      outcome (or, for a command answered before, its offset alone) joins
 *      only when every earlier job of its partition is in this transaction
 *      or an earlier one, and the transaction carries the partition's next
 *      offset -- so an outcome is committed exactly when its command's
 *      offset is, and a crash replays exactly the commands without one;
 *   4. before partitions are revoked the open transaction is committed;
 *      jobs of a revoked partition (orphans) never publish: once their
 *      outcome is recorded, or before they send, their claims are released
 *      and the new owner publishes the recorded outcome or sends. */
#include "worker.h"
#include "vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "committer.h"
#include "contact.h"
#include "log.h"
#include "message.h"
#include "metric_catalog.h"
#include "metrics.h"
#include "outbox.h"
#include "ratelimit.h"
#include "buf.h"
#include "str.h"

typedef enum {
    J_CLAIM,
    J_WAIT_CLAIM,
    J_READY,
    J_INFLIGHT,
    J_BACKOFF,
    J_OUTCOME,
    J_PUBLISH,
    J_PUBLISHING, /* produced into the open transaction */
    J_MARK,
    J_DONE,
} jstate;

typedef struct job {
    rd_kafka_message_t *msg; /* owned */
    int32_t partition;
    uint32_t gen;
    int identified; /* command_id known */
    int prefail;    /* answered contact.failed without sending */
    int is_task;
    jstate st;
    ntf_request req;
    int has_req;
    int attempts;
    int64_t t0_ms;    /* real ms of the first attempt */
    int64_t next_ms;  /* WAIT_CLAIM / BACKOFF: when to look again */
    int64_t claim_ms; /* real ms the claim was last confirmed ours */
    ntf_outcome out;
    char *event;   /* the outcome event to publish (owned) */
    int in_txn;    /* its outcome and/or offset are in the open transaction */
    int committed; /* ... and that transaction committed */
    char last_error[256];
    long last_status;
    /* The command, about 16 KiB (ct_command's fixed lists), in a block of
     * its own so that the scans of the job list read small, packed jobs;
     * both are kept for the next job (ntf_worker's pool). Set whole by
     * ntf_command_parse. */
    ntf_command *cmd; /* owned */
    struct job *next_free;
} job;

typedef struct provider {
    ntf_bucket bucket;
    int consecutive_fail;
    int64_t last_fail_ms;
    char last_error[160];
} provider;

/* What the worker knows of one partition of commands. */
typedef struct ntf_part {
    uint32_t gen;     /* assignment generation: jobs of an older one are orphans */
    int assigned;     /* in the current assignment */
    int64_t next_off; /* the offset after the last taken in this assignment; -1: none */
} ntf_part;

struct ntf_worker {
    ntf_worker_opts o;
    rd_kafka_t *consumer;
    job **jobs;
    size_t njobs, cap;
    ntf_part *parts; /* indexed by partition, nparts of them */
    size_t nparts;
    int paused;
    int64_t full_since_ms; /* the backlog is full since (0: it is not) */
    int draining;
    int64_t last_refresh_ms;
    int64_t redis_hold_ms;    /* after a Redis error: no Redis step before this */
    int txn_open, txn_failed; /* failed: a record is missing, abort it */
    int64_t txn_started_ms;
    size_t txn_records;
    ntf_committer *committer; /* ends transactions off this thread */
    job *pool;                /* jobs done with, for the next ones (with their commands) */
    size_t npool;
    int orphans;           /* a revoke may have left jobs of an old assignment */
    int committing;        /* a commit was handed over, its result not applied */
    size_t commit_records; /* records of the transaction being committed */
    int fatal;             /* the producer is unusable: the process must exit */
    provider prov[3];
    unsigned rnd;
    cm_metric *m[CT_M_COUNT]; /* metric_catalog.h: m[CT_M_NOTIFIER_*] */
};

static void do_publish(ntf_worker *w);
static void do_commit(ntf_worker *w, int64_t now, int force);
static void commit_now(ntf_worker *w);
static void do_redis(ntf_worker *w, int64_t now);
static void on_done(void *opaque, const ntf_send_result *r);

static double rnd01(ntf_worker *w)
{
    w->rnd = w->rnd * 1103515245u + 12345u;
    return (double)((w->rnd >> 8) & 0xFFFFFF) / (double)0x1000000;
}

ntf_worker *ntf_worker_new(const ntf_worker_opts *o, char *errstr, size_t errlen)
{
    ntf_worker *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    w->o = *o;
    w->committer = ntf_committer_new(o->producer, errstr, errlen);
    if (!w->committer) {
        free(w);
        return NULL;
    }
    int64_t now = cm_mono_ms();
    for (int i = 0; i < 3; i++)
        ntf_bucket_init(&w->prov[i].bucket, o->rate[i], o->burst[i], now);
    w->rnd = (unsigned)now ^ ((unsigned)getpid() << 16);
    ct_metrics_register(CT_SVC_NOTIFIER, w->m);
    return w;
}

void ntf_worker_set_consumer(ntf_worker *w, rd_kafka_t *consumer)
{
    w->consumer = consumer;
}

static int ensure_part(ntf_worker *w, int32_t p)
{
    if (p < 0)
        return -1;
    size_t had = w->nparts;
    if ((size_t)p < had)
        return 0;
    if (CM_GROW(w->parts, w->nparts, (size_t)p + 1) < 0)
        return -1;
    for (size_t i = had; i < w->nparts; i++)
        w->parts[i].next_off = -1; /* gen and assigned: zeroed by cm_grow */
    return 0;
}

void ntf_worker_on_rebalance(void *opaque, int assigned,
                             const rd_kafka_topic_partition_list_t *parts)
{
    ntf_worker *w = opaque;
    if (!assigned && w->consumer && !w->fatal) {
        /* rule 4: what can be committed for these partitions is, while
         * the group generation still lets this replica commit offsets */
        commit_now(w);
    }
    if (!assigned && w->consumer && w->paused) {
        /* librdkafka keeps a partition paused across revoke and re-assign
         * (to this replica or, later, back): resume while still assigned */
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(parts);
        rd_kafka_resume_partitions(w->consumer, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
    if (!assigned)
        w->orphans = 1;
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (ensure_part(w, p) < 0)
            continue;
        if (!assigned)
            w->parts[p].gen++; /* jobs of the old assignment become orphans */
        w->parts[p].assigned = assigned;
        w->parts[p].next_off = -1;
    }
    w->paused = 0; /* a new assignment starts unpaused */
    w->full_since_ms = 0;
}

static void job_destroy(job *j)
{
    free(j->cmd);
    free(j);
}

/* Releases what j holds and keeps j (and its command block) for the next
 * job: at most max_queued of them, so memory stays what the backlog bound
 * needs. Freeing and allocating 4096 blocks of 17 KiB a second made glibc
 * give pages back and fault them in again: 16% of the notifier's CPU was
 * the kernel zeroing pages (perf, 2026-12-04). */
static void job_free(ntf_worker *w, job *j)
{
    if (!j)
        return;
    if (j->msg)
        rd_kafka_message_destroy(j->msg);
    ntf_command_free(j->cmd);
    if (j->has_req)
        ntf_request_free(&j->req);
    free(j->event);
    if (w->npool >= (size_t)w->o.max_queued) {
        job_destroy(j);
        return;
    }
    j->next_free = w->pool;
    w->pool = j;
    w->npool++;
}

/* A job from the pool or new, zeroed but for its command block. */
static job *job_new(ntf_worker *w)
{
    job *j = w->pool;
    if (j) {
        w->pool = j->next_free;
        w->npool--;
    } else {
        j = malloc(sizeof *j);
        ntf_command *c = j ? malloc(sizeof *c) : NULL;
        if (!c) {
            free(j);
            return NULL;
        }
        c->js = NULL; /* what ntf_command_free leaves */
        c->root = NULL;
        j->cmd = c;
    }
    ntf_command *c = j->cmd;
    memset(j, 0, sizeof *j);
    j->cmd = c;
    return j;
}

static int channel_idx(const job *j)
{
    return (int)j->cmd->c.channel;
}

/* ---- intake ------------------------------------------------------------ */

static void fail_now(job *j, const char *reason)
{
    j->out.sent = 0;
    cm_strlcpy(j->out.reason, reason, sizeof j->out.reason);
    j->prefail = 1;
}

static void intake(ntf_worker *w, rd_kafka_message_t *m)
{
    job *j = job_new(w);
    char err[512];
    if (!j) {
        rd_kafka_message_destroy(m); /* not stored: it is replayed after a restart */
        cm_log_error("out of memory for a job");
        return;
    }
    j->msg = m;
    j->partition = m->partition;
    if (ensure_part(w, m->partition) == 0) {
        int64_t *next = &w->parts[m->partition].next_off;
        if (*next >= 0 && m->offset < *next) {
            /* delivered again within one assignment (librdkafka can, around
             * pause and resume): the first copy is in memory or committed,
             * and a second job would wait on the first one's claim while
             * blocking its partition's prefix (rule 3) */
            cm_log_fields(CM_LOG_DEBUG,
                          json_pack("{s:i,s:I}", "partition", (int)m->partition, "offset",
                                    (json_int_t)m->offset),
                          "record delivered twice; the second copy is dropped");
            rd_kafka_message_destroy(m);
            j->msg = NULL;
            j->next_free = w->pool; /* back to the pool: nothing parsed yet */
            w->pool = j;
            w->npool++;
            return;
        }
        *next = m->offset + 1;
        j->gen = w->parts[m->partition].gen;
    }
    int rc = ntf_command_parse(m->payload, m->len, j->cmd, err, sizeof err);
    j->identified = j->cmd->c.command_id != NULL;
    if (rc < 0 && !j->identified) {
        cm_log_fields(CM_LOG_WARN,
                      json_pack("{s:i,s:I,s:s}", "partition", (int)m->partition, "offset",
                                (json_int_t)m->offset, "error", err),
                      "command skipped: it cannot be answered without a command_id");
        cm_metric_add(w->m[CT_M_NOTIFIER_INVALID], 1);
        j->st = J_DONE;
    } else {
        if (rc < 0) {
            char reason[600];
            snprintf(reason, sizeof reason, "invalid command: %s", err);
            fail_now(j, reason);
        } else if (j->cmd->c.channel == CT_CH_CALL_TASK || j->cmd->c.channel == CT_CH_LETTER) {
            j->is_task = 1;
        }
        j->st = J_CLAIM;
    }
    if (w->njobs == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        job **a = realloc(w->jobs, cap * sizeof *a);
        if (!a) {
            job_free(w, j);
            cm_log_error("out of memory for the job list");
            return;
        }
        w->jobs = a;
        w->cap = cap;
    }
    w->jobs[w->njobs++] = j;
}

static int expired(const job *j)
{
    return ntf_not_after_passed(j->cmd, cm_clock_now_ms());
}

/* The claim is ours: decide what the job does next. */
static void claimed(ntf_worker *w, job *j, int64_t now)
{
    char err[512];
    j->claim_ms = now;
    if (j->prefail) { /* an invalid command: never a task (intake) */
        j->out.sent = 0;
        j->st = J_OUTCOME;
        return;
    }
    if (j->is_task) { /* queued, or failed as an expired send would */
        ntf_task_outcome(j->cmd, cm_clock_now_ms(), &j->out);
        j->st = J_OUTCOME;
        return;
    }
    if (expired(j)) {
        fail_now(j, NTF_REASON_NOT_AFTER);
        j->st = J_OUTCOME;
        return;
    }
    if (!j->has_req) {
        const ntf_tenant_cfg *tc = ntf_config_tenant(w->o.cfg, j->cmd->c.tenant);
        if (ntf_message_build(tc, w->o.tpl, j->cmd, cm_clock_now_ms(), &j->req, err, sizeof err) <
            0) {
            fail_now(j, err);
            j->st = J_OUTCOME;
            return;
        }
        j->has_req = 1;
        cm_strlcpy(j->out.message_id, j->req.message_id, sizeof j->out.message_id);
    }
    j->st = J_READY;
}

/* A previous owner died past this email's gate: the server may hold the
 * message, so it is not sent again. The answer is contact.sent with
 * provider_status "unconfirmed" (and the Message-ID it carried). */
static void unconfirmed(ntf_worker *w, job *j, int64_t now)
{
    char err[512];
    j->claim_ms = now;
    if (!j->has_req) {
        const ntf_tenant_cfg *tc = ntf_config_tenant(w->o.cfg, j->cmd->c.tenant);
        if (ntf_message_build(tc, w->o.tpl, j->cmd, cm_clock_now_ms(), &j->req, err, sizeof err) ==
            0) {
            cm_strlcpy(j->out.message_id, j->req.message_id, sizeof j->out.message_id);
            ntf_request_free(&j->req);
        }
    } else {
        ntf_request_free(&j->req);
        j->has_req = 0;
    }
    cm_log_warn("%s: an owner died after its email's point of no return; answered as sent "
                "(unconfirmed), not sent again",
                j->cmd->c.command_id);
    j->out.sent = 1;
    cm_strlcpy(j->out.provider_status, "unconfirmed", sizeof j->out.provider_status);
    j->st = J_OUTCOME;
}

static void redis_failed(ntf_worker *w)
{
    w->redis_hold_ms = cm_mono_ms() + 250;
    if (w->o.ready)
        atomic_store(&w->o.ready->redis_ok, 0);
}

/* ---- sending ------------------------------------------------------------ */

static void finish(ntf_worker *w, job *j, int sent, const char *reason)
{
    j->out.sent = sent;
    if (!sent)
        cm_strlcpy(j->out.reason, reason, sizeof j->out.reason);
    j->out.attempts = j->attempts;
    j->out.latency_ms = cm_mono_ms() - j->t0_ms;
    j->st = J_OUTCOME;
    (void)w;
}

static void on_done(void *opaque, const ntf_send_result *r)
{
    ntf_worker *w = opaque;
    job *j = r->tag;
    if (r->gate_refused) { /* aborted at the gate: another owner has it */
        cm_log_warn("claim on %s lost before its email's point of no return; claiming again",
                    j->cmd->c.command_id);
        j->st = J_CLAIM;
        return;
    }
    int64_t now = cm_mono_ms();
    int is_smtp = j->cmd->c.channel == CT_CH_EMAIL;
    provider *pv = &w->prov[channel_idx(j)];
    ntf_result res = ntf_retry_classify(is_smtp, r->curl_code, r->status);
    cm_metric_observe(w->m[CT_M_NOTIFIER_SEND_SECONDS], (double)(now - j->claim_ms) / 1000.0);
    if (r->status > 0)
        snprintf(j->out.provider_status, sizeof j->out.provider_status, "%ld", r->status);
    else
        j->out.provider_status[0] = 0;
    char reason[400];
    if (r->curl_code != 0 && r->status <= 0)
        cm_strlcpy(reason, r->error, sizeof reason);
    else if (is_smtp)
        snprintf(reason, sizeof reason, "SMTP %ld%s%s", r->status, r->error[0] ? ": " : "",
                 r->error);
    else
        snprintf(reason, sizeof reason, "HTTP %ld%s%.200s", r->status, r->error[0] ? ": " : "",
                 r->error);
    if (res == NTF_RES_OK) {
        pv->consecutive_fail = 0;
        finish(w, j, 1, NULL);
        return;
    }
    if (res == NTF_RES_RETRY) {
        pv->consecutive_fail++;
        pv->last_fail_ms = now;
        cm_strlcpy(pv->last_error, reason, sizeof pv->last_error);
    }
    if (res == NTF_RES_FAIL || j->attempts >= w->o.retry.max_attempts) {
        char why[512];
        if (res == NTF_RES_FAIL)
            snprintf(why, sizeof why, "%s (not retried)", reason);
        else
            snprintf(why, sizeof why, "%s (after %d attempts)", reason, j->attempts);
        finish(w, j, 0, why);
        return;
    }
    int64_t delay = ntf_retry_delay(&w->o.retry, j->attempts + 1, rnd01(w), r->retry_after_ms);
    cm_metric_add(w->m[CT_M_NOTIFIER_RETRIES], 1);
    if (cm_log_enabled(CM_LOG_DEBUG)) {
        char masked[sizeof reason]; /* a provider's answer may echo the recipient */
        ntf_log_scrub(j->cmd, reason, masked, sizeof masked);
        cm_log_fields(CM_LOG_DEBUG,
                      json_pack("{s:s,s:i,s:I,s:s}", "command_id", j->cmd->c.command_id, "attempt",
                                j->attempts, "delay_ms", (json_int_t)delay, "error", masked),
                      "send failed, retrying");
    }
    j->next_ms = now + delay;
    j->st = J_BACKOFF;
}

static int64_t start_sends(ntf_worker *w, int64_t now)
{
    int64_t wake = INT64_MAX;
    int64_t ttl = ntf_claims_ttl_ms(w->o.claims);
    /* every slot taken: nothing can start, and a backoff that ends now
     * would only wait READY (plan_wait keeps the backoff timers). The
     * loop calls this several times an iteration and while Redis works
     * (redis_idle): a scan of thousands of jobs each time was 6% of the
     * notifier's CPU. */
    if (ntf_sender_inflight(w->o.sender) >= w->o.max_inflight || w->draining)
        return wake;
    for (size_t i = 0; i < w->njobs; i++) {
        job *j = w->jobs[i];
        if (j->st == J_BACKOFF) {
            if (j->next_ms > now) {
                if (j->next_ms < wake)
                    wake = j->next_ms;
                continue;
            }
            j->st = J_READY;
        }
        if (j->st != J_READY || w->draining)
            continue;
        if (ntf_sender_inflight(w->o.sender) >= w->o.max_inflight)
            break;
        if (now - j->claim_ms > ttl / 2)
            continue; /* wait for the refresh to confirm the claim */
        if (expired(j)) {
            finish(w, j, 0, NTF_REASON_NOT_AFTER);
            continue;
        }
        provider *pv = &w->prov[channel_idx(j)];
        if (!ntf_bucket_take(&pv->bucket, now)) {
            int64_t t = now + ntf_bucket_wait_ms(&pv->bucket, now);
            if (t < wake)
                wake = t;
            continue;
        }
        char err[256];
        if (j->attempts == 0)
            j->t0_ms = now;
        if (ntf_sender_start(w->o.sender, &j->req, cm_clock_now_ms() / 1000, j, err, sizeof err) <
            0) {
            char masked[sizeof err];
            ntf_log_scrub(j->cmd, err, masked, sizeof masked);
            cm_log_warn("cannot start a send: %s", masked);
            j->next_ms = now + 100;
            j->st = J_BACKOFF;
            continue;
        }
        j->attempts++;
        j->st = J_INFLIGHT;
    }
    return wake;
}

/* The email gate's keeper (sender.h), on the sender thread, with
 * gate_claims, a connection of its own (the pipeline's is that thread's
 * only). First a round trip: refresh the claim, which tells whether it is
 * still ours and makes it ours for a whole TTL more. Then, only if so,
 * write "sending" without waiting (claims.h), and the sender sends the "."
 * right after. A refresh that took half the TTL proves too little about
 * the claim's life left: asked again. It reads only the job's command id,
 * which does not change while its transfer runs. */
int ntf_worker_gate(void *opaque, void *tag, int *ok)
{
    ntf_worker *w = opaque;
    ntf_claims *c = w->o.gate_claims;
    const char *id = ((const job *)tag)->cmd->c.command_id;
    char err[256];
    int64_t t0 = cm_mono_ms();
    ntf_claims_begin(c);
    int op = ntf_claims_add_refresh(c, id);
    if (op < 0) {
        cm_log_warn("email gate: out of memory (the email waits at its gate)");
        return -1;
    }
    int r = ntf_claims_exec(c, NULL, NULL, err, sizeof err) < 0
                ? -1
                : ntf_claims_refresh_result(c, op, err, sizeof err);
    if (r < 0) {
        cm_log_warn("email gate: %s (the email waits at its gate)", err);
        return -1;
    }
    if (r == 0) {
        *ok = 0;
        return 0;
    }
    if (cm_mono_ms() - t0 > ntf_claims_ttl_ms(c) / 2) {
        cm_log_warn("email gate: the claim refresh took %lld ms (asked again)",
                    (long long)(cm_mono_ms() - t0));
        return -1;
    }
    if (ntf_claims_gate_send(c, id, err, sizeof err) < 0) {
        cm_log_warn("email gate: %s (the email waits at its gate)", err);
        return -1;
    }
    *ok = 1;
    return 0;
}

/* The gate's second half, after the ".": the record's reply. A failure
 * means Redis may not have it; if this replica also dies before the
 * outcome is recorded, the next owner finds no gate and sends again. */
void ntf_worker_gate_kept(void *opaque, void *tag)
{
    ntf_worker *w = opaque;
    char err[256];
    if (ntf_claims_gate_recv(w->o.gate_claims, err, sizeof err) < 0)
        cm_log_warn("%s: email gate record unconfirmed: %s", ((const job *)tag)->cmd->c.command_id,
                    err);
}

/* ---- outcomes ----------------------------------------------------------- */

/* The type of an encoded contact outcome ("type" is its second member). */
static ct_outcome event_type(const char *ev)
{
    const char *t = ev ? strstr(ev, "\"type\":\"") : NULL;
    const char *e = t ? strchr(t + 8, '"') : NULL;
    return e ? ct_outcome_parse(t + 8, (size_t)(e - t - 8)) : CT_OUT_NONE;
}

static void count_outcome(ntf_worker *w, const job *j)
{
    int ch = j->cmd->c.channel != CT_CH_NONE ? channel_idx(j) : 0;
    /* the stored event decides (a republished one may differ from ours) */
    int sent = event_type(j->event) == CT_OUT_SENT;
    cm_metric_add(w->m[(sent ? CT_M_NOTIFIER_SENT : CT_M_NOTIFIER_FAILED) + ch], 1);
}

static int is_current(const ntf_worker *w, const job *j)
{
    int p = j->partition;
    return p >= 0 && (size_t)p < w->nparts && w->parts[p].gen == j->gen && w->parts[p].assigned;
}

static int txn_begin(ntf_worker *w)
{
    char err[512];
    if (w->txn_open)
        return 0;
    if (ntf_outbox_begin(w->o.producer, err, sizeof err) < 0) {
        cm_log_error("%s", err);
        w->fatal = 1;
        return -1;
    }
    w->txn_open = 1;
    w->txn_failed = 0;
    w->txn_started_ms = cm_mono_ms();
    w->txn_records = 0;
    return 0;
}

/* Produces j's task (call_task, letter) and outcome records into the open
 * transaction. -1: one of them is not in it (the transaction must abort).
 * The task record goes with a contact.sent ("queued") only: the stored
 * outcome decides, so a replay after not_after still queues a task whose
 * first run did, and an expired one (contact.failed) never is. */
static int publish_one(ntf_worker *w, job *j)
{
    char err[512], key[1100];
    ntf_contact_key(j->cmd, key, sizeof key);
    if (j->is_task && event_type(j->event) == CT_OUT_SENT) {
        char *task = ntf_task_json(j->cmd);
        if (!task || ntf_outbox_produce(w->o.producer, w->o.tasks_topic, key, task, strlen(task),
                                        NULL, err, sizeof err) < 0) {
            cm_log_warn("task for %s: %s", j->cmd->c.command_id, task ? err : "out of memory");
            free(task);
            return -1;
        }
        free(task);
    }
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "command_id", -1, j->cmd->c.command_id, -1);
    if (ntf_outbox_produce(w->o.producer, w->o.contacts_topic, key, j->event, strlen(j->event), h,
                           err, sizeof err) < 0) {
        cm_log_warn("contact for %s: %s", j->cmd->c.command_id, err);
        return -1;
    }
    return 0;
}

/* Rules 3 and 4 of the design note: walks the jobs in consumption order and
 * adds to the open transaction, per current partition, every job from the
 * first not yet committed on that can go (PUBLISH: its records; DONE: its
 * offset), stopping at the first that cannot. Orphans that have not sent,
 * or whose outcome is recorded, give their claims back and are dropped. */
static void do_publish(ntf_worker *w)
{
    /* while a commit runs nothing is produced: only orphans have work */
    if ((w->committing || w->txn_failed || w->fatal) && !w->orphans)
        return;
    int orphans = 0;
    char *blocked = calloc(w->nparts > 0 ? w->nparts : 1, 1);
    const char **release = calloc(w->njobs ? w->njobs : 1, sizeof *release);
    size_t nrel = 0;
    char err[256];
    if (!blocked || !release)
        goto cleanup;
    for (size_t i = 0; i < w->njobs && !w->fatal; i++) {
        job *j = w->jobs[i];
        if (j->committed)
            continue;
        if (!is_current(w, j)) {
            orphans = 1;
            switch (j->st) {
            case J_CLAIM:
            case J_WAIT_CLAIM:
            case J_READY:
            case J_BACKOFF:
            case J_PUBLISH:
                release[nrel++] = j->cmd->c.command_id;
                j->st = J_DONE; /* freed by do_free; the new owner goes on */
                break;
            default:
                break; /* INFLIGHT, OUTCOME run on to PUBLISH; MARK marks */
            }
            continue;
        }
        int p = j->partition;
        if (blocked[p] || w->txn_failed || w->committing)
            continue; /* producing waits for the commit in progress */
        switch (j->st) {
        case J_PUBLISHING:
            break;
        case J_DONE:
            if (!j->in_txn && txn_begin(w) == 0) {
                j->in_txn = 1;
                w->txn_records++;
            }
            break;
        case J_PUBLISH:
            if (txn_begin(w) < 0)
                break;
            if (publish_one(w, j) < 0) {
                w->txn_failed = 1;
                break;
            }
            j->in_txn = 1;
            j->st = J_PUBLISHING;
            w->txn_records++;
            break;
        default:
            blocked[p] = 1;
            break;
        }
    }
    if (nrel > 0 && ntf_claims_release(w->o.claims, release, nrel, err, sizeof err) < 0)
        cm_log_warn("releasing %zu claims of revoked partitions: %s (they expire)", nrel, err);
    if (!w->fatal)
        w->orphans = orphans; /* the scan saw every job */
cleanup:
    free(blocked);
    free(release);
}

/* Applies the result of the commit handed over last (ntf_outbox_commit's
 * rc). Committed: PUBLISHING jobs go on to MARK. Aborted: they are
 * produced again in the next transaction. Fatal: w->fatal, the process
 * exits. */
static void commit_apply(ntf_worker *w, int rc, const char *err)
{
    w->committing = 0;
    if (rc < 0) {
        cm_log_error("kafka transaction: %s", err);
        w->fatal = 1;
        return;
    }
    if (rc > 0)
        cm_log_warn("kafka transaction of %zu records aborted: %s (producing them again)",
                    w->commit_records, err);
    for (size_t i = 0; i < w->njobs; i++) {
        job *j = w->jobs[i];
        if (!j->in_txn)
            continue;
        j->in_txn = 0;
        if (rc == 0) {
            j->committed = 1;
            if (j->st == J_PUBLISHING)
                j->st = J_MARK;
        } else if (j->st == J_PUBLISHING) {
            j->st = J_PUBLISH;
        }
    }
    if (w->o.ready)
        atomic_store(&w->o.ready->kafka_ok, rc == 0);
}

/* Takes the commit's result if it has ended (waiting up to wait_ms).
 * Returns 1 while it is still in progress. */
static int commit_poll(ntf_worker *w, int wait_ms)
{
    char err[512];
    int rc;
    if (!w->committing)
        return 0;
    if (!ntf_committer_result(w->committer, wait_ms, &rc, err, sizeof err))
        return 1;
    commit_apply(w, rc, err);
    return 0;
}

/* Waits for the commit in progress, recording meanwhile the outcomes of
 * transfers that finish (the reason the commit runs on its own thread:
 * committer.h). */
static void commit_wait(ntf_worker *w)
{
    while (commit_poll(w, 10)) {
        ntf_sender_run(w->o.sender, 0, on_done, w);
        do_redis(w, cm_mono_ms());
    }
}

/* Hands the open transaction to the committer when it is due
 * (ARREARS_COMMIT_INTERVAL, a large batch, draining, or force), with each
 * partition's next offset; first takes the result of the one before.
 * With force, returns only when the commit has ended. */
static void do_commit(ntf_worker *w, int64_t now, int force)
{
    if (force)
        commit_wait(w);
    else if (commit_poll(w, 0))
        return;
    if (!w->txn_open || w->fatal)
        return;
    if (!force && !w->draining && !w->txn_failed &&
        now - w->txn_started_ms < w->o.commit_interval_ms && w->txn_records < 5000)
        return;
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(16);
    for (size_t i = 0; i < w->njobs; i++) {
        job *j = w->jobs[i];
        if (!j->in_txn || !j->msg)
            continue;
        const char *topic = rd_kafka_topic_name(j->msg->rkt);
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(offs, topic, j->partition);
        if (!tp) {
            tp = rd_kafka_topic_partition_list_add(offs, topic, j->partition);
            tp->offset = 0;
        }
        if (j->msg->offset + 1 > tp->offset)
            tp->offset = j->msg->offset + 1;
    }
    int abort = w->txn_failed;
    w->txn_open = 0;
    w->txn_failed = 0;
    w->commit_records = w->txn_records;
    w->committing = 1;
    if (ntf_committer_start(w->committer, w->consumer, offs, abort, w->o.txn_timeout_ms) < 0) {
        commit_apply(w, -1, "a commit was started while another was in progress");
        return;
    }
    offs = NULL; /* now owned by the committer */
    if (force)
        commit_wait(w);
}

/* Commits now what can be: the commit in progress ends, the outcomes
 * ready to go join a new transaction, and that one is committed too. */
static void commit_now(ntf_worker *w)
{
    commit_wait(w);
    if (w->fatal)
        return;
    do_publish(w);
    do_commit(w, cm_mono_ms(), 1);
}

/* ---- Redis: every step of an iteration in one pipeline -------------------- */

typedef enum { OP_CLAIM, OP_RECORD, OP_MARK, OP_REFRESH } opkind;
typedef struct pending_op {
    job *j;
    int op;
    opkind kind;
} pending_op;

static void on_claim(ntf_worker *w, job *j, ntf_claim_res *res, int64_t now)
{
    switch (res->st) {
    case NTF_CLAIM_OK:
        claimed(w, j, now);
        break;
    case NTF_CLAIM_DONE:
        cm_metric_add(w->m[CT_M_NOTIFIER_REPLAYED], 1);
        j->st = J_DONE;
        break;
    case NTF_CLAIM_UNCONFIRMED:
        unconfirmed(w, j, now);
        break;
    case NTF_CLAIM_REPUBLISH:
        cm_metric_add(w->m[CT_M_NOTIFIER_REPUBLISHED], 1);
        j->claim_ms = now;
        free(j->event);
        j->event = res->event;
        res->event = NULL;
        j->st = J_PUBLISH;
        break;
    case NTF_CLAIM_HELD:
    default:
        /* tried again every 500 ms: the other owner publishes (DONE) or
         * its claim expires. How long it has left is not read: a PTTL in
         * every claim cost Redis a command per send for this rare case. */
        if (j->st == J_CLAIM)
            cm_metric_add(w->m[CT_M_NOTIFIER_CLAIM_WAITS], 1);
        j->next_ms = now + 500;
        j->st = J_WAIT_CLAIM;
        break;
    }
}

static void on_record(job *j, ntf_record_res *res)
{
    if (res->first) {
        j->st = J_PUBLISH;
    } else if (res->published) {
        j->st = J_DONE;
    } else {
        free(j->event);
        j->event = res->event;
        res->event = NULL;
        j->st = J_PUBLISH;
    }
    if (j->has_req) { /* the request is not needed any more */
        ntf_request_free(&j->req);
        j->has_req = 0;
    }
}

static void on_refresh(job *j, int ours, int64_t now)
{
    if (ours) {
        j->claim_ms = now;
    } else if (j->st == J_READY || j->st == J_BACKOFF) {
        cm_log_warn("claim on %s lost before sending; claiming again", j->cmd->c.command_id);
        j->st = J_CLAIM;
    } else {
        cm_log_warn("claim on %s lost while %s", j->cmd->c.command_id,
                    j->st == J_INFLIGHT ? "sending" : "publishing its outcome");
    }
}

/* While Redis works on a batch: transfers finished are collected and
 * ready jobs started. Touches only INFLIGHT, READY and BACKOFF jobs, which
 * the batch's results (claim, record, mark) do not; a refresh result for
 * a job started meanwhile is handled by on_refresh like any other. */
static void redis_idle(void *opaque)
{
    ntf_worker *w = opaque;
    ntf_sender_run(w->o.sender, 0, on_done, w);
    start_sends(w, cm_mono_ms());
}

/* Queues, for every job, the one Redis step its state calls for (claim,
 * record the outcome, mark it published, refresh the claim every TTL/4),
 * runs them as one pipeline and applies the results. On a Redis error
 * nothing changes and the batch is tried again 250 ms later. */
static void do_redis(ntf_worker *w, int64_t now)
{
    if (now < w->redis_hold_ms || w->njobs == 0)
        return;
    ntf_claims *c = w->o.claims;
    int64_t ttl = ntf_claims_ttl_ms(c);
    int refresh_due = now - w->last_refresh_ms >= ttl / 4;
    pending_op *ops = calloc(w->njobs, sizeof *ops);
    char err[512];
    size_t n = 0;
    if (!ops)
        return;
    ntf_claims_begin(c);
    for (size_t i = 0; i < w->njobs; i++) {
        job *j = w->jobs[i];
        int op = -2;
        opkind kind = OP_CLAIM;
        switch (j->st) {
        case J_MARK:
            op = ntf_claims_add_mark(c, j->cmd->c.command_id);
            kind = OP_MARK;
            break;
        case J_OUTCOME:
            if (!j->event) {
                if (j->prefail || j->is_task) {
                    j->out.attempts = j->attempts;
                    j->out.latency_ms = 0;
                }
                j->out.at_ms = cm_clock_now_ms();
                j->event = ntf_contact_json(j->cmd, &j->out);
                if (!j->event)
                    break;
            }
            op = ntf_claims_add_record(c, j->cmd->c.command_id, j->event);
            kind = OP_RECORD;
            break;
        case J_WAIT_CLAIM:
            if (j->next_ms > now)
                break;
            /* fall through */
        case J_CLAIM:
            op = ntf_claims_add_claim(c, j->cmd->c.command_id);
            break;
        case J_READY:
        case J_INFLIGHT:
        case J_BACKOFF:
        case J_PUBLISH:
        case J_PUBLISHING:
            if (refresh_due) {
                op = ntf_claims_add_refresh(c, j->cmd->c.command_id);
                kind = OP_REFRESH;
            }
            break;
        default:
            break;
        }
        if (op == -1) {
            cm_log_warn("redis batch: out of memory");
            break;
        }
        if (op >= 0)
            ops[n++] = (pending_op){j, op, kind};
    }
    if (n == 0)
        goto cleanup;
    if (ntf_claims_exec(c, w->draining ? NULL : redis_idle, w, err, sizeof err) < 0) {
        cm_log_warn("redis batch of %zu steps: %s (will retry)", n, err);
        redis_failed(w);
        goto cleanup;
    }
    if (refresh_due)
        w->last_refresh_ms = now;
    if (w->o.ready)
        atomic_store(&w->o.ready->redis_ok, 1);
    int errors = 0;
    for (size_t i = 0; i < n; i++) {
        job *j = ops[i].j;
        int rc = 0;
        switch (ops[i].kind) {
        case OP_CLAIM: {
            ntf_claim_res res;
            rc = ntf_claims_claim_result(c, ops[i].op, &res, err, sizeof err);
            if (rc == 0)
                on_claim(w, j, &res, now);
            free(res.event);
            break;
        }
        case OP_RECORD: {
            ntf_record_res res;
            rc = ntf_claims_record_result(c, ops[i].op, &res, err, sizeof err);
            if (rc == 0)
                on_record(j, &res);
            free(res.event);
            break;
        }
        case OP_MARK:
            rc = ntf_claims_ok_result(c, ops[i].op, err, sizeof err);
            if (rc == 0) {
                count_outcome(w, j);
                j->st = J_DONE;
            }
            break;
        case OP_REFRESH:
            rc = ntf_claims_refresh_result(c, ops[i].op, err, sizeof err);
            if (rc >= 0)
                on_refresh(j, rc, now);
            break;
        }
        if (rc < 0 && !errors++)
            cm_log_warn("redis step for %s: %s (will retry)", j->cmd->c.command_id, err);
    }
cleanup:
    free(ops);
}

/* Frees DONE jobs whose offsets are committed, and orphans. */
static void do_free(ntf_worker *w)
{
    size_t keep = 0;
    for (size_t i = 0; i < w->njobs; i++) {
        job *j = w->jobs[i];
        if (j->st == J_DONE && !j->in_txn && (j->committed || !is_current(w, j)))
            job_free(w, j);
        else
            w->jobs[keep++] = j;
    }
    w->njobs = keep;
}

/* How long the backlog may stay full before the partitions are paused. A
 * paused partition loses what librdkafka fetched ahead, and a resumed one
 * waits for a new fetch: pausing at every brief fill (a commit holding
 * thousands of outcomes) left the notifier with nothing to do for 300-600
 * ms each time. Full for a moment, it just takes no records; full for
 * this long (a provider down), it pauses and polls only to serve
 * rebalances. */
#define PAUSE_AFTER_FULL_MS 1000

static void pause_resume(ntf_worker *w, int64_t now)
{
    if (!w->consumer)
        return;
    int full = w->njobs >= (size_t)w->o.max_queued;
    int roomy = w->njobs < (size_t)w->o.max_queued * 3 / 4;
    if (!full)
        w->full_since_ms = 0;
    else if (!w->full_since_ms)
        w->full_since_ms = now;
    full = full && now - w->full_since_ms >= PAUSE_AFTER_FULL_MS;
    if ((full && !w->paused) || (roomy && w->paused)) {
        rd_kafka_topic_partition_list_t *l = NULL;
        if (rd_kafka_assignment(w->consumer, &l) == 0 && l) {
            if (full)
                rd_kafka_pause_partitions(w->consumer, l);
            else
                rd_kafka_resume_partitions(w->consumer, l);
            rd_kafka_topic_partition_list_destroy(l);
        }
        w->paused = full;
        cm_metric_set(w->m[CT_M_NOTIFIER_PAUSED], full);
    }
}

static void readiness(ntf_worker *w, int64_t now)
{
    cm_metric_set(w->m[CT_M_NOTIFIER_INFLIGHT], ntf_sender_inflight(w->o.sender));
    cm_metric_set(w->m[CT_M_NOTIFIER_QUEUED], (double)w->njobs);
    cm_service_ready *r = w->o.ready;
    if (!r)
        return;
    if (w->consumer) {
        /* the assignment as the rebalance callback told it: asking the
         * consumer (rd_kafka_assignment) is a round trip to librdkafka's
         * main thread, too dear for every iteration */
        int assigned = 0;
        for (size_t i = 0; i < w->nparts && !assigned; i++)
            assigned = w->parts[i].assigned;
        atomic_store(&r->kafka_ok, assigned);
    }
    for (int i = 0; i < 3; i++) { /* email, sms, webhook: CT_CH_* order */
        provider *pv = &w->prov[i];
        if (pv->consecutive_fail >= w->o.unhealthy_after && now - pv->last_fail_ms < 60000) {
            snprintf(r->extra_why, sizeof r->extra_why,
                     "%s provider failing (%d in a row, last: %.40s); %zu held%s",
                     ct_channel_name((ct_channel)i), pv->consecutive_fail, pv->last_error, w->njobs,
                     w->paused ? ", paused" : "");
            atomic_store(&r->extra_ok, 0);
            return;
        }
    }
    if (w->paused) {
        snprintf(r->extra_why, sizeof r->extra_why,
                 "backlog full: %zu commands in memory, consumption paused", w->njobs);
        atomic_store(&r->extra_ok, 0);
        return;
    }
    atomic_store(&r->extra_ok, 1);
}

/* How long the loop may wait: 0 when a batch step has work, else until
 * the next timer (at most 100 ms). */
static int64_t plan_wait(ntf_worker *w, int64_t now, int64_t wake)
{
    int64_t until = now + 100;
    if (wake < until)
        until = wake;
    for (size_t i = 0; i < w->njobs; i++) {
        job *j = w->jobs[i];
        switch (j->st) {
        case J_CLAIM:
        case J_OUTCOME:
        case J_MARK:
            if (now >= w->redis_hold_ms)
                return 0;
            if (w->redis_hold_ms < until)
                until = w->redis_hold_ms;
            break;
        case J_READY:
            if (!w->draining && ntf_sender_inflight(w->o.sender) < w->o.max_inflight &&
                wake > now + 1)
                return 0;
            break;
        case J_WAIT_CLAIM:
        case J_BACKOFF:
            if (j->next_ms < until)
                until = j->next_ms;
            break;
        default:
            break; /* PUBLISH, PUBLISHING, DONE: wait for the commit */
        }
    }
    if (w->committing && now + 2 < until)
        until = now + 2; /* look for the commit's result */
    if (w->txn_open) {
        int64_t t = w->txn_started_ms + w->o.commit_interval_ms;
        if (t < until)
            until = t;
    }
    return until > now ? until - now : 0;
}

/* Phase timing for NTF_PROFILE=1 (a development aid; stderr every 2 s). */
static struct {
    int on;
    int64_t t_last, iters, phase_us[8];
} prof;

static int64_t now_us(void)
{
    return (int64_t)(cm_mono_sec() * 1e6);
}
#define PROF(i, stmt)                                                                              \
    do {                                                                                           \
        int64_t t_ = prof.on ? now_us() : 0;                                                       \
        stmt;                                                                                      \
        if (prof.on)                                                                               \
            prof.phase_us[i] += now_us() - t_;                                                     \
    } while (0)

int ntf_worker_step(ntf_worker *w, int poll)
{
    if (prof.t_last == 0) {
        prof.on = getenv("NTF_PROFILE") != NULL;
        prof.t_last = cm_mono_ms();
    }
    if (prof.on) {
        prof.iters++;
        if (cm_mono_ms() - prof.t_last >= 2000) {
            int hist[J_DONE + 1] = {0};
            for (size_t i = 0; i < w->njobs; i++)
                hist[w->jobs[i]->st]++;
            fprintf(stderr, "states:");
            for (int i = 0; i <= J_DONE; i++)
                fprintf(stderr, " %d", hist[i]);
            fprintf(stderr, "\n");
            fprintf(stderr,
                    "profile: %lld iters, jobs %zu inflight %d, ms in poll %lld redis %lld "
                    "send %lld (-) %lld publish %lld (-) %lld store %lld\n",
                    (long long)prof.iters, w->njobs, ntf_sender_inflight(w->o.sender),
                    (long long)prof.phase_us[0] / 1000, (long long)prof.phase_us[1] / 1000,
                    (long long)prof.phase_us[2] / 1000, (long long)prof.phase_us[3] / 1000,
                    (long long)prof.phase_us[4] / 1000, (long long)prof.phase_us[5] / 1000,
                    (long long)prof.phase_us[6] / 1000);
            memset(&prof.phase_us, 0, sizeof prof.phase_us);
            prof.iters = 0;
            prof.t_last = cm_mono_ms();
        }
    }
    int64_t now = cm_mono_ms();
    int64_t wake = start_sends(w, now);
    int64_t wait = plan_wait(w, now, wake);
    int inflight = ntf_sender_inflight(w->o.sender);

    if (poll && w->consumer && !w->draining) {
        size_t room = w->njobs < (size_t)w->o.max_queued ? (size_t)w->o.max_queued - w->njobs : 0;
        if (room > 2048) /* an iteration takes tens of ms under load: take enough */
            room = 2048;
        rd_kafka_message_t *msgs[2048];
        if (room > 0) {
            size_t n;
            PROF(0, n = cm_kafka_poll_batch(w->consumer, msgs, room, inflight > 0 ? 0 : (int)wait));
            for (size_t i = 0; i < n; i++)
                intake(w, msgs[i]);
            if (n > 0)
                wait = 0;
        } else if (!w->paused) {
            /* full for a moment (pause_resume): no record is taken; with
             * nothing in flight the loop waits here (for the commit) */
            if (inflight == 0 && wait > 0) {
                struct timespec ts = {0, (long)(wait < 10 ? wait : 10) * 1000000L};
                nanosleep(&ts, NULL);
            }
        } else {
            /* paused: poll to serve rebalances; a record of a partition
             * assigned since the pause is taken all the same. With nothing
             * in flight this is where the loop waits (for the commit, a
             * retry): a poll without a timeout here spun a core while the
             * broker, on the same cores, committed the transaction */
            rd_kafka_message_t *m =
                rd_kafka_consumer_poll(w->consumer, inflight > 0 ? 0 : (int)wait);
            if (m) {
                if (m->err)
                    rd_kafka_message_destroy(m);
                else
                    intake(w, m);
            }
        }
    }
    if (w->fatal)
        return -1;
    rd_kafka_poll(w->o.producer, 0);
    now = cm_mono_ms();
    PROF(1, do_redis(w, now));
    /* the sender thread moves transfers while this thread commits: start
     * what the Redis round trip made ready, and collect what finished */
    PROF(2, ntf_sender_run(w->o.sender, 0, on_done, w); start_sends(w, cm_mono_ms()));
    PROF(4, do_publish(w); do_commit(w, cm_mono_ms(), 0));
    now = cm_mono_ms();
    PROF(2, start_sends(w, now); ntf_sender_run(
             w->o.sender, inflight > 0 && wait > 0 ? (int)(wait < 10 ? wait : 10) : 0, on_done, w));
    if (!poll && inflight == 0 && wait > 0) {
        struct timespec ts = {0, (long)(wait < 10 ? wait : 10) * 1000000L};
        nanosleep(&ts, NULL);
    }
    now = cm_mono_ms();
    PROF(6, do_free(w));
    pause_resume(w, now);
    readiness(w, now);
    return w->fatal ? -1 : 0;
}

void ntf_worker_drain(ntf_worker *w, int64_t deadline_ms)
{
    w->draining = 1;
    /* no new sends; in-flight ones finish and their outcomes commit */
    while (!w->fatal && cm_mono_ms() < deadline_ms) {
        int busy = w->txn_open || w->committing;
        for (size_t i = 0; i < w->njobs; i++) {
            jstate st = w->jobs[i]->st;
            if (st == J_INFLIGHT || st == J_OUTCOME || st == J_PUBLISHING || st == J_MARK)
                busy = 1;
        }
        if (!busy)
            break;
        ntf_worker_step(w, 0);
    }
    if (!w->fatal) { /* the offsets of answered commands at the front too */
        commit_now(w);
        do_redis(w, cm_mono_ms());
    }
    /* claims of commands not sent, or whose recorded outcome is not
     * committed, are given back: the next owner sends or publishes them */
    size_t n = 0;
    const char **ids = calloc(w->njobs ? w->njobs : 1, sizeof *ids);
    for (size_t i = 0; ids && i < w->njobs; i++) {
        job *j = w->jobs[i];
        if (!j->committed && (j->st == J_READY || j->st == J_BACKOFF || j->st == J_PUBLISH))
            ids[n++] = j->cmd->c.command_id;
    }
    if (n > 0) {
        char err[256];
        if (ntf_claims_release(w->o.claims, ids, n, err, sizeof err) < 0)
            cm_log_warn("releasing %zu claims: %s", n, err);
    }
    free(ids);
    do_free(w);
    /* librdkafka's destroy waits for every message the application holds */
    for (size_t i = 0; i < w->njobs; i++) {
        if (w->jobs[i]->msg)
            rd_kafka_message_destroy(w->jobs[i]->msg);
        w->jobs[i]->msg = NULL;
        w->jobs[i]->gen = UINT32_MAX; /* an orphan: never published */
    }
    cm_log_info("drained: %zu commands left for the next owner", w->njobs);
}

size_t ntf_worker_jobs(const ntf_worker *w)
{
    return w->njobs;
}

void ntf_worker_free(ntf_worker *w)
{
    if (!w)
        return;
    ntf_committer_free(w->committer); /* a commit in progress ends first */
    for (size_t i = 0; i < w->njobs; i++) {
        job_free(w, w->jobs[i]);
    }
    while (w->pool) {
        job *j = w->pool;
        w->pool = j->next_free;
        job_destroy(j);
    }
    free(w->jobs);
    free(w->parts);
    free(w);
}
