/* contact.c -- an attempt's outcome as the contract's records.
 *
 * Design: the records and their bytes are the contract's (outcome.c); here
 * the command's members and the attempt's result are put into a
 * ct_contact. A task (call_task, letter) is "sent" when queued on tasks,
 * and, like a send, not at all once its not_after has passed. */
#include "contact.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "outcome.h"
#include "str.h"

int ntf_not_after_passed(const ntf_command *cmd, int64_t now_ms)
{
    return cmd->c.has_not_after && now_ms > cmd->c.not_after_ms;
}

void ntf_task_outcome(const ntf_command *cmd, int64_t now_ms, ntf_outcome *o)
{
    if (ntf_not_after_passed(cmd, now_ms)) {
        o->sent = 0;
        o->provider_status[0] = 0;
        cm_strlcpy(o->reason, NTF_REASON_NOT_AFTER, sizeof o->reason);
        return;
    }
    o->sent = 1;
    cm_strlcpy(o->provider_status, "queued", sizeof o->provider_status);
    o->reason[0] = 0;
}

char *ntf_contact_json(const ntf_command *cmd, const ntf_outcome *o)
{
    ct_contact c;
    cm_buf b = CM_BUF_INIT;
    ct_contact_from_command(&c, &cmd->c);
    c.type = o->sent ? CT_OUT_SENT : CT_OUT_FAILED;
    c.provider_status = o->provider_status;
    c.attempts = o->attempts;
    c.latency_ms = o->latency_ms;
    c.at_ms = o->at_ms;
    c.message_id = o->message_id;
    c.reason = o->reason;
    if (ct_contact_encode(&c, &b) < 0) {
        cm_buf_free(&b);
        return NULL;
    }
    return cm_buf_take(&b, NULL);
}

char *ntf_task_json(const ntf_command *cmd)
{
    ct_task t = {cmd->json, cmd->c.command_id};
    cm_buf b = CM_BUF_INIT;
    if (ct_task_encode(&t, &b) < 0) {
        cm_buf_free(&b);
        return NULL;
    }
    return cm_buf_take(&b, NULL);
}

void ntf_contact_key(const ntf_command *cmd, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", cmd->c.tenant ? cmd->c.tenant : "",
             cmd->c.customer.customer_id ? cmd->c.customer.customer_id : "");
}
