/* setup.h -- the notifier's parts, built from its settings, as the hooks
 * of the service runtime (common/service.h).
 *
 * main.c binds the settings table to an ntf_settings and hands an ntf_app
 * to the runtime; these functions do the rest:
 *   configure  provider settings (secrets from *_FILE when set) and the
 *              templates, for --check-config too;
 *   init       curl;
 *   producer   the transactional producer (outbox.c), its transactional.id
 *              the group id and this process start (KIP-447 fences by
 *              group generation, not by this id);
 *   start      claims, sender and the worker over the consumer, and the
 *              email gate's own Redis connection (the sender thread's);
 *   tick       one worker step (it polls the consumer itself);
 *   stop       finishes sends in flight (7 s), flushes;
 *   cleanup    frees everything, also after a partial start.
 *
 * Ownership: the ntf_app owns what it builds; the runtime owns the Redis
 * connection, the consumer and the producer. */
#ifndef NTF_SETUP_H
#define NTF_SETUP_H

#include "claims.h"
#include "config.h"
#include "sender.h"
#include "service.h"
#include "templates.h"
#include "worker.h"

/* The settings, as loaded (ms for durations). */
typedef struct ntf_settings {
    cm_settings_common c;
    const char *templates_dir, *tenants_file, *key_prefix, *smtp_tls;
    const char *smtp_url, *smtp_user, *smtp_password, *smtp_password_file, *smtp_from,
        *smtp_reply_to, *unsubscribe_url;
    const char *sms_url, *sms_account, *sms_token, *sms_token_file, *sms_from;
    const char *webhook_url, *webhook_secret, *webhook_secret_file;
    const char *paylink_url, *paylink_secret, *paylink_secret_file;
    const char *gateway_url, *link_key_id, *link_valid_days;
    int max_inflight, max_queued, rate_email, rate_sms, rate_webhook, retry_attempts;
    int unhealthy_after, tls_insecure, txn_timeout;
    long long retry_base, retry_max, send_timeout, connect_timeout, claim_ttl, outcome_ttl;
    long long commit_interval;
} ntf_settings;

typedef struct ntf_app {
    ntf_settings o;
    ntf_config cfg;
    int cfg_loaded, curl;
    ntf_templates *tpl;
    ntf_claims *claims;
    cm_redis *gate_redis;    /* the email gate's connection (sender thread) */
    ntf_claims *gate_claims; /* ... and its claims */
    ntf_sender *sender;
    ntf_worker *worker;
    char owner[128];
    char contacts[256], tasks[256], commands[256];
} ntf_app;

/* Checks SMTP_TLS: none, try or require. */
int ntf_setup_check_tls(const char *v, char *errstr, size_t errlen);

int ntf_setup_configure(void *app, char *errstr, size_t errlen);
int ntf_setup_init(cm_service *s, void *app, char *errstr, size_t errlen);
rd_kafka_t *ntf_setup_producer(cm_service *s, void *app, char *errstr, size_t errlen);
void ntf_setup_rebalance(void *app, int assigned, const rd_kafka_topic_partition_list_t *parts);
int ntf_setup_start(cm_service *s, void *app, char *errstr, size_t errlen);
int ntf_setup_tick(cm_service *s, void *app);
int ntf_setup_stop(cm_service *s, void *app, int failed);
void ntf_setup_cleanup(void *app);

#endif
