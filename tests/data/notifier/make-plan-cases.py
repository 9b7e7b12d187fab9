#!/usr/bin/env python3
"""make-plan-cases.py -- writes the render cases of issue 16's instalment
reminders (templates instalment_due, instalment_overdue and
sms_instalment_overdue of deploy/config/templates, in en-GB and de-DE, and
an instalment reminder without its plan) into render/ beside this file,
for tests/unit/test_notifier_cases.c.

As in make-money-cases.py, the expected messages are spelt out by hand
below, with the arithmetic of each amount in a comment; nothing is
produced by the notifier. Subjects and SMS bodies have no trailing newline.
Rewrites only the cases named here. Run:
python3 tests/data/notifier/make-plan-cases.py"""
import json
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "render")
NBSP = "\u00a0"  # de-DE writes "250,00 €" with a no-break space
FILES = {"subject": "expected.subject", "txt": "expected.txt", "html": "expected.html",
         "error": "expected.error"}


def write_case(name, cmd, expected):
    path = os.path.join(OUT, name)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "command.json"), "w", encoding="utf-8") as f:
        json.dump(cmd, f, indent=1, ensure_ascii=False)
    for part, text in expected.items():
        with open(os.path.join(path, FILES[part]), "w", encoding="utf-8") as f:
            f.write(text)


# The debtors, the tenant's variables (deploy/config/templates/default/vars.json)
# and each language's closing and e-mail opt-out line.
DEBTOR = {
    "en-GB": {"customer_id": "C-1042", "name": "Ada Lovelace Ltd", "email": "ap@ada.example",
              "phone": "+447700900123", "timezone": "Europe/London", "locale": "en-GB",
              "country": "GB"},
    "de-DE": {"customer_id": "C-77", "name": "Müller GmbH", "email": "buchhaltung@mueller.example",
              "phone": "+4930123456789", "timezone": "Europe/Berlin", "locale": "de-DE",
              "country": "DE"},
}
CONTACT = "Arrears Demo Ltd\naccounts@example.test · +44 20 7946 0000"
CLOSE = {"en-GB": "Kind regards,\n" + CONTACT, "de-DE": "Mit freundlichen Grüßen\n" + CONTACT}
OPT_OUT = {
    "en-GB": "You receive this message because you have an account with Arrears Demo Ltd. "
             "To stop reminders by email, reply with %sunsubscribe%s.",
    "de-DE": "Sie erhalten diese Nachricht, weil Sie Kunde von Arrears Demo Ltd sind. Um keine "
             "Erinnerungen per E-Mail mehr zu erhalten, antworten Sie mit „abmelden“.",
}
SMS_OPT_OUT = {"en-GB": "Reply STOP to opt out.", "de-DE": "Antworten Sie STOP zum Abmelden."}
DEAR = {"en-GB": "Dear %s,", "de-DE": "Sehr geehrte Damen und Herren (%s),"}


def mail_txt(locale, paragraphs):
    """The text part: salutation, paragraphs (blank lines between), closing."""
    opt = OPT_OUT[locale].replace("%s", '"')
    return "\n\n".join([DEAR[locale] % DEBTOR[locale]["name"]] + paragraphs +
                       [CLOSE[locale], "--\n" + opt]) + "\n"


def mail_html(locale, title, body, tail=""):
    """The HTML part: body lines as given, then the pay-link line's blank
    line (no pay link), tail, closing and opt-out."""
    opt = OPT_OUT[locale].replace("%s", "&quot;")
    close = CLOSE[locale].replace("\n", "<br>")
    return ('<!DOCTYPE html>\n<html lang="%s"><head><meta charset="utf-8"><title>%s</title></head>\n'
            '<body style="font-family: sans-serif; color: #222;">\n<p>%s</p>\n'
            % (locale, title, DEAR[locale] % DEBTOR[locale]["name"]) + body + "\n" + tail +
            "<p>" + close + "</p>\n"
            '<hr><p style="font-size: small; color: #666;">' + opt + "</p>\n</body></html>\n")


def table(rows):
    """rows of (label, amount, strong)."""
    out = '<table cellpadding="4" style="border-collapse: collapse;">\n'
    for label, amount, strong in rows:
        if strong:
            label, amount = "<strong>%s</strong>" % label, "<strong>%s</strong>" % amount
        out += '<tr><td>%s</td><td align="right">%s</td></tr>\n' % (label, amount)
    return out + "</table>\n"


def command(locale, channel, template, step, created, invoices, plan):
    """A reminder of the plan's ladder step (index, name) about one
    instalment of plan, as the scheduler writes it (docs/policy.md): the
    plan's open invoices, amounts what is left of the instalment."""
    cur = "GBP" if locale == "en-GB" else "EUR"
    left = plan["amount_minor"] - plan["paid_minor"]
    return {"v": 1, "command_id": "acme/plan/%s/instalment/%d/step/%d" % (
                plan["plan_id"], plan["instalment"], step[0]),
            "kind": "reminder", "tenant": "acme", "channel": channel, "template": template,
            "locale": locale, "strategy": "default", "variant": "A", "step": step[0],
            "step_name": step[1], "attempt": plan["instalment"],
            "created_at": created, "scheduled_at": created, "customer": DEBTOR[locale],
            "currency": cur,
            "amounts": {"principal": left, "fees": 0, "interest": 0, "compensation": 0,
                        "total": left},
            "invoices": [dict(i, currency=cur) for i in invoices], "plan": plan}


def invoice(iid, number, due, days, amount, outstanding):
    return {"invoice_id": iid, "number": number, "issued_on": "2026-01-15", "due_on": due,
            "days_overdue": days, "amount_minor": amount, "outstanding_minor": outstanding}


# --- en-GB: plan PL-1, 900.00 in three instalments of 300.00 (due 10 March,
# 10 April and 10 May 2026) over invoice 2026-0007 (900.00, due 14 Feb).
# The first instalment is paid: 300.00 of 900.00, 600.00 left.
# Sent Tuesday 7 April 2026, 3 days before the second is due; the invoice
# is 52 days overdue (14 Feb -> 7 Apr: 14 + 31 + 7).
PL1_DUE = {"plan_id": "PL-1", "instalment": 2, "instalments": 3, "due_on": "2026-04-10",
           "amount_minor": 30000, "paid_minor": 0, "total_minor": 90000,
           "total_paid_minor": 30000}
write_case("en_gb_instalment_due", command(
    "en-GB", "email", "instalment_due", (0, "-3d"), "2026-04-07T08:00:00.000Z",
    [invoice("INV-7", "2026-0007", "2026-02-14", 52, 90000, 60000)], PL1_DUE), {
    "subject": "Instalment 2 of 3: £300.00 due on 10 April 2026",
    "txt": mail_txt("en-GB", [
        "This is a friendly reminder that instalment 2 of 3 of your payment plan, £300.00, "
        "is due on 10 April 2026.",
        "Payment plan PL-1 (invoice 2026-0007):\n"
        "  Total of the plan: £900.00\n"
        "  Paid so far: £300.00\n"
        "  Still to pay under the plan: £600.00",
        "If you have already paid, thank you, and please disregard this message."]),
    "html": mail_html(
        "en-GB", "Instalment 2 of 3: £300.00 due on 10 April 2026",
        "<p>This is a friendly reminder that instalment 2 of 3 of your payment plan, £300.00, "
        "is due on 10 April 2026.</p>\n"
        "<p>Payment plan PL-1 (invoice 2026-0007):</p>\n" +
        table([("Total of the plan", "£900.00", 0), ("Paid so far", "£300.00", 0),
               ("Still to pay under the plan", "£600.00", 1)]),
        "<p>If you have already paid, thank you, and please disregard this message.</p>\n")})

# --- en-GB: the same plan on Monday 13 April, 3 days after the second
# instalment fell due with 100.00 of its 300.00 paid: 200.00 of it left
# (300.00 - 100.00); paid towards the plan 300.00 + 100.00 = 400.00, left
# 900.00 - 400.00 = 500.00. The invoice: 14 Feb -> 13 Apr = 58 days.
PL1_OVER = dict(PL1_DUE, paid_minor=10000, total_paid_minor=40000)
write_case("en_gb_instalment_overdue", command(
    "en-GB", "email", "instalment_overdue", (1, "+3d"), "2026-04-13T08:00:00.000Z",
    [invoice("INV-7", "2026-0007", "2026-02-14", 58, 90000, 50000)], PL1_OVER), {
    "subject": "Instalment 2 of 3 overdue: £200.00, due on 10 April 2026",
    "txt": mail_txt("en-GB", [
        "Instalment 2 of 3 of your payment plan was due on 10 April 2026 and has not been "
        "paid in full.",
        "  Instalment: £300.00\n"
        "  Received: £100.00\n"
        "  Still to pay: £200.00",
        "Please pay £200.00 now to keep to your payment plan. If you cannot, please contact us.",
        "Payment plan PL-1 (invoice 2026-0007):\n"
        "  Total of the plan: £900.00\n"
        "  Paid so far: £400.00\n"
        "  Still to pay under the plan: £500.00"]),
    "html": mail_html(
        "en-GB", "Instalment 2 of 3 overdue: £200.00, due on 10 April 2026",
        "<p>Instalment 2 of 3 of your payment plan was due on 10 April 2026 and has not been "
        "paid in full.</p>\n" +
        table([("Instalment", "£300.00", 0), ("Received", "£100.00", 0),
               ("Still to pay", "£200.00", 1)]) +
        "<p>Please pay £200.00 now to keep to your payment plan. If you cannot, please contact "
        "us.</p>\n"
        "<p>Payment plan PL-1 (invoice 2026-0007):</p>\n" +
        table([("Total of the plan", "£900.00", 0), ("Paid so far", "£400.00", 0),
               ("Still to pay under the plan", "£500.00", 1)]))})

# --- en-GB by SMS (the SMS step's template), same day and numbers
write_case("sms_en_instalment_overdue", command(
    "en-GB", "sms", "sms_instalment_overdue", (1, "+3d"), "2026-04-13T10:00:00.000Z",
    [invoice("INV-7", "2026-0007", "2026-02-14", 58, 90000, 50000)], PL1_OVER), {
    "txt": "Arrears Demo Ltd: instalment 2 of 3 of your payment plan (due on 10 April 2026) is "
           "not paid in full, outstanding: £200.00. Please pay now to keep to your plan. "
           + SMS_OPT_OUT["en-GB"]})

# --- de-DE: plan PL-9 over invoices R-2026-40 (700.00) and R-2026-41
# (500.00): 1,200.00 EUR in three instalments of 400.00, the last due
# Monday 15 June 2026. The first two are paid (800.00) and 150.00 of the
# third: paid 950.00, left 1,200.00 - 950.00 = 250.00; of the third
# instalment 400.00 - 150.00 = 250.00 is left, and it is the last. Sent
# Friday 12 June 2026; the invoices were due 15 February (117 days: 13 +
# 31 + 30 + 31 + 12).
PL9 = {"plan_id": "PL-9", "instalment": 3, "instalments": 3, "due_on": "2026-06-15",
       "amount_minor": 40000, "paid_minor": 15000, "total_minor": 120000,
       "total_paid_minor": 95000}
E = "{}" + NBSP + "€"
write_case("de_de_instalment_due", command(
    "de-DE", "email", "instalment_due", (0, "-3d"), "2026-06-12T07:00:00.000Z",
    [invoice("INV-40", "R-2026-40", "2026-02-15", 117, 70000, 10000),
     invoice("INV-41", "R-2026-41", "2026-02-15", 117, 50000, 15000)], PL9), {
    "subject": "Rate 3 von 3: " + E.format("250,00") + " fällig am 15. Juni 2026",
    "txt": mail_txt("de-DE", [
        "wir möchten Sie freundlich daran erinnern, dass die Rate 3 von 3 Ihrer "
        "Ratenzahlungsvereinbarung in Höhe von " + E.format("250,00") + " am 15. Juni 2026 "
        "fällig ist.\n"
        "Von dieser Rate über " + E.format("400,00") + " haben wir bereits " +
        E.format("150,00") + " erhalten, vielen Dank.\n"
        "Dies ist die letzte Rate Ihrer Vereinbarung.",
        "Ratenzahlungsvereinbarung PL-9 (Rechnungen R-2026-40, R-2026-41):\n"
        "  Gesamtbetrag der Vereinbarung: " + E.format("1.200,00") + "\n"
        "  Bereits gezahlt: " + E.format("950,00") + "\n"
        "  Insgesamt noch offen: " + E.format("250,00"),
        "Sollten Sie die Zahlung bereits veranlasst haben, danken wir Ihnen und bitten Sie, "
        "diese Nachricht als gegenstandslos zu betrachten."]),
    "html": mail_html(
        "de-DE", "Rate 3 von 3: " + E.format("250,00") + " fällig am 15. Juni 2026",
        "<p>wir möchten Sie freundlich daran erinnern, dass die Rate 3 von 3 Ihrer "
        "Ratenzahlungsvereinbarung in Höhe von " + E.format("250,00") + " am 15. Juni 2026 "
        "fällig ist.</p>\n"
        "<p>Von dieser Rate über " + E.format("400,00") + " haben wir bereits " +
        E.format("150,00") + " erhalten, vielen Dank.</p>\n"
        "<p>Dies ist die letzte Rate Ihrer Vereinbarung.</p>\n"
        "<p>Ratenzahlungsvereinbarung PL-9 (Rechnungen R-2026-40, R-2026-41):</p>\n" +
        table([("Gesamtbetrag der Vereinbarung", E.format("1.200,00"), 0),
               ("Bereits gezahlt", E.format("950,00"), 0),
               ("Insgesamt noch offen", E.format("250,00"), 1)]),
        "<p>Sollten Sie die Zahlung bereits veranlasst haben, danken wir Ihnen und bitten Sie, "
        "diese Nachricht als gegenstandslos zu betrachten.</p>\n")})

# --- de-DE: plan PL-12 over invoice R-2026-55: 2,000.00 EUR in four
# instalments of 500.00, the first due Monday 4 May 2026 and nothing paid
# yet: no "Bereits erhalten" and no "Bereits gezahlt" line, 500.00 of the
# instalment and all 2,000.00 of the plan left. Sent Thursday 7 May 2026;
# the invoice was due 31 March (37 days: 30 + 7).
PL12 = {"plan_id": "PL-12", "instalment": 1, "instalments": 4, "due_on": "2026-05-04",
        "amount_minor": 50000, "paid_minor": 0, "total_minor": 200000, "total_paid_minor": 0}
write_case("de_de_instalment_overdue", command(
    "de-DE", "email", "instalment_overdue", (1, "+3d"), "2026-05-07T07:00:00.000Z",
    [invoice("INV-55", "R-2026-55", "2026-03-31", 37, 200000, 200000)], PL12), {
    "subject": "Rate 1 von 4 überfällig: " + E.format("500,00") + ", fällig am 4. Mai 2026",
    "txt": mail_txt("de-DE", [
        "die Rate 1 von 4 Ihrer Ratenzahlungsvereinbarung war am 4. Mai 2026 fällig und ist "
        "noch nicht vollständig bezahlt.",
        "  Rate: " + E.format("500,00") + "\n"
        "  Noch offen: " + E.format("500,00"),
        "Bitte zahlen Sie " + E.format("500,00") + " umgehend, um Ihre "
        "Ratenzahlungsvereinbarung einzuhalten. Sollte Ihnen das nicht möglich sein, setzen "
        "Sie sich bitte mit uns in Verbindung.",
        "Ratenzahlungsvereinbarung PL-12 (Rechnung R-2026-55):\n"
        "  Gesamtbetrag der Vereinbarung: " + E.format("2.000,00") + "\n"
        "  Insgesamt noch offen: " + E.format("2.000,00")]),
    "html": mail_html(
        "de-DE", "Rate 1 von 4 überfällig: " + E.format("500,00") + ", fällig am 4. Mai 2026",
        "<p>die Rate 1 von 4 Ihrer Ratenzahlungsvereinbarung war am 4. Mai 2026 fällig und ist "
        "noch nicht vollständig bezahlt.</p>\n" +
        table([("Rate", E.format("500,00"), 0), ("Noch offen", E.format("500,00"), 1)]) +
        "<p>Bitte zahlen Sie " + E.format("500,00") + " umgehend, um Ihre "
        "Ratenzahlungsvereinbarung einzuhalten. Sollte Ihnen das nicht möglich sein, setzen "
        "Sie sich bitte mit uns in Verbindung.</p>\n"
        "<p>Ratenzahlungsvereinbarung PL-12 (Rechnung R-2026-55):</p>\n" +
        table([("Gesamtbetrag der Vereinbarung", E.format("2.000,00"), 0),
               ("Insgesamt noch offen", E.format("2.000,00"), 1)]))})

# --- de-DE by SMS: the same instalment with 200.00 of it paid since:
# 500.00 - 200.00 = 300.00 left.
write_case("sms_de_instalment_overdue", command(
    "de-DE", "sms", "sms_instalment_overdue", (1, "+3d"), "2026-05-07T09:00:00.000Z",
    [invoice("INV-55", "R-2026-55", "2026-03-31", 37, 200000, 180000)],
    dict(PL12, paid_minor=20000, total_paid_minor=20000)), {
    "txt": "Arrears Demo Ltd: Rate 1 von 4 Ihrer Ratenzahlungsvereinbarung (fällig am 4. Mai "
           "2026) ist noch nicht vollständig bezahlt, offener Betrag: " + E.format("300,00") +
           ". Bitte zahlen Sie umgehend, um die Vereinbarung einzuhalten. "
           + SMS_OPT_OUT["de-DE"]})

# --- an instalment reminder without its plan must not go out
no_plan = command("en-GB", "email", "instalment_due", (0, "-3d"), "2026-04-07T08:00:00.000Z",
                  [invoice("INV-7", "2026-0007", "2026-02-14", 52, 90000, 60000)], PL1_DUE)
del no_plan["plan"]
write_case("instalment_without_plan_is_an_error", no_plan, {"error": "missing variable 'plan'"})
print("wrote 7 cases")
