"""Alerting as an operator meets it: the real `faultline serve` follows a log while a burst
of 502s is written, and real receivers get the page: a local webhook receiver that checks
the Standard Webhooks signature, a real Alertmanager 0.25, a real SMTP server (aiosmtpd)
speaking STARTTLS, and a local command. Receivers that fail and recover, restarts in the
middle, silences from the CLI and maintenance windows are checked by what reaches the
receivers and what `faultline alerts` and the API say."""

import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import describe
from test_serve import Daemon, free_port

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
SECRET_KEY = b"faultline-test-signing-key-32byt"
SECRET = "whsec_" + base64.b64encode(SECRET_KEY).decode()


def access_line(t, status, path, upstream="10.0.2.11:8080", host="api.example.com"):
    tm = time.gmtime(t)
    stamp = (f"{tm.tm_mday:02d}/{MONTHS[tm.tm_mon - 1]}/{tm.tm_year}:"
             f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000")
    up = "0.000" if status == 502 else "0.020"
    return (f'203.0.113.7 - - [{stamp}] "GET {path} HTTP/1.1" {status} 120 "-" "e2e/1.0" '
            f'{up} {up} {upstream} {status} "{host}"\n')


def error_line(t, path, upstream="10.0.2.11:8080", host="api.example.com"):
    stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(t))
    return (f"{stamp} [error] 4242#0: *17 connect() failed (111: Connection refused) while "
            f'connecting to upstream, client: 203.0.113.7, server: {host}, request: "GET {path} '
            f'HTTP/1.1", upstream: "http://{upstream}{path}", host: "{host}"\n')


class Traffic:
    """Healthy lines at the current time, and bursts of refused 502s with their error-log
    lines, appended while the daemon follows the files."""

    def __init__(self, tmp):
        self.access = tmp / "access.log"
        self.error = tmp / "error.log"
        self.access.touch()
        self.error.touch()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._healthy, daemon=True)

    def _healthy(self):
        i = 0
        while not self.stop.is_set():
            now = int(time.time())
            # Half of it to the route the bursts hit, so an incident there can close.
            with open(self.access, "a") as f:
                f.write("".join(access_line(now, 200, f"/api/{('items', 'orders')[k % 2]}/{i + k}")
                                for k in range(10)))
            i += 10
            time.sleep(0.1)

    def start(self):
        self.thread.start()
        return self

    def burst(self, path="/api/orders/7", n=60, host="api.example.com"):
        now = int(time.time())
        with open(self.error, "a") as f:
            f.write("".join(error_line(now, path, host=host) for _ in range(n)))
        with open(self.access, "a") as f:
            f.write("".join(access_line(now, 502, path, host=host) for _ in range(n)))
        return time.monotonic()

    def close(self):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()


@pytest.fixture
def traffic(tmp_path):
    t = Traffic(tmp_path)
    yield t
    t.close()


class Receiver:
    """A local webhook receiver: records every request; answers with the next status of
    `plan` (then 200)."""

    def __init__(self, plan=()):
        self.requests = []
        self.plan = list(plan)
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with outer.lock:
                    outer.requests.append((dict(self.headers), body, time.monotonic()))
                    status = outer.plan.pop(0) if outer.plan else 200
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def payloads(self):
        with self.lock:
            return [json.loads(b) for _, b, _ in self.requests]

    def wait(self, what, check, timeout=30, daemon=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = check(self.payloads())
            if got:
                return got
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}; got {self.payloads()}\n"
                    f"{daemon.stderr() if daemon else ''}")

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receivers():
    made = []

    def make(plan=()):
        r = Receiver(plan)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def write_config(tmp, alerting, token=None):
    port = free_port()
    (tmp / "hook.secret").write_text(SECRET + "\n")
    text = f"""
[serve]
listen = "127.0.0.1:{port}"
state = "state.db"
tick = "200ms"
poll = "50ms"
partial_line_flush = "500ms"
start_at = "beginning"

[[source]]
paths = ["{tmp / 'access.log'}"]

[[source]]
paths = ["{tmp / 'error.log'}"]
kind = "error"
tz = "UTC"

[alerting]
external_url = "http://faultline.example:9790"
{'admin_token = { env = "E2E_ADMIN_TOKEN" }' if token else ''}

{alerting}
"""
    cfg = tmp / "faultline.toml"
    cfg.write_text(text)
    return cfg, port


def webhook(url, extra=""):
    return f"""
[[receiver]]
name = "hook"
type = "webhook"
url = "{url}"
secret = {{ file = "hook.secret" }}
timeout = "2s"
{extra}
"""


ROUTE_NOW = """
[route]
receiver = "hook"
group_by = ["alertname", "host"]
group_wait = "0s"
group_interval = "1s"
repeat_interval = "1h"
"""


def serve(faultline, cfg, port, daemons, env=None):
    d = Daemon.__new__(Daemon)
    d.cfg, d.port = cfg, port
    d.err = open(cfg.parent / "serve.err", "ab")
    d.proc = subprocess.Popen([str(faultline.path), "serve", "--config", str(cfg)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=d.err, env={**os.environ, **(env or {})})
    daemons.append(d)
    d.wait_ready()
    return d


@pytest.fixture
def daemons():
    started = []
    yield started
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()


def verify_signature(headers, body):
    h = {k.lower(): v for k, v in headers.items()}
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + body
    want = base64.b64encode(hmac.new(SECRET_KEY, signed, hashlib.sha256).digest()).decode()
    sigs = [s.split(",", 1)[1] for s in h["webhook-signature"].split() if s.startswith("v1,")]
    return want in sigs


def firing(payloads):
    return [p for p in payloads if p["status"] == "firing"]


def test_a_burst_pages_the_webhook_once_with_the_diagnosis_signed_then_resolves(
        faultline, tmp_path, traffic, receivers, daemons):
    hook = receivers()
    cfg, port = write_config(tmp_path, webhook(hook.url) + ROUTE_NOW)
    d = serve(faultline, cfg, port, daemons)
    traffic.start()
    time.sleep(3)
    traffic.burst()
    got = hook.wait("a firing notification", firing, daemon=d)
    p = got[0]
    assert p["version"] == "4" and p["receiver"] == "hook"
    assert p["groupLabels"] == {"alertname": "incident", "host": "api.example.com"}
    alert = p["alerts"][0]
    assert alert["labels"]["cause"] == "upstream_down", alert
    assert alert["labels"]["severity"] == "page"
    assert alert["labels"]["route"] == "/api/orders/{id}"
    assert alert["annotations"]["summary"]
    assert "connect() failed (111: Connection refused)" in alert["annotations"]["evidence"]
    assert alert["annotations"]["incident_url"].startswith(
        "http://faultline.example:9790/api/v1/incidents/inc-")
    assert alert["diagnosis"]["remediation"], alert["diagnosis"]
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    headers, body, _ = hook.requests[0]
    assert verify_signature(headers, body), headers
    assert {k.lower(): v for k, v in headers.items()}["webhook-id"] == p["id"]
    # The incident ends once healthy traffic goes on: one resolved notification follows.
    resolved = hook.wait("a resolved notification",
                         lambda ps: [x for x in ps if x["status"] == "resolved"], timeout=60,
                         daemon=d)
    assert resolved[0]["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
    assert len(firing(hook.payloads())) == 1, "paged once, not at every tick"
    # The history says what paged whom.
    hist = faultline.run("alerts", "--config", cfg, "--json")
    assert hist.returncode == 0, describe(hist, "faultline alerts")
    doc = json.loads(hist.stdout)
    assert any(a["labels"]["cause"] == "upstream_down" and a["state"] == "resolved"
               for a in doc["alerts"]), doc["alerts"]
    delivered = [n for n in doc["notifications"] if n["delivery"] == "delivered"]
    assert len(delivered) == 2, doc["notifications"]
