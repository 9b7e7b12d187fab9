#!/usr/bin/env python3
"""make-record-schemas.py -- writes the JSON Schemas (draft 2020-12) of the
records arrears itself publishes, beside the inbound ones of
make-schemas.py:

  command.json               commands       (scheduler -> notifier)
  invoice.fee_charged.json   events         (the scheduler's own, issue 14;
  invoice.fee_waived.json                    canonical events, docs/events.md)
  invoice.interest_claimed.json
  invoice.settled.json
  plan.broken.json                          (the scheduler's own, issue 16)
  plan.completed.json
  escalation.placed.json
  case.json                  escalations    (the case file, scheduler -> agency)
  contact-outcome.json       contacts       (notifier -> reporter)
  task.json                  tasks          (notifier -> people)
  report-aging.json          reports        (type aging)
  report-kpis.json           reports        (type kpis)
  report-effectiveness.json  reports        (type effectiveness)
  report-error.json          reports        (the answer to a bad request)
  report-request.json        reports.requests (what a consumer sends)

They are the machine-readable form of docs/contracts.md and docs/reports.md,
for teams consuming these topics. Readers must ignore unknown fields, so the
schemas do not forbid additional properties; the golden test
tests/unit/test_contract_docs.c is stricter: every field the services'
code writes must be declared here and named in the docs, and records the
code produces must validate. Keywords are limited to those that test's
checker knows (type, const, enum, required, properties, items, minItems,
maxItems, uniqueItems, minLength, maxLength, pattern, minimum, anyOf,
dependentRequired); patterns use only the syntax common to ECMA-262 and
POSIX ERE. Run: python3 schemas/make-record-schemas.py"""
import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = "https://github.com/arrears/arrears/schemas/"

ID = {"type": "string", "minLength": 1, "maxLength": 200, "description": "1 to 200 bytes"}
COMMAND_ID = {"type": "string", "minLength": 1,
              "description": "deterministic: tenant/inv/<invoice_id>/step/<n>/attempt/<k>, "
                             "tenant/inv/<invoice_id>/thanks/<payment_id>; "
                             "one outcome per command id"}
TENANT = {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}
TEXT = {"type": "string"}
DATE = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "description": "YYYY-MM-DD"}
INSTANT = {"type": "string", "format": "date-time",
           "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z$",
           "description": "RFC 3339 UTC with milliseconds"}
CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 code"}
MINOR = {"type": "integer", "description": "minor units of the currency"}
COUNT = {"type": "integer", "minimum": 0}
CHANNEL = {"type": "string", "enum": ["email", "sms", "webhook", "call_task", "letter"]}
KIND = {"type": "string",
        "enum": ["reminder", "payment.thanks", "call_task", "letter", "escalation",
                 "interest_claim", "review"]}
NONNEG = {"type": "integer", "minimum": 0, "description": "minor units of the currency, >= 0"}
POSITIVE = {"type": "integer", "minimum": 1, "description": "minor units of the currency, > 0"}
OFFER_KINDS = ["discount", "settlement"]  # what settles an invoice (invoice.settled)
COMMAND_OFFER_KINDS = OFFER_KINDS + ["plan"]  # what a step may offer (issue 16: plans)
SCHEMES = ["uk_late_payment", "eu_late_payment", "contractual"]
AMOUNT_KEYS = ["principal", "fees", "interest", "compensation", "total"]
RATE = {"type": ["number", "null"],
        "description": "a percentage or a number of days, 2 decimals; null when its "
                       "denominator is zero"}
REPORT_TYPES = ["aging", "kpis", "effectiveness"]
PLAN_INSTALMENTS_MAX = 60  # CT_PLAN_INSTALMENTS_MAX


def obj(props, required, **extra):
    o = {"type": "object", "properties": props, "required": required}
    o.update(extra)
    return o


def array(item, **extra):
    a = {"type": "array", "items": item}
    a.update(extra)
    return a


def write(name, title, description, schema):
    s = {"$schema": "https://json-schema.org/draft/2020-12/schema",
         "$id": BASE + name + ".json", "title": title, "description": description}
    s.update(schema)
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(s, f, indent=2)
        f.write("\n")


# --- command (commands) ----------------------------------------------------
customer = obj({
    "customer_id": ID, "name": TEXT, "email": TEXT,
    "phone": {"type": "string", "pattern": "^[+][1-9][0-9]{6,14}$", "description": "E.164"},
    "timezone": TEXT, "locale": TEXT, "country": TEXT},
    ["customer_id"], description="the debtor as of the latest customer.upserted")
command = obj({
    "v": {"const": 1},
    "command_id": COMMAND_ID,
    "kind": KIND,
    "tenant": TENANT,
    "channel": CHANNEL,
    "template": TEXT,
    "locale": TEXT,
    "strategy": TEXT,
    "variant": TEXT,
    "segment": {"type": "string", "minLength": 1, "maxLength": 1000,
                "description": "the segment rule that chose the strategy: the strategy's segment as "
                               "compact JSON ({} a catch-all), or none when no strategy matched "
                               "and the last one ran"},
    "step": dict(COUNT, description="ladder steps: the step's index in its ladder"),
    "step_name": TEXT,
    "attempt": {"type": "integer", "minimum": 1,
                "description": "ladder steps: the invoice's ladder attempt"},
    "level": {"type": "integer", "description": "escalation commands: the agency level"},
    "created_at": dict(INSTANT, description="the simulated instant the timer fired"),
    "scheduled_at": dict(INSTANT, description="the instant the timer was due"),
    "not_after": dict(INSTANT, description="do not send after this (steps with valid_for)"),
    "customer": customer,
    "currency": {"type": "string", "pattern": "^([A-Z]{3})?$",
                 "description": "ISO 4217 code; empty only in a review (issue 17) of a debtor "
                                "without an open invoice"},
    "amounts": obj({k: MINOR for k in ["principal", "fees", "interest", "compensation", "total"]},
                   ["principal", "fees", "interest", "compensation", "total"]),
    "invoices": array(obj({
        "invoice_id": ID, "number": TEXT, "issued_on": DATE, "due_on": DATE,
        "days_overdue": {"type": "integer"}, "currency": CURRENCY,
        "amount_minor": MINOR, "outstanding_minor": MINOR,
        "amounts": obj({k: NONNEG for k in AMOUNT_KEYS}, AMOUNT_KEYS,
                       description="the invoice's principal, fees, interest, compensation "
                                   "and total as of the debtor's local date of the send"),
        "step": dict(COUNT, description="grouped commands: the invoice's step index"),
        "step_name": TEXT,
        "attempt": {"type": "integer", "minimum": 1,
                    "description": "grouped commands: the invoice's ladder attempt"}},
        ["invoice_id", "issued_on", "due_on", "currency", "outstanding_minor"]),
        description="at least one, but in a review (issue 17) of a debtor without an open "
                    "invoice"),
    "payment": obj({"payment_id": ID, "amount_minor": MINOR, "currency": CURRENCY},
                   ["payment_id", "amount_minor", "currency"],
                   description="payment.thanks commands: the payment thanked for"),
    "offer": obj({
        "kind": {"type": "string", "enum": COMMAND_OFFER_KINDS},
        "amount_minor": dict(NONNEG, description="to pay by valid_until"),
        "forgiven_minor": dict(NONNEG, description="taken off when paid in time"),
        "valid_until": dict(DATE, description="the debtor's local date, inclusive"),
        "plans": array(obj({"instalments": array(obj(
            {"due_on": DATE, "amount_minor": {"type": "integer", "minimum": 1}},
            ["due_on", "amount_minor"]), minItems=2, maxItems=12)}, ["instalments"]),
            minItems=1, maxItems=11,
            description="kind plan: the instalment plans the debtor may choose, "
                        "their amounts summing to amount_minor")},
        ["kind", "amount_minor", "forgiven_minor", "valid_until"],
        description="a step's offer: an early-payment discount or a settlement"),
    "interest_basis": obj({
        "scheme": {"type": "string", "enum": SCHEMES},
        "annual_pct": {"type": "string", "pattern": "^[0-9]+[.][0-9]{2,4}$",
                       "description": "the annual rate in percent, 2 to 4 decimals "
                                      "(\"13.25\", \"12.00\", \"8.125\")"},
        "country": {"type": "string", "pattern": "^[A-Z]{2}$",
                    "description": "ISO 3166-1 alpha-2 of the debtor, when known"}},
        ["scheme", "annual_pct"],
        description="the legal basis of the interest in amounts"),
    "risk": obj({
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
        "band": {"type": "string", "enum": ["low", "medium", "high", "severe"]},
        "contributions": array(obj({
            "factor": {"type": "string", "minLength": 1, "maxLength": 32},
            "value": {"type": "integer"},
            "points": {"type": "integer", "minimum": 0, "maximum": 100}},
            ["factor", "value", "points"]), maxItems=16)},
        ["score", "band", "contributions"],
        description="the debtor's risk score, band and each factor's value and points "
                    "(docs/risk.md); when the policy has a risk section"),
    "plan": obj({
        "plan_id": ID,
        "instalment": {"type": "integer", "minimum": 1, "maximum": PLAN_INSTALMENTS_MAX,
                       "description": "1-based: the instalment the message is about, at most "
                                      "instalments"},
        "instalments": {"type": "integer", "minimum": 1, "maximum": PLAN_INSTALMENTS_MAX,
                        "description": "how many instalments the plan has"},
        "due_on": dict(DATE, description="the instalment's due date"),
        "amount_minor": dict(NONNEG, description="the instalment's amount"),
        "paid_minor": dict(NONNEG, description="paid towards the instalment so far"),
        "total_minor": dict(NONNEG, description="the plan's total"),
        "total_paid_minor": dict(NONNEG, description="paid towards the plan so far")},
        ["plan_id", "instalment", "instalments", "due_on", "amount_minor", "paid_minor",
         "total_minor", "total_paid_minor"],
        description="instalment reminders (issue 16): the plan and the instalment the message "
                    "is about, in the command's currency"),
    "totals": array(obj({
        "currency": CURRENCY,
        "amounts": obj({k: NONNEG for k in AMOUNT_KEYS}, AMOUNT_KEYS)},
        ["currency", "amounts"]), maxItems=8,
        description="grouped commands (one message for several invoices of a debtor): the "
                    "sum of the invoices' amounts per currency, in order of first appearance"),
    "rules": array({"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[ -~]+$",
                    "description": "a rule name, printable ASCII"}, maxItems=16,
                   description="the contact rules that shaped the command "
                               "(window:moved, cap:sms,email:3/7d, ...); absent when none"),
    "reply": obj({
        "channel": CHANNEL,
        "text": {"type": "string", "minLength": 1, "maxLength": 1600,
                 "description": "what the debtor wrote, up to 1600 bytes of UTF-8"},
        "event_id": {"type": "string", "minLength": 1,
                     "description": "the id of the contact.replied event"},
        "at": dict(INSTANT, description="the contact.replied's time")},
        ["channel", "text", "event_id", "at"],
        description="kind review (issue 17): the debtor's reply for a collector to read"),
    "link_valid_days": {"type": "integer", "minimum": 1, "maximum": 365,
                        "description": "issue 17: the days a signed link of the message stays "
                                       "valid after created_at, from the policy's "
                                       "links.valid_days; absent when the policy does not set "
                                       "it (the notifier's tenant setting applies)"},
}, ["v", "command_id", "kind", "tenant", "channel", "template", "locale", "strategy", "variant",
    "created_at", "scheduled_at", "customer", "currency", "amounts", "invoices"])
write("command", "command",
      "A command on arrears.commands (scheduler -> notifier), keyed tenant/customer_id, "
      "header command_id; see docs/contracts.md.", command)

task = copy.deepcopy(command)
task["properties"]["task_id"] = dict(COMMAND_ID, description="the command id")
task["required"] = task["required"] + ["task_id"]
write("task", "task",
      "A call_task or letter command handed to people on arrears.tasks: the command "
      "plus task_id; see docs/contracts.md.", task)

# --- the scheduler's money events (events; issue 14) ----------------------------
DERIVED_ID = {"type": "string", "minLength": 1,
              "description": "derived from the ids it follows (docs/events.md); "
                             "at most CT_DERIVED_ID_MAX bytes"}
WAIVER_REASONS = ["paid_within", "principal_paid"]
scheduler_events = {
    "invoice.fee_charged": obj({
        "customer_id": ID, "invoice_id": ID, "currency": CURRENCY,
        "amount_minor": dict(POSITIVE, description="the fee charged"),
        "step": dict(COUNT, description="the index of the ladder step that charged it"),
        "charged_on": dict(DATE, description="the debtor's local date of the send")},
        ["customer_id", "invoice_id", "currency", "amount_minor", "step", "charged_on"]),
    "invoice.fee_waived": obj({
        "customer_id": ID, "invoice_id": ID, "currency": CURRENCY,
        "amount_minor": dict(POSITIVE, description="the fees waived"),
        "reason": {"type": "string", "enum": WAIVER_REASONS}},
        ["customer_id", "invoice_id", "currency", "amount_minor", "reason"]),
    "invoice.interest_claimed": obj({
        "customer_id": ID, "invoice_id": ID, "currency": CURRENCY,
        "interest_minor": NONNEG, "compensation_minor": NONNEG,
        "scheme": {"type": "string", "enum": SCHEMES},
        "days_late": {"type": "integer", "minimum": 1,
                      "description": "payment date minus due date"}},
        ["customer_id", "invoice_id", "currency", "interest_minor", "compensation_minor",
         "scheme", "days_late"]),
    "invoice.settled": obj({
        "customer_id": ID, "invoice_id": ID, "currency": CURRENCY,
        "paid_minor": dict(NONNEG, description="paid under the offer"),
        "forgiven_minor": dict(POSITIVE, description="for billing to write off"),
        "offer": {"type": "string", "enum": OFFER_KINDS}},
        ["customer_id", "invoice_id", "currency", "paid_minor", "forgiven_minor", "offer"]),
}
# --- the scheduler's plan events (events; issue 16) ----------------------------
PLAN_ENDED = {
    "customer_id": ID, "plan_id": ID,
    "invoice_ids": array(ID, minItems=1, maxItems=100, description="the plan's invoices"),
    "currency": CURRENCY,
    "total_minor": dict(POSITIVE, description="the plan's total"),
    "paid_minor": dict(NONNEG, description="paid towards the plan when it ended")}
PLAN_ENDED_REQUIRED = ["customer_id", "plan_id", "invoice_ids", "currency", "total_minor",
                       "paid_minor"]
plan_broken = dict(PLAN_ENDED)
plan_broken.update({
    "instalment": {"type": "integer", "minimum": 1, "maximum": PLAN_INSTALMENTS_MAX,
                   "description": "1-based: the instalment that was missed"},
    "due_on": dict(DATE, description="that instalment's due date"),
    "short_minor": dict(POSITIVE, description="what was missing of that instalment")})
scheduler_events["plan.broken"] = obj(
    plan_broken, PLAN_ENDED_REQUIRED + ["instalment", "due_on", "short_minor"])
scheduler_events["plan.completed"] = obj(dict(PLAN_ENDED), PLAN_ENDED_REQUIRED)
# --- the hand-off (events and escalations; issue 16) ----------------------------
CASE_ID = {"type": "string", "pattern": "^case-[0-9a-f]{16}$",
           "description": "deterministic: case- and 16 lower-case hex digits "
                          "(docs/escalation.md)"}
TO = {"type": "string", "enum": ["agency", "legal"]}
scheduler_events["escalation.placed"] = obj({
    "customer_id": ID, "case_id": CASE_ID, "to": TO,
    "invoice_ids": array(ID, minItems=1, maxItems=100, description="the case's invoices"),
    "currency": CURRENCY,
    "placed_minor": dict(POSITIVE, description="the case's outstanding with fees and "
                                               "interest"),
    "expected_net_minor": dict(POSITIVE, description="what the gate expected to recover, "
                                                     "net of commission and cost"),
    "command_id": dict(COMMAND_ID, description="the escalation step's command id")},
    ["customer_id", "case_id", "to", "invoice_ids", "currency", "placed_minor",
     "expected_net_minor", "command_id"])
for etype, data in scheduler_events.items():
    write(etype, etype,
          "A `%s` canonical event the scheduler publishes on arrears.events (source "
          "arrears-scheduler), keyed tenant/customer_id; billing may not publish it on "
          "inbound. See docs/events.md." % etype,
          obj({"v": {"const": 1}, "id": DERIVED_ID,
               "source": {"const": "arrears-scheduler"}, "type": {"const": etype},
               "tenant": TENANT, "time": INSTANT, "customer_id": ID,
               "trace_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
               "data": data},
              ["v", "id", "source", "type", "tenant", "time", "customer_id", "trace_id",
               "data"]))

# --- the case file (escalations; issue 16) ------------------------------------
PCT = {"type": "integer", "minimum": 0, "maximum": 100, "description": "percent"}
RESPONSE_TYPES = ["promise.made", "promise.kept", "promise.broken", "dispute.opened",
                  "dispute.resolved", "contact.logged", "plan.agreed", "plan.cancelled",
                  "plan.broken", "plan.completed"]
case_amount_keys = ["amount_minor", "paid_minor", "credited_minor", "principal_minor",
                    "fees_minor", "interest_minor", "compensation_minor", "total_minor"]
case_invoice = {"invoice_id": ID, "number": TEXT, "issued_on": DATE, "due_on": DATE,
                "days_overdue": {"type": "integer"}}
case_invoice.update({k: dict(NONNEG) for k in case_amount_keys})
case_invoice["total_minor"] = dict(NONNEG, description="principal_minor + fees_minor + "
                                                       "interest_minor + compensation_minor")
case_file = obj({
    "v": {"const": 1},
    "case_id": CASE_ID,
    "tenant": TENANT,
    "customer_id": ID,
    "created_at": dict(INSTANT, description="the instant the case was placed"),
    "to": TO,
    "currency": CURRENCY,
    "rule": obj({"strategy": TEXT, "variant": TEXT, "step": COUNT, "step_name": TEXT,
                 "command_id": dict(COMMAND_ID, description="the escalation step's command "
                                                             "id")},
                ["strategy", "variant", "step", "step_name", "command_id"],
                description="the policy rule that escalated: the strategy, variant and "
                            "ladder step"),
    "gate": obj({"outstanding_minor": NONNEG, "min_outstanding_minor": NONNEG,
                 "expected_recovery_pct": PCT, "commission_pct": PCT,
                 "cost_fixed_minor": NONNEG,
                 "expected_net_minor": dict(POSITIVE, description="outstanding x "
                                            "expected_recovery_pct - commission on that - "
                                            "cost_fixed")},
                ["outstanding_minor", "min_outstanding_minor", "expected_recovery_pct",
                 "commission_pct", "cost_fixed_minor", "expected_net_minor"],
                description="the cost-benefit gate as it passed"),
    "debtor": dict(copy.deepcopy(customer), description="the debtor with contact data: a "
                                                         "command's customer"),
    "risk": dict(copy.deepcopy(command["properties"]["risk"]),
                 description="a command's risk; absent when the policy has no risk section"),
    "invoices": array(obj(case_invoice, ["invoice_id", "issued_on", "due_on", "days_overdue"] +
                          case_amount_keys), minItems=1,
                      description="the case's invoices, oldest due first"),
    "contacts": array(obj({
        "command_id": COMMAND_ID, "at": dict(INSTANT, description="when it was issued or held"),
        "invoice_id": ID, "step": COUNT, "step_name": TEXT, "kind": KIND, "channel": CHANNEL,
        "template": TEXT,
        "result": {"type": "string", "enum": ["issued", "held"]},
        "rule": dict(TEXT, minLength=1, description="held: the rule that held it")},
        ["command_id", "at", "invoice_id", "step", "step_name", "kind", "channel", "template",
         "result"],
        anyOf=[{"properties": {"result": {"const": "issued"}}},
               {"properties": {"result": {"const": "held"}}, "required": ["rule"]}]),
        description="every command of the case's invoices, issued or held, oldest first"),
    "responses": array(obj({
        "type": {"type": "string", "enum": RESPONSE_TYPES},
        "at": INSTANT, "id": ID,
        "detail": dict(TEXT, description="free text (optional)")},
        ["type", "at", "id"]),
        description="the debtor's promises, disputes, logged calls and plans, oldest first"),
}, ["v", "case_id", "tenant", "customer_id", "created_at", "to", "currency", "rule", "gate",
    "debtor", "invoices", "contacts", "responses"])
write("case", "case file",
      "A case file on arrears.escalations (scheduler -> agency or legal), one per placement, "
      "keyed tenant/customer_id; see docs/escalation.md and docs/contracts.md.", case_file)

# --- contact outcome (contacts) -----------------------------------------------
contact = obj({
    "v": {"const": 1},
    "type": {"type": "string", "enum": ["contact.sent", "contact.failed"]},
    "id": dict(COMMAND_ID, description="the command id: one outcome per command"),
    "command_id": COMMAND_ID,
    "kind": KIND,
    "tenant": TENANT,
    "customer_id": ID,
    "invoice_ids": array(ID),
    "channel": CHANNEL,
    "template": TEXT,
    "strategy": TEXT,
    "variant": TEXT,
    "step": COUNT,
    "provider_status": {"type": "string",
                        "description": "SMTP code, HTTP status, \"queued\" for tasks, "
                                       "or \"\" when none"},
    "attempts": COUNT,
    "latency_ms": COUNT,
    "at": dict(INSTANT, description="the shared clock when the outcome was decided"),
    "currency": {"type": "string", "pattern": "^([A-Z]{3})?$",
                 "description": "the command's currency (empty: a review of a debtor without "
                                "an open invoice, issue 17)"},
    "amount_total_minor": MINOR,
    "message_id": dict(TEXT, description="email: the Message-ID sent"),
    "reason": dict(TEXT, description="contact.failed: what went wrong"),
}, ["v", "type", "id", "command_id", "invoice_ids", "provider_status", "attempts",
    "latency_ms", "at"])
write("contact-outcome", "contact outcome",
      "A contact.sent or contact.failed record on arrears.contacts (notifier -> "
      "reporter), keyed tenant/customer_id; see docs/contracts.md.", contact)

# --- reports ------------------------------------------------------------------
def report(rtype, props, required):
    p = {"v": {"const": 1}, "type": {"const": rtype}, "tenant": TEXT,
         "as_of": dict(DATE, description="the report describes the end of this day, UTC"),
         "generated_at": INSTANT,
         "request_id": dict(TEXT, description="answers to a request: its id")}
    p.update(props)
    return obj(p, ["v", "type", "tenant", "as_of", "generated_at"] + required)


def recovered():
    return array(obj({"currency": CURRENCY, "amount_minor": MINOR},
                     ["currency", "amount_minor"]))


BUCKETS = array(obj({"bucket": {"type": "string",
                                "enum": ["current", "1-30", "31-60", "61-90", "91+"]},
                     "count": COUNT, "amount_minor": MINOR},
                    ["bucket", "count", "amount_minor"]), minItems=5, maxItems=5)
count_amount = obj({"count": COUNT, "amount_minor": MINOR}, ["count", "amount_minor"])
aging = report("aging", {"currencies": array(obj({
    "currency": CURRENCY, "exponent": COUNT,
    "buckets": BUCKETS,
    "total": count_amount, "overdue": count_amount,
    "top_overdue_customers": array(obj({
        "customer_id": ID, "name": {"type": ["string", "null"]},
        "overdue_minor": MINOR, "overdue_invoices": COUNT, "max_days_past_due": COUNT,
        "broken_promise": {"type": "boolean"},
        "risk_band": {"type": "string", "enum": ["low", "medium", "high", "severe"]}},
        ["customer_id", "name", "overdue_minor", "overdue_invoices", "max_days_past_due",
         "broken_promise", "risk_band"]), maxItems=10)},
    ["currency", "exponent", "buckets", "total", "overdue", "top_overdue_customers"]))},
    ["currencies"])

period_props = {
    "period": {"type": "string", "enum": ["day", "week", "month"]},
    "from": DATE, "to": DATE, "days": COUNT,
    "invoiced_minor": MINOR, "collected_minor": MINOR, "beginning_ar_minor": MINOR,
    "ending_ar_minor": MINOR, "ending_current_ar_minor": MINOR,
    "ending_overdue_ar_minor": MINOR,
    "dso_simple_days": RATE, "best_possible_dso_days": RATE, "add_days": RATE,
    "cei_percent": RATE, "recovery_base_minor": MINOR, "recovered_minor": MINOR,
    "recovery_rate_percent": RATE,
    "late_payments": obj({"count": COUNT, "mean_days": RATE, "median_days": RATE,
                          "p90_days": RATE}, ["count", "mean_days", "median_days", "p90_days"]),
    "promises": obj({"kept": COUNT, "broken": COUNT, "kept_rate_percent": RATE},
                    ["kept", "broken", "kept_rate_percent"]),
    "disputes": obj({"disputed_invoices": COUNT, "active_invoices": COUNT,
                     "dispute_rate_percent": RATE},
                    ["disputed_invoices", "active_invoices", "dispute_rate_percent"]),
}
# the figures of escalations (issue 16) also given per destination (by_to)
ESC_TO_NAMES = ["agency", "legal"]  # ct_escalation_to
ESC_TO = {"placed_cases": COUNT, "placed_minor": NONNEG, "recalled_cases": COUNT,
          "remitted_minor": NONNEG, "commission_minor": NONNEG}
# money (issue 14): only for a currency with one of the scheduler's money
# events on or before as_of, so not required
period_money = {
    "money": dict(obj({"fees_charged_minor": NONNEG, "fees_waived_minor": NONNEG,
                  "interest_claimed_minor": NONNEG, "compensation_claimed_minor": NONNEG,
                  "forgiven_minor": NONNEG,
                  "forgiven_by_offer": obj({"discount_minor": NONNEG, "settlement_minor": NONNEG},
                                           ["discount_minor", "settlement_minor"])},
                 ["fees_charged_minor", "fees_waived_minor", "interest_claimed_minor",
                  "compensation_claimed_minor", "forgiven_minor", "forgiven_by_offer"]),
                  description="the scheduler's fees, interest and offers in the period; only "
                              "for a currency with one of them on or before as_of"),
    # hand-off (issue 16): only for a currency with a placement or a
    # remittance on or before as_of, so not required
    "escalations": dict(obj(dict({
        "accepted_cases": COUNT,
        "net_remitted_minor": NONNEG,
        "placed_to_date_minor": NONNEG, "remitted_to_date_minor": NONNEG,
        "net_remitted_to_date_minor": NONNEG,
        "recovery_rate_percent": RATE, "net_recovery_rate_percent": RATE,
        "by_to": obj({to: obj(ESC_TO, list(ESC_TO)) for to in ESC_TO_NAMES}, ESC_TO_NAMES)},
        **ESC_TO), list(ESC_TO) + [
        "accepted_cases", "net_remitted_minor", "placed_to_date_minor",
        "remitted_to_date_minor", "net_remitted_to_date_minor", "recovery_rate_percent",
        "net_recovery_rate_percent", "by_to"]),
        description="cases handed to an agency or to legal, recalled, and what came back, in "
                    "the period; the recovery rate to date; only for a currency with a "
                    "placement or remittance on or before as_of"),
}
ARM_PERIOD = {k: v for k, v in period_props.items() if k not in ("collected_minor", "promises")}
kpis = report("kpis", {"currencies": array(obj({
    "currency": CURRENCY, "exponent": COUNT,
    "dso_countback_days": {"type": "number", "minimum": 0},
    "periods": array(obj(dict(period_props, **period_money), list(period_props)),
                     minItems=3, maxItems=3)},
    ["currency", "exponent", "dso_countback_days", "periods"])),
    # issue 15: the invoice-based figures per strategy and variant (no
    # collected cash, promises, money or countback: tenant-wide); only when
    # the tenant's contacts carry strategies
    "arms": dict(array(obj({
        "strategy": TEXT, "variant": TEXT,
        "currencies": array(obj({
            "currency": CURRENCY, "exponent": COUNT,
            "periods": array(obj(ARM_PERIOD, list(ARM_PERIOD)), minItems=3, maxItems=3)},
            ["currency", "exponent", "periods"]))},
        ["strategy", "variant", "currencies"])),
        description="per strategy and variant, over the arm's invoices only (its invoices: "
                    "those whose first contact under the strategy was of the variant)")},
    ["currencies"])

effectiveness = report("effectiveness", {
    "response_window_days": COUNT,
    "rows": array(obj({
        "strategy": TEXT, "variant": TEXT, "step": {"type": "integer"}, "channel": TEXT,
        "sent": COUNT, "failed": COUNT, "contacted_invoices": COUNT,
        "responded_invoices": COUNT, "response_rate_percent": RATE,
        "recovered": recovered()},
        ["strategy", "variant", "step", "channel", "sent", "failed", "contacted_invoices",
         "responded_invoices", "response_rate_percent", "recovered"])),
    "experiments": array(obj({
        "strategy": TEXT, "baseline": TEXT,
        "variants": array(obj({
            "variant": TEXT, "invoices": COUNT, "paid_invoices": COUNT,
            "recovery_rate_percent": RATE,
            "recovery_ci95_low_percent": RATE, "recovery_ci95_high_percent": RATE,
            "recovered": recovered(),
            # issue 15: the arms compared on cost
            "messages": dict(obj({c: COUNT for c in CHANNEL["enum"]}, []),
                             description="sent ladder messages of the variant by channel; "
                                         "only channels with any"),
            "unpriced_messages": COUNT,
            "collection_cost": array(obj({"currency": CURRENCY, "cost_minor": NONNEG,
                                          "unpriced_messages": COUNT,
                                          "recovered_minor": MINOR,
                                          "cost_per_100_recovered": RATE},
                                         ["currency", "cost_minor", "unpriced_messages",
                                          "recovered_minor", "cost_per_100_recovered"])),
            "days_to_recover": obj({"count": COUNT, "median_days": RATE, "p90_days": RATE},
                                   ["count", "median_days", "p90_days"]),
            "aging": array(obj({"currency": CURRENCY, "buckets": BUCKETS},
                               ["currency", "buckets"]))},
            ["variant", "invoices", "paid_invoices", "recovery_rate_percent",
             "recovery_ci95_low_percent", "recovery_ci95_high_percent", "recovered",
             "messages", "unpriced_messages", "collection_cost", "days_to_recover",
             "aging"])),
        "comparisons": array(obj({"variant": TEXT, "baseline": TEXT,
                                  "difference_points": RATE, "ci95_low_points": RATE,
                                  "ci95_high_points": RATE,
                                  "z_score": {"type": ["number", "null"],
                                              "description": "pooled two-proportion z, 2 "
                                                             "decimals; null when either "
                                                             "variant has no invoice"},
                                  "p_value": {"type": ["number", "null"],
                                              "description": "two-sided, 4 decimals; null "
                                                             "when either variant has no "
                                                             "invoice"},
                                  "significant": {"type": "boolean"},
                                  "verdict": dict(TEXT, minLength=1)},
                                 ["variant", "baseline", "difference_points",
                                  "ci95_low_points", "ci95_high_points", "z_score", "p_value",
                                  "significant", "verdict"]))},
        ["strategy", "baseline", "variants", "comparisons"])),
    # issue 17: what came back from the providers and the debtors
    "deliverability": array(obj({
        "channel": {"type": "string", "enum": ["email", "sms"]}, "template": TEXT,
        "sent": COUNT, "delivered": COUNT, "bounced": COUNT, "hard_bounced": COUNT,
        "complained": COUNT, "replied": COUNT,
        "delivery_rate_percent": RATE, "bounce_rate_percent": RATE,
        "complaint_rate_percent": RATE, "reply_rate_percent": RATE},
        ["channel", "template", "sent", "delivered", "bounced", "hard_bounced", "complained",
         "replied", "delivery_rate_percent", "bounce_rate_percent", "complaint_rate_percent",
         "reply_rate_percent"]),
        description="per channel and template, up to the end of the report's day: messages "
                    "sent and what came back; each rate is its count over sent, in percent "
                    "rounded half up to 2 decimals (null when none was sent)"),
    "replies_unattributed": dict(COUNT, description="replies that followed no message sent "
                                                    "on their channel to their debtor")},
    ["response_window_days", "rows", "experiments", "deliverability", "replies_unattributed"])

for name, s in (("aging", aging), ("kpis", kpis), ("effectiveness", effectiveness)):
    write("report-" + name, name + " report",
          "An %s report on arrears.reports, keyed tenant/%s; see docs/reports.md." % (name, name),
          s)

write("report-error", "error report",
      "The answer to a bad report request on arrears.reports, keyed tenant/error; "
      "see docs/reports.md.",
      obj({"v": {"const": 1}, "type": {"const": "error"}, "tenant": TEXT,
           "request_id": TEXT, "error": dict(TEXT, minLength=1)},
          ["v", "type", "tenant", "request_id", "error"]))

write("report-request", "report request",
      "A request on arrears.reports.requests, answered on arrears.reports; see "
      "docs/reports.md.",
      obj({"v": {"const": 1}, "id": ID, "tenant": TENANT,
           "types": array({"type": "string", "enum": REPORT_TYPES}, minItems=1,
                          uniqueItems=True),
           "as_of": DATE}, ["id"]))
