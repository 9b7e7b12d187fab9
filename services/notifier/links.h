/* links.h -- the links a message carries (issue 17, docs/notifier.md
 * "Signed links"): the pay link or the gateway's self-service page, the
 * unsubscribe link, the SMS status callback.
 *
 * Tokens are common/token.h's JWTs (HS256, kid, exp) signed with the
 * tenant's paylink_secret under link_key_id; their claims are written in
 * the order of docs/notifier.md, from the command alone (iat = its
 * created_at, exp = iat + valid days * 86400), so every attempt at a
 * command renders the same bytes. The valid days are the command's
 * link_valid_days (the policy's links.valid_days, issue 17) when it has
 * one, else the tenant setting link_valid_days (default 60).
 *
 * Ownership: cmd and cfg are borrowed; every result is new (a json_t
 * reference the caller releases, or a malloc'd string the caller frees). */
#ifndef NTF_LINKS_H
#define NTF_LINKS_H

#include <jansson.h>

#include "config.h"
#include "vars.h"

/* The claims of the page token of cmd ("use":"page"), valid valid_days
 * days from iat. */
json_t *ntf_links_page_claims(const ntf_command *cmd, int valid_days);

/* The claims of the unsubscribe token of cmd for channel ("email" or
 * "sms": the channel a one-click POST stops). */
json_t *ntf_links_unsubscribe_claims(const ntf_command *cmd, const char *channel, int valid_days);

/* The days cmd's links stay valid: its link_valid_days when present, else
 * ntf_config_link_days(cfg). */
int ntf_links_valid_days(const ntf_tenant_cfg *cfg, const ntf_command *cmd);

/* The pay link of cmd: paylink_url expanded with the page token when set,
 * else <gateway_url>/p/<page token> when gateway_url is set, else NULL
 * (also without a paylink_secret, or out of memory). */
char *ntf_links_pay(const ntf_tenant_cfg *cfg, const ntf_command *cmd);

/* The unsubscribe link of cmd: unsubscribe_url expanded with the
 * unsubscribe token ("" without a paylink_secret) when set, else
 * <gateway_url>/u/<unsubscribe token> when gateway_url is set, else NULL. */
char *ntf_links_unsubscribe(const ntf_tenant_cfg *cfg, const ntf_command *cmd);

/* The Twilio StatusCallback of an SMS of cmd:
 * <gateway_url>/v1/sms/status?tenant=..&customer_id=..&command_id=..&template=..
 * (each value percent-encoded), or NULL without gateway_url. */
char *ntf_links_status_callback(const ntf_tenant_cfg *cfg, const ntf_command *cmd);

#endif
