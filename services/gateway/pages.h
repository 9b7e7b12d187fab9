/* pages.h -- the gateway's debtor-facing pages: the self-service page
 * (GET/POST /p/<token>) and one-click unsubscribe (/u/<token>, RFC 8058).
 *
 * Design: a page shows only what the signed token says (common/token.h;
 * issue17 design section 1) and what the tenants file configures; the
 * gateway keeps no state. Parts:
 *   tenants.c  ARREARS_GATEWAY_TENANTS_FILE: per tenant the link keys
 *              (current + previous), pay_url, promise_max_days, locale;
 *   form.c     application/x-www-form-urlencoded bodies, with limits;
 *   page.c     HTML (escaped), en-GB and de-DE texts with the notifier's
 *              locale fallback, money and dates by common/format.c
 *              (as the notifier prints them);
 *   pages.c    the routes: token checks, anti-forgery values, the actions
 *              and their CloudEvents (validated with ct_validate, published
 *              through the gw_backend), per-address and per-token rate
 *              limits.
 * docs/gateway.md ("The self-service page") is the contract.
 *
 * Ownership: gw_pages owns its tenants (gw_pages_free); a gw_form owns
 * its copy of the body (gw_form_free); rendering appends to the caller's
 * cm_buf; everything else is borrowed. */
#ifndef GW_PAGES_H
#define GW_PAGES_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "form.h"
#include "gateway.h"
#include "token.h"

#define GW_FORM_MAX         16384 /* largest form body (bytes) of /p and /u */
#define GW_FORM_FIELDS      32    /* most fields in one form */
#define GW_PAGE_SLOTS       4096  /* rate buckets (addresses and tokens, hashed) */
#define GW_PROMISE_MAX_DAYS 365

/* --- the tenants file (tenants.c) ---------------------------------------- */

typedef struct gw_tenant {
    char name[CT_TENANT_MAX + 1];
    cm_token_keys keys;   /* k[0] current (signs anti-forgery values), k[1] previous */
    char *pay_url;        /* malloc'd; NULL: no pay button */
    char *csp;            /* the page's Content-Security-Policy: GW_CSP with form-action
                           * also allowing pay_url's origin (malloc'd) */
    int promise_max_days; /* 1 .. GW_PROMISE_MAX_DAYS (default 30) */
    char locale[16];      /* the page's locale when a token names none (default en-GB) */
} gw_tenant;

typedef struct gw_pages {
    gw_tenant *t;
    size_t n;
    double rate; /* requests per second per client address and per token (burst the same) */
    pthread_mutex_t mu;
    struct gw_page_slot {
        unsigned char id[16]; /* first bytes of sha256("a|" address) or sha256("t|" token) */
        gw_bucket b;
    } * slots; /* GW_PAGE_SLOTS, direct-mapped: a newcomer takes a slot with a full bucket */
} gw_pages;

/* An empty set (no tenant: every /p and /u answers a 404 page). 0 or -1. */
int gw_pages_init(gw_pages *p, double rate);
/* Adds the tenants of a tenants file's JSON text:
 *   {"acme":{"link_keys":[{"kid":"k2","secret":"..."},{"kid":"k1","secret_file":"/run/k1"}],
 *            "pay_url":"https://pay.acme.test/?ref={reference}&amount={amount_minor}&c={currency}",
 *            "promise_max_days":30,"locale":"en-GB"}}
 * 0, or -1 with every problem ("acme.link_keys[1].secret: must be 16-256
 * bytes, is 3"; field and rule) in errstr. */
int gw_pages_parse(gw_pages *p, const char *text, size_t len, char *errstr, size_t errlen);
/* Reads a tenants file and adds its tenants (errors prefixed with path). */
int gw_pages_load(gw_pages *p, const char *path, char *errstr, size_t errlen);
const gw_tenant *gw_pages_tenant(const gw_pages *p, const char *name);
void gw_pages_free(gw_pages *p);

/* --- HTML (page.c) ------------------------------------------------------- */

typedef enum gw_text {
    GW_T_TITLE,
    GW_T_INTRO,
    GW_T_CUSTOMER,
    GW_T_INVOICES,
    GW_T_COL_NUMBER,
    GW_T_COL_DUE,
    GW_T_COL_OUTSTANDING,
    GW_T_COL_TOTAL,
    GW_T_TOTAL,
    GW_T_OFFER_DISCOUNT,
    GW_T_OFFER_SETTLEMENT,
    GW_T_PAY,
    GW_T_PAY_BUTTON,
    GW_T_PROMISE,
    GW_T_PROMISE_DATE,
    GW_T_PROMISE_BUTTON,
    GW_T_DISPUTE,
    GW_T_DISPUTE_INVOICE,
    GW_T_DISPUTE_REASON,
    GW_T_DISPUTE_BUTTON,
    GW_T_PLAN,
    GW_T_PLAN_CHOOSE,
    GW_T_PLAN_OPTION,
    GW_T_PLAN_BUTTON,
    GW_T_STOP,
    GW_T_STOP_CHANNEL,
    GW_T_STOP_BUTTON,
    GW_T_CH_EMAIL,
    GW_T_CH_SMS,
    GW_T_CH_LETTER,
    GW_T_CH_OTHER,
    GW_T_DONE,
    GW_T_DONE_PROMISE,
    GW_T_DONE_DISPUTE,
    GW_T_DONE_PLAN,
    GW_T_DONE_STOP,
    GW_T_UNSUB_TITLE,
    GW_T_UNSUB_ASK,
    GW_T_UNSUB_BUTTON,
    GW_T_UNSUB_DONE,
    GW_T_ERR_TITLE,
    GW_T_ERR_INVALID,     /* 404: malformed, unknown tenant, wrong use */
    GW_T_ERR_FORGED,      /* 403: unknown key, bad signature */
    GW_T_ERR_EXPIRED,     /* 410 */
    GW_T_ERR_FORM,        /* 400: the form is wrong (the reason follows) */
    GW_T_ERR_CSRF,        /* 403: the anti-forgery value */
    GW_T_ERR_RATE,        /* 429 */
    GW_T_ERR_LARGE,       /* 413 */
    GW_T_ERR_METHOD,      /* 405 */
    GW_T_ERR_UNAVAILABLE, /* 503 */
    GW_T_ERR_INTERNAL,    /* 500 */
    GW_T_ERR_OFFER,       /* 409: the offer is no longer valid */
    GW_T_COUNT
} gw_text;

/* The page locale for want (a token's "locale", may be NULL), as the
 * notifier's templates fall back: want itself when shipped, else a shipped
 * locale of the same language ("de-AT" -> "de-DE"), else fallback (the
 * tenant's), by the same rules, else "en-GB". */
const char *gw_page_locale(const char *want, const char *fallback);
/* The text of id in locale (a gw_page_locale result). */
const char *gw_page_text(const char *locale, gw_text id);
/* Appends the text of id with "{1}" and "{2}" replaced by a1 and a2,
 * HTML-escaped (as everything else written). */
void gw_page_fill(cm_buf *b, const char *locale, gw_text id, const char *a1, const char *a2);
/* Starts and ends a page: doctype, <html lang>, viewport, style, <main id>. */
void gw_page_head(cm_buf *b, const char *locale, const char *title, const char *main_id);
void gw_page_foot(cm_buf *b);
/* A whole page of a title and one paragraph (id "message"); detail, when
 * not NULL, is a second paragraph (id "detail"). */
void gw_page_message(cm_buf *b, const char *locale, gw_text title, const char *text,
                     const char *detail, const char *main_id);

/* What the self-service page shows besides the claims. */
typedef struct gw_view {
    json_t *claims;                        /* the verified page token's claims (borrowed) */
    const char *locale;                    /* gw_page_locale */
    const char *token;                     /* as in the URL (base64url and '.') */
    const char *csrf[5];                   /* per action: pay, promise, dispute, plan, stop */
    int pay;                               /* the tenant has a pay_url */
    int64_t pay_minor;                     /* what Pay now asks */
    char promise_min[11], promise_max[11]; /* YYYY-MM-DD */
    int offer_open;                        /* an offer still valid today */
} gw_view;

/* The self-service page (main id "page"). 0, or -1 when the claims break
 * the token format (a field missing or of the wrong type). */
int gw_page_render(cm_buf *b, const gw_view *v);
/* Money and dates for the locale (common/format.h): "" when
 * the currency or date is unknown. */
void gw_page_money(int64_t minor, const char *currency, const char *locale, char *buf, size_t len);
void gw_page_date(const char *date, const char *locale, char *buf, size_t len);
/* A plan of an offer ({"instalments":[{"due_on","amount_minor"},...]}) in
 * words: "£500.00 (1 May 2026), £500.00 (31 May 2026)". 0, or -1 when it
 * is malformed or does not fit len. */
int gw_page_plan_words(json_t *plan, const char *currency, const char *locale, char *buf,
                       size_t len);
/* A channel in words ("email", "E-Mail"); other channels as named. */
const char *gw_page_channel(const char *locale, const char *channel);

/* --- the routes (pages.c) ------------------------------------------------ */

/* The largest body the listener should read for url: GW_FORM_MAX for
 * /p/ and /u/, else dflt. */
size_t gw_pages_body_max(const char *url, size_t dflt);
/* Answers rq when its path is /p/<token> or /u/<token> (1), else leaves
 * out alone (0). The answer is an HTML page (content_type text/html) or a
 * 303 to the pay URL; with cfg->pages NULL every such path is a 404 page. */
int gw_pages_route(const gw_config *cfg, const gw_request *rq, gw_answer *out);

#endif
