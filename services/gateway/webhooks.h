/* webhooks.h -- the gateway's provider webhooks: Twilio-compatible SMS
 * (POST /v1/sms/inbound, /v1/sms/status) and email events
 * (POST /v1/email/events), and the form parser they share.
 *
 * Design: as handle.c, every part is a pure function of its input. form.c
 * decodes application/x-www-form-urlencoded text (bodies and query
 * strings); twilio.c computes and checks X-Twilio-Signature under the
 * tenant's auth token (credentials of kind GW_CRED_TWILIO, read by auth.c
 * from ARREARS_GATEWAY_TWILIO_FILE); sms.c maps an inbound text or a
 * status callback to the CloudEvent issue17.md section 3 names; email.c
 * the email provider's JSON. gw_webhooks_route (sms.c) answers the three
 * paths and publishes through the configuration's gw_backend, after the
 * contract's ct_validate, as /v1/events does.
 *
 * Ownership: a gw_form owns its names and values (gw_form_free); a cm_buf
 * filled here is the caller's; everything passed in is borrowed. */
#ifndef GW_WEBHOOKS_H
#define GW_WEBHOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "form.h"
#include "gateway.h"

/* --- Twilio request signatures (twilio.c) -------------------------------- */

/* gw_cred.webhook of a Twilio auth token (its bytes in key/keylen; 0 is
 * a bearer token, 1 a Standard Webhooks secret). */
#define GW_CRED_TWILIO 2

/* X-Twilio-Signature of a POST: base64(HMAC-SHA1(token, url + every
 * parameter's name and value, sorted by name then value, byte order))
 * into out (at least 29 bytes); 0, or -1 out of memory. url is the full
 * URL Twilio requested, query string included. */
int gw_twilio_sign(const char *token, size_t toklen, const char *url, const gw_form *params,
                   char out[29]);
/* The tenant's Twilio credential whose token signed url and params as
 * signature says (compared in constant time with each of the tenant's
 * tokens, so a second token may be added while rotating); NULL otherwise. */
const gw_cred *gw_twilio_check(const gw_auth *a, const char *tenant, const char *url,
                               const gw_form *params, const char *signature);

/* --- SMS (sms.c) --------------------------------------------------------- */

typedef enum gw_sms_kind { GW_SMS_REPLY = 0, GW_SMS_STOP, GW_SMS_START } gw_sms_kind;

/* The meaning of an inbound text: Body trimmed of ASCII white space and
 * compared case-insensitively with STOP STOPALL UNSUBSCRIBE CANCEL END QUIT
 * (stop) and START YES UNSTOP (start); anything else is a reply. */
gw_sms_kind gw_sms_keyword(const char *body, size_t len);
/* The longest prefix of s[0..len) of at most max bytes that does not cut
 * a UTF-8 sequence in two. */
size_t gw_utf8_cut(const char *s, size_t len, size_t max);

#define GW_SMS_TEXT_MAX 1600

/* The CloudEvent of an inbound SMS (form: Twilio's parameters) into out,
 * its id into id: contact.ceased / contact.resumed {"phone","channel":"sms"}
 * or contact.replied {"channel","phone","text","provider_id"}; time is the
 * receipt time (RFC 3339). 0, or -1 with reasons naming each bad
 * parameter in rs (none: out of memory). */
int gw_sms_inbound_event(const char *tenant, const gw_form *form, const char *time, cm_buf *out,
                         char *id, size_t idlen, ct_reasons *rs);
/* The CloudEvent of a status callback (form: the POST parameters; query:
 * the callback URL's customer_id, command_id, template): delivered ->
 * contact.delivered, failed -> contact.bounced kind hard, undelivered ->
 * contact.bounced kind soft. 1 written, 0 a status that publishes nothing
 * (queued, sent, ...), -1 with reasons in rs (none: out of memory). */
int gw_sms_status_event(const char *tenant, const gw_form *form, const gw_form *query,
                        const char *time, cm_buf *out, char *id, size_t idlen, ct_reasons *rs);

/* --- email events (email.c) ---------------------------------------------- */

/* The parts of the notifier's Message-ID (issue17.md section 2):
 * "<ntf.<32 hex>.<base64url(customer_id)>.<base64url(template)>@<domain>>",
 * angle brackets optional. 0, or -1 with the rule in why. */
typedef struct gw_msgid {
    char hash[33];
    char customer_id[CT_ID_MAX + 1];
    char template_[CT_ID_MAX + 1];
} gw_msgid;
int gw_msgid_parse(const char *s, gw_msgid *m, char *why, size_t whylen);

/* The CloudEvents of an email webhook body (one object or an array of
 * them) for tenant: a malloc'd array of n events (gw_events_free) into
 * *out. Returns n (>= 1), or -1 with every bad item's reasons in rs
 * ("[i].message_id" in a batch, "message_id" alone) and *out NULL. */
long gw_email_events(const char *tenant, const char *body, size_t len, size_t batch_max,
                     gw_event **out, ct_reasons *rs);

/* --- routing (sms.c) ----------------------------------------------------- */

/* Answers rq when its path is one of the webhook paths (1), else 0 with
 * out untouched. */
int gw_webhooks_route(const gw_config *cfg, const gw_request *rq, gw_answer *out);

#endif
