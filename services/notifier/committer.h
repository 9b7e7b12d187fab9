/* committer.h -- ends the notifier's Kafka transactions on a thread of
 * their own.
 *
 * A transaction commit waits for the broker: milliseconds normally,
 * seconds while a partition leader moves or the broker restarts. The
 * pipeline thread must not wait with it: sends the providers accept
 * meanwhile are recorded in Redis (worker.h, step 3) only by the pipeline
 * thread, and a send not yet recorded is the one a crash repeats. So the
 * pipeline hands each commit (ntf_outbox_commit) to this thread and goes
 * on claiming, sending and recording; only producing into the next
 * transaction waits for the result.
 *
 * One commit at a time. The producer and consumer are borrowed and must
 * outlive the committer; offsets passed to start() become the committer's. */
#ifndef NTF_COMMITTER_H
#define NTF_COMMITTER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

typedef struct ntf_committer ntf_committer;

ntf_committer *ntf_committer_new(rd_kafka_t *producer, char *errstr, size_t errlen);
/* Waits for a commit in progress to end, then stops the thread. */
void ntf_committer_free(ntf_committer *c);

/* Starts ntf_outbox_commit(producer, consumer, offsets, abort, timeout_ms)
 * on the thread. offsets (may be NULL) is owned by the committer from the
 * call on, whatever it returns. -1: a commit is already in progress or
 * its result not yet taken (a caller's bug; nothing started). */
int ntf_committer_start(ntf_committer *c, rd_kafka_t *consumer,
                        rd_kafka_topic_partition_list_t *offsets, int abort, int timeout_ms);
/* 1 while a commit was started and its result not yet taken. */
int ntf_committer_busy(ntf_committer *c);
/* Takes the result of the commit started last, waiting up to wait_ms
 * (0: do not wait, < 0: until it ends). Returns 1 with *rc (as
 * ntf_outbox_commit returns: 0 committed, 1 aborted, -1 fatal) and errstr
 * set; 0 when it has not ended yet, or none was started. */
int ntf_committer_result(ntf_committer *c, int wait_ms, int *rc, char *errstr, size_t errlen);

#endif
