/* test_notifier_links.c -- issue 17's links from the notifier's side: the
 * page and unsubscribe tokens (claims worked by hand from the command and
 * docs/notifier.md "Signed links"; the unsubscribe token's bytes computed
 * independently with python3's hmac), their kid and exp, the gateway
 * URLs, List-Unsubscribe with and without a gateway (RFC 2369, RFC 8058),
 * the SMS StatusCallback of hostile ids, the Message-ID and its longest
 * form, the settings' rules (errors name the field), and issue 17's
 * link_valid_days of the command over the tenant setting. Pure logic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base64.h"
#include "token.h"
#include "../../services/notifier/config.h"
#include "../../services/notifier/links.h"
#include "../../services/notifier/message.h"
#include "../../services/notifier/templates.h"
#include "../../services/notifier/vars.h"

#define SECRET "0123456789abcdef0123" /* 20 bytes */

/* Two invoices (one with fees and interest, one without amounts and
 * without a number) and a plan offer, fired at 23:30 UTC on 8 March 2026:
 * 00:30 on 9 March in Berlin (UTC+1 until 29 March). I-1's
 * outstanding_minor is what the scheduler writes: amount 12000 + unpaid
 * fees 4000 - paid 0 = 16000 (services/scheduler/state.c
 * sch_inv_outstanding); its principal is 12000. */
static const char *cmd_json =
    "{\"v\":1,\"command_id\":\"acme/inv/I-1/step/2/attempt/0\",\"kind\":\"reminder\","
    "\"tenant\":\"acme\",\"channel\":\"email\",\"template\":\"overdue_7\",\"locale\":\"en-GB\","
    "\"strategy\":\"default\",\"variant\":\"A\","
    "\"created_at\":\"2026-03-08T23:30:00.000Z\",\"scheduled_at\":\"2026-03-08T23:30:00.000Z\","
    "\"customer\":{\"customer_id\":\"C-1\",\"name\":\"Ada Ltd\",\"email\":\"ap@ada.test\","
    "\"phone\":\"+447700900123\",\"timezone\":\"Europe/Berlin\",\"locale\":\"en-GB\"},"
    "\"currency\":\"GBP\",\"amounts\":{\"principal\":17000,\"fees\":4000,\"interest\":250,"
    "\"compensation\":0,\"total\":21250},"
    "\"invoices\":[{\"invoice_id\":\"I-1\",\"number\":\"N-1\",\"issued_on\":\"2026-01-01\","
    "\"due_on\":\"2026-02-01\",\"days_overdue\":36,\"currency\":\"GBP\",\"amount_minor\":12000,"
    "\"outstanding_minor\":16000,\"amounts\":{\"principal\":12000,\"fees\":4000,\"interest\":250,"
    "\"compensation\":0,\"total\":16250}},"
    "{\"invoice_id\":\"I-2\",\"issued_on\":\"2026-02-01\",\"due_on\":\"2026-03-01\","
    "\"days_overdue\":8,\"currency\":\"GBP\",\"amount_minor\":5000,\"outstanding_minor\":5000}],"
    "\"step\":2,\"step_name\":\"+7d\",\"attempt\":0,"
    "\"offer\":{\"kind\":\"plan\",\"amount_minor\":21250,\"forgiven_minor\":0,"
    "\"valid_until\":\"2026-03-31\",\"plans\":[{\"instalments\":[{\"due_on\":\"2026-04-01\","
    "\"amount_minor\":10625},{\"due_on\":\"2026-05-01\",\"amount_minor\":10625}]}]}}";

/* iat = 2026-03-08T23:30:00Z = 1772960400 (09:00) + 14.5 h = 1773012600;
 * exp = iat + 30 d = 1773012600 + 2592000 = 1775604600. I-1:
 * outstanding_minor its principal 12000, total_minor 12000 + 4000 + 250 +
 * 0 = 16250 (not 16000 + 4000 + 250: the fees once); I-2 has no amounts:
 * 5000 both; the sum 21250. I-2 has no number: its id stands in, as in
 * the templates. */
static const char *page_claims =
    "{\"use\":\"page\",\"tenant\":\"acme\",\"customer_id\":\"C-1\","
    "\"invoice_ids\":[\"I-1\",\"I-2\"],\"command_id\":\"acme/inv/I-1/step/2/attempt/0\","
    "\"locale\":\"en-GB\",\"currency\":\"GBP\",\"as_of\":\"2026-03-09\","
    "\"invoices\":[{\"invoice_id\":\"I-1\",\"number\":\"N-1\",\"due_on\":\"2026-02-01\","
    "\"outstanding_minor\":12000,\"total_minor\":16250},"
    "{\"invoice_id\":\"I-2\",\"number\":\"I-2\",\"due_on\":\"2026-03-01\","
    "\"outstanding_minor\":5000,\"total_minor\":5000}],\"total_minor\":21250,"
    "\"offer\":{\"kind\":\"plan\",\"amount_minor\":21250,\"forgiven_minor\":0,"
    "\"valid_until\":\"2026-03-31\",\"plans\":[{\"instalments\":[{\"due_on\":\"2026-04-01\","
    "\"amount_minor\":10625},{\"due_on\":\"2026-05-01\",\"amount_minor\":10625}]}]},"
    "\"channels\":[\"email\",\"sms\"],\"iat\":1773012600,\"exp\":1775604600}";

/* The shipped templates (deploy/config/templates), for the whole group. */
static ntf_templates *shipped;

static int group_setup(void **state)
{
    char err[512];
    (void)state;
    shipped = ntf_templates_load("deploy/config/templates", err, sizeof err);
    return shipped ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    ntf_templates_free(shipped);
    return 0;
}

static void parse(const char *json, ntf_command *c)
{
    char err[512];
    if (ntf_command_parse(json, strlen(json), c, err, sizeof err) < 0)
        fail_msg("command does not parse: %s", err);
}

static void links_cfg(ntf_config *cfg, const char *kid, const char *days)
{
    memset(cfg, 0, sizeof *cfg);
    ntf_config_set(&cfg->global, "paylink_secret", SECRET);
    ntf_config_set(&cfg->global, "gateway_url", "http://127.0.0.1:8480/");
    ntf_config_set(&cfg->global, "link_key_id", kid);
    ntf_config_set(&cfg->global, "link_valid_days", days);
}

/* Part i (0 header, 1 claims) of tok, decoded, NUL-terminated. */
static char *part(const char *tok, int i)
{
    const char *s = tok;
    for (int k = 0; k < i; k++)
        s = strchr(s, '.') + 1;
    size_t n = strcspn(s, ".");
    char *out = malloc(n + 4);
    long l = cm_base64url_decode(s, n, (unsigned char *)out);
    assert_true(l >= 0);
    out[l] = 0;
    return out;
}

static void expect_status(const char *tok, const char *kid, int64_t now, cm_token_status want)
{
    cm_token_keys keys = {.n = 1};
    char err[128];
    json_t *claims = NULL;
    assert_int_equal(cm_token_key_set(&keys.k[0], kid, SECRET, err, sizeof err), 0);
    assert_int_equal(cm_token_verify(&keys, tok, strlen(tok), now, &claims, err, sizeof err), want);
    if (want == CM_TOKEN_OK) {
        char *s = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
        assert_string_equal(s, page_claims);
        free(s);
    }
    json_decref(claims);
}

/* The command above under kid k7, 30 days, a gateway on loopback. */
typedef struct fixture {
    ntf_command c;
    ntf_config cfg;
} fixture;

static int fx_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    parse(cmd_json, &f->c);
    links_cfg(&f->cfg, "k7", "30");
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fixture *f = *state;
    ntf_config_free(&f->cfg);
    ntf_command_free(&f->c);
    free(f);
    return 0;
}

static void test_page_token(void **state)
{
    fixture *f = *state;
    const ntf_command *c = &f->c;
    ntf_tenant_cfg *t = &f->cfg.global;
    char *url = ntf_links_pay(t, c);
    assert_non_null(url);
    /* <gateway_url>/p/<token>, the trailing '/' of the setting dropped */
    assert_true(strncmp(url, "http://127.0.0.1:8480/p/eyJ", 27) == 0);
    const char *tok = url + 24;
    char *head = part(tok, 0), *claims = part(tok, 1);
    assert_string_equal(head, "{\"alg\":\"HS256\",\"kid\":\"k7\",\"typ\":\"JWT\"}");
    assert_string_equal(claims, page_claims); /* the order too: tokens are deterministic */
    /* verifies under kid k7 until exp, not at exp, not under another kid */
    expect_status(tok, "k7", 1773012600, CM_TOKEN_OK);
    expect_status(tok, "k7", 1775604599, CM_TOKEN_OK);
    expect_status(tok, "k7", 1775604600, CM_TOKEN_EXPIRED);
    expect_status(tok, "k1", 1773012600, CM_TOKEN_UNKNOWN_KEY);
    /* the same command gives the same link */
    char *again = ntf_links_pay(t, c);
    assert_string_equal(url, again);
    free(again);
    free(head);
    free(claims);
    free(url);
    /* an explicit paylink_url still wins, with the same token */
    ntf_config_set(t, "paylink_url", "https://pay.acme.test/{tenant}/{token}");
    url = ntf_links_pay(t, c);
    assert_true(strncmp(url, "https://pay.acme.test/acme/eyJ", 30) == 0);
    claims = part(url + 27, 1);
    assert_string_equal(claims, page_claims);
    free(claims);
    free(url);
    /* defaults: kid k1, 60 days (exp = 1773012600 + 5184000) */
    ntf_config_set(t, "paylink_url", NULL);
    ntf_config_set(t, "link_key_id", NULL);
    ntf_config_set(t, "link_valid_days", NULL);
    ntf_config_set(t, "gateway_url", "https://gw.acme.test");
    url = ntf_links_pay(t, c);
    assert_true(strncmp(url, "https://gw.acme.test/p/", 23) == 0);
    head = part(url + 23, 0);
    claims = part(url + 23, 1);
    assert_string_equal(head, "{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}");
    assert_non_null(strstr(claims, ",\"iat\":1773012600,\"exp\":1778196600}"));
    free(head);
    free(claims);
    free(url);
    /* no secret: no link */
    ntf_config_set(t, "paylink_secret", NULL);
    assert_null(ntf_links_pay(t, c));
}

static void test_page_token_without_extras(void **state)
{
    (void)state;
    /* no offer, no phone, no zone, no scheduled_at: as_of is the UTC day
     * of created_at, channels only email, and no "offer" member */
    const char *j =
        "{\"v\":1,\"command_id\":\"t/inv/X/step/0/attempt/0\",\"kind\":\"reminder\","
        "\"tenant\":\"t\",\"channel\":\"email\",\"template\":\"a\","
        "\"created_at\":\"2026-03-08T23:30:00.000Z\","
        "\"customer\":{\"customer_id\":\"C\",\"email\":\"c@x.test\"},\"currency\":\"EUR\","
        "\"invoices\":[{\"invoice_id\":\"X\",\"number\":\"7\",\"due_on\":\"2026-03-01\","
        "\"outstanding_minor\":100}]}";
    ntf_command c;
    parse(j, &c);
    json_t *cl = ntf_links_page_claims(&c, 1);
    char *s = json_dumps(cl, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(
        s, "{\"use\":\"page\",\"tenant\":\"t\",\"customer_id\":\"C\",\"invoice_ids\":[\"X\"],"
           "\"command_id\":\"t/inv/X/step/0/attempt/0\",\"locale\":\"en-GB\",\"currency\":\"EUR\","
           "\"as_of\":\"2026-03-08\",\"invoices\":[{\"invoice_id\":\"X\",\"number\":\"7\","
           "\"due_on\":\"2026-03-01\",\"outstanding_minor\":100,\"total_minor\":100}],"
           "\"total_minor\":100,\"channels\":[\"email\"],\"iat\":1773012600,"
           "\"exp\":1773099000}");
    free(s);
    json_decref(cl);
    ntf_command_free(&c);
}

static void test_unsubscribe_token(void **state)
{
    fixture *f = *state;
    const ntf_command *c = &f->c;
    ntf_tenant_cfg *t = &f->cfg.global;
    char *url = ntf_links_unsubscribe(t, c);
    /* computed with python3 hmac/base64 from the claims
     * {"use":"unsubscribe","tenant":"acme","customer_id":"C-1",
     *  "command_id":"acme/inv/I-1/step/2/attempt/0","channel":"email",
     *  "iat":1773012600,"exp":1775604600} */
    assert_string_equal(url, "http://127.0.0.1:8480/u/"
                             "eyJhbGciOiJIUzI1NiIsImtpZCI6Ims3IiwidHlwIjoiSldUIn0."
                             "eyJ1c2UiOiJ1bnN1YnNjcmliZSIsInRlbmFudCI6ImFjbWUiLCJjdXN0b21lcl9pZC"
                             "I6IkMtMSIsImNvbW1hbmRfaWQiOiJhY21lL2ludi9JLTEvc3RlcC8yL2F0dGVtcHQv"
                             "MCIsImNoYW5uZWwiOiJlbWFpbCIsImlhdCI6MTc3MzAxMjYwMCwiZXhwIjoxNzc1Nj"
                             "A0NjAwfQ.T4NZ58fE8f6F0xDAu_WZXKHFC1vqOfn6rPok5Di1WoA");
    free(url);
    /* neither an unsubscribe_url nor a gateway: no link */
    ntf_config_set(t, "gateway_url", NULL);
    assert_null(ntf_links_unsubscribe(t, c));
    /* an unsubscribe_url template wins over the gateway's /u/ */
    ntf_config_set(t, "gateway_url", "http://127.0.0.1:8480");
    ntf_config_set(t, "unsubscribe_url", "https://acme.test/unsub/{customer}/{token}");
    url = ntf_links_unsubscribe(t, c);
    assert_true(
        strncmp(url, "https://acme.test/unsub/C-1/eyJhbGciOiJIUzI1NiIsImtpZCI6Ims3Ii", 62) == 0);
    free(url);
}

/* issue 17: the command's link_valid_days (the policy's links.valid_days)
 * is the lifetime when present, over the tenant's 30 days; without it the
 * tenant's. iat = 1773012600 (2026-03-08T23:30:00Z, above); 7 days:
 * exp = 1773012600 + 7 * 86400 = 1773012600 + 604800 = 1773617400; the
 * tenant's 30: 1775604600. */
static void test_command_valid_days(void **state)
{
    fixture *f = *state;
    ntf_tenant_cfg *t = &f->cfg.global;
    char json[4096];
    size_t n = strlen(cmd_json);
    assert_true(n + 32 < sizeof json);
    snprintf(json, sizeof json, "%.*s,\"link_valid_days\":7}", (int)n - 1, cmd_json);
    ntf_command c7;
    parse(json, &c7);
    assert_int_equal(c7.c.link_valid_days, 7);
    assert_int_equal(ntf_links_valid_days(t, &c7), 7);
    assert_int_equal(ntf_links_valid_days(t, &f->c), 30);
    /* the page token: the same claims as without, but exp */
    char *url = ntf_links_pay(t, &c7);
    assert_non_null(url);
    assert_true(strncmp(url, "http://127.0.0.1:8480/p/", 24) == 0);
    char *claims = part(url + 24, 1);
    const char *tail7 = ",\"iat\":1773012600,\"exp\":1773617400}";
    const char *tail30 = ",\"iat\":1773012600,\"exp\":1775604600}";
    size_t head = strlen(page_claims) - strlen(tail30);
    assert_string_equal(page_claims + head, tail30);
    assert_int_equal(strlen(claims), head + strlen(tail7));
    assert_memory_equal(claims, page_claims, head);
    assert_string_equal(claims + head, tail7);
    /* it expires after 7 days, not 30 */
    cm_token_keys keys = {.n = 1};
    char err[128];
    json_t *cl = NULL;
    assert_int_equal(cm_token_key_set(&keys.k[0], "k7", SECRET, err, sizeof err), 0);
    assert_int_equal(
        cm_token_verify(&keys, url + 24, strlen(url + 24), 1773617399, &cl, err, sizeof err),
        CM_TOKEN_OK);
    json_decref(cl);
    cl = NULL;
    assert_int_equal(
        cm_token_verify(&keys, url + 24, strlen(url + 24), 1773617400, &cl, err, sizeof err),
        CM_TOKEN_EXPIRED);
    json_decref(cl);
    free(claims);
    free(url);
    /* the unsubscribe token too */
    url = ntf_links_unsubscribe(t, &c7);
    assert_non_null(url);
    claims = part(url + 24, 1);
    assert_string_equal(claims, "{\"use\":\"unsubscribe\",\"tenant\":\"acme\",\"customer_id\":"
                                "\"C-1\",\"command_id\":\"acme/inv/I-1/step/2/attempt/0\","
                                "\"channel\":\"email\",\"iat\":1773012600,\"exp\":1773617400}");
    free(claims);
    free(url);
    /* without the member: the tenant's 30 days */
    url = ntf_links_pay(t, &f->c);
    claims = part(url + 24, 1);
    assert_string_equal(claims, page_claims);
    free(claims);
    free(url);
    /* and the command's days hold whatever the tenant says (here: unset, 60) */
    ntf_config_set(t, "link_valid_days", NULL);
    assert_int_equal(ntf_links_valid_days(t, &c7), 7);
    assert_int_equal(ntf_links_valid_days(t, &f->c), 60);
    ntf_command_free(&c7);
}

static void test_list_unsubscribe(void **state)
{
    (void)state;
    cm_buf b = CM_BUF_INIT;
    /* with a gateway: the one-click URL first, the mailto folded after it */
    ntf_message_list_unsubscribe(&b, "ar@acme.test", "http://127.0.0.1:8480/u/T");
    assert_string_equal(b.p, "List-Unsubscribe: <http://127.0.0.1:8480/u/T>,\r\n"
                             " <mailto:ar@acme.test?subject=unsubscribe>\r\n"
                             "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    cm_buf_free(&b);
    /* without one: mailto only, no List-Unsubscribe-Post (RFC 8058 3.1) */
    ntf_message_list_unsubscribe(&b, "ar@acme.test", NULL);
    assert_string_equal(b.p, "List-Unsubscribe: <mailto:ar@acme.test?subject=unsubscribe>\r\n");
    cm_buf_free(&b);
    /* a URL that is not http(s) is no one-click URL */
    ntf_message_list_unsubscribe(&b, "ar@acme.test", "ftp://acme.test/u");
    assert_string_equal(b.p, "List-Unsubscribe: <mailto:ar@acme.test?subject=unsubscribe>\r\n");
    cm_buf_free(&b);
    /* the longest URL whose line fits 998: "List-Unsubscribe: <" 19 + url
     * + ">," 2 = 998 -> url of 977; one more byte and it is left out */
    char url[1000];
    memset(url, 'a', sizeof url);
    memcpy(url, "https://", 8);
    url[977] = 0;
    ntf_message_list_unsubscribe(&b, "a@b", url);
    assert_int_equal(strcspn(b.p, "\r"), 998);
    assert_non_null(strstr(b.p, "List-Unsubscribe-Post"));
    cm_buf_free(&b);
    url[977] = 'a';
    url[978] = 0;
    ntf_message_list_unsubscribe(&b, "a@b", url);
    assert_string_equal(b.p, "List-Unsubscribe: <mailto:a@b?subject=unsubscribe>\r\n");
    cm_buf_free(&b);
}

/* The email as built: the headers with and without gateway_url. */
static void test_email_headers(void **state)
{
    (void)state;
    char err[512];
    ntf_command c;
    ntf_config cfg;
    ntf_request r;
    parse(cmd_json, &c);
    memset(&cfg, 0, sizeof cfg);
    ntf_config_set(&cfg.global, "smtp_url", "smtp://127.0.0.1:2525");
    ntf_config_set(&cfg.global, "smtp_from", "Acme AR <ar@acme.test>");
    ntf_config_set(&cfg.global, "paylink_secret", SECRET);
    assert_int_equal(
        ntf_message_build(&cfg.global, shipped, &c, 1773012600000, &r, err, sizeof err), 0);
    /* sha256("acme/inv/I-1/step/2/attempt/0")[:16] hex, base64url("C-1"),
     * base64url("overdue_7") */
    assert_non_null(strstr(r.body, "\r\nList-Unsubscribe: <mailto:ar@acme.test?subject="
                                   "unsubscribe>\r\nAuto-Submitted: auto-generated\r\n"));
    assert_null(strstr(r.body, "List-Unsubscribe-Post"));
    ntf_request_free(&r);
    ntf_config_set(&cfg.global, "gateway_url", "http://127.0.0.1:8480");
    ntf_config_set(&cfg.global, "link_key_id", "k7");
    ntf_config_set(&cfg.global, "link_valid_days", "30");
    assert_int_equal(
        ntf_message_build(&cfg.global, shipped, &c, 1773012600000, &r, err, sizeof err), 0);
    assert_non_null(strstr(r.body, "\r\nList-Unsubscribe: <http://127.0.0.1:8480/u/"
                                   "eyJhbGciOiJIUzI1NiIsImtpZCI6Ims3IiwidHlwIjoiSldUIn0."));
    assert_non_null(strstr(r.body, "Di1WoA>,\r\n <mailto:ar@acme.test?subject=unsubscribe>\r\n"
                                   "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
                                   "Auto-Submitted: auto-generated\r\n"));
    for (const char *p = r.body; *p;) { /* every line within RFC 5322's 998 */
        size_t n = strcspn(p, "\r");
        assert_true(n <= 998);
        p += n;
        p += *p ? 2 : 0;
    }
    ntf_request_free(&r);
    ntf_command_free(&c);
    ntf_config_free(&cfg);
}

/* The SMS as built: StatusCallback in the form only with a gateway, its
 * ids percent-encoded in the URL and the URL form-encoded in the body. */
static void test_status_callback(void **state)
{
    (void)state;
    char err[512];
    ntf_command c;
    ntf_config cfg;
    ntf_request r;
    const char *j =
        "{\"v\":1,\"command_id\":\"acme/inv/I&x=1/step/2/attempt/0\",\"kind\":\"reminder\","
        "\"tenant\":\"acme\",\"channel\":\"sms\",\"template\":\"overdue_14_sms\","
        "\"locale\":\"en-GB\",\"created_at\":\"2026-03-08T09:00:00.000Z\","
        "\"customer\":{\"customer_id\":\"C&1=2 \xc3\xbc/#\",\"phone\":\"+447700900123\"},"
        "\"currency\":\"GBP\",\"amounts\":{\"principal\":100,\"fees\":0,\"interest\":0,"
        "\"compensation\":0,\"total\":100},"
        "\"invoices\":[{\"invoice_id\":\"I&x=1\",\"due_on\":\"2026-02-22\","
        "\"days_overdue\":14,\"outstanding_minor\":100}]}";
    parse(j, &c);
    memset(&cfg, 0, sizeof cfg);
    ntf_config_set(&cfg.global, "sms_url", "http://127.0.0.1:9/2010-04-01");
    ntf_config_set(&cfg.global, "sms_account", "AC1");
    ntf_config_set(&cfg.global, "sms_from", "+15005550006");
    assert_int_equal(ntf_message_build(&cfg.global, shipped, &c, 0, &r, err, sizeof err), 0);
    assert_null(strstr(r.body, "StatusCallback"));
    ntf_request_free(&r);
    ntf_config_set(&cfg.global, "paylink_secret", SECRET);
    ntf_config_set(&cfg.global, "gateway_url", "http://127.0.0.1:8480");
    assert_int_equal(ntf_message_build(&cfg.global, shipped, &c, 0, &r, err, sizeof err), 0);
    /* the callback URL above, form-encoded once more (% -> %25, ...) */
    const char *want = "&StatusCallback=http%3A%2F%2F127.0.0.1%3A8480%2Fv1%2Fsms%2Fstatus"
                       "%3Ftenant%3Dacme%26customer_id%3DC%25261%253D2%2520%25C3%25BC%252F%2523"
                       "%26command_id%3Dacme%252Finv%252FI%2526x%253D1%252Fstep%252F2%252F"
                       "attempt%252F0%26template%3Doverdue_14_sms";
    const char *at = strstr(r.body, want);
    assert_non_null(at);
    assert_int_equal(at[strlen(want)], 0); /* the last member */
    ntf_request_free(&r);
    /* every character that means something in a query, the template's
     * too (set here: the shipped templates have no such name) */
    c.c.template_id = "t+1&x=%";
    char *u = ntf_links_status_callback(&cfg.global, &c);
    assert_string_equal(u, "http://127.0.0.1:8480/v1/sms/status?tenant=acme"
                           "&customer_id=C%261%3D2%20%C3%BC%2F%23"
                           "&command_id=acme%2Finv%2FI%26x%3D1%2Fstep%2F2%2Fattempt%2F0"
                           "&template=t%2B1%26x%3D%25");
    free(u);
    ntf_config_set(&cfg.global, "gateway_url", NULL);
    assert_null(ntf_links_status_callback(&cfg.global, &c));
    ntf_command_free(&c);
    ntf_config_free(&cfg);
}

static void test_message_id(void **state)
{
    (void)state;
    char mid[NTF_MESSAGE_ID_MAX];
    /* the plain form: test_notifier_sign.c */
    /* base64url keeps '/', '+' and '@' out: "a/b" -> "YS9i", "~~~" -> "fn5-" */
    ntf_message_id("x", "a/b", "~~~", NULL, mid, sizeof mid);
    assert_non_null(strstr(mid, ".YS9i.fn5-@arrears.invalid>"));
    /* the longest: 200-byte customer id and template (267 characters each
     * in base64url), a 318-byte domain: 5 + 32 + 1 + 267 + 1 + 267 + 1 +
     * 318 + 1 = 893, and "Message-ID: " + 893 = 905 <= 998 */
    char id[201], dom[319];
    memset(id, 0xff, 200);
    id[200] = 0;
    memset(dom, 'd', 318);
    dom[318] = 0;
    ntf_message_id("c", id, id, dom, mid, sizeof mid);
    assert_int_equal(strlen(mid), 893);
    assert_int_equal(mid[892], '>');
}

static void check_setting(const char *field, const char *value, const char *want)
{
    ntf_tenant_cfg t;
    char err[256];
    memset(&t, 0, sizeof t);
    ntf_config_set(&t, "paylink_secret", SECRET);
    ntf_config_set(&t, field, value);
    int rc = ntf_config_check(&t, err, sizeof err);
    if (want) {
        assert_int_equal(rc, -1);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("%s=%s: error '%s', want it to start '%s'", field, value ? value : "(null)",
                     err, want);
    } else if (rc != 0) {
        fail_msg("%s=%s refused: %s", field, value ? value : "(null)", err);
    }
    free(t.paylink_secret);
    free(t.gateway_url);
    free(t.link_key_id);
    free(t.link_valid_days);
    free(t.unsubscribe_url);
}

static void test_settings(void **state)
{
    (void)state;
    /* per field: values accepted, values refused with "<field>: ...",
     * each list split at '|' */
    static const char *const rows[][3] = {
        {"link_key_id", "k2|key.2026-01_a", "bad kid|k/1|123456789012345678901234567890123"},
        {"link_valid_days", "1|3650", "0|3651|60d|-5"},
        {"gateway_url", "http://127.0.0.1:8480|https://gw.acme.test/arrears/",
         "ftp://gw.acme.test|http://|https://gw.acme.test/?a=1|https://gw.acme.test/#x|"
         "https://gw acme"}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char want[64], list[256];
        snprintf(want, sizeof want, "%s: ", rows[i][0]);
        for (int refused = 0; refused < 2; refused++) {
            snprintf(list, sizeof list, "%s", rows[i][1 + refused]);
            for (char *save = NULL, *v = strtok_r(list, "|", &save); v;
                 v = strtok_r(NULL, "|", &save))
                check_setting(rows[i][0], v, refused ? want : NULL);
        }
    }
    check_setting("paylink_secret", "short", "paylink_secret: must be 16-256 bytes, is 5");
    /* gateway_url needs the key */
    ntf_tenant_cfg t;
    char err[256];
    memset(&t, 0, sizeof t);
    ntf_config_set(&t, "gateway_url", "http://127.0.0.1:8480");
    assert_int_equal(ntf_config_check(&t, err, sizeof err), -1);
    assert_string_equal(err, "paylink_secret: required when gateway_url is set");
    ntf_config_set(&t, "gateway_url", NULL);
    /* defaults */
    assert_string_equal(ntf_config_link_kid(&t), "k1");
    assert_int_equal(ntf_config_link_days(&t), 60);
    assert_int_equal(ntf_config_check(&t, err, sizeof err), 0);
}

/* The tenants file: link_valid_days as a number or a string, the rules
 * reported with the tenant and the field. */
static void test_tenants_file(void **state)
{
    (void)state;
    char tmp[] = "/tmp/ntf-links-XXXXXX", tf[600], err[512];
    assert_non_null(mkdtemp(tmp));
    snprintf(tf, sizeof tf, "%s/tenants.json", tmp);
    FILE *f = fopen(tf, "w");
    assert_non_null(f);
    fputs("{\"acme\":{\"paylink_secret\":\"" SECRET "\",\"gateway_url\":\"https://gw.acme.test\","
          "\"link_key_id\":\"k2\",\"link_valid_days\":30},"
          "\"beta\":{\"paylink_secret\":\"" SECRET "\",\"link_valid_days\":\"90\"}}",
          f);
    fclose(f);
    ntf_config cfg;
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(ntf_config_load_tenants(&cfg, tf, err, sizeof err), 0);
    const ntf_tenant_cfg *t = ntf_config_tenant(&cfg, "acme");
    assert_string_equal(t->gateway_url, "https://gw.acme.test");
    assert_string_equal(ntf_config_link_kid(t), "k2");
    assert_int_equal(ntf_config_link_days(t), 30);
    assert_int_equal(ntf_config_link_days(ntf_config_tenant(&cfg, "beta")), 90);
    assert_string_equal(ntf_config_link_kid(ntf_config_tenant(&cfg, "beta")), "k1");
    ntf_config_free(&cfg);
    const struct {
        const char *body, *want;
    } bad[] = {
        {"{\"acme\":{\"paylink_secret\":\"" SECRET "\",\"link_valid_days\":0}}",
         "tenant 'acme': link_valid_days: "},
        {"{\"acme\":{\"paylink_secret\":\"" SECRET "\",\"link_valid_days\":2.5}}",
         "link_valid_days"},
        {"{\"acme\":{\"link_key_id\":\"a b\"}}", "tenant 'acme': link_key_id: "},
        {"{\"acme\":{\"gateway_url\":\"https://gw.acme.test\"}}",
         "tenant 'acme': paylink_secret: required when gateway_url is set"},
        {"{\"acme\":{\"link_key_id\":7}}", "link_key_id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_non_null(f = fopen(tf, "w"));
        fputs(bad[i].body, f);
        fclose(f);
        memset(&cfg, 0, sizeof cfg);
        assert_int_equal(ntf_config_load_tenants(&cfg, tf, err, sizeof err), -1);
        if (!strstr(err, bad[i].want))
            fail_msg("%s: error '%s' lacks '%s'", bad[i].body, err, bad[i].want);
        ntf_config_free(&cfg);
    }
    unlink(tf);
    rmdir(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_page_token, fx_setup, fx_teardown),
        cmocka_unit_test(test_page_token_without_extras),
        cmocka_unit_test_setup_teardown(test_unsubscribe_token, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_command_valid_days, fx_setup, fx_teardown),
        cmocka_unit_test(test_list_unsubscribe),
        cmocka_unit_test(test_email_headers),
        cmocka_unit_test(test_status_callback),
        cmocka_unit_test(test_message_id),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_tenants_file),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
