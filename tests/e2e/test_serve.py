"""`faultline serve` as an operator runs it: the real binary follows logs that are written,
rotated and truncated while it runs, is killed with -9 and restarted, reloads its config on
SIGHUP, and answers the JSON API. Counts are checked against the lines written, incidents
against `faultline analyze` over the same lines."""

import json
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from helpers import EXAMPLES, count_statuses, describe

LINES = (EXAMPLES / "access.log").read_bytes().splitlines(keepends=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(tmp, sources, extra=""):
    port = free_port()
    text = f"""
[serve]
listen = "127.0.0.1:{port}"
state = "state.db"
tick = "200ms"
poll = "50ms"
lateness = "2s"
partial_line_flush = "500ms"
start_at = "beginning"
{extra}
"""
    for paths, kind in sources:
        text += f"\n[[source]]\npaths = {json.dumps(paths)}\n"
        if kind:
            text += f'kind = "{kind}"\n'
    path = tmp / "faultline.toml"
    path.write_text(text)
    return path, port


class Daemon:
    """One `faultline serve` process."""

    def __init__(self, faultline, cfg, port, env=None):
        self.cfg, self.port = cfg, port
        self.err = open(cfg.parent / "serve.err", "ab")
        self.proc = subprocess.Popen(
            [str(faultline.path), "serve", "--config", str(cfg)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.err,
            env={**os.environ, **(env or {})})

    def get(self, path, expect=200):
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        assert status == expect, f"GET {path}: {status} {body[:500]!r}\n{self.stderr()}"
        return json.loads(body)

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"serve exited {self.proc.returncode}\n{self.stderr()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        pytest.fail(f"serve not ready after {timeout}s\n{self.stderr()}")

    def wait_for(self, what, check, timeout=30):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(0.1)
        pytest.fail(f"timed out waiting for {what}\n{self.stderr()}")

    def totals(self):
        return self.get("/api/v1/report")["totals"]

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=20)
        self.err.flush()
        return rc

    def stderr(self):
        self.err.flush()
        return (self.cfg.parent / "serve.err").read_text(errors="replace")[-3000:]


@pytest.fixture
def daemons():
    started = []
    yield started
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()


def start(faultline, cfg, port, daemons):
    d = Daemon(faultline, cfg, port)
    daemons.append(d)
    d.wait_ready()
    return d


def key(inc):
    return (inc["id"], inc["start"], inc["end"], inc["errors"], inc["diagnosis"]["cause"],
            json.dumps(inc["status"], sort_keys=True))


def test_check_prints_every_error_with_its_line_and_key(faultline, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[serve]\nlisten = "nowhere"\ntick = "soon"\n\n'
                   '[[source]]\npaths = ["/var/log/a.log"]\nkind = "weird"\n\n'
                   '[[retention]]\nresolution = "1m"\nkeep = "1d"\n'
                   '[[retention]]\nresolution = "10s"\nkeep = "30d"\n')
    proc = faultline.run("check", "--config", cfg)
    assert proc.returncode == 2, describe(proc, "an invalid config exits 2")
    err = proc.stderr.decode()
    for expected in (f"{cfg}:2: serve.listen", f"{cfg}:3: serve.tick",
                     f"{cfg}:7: source[0].kind", f"{cfg}:13: retention[1].resolution",
                     "4 errors"):
        assert expected in err, err
    cfg.write_text('[serve]\nlisten = "127.0.0.1:1"\nunknown_key = 1\n')
    proc = faultline.run("check", "--config", cfg)
    assert proc.returncode == 2 and f"{cfg}:3" in proc.stderr.decode(), describe(proc, "unknown key")
    proc = faultline.run("check", "--config", REPO_EXAMPLE)
    assert proc.returncode == 0, describe(proc, "the example config is valid")


REPO_EXAMPLE = EXAMPLES.parents[0] / "faultline.toml"


def write_slowly(files, pieces, pause):
    """Appends each of `files` ({path: bytes}) in `pieces` writes, all growing together; a
    write may end in the middle of a line."""
    rng = random.Random(7)
    cuts = {p: sorted(rng.sample(range(1, len(d)), pieces - 1)) + [len(d)]
            for p, d in files.items()}
    at = dict.fromkeys(files, 0)
    for i in range(pieces):
        for path, data in files.items():
            with open(path, "ab") as f:
                f.write(data[at[path]:cuts[path][i]])
            at[path] = cuts[path][i]
        time.sleep(pause)


def test_logs_tailed_as_they_are_written_give_what_analyze_gives(faultline, tmp_path, daemons):
    log = tmp_path / "access.log"
    others = {tmp_path / n: (EXAMPLES / n).read_bytes() for n in ("error.log", "app.log")}
    cfg, port = config(tmp_path, [([str(log)], None), ([str(tmp_path / "error.log")], "error"),
                                  ([str(tmp_path / "app.log")], None)])
    log.write_bytes(b"".join(LINES[:20]))
    d = start(faultline, cfg, port, daemons)
    write_slowly({log: b"".join(LINES[20:]), **others}, pieces=12, pause=0.15)
    want, _ = faultline.analyze_json(log, *others)
    d.wait_for("every line counted", lambda: d.totals()["requests"] == len(LINES))
    assert d.totals() == want["totals"]
    # Event time moves on with the clock once the file is idle: every incident closes.
    got = d.wait_for("all incidents resolved", lambda: (lambda inc: inc if inc and all(
        i["state"] == "resolved" for i in inc) else None)(d.get("/api/v1/incidents")["incidents"]))
    assert len(want["incidents"]) >= 8
    # Diagnoses too: the same cause, confidence, reasons, evidence lines and remediation,
    # joined from the error and app logs as they were written (an incident's diagnosis is
    # final once the other logs were read past it).
    want_by_id = {i["id"]: i for i in want["incidents"]}
    seen = {}

    def same_as_analyze():
        seen["got"] = {i["id"]: i for i in d.get("/api/v1/incidents")["incidents"]}
        return seen["got"] == want_by_id

    deadline = time.monotonic() + 15
    while not same_as_analyze() and time.monotonic() < deadline:
        time.sleep(0.2)
    got = seen["got"]
    assert sorted(got) == sorted(want_by_id)
    for inc_id, inc in got.items():
        assert inc == want_by_id[inc_id], inc_id
    assert any(e["source"].endswith("error.log")
               for i in got.values() for e in i["diagnosis"]["evidence"])
    groups = {g["fingerprint"]: g["count"] for g in d.get("/api/v1/report")["error_groups"]}
    assert groups == {g["fingerprint"]: g["count"] for g in want["error_groups"]}
    assert d.stop() == 0

    # The same lines replayed at once (a fresh state) give the same incidents, ids and
    # diagnoses.
    replay_dir = tmp_path / "replay"
    replay_dir.mkdir()
    cfg2, port2 = config(replay_dir, [([str(log)], None), ([str(p) for p in others], None)])
    d2 = start(faultline, cfg2, port2, daemons)
    d2.wait_for("replayed", lambda: d2.totals()["requests"] == len(LINES))
    d2.wait_for("the same incidents", lambda: {
        i["id"]: i for i in d2.get("/api/v1/incidents")["incidents"]} == want_by_id, timeout=15)
    assert d2.stop() == 0


def test_kill_9_and_restart_while_logs_rotate_count_every_line_once(faultline, tmp_path, daemons):
    log = tmp_path / "access.log"
    cfg, port = config(tmp_path, [([str(log)], None)])
    rng = random.Random(11)
    written = []
    log.write_bytes(b"")
    d = start(faultline, cfg, port, daemons)
    pos, rotations, kills = 0, 0, 0
    deadline = time.monotonic() + 40
    while pos < len(LINES) and time.monotonic() < deadline:
        n = rng.randint(50, 400)
        chunk = LINES[pos:pos + n]
        with open(log, "ab") as f:
            f.write(b"".join(chunk))
        written.extend(chunk)
        pos += n
        time.sleep(rng.uniform(0.0, 0.2))
        roll = rng.random()
        if roll < 0.25:
            # logrotate's create mode, keeping every generation (dateext-like names).
            rotations += 1
            log.rename(tmp_path / f"access.log.{rotations}")
            log.write_bytes(b"")
        elif roll < 0.6 and d.proc.poll() is None:
            d.proc.kill()                       # kill -9: no chance to commit
            d.proc.wait()
            kills += 1
            time.sleep(rng.uniform(0.0, 0.3))   # lines keep coming while it is down
            d = start(faultline, cfg, port, daemons)
    assert kills >= 4 and rotations >= 2, (kills, rotations)
    want = count_statuses(b"".join(written))
    d.wait_for("every line counted", lambda: d.totals()["requests"] == len(written), timeout=30)
    assert d.totals()["by_status"] == dict(want)
    # A graceful stop and a restart count nothing again.
    assert d.stop() == 0
    d = start(faultline, cfg, port, daemons)
    time.sleep(1)
    assert d.totals()["by_status"] == dict(want)
    assert d.stop() == 0


def test_sighup_keeps_the_running_config_when_the_new_one_is_invalid(faultline, tmp_path, daemons):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_bytes(b"".join(LINES[:100]))
    b.write_bytes(b"".join(LINES[100:250]))
    cfg, port = config(tmp_path, [([str(a)], None)])
    good = cfg.read_text()
    d = start(faultline, cfg, port, daemons)
    d.wait_for("a counted", lambda: d.totals()["requests"] == 100)

    cfg.write_text(good + '\n[[source]]\npaths = ["x"]\nkind = "nonsense"\n')
    d.proc.send_signal(signal.SIGHUP)
    d.wait_for("the reload refused", lambda: "keeping the running one" in d.stderr())
    assert "source[1].kind" in d.stderr()
    d.get("/healthz")

    cfg.write_text(good + f'\n[[source]]\npaths = ["{tmp_path}/b*.log"]\n')
    d.proc.send_signal(signal.SIGHUP)
    d.wait_for("b counted too", lambda: d.totals()["requests"] == 250)
    paths = {i["path"] for i in d.get("/api/v1/report")["inputs"]}
    assert paths == {str(a), str(b)}
    assert d.stop(signal.SIGINT) == 0


def test_api_answers_ranges_and_errors_as_json(faultline, tmp_path, daemons):
    log = tmp_path / "access.log"
    log.write_bytes(b"".join(LINES))
    cfg, port = config(tmp_path, [([str(tmp_path / "*.log")], "access")])
    d = start(faultline, cfg, port, daemons)
    d.wait_for("counted", lambda: d.totals()["requests"] == len(LINES))
    assert d.get("/healthz")["status"] == "ok"
    whole = d.get("/api/v1/report")
    first = whole["timeline"]["buckets"][0]["start"]
    query = urllib.parse.urlencode({"from": first, "to": whole["timeline"]["buckets"][6]["start"]})
    part = d.get(f"/api/v1/report?{query}")
    assert 0 < part["totals"]["requests"] < whole["totals"]["requests"]
    assert part["totals"]["requests"] == sum(b["requests"] for b in whole["timeline"]["buckets"][:6])
    err = d.get("/api/v1/report?from=tomorrow", expect=400)
    assert "from" in err["error"]["message"]
    assert d.get("/api/v1/incidents/inc-nope", expect=404)["error"]["status"] == 404
    status = d.get("/api/v1/status")
    assert status["files"][str(log)]["lines_read"] == len(LINES)
    assert status["store_bytes"] > 0
    assert d.stop() == 0


def test_an_unusable_state_file_is_a_clear_error(faultline, tmp_path):
    cfg, _ = config(tmp_path, [([str(tmp_path / "a.log")], None)])
    (tmp_path / "state.db").write_bytes(b"this is not a database" * 100)
    proc = faultline.run("serve", "--config", cfg, timeout=30)
    assert proc.returncode == 2, describe(proc, "exit 2")
    assert "state.db" in proc.stderr.decode(), describe(proc, "names the file")


def test_apache_logs_replayed_give_what_analyze_gives(faultline, tmp_path, daemons):
    from helpers import APACHE_EXAMPLES, APACHE_LOG_FORMAT
    names = ("access.log", "error.log", "app.log")
    for n in names:
        (tmp_path / n).write_bytes((APACHE_EXAMPLES / n).read_bytes())
    cfg, port = config(tmp_path, [([str(tmp_path / "error.log"), str(tmp_path / "app.log")], None)])
    # Apache stamps a line with the time its request arrived: lines come out of order, and
    # the source names its LogFormat.
    cfg.write_text(cfg.read_text().replace('lateness = "2s"', 'lateness = "5s"')
                   + f"\n[[source]]\npaths = [\"{tmp_path / 'access.log'}\"]\n"
                   f"log_format = '{APACHE_LOG_FORMAT}'\nformat = \"apache\"\n")
    want, _ = faultline.analyze_json(*(tmp_path / n for n in names),
                                     extra=("--format", "apache", "--log-format", APACHE_LOG_FORMAT))
    assert len(want["incidents"]) >= 8
    d = start(faultline, cfg, port, daemons)
    want_by_id = {i["id"]: i for i in want["incidents"]}
    d.wait_for("the incidents and diagnoses of analyze", lambda: {
        i["id"]: i for i in d.get("/api/v1/incidents")["incidents"]} == want_by_id, timeout=40)
    assert d.totals() == want["totals"]
    assert d.stop() == 0
