/* message.h -- a command rendered into the request a provider receives.
 *
 * email: an RFC 5322 message (multipart/alternative text + HTML, base64
 * parts, Message-ID derived from the command id) and its SMTP envelope.
 * sms: a Twilio-form POST {base}/Accounts/{sid}/Messages.json (To, From,
 * Body). webhook: a JSON POST signed per Standard Webhooks at each attempt.
 * A request is built once per command, so every retry sends the same bytes.
 * Strings are owned by the request (ntf_request_free); the config the
 * request borrows from (credentials, secret) outlives it. */
#ifndef NTF_MESSAGE_H
#define NTF_MESSAGE_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "vars.h"
#include "config.h"
#include "templates.h"

typedef struct ntf_request {
    ct_channel channel;
    char *url;
    char *body;
    size_t body_len;
    char *mail_from, *rcpt;      /* email envelope */
    const char *user, *password; /* borrowed: SMTP login or SMS basic auth */
    const char *webhook_secret;  /* borrowed */
    char *idempotency_key;       /* the command id */
    char message_id[160];        /* email: "<...@domain>" */
} ntf_request;

/* Builds req for cmd (email, sms or webhook). now_ms dates the email.
 * Returns 0; -1 with errstr when the message cannot be made (render error,
 * missing template, provider not configured): a permanent failure. */
int ntf_message_build(const ntf_tenant_cfg *cfg, const ntf_templates *tpl, const ntf_command *cmd,
                      int64_t now_ms, ntf_request *req, char *errstr, size_t errlen);
void ntf_request_free(ntf_request *req);

/* The HTTP headers for one attempt at now_s (webhook signatures carry the
 * attempt's timestamp). The caller frees the list with curl_slist_free_all.
 * NULL for email. */
struct curl_slist *ntf_request_headers(const ntf_request *req, int64_t now_s);

/* Renders the parts of cmd's template for channel (CT_CH_EMAIL: subject,
 * text, html; CT_CH_SMS: text) into the caller's buffers (appended). The subject is
 * one line; an SMS text has no trailing blank. -1 with errstr on a missing
 * template or a render error. */
int ntf_message_render(const ntf_tenant_cfg *cfg, const ntf_templates *tpl, const ntf_command *cmd,
                       ct_channel channel, cm_buf *subject, cm_buf *text, cm_buf *html,
                       char *errstr, size_t errlen);

/* "<hex@domain>": deterministic Message-ID of a command id. */
void ntf_message_id(const char *command_id, const char *domain, char *out, size_t outlen);

/* The pay link for cmd under cfg (a new string), or NULL when the tenant
 * has no pay-link URL. */
char *ntf_message_paylink(const ntf_tenant_cfg *cfg, const ntf_command *cmd);

#endif
