/* command.c -- building commands and the scheduler's own events. */
#include "command.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

/* Appends s (n bytes) at *p, never past end (kept for the NUL). */
static void put(char **p, char *end, const char *s, size_t n) {
    size_t room = (size_t)(end - *p);
    if (n > room) n = room;
    memcpy(*p, s, n);
    *p += n;
}
static void put_int(char **p, char *end, long long v) {
    char b[24], *q = sch_fmt_ll(b + sizeof b, v);
    put(p, end, q, (size_t)(b + sizeof b - q));
}

/* Same text as snprintf(out, len, "%s/inv/%s/step/%d/attempt/%d", ...),
 * without the format machinery (one per fired timer). */
void sch_command_id_step(char *out, size_t len, const char *tenant, const char *invoice_id,
                         int step, int attempt) {
    if (len == 0) return;
    char *p = out, *end = out + len - 1;
    put(&p, end, tenant, strlen(tenant));
    put(&p, end, "/inv/", 5);
    put(&p, end, invoice_id, strlen(invoice_id));
    put(&p, end, "/step/", 6);
    put_int(&p, end, step);
    put(&p, end, "/attempt/", 9);
    put_int(&p, end, attempt);
    *p = 0;
}

void sch_command_id_thanks(char *out, size_t len, const char *tenant, const char *invoice_id,
                           const char *payment_id) {
    snprintf(out, len, "%s/inv/%s/thanks/%s", tenant, invoice_id, payment_id);
}

static json_t *ts(int64_t ms) {
    char b[40];
    cm_time_format_rfc3339(ms, b, sizeof b);
    return json_string(b);
}

/* ---- a small JSON writer: commands are built straight into text (they
 * are the hot path of firing; a jansson tree per command cost more than
 * everything else of a round) ---- */

typedef struct jw {
    char *s;
    size_t n, cap;
    int oom, first;
} jw;

static void jw_raw(jw *w, const char *p, size_t len) {
    if (w->oom) return;
    if (w->n + len + 1 > w->cap) {
        size_t c = w->cap ? w->cap * 2 : 2048; /* a command is about 1 KB */
        while (c < w->n + len + 1) c *= 2;
        char *ns = realloc(w->s, c);
        if (!ns) {
            w->oom = 1;
            return;
        }
        w->s = ns;
        w->cap = c;
    }
    memcpy(w->s + w->n, p, len);
    w->n += len;
    w->s[w->n] = 0;
}
static void jw_lit(jw *w, const char *p) { jw_raw(w, p, strlen(p)); }

static void jw_esc(jw *w, const char *s) {
    jw_raw(w, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
        jw_raw(w, run, (size_t)(s - run));
        char e[8];
        if (ch == '"') jw_lit(w, "\\\"");
        else if (ch == '\\') jw_lit(w, "\\\\");
        else if (ch == '\n') jw_lit(w, "\\n");
        else if (ch == '\t') jw_lit(w, "\\t");
        else if (ch == '\r') jw_lit(w, "\\r");
        else {
            snprintf(e, sizeof e, "\\u%04x", ch);
            jw_lit(w, e);
        }
        run = s + 1;
    }
    jw_raw(w, run, (size_t)(s - run));
    jw_raw(w, "\"", 1);
}

static void jw_key(jw *w, const char *k) {
    if (!w->first) jw_raw(w, ",", 1);
    w->first = 0;
    jw_esc(w, k);
    jw_raw(w, ":", 1);
}
static void jw_open(jw *w) {
    jw_raw(w, "{", 1);
    w->first = 1;
}
static void jw_close(jw *w) {
    jw_raw(w, "}", 1);
    w->first = 0;
}
static void jw_str(jw *w, const char *k, const char *v) {
    jw_key(w, k);
    jw_esc(w, v ? v : "");
}
static void jw_int(jw *w, const char *k, long long v) {
    char b[24], *p = sch_fmt_ll(b + sizeof b, v);
    jw_key(w, k);
    jw_raw(w, p, (size_t)(b + sizeof b - p));
}
/* YYYY-MM-DD of a day number into b (>= 11 bytes); years 0-9999 only,
 * else 0 (the caller falls back to clock.c). */
static int fmt_date(int32_t days, char *b) {
    int y;
    unsigned m, d;
    cm_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) return 0;
    b[0] = (char)('0' + y / 1000);
    b[1] = (char)('0' + y / 100 % 10);
    b[2] = (char)('0' + y / 10 % 10);
    b[3] = (char)('0' + y % 10);
    b[4] = '-';
    b[5] = (char)('0' + m / 10);
    b[6] = (char)('0' + m % 10);
    b[7] = '-';
    b[8] = (char)('0' + d / 10);
    b[9] = (char)('0' + d % 10);
    b[10] = 0;
    return 1;
}
static void two(char *b, int v) {
    b[0] = (char)('0' + v / 10);
    b[1] = (char)('0' + v % 10);
}
/* The text of cm_time_format_rfc3339 (YYYY-MM-DDTHH:MM:SS.mmmZ), built by
 * hand: two per command, and snprintf was a tenth of a firing round. */
static void jw_time(jw *w, const char *k, int64_t ms) {
    char b[40];
    int32_t day = cm_time_day(ms);
    int rem = (int)(ms - (int64_t)day * 86400000);
    if (fmt_date(day, b)) {
        b[10] = 'T';
        two(b + 11, rem / 3600000);
        b[13] = ':';
        two(b + 14, rem / 60000 % 60);
        b[16] = ':';
        two(b + 17, rem / 1000 % 60);
        b[19] = '.';
        b[20] = (char)('0' + rem % 1000 / 100);
        two(b + 21, rem % 100);
        b[23] = 'Z';
        b[24] = 0;
    } else {
        cm_time_format_rfc3339(ms, b, sizeof b);
    }
    jw_str(w, k, b);
}
static void jw_date(jw *w, const char *k, int32_t d) {
    char b[16];
    if (!fmt_date(d, b)) cm_date_format(d, b, sizeof b);
    jw_str(w, k, b);
}

static const char *locale_of(const sch_rec *cust, const sch_policy *pol) {
    if (cust && cust->u.cust.locale[0]) return cust->u.cust.locale;
    return pol->default_locale;
}

/* The common body of every command, left open for the caller's fields. */
static void base(jw *w, const sch_rec *inv, const sch_rec *cust, const sch_policy *pol,
                 const cm_tz *tz, const char *id, const char *kind, const char *channel,
                 const char *tmpl, int64_t scheduled, int64_t now, int64_t principal) {
    const sch_inv *v = &inv->u.inv;
    int32_t today;
    int minute;
    cm_tz_local(tz, now, &today, &minute);
    jw_open(w);
    jw_int(w, "v", 1);
    jw_str(w, "command_id", id);
    jw_str(w, "kind", kind);
    jw_str(w, "tenant", inv->tenant);
    jw_str(w, "channel", channel);
    jw_str(w, "template", tmpl);
    jw_str(w, "locale", locale_of(cust, pol));
    jw_str(w, "strategy", v->strategy);
    jw_str(w, "variant", v->variant);
    jw_time(w, "created_at", now);
    jw_time(w, "scheduled_at", scheduled);
    jw_key(w, "customer");
    /* the stored contact is compact JSON written by ev_customer (jansson) */
    if (cust && cust->u.cust.contact && cust->u.cust.contact[0] == '{') {
        jw_lit(w, cust->u.cust.contact);
    } else {
        jw_open(w);
        jw_str(w, "customer_id", v->customer);
        jw_close(w);
    }
    jw_str(w, "currency", v->currency);
    jw_key(w, "amounts");
    jw_open(w);
    jw_int(w, "principal", principal);
    jw_int(w, "fees", 0);
    jw_int(w, "interest", 0);
    jw_int(w, "compensation", 0);
    jw_int(w, "total", principal);
    jw_close(w);
    jw_key(w, "invoices");
    jw_lit(w, "[");
    jw_open(w);
    jw_str(w, "invoice_id", inv->id);
    jw_str(w, "number", v->number);
    jw_date(w, "issued_on", v->issued);
    jw_date(w, "due_on", v->due);
    jw_int(w, "days_overdue", today - v->due);
    jw_str(w, "currency", v->currency);
    jw_int(w, "amount_minor", v->amount);
    jw_int(w, "outstanding_minor", principal);
    jw_close(w);
    jw_lit(w, "]");
}

char *sch_command_step(const sch_rec *inv, const sch_rec *cust, const sch_policy *pol,
                       const cm_tz *tz, const sch_step *st, int step_idx, int64_t scheduled,
                       int64_t now) {
    char id[512];
    jw w = {0};
    sch_command_id_step(id, sizeof id, inv->tenant, inv->id, step_idx, inv->u.inv.attempt);
    base(&w, inv, cust, pol, tz, id, st->action, st->channel, st->template_id, scheduled, now,
         sch_inv_outstanding(&inv->u.inv));
    jw_int(&w, "step", step_idx);
    jw_str(&w, "step_name", st->name);
    jw_int(&w, "attempt", inv->u.inv.attempt);
    if (st->valid_for_ms > 0) jw_time(&w, "not_after", now + st->valid_for_ms);
    if (strcmp(st->action, "escalation") == 0) jw_int(&w, "level", st->level);
    jw_close(&w);
    if (w.oom) {
        free(w.s);
        return NULL;
    }
    return w.s;
}

char *sch_command_thanks(const sch_rec *inv, const sch_rec *cust, const sch_policy *pol,
                         const cm_tz *tz, int64_t scheduled, int64_t now) {
    char id[512];
    jw w = {0};
    sch_command_id_thanks(id, sizeof id, inv->tenant, inv->id, inv->u.inv.thanks_pid);
    base(&w, inv, cust, pol, tz, id, "payment.thanks", pol->thanks_channel, pol->thanks_template,
         scheduled, now, sch_inv_outstanding(&inv->u.inv));
    jw_key(&w, "payment");
    jw_open(&w);
    jw_str(&w, "payment_id", inv->u.inv.thanks_pid);
    jw_int(&w, "amount_minor", inv->u.inv.thanks_amt);
    jw_str(&w, "currency", inv->u.inv.currency);
    jw_close(&w);
    jw_close(&w);
    if (w.oom) {
        free(w.s);
        return NULL;
    }
    return w.s;
}

json_t *sch_event_escalated(const sch_rec *inv, const char *command_id, int level, int64_t now) {
    char id[600];
    json_t *e = json_object();
    if (!e) return NULL;
    snprintf(id, sizeof id, "%s/escalated", command_id);
    json_object_set_new(e, "v", json_integer(1));
    json_object_set_new(e, "id", json_string(id));
    json_object_set_new(e, "source", json_string("arrears-scheduler"));
    json_object_set_new(e, "type", json_string("invoice.escalated"));
    json_object_set_new(e, "tenant", json_string(inv->tenant));
    json_object_set_new(e, "time", ts(now));
    json_object_set_new(e, "customer_id", json_string(inv->u.inv.customer));
    char trace[33];
    snprintf(trace, sizeof trace, "%016llx%016llx", (unsigned long long)sch_hash64(id),
             (unsigned long long)sch_hash64(command_id));
    json_object_set_new(e, "trace_id", json_string(trace));
    json_t *d = json_object();
    json_object_set_new(d, "invoice_id", json_string(inv->id));
    json_object_set_new(d, "customer_id", json_string(inv->u.inv.customer));
    json_object_set_new(d, "level", json_integer(level));
    json_object_set_new(d, "command_id", json_string(command_id));
    json_object_set_new(e, "data", d);
    return e;
}
