/* vars.h -- a command from the scheduler (docs/contracts.md), decoded
 * into the contract's ct_command, and the template variables derived from
 * it.
 *
 * The record is decoded by ct_command_decode (contract/command.h): the
 * notifier checks nothing of its own. ntf_command keeps the record's tree
 * in an arena of its own (common/json.h; owned): ct_command's strings
 * borrow from it, and task records and webhooks carry the command as
 * received, written back from the tree. Free with ntf_command_free. */
#ifndef NTF_VARS_H
#define NTF_VARS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "command.h" /* contract/command.h */
#include "json.h"    /* common/json.h */

typedef struct ntf_command {
    cm_json *js;       /* owned: the arena the record was read into */
    const cm_jv *root; /* the record as received (in js); NULL: not JSON */
    ct_command c;      /* decoded; borrows from js */
    /* The locale to render in: the command's, else the customer's, else
     * en-GB (also when the one given cannot name a template directory). */
    const char *locale;
} ntf_command;

/* Parses and decodes payload into cmd. Returns 0, or -1 with errstr
 * naming the field and the rule. When cmd->c.command_id is set after a -1
 * the command can be answered with a contact.failed; when NULL it cannot
 * be identified. In both cases cmd must be freed with ntf_command_free. */
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
