#!/usr/bin/env python3
"""make-cases.py -- writes the data-driven cases of tests/unit/test_ingest_cases.c.

Inputs and expected outputs are spelled out by hand below (the expected
canonical events are NOT produced by ingest). Only trace ids derived from
(tenant, source, id) are computed, here with hashlib, independently of the C
code: sha256(tenant NUL source NUL id), first 16 bytes, lower-case hex.
Run from anywhere; rewrites accept/ and reject/ beside this file."""
import datetime, hashlib, json, os, shutil

HERE = os.path.dirname(os.path.abspath(__file__))

def tid(tenant, source, id_):
    return hashlib.sha256(f"{tenant}\0{source}\0{id_}".encode()).hexdigest()[:32]

def ce(type_, id_, data, tenant="acme", source="billing-eu", time="2026-03-01T09:00:00Z", **extra):
    e = {"specversion": "1.0", "id": id_, "source": source, "type": type_, "time": time}
    if tenant is not None:
        e["tenant"] = tenant
    e.update(extra)
    e["data"] = data
    return e

def canon(type_, id_, customer, data, tenant="acme", source="billing-eu",
          time="2026-03-01T09:00:00.000Z", trace=None):
    return {"v": 1, "id": id_, "source": source, "type": type_, "tenant": tenant,
            "time": time, "customer_id": customer,
            "trace_id": trace or tid(tenant, source, id_), "data": data}

accept = {}
reject = {}

accept["invoice_issued"] = (ce("invoice.issued", "evt-1", {
    "invoice_id": "INV-1", "customer_id": "C-1", "number": "2026-0001", "currency": "EUR",
    "amount": "120.50", "issued_on": "2026-02-01", "due_on": "2026-03-01",
    "tags": ["b2b", "eu"], "terms": "NET28", "po_number": "PO-7", "unknown_field": 1}),
    canon("invoice.issued", "evt-1", "C-1", {
        "invoice_id": "INV-1", "customer_id": "C-1", "number": "2026-0001", "currency": "EUR",
        "amount_minor": 12050, "issued_on": "2026-02-01", "due_on": "2026-03-01",
        "tags": ["b2b", "eu"], "terms": "NET28", "po_number": "PO-7"}))

accept["invoice_updated_jpy_number"] = (ce("invoice.updated", "evt-2", {
    "invoice_id": "INV-2", "customer_id": "C-2", "number": "J-2", "currency": "jpy",
    "amount": 15000, "issued_on": "2026-02-01", "due_on": "2026-02-01"},
    time="2026-03-01T18:30:00.25+09:00", tenant="tokyo"),
    canon("invoice.updated", "evt-2", "C-2", {
        "invoice_id": "INV-2", "customer_id": "C-2", "number": "J-2", "currency": "JPY",
        "amount_minor": 15000, "issued_on": "2026-02-01", "due_on": "2026-02-01", "tags": []},
        tenant="tokyo", time="2026-03-01T09:30:00.250Z"))

accept["invoice_voided_default_tenant"] = (ce("invoice.voided", "evt-3",
    {"invoice_id": "INV-1", "customer_id": "C-1"}, tenant=None),
    canon("invoice.voided", "evt-3", "C-1", {"invoice_id": "INV-1", "customer_id": "C-1"},
          tenant="default"))

accept["invoice_written_off_traceparent"] = (ce("invoice.written_off", "evt-4",
    {"invoice_id": "INV-9", "customer_id": "C-9"},
    traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    canon("invoice.written_off", "evt-4", "C-9", {"invoice_id": "INV-9", "customer_id": "C-9"},
          trace="4bf92f3577b34da6a3ce929d0e0e4736"))

accept["payment_received_kwd_allocations"] = (ce("payment.received", "evt-5", {
    "payment_id": "P-1", "customer_id": "C-1", "currency": "KWD", "amount": 10.125,
    "received_on": "2026-03-02",
    "allocations": [{"invoice_id": "INV-1", "amount": "10"}, {"invoice_id": "INV-2", "amount": 0.125}]}),
    canon("payment.received", "evt-5", "C-1", {
        "payment_id": "P-1", "customer_id": "C-1", "currency": "KWD", "amount_minor": 10125,
        "received_on": "2026-03-02",
        "allocations": [{"invoice_id": "INV-1", "amount_minor": 10000},
                        {"invoice_id": "INV-2", "amount_minor": 125}]}))

accept["payment_received_at"] = (ce("payment.received", "evt-6", {
    "payment_id": "P-2", "customer_id": "C-1", "currency": "GBP", "amount": "0.99",
    "received_at": "2026-03-02T23:30:00-02:00"}),
    canon("payment.received", "evt-6", "C-1", {
        "payment_id": "P-2", "customer_id": "C-1", "currency": "GBP", "amount_minor": 99,
        "received_at": "2026-03-03T01:30:00.000Z", "received_on": "2026-03-03"}))

accept["payment_reversed"] = (ce("payment.reversed", "evt-7", {
    "payment_id": "P-1", "customer_id": "C-1", "reason": "chargeback"}),
    canon("payment.reversed", "evt-7", "C-1", {
        "payment_id": "P-1", "customer_id": "C-1", "reason": "chargeback"}))

accept["credit_note_issued"] = (ce("credit_note.issued", "evt-8", {
    "credit_note_id": "CN-1", "customer_id": "C-1", "invoice_id": "INV-1",
    "currency": "USD", "amount": "25"}),
    canon("credit_note.issued", "evt-8", "C-1", {
        "credit_note_id": "CN-1", "customer_id": "C-1", "invoice_id": "INV-1",
        "currency": "USD", "amount_minor": 2500}))

accept["customer_upserted_full"] = (ce("customer.upserted", "evt-9", {
    "customer_id": "C-1", "name": "Ada Ltd", "email": "ap@ada.test", "phone": "+447700900123",
    "timezone": "Europe/London", "locale": "en-GB", "country": "gb",
    "channels": ["email", "sms", "letter"], "opted_out": ["webhook"],
    "credit_limit": "5000.00", "credit_currency": "GBP", "tags": ["vip"]}),
    canon("customer.upserted", "evt-9", "C-1", {
        "customer_id": "C-1", "name": "Ada Ltd", "email": "ap@ada.test", "phone": "+447700900123",
        "timezone": "Europe/London", "locale": "en-GB", "country": "GB",
        "channels": ["email", "sms", "letter"], "opted_out": ["webhook"],
        "credit_limit_minor": 500000, "credit_currency": "GBP", "tags": ["vip"]}))

accept["customer_upserted_defaults"] = (ce("customer.upserted", "evt-10", {
    "customer_id": "C-2", "name": "Bob", "phone": "+14155550100"}),
    canon("customer.upserted", "evt-10", "C-2", {
        "customer_id": "C-2", "name": "Bob", "phone": "+14155550100", "timezone": "UTC",
        "locale": "en", "channels": ["sms"], "opted_out": [], "tags": []}))

# issue 14: kind consumer is written out; absent (every other case) it is
# not written at all and means business
accept["customer_upserted_consumer"] = (ce("customer.upserted", "evt-22", {
    "customer_id": "C-4", "name": "Carol Smith", "kind": "consumer",
    "email": "carol@example.test", "country": "gb"}),
    canon("customer.upserted", "evt-22", "C-4", {
        "customer_id": "C-4", "name": "Carol Smith", "kind": "consumer",
        "email": "carol@example.test", "timezone": "UTC", "locale": "en", "country": "GB",
        "channels": ["email"], "opted_out": [], "tags": []}))

accept["promise_made"] = (ce("promise.made", "evt-11", {
    "customer_id": "C-1", "invoice_ids": ["INV-1", "INV-2"], "currency": "EUR",
    "amount": 300, "promised_on": "2026-03-15"}),
    canon("promise.made", "evt-11", "C-1", {
        "customer_id": "C-1", "invoice_ids": ["INV-1", "INV-2"], "currency": "EUR",
        "amount_minor": 30000, "promised_on": "2026-03-15"}))

accept["dispute_opened"] = (ce("dispute.opened", "evt-12", {
    "customer_id": "C-1", "invoice_id": "INV-1", "reason": "goods not received"}),
    canon("dispute.opened", "evt-12", "C-1", {
        "customer_id": "C-1", "invoice_id": "INV-1", "reason": "goods not received"}))

accept["dispute_resolved"] = (ce("dispute.resolved", "evt-13", {
    "customer_id": "C-1", "invoice_id": "INV-1", "reason": "delivered"}),
    canon("dispute.resolved", "evt-13", "C-1", {
        "customer_id": "C-1", "invoice_id": "INV-1", "reason": "delivered"}))

accept["contact_ceased_all"] = (ce("contact.ceased", "evt-14", {"customer_id": "C-1"}),
    canon("contact.ceased", "evt-14", "C-1", {"customer_id": "C-1"}))

accept["contact_ceased_sms"] = (ce("contact.ceased", "evt-15", {"customer_id": "C-1", "channel": "sms"}),
    canon("contact.ceased", "evt-15", "C-1", {"customer_id": "C-1", "channel": "sms"}))

accept["customer_upserted_region"] = (ce("customer.upserted", "evt-17", {
    "customer_id": "C-3", "name": "Grace", "phone": "+14155550123",
    "timezone": "America/New_York", "country": "us", "region": "US-MA",
    "extra_timezones": ["America/Los_Angeles", "America/Phoenix"]}),
    canon("customer.upserted", "evt-17", "C-3", {
        "customer_id": "C-3", "name": "Grace", "phone": "+14155550123",
        "timezone": "America/New_York", "locale": "en", "country": "US", "region": "US-MA",
        "extra_timezones": ["America/Los_Angeles", "America/Phoenix"], "channels": ["sms"],
        "opted_out": [], "tags": []}))

accept["contact_logged"] = (ce("contact.logged", "evt-18", {
    "customer_id": "C-1", "channel": "call_task", "outcome": "conversation",
    "at": "2026-03-01T10:15:00.5+01:00", "invoice_ids": ["INV-1", "INV-2"], "agent": "j.doe",
    "notes": "Promised to pay on Friday.\nCall back Monday.", "duration_s": 95}, source="dialer"),
    canon("contact.logged", "evt-18", "C-1", {
        "customer_id": "C-1", "channel": "call_task", "outcome": "conversation",
        "at": "2026-03-01T09:15:00.500Z", "invoice_ids": ["INV-1", "INV-2"], "agent": "j.doe",
        "notes": "Promised to pay on Friday.\nCall back Monday."}, source="dialer"))

accept["contact_logged_minimal"] = (ce("contact.logged", "evt-19", {
    "customer_id": "C-1", "channel": "sms", "outcome": "wrong_number",
    "at": "2026-03-01T08:59:00Z"}, source="dialer"),
    canon("contact.logged", "evt-19", "C-1", {
        "customer_id": "C-1", "channel": "sms", "outcome": "wrong_number",
        "at": "2026-03-01T08:59:00.000Z", "invoice_ids": []}, source="dialer"))

accept["contact_resumed_all"] = (ce("contact.resumed", "evt-20", {"customer_id": "C-1"}),
    canon("contact.resumed", "evt-20", "C-1", {"customer_id": "C-1"}))

accept["contact_resumed_sms"] = (ce("contact.resumed", "evt-21", {"customer_id": "C-1", "channel": "sms"}),
    canon("contact.resumed", "evt-21", "C-1", {"customer_id": "C-1", "channel": "sms"}))

# issue 16: instalment plans. Decimal strings and a number, a lower-case
# currency and a total equal to the sum (100.50 + 100.25 + 99.25 = 300.00).
accept["plan_agreed"] = (ce("plan.agreed", "evt-23", {
    "plan_id": "PLAN-1", "customer_id": "C-1", "invoice_ids": ["INV-1", "INV-2"],
    "currency": "eur",
    "instalments": [{"due_on": "2026-04-01", "amount": "100.50"},
                     {"due_on": "2026-05-01", "amount": "100.25"},
                     {"due_on": "2026-06-01", "amount": 99.25, "note": "last"}],
    "total": "300.00", "source": "portal", "agreed_by": "web"}, source="portal"),
    canon("plan.agreed", "evt-23", "C-1", {
        "plan_id": "PLAN-1", "customer_id": "C-1", "invoice_ids": ["INV-1", "INV-2"],
        "currency": "EUR",
        "instalments": [{"due_on": "2026-04-01", "amount_minor": 10050},
                         {"due_on": "2026-05-01", "amount_minor": 10025},
                         {"due_on": "2026-06-01", "amount_minor": 9925}],
        "total_minor": 30000, "source": "portal"}, source="portal"))

# no total: total_minor is the sum; no source: none written
accept["plan_agreed_minimal"] = (ce("plan.agreed", "evt-24", {
    "plan_id": "PLAN-2", "customer_id": "C-2", "invoice_ids": ["INV-9"], "currency": "JPY",
    "instalments": [{"due_on": "2026-04-30", "amount": 5000}]}),
    canon("plan.agreed", "evt-24", "C-2", {
        "plan_id": "PLAN-2", "customer_id": "C-2", "invoice_ids": ["INV-9"], "currency": "JPY",
        "instalments": [{"due_on": "2026-04-30", "amount_minor": 5000}], "total_minor": 5000}))

accept["plan_cancelled"] = (ce("plan.cancelled", "evt-25", {
    "plan_id": "PLAN-1", "customer_id": "C-1", "reason": "debtor paid in full"}),
    canon("plan.cancelled", "evt-25", "C-1", {
        "plan_id": "PLAN-1", "customer_id": "C-1", "reason": "debtor paid in full"}))

# issue 16: the agency's answers to a hand-off. Fields not in the contract
# (contact, branch) are dropped; currencies are upper-cased; amounts in
# minor units: GBP 250.00 = 25000, 62.50 = 6250; JPY has no decimals.
accept["escalation_accepted"] = (ce("escalation.accepted", "evt-26", {
    "case_id": "case-0123456789abcdef", "customer_id": "C-1", "agency_ref": "AG-2026/0042",
    "contact": "j.smith@agency.test"}, source="agency-portal"),
    canon("escalation.accepted", "evt-26", "C-1", {
        "case_id": "case-0123456789abcdef", "customer_id": "C-1", "agency_ref": "AG-2026/0042"},
        source="agency-portal"))

accept["escalation_recalled"] = (ce("escalation.recalled", "evt-27", {
    "case_id": "case-0123456789abcdef", "customer_id": "C-1",
    "reason": "debtor disputes the debt"}, source="agency-portal"),
    canon("escalation.recalled", "evt-27", "C-1", {
        "case_id": "case-0123456789abcdef", "customer_id": "C-1",
        "reason": "debtor disputes the debt"}, source="agency-portal"))

accept["escalation_remitted"] = (ce("escalation.remitted", "evt-28", {
    "case_id": "case-0123456789abcdef", "customer_id": "C-1", "currency": "gbp",
    "amount": "250.00", "commission": "62.50", "branch": "north"}, source="agency-portal"),
    canon("escalation.remitted", "evt-28", "C-1", {
        "case_id": "case-0123456789abcdef", "customer_id": "C-1", "currency": "GBP",
        "amount_minor": 25000, "commission_minor": 6250}, source="agency-portal"))

# no commission: commission_minor 0, written all the same
accept["escalation_remitted_no_commission"] = (ce("escalation.remitted", "evt-29", {
    "case_id": "case-fedcba9876543210", "customer_id": "C-2", "currency": "JPY",
    "amount": 12000}),
    canon("escalation.remitted", "evt-29", "C-2", {
        "case_id": "case-fedcba9876543210", "customer_id": "C-2", "currency": "JPY",
        "amount_minor": 12000, "commission_minor": 0}))

# Binary mode: attributes in ce_* headers, the body is data.
accept["binary_mode"] = ({"invoice_id": "INV-3", "customer_id": "C-3"},
    canon("invoice.voided", "evt-16", "C-3", {"invoice_id": "INV-3", "customer_id": "C-3"},
          tenant="globex", source="crm", time="2026-03-01T09:00:00.000Z"),
    [["ce_specversion", "1.0"], ["ce_id", "evt-16"], ["ce_source", "crm"],
     ["ce_type", "invoice.voided"], ["ce_time", "2026-03-01T10:00:00+01:00"],
     ["ce_tenant", "globex"], ["content-type", "application/json"]])

# --- rejections ---------------------------------------------------------
def R(field, rule, message=None):
    r = {"field": field, "rule": rule}
    if message:
        r["message"] = message
    return r

inv = {"invoice_id": "INV-1", "customer_id": "C-1", "number": "1", "currency": "EUR",
       "amount": "10.00", "issued_on": "2026-02-01", "due_on": "2026-03-01"}
def inv_with(**kw):
    d = dict(inv)
    for k, v in kw.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return ce("invoice.issued", "bad-1", d)

reject["bad_due_date"] = (inv_with(due_on="2026-02-30"),
    [R("data.due_on", "date", "data.due_on: not a date (YYYY-MM-DD)")])
reject["due_before_issue"] = (inv_with(due_on="2026-01-01"), [R("data.due_on", "due_after_issue")])
reject["too_many_decimals"] = (inv_with(amount="10.001"),
    [R("data.amount", "amount_decimals", "data.amount: more decimals than EUR allows (2)")])
reject["too_many_decimals_jpy_number"] = (inv_with(currency="JPY", amount=1.5),
    [R("data.amount", "amount_decimals", "data.amount: more decimals than JPY allows (0)")])
reject["negative_amount"] = (inv_with(amount=-5), [R("data.amount", "amount_negative")])
reject["negative_amount_string"] = (inv_with(amount="-5.00"), [R("data.amount", "amount_negative")])
reject["nonfinite_amount_string"] = (inv_with(amount="Infinity"), [R("data.amount", "amount_format")])
reject["unknown_currency"] = (inv_with(currency="XYZ"),
    [R("data.currency", "currency", "data.currency: unknown ISO 4217 currency 'XYZ'")])
reject["missing_fields"] = (inv_with(number=None, amount=None, customer_id=None),
    [R("data.customer_id", "required"), R("data.number", "required"), R("data.amount", "required")])
reject["wrong_types"] = (inv_with(invoice_id=7, tags="x", amount=True),
    [R("data.invoice_id", "type"), R("data.amount", "type"), R("data.tags", "type")])
reject["bad_timezone"] = (ce("customer.upserted", "bad-2", {"customer_id": "C", "name": "N", "timezone": "Mars/Olympus"}),
    [R("data.timezone", "timezone")])
reject["bad_phone"] = (ce("customer.upserted", "bad-3", {"customer_id": "C", "name": "N", "phone": "07700 900123"}),
    [R("data.phone", "e164")])
reject["bad_email_channel"] = (ce("customer.upserted", "bad-4", {"customer_id": "C", "name": "N", "email": "nobody", "channels": ["email", "pigeon"]}),
    [R("data.email", "email"), R("data.channels[1]", "channel")])
reject["credit_limit_without_currency"] = (ce("customer.upserted", "bad-5", {"customer_id": "C", "name": "N", "credit_limit": 100}),
    [R("data.credit_currency", "required")])
reject["allocations_exceed"] = (ce("payment.received", "bad-6", {
    "payment_id": "P", "customer_id": "C", "currency": "EUR", "amount": "10", "received_on": "2026-03-01",
    "allocations": [{"invoice_id": "A", "amount": "6"}, {"invoice_id": "B", "amount": "5"}]}),
    [R("data.allocations", "allocations_sum")])
reject["payment_no_date"] = (ce("payment.received", "bad-7", {
    "payment_id": "P", "customer_id": "C", "currency": "EUR", "amount": "10"}),
    [R("data.received_on", "required")])
reject["promise_empty_ids"] = (ce("promise.made", "bad-8", {
    "customer_id": "C", "invoice_ids": [], "currency": "EUR", "amount": 1, "promised_on": "2026-13-01"}),
    [R("data.invoice_ids", "non_empty"), R("data.promised_on", "date")])
reject["unknown_type"] = (ce("invoice.paid", "bad-9", {"customer_id": "C"}),
    [R("type", "type", "type: unknown event type 'invoice.paid'")])
reject["bad_envelope"] = ({"specversion": "0.3", "source": "", "type": "invoice.voided",
                           "time": "yesterday", "tenant": "a/b",
                           "data": {"invoice_id": "I", "customer_id": "C"}},
    [R("specversion", "specversion"), R("id", "required"), R("source", "non_empty"),
     R("time", "rfc3339"), R("tenant", "tenant")])
reject["data_not_object"] = (dict(ce("invoice.voided", "bad-10", None), data=[1, 2]),
    [R("data", "type")])
reject["bad_contact_channel"] = (ce("contact.ceased", "bad-11", {"customer_id": "C", "channel": "fax"}),
    [R("data.channel", "channel")])

reject["number_control_char"] = (ce("invoice.issued", "bad-number-1", {
    "invoice_id": "INV-1", "customer_id": "C-1", "number": "2026\x1f0042", "currency": "EUR",
    "amount": "120.00", "issued_on": "2026-03-01", "due_on": "2026-03-31"}),
    [R("data.number", "chars")])

logged = {"customer_id": "C", "channel": "call_task", "outcome": "voicemail",
          "at": "2026-03-01T09:00:00Z"}
reject["bad_call_outcome"] = (ce("contact.logged", "bad-12", dict(logged, outcome="busy")),
    [R("data.outcome", "outcome", "data.outcome: unknown call outcome (conversation, voicemail, "
       "no_answer, wrong_number)")])
reject["contact_logged_missing"] = (ce("contact.logged", "bad-13", {"customer_id": "C"}),
    [R("data.channel", "required"), R("data.outcome", "required"), R("data.at", "required")])
reject["contact_logged_bad_fields"] = (ce("contact.logged", "bad-14", dict(
    logged, channel="fax", at="2026-03-01 09:00", invoice_ids=["I", "I"], agent="")),
    [R("data.channel", "channel"), R("data.at", "rfc3339"), R("data.invoice_ids[1]", "unique"),
     R("data.agent", "non_empty")])
reject["notes_too_long"] = (ce("contact.logged", "bad-15", dict(logged, notes="n" * 2001)),
    [R("data.notes", "max_length", "data.notes: longer than 2000 bytes")])
reject["bad_region"] = (ce("customer.upserted", "bad-16", {"customer_id": "C", "name": "N", "region": "us-ma"}),
    [R("data.region", "region")])
reject["bad_region_shape"] = (ce("customer.upserted", "bad-17", {"customer_id": "C", "name": "N", "region": "USA-MA1"}),
    [R("data.region", "region")])
reject["bad_extra_timezones"] = (ce("customer.upserted", "bad-18", {"customer_id": "C", "name": "N",
    "extra_timezones": ["Europe/Paris", "Mars/Olympus", "Europe/Paris", 7]}),
    [R("data.extra_timezones[1]", "timezone"), R("data.extra_timezones[2]", "unique"),
     R("data.extra_timezones[3]", "type")])
reject["too_many_extra_timezones"] = (ce("customer.upserted", "bad-19", {"customer_id": "C", "name": "N",
    "extra_timezones": ["Europe/Paris", "Europe/Berlin", "Europe/Rome", "Europe/Madrid", "Europe/Vienna"]}),
    [R("data.extra_timezones", "max_items", "data.extra_timezones: more than 4 items")])
reject["bad_resumed_channel"] = (ce("contact.resumed", "bad-20", {"customer_id": "C", "channel": "pigeon"}),
    [R("data.channel", "channel")])
reject["bad_customer_kind"] = (ce("customer.upserted", "bad-21", {"customer_id": "C", "name": "N",
    "kind": "Consumer"}),
    [R("data.kind", "kind", "data.kind: must be business or consumer")])
# the scheduler's own types (issue 14) are not billing's to publish
reject["scheduler_type_settled"] = (ce("invoice.settled", "bad-22", {"customer_id": "C",
    "invoice_id": "I", "currency": "EUR", "paid_minor": 80000, "forgiven_minor": 20000,
    "offer": "settlement"}),
    [R("type", "type", "type: unknown event type 'invoice.settled'")])

# issue 16: instalment plans
def plan_with(**kw):
    d = {"plan_id": "PL", "customer_id": "C", "invoice_ids": ["I-1"], "currency": "EUR",
         "instalments": [{"due_on": "2026-04-01", "amount": "100"},
                         {"due_on": "2026-05-01", "amount": "100"},
                         {"due_on": "2026-06-01", "amount": "100"}]}
    d.update(kw)
    return ce("plan.agreed", "bad-plan", d)

reject["plan_sum_not_total"] = (plan_with(total="300.01"),
    [R("data.total", "instalments_sum",
       "data.total: must equal the sum of data.instalments (30000, not 30001)")])
reject["plan_dates_not_rising"] = (plan_with(instalments=[
    {"due_on": "2026-04-01", "amount": "100"}, {"due_on": "2026-05-01", "amount": "100"},
    {"due_on": "2026-05-01", "amount": "100"}, {"due_on": "2026-04-15", "amount": "100"}]),
    [R("data.instalments[2].due_on", "rising",
       "data.instalments[2].due_on: must be after data.instalments[1].due_on"),
     R("data.instalments[3].due_on", "rising",
       "data.instalments[3].due_on: must be after data.instalments[2].due_on")])
reject["plan_too_many_instalments"] = (plan_with(instalments=[
    {"due_on": (datetime.date(2026, 4, 1) + datetime.timedelta(days=7 * i)).isoformat(),
     "amount": "10"} for i in range(61)]),
    [R("data.instalments", "max_items", "data.instalments: more than 60 items")])
reject["plan_zero_amount"] = (plan_with(instalments=[
    {"due_on": "2026-04-01", "amount": "100"}, {"due_on": "2026-05-01", "amount": "0.00"}],
    total="100"),
    [R("data.instalments[1].amount", "amount_positive",
       "data.instalments[1].amount: must be greater than 0")])
reject["plan_unknown_source"] = (plan_with(source="email"),
    [R("data.source", "source", "data.source: must be portal, agent or billing")])
reject["plan_duplicate_invoice"] = (plan_with(invoice_ids=["I-1", "I-2", "I-1"]),
    [R("data.invoice_ids[2]", "unique", "data.invoice_ids[2]: duplicate item 'I-1'")])
reject["plan_cancelled_no_reason"] = (ce("plan.cancelled", "bad-plan-2",
    {"plan_id": "PL", "customer_id": "C"}),
    [R("data.reason", "required", "data.reason: required")])

# issue 17: the way back in (the gateway publishes these). Each: the
# inbound data, and what ingest writes of it (None: the same).
def gateway(type_, id_, customer, data, out=None):
    return (ce(type_, id_, data, source="arrears-gateway"),
            canon(type_, id_, customer, out or data, source="arrears-gateway"))

REPLY = "Can I pay \u00a350 next week?\nThanks"
accept["contact_replied"] = gateway("contact.replied", "sms/SM0001", "C-1", {
    "customer_id": "C-1", "channel": "sms", "text": REPLY, "provider_id": "SM0001",
    "num_media": "0"},
    {"customer_id": "C-1", "channel": "sms", "text": REPLY, "provider_id": "SM0001"})
SENT = {"customer_id": "C-1", "channel": "email", "command_id": "acme/inv/INV-1/step/2/attempt/0",
        "template": "reminder-2"}
accept["contact_delivered"] = gateway("contact.delivered", "email/ab12/delivered", "C-1", SENT)
accept["contact_bounced_hard"] = gateway("contact.bounced", "email/ab12/bounced", "C-1",
    dict(SENT, kind="hard", address="ann@example.com"))
accept["contact_bounced_soft_sms"] = gateway("contact.bounced", "sms/SM0002/status/undelivered",
    "C-2", {"customer_id": "C-2", "channel": "sms", "command_id": "acme/inv/INV-2/step/1/attempt/0",
            "template": "sms-nudge", "kind": "soft", "provider_id": "SM0002"})
accept["contact_complained"] = gateway("contact.complained", "email/ab12/complained", "C-1", SENT)

replied = {"customer_id": "C", "channel": "sms", "text": "hello"}
reject["replied_text_too_long"] = (ce("contact.replied", "bad-r-1", dict(replied, text="\u00e9" * 800 + "x")),
    [R("data.text", "max_length", "data.text: longer than 1600 bytes")])
reject["replied_customer_and_phone"] = (ce("contact.replied", "bad-r-2", dict(replied, phone="+447700900123")),
    [R("data.phone", "one_of", "data.phone: give data.customer_id or data.phone, not both")])
reject["replied_phone_by_email"] = (ce("contact.replied", "bad-r-3",
    {"phone": "+447700900123", "channel": "email", "text": "hi"}),
    [R("data.channel", "phone_sms", "data.channel: must be sms when data.phone names the debtor")])
reject["replied_no_debtor"] = (ce("contact.replied", "bad-r-4", {"channel": "sms", "text": "hi"}),
    [R("data.customer_id", "required", "data.customer_id: required (or data.phone, for sms)")])
reject["replied_letter_no_text"] = (ce("contact.replied", "bad-r-5", {"customer_id": "C", "channel": "letter"}),
    [R("data.channel", "channel", "data.channel: must be sms or email"), R("data.text", "required")])
reject["ceased_phone_no_channel"] = (ce("contact.ceased", "bad-r-6", {"phone": "+447700900123"}),
    [R("data.channel", "required", "data.channel: required (sms) when data.phone names the debtor")])
reject["ceased_phone_not_e164"] = (ce("contact.ceased", "bad-r-7", {"phone": "07700 900123", "channel": "sms"}),
    [R("data.phone", "e164")])
reject["resumed_phone_email"] = (ce("contact.resumed", "bad-r-8", {"phone": "+447700900123", "channel": "email"}),
    [R("data.channel", "phone_sms")])
delivered = {"customer_id": "C", "channel": "email", "command_id": "acme/inv/I/step/0/attempt/0",
             "template": "reminder-1"}
reject["delivered_bad_template"] = (ce("contact.delivered", "bad-r-9", dict(delivered, template="_base")),
    [R("data.template", "template",
       "data.template: a template name: no spaces or '/', not starting with '.' or '_'")])
reject["delivered_template_path"] = (ce("contact.delivered", "bad-r-10", dict(delivered, template="en-GB/reminder-1", channel="letter")),
    [R("data.channel", "channel", "data.channel: must be sms or email"), R("data.template", "template")])
reject["delivered_command_id_space"] = (ce("contact.delivered", "bad-r-11", dict(delivered, command_id="acme/inv/I 1")),
    [R("data.command_id", "chars", "data.command_id: must not contain spaces")])
reject["delivered_command_id_too_long"] = (ce("contact.delivered", "bad-r-12", dict(delivered, command_id="c" * 478)),
    [R("data.command_id", "max_length", "data.command_id: longer than 477 bytes")])
reject["delivered_missing"] = (ce("contact.delivered", "bad-r-13", {"customer_id": "C"}),
    [R("data.channel", "required"), R("data.command_id", "required"), R("data.template", "required")])
reject["bounced_bad_kind"] = (ce("contact.bounced", "bad-r-14", dict(delivered, kind="permanent")),
    [R("data.kind", "kind", "data.kind: must be hard or soft")])
reject["bounced_no_kind_bad_address"] = (ce("contact.bounced", "bad-r-15", dict(delivered, address="+447700900123")),
    [R("data.kind", "required"), R("data.address", "email")])
reject["bounced_sms_bad_address"] = (ce("contact.bounced", "bad-r-16", dict(delivered, channel="sms", kind="hard", address="ann@example.com")),
    [R("data.address", "e164")])
reject["complained_by_sms"] = (ce("contact.complained", "bad-r-17", dict(delivered, channel="sms")),
    [R("data.channel", "channel", "data.channel: must be email")])

raw_reject = {
    "not_json": (b'{"specversion": "1.0", "id": ', [R("(payload)", "json")]),
    "json_array": (b'[1,2,3]', [R("(payload)", "json", "(payload): must be a JSON object")]),
    "empty": (b'', [R("(payload)", "json")]),
    "invalid_utf8": (b'{"specversion":"1.0","id":"x\xff\xfe","source":"s"}',
                     [R("(payload)", "utf8", "(payload): not valid UTF-8 (byte 28)")]),
    "overlong_utf8": (b'{"a":"\xc0\xaf"}', [R("(payload)", "utf8")]),
    "deep_nesting": (b'{"data":' + b'[' * 40 + b']' * 40 + b'}',
                     [R("(payload)", "depth", "(payload): JSON nested deeper than 32 levels")]),
    "duplicate_keys": (b'{"id":"a","id":"b"}', [R("(payload)", "json")]),
}
oversized = json.dumps(inv_with(po_number="x" * 3000)).encode()

# issue 16: the agency's answers
reject["escalation_remitted_commission_over_amount"] = (ce("escalation.remitted", "bad-esc-1", {
    "case_id": "case-0123456789abcdef", "customer_id": "C", "currency": "GBP",
    "amount": "100.00", "commission": "100.01"}),
    [R("data.commission", "commission_le_amount",
       "data.commission: must not be more than data.amount")])
reject["escalation_accepted_no_agency_ref"] = (ce("escalation.accepted", "bad-esc-2", {
    "case_id": "case-0123456789abcdef", "customer_id": "C"}),
    [R("data.agency_ref", "required", "data.agency_ref: required")])
reject["escalation_remitted_zero_amount"] = (ce("escalation.remitted", "bad-esc-3", {
    "case_id": "case-0123456789abcdef", "customer_id": "C", "currency": "GBP",
    "amount": "0.00"}),
    [R("data.amount", "amount_positive", "data.amount: must be greater than 0")])
# escalation.placed is the scheduler's (it replaced invoice.escalated)
reject["scheduler_type_placed"] = (ce("escalation.placed", "bad-esc-4", {
    "case_id": "case-0123456789abcdef", "customer_id": "C", "to": "agency",
    "invoice_ids": ["I"], "currency": "GBP", "placed_minor": 25000, "expected_net_minor": 6938,
    "command_id": "acme/inv/I/step/5/attempt/1"}),
    [R("type", "type", "type: unknown event type 'escalation.placed'")])

def write(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")

for sub in ("accept", "reject"):
    shutil.rmtree(os.path.join(HERE, sub), ignore_errors=True)
for name, spec in accept.items():
    d = os.path.join(HERE, "accept", name)
    os.makedirs(d)
    write(os.path.join(d, "input.json"), spec[0])
    write(os.path.join(d, "expected.json"), spec[1])
    if len(spec) > 2:
        write(os.path.join(d, "headers.json"), spec[2])
for name, (inp, reasons) in reject.items():
    d = os.path.join(HERE, "reject", name)
    os.makedirs(d)
    write(os.path.join(d, "input.json"), inp)
    write(os.path.join(d, "expected.json"), {"reasons": reasons})
for name, (raw, reasons) in raw_reject.items():
    d = os.path.join(HERE, "reject", name)
    os.makedirs(d)
    with open(os.path.join(d, "input.bin"), "wb") as f:
        f.write(raw)
    write(os.path.join(d, "expected.json"), {"reasons": reasons})
d = os.path.join(HERE, "reject", "oversized")
os.makedirs(d)
with open(os.path.join(d, "input.json"), "wb") as f:
    f.write(oversized)
write(os.path.join(d, "config.json"), {"max_bytes": 2048})
write(os.path.join(d, "expected.json"), {"reasons": [R("(message)", "size")]})
# binary mode with a bad header value and a non-JSON body
d = os.path.join(HERE, "reject", "binary_bad")
os.makedirs(d)
with open(os.path.join(d, "input.bin"), "wb") as f:
    f.write(b"not json")
write(os.path.join(d, "headers.json"), [["ce_specversion", "1.0"], ["ce_id", "b-1"],
      ["ce_source", "crm"], ["ce_type", "invoice.voided"], ["ce_time", "2026-03-01"]])
write(os.path.join(d, "expected.json"), {"reasons": [R("data", "json"), R("time", "rfc3339")]})
print("wrote", len(accept), "accept and", len(reject) + len(raw_reject) + 2, "reject cases")
