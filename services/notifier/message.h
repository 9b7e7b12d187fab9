/* message.h -- a command rendered into the request a provider receives.
 *
 * email: an RFC 5322 message (multipart/alternative text + HTML, base64
 * parts, Message-ID derived from the command id, customer and template,
 * List-Unsubscribe) and its SMTP envelope.
 * sms: a Twilio-form POST {base}/Accounts/{sid}/Messages.json (To, From,
 * Body, and StatusCallback when the tenant has a gateway_url). webhook: a JSON POST signed per
 * Standard Webhooks at each attempt. A request is built once per command, so every retry sends the
 * same bytes. Strings are owned by the request (ntf_request_free); the config the request borrows
 * from (credentials, secret) outlives it. */
#ifndef NTF_MESSAGE_H
#define NTF_MESSAGE_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "contact.h"
#include "vars.h"
#include "config.h"
#include "templates.h"

/* The longest SMS Body sent, in characters (Unicode code points): Twilio
 * refuses a longer one (error 21617, ten segments); a longer text is a
 * permanent failure before any request (docs/operations.md "Input limits"). */
#define NTF_SMS_TEXT_MAX 1600

typedef struct ntf_request {
    ct_channel channel;
    char *url;
    char *body;
    size_t body_len;
    char *mail_from, *rcpt;              /* email envelope */
    const char *user, *password;         /* borrowed: SMTP login or SMS basic auth */
    const char *webhook_secret;          /* borrowed */
    char *idempotency_key;               /* the command id */
    char message_id[NTF_MESSAGE_ID_MAX]; /* email: "<...@domain>" */
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

/* The deterministic Message-ID of an email:
 * "<ntf.<32 hex of sha256(command_id)>.<base64url(customer_id)>.
 * <base64url(template_id)>@<domain>>" (no line break; NULL reads ""),
 * so a provider's event names the debtor and template without state. out
 * of NTF_MESSAGE_ID_MAX bytes holds any the contract allows. */
void ntf_message_id(const char *command_id, const char *customer_id, const char *template_id,
                    const char *domain, char *out, size_t outlen);

/* The List-Unsubscribe header fields of an email from from_addr with the
 * unsubscribe link unsub (NULL: none) appended to b, each line ending in
 * CRLF:
 *   List-Unsubscribe: <unsub>,\r\n <mailto:from_addr?subject=unsubscribe>
 *   List-Unsubscribe-Post: List-Unsubscribe=One-Click
 * the first form and the second field only when unsub is an http(s) URL
 * (RFC 8058) whose line fits in RFC 5322's 998 characters; else only
 * "List-Unsubscribe: <mailto:...>". */
void ntf_message_list_unsubscribe(cm_buf *b, const char *from_addr, const char *unsub);

#endif
