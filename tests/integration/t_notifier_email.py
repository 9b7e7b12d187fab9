#!/usr/bin/env python3
"""t_notifier_email.py -- email over a real SMTP server on loopback.

Publishes commands onto a private <prefix>commands topic and checks, against
python3-aiosmtpd (tests/sinks/smtp_sink.py):
  * one message per command id, also when a command is delivered twice;
  * envelope and headers: Message-ID derived from the command id, customer
    and template (sha256 and base64url, recomputed here), Date, From, To,
    Reply-To, Subject (RFC 2047 for non-ASCII), List-Unsubscribe (one-click
    https first, then mailto) and List-Unsubscribe-Post (RFC 8058);
  * multipart/alternative text + HTML; HTML escapes the variables, text
    does not; amounts and dates formatted for en-GB and de-DE;
  * the pay link is a JWT (kid k1, exp 60 days after iat, "use":"page")
    verified here with python's hmac;
  * render errors (missing variable, missing template), invalid commands and
    an expired not_after become contact.failed with the reason, no message;
  * every contact event carries command id, channel, provider status,
    attempts, latency and strategy/variant/step from the command;
  * the email gate (docs/notifier.md "No message sent twice"): every email
    sent has its point of no return ("sending") recorded in Redis, and a
    command whose record says an owner died past its gate (written here,
    as a crash would leave it) is answered contact.sent with
    provider_status "unconfirmed" and its Message-ID, and not sent again.
"""
import base64
import email
import hashlib
import hmac
import json
import os
import shutil
import sys
import tempfile
from email import policy
from email.utils import parsedate_to_datetime

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
import harness as h  # noqa: E402

brokers, redis_url, bindir = h.stack_env()
run = "%d" % os.getpid()
prefix = "it-ntf-mail-%s." % run
tenant = "itmail%s" % run
work = tempfile.mkdtemp(prefix="t_notifier_email.")
sinks, procs = [], []


def b64url_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url_enc(s):
    return base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")


try:
    h.create_topics(bindir, prefix)
    smtp = h.Sink("smtp", work)
    sinks.append(smtp)
    # templates: the shipped set plus a tenant with a template that uses an
    # undefined variable
    tdir = os.path.join(work, "templates")
    shutil.copytree(os.path.join(h.REPO, "deploy/config/templates"), tdir)
    bad = os.path.join(tdir, tenant, "en-GB", "email")
    os.makedirs(bad)
    for ext, text in (("subject", "Hello {{customer_name}}"), ("txt", "Pay {{no_such_var}}\n"),
                      ("html", "<p>{{customer_name}}</p>\n")):
        with open(os.path.join(bad, "holey." + ext), "w") as f:
            f.write(text)

    keyp = "it:ntf:mail:%s:" % run
    paysecret = "pay-secret-0123456789-%s" % run  # 16 bytes at least
    env = {
        "ARREARS_TOPIC_PREFIX": prefix, "ARREARS_GROUP_ID": "it-ntf-mail-" + run,
        "ARREARS_HTTP_ADDR": "", "ARREARS_LOG_LEVEL": "info",
        "ARREARS_NOTIFIER_KEY_PREFIX": keyp,
        "ARREARS_TEMPLATES_DIR": tdir,
        "ARREARS_SMTP_URL": "smtp://127.0.0.1:%d" % smtp.port,
        "ARREARS_SMTP_FROM": "Acme Collections <ar@acme.test>",
        "ARREARS_SMTP_REPLY_TO": "help@acme.test",
        "ARREARS_UNSUBSCRIBE_URL": "https://pay.example/{tenant}/unsubscribe/{customer}",
        "ARREARS_PAYLINK_URL": "https://pay.example/{tenant}/{token}",
        "ARREARS_PAYLINK_SECRET": paysecret,
        "ARREARS_SMTP_TLS": "none",
    }
    good = [
        h.command(tenant, "%s/inv/INV-1/step/2/attempt/1" % tenant,
                  name="Ada <b>\"Ltd\"</b> & Co", customer_id="C-1"),
        h.command(tenant, "%s/inv/INV-2/step/1/attempt/1" % tenant, template="overdue_1",
                  locale="de-DE", name="Zoë Müller GmbH", email="buchhaltung@mueller.test",
                  customer_id="C-2",
                  invoices=[{"invoice_id": "INV-2", "number": "R-2", "issued_on": "2026-02-01",
                             "due_on": "2026-03-01", "days_overdue": 1, "currency": "EUR",
                             "outstanding_minor": 123456},
                            {"invoice_id": "INV-3", "number": "R-3", "issued_on": "2026-02-05",
                             "due_on": "2026-03-05", "days_overdue": 0, "currency": "EUR",
                             "outstanding_minor": 100}]),
        h.command(tenant, "%s/inv/INV-4/thanks/P-1" % tenant, template="payment_thanks",
                  kind="payment.thanks", currency="GBP", customer_id="C-3", email="c3@x.test",
                  invoices=[{"invoice_id": "INV-4", "number": "N-4", "issued_on": "2026-01-01",
                             "due_on": "2026-02-01", "currency": "GBP",
                             "outstanding_minor": 0}]),
    ]
    failing = {
        "%s/inv/INV-5/step/1/attempt/1" % tenant: ("holey", {}, "missing variable 'no_such_var'"),
        "%s/inv/INV-6/step/1/attempt/1" % tenant: ("no_such_template", {}, "no template email/no_such_template"),
        "%s/inv/INV-7/step/1/attempt/1" % tenant: ("overdue_7", {"email": "not-an-address"}, "customer.email"),
        "%s/inv/INV-8/step/1/attempt/1" % tenant: ("overdue_7", {"not_after": "2020-01-01T00:00:00.000Z"}, "not_after"),
    }
    cmds = list(good)
    for i, (cid, (tpl, extra, _)) in enumerate(failing.items()):
        kw = dict(extra)
        em = kw.pop("email", "f%d@x.test" % i)
        cmds.append(h.command(tenant, cid, template=tpl, email=em, customer_id="F-%d" % i, **kw))
    # one command delivered twice (a scheduler replay): still one message
    cmds.append(good[0])
    # an owner died past this one's gate: its out: record says so
    unconf = h.command(tenant, "%s/inv/INV-9/step/1/attempt/1" % tenant, customer_id="C-9",
                       email="c9@x.test")
    h.Resp(redis_url).cmd("HSET", h.notifier_key(redis_url, keyp, "out", unconf["command_id"]),
                         "sending", "1")
    cmds.append(unconf)
    h.publish_commands(brokers, prefix + "commands", cmds)
    # a record that is not a command at all must not stop anything
    h.produce(brokers, prefix + "commands", [("x/y", "not json {")])

    n = h.Notifier(bindir, env, os.path.join(work, "notifier.log"))
    procs.append(n)
    ids = [c["command_id"] for c in good] + list(failing) + [unconf["command_id"]]
    by = h.wait_for(lambda: (lambda o: o if all(i in o for i in ids) else None)(
        h.outcomes(brokers, prefix + "contacts")), 90, "an outcome for every command",
        procs=procs)
    # give a duplicate outcome a chance to show up before judging
    import time
    time.sleep(2)
    by = h.outcomes(brokers, prefix + "contacts")
    for cid in ids:
        if len(by.get(cid, [])) != 1:
            h.fail("%s has %d outcome events, want 1" % (cid, len(by.get(cid, []))))
    if set(by) != set(ids):
        h.fail("unexpected outcome ids: %s" % (set(by) - set(ids)))

    # failures: contact.failed with the reason, and no message
    for cid, (_, _, reason) in failing.items():
        ev = by[cid][0]
        if ev["type"] != "contact.failed" or reason not in ev.get("reason", ""):
            h.fail("%s: want contact.failed mentioning %r, got %s" % (cid, reason, ev))
        if ev["channel"] != "email" or ev["command_id"] != cid:
            h.fail("%s: bad failed event %s" % (cid, ev))

    # the gate: recorded for every email sent; an unconfirmed one not sent again
    r = h.Resp(redis_url, decode=True)
    for c in good:
        if r.cmd("HGET", h.notifier_key(redis_url, keyp, "out", c["command_id"]), "sending") != "1":
            h.fail("%s: no gate (sending) recorded in its out: hash" % c["command_id"])
    ev = by[unconf["command_id"]][0]
    want_mid = "<ntf.%s.%s.%s@acme.test>" % (
        hashlib.sha256(unconf["command_id"].encode()).hexdigest()[:32], b64url_enc("C-9"),
        b64url_enc(unconf["template"]))
    if ev["type"] != "contact.sent" or ev["provider_status"] != "unconfirmed" or \
            ev.get("message_id") != want_mid or ev["attempts"] != 0:
        h.fail("unconfirmed: want contact.sent, provider_status unconfirmed, message_id %s, "
               "0 attempts; got %s" % (want_mid, ev))

    mails = {}
    for f in smtp.files(".eml"):
        with open(f, "rb") as fh:
            msg = email.message_from_bytes(fh.read(), policy=policy.default)
        with open(f[:-4] + ".json") as fh:
            meta = json.load(fh)
        mid = msg["Message-ID"]
        if mid == want_mid:
            h.fail("the unconfirmed command was sent again")
        if mid in mails:
            h.fail("message %s received twice" % mid)
        mails[mid] = (msg, meta)
    if len(mails) != len(good):
        h.fail("%d messages received, want %d" % (len(mails), len(good)))

    for c in good:
        cid = c["command_id"]
        ev = by[cid][0]
        want_mid = "<ntf.%s.%s.%s@acme.test>" % (
            hashlib.sha256(cid.encode()).hexdigest()[:32],
            b64url_enc(c["customer"]["customer_id"]), b64url_enc(c["template"]))
        if want_mid not in mails:
            h.fail("%s: no message with Message-ID %s" % (cid, want_mid))
        msg, meta = mails[want_mid]
        # outcome event fields
        expect = {"type": "contact.sent", "id": cid, "command_id": cid, "channel": "email",
                  "kind": c["kind"], "tenant": tenant, "customer_id": c["customer"]["customer_id"],
                  "template": c["template"], "strategy": "default", "variant": "B", "step": 2,
                  "attempts": 1, "currency": c["currency"],
                  "amount_total_minor": c["amounts"]["total"], "message_id": want_mid,
                  "invoice_ids": [i["invoice_id"] for i in c["invoices"]]}
        for k, v in expect.items():
            if ev.get(k) != v:
                h.fail("%s: outcome %s=%r, want %r" % (cid, k, ev.get(k), v))
        if not ev["provider_status"].startswith("250"):
            h.fail("%s: provider_status %r" % (cid, ev["provider_status"]))
        if not isinstance(ev.get("latency_ms"), int) or ev["latency_ms"] < 0 or "at" not in ev:
            h.fail("%s: latency/at missing: %s" % (cid, ev))
        # envelope and headers
        if meta["mail_from"] != "ar@acme.test" or meta["rcpt_tos"] != [c["customer"]["email"]]:
            h.fail("%s: envelope %s" % (cid, meta))
        if msg["From"].addresses[0].addr_spec != "ar@acme.test":
            h.fail("%s: From %s" % (cid, msg["From"]))
        to = msg["To"].addresses[0]
        if to.addr_spec != c["customer"]["email"] or to.display_name != c["customer"]["name"]:
            h.fail("%s: To %r" % (cid, str(msg["To"])))
        if msg["Reply-To"].addresses[0].addr_spec != "help@acme.test":
            h.fail("%s: Reply-To %s" % (cid, msg["Reply-To"]))
        parsedate_to_datetime(msg["Date"])  # raises on a malformed date
        lu = msg["List-Unsubscribe"]
        if not lu.startswith("<https://pay.example/%s/unsubscribe/%s>," % (tenant, c["customer"]["customer_id"])) or \
                "<mailto:ar@acme.test?subject=unsubscribe>" not in lu:
            h.fail("%s: List-Unsubscribe %r" % (cid, lu))
        if msg["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click":
            h.fail("%s: List-Unsubscribe-Post %r" % (cid, msg["List-Unsubscribe-Post"]))
        if msg.get_content_type() != "multipart/alternative":
            h.fail("%s: content type %s" % (cid, msg.get_content_type()))
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        name = c["customer"]["name"]
        if name not in text:
            h.fail("%s: text part lacks the name %r" % (cid, name))
        esc = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        if esc not in html or ("<" in name and name in html):
            h.fail("%s: HTML does not escape the name: %r" % (cid, html[:400]))
        # pay link (the reminders carry one): verify the JWT independently
        import re
        m = re.search(r"https://pay\.example/%s/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)" % tenant, text)
        if c["kind"] == "reminder":
            if not m:
                h.fail("%s: no pay link in the text part" % cid)
            head, payload, sig = m.group(1).split(".")
            want = hmac.new(paysecret.encode(), (head + "." + payload).encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(want, b64url_dec(sig)):
                h.fail("%s: pay-link token does not verify" % cid)
            claims = json.loads(b64url_dec(payload))
            if claims["tenant"] != tenant or claims["customer_id"] != c["customer"]["customer_id"] or \
                    claims["invoice_ids"] != [i["invoice_id"] for i in c["invoices"]] or \
                    claims["use"] != "page" or claims["command_id"] != cid or \
                    claims["exp"] != claims["iat"] + 60 * 86400:
                h.fail("%s: pay-link claims %s" % (cid, claims))
            if json.loads(b64url_dec(head)) != {"alg": "HS256", "kid": "k1", "typ": "JWT"}:
                h.fail("%s: pay-link header %s" % (cid, b64url_dec(head)))
            if m.group(1) not in html:
                h.fail("%s: the HTML part lacks the same pay link" % cid)
        elif m:
            h.fail("%s: a thank-you carries a pay link" % cid)
        # locale formatting
        if c["locale"] == "de-DE":
            for s in ("1.234,56\u00a0€", "1. März 2026", "R-2", "R-3"):
                if s not in text:
                    h.fail("%s: de-DE text lacks %r:\n%s" % (cid, s, text))
            if "Rechnung" not in msg["Subject"]:
                h.fail("%s: subject %r not German" % (cid, msg["Subject"]))
        elif c["currency"] == "EUR":
            for s in ("€120.00", "1 March 2026", "7 days overdue"):
                if s not in text:
                    h.fail("%s: en-GB text lacks %r" % (cid, s))
            if msg["Subject"] != "Second reminder: €120.00 overdue":
                h.fail("%s: subject %r" % (cid, msg["Subject"]))
        else:
            if msg["Subject"] != "Thank you for your payment":
                h.fail("%s: subject %r" % (cid, msg["Subject"]))
        if "{{" in text or "{{" in html:
            h.fail("%s: unrendered placeholder" % cid)

    rc = n.stop()
    if rc != 0:
        h.fail("notifier exited %s on SIGTERM" % rc)
    print("ok: %d emails, one per command, headers/parts/pay link verified; %d failures answered"
          % (len(good), len(failing)))
finally:
    h.teardown(procs, sinks, work)
