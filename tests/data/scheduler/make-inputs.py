#!/usr/bin/env python3
# make-inputs.py -- writes tests/data/scheduler/cases/*/input.jsonl (the
# expected.jsonl files are written by hand, from the policy, not generated).
import json
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")
n = [0]


def ev(t, cust, data, tenant="acme"):
    n[0] += 1
    d = dict(data)
    d.setdefault("customer_id", cust)
    return {"v": 1, "id": "e%d" % n[0], "source": "billing", "type": t, "tenant": tenant,
            "time": "2026-03-01T00:00:00.000Z", "customer_id": cust, "data": d}


def cust(c, tz="Europe/London", **kw):
    d = {"name": "Name " + c, "email": c.lower() + "@x.test", "phone": "+447700900123", "timezone": tz,
         "locale": "en-GB", "country": "GB", "channels": ["email", "sms"], "opted_out": [], "tags": []}
    d.update(kw)
    return ev("customer.upserted", c, d)


def inv(i, c, amount, due, cur="EUR", **kw):
    d = {"invoice_id": i, "number": "N-" + i, "currency": cur, "amount_minor": amount,
         "issued_on": "2026-02-01", "due_on": due}
    d.update(kw)
    return ev(kw.pop("_type", "invoice.issued"), c, d)


def pay(p, c, amount, alloc=None, cur="EUR"):
    d = {"payment_id": p, "currency": cur, "amount_minor": amount, "received_on": "2026-03-01"}
    if alloc:
        d["allocations"] = [{"invoice_id": k, "amount_minor": v} for k, v in alloc]
    return ev("payment.received", c, d)


def until(t):
    return {"until": t}


def start(t):
    return {"start": t}


cases = {
    "ladder_london": [cust("C-1"), inv("I-1", "C-1", 12000, "2026-03-10"), until("2026-07-01T00:00:00Z")],
    "dst_new_york": [cust("C-2", "America/New_York"), inv("I-2", "C-2", 5000, "2026-03-10", "USD"),
                     until("2026-03-25T00:00:00Z")],
    "paid_in_full": [cust("C-1"), inv("I-1", "C-1", 12000, "2026-03-10"), until("2026-03-12T00:00:00Z"),
                     pay("P-1", "C-1", 12000, [("I-1", 12000)]), until("2026-07-01T00:00:00Z")],
    "partial_oldest_first": [cust("C-1"), inv("I-old", "C-1", 1000, "2026-03-05"),
                             inv("I-new", "C-1", 5000, "2026-03-20"), until("2026-03-04T00:00:00Z"),
                             pay("P-1", "C-1", 3000), until("2026-03-22T00:00:00Z")],
    "payment_before_invoice": [cust("C-1"), pay("P-9", "C-1", 4000, [("I-9", 4000)]),
                               inv("I-9", "C-1", 4000, "2026-03-20"), until("2026-07-01T00:00:00Z")],
    "reversal_reopens": [cust("C-1"), inv("I-1", "C-1", 12000, "2026-03-10"), until("2026-03-12T00:00:00Z"),
                         pay("P-1", "C-1", 12000), until("2026-03-20T00:00:00Z"),
                         ev("payment.reversed", "C-1", {"payment_id": "P-1", "reason": "chargeback"}),
                         until("2026-03-25T00:00:00Z")],
    "credit_note_closes": [cust("C-1"), inv("I-1", "C-1", 12000, "2026-03-10"), until("2026-03-08T00:00:00Z"),
                           ev("credit_note.issued", "C-1", {"credit_note_id": "CN-1", "invoice_id": "I-1",
                                                            "currency": "EUR", "amount_minor": 2000}),
                           ev("credit_note.issued", "C-1", {"credit_note_id": "CN-1", "invoice_id": "I-1",
                                                            "currency": "EUR", "amount_minor": 2000}),
                           until("2026-03-12T00:00:00Z"),
                           ev("credit_note.issued", "C-1", {"credit_note_id": "CN-2", "invoice_id": "I-1",
                                                            "currency": "EUR", "amount_minor": 10000}),
                           until("2026-07-01T00:00:00Z")],
    "voided_and_written_off": [cust("C-1"), inv("I-1", "C-1", 100, "2026-03-10"), inv("I-2", "C-1", 200, "2026-03-10"),
                               until("2026-03-08T00:00:00Z"), ev("invoice.voided", "C-1", {"invoice_id": "I-1"}),
                               until("2026-03-12T00:00:00Z"), ev("invoice.written_off", "C-1", {"invoice_id": "I-2"}),
                               until("2026-07-01T00:00:00Z")],
    "dispute_pause": [cust("C-1"), inv("I-1", "C-1", 100, "2026-03-10"), until("2026-03-08T00:00:00Z"),
                      ev("dispute.opened", "C-1", {"invoice_id": "I-1", "reason": "damaged"}),
                      until("2026-03-30T00:00:00Z"),
                      ev("dispute.resolved", "C-1", {"invoice_id": "I-1", "reason": "credited"}),
                      until("2026-04-01T00:00:00Z")],
    "opt_out_and_cease": [cust("C-1", opted_out=["sms"]), inv("I-1", "C-1", 100, "2026-03-10"),
                          until("2026-04-01T00:00:00Z"), ev("contact.ceased", "C-1", {}),
                          until("2026-07-01T00:00:00Z")],
    "due_date_moved": [cust("C-1"), inv("I-1", "C-1", 100, "2026-03-10"), until("2026-03-12T00:00:00Z"),
                       inv("I-1", "C-1", 150, "2026-03-31", _type="invoice.updated"),
                       until("2026-04-02T00:00:00Z")],
    "issued_late_collapses": [start("2026-03-30T12:00:00Z"), cust("C-1"), inv("I-1", "C-1", 100, "2026-03-10"),
                              until("2026-04-02T00:00:00Z")],
    "segment_key_account": [cust("C-1", tags=["vip"]), inv("I-1", "C-1", 100, "2026-03-10"),
                            until("2026-03-14T00:00:00Z")],
    "replayed_events": [cust("C-1"), inv("I-1", "C-1", 1000, "2026-03-10"), until("2026-03-08T00:00:00Z")],
    "credit_to_next_invoice": [cust("C-1"), pay("P-5", "C-1", 500), inv("I-1", "C-1", 300, "2026-03-10"),
                               inv("I-2", "C-1", 400, "2026-03-10"), until("2026-03-08T00:00:00Z")],
    "reversal_before_payment": [cust("C-1"), inv("I-1", "C-1", 100, "2026-03-10"),
                                ev("payment.reversed", "C-1", {"payment_id": "P-1", "reason": "x"}),
                                pay("P-1", "C-1", 100), until("2026-03-08T00:00:00Z")],
    "bad_events": [cust("C-1"),
                   ev("invoice.issued", "C-1", {"invoice_id": "I-1", "currency": "EURO", "amount_minor": 1,
                                                "issued_on": "2026-02-01", "due_on": "2026-03-10"}),
                   ev("invoice.issued", "C-1", {"invoice_id": "I-1", "currency": "EUR", "amount_minor": "12.00",
                                                "issued_on": "2026-02-01", "due_on": "2026-03-10"}),
                   ev("invoice.issued", "C-1", {"invoice_id": "I-1", "currency": "EUR", "amount_minor": 1,
                                                "issued_on": "2026-02-01", "due_on": "2026-02-30"}),
                   ev("payment.received", "C-1", {"payment_id": "P", "currency": "EUR", "amount_minor": 1,
                                                  "received_on": "2026-03-01",
                                                  "allocations": [{"invoice_id": "I-1", "amount_minor": 5}]}),
                   {"v": 1, "type": "invoice.issued", "tenant": "a/b", "customer_id": "C", "data": {}},
                   until("2026-07-01T00:00:00Z")],
}
# replays: every event twice (at-least-once delivery), same outcome
r = cases["replayed_events"]
cases["replayed_events"] = [r[0], r[0], r[1], r[1], pay("P-1", "C-1", 400)]
cases["replayed_events"] += [cases["replayed_events"][-1], r[2]]

for name, lines in cases.items():
    os.makedirs(os.path.join(HERE, name), exist_ok=True)
    with open(os.path.join(HERE, name, "input.jsonl"), "w") as f:
        for line in lines:
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
