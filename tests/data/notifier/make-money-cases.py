#!/usr/bin/env python3
"""make-money-cases.py -- writes the render cases of issue 14's money
(fees, interest and compensation lines, the interest claim, offers) and
issue 15's wording (one invoice or many, plural forms in English and
German, a pre-due reminder, totals per currency) into render/ beside this
file, for tests/unit/test_notifier_cases.c.

The expected messages are spelt out by hand below, with the arithmetic of
each amount in a comment (statutory rates and thresholds as docs/policy.md
and docs/events.md work them); nothing is produced by the notifier. SMS
bodies have no trailing newline (the notifier sends one line). Rewrites
only the cases named here. Run: python3 tests/data/notifier/make-money-cases.py"""
import json, os
R = os.path.join(os.path.dirname(os.path.abspath(__file__)), "render")
NB = "\u00a0"
def case(name, cmd, **files):
    d = os.path.join(R, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "command.json"), "w", encoding="utf-8") as f:
        json.dump(cmd, f, indent=1, ensure_ascii=False)
    for k, v in files.items():
        fn = {"subject": "expected.subject", "txt": "expected.txt", "html": "expected.html",
              "error": "expected.error"}[k]
        with open(os.path.join(d, fn), "w", encoding="utf-8") as f:
            f.write(v)

def amounts(p, f, i, c):
    return {"principal": p, "fees": f, "interest": i, "compensation": c, "total": p + f + i + c}

SIG_EN = "Kind regards,\nArrears Demo Ltd\naccounts@example.test · +44 20 7946 0000\n\n--\n"
OPT_EN = 'You receive this message because you have an account with Arrears Demo Ltd. To stop reminders by email, reply with "unsubscribe".\n'
SIG_DE = "Mit freundlichen Grüßen\nArrears Demo Ltd\naccounts@example.test · +44 20 7946 0000\n\n--\n"
OPT_DE = "Sie erhalten diese Nachricht, weil Sie Kunde von Arrears Demo Ltd sind. Um keine Erinnerungen per E-Mail mehr zu erhalten, antworten Sie mit „abmelden“.\n"
HSIG_EN = ('<p>Kind regards,<br>Arrears Demo Ltd<br>accounts@example.test · +44 20 7946 0000</p>\n'
           '<hr><p style="font-size: small; color: #666;">You receive this message because you have an account with Arrears Demo Ltd. To stop reminders by email, reply with &quot;unsubscribe&quot;.</p>\n'
           '</body></html>\n')
HSIG_DE = ('<p>Mit freundlichen Grüßen<br>Arrears Demo Ltd<br>accounts@example.test · +44 20 7946 0000</p>\n'
           '<hr><p style="font-size: small; color: #666;">Sie erhalten diese Nachricht, weil Sie Kunde von Arrears Demo Ltd sind. Um keine Erinnerungen per E-Mail mehr zu erhalten, antworten Sie mit „abmelden“.</p>\n'
           '</body></html>\n')
ADA = {"customer_id": "C-1042", "name": "Ada Lovelace Ltd", "email": "ap@ada.example",
       "phone": "+447700900123", "timezone": "Europe/London", "locale": "en-GB", "country": "GB"}
MUELLER = {"customer_id": "C-77", "name": "Müller GmbH", "email": "buchhaltung@mueller.example",
           "phone": "+4930123456789", "timezone": "Europe/Berlin", "locale": "de-DE", "country": "DE"}

def command(cid, kind, channel, template, locale, created, customer, currency, amts, invoices, **extra):
    c = {"v": 1, "command_id": cid, "kind": kind, "tenant": "acme", "channel": channel,
         "template": template, "locale": locale, "strategy": "default", "variant": "A"}
    if "step" in extra:
        c["step"] = extra.pop("step")
        c["step_name"] = extra.pop("step_name")
        c["attempt"] = 1
    c.update({"created_at": created, "scheduled_at": created, "customer": customer,
              "currency": currency, "amounts": amts, "invoices": invoices})
    c.update(extra)
    return c

# --- A: a UK claim after payment, en-GB email ----------------------------------
# 1,250.00 due 2024-03-31, paid 2024-05-10: 40 days late. Reference date 31
# Dec 2023 (Bank Rate 5.25%) + 8 = 13.25%; 125000 x 1325 x 40 / 3650000 =
# 1815.07 -> 18.15. 1,000.00 <= 1,250.00 < 10,000.00: compensation 70.00.
# Total 18.15 + 70.00 = 88.15.
a = amounts(0, 0, 1815, 7000)
case("en_gb_interest_claim", command(
    "acme/inv/INV-51/claim/PAY-1007", "interest_claim", "email", "interest_claim", "en-GB",
    "2024-05-10T13:00:00.000Z", ADA, "GBP", a,
    [{"invoice_id": "INV-51", "number": "2024-0051", "issued_on": "2024-03-01",
      "due_on": "2024-03-31", "days_overdue": 40, "currency": "GBP", "amount_minor": 125000,
      "outstanding_minor": 0, "amounts": a}],
    interest_basis={"scheme": "uk_late_payment", "annual_pct": "13.25", "country": "GB"}),
    subject="Interest and compensation on late payment: £88.15",
    txt="Dear Ada Lovelace Ltd,\n\n"
        "Thank you for your payment of the invoice below. As it reached us after the due date, "
        "we claim statutory interest under the Late Payment of Commercial Debts (Interest) Act 1998 "
        "at 13.25% a year, and a fixed sum for the costs of recovering the debt:\n\n"
        "  2024-0051  due 31 March 2024\n\n"
        "Interest: £18.15\n"
        "Fixed sum for the costs of recovery: £70.00\n"
        "Total now due: £88.15\n\n" + SIG_EN + OPT_EN,
    html='<!DOCTYPE html>\n'
         '<html lang="en-GB"><head><meta charset="utf-8"><title>Interest and compensation on late payment: £88.15</title></head>\n'
         '<body style="font-family: sans-serif; color: #222;">\n'
         '<p>Dear Ada Lovelace Ltd,</p>\n'
         '<p>Thank you for your payment of the invoice below. As it reached us after the due date, '
         'we claim statutory interest under the Late Payment of Commercial Debts (Interest) Act 1998 '
         'at 13.25% a year, and a fixed sum for the costs of recovering the debt:</p>\n'
         '<table cellpadding="4" style="border-collapse: collapse;">\n'
         '<tr><th align="left">Invoice</th><th align="left">Due</th></tr>\n'
         '<tr><td>2024-0051</td><td>31 March 2024</td></tr>\n'
         '</table>\n'
         '<table cellpadding="4" style="border-collapse: collapse;">\n'
         '<tr><td>Interest</td><td align="right">£18.15</td></tr>\n'
         '<tr><td>Fixed sum for the costs of recovery</td><td align="right">£70.00</td></tr>\n'
         '<tr><td><strong>Total now due</strong></td><td align="right"><strong>£88.15</strong></td></tr>\n'
         '</table>\n\n' + HSIG_EN)

# --- B: an EU claim in Germany with fees still owed, de-DE email -----------------
# 2,000.00 EUR due 2024-06-30, paid 2024-07-30: 30 days late, all in the
# second half of 2024: Bundesbank base rate on 1 July 2024 3.62% + 9 =
# 12.62%; 200000 x 1262 x 30 / 3650000 = 2074.52 -> 20.75. Compensation
# 40.00; fees still owed 10.00. Total 20.75 + 40.00 + 10.00 = 70.75.
b = amounts(0, 1000, 2075, 4000)
case("de_de_interest_claim_eu", command(
    "acme/inv/INV-17/claim/PAY-88", "interest_claim", "email", "interest_claim", "de-DE",
    "2024-07-30T08:00:00.000Z", MUELLER, "EUR", b,
    [{"invoice_id": "INV-17", "number": "R-2024-17", "issued_on": "2024-05-31",
      "due_on": "2024-06-30", "days_overdue": 30, "currency": "EUR", "amount_minor": 200000,
      "outstanding_minor": 0, "amounts": b}],
    interest_basis={"scheme": "eu_late_payment", "annual_pct": "12.62", "country": "DE"}),
    subject=f"Verzugszinsen und Pauschale: 70,75{NB}€",
    txt="Sehr geehrte Damen und Herren (Müller GmbH),\n\n"
        "vielen Dank für die Zahlung der unten genannten Rechnung. Da sie nach dem Fälligkeitstag "
        f"bei uns einging, machen wir gesetzliche Verzugszinsen nach § 288 Abs. 2 BGB in Höhe von 12,62{NB}% p. a. "
        "sowie eine Verzugspauschale für Beitreibungskosten geltend:\n\n"
        "  R-2024-17  fällig 30. Juni 2024\n\n"
        f"Zinsen: 20,75{NB}€\n"
        f"Verzugspauschale für Beitreibungskosten: 40,00{NB}€\n"
        f"Noch offene Mahngebühren: 10,00{NB}€\n"
        f"Jetzt fällig: 70,75{NB}€\n\n" + SIG_DE + OPT_DE,
    html='<!DOCTYPE html>\n'
         f'<html lang="de-DE"><head><meta charset="utf-8"><title>Verzugszinsen und Pauschale: 70,75{NB}€</title></head>\n'
         '<body style="font-family: sans-serif; color: #222;">\n'
         '<p>Sehr geehrte Damen und Herren (Müller GmbH),</p>\n'
         '<p>vielen Dank für die Zahlung der unten genannten Rechnung. Da sie nach dem Fälligkeitstag '
         f'bei uns einging, machen wir gesetzliche Verzugszinsen nach § 288 Abs. 2 BGB in Höhe von 12,62{NB}% p. a. '
         'sowie eine Verzugspauschale für Beitreibungskosten geltend:</p>\n'
         '<table cellpadding="4" style="border-collapse: collapse;">\n'
         '<tr><th align="left">Rechnung</th><th align="left">Fällig</th></tr>\n'
         '<tr><td>R-2024-17</td><td>30. Juni 2024</td></tr>\n'
         '</table>\n'
         '<table cellpadding="4" style="border-collapse: collapse;">\n'
         f'<tr><td>Zinsen</td><td align="right">20,75{NB}€</td></tr>\n'
         f'<tr><td>Verzugspauschale für Beitreibungskosten</td><td align="right">40,00{NB}€</td></tr>\n'
         f'<tr><td>Noch offene Mahngebühren</td><td align="right">10,00{NB}€</td></tr>\n'
         f'<tr><td><strong>Jetzt fällig</strong></td><td align="right"><strong>70,75{NB}€</strong></td></tr>\n'
         '</table>\n\n' + HSIG_DE)

# --- C: the claim by SMS, en-GB, a French debtor ---------------------------------
# 12.34 interest + 40.00 compensation = 52.34 (the SMS names no legal basis)
c = amounts(0, 0, 1234, 4000)
case("sms_interest_claim", command(
    "acme/inv/INV-9/claim/PAY-3", "interest_claim", "sms", "interest_claim", "en-GB",
    "2024-09-02T08:00:00.000Z", dict(ADA, country="FR"), "EUR", c,
    [{"invoice_id": "INV-9", "number": "F-9", "issued_on": "2024-07-01",
      "due_on": "2024-07-31", "days_overdue": 33, "currency": "EUR", "amount_minor": 90000,
      "outstanding_minor": 0, "amounts": c}],
    interest_basis={"scheme": "eu_late_payment", "annual_pct": "14.25", "country": "FR"}),
    txt="Arrears Demo Ltd: invoice F-9 was paid late. We claim interest €12.34 and "
        "compensation €40.00: €52.34 now due. Reply STOP to opt out.")

# --- D: a settlement offer, en-GB email -----------------------------------------
# 80% of the 1,000.00 balance: 800.00 by 14 May 2026 (sent 30 April, 14
# days), 200.00 forgiven.
d_am = amounts(100000, 0, 0, 0)
settle = {"kind": "settlement", "amount_minor": 80000, "forgiven_minor": 20000,
          "valid_until": "2026-05-14"}
case("en_gb_settlement", command(
    "acme/inv/INV-77/step/2/attempt/1", "reminder", "email", "settlement", "en-GB",
    "2026-04-30T08:00:00.000Z", ADA, "GBP", d_am,
    [{"invoice_id": "INV-77", "number": "2026-0077", "issued_on": "2026-02-01",
      "due_on": "2026-03-01", "days_overdue": 60, "currency": "GBP", "amount_minor": 100000,
      "outstanding_minor": 100000, "amounts": d_am}],
    step=2, step_name="+60d", offer=settle),
    subject="Settlement offer: pay £800.00 by 14 May 2026",
    txt="Dear Ada Lovelace Ltd,\n\n"
        "The following invoice remains unpaid and is now 60 days overdue:\n\n"
        "  2026-0077  due 1 March 2026  £1,000.00\n\n"
        "Total outstanding: £1,000.00\n\n"
        "To settle the matter, we will accept £800.00 in full and final settlement if it reaches "
        "us by 14 May 2026. The remaining £200.00 will then be forgiven.\n\n" + SIG_EN + OPT_EN,
    html='<!DOCTYPE html>\n'
         '<html lang="en-GB"><head><meta charset="utf-8"><title>Settlement offer</title></head>\n'
         '<body style="font-family: sans-serif; color: #222;">\n'
         '<p>Dear Ada Lovelace Ltd,</p>\n'
         '<p>The following invoice remains unpaid and is now 60 days overdue:</p>\n'
         '<table cellpadding="4" style="border-collapse: collapse;">\n'
         '<tr><th align="left">Invoice</th><th align="left">Due</th><th align="right">Owed</th></tr>\n'
         '<tr><td>2026-0077</td><td>1 March 2026</td><td align="right">£1,000.00</td></tr>\n'
         '</table>\n'
         '<p>Total outstanding: £1,000.00</p>\n'
         '<p><strong>To settle the matter, we will accept £800.00 in full and final settlement if it '
         'reaches us by 14 May 2026.</strong> The remaining £200.00 will then be forgiven.</p>\n\n'
         + HSIG_EN)

# --- E: the same offer by SMS in German, EUR --------------------------------------
case("sms_de_settlement", command(
    "acme/inv/INV-78/step/2/attempt/1", "reminder", "sms", "settlement", "de-DE",
    "2026-04-30T08:00:00.000Z", MUELLER, "EUR", d_am,
    [{"invoice_id": "INV-78", "number": "R-78", "issued_on": "2026-02-01",
      "due_on": "2026-03-01", "days_overdue": 60, "currency": "EUR", "amount_minor": 100000,
      "outstanding_minor": 100000, "amounts": d_am}],
    step=2, step_name="+60d", offer=settle),
    txt=f"Arrears Demo Ltd: 1.000,00{NB}€ ist überfällig. Zahlen Sie 800,00{NB}€ bis 14. Mai 2026 "
        f"zur abschließenden Erledigung; 200,00{NB}€ werden erlassen. Antworten Sie STOP zum Abmelden.")

# --- F: a settlement template without an offer is not sent -------------------------
case("settlement_without_offer_is_an_error", command(
    "acme/inv/INV-77/step/2/attempt/1", "reminder", "email", "settlement", "en-GB",
    "2026-04-30T08:00:00.000Z", ADA, "GBP", d_am,
    [{"invoice_id": "INV-77", "number": "2026-0077", "issued_on": "2026-02-01",
      "due_on": "2026-03-01", "days_overdue": 60, "currency": "GBP", "amount_minor": 100000,
      "outstanding_minor": 100000}], step=2, step_name="+60d"),
    error="missing variable 'offer'\n")

# --- G: overdue_7 with a fee and interest, en-GB email, a French debtor ---------------
# 1,250.00 EUR due 2024-08-01, 7 days late on 2024-08-08: a 10.00 + 1% x
# 1,250.00 = 22.50 fee; ECB rate on 1 July 2024 4.25% + 10 = 14.25%:
# 125000 x 1425 x 7 / 3650000 = 341.61 -> 3.42. Total 1,250.00 + 22.50 +
# 3.42 = 1,275.92.
g = amounts(125000, 2250, 342, 0)
case("en_gb_overdue_7_charges", command(
    "acme/inv/INV-5/step/2/attempt/1", "reminder", "email", "overdue_7", "en-GB",
    "2024-08-08T07:00:00.000Z", dict(ADA, country="FR", timezone="Europe/Paris"), "EUR", g,
    [{"invoice_id": "INV-5", "number": "F-2024-5", "issued_on": "2024-07-02",
      "due_on": "2024-08-01", "days_overdue": 7, "currency": "EUR", "amount_minor": 125000,
      "outstanding_minor": 125000, "amounts": g}],
    step=2, step_name="+7d",
    interest_basis={"scheme": "eu_late_payment", "annual_pct": "14.25", "country": "FR"}),
    subject="Second reminder: €1,275.92 overdue",
    txt="Dear Ada Lovelace Ltd,\n\n"
        "The following invoice is now 7 days overdue. Please arrange payment as soon as possible:\n\n"
        "  F-2024-5  due 1 August 2024  €1,250.00 (7 days overdue)\n\n"
        "Late payment fees: €22.50\n"
        "Interest: €3.42 (statutory interest under Directive 2011/7/EU (article L441-10 of the "
        "French Commercial Code) at 14.25% a year)\n"
        "Total outstanding: €1,275.92\n\n" + SIG_EN + OPT_EN,
    html='<!DOCTYPE html>\n'
         '<html lang="en-GB"><head><meta charset="utf-8"><title>Second reminder: €1,275.92 overdue</title></head>\n'
         '<body style="font-family: sans-serif; color: #222;">\n'
         '<p>Dear Ada Lovelace Ltd,</p>\n'
         '<p>The following invoice is now 7 days overdue. Please arrange payment as soon as possible:</p>\n'
         '<table cellpadding="4" style="border-collapse: collapse;">\n'
         '<tr><th align="left">Invoice</th><th align="left">Due</th><th align="right">Days overdue</th><th align="right">Outstanding</th></tr>\n'
         '<tr><td>F-2024-5</td><td>1 August 2024</td><td align="right">7</td><td align="right">€1,250.00</td></tr>\n'
         '</table>\n'
         '<p>Late payment fees: €22.50</p>\n'
         '<p>Interest: €3.42 (statutory interest under Directive 2011/7/EU (article L441-10 of the '
         'French Commercial Code) at 14.25% a year)</p>\n'
         '<p><strong>Total outstanding: €1,275.92</strong></p>\n\n' + HSIG_EN)

# --- H: the same by SMS in German ---------------------------------------------------
case("sms_de_overdue_7_charges", command(
    "acme/inv/INV-5/step/2/attempt/1", "reminder", "sms", "overdue_7", "de-DE",
    "2024-08-08T07:00:00.000Z", MUELLER, "EUR", g,
    [{"invoice_id": "INV-5", "number": "F-2024-5", "issued_on": "2024-07-02",
      "due_on": "2024-08-01", "days_overdue": 7, "currency": "EUR", "amount_minor": 125000,
      "outstanding_minor": 125000, "amounts": g}],
    step=2, step_name="+7d",
    interest_basis={"scheme": "eu_late_payment", "annual_pct": "12.62", "country": "DE"}),
    txt=f"Arrears Demo Ltd: 1.275,92{NB}€ (inkl. Gebühren 22,50{NB}€) (inkl. Zinsen 3,42{NB}€) "
        "ist seit 7 Tagen überfällig. Antworten Sie STOP zum Abmelden.")

# --- I: due_soon with an early-payment discount, en-GB email --------------------------
# 2% of 1,250.00 = 25.00 off if paid by the due date: 1,225.00.
# days_overdue -5: due 31 March, sent 26 March, "due in 5 days" (issue 15;
# before it the line read "(-5 days overdue)").
i_am = amounts(125000, 0, 0, 0)
case("en_gb_due_soon_discount", command(
    "acme/inv/INV-42/step/0/attempt/1", "reminder", "email", "due_soon", "en-GB",
    "2024-03-26T09:00:00.000Z", ADA, "GBP", i_am,
    [{"invoice_id": "INV-42", "number": "2024-0042", "issued_on": "2024-03-01",
      "due_on": "2024-03-31", "days_overdue": -5, "currency": "GBP", "amount_minor": 125000,
      "outstanding_minor": 125000, "amounts": i_am}],
    step=0, step_name="-5d",
    offer={"kind": "discount", "amount_minor": 122500, "forgiven_minor": 2500,
           "valid_until": "2024-03-31"}),
    subject="Reminder: payment due on 31 March 2024",
    txt="Dear Ada Lovelace Ltd,\n\n"
        "This is a friendly reminder that the following invoice is due in 5 days, on 31 March 2024:\n\n"
        "  2024-0042  due 31 March 2024  £1,250.00 (due in 5 days)\n\n"
        "Total outstanding: £1,250.00\n"
        "Pay £1,225.00 by 31 March 2024 and we will take £25.00 off (early-payment discount).\n\n"
        + SIG_EN + OPT_EN,
    html='<!DOCTYPE html>\n'
         '<html lang="en-GB"><head><meta charset="utf-8"><title>Reminder: payment due on 31 March 2024</title></head>\n'
         '<body style="font-family: sans-serif; color: #222;">\n'
         '<p>Dear Ada Lovelace Ltd,</p>\n'
         '<p>This is a friendly reminder that the following invoice is due in 5 days, on 31 March 2024:</p>\n'
         '<table cellpadding="4" style="border-collapse: collapse;">\n'
         '<tr><th align="left">Invoice</th><th align="left">Due</th><th align="right">Status</th><th align="right">Outstanding</th></tr>\n'
         '<tr><td>2024-0042</td><td>31 March 2024</td><td align="right">due in 5 days</td><td align="right">£1,250.00</td></tr>\n'
         '</table>\n'
         '<p><strong>Total outstanding: £1,250.00</strong></p>\n'
         '<p>Pay <strong>£1,225.00</strong> by 31 March 2024 and we will take £25.00 off (early-payment discount).</p>\n\n'
         + HSIG_EN)

# --- J: due_soon with the discount by SMS in German -----------------------------------
case("sms_de_due_soon_discount", command(
    "acme/inv/INV-42/step/0/attempt/1", "reminder", "sms", "due_soon", "de-DE",
    "2024-03-26T09:00:00.000Z", MUELLER, "EUR", i_am,
    [{"invoice_id": "INV-42", "number": "R-42", "issued_on": "2024-03-01",
      "due_on": "2024-03-31", "days_overdue": -5, "currency": "EUR", "amount_minor": 125000,
      "outstanding_minor": 125000, "amounts": i_am}],
    step=0, step_name="-5d",
    offer={"kind": "discount", "amount_minor": 122500, "forgiven_minor": 2500,
           "valid_until": "2024-03-31"}),
    txt=f"Arrears Demo Ltd: 1.250,00{NB}€ fällig am 31. März 2024. Bei Zahlung von 1.225,00{NB}€ "
        f"bis 31. März 2024 sparen Sie 25,00{NB}€. Antworten Sie STOP zum Abmelden.")

# --- issue 15: plurals, the pre-due wording, one message for many invoices -------
# The scheduler's clock for all of them: Sunday 8 March 2026, 09:00.
NOW = "2026-03-08T09:00:00.000Z"
def inv(iid, number, cur, due, days, principal, fees=0):
    """An invoice of the command: days_overdue = 8 March - due_on."""
    return {"invoice_id": iid, "number": number, "issued_on": "2026-02-01", "due_on": due,
            "days_overdue": days, "currency": cur, "amount_minor": principal,
            "outstanding_minor": principal, "amounts": amounts(principal, fees, 0, 0)}
HEAD_EN = ('<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8"><title>%s</title></head>\n'
           '<body style="font-family: sans-serif; color: #222;">\n<p>Dear %s,</p>\n')
HEAD_DE = ('<!DOCTYPE html>\n<html lang="de-DE"><head><meta charset="utf-8"><title>%s</title></head>\n'
           '<body style="font-family: sans-serif; color: #222;">\n<p>Sehr geehrte Damen und Herren (%s),</p>\n')
TABLE = '<table cellpadding="4" style="border-collapse: collapse;">\n'
TH_EN_STATUS = '<tr><th align="left">Invoice</th><th align="left">Due</th><th align="right">Status</th><th align="right">Outstanding</th></tr>\n'
TH_DE_STATUS = '<tr><th align="left">Rechnung</th><th align="left">Fällig</th><th align="right">Status</th><th align="right">Offen</th></tr>\n'
TH_EN_DAYS = '<tr><th align="left">Invoice</th><th align="left">Due</th><th align="right">Days overdue</th><th align="right">Outstanding</th></tr>\n'
TH_DE_DAYS = '<tr><th align="left">Rechnung</th><th align="left">Fällig</th><th align="right">Tage überfällig</th><th align="right">Offen</th></tr>\n'
def row(*cells):
    return "<tr><td>%s</td><td>%s</td><td align=\"right\">%s</td><td align=\"right\">%s</td></tr>\n" % cells

# --- K: a pre-due reminder, en-GB email: due 11 March, sent 8 March, 3 days
# before (days_overdue -3): "due in 3 days", never "(-3 days overdue)".
k = inv("INV-21", "2026-0021", "GBP", "2026-03-11", -3, 49900)
case("en_gb_due_soon_in_3_days", command(
    "acme/inv/INV-21/step/0/attempt/1", "reminder", "email", "due_soon", "en-GB", NOW, ADA,
    "GBP", k["amounts"], [k], step=0, step_name="-3d"),
    subject="Reminder: payment due on 11 March 2026",
    txt="Dear Ada Lovelace Ltd,\n\n"
        "This is a friendly reminder that the following invoice is due in 3 days, on 11 March 2026:\n\n"
        "  2026-0021  due 11 March 2026  £499.00 (due in 3 days)\n\n"
        "Total outstanding: £499.00\n\n" + SIG_EN + OPT_EN,
    html=HEAD_EN % ("Reminder: payment due on 11 March 2026", "Ada Lovelace Ltd") +
         "<p>This is a friendly reminder that the following invoice is due in 3 days, on 11 March 2026:</p>\n" +
         TABLE + TH_EN_STATUS + row("2026-0021", "11 March 2026", "due in 3 days", "£499.00") +
         "</table>\n<p><strong>Total outstanding: £499.00</strong></p>\n\n" + HSIG_EN)

# --- L: the same in German: "in 3 Tagen fällig" (the verb last, so that it
# ends the clause "dass die folgende Rechnung in 3 Tagen fällig ist").
l_ = inv("INV-22", "R-2026-22", "EUR", "2026-03-11", -3, 49900)
case("de_de_due_soon_in_3_days", command(
    "acme/inv/INV-22/step/0/attempt/1", "reminder", "email", "due_soon", "de-DE", NOW, MUELLER,
    "EUR", l_["amounts"], [l_], step=0, step_name="-3d"),
    subject="Erinnerung: Zahlung fällig am 11. März 2026",
    txt="Sehr geehrte Damen und Herren (Müller GmbH),\n\n"
        "wir möchten Sie freundlich daran erinnern, dass die folgende Rechnung in 3 Tagen fällig ist "
        "(am 11. März 2026):\n\n"
        f"  R-2026-22  fällig 11. März 2026  499,00{NB}€ (in 3 Tagen fällig)\n\n"
        f"Offener Gesamtbetrag: 499,00{NB}€\n\n" + SIG_DE + OPT_DE,
    html=HEAD_DE % ("Erinnerung: Zahlung fällig am 11. März 2026", "Müller GmbH") +
         "<p>wir möchten Sie freundlich daran erinnern, dass die folgende Rechnung in 3 Tagen fällig ist "
         "(am 11. März 2026):</p>\n" +
         TABLE + TH_DE_STATUS + row("R-2026-22", "11. März 2026", "in 3 Tagen fällig", f"499,00{NB}€") +
         f"</table>\n<p><strong>Offener Gesamtbetrag: 499,00{NB}€</strong></p>\n\n" + HSIG_DE)

# --- M: two invoices due tomorrow (9 March, days_overdue -1), en-GB email:
# "2 invoices", "due tomorrow"; 100.00 + 250.50 = 350.50.
m1 = inv("INV-23", "2026-0023", "GBP", "2026-03-09", -1, 10000)
m2 = inv("INV-24", "2026-0024", "GBP", "2026-03-09", -1, 25050)
case("en_gb_reminder_before_due_two_tomorrow", command(
    "acme/cust/C-1042/email/2026-03-08", "reminder", "email", "reminder_before_due", "en-GB", NOW,
    ADA, "GBP", amounts(35050, 0, 0, 0), [m1, m2], step=0, step_name="-1d"),
    subject="Reminder: 2 invoices due from 9 March 2026",
    txt="Dear Ada Lovelace Ltd,\n\n"
        "This is a friendly reminder that the following 2 invoices will fall due soon:\n\n"
        "  2026-0023  due 9 March 2026  £100.00 (due tomorrow)\n"
        "  2026-0024  due 9 March 2026  £250.50 (due tomorrow)\n\n"
        "Total outstanding: £350.50\n\n" + SIG_EN + OPT_EN,
    html=HEAD_EN % ("Reminder: 2 invoices due from 9 March 2026", "Ada Lovelace Ltd") +
         "<p>This is a friendly reminder that the following 2 invoices will fall due soon:</p>\n" +
         TABLE + TH_EN_STATUS + row("2026-0023", "9 March 2026", "due tomorrow", "£100.00") +
         row("2026-0024", "9 March 2026", "due tomorrow", "£250.50") +
         "</table>\n<p><strong>Total outstanding: £350.50</strong></p>\n\n" + HSIG_EN)

# --- N: one day overdue, en-GB email (due 7 March): "1 day overdue", "Invoice".
n_ = inv("INV-31", "2026-0031", "GBP", "2026-03-07", 1, 120000)
case("en_gb_overdue_1_one_day", command(
    "acme/inv/INV-31/step/1/attempt/1", "reminder", "email", "overdue_1", "en-GB", NOW, ADA,
    "GBP", n_["amounts"], [n_], step=1, step_name="+1d"),
    subject="Invoice 2026-0031 now overdue",
    txt="Dear Ada Lovelace Ltd,\n\n"
        "Our records show that the following invoice fell due yesterday and remains unpaid:\n\n"
        "  2026-0031  due 7 March 2026  £1,200.00 (1 day overdue)\n\n"
        "Total outstanding: £1,200.00\n\n" + SIG_EN + OPT_EN,
    html=HEAD_EN % ("Invoice 2026-0031 now overdue", "Ada Lovelace Ltd") +
         "<p>Our records show that the following invoice fell due yesterday and remains unpaid:</p>\n" +
         TABLE + TH_EN_DAYS + row("2026-0031", "7 March 2026", "1", "£1,200.00") +
         "</table>\n<p><strong>Total outstanding: £1,200.00</strong></p>\n\n" + HSIG_EN)

# --- O: the same in German: "1 Tag überfällig", "Rechnung".
o = inv("INV-32", "R-2026-32", "EUR", "2026-03-07", 1, 120000)
case("de_de_overdue_1_one_day", command(
    "acme/inv/INV-32/step/1/attempt/1", "reminder", "email", "overdue_1", "de-DE", NOW, MUELLER,
    "EUR", o["amounts"], [o], step=1, step_name="+1d"),
    subject="Rechnung R-2026-32 überfällig",
    txt="Sehr geehrte Damen und Herren (Müller GmbH),\n\n"
        "laut unseren Unterlagen ist die folgende Rechnung seit gestern fällig und noch offen:\n\n"
        f"  R-2026-32  fällig 7. März 2026  1.200,00{NB}€ (1 Tag überfällig)\n\n"
        f"Offener Gesamtbetrag: 1.200,00{NB}€\n\n" + SIG_DE + OPT_DE,
    html=HEAD_DE % ("Rechnung R-2026-32 überfällig", "Müller GmbH") +
         "<p>laut unseren Unterlagen ist die folgende Rechnung seit gestern fällig und noch offen:</p>\n" +
         TABLE + TH_DE_DAYS + row("R-2026-32", "7. März 2026", "1", f"1.200,00{NB}€") +
         f"</table>\n<p><strong>Offener Gesamtbetrag: 1.200,00{NB}€</strong></p>\n\n" + HSIG_DE)

# --- P: a German SMS one day overdue: "seit 1 Tag" (one_day), not "seit 1 Tagen".
case("sms_de_overdue_7_one_day", command(
    "acme/inv/INV-32/step/2/attempt/1", "reminder", "sms", "overdue_7", "de-DE", NOW, MUELLER,
    "EUR", o["amounts"], [o], step=2, step_name="+7d"),
    txt=f"Arrears Demo Ltd: 1.200,00{NB}€ ist seit 1 Tag überfällig. Antworten Sie STOP zum Abmelden.")

# --- Q: one message for five invoices in two currencies (issue 15's
# grouping), en-GB email, the firmest step's template overdue_7:
#   GBP 2026-0011 due 1 March (7 days overdue) 1,200.00
#       2026-0012 due 7 March (1 day overdue)    450.50
#       2026-0013 due 11 March (due in 3 days)    99.00
#       total 1,200.00 + 450.50 + 99.00 = 1,749.50
#   EUR E-14 due 1 March (7 days overdue) 2,000.00 + a 25.00 fee = 2,025.00
#       E-15 due 8 March (due today)        300.00
#       total 2,025.00 + 300.00 = 2,325.00 (fees 25.00)
# The command's own currency and amounts (here the GBP ones) are not what
# the shipped templates show when there is more than one currency: they
# show totals, one per currency.
q = [inv("INV-11", "2026-0011", "GBP", "2026-03-01", 7, 120000),
     inv("INV-12", "2026-0012", "GBP", "2026-03-07", 1, 45050),
     inv("INV-13", "2026-0013", "GBP", "2026-03-11", -3, 9900),
     inv("INV-14", "E-14", "EUR", "2026-03-01", 7, 200000, fees=2500),
     inv("INV-15", "E-15", "EUR", "2026-03-08", 0, 30000)]
case("en_gb_five_invoices_two_currencies", command(
    "acme/cust/C-1042/email/2026-03-08", "reminder", "email", "overdue_7", "en-GB", NOW, ADA,
    "GBP", amounts(174950, 0, 0, 0), q, step=2, step_name="+7d"),
    subject="Second reminder: £1,749.50 + €2,325.00 overdue",
    txt="Dear Ada Lovelace Ltd,\n\n"
        "The following 5 invoices remain unpaid. Please arrange payment as soon as possible:\n\n"
        "  2026-0011  due 1 March 2026  £1,200.00 (7 days overdue)\n"
        "  2026-0012  due 7 March 2026  £450.50 (1 day overdue)\n"
        "  2026-0013  due 11 March 2026  £99.00 (due in 3 days)\n"
        "  E-14  due 1 March 2026  €2,000.00 (7 days overdue)\n"
        "  E-15  due 8 March 2026  €300.00 (due today)\n\n"
        "Total outstanding (GBP): £1,749.50\n"
        "Late payment fees (EUR): €25.00\n"
        "Total outstanding (EUR): €2,325.00\n\n" + SIG_EN + OPT_EN,
    html=HEAD_EN % ("Second reminder: £1,749.50 + €2,325.00 overdue", "Ada Lovelace Ltd") +
         "<p>The following 5 invoices remain unpaid. Please arrange payment as soon as possible:</p>\n" +
         TABLE + TH_EN_DAYS + row("2026-0011", "1 March 2026", "7", "£1,200.00") +
         row("2026-0012", "7 March 2026", "1", "£450.50") +
         row("2026-0013", "11 March 2026", "", "£99.00") +
         row("E-14", "1 March 2026", "7", "€2,000.00") +
         row("E-15", "8 March 2026", "", "€300.00") +
         "</table>\n"
         "<p><strong>Total outstanding (GBP): £1,749.50</strong></p>\n"
         "<p>Late payment fees (EUR): €25.00</p>\n"
         "<p><strong>Total outstanding (EUR): €2,325.00</strong></p>\n\n" + HSIG_EN)

# --- R: the same five by SMS in German: both totals, "offen" (not every
# invoice is overdue).
case("sms_de_five_invoices_two_currencies", command(
    "acme/cust/C-77/sms/2026-03-08", "reminder", "sms", "overdue_7", "de-DE", NOW, MUELLER,
    "GBP", amounts(174950, 0, 0, 0), q, step=2, step_name="+7d"),
    txt=f"Arrears Demo Ltd: 1.749,50{NB}£ + 2.325,00{NB}€ ist offen. Antworten Sie STOP zum Abmelden.")
print("wrote 18 cases")
