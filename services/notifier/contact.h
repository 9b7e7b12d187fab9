/* contact.h -- the notifier's side of the outcome records: what an attempt
 * produced (ntf_outcome), turned into the contract's contact outcome and
 * task record (contract/outcome.h, which encodes both). */
#ifndef NTF_CONTACT_H
#define NTF_CONTACT_H

#include <stddef.h>
#include <stdint.h>

#include "vars.h"

/* Room for an email's Message-ID with its NUL (message.c works out the
 * longest, 893 bytes; the contract takes up to CT_TEXT_MAX = 1000). */
#define NTF_MESSAGE_ID_MAX 1000

typedef struct ntf_outcome {
    int sent;                 /* contact.sent, else contact.failed */
    char provider_status[32]; /* "250", "200", "queued" or "" */
    int attempts;
    int64_t latency_ms;
    int64_t at_ms;                       /* shared clock */
    char reason[512];                    /* failed only */
    char message_id[NTF_MESSAGE_ID_MAX]; /* email only ("" otherwise) */
} ntf_outcome;

/* The contact outcome for cmd (which may be only partly decoded: missing
 * fields are left out), encoded by ct_contact_encode. Returns a new string
 * the caller frees, NULL when memory ran out. */
char *ntf_contact_json(const ntf_command *cmd, const ntf_outcome *o);
/* The task record for a call_task/letter command: the command as received
 * plus "task_id" (the command id), encoded by ct_task_encode. New string
 * the caller frees, NULL when memory ran out. */
char *ntf_task_json(const ntf_command *cmd);
/* The reason a command answered after its not_after carries. */
#define NTF_REASON_NOT_AFTER "not sent: not_after has passed"
/* 1 when cmd has a not_after and now_ms (shared clock, cm_clock_now_ms) is
 * past it: the command is neither sent nor queued any more; else 0. */
int ntf_not_after_passed(const ntf_command *cmd, int64_t now_ms);
/* The outcome of a call_task/letter command (a review is a call_task) taken
 * at now_ms (shared clock): contact.sent with provider_status "queued", and
 * its task record goes to tasks; or, once its not_after has passed, what an
 * expired send gets: contact.failed NTF_REASON_NOT_AFTER, and no task
 * record. Sets o's sent, provider_status and reason only. */
void ntf_task_outcome(const ntf_command *cmd, int64_t now_ms, ntf_outcome *o);
/* Copies text (a provider's answer, an error) into out (outlen > 0 bytes,
 * the caller's; truncated, NUL-terminated) for a log line, with every
 * occurrence of cmd's customer e-mail and phone (also its digits without
 * the '+', as a form-encoded echo carries them) replaced by its mask
 * (cm_log_mask_email, cm_log_mask_phone). Records keep the full text. */
void ntf_log_scrub(const ntf_command *cmd, const char *text, char *out, size_t outlen);
/* Record key "tenant/customer_id" into out. */
void ntf_contact_key(const ntf_command *cmd, char *out, size_t outlen);

#endif
