/* explain.c -- `arrears-scheduler explain TENANT INVOICE_ID` (and
 * `arrears-admin explain`, which runs it): an invoice's collection state and
 * history as the scheduler keeps them in Redis, for a collector answering
 * "why did this debtor get this message?".
 *
 * Design: the records are read with the store's own Redis backend and
 * decoded by the state's own decoders (store.h, state.h), never parsed
 * here; the history entries ("<step>.<attempt>@<ms>[!<rule>];", "t@..."
 * thanks, "c@..." a cease confirmation, "p@...!broken" a promise, "b@..."
 * its notice) are
 * printed one per line with the policy's name, channel and template of the
 * step, and the rule that held or moved it. Settings: ARREARS_REDIS_URL,
 * ARREARS_SCHEDULER_KEY_PREFIX (default "sch:"), ARREARS_POLICY (default
 * deploy/config/policy.json, for the steps' names). */
#include "explain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "policy.h"
#include "store.h"

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static void when(int64_t ms, char *out, size_t len)
{
    if (ms <= 0)
        snprintf(out, len, "-");
    else
        cm_time_format_rfc3339(ms, out, len);
}

static void day(int32_t d, char *out, size_t len)
{
    char t[40];
    cm_time_format_rfc3339((int64_t)d * 86400000LL, t, sizeof t);
    snprintf(out, len, "%.10s", t);
}

/* One history entry: "<what>@<ms>[!rule]". */
static void entry(const char *e, size_t n, const sch_ladder *l, const sch_policy *pol)
{
    char buf[256], t[40];
    snprintf(buf, sizeof buf, "%.*s", (int)n, e);
    char *at = strchr(buf, '@'), *bang = strchr(buf, '!');
    if (!at)
        return;
    *at = 0;
    if (bang)
        *bang = 0;
    when(strtoll(at + 1, NULL, 10), t, sizeof t);
    const char *rule = bang ? bang + 1 : NULL;
    if (strcmp(buf, "t") == 0) {
        printf("  %s  payment thanks (%s, %s): %s\n", t, ct_channel_name(pol->thanks_channel),
               pol->thanks_template,
               !rule                       ? "sent"
               : strcmp(rule, "hold") == 0 ? "held (opted out or ceased)"
                                           : rule);
        return;
    }
    if (strcmp(buf, "c") == 0 || strcmp(buf, "b") == 0 || strcmp(buf, "i") == 0) {
        printf("  %s  %s: %s\n", t,
               buf[0] == 'c'   ? "cease confirmation"
               : buf[0] == 'b' ? "promise-broken notice"
                               : "interest claim",
               !rule                       ? "sent"
               : strcmp(rule, "hold") == 0 ? "held (opted out or ceased)"
                                           : rule);
        return;
    }
    if (strcmp(buf, "n") == 0) { /* an instalment plan: agreed:<id>, reminder:<k>/<s>, ... */
        printf("  %s  instalment plan: %s\n", t, rule ? rule : "decided");
        return;
    }
    if (strcmp(buf, "p") == 0) {
        printf("  %s  promise %s: the ladder resumes\n", t, rule ? rule : "decided");
        return;
    }
    if (strcmp(buf, "x") == 0) { /* the hand-off: placed:<case>, recalled:<case>, closed:<case> */
        printf("  %s  hand-off: %s\n", t, rule ? rule : "decided");
        return;
    }
    int step = atoi(buf), attempt = 1;
    char *dot = strchr(buf, '.');
    if (dot)
        attempt = atoi(dot + 1);
    const sch_step *st = l && step >= 0 && step < l->nsteps ? &l->steps[step] : NULL;
    printf("  %s  step %d %s (attempt %d; %s, %s): ", t, step, st ? st->name : "?", attempt,
           st ? ct_channel_name(st->channel) : "?", st ? st->template_id : "?");
    if (!rule)
        printf(st && st->to != CT_TO_NONE ? "handed to %s\n" : "sent\n",
               st ? ct_escalation_to_name(st->to) : "");
    else if (strcmp(rule, "hold") == 0)
        printf("held (opted out, ceased, wrong number, unusable address or no channel)\n");
    else if (strcmp(rule, "cond") == 0)
        printf("held (below min_outstanding_minor)\n");
    else if (strncmp(rule, "escalation:", 11) == 0)
        printf("held by the hand-off's gate (%s)\n", rule);
    else
        printf("moved by %s\n", rule);
}

int sch_explain_main(int argc, char **argv)
{
    char err[1024], key[600], t[40], d1[16], d2[16];
    int rc = 1;
    cm_redis *r = NULL;
    sch_map *m = NULL;
    sch_policy pol;
    int pol_ok = 0;
    if (argc != 3) {
        fprintf(stderr, "usage: arrears-scheduler explain TENANT INVOICE_ID\n");
        return 2;
    }
    const char *tenant = argv[1], *id = argv[2];
    const char *prefix = env_or("ARREARS_SCHEDULER_KEY_PREFIX", "sch:");
    if (sch_policy_load_file(env_or("ARREARS_POLICY", "deploy/config/policy.json"), &pol, err,
                             sizeof err) < 0) {
        fprintf(stderr, "explain: ARREARS_POLICY: %s\n", err);
        return 1;
    }
    pol_ok = 1;
    if (!(r = cm_redis_connect(env_or("ARREARS_REDIS_URL", "redis://127.0.0.1:6379/0"), 5000, err,
                               sizeof err))) {
        fprintf(stderr, "explain: %s\n", err);
        goto cleanup;
    }
    sch_store store;
    sch_store_redis(&store, r);
    /* on a cluster the invoice is under its partition's tag: the layout
     * the scheduler recorded says how many there are; each is looked at */
    int nparts = 0;
    if (cm_redis_is_cluster(r)) {
        if (sch_store_redis_layout(r, prefix, 0, &nparts, err, sizeof err) < 0) {
            fprintf(stderr, "explain: %s\n", err);
            goto cleanup;
        }
        if (nparts == 0) {
            fprintf(stderr,
                    "explain: no scheduler has run on this Redis Cluster under key "
                    "prefix %s (no %slayout)\n",
                    prefix, prefix);
            goto cleanup;
        }
    }
    char pfx[200];
    sch_rec *inv = NULL;
    for (int p = 0; p < (nparts ? nparts : 1); p++) {
        if (!nparts || sch_store_part_prefix(pfx, sizeof pfx, prefix, p, nparts) < 0)
            snprintf(pfx, sizeof pfx, "%s", prefix);
        sch_map_free(m);
        if (!(m = sch_map_new()))
            goto cleanup;
        sch_key(key, sizeof key, pfx, 'i', tenant, id);
        inv = sch_map_add(m, key, SCH_T_INV, tenant, id);
        if (!inv || store.load(store.be, m, err, sizeof err) < 0) {
            fprintf(stderr, "explain: %s\n", inv ? err : "out of memory");
            goto cleanup;
        }
        if (inv->exists)
            break;
    }
    if (!inv->exists) {
        fprintf(stderr, "explain: no invoice %s/%s under key prefix %s%s\n", tenant, id, prefix,
                nparts ? " (in any partition's tag)" : "");
        goto cleanup;
    }
    if (nparts)
        printf("keys %s... (Redis Cluster layout, %d partitions)\n", pfx, nparts);
    const sch_inv *v = &inv->u.inv;
    sch_key(key, sizeof key, pfx, 'c', tenant, v->customer);
    sch_rec *cust = sch_map_add(m, key, SCH_T_CUST, tenant, v->customer);
    if (!cust || store.load(store.be, m, err, sizeof err) < 0) {
        fprintf(stderr, "explain: %s\n", cust ? err : "out of memory");
        goto cleanup;
    }
    const char *fs, *fv;
    sch_policy_fallback(&pol, &fs, &fv);
    const char *sn = v->strategy[0] ? v->strategy : fs, *vn = v->strategy[0] ? v->variant : fv;
    const sch_ladder *l = sch_policy_ladder(&pol, sn, vn);
    day(v->issued, d1, sizeof d1);
    day(v->due, d2, sizeof d2);
    printf("invoice %s/%s (number %s), debtor %s\n", tenant, id, v->number, v->customer);
    printf("  %s %lld, paid %lld, credited %lld, outstanding %lld (minor units); issued %s, due "
           "%s\n",
           v->currency, (long long)v->amount, (long long)v->paid, (long long)v->credited,
           (long long)sch_inv_outstanding(v), d1, d2);
    printf("  status %s%s; strategy %s, variant %s\n",
           v->status == 'p'   ? "paid"
           : v->status == 'v' ? "voided"
           : v->status == 'w' ? "written off"
                              : "open",
           v->disputed ? ", disputed" : "", sn, vn);
    when(v->next_ms, t, sizeof t);
    const char *nk = v->next_kind == 's'   ? "ladder step"
                     : v->next_kind == 't' ? "payment thanks"
                     : v->next_kind == 'p' ? "promise break check"
                     : v->next_kind == 'c' ? "cease confirmation"
                     : v->next_kind == 'b' ? "promise-broken notice"
                     : v->next_kind == 'i' ? "interest claim"
                     : v->next_kind == 'n' ? "instalment plan"
                                           : "none";
    printf("  next: %s", nk);
    if (v->next_kind == 's' && l && v->step < l->nsteps)
        printf(" %d %s", v->step, l->steps[v->step].name);
    printf(" at %s\n", t);
    if (v->promise_id[0]) {
        when(v->promise_until, t, sizeof t);
        printf("  promise %s open, breaks at %s%s%s\n", v->promise_id, t,
               v->promise_primary[0] ? ", figures on " : "", v->promise_primary);
    }
    if (v->moved_rules)
        printf("  the next send was moved by: %s\n", v->moved_rules);
    const sch_cust *c = &cust->u.cust;
    printf("debtor %s: zone %s%s%s, country %s%s%s\n", v->customer, c->tz[0] ? c->tz : "(default)",
           c->zones ? ", also " : "", c->zones ? c->zones : "", c->country[0] ? c->country : "-",
           c->region[0] ? ", region " : "", c->region);
    printf("  opted out %s; ceased %s; preference %s%s\n", c->opted_out ? c->opted_out : "-",
           c->ceased ? c->ceased : "-", c->prefer ? c->prefer : "-",
           c->wrong_number ? "; phone reported wrong" : "");
    if (c->unusable) /* issue 17: hard bounces and complaints */
        printf("  unusable addresses (bounced or complained) %s\n", c->unusable);
    if (c->conversation) {
        day(c->conversation, d1, sizeof d1);
        printf("  last conversation %s\n", d1);
    }
    if (c->sendlog)
        printf("  sends counted by caps (local day:channel): %s\n", c->sendlog);
    if (c->esc.state == 'h')
        printf("  escalation held: %s step %d, %s\n", c->esc.inv, c->esc.step, c->esc.rule);
    else if (c->esc.state)
        printf("  case %s with %s (%s%s%s): placed %s %lld, remitted %lld, commission %lld\n",
               c->esc.case_id, ct_escalation_to_name((ct_escalation_to)c->esc.to),
               c->esc.state == 'a' ? "accepted" : "placed", c->esc.ref ? ", ref " : "",
               c->esc.ref ? c->esc.ref : "", c->esc.currency, (long long)c->esc.placed,
               (long long)c->esc.remitted, (long long)c->esc.commission);
    printf("history:\n");
    for (const char *h = v->history; h && *h;) {
        const char *semi = strchr(h, ';');
        size_t n = semi ? (size_t)(semi - h) : strlen(h);
        entry(h, n, l, &pol);
        h += n + (semi ? 1 : 0);
    }
    if (!v->history)
        printf("  (nothing yet)\n");
    rc = 0;
cleanup:
    sch_map_free(m);
    cm_redis_free(r);
    if (pol_ok)
        sch_policy_free(&pol);
    return rc;
}
