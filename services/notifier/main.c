/* main.c -- arrears-notifier: commands in, email/SMS/webhooks out, contact
 * outcomes recorded.
 *
 * The settings, bound to an ntf_settings; the hooks of the service runtime
 * (common/service.h) are setup.c's. The pipeline is worker.c, sends are
 * sender.c, rendering message.c/render.c, the at-most-once claims claims.c
 * (docs/notifier.md). */
#include "setup.h"

#include "service.h"

static ntf_app app;

#define FILE_ROW(name, what, ptr) CM_SETTING_PATH(name, "", "file holding the " what, ptr)
#define MS(n)                     INT64_C(n)

static cm_setting table[] = {
    CM_SETTINGS_COMMON_BOUND(&app.o.c, "127.0.0.1:9103", "arrears-notifier"),
    CM_SETTING_PATH("ARREARS_TEMPLATES_DIR", "deploy/config/templates",
                    "message templates: <tenant>/<locale>/<channel>/<id>.{subject,txt,html}",
                    &app.o.templates_dir),
    CM_SETTING_PATH("ARREARS_TENANTS_FILE", "",
                    "JSON of per-tenant provider overrides (docs/notifier.md)",
                    &app.o.tenants_file),
    CM_SETTING_URL("ARREARS_SMTP_URL", "", "SMTP server smtp://host:port or smtps://host:port",
                   &app.o.smtp_url),
    CM_SETTING_STR("ARREARS_SMTP_USER", "", "SMTP login (empty: no AUTH)", &app.o.smtp_user),
    CM_SETTING_SECRET("ARREARS_SMTP_PASSWORD", "", "SMTP password", &app.o.smtp_password),
    FILE_ROW("ARREARS_SMTP_PASSWORD_FILE", "SMTP password", &app.o.smtp_password_file),
    CM_SETTING_STR("ARREARS_SMTP_FROM", "", "From: of emails, \"Name <addr>\" or addr",
                   &app.o.smtp_from),
    CM_SETTING_STR("ARREARS_SMTP_REPLY_TO", "", "Reply-To: of emails (empty: the From)",
                   &app.o.smtp_reply_to),
    CM_SETTING_CHECKED("ARREARS_SMTP_TLS", "try", "STARTTLS on smtp://: none, try or require",
                       &app.o.smtp_tls, ntf_setup_check_tls),
    CM_SETTING_STR("ARREARS_UNSUBSCRIBE_URL", "",
                   "one-click unsubscribe URL template ({tenant}, {customer}, {token})",
                   &app.o.unsubscribe_url),
    CM_SETTING_URL("ARREARS_SMS_URL", "",
                   "SMS API base URL (Twilio form: {base}/Accounts/{sid}/Messages.json)",
                   &app.o.sms_url),
    CM_SETTING_STR("ARREARS_SMS_ACCOUNT", "", "SMS account sid (basic auth user)",
                   &app.o.sms_account),
    CM_SETTING_SECRET("ARREARS_SMS_TOKEN", "", "SMS auth token (basic auth password)",
                      &app.o.sms_token),
    FILE_ROW("ARREARS_SMS_TOKEN_FILE", "SMS auth token", &app.o.sms_token_file),
    CM_SETTING_STR("ARREARS_SMS_FROM", "", "SMS sender number or id", &app.o.sms_from),
    CM_SETTING_URL("ARREARS_WEBHOOK_URL", "",
                   "tenant webhook URL (per tenant: ARREARS_TENANTS_FILE)", &app.o.webhook_url),
    CM_SETTING_SECRET("ARREARS_WEBHOOK_SECRET", "",
                      "Standard Webhooks signing secret whsec_<base64>", &app.o.webhook_secret),
    FILE_ROW("ARREARS_WEBHOOK_SECRET_FILE", "webhook secret", &app.o.webhook_secret_file),
    CM_SETTING_STR("ARREARS_PAYLINK_URL", "",
                   "pay link template, e.g. https://pay.example/{tenant}/{token}",
                   &app.o.paylink_url),
    CM_SETTING_SECRET("ARREARS_PAYLINK_SECRET", "",
                      "HMAC key of signed links (JWT HS256; 16-256 bytes): pay link, page, "
                      "unsubscribe",
                      &app.o.paylink_secret),
    FILE_ROW("ARREARS_PAYLINK_SECRET_FILE", "pay-link secret", &app.o.paylink_secret_file),
    CM_SETTING_STR("ARREARS_GATEWAY_URL", "",
                   "public base URL of arrears-gateway: pay links <url>/p/<token>, "
                   "unsubscribe <url>/u/<token>, SMS status callbacks (empty: none)",
                   &app.o.gateway_url),
    CM_SETTING_STR("ARREARS_LINK_KEY_ID", NTF_LINK_KID_DEFAULT,
                   "kid of ARREARS_PAYLINK_SECRET in signed links ([A-Za-z0-9._-]{1,32})",
                   &app.o.link_key_id),
    CM_SETTING_STR("ARREARS_LINK_VALID_DAYS", "60",
                   "days a signed link stays valid after the command was created (exp), 1-3650, "
                   "for a command without link_valid_days (the policy's links.valid_days)",
                   &app.o.link_valid_days),
    CM_SETTING_INT("ARREARS_MAX_INFLIGHT", "256", "sends in flight at once", 1, 10000,
                   &app.o.max_inflight),
    CM_SETTING_INT("ARREARS_MAX_QUEUED", "4096",
                   "commands held in memory (then consumption pauses)", 1, 1000000,
                   &app.o.max_queued),
    CM_SETTING_INT("ARREARS_RATE_EMAIL", "0", "emails per second (token bucket; 0 = unlimited)", 0,
                   1000000, &app.o.rate_email),
    CM_SETTING_INT("ARREARS_RATE_SMS", "0", "SMS per second (0 = unlimited)", 0, 1000000,
                   &app.o.rate_sms),
    CM_SETTING_INT("ARREARS_RATE_WEBHOOK", "0", "webhooks per second (0 = unlimited)", 0, 1000000,
                   &app.o.rate_webhook),
    CM_SETTING_INT("ARREARS_RETRY_ATTEMPTS", "5", "attempts per message, first included", 1, 100,
                   &app.o.retry_attempts),
    CM_SETTING_DURATION("ARREARS_RETRY_BASE", "1s",
                        "first retry delay (doubles each retry, with jitter)", 1, MS(3600000),
                        &app.o.retry_base),
    CM_SETTING_DURATION("ARREARS_RETRY_MAX", "5m", "longest retry delay (also caps Retry-After)", 1,
                        MS(86400000), &app.o.retry_max),
    CM_SETTING_DURATION("ARREARS_SEND_TIMEOUT", "30s", "one attempt, whole transfer", 100,
                        MS(3600000), &app.o.send_timeout),
    CM_SETTING_DURATION("ARREARS_CONNECT_TIMEOUT", "10s", "connection set-up", 100, MS(600000),
                        &app.o.connect_timeout),
    CM_SETTING_DURATION("ARREARS_CLAIM_TTL", "60s",
                        "lifetime of a send claim not refreshed (a dead replica's)", 1000,
                        MS(3600000), &app.o.claim_ttl),
    CM_SETTING_DURATION("ARREARS_OUTCOME_TTL", "30d",
                        "how long outcomes are remembered per command id", 60000, 3650LL * 86400000,
                        &app.o.outcome_ttl),
    CM_SETTING_STR("ARREARS_NOTIFIER_KEY_PREFIX",
                   "arrears:ntf:", "Redis key prefix of claims and outcomes", &app.o.key_prefix),
    CM_SETTING_DURATION("ARREARS_COMMIT_INTERVAL", "100ms",
                        "how long one Kafka transaction collects outcomes and offsets", 1,
                        MS(60000), &app.o.commit_interval),
    CM_SETTING_DURATION(
        "ARREARS_TRANSACTION_TIMEOUT", "10s",
        "transaction.timeout.ms: how long a dead replica's open transaction holds back readers",
        1000, 900000, &app.o.txn_timeout),
    CM_SETTING_INT("ARREARS_UNHEALTHY_AFTER", "10",
                   "transient failures in a row that make /readyz fail", 1, 1000000,
                   &app.o.unhealthy_after),
    CM_SETTING_BOOL("ARREARS_TLS_INSECURE", "false", "skip TLS certificate checks (tests only)",
                    &app.o.tls_insecure),
    CM_SETTINGS_END};

int main(int argc, char **argv)
{
    static const cm_service_def def = {
        .name = "notifier",
        .summary = "sends the scheduler's commands as email, SMS and webhooks and records each "
                   "outcome on contacts",
        .settings = table,
        .common = &app.o.c,
        .app = &app,
        .life = {.configure = ntf_setup_configure,
                 .init = ntf_setup_init,
                 .start = ntf_setup_start,
                 .cleanup = ntf_setup_cleanup},
        .io = {.redis_once = 1,
               .producer_new = ntf_setup_producer,
               .inputs = "commands",
               .on_rebalance = ntf_setup_rebalance},
        /* the worker polls between sends and commits transactions */
        .loop = {.own_poll = 1, .on_tick = ntf_setup_tick, .on_stop = ntf_setup_stop}};
    return cm_service_main(&def, argc, argv);
}
