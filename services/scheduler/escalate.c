/* escalate.c -- the hand-off's policy, gate, case id, response log and
 * case file (escalate.h; docs/escalation.md). Pure: no state, no I/O. */
#include "escalate.h"

#include "clock.h"
#include "map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int pct(json_t *o, const char *key, const char *path, int *out, char *errstr, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return sch_policy_fail(errstr, errlen, "is required", "%s.%s", path, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100)
        return sch_policy_fail(errstr, errlen, "must be a whole percentage, 0..100", "%s.%s", path,
                               key);
    *out = (int)json_integer_value(v);
    return 0;
}

static int only_keys(json_t *o, const char *const *keys, const char *path, char *errstr,
                     size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        int ok = 0;
        for (const char *const *k = keys; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        if (!ok)
            return sch_policy_fail(errstr, errlen, "unknown key (see docs/policy.md)", "%s.%s",
                                   path, key);
    }
    return 0;
}

int sch_esc_parse(json_t *doc, sch_esc_policy *out, char *errstr, size_t errlen)
{
    static const char *const top[] = {"agency", "legal", "on_recall", "comment", NULL};
    static const char *const keys[] = {"min_outstanding_minor",
                                       "expected_recovery_pct",
                                       "commission_pct",
                                       "cost_fixed_minor",
                                       "comment",
                                       NULL};
    json_t *o = json_object_get(doc, "escalation");
    memset(out, 0, sizeof *out);
    out->resume_on_recall = 1;
    if (!o)
        return 0;
    if (!json_is_object(o))
        return sch_policy_fail(errstr, errlen, "must be an object", "escalation");
    if (only_keys(o, top, "escalation", errstr, errlen) < 0)
        return -1;
    for (int t = 0; t < CT_TO_COUNT; t++) {
        const char *name = ct_escalation_to_name((ct_escalation_to)t);
        json_t *s = json_object_get(o, name);
        char path[40];
        snprintf(path, sizeof path, "escalation.%s", name);
        if (!s)
            continue;
        if (!json_is_object(s))
            return sch_policy_fail(errstr, errlen, "must be an object", "%s", path);
        sch_esc_target *tg = &out->to[t];
        if (only_keys(s, keys, path, errstr, errlen) < 0)
            return -1;
        if (!json_object_get(s, "min_outstanding_minor"))
            return sch_policy_fail(errstr, errlen, "is required", "%s.min_outstanding_minor", path);
        if (sch_cur_map_parse(s, "min_outstanding_minor", &tg->min, path, errstr, errlen) < 0 ||
            sch_cur_map_parse(s, "cost_fixed_minor", &tg->fixed, path, errstr, errlen) < 0 ||
            pct(s, "expected_recovery_pct", path, &tg->recovery_pct, errstr, errlen) < 0 ||
            pct(s, "commission_pct", path, &tg->commission_pct, errstr, errlen) < 0)
            return -1;
        tg->enabled = 1;
        out->enabled = 1;
    }
    json_t *r = json_object_get(o, "on_recall");
    if (r) {
        const char *s = json_string_value(r);
        if (!s || (strcmp(s, "resume") != 0 && strcmp(s, "stop") != 0))
            return sch_policy_fail(errstr, errlen, "must be \"resume\" or \"stop\"",
                                   "escalation.on_recall");
        out->resume_on_recall = s[0] == 'r';
    }
    return 0;
}

const char *sch_esc_check(const sch_esc_target *t, const char *currency, int64_t outstanding,
                          int blocked, sch_esc_gate *g)
{
    memset(g, 0, sizeof *g);
    g->outstanding = outstanding;
    g->min = -1;
    int64_t m;
    if (sch_cur_get(&t->min, currency, &m))
        g->min = m;
    if (sch_cur_get(&t->fixed, currency, &m))
        g->fixed = m;
    /* exact: outstanding x recovery x (100 - commission) in 10^-4 minor
     * units, less the fixed cost, rounded once half-up (non-negative
     * numerators only; a negative one is not worth it either way) */
    __int128 num = (__int128)outstanding * t->recovery_pct * (100 - t->commission_pct) -
                   (__int128)g->fixed * 10000;
    g->expected_net = num > 0 ? (int64_t)((num + 5000) / 10000) : 0;
    if (blocked)
        return "escalation:disputed";
    if (g->min < 0 || outstanding < g->min)
        return "escalation:below_threshold";
    if (g->expected_net < 1)
        return "escalation:not_worth_it";
    return NULL;
}

void sch_esc_case_id(char out[22], const char *tenant, const char *customer, const char *command_id)
{
    size_t a = strlen(tenant), b = strlen(customer), c = strlen(command_id);
    char *buf = malloc(a + b + c + 2);
    uint64_t h = 0;
    if (buf) {
        memcpy(buf, tenant, a + 1);
        memcpy(buf + a + 1, customer, b + 1);
        memcpy(buf + a + b + 2, command_id, c);
        h = cm_fnv1a64(buf, a + b + c + 2);
        free(buf);
    }
    snprintf(out, 22, "case-%016llx", (unsigned long long)h);
}

/* ---- the response log ---- */

static size_t entries(const char *s, const char **second)
{
    size_t n = 0;
    *second = NULL;
    for (const char *p = s; p && *p; p++)
        if (*p == 0x1d && ++n == 1)
            *second = p + 1;
    return n;
}

static void clean(char *dst, size_t len, const char *s)
{
    snprintf(dst, len, "%s", s ? s : "");
    for (char *p = dst; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
}

int sch_esc_log_response(char **log, ct_type type, int64_t at, const char *id, const char *detail)
{
    char i[CT_DERIVED_ID_MAX + 1], d[240];
    clean(i, sizeof i, id);
    clean(d, sizeof d, detail);
    const char *second;
    const char *old = *log ? *log : "";
    if (entries(old, &second) >= SCH_RESPONSES_MAX && second)
        old = second;
    size_t n = strlen(old) + strlen(i) + strlen(d) + 64;
    char *out = malloc(n);
    if (!out)
        return -1;
    snprintf(out, n, "%s%s\x1e%lld\x1e%s\x1e%s\x1d", old, ct_type_name(type), (long long)at, i, d);
    free(*log);
    *log = out;
    return 0;
}

/* ---- the case file ---- */

static json_t *day(int32_t d)
{
    char b[16];
    cm_date_format(d, b, sizeof b);
    return json_string(b);
}

static json_t *instant(int64_t ms)
{
    char b[40];
    cm_time_format_rfc3339(ms, b, sizeof b);
    return json_string(b);
}

static json_t *responses(const char *log)
{
    json_t *a = json_array();
    for (const char *p = log; a && p && *p;) {
        const char *end = strchr(p, 0x1d);
        if (!end)
            break;
        const char *f[4] = {p, NULL, NULL, NULL};
        size_t len[4] = {0, 0, 0, 0};
        int n = 1;
        for (const char *q = p; q < end; q++)
            if (*q == 0x1e && n < 4)
                f[n++] = q + 1;
        if (n == 4) {
            for (int k = 0; k < 4; k++)
                len[k] = (size_t)((k < 3 ? f[k + 1] - 1 : end) - f[k]);
            json_t *r = json_object();
            char at[24];
            snprintf(at, sizeof at, "%.*s", (int)(len[1] < 23 ? len[1] : 23), f[1]);
            json_object_set_new(r, "type", json_stringn(f[0], len[0]));
            json_object_set_new(r, "at", instant(strtoll(at, NULL, 10)));
            json_object_set_new(r, "id", json_stringn(f[2], len[2]));
            if (len[3])
                json_object_set_new(r, "detail", json_stringn(f[3], len[3]));
            json_array_append_new(a, r);
        }
        p = end + 1;
    }
    return a;
}

json_t *sch_esc_case_file(const sch_esc_case *k)
{
    json_t *o = json_object(), *rule = json_object(), *gate = json_object(), *invs = json_array(),
           *contacts = json_array(), *debtor = NULL;
    if (!o || !rule || !gate || !invs || !contacts)
        goto fail;
    json_object_set_new(o, "v", json_integer(1));
    json_object_set_new(o, "case_id", json_string(k->case_id));
    json_object_set_new(o, "tenant", json_string(k->tenant));
    json_object_set_new(o, "customer_id", json_string(k->customer_id));
    json_object_set_new(o, "created_at", instant(k->created_at));
    json_object_set_new(o, "to", json_string(ct_escalation_to_name(k->to)));
    json_object_set_new(o, "currency", json_string(k->currency));
    json_object_set_new(rule, "strategy", json_string(k->strategy));
    json_object_set_new(rule, "variant", json_string(k->variant));
    json_object_set_new(rule, "step", json_integer(k->step));
    json_object_set_new(rule, "step_name", json_string(k->step_name));
    json_object_set_new(rule, "command_id", json_string(k->command_id));
    json_object_set_new(o, "rule", rule);
    rule = NULL; /* now owned by o */
    json_object_set_new(gate, "outstanding_minor", json_integer(k->gate.outstanding));
    json_object_set_new(gate, "min_outstanding_minor", json_integer(k->gate.min));
    json_object_set_new(gate, "expected_recovery_pct", json_integer(k->target->recovery_pct));
    json_object_set_new(gate, "commission_pct", json_integer(k->target->commission_pct));
    json_object_set_new(gate, "cost_fixed_minor", json_integer(k->gate.fixed));
    json_object_set_new(gate, "expected_net_minor", json_integer(k->gate.expected_net));
    json_object_set_new(o, "gate", gate);
    gate = NULL;
    debtor = k->debtor_json ? json_loads(k->debtor_json, 0, NULL) : NULL;
    if (!debtor) {
        debtor = json_object();
        json_object_set_new(debtor, "customer_id", json_string(k->customer_id));
    }
    json_object_set_new(o, "debtor", debtor);
    if (k->risk)
        json_object_set(o, "risk", (json_t *)k->risk);
    for (size_t i = 0; i < k->ninvoices; i++) {
        const sch_esc_invoice *v = &k->invoices[i];
        json_t *j = json_object();
        json_object_set_new(j, "invoice_id", json_string(v->invoice_id));
        if (v->number && v->number[0])
            json_object_set_new(j, "number", json_string(v->number));
        json_object_set_new(j, "issued_on", day(v->issued));
        json_object_set_new(j, "due_on", day(v->due));
        json_object_set_new(j, "days_overdue", json_integer(v->days_overdue));
        json_object_set_new(j, "amount_minor", json_integer(v->amount));
        json_object_set_new(j, "paid_minor", json_integer(v->paid));
        json_object_set_new(j, "credited_minor", json_integer(v->credited));
        json_object_set_new(j, "principal_minor", json_integer(v->a.principal));
        json_object_set_new(j, "fees_minor", json_integer(v->a.fees));
        json_object_set_new(j, "interest_minor", json_integer(v->a.interest));
        json_object_set_new(j, "compensation_minor", json_integer(v->a.compensation));
        json_object_set_new(j, "total_minor", json_integer(sch_amounts_total(&v->a)));
        json_array_append_new(invs, j);
    }
    json_object_set_new(o, "invoices", invs);
    invs = NULL;
    for (size_t i = 0; i < k->ncontacts; i++) {
        const sch_esc_contact *c = &k->contacts[i];
        json_t *j = json_object();
        json_object_set_new(j, "command_id", json_string(c->command_id));
        json_object_set_new(j, "at", instant(c->at));
        json_object_set_new(j, "invoice_id", json_string(c->invoice_id));
        json_object_set_new(j, "step", json_integer(c->step));
        json_object_set_new(j, "step_name", json_string(c->step_name));
        json_object_set_new(j, "kind", json_string(ct_kind_name(c->kind)));
        json_object_set_new(j, "channel", json_string(ct_channel_name(c->channel)));
        json_object_set_new(j, "template", json_string(c->template_id));
        json_object_set_new(j, "result", json_string(c->rule[0] ? "held" : "issued"));
        if (c->rule[0])
            json_object_set_new(j, "rule", json_string(c->rule));
        json_array_append_new(contacts, j);
    }
    json_object_set_new(o, "contacts", contacts);
    contacts = NULL;
    json_t *r = responses(k->responses);
    if (!r)
        goto fail;
    json_object_set_new(o, "responses", r);
    return o;
fail:
    json_decref(contacts);
    json_decref(invs);
    json_decref(gate);
    json_decref(rule);
    json_decref(o);
    return NULL;
}
