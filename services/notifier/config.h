/* config.h -- provider settings, global and per tenant.
 *
 * The global values come from the environment (main.c's settings table);
 * an optional tenants file (ARREARS_TENANTS_FILE, JSON) overrides any of
 * them per tenant:
 *   {"acme": {"smtp_url": "smtps://mail.acme.test:465", "smtp_user": "ar",
 *             "smtp_password_file": "/run/secrets/acme-smtp",
 *             "smtp_from": "Acme AR <ar@acme.test>", "webhook_url": "...",
 *             "gateway_url": "https://pay.acme.test", "link_key_id": "k2",
 *             "link_valid_days": 60}}
 * Every secret field also has a "<field>_file" form (the file's content,
 * trailing newline removed). Every value is a string, but link_valid_days
 * may also be a JSON integer (it is held as its decimal string). Strings
 * are owned by the config.
 *
 * Signed links (issue 17, docs/notifier.md "Signed links"): paylink_secret
 * is the key (16-256 bytes), link_key_id its kid (default "k1"),
 * link_valid_days the tokens' lifetime (default 60) for a command that
 * does not carry its own: the scheduler's policy (links.valid_days, issue
 * 17) is the source, written on each command as link_valid_days; this
 * setting is the fallback for policies that do not set it.
 * gateway_url is the base of the gateway's /p/ and /u/ links and of the
 * SMS status callback. */
#ifndef NTF_CONFIG_H
#define NTF_CONFIG_H

#include <stddef.h>

typedef struct ntf_tenant_cfg {
    char *name;
    char *smtp_url, *smtp_user, *smtp_password, *smtp_from, *reply_to, *unsubscribe_url;
    char *sms_url, *sms_account, *sms_token, *sms_from;
    char *webhook_url, *webhook_secret;
    char *paylink_url, *paylink_secret;
    char *gateway_url, *link_key_id, *link_valid_days;
} ntf_tenant_cfg;

#define NTF_LINK_KID_DEFAULT        "k1"
#define NTF_LINK_VALID_DAYS_DEFAULT 60
#define NTF_LINK_VALID_DAYS_MAX     3650

typedef struct ntf_config {
    ntf_tenant_cfg global;
    ntf_tenant_cfg *tenants;
    size_t ntenants;
} ntf_config;

/* The field table: JSON name (also the lower-case ARREARS_ suffix), offset,
 * whether it is a secret (has a _file form and is never logged), whether
 * the tenants file may give it as a JSON integer. */
typedef struct ntf_config_field {
    const char *name;
    size_t offset;
    int secret, integer;
} ntf_config_field;
extern const ntf_config_field ntf_config_fields[];

/* Sets a global field by JSON name (copying value; NULL or "" clears it). */
int ntf_config_set(ntf_tenant_cfg *t, const char *name, const char *value);
/* Loads the tenants file (path may be NULL or ""), merging over global. */
int ntf_config_load_tenants(ntf_config *c, const char *path, char *errstr, size_t errlen);
/* The settings for tenant: its own merged entry, else the global one. */
const ntf_tenant_cfg *ntf_config_tenant(const ntf_config *c, const char *tenant);
void ntf_config_free(ntf_config *c);

/* The kid links are signed with (link_key_id, else "k1"). */
const char *ntf_config_link_kid(const ntf_tenant_cfg *t);
/* The lifetime of links in days (link_valid_days, else 60; a value
 * ntf_config_check refuses also reads 60). */
int ntf_config_link_days(const ntf_tenant_cfg *t);

/* Checks what every tenant needs for a channel it may use; used by
 * --check-config and at start for a clear log line. */
int ntf_config_check(const ntf_tenant_cfg *t, char *errstr, size_t errlen);

#endif
