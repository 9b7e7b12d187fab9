#!/usr/bin/env python3
"""smtp_sink.py -- a loopback SMTP server that stores what it receives.

    tests/sinks/smtp_sink.py --dir DIR [--host 127.0.0.1] [--port 0]
                             [--port-file FILE] [--tempfail-first N]
                             [--reject-rcpt SUBSTRING]

Every accepted message is written as DIR/<seq>.eml (the DATA as received)
plus DIR/<seq>.json ({"seq","mail_from","rcpt_tos","message_id","size"}).
--tempfail-first N answers the first N DATA of each Message-ID with
451 (a transient failure the sender must retry); --reject-rcpt answers 550
to recipients containing SUBSTRING (permanent). The chosen port is printed
("smtp-sink listening on HOST:PORT") and written to --port-file. Stops on
SIGTERM/SIGINT. Needs Debian's python3-aiosmtpd; used by the notifier's
integration tests and the local demo.

Like a real MTA, and unlike aiosmtpd as it comes, the server takes a
message once it has read the final "." of DATA even when the client is
gone by then (CompletingSMTP below): the notifier's email gate and the
chaos run are only meaningful against a server that behaves so.
"""
import argparse
import asyncio
import email
import json
import os
import signal
import sys

try:
    from aiosmtpd.smtp import SMTP
except ImportError:  # pragma: no cover
    # Debian's python3-aiosmtpd lives in /usr/bin/python3's path; another
    # python3 first in PATH (pyenv, venv) does not see it.
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != \
            os.path.realpath("/usr/bin/python3") and not os.environ.get("SMTP_SINK_REEXEC"):
        os.environ["SMTP_SINK_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("smtp_sink: python3-aiosmtpd is not installed", file=sys.stderr)
    sys.exit(77)


class CompletingSMTP(SMTP):
    """aiosmtpd cancels its session at the client's EOF, dropping what it
    has received but not yet read -- a DATA whose final "." arrived
    included. A real MTA (Postfix's smtpd, sendmail) reads on: it commits a
    message once it has read the ".", whether or not the client is still
    there for the reply (the duplicate-message problem of RFC 1047 comes
    from exactly that). This server does the same: at EOF the session goes
    on reading what is buffered; a complete DATA is stored, an incomplete
    one (no ".") is not, and the session then ends on the reader's EOF or
    on the lost connection when it replies."""

    def connection_made(self, transport):
        super().connection_made(transport)
        # the session ends with an exception when the client is gone: take it
        self._handler_coroutine.add_done_callback(
            lambda t: t.cancelled() or t.exception())

    def eof_received(self):
        return asyncio.StreamReaderProtocol.eof_received(self)

    def connection_lost(self, error):
        self._timeout_handle.cancel()
        asyncio.StreamReaderProtocol.connection_lost(self, error)


class Handler:
    def __init__(self, args):
        self.dir = args.dir
        self.tempfail_first = args.tempfail_first
        self.reject = args.reject_rcpt
        self.seq = 0
        self.tries = {}

    async def handle_exception(self, error):
        if isinstance(error, (asyncio.IncompleteReadError, ConnectionResetError)):
            return "421 4.4.2 connection closed"  # the client is gone (CompletingSMTP)
        print("smtp_sink: session error: %s: %s" % (error.__class__.__name__, error), flush=True)
        return "500 Error: (%s) %s" % (error.__class__.__name__, error)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and self.reject in address:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode()
        msg = email.message_from_bytes(data)
        mid = msg.get("Message-ID", "")
        n = self.tries.get(mid, 0) + 1
        self.tries[mid] = n
        if n <= self.tempfail_first:
            return "451 4.3.0 temporary failure, try again"
        self.seq += 1
        base = os.path.join(self.dir, "%06d" % self.seq)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(data)
        meta = {"seq": self.seq, "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos), "message_id": mid,
                "size": len(data), "attempt": n}
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 queued as %d" % self.seq


async def main():
    ap = argparse.ArgumentParser(description="loopback SMTP sink")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--tempfail-first", type=int, default=0)
    ap.add_argument("--reject-rcpt", default="")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    handler = Handler(args)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: CompletingSMTP(handler, enable_SMTPUTF8=True, decode_data=False,
                     data_size_limit=10 * 1024 * 1024),
        args.host, args.port)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(args.port_file + ".tmp", args.port_file)
    print("smtp-sink listening on %s:%d" % (args.host, port), flush=True)
    stop = asyncio.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
