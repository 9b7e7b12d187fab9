/* test_contract_event.c -- the canonical event decoder (contract/event.h):
 * one event of every type decodes into its typed data; every canonical
 * event ingest is expected to write (tests/data/ingest/accept) decodes;
 * missing, wrong and too long fields fail with the field and the rule
 * named; the Kafka headers come from the struct; the call outcomes'
 * names (contract.h) parse back. Issue 14: the scheduler's money events
 * (invoice.fee_charged, .fee_waived, .interest_claimed, .settled) and
 * customer.upserted's kind, with the rule of each refusal. Issue 16: the
 * instalment plans (plan.agreed, plan.cancelled) and the hand-off
 * (escalation.placed replacing invoice.escalated; escalation.accepted,
 * .recalled, .remitted). Issue 17: contact.replied, .delivered, .bounced,
 * .complained, and an event naming a phone made per customer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>

#include "event.h"
#include "event_decode_test.h"
#include "validate.h"

#define ENV(type, data)                                                                            \
    "{\"v\":1,\"id\":\"e-1\",\"source\":\"billing\",\"type\":\"" type "\",\"tenant\":\"acme\","    \
    "\"time\":\"2026-03-01T09:00:00.000Z\",\"customer_id\":\"C-1\","                               \
    "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"data\":" data "}"

static json_t *load(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j)
        fail_msg("bad test JSON: %s: %s", e.text, s);
    return j;
}

/* Decodes s, which must succeed with type t; the tree is returned in *tree
 * (the event borrows from it). */
static void decode_ok(const char *s, ct_type t, ct_event *ev, json_t **tree)
{
    char err[256] = "";
    *tree = load(s);
    if (ct_test_decode(*tree, ev, err, sizeof err) != 0)
        fail_msg("decode failed: %s: %s", err, s);
    assert_int_equal(ev->type, t);
    assert_string_equal(ev->type_name, ct_type_name(t));
    assert_int_equal(ev->v, 1);
    assert_string_equal(ev->tenant, "acme");
    assert_string_equal(ev->customer_id, "C-1");
    assert_true(ev->time_ms == 1772355600000LL);
}

static void test_every_type(void **state)
{
    (void)state;
    ct_event ev;
    json_t *j;
    int seen[CT_EV_COUNT] = {0};

    const char *inv = "{\"invoice_id\":\"INV-1\",\"customer_id\":\"C-1\",\"number\":\"N-1\","
                      "\"currency\":\"EUR\",\"amount_minor\":125000,\"issued_on\":\"2026-03-01\","
                      "\"due_on\":\"2026-03-31\",\"tags\":[\"b2b\",\"eu\"],\"terms\":\"NET30\"}";
    char buf[1024];
    ct_type full[] = {CT_EV_INVOICE_ISSUED, CT_EV_INVOICE_UPDATED};
    for (int i = 0; i < 2; i++) {
        snprintf(buf, sizeof buf, ENV("%s", "%s"), ct_type_name(full[i]), inv);
        decode_ok(buf, full[i], &ev, &j);
        assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_INVOICE);
        assert_string_equal(ev.data.invoice.invoice_id, "INV-1");
        assert_string_equal(ev.data.invoice.number, "N-1");
        assert_string_equal(ev.data.invoice.currency, "EUR");
        assert_true(ev.data.invoice.amount_minor == 125000);
        assert_string_equal(ev.data.invoice.due_on.s, "2026-03-31");
        assert_int_equal(ev.data.invoice.due_on.day - ev.data.invoice.issued_on.day, 30);
        assert_int_equal(ev.data.invoice.tags.n, 2);
        assert_string_equal(ev.data.invoice.tags.v[1], "eu");
        assert_string_equal(ev.data.invoice.terms, "NET30");
        assert_null(ev.data.invoice.po_number);
        seen[ev.type] = 1;
        json_decref(j);
    }
    ct_type refs[] = {CT_EV_INVOICE_VOIDED, CT_EV_INVOICE_WRITTEN_OFF};
    for (int i = 0; i < 2; i++) {
        snprintf(buf, sizeof buf, ENV("%s", "{\"invoice_id\":\"INV-2\",\"customer_id\":\"C-1\"}"),
                 ct_type_name(refs[i]));
        decode_ok(buf, refs[i], &ev, &j);
        assert_string_equal(ev.data.invoice_ref.invoice_id, "INV-2");
        seen[ev.type] = 1;
        json_decref(j);
    }

    decode_ok(ENV("payment.received",
                  "{\"payment_id\":\"P-1\",\"customer_id\":\"C-1\",\"currency\":\"EUR\","
                  "\"amount_minor\":60000,\"received_at\":\"2026-03-20T01:30:00.000Z\","
                  "\"received_on\":\"2026-03-20\",\"allocations\":[{\"invoice_id\":\"INV-1\","
                  "\"amount_minor\":50000},{\"invoice_id\":\"INV-2\",\"amount_minor\":10000}]}"),
              CT_EV_PAYMENT_RECEIVED, &ev, &j);
    assert_string_equal(ev.data.payment.payment_id, "P-1");
    assert_true(ev.data.payment.amount_minor == 60000);
    assert_string_equal(ev.data.payment.received_on.s, "2026-03-20");
    assert_true(ev.data.payment.received_at_ms > 0);
    assert_int_equal(ev.data.payment.nallocations, 2);
    assert_string_equal(ev.data.payment.allocations[1].invoice_id, "INV-2");
    assert_true(ev.data.payment.allocations[1].amount_minor == 10000);
    seen[ev.type] = 1;
    json_decref(j);

    decode_ok(ENV("payment.reversed", "{\"payment_id\":\"P-1\",\"reason\":\"chargeback\"}"),
              CT_EV_PAYMENT_REVERSED, &ev, &j);
    assert_string_equal(ev.data.reversal.payment_id, "P-1");
    assert_string_equal(ev.data.reversal.reason, "chargeback");
    seen[ev.type] = 1;
    json_decref(j);

    decode_ok(ENV("credit_note.issued",
                  "{\"credit_note_id\":\"CN-1\",\"invoice_id\":\"INV-1\",\"currency\":\"JPY\","
                  "\"amount_minor\":500}"),
              CT_EV_CREDIT_NOTE_ISSUED, &ev, &j);
    assert_string_equal(ev.data.credit_note.credit_note_id, "CN-1");
    assert_string_equal(ev.data.credit_note.invoice_id, "INV-1");
    assert_string_equal(ev.data.credit_note.currency, "JPY");
    assert_true(ev.data.credit_note.amount_minor == 500);
    seen[ev.type] = 1;
    json_decref(j);

    decode_ok(ENV("customer.upserted",
                  "{\"customer_id\":\"C-1\",\"name\":\"Ada Ltd\",\"email\":\"ap@ada.example\","
                  "\"phone\":\"+447700900123\",\"timezone\":\"Europe/London\",\"locale\":"
                  "\"en-GB\",\"country\":\"GB\",\"channels\":[\"sms\",\"email\"],\"opted_out\":"
                  "[\"call_task\"],\"credit_limit_minor\":1000000,\"credit_currency\":\"GBP\","
                  "\"tags\":[\"enterprise\"]}"),
              CT_EV_CUSTOMER_UPSERTED, &ev, &j);
    const ct_customer *cu = &ev.data.customer;
    assert_string_equal(cu->name, "Ada Ltd");
    assert_string_equal(cu->email, "ap@ada.example");
    assert_string_equal(cu->phone, "+447700900123");
    assert_string_equal(cu->timezone, "Europe/London");
    assert_string_equal(cu->locale, "en-GB");
    assert_string_equal(cu->country, "GB");
    assert_int_equal(cu->channels.n, 2);
    assert_int_equal(cu->channels.v[0], CT_CH_SMS);
    assert_int_equal(cu->channels.v[1], CT_CH_EMAIL);
    assert_int_equal(cu->opted_out.n, 1);
    assert_int_equal(cu->opted_out.v[0], CT_CH_CALL_TASK);
    assert_true(cu->has_credit_limit);
    assert_true(cu->credit_limit_minor == 1000000);
    assert_string_equal(cu->credit_currency, "GBP");
    assert_int_equal(cu->tags.n, 1);
    assert_null(cu->region);
    assert_int_equal(cu->extra_timezones.n, 0);
    seen[ev.type] = 1;
    json_decref(j);

    decode_ok(ENV("customer.upserted",
                  "{\"customer_id\":\"C-1\",\"name\":\"Grace\",\"timezone\":"
                  "\"America/New_York\",\"country\":\"US\",\"region\":\"US-MA\","
                  "\"extra_timezones\":[\"America/Los_Angeles\",\"America/Phoenix\"]}"),
              CT_EV_CUSTOMER_UPSERTED, &ev, &j);
    assert_string_equal(cu->region, "US-MA");
    assert_int_equal(cu->extra_timezones.n, 2);
    assert_string_equal(cu->extra_timezones.v[0], "America/Los_Angeles");
    assert_string_equal(cu->extra_timezones.v[1], "America/Phoenix");
    json_decref(j);

    const char *prom =
        "{\"customer_id\":\"C-1\",\"invoice_ids\":[\"INV-1\",\"INV-2\"],"
        "\"currency\":\"EUR\",\"amount_minor\":30000,\"promised_on\":\"2026-04-10\"}";
    ct_type proms[] = {CT_EV_PROMISE_MADE, CT_EV_PROMISE_KEPT, CT_EV_PROMISE_BROKEN};
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof buf, ENV("%s", "%s"), ct_type_name(proms[i]), prom);
        decode_ok(buf, proms[i], &ev, &j);
        assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_PROMISE);
        assert_int_equal(ev.data.promise.invoice_ids.n, 2);
        assert_string_equal(ev.data.promise.invoice_ids.v[0], "INV-1");
        assert_true(ev.data.promise.amount_minor == 30000);
        assert_string_equal(ev.data.promise.promised_on.s, "2026-04-10");
        seen[ev.type] = 1;
        json_decref(j);
    }

    ct_type disp[] = {CT_EV_DISPUTE_OPENED, CT_EV_DISPUTE_RESOLVED};
    for (int i = 0; i < 2; i++) {
        snprintf(buf, sizeof buf, ENV("%s", "{\"invoice_id\":\"INV-1\",\"reason\":\"wrong qty\"}"),
                 ct_type_name(disp[i]));
        decode_ok(buf, disp[i], &ev, &j);
        assert_string_equal(ev.data.dispute.invoice_id, "INV-1");
        assert_string_equal(ev.data.dispute.reason, "wrong qty");
        seen[ev.type] = 1;
        json_decref(j);
    }

    /* contact.ceased and contact.resumed: a channel, or every channel */
    ct_type consent[] = {CT_EV_CONTACT_CEASED, CT_EV_CONTACT_RESUMED};
    for (int i = 0; i < 2; i++) {
        const char *bodies[] = {"{\"customer_id\":\"C-1\",\"channel\":\"sms\"}",
                                "{\"customer_id\":\"C-1\"}"};
        for (int k = 0; k < 2; k++) {
            snprintf(buf, sizeof buf, ENV("%s", "%s"), ct_type_name(consent[i]), bodies[k]);
            decode_ok(buf, consent[i], &ev, &j);
            ct_channel ch = i == 0 ? ev.data.ceased.channel : ev.data.resumed.channel;
            assert_int_equal(ct_event_shape(ev.type), i == 0 ? CT_SHAPE_CEASED : CT_SHAPE_RESUMED);
            assert_int_equal(ch, k == 0 ? CT_CH_SMS : CT_CH_NONE);
            seen[ev.type] = 1;
            json_decref(j);
        }
    }

    decode_ok(ENV("contact.logged",
                  "{\"customer_id\":\"C-1\",\"channel\":\"call_task\",\"outcome\":"
                  "\"conversation\",\"at\":\"2026-03-01T08:30:00.000Z\",\"invoice_ids\":"
                  "[\"INV-1\",\"INV-2\"],\"agent\":\"j.doe\",\"notes\":\"pays Friday\\n\"}"),
              CT_EV_CONTACT_LOGGED, &ev, &j);
    assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_CONTACT_LOG);
    const ct_contact_log *cl = &ev.data.contact_log;
    assert_int_equal(cl->channel, CT_CH_CALL_TASK);
    assert_int_equal(cl->outcome, CT_CALL_CONVERSATION);
    assert_string_equal(cl->at, "2026-03-01T08:30:00.000Z");
    assert_true(cl->at_ms == 1772355600000LL - 1800000);
    assert_int_equal(cl->invoice_ids.n, 2);
    assert_string_equal(cl->invoice_ids.v[1], "INV-2");
    assert_string_equal(cl->agent, "j.doe");
    assert_string_equal(cl->notes, "pays Friday\n");
    json_decref(j);
    const char *outs[] = {"voicemail", "no_answer", "wrong_number"};
    ct_call_outcome wants[] = {CT_CALL_VOICEMAIL, CT_CALL_NO_ANSWER, CT_CALL_WRONG_NUMBER};
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof buf,
                 ENV("contact.logged", "{\"channel\":\"sms\",\"outcome\":\"%s\","
                                       "\"at\":\"2026-03-01T09:00:00.000Z\"}"),
                 outs[i]);
        decode_ok(buf, CT_EV_CONTACT_LOGGED, &ev, &j);
        assert_int_equal(ev.data.contact_log.outcome, wants[i]);
        assert_int_equal(ev.data.contact_log.channel, CT_CH_SMS);
        assert_int_equal(ev.data.contact_log.invoice_ids.n, 0);
        assert_null(ev.data.contact_log.agent);
        assert_null(ev.data.contact_log.notes);
        seen[ev.type] = 1;
        json_decref(j);
    }

    /* issue 16: the scheduler's escalation.placed (replaces invoice.escalated) */
    decode_ok(ENV("escalation.placed",
                  "{\"case_id\":\"case-0123456789abcdef\",\"customer_id\":\"C-1\","
                  "\"to\":\"agency\",\"invoice_ids\":[\"INV-1\",\"INV-2\"],\"currency\":"
                  "\"GBP\",\"placed_minor\":25000,\"expected_net_minor\":6938,"
                  "\"command_id\":\"acme/inv/INV-1/step/5/attempt/1\"}"),
              CT_EV_ESCALATION_PLACED, &ev, &j);
    assert_false(ct_type_inbound(ev.type));
    assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_PLACEMENT);
    const ct_placement *pc = &ev.data.placement;
    assert_string_equal(pc->case_id, "case-0123456789abcdef");
    assert_int_equal(pc->to, CT_TO_AGENCY);
    assert_int_equal(pc->invoice_ids.n, 2);
    assert_string_equal(pc->invoice_ids.v[1], "INV-2");
    assert_string_equal(pc->currency, "GBP");
    assert_true(pc->placed_minor == 25000);
    assert_true(pc->expected_net_minor == 6938);
    assert_string_equal(pc->command_id, "acme/inv/INV-1/step/5/attempt/1");
    seen[ev.type] = 1;
    json_decref(j);
    decode_ok(ENV("escalation.placed",
                  "{\"case_id\":\"case-fedcba9876543210\",\"to\":\"legal\",\"invoice_ids\":"
                  "[\"INV-1\"],\"currency\":\"EUR\",\"placed_minor\":1,"
                  "\"expected_net_minor\":1,\"command_id\":\"acme/inv/INV-1/step/7/attempt/1\"}"),
              CT_EV_ESCALATION_PLACED, &ev, &j);
    assert_int_equal(ev.data.placement.to, CT_TO_LEGAL);
    assert_string_equal(ct_escalation_to_name(ev.data.placement.to), "legal");
    json_decref(j);

    /* issue 16: the agency's answers */
    decode_ok(ENV("escalation.accepted", "{\"case_id\":\"case-0123456789abcdef\","
                                         "\"customer_id\":\"C-1\",\"agency_ref\":\"AG-77\"}"),
              CT_EV_ESCALATION_ACCEPTED, &ev, &j);
    assert_true(ct_type_inbound(ev.type));
    assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_CASE_EVENT);
    assert_string_equal(ev.data.case_event.case_id, "case-0123456789abcdef");
    assert_string_equal(ev.data.case_event.agency_ref, "AG-77");
    assert_null(ev.data.case_event.reason);
    seen[ev.type] = 1;
    json_decref(j);
    decode_ok(ENV("escalation.recalled", "{\"case_id\":\"case-0123456789abcdef\","
                                         "\"reason\":\"debtor paid us directly\"}"),
              CT_EV_ESCALATION_RECALLED, &ev, &j);
    assert_true(ct_type_inbound(ev.type));
    assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_CASE_EVENT);
    assert_string_equal(ev.data.case_event.case_id, "case-0123456789abcdef");
    assert_null(ev.data.case_event.agency_ref);
    assert_string_equal(ev.data.case_event.reason, "debtor paid us directly");
    seen[ev.type] = 1;
    json_decref(j);
    decode_ok(ENV("escalation.remitted", "{\"case_id\":\"case-0123456789abcdef\","
                                         "\"customer_id\":\"C-1\",\"currency\":\"GBP\","
                                         "\"amount_minor\":10000,\"commission_minor\":2500}"),
              CT_EV_ESCALATION_REMITTED, &ev, &j);
    assert_true(ct_type_inbound(ev.type));
    assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_REMITTANCE);
    assert_string_equal(ev.data.remittance.case_id, "case-0123456789abcdef");
    assert_string_equal(ev.data.remittance.currency, "GBP");
    assert_true(ev.data.remittance.amount_minor == 10000);
    assert_true(ev.data.remittance.commission_minor == 2500);
    seen[ev.type] = 1;
    json_decref(j);
    /* no commission, and a commission of the whole amount */
    decode_ok(ENV("escalation.remitted", "{\"case_id\":\"K\",\"currency\":\"EUR\","
                                         "\"amount_minor\":500,\"commission_minor\":0}"),
              CT_EV_ESCALATION_REMITTED, &ev, &j);
    assert_true(ev.data.remittance.commission_minor == 0);
    json_decref(j);
    decode_ok(ENV("escalation.remitted", "{\"case_id\":\"K\",\"currency\":\"EUR\","
                                         "\"amount_minor\":500,\"commission_minor\":500}"),
              CT_EV_ESCALATION_REMITTED, &ev, &j);
    assert_true(ev.data.remittance.commission_minor == 500);
    json_decref(j);

    /* issue 14: the scheduler's money events */
    decode_ok(ENV("invoice.fee_charged",
                  "{\"invoice_id\":\"INV-1\",\"customer_id\":\"C-1\",\"currency\":\"GBP\","
                  "\"amount_minor\":1500,\"step\":1,\"charged_on\":\"2026-03-15\"}"),
              CT_EV_INVOICE_FEE_CHARGED, &ev, &j);
    assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_FEE_CHARGED);
    assert_string_equal(ev.data.fee_charged.invoice_id, "INV-1");
    assert_string_equal(ev.data.fee_charged.currency, "GBP");
    assert_true(ev.data.fee_charged.amount_minor == 1500);
    assert_int_equal(ev.data.fee_charged.step, 1);
    assert_string_equal(ev.data.fee_charged.charged_on.s, "2026-03-15");
    seen[ev.type] = 1;
    json_decref(j);

    const char *reasons[] = {"paid_within", "principal_paid"};
    ct_waiver wreasons[] = {CT_WAIVER_PAID_WITHIN, CT_WAIVER_PRINCIPAL_PAID};
    for (int i = 0; i < 2; i++) {
        snprintf(buf, sizeof buf,
                 ENV("invoice.fee_waived", "{\"invoice_id\":\"INV-1\",\"currency\":\"EUR\","
                                           "\"amount_minor\":1000,\"reason\":\"%s\"}"),
                 reasons[i]);
        decode_ok(buf, CT_EV_INVOICE_FEE_WAIVED, &ev, &j);
        assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_FEE_WAIVED);
        assert_string_equal(ev.data.fee_waived.invoice_id, "INV-1");
        assert_string_equal(ev.data.fee_waived.currency, "EUR");
        assert_true(ev.data.fee_waived.amount_minor == 1000);
        assert_int_equal(ev.data.fee_waived.reason, wreasons[i]);
        seen[ev.type] = 1;
        json_decref(j);
    }

    const char *schemes[] = {"uk_late_payment", "eu_late_payment", "contractual"};
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof buf,
                 ENV("invoice.interest_claimed",
                     "{\"invoice_id\":\"INV-1\",\"currency\":\"GBP\",\"interest_minor\":%d,"
                     "\"compensation_minor\":4000,\"scheme\":\"%s\",\"days_late\":40}"),
                 i == 2 ? 0 : 1452, schemes[i]);
        decode_ok(buf, CT_EV_INVOICE_INTEREST_CLAIMED, &ev, &j);
        const ct_interest_claimed *ic = &ev.data.interest_claimed;
        assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_INTEREST_CLAIMED);
        assert_string_equal(ic->invoice_id, "INV-1");
        assert_true(ic->interest_minor == (i == 2 ? 0 : 1452));
        assert_true(ic->compensation_minor == 4000);
        assert_int_equal(ic->scheme, (ct_interest_scheme)i);
        assert_string_equal(ct_interest_scheme_name(ic->scheme), schemes[i]);
        assert_int_equal(ic->days_late, 40);
        seen[ev.type] = 1;
        json_decref(j);
    }

    const char *offers[] = {"discount", "settlement"};
    for (int i = 0; i < 2; i++) {
        snprintf(buf, sizeof buf,
                 ENV("invoice.settled", "{\"invoice_id\":\"INV-1\",\"currency\":\"EUR\","
                                        "\"paid_minor\":80000,\"forgiven_minor\":20000,"
                                        "\"offer\":\"%s\"}"),
                 offers[i]);
        decode_ok(buf, CT_EV_INVOICE_SETTLED, &ev, &j);
        assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_SETTLED);
        assert_string_equal(ev.data.settled.invoice_id, "INV-1");
        assert_string_equal(ev.data.settled.currency, "EUR");
        assert_true(ev.data.settled.paid_minor == 80000);
        assert_true(ev.data.settled.forgiven_minor == 20000);
        assert_int_equal(ev.data.settled.offer, i == 0 ? CT_OFFER_DISCOUNT : CT_OFFER_SETTLEMENT);
        seen[ev.type] = 1;
        json_decref(j);
    }

    /* issue 16: instalment plans */
    decode_ok(ENV("plan.agreed",
                  "{\"plan_id\":\"PLAN-1\",\"customer_id\":\"C-1\",\"invoice_ids\":[\"INV-1\","
                  "\"INV-2\"],\"currency\":\"EUR\",\"instalments\":[{\"due_on\":\"2026-04-01\","
                  "\"amount_minor\":10050},{\"due_on\":\"2026-05-01\",\"amount_minor\":10025},"
                  "{\"due_on\":\"2026-06-01\",\"amount_minor\":9925}],\"total_minor\":30000,"
                  "\"source\":\"agent\"}"),
              CT_EV_PLAN_AGREED, &ev, &j);
    assert_true(ct_type_inbound(ev.type));
    assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_PLAN);
    const ct_plan *pl = &ev.data.plan;
    assert_string_equal(pl->plan_id, "PLAN-1");
    assert_int_equal(pl->invoice_ids.n, 2);
    assert_string_equal(pl->invoice_ids.v[1], "INV-2");
    assert_string_equal(pl->currency, "EUR");
    assert_true(pl->total_minor == 30000);
    assert_int_equal(pl->ninstalments, 3);
    assert_string_equal(pl->instalments[0].due_on.s, "2026-04-01");
    assert_int_equal(pl->instalments[2].due_on.day - pl->instalments[0].due_on.day, 61);
    assert_true(pl->instalments[1].amount_minor == 10025);
    assert_int_equal(pl->source, CT_PLAN_SRC_AGENT);
    assert_string_equal(ct_plan_source_name(pl->source), "agent");
    seen[ev.type] = 1;
    json_decref(j);
    decode_ok(ENV("plan.agreed", "{\"plan_id\":\"PLAN-2\",\"invoice_ids\":[\"INV-9\"],"
                                 "\"currency\":\"JPY\",\"instalments\":[{\"due_on\":"
                                 "\"2026-04-30\",\"amount_minor\":5000}],\"total_minor\":5000}"),
              CT_EV_PLAN_AGREED, &ev, &j);
    assert_int_equal(ev.data.plan.ninstalments, 1);
    assert_int_equal(ev.data.plan.source, CT_PLAN_SRC_NONE);
    json_decref(j);
    decode_ok(ENV("plan.cancelled", "{\"plan_id\":\"PLAN-1\",\"reason\":\"paid in full\"}"),
              CT_EV_PLAN_CANCELLED, &ev, &j);
    assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_PLAN_CANCEL);
    assert_string_equal(ev.data.plan_cancel.plan_id, "PLAN-1");
    assert_string_equal(ev.data.plan_cancel.reason, "paid in full");
    seen[ev.type] = 1;
    json_decref(j);

    /* issue 16: the scheduler's plan.broken and plan.completed */
    decode_ok(ENV("plan.broken",
                  "{\"customer_id\":\"C-1\",\"plan_id\":\"PLAN-1\",\"invoice_ids\":[\"INV-1\","
                  "\"INV-2\"],\"currency\":\"GBP\",\"total_minor\":90000,\"paid_minor\":40000,"
                  "\"instalment\":2,\"due_on\":\"2026-04-10\",\"short_minor\":20000}"),
              CT_EV_PLAN_BROKEN, &ev, &j);
    assert_false(ct_type_inbound(ev.type));
    assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_PLAN_OUTCOME);
    const ct_plan_outcome *po = &ev.data.plan_outcome;
    assert_string_equal(po->plan_id, "PLAN-1");
    assert_int_equal(po->invoice_ids.n, 2);
    assert_string_equal(po->invoice_ids.v[0], "INV-1");
    assert_string_equal(po->currency, "GBP");
    assert_true(po->total_minor == 90000);
    assert_true(po->paid_minor == 40000);
    assert_int_equal(po->instalment, 2);
    assert_string_equal(po->due_on.s, "2026-04-10");
    assert_int_equal(po->due_on.day, 20553);
    assert_true(po->short_minor == 20000);
    seen[ev.type] = 1;
    json_decref(j);
    decode_ok(ENV("plan.completed",
                  "{\"plan_id\":\"PLAN-1\",\"invoice_ids\":[\"INV-1\"],\"currency\":\"GBP\","
                  "\"total_minor\":90000,\"paid_minor\":90000}"),
              CT_EV_PLAN_COMPLETED, &ev, &j);
    assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_PLAN_OUTCOME);
    po = &ev.data.plan_outcome;
    assert_string_equal(po->plan_id, "PLAN-1");
    assert_true(po->paid_minor == 90000);
    assert_int_equal(po->instalment, 0);
    assert_null(po->due_on.s);
    assert_true(po->short_minor == 0);
    seen[ev.type] = 1;
    json_decref(j);

    /* issue 17: the way back in */
    decode_ok(ENV("contact.replied", "{\"channel\":\"sms\",\"text\":\"Can I pay\\nnext week?\","
                                     "\"provider_id\":\"SM1\"}"),
              CT_EV_CONTACT_REPLIED, &ev, &j);
    assert_true(ct_type_inbound(ev.type));
    assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_REPLY);
    assert_int_equal(ev.data.reply.channel, CT_CH_SMS);
    assert_string_equal(ev.data.reply.text, "Can I pay\nnext week?");
    assert_string_equal(ev.data.reply.provider_id, "SM1");
    assert_null(ev.data.reply.phone);
    seen[ev.type] = 1;
    json_decref(j);
    static const ct_type deliveries[] = {CT_EV_CONTACT_DELIVERED, CT_EV_CONTACT_BOUNCED,
                                         CT_EV_CONTACT_COMPLAINED};
    const char *ddata[] = {
        "{\"channel\":\"sms\",\"command_id\":\"acme/inv/I-1/step/1/attempt/0\","
        "\"template\":\"sms-1\",\"provider_id\":\"SM2\"}",
        "{\"channel\":\"email\",\"command_id\":\"acme/inv/I-1/step/1/attempt/0\","
        "\"template\":\"reminder-1\",\"kind\":\"hard\",\"address\":\"a@b.example\"}",
        "{\"channel\":\"email\",\"command_id\":\"acme/inv/I-1/step/1/attempt/0\","
        "\"template\":\"reminder-1\"}"};
    for (int i = 0; i < 3; i++) {
        char dbuf[512];
        snprintf(dbuf, sizeof dbuf,
                 "{\"v\":1,\"id\":\"e-1\",\"source\":\"gw\",\"type\":\"%s\",\"tenant\":"
                 "\"acme\",\"time\":\"2026-03-01T09:00:00.000Z\",\"customer_id\":\"C-1\","
                 "\"data\":%s}",
                 ct_type_name(deliveries[i]), ddata[i]);
        decode_ok(dbuf, deliveries[i], &ev, &j);
        assert_int_equal(ct_event_shape(ev.type), CT_SHAPE_DELIVERY);
        const ct_delivery *dl = &ev.data.delivery;
        assert_int_equal(dl->channel, i == 0 ? CT_CH_SMS : CT_CH_EMAIL);
        assert_string_equal(dl->command_id, "acme/inv/I-1/step/1/attempt/0");
        assert_string_equal(dl->template_id, i == 0 ? "sms-1" : "reminder-1");
        assert_int_equal(dl->kind, i == 1 ? CT_BOUNCE_HARD : CT_BOUNCE_NONE);
        if (i == 1)
            assert_string_equal(dl->address, "a@b.example");
        else
            assert_null(dl->address);
        seen[ev.type] = 1;
        json_decref(j);
    }
    assert_string_equal(ct_bounce_kind_name(CT_BOUNCE_SOFT), "soft");
    assert_int_equal(ct_bounce_kind_parse("hard", 4), CT_BOUNCE_HARD);
    assert_int_equal(ct_bounce_kind_parse("permanent", 9), CT_BOUNCE_NONE);

    for (int t = 0; t < CT_EV_COUNT; t++)
        if (!seen[t])
            fail_msg("type %s not decoded", ct_type_name((ct_type)t));
}

/* issue 17: an SMS names a phone, not a customer. ct_validate accepts it
 * with v.phone set and no customer; ct_verdict_for_customer makes the
 * canonical event of each customer (expected events written by hand). */
static void test_phone_verdict(void **state)
{
    (void)state;
    const char *in = "{\"specversion\":\"1.0\",\"id\":\"sms/SM9\",\"source\":\"gw\","
                     "\"type\":\"contact.ceased\",\"time\":\"2026-03-01T09:00:00Z\","
                     "\"tenant\":\"acme\",\"data\":{\"phone\":\"+447700900123\","
                     "\"channel\":\"sms\"}}";
    ct_limits lim = {CT_DEFAULT_MAX_BYTES, CT_DEFAULT_MAX_DEPTH};
    ct_message m = {in, strlen(in), NULL, 0, NULL, 0, "inbound", 0, 0, 0};
    ct_verdict v;
    char err[128];
    assert_int_equal(ct_validate(&lim, &m, &v, err, sizeof err), 0);
    assert_true(v.accepted);
    assert_string_equal(v.phone, "+447700900123");
    assert_string_equal(v.key, "acme/+447700900123");
    size_t len = 0;
    char key[CT_KEY_MAX], id[CT_PHONE_EVENT_ID_MAX + 1];
    char *body = ct_verdict_for_customer(&v, "C-\"7", &len, key, id);
    assert_non_null(body);
    assert_int_equal(len, strlen(body));
    assert_string_equal(key, "acme/C-\"7");
    assert_string_equal(id, "sms/SM9/C-\"7");
    json_t *got = load(body);
    json_t *want = load("{\"v\":1,\"id\":\"sms/SM9/C-\\\"7\",\"source\":\"gw\","
                        "\"type\":\"contact.ceased\",\"tenant\":\"acme\","
                        "\"time\":\"2026-03-01T09:00:00.000Z\",\"customer_id\":\"C-\\\"7\","
                        "\"trace_id\":\"x\",\"data\":{\"customer_id\":\"C-\\\"7\","
                        "\"phone\":\"+447700900123\",\"channel\":\"sms\"}}");
    json_object_set(want, "trace_id", json_object_get(got, "trace_id"));
    assert_true(json_equal(got, want));
    /* and it is a canonical event */
    ct_event ev;
    assert_int_equal(ct_test_decode(got, &ev, err, sizeof err), 0);
    assert_int_equal(ev.type, CT_EV_CONTACT_CEASED);
    assert_string_equal(ev.customer_id, "C-\"7");
    assert_string_equal(ev.data.ceased.phone, "+447700900123");
    assert_int_equal(ev.data.ceased.channel, CT_CH_SMS);
    json_decref(got);
    json_decref(want);
    free(body);
    /* not for an empty customer, nor for a verdict that named a customer */
    assert_null(ct_verdict_for_customer(&v, "", &len, key, id));
    ct_verdict_clear(&v);
    const char *in2 = "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"gw\","
                      "\"type\":\"contact.ceased\",\"time\":\"2026-03-01T09:00:00Z\","
                      "\"data\":{\"customer_id\":\"C-1\"}}";
    ct_message m2 = {in2, strlen(in2), NULL, 0, NULL, 0, "inbound", 0, 0, 0};
    assert_int_equal(ct_validate(&lim, &m2, &v, err, sizeof err), 0);
    assert_true(v.accepted);
    assert_string_equal(v.phone, "");
    assert_string_equal(v.key, "default/C-1");
    assert_null(ct_verdict_for_customer(&v, "C-1", &len, key, id));
    ct_verdict_clear(&v);
    ct_thread_cleanup();
}

/* customer.upserted's kind (issue 14): business when absent. */
static void test_customer_kind(void **state)
{
    (void)state;
    ct_event ev;
    json_t *j;
    decode_ok(ENV("customer.upserted", "{\"name\":\"Ada Ltd\"}"), CT_EV_CUSTOMER_UPSERTED, &ev, &j);
    assert_int_equal(ev.data.customer.kind, CT_DEBTOR_BUSINESS);
    json_decref(j);
    decode_ok(ENV("customer.upserted", "{\"name\":\"Ada Ltd\",\"kind\":\"business\"}"),
              CT_EV_CUSTOMER_UPSERTED, &ev, &j);
    assert_int_equal(ev.data.customer.kind, CT_DEBTOR_BUSINESS);
    json_decref(j);
    decode_ok(ENV("customer.upserted", "{\"name\":\"Bob\",\"kind\":\"consumer\"}"),
              CT_EV_CUSTOMER_UPSERTED, &ev, &j);
    assert_int_equal(ev.data.customer.kind, CT_DEBTOR_CONSUMER);
    assert_string_equal(ct_debtor_kind_name(ev.data.customer.kind), "consumer");
    json_decref(j);
}

/* A failing decode names the field and the rule. */
static void expect_fail(const char *s, const char *want)
{
    char err[256] = "";
    ct_event ev;
    json_t *j = load(s);
    assert_int_equal(ct_test_decode(j, &ev, err, sizeof err), -1);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("error \"%s\", expected it to start \"%s\"", err, want);
    json_decref(j);
}

static void test_failures(void **state)
{
    (void)state;
    expect_fail("[1]", "(event): type");
    expect_fail("{\"v\":1,\"type\":\"invoice.voided\"}", "id: required");
    expect_fail("{\"v\":1}", "type: required");
    expect_fail(ENV("invoice.voided", "{}"), "data.invoice_id: required");
    expect_fail(ENV("invoice.voided", "{\"invoice_id\":7}"), "data.invoice_id: type");
    expect_fail(ENV("invoice.voided", "{\"invoice_id\":\"\"}"), "data.invoice_id: non_empty");
    expect_fail(ENV("invoice.voided", "{\"invoice_id\":\"I\",\"customer_id\":\"C-2\"}"),
                "data.customer_id: customer_id");
    expect_fail(ENV("invoice.issued", "{\"invoice_id\":\"I\",\"currency\":\"eur\","
                                      "\"amount_minor\":1,\"issued_on\":\"2026-03-01\","
                                      "\"due_on\":\"2026-03-31\"}"),
                "data.currency: currency");
    expect_fail(ENV("invoice.issued", "{\"invoice_id\":\"I\",\"currency\":\"EUR\","
                                      "\"amount_minor\":\"1.00\",\"issued_on\":\"2026-03-01\","
                                      "\"due_on\":\"2026-03-31\"}"),
                "data.amount_minor: type");
    expect_fail(ENV("invoice.issued", "{\"invoice_id\":\"I\",\"currency\":\"EUR\","
                                      "\"amount_minor\":1,\"issued_on\":\"2026-02-30\","
                                      "\"due_on\":\"2026-03-31\"}"),
                "data.issued_on: date");
    expect_fail(ENV("payment.received",
                    "{\"payment_id\":\"P\",\"currency\":\"EUR\",\"amount_minor\":1,"
                    "\"received_on\":\"2026-03-01\",\"allocations\":[{\"invoice_id\":\"I\","
                    "\"amount_minor\":5}]}"),
                "data.allocations: allocations_sum");
    expect_fail(ENV("payment.received",
                    "{\"payment_id\":\"P\",\"currency\":\"EUR\",\"amount_minor\":9,"
                    "\"received_on\":\"2026-03-01\",\"allocations\":[{\"amount_minor\":5}]}"),
                "data.allocations[0].invoice_id: required");
    expect_fail(ENV("promise.made", "{\"invoice_ids\":[],\"currency\":\"EUR\","
                                    "\"amount_minor\":1,\"promised_on\":\"2026-03-01\"}"),
                "data.invoice_ids: non_empty");
    expect_fail(ENV("customer.upserted", "{\"name\":\"A\",\"channels\":[\"pigeon\"]}"),
                "data.channels[0]: channel");
    expect_fail(ENV("contact.ceased", "{\"channel\":\"fax\"}"), "data.channel: channel");
    expect_fail(ENV("contact.resumed", "{\"channel\":\"fax\"}"), "data.channel: channel");

    /* contact.logged: outcome from the list, channel and at required, notes
     * up to 2000 bytes */
#define LOGGED(extra)                                                                              \
    ENV("contact.logged", "{\"channel\":\"call_task\",\"outcome\":\"voicemail\","                  \
                          "\"at\":\"2026-03-01T09:00:00.000Z\"" extra "}")
    expect_fail(ENV("contact.logged", "{\"channel\":\"sms\",\"outcome\":\"busy\","
                                      "\"at\":\"2026-03-01T09:00:00.000Z\"}"),
                "data.outcome: outcome");
    expect_fail(ENV("contact.logged", "{\"outcome\":\"voicemail\","
                                      "\"at\":\"2026-03-01T09:00:00.000Z\"}"),
                "data.channel: required");
    expect_fail(ENV("contact.logged", "{\"channel\":\"sms\",\"outcome\":\"voicemail\"}"),
                "data.at: required");
    expect_fail(LOGGED(",\"at\":\"yesterday\""), "data.at: rfc3339");
    expect_fail(ENV("contact.logged", "{\"channel\":\"sms\",\"outcome\":\"voicemail\","
                                      "\"at\":\"March 1\"}"),
                "data.at: rfc3339");
    expect_fail(LOGGED(",\"invoice_ids\":[\"\"]"), "data.invoice_ids[0]: item");
    {
        char notes[CT_NOTES_MAX + 2], big[CT_NOTES_MAX + 512];
        memset(notes, 'n', CT_NOTES_MAX);
        notes[CT_NOTES_MAX] = 0;
        snprintf(big, sizeof big, LOGGED(",\"notes\":\"%s\""), notes);
        ct_event ev;
        char err[256];
        json_t *j = load(big);
        if (ct_test_decode(j, &ev, err, sizeof err) != 0)
            fail_msg("2000 bytes of notes refused: %s", err);
        assert_int_equal(strlen(ev.data.contact_log.notes), CT_NOTES_MAX);
        json_decref(j);
        strcat(notes, "n");
        snprintf(big, sizeof big, LOGGED(",\"notes\":\"%s\""), notes);
        expect_fail(big, "data.notes: max_length (longer than 2000 bytes)");
    }
#undef LOGGED

    /* issue 14: the scheduler's money events */
#define FEE(body) ENV("invoice.fee_charged", "{" body "}")
    expect_fail(FEE("\"invoice_id\":\"I\",\"currency\":\"GBP\",\"amount_minor\":0,\"step\":1,"
                    "\"charged_on\":\"2026-03-15\""),
                "data.amount_minor: amount_positive (must be greater than 0)");
    expect_fail(FEE("\"invoice_id\":\"I\",\"currency\":\"GBP\",\"amount_minor\":-5,\"step\":1,"
                    "\"charged_on\":\"2026-03-15\""),
                "data.amount_minor: amount_negative");
    expect_fail(FEE("\"invoice_id\":\"I\",\"currency\":\"GBP\",\"amount_minor\":5,\"step\":-1,"
                    "\"charged_on\":\"2026-03-15\""),
                "data.step: step (must be an integer from 0 to 1000000)");
    expect_fail(FEE("\"invoice_id\":\"I\",\"currency\":\"GBP\",\"amount_minor\":5,"
                    "\"charged_on\":\"2026-03-15\""),
                "data.step: required");
    expect_fail(FEE("\"invoice_id\":\"I\",\"currency\":\"GBP\",\"amount_minor\":5,\"step\":1,"
                    "\"charged_on\":\"15/03/2026\""),
                "data.charged_on: date (not a date (YYYY-MM-DD))");
    expect_fail(FEE("\"invoice_id\":\"I\",\"currency\":\"GBP\",\"amount_minor\":5,\"step\":1"),
                "data.charged_on: required");
    expect_fail(FEE("\"currency\":\"GBP\",\"amount_minor\":5,\"step\":1,"
                    "\"charged_on\":\"2026-03-15\""),
                "data.invoice_id: required");
#undef FEE
    expect_fail(ENV("invoice.fee_waived", "{\"invoice_id\":\"I\",\"currency\":\"EUR\","
                                          "\"amount_minor\":100,\"reason\":\"goodwill\"}"),
                "data.reason: reason (must be paid_within or principal_paid)");
    expect_fail(ENV("invoice.fee_waived",
                    "{\"invoice_id\":\"I\",\"currency\":\"EUR\",\"amount_minor\":100}"),
                "data.reason: required");
    expect_fail(ENV("invoice.fee_waived", "{\"invoice_id\":\"I\",\"currency\":\"EUR\","
                                          "\"amount_minor\":0,\"reason\":\"paid_within\"}"),
                "data.amount_minor: amount_positive");
#define CLAIM(body)                                                                                \
    ENV("invoice.interest_claimed", "{\"invoice_id\":\"I\",\"currency\":\"GBP\"," body "}")
    expect_fail(CLAIM("\"interest_minor\":1,\"compensation_minor\":0,\"scheme\":\"gb_late\","
                      "\"days_late\":3"),
                "data.scheme: scheme (must be uk_late_payment, eu_late_payment or contractual)");
    expect_fail(CLAIM("\"interest_minor\":1,\"compensation_minor\":0,\"scheme\":\"contractual\","
                      "\"days_late\":0"),
                "data.days_late: days_late (must be an integer greater than 0)");
    expect_fail(CLAIM("\"interest_minor\":1,\"compensation_minor\":0,\"scheme\":\"contractual\","
                      "\"days_late\":\"3\""),
                "data.days_late: days_late");
    expect_fail(CLAIM("\"interest_minor\":-1,\"compensation_minor\":0,\"scheme\":\"contractual\","
                      "\"days_late\":3"),
                "data.interest_minor: amount_negative");
    expect_fail(CLAIM("\"interest_minor\":1,\"scheme\":\"contractual\",\"days_late\":3"),
                "data.compensation_minor: required");
#undef CLAIM
#define SETTLED(body) ENV("invoice.settled", "{\"invoice_id\":\"I\",\"currency\":\"EUR\"," body "}")
    expect_fail(SETTLED("\"paid_minor\":1,\"forgiven_minor\":0,\"offer\":\"settlement\""),
                "data.forgiven_minor: amount_positive");
    expect_fail(SETTLED("\"paid_minor\":1,\"forgiven_minor\":2,\"offer\":\"voucher\""),
                "data.offer: offer (must be discount or settlement)");
    expect_fail(SETTLED("\"paid_minor\":-1,\"forgiven_minor\":2,\"offer\":\"discount\""),
                "data.paid_minor: amount_negative");
    expect_fail(SETTLED("\"paid_minor\":1,\"forgiven_minor\":2"), "data.offer: required");
#undef SETTLED
    /* issue 16: plan.agreed's instalments and total, plan.cancelled's reason */
#define PLAN(inst, rest)                                                                           \
    ENV("plan.agreed", "{\"plan_id\":\"P\",\"invoice_ids\":[\"I\"],\"currency\":\"EUR\","          \
                       "\"instalments\":[" inst "]" rest "}")
#define I1 "{\"due_on\":\"2026-04-01\",\"amount_minor\":100}"
#define I2 "{\"due_on\":\"2026-05-01\",\"amount_minor\":200}"
    expect_fail(PLAN(I1 "," I2, ",\"total_minor\":301"),
                "data.total_minor: instalments_sum (must equal the sum of the instalments)");
    expect_fail(PLAN(I2 "," I1, ",\"total_minor\":300"),
                "data.instalments[1].due_on: rising (must be after data.instalments[0].due_on)");
    expect_fail(PLAN(I1 "," I1, ",\"total_minor\":200"), "data.instalments[1].due_on: rising");
    expect_fail(PLAN(I1 ",{\"due_on\":\"2026-05-01\",\"amount_minor\":0}", ",\"total_minor\":100"),
                "data.instalments[1].amount_minor: amount_positive");
    expect_fail(PLAN(I1 ",{\"due_on\":\"2026-05-01\",\"amount\":\"2.00\"}", ",\"total_minor\":300"),
                "data.instalments[1].amount_minor: required");
    expect_fail(
        PLAN(I1 ",{\"due_on\":\"2026-02-30\",\"amount_minor\":200}", ",\"total_minor\":300"),
        "data.instalments[1].due_on: date");
    expect_fail(PLAN(I1 ",7", ",\"total_minor\":100"), "data.instalments[1]: type");
    expect_fail(PLAN("", ",\"total_minor\":100"), "data.instalments: non_empty");
    expect_fail(PLAN(I1, ""), "data.total_minor: required");
    expect_fail(PLAN(I1, ",\"total_minor\":100,\"source\":\"email\""),
                "data.source: source (must be portal, agent or billing)");
    expect_fail(ENV("plan.agreed", "{\"plan_id\":\"P\",\"invoice_ids\":[\"I\"],"
                                   "\"currency\":\"EUR\",\"total_minor\":1}"),
                "data.instalments: required");
#undef I1
#undef I2
#undef PLAN
    {
        /* 60 instalments pass, 61 do not */
        char big[8192];
        size_t o = 0;
        o += (size_t)snprintf(big + o, sizeof big - o,
                              "{\"v\":1,\"id\":\"e-1\",\"source\":\"billing\",\"type\":"
                              "\"plan.agreed\",\"tenant\":\"acme\",\"time\":"
                              "\"2026-03-01T09:00:00.000Z\",\"customer_id\":\"C-1\",\"data\":"
                              "{\"plan_id\":\"P\",\"invoice_ids\":[\"I\"],\"currency\":"
                              "\"EUR\",\"instalments\":[");
        for (int i = 0; i < CT_PLAN_INSTALMENTS_MAX + 1; i++)
            o += (size_t)snprintf(big + o, sizeof big - o,
                                  "%s{\"due_on\":\"%04d-%02d-01\",\"amount_minor\":1}",
                                  i ? "," : "", 2026 + i / 12, 1 + i % 12);
        char *cut = big + o;
        snprintf(cut, sizeof big - o, "],\"total_minor\":%d}}", CT_PLAN_INSTALMENTS_MAX + 1);
        expect_fail(big, "data.instalments: max_items (more than 60 items)");
        /* drop the last item */
        char *last = strrchr(big, '{');
        snprintf(last - 1, sizeof big - (size_t)(last - 1 - big), "],\"total_minor\":%d}}",
                 CT_PLAN_INSTALMENTS_MAX);
        ct_event pev;
        char perr[256];
        json_t *pj = load(big);
        if (ct_test_decode(pj, &pev, perr, sizeof perr) != 0)
            fail_msg("60 instalments refused: %s", perr);
        assert_int_equal(pev.data.plan.ninstalments, CT_PLAN_INSTALMENTS_MAX);
        assert_string_equal(pev.data.plan.instalments[59].due_on.s, "2030-12-01");
        json_decref(pj);
    }
    expect_fail(ENV("plan.cancelled", "{\"plan_id\":\"P\"}"), "data.reason: required");
    /* issue 16: plan.broken names a valid instalment, its date and a shortfall > 0 */
#define ENDED(type, rest)                                                                          \
    ENV(type, "{\"plan_id\":\"P\",\"invoice_ids\":[\"I\"],\"currency\":\"EUR\","                   \
              "\"total_minor\":300" rest "}")
    expect_fail(ENDED("plan.broken", ",\"paid_minor\":100,\"instalment\":0,"
                                     "\"due_on\":\"2026-04-01\",\"short_minor\":100"),
                "data.instalment: instalment (must be an integer from 1 to 60)");
    expect_fail(ENDED("plan.broken", ",\"paid_minor\":100,\"instalment\":61,"
                                     "\"due_on\":\"2026-04-01\",\"short_minor\":100"),
                "data.instalment: instalment");
    expect_fail(ENDED("plan.broken", ",\"paid_minor\":100,\"instalment\":2,"
                                     "\"short_minor\":100"),
                "data.due_on: required");
    expect_fail(ENDED("plan.broken", ",\"paid_minor\":100,\"instalment\":2,"
                                     "\"due_on\":\"2026-02-30\",\"short_minor\":100"),
                "data.due_on: date");
    expect_fail(ENDED("plan.broken", ",\"paid_minor\":100,\"instalment\":2,"
                                     "\"due_on\":\"2026-04-01\",\"short_minor\":0"),
                "data.short_minor: amount_positive");
    expect_fail(ENDED("plan.broken", ",\"paid_minor\":-1,\"instalment\":2,"
                                     "\"due_on\":\"2026-04-01\",\"short_minor\":100"),
                "data.paid_minor: amount_negative");
    expect_fail(ENDED("plan.completed", ""), "data.paid_minor: required");
    expect_fail(ENV("plan.completed", "{\"plan_id\":\"P\",\"invoice_ids\":[],\"currency\":"
                                      "\"EUR\",\"total_minor\":300,\"paid_minor\":300}"),
                "data.invoice_ids: non_empty");
    expect_fail(ENV("plan.completed", "{\"plan_id\":\"P\",\"invoice_ids\":[\"I\"],\"currency\":"
                                      "\"EUR\",\"total_minor\":0,\"paid_minor\":0}"),
                "data.total_minor: amount_positive");
#undef ENDED
    expect_fail(ENV("plan.cancelled", "{\"reason\":\"r\"}"), "data.plan_id: required");

    /* issue 16: escalation.placed goes to an agency or to legal, for an
     * amount > 0, from a step's command */
#define PLACED(to, placed, cmd)                                                                    \
    ENV("escalation.placed",                                                                       \
        "{\"case_id\":\"case-0123456789abcdef\",\"to\":" to ","                                    \
        "\"invoice_ids\":[\"I\"],\"currency\":\"GBP\",\"placed_minor\":" placed                    \
        ",\"expected_net_minor\":100" cmd "}")
#define CMD ",\"command_id\":\"acme/inv/I/step/5/attempt/1\""
    expect_fail(PLACED("\"court\"", "25000", CMD), "data.to: to (must be agency or legal)");
    expect_fail(PLACED("\"Agency\"", "25000", CMD), "data.to: to");
    expect_fail(PLACED("1", "25000", CMD), "data.to: type");
    expect_fail(ENV("escalation.placed", "{\"case_id\":\"K\",\"invoice_ids\":[\"I\"],"
                                         "\"currency\":\"GBP\",\"placed_minor\":1,"
                                         "\"expected_net_minor\":1" CMD "}"),
                "data.to: required");
    expect_fail(PLACED("\"agency\"", "0", CMD), "data.placed_minor: amount_positive");
    expect_fail(PLACED("\"legal\"", "-5", CMD), "data.placed_minor: amount_negative");
    expect_fail(PLACED("\"agency\"", "25000", ""), "data.command_id: required");
    expect_fail(ENV("escalation.placed", "{\"case_id\":\"K\",\"to\":\"agency\","
                                         "\"invoice_ids\":[],\"currency\":\"GBP\","
                                         "\"placed_minor\":1,\"expected_net_minor\":1" CMD "}"),
                "data.invoice_ids: non_empty");
#undef CMD
#undef PLACED
    /* the agency's answers: accepted with its reference, recalled with a
     * reason, remitted with a commission of at most the amount */
    expect_fail(ENV("escalation.accepted", "{\"case_id\":\"K\"}"), "data.agency_ref: required");
    expect_fail(ENV("escalation.accepted", "{\"case_id\":\"K\",\"agency_ref\":\"\"}"),
                "data.agency_ref: non_empty");
    expect_fail(ENV("escalation.accepted", "{\"agency_ref\":\"A\"}"), "data.case_id: required");
    expect_fail(ENV("escalation.recalled", "{\"case_id\":\"K\"}"), "data.reason: required");
    expect_fail(ENV("escalation.recalled", "{\"case_id\":\"K\",\"agency_ref\":\"A\"}"),
                "data.reason: required");
    expect_fail(ENV("escalation.remitted", "{\"case_id\":\"K\",\"currency\":\"GBP\","
                                           "\"amount_minor\":100,\"commission_minor\":101}"),
                "data.commission_minor: commission_le_amount");
    expect_fail(ENV("escalation.remitted", "{\"case_id\":\"K\",\"currency\":\"GBP\","
                                           "\"amount_minor\":0,\"commission_minor\":0}"),
                "data.amount_minor: amount_positive");
    expect_fail(ENV("escalation.remitted", "{\"case_id\":\"K\",\"currency\":\"GBP\","
                                           "\"amount_minor\":100}"),
                "data.commission_minor: required");
    expect_fail(ENV("escalation.remitted", "{\"case_id\":\"K\",\"currency\":\"GBP\","
                                           "\"amount_minor\":100,\"commission_minor\":-1}"),
                "data.commission_minor: amount_negative");

    /* customer.upserted's kind */
    expect_fail(ENV("customer.upserted", "{\"name\":\"A\",\"kind\":\"charity\"}"),
                "data.kind: kind (must be business or consumer)");
    expect_fail(ENV("customer.upserted", "{\"name\":\"A\",\"kind\":1}"), "data.kind: type");

    /* customer.upserted: region up to 6 bytes, at most 4 extra zones */
    expect_fail(ENV("customer.upserted", "{\"name\":\"A\",\"region\":\"US-MASS\"}"),
                "data.region: max_length");
    expect_fail(ENV("customer.upserted",
                    "{\"name\":\"A\",\"extra_timezones\":[\"UTC\",\"Europe/Paris\","
                    "\"Europe/Rome\",\"Europe/Berlin\",\"Europe/Madrid\"]}"),
                "data.extra_timezones: max_items (more than 4 items)");
    expect_fail(ENV("customer.upserted", "{\"name\":\"A\",\"extra_timezones\":[7]}"),
                "data.extra_timezones[0]: item");
    expect_fail(ENV("customer.upserted", "{\"name\":\"A\",\"extra_timezones\":\"UTC\"}"),
                "data.extra_timezones: type");

    /* the one id limit: 200 bytes pass, 201 do not */
    char id200[CT_ID_MAX + 2], buf[1024];
    memset(id200, 'x', CT_ID_MAX);
    id200[CT_ID_MAX] = 0;
    snprintf(buf, sizeof buf, ENV("invoice.voided", "{\"invoice_id\":\"%s\"}"), id200);
    ct_event ev;
    char err[256];
    json_t *j = load(buf);
    assert_int_equal(ct_test_decode(j, &ev, err, sizeof err), 0);
    assert_int_equal(strlen(ev.data.invoice_ref.invoice_id), CT_ID_MAX);
    json_decref(j);
    strcat(id200, "x");
    snprintf(buf, sizeof buf, ENV("invoice.voided", "{\"invoice_id\":\"%s\"}"), id200);
    expect_fail(buf, "data.invoice_id: max_length (longer than 200 bytes)");

    /* an unknown type: -1, envelope filled, type CT_EV_NONE */
    j = load(ENV("invoice.teleported", "{}"));
    assert_int_equal(ct_test_decode(j, &ev, err, sizeof err), -1);
    assert_int_equal(ev.type, CT_EV_NONE);
    assert_string_equal(ev.id, "e-1");
    assert_string_equal(ev.type_name, "invoice.teleported");
    json_decref(j);
}

/* What the validator writes is what the decoder reads. */
static void test_ingest_outputs(void **state)
{
    (void)state;
    const char *base = "tests/data/ingest/accept";
    DIR *d = opendir(base);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[512], err[256];
        snprintf(path, sizeof path, "%s/%s/expected.json", base, e->d_name);
        json_error_t je;
        json_t *j = json_load_file(path, 0, &je);
        if (!j)
            fail_msg("%s: %s", path, je.text);
        ct_event ev;
        if (ct_test_decode(j, &ev, err, sizeof err) != 0)
            fail_msg("%s: %s", path, err);
        assert_true(ct_type_inbound(ev.type));
        assert_string_equal(ev.type_name, json_string_value(json_object_get(j, "type")));
        assert_string_equal(ev.customer_id, json_string_value(json_object_get(j, "customer_id")));
        assert_non_null(ev.trace_id);
        json_decref(j);
        n++;
    }
    closedir(d);
    assert_true(n >= 12);
}

static void test_call_outcomes(void **state)
{
    (void)state;
    const char *names[] = {"conversation", "voicemail", "no_answer", "wrong_number"};
    assert_int_equal(CT_CALL_COUNT, 4);
    for (int i = 0; i < CT_CALL_COUNT; i++) {
        assert_string_equal(ct_call_outcome_name((ct_call_outcome)i), names[i]);
        assert_int_equal(ct_call_outcome_parse(names[i], strlen(names[i])), i);
    }
    assert_int_equal(ct_call_outcome_parse("busy", 4), CT_CALL_NONE);
    assert_int_equal(ct_call_outcome_parse("voicemails", 10), CT_CALL_NONE);
    assert_int_equal(ct_call_outcome_parse("voicemails", 9), CT_CALL_VOICEMAIL);
    assert_int_equal(ct_call_outcome_parse(NULL, 0), CT_CALL_NONE);
    assert_string_equal(ct_call_outcome_name(CT_CALL_NONE), "");
    assert_string_equal(ct_call_outcome_name(CT_CALL_COUNT), "");
    /* the new types are inbound, with their wire names */
    assert_true(ct_type_inbound(CT_EV_CONTACT_LOGGED));
    assert_true(ct_type_inbound(CT_EV_CONTACT_RESUMED));
    assert_int_equal(ct_type_parse("contact.logged", 14), CT_EV_CONTACT_LOGGED);
    assert_int_equal(ct_type_parse("contact.resumed", 15), CT_EV_CONTACT_RESUMED);
    assert_false(ct_type_inbound(CT_EV_ESCALATION_PLACED));
    /* issue 16's hand-off: the agency's answers are inbound */
    assert_true(ct_type_inbound(CT_EV_ESCALATION_ACCEPTED));
    assert_true(ct_type_inbound(CT_EV_ESCALATION_RECALLED));
    assert_true(ct_type_inbound(CT_EV_ESCALATION_REMITTED));
    assert_int_equal(ct_type_parse("escalation.placed", 17), CT_EV_ESCALATION_PLACED);
    assert_int_equal(ct_type_parse("invoice.escalated", 17), CT_EV_NONE);
    assert_int_equal(ct_escalation_to_parse("agency", 6), CT_TO_AGENCY);
    assert_int_equal(ct_escalation_to_parse("legal", 5), CT_TO_LEGAL);
    assert_int_equal(ct_escalation_to_parse("court", 5), CT_TO_NONE);
    /* issue 16's plans are inbound */
    assert_true(ct_type_inbound(CT_EV_PLAN_AGREED));
    assert_true(ct_type_inbound(CT_EV_PLAN_CANCELLED));
    assert_int_equal(ct_type_parse("plan.agreed", 11), CT_EV_PLAN_AGREED);
    assert_int_equal(ct_type_parse("plan.cancelled", 14), CT_EV_PLAN_CANCELLED);
    assert_int_equal(ct_plan_source_parse("billing", 7), CT_PLAN_SRC_BILLING);
    assert_int_equal(ct_plan_source_parse("email", 5), CT_PLAN_SRC_NONE);
    /* issue 14's events are the scheduler's: billing may not publish them */
    const char *money[] = {"invoice.fee_charged", "invoice.fee_waived", "invoice.interest_claimed",
                           "invoice.settled"};
    for (int i = 0; i < 4; i++) {
        ct_type t = ct_type_parse(money[i], strlen(money[i]));
        assert_int_equal(t, CT_EV_INVOICE_FEE_CHARGED + i);
        assert_true(t > CT_EV_PROMISE_BROKEN);
        assert_false(ct_type_inbound(t));
        assert_string_equal(ct_type_name(t), money[i]);
    }
}

static void test_headers(void **state)
{
    (void)state;
    ct_event ev;
    json_t *j;
    ct_kv h[CT_EVENT_HEADERS];
    decode_ok(ENV("payment.reversed", "{\"payment_id\":\"P-1\",\"reason\":\"r\"}"),
              CT_EV_PAYMENT_REVERSED, &ev, &j);
    ct_event_headers(&ev, h);
    const char *want[][2] = {{"ce_type", "payment.reversed"},
                             {"ce_id", "e-1"},
                             {"tenant", "acme"},
                             {"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}};
    for (int i = 0; i < CT_EVENT_HEADERS; i++) {
        assert_string_equal(h[i].name, want[i][0]);
        assert_string_equal(h[i].value, want[i][1]);
    }
    json_decref(j);
}

/* ct_event_decode_bytes: the record as consumed. What does not parse is
 * answered "(event): <rule>", never decoded; what parses decodes as the
 * tree would; earlier events of the same arena stay valid. */
static void test_decode_bytes(void **state)
{
    (void)state;
    cm_json *js = cm_json_new();
    ct_event a, b;
    char err[256];
    const char *one = ENV("invoice.voided", "{\"invoice_id\":\"I-1\"}");
    const char *two = ENV("dispute.opened", "{\"invoice_id\":\"I-2\",\"reason\":\"price\"}");
    assert_int_equal(ct_event_decode_bytes(js, one, strlen(one), &a, err, sizeof err), 0);
    assert_int_equal(ct_event_decode_bytes(js, two, strlen(two), &b, err, sizeof err), 0);
    assert_int_equal(a.type, CT_EV_INVOICE_VOIDED);
    assert_string_equal(a.data.invoice_ref.invoice_id, "I-1"); /* still valid */
    assert_string_equal(b.data.dispute.reason, "price");
    assert_non_null(a.data_jv);
    static const struct {
        const char *rec, *want;
    } bad[] = {
        {"{\"v\":1,", "(event): json (not JSON"},
        {"{\"v\":1,\"v\":1}", "(event): json (not JSON: duplicate"},
        {"{\"v\":1} x", "(event): json (not JSON"},
        {"{\"v\":1,\"id\":\"a\\u0000b\"}", "(event): json (not JSON"},
        {"{\"v\":1,\"id\":\"\xff\"}", "(event): utf8"},
        {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "(event): type"},
        {"[]", "(event): type (must be a JSON object)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ct_event e;
        assert_int_equal(
            ct_event_decode_bytes(js, bad[i].rec, strlen(bad[i].rec), &e, err, sizeof err), -1);
        if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("%s: error \"%s\", expected it to start \"%s\"", bad[i].rec, err, bad[i].want);
        assert_int_equal(e.type, CT_EV_NONE);
        assert_null(e.data_jv);
    }
    /* what ingest may be configured to accept is read: nesting of its
     * largest ARREARS_INGEST_MAX_DEPTH (1000) and a record over ingest's
     * default 256 KiB; deeper than CT_EVENT_READ_MAX_DEPTH is refused */
    size_t n = 400 * 1024;
    char *big = malloc(n + 2048);
    assert_non_null(big);
    int at = snprintf(big, n + 2048, "%s", one);
    at--; /* over the closing brace: an unknown member, then the brace again */
    at += snprintf(big + at, n + 2048 - (size_t)at, ",\"x\":[");
    for (int d = 0; d < 998; d++)
        big[at++] = '[';
    for (int d = 0; d < 998; d++)
        big[at++] = ']';
    at += snprintf(big + at, n + 2048 - (size_t)at, ",\"");
    memset(big + at, 'p', n - (size_t)at);
    at = (int)n;
    at += snprintf(big + at, 2048, "\"]}");
    ct_event e;
    if (ct_event_decode_bytes(js, big, (size_t)at, &e, err, sizeof err) != 0)
        fail_msg("a deep, large event refused: %s", err);
    assert_string_equal(e.data.invoice_ref.invoice_id, "I-1");
    memset(big, '[', CT_EVENT_READ_MAX_DEPTH + 1);
    memset(big + CT_EVENT_READ_MAX_DEPTH + 1, ']', CT_EVENT_READ_MAX_DEPTH + 1);
    assert_int_equal(
        ct_event_decode_bytes(js, big, 2 * (CT_EVENT_READ_MAX_DEPTH + 1), &e, err, sizeof err), -1);
    assert_non_null(strstr(err, "(event): json"));
    free(big);
    assert_string_equal(b.data.dispute.invoice_id, "I-2"); /* failures leave the batch alone */
    cm_json_clear(js);
    cm_json_free(js);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type),    cmocka_unit_test(test_failures),
        cmocka_unit_test(test_phone_verdict), cmocka_unit_test(test_ingest_outputs),
        cmocka_unit_test(test_headers),       cmocka_unit_test(test_call_outcomes),
        cmocka_unit_test(test_customer_kind), cmocka_unit_test(test_decode_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
