/* page.c -- the HTML of the debtor-facing pages (pages.h).
 *
 * Design: server-rendered HTML5 that needs no JavaScript: one <main> per
 * page, a <section> and a POST <form> per action, every control with a
 * <label>, the locale in <html lang>, a viewport meta for phones and a
 * small inline style (the CSP allows inline styles only). Everything that
 * comes from a token, a form or the configuration is written through
 * cm_buf_html. Texts are a table of en-GB and de-DE strings; "{1}" and
 * "{2}" mark where values go. The locale falls back as the notifier's
 * templates do (services/notifier/templates.c: the locale, else one of
 * the same language, else en-GB). Money and dates are common/format.c's,
 * the notifier's formatting too, so a page and the message that linked to
 * it print an amount the same way. */
#include "pages.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "format.h"

static const char *const shipped[2] = {"en-GB", "de-DE"};

static const char *const texts[GW_T_COUNT][2] = {
    [GW_T_TITLE] = {"Your account", "Ihr Kundenkonto"},
    [GW_T_INTRO] =
        {"Your open invoices as of {1}. Choose below what suits you.",
         "Ihre offenen Rechnungen, Stand {1}. W\xc3\xa4hlen Sie unten, was f\xc3\xbcr Sie passt."},
    [GW_T_CUSTOMER] = {"Customer number: {1}", "Kundennummer: {1}"},
    [GW_T_INVOICES] = {"Open invoices", "Offene Rechnungen"},
    [GW_T_COL_NUMBER] = {"Invoice", "Rechnung"},
    [GW_T_COL_DUE] = {"Due on", "F\xc3\xa4llig am"},
    [GW_T_COL_OUTSTANDING] = {"Outstanding", "Offen"},
    [GW_T_COL_TOTAL] = {"Amount due (with fees and interest)",
                        "Zu zahlen (mit Geb\xc3\xbchren und Zinsen)"},
    [GW_T_TOTAL] = {"Total due as of {1}: {2}", "Gesamtbetrag, Stand {1}: {2}"},
    [GW_T_OFFER_DISCOUNT] = {"Pay only {1} if you pay by {2}.",
                             "Zahlen Sie nur {1}, wenn Sie bis zum {2} zahlen."},
    [GW_T_OFFER_SETTLEMENT] =
        {"Settle in full with {1} if you pay by {2}; we forgive the rest.",
         "Begleichen Sie alles mit {1}, wenn Sie bis zum {2} zahlen; den Rest erlassen wir."},
    [GW_T_PAY] = {"Pay now", "Jetzt bezahlen"},
    [GW_T_PAY_BUTTON] = {"Pay {1} now", "{1} jetzt bezahlen"},
    [GW_T_PROMISE] = {"Promise to pay", "Zahlung zusagen"},
    [GW_T_PROMISE_DATE] = {"I will pay {1} by", "Ich zahle {1} bis zum"},
    [GW_T_PROMISE_BUTTON] = {"Promise to pay", "Zahlung zusagen"},
    [GW_T_DISPUTE] = {"Dispute an invoice", "Rechnung beanstanden"},
    [GW_T_DISPUTE_INVOICE] = {"Invoice", "Rechnung"},
    [GW_T_DISPUTE_REASON] = {"What is wrong with it?", "Was ist daran falsch?"},
    [GW_T_DISPUTE_BUTTON] = {"Send the dispute", "Beanstandung senden"},
    [GW_T_PLAN] = {"Pay in instalments", "In Raten zahlen"},
    [GW_T_PLAN_CHOOSE] = {"Choose a plan", "Ratenplan w\xc3\xa4hlen"},
    [GW_T_STOP_CHANNEL] = {"Stop messages by", "Keine Nachrichten mehr per"},
    [GW_T_PLAN_OPTION] = {"{1} instalments: {2}", "{1} Raten: {2}"},
    [GW_T_PLAN_BUTTON] = {"Agree to this plan", "Diesem Ratenplan zustimmen"},
    [GW_T_STOP] = {"Stop messages", "Keine Nachrichten mehr"},
    [GW_T_STOP_BUTTON] = {"Stop messages this way", "Keine Nachrichten mehr auf diesem Weg"},
    [GW_T_CH_EMAIL] = {"email", "E-Mail"},
    [GW_T_CH_SMS] = {"text message (SMS)", "SMS"},
    [GW_T_CH_LETTER] = {"letter", "Brief"},
    [GW_T_CH_OTHER] = {"{1}", "{1}"},
    [GW_T_DONE] = {"Thank you", "Vielen Dank"},
    [GW_T_DONE_PROMISE] = {"Your promise to pay {1} by {2} has been recorded.",
                           "Ihre Zusage, {1} bis zum {2} zu zahlen, ist gespeichert."},
    [GW_T_DONE_DISPUTE] = {"Your dispute of invoice {1} has been recorded. We will look into it.",
                           "Ihre Beanstandung der Rechnung {1} ist gespeichert. Wir pr\xc3\xbc"
                           "fen sie."},
    [GW_T_DONE_PLAN] = {"Your instalment plan has been recorded: {1}.",
                        "Ihr Ratenplan ist gespeichert: {1}."},
    [GW_T_DONE_STOP] = {"You will receive no more messages from us by {1}.",
                        "Sie erhalten von uns keine Nachrichten mehr per {1}."},
    [GW_T_UNSUB_TITLE] = {"Unsubscribe", "Abmelden"},
    [GW_T_UNSUB_ASK] = {"Do you want to receive no more emails about your account from us?",
                        "M\xc3\xb6"
                        "chten Sie von uns keine E-Mails mehr zu Ihrem Kundenkonto erhalten?"},
    [GW_T_UNSUB_BUTTON] = {"Unsubscribe", "Abmelden"},
    [GW_T_UNSUB_DONE] = {"You are unsubscribed: we will send you no more emails.",
                         "Sie sind abgemeldet: Wir senden Ihnen keine E-Mails mehr."},
    [GW_T_ERR_TITLE] = {"Sorry", "Entschuldigung"},
    [GW_T_ERR_INVALID] = {"This link is not valid. Please use the link in our most recent message.",
                          "Dieser Link ist ung\xc3\xbcltig. Bitte verwenden Sie den Link aus "
                          "unserer letzten Nachricht."},
    [GW_T_ERR_FORGED] =
        {"This link could not be verified. Please use the link in our most recent message.",
         "Dieser Link konnte nicht gepr\xc3\xbc"
         "ft werden. Bitte verwenden Sie den Link aus unserer letzten Nachricht."},
    [GW_T_ERR_EXPIRED] =
        {"This link has expired. Please use the link in our most recent message, or contact us.",
         "Dieser Link ist abgelaufen. Bitte verwenden Sie den Link aus unserer letzten Nachricht "
         "oder kontaktieren Sie uns."},
    [GW_T_ERR_FORM] =
        {"Your request could not be processed. Please check your entries and try again.",
         "Ihre Anfrage konnte nicht bearbeitet werden. Bitte pr\xc3\xbc"
         "fen Sie Ihre Angaben und versuchen Sie es erneut."},
    [GW_T_ERR_CSRF] =
        {"This form could not be verified. Please open the link again and send the form once more.",
         "Dieses Formular konnte nicht gepr\xc3\xbc"
         "ft werden. Bitte \xc3\xb6"
         "ffnen Sie den Link erneut und senden Sie das Formular noch einmal."},
    [GW_T_ERR_RATE] =
        {"Too many requests. Please wait a moment and try again.",
         "Zu viele Anfragen. Bitte warten Sie einen Moment und versuchen Sie es erneut."},
    [GW_T_ERR_LARGE] = {"Your request is too large.", "Ihre Anfrage ist zu gro\xc3\x9f."},
    [GW_T_ERR_METHOD] = {"This page cannot be used that way.",
                         "Diese Seite kann so nicht verwendet werden."},
    [GW_T_ERR_UNAVAILABLE] =
        {"We could not record this just now. Please try again in a few minutes.",
         "Wir konnten das gerade nicht speichern. Bitte versuchen Sie es in einigen Minuten "
         "erneut."},
    [GW_T_ERR_INTERNAL] =
        {"Something went wrong on our side. Please try again later.",
         "Bei uns ist ein Fehler aufgetreten. Bitte versuchen Sie es sp\xc3\xa4ter erneut."},
    [GW_T_ERR_OFFER] = {"This offer is no longer available.",
                        "Dieses Angebot ist nicht mehr verf\xc3\xbcgbar."},
};

static const char *match(const char *want)
{
    if (!want || !want[0])
        return NULL;
    for (size_t i = 0; i < 2; i++)
        if (strcmp(want, shipped[i]) == 0)
            return shipped[i];
    size_t ll = strcspn(want, "-_");
    for (size_t i = 0; i < 2; i++)
        if (strncmp(want, shipped[i], ll) == 0 && shipped[i][ll] == '-')
            return shipped[i];
    return NULL;
}

const char *gw_page_locale(const char *want, const char *fallback)
{
    const char *l = match(want);
    if (!l)
        l = match(fallback);
    return l ? l : shipped[0];
}

const char *gw_page_text(const char *locale, gw_text id)
{
    int de = locale && strcmp(locale, "de-DE") == 0;
    return (unsigned)id < GW_T_COUNT ? texts[id][de] : "";
}

void gw_page_fill(cm_buf *b, const char *locale, gw_text id, const char *a1, const char *a2)
{
    const char *s = gw_page_text(locale, id);
    for (const char *p; (p = strchr(s, '{'));) {
        cm_buf_add(b, s, (size_t)(p - s));
        const char *a = p[1] == '1' && p[2] == '}' ? a1 : p[1] == '2' && p[2] == '}' ? a2 : NULL;
        if (a) {
            cm_buf_html(b, a, strlen(a));
            s = p + 3;
        } else {
            cm_buf_adds(b, "{");
            s = p + 1;
        }
    }
    cm_buf_adds(b, s);
}

static void text(cm_buf *b, const char *locale, gw_text id)
{
    gw_page_fill(b, locale, id, NULL, NULL);
}

/* A value from the token: HTML-escaped, and any bidi override it opens
 * closed after it (a number holding U+202E reorders nothing else). */
static void esc(cm_buf *b, const char *s)
{
    cm_buf_html(b, s, strlen(s));
    cm_buf_bidi_close(b, s, strlen(s));
}

void gw_page_head(cm_buf *b, const char *locale, const char *title, const char *main_id)
{
    cm_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"");
    esc(b, locale);
    cm_buf_adds(b, "\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
    esc(b, title);
    cm_buf_adds(b, "</title>\n<style>"
                   "body{font-family:system-ui,sans-serif;max-width:40rem;margin:0 auto;"
                   "padding:1rem;line-height:1.5}"
                   "table{border-collapse:collapse;width:100%}"
                   "th,td{text-align:left;padding:.25rem;border-bottom:1px solid #ccc}"
                   ".amount{text-align:right}td.amount{white-space:nowrap}.wide{overflow-x:auto}"
                   "section{margin:1.5rem 0}label{display:block;margin:.5rem 0 .25rem}"
                   "fieldset label{display:inline}"
                   "select,textarea,input[type=date]{width:100%;box-sizing:border-box;font:inherit}"
                   "button{font:inherit;padding:.5rem 1rem;margin-top:.5rem}"
                   "</style>\n</head>\n<body>\n<main id=\"");
    esc(b, main_id);
    cm_buf_adds(b, "\">\n<h1>");
    esc(b, title);
    cm_buf_adds(b, "</h1>\n");
}

void gw_page_foot(cm_buf *b)
{
    cm_buf_adds(b, "</main>\n</body>\n</html>\n");
}

void gw_page_message(cm_buf *b, const char *locale, gw_text title, const char *msg,
                     const char *detail, const char *main_id)
{
    gw_page_head(b, locale, gw_page_text(locale, title), main_id);
    cm_buf_adds(b, "<p id=\"message\">");
    esc(b, msg);
    cm_buf_adds(b, "</p>\n");
    if (detail) {
        cm_buf_adds(b, "<p id=\"detail\">");
        esc(b, detail);
        cm_buf_adds(b, "</p>\n");
    }
    gw_page_foot(b);
}

void gw_page_money(int64_t minor, const char *currency, const char *locale, char *buf, size_t len)
{
    char err[96];
    if (cm_format_money(minor, currency, locale, buf, len, err, sizeof err) != 0)
        snprintf(buf, len, "%s", "");
}

void gw_page_date(const char *date, const char *locale, char *buf, size_t len)
{
    char err[96];
    if (cm_format_date(date, locale, buf, len, err, sizeof err) != 0)
        snprintf(buf, len, "%s", "");
}

/* --- the self-service page ------------------------------------------------ */

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void form_open(cm_buf *b, const gw_view *v, int i, const char *action)
{
    cm_buf_adds(b, "<form id=\"form-");
    esc(b, action);
    cm_buf_adds(b, "\" method=\"post\" action=\"");
    esc(b, v->token); /* relative: /p/<token> itself */
    cm_buf_adds(b, "\">\n<input type=\"hidden\" name=\"action\" value=\"");
    esc(b, action);
    cm_buf_adds(b, "\">\n<input type=\"hidden\" name=\"csrf\" value=\"");
    esc(b, v->csrf[i]);
    cm_buf_adds(b, "\">\n");
}

static void button(cm_buf *b, const char *id, const char *label)
{
    cm_buf_adds(b, "<button type=\"submit\" id=\"");
    esc(b, id);
    cm_buf_adds(b, "\">");
    esc(b, label);
    cm_buf_adds(b, "</button>\n</form>\n</section>\n");
}

static void section(cm_buf *b, const char *id, const char *locale, gw_text title)
{
    cm_buf_adds(b, "<section id=\"");
    esc(b, id);
    cm_buf_adds(b, "\">\n<h2>");
    text(b, locale, title);
    cm_buf_adds(b, "</h2>\n");
}

int gw_page_plan_words(json_t *plan, const char *cur, const char *loc, char *buf, size_t len)
{
    json_t *ins = json_object_get(plan, "instalments");
    size_t o = 0;
    buf[0] = 0;
    if (!json_is_array(ins) || json_array_size(ins) == 0)
        return -1;
    for (size_t j = 0; j < json_array_size(ins); j++) {
        json_t *it = json_array_get(ins, j);
        char m[64], d[64];
        if (!json_is_integer(json_object_get(it, "amount_minor")) || !str(it, "due_on"))
            return -1;
        gw_page_money(json_integer_value(json_object_get(it, "amount_minor")), cur, loc, m,
                      sizeof m);
        gw_page_date(str(it, "due_on"), loc, d, sizeof d);
        int w = snprintf(buf + o, len - o, "%s%s (%s)", j ? ", " : "", m, d);
        if (w < 0 || (size_t)w >= len - o)
            return -1;
        o += (size_t)w;
    }
    return 0;
}

const char *gw_page_channel(const char *loc, const char *ch)
{
    if (strcmp(ch, "email") == 0)
        return gw_page_text(loc, GW_T_CH_EMAIL);
    if (strcmp(ch, "sms") == 0)
        return gw_page_text(loc, GW_T_CH_SMS);
    if (strcmp(ch, "letter") == 0)
        return gw_page_text(loc, GW_T_CH_LETTER);
    return ch;
}

int gw_page_render(cm_buf *b, const gw_view *v)
{
    json_t *c = v->claims, *invs = json_object_get(c, "invoices");
    const char *loc = v->locale, *cur = str(c, "currency"), *as_of = str(c, "as_of");
    const char *cust = str(c, "customer_id");
    json_t *offer = json_object_get(c, "offer"), *chans = json_object_get(c, "channels");
    char m[64], d[64], m2[64];
    if (!cur || !as_of || !cust || !json_is_array(invs) || json_array_size(invs) == 0 ||
        !json_is_integer(json_object_get(c, "total_minor")))
        return -1;
    gw_page_head(b, loc, gw_page_text(loc, GW_T_TITLE), "page");
    gw_page_date(as_of, loc, d, sizeof d);
    cm_buf_adds(b, "<p id=\"intro\">");
    gw_page_fill(b, loc, GW_T_INTRO, d, NULL);
    cm_buf_adds(b, "</p>\n<p id=\"customer\">");
    gw_page_fill(b, loc, GW_T_CUSTOMER, cust, NULL);
    cm_buf_adds(b, "</p>\n<div class=\"wide\">\n<table id=\"invoices\">\n<caption>");
    text(b, loc, GW_T_INVOICES);
    cm_buf_adds(b, "</caption>\n<thead><tr><th scope=\"col\">");
    text(b, loc, GW_T_COL_NUMBER);
    cm_buf_adds(b, "</th><th scope=\"col\">");
    text(b, loc, GW_T_COL_DUE);
    cm_buf_adds(b, "</th><th scope=\"col\" class=\"amount\">");
    text(b, loc, GW_T_COL_OUTSTANDING);
    cm_buf_adds(b, "</th><th scope=\"col\" class=\"amount\">");
    text(b, loc, GW_T_COL_TOTAL);
    cm_buf_adds(b, "</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < json_array_size(invs); i++) {
        json_t *iv = json_array_get(invs, i);
        const char *num = str(iv, "number"), *due = str(iv, "due_on");
        json_t *out = json_object_get(iv, "outstanding_minor"),
               *tot = json_object_get(iv, "total_minor");
        if (!str(iv, "invoice_id") || !num || !due || !json_is_integer(out) ||
            !json_is_integer(tot))
            return -1;
        cm_buf_printf(b, "<tr id=\"invoice-%zu\"><td class=\"number\">", i + 1);
        esc(b, num);
        gw_page_date(due, loc, d, sizeof d);
        cm_buf_adds(b, "</td><td class=\"due\">");
        esc(b, d);
        gw_page_money(json_integer_value(out), cur, loc, m, sizeof m);
        cm_buf_adds(b, "</td><td class=\"amount outstanding\">");
        esc(b, m);
        gw_page_money(json_integer_value(tot), cur, loc, m, sizeof m);
        cm_buf_adds(b, "</td><td class=\"amount total\">");
        esc(b, m);
        cm_buf_adds(b, "</td></tr>\n");
    }
    cm_buf_adds(b, "</tbody>\n</table>\n</div>\n<p id=\"total\">");
    gw_page_date(as_of, loc, d, sizeof d);
    gw_page_money(json_integer_value(json_object_get(c, "total_minor")), cur, loc, m, sizeof m);
    gw_page_fill(b, loc, GW_T_TOTAL, d, m);
    cm_buf_adds(b, "</p>\n");
    const char *kind = str(offer, "kind");
    if (v->offer_open && kind && (!strcmp(kind, "discount") || !strcmp(kind, "settlement"))) {
        gw_page_money(json_integer_value(json_object_get(offer, "amount_minor")), cur, loc, m2,
                      sizeof m2);
        gw_page_date(str(offer, "valid_until"), loc, d, sizeof d);
        cm_buf_adds(b, "<p id=\"offer\">");
        gw_page_fill(b, loc, strcmp(kind, "discount") ? GW_T_OFFER_SETTLEMENT : GW_T_OFFER_DISCOUNT,
                     m2, d);
        cm_buf_adds(b, "</p>\n");
    }

    if (v->pay) {
        section(b, "pay", loc, GW_T_PAY);
        form_open(b, v, 0, "pay");
        gw_page_money(v->pay_minor, cur, loc, m2, sizeof m2);
        cm_buf_adds(b, "<button type=\"submit\" id=\"pay-submit\">");
        gw_page_fill(b, loc, GW_T_PAY_BUTTON, m2, NULL);
        cm_buf_adds(b, "</button>\n</form>\n</section>\n");
    }

    section(b, "promise", loc, GW_T_PROMISE);
    form_open(b, v, 1, "promise");
    gw_page_money(json_integer_value(json_object_get(c, "total_minor")), cur, loc, m, sizeof m);
    cm_buf_adds(b, "<label for=\"promised_on\">");
    gw_page_fill(b, loc, GW_T_PROMISE_DATE, m, NULL);
    cm_buf_adds(b, "</label>\n<input type=\"date\" id=\"promised_on\" name=\"promised_on\" min=\"");
    esc(b, v->promise_min);
    cm_buf_adds(b, "\" max=\"");
    esc(b, v->promise_max);
    cm_buf_adds(b, "\" required>\n");
    button(b, "promise-submit", gw_page_text(loc, GW_T_PROMISE_BUTTON));

    section(b, "dispute", loc, GW_T_DISPUTE);
    form_open(b, v, 2, "dispute");
    cm_buf_adds(b, "<label for=\"dispute-invoice\">");
    text(b, loc, GW_T_DISPUTE_INVOICE);
    cm_buf_adds(b, "</label>\n<select id=\"dispute-invoice\" name=\"invoice_id\" required>\n");
    for (size_t i = 0; i < json_array_size(invs); i++) {
        json_t *iv = json_array_get(invs, i);
        cm_buf_adds(b, "<option value=\"");
        esc(b, str(iv, "invoice_id"));
        cm_buf_adds(b, "\">");
        esc(b, str(iv, "number"));
        cm_buf_adds(b, "</option>\n");
    }
    cm_buf_adds(b, "</select>\n<label for=\"dispute-reason\">");
    text(b, loc, GW_T_DISPUTE_REASON);
    cm_buf_adds(b, "</label>\n<textarea id=\"dispute-reason\" name=\"reason\" rows=\"4\" "
                   "maxlength=\"1000\" required></textarea>\n");
    button(b, "dispute-submit", gw_page_text(loc, GW_T_DISPUTE_BUTTON));

    json_t *plans = json_object_get(offer, "plans");
    if (v->offer_open && kind && !strcmp(kind, "plan") && json_array_size(plans) > 0) {
        section(b, "plan", loc, GW_T_PLAN);
        form_open(b, v, 3, "plan");
        cm_buf_adds(b, "<fieldset>\n<legend>");
        text(b, loc, GW_T_PLAN_CHOOSE);
        cm_buf_adds(b, "</legend>\n");
        for (size_t i = 0; i < json_array_size(plans); i++) {
            char words[1600], n[16];
            json_t *p = json_array_get(plans, i);
            if (gw_page_plan_words(p, cur, loc, words, sizeof words) != 0)
                return -1;
            snprintf(n, sizeof n, "%zu", json_array_size(json_object_get(p, "instalments")));
            cm_buf_printf(b,
                          "<div><input type=\"radio\" name=\"plan\" id=\"plan-%zu\" "
                          "value=\"%zu\" required><label for=\"plan-%zu\">",
                          i + 1, i + 1, i + 1);
            gw_page_fill(b, loc, GW_T_PLAN_OPTION, n, words);
            cm_buf_adds(b, "</label></div>\n");
        }
        cm_buf_adds(b, "</fieldset>\n");
        button(b, "plan-submit", gw_page_text(loc, GW_T_PLAN_BUTTON));
    }

    if (json_array_size(chans) > 0) {
        section(b, "stop", loc, GW_T_STOP);
        form_open(b, v, 4, "stop");
        cm_buf_adds(b, "<fieldset>\n<legend>");
        text(b, loc, GW_T_STOP_CHANNEL);
        cm_buf_adds(b, "</legend>\n");
        for (size_t i = 0; i < json_array_size(chans); i++) {
            const char *ch = json_string_value(json_array_get(chans, i));
            if (!ch)
                return -1;
            cm_buf_adds(b, "<div><input type=\"radio\" name=\"channel\" id=\"stop-");
            esc(b, ch);
            cm_buf_adds(b, "\" value=\"");
            esc(b, ch);
            cm_buf_adds(b, "\" required><label for=\"stop-");
            esc(b, ch);
            cm_buf_adds(b, "\">");
            esc(b, gw_page_channel(loc, ch));
            cm_buf_adds(b, "</label></div>\n");
        }
        cm_buf_adds(b, "</fieldset>\n");
        button(b, "stop-submit", gw_page_text(loc, GW_T_STOP_BUTTON));
    }
    gw_page_foot(b);
    return 0;
}
