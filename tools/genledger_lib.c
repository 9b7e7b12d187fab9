/* genledger_lib.c -- arrears-genledger's generator: a deterministic, realistic ledger of
 * billing events as CloudEvents JSON lines (the demo's input, and usable as
 * backtest input).
 *
 * (genledger_lib.h; the binary's options are tools/genledger.c's.)
 *
 * Design: one PRNG (xoshiro256** seeded by splitmix64; never rand()), drawn
 * in a fixed order, so a seed gives the same bytes on every machine with the
 * same tzdata. Nothing uses floating point. Customers come first (one
 * customer.upserted each, spread over the first simulated hour), then each
 * invoice draws a payment behaviour from its customer's profile and emits
 * its future events (payments, promises, disputes, credit notes, reversals)
 * at simulated instants in the customer's business hours. Events are kept
 * as small fixed records (about 48 bytes, so 1M invoices fit in memory),
 * sorted by (time, generation order), dropped when they fall after the end
 * of the simulated period, and rendered to JSON only on output.
 *
 * --mix simple restricts the ledger to what a test can predict from the
 * policy alone: on-time, late, partial and never behaviours, no opt-outs,
 * no contact.ceased, no key-account tags, payments between 17:00 and 19:00
 * local (six hours after the 11:00 send hour, fourteen before the next
 * 09:00), so a payment and a reminder never race. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "contract.h"
#include "genledger_lib.h"
#include "money.h"
#include "tz.h"

/* ------------------------------------------------------------------ PRNG */

typedef struct tool_rng {
    uint64_t s[4];
} tool_rng;

static uint64_t tool_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void tool_rng_seed(tool_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = tool_splitmix64(&x);
}

static uint64_t tool_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t tool_rng_next(tool_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = tool_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = tool_rotl(s[3], 45);
    return result;
}

/* Uniform integer in [lo, hi] (Lemire-free: the bias of a 64-bit modulo over
 * these small ranges is below 2^-40, irrelevant here). */
static int64_t tool_rng_range(tool_rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int64_t)(tool_rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* Index drawn from integer weights. */
static int tool_rng_pick(tool_rng *r, const int *w, int n)
{
    int total = 0, x;
    for (int i = 0; i < n; i++)
        total += w[i];
    x = (int)tool_rng_range(r, 0, total - 1);
    for (int i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* ------------------------------------------------------------ the world */

typedef struct tool_region {
    const char *country, *tz, *currency, *locale, *legal;
    const char *phone_fmt; /* printf with one unsigned */
    unsigned phone_lo, phone_hi;
    int weight;
} tool_region;

/* Phone ranges are ones reserved for fiction/drama where the regulator has
 * them (Ofcom 07700 900xxx, NANP 555-01xx, ACMA 0491 570xxx). */
static const tool_region tool_regions[] = {
    {"GB", "Europe/London", "GBP", "en-GB", "Ltd", "+447700900%03u", 0, 999, 30},
    {"DE", "Europe/Berlin", "EUR", "de-DE", "GmbH", "+4915551234%03u", 0, 999, 25},
    {"US", "America/New_York", "USD", "en-US", "Inc.", "+12125550%03u", 100, 199, 15},
    {"US", "America/Chicago", "USD", "en-US", "LLC", "+13125550%03u", 100, 199, 10},
    {"JP", "Asia/Tokyo", "JPY", "ja-JP", "K.K.", "+8190555%05u", 0, 99999, 10},
    {"AU", "Australia/Sydney", "USD", "en-AU", "Pty Ltd", "+61491570%03u", 0, 999, 10},
};
#define TOOL_NREGIONS ((int)(sizeof(tool_regions) / sizeof(tool_regions[0])))

static const char *const tool_name_a[] = {
    "Acme",     "Globex",  "Initech",   "Umbrella", "Stark",   "Wayne",    "Hooli",
    "Vandelay", "Soylent", "Tyrell",    "Wonka",    "Oceanic", "Monarch",  "Nakatomi",
    "Aperture", "Duff",    "Cyberdyne", "Gekko",    "Massive", "Bluth",    "Prestige",
    "Sirius",   "Zorg",    "Kramerica", "Dunder",   "Pendant", "Sterling", "Wernham"};
static const char *const tool_name_b[] = {"Trading",  "Logistics", "Foods",       "Systems",
                                          "Partners", "Retail",    "Engineering", "Studios",
                                          "Labs",     "Supplies",  "Holdings",    "Media"};
#define TOOL_N(a) ((int)(sizeof(a) / sizeof((a)[0])))

enum tool_profile { P_RELIABLE, P_SLOW, P_STRUGGLING, P_PROMISER, P_DISPUTER, P_GHOST, P_N };
static const int tool_profile_w[P_N] = {40, 30, 15, 8, 4, 3};

const char *const tool_gl_behaviour_names[TOOL_GL_B_N] = {
    "on_time", "late", "partial", "never", "promise_kept", "promise_broken", "dispute", "voided"};

/* The generator's data table: which contract type each kind is. */
const ct_type tool_gl_types[TOOL_GL_EV_NTYPES] = {
    [TOOL_GL_EV_CUSTOMER] = CT_EV_CUSTOMER_UPSERTED,
    [TOOL_GL_EV_INVOICE] = CT_EV_INVOICE_ISSUED,
    [TOOL_GL_EV_PAYMENT] = CT_EV_PAYMENT_RECEIVED,
    [TOOL_GL_EV_REVERSAL] = CT_EV_PAYMENT_REVERSED,
    [TOOL_GL_EV_PROMISE] = CT_EV_PROMISE_MADE,
    [TOOL_GL_EV_DISPUTE_OPEN] = CT_EV_DISPUTE_OPENED,
    [TOOL_GL_EV_DISPUTE_RESOLVED] = CT_EV_DISPUTE_RESOLVED,
    [TOOL_GL_EV_CREDIT] = CT_EV_CREDIT_NOTE_ISSUED,
    [TOOL_GL_EV_VOID] = CT_EV_INVOICE_VOIDED,
    [TOOL_GL_EV_CEASED] = CT_EV_CONTACT_CEASED,
};

/* Behaviour weights per profile (rows) -- full mix. */
static const int tool_behaviour_w[P_N][TOOL_GL_B_N] = {
    /* ontime late partial never kept broken dispute voided */
    {85, 10, 2, 1, 0, 0, 1, 1},    /* reliable */
    {20, 62, 8, 3, 4, 0, 2, 1},    /* slow */
    {0, 30, 25, 19, 10, 15, 0, 1}, /* struggling */
    {10, 20, 0, 4, 40, 25, 0, 1},  /* promiser */
    {30, 20, 0, 4, 0, 0, 45, 1},   /* disputer */
    {0, 20, 0, 79, 0, 0, 0, 1},    /* ghost */
};
/* --mix simple: only what the policy alone predicts. */
static const int tool_behaviour_simple_w[TOOL_GL_B_N] = {35, 35, 10, 20, 0, 0, 0, 0};

static const char *const tool_dispute_reasons[] = {"goods not received", "wrong quantity",
                                                   "price differs from order",
                                                   "damaged on delivery", "duplicate invoice"};

typedef struct tool_cust {
    uint8_t region, profile, chan, optout, tag;
    uint16_t name_a, name_b;
    uint32_t phone;
    int64_t credit_major;
    int64_t upsert_ms;
} tool_cust;

typedef struct tool_inv {
    uint32_t cust;
    int32_t issued_on, due_on;
    int64_t amount; /* minor units */
    uint8_t terms, behaviour;
} tool_inv;

typedef struct tool_ev {
    int64_t t;
    int64_t amount; /* minor units (payment, promise, credit) */
    uint32_t seq;   /* generation order: tie-break and CloudEvents id */
    uint32_t ref;   /* invoice index, or customer index */
    uint32_t num;   /* payment / credit note number, reason index, channel */
    int32_t day;    /* received_on / promised_on */
    uint8_t type;
} tool_ev;

typedef struct tool_gl {
    const tool_gl_opts *o;
    tool_rng rng;
    tool_cust *cust;
    tool_inv *inv;
    tool_ev *ev;
    size_t nev, cap;
    uint32_t seq, payments, credits;
    int64_t start_ms, end_ms;
    const cm_tz *tz[TOOL_NREGIONS];
} tool_gl;

static int tool_gl_push(tool_gl *g, int type, int64_t t, uint32_t ref, int64_t amount, int32_t day,
                        uint32_t num)
{
    tool_ev *e;
    if (g->nev == g->cap) {
        size_t ncap = g->cap ? g->cap * 2 : 1024;
        tool_ev *n = realloc(g->ev, ncap * sizeof(*n));
        if (!n)
            return -1;
        g->ev = n;
        g->cap = ncap;
    }
    e = &g->ev[g->nev++];
    memset(e, 0, sizeof(*e));
    e->t = t;
    e->type = (uint8_t)type;
    e->ref = ref;
    e->amount = amount;
    e->day = day;
    e->num = num;
    e->seq = g->seq++;
    return 0;
}

/* A UTC instant at a random minute between from_h:00 and to_h:00 local on
 * local day `day` of customer c's zone. */
static int64_t tool_local_instant(tool_gl *g, const tool_cust *c, int32_t day, int from_h, int to_h)
{
    int minute = (int)tool_rng_range(&g->rng, 0, (to_h - from_h) * 60 - 1);
    int64_t t = cm_tz_local_to_utc(g->tz[c->region], day, from_h + minute / 60, minute % 60);
    return t + tool_rng_range(&g->rng, 0, 59) * 1000;
}

static int32_t tool_local_day(tool_gl *g, const tool_cust *c, int64_t t)
{
    int32_t day;
    int mod;
    cm_tz_local(g->tz[c->region], t, &day, &mod);
    return day;
}

static int tool_gen_customers(tool_gl *g)
{
    const tool_gl_opts *o = g->o;
    int rw[TOOL_NREGIONS];
    for (int i = 0; i < TOOL_NREGIONS; i++)
        rw[i] = tool_regions[i].weight;
    for (long i = 0; i < o->customers; i++) {
        tool_cust *c = &g->cust[i];
        const tool_region *r;
        int x;
        c->region = (uint8_t)tool_rng_pick(&g->rng, rw, TOOL_NREGIONS);
        r = &tool_regions[c->region];
        c->profile = (uint8_t)tool_rng_pick(&g->rng, tool_profile_w, P_N);
        c->name_a = (uint16_t)tool_rng_range(&g->rng, 0, TOOL_N(tool_name_a) - 1);
        c->name_b = (uint16_t)tool_rng_range(&g->rng, 0, TOOL_N(tool_name_b) - 1);
        c->phone = (uint32_t)tool_rng_range(&g->rng, r->phone_lo, r->phone_hi);
        x = (int)tool_rng_range(&g->rng, 0, 99);
        c->chan = (uint8_t)(x < 60 ? 0 : x < 85 ? 1 : 2); /* email+sms, email, sms+email */
        x = (int)tool_rng_range(&g->rng, 0, 99);
        c->optout = (uint8_t)(o->simple ? 0 : x < 5 ? 1 : x < 7 ? 2 : 0); /* sms, email */
        x = (int)tool_rng_range(&g->rng, 0, 99);
        c->tag = (uint8_t)(x < 5 && !o->simple ? 2
                           : x < 30            ? 1
                                               : 0); /* key-account, enterprise, smb */
        c->credit_major = tool_rng_range(&g->rng, 1, 20) * 1000;
        /* Spread over the first simulated hour, in order. */
        c->upsert_ms = g->start_ms + (int64_t)i * 3600000 / o->customers;
        if (tool_gl_push(g, TOOL_GL_EV_CUSTOMER, c->upsert_ms, (uint32_t)i, 0, 0, 0) != 0)
            return -1;
        /* contact.ceased for about 1.5% of customers. */
        if (!o->simple && tool_rng_range(&g->rng, 0, 999) < 15) {
            int32_t day = g->o->start_day + (int32_t)tool_rng_range(&g->rng, 10, o->days - 1);
            uint32_t ch = (uint32_t)tool_rng_range(&g->rng, 0, 2); /* all, sms, email */
            if (tool_gl_push(g, TOOL_GL_EV_CEASED, tool_local_instant(g, c, day, 9, 17),
                             (uint32_t)i, 0, 0, ch) != 0)
                return -1;
        }
    }
    return 0;
}

static int64_t tool_gen_amount(tool_gl *g, int exponent)
{
    static const int tier_w[3] = {50, 35, 15};
    int tier = tool_rng_pick(&g->rng, tier_w, 3);
    int64_t major = tier == 0   ? tool_rng_range(&g->rng, 50, 999)
                    : tier == 1 ? tool_rng_range(&g->rng, 1000, 4999)
                                : tool_rng_range(&g->rng, 5000, 20000);
    if (exponent == 0) /* JPY: about 100 yen to the unit, in whole 10s */
        return major * 100 + tool_rng_range(&g->rng, 0, 9) * 10;
    int64_t m = major;
    for (int i = 0; i < exponent; i++)
        m *= 10;
    return m + tool_rng_range(&g->rng, 0, 99);
}

/* A payment of `amount` on local day `day` (full mix: business hours;
 * simple: 17:00-19:00). */
static int tool_gen_payment(tool_gl *g, uint32_t inv, int32_t day, int64_t amount, int64_t *at)
{
    const tool_cust *c = &g->cust[g->inv[inv].cust];
    int64_t t =
        g->o->simple ? tool_local_instant(g, c, day, 17, 19) : tool_local_instant(g, c, day, 8, 18);
    if (at)
        *at = t;
    return tool_gl_push(g, TOOL_GL_EV_PAYMENT, t, inv, amount, tool_local_day(g, c, t),
                        ++g->payments);
}

static int32_t tool_late_days(tool_gl *g)
{
    static const int w[4] = {50, 30, 15, 5};
    switch (tool_rng_pick(&g->rng, w, 4)) {
    case 0:
        return (int32_t)tool_rng_range(&g->rng, 1, 10);
    case 1:
        return (int32_t)tool_rng_range(&g->rng, 11, 30);
    case 2:
        return (int32_t)tool_rng_range(&g->rng, 31, 60);
    default:
        return (int32_t)tool_rng_range(&g->rng, 61, 90);
    }
}

static int tool_gen_invoices(tool_gl *g)
{
    static const int terms_w[4] = {20, 60, 10, 10};
    static const int terms_d[4] = {14, 30, 45, 60};
    const tool_gl_opts *o = g->o;
    for (long i = 0; i < o->invoices; i++) {
        tool_inv *v = &g->inv[i];
        uint32_t ci = (uint32_t)tool_rng_range(&g->rng, 0, o->customers - 1);
        const tool_cust *c = &g->cust[ci];
        int exponent = cm_money_exponent(tool_regions[c->region].currency);
        int32_t day = o->start_day + (int32_t)tool_rng_range(&g->rng, 0, o->days - 1);
        int64_t t = tool_local_instant(g, c, day, 8, 18), pt;
        int32_t due, d;
        int b;
        uint32_t ii = (uint32_t)i;

        /* Never before the customer exists (Sydney's morning is the
         * previous UTC day). */
        while (t <= c->upsert_ms)
            t += 86400000;
        v->cust = ci;
        v->terms = (uint8_t)tool_rng_pick(&g->rng, terms_w, 4);
        v->issued_on = tool_local_day(g, c, t);
        v->due_on = v->issued_on + terms_d[v->terms];
        v->amount = tool_gen_amount(g, exponent);
        b = o->simple ? tool_rng_pick(&g->rng, tool_behaviour_simple_w, TOOL_GL_B_N)
                      : tool_rng_pick(&g->rng, tool_behaviour_w[c->profile], TOOL_GL_B_N);
        v->behaviour = (uint8_t)b;
        due = v->due_on;
        if (tool_gl_push(g, TOOL_GL_EV_INVOICE, t, ii, v->amount, 0, 0) != 0)
            return -1;

        switch (b) {
        case TOOL_GL_B_ONTIME:
            d = due - (int32_t)tool_rng_range(&g->rng, 0, 5);
            if (d <= v->issued_on)
                d = v->issued_on + 1;
            if (tool_gen_payment(g, ii, d, v->amount, &pt) != 0)
                return -1;
            /* 2% of them bounce (full mix) and are paid again later. */
            if (!o->simple && tool_rng_range(&g->rng, 0, 99) < 2) {
                uint32_t pay = g->payments;
                int64_t rt = pt + tool_rng_range(&g->rng, 2, 5) * 86400000;
                if (tool_gl_push(g, TOOL_GL_EV_REVERSAL, rt, ii, 0, 0, pay) != 0 ||
                    tool_gen_payment(
                        g, ii, tool_local_day(g, c, rt) + (int32_t)tool_rng_range(&g->rng, 10, 20),
                        v->amount, NULL) != 0)
                    return -1;
            }
            break;
        case TOOL_GL_B_LATE:
            if (tool_gen_payment(g, ii, due + tool_late_days(g), v->amount, NULL) != 0)
                return -1;
            break;
        case TOOL_GL_B_PARTIAL: {
            int64_t part = v->amount * tool_rng_range(&g->rng, 20, 80) / 100;
            if (exponent == 0)
                part -= part % 10;
            if (part <= 0)
                part = 1;
            if (tool_gen_payment(g, ii, due + (int32_t)tool_rng_range(&g->rng, 0, 20), part,
                                 NULL) != 0)
                return -1;
            if (tool_rng_range(&g->rng, 0, 1) &&
                tool_gen_payment(g, ii, due + (int32_t)tool_rng_range(&g->rng, 25, 60),
                                 v->amount - part, NULL) != 0)
                return -1;
            break;
        }
        case TOOL_GL_B_NEVER:
            break;
        case TOOL_GL_B_PROMISE_KEPT:
        case TOOL_GL_B_PROMISE_BROKEN: {
            int32_t pd = due + (int32_t)tool_rng_range(&g->rng, 8, 20);
            int32_t promised = pd + (int32_t)tool_rng_range(&g->rng, 3, 10);
            int64_t ptm = tool_local_instant(g, c, pd, 9, 17);
            if (tool_gl_push(g, TOOL_GL_EV_PROMISE, ptm, ii, v->amount, promised, 0) != 0)
                return -1;
            if (b == TOOL_GL_B_PROMISE_KEPT) {
                if (tool_gen_payment(g, ii, promised - (int32_t)tool_rng_range(&g->rng, 0, 1),
                                     v->amount, NULL) != 0)
                    return -1;
            } else if (tool_rng_range(&g->rng, 0, 99) < 40) {
                if (tool_gen_payment(g, ii, promised + (int32_t)tool_rng_range(&g->rng, 20, 40),
                                     v->amount, NULL) != 0)
                    return -1;
            }
            break;
        }
        case TOOL_GL_B_DISPUTE: {
            int32_t od = due + (int32_t)tool_rng_range(&g->rng, 2, 15);
            int32_t rd = od + (int32_t)tool_rng_range(&g->rng, 5, 30);
            uint32_t reason =
                (uint32_t)tool_rng_range(&g->rng, 0, TOOL_N(tool_dispute_reasons) - 1);
            int x = (int)tool_rng_range(&g->rng, 0, 99);
            int64_t rt = tool_local_instant(g, c, rd, 9, 17);
            if (tool_gl_push(g, TOOL_GL_EV_DISPUTE_OPEN, tool_local_instant(g, c, od, 9, 17), ii, 0,
                             0, reason) != 0 ||
                tool_gl_push(g, TOOL_GL_EV_DISPUTE_RESOLVED, rt, ii, 0, 0, reason) != 0)
                return -1;
            if (x < 60) {
                if (tool_gen_payment(g, ii, rd + (int32_t)tool_rng_range(&g->rng, 1, 10), v->amount,
                                     NULL) != 0)
                    return -1;
            } else if (x < 85) {
                if (tool_gl_push(g, TOOL_GL_EV_CREDIT, rt + 60000, ii, v->amount, 0,
                                 ++g->credits) != 0)
                    return -1;
            }
            break;
        }
        case TOOL_GL_B_VOIDED:
            if (tool_gl_push(
                    g, TOOL_GL_EV_VOID,
                    tool_local_instant(g, c, v->issued_on + (int32_t)tool_rng_range(&g->rng, 1, 5),
                                       9, 17),
                    ii, 0, 0, 0) != 0)
                return -1;
            break;
        }
    }
    return 0;
}

static int tool_ev_cmp(const void *a, const void *b)
{
    const tool_ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ------------------------------------------------------------ rendering */

static json_t *tool_money_json(int64_t minor, const char *currency)
{
    int e = cm_money_exponent(currency);
    char buf[64];
    if (e == 0) /* whole units: a JSON number, like many billing systems */
        return json_integer(minor);
    cm_money_format(minor, e, buf, sizeof(buf));
    return json_string(buf); /* exact: a decimal string */
}

static json_t *tool_date_json(int32_t day)
{
    char buf[16];
    cm_date_format(day, buf, sizeof(buf));
    return json_string(buf);
}

static void tool_inv_id(uint32_t i, char *buf, size_t len)
{
    snprintf(buf, len, "INV-%07u", i + 1);
}
static void tool_cust_id(uint32_t i, char *buf, size_t len)
{
    snprintf(buf, len, "C-%06u", i + 1);
}

static json_t *tool_render_customer(tool_gl *g, uint32_t ci)
{
    static const char *const chans[3][2] = {{"email", "sms"}, {"email", NULL}, {"sms", "email"}};
    static const char *const tags[3] = {"smb", "enterprise", "key-account"};
    const tool_cust *c = &g->cust[ci];
    const tool_region *r = &tool_regions[c->region];
    char id[32], name[128], email[160], phone[32], slug[64];
    json_t *d = json_object(), *ch = json_array(), *oo = json_array(), *tg = json_array();
    size_t k = 0;

    tool_cust_id(ci, id, sizeof(id));
    snprintf(name, sizeof(name), "%s %s %s", tool_name_a[c->name_a], tool_name_b[c->name_b],
             r->legal);
    for (const char *p = tool_name_a[c->name_a]; *p && k < 40; p++)
        slug[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    slug[k] = 0;
    snprintf(email, sizeof(email), "ap@%s-%06u.example.test", slug, ci + 1);
    snprintf(phone, sizeof(phone), r->phone_fmt, c->phone);
    for (int i = 0; i < 2; i++)
        if (chans[c->chan][i])
            json_array_append_new(ch, json_string(chans[c->chan][i]));
    if (c->optout == 1)
        json_array_append_new(oo, json_string("sms"));
    else if (c->optout == 2)
        json_array_append_new(oo, json_string("email"));
    json_array_append_new(tg, json_string(tags[c->tag]));

    json_object_set_new(d, "customer_id", json_string(id));
    json_object_set_new(d, "name", json_string(name));
    json_object_set_new(d, "email", json_string(email));
    json_object_set_new(d, "phone", json_string(phone));
    json_object_set_new(d, "timezone", json_string(r->tz));
    json_object_set_new(d, "locale", json_string(r->locale));
    json_object_set_new(d, "country", json_string(r->country));
    json_object_set_new(d, "channels", ch);
    json_object_set_new(d, "opted_out", oo);
    json_object_set_new(d, "credit_limit", tool_money_json(c->credit_major * 100, r->currency));
    json_object_set_new(d, "credit_currency", json_string(r->currency));
    json_object_set_new(d, "tags", tg);
    return d;
}

static json_t *tool_render(tool_gl *g, const tool_ev *e)
{
    static const char *const cease_ch[3] = {NULL, "sms", "email"};
    char cid[32], iid[32], buf[48];
    json_t *ce = json_object(), *d = NULL;
    const tool_inv *v = NULL;
    const tool_cust *c;
    const char *cur;
    uint32_t ci;

    if (e->type == TOOL_GL_EV_CUSTOMER || e->type == TOOL_GL_EV_CEASED) {
        ci = e->ref;
    } else {
        v = &g->inv[e->ref];
        ci = v->cust;
        tool_inv_id(e->ref, iid, sizeof(iid));
    }
    c = &g->cust[ci];
    cur = tool_regions[c->region].currency;
    tool_cust_id(ci, cid, sizeof(cid));

    json_object_set_new(ce, "specversion", json_string("1.0"));
    snprintf(buf, sizeof(buf), "gl%" PRIu64 "-%08u", g->o->seed, e->seq);
    json_object_set_new(ce, "id", json_string(buf));
    json_object_set_new(ce, "source", json_string(g->o->source));
    json_object_set_new(ce, "type", json_string(ct_type_name(tool_gl_types[e->type])));
    cm_time_format_rfc3339(e->t, buf, sizeof(buf));
    json_object_set_new(ce, "time", json_string(buf));
    json_object_set_new(ce, "tenant", json_string(g->o->tenant));
    json_object_set_new(ce, "datacontenttype", json_string("application/json"));

    switch (e->type) {
    case TOOL_GL_EV_CUSTOMER:
        d = tool_render_customer(g, ci);
        break;
    case TOOL_GL_EV_CEASED:
        d = json_object();
        json_object_set_new(d, "customer_id", json_string(cid));
        if (cease_ch[e->num])
            json_object_set_new(d, "channel", json_string(cease_ch[e->num]));
        break;
    case TOOL_GL_EV_INVOICE: {
        static const char *const terms[4] = {"net14", "net30", "net45", "net60"};
        int y;
        unsigned mo, dd;
        d = json_object();
        cm_civil_from_days(v->issued_on, &y, &mo, &dd);
        json_object_set_new(d, "invoice_id", json_string(iid));
        json_object_set_new(d, "customer_id", json_string(cid));
        snprintf(buf, sizeof(buf), "%d-%07u", (int)y, e->ref + 1);
        json_object_set_new(d, "number", json_string(buf));
        json_object_set_new(d, "currency", json_string(cur));
        json_object_set_new(d, "amount", tool_money_json(v->amount, cur));
        json_object_set_new(d, "issued_on", tool_date_json(v->issued_on));
        json_object_set_new(d, "due_on", tool_date_json(v->due_on));
        json_object_set_new(d, "terms", json_string(terms[v->terms]));
        break;
    }
    case TOOL_GL_EV_PAYMENT: {
        json_t *alloc = json_array(), *a = json_object();
        d = json_object();
        snprintf(buf, sizeof(buf), "PAY-%07u", e->num);
        json_object_set_new(d, "payment_id", json_string(buf));
        json_object_set_new(d, "customer_id", json_string(cid));
        json_object_set_new(d, "currency", json_string(cur));
        json_object_set_new(d, "amount", tool_money_json(e->amount, cur));
        json_object_set_new(d, "received_on", tool_date_json(e->day));
        json_object_set_new(a, "invoice_id", json_string(iid));
        json_object_set_new(a, "amount", tool_money_json(e->amount, cur));
        json_array_append_new(alloc, a);
        json_object_set_new(d, "allocations", alloc);
        break;
    }
    case TOOL_GL_EV_REVERSAL:
        d = json_object();
        snprintf(buf, sizeof(buf), "PAY-%07u", e->num);
        json_object_set_new(d, "payment_id", json_string(buf));
        json_object_set_new(d, "customer_id", json_string(cid));
        json_object_set_new(d, "reason", json_string("returned by the bank (insufficient funds)"));
        break;
    case TOOL_GL_EV_PROMISE: {
        json_t *ids = json_array();
        d = json_object();
        json_array_append_new(ids, json_string(iid));
        json_object_set_new(d, "customer_id", json_string(cid));
        json_object_set_new(d, "invoice_ids", ids);
        json_object_set_new(d, "currency", json_string(cur));
        json_object_set_new(d, "amount", tool_money_json(e->amount, cur));
        json_object_set_new(d, "promised_on", tool_date_json(e->day));
        break;
    }
    case TOOL_GL_EV_DISPUTE_OPEN:
    case TOOL_GL_EV_DISPUTE_RESOLVED:
        d = json_object();
        json_object_set_new(d, "customer_id", json_string(cid));
        json_object_set_new(d, "invoice_id", json_string(iid));
        if (e->type == TOOL_GL_EV_DISPUTE_OPEN)
            json_object_set_new(d, "reason", json_string(tool_dispute_reasons[e->num]));
        else {
            snprintf(buf, sizeof(buf), "resolved: %s", tool_dispute_reasons[e->num]);
            json_object_set_new(d, "reason", json_string(buf));
        }
        break;
    case TOOL_GL_EV_CREDIT:
        d = json_object();
        snprintf(buf, sizeof(buf), "CN-%07u", e->num);
        json_object_set_new(d, "credit_note_id", json_string(buf));
        json_object_set_new(d, "customer_id", json_string(cid));
        json_object_set_new(d, "invoice_id", json_string(iid));
        json_object_set_new(d, "currency", json_string(cur));
        json_object_set_new(d, "amount", tool_money_json(e->amount, cur));
        break;
    case TOOL_GL_EV_VOID:
        d = json_object();
        json_object_set_new(d, "invoice_id", json_string(iid));
        json_object_set_new(d, "customer_id", json_string(cid));
        break;
    default:
        d = json_object();
        break;
    }
    json_object_set_new(ce, "data", d);
    return ce;
}

/* Generates the whole ledger into out. Returns 0, or -1 with errstr. */
int tool_genledger_write(const tool_gl_opts *o, FILE *out, tool_gl_stats *st, char *errstr,
                         size_t errlen)
{
    tool_gl g;
    int rc = -1;
    size_t linecap = 4096;
    char *line = malloc(linecap);
    memset(&g, 0, sizeof(g));
    if (!line) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    memset(st, 0, sizeof(*st));
    g.o = o;
    tool_rng_seed(&g.rng, o->seed);
    g.start_ms = (int64_t)o->start_day * 86400000;
    g.end_ms = g.start_ms + (int64_t)o->days * 86400000;
    for (int i = 0; i < TOOL_NREGIONS; i++) {
        g.tz[i] = cm_tz_get(tool_regions[i].tz, errstr, errlen);
        if (!g.tz[i])
            goto cleanup;
    }
    g.cust = calloc((size_t)o->customers, sizeof(*g.cust));
    g.inv = calloc((size_t)o->invoices, sizeof(*g.inv));
    if (!g.cust || !g.inv) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    if (tool_gen_customers(&g) != 0 || tool_gen_invoices(&g) != 0) {
        snprintf(errstr, errlen, "out of memory");
        goto cleanup;
    }
    qsort(g.ev, g.nev, sizeof(*g.ev), tool_ev_cmp);
    for (long i = 0; i < o->invoices; i++)
        st->by_behaviour[g.inv[i].behaviour]++;
    for (size_t i = 0; i < g.nev; i++) {
        json_t *ce;
        if (g.ev[i].t >= g.end_ms) {
            st->dropped++;
            continue;
        }
        size_t n;
        ce = tool_render(&g, &g.ev[i]);
        /* one dump into a reused buffer and one fwrite per line: json_dumpf
         * writes piecemeal and dominated the run time */
        n = ce ? json_dumpb(ce, line, linecap - 1, JSON_COMPACT | JSON_PRESERVE_ORDER) : 0;
        if (n >= linecap - 1) {
            char *nl = realloc(line, n + 2);
            if (!nl) {
                json_decref(ce);
                snprintf(errstr, errlen, "out of memory");
                goto cleanup;
            }
            line = nl;
            linecap = n + 2;
            n = json_dumpb(ce, line, linecap - 1, JSON_COMPACT | JSON_PRESERVE_ORDER);
        }
        json_decref(ce);
        if (n == 0) {
            snprintf(errstr, errlen, "could not render event %u", g.ev[i].seq);
            goto cleanup;
        }
        line[n++] = '\n';
        if (fwrite(line, 1, n, out) != n) {
            snprintf(errstr, errlen, "write failed: %s", strerror(errno));
            goto cleanup;
        }
        st->events++;
        st->by_type[g.ev[i].type]++;
    }
    if (fflush(out) != 0) {
        snprintf(errstr, errlen, "write failed: %s", strerror(errno));
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(line);
    free(g.ev);
    free(g.inv);
    free(g.cust);
    return rc;
}
