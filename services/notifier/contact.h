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
/* Record key "tenant/customer_id" into out. */
void ntf_contact_key(const ntf_command *cmd, char *out, size_t outlen);

#endif
