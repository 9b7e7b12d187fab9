/* command.h -- a command from the scheduler (docs/contracts.md), parsed and
 * checked, and the template variables derived from it.
 *
 * The command keeps its JSON document (owned); every const char * field
 * borrows from it. Free with ntf_command_free. */
#ifndef NTF_COMMAND_H
#define NTF_COMMAND_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    NTF_CH_EMAIL = 0,
    NTF_CH_SMS = 1,
    NTF_CH_WEBHOOK = 2,
    NTF_CH_CALL_TASK = 3,
    NTF_CH_LETTER = 4,
} ntf_channel;

#define NTF_MAX_ID 512

typedef struct ntf_command {
    json_t *json; /* owned */
    const char *command_id, *kind, *tenant, *channel_name, *template_id, *locale;
    const char *strategy, *variant, *created_at, *currency, *customer_id;
    ntf_channel channel;
    json_t *step;          /* borrowed; integer or NULL */
    int64_t created_ms;    /* -1 when absent */
    int64_t not_after_ms;  /* -1 when absent */
    int64_t total_minor;   /* amounts.total, -1 when absent */
} ntf_command;

const char *ntf_channel_name(ntf_channel c);

/* Parses payload into cmd. Returns 0, or -1 with errstr naming the field
 * and the rule. When cmd->command_id is set after a -1 the command can be
 * answered with a contact.failed; when NULL it cannot be identified. In
 * both cases cmd must be freed with ntf_command_free. */
int ntf_command_parse(const void *payload, size_t len, ntf_command *cmd, char *errstr,
                      size_t errlen);
void ntf_command_free(ntf_command *cmd);

/* Template variables for cmd (a new object the caller owns): customer,
 * amounts and dates formatted for fmt_locale (the locale of the template
 * that will be rendered, so numbers and month names match its language;
 * NULL = the command's), the invoice list, plus every field of extra
 * (borrowed, may be NULL: tenant vars, pay link). */
json_t *ntf_command_vars(const ntf_command *cmd, json_t *extra, const char *fmt_locale,
                         char *errstr, size_t errlen);

/* The invoice ids of cmd as a new JSON array. */
json_t *ntf_command_invoice_ids(const ntf_command *cmd);

#endif
