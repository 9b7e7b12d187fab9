/* pages.c -- the routes of the debtor-facing pages (pages.h):
 * GET/POST /p/<token> (the self-service page and its actions) and
 * GET/POST /u/<token> (one-click unsubscribe, RFC 8058).
 *
 * Design: the checks run in the order of the answers a debtor can get:
 * 404 no tenants file, 405 method, 404 a token of impossible bytes, 429
 * rate limit (per client address, then per token), 413 body, 404 unknown
 * tenant or malformed token, 403 unknown key or bad signature, 410
 * expired, 404 a token of the other use; then the page or the action.
 * The tenant is read from the token's claims before they are verified
 * (its keys verify them): the MAC covers the claims, so a changed tenant
 * fails verification under that tenant's keys.
 *
 * An action is a POST of the page's form: "action", "csrf" (hex
 * HMAC-SHA256 under the tenant's current link key -- the previous one is
 * still accepted -- of "csrf|<action>|<hex sha256 of the token>", compared
 * in constant time) and the action's fields. Each publishes one CloudEvent
 * (source "portal", time the gateway's clock, id
 * "page/<first 32 hex of sha256(token)>/<action>[/<what>]", so a double
 * submit is one event for ingest's de-duplication), validated with
 * ct_validate and answered only after the backend's acknowledgement.
 * "Today" for promises and offers is the gateway's UTC date; a promise
 * may be dated from one day before it (debtors west of UTC) but never
 * before the token's as_of, and at most promise_max_days after it. */
#include "pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "crypto.h"
#include "base64.h"
#include "metric_catalog.h"
#include "money.h"
#include "validate.h"

#define HTML "text/html; charset=utf-8"

enum { A_PAY, A_PROMISE, A_DISPUTE, A_PLAN, A_STOP, A_N };
static const char *const actions[A_N] = {"pay", "promise", "dispute", "plan", "stop"};

typedef struct ctx {
    const gw_config *cfg;
    const gw_request *rq;
    gw_answer *out;
    const gw_tenant *t;
    const char *tok;
    size_t toklen;
    char th[65]; /* hex sha256 of the token */
    const char *locale;
    json_t *claims;
    int32_t today; /* the gateway's UTC date */
} ctx;

size_t gw_pages_body_max(const char *url, size_t dflt)
{
    if (url && (strncmp(url, "/p/", 3) == 0 || strncmp(url, "/u/", 3) == 0))
        return GW_FORM_MAX < dflt ? GW_FORM_MAX : dflt;
    return dflt;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

static void page(ctx *x, int status, gw_text title, gw_text msg, const char *detail,
                 const char *main_id)
{
    x->out->status = status;
    x->out->content_type = HTML;
    cm_buf_reset(&x->out->body);
    gw_page_message(&x->out->body, x->locale, title, gw_page_text(x->locale, msg), detail, main_id);
}

static void fail(ctx *x, int status, gw_text msg, const char *detail)
{
    page(x, status, GW_T_ERR_TITLE, msg, detail, "error");
}

/* Starts the answer: an HTML page of status with its head written. */
static cm_buf *start(ctx *x, int status, gw_text title, const char *main_id)
{
    cm_buf *b = &x->out->body;
    x->out->status = status;
    x->out->content_type = HTML;
    cm_buf_reset(b);
    gw_page_head(b, x->locale, gw_page_text(x->locale, title), main_id);
    return b;
}

/* A confirmation: the text of id with a1, a2 filled in. */
static void done(ctx *x, gw_text title, gw_text id, const char *a1, const char *a2)
{
    cm_buf *b = start(x, 200, title, "confirmation");
    cm_buf_adds(b, "<p id=\"message\">");
    gw_page_fill(b, x->locale, id, a1, a2);
    cm_buf_adds(b, "</p>\n");
    gw_page_foot(b);
}

/* --- rate limit ----------------------------------------------------------- */

static int take(gw_pages *pg, char kind, const char *s, size_t n, int64_t now_ms)
{
    unsigned char h[32];
    cm_sha256(s, n, h);
    h[0] ^= (unsigned char)kind;
    size_t i = ((size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7]) % GW_PAGE_SLOTS;
    pthread_mutex_lock(&pg->mu);
    struct gw_page_slot *sl = &pg->slots[i];
    if (memcmp(sl->id, h, sizeof sl->id) != 0) { /* a newcomer: a fresh bucket */
        memcpy(sl->id, h, sizeof sl->id);
        memset(&sl->b, 0, sizeof sl->b);
    }
    int r = gw_bucket_take(&sl->b, pg->rate, now_ms, 1);
    pthread_mutex_unlock(&pg->mu);
    return r;
}

/* --- tokens and anti-forgery values ---------------------------------------- */

/* The tenant a token's (unverified) claims name, or NULL. */
static const gw_tenant *peek_tenant(const gw_pages *pg, const char *tok, size_t len)
{
    const char *d1 = memchr(tok, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
    if (!d2)
        return NULL;
    size_t n = (size_t)(d2 - d1 - 1);
    unsigned char *b = malloc(3 * (n / 4) + 4);
    const gw_tenant *t = NULL;
    long l = b ? cm_base64url_decode(d1 + 1, n, b) : -1;
    if (l > 0) {
        json_t *c = json_loadb((const char *)b, (size_t)l, 0, NULL);
        t = gw_pages_tenant(pg, str(c, "tenant"));
        json_decref(c);
    }
    free(b);
    return t;
}

static void csrf_of(const cm_token_key *k, int action, const char *th, char hex[65])
{
    char msg[128];
    unsigned char mac[32];
    int n = snprintf(msg, sizeof msg, "csrf|%s|%s", actions[action], th);
    if (cm_hmac_sha256(k->key, k->keylen, msg, (size_t)n, mac) != 0)
        memset(mac, 0, sizeof mac);
    cm_hex(mac, 32, hex);
}

static int csrf_ok(const ctx *x, int action, const char *given)
{
    char want[65];
    int ok = 0;
    if (!given || strlen(given) != 64)
        return 0;
    for (size_t i = 0; i < x->t->keys.n; i++) {
        csrf_of(&x->t->keys.k[i], action, x->th, want);
        ok |= cm_equal_ct(want, given, 64);
    }
    return ok;
}

/* --- publishing -------------------------------------------------------------- */

/* Publishes the event of type with data (stolen) and id
 * page/<th32>/<what>. 0 published; -1 answered (400, 500 or 503). */
static int publish(ctx *x, const char *type, const char *what, json_t *data)
{
    char id[CT_ID_MAX + 1], when[40], err[128];
    cm_time_format_rfc3339(x->rq->clock_s * 1000, when, sizeof when);
    snprintf(id, sizeof id, "page/%.32s/%s", x->th, what);
    json_t *ev =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "specversion", "1.0", "id", id, "source",
                  "portal", "type", type, "time", when, "tenant", x->t->name, "data", data);
    char *js = ev ? json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(ev);
    if (!js) {
        fail(x, 500, GW_T_ERR_INTERNAL, NULL);
        return -1;
    }
    ct_verdict v;
    ct_message m = {.payload = js,
                    .len = strlen(js),
                    .topic = "inbound",
                    .partition = -1,
                    .offset = -1,
                    .now_ms = cm_clock_now_ms()};
    int rc = -1;
    if (ct_validate(&x->cfg->limits, &m, &v, err, sizeof err) != 0) {
        fail(x, 500, GW_T_ERR_INTERNAL, NULL);
        free(js);
        return -1;
    }
    if (!v.accepted) {
        fail(x, 400, GW_T_ERR_FORM, v.reasons.n ? v.reasons.r[0].message : NULL);
        goto cleanup;
    }
    gw_record rec = {v.key, js, strlen(js)};
    if (x->cfg->be.publish(x->cfg->be.opaque, &rec, 1) != 0) {
        fail(x, 503, GW_T_ERR_UNAVAILABLE, NULL);
        x->out->retry_after = 5;
        goto cleanup;
    }
    if (x->cfg->m && x->cfg->m[CT_M_GATEWAY_ACCEPTED])
        cm_metric_add(x->cfg->m[CT_M_GATEWAY_ACCEPTED], 1);
    rc = 0;
cleanup:
    ct_verdict_clear(&v);
    free(js);
    return rc;
}

/* --- what the token says -------------------------------------------------------- */

static int exponent(ctx *x)
{
    const char *cur = str(x->claims, "currency");
    return cur ? cm_money_exponent(cur) : -1;
}

static int32_t date_of(const char *s)
{
    int32_t d;
    return s && cm_date_parse(s, &d) == 0 ? d : INT32_MIN;
}

/* The offer while it is valid today, else NULL. */
static json_t *open_offer(ctx *x)
{
    json_t *o = json_object_get(x->claims, "offer");
    int32_t until = date_of(str(o, "valid_until"));
    return json_is_object(o) && until != INT32_MIN && x->today <= until ? o : NULL;
}

/* What Pay now asks: an open discount or settlement's amount, else the
 * token's total. */
static int64_t pay_minor(ctx *x)
{
    json_t *o = open_offer(x);
    const char *kind = str(o, "kind");
    if (kind && (!strcmp(kind, "discount") || !strcmp(kind, "settlement")) &&
        json_is_integer(json_object_get(o, "amount_minor")))
        return json_integer_value(json_object_get(o, "amount_minor"));
    return json_integer_value(json_object_get(x->claims, "total_minor"));
}

static void promise_range(ctx *x, int32_t *lo, int32_t *hi)
{
    int32_t as_of = date_of(str(x->claims, "as_of"));
    *lo = x->today - 1;
    if (as_of != INT32_MIN && as_of > *lo)
        *lo = as_of;
    *hi = x->today + x->t->promise_max_days;
}

static json_t *invoice_ids(ctx *x)
{
    json_t *a = json_array(), *invs = json_object_get(x->claims, "invoices");
    for (size_t i = 0; a && i < json_array_size(invs); i++)
        json_array_append_new(a, json_string(str(json_array_get(invs, i), "invoice_id")));
    return a;
}

static void money_str(int64_t minor, int exp, char *buf, size_t len)
{
    cm_money_format(minor, exp, buf, len);
}

/* --- the page and its actions ------------------------------------------------------ */

static void show(ctx *x)
{
    gw_view v = {.claims = x->claims, .locale = x->locale, .token = x->tok};
    char csrf[A_N][65];
    int32_t lo, hi;
    for (int i = 0; i < A_N; i++) {
        csrf_of(&x->t->keys.k[0], i, x->th, csrf[i]);
        v.csrf[i] = csrf[i];
    }
    v.pay = x->t->pay_url != NULL;
    v.pay_minor = pay_minor(x);
    promise_range(x, &lo, &hi);
    cm_date_format(lo, v.promise_min, sizeof v.promise_min);
    cm_date_format(hi, v.promise_max, sizeof v.promise_max);
    v.offer_open = open_offer(x) != NULL;
    cm_buf_reset(&x->out->body);
    if (exponent(x) < 0 || gw_page_render(&x->out->body, &v) != 0) {
        fail(x, 500, GW_T_ERR_INTERNAL, NULL);
        return;
    }
    x->out->status = 200;
    x->out->content_type = HTML;
    x->out->csp = x->t->csp;
}

static void pay(ctx *x)
{
    cm_buf loc = CM_BUF_INIT, ref = CM_BUF_INIT;
    char amount[32];
    json_t *invs = json_object_get(x->claims, "invoices");
    if (!x->t->pay_url) {
        fail(x, 404, GW_T_ERR_INVALID, NULL);
        return;
    }
    for (size_t i = 0; i < json_array_size(invs); i++) {
        const char *n = str(json_array_get(invs, i), "number");
        if (i)
            cm_buf_addc(&ref, ',');
        cm_buf_adds(&ref, n ? n : "");
    }
    snprintf(amount, sizeof amount, "%lld", (long long)pay_minor(x));
    for (const char *s = x->t->pay_url; *s;) {
        if (strncmp(s, "{reference}", 11) == 0)
            gw_form_pct(&loc, ref.p ? ref.p : ""), s += 11;
        else if (strncmp(s, "{amount_minor}", 14) == 0)
            gw_form_pct(&loc, amount), s += 14;
        else if (strncmp(s, "{currency}", 10) == 0)
            gw_form_pct(&loc, str(x->claims, "currency")), s += 10;
        else
            cm_buf_addc(&loc, *s++);
    }
    cm_buf_free(&ref);
    if (loc.oom) {
        cm_buf_free(&loc);
        fail(x, 500, GW_T_ERR_INTERNAL, NULL);
        return;
    }
    cm_buf *b = start(x, 303, GW_T_PAY, "redirect");
    cm_buf_adds(b, "<p><a id=\"pay-link\" href=\"");
    cm_buf_html(b, loc.p, loc.len);
    cm_buf_adds(b, "\">");
    cm_buf_adds(b, gw_page_text(x->locale, GW_T_PAY));
    cm_buf_adds(b, "</a></p>\n");
    gw_page_foot(b);
    x->out->location = cm_buf_take(&loc, NULL);
}

static void promise(ctx *x, const gw_form *f)
{
    const char *on = gw_form_get(f, "promised_on");
    int32_t d = date_of(on), lo, hi;
    char a[11], z[11], why[96], amount[40], m[64], dd[64];
    int exp = exponent(x);
    promise_range(x, &lo, &hi);
    if (d == INT32_MIN || d < lo || d > hi) {
        cm_date_format(lo, a, sizeof a);
        cm_date_format(hi, z, sizeof z);
        snprintf(why, sizeof why, "promised_on: must be a date from %s to %s", a, z);
        fail(x, 400, GW_T_ERR_FORM, why);
        return;
    }
    int64_t total = json_integer_value(json_object_get(x->claims, "total_minor"));
    money_str(total, exp, amount, sizeof amount);
    json_t *data = json_pack("{s:s,s:o,s:s,s:s,s:s}", "customer_id", str(x->claims, "customer_id"),
                             "invoice_ids", invoice_ids(x), "currency", str(x->claims, "currency"),
                             "amount", amount, "promised_on", on);
    if (publish(x, "promise.made", "promise", data) != 0)
        return;
    gw_page_money(total, str(x->claims, "currency"), x->locale, m, sizeof m);
    gw_page_date(on, x->locale, dd, sizeof dd);
    done(x, GW_T_DONE, GW_T_DONE_PROMISE, m, dd);
}

static void dispute(ctx *x, const gw_form *f)
{
    const char *inv = gw_form_get(f, "invoice_id"), *reason = gw_form_get(f, "reason");
    const char *number = NULL;
    json_t *invs = json_object_get(x->claims, "invoices");
    char what[CT_ID_MAX + 1];
    for (size_t i = 0; inv && i < json_array_size(invs); i++)
        if (strcmp(inv, nz(str(json_array_get(invs, i), "invoice_id"))) == 0)
            number = str(json_array_get(invs, i), "number");
    if (!number) {
        fail(x, 400, GW_T_ERR_FORM, "invoice_id: must be one of the page's invoices");
        return;
    }
    size_t rl = reason ? strlen(reason) : 0;
    if (!reason || strspn(reason, " \t\r\n") == rl || rl > 1000) {
        fail(x, 400, GW_T_ERR_FORM, "reason: required, 1-1000 bytes of text");
        return;
    }
    if (strlen(inv) <= 150) {
        snprintf(what, sizeof what, "dispute/%s", inv);
    } else { /* keeps the id within 200 bytes */
        unsigned char h[32];
        char hex[65];
        cm_sha256(inv, strlen(inv), h);
        cm_hex(h, 32, hex);
        snprintf(what, sizeof what, "dispute/%.32s", hex);
    }
    json_t *data = json_pack("{s:s,s:s,s:s}", "customer_id", str(x->claims, "customer_id"),
                             "invoice_id", inv, "reason", reason);
    if (publish(x, "dispute.opened", what, data) != 0)
        return;
    done(x, GW_T_DONE, GW_T_DONE_DISPUTE, number, NULL);
}

static void plan(ctx *x, const gw_form *f)
{
    json_t *o = open_offer(x), *plans = json_object_get(o, "plans");
    const char *kind = str(o, "kind"), *cur = str(x->claims, "currency");
    const char *pick = gw_form_get(f, "plan");
    char *end = NULL, plan_id[64], m[40], words[1600];
    long k = pick ? strtol(pick, &end, 10) : 0;
    int exp = exponent(x);
    if (!kind || strcmp(kind, "plan") != 0 || json_array_size(plans) == 0) {
        fail(x, 409, GW_T_ERR_OFFER, NULL);
        return;
    }
    if (!pick || !*pick || *end || k < 1 || (size_t)k > json_array_size(plans)) {
        fail(x, 400, GW_T_ERR_FORM, "plan: must be one of the plans offered");
        return;
    }
    json_t *p = json_array_get(plans, (size_t)k - 1), *ins = json_object_get(p, "instalments");
    json_t *out = json_array();
    int64_t sum = 0;
    for (size_t i = 0; out && i < json_array_size(ins); i++) {
        json_t *it = json_array_get(ins, i);
        int64_t a = json_integer_value(json_object_get(it, "amount_minor"));
        sum += a;
        money_str(a, exp, m, sizeof m);
        json_array_append_new(out,
                              json_pack("{s:s?,s:s}", "due_on", str(it, "due_on"), "amount", m));
    }
    if (gw_page_plan_words(p, cur, x->locale, words, sizeof words) != 0) {
        json_decref(out);
        fail(x, 500, GW_T_ERR_INTERNAL, NULL);
        return;
    }
    money_str(sum, exp, m, sizeof m);
    snprintf(plan_id, sizeof plan_id, "page-%.32s", x->th);
    json_t *data = json_pack("{s:s,s:s,s:o,s:s,s:o,s:s,s:s}", "plan_id", plan_id, "customer_id",
                             str(x->claims, "customer_id"), "invoice_ids", invoice_ids(x),
                             "currency", cur, "instalments", out, "total", m, "source", "portal");
    if (publish(x, "plan.agreed", "plan", data) != 0)
        return;
    done(x, GW_T_DONE, GW_T_DONE_PLAN, words, NULL);
}

static void stop(ctx *x, const gw_form *f)
{
    const char *ch = gw_form_get(f, "channel");
    json_t *chans = json_object_get(x->claims, "channels");
    int found = 0;
    char what[64];
    for (size_t i = 0; ch && i < json_array_size(chans); i++)
        found |= strcmp(ch, nz(json_string_value(json_array_get(chans, i)))) == 0;
    if (!found || strlen(ch) > 32) {
        fail(x, 400, GW_T_ERR_FORM, "channel: must be one of the page's channels");
        return;
    }
    snprintf(what, sizeof what, "stop/%s", ch);
    json_t *data =
        json_pack("{s:s,s:s}", "customer_id", str(x->claims, "customer_id"), "channel", ch);
    if (publish(x, "contact.ceased", what, data) != 0)
        return;
    done(x, GW_T_DONE, GW_T_DONE_STOP, gw_page_channel(x->locale, ch), NULL);
}

static int form_type(const gw_request *rq)
{
    const char *ct = gw_header_get(rq->headers, rq->nheaders, "Content-Type");
    if (!ct)
        return 0;
    if (strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0 &&
        (ct[33] == 0 || ct[33] == ';' || ct[33] == ' '))
        return 1;
    if (strncasecmp(ct, "multipart/form-data", 19) == 0)
        return 2;
    return 0;
}

static void act(ctx *x)
{
    gw_form f;
    char why[160];
    if (form_type(x->rq) != 1) {
        fail(x, 415, GW_T_ERR_FORM, "Content-Type: must be application/x-www-form-urlencoded");
        return;
    }
    if (gw_form_parse(x->rq->body, x->rq->body_len, &f, why, sizeof why) != 0) {
        fail(x, 400, GW_T_ERR_FORM, why);
        return;
    }
    if (gw_form_strict(&f, GW_FORM_FIELDS, why, sizeof why) != 0) {
        fail(x, 400, GW_T_ERR_FORM, why);
        gw_form_free(&f);
        return;
    }
    const char *a = gw_form_get(&f, "action");
    int i = 0;
    while (a && i < A_N && strcmp(a, actions[i]) != 0)
        i++;
    if (!a || i == A_N)
        fail(x, 400, GW_T_ERR_FORM, "action: must be pay, promise, dispute, plan or stop");
    else if (!csrf_ok(x, i, gw_form_get(&f, "csrf")))
        fail(x, 403, GW_T_ERR_CSRF, NULL);
    else if (i == A_PAY)
        pay(x);
    else if (i == A_PROMISE)
        promise(x, &f);
    else if (i == A_DISPUTE)
        dispute(x, &f);
    else if (i == A_PLAN)
        plan(x, &f);
    else
        stop(x, &f);
    gw_form_free(&f);
}

/* RFC 8058: the body says List-Unsubscribe=One-Click (urlencoded, or as
 * the one field of a multipart/form-data body). */
static int one_click(const gw_request *rq)
{
    int type = form_type(rq);
    if (type == 1) {
        gw_form f;
        char why[160];
        if (gw_form_parse(rq->body, rq->body_len, &f, why, sizeof why) != 0)
            return 0;
        const char *v = gw_form_get(&f, "List-Unsubscribe");
        int ok = v && strcmp(v, "One-Click") == 0;
        gw_form_free(&f);
        return ok;
    }
    if (type == 2 && rq->body) {
        static const char want[] = "name=\"List-Unsubscribe\"";
        cm_buf b = CM_BUF_INIT;
        cm_buf_add(&b, rq->body, rq->body_len);
        const char *p = b.p ? strstr(b.p, want) : NULL;
        const char *v = p ? strstr(p, "\r\n\r\n") : NULL;
        int ok = v && strncmp(v + 4, "One-Click\r\n", 11) == 0;
        cm_buf_free(&b);
        return ok;
    }
    return 0;
}

static void unsubscribe(ctx *x)
{
    const char *ch = str(x->claims, "channel");
    if (!ch) {
        fail(x, 404, GW_T_ERR_INVALID, NULL);
        return;
    }
    if (strcmp(x->rq->method, "POST") != 0) { /* changes nothing */
        cm_buf *b = start(x, 200, GW_T_UNSUB_TITLE, "unsubscribe");
        cm_buf_adds(b, "<p id=\"message\">");
        cm_buf_adds(b, gw_page_text(x->locale, GW_T_UNSUB_ASK));
        cm_buf_adds(b, "</p>\n<form id=\"form-unsubscribe\" method=\"post\" action=\"");
        cm_buf_html(b, x->tok, x->toklen);
        cm_buf_adds(b,
                    "\">\n<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\n"
                    "<button type=\"submit\" id=\"unsubscribe-submit\">");
        cm_buf_adds(b, gw_page_text(x->locale, GW_T_UNSUB_BUTTON));
        cm_buf_adds(b, "</button>\n</form>\n");
        gw_page_foot(b);
        return;
    }
    if (!one_click(x->rq)) {
        fail(x, 400, GW_T_ERR_FORM, "List-Unsubscribe: must be One-Click (RFC 8058)");
        return;
    }
    json_t *data =
        json_pack("{s:s,s:s}", "customer_id", str(x->claims, "customer_id"), "channel", ch);
    if (publish(x, "contact.ceased", "unsubscribe", data) != 0)
        return;
    page(x, 200, GW_T_UNSUB_TITLE, GW_T_UNSUB_DONE, NULL, "confirmation");
}

static void route(ctx *x, int unsub)
{
    const gw_request *rq = x->rq;
    gw_pages *pg = x->cfg->pages;
    char err[128];
    int get = !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
    if (!pg || pg->n == 0) {
        fail(x, 404, GW_T_ERR_INVALID, NULL);
        return;
    }
    if (!get && strcmp(rq->method, "POST") != 0) {
        x->out->allow = "GET, POST";
        fail(x, 405, GW_T_ERR_METHOD, NULL);
        return;
    }
    x->tok = rq->path + 3;
    x->toklen = strlen(x->tok);
    if (x->toklen == 0 || x->toklen > CM_TOKEN_MAX ||
        strspn(x->tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") !=
            x->toklen) {
        fail(x, 404, GW_T_ERR_INVALID, NULL);
        return;
    }
    int wait =
        rq->client && rq->client[0] ? take(pg, 'a', rq->client, strlen(rq->client), rq->now_ms) : 0;
    if (!wait)
        wait = take(pg, 't', x->tok, x->toklen, rq->now_ms);
    if (wait) {
        fail(x, 429, GW_T_ERR_RATE, NULL);
        x->out->retry_after = wait;
        return;
    }
    if (!get && (rq->body_too_large || rq->body_len > GW_FORM_MAX)) {
        fail(x, 413, GW_T_ERR_LARGE, NULL);
        return;
    }
    if (!(x->t = peek_tenant(pg, x->tok, x->toklen))) {
        fail(x, 404, GW_T_ERR_INVALID, NULL);
        return;
    }
    x->locale = gw_page_locale(NULL, x->t->locale);
    switch (
        cm_token_verify(&x->t->keys, x->tok, x->toklen, rq->clock_s, &x->claims, err, sizeof err)) {
    case CM_TOKEN_OK:
        break;
    case CM_TOKEN_EXPIRED:
        fail(x, 410, GW_T_ERR_EXPIRED, NULL);
        return;
    case CM_TOKEN_UNKNOWN_KEY:
    case CM_TOKEN_BAD_MAC:
        fail(x, 403, GW_T_ERR_FORGED, NULL);
        return;
    default:
        fail(x, 404, GW_T_ERR_INVALID, NULL);
        return;
    }
    const char *use = str(x->claims, "use");
    if (!use || strcmp(use, unsub ? "unsubscribe" : "page") != 0 ||
        !str(x->claims, "customer_id") || strcmp(nz(str(x->claims, "tenant")), x->t->name) != 0) {
        fail(x, 404, GW_T_ERR_INVALID, NULL);
        return;
    }
    x->locale = gw_page_locale(str(x->claims, "locale"), x->t->locale);
    unsigned char h[32];
    cm_sha256(x->tok, x->toklen, h);
    cm_hex(h, 32, x->th);
    int64_t d = rq->clock_s / 86400 - (rq->clock_s < 0 && rq->clock_s % 86400);
    x->today = (int32_t)d;
    if (unsub)
        unsubscribe(x);
    else if (get)
        show(x);
    else
        act(x);
}

int gw_pages_route(const gw_config *cfg, const gw_request *rq, gw_answer *out)
{
    int unsub;
    if (strncmp(rq->path, "/p/", 3) == 0)
        unsub = 0;
    else if (strncmp(rq->path, "/u/", 3) == 0)
        unsub = 1;
    else
        return 0;
    ctx x = {.cfg = cfg, .rq = rq, .out = out, .locale = "en-GB"};
    route(&x, unsub);
    json_decref(x.claims);
    return 1;
}
