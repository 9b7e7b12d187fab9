/* test_contract_docs.c -- the code, schemas/ and the docs agree on every
 * record arrears publishes after ingest: commands, contact outcomes,
 * tasks and reports (docs/contracts.md, docs/reports.md).
 *
 * Design: records are produced by the services' own library code (the
 * scheduler's command builders over deploy/config/policy.json, the
 * notifier's outcome and task writers over those commands, the reporter's
 * report builders over tests/data/reporter/ledger1), then:
 *   - each validates against its schema (schemas/make-record-schemas.py);
 *   - every field it carries is declared by the schema (stricter than the
 *     schemas themselves, which let readers ignore unknown fields), so a
 *     field added in code without its schema fails here;
 *   - every field a schema declares is named in the docs (`name`, "name"
 *     or **name**), so a schema field without prose fails here;
 *   - the enums of the schemas are the contract's (contract/contract.h);
 *   - the `<!-- sample: SCHEMA -->` JSON blocks of the docs validate and
 *     declare only known fields (// comments are stripped);
 *   - a few wrong shapes are refused;
 *   - docs/events.md's scheduler events (issue 14: invoice.fee_charged,
 *     .fee_waived, .interest_claimed, .settled; issue 16: plan.broken,
 *     plan.completed, escalation.placed) have a schema block equal to
 *     schemas/<type>.json's data and an example that validates and decodes;
 *   - the case file of `escalations` (issue 16, schemas/case.json) is
 *     named field by field in docs/contracts.md and its samples validate.
 * The JSON Schema checker is schema_check.c's, as test_ingest_docs.c's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../services/notifier/contact.h"
#include "../../services/reporter/reporter.h"
#include "../../services/scheduler/records.h"
#include "buf.h"
#include "clock.h"
#include "command.h"
#include "contract.h"
#include "event.h"
#include "event_decode_test.h"
#include "schema_check.h"
#include "tz.h"

/* 1 when every object member of v (at any depth) is declared by a
 * "properties" of s at the same place; else 0 with the path in why. */
static int declared(json_t *s, json_t *v, const char *path, char *why, size_t wl)
{
    json_t *props = json_object_get(s, "properties");
    if (json_is_object(v) && props) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            char sub[256];
            json_t *ps = json_object_get(props, k);
            snprintf(sub, sizeof sub, "%s.%s", path, k);
            if (!ps) {
                snprintf(why, wl, "%s: not declared by the schema", sub);
                return 0;
            }
            if (!declared(ps, x, sub, why, wl))
                return 0;
        }
    }
    json_t *items = json_object_get(s, "items");
    if (json_is_array(v) && items)
        for (size_t i = 0; i < json_array_size(v); i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (!declared(items, json_array_get(v, i), sub, why, wl))
                return 0;
        }
    return 1;
}

/* v validates against schemas/<name>.json and declares only its fields. */
static void assert_record(const char *name, json_t *v, const char *what)
{
    json_t *s = tu_schema_load(name);
    char why[512] = "";
    if (!tu_schema_validate(s, v, "$", why, sizeof why)) {
        char *d = json_dumps(v, JSON_COMPACT);
        fail_msg("%s does not validate against schemas/%s.json: %s\n%s", what, name, why, d);
    }
    if (!declared(s, v, "$", why, sizeof why))
        fail_msg("%s: %s (add it to schemas/make-record-schemas.py and the docs)", what, why);
    json_decref(s);
}

static void assert_record_text(const char *name, const char *text, const char *what)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fail_msg("%s: not JSON: %s: %s", what, e.text, text);
    assert_record(name, v, what);
    json_decref(v);
}

static int refused(const char *name, const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e), *s = tu_schema_load(name);
    char why[512];
    assert_non_null(v);
    int ok = tu_schema_validate(s, v, "$", why, sizeof why);
    json_decref(v);
    json_decref(s);
    return !ok;
}

/* --- records from the services' code ----------------------------------------- */

typedef struct samples {
    char *commands[34];
    size_t ncommands;
} samples;

/* Every step of the default ladders plus a payment.thanks, as the
 * scheduler writes them. */
static void make_commands(samples *out)
{
    sch_policy pol;
    char err[512];
    assert_int_equal(sch_policy_load_file("deploy/config/policy.json", &pol, err, sizeof err), 0);
    const cm_tz *tz = cm_tz_get("Europe/London", err, sizeof err);
    assert_non_null(tz);
    sch_map *m = sch_map_new();
    sch_rec *cust = sch_map_add(m, "P:c:acme/C-1", SCH_T_CUST, "acme", "C-1");
    cust->exists = 1;
    cust->u.cust.contact =
        strdup("{\"customer_id\":\"C-1\",\"name\":\"Ada Ltd\",\"email\":\"ap@ada.test\","
               "\"phone\":\"+447700900123\",\"timezone\":\"Europe/London\","
               "\"locale\":\"en-GB\",\"country\":\"GB\"}");
    sch_rec *inv = sch_map_add(m, "P:i:acme/INV-1", SCH_T_INV, "acme", "INV-1");
    inv->exists = 1;
    snprintf(inv->u.inv.customer, sizeof inv->u.inv.customer, "%s", "C-1");
    snprintf(inv->u.inv.number, sizeof inv->u.inv.number, "%s", "2026-0001");
    snprintf(inv->u.inv.currency, sizeof inv->u.inv.currency, "%s", "EUR");
    snprintf(inv->u.inv.strategy, sizeof inv->u.inv.strategy, "%s", "default");
    snprintf(inv->u.inv.variant, sizeof inv->u.inv.variant, "%s", "A");
    inv->u.inv.amount = 12000;
    inv->u.inv.attempt = 1;
    int32_t due;
    assert_int_equal(cm_date_parse("2026-03-01", &due), 0);
    inv->u.inv.issued = due - 28;
    inv->u.inv.due = due;
    int64_t now = (int64_t)(due + 7) * 86400000 + 9 * 3600000;
    const char *variants[] = {"A", "B"};
    for (int v = 0; v < 2; v++) {
        const sch_ladder *l = sch_policy_ladder(&pol, "default", variants[v]);
        assert_non_null(l);
        for (int i = 0; i < l->nsteps && out->ncommands < 30; i++) {
            char *js = sch_command_step(inv, cust, &pol, tz, &l->steps[i], i, now - 1000, now);
            assert_non_null(js);
            out->commands[out->ncommands++] = js;
        }
    }
    /* kind interest_claim with issue 14's members, through the contract's
     * codec: the first step's command made a claim (the shipped policy
     * claims nothing) */
    {
        json_t *j = json_loads(out->commands[0], 0, NULL);
        ct_command c;
        assert_non_null(j);
        if (ct_test_command_decode(j, &c, err, sizeof err) != 0)
            fail_msg("%s", err);
        c.kind = CT_KIND_INTEREST_CLAIM;
        c.has_step = 0;
        c.invoices[0].has_amounts = 1;
        c.invoices[0].amounts = (ct_command_amounts){0, 0, 1815, 4000, 5815};
        c.amounts = c.invoices[0].amounts;
        c.has_interest_basis = 1;
        c.interest_basis = (ct_command_interest_basis){CT_SCHEME_EU_LATE_PAYMENT, 126200, "DE"};
        c.has_offer = 1;
        c.offer = (ct_command_offer){.kind = CT_OFFER_SETTLEMENT,
                                     .amount_minor = 4652,
                                     .forgiven_minor = 1163,
                                     .valid_until = due + 21};
        cm_buf b = CM_BUF_INIT;
        assert_int_equal(ct_command_encode(&c, &b), 0);
        out->commands[out->ncommands++] = cm_buf_take(&b, NULL);
        /* issue 16's plan: a reminder of instalment 2 of 3 */
        c.kind = CT_KIND_REMINDER;
        c.has_step = c.has_offer = c.has_interest_basis = c.invoices[0].has_amounts = 0;
        c.template_id = "instalment_due";
        c.has_plan = 1;
        c.plan = (ct_command_plan){"PL-1", 2, 3, due + 40, 4000, 1000, 12000, 5000};
        assert_int_equal(ct_command_encode(&c, &b), 0);
        out->commands[out->ncommands++] = cm_buf_take(&b, NULL);
        json_decref(j);
    }
    snprintf(inv->u.inv.thanks_pid, sizeof inv->u.inv.thanks_pid, "%s", "PAY-1");
    inv->u.inv.thanks_amt = 5000;
    char *js = sch_command_thanks(inv, cust, &pol, tz, now - 1000, now);
    assert_non_null(js);
    out->commands[out->ncommands++] = js;
    /* issue 17: the review task of a contact.replied, with the open invoice */
    ct_event rv;
    memset(&rv, 0, sizeof rv);
    rv.id = "sms/SM1/C-1";
    rv.type = CT_EV_CONTACT_REPLIED;
    rv.time_ms = now - 5000;
    rv.data.reply.channel = CT_CH_SMS;
    rv.data.reply.text = "Can I pay next week?";
    const sch_rec *open[1] = {inv};
    char rid[SCH_CMD_ID_LEN];
    js = sch_command_review("acme", "C-1", cust, open, 1, &pol, tz, &rv, now, rid, sizeof rid);
    assert_non_null(js);
    out->commands[out->ncommands++] = js;
    /* and of a debtor without an open invoice: no currency, amounts 0 */
    js = sch_command_review("acme", "C-1", cust, open, 0, &pol, tz, &rv, now, rid, sizeof rid);
    assert_non_null(js);
    json_t *nj = json_loads(js, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(nj, "currency")), "");
    assert_int_equal(json_array_size(json_object_get(nj, "invoices")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(nj, "amounts"), "total")),
                     0);
    json_decref(nj);
    out->commands[out->ncommands++] = js;
    /* issue 17: under a policy with links.valid_days, a step's command
     * carries link_valid_days */
    pol.link_valid_days = 30;
    const sch_ladder *la = sch_policy_ladder(&pol, "default", "A");
    assert_true(out->ncommands < sizeof out->commands / sizeof out->commands[0]);
    js = sch_command_step(inv, cust, &pol, tz, &la->steps[0], 0, now - 1000, now);
    assert_non_null(js);
    out->commands[out->ncommands++] = js;
    sch_map_free(m);
    sch_policy_free(&pol);
}

static void samples_free(samples *s)
{
    for (size_t i = 0; i < s->ncommands; i++)
        free(s->commands[i]);
}

static void test_commands(void **state)
{
    (void)state;
    samples s = {{0}, 0};
    int kinds[CT_KIND_COUNT] = {0}, not_after = 0, level = 0, money = 0, plan = 0, links = 0;
    make_commands(&s);
    assert_true(s.ncommands >= 5);
    for (size_t i = 0; i < s.ncommands; i++) {
        assert_record_text("command", s.commands[i], "a scheduler command");
        json_t *c = json_loads(s.commands[i], 0, NULL);
        const char *k = json_string_value(json_object_get(c, "kind"));
        ct_kind kind = ct_kind_parse(k, strlen(k));
        assert_true(kind != CT_KIND_NONE);
        kinds[kind]++;
        not_after += json_object_get(c, "not_after") != NULL;
        level += json_object_get(c, "level") != NULL;
        money += json_object_get(c, "offer") && json_object_get(c, "interest_basis") &&
                 json_object_get(json_array_get(json_object_get(c, "invoices"), 0), "amounts");
        plan += json_object_get(c, "plan") != NULL;
        links += json_integer_value(json_object_get(c, "link_valid_days")) == 30;
        json_decref(c);
    }
    /* the samples cover every kind and the optional fields */
    for (int k = 0; k < CT_KIND_COUNT; k++)
        if (!kinds[k])
            fail_msg("no sample command of kind %s (deploy/config/policy.json changed?)",
                     ct_kind_name((ct_kind)k));
    assert_true(not_after > 0);
    assert_true(level > 0);
    assert_true(money > 0);
    assert_int_equal(plan, 1);
    assert_int_equal(links, 1); /* the last sample's: the shipped policy has no "links" */
    samples_free(&s);
}

static void test_contacts_and_tasks(void **state)
{
    (void)state;
    samples s = {{0}, 0};
    int tasks = 0;
    make_commands(&s);
    for (size_t i = 0; i < s.ncommands; i++) {
        ntf_command cmd;
        char err[256];
        if (ntf_command_parse(s.commands[i], strlen(s.commands[i]), &cmd, err, sizeof err) != 0)
            fail_msg("the notifier refuses a scheduler command: %s\n%s", err, s.commands[i]);
        ntf_outcome sent = {1, "250", 1, 41, 1772355601000, "", "<1@arrears.test>"};
        ntf_outcome failed = {0, "550", 3, 900, 1772355601000, "mailbox unavailable", ""};
        char *a = ntf_contact_json(&cmd, &sent), *b = ntf_contact_json(&cmd, &failed);
        assert_non_null(a);
        assert_non_null(b);
        assert_record_text("contact-outcome", a, "a contact.sent outcome");
        assert_record_text("contact-outcome", b, "a contact.failed outcome");
        free(a);
        free(b);
        if (cmd.c.channel == CT_CH_CALL_TASK || cmd.c.channel == CT_CH_LETTER) {
            char *t = ntf_task_json(&cmd);
            assert_non_null(t);
            assert_record_text("task", t, "a task");
            free(t);
            tasks++;
        }
        ntf_command_free(&cmd);
    }
    assert_true(tasks > 0);
    samples_free(&s);
}

/* Applies ledger1 (inbound events and contact outcomes) as replay does. */
static rep_state *ledger_state(void)
{
    rep_state *st = rep_state_new();
    assert_non_null(st);
    const char *files[] = {"tests/data/reporter/ledger1/events.jsonl",
                           "tests/data/reporter/ledger1/contacts.jsonl"};
    for (int f = 0; f < 2; f++) {
        char *text = tu_slurp(files[f]), *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char err[512];
            json_t *j = json_loads(line, 0, NULL);
            assert_non_null(j);
            if (f == 0) {
                json_t *ev = rep_normalize_inbound(j, err, sizeof err);
                if (ev) /* the ledger holds one deliberately invalid line */
                    assert_true(rep_state_apply_event(st, ev, err, sizeof err) >= 0);
                json_decref(ev);
            } else {
                assert_true(rep_state_apply_contact(st, j, err, sizeof err) >= 0);
            }
            json_decref(j);
        }
        free(text);
    }
    return st;
}

static void test_reports(void **state)
{
    (void)state;
    rep_state *st = ledger_state();
    int32_t d;
    assert_int_equal(cm_date_parse("2026-03-31", &d), 0);
    int64_t gen = ((int64_t)d + 1) * 86400000 - 1;
    const char *tenants[] = {"acme", "never-seen"};
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < CT_REP_COUNT; k++) {
            char name[64], what[128];
            json_t *r = rep_report_build(st, ct_report_name((ct_report)k), tenants[t], d, gen);
            assert_non_null(r);
            json_object_set_new(r, "request_id", json_string("req-42"));
            snprintf(name, sizeof name, "report-%s", ct_report_name((ct_report)k));
            snprintf(what, sizeof what, "the %s report of %s", ct_report_name((ct_report)k),
                     tenants[t]);
            assert_record(name, r, what);
            json_decref(r);
        }
    /* the schemas name exactly the reporter's report types */
    for (int k = 0; k < CT_REP_COUNT; k++) {
        char name[64];
        snprintf(name, sizeof name, "report-%s", ct_report_name((ct_report)k));
        json_t *s = tu_schema_load(name);
        assert_string_equal(
            json_string_value(json_object_get(
                json_object_get(json_object_get(s, "properties"), "type"), "const")),
            ct_report_name((ct_report)k));
        json_decref(s);
    }
    rep_state_free(st);
}

/* --- schemas <-> contract enums ---------------------------------------------- */

static json_t *prop(json_t *s, const char *name)
{
    json_t *p = json_object_get(json_object_get(s, "properties"), name);
    if (!p)
        fail_msg("schema has no property %s", name);
    return p;
}

/* The enum of a schema property equals names(0..n-1). */
static void assert_enum(json_t *e, const char *(*name)(int), int n, const char *what)
{
    assert_true(json_is_array(e));
    if (json_array_size(e) != (size_t)n)
        fail_msg("%s: the schema lists %zu values, the contract %d", what, json_array_size(e), n);
    for (int i = 0; i < n; i++) {
        size_t j;
        json_t *x;
        int found = 0;
        json_array_foreach(e, j, x) found |= !strcmp(json_string_value(x), name(i));
        if (!found)
            fail_msg("%s: %s is not in the schema's enum", what, name(i));
    }
}

static const char *kind_name(int i)
{
    return ct_kind_name((ct_kind)i);
}
static const char *channel_name(int i)
{
    return ct_channel_name((ct_channel)i);
}
static const char *outcome_name(int i)
{
    return ct_outcome_name((ct_outcome)i);
}

static const char *to_name(int i)
{
    return ct_escalation_to_name((ct_escalation_to)i);
}

static void test_enums(void **state)
{
    (void)state;
    const char *names[] = {"command", "task", "contact-outcome"};
    for (int i = 0; i < 3; i++) {
        json_t *s = tu_schema_load(names[i]);
        assert_enum(json_object_get(prop(s, "kind"), "enum"), kind_name, CT_KIND_COUNT, "kind");
        assert_enum(json_object_get(prop(s, "channel"), "enum"), channel_name, CT_CH_COUNT,
                    "channel");
        if (i == 2)
            assert_enum(json_object_get(prop(s, "type"), "enum"), outcome_name, CT_OUT_COUNT,
                        "contact outcome type");
        json_decref(s);
    }
    /* issue 16: the case file's contacts and the hand-off's targets */
    json_t *cs = tu_schema_load("case");
    json_t *contact = json_object_get(prop(cs, "contacts"), "items");
    assert_enum(json_object_get(prop(contact, "kind"), "enum"), kind_name, CT_KIND_COUNT,
                "case contact kind");
    assert_enum(json_object_get(prop(contact, "channel"), "enum"), channel_name, CT_CH_COUNT,
                "case contact channel");
    assert_enum(json_object_get(prop(cs, "to"), "enum"), to_name, CT_TO_COUNT, "case to");
    json_decref(cs);
    json_t *ps = tu_schema_load("escalation.placed");
    assert_enum(json_object_get(prop(prop(ps, "data"), "to"), "enum"), to_name, CT_TO_COUNT,
                "escalation.placed to");
    json_decref(ps);
}

/* --- schemas <-> docs ------------------------------------------------------------ */

/* 1 when the doc names field as `field`, "field" or **field**. */
static int doc_names(const char *doc, const char *field)
{
    const char *forms[] = {"`%s`", "\"%s\"", "**%s**"};
    char pat[256];
    for (int i = 0; i < 3; i++) {
        snprintf(pat, sizeof pat, forms[i], field);
        if (strstr(doc, pat))
            return 1;
    }
    return 0;
}

static void assert_documented(json_t *s, const char *doc, const char *docname, const char *schema,
                              const char *path)
{
    const char *k;
    json_t *x;
    json_object_foreach(json_object_get(s, "properties"), k, x)
    {
        char sub[256];
        snprintf(sub, sizeof sub, "%s.%s", path, k);
        if (!doc_names(doc, k))
            fail_msg("schemas/%s.json declares %s, which %s does not name", schema, sub, docname);
        assert_documented(x, doc, docname, schema, sub);
    }
    if ((x = json_object_get(s, "items")))
        assert_documented(x, doc, docname, schema, path);
}

/* The `<!-- sample: SCHEMA -->` blocks of doc (at most max), with //
 * comments removed; the other marked blocks are freed. */
static size_t doc_samples(const char *doc, tu_block *out, size_t max)
{
    tu_block all[32];
    size_t nall = tu_doc_blocks(doc, all, 32), n = 0, markers = 0;
    for (const char *p = doc; (p = strstr(p, "<!-- sample:")); p++)
        markers++;
    for (size_t i = 0; i < nall; i++) {
        if (strcmp(all[i].kind, "sample") != 0 || n == max) {
            free(all[i].text);
            continue;
        }
        char *w = all[i].text;
        for (const char *r = all[i].text; *r;) {
            if (r[0] == '/' && r[1] == '/') { /* to the end of the line */
                while (*r && *r != '\n')
                    r++;
                continue;
            }
            *w++ = *r++;
        }
        *w = 0;
        out[n++] = all[i];
    }
    if (n != markers && n < max)
        fail_msg("%zu sample markers, %zu read: a marker is not <!-- sample: SCHEMA -->", markers,
                 n);
    return n;
}

static void check_doc(const char *docpath, const char *const *schemas, size_t nschemas,
                      size_t min_samples)
{
    char *doc = tu_slurp(docpath);
    for (size_t i = 0; i < nschemas; i++) {
        json_t *s = tu_schema_load(schemas[i]);
        assert_documented(s, doc, docpath, schemas[i], "$");
        json_decref(s);
    }
    tu_block smp[16];
    size_t n = doc_samples(doc, smp, 16);
    if (n < min_samples)
        fail_msg("%s: %zu sample blocks, expected at least %zu", docpath, n, min_samples);
    for (size_t i = 0; i < n; i++) {
        char what[256];
        snprintf(what, sizeof what, "%.64s's sample of %.64s", docpath, smp[i].name);
        assert_record_text(smp[i].name, smp[i].text, what);
        free(smp[i].text);
    }
    free(doc);
}

static void test_docs(void **state)
{
    (void)state;
    static const char *const contracts[] = {"command", "task", "contact-outcome", "case"};
    static const char *const reports[] = {"report-aging", "report-kpis", "report-effectiveness",
                                          "report-error", "report-request"};
    static const char *const scheduler[] = {
        "invoice.fee_charged", "invoice.fee_waived", "invoice.interest_claimed", "invoice.settled",
        "plan.broken",         "plan.completed",     "escalation.placed"};
    check_doc("docs/contracts.md", contracts, 4, 6);
    check_doc("docs/reports.md", reports, 5, 2);
    check_doc("docs/events.md", scheduler, 7, 0);
    check_doc("docs/escalation.md", (const char *const[]){"case"}, 1, 1);
}

/* docs/events.md's "Events the scheduler publishes" (issue 14's money,
 * issue 16's plan endings and placement): for each a `scheduler-schema` block equal to
 * the data part of schemas/<type>.json and a `scheduler-event` example
 * that validates against it, declares only its fields and decodes with the
 * contract's decoder as that type, from the scheduler. */
#define NSCHED 7
static void test_scheduler_events(void **state)
{
    (void)state;
    static const ct_type types[NSCHED] = {
        CT_EV_INVOICE_FEE_CHARGED, CT_EV_INVOICE_FEE_WAIVED, CT_EV_INVOICE_INTEREST_CLAIMED,
        CT_EV_INVOICE_SETTLED,     CT_EV_PLAN_BROKEN,        CT_EV_PLAN_COMPLETED,
        CT_EV_ESCALATION_PLACED};
    int have_schema[NSCHED] = {0}, have_event[NSCHED] = {0};
    char *doc = tu_slurp("docs/events.md");
    tu_block b[64];
    size_t n = tu_doc_blocks(doc, b, 64);
    for (size_t i = 0; i < n; i++) {
        int k = -1;
        for (int t = 0; t < NSCHED; t++)
            if (!strcmp(b[i].name, ct_type_name(types[t])))
                k = t;
        int is_schema = !strcmp(b[i].kind, "scheduler-schema");
        if (!is_schema && strcmp(b[i].kind, "scheduler-event") != 0) {
            free(b[i].text);
            continue;
        }
        if (k < 0)
            fail_msg("docs/events.md: %s block of %s, not a scheduler event", b[i].kind, b[i].name);
        json_error_t e;
        json_t *v = json_loads(b[i].text, 0, &e);
        if (!v)
            fail_msg("docs/events.md %s %s: not JSON: %s", b[i].kind, b[i].name, e.text);
        if (is_schema) {
            json_t *s = tu_schema_load(b[i].name);
            json_t *data = json_object_get(json_object_get(s, "properties"), "data");
            if (!json_equal(v, data))
                fail_msg("docs/events.md's schema of %s is not schemas/%s.json's data", b[i].name,
                         b[i].name);
            json_decref(s);
            have_schema[k]++;
        } else {
            char what[128], err[256];
            snprintf(what, sizeof what, "docs/events.md's example of %s", b[i].name);
            assert_record(b[i].name, v, what);
            ct_event ev;
            if (ct_test_decode(v, &ev, err, sizeof err) != 0)
                fail_msg("%s does not decode: %s", what, err);
            assert_int_equal(ev.type, types[k]);
            assert_false(ct_type_inbound(ev.type));
            assert_string_equal(ev.source, CT_SCHEDULER_SOURCE);
            have_event[k]++;
        }
        json_decref(v);
        free(b[i].text);
    }
    for (int t = 0; t < NSCHED; t++)
        if (have_schema[t] != 1 || have_event[t] != 1)
            fail_msg("docs/events.md: %s has %d schema and %d example blocks, want 1 and 1",
                     ct_type_name(types[t]), have_schema[t], have_event[t]);
    free(doc);
}

/* --- shapes the schemas refuse ------------------------------------------------ */

static void test_refused(void **state)
{
    (void)state;
    samples s = {{0}, 0};
    make_commands(&s);
    json_t *c = json_loads(s.commands[0], 0, NULL);
    const char *drop[] = {"command_id", "tenant", "customer", "invoices", "created_at"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) {
        json_t *x = json_deep_copy(c);
        json_object_del(x, drop[i]);
        char *t = json_dumps(x, JSON_COMPACT);
        if (!refused("command", t))
            fail_msg("schemas/command.json accepts a command without %s", drop[i]);
        free(t);
        json_decref(x);
    }
    json_t *x = json_deep_copy(c);
    json_object_set_new(x, "kind", json_string("postcard"));
    char *t = json_dumps(x, JSON_COMPACT);
    assert_true(refused("command", t));
    free(t);
    json_decref(x);
    /* rules: at most 16 names of 1..64 bytes of printable ASCII */
    const char *rules_ok[] = {"[\"window:moved\",\"cap:sms,email:3/7d\"]", "[]"};
    const char *rules_bad[] = {
        "\"window:moved\"",
        "[\"\"]",
        "[\"tab\\there\"]",
        "[7]",
        "[\"x0123456789012345678901234567890123456789012345678901234567890123\"]",
        "[\"r\",\"r\",\"r\",\"r\",\"r\",\"r\",\"r\",\"r\",\"r\",\"r\","
        "\"r\",\"r\",\"r\",\"r\",\"r\",\"r\",\"r\"]"};
    for (int ok = 1; ok >= 0; ok--)
        for (size_t i = 0; i < (ok ? 2 : 6); i++) {
            const char *r = ok ? rules_ok[i] : rules_bad[i];
            x = json_deep_copy(c);
            json_object_set_new(x, "rules", json_loads(r, JSON_DECODE_ANY, NULL));
            t = json_dumps(x, JSON_COMPACT);
            if (ok)
                assert_record_text("command", t, "a command with rules");
            else if (!refused("command", t))
                fail_msg("schemas/command.json accepts rules %s", r);
            free(t);
            json_decref(x);
        }
    /* link_valid_days (issue 17): an integer 1..365 */
    const char *days[] = {"1", "365", "0", "366", "\"7\"", "7.5"};
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        x = json_deep_copy(c);
        json_object_set_new(x, "link_valid_days", json_loads(days[i], JSON_DECODE_ANY, NULL));
        t = json_dumps(x, JSON_COMPACT);
        if (i < 2)
            assert_record_text("command", t, "a command with link_valid_days");
        else if (!refused("command", t))
            fail_msg("schemas/command.json accepts link_valid_days %s", days[i]);
        free(t);
        json_decref(x);
    }
    /* a task is a command with task_id */
    assert_true(refused("task", s.commands[0]));
    json_decref(c);
    samples_free(&s);

    /* the case file (issue 16): a minimal one validates; each mutation is
     * refused */
    static const char case_ok[] =
        "{\"v\":1,\"case_id\":\"case-0123456789abcdef\",\"tenant\":\"acme\",\"customer_id\":"
        "\"C-1\",\"created_at\":\"2026-05-01T09:00:00.000Z\",\"to\":\"agency\",\"currency\":"
        "\"GBP\",\"rule\":{\"strategy\":\"standard\",\"variant\":\"A\",\"step\":5,"
        "\"step_name\":\"+90d\",\"command_id\":\"acme/inv/I-1/step/5/attempt/1\"},\"gate\":{"
        "\"outstanding_minor\":25000,\"min_outstanding_minor\":20000,"
        "\"expected_recovery_pct\":45,\"commission_pct\":25,\"cost_fixed_minor\":1500,"
        "\"expected_net_minor\":6938},\"debtor\":{\"customer_id\":\"C-1\"},\"invoices\":[{"
        "\"invoice_id\":\"I-1\",\"issued_on\":\"2026-01-01\",\"due_on\":\"2026-01-31\","
        "\"days_overdue\":90,\"amount_minor\":25000,\"paid_minor\":0,\"credited_minor\":0,"
        "\"principal_minor\":25000,\"fees_minor\":0,\"interest_minor\":0,"
        "\"compensation_minor\":0,\"total_minor\":25000}],\"contacts\":[{\"command_id\":"
        "\"acme/inv/I-1/step/0/attempt/1\",\"at\":\"2026-01-28T09:00:00.000Z\",\"invoice_id\":"
        "\"I-1\",\"step\":0,\"step_name\":\"-3d\",\"kind\":\"reminder\",\"channel\":"
        "\"email\",\"template\":\"friendly\",\"result\":\"issued\"}],\"responses\":[{"
        "\"type\":\"promise.made\",\"at\":\"2026-02-10T14:00:00.000Z\",\"id\":\"P-1\"}]}";
    assert_record_text("case", case_ok, "a minimal case file");
    static const struct {
        const char *path, *value; /* "a.b" or "a[0].b"; value NULL: deleted */
    } bad_case[] = {
        {"case_id", "\"case-0123456789ABCDEF\""},
        {"case_id", "\"0123456789abcdef\""},
        {"to", "\"court\""},
        {"gate.expected_net_minor", "0"},
        {"gate.expected_recovery_pct", "101"},
        {"invoices[0].fees_minor", "-1"},
        {"contacts[0].result", "\"held\""}, /* held without its rule */
        {"contacts[0].result", "\"sent\""},
        {"responses[0].type", "\"payment.received\""},
        {"debtor", NULL},
        {"invoices", "[]"},
        {"rule.command_id", NULL},
    };
    for (size_t i = 0; i < sizeof bad_case / sizeof bad_case[0]; i++) {
        json_t *cf = json_loads(case_ok, 0, NULL), *o = cf;
        char path[64], *key = path;
        snprintf(path, sizeof path, "%s", bad_case[i].path);
        for (char *dot; (dot = strchr(key, '.')); key = dot + 1) {
            *dot = 0;
            char *br = strchr(key, '[');
            if (br)
                *br = 0;
            o = json_object_get(o, key);
            if (br)
                o = json_array_get(o, 0);
        }
        if (bad_case[i].value)
            json_object_set_new(o, key, json_loads(bad_case[i].value, JSON_DECODE_ANY, NULL));
        else
            json_object_del(o, key);
        t = json_dumps(cf, JSON_COMPACT);
        if (!refused("case", t))
            fail_msg("schemas/case.json accepts %s = %s", bad_case[i].path,
                     bad_case[i].value ? bad_case[i].value : "(absent)");
        free(t);
        json_decref(cf);
    }
    /* held with its rule is fine */
    json_t *cf = json_loads(case_ok, 0, NULL);
    json_t *ct = json_array_get(json_object_get(cf, "contacts"), 0);
    json_object_set_new(ct, "result", json_string("held"));
    json_object_set_new(ct, "rule", json_string("opted_out"));
    t = json_dumps(cf, JSON_COMPACT);
    assert_record_text("case", t, "a case file with a held contact");
    free(t);
    json_decref(cf);

    assert_true(refused("contact-outcome",
                        "{\"v\":1,\"type\":\"contact.bounced\",\"id\":\"a\",\"command_id\":\"a\","
                        "\"invoice_ids\":[],\"provider_status\":\"\",\"attempts\":1,"
                        "\"latency_ms\":0,\"at\":\"2026-03-01T00:00:00.000Z\"}"));
    assert_true(refused("report-aging", "{\"v\":1,\"type\":\"aging\",\"tenant\":\"t\","
                                        "\"as_of\":\"2026-03-31\",\"generated_at\":"
                                        "\"2026-03-31T23:59:59.999Z\",\"currencies\":[{"
                                        "\"currency\":\"EUR\",\"exponent\":2,\"buckets\":[],"
                                        "\"total\":{\"count\":0,\"amount_minor\":0},"
                                        "\"overdue\":{\"count\":0,\"amount_minor\":0},"
                                        "\"top_overdue_customers\":[]}]}"));
    assert_true(refused("report-kpis", "{\"v\":1,\"type\":\"aging\",\"tenant\":\"t\","
                                       "\"as_of\":\"2026-03-31\",\"generated_at\":"
                                       "\"2026-03-31T23:59:59.999Z\",\"currencies\":[]}"));
    assert_true(refused("report-request", "{\"v\":1,\"tenant\":\"t\"}"));
    assert_true(refused("report-error", "{\"v\":1,\"type\":\"error\",\"tenant\":\"t\"}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_contacts_and_tasks),
        cmocka_unit_test(test_reports),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_docs),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_scheduler_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
