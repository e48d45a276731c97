"""The web dashboard in a real headless Chromium: `faultline serve` follows the bundled example
logs (or logs full of script payloads) and tests/browser/check.mjs clicks through the pages as
a person would, failing on any console error or CSP violation; once more under a path prefix
behind a real nginx configured with the snippet of docs/serve.md.

Needs node, tests/browser/node_modules (`npm ci` in tests/browser) and Debian's chromium. Under
CI=true a missing piece fails the test; elsewhere it skips. DASHBOARD_SCREENSHOTS=DIR copies
the screenshots there as dashboard-overview.png and dashboard-incident.png (docs/img holds
the ones the README shows)."""

import json
import os
import shutil
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from helpers import EXAMPLES, REPO
from test_alerts import MONTHS, ROUTE_NOW, daemons, receivers, serve  # noqa: F401 (fixtures)
from test_serve import Daemon, config, free_port

BROWSER = REPO / "tests" / "browser"
CHECK = BROWSER / "check.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TOKEN = "dashboard-admin-token"
READ_TOKEN = "dashboard-read-token"
CHECK_TIMEOUT_S = 60

# Log text that would run if the page ever put it in as markup.
P_IMG = '<img src=x onerror="window.__xss=1">'
P_SCRIPT = "<script>window.__xss=1</script>"
P_SVG = '"><svg onload=window.__xss=1>'


@pytest.fixture(scope="session")
def browser():
    """node and the check script's dependencies, and Chromium: required under CI."""
    node = shutil.which("node")
    missing = []
    if not node:
        missing.append("node (apt-get install -y nodejs npm)")
    if not (BROWSER / "node_modules" / "playwright-core").is_dir():
        missing.append("tests/browser/node_modules (run `npm ci` in tests/browser)")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    if missing:
        why = "the browser tests need " + ", ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{why}; CI=true: .ci/run must install them", pytrace=False)
        pytest.skip(why)
    return node


def run_check(node, *args, on_live=None):
    """Runs check.mjs; with `on_live`, it is called when the script asks for new lines."""
    env = {**os.environ, "CHROMIUM": CHROMIUM, "CHECK_LIVE": "1" if on_live else "0"}
    proc = subprocess.Popen([node, str(CHECK), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=BROWSER,
                            env=env)
    lines = []

    def read():
        for raw in proc.stdout:
            line = raw.decode(errors="replace")
            lines.append(line)
            if on_live and line.startswith("LIVE: append lines now"):
                on_live()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=CHECK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        reader.join(5)
        pytest.fail(f"check.mjs did not finish in {CHECK_TIMEOUT_S} s\n{''.join(lines)}",
                    pytrace=False)
    reader.join(5)
    out = "".join(lines)
    print(out)
    assert proc.returncode == 0, f"check.mjs {args[0]} failed:\n{out}"
    return out


def append_now(path, template, n):
    """Appends `n` copies of an access-log line with the current time."""
    tm = time.gmtime()
    stamp = (f"[{tm.tm_mday:02d}/{MONTHS[tm.tm_mon - 1]}/{tm.tm_year}:"
             f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000]")
    line = re.sub(rb"\[[^\]]+\]", stamp.encode(), template, count=1)
    with open(path, "ab") as f:
        f.write(line * n)


def settled(d, lines, resolved=True):
    """Waits until every line is counted and the incidents stop changing (and, with
    `resolved`, are all resolved)."""
    d.wait_for("every line counted", lambda: d.totals()["requests"] == lines, timeout=30)
    seen = {"last": None, "since": time.monotonic()}

    def stable():
        incs = d.get("/api/v1/incidents?limit=1000")["incidents"]
        key = json.dumps([(i["id"], i["state"], i["diagnosis"]) for i in incs], sort_keys=True)
        if key != seen["last"]:
            seen["last"], seen["since"] = key, time.monotonic()
            return None
        done = incs and (not resolved or all(i["state"] == "resolved" for i in incs))
        return incs if done and time.monotonic() - seen["since"] >= 1.0 else None

    return d.wait_for("the incidents to settle", stable, timeout=30)


def start(faultline, tmp, daemons, sources, alerting="", serve_keys=""):  # noqa: F811
    extra = serve_keys + '\n[alerting]\nadmin_token = { env = "E2E_ADMIN_TOKEN" }\n' + alerting
    cfg, port = config(tmp, sources, extra=extra)
    env = {"E2E_ADMIN_TOKEN": TOKEN, "E2E_READ_TOKEN": READ_TOKEN}
    return serve(faultline, cfg, port, daemons, env=env), port


def example_sources(tmp):
    """Copies of the bundled example logs, as `config` takes them."""
    for name in ("access.log", "error.log", "app.log"):
        shutil.copyfile(EXAMPLES / name, tmp / name)
    return [([str(tmp / "access.log")], None), ([str(tmp / "error.log")], "error"),
            ([str(tmp / "app.log")], None)]


def test_the_dashboard_shows_incidents_diagnoses_silences_and_inputs(
        faultline, browser, tmp_path, daemons):  # noqa: F811
    d, port = start(faultline, tmp_path, daemons, example_sources(tmp_path))
    lines = len((EXAMPLES / "access.log").read_bytes().splitlines())
    incidents = settled(d, lines)
    assert len(incidents) >= 8, incidents
    shots = tmp_path / "shots"
    last = (EXAMPLES / "access.log").read_bytes().splitlines(keepends=True)[-1]
    out = run_check(browser, f"http://127.0.0.1:{port}/", shots, TOKEN,
                    on_live=lambda: append_now(tmp_path / "access.log", last, 20))
    assert "0 failed" in out, out
    for name in ("overview.png", "incident.png"):
        assert (shots / name).stat().st_size > 10_000, f"{name} looks empty"
    if os.environ.get("DASHBOARD_SCREENSHOTS"):
        dest = Path(os.environ["DASHBOARD_SCREENSHOTS"])
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("overview", "incident"):
            shutil.copyfile(shots / f"{name}.png", dest / f"dashboard-{name}.png")


def test_with_read_tokens_the_page_asks_for_one_and_keeps_it(
        faultline, browser, tmp_path, daemons):  # noqa: F811
    d, port = start(faultline, tmp_path, daemons, example_sources(tmp_path),
                    serve_keys='read_tokens = [{ env = "E2E_READ_TOKEN" }]\n')
    d.get("/api/v1/status", expect=401)
    out = run_check(browser, "--auth", f"http://127.0.0.1:{port}/", tmp_path / "shots",
                    READ_TOKEN)
    assert "0 failed" in out, out


class PayloadLogs:
    """Access, error and application logs whose host, path, user agent and messages carry
    script payloads: healthy traffic up to now, then (burst) refused 502s at the current
    second with their error-log lines, as nginx writes them."""

    HOST = f"shop{P_SVG}"
    PATH = f"/pay/{P_SCRIPT}/{P_IMG}"

    def __init__(self, tmp):
        self.files = {n: tmp / n for n in ("access.log", "error.log", "app.log")}
        self.requests = 0
        now = int(time.time())
        # Most of the healthy traffic goes to the path the burst hits, so the scope has a
        # history to stand out from.
        self._write("access.log", [
            self._access(t, 200, self.PATH if k < 3 else f"/api/items/{t % 997 + k}")
            for t in range(now - 120, now - 1) for k in range(5)])
        self._write("error.log", [])
        self._write("app.log", [])

    @staticmethod
    def _stamp(t):
        tm = time.gmtime(t)
        return (f"{tm.tm_mday:02d}/{MONTHS[tm.tm_mon - 1]}/{tm.tm_year}:"
                f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000")

    def _access(self, t, status, path):
        def esc(s):  # nginx writes '"' inside a logged string as \x22
            return s.replace('"', "\\x22")
        up = "0.000" if status == 502 else "0.020"
        ua = P_SCRIPT if status == 502 else f"Mozilla/5.0 {P_IMG}"
        self.requests += 1
        return (f'203.0.113.7 - - [{self._stamp(t)}] "GET {esc(path)} HTTP/1.1" {status} 120 "-" '
                f'"{esc(ua)}" {up} {up} 10.0.2.11:8080 {status} "{esc(self.HOST)}"\n')

    def _write(self, name, rows):
        with open(self.files[name], "a") as f:
            f.write("".join(rows))

    def burst(self, n=90):
        t = int(time.time())
        clock = time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(t))
        self._write("error.log", [
            f"{clock} [error] 4242#0: *17 connect() failed (111: Connection refused) while "
            f"connecting to upstream, client: 203.0.113.7, server: {self.HOST}, request: "
            f'"GET {self.PATH} HTTP/1.1", upstream: "http://10.0.2.11:8080{self.PATH}", '
            f'host: "{self.HOST}"\n'] * n)
        self._write("app.log", [
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) +
            f",000 +0000 ERROR [shop-1] shopd.pay: payment failed for {P_SVG} {P_IMG}\n"] * 5)
        self._write("access.log", [self._access(t, 502, self.PATH) for _ in range(n)])


def test_log_text_is_shown_as_text_and_never_runs(
        faultline, browser, tmp_path, daemons, receivers):  # noqa: F811
    logs = PayloadLogs(tmp_path)
    hook = receivers()
    # The burst is written while the daemon runs: it pages, so the alert pages carry the
    # payloads too.
    alerting = (f'\n[[receiver]]\nname = "hook"\ntype = "webhook"\nurl = "{hook.url}"\n'
                f'timeout = "2s"\n{ROUTE_NOW}')
    d, port = start(faultline, tmp_path, daemons, [([str(logs.files["access.log"])], None),
                                                  ([str(logs.files["error.log"])], "error"),
                                                  ([str(logs.files["app.log"])], None)], alerting)
    d.wait_for("the healthy lines counted", lambda: d.totals()["requests"] == logs.requests)
    logs.burst()
    hook.wait("the page for the incident", lambda got: got, daemon=d)
    # No line follows the burst: the incident stays open while the page is checked.
    incidents = settled(d, logs.requests, resolved=False)
    assert any(P_SCRIPT in r for i in incidents for r in i["scope"]["routes"]), incidents
    out = run_check(browser, "--xss", f"http://127.0.0.1:{port}/", tmp_path / "shots")
    assert "0 failed" in out, out


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class PrefixedDaemon(Daemon):
    """A daemon whose routes are under `serve.base_path`."""

    def __init__(self, *args, prefix, **kwargs):
        super().__init__(*args, **kwargs)
        self.prefix = prefix

    def get(self, path, expect=200):
        return super().get(self.prefix + path, expect)

    def wait_ready(self, timeout=20):
        url = f"http://127.0.0.1:{self.port}{self.prefix}/readyz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"serve exited {self.proc.returncode}\n{self.stderr()}"
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        pytest.fail(f"serve not ready under {self.prefix} after {timeout}s\n{self.stderr()}")


def nginx_snippet(daemon_port):
    """The `location` block docs/serve.md gives for nginx, pointed at the daemon."""
    text = (REPO / "docs" / "serve.md").read_text()
    found = re.search(r"```nginx\n(.*?)```", text, re.S)
    assert found, "docs/serve.md has no nginx snippet"
    assert "127.0.0.1:9790" in found.group(1), found.group(1)
    return found.group(1).replace("127.0.0.1:9790", f"127.0.0.1:{daemon_port}")


NGINX_CONF = """\
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {tmp}/client_temp;
    proxy_temp_path {tmp}/proxy_temp;
    fastcgi_temp_path {tmp}/fastcgi_temp;
    uwsgi_temp_path {tmp}/uwsgi_temp;
    scgi_temp_path {tmp}/scgi_temp;
    server {{
        listen 127.0.0.1:{port};
{snippet}
    }}
}}
"""


@pytest.fixture
def nginx_proxy(nginx_bin, tmp_path):
    """start(daemon_port) -> the port of a real nginx proxying /faultline/ to the daemon."""
    started = []
    conf_dir = tmp_path / "nginx"
    conf_dir.mkdir()

    def start(daemon_port):
        port = free_port()
        conf = conf_dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=conf_dir, port=port,
                                          snippet=nginx_snippet(daemon_port)))
        test = subprocess.run([nginx_bin, "-p", str(conf_dir), "-c", str(conf), "-e", "stderr",
                               "-t", "-q"], capture_output=True, timeout=10)
        assert test.returncode == 0, test.stderr.decode()
        proc = subprocess.Popen([nginx_bin, "-p", str(conf_dir), "-c", str(conf), "-e", "stderr",
                                 "-g", "daemon off;"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=open(conf_dir / "nginx.out", "wb"),
                                start_new_session=True)
        started.append(proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert proc.poll() is None, (conf_dir / "nginx.out").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/faultline/healthz",
                                            timeout=2) as r:
                    if r.status == 200:
                        return port
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.05)
        pytest.fail("nginx did not proxy /faultline/healthz: "
                    + (conf_dir / "nginx-error.log").read_text()[-2000:])

    yield start
    for proc in started:
        proc.send_signal(signal.SIGQUIT)  # graceful: open streams are closed
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_under_a_path_prefix_behind_nginx_the_dashboard_works(
        faultline, browser, nginx_proxy, tmp_path, daemons):  # noqa: F811
    extra = ('base_path = "/faultline"\n[alerting]\n'
             'admin_token = { env = "E2E_ADMIN_TOKEN" }\n')
    cfg, port = config(tmp_path, example_sources(tmp_path), extra=extra)
    d = PrefixedDaemon(faultline, cfg, port, env={"E2E_ADMIN_TOKEN": TOKEN}, prefix="/faultline")
    daemons.append(d)
    d.wait_ready()
    settled(d, len((EXAMPLES / "access.log").read_bytes().splitlines()))
    proxy = nginx_proxy(port)
    base = f"http://127.0.0.1:{proxy}/faultline/"
    with urllib.request.urlopen(base, timeout=5) as r:
        assert r.status == 200 and b"assets/app.js" in r.read()
        assert "script-src 'self'" in r.headers["content-security-policy"]
    # The bare prefix is sent to the page with its trailing slash (by nginx itself).
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.build_opener(NoRedirect).open(base.rstrip("/"), timeout=5)
    assert e.value.code in (301, 308) and e.value.headers["location"].endswith("/faultline/")
    # Charts, incidents, an incident page, a silence and the live stream, all through nginx.
    out = run_check(browser, base, tmp_path / "shots", TOKEN)
    assert "0 failed" in out, out
