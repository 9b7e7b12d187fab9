#!/usr/bin/env python3
"""http_sink.py -- a loopback HTTP server standing in for SMS APIs and
webhook receivers; it stores every request as a file.

    tests/sinks/http_sink.py --dir DIR [--host 127.0.0.1] [--port 0]
        [--port-file FILE] [--mode ok|500|429|slow] [--ok-status 200]
        [--fail-first N] [--fail-status 500] [--retry-after SECONDS]
        [--delay-ms MS] [--fail-path SUBSTRING] [--no-idempotency]

Answers every POST/PUT (any path) by mode:
  ok    --ok-status (default 200) with a small JSON body
  500   always 500;  429: always 429 with Retry-After (--retry-after)
  slow  waits --delay-ms before answering ok
--fail-first N answers the first N requests of each Idempotency-Key with
--fail-status (500 by default; 429 adds Retry-After), then ok: the shape
of a provider that recovers. --fail-path limits failures to paths that
contain SUBSTRING.
Idempotency: a request whose Idempotency-Key already got a 2xx answer is
answered with the same status and "Idempotent-Replayed: true", as Stripe-
style APIs do, and stored with "replay": true -- so a test can tell sends
from re-sends. --no-idempotency turns this off (every request is new).
Every request is DIR/<seq>.json: {"seq","t","method","path","headers",
"body","status","replay"} (body as text; headers with lower-case names).
Control: GET /_sink/stats -> {"requests","by_status","replays"};
POST /_sink/config with a JSON object of the options above (mode,
fail_first, fail_status, retry_after, delay_ms, ok_status) changes them
live. The port is printed ("http-sink listening on HOST:PORT") and
written to --port-file. Python stdlib only; used by the notifier's
integration tests and the local demo.
"""
import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.dir = args.dir
        self.cfg = {"mode": args.mode, "ok_status": args.ok_status,
                    "fail_first": args.fail_first, "fail_status": args.fail_status,
                    "retry_after": args.retry_after, "delay_ms": args.delay_ms,
                    "fail_path": args.fail_path, "idempotency": not args.no_idempotency}
        self.seq = 0
        self.tries = {}
        self.done = {}
        self.by_status = {}
        self.replays = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "http-sink"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        st = self.server.state
        if self.path == "/_sink/stats":
            with st.lock:
                body = json.dumps({"requests": st.seq, "by_status": st.by_status,
                                   "replays": st.replays}).encode()
            return self._send(200, body)
        self._send(404, b'{"error":"not found"}')

    def do_POST(self):
        st = self.server.state
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path == "/_sink/config":
            with st.lock:
                st.cfg.update(json.loads(body or b"{}"))
            return self._send(200, b'{"ok":true}')
        with st.lock:
            cfg = dict(st.cfg)
            key = self.headers.get("Idempotency-Key") if cfg["idempotency"] else None
            replay = key is not None and key in st.done
            tries = 0
            if key is not None:
                tries = st.tries.get(key, 0) + 1
                st.tries[key] = tries
        extra = []
        fail_here = not cfg["fail_path"] or cfg["fail_path"] in self.path
        mode = cfg["mode"]
        if replay:
            status = st.done[key]
            extra.append(("Idempotent-Replayed", "true"))
        elif mode == "500" and fail_here:
            status = 500
        elif mode == "429" and fail_here:
            status = 429
            extra.append(("Retry-After", str(cfg["retry_after"])))
        elif fail_here and cfg["fail_first"] and key is not None and tries <= cfg["fail_first"]:
            status = int(cfg["fail_status"])
            if status == 429:
                extra.append(("Retry-After", str(cfg["retry_after"])))
        else:
            if mode == "slow" and cfg["delay_ms"]:
                time.sleep(cfg["delay_ms"] / 1000.0)
            status = int(cfg["ok_status"])
        with st.lock:
            st.seq += 1
            seq = st.seq
            st.by_status[str(status)] = st.by_status.get(str(status), 0) + 1
            if replay:
                st.replays += 1
            elif 200 <= status < 300 and key is not None:
                st.done[key] = status
        rec = {"seq": seq, "t": time.time(), "method": self.command, "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body.decode("utf-8", "replace"), "status": status, "replay": replay}
        path = os.path.join(st.dir, "%07d.json" % seq)
        with open(path + ".tmp", "w") as f:
            json.dump(rec, f)
        os.rename(path + ".tmp", path)
        self._send(status, json.dumps({"sid": "SM%07d" % seq, "status": "queued"}).encode(),
                   extra)

    do_PUT = do_POST


def main():
    ap = argparse.ArgumentParser(description="loopback HTTP sink")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--mode", default="ok", choices=["ok", "500", "429", "slow"])
    ap.add_argument("--ok-status", type=int, default=200)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--fail-status", type=int, default=500)
    ap.add_argument("--retry-after", type=int, default=1)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--fail-path", default="")
    ap.add_argument("--no-idempotency", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 1024
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.state = State(args)
    port = srv.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(args.port_file + ".tmp", args.port_file)
    print("http-sink listening on %s:%d" % (args.host, port), flush=True)

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever()


if __name__ == "__main__":
    main()
