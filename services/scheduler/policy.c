/* policy.c -- parsing, validation and evaluation of the collection policy.
 *
 * Every check produces "<json path>: <rule>" so an operator can fix the file
 * in one go. Only "version": 1 is accepted; unknown top-level keys are an
 * error (a typo must not silently disable a rule) except the reserved
 * sections listed in docs/policy.md. */
#include "policy.h"

#include "command.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "map.h"

#include <stdarg.h>

/* snprintf through a va_list: paths are cut at the buffer's size on purpose. */
__attribute__((format(printf, 3, 4))) static void fmt(char *dst, size_t len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(dst, len, f, ap);
    va_end(ap);
}

static const char *const reserved_top[] = {"comment", NULL};

static int in_list(const char *s, const char *const *l)
{
    for (; *l; l++)
        if (strcmp(s, *l) == 0)
            return 1;
    return 0;
}

/* A policy's channel name as the contract's channel (CT_CH_NONE if not one). */
static ct_channel channel_of(const char *s)
{
    return ct_channel_parse(s, strlen(s));
}

static int err(char *errstr, size_t errlen, const char *path, const char *rule)
{
    fmt(errstr, errlen, "policy %s: %s", path, rule);
    return -1;
}

/* Copies an optional string member into dst (max len), default def. */
static int get_str(json_t *o, const char *key, char *dst, size_t len, const char *def,
                   const char *path, char *errstr, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    char p[256];
    fmt(p, sizeof p, "%s.%s", path, key);
    if (!v) {
        if (!def)
            return err(errstr, errlen, p, "is required");
        fmt(dst, len, "%s", def);
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return err(errstr, errlen, p, "must be a non-empty string");
    if (json_string_length(v) >= len)
        return err(errstr, errlen, p, "is too long");
    fmt(dst, len, "%s", json_string_value(v));
    return 0;
}

static int get_int(json_t *o, const char *key, long long *dst, long long def, long long min,
                   long long max, const char *path, char *errstr, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    char p[256], rule[128];
    fmt(p, sizeof p, "%s.%s", path, key);
    if (!v) {
        *dst = def;
        return 0;
    }
    fmt(rule, sizeof rule, "must be an integer in %lld..%lld", min, max);
    if (!json_is_integer(v))
        return err(errstr, errlen, p, rule);
    long long x = json_integer_value(v);
    if (x < min || x > max)
        return err(errstr, errlen, p, rule);
    *dst = x;
    return 0;
}

/* "+7d", "-3d", "0d", "7d": whole days. */
static int parse_offset(const char *s, int *days)
{
    int sign = 1;
    if (*s == '+')
        s++;
    else if (*s == '-') {
        sign = -1;
        s++;
    }
    if (*s < '0' || *s > '9')
        return -1;
    long v = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v > 3650)
            return -1;
        s++;
    }
    if (strcmp(s, "d") != 0)
        return -1;
    *days = (int)(sign * v);
    return 0;
}

static int parse_hhmm(const char *s, int *h, int *m)
{
    if (strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    *h = (s[0] - '0') * 10 + (s[1] - '0');
    *m = (s[3] - '0') * 10 + (s[4] - '0');
    return (*h > 23 || *m > 59) ? -1 : 0;
}

static int get_send_time(json_t *o, const char *path, int dh, int dm, int *h, int *m, char *errstr,
                         size_t errlen)
{
    json_t *v = json_object_get(o, "send_at");
    char p[256];
    fmt(p, sizeof p, "%s.send_at", path);
    if (!v) {
        *h = dh;
        *m = dm;
        return 0;
    }
    if (!json_is_string(v) || parse_hhmm(json_string_value(v), h, m) < 0)
        return err(errstr, errlen, p, "must be a local time \"HH:MM\" (00:00..23:59)");
    return 0;
}

static int check_str_array(json_t *a, const char *path, char *errstr, size_t errlen)
{
    size_t i;
    json_t *v;
    if (!json_is_array(a))
        return err(errstr, errlen, path, "must be an array of strings");
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v))
            return err(errstr, errlen, path, "must be an array of strings");
    }
    return 0;
}

static int parse_step(json_t *o, const char *path, const sch_policy *pol, sch_step *st,
                      char *errstr, size_t errlen)
{
    char p[256], off[32];
    const char *key;
    json_t *v;
    static const char *const known[] = {"name",     "offset",  "action",    "channel", "channels",
                                        "template", "send_at", "valid_for", "level",   "conditions",
                                        "comment",  "fee",     "offer",     "to",      NULL};
    if (!json_is_object(o))
        return err(errstr, errlen, path, "must be an object");
    json_object_foreach(o, key, v)
    {
        if (!in_list(key, known)) {
            fmt(p, sizeof p, "%s.%s", path, key);
            return err(errstr, errlen, p, "unknown key");
        }
    }
    if (get_str(o, "offset", off, sizeof off, NULL, path, errstr, errlen) < 0)
        return -1;
    fmt(p, sizeof p, "%s.offset", path);
    if (parse_offset(off, &st->offset_days) < 0)
        return err(errstr, errlen, p,
                   "must be whole days relative to the due date, e.g. \"-3d\", \"+7d\"");
    if (get_str(o, "name", st->name, sizeof st->name, off, path, errstr, errlen) < 0)
        return -1;
    char name[16]; /* the longest action or channel name, as before */
    if (get_str(o, "action", name, sizeof name, "reminder", path, errstr, errlen) < 0)
        return -1;
    fmt(p, sizeof p, "%s.action", path);
    /* a step's action is the kind of its command; payment.thanks is not a step */
    st->kind = ct_kind_parse(name, strlen(name));
    if (st->kind == CT_KIND_NONE || st->kind == CT_KIND_PAYMENT_THANKS)
        return err(errstr, errlen, p, "must be reminder, call_task, letter or escalation");
    const char *defch = st->kind == CT_KIND_CALL_TASK ? "call_task"
                        : st->kind == CT_KIND_LETTER  ? "letter"
                                                      : "email";
    if (get_str(o, "channel", name, sizeof name, defch, path, errstr, errlen) < 0)
        return -1;
    fmt(p, sizeof p, "%s.channel", path);
    st->channel = channel_of(name);
    if (st->channel == CT_CH_NONE)
        return err(errstr, errlen, p, "must be email, sms, webhook, call_task or letter");
    json_t *chs = json_object_get(o, "channels");
    st->nchannels = 0;
    if (chs) {
        size_t i;
        json_t *ch;
        fmt(p, sizeof p, "%s.channels", path);
        if (json_object_get(o, "channel"))
            return err(errstr, errlen, p, "give channel or channels, not both");
        if (!json_is_array(chs) || json_array_size(chs) == 0 || json_array_size(chs) > CT_CH_COUNT)
            return err(errstr, errlen, p, "must be a non-empty array of distinct channels");
        json_array_foreach(chs, i, ch)
        {
            const char *n = json_string_value(ch);
            ct_channel cc = n ? channel_of(n) : CT_CH_NONE;
            for (int k = 0; k < st->nchannels; k++)
                if (st->channels[k] == cc)
                    cc = CT_CH_NONE;
            if (cc == CT_CH_NONE)
                return err(errstr, errlen, p, "must be a non-empty array of distinct channels");
            st->channels[st->nchannels++] = cc;
        }
        st->channel = st->channels[0];
    }
    if (get_str(o, "template", st->template_id, sizeof st->template_id, NULL, path, errstr,
                errlen) < 0)
        return -1;
    if (get_send_time(o, path, pol->send_hour, pol->send_minute, &st->send_hour, &st->send_minute,
                      errstr, errlen) < 0)
        return -1;
    v = json_object_get(o, "valid_for");
    st->valid_for_ms = 86400000;
    if (v) {
        fmt(p, sizeof p, "%s.valid_for", path);
        if (!json_is_string(v) || cm_duration_parse(json_string_value(v), &st->valid_for_ms) < 0 ||
            st->valid_for_ms < 0)
            return err(errstr, errlen, p, "must be a duration such as \"1d\" or \"12h\"");
    }
    long long lv;
    if (get_int(o, "level", &lv, 1, 1, 9, path, errstr, errlen) < 0)
        return -1;
    st->level = (int)lv;
    st->to = CT_TO_NONE;
    json_t *to = json_object_get(o, "to");
    if (to) {
        fmt(p, sizeof p, "%s.to", path);
        const char *ts = json_string_value(to);
        st->to = ts ? ct_escalation_to_parse(ts, strlen(ts)) : CT_TO_NONE;
        if (st->to == CT_TO_NONE)
            return err(errstr, errlen, p, "must be \"agency\" or \"legal\"");
        if (st->kind != CT_KIND_ESCALATION)
            return err(errstr, errlen, p, "only an escalation step hands a case over");
    }
    json_t *c = json_object_get(o, "conditions");
    st->min_outstanding_minor = 0;
    if (c) {
        fmt(p, sizeof p, "%s.conditions", path);
        if (!json_is_object(c))
            return err(errstr, errlen, p, "must be an object");
        long long mo;
        if (get_int(c, "min_outstanding_minor", &mo, 0, 0, 1000000000000000LL, p, errstr, errlen) <
            0)
            return -1;
        st->min_outstanding_minor = mo;
    }
    fmt(p, sizeof p, "%s.fee", path);
    if (sch_fee_parse(json_object_get(o, "fee"), p, &st->fee, errstr, errlen) < 0)
        return -1;
    fmt(p, sizeof p, "%s.offer", path);
    return sch_offer_parse(json_object_get(o, "offer"), p, &st->offer, errstr, errlen);
}

static int parse_ladders(json_t *doc, sch_policy *pol, char *errstr, size_t errlen)
{
    json_t *ls = json_object_get(doc, "ladders");
    const char *name;
    json_t *arr;
    char p[256];
    if (!json_is_object(ls) || json_object_size(ls) == 0)
        return err(errstr, errlen, "ladders", "must be a non-empty object of name -> [steps]");
    pol->ladders = calloc(json_object_size(ls), sizeof *pol->ladders);
    if (!pol->ladders)
        return err(errstr, errlen, "ladders", "out of memory");
    json_object_foreach(ls, name, arr)
    {
        sch_ladder *l = &pol->ladders[pol->nladders++];
        fmt(p, sizeof p, "ladders.%s", name);
        if (strlen(name) >= sizeof l->name)
            return err(errstr, errlen, p, "name too long");
        fmt(l->name, sizeof l->name, "%s", name);
        if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 64)
            return err(errstr, errlen, p, "must be an array of 1..64 steps");
        l->steps = calloc(json_array_size(arr), sizeof *l->steps);
        if (!l->steps)
            return err(errstr, errlen, p, "out of memory");
        size_t i;
        json_t *so;
        json_array_foreach(arr, i, so)
        {
            char sp[300];
            fmt(sp, sizeof sp, "%s[%zu]", p, i);
            if (parse_step(so, sp, pol, &l->steps[i], errstr, errlen) < 0)
                return -1;
            if (i > 0 && l->steps[i].offset_days < l->steps[i - 1].offset_days)
                return err(errstr, errlen, sp, "steps must be in order of offset");
            l->nsteps++;
        }
    }
    return 0;
}

static int find_ladder(const sch_policy *pol, const char *name)
{
    for (int i = 0; i < pol->nladders; i++)
        if (strcmp(pol->ladders[i].name, name) == 0)
            return i;
    return -1;
}

static int parse_segment(json_t *o, const char *path, sch_segment *seg, char *errstr, size_t errlen)
{
    char p[256];
    const char *key;
    json_t *v;
    static const char *const known[] = {"tags_any",
                                        "countries",
                                        "currencies",
                                        "min_amount_minor",
                                        "max_amount_minor",
                                        "regions",
                                        "kinds",
                                        "new_debtor",
                                        "min_broken_promises",
                                        "min_late_share",
                                        "min_avg_days_late",
                                        "risk_bands",
                                        "min_exposure_minor",
                                        "max_exposure_minor",
                                        "comment",
                                        NULL};
    seg->new_debtor = -1;
    if (!o)
        return 0;
    if (!json_is_object(o))
        return err(errstr, errlen, path, "must be an object");
    json_object_foreach(o, key, v)
    {
        fmt(p, sizeof p, "%s.%s", path, key);
        if (!in_list(key, known))
            return err(errstr, errlen, p, "unknown key");
        if (strcmp(key, "tags_any") == 0 || strcmp(key, "countries") == 0 ||
            strcmp(key, "currencies") == 0) {
            if (check_str_array(v, p, errstr, errlen) < 0)
                return -1;
            if (key[0] == 't')
                seg->tags_any = v;
            else if (key[1] == 'o')
                seg->countries = v;
            else
                seg->currencies = v;
        } else if (strcmp(key, "regions") == 0) {
            if (check_str_array(v, p, errstr, errlen) < 0)
                return -1;
            seg->regions = v;
        } else if (strcmp(key, "kinds") == 0) {
            size_t i;
            json_t *k;
            if (!json_is_array(v) || json_array_size(v) == 0)
                return err(errstr, errlen, p,
                           "must be a non-empty array of \"business\", \"consumer\"");
            json_array_foreach(v, i, k)
            {
                const char *ks = json_string_value(k);
                if (ks && strcmp(ks, "business") == 0)
                    seg->kinds |= 1;
                else if (ks && strcmp(ks, "consumer") == 0)
                    seg->kinds |= 2;
                else
                    return err(errstr, errlen, p,
                               "must be a non-empty array of \"business\", \"consumer\"");
            }
        } else if (strcmp(key, "min_exposure_minor") == 0 ||
                   strcmp(key, "max_exposure_minor") == 0) {
            if (sch_cur_map_parse(o, key, key[1] == 'i' ? &seg->min_exposure : &seg->max_exposure,
                                  path, errstr, errlen) < 0)
                return -1;
        } else if (strcmp(key, "risk_bands") == 0) {
            size_t i;
            json_t *k;
            static const char rb[] =
                "must be a non-empty array of \"low\", \"medium\", \"high\", \"severe\"";
            if (!json_is_array(v) || json_array_size(v) == 0)
                return err(errstr, errlen, p, rb);
            json_array_foreach(v, i, k)
            {
                int b = json_is_string(k) ? cm_risk_band_parse(json_string_value(k)) : -1;
                if (b < 0)
                    return err(errstr, errlen, p, rb);
                seg->risk_bands |= 1 << b;
            }
        } else if (strcmp(key, "new_debtor") == 0) {
            if (!json_is_boolean(v))
                return err(errstr, errlen, p, "must be true or false");
            seg->new_debtor = json_is_true(v);
        } else if (strcmp(key, "min_broken_promises") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000)
                return err(errstr, errlen, p, "must be an integer 0..1000");
            seg->min_broken = (int)json_integer_value(v);
        } else if (strcmp(key, "min_late_share") == 0) {
            if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
                return err(errstr, errlen, p, "must be a number 0..1 (a share: 0.5 is half)");
            seg->min_late_share = json_number_value(v);
        } else if (strcmp(key, "min_avg_days_late") == 0) {
            if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 10000)
                return err(errstr, errlen, p, "must be a number of days 0..10000");
            seg->min_avg_days_late = json_number_value(v);
        } else if (strcmp(key, "min_amount_minor") == 0 || strcmp(key, "max_amount_minor") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return err(errstr, errlen, p, "must be a non-negative integer");
            if (key[1] == 'i') {
                seg->has_min = 1;
                seg->min_amount_minor = json_integer_value(v);
            } else {
                seg->has_max = 1;
                seg->max_amount_minor = json_integer_value(v);
            }
        }
    }
    return 0;
}

static int parse_strategies(json_t *doc, sch_policy *pol, char *errstr, size_t errlen)
{
    json_t *ss = json_object_get(doc, "strategies");
    char p[256], vp[300];
    if (!json_is_array(ss) || json_array_size(ss) == 0)
        return err(errstr, errlen, "strategies", "must be a non-empty array");
    pol->strategies = calloc(json_array_size(ss), sizeof *pol->strategies);
    if (!pol->strategies)
        return err(errstr, errlen, "strategies", "out of memory");
    size_t i, j;
    json_t *so, *vo;
    json_array_foreach(ss, i, so)
    {
        sch_strategy *s = &pol->strategies[pol->nstrategies++];
        fmt(p, sizeof p, "strategies[%zu]", i);
        if (!json_is_object(so))
            return err(errstr, errlen, p, "must be an object");
        const char *key;
        json_t *v;
        static const char *const known[] = {"name",    "segment",  "variants", "ladder",
                                            "comment", "reassess", NULL};
        json_object_foreach(so, key, v)
        {
            if (!in_list(key, known)) {
                fmt(vp, sizeof vp, "%s.%s", p, key);
                return err(errstr, errlen, vp, "unknown key");
            }
        }
        if (get_str(so, "name", s->name, sizeof s->name, NULL, p, errstr, errlen) < 0)
            return -1;
        for (int k = 0; k + 1 < pol->nstrategies; k++)
            if (strcmp(pol->strategies[k].name, s->name) == 0)
                return err(errstr, errlen, p, "duplicate strategy name");
        fmt(vp, sizeof vp, "%s.segment", p);
        if (parse_segment(json_object_get(so, "segment"), vp, &s->seg, errstr, errlen) < 0)
            return -1;
        json_t *sj = json_deep_copy(json_object_get(so, "segment"));
        if (sj)
            json_object_del(sj, "comment");
        s->segment_text = sj ? json_dumps(sj, JSON_COMPACT | JSON_ENSURE_ASCII) : strdup("{}");
        json_decref(sj);
        if (!s->segment_text)
            return err(errstr, errlen, vp, "out of memory");
        if (strlen(s->segment_text) > CT_SEGMENT_MAX)
            return err(errstr, errlen, vp, "is longer than 1000 bytes as compact JSON");
        json_t *ra = json_object_get(so, "reassess");
        if (ra && !json_is_boolean(ra)) {
            fmt(vp, sizeof vp, "%s.reassess", p);
            return err(errstr, errlen, vp, "must be true or false");
        }
        s->reassess = json_is_true(ra);
        json_t *vs = json_object_get(so, "variants");
        json_t *single = json_object_get(so, "ladder");
        if (vs && single)
            return err(errstr, errlen, p, "give either \"ladder\" or \"variants\", not both");
        if (single) {
            char ln[SCH_NAME_MAX];
            if (get_str(so, "ladder", ln, sizeof ln, NULL, p, errstr, errlen) < 0)
                return -1;
            s->variants = calloc(1, sizeof *s->variants);
            if (!s->variants)
                return err(errstr, errlen, p, "out of memory");
            fmt(s->variants[0].name, sizeof s->variants[0].name, "A");
            s->variants[0].weight = 1;
            s->variants[0].ladder = find_ladder(pol, ln);
            fmt(vp, sizeof vp, "%s.ladder", p);
            if (s->variants[0].ladder < 0)
                return err(errstr, errlen, vp, "names no ladder");
            s->nvariants = 1;
            s->total_weight = 1;
            continue;
        }
        fmt(vp, sizeof vp, "%s.variants", p);
        if (!json_is_array(vs) || json_array_size(vs) == 0 || json_array_size(vs) > 16)
            return err(errstr, errlen, vp,
                       "must be an array of 1..16 variants (or give \"ladder\")");
        s->variants = calloc(json_array_size(vs), sizeof *s->variants);
        if (!s->variants)
            return err(errstr, errlen, vp, "out of memory");
        json_array_foreach(vs, j, vo)
        {
            sch_variant *va = &s->variants[s->nvariants++];
            char ln[SCH_NAME_MAX];
            long long w;
            fmt(vp, sizeof vp, "%s.variants[%zu]", p, j);
            if (!json_is_object(vo))
                return err(errstr, errlen, vp, "must be an object");
            if (get_str(vo, "name", va->name, sizeof va->name, NULL, vp, errstr, errlen) < 0)
                return -1;
            if (get_int(vo, "weight", &w, 1, 0, 10000, vp, errstr, errlen) < 0)
                return -1;
            va->weight = (int)w;
            s->total_weight += va->weight;
            if (get_str(vo, "ladder", ln, sizeof ln, NULL, vp, errstr, errlen) < 0)
                return -1;
            va->ladder = find_ladder(pol, ln);
            if (va->ladder < 0) {
                char lp[320];
                fmt(lp, sizeof lp, "%s.ladder", vp);
                return err(errstr, errlen, lp, "names no ladder");
            }
        }
        if (s->total_weight <= 0)
            return err(errstr, errlen, vp, "weights must not all be 0");
    }
    return 0;
}

/* ---- contact_rules (contact.h) ---- */

static const char *const wday_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};

static int cmp_day(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* "YYYY-MM-DD" -> days since 1970-01-01; -1 when not a real date. */
static int parse_date(const char *s, int32_t *day)
{
    char b[32];
    int64_t ms;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    fmt(b, sizeof b, "%sT00:00:00Z", s);
    if (cm_time_parse_rfc3339(b, &ms) < 0)
        return -1;
    *day = (int32_t)(ms / 86400000LL);
    return 0;
}

/* The keys window, weekdays, holidays of o into r (each one given replaces
 * what r holds). */
static int parse_clock(json_t *o, const char *path, sch_clock_rules *r, char *errstr, size_t errlen)
{
    char p[320];
    json_t *w = json_object_get(o, "window");
    if (w) {
        int sh, sm, eh, em;
        json_t *st = json_object_get(w, "start"), *en = json_object_get(w, "end");
        const char *es = json_string_value(en);
        fmt(p, sizeof p, "%s.window", path);
        if (!json_is_object(w) || json_object_size(w) != 2 || !json_is_string(st) || !es ||
            parse_hhmm(json_string_value(st), &sh, &sm) < 0 ||
            (strcmp(es, "24:00") != 0 && parse_hhmm(es, &eh, &em) < 0))
            return err(errstr, errlen, p,
                       "must be {\"start\": \"HH:MM\", \"end\": \"HH:MM\"} (end may be 24:00)");
        if (strcmp(es, "24:00") == 0)
            eh = 24, em = 0;
        r->start_min = sh * 60 + sm;
        r->end_min = eh * 60 + em;
        if (r->start_min >= r->end_min)
            return err(errstr, errlen, p, "start must be before end (the same local day)");
    }
    json_t *wd = json_object_get(o, "weekdays");
    if (wd) {
        size_t i;
        json_t *v;
        fmt(p, sizeof p, "%s.weekdays", path);
        if (!json_is_array(wd) || json_array_size(wd) == 0)
            return err(errstr, errlen, p, "must be a non-empty array of mon..sun");
        r->weekdays = 0;
        json_array_foreach(wd, i, v)
        {
            int k = 0;
            const char *n = json_string_value(v);
            while (wday_names[k] && (!n || strcmp(n, wday_names[k]) != 0))
                k++;
            if (!wday_names[k] || (r->weekdays & (1u << k)))
                return err(errstr, errlen, p, "must list distinct days among mon..sun");
            r->weekdays |= 1u << k;
        }
    }
    json_t *ac = json_object_get(o, "after_conversation_days");
    if (ac) {
        fmt(p, sizeof p, "%s.after_conversation_days", path);
        if (!json_is_integer(ac) || json_integer_value(ac) < 0 || json_integer_value(ac) > 90)
            return err(errstr, errlen, p, "must be an integer 0..90");
        r->after_conversation_days = (int)json_integer_value(ac);
    }
    json_t *cs = json_object_get(o, "caps");
    if (cs) {
        size_t i;
        json_t *v;
        fmt(p, sizeof p, "%s.caps", path);
        if (!json_is_array(cs) || json_array_size(cs) > SCH_CAPS_MAX)
            return err(errstr, errlen, p, "must be an array of at most 8 caps");
        r->ncaps = 0;
        json_array_foreach(cs, i, v)
        {
            char cp[360];
            sch_cap *c = &r->caps[r->ncaps++];
            json_t *chs = json_object_get(v, "channels"), *ch;
            json_t *mx = json_object_get(v, "max"), *dy = json_object_get(v, "days");
            size_t k;
            fmt(cp, sizeof cp, "%s[%zu]", p, i);
            if (!json_is_object(v) || json_object_size(v) != 3 || !json_is_array(chs) ||
                json_array_size(chs) == 0 || !json_is_integer(mx) || !json_is_integer(dy))
                return err(errstr, errlen, cp,
                           "must be {\"channels\": [...], \"max\": N, \"days\": N}");
            if (json_integer_value(mx) < 1 || json_integer_value(mx) > 1000)
                return err(errstr, errlen, cp, "max must be 1..1000");
            if (json_integer_value(dy) < 1 || json_integer_value(dy) > SCH_CAP_DAYS_MAX)
                return err(errstr, errlen, cp, "days must be 1..31");
            c->max = (int)json_integer_value(mx);
            c->days = (int)json_integer_value(dy);
            c->channels = 0;
            size_t used = (size_t)snprintf(c->name, sizeof c->name, "cap:");
            json_array_foreach(chs, k, ch)
            {
                const char *n = json_string_value(ch);
                ct_channel cc = n ? channel_of(n) : CT_CH_NONE;
                if (cc == CT_CH_NONE || (c->channels & (1u << cc)))
                    return err(errstr, errlen, cp, "channels must be distinct channels");
                c->channels |= 1u << cc;
                if (used < sizeof c->name)
                    used += (size_t)snprintf(c->name + used, sizeof c->name - used, "%s%s",
                                             k ? "," : "", n);
            }
            if (used < sizeof c->name)
                snprintf(c->name + used, sizeof c->name - used, ":%d/%dd", c->max, c->days);
        }
    }
    json_t *hs = json_object_get(o, "holidays");
    if (hs) {
        size_t i;
        json_t *v;
        fmt(p, sizeof p, "%s.holidays", path);
        if (!json_is_array(hs) || json_array_size(hs) > 1000)
            return err(errstr, errlen, p, "must be an array of at most 1000 dates YYYY-MM-DD");
        int32_t *days = calloc(json_array_size(hs) + 1, sizeof *days);
        if (!days)
            return err(errstr, errlen, p, "out of memory");
        json_array_foreach(hs, i, v)
        {
            if (!json_is_string(v) || parse_date(json_string_value(v), &days[i]) < 0) {
                free(days);
                return err(errstr, errlen, p, "must be an array of dates YYYY-MM-DD");
            }
        }
        qsort(days, json_array_size(hs), sizeof *days, cmp_day);
        r->holidays = days; /* the caller drops what it replaced */
        r->nholidays = (int)json_array_size(hs);
    }
    return 0;
}

/* Keys of contact_rules and of a jurisdiction entry: implemented ones,
 * then those reserved for the rest of the contact-rules issue (accepted,
 * not enforced yet; docs/policy.md). */
static const char *const cr_keys[] = {"window",        "weekdays", "holidays",
                                      "jurisdictions", "caps",     "after_conversation_days",
                                      "on_cease",      NULL};
static const char *const jur_keys[] = {
    "window", "weekdays", "holidays", "caps", "after_conversation_days", NULL};

static int jur_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n != 2 && (n < 4 || n > 6 || k[2] != '-'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (i != 2 && !((k[i] >= 'A' && k[i] <= 'Z') || (i > 2 && k[i] >= '0' && k[i] <= '9')))
            return 0;
    return 1;
}

/* A one-off notice {"template": "...", "channel": "..."} (on_cease,
 * on_broken) at path: *on 1 and channel and template filled when o is
 * given, *on 0 when it is NULL. */
static int parse_notice(json_t *o, const char *path, int *on, ct_channel *channel, char *tpl,
                        size_t tpl_len, char *errstr, size_t errlen)
{
    *on = 0;
    if (!o)
        return 0;
    const char *ch = json_string_value(json_object_get(o, "channel"));
    const char *tp = json_string_value(json_object_get(o, "template"));
    if (!json_is_object(o) || json_object_size(o) != 2 || !ch || !tp || !tp[0] ||
        strlen(tp) >= tpl_len || channel_of(ch) == CT_CH_NONE)
        return err(errstr, errlen, path,
                   "must be {\"template\": \"...\", \"channel\": \"letter\"|\"email\"|...}");
    *on = 1;
    *channel = channel_of(ch);
    fmt(tpl, tpl_len, "%s", tp);
    return 0;
}

static int parse_contact_rules(json_t *doc, sch_policy *pol, char *errstr, size_t errlen)
{
    sch_contact_rules *cr = &pol->contact;
    json_t *o = json_object_get(doc, "contact_rules"), *v;
    const char *key;
    char p[320];
    memset(&cr->base, 0, sizeof cr->base);
    cr->base.end_min = 1440;
    cr->base.weekdays = SCH_ALL_WEEKDAYS;
    if (!o)
        return 0;
    if (!json_is_object(o))
        return err(errstr, errlen, "contact_rules", "must be an object");
    json_object_foreach(o, key, v)
    {
        if (!in_list(key, cr_keys)) {
            fmt(p, sizeof p, "contact_rules.%s", key);
            return err(errstr, errlen, p, "unknown key (see docs/policy.md)");
        }
    }
    cr->enabled = 1;
    if (parse_clock(o, "contact_rules", &cr->base, errstr, errlen) < 0)
        return -1;
    ct_channel cc;
    if (parse_notice(json_object_get(o, "on_cease"), "contact_rules.on_cease", &cr->on_cease, &cc,
                     cr->on_cease_template, sizeof cr->on_cease_template, errstr, errlen) < 0)
        return -1;
    cr->on_cease_channel = (int)cc;
    json_t *js = json_object_get(o, "jurisdictions");
    if (!js)
        return 0;
    if (!json_is_object(js) || json_object_size(js) > 500)
        return err(errstr, errlen, "contact_rules.jurisdictions",
                   "must be an object of at most 500 entries");
    cr->jur = calloc(json_object_size(js) + 1, sizeof *cr->jur);
    if (!cr->jur)
        return err(errstr, errlen, "contact_rules.jurisdictions", "out of memory");
    json_object_foreach(js, key, v)
    {
        fmt(p, sizeof p, "contact_rules.jurisdictions.%s", key);
        if (!jur_key_ok(key))
            return err(errstr, errlen, p,
                       "must be keyed by an ISO 3166-1 country (DE) or 3166-2 subdivision (US-MA)");
        if (!json_is_object(v))
            return err(errstr, errlen, p, "must be an object");
        const char *k2;
        json_t *v2;
        json_object_foreach(v, k2, v2)
        {
            if (!in_list(k2, jur_keys)) {
                char p2[400];
                fmt(p2, sizeof p2, "%s.%s", p, k2);
                return err(errstr, errlen, p2, "unknown key (see docs/policy.md)");
            }
        }
        sch_jurisdiction *j = &cr->jur[cr->njur++];
        fmt(j->key, sizeof j->key, "%s", key);
        j->rules = cr->base; /* shares the base holidays until replaced */
        if (parse_clock(v, p, &j->rules, errstr, errlen) < 0)
            return -1;
    }
    return 0;
}

/* The top-level section name of doc, an object of only keys: 1 with *out
 * set, 0 when absent, -1 with "<name>: must be an object" or
 * "<name>.<key>: unknown key" in errstr. */
static int get_section(json_t *doc, const char *name, const char *const *keys, json_t **out,
                       char *errstr, size_t errlen)
{
    json_t *o = json_object_get(doc, name), *v;
    const char *key;
    *out = o;
    if (!o)
        return 0;
    if (!json_is_object(o))
        return err(errstr, errlen, name, "must be an object");
    json_object_foreach(o, key, v)
    {
        if (!in_list(key, keys)) {
            char p[320];
            fmt(p, sizeof p, "%s.%s", name, key);
            return err(errstr, errlen, p, "unknown key (see docs/policy.md)");
        }
    }
    return 1;
}

/* promises: {grace_days, on_broken}. on_broken: {template, channel}, the
 * one notice sent when a promise breaks. */
static int parse_promises(json_t *doc, sch_policy *pol, char *errstr, size_t errlen)
{
    json_t *o;
    static const char *const keys[] = {"grace_days", "on_broken", "comment", NULL};
    int rc = get_section(doc, "promises", keys, &o, errstr, errlen);
    if (rc <= 0)
        return rc;
    long long g;
    if (get_int(o, "grace_days", &g, 2, 0, 60, "promises", errstr, errlen) < 0)
        return -1;
    if (parse_notice(json_object_get(o, "on_broken"), "promises.on_broken", &pol->promise_on_broken,
                     &pol->promise_on_broken_channel, pol->promise_on_broken_template,
                     sizeof pol->promise_on_broken_template, errstr, errlen) < 0)
        return -1;
    pol->promises_enabled = 1;
    pol->promise_grace_days = (int)g;
    return 0;
}

/* grouping: {one_message_per_debtor: bool} (docs/policy.md "One message
 * per debtor"). */
static int parse_grouping(json_t *doc, sch_policy *pol, char *errstr, size_t errlen)
{
    json_t *o = json_object_get(doc, "grouping"), *v;
    const char *key;
    if (!o)
        return 0;
    if (!json_is_object(o))
        return err(errstr, errlen, "grouping", "must be an object");
    json_object_foreach(o, key, v)
    {
        char p[320];
        fmt(p, sizeof p, "grouping.%s", key);
        if (!strcmp(key, "comment"))
            continue;
        if (strcmp(key, "one_message_per_debtor") != 0)
            return err(errstr, errlen, p, "unknown key (see docs/policy.md)");
        if (!json_is_boolean(v))
            return err(errstr, errlen, p, "must be true or false");
        pol->grouping = json_is_true(v);
    }
    return 0;
}

/* links: {valid_days: 1..365} (issue 17, docs/policy.md "Signed links"):
 * the lifetime of the signed links of every command; absent, commands
 * carry none and the notifier's tenant setting applies. A links object
 * without valid_days is refused (it would say nothing). */
static int parse_links(json_t *doc, sch_policy *pol, char *errstr, size_t errlen)
{
    json_t *o;
    static const char *const keys[] = {"valid_days", "comment", NULL};
    long long days;
    int rc = get_section(doc, "links", keys, &o, errstr, errlen);
    if (rc <= 0)
        return rc;
    if (!json_object_get(o, "valid_days"))
        return err(errstr, errlen, "links.valid_days", "is required");
    if (get_int(o, "valid_days", &days, 0, 1, CT_LINK_VALID_DAYS_MAX, "links", errstr, errlen) < 0)
        return -1;
    pol->link_valid_days = (int)days;
    return 0;
}

/* instalments: {ladder, grace_days, interest, max_active_per_debtor}
 * (after the ladders). The ladder reminds of each instalment: its steps
 * may not escalate, charge a fee or make an offer. */
static int parse_plans(json_t *doc, sch_policy *pol, char *errstr, size_t errlen)
{
    json_t *o = json_object_get(doc, "instalments"), *v;
    const char *key;
    static const char *const keys[] = {"ladder",  "grace_days", "interest", "max_active_per_debtor",
                                       "comment", NULL};
    char p[320], ln[SCH_NAME_MAX], how[16];
    long long g, m;
    if (!o)
        return 0;
    if (!json_is_object(o))
        return err(errstr, errlen, "instalments", "must be an object");
    int only_comment = 1;
    json_object_foreach(o, key, v)
    {
        if (!in_list(key, keys)) {
            fmt(p, sizeof p, "instalments.%s", key);
            return err(errstr, errlen, p, "unknown key (see docs/policy.md)");
        }
        only_comment &= !strcmp(key, "comment");
    }
    if (only_comment) /* the placeholder format 1 reserved ({"comment": ...}): off */
        return 0;
    if (get_str(o, "ladder", ln, sizeof ln, NULL, "instalments", errstr, errlen) < 0)
        return -1;
    int li = find_ladder(pol, ln);
    if (li < 0)
        return err(errstr, errlen, "instalments.ladder", "names no ladder of \"ladders\"");
    const sch_ladder *l = &pol->ladders[li];
    for (int i = 0; i < l->nsteps; i++) {
        const sch_step *st = &l->steps[i];
        fmt(p, sizeof p, "ladders.%s[%d]", ln, i);
        if (st->kind == CT_KIND_ESCALATION)
            return err(errstr, errlen, p, "an instalment reminder cannot escalate");
        if (st->fee.enabled || st->offer.kind != SCH_OFFER_NONE)
            return err(errstr, errlen, p, "an instalment reminder has no fee or offer");
    }
    if (get_int(o, "grace_days", &g, 3, 0, 60, "instalments", errstr, errlen) < 0 ||
        get_int(o, "max_active_per_debtor", &m, 1, 1, 1, "instalments", errstr, errlen) < 0 ||
        get_str(o, "interest", how, sizeof how, "freeze", "instalments", errstr, errlen) < 0)
        return -1;
    if (strcmp(how, "freeze") != 0 && strcmp(how, "continue") != 0)
        return err(errstr, errlen, "instalments.interest", "must be \"freeze\" or \"continue\"");
    pol->plans.enabled = 1;
    pol->plans.ladder = li;
    pol->plans.grace_days = (int)g;
    pol->plans.freeze = how[0] == 'f';
    pol->plans.max_active = (int)m;
    return 0;
}

/* escalation (escalate.c) and the steps that name a target of it */
static int parse_escalation(json_t *doc, sch_policy *pol, char *errstr, size_t errlen)
{
    char p[320];
    if (sch_esc_parse(doc, &pol->escalation, errstr, errlen) < 0)
        return -1;
    for (int li = 0; li < pol->nladders; li++)
        for (int i = 0; i < pol->ladders[li].nsteps; i++) {
            ct_escalation_to to = pol->ladders[li].steps[i].to;
            if (to != CT_TO_NONE && !pol->escalation.to[to].enabled) {
                fmt(p, sizeof p, "ladders.%s[%d].to", pol->ladders[li].name, i);
                return err(errstr, errlen, p, "names a target \"escalation\" does not define");
            }
        }
    return 0;
}

int sch_policy_parse(const char *text, sch_policy *out, char *errstr, size_t errlen)
{
    json_error_t je;
    const char *key;
    json_t *v;
    char p[256];
    memset(out, 0, sizeof *out);
    out->doc = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!out->doc) {
        fmt(errstr, errlen, "policy: invalid JSON at line %d column %d: %s", je.line, je.column,
            je.text);
        return -1;
    }
    json_t *doc = out->doc;
    if (!json_is_object(doc))
        goto fail_msg_obj;
    static const char *const known[] = {
        "version",     "defaults",   "payment_thanks", "ladders", "strategies", "contact_rules",
        "promises",    "fees",       "interest",       "risk",    "costs",      "grouping",
        "instalments", "escalation", "links",          NULL};
    json_object_foreach(doc, key, v)
    {
        if (!in_list(key, known) && !in_list(key, reserved_top)) {
            err(errstr, errlen, key, "unknown top-level key (see docs/policy.md)");
            goto fail;
        }
        if (in_list(key, reserved_top) && strcmp(key, "comment") != 0 && !json_is_object(v)) {
            err(errstr, errlen, key, "reserved section must be an object");
            goto fail;
        }
    }
    v = json_object_get(doc, "version");
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        err(errstr, errlen, "version", "must be 1");
        goto fail;
    }
    out->version = 1;
    json_t *d = json_object_get(doc, "defaults");
    if (d && !json_is_object(d)) {
        err(errstr, errlen, "defaults", "must be an object");
        goto fail;
    }
    if (!d)
        d = json_object(); /* temporary, freed below */
    else
        json_incref(d);
    int rc = get_str(d, "timezone", out->default_tz, sizeof out->default_tz, "UTC", "defaults",
                     errstr, errlen);
    if (rc == 0 && !cm_tz_valid(out->default_tz))
        rc = err(errstr, errlen, "defaults.timezone", "is not a known IANA time zone");
    if (rc == 0)
        rc = get_str(d, "locale", out->default_locale, sizeof out->default_locale, "en-GB",
                     "defaults", errstr, errlen);
    if (rc == 0)
        rc = get_send_time(d, "defaults", 9, 0, &out->send_hour, &out->send_minute, errstr, errlen);
    json_decref(d);
    if (rc < 0)
        goto fail;
    json_t *t = json_object_get(doc, "payment_thanks");
    out->thanks_enabled = 1;
    out->thanks_channel = CT_CH_EMAIL;
    fmt(out->thanks_template, sizeof out->thanks_template, "payment_thanks");
    if (t) {
        if (!json_is_object(t)) {
            err(errstr, errlen, "payment_thanks", "must be an object");
            goto fail;
        }
        json_t *en = json_object_get(t, "enabled");
        if (en && !json_is_boolean(en)) {
            err(errstr, errlen, "payment_thanks.enabled", "must be true or false");
            goto fail;
        }
        if (en)
            out->thanks_enabled = json_is_true(en);
        char ch[16];
        if (get_str(t, "channel", ch, sizeof ch, "email", "payment_thanks", errstr, errlen) < 0)
            goto fail;
        out->thanks_channel = channel_of(ch);
        if (out->thanks_channel == CT_CH_NONE) {
            err(errstr, errlen, "payment_thanks.channel", "must be email, sms, webhook or letter");
            goto fail;
        }
        if (get_str(t, "template", out->thanks_template, sizeof out->thanks_template,
                    "payment_thanks", "payment_thanks", errstr, errlen) < 0)
            goto fail;
    }
    if (parse_ladders(doc, out, errstr, errlen) < 0)
        goto fail;
    if (parse_strategies(doc, out, errstr, errlen) < 0)
        goto fail;
    if (parse_contact_rules(doc, out, errstr, errlen) < 0)
        goto fail;
    if (parse_grouping(doc, out, errstr, errlen) < 0)
        goto fail;
    if (parse_promises(doc, out, errstr, errlen) < 0)
        goto fail;
    if (parse_escalation(doc, out, errstr, errlen) < 0)
        goto fail;
    if (parse_plans(doc, out, errstr, errlen) < 0)
        goto fail;
    if (parse_links(doc, out, errstr, errlen) < 0)
        goto fail;
    json_t *costs = json_object_get(doc, "costs");
    if (costs && !json_is_object(costs)) { /* read by the reporter (ARREARS_REPORTER_COSTS) */
        err(errstr, errlen, "costs", "must be an object (docs/reports.md \"arms\")");
        goto fail;
    }
    out->risk_in_commands = json_object_get(doc, "risk") != NULL;
    if (cm_risk_parse(json_object_get(doc, "risk"), &out->risk, errstr, errlen) < 0 ||
        sch_fees_parse(json_object_get(doc, "fees"), &out->fees, errstr, errlen) < 0 ||
        sch_interest_parse(json_object_get(doc, "interest"), &out->interest, errstr, errlen) < 0)
        goto fail;
    out->contact.any_caps = out->contact.base.ncaps > 0;
    for (int i = 0; i < out->contact.njur; i++)
        out->contact.any_caps |= out->contact.jur[i].rules.ncaps > 0;
    return 0;
fail_msg_obj:
    fmt(p, sizeof p, "policy: the document must be a JSON object");
    fmt(errstr, errlen, "%s", p);
fail:
    sch_policy_free(out);
    return -1;
}

int sch_policy_load_file(const char *path, sch_policy *out, char *errstr, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (!f) {
        fmt(errstr, errlen, "cannot open %s", path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) < 0)
        goto cleanup;
    long n = ftell(f);
    if (n < 0 || n > (16 << 20)) {
        fmt(errstr, errlen, "%s is not a readable file under 16 MiB", path);
        goto cleanup;
    }
    rewind(f);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fmt(errstr, errlen, "cannot read %s", path);
        goto cleanup;
    }
    buf[n] = 0;
    rc = sch_policy_parse(buf, out, errstr, errlen);
cleanup:
    free(buf);
    fclose(f);
    return rc;
}

void sch_policy_free(sch_policy *p)
{
    for (int i = 0; i < p->nladders; i++)
        free(p->ladders[i].steps);
    free(p->ladders);
    for (int i = 0; i < p->nstrategies; i++) {
        free(p->strategies[i].variants);
        free(p->strategies[i].segment_text);
    }
    free(p->strategies);
    sch_contact_rules_free(&p->contact);
    sch_interest_free(&p->interest);
    json_decref(p->doc);
    memset(p, 0, sizeof *p);
}

static int arr_has(json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    if (!s)
        return 0;
    json_array_foreach(a, i, v)
    {
        if (strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

static int seg_match(const sch_segment *g, const sch_subject *s)
{
    if (g->countries && !arr_has(g->countries, s->country))
        return 0;
    if (g->currencies && !arr_has(g->currencies, s->currency))
        return 0;
    if (g->has_min && s->amount_minor < g->min_amount_minor)
        return 0;
    if (g->has_max && s->amount_minor > g->max_amount_minor)
        return 0;
    if (g->tags_any) {
        int any = 0;
        for (int i = 0; i < s->ntags && !any; i++)
            any = arr_has(g->tags_any, s->tags[i]);
        if (!any)
            return 0;
    }
    if (g->regions && !arr_has(g->regions, s->region))
        return 0;
    if (g->kinds && !(g->kinds & (s->consumer ? 2 : 1)))
        return 0;
    if (g->new_debtor >= 0 && g->new_debtor != !s->has_paid)
        return 0;
    if (s->broken_promises < g->min_broken)
        return 0;
    if (g->min_late_share > 0 && s->late_share < g->min_late_share)
        return 0;
    if (g->min_avg_days_late > 0 && s->avg_days_late < g->min_avg_days_late)
        return 0;
    if (g->risk_bands && !(g->risk_bands & (1 << s->risk_band)))
        return 0;
    /* min: some listed currency reaches its minimum; max: every listed one
     * stays within its maximum (a currency without a balance is 0) */
    int any = g->min_exposure.n == 0;
    for (int i = 0; i < g->min_exposure.n && !any; i++) {
        int64_t have = 0;
        sch_cur_get(&s->exposure, g->min_exposure.v[i].code, &have);
        any = have >= g->min_exposure.v[i].minor;
    }
    if (!any)
        return 0;
    for (int i = 0; i < g->max_exposure.n; i++) {
        int64_t have = 0;
        sch_cur_get(&s->exposure, g->max_exposure.v[i].code, &have);
        if (have > g->max_exposure.v[i].minor)
            return 0;
    }
    return 1;
}

int sch_policy_assign(const sch_policy *p, const sch_subject *s, int *strategy, int *variant)
{
    char key[512];
    for (int i = 0; i < p->nstrategies; i++) {
        const sch_strategy *st = &p->strategies[i];
        if (!seg_match(&st->seg, s))
            continue;
        fmt(key, sizeof key, "%s/%s/%s", s->tenant ? s->tenant : "",
            s->customer_id ? s->customer_id : "", st->name);
        uint64_t h = cm_fnv1a64(key, strlen(key)) % (uint64_t)st->total_weight;
        int v = 0;
        for (; v < st->nvariants; v++) {
            if (h < (uint64_t)st->variants[v].weight)
                break;
            h -= (uint64_t)st->variants[v].weight;
        }
        if (v >= st->nvariants)
            v = st->nvariants - 1;
        *strategy = i;
        *variant = v;
        return 0;
    }
    return -1;
}

const sch_ladder *sch_policy_ladder(const sch_policy *p, const char *strategy, const char *variant)
{
    if (p->nstrategies == 0)
        return NULL;
    const sch_strategy *st = &p->strategies[p->nstrategies - 1];
    for (int i = 0; i < p->nstrategies; i++)
        if (strategy && strcmp(p->strategies[i].name, strategy) == 0)
            st = &p->strategies[i];
    for (int v = 0; v < st->nvariants; v++)
        if (variant && strcmp(st->variants[v].name, variant) == 0)
            return &p->ladders[st->variants[v].ladder];
    return &p->ladders[st->variants[0].ladder];
}

void sch_policy_fallback(const sch_policy *p, const char **strategy, const char **variant)
{
    *strategy = *variant = "";
    if (p->nstrategies == 0)
        return;
    *strategy = p->strategies[p->nstrategies - 1].name;
    *variant = p->strategies[p->nstrategies - 1].variants[0].name;
}

int64_t sch_step_time(const sch_step *st, const cm_tz *tz, int32_t due_day)
{
    return cm_tz_local_to_utc(tz, due_day + st->offset_days, st->send_hour, st->send_minute);
}

int64_t sch_next_local(const sch_step *st, const cm_tz *tz, int64_t now)
{
    int32_t day;
    int minute;
    cm_tz_local(tz, now, &day, &minute);
    int64_t t = cm_tz_local_to_utc(tz, day, st->send_hour, st->send_minute);
    if (t < now)
        t = cm_tz_local_to_utc(tz, day + 1, st->send_hour, st->send_minute);
    return t;
}

int sch_next_step(const sch_ladder *l, const cm_tz *tz, int32_t due_day, int from, int64_t now,
                  int collapse, int *idx, int64_t *when)
{
    int last_past = -1;
    if (from < 0)
        from = 0;
    for (int i = from; i < l->nsteps; i++) {
        int64_t t = sch_step_time(&l->steps[i], tz, due_day);
        if (t >= now) {
            if (collapse && last_past >= 0)
                break;
            *idx = i;
            *when = t;
            return 0;
        }
        last_past = i;
    }
    if (collapse && last_past >= 0) {
        *idx = last_past;
        *when = sch_next_local(&l->steps[last_past], tz, now);
        /* the next step's own time may come earlier than the catch-up time */
        if (last_past + 1 < l->nsteps) {
            int64_t tn = sch_step_time(&l->steps[last_past + 1], tz, due_day);
            if (tn <= *when) {
                *idx = last_past + 1;
                *when = tn;
            }
        }
        return 0;
    }
    return -1;
}
