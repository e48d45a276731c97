"""Who can reach the API and how: HTTPS with a certificate from files, read tokens, and a
path prefix for a reverse proxy, against the real binary."""

import http.client
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from helpers import EXAMPLES, describe
from test_alerts import make_cert
from test_serve import config


def start(faultline, cfg, env=None):
    err = open(cfg.parent / "serve.err", "ab")
    return subprocess.Popen([str(faultline.path), "serve", "--config", str(cfg)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                            env={**os.environ, **(env or {})})


def fetch(url, token=None, context=None, timeout=3):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_up(url, proc, cfg, context=None):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, (cfg.parent / "serve.err").read_text()
        try:
            return fetch(url, context=context)
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    pytest.fail("serve did not answer: " + (cfg.parent / "serve.err").read_text())


@pytest.fixture
def procs():
    started = []
    yield started
    for p in started:
        p.kill()
        p.wait()


def logs(tmp):
    log = tmp / "access.log"
    log.write_bytes((EXAMPLES / "access.log").read_bytes())
    return [([str(log)], None)]


def test_https_with_a_certificate_from_files(faultline, tmp_path, procs):
    make_cert(tmp_path)
    cfg, port = config(tmp_path, logs(tmp_path))
    cfg.write_text(cfg.read_text().replace(
        "[serve]\n", '[serve]\ntls_cert = "cert.pem"\ntls_key = "key.pem"\n', 1))
    check = faultline.run("check", "--config", cfg)
    assert check.returncode == 0 and f"https://127.0.0.1:{port}/" in check.stdout.decode(), \
        describe(check, "check")
    proc = start(faultline, cfg)
    procs.append(proc)
    ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    status, _ = wait_up(f"https://127.0.0.1:{port}/healthz", proc, cfg, ctx)
    assert status == 200
    status, body = fetch(f"https://127.0.0.1:{port}/api/v1/status", context=ctx)
    assert status == 200 and b"commits" in body
    # Plain HTTP on the TLS port gets no answer it can read.
    with pytest.raises((urllib.error.URLError, OSError, http.client.HTTPException)):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3).read()


def test_a_bad_certificate_is_a_config_error_naming_the_key(faultline, tmp_path):
    (tmp_path / "cert.pem").write_text("not a certificate\n")
    (tmp_path / "key.pem").write_text("not a key\n")
    cfg, _ = config(tmp_path, logs(tmp_path))
    cfg.write_text(cfg.read_text().replace(
        "[serve]\n", '[serve]\ntls_cert = "cert.pem"\ntls_key = "key.pem"\n', 1))
    check = faultline.run("check", "--config", cfg)
    assert check.returncode == 2, describe(check, "a bad certificate")
    assert f"{cfg}:3: serve.tls_cert" in check.stderr.decode(), check.stderr.decode()


def test_read_tokens_guard_the_data_and_a_prefix_moves_everything(faultline, tmp_path, procs):
    cfg, port = config(tmp_path, logs(tmp_path))
    cfg.write_text(cfg.read_text().replace(
        "[serve]\n",
        '[serve]\nread_tokens = [{ env = "E2E_READ_TOKEN" }]\nbase_path = "/faultline/"\n', 1))
    proc = start(faultline, cfg, {"E2E_READ_TOKEN": "r-123"})
    procs.append(proc)
    base = f"http://127.0.0.1:{port}/faultline"
    status, _ = wait_up(base + "/healthz", proc, cfg)
    assert status == 200, "health needs no token"
    for path in ("/api/v1/report", "/api/v1/incidents", "/api/v1/series", "/metrics"):
        assert fetch(base + path)[0] == 401, path
        assert fetch(base + path, token="wrong")[0] == 401, path
        assert fetch(base + path, token="r-123")[0] == 200, path
    assert fetch(f"http://127.0.0.1:{port}/api/v1/report", token="r-123")[0] == 404
    # The bare prefix sends the browser to the dashboard with its trailing slash.
    req = urllib.request.Request(base)
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as e:
        opener.open(req, timeout=3)
    assert e.value.code == 308 and e.value.headers["location"] == "/faultline/"
    status, page = fetch(base + "/")
    assert status == 200 and b"assets/app.js" in page


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_sighup_applies_a_new_prefix_and_a_new_certificate_on_the_same_socket(
        faultline, tmp_path, procs):
    import signal
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    make_cert(tmp_path / "a")
    make_cert(tmp_path / "b")
    cfg, port = config(tmp_path, logs(tmp_path))
    plain = cfg.read_text()
    cfg.write_text(plain.replace(
        "[serve]\n", '[serve]\ntls_cert = "a/cert.pem"\ntls_key = "a/key.pem"\n', 1))
    proc = start(faultline, cfg)
    procs.append(proc)
    ctx_a = ssl.create_default_context(cafile=str(tmp_path / "a" / "ca.pem"))
    ctx_b = ssl.create_default_context(cafile=str(tmp_path / "b" / "ca.pem"))
    assert wait_up(f"https://127.0.0.1:{port}/healthz", proc, cfg, ctx_a)[0] == 200
    cfg.write_text(plain.replace(
        "[serve]\n",
        '[serve]\ntls_cert = "b/cert.pem"\ntls_key = "b/key.pem"\nbase_path = "/fl"\n', 1))
    proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if fetch(f"https://127.0.0.1:{port}/fl/api/v1/status", context=ctx_b)[0] == 200:
                break
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    else:
        pytest.fail("the new certificate and prefix were not applied: "
                    + (cfg.parent / "serve.err").read_text()[-2000:])
    with pytest.raises((urllib.error.URLError, OSError)):
        fetch(f"https://127.0.0.1:{port}/healthz", context=ctx_a)
