/* contact.c -- an attempt's outcome as the contract's records.
 *
 * Design: the records and their bytes are the contract's (outcome.c); here
 * the command's members and the attempt's result are put into a
 * ct_contact. A task (call_task, letter) is "sent" when queued on tasks,
 * and, like a send, not at all once its not_after has passed. Log lines
 * get the debtor's contact details masked (ntf_log_scrub); records do
 * not. */
#include "contact.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "log.h"
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
    ct_task t = {cmd->root, cmd->c.command_id};
    cm_buf b = CM_BUF_INIT;
    if (ct_task_encode(&t, &b) < 0) {
        cm_buf_free(&b);
        return NULL;
    }
    return cm_buf_take(&b, NULL);
}

void ntf_log_scrub(const ntf_command *cmd, const char *text, char *out, size_t outlen)
{
    const char *phone = cmd->c.customer.phone;
    const char *val[3] = {cmd->c.customer.email, phone,
                          phone && phone[0] == '+' ? phone + 1 : NULL};
    char mask[3][CM_LOG_MASK_MAX];
    size_t o = 0;
    if (outlen == 0)
        return;
    cm_log_mask_email(val[0], mask[0], sizeof mask[0]);
    cm_log_mask_phone(val[1], mask[1], sizeof mask[1]);
    cm_log_mask_phone(val[2], mask[2], sizeof mask[2]);
    while (text && *text && o + 1 < outlen) {
        int hit = -1;
        for (int k = 0; k < 3 && hit < 0; k++)
            if (val[k] && *val[k] && strncmp(text, val[k], strlen(val[k])) == 0)
                hit = k;
        if (hit < 0) {
            out[o++] = *text++;
            continue;
        }
        size_t n = cm_strlcpy(out + o, mask[hit], outlen - o);
        o = o + n < outlen ? o + n : outlen - 1;
        text += strlen(val[hit]);
    }
    out[o] = 0;
}

void ntf_contact_key(const ntf_command *cmd, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", cmd->c.tenant ? cmd->c.tenant : "",
             cmd->c.customer.customer_id ? cmd->c.customer.customer_id : "");
}
