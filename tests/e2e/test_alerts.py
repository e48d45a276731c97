"""Alerting as an operator meets it: the real `faultline serve` follows a log while a burst
of 502s is written, and real receivers get the page: a local webhook receiver that checks
the Standard Webhooks signature, a real Alertmanager 0.25, a real SMTP server (aiosmtpd)
speaking STARTTLS, and a local command. Receivers that fail and recover, restarts in the
middle, silences from the CLI and maintenance windows are checked by what reaches the
receivers and what `faultline alerts` and the API say."""

import base64
import collections
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
from test_serve import Daemon, daemons, free_port  # noqa: F401 (fixture)

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

    def burst(self, path="/api/orders/7", n=60, host="api.example.com",
              upstream="10.0.2.11:8080"):
        now = int(time.time())
        with open(self.error, "a") as f:
            f.write("".join(error_line(now, path, upstream, host) for _ in range(n)))
        with open(self.access, "a") as f:
            f.write("".join(access_line(now, 502, path, upstream, host) for _ in range(n)))
        return time.monotonic()

    def planned_503s(self, path="/api/orders/7", n=60):
        """503s the proxy answers itself (no upstream attempt): a maintenance switch."""
        now = int(time.time())
        tm = time.gmtime(now)
        stamp = (f"{tm.tm_mday:02d}/{MONTHS[tm.tm_mon - 1]}/{tm.tm_year}:"
                 f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000")
        line = (f'203.0.113.7 - - [{stamp}] "GET {path} HTTP/1.1" 503 120 "-" "e2e/1.0" '
                f'0.000 - - - "api.example.com"\n')
        with open(self.access, "a") as f:
            f.write(line * n)

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
    """A local webhook receiver: records every request; answers 503 while `down` is set,
    else with the next status of `plan` (then 200)."""

    def __init__(self, plan=()):
        self.requests = []
        self.answers = []  # the status each request got, in the order of `requests`
        self.plan = list(plan)
        self.down = False
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with outer.lock:
                    outer.requests.append((dict(self.headers), body, time.monotonic()))
                    if outer.down:
                        status = 503
                    else:
                        status = outer.plan.pop(0) if outer.plan else 200
                    outer.answers.append(200 if status == "hang" else status)
                if status == "hang":  # longer than the receiver's timeout
                    time.sleep(5)
                    status = 200
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

    def taken(self, status="firing"):
        """How many times the receiver took (answered 2xx) each notification id."""
        with self.lock:
            got = [json.loads(b) for (_, b, _), answer in zip(self.requests, self.answers)
                   if 200 <= answer < 300]
        return collections.Counter(p["id"] for p in got if p["status"] == status)

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
    d = Daemon(faultline, cfg, port, env)
    daemons.append(d)
    d.wait_ready()
    return d


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
    assert {k.lower(): v for k, v in headers.items()}["webhook-id"] == p["id"] == p["dedup_key"]
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


def notifications(d):
    return d.get("/api/v1/notifications")["notifications"]


def webhook_id(headers):
    return {k.lower(): v for k, v in headers.items()}["webhook-id"]


def delivered(d, nid):
    return [x for x in notifications(d)
            if x["notification"]["id"] == nid and x["delivery"] == "delivered"]


def test_a_receiver_that_fails_then_recovers_takes_each_page_once_and_a_restart_re_pages_no_one(
        faultline, tmp_path, traffic, receivers, daemons):
    hook = receivers(plan=[503, 500, 429])
    cfg, port = write_config(tmp_path, webhook(hook.url) + ROUTE_NOW)
    d = serve(faultline, cfg, port, daemons)
    traffic.start()
    time.sleep(3)
    traffic.burst()
    hook.wait("four attempts", lambda ps: len(ps) >= 4, daemon=d)
    first = webhook_id(hook.requests[0][0])
    ids = {webhook_id(h) for h, _, _ in hook.requests[:4]}
    assert ids == {first}, f"every retry carries the same webhook-id: {ids}"
    n = d.wait_for("the delivery recorded", lambda: delivered(d, first))[0]
    assert [t["outcome"] for t in n["tries"]] == ["retry", "retry", "retry", "delivered"], n
    assert "HTTP 503" in n["tries"][0]["error"]
    # Jittered backoff: the retries are spread out, not hammered.
    times = [t for _, _, t in hook.requests[:4]]
    assert times[2] - times[1] >= 1.0, times
    # The receiver fails again while another group pages; the daemon is restarted with
    # that page still in the outbox, and the receiver recovers meanwhile.
    with hook.lock:
        hook.down = True
    # Another site on another server: an incident, a group and a page of its own.
    traffic.burst(path="/api/carts/9", host="shop.example.com", upstream="10.0.3.21:8080")
    second = hook.wait("the second page tried", lambda ps: [
        p["id"] for p in firing(ps) if p["id"] != first], daemon=d)[0]
    assert d.stop() == 0
    with hook.lock:
        hook.down = False
    d = serve(faultline, cfg, port, daemons)
    n = d.wait_for("the second page delivered after the restart", lambda: delivered(d, second))[0]
    assert n["tries"][0]["outcome"] == "retry" and n["tries"][-1]["outcome"] == "delivered", n
    # A recorded page re-sent from the outbox, or decided again from a lost notification
    # log, would come at the first rounds after the start, with or before the second page.
    time.sleep(2)
    # Both pages were taken exactly once: a shutdown leaves nothing in flight, so even the
    # at-least-once window (a crash between an answer and its record) does not apply.
    assert hook.taken() == {first: 1, second: 1}, hook.payloads()


def test_a_notification_pending_at_kill_9_is_delivered_after_the_restart(
        faultline, tmp_path, traffic, receivers, daemons):
    hook = receivers()
    hook.down = True
    cfg, port = write_config(tmp_path, webhook(hook.url) + ROUTE_NOW)
    d = serve(faultline, cfg, port, daemons)
    traffic.start()
    time.sleep(3)
    traffic.burst()
    hook.wait("a failed attempt", lambda ps: len(ps) >= 1, daemon=d)
    first_id = webhook_id(hook.requests[0][0])
    d.stop(signal.SIGKILL)
    with hook.lock:
        hook.down = False  # the receiver is back
    d = serve(faultline, cfg, port, daemons)
    d.wait_for("the delivery after the restart", lambda: delivered(d, first_id))
    with hook.lock:
        ok = [webhook_id(h) for (h, _, _), a in zip(hook.requests, hook.answers) if a == 200]
    # The pending page goes first: a "resolved" made meanwhile for the group waits behind it.
    assert ok[0] == first_id, (first_id, ok)
    # Every attempt before the kill failed, so none was in flight with an answer taken:
    # the page was taken once.
    assert hook.taken() == {first_id: 1}, hook.payloads()


def test_a_receiver_that_refuses_with_400_gets_one_attempt_and_the_failure_is_kept(
        faultline, tmp_path, traffic, receivers, daemons):
    hook = receivers(plan=[400])
    cfg, port = write_config(tmp_path, webhook(hook.url) + ROUTE_NOW)
    d = serve(faultline, cfg, port, daemons)
    traffic.start()
    time.sleep(3)
    traffic.burst()
    page = hook.wait("the refused page", firing, daemon=d)[0]
    n = d.wait_for("the failure recorded", lambda: [
        x for x in notifications(d)
        if x["notification"]["id"] == page["id"] and x["delivery"] == "failed"])[0]
    assert [t["outcome"] for t in n["tries"]] == ["failed"], n
    assert n["tries"][0]["error"].startswith("HTTP 400") and n["last_error"].startswith("HTTP 400")
    # A retry would have come after the first backoff (1 s ± 25 %).
    time.sleep(2)
    assert [p["id"] for p in hook.payloads()].count(page["id"]) == 1, hook.payloads()
    hist = faultline.run("alerts", "--config", cfg, "--json")
    assert hist.returncode == 0, describe(hist, "faultline alerts")
    kept = [x for x in json.loads(hist.stdout)["notifications"]
            if x["notification"]["id"] == page["id"]]
    assert kept and kept[0]["delivery"] == "failed" and kept[0]["attempts"] == 1, kept
    assert kept[0]["last_error"].startswith("HTTP 400"), kept
    table = faultline.run("alerts", "--config", cfg).stdout.decode()
    row = [line for line in table.splitlines() if page["id"] in line]
    assert row and "failed" in row[0] and "HTTP 400" in row[0], table
    assert f"notification {page['id']} to hook: failed: HTTP 400" in d.stderr()


def test_a_webhook_url_and_headers_from_a_file_or_the_environment_are_sent_and_never_shown(
        faultline, tmp_path, receivers):
    hook = receivers(plan=[200, 400])
    (tmp_path / "hook.url").write_text(hook.url + "?token=url-s3cret\n")
    cfg, _ = write_config(tmp_path, """
[[receiver]]
name = "hook"
type = "webhook"
url = { file = "hook.url" }
headers = { Authorization = { env = "E2E_HOOK_AUTH" }, X-Team = "shop" }
""")
    env = {"E2E_HOOK_AUTH": "Bearer hdr-s3cret"}
    ok = faultline.run("notify", "test", "hook", "--config", cfg, env=env)
    assert ok.returncode == 0, describe(ok, "notify test")
    headers = {k.lower(): v for k, v in hook.requests[0][0].items()}
    assert headers["authorization"] == "Bearer hdr-s3cret" and headers["x-team"] == "shop"
    refused = faultline.run("notify", "test", "hook", "--config", cfg, env=env)
    assert refused.returncode == 1 and "HTTP 400" in refused.stderr.decode(), refused
    unset = faultline.run("check", "--config", cfg)
    assert unset.returncode == 2, describe(unset, "a header from an unset variable")
    assert ("receiver[0].headers.Authorization: environment variable E2E_HOOK_AUTH is not set"
            in unset.stderr.decode()), unset.stderr
    for proc in (ok, refused, unset):
        assert b"s3cret" not in proc.stdout + proc.stderr, describe(proc, "a secret shown")


def start_alertmanager(tmp):
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus-alertmanager is not installed (CI installs it)")
        pytest.skip("prometheus-alertmanager is not installed")
    port = free_port()
    (tmp / "am.yml").write_text("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp / 'am.yml'}", f"--storage.path={tmp / 'am-data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(tmp / "am.err", "wb"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("alertmanager did not start: " + (tmp / "am.err").read_text()[-2000:])


def test_a_real_alertmanager_shows_our_alert_with_labels_and_annotations(
        faultline, tmp_path, traffic, daemons):
    am, url = start_alertmanager(tmp_path)
    try:
        cfg, port = write_config(tmp_path, f"""
[[receiver]]
name = "am"
type = "alertmanager"
urls = ["{url}", "http://127.0.0.1:{free_port()}"]
resend = "2s"
timeout = "2s"
""" + ROUTE_NOW.replace('"hook"', '"am"'))
        d = serve(faultline, cfg, port, daemons)
        traffic.start()
        time.sleep(3)
        traffic.burst()

        def shown():
            with urllib.request.urlopen(url + "/api/v2/alerts", timeout=5) as r:
                return [a for a in json.load(r) if a["labels"].get("alertname") == "incident"]

        got = d.wait_for("the alert in Alertmanager", shown)
        a = got[0]
        assert a["labels"]["cause"] == "upstream_down"
        assert a["labels"]["host"] == "api.example.com"
        assert a["status"]["state"] == "active"
        assert a["annotations"]["incident_url"].startswith("http://faultline.example:9790/")
        assert "Connection refused" in a["annotations"]["evidence"]
        assert a["generatorURL"] == a["annotations"]["incident_url"]
        # endsAt is renewed ahead while firing, as Prometheus does (4 x resend).
        ends = a["endsAt"]
        time.sleep(3)
        assert shown()[0]["endsAt"] > ends
        # Once the incident is over the alert is resolved in Alertmanager too.
        d.wait_for("the alert resolved in Alertmanager", lambda: not shown(), timeout=60)
    finally:
        am.terminate()
        am.wait()


def make_cert(tmp):
    """A private CA (ca.pem, for the client) and a server certificate it signed for
    127.0.0.1 (cert.pem, key.pem)."""
    run = lambda *a: subprocess.run(["openssl", *map(str, a)], check=True, capture_output=True,
                                    cwd=tmp)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", "ca.key",
        "-out", "ca.pem", "-subj", "/CN=faultline e2e CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "srv.csr",
        "-subj", "/CN=127.0.0.1")
    (tmp / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "cert.pem", "-days", "1", "-extfile", "ext.cnf")
    return tmp / "cert.pem", tmp / "key.pem"


def test_email_arrives_over_starttls_with_text_and_escaped_html(
        faultline, tmp_path, traffic, daemons):
    import ssl
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    cert, key = make_cert(tmp_path)
    got = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            got.append((session.extended_smtp, envelope))
            return "250 OK"

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    smtp_port = free_port()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=smtp_port, tls_context=ctx,
                     require_starttls=True)
    ctl.start()
    try:
        cfg, port = write_config(tmp_path, f"""
[[receiver]]
name = "mail"
type = "email"
smarthost = "127.0.0.1:{smtp_port}"
from = "faultline@example.com"
to = ["oncall@example.com"]
starttls = "required"
ca_file = "ca.pem"
timeout = "5s"
""" + ROUTE_NOW.replace('"hook"', '"mail"'))
        d = serve(faultline, cfg, port, daemons)
        traffic.start()
        time.sleep(3)
        evil = "evil<script>alert(1)</script>.example"
        traffic.burst(host=evil)
        d.wait_for("an email", lambda: got, timeout=30)
        _, env = got[0]
        assert env.rcpt_tos == ["oncall@example.com"]
        msg = message_from_bytes(env.content, policy=policy.default)
        assert msg["Subject"].startswith("[FIRING:1]"), msg["Subject"]
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert "upstream_down" in text and "Connection refused" in text
        assert evil in text
        assert "<script>" not in html and "&lt;script&gt;" in html
    finally:
        ctl.stop()


def test_a_command_receives_the_alert_as_json_on_stdin(faultline, tmp_path, traffic, daemons):
    out = tmp_path / "runbook"
    out.mkdir()
    cfg, port = write_config(tmp_path, f"""
[[receiver]]
name = "runbook"
type = "exec"
command = ["sh", "-c", "cat > {out}/$FAULTLINE_NOTIFICATION_ID.json"]
timeout = "5s"
""" + ROUTE_NOW.replace('"hook"', '"runbook"'))
    d = serve(faultline, cfg, port, daemons)
    traffic.start()
    time.sleep(3)
    traffic.burst()
    files = d.wait_for("the command's output", lambda: list(out.glob("ntf-*.json")))
    doc = json.loads(files[0].read_text())
    assert doc["id"] == files[0].stem
    assert doc["alerts"][0]["labels"]["cause"] == "upstream_down"


def test_a_silence_from_the_cli_mutes_until_it_is_expired(
        faultline, tmp_path, traffic, receivers, daemons):
    hook = receivers()
    cfg, port = write_config(tmp_path, webhook(hook.url) + ROUTE_NOW, token=True)
    env = {"E2E_ADMIN_TOKEN": "tok-123"}
    d = serve(faultline, cfg, port, daemons, env=env)

    def cli(*args):
        return subprocess.run([str(faultline.path), *map(str, args)], capture_output=True,
                              env={**os.environ, **env}, timeout=30)

    # Writes need the token.
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/silences", method="POST",
                                 data=b'{"matchers": ["a=\\"b\\""], "duration": "1h"}',
                                 headers={"content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 401
    add = cli("silence", "add", "--config", cfg, "-m", 'cause="upstream_down"',
              "-m", 'host=~"api\\..*"', "--duration", "1h", "--comment", "deploy", "--author", "ops")
    assert add.returncode == 0, describe(add, "silence add")
    sid = add.stdout.decode().strip()
    assert sid.startswith("sil-")
    # One that ended two hours ago: outside `faultline alerts`'s range unless --since reaches it.
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    now = time.time()
    past = cli("silence", "add", "--config", cfg, "-m", 'host="old.example"', "--start",
               iso(now - 3 * 3600), "--until", iso(now - 2 * 3600), "--comment", "last week")
    assert past.returncode == 0, describe(past, "silence add in the past")
    old = past.stdout.decode().strip()
    listed = cli("silence", "list", "--config", cfg)
    assert sid in listed.stdout.decode() and "active" in listed.stdout.decode(), listed
    traffic.start()
    time.sleep(3)
    traffic.burst()

    def muted():
        doc = json.loads(cli("alerts", "--config", cfg, "--json").stdout)
        return [a for a in doc["alerts"] if a.get("muted", {}).get("what") == sid]

    d.wait_for("the alert muted by the silence", muted)
    assert hook.payloads() == [], "silenced: nobody paged"
    table = cli("alerts", "--config", cfg).stdout.decode()
    assert f"muted by silence {sid}" in table, table
    exp = cli("silence", "expire", "--config", cfg, sid)
    assert exp.returncode == 0, describe(exp, "silence expire")
    hook.wait("the page once the silence ended", firing, daemon=d)
    # What paged and what was muted, in one command: the alert, notified now, is no longer
    # shown as muted; the silence is listed, expired, and so is the old one only when the
    # range reaches back to it.
    doc = json.loads(cli("alerts", "--config", cfg, "--json", "--since", "1h").stdout)
    paged = [a for a in doc["alerts"] if a["labels"].get("cause") == "upstream_down"]
    assert paged and not any("muted" in a for a in paged), paged
    listed = {s["id"]: s for s in doc["silences"]}
    assert listed[sid]["state"] == "expired" and listed[sid]["comment"] == "deploy", listed
    assert old not in listed, listed
    assert old in {s["id"] for s in json.loads(
        cli("alerts", "--config", cfg, "--json", "--since", "3h").stdout)["silences"]}
    table = cli("alerts", "--config", cfg).stdout.decode()
    assert "SILENCES" in table and sid in table and "expired" in table, table


def test_notify_test_sends_a_sample_and_says_when_the_receiver_refuses(
        faultline, tmp_path, receivers):
    hook = receivers(plan=[200, 400])
    cfg, _ = write_config(tmp_path, webhook(hook.url))
    ok = faultline.run("notify", "test", "hook", "--config", cfg)
    assert ok.returncode == 0, describe(ok, "notify test")
    p = hook.payloads()[0]
    assert p["alerts"][0]["labels"]["alertname"] == "faultline-test"
    assert verify_signature(*hook.requests[0][:2])
    bad = faultline.run("notify", "test", "hook", "--config", cfg)
    assert bad.returncode == 1 and "HTTP 400" in bad.stderr.decode(), describe(bad, "refused")
    missing = faultline.run("notify", "test", "pager", "--config", cfg)
    assert missing.returncode == 2 and "no receiver" in missing.stderr.decode()


def test_check_names_the_line_and_key_of_alerting_errors(faultline, tmp_path):
    cfg, _ = write_config(tmp_path, """
[[rule]]
name = "r"
on = "bogus"

[[receiver]]
name = "hook"
type = "webhook"
secret = { env = "E2E_SURELY_UNSET" }

[route]
receiver = "pager"
matchers = ['severity']
""")
    proc = faultline.run("check", "--config", cfg)
    assert proc.returncode == 2, describe(proc, "invalid alerting config")
    err = proc.stderr.decode()
    text = cfg.read_text().splitlines()
    line = lambda needle: next(i + 1 for i, l in enumerate(text) if needle in l)
    on_line, type_line = line('on = "bogus"'), line('type = "webhook"')
    for expected in (f":{on_line}: rule[0].on",
                     f":{type_line}: receiver[0].url",
                     f":{line('E2E_SURELY_UNSET')}: receiver[0].secret: environment variable E2E_SURELY_UNSET",
                     "route.matchers", 'receiver "pager" is not defined'):
        assert expected in err, (expected, err)


def test_a_receiver_that_hangs_does_not_hold_up_the_others(
        faultline, tmp_path, traffic, receivers, daemons):
    stuck = receivers(plan=["hang"] * 1000)
    hook = receivers()
    both = f"""
[[receiver]]
name = "stuck"
type = "webhook"
url = "{stuck.url}"
timeout = "2s"
{webhook(hook.url)}{ROUTE_NOW}
[[route.routes]]
receiver = "stuck"
continue = true
[[route.routes]]
receiver = "hook"
"""
    cfg, port = write_config(tmp_path, both)
    d = serve(faultline, cfg, port, daemons)
    traffic.start()
    time.sleep(3)
    traffic.burst()
    stuck.wait("the stuck receiver called", lambda ps: len(ps) >= 1, daemon=d)
    called = stuck.requests[0][2]
    got = hook.wait("the page at the other receiver", firing, daemon=d)
    paged = [t for _, b, t in hook.requests if json.loads(b)["status"] == "firing"][0]
    # The same notification went to both; the other receiver did not wait for the
    # stuck one's 2 s timeout (nor for its retries).
    assert paged - called < 1.5, (paged - called, got)
    n = d.wait_for("the stuck receiver's timeout recorded", lambda: [
        x for x in notifications(d)
        if x["notification"]["receiver"] == "stuck" and x["tries"]], timeout=20)[0]
    assert n["tries"][0]["outcome"] == "retry", n
