#!/usr/bin/env python3
"""make-schemas.py -- writes schemas/<type>.json, one JSON Schema (draft
2020-12) per inbound event type of docs/events.md, plus dlq-record.json.

The schemas describe a structured-mode CloudEvent as published on
`inbound`. They are the machine-readable form of docs/events.md; ingest's C
validator (contract/rules.c, ct_validate) is the authority and also checks what a
schema cannot say (real calendar dates, known ISO 4217 codes and their
decimals, IANA zones, due_on >= issued_on, allocations <= amount, a
remittance's commission <= amount).
tests/unit/test_ingest_docs.c checks every example of docs/events.md and
every accept case of tests/data/ingest against these files.
Patterns use only the syntax common to ECMA-262 and POSIX ERE (no \\d, \\s).
Run: python3 schemas/make-schemas.py"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = "https://github.com/arrears/arrears/schemas/"

ID = {"type": "string", "minLength": 1, "maxLength": 200,
      "description": "1 to 200 bytes, no control characters"}
TEXT = {"type": "string", "minLength": 1, "maxLength": 1000}
LINE = {"type": "string", "minLength": 1, "maxLength": 1000,
        "description": "1 to 1000 bytes, no control characters"}
DATE = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "description": "YYYY-MM-DD, a real calendar date"}
INSTANT = {"type": "string", "format": "date-time",
           "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$",
           "description": "RFC 3339 with a zone (Z or +hh:mm)"}
CURRENCY = {"type": "string", "pattern": "^[A-Za-z]{3}$",
            "description": "ISO 4217 code (upper-cased by ingest); unknown codes are rejected"}
AMOUNT = {"description": "a non-negative decimal with at most the currency's decimals "
                         "(JPY 0, EUR 2, KWD 3); a JSON number or a decimal string",
          "anyOf": [{"type": "number", "minimum": 0},
                    {"type": "string", "pattern": "^[0-9]+([.][0-9]+)?$"}]}
CHANNEL = {"type": "string", "enum": ["email", "sms", "webhook", "call_task", "letter"]}
ZONE = {"type": "string", "minLength": 1, "maxLength": 64,
        "description": "IANA time zone name known to the system's tzdata"}

def strings(item, min_items=0):
    s = {"type": "array", "items": item, "maxItems": 100, "uniqueItems": True}
    if min_items:
        s["minItems"] = min_items
    return s

def obj(props, required):
    return {"type": "object", "properties": props, "required": required}

invoice_full = obj({
    "invoice_id": ID, "customer_id": ID, "number": LINE, "currency": CURRENCY,
    "amount": AMOUNT, "issued_on": DATE,
    "due_on": dict(DATE, description="YYYY-MM-DD, not before issued_on"),
    "tags": strings(dict(ID)), "terms": TEXT, "po_number": TEXT},
    ["invoice_id", "customer_id", "number", "currency", "amount", "issued_on", "due_on"])
invoice_ref = obj({"invoice_id": ID, "customer_id": ID}, ["invoice_id", "customer_id"])
payment = obj({
    "payment_id": ID, "customer_id": ID, "currency": CURRENCY, "amount": AMOUNT,
    "received_on": DATE, "received_at": INSTANT,
    "allocations": {"type": "array", "maxItems": 100,
                    "description": "absent: the scheduler allocates oldest due first; "
                                   "the sum must not exceed amount",
                    "items": obj({"invoice_id": ID, "amount": AMOUNT}, ["invoice_id", "amount"])}},
    ["payment_id", "customer_id", "currency", "amount"])
payment["anyOf"] = [{"required": ["received_on"]}, {"required": ["received_at"]}]
data = {
    "invoice.issued": invoice_full,
    "invoice.updated": invoice_full,
    "invoice.voided": invoice_ref,
    "invoice.written_off": invoice_ref,
    "payment.received": payment,
    "payment.reversed": obj({"payment_id": ID, "customer_id": ID, "reason": TEXT},
                            ["payment_id", "customer_id", "reason"]),
    "credit_note.issued": obj({"credit_note_id": ID, "customer_id": ID, "invoice_id": ID,
                               "currency": CURRENCY, "amount": AMOUNT},
                              ["credit_note_id", "customer_id", "invoice_id", "currency", "amount"]),
    "customer.upserted": obj({
        "customer_id": ID, "name": TEXT,
        "kind": {"type": "string", "enum": ["business", "consumer"],
                 "description": "default business; statutory late-payment interest "
                                "applies between businesses only (docs/policy.md)"},
        "email": {"type": "string", "format": "email", "maxLength": 254,
                  "pattern": "^[^@ ]+@[^@ ]+[.][^@ ]+$"},
        "phone": {"type": "string", "pattern": "^[+][1-9][0-9]{7,14}$",
                  "description": "E.164"},
        "timezone": dict(ZONE, description="IANA time zone name (default UTC)"),
        "locale": {"type": "string", "pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
                   "description": "BCP 47 tag (default en)"},
        "country": {"type": "string", "pattern": "^[A-Za-z]{2}$",
                    "description": "ISO 3166-1 alpha-2 (upper-cased by ingest)"},
        "region": {"type": "string", "pattern": "^[A-Z]{2}-[A-Z0-9]{1,3}$",
                   "description": "ISO 3166-2 subdivision code (US-MA), upper case"},
        "extra_timezones": dict(strings(ZONE), maxItems=4,
                                description="other zones the debtor may be in (e.g. the "
                                            "zone of the phone's area code); at most 4"),
        "channels": dict(strings(CHANNEL), description="in order of preference; default: "
                         "email if email is given, then sms if phone is given"),
        "opted_out": strings(CHANNEL),
        "credit_limit": AMOUNT,
        "credit_currency": dict(CURRENCY, description="required with credit_limit"),
        "tags": strings(dict(ID))}, ["customer_id", "name"]),
    "promise.made": obj({"customer_id": ID, "invoice_ids": strings(ID, 1), "currency": CURRENCY,
                         "amount": AMOUNT, "promised_on": DATE},
                        ["customer_id", "invoice_ids", "currency", "amount", "promised_on"]),
    "dispute.opened": obj({"customer_id": ID, "invoice_id": ID, "reason": TEXT},
                          ["customer_id", "invoice_id", "reason"]),
    "dispute.resolved": obj({"customer_id": ID, "invoice_id": ID, "reason": TEXT},
                            ["customer_id", "invoice_id", "reason"]),
    "contact.ceased": obj({"customer_id": ID,
                           "channel": dict(CHANNEL, description="absent: every channel")},
                          ["customer_id"]),
    "contact.logged": obj({
        "customer_id": ID, "channel": CHANNEL,
        "outcome": {"type": "string",
                    "enum": ["conversation", "voicemail", "no_answer", "wrong_number"]},
        "at": dict(INSTANT, description="when the contact happened; RFC 3339 with a zone"),
        "invoice_ids": dict(strings(ID), description="the invoices concerned (default [])"),
        "agent": TEXT,
        "notes": {"type": "string", "minLength": 1, "maxLength": 2000}},
        ["customer_id", "channel", "outcome", "at"]),
    "contact.resumed": obj({"customer_id": ID,
                            "channel": dict(CHANNEL, description="absent: every channel")},
                           ["customer_id"]),
}
# issue 16: instalment plans (the scheduler does not act on them yet)
POSITIVE = dict(AMOUNT, description="greater than 0, with at most the currency's decimals; "
                                    "a JSON number or a decimal string")
data["plan.agreed"] = obj({
    "plan_id": ID, "customer_id": ID, "invoice_ids": strings(ID, 1), "currency": CURRENCY,
    "instalments": {"type": "array", "minItems": 1, "maxItems": 60,
                    "description": "due dates strictly rising; the amounts sum to total "
                                   "when it is given",
                    "items": obj({"due_on": DATE, "amount": POSITIVE}, ["due_on", "amount"])},
    "total": dict(AMOUNT, description="optional; when given, exactly the sum of the "
                                      "instalments' amounts"),
    "source": {"type": "string", "enum": ["portal", "agent", "billing"],
               "description": "who agreed the plan with the debtor"}},
    ["plan_id", "customer_id", "invoice_ids", "currency", "instalments"])
data["plan.cancelled"] = obj({"plan_id": ID, "customer_id": ID, "reason": TEXT},
                             ["plan_id", "customer_id", "reason"])
# issue 16: the agency's answers to a hand-off (the scheduler's
# escalation.placed names the case: make-record-schemas.py)
CASE_ID = dict(ID, description="the case_id of the scheduler's escalation.placed "
                               "(case- and 16 hex digits); 1 to 200 bytes, no control "
                               "characters")
data["escalation.accepted"] = obj({
    "case_id": CASE_ID, "customer_id": ID,
    "agency_ref": dict(TEXT, description="the agency's own reference of the case")},
    ["case_id", "customer_id", "agency_ref"])
data["escalation.recalled"] = obj({
    "case_id": CASE_ID, "customer_id": ID,
    "reason": dict(TEXT, description="why the case came back")},
    ["case_id", "customer_id", "reason"])
data["escalation.remitted"] = obj({
    "case_id": CASE_ID, "customer_id": ID, "currency": CURRENCY,
    "amount": dict(POSITIVE, description="what the agency collected from the debtor: greater "
                                         "than 0, with at most the currency's decimals; a "
                                         "JSON number or a decimal string"),
    "commission": dict(AMOUNT, description="optional (default 0): what the agency kept of "
                                           "amount, at most amount")},
    ["case_id", "customer_id", "currency", "amount"])
data["customer.upserted"]["dependentRequired"] = {"credit_limit": ["credit_currency"]}

# issue 17: the way back in (the gateway publishes these). An SMS names the
# sender's number, not the customer: contact.ceased, contact.resumed and
# contact.replied take data.phone instead of data.customer_id (not both;
# ingest resolves the phone to every customer who has it), and then
# data.channel must be sms.
PHONE = {"type": "string", "pattern": "^[+][1-9][0-9]{7,14}$",
         "description": "E.164: the number that sent the SMS, instead of customer_id (not "
                        "both); ingest publishes one event per customer with that phone"}
BY_PHONE = [{"required": ["customer_id"]},
            {"required": ["phone", "channel"], "properties": {"channel": {"const": "sms"}}}]
for t in ("contact.ceased", "contact.resumed"):
    data[t]["properties"]["phone"] = PHONE
    data[t]["required"] = []
    data[t]["anyOf"] = BY_PHONE
COMMAND_ID = {"type": "string", "minLength": 1, "maxLength": 477,
              "description": "the id of the command the message was sent for (the notifier "
                             "puts it in the callback URL or the Message-ID); no control "
                             "characters or spaces"}
TEMPLATE = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^._/ ][^/ ]*$",
            "description": "the message's template name: no spaces, control characters or "
                           "'/', not starting with '.' or '_'"}
PROVIDER_ID = dict(ID, description="the provider's id of the message (Twilio's MessageSid); "
                                   "optional")
MESSAGE_ID = {"type": "string", "minLength": 1, "maxLength": 998,
              "description": "email: the notifier's Message-ID the provider reported on "
                             "(optional); it names the command only by a hash, so email events "
                             "may leave command_id out"}
# command_id is required for sms (the callback URL carries it); an email
# event names its message by message_id instead
BY_CHANNEL = [{"properties": {"channel": {"const": "email"}}}, {"required": ["command_id"]}]
data["contact.replied"] = obj({
    "customer_id": ID, "phone": PHONE,
    "channel": {"type": "string", "enum": ["sms", "email"],
                "description": "sms when phone names the debtor"},
    "text": {"type": "string", "minLength": 1, "maxLength": 1600,
             "description": "what the debtor wrote, up to 1600 bytes of UTF-8 (newlines kept)"},
    "provider_id": PROVIDER_ID},
    ["channel", "text"])
data["contact.replied"]["anyOf"] = BY_PHONE
data["contact.delivered"] = obj({
    "customer_id": ID, "channel": {"type": "string", "enum": ["sms", "email"]},
    "command_id": COMMAND_ID, "template": TEMPLATE, "provider_id": PROVIDER_ID,
    "message_id": MESSAGE_ID},
    ["customer_id", "channel", "template"])
data["contact.delivered"]["anyOf"] = BY_CHANNEL
data["contact.bounced"] = obj({
    "customer_id": ID, "channel": {"type": "string", "enum": ["sms", "email"]},
    "command_id": COMMAND_ID, "template": TEMPLATE, "provider_id": PROVIDER_ID,
    "message_id": MESSAGE_ID,
    "kind": {"type": "string", "enum": ["hard", "soft"],
             "description": "hard: the address does not work and is marked unusable until a "
                            "customer.upserted changes it; soft: a passing failure"},
    "address": {"type": "string", "minLength": 1, "maxLength": 254,
                "description": "the address that bounced (an e-mail address for email, E.164 "
                               "for sms); optional"}},
    ["customer_id", "channel", "template", "kind"])
data["contact.bounced"]["anyOf"] = BY_CHANNEL
data["contact.complained"] = obj({
    "customer_id": ID, "channel": {"type": "string", "enum": ["email"]},
    "command_id": COMMAND_ID, "template": TEMPLATE, "provider_id": PROVIDER_ID,
    "message_id": MESSAGE_ID},
    ["customer_id", "channel", "template"])

for t, d in data.items():
    s = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BASE + t + ".json",
        "title": t,
        "description": "A `%s` CloudEvent (structured mode) as published on arrears.inbound; "
                       "see docs/events.md." % t,
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": dict(ID, description="unique per (tenant, source); duplicates are dropped"),
            "source": ID,
            "type": {"const": t},
            "time": INSTANT,
            "tenant": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$",
                       "description": "default: default"},
            "datacontenttype": {"type": "string"},
            "traceparent": {"type": "string", "description": "W3C trace context (optional)"},
            "data": d,
        },
    }
    with open(os.path.join(HERE, t + ".json"), "w") as f:
        json.dump(s, f, indent=2)
        f.write("\n")

dlq = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": BASE + "dlq-record.json",
    "title": "ingest DLQ record",
    "description": "What arrears-ingest writes to arrears.ingest.dlq for a rejected message; "
                   "see docs/events.md.",
    "type": "object",
    "required": ["v", "reasons", "origin", "rejected_at", "event", "headers", "payload_bytes"],
    "properties": {
        "v": {"const": 1},
        "reasons": {"type": "array", "minItems": 1, "items": obj(
            {"field": {"type": "string"}, "rule": {"type": "string"},
             "message": {"type": "string"}}, ["field", "rule", "message"])},
        "reasons_dropped": {"type": "integer", "minimum": 1},
        "origin": obj({"topic": {"type": "string"}, "partition": {"type": "integer"},
                       "offset": {"type": "integer"}}, ["topic", "partition", "offset"]),
        "rejected_at": INSTANT,
        "event": obj({"tenant": {"type": "string"}, "source": {"type": "string"},
                      "id": {"type": "string"}, "type": {"type": "string"}}, []),
        "key": {"type": ["string", "null"]},
        "key_base64": {"type": "string"},
        "headers": {"type": "array", "items": obj(
            {"name": {"type": "string"}, "value": {"type": ["string", "null"]},
             "value_base64": {"type": "string"}}, ["name"])},
        "payload": {"type": "string"},
        "payload_base64": {"type": "string"},
        "payload_bytes": {"type": "integer", "minimum": 0},
        "truncated": {"const": True},
        "headers_dropped": {"type": "integer", "minimum": 1},
    },
}
with open(os.path.join(HERE, "dlq-record.json"), "w") as f:
    json.dump(dlq, f, indent=2)
    f.write("\n")
print("wrote", len(data) + 1, "schemas")
