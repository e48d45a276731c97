"""Helpers of the end-to-end suite: running faultline, counting logs, checking incidents."""

import collections
import datetime as dt
import json
import os
import pty
import re
import select
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "nginx"
APACHE_EXAMPLES = REPO / "examples" / "apache"

# The LogFormat of examples/apache (httpd.conf.in), as Apache reads it: without the
# backslashes that escape its quotes inside the config file's quoted string.
APACHE_LOG_FORMAT = ('%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D '
                     '"%{BALANCER_WORKER_NAME}e" "%{Host}i"')

# The status of an nginx access-log line: the first field after the quoted request line.
# nginx escapes '"' inside $request as \x22, so the request has no bare quote.
STATUS_RE = re.compile(rb'^\S+ - \S+ \[[^\]]+\] "[^"]*" (\d{3}) ')
# The same for Apache's %h %l %u %t "%r" %>s: Apache escapes '"' inside %r as \".
APACHE_STATUS_RE = re.compile(rb'^\S+ \S+ \S+ \[[^\]]+\] "(?:[^"\\]|\\.)*" (\d{3}) ')
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# nginx logs a request when it completes, second resolution: a phase's 5xx lines can carry the
# second before the phase started, the 504s of a slow backend end proxy_read_timeout after
# the fault was removed, and a pool whose servers all failed stays out for its fail_timeout
# (nginx) or retry (Apache), 5 s, after the last failure.
START_SLACK_S = 1.5
END_SLACK_S = 6.5


class Faultline:
    def __init__(self, path):
        self.path = Path(path)

    def run(self, *args, stdin=None, env=None, timeout=600, cwd=None):
        full_env = dict(os.environ)
        full_env.pop("CLICOLOR_FORCE", None)
        full_env.pop("FORCE_COLOR", None)
        full_env.update(env or {})
        return subprocess.run(
            [str(self.path), *map(str, args)],
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            env=full_env,
            timeout=timeout,
            cwd=cwd,
        )

    def run_on_terminal(self, *args, stream="stderr", env=None, timeout=600):
        """Runs faultline with `stream` ("stdout" or "stderr") on a pseudo-terminal and the
        other on a pipe: (rc, what the pipe received, what the terminal received)."""
        full_env = dict(os.environ)
        for name in ("CLICOLOR_FORCE", "FORCE_COLOR", "NO_COLOR"):
            full_env.pop(name, None)
        full_env.update(env or {})
        master, slave = pty.openpty()
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        pipes[stream] = slave
        proc = subprocess.Popen([str(self.path), *map(str, args)], stdin=subprocess.DEVNULL,
                                env=full_env, **pipes)
        os.close(slave)
        tty = bytearray()
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:          # the terminal closed with the process
                    chunk = b""
                if not chunk:
                    break
                tty += chunk
            elif proc.poll() is not None:
                break
        piped = (proc.stderr if stream == "stdout" else proc.stdout).read()
        rc = proc.wait(timeout=timeout)
        os.close(master)
        return rc, piped, bytes(tty)

    def analyze_json(self, *files, extra=(), stdin=None, expect_rc=0, cwd=None):
        """Run `faultline analyze --output json FILES`, check the exit code, return (doc, proc)."""
        proc = self.run("analyze", "--output", "json", *extra, *files, stdin=stdin, cwd=cwd)
        assert proc.returncode == expect_rc, describe(proc, f"expected exit {expect_rc}")
        try:
            doc = json.loads(proc.stdout)
        except ValueError as e:
            raise AssertionError(describe(proc, f"stdout is not one JSON document: {e}")) from None
        return doc, proc


def describe(proc, what):
    def cut(b):
        text = b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
        return text if len(text) < 3000 else text[:1500] + "\n…\n" + text[-1500:]

    return (f"{what}; `{' '.join(map(str, proc.args))}` exited {proc.returncode}\n"
            f"--- stderr ---\n{cut(proc.stderr)}\n--- stdout ---\n{cut(proc.stdout)}")


def count_statuses(path_or_bytes, regex=STATUS_RE):
    """Per-status counts of an access log (nginx's by default; APACHE_STATUS_RE for Apache's),
    the way a person would do it with a regex."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    counts = collections.Counter()
    for line in data.splitlines():
        m = regex.match(line)
        if m:
            counts[m.group(1).decode()] += 1
    return dict(counts)


def by_class(by_status):
    out = collections.Counter()
    for code, n in by_status.items():
        out[code[0] + "xx"] += n
    return dict(out)


def ts(text):
    """RFC 3339 -> epoch seconds."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def input_named(doc, name):
    matches = [i for i in doc["inputs"] if Path(i["path"]).name == name]
    assert len(matches) == 1, f"expected one input named {name}, got {doc['inputs']}"
    return matches[0]


def incident_line(inc):
    d = inc.get("diagnosis", {})
    return (f"{inc.get('id')} {inc.get('start')}..{inc.get('end')} cause={d.get('cause')} "
            f"errors={inc.get('errors')} status={inc.get('status')} scope={inc.get('scope')}")


def incidents_text(doc):
    return "\n".join("  " + incident_line(i) for i in doc["incidents"]) or "  (none)"


def overlaps(inc, start, end, before=START_SLACK_S, after=END_SLACK_S):
    return ts(inc["start"]) <= end + after and ts(inc["end"]) >= start - before


def incident_phases(timeline):
    return [p for p in timeline["phases"] if p["kind"] == "incident"]


def phase_named(timeline, name):
    found = [p for p in timeline["phases"] if p["name"] == name]
    assert len(found) == 1, f"timeline has {len(found)} phases named {name}"
    return found[0]


def phase_label(phase):
    return (f"phase {phase['name']} ({phase['start_utc']} .. {phase['end_utc']}, "
            f"{phase['description']})")


def phase_incidents(doc, phase):
    """The incidents reported over a timeline phase's window (with the slack of line times)."""
    return [i for i in doc["incidents"] if overlaps(i, phase["start"], phase["end"])]


def phase_incident(doc, phase):
    """The one incident reported for a timeline phase (asserts there is exactly one)."""
    found = phase_incidents(doc, phase)
    assert len(found) == 1, (
        f"{phase_label(phase)}: expected exactly one incident, got {len(found)}; "
        f"all incidents:\n{incidents_text(doc)}")
    return found[0]


def other_phases(inc, timeline, phase):
    """The names of the other incident phases whose windows an incident also covers."""
    return [p["name"] for p in incident_phases(timeline)
            if p["name"] != phase["name"] and overlaps(inc, p["start"], p["end"])]


def diagnosis_verdict(doc, timeline, phase):
    """(right, why) for one scenario: right when at least one incident covers the phase's
    window and every incident that does names the expected cause and covers no other
    scenario's window (an incident merged over two scenarios is right for one at most)."""
    found = phase_incidents(doc, phase)
    if not found:
        return False, "no incident"
    wrong = []
    for inc in found:
        cause = inc["diagnosis"]["cause"]
        if cause != phase["expected_cause"]:
            wrong.append(f"cause {cause}")
        merged = other_phases(inc, timeline, phase)
        if merged:
            wrong.append(f"one incident with {', '.join(merged)}")
    if wrong:
        return False, "; ".join(wrong)
    return True, phase["expected_cause"]


def check_phase_has_incident(doc, phase):
    assert phase_incidents(doc, phase), (
        f"{phase_label(phase)}: no incident covers the window; all incidents:\n"
        f"{incidents_text(doc)}")


def check_phase_cause(doc, timeline, phase):
    right, why = diagnosis_verdict(doc, timeline, phase)
    assert right, (
        f"{phase_label(phase)}: expected cause {phase['expected_cause']}, got {why}:\n"
        + "\n".join("  " + incident_line(i) for i in phase_incidents(doc, phase)))


def check_phase_causes(doc, timeline):
    for phase in incident_phases(timeline):
        check_phase_cause(doc, timeline, phase)


def check_no_stray_incidents(doc, timeline):
    phases = incident_phases(timeline)
    stray = [i for i in doc["incidents"]
             if not any(overlaps(i, p["start"], p["end"]) for p in phases)]
    windows = ", ".join(f"{p['name']} {p['start_utc']}..{p['end_utc']}" for p in phases)
    assert not stray, (f"incidents outside the scripted phases ({windows}):\n"
                       + "\n".join("  " + incident_line(i) for i in stray))


def bare_upstream(name):
    """An upstream without a scheme: Apache names a balancer member `http://127.0.0.1:8080`."""
    return re.sub(r"^[a-z][a-z0-9+.-]*://", "", name)


def check_phase_scope(doc, timeline, phase):
    """The scope of the incident of a phase: its hosts, routes under the phase's prefixes
    (templated), upstreams among the phase's backends (or the pool's name, when the proxy
    had none left to try), none when the proxy answered itself, and mostly the expected
    statuses. An incident that also covers another scenario's window cannot have the
    scope of either: that is the business of the cause check, and this one is xfailed."""
    import pytest

    inc = phase_incident(doc, phase)
    merged = other_phases(inc, timeline, phase)
    if merged:
        pytest.xfail(f"one incident covers {phase['name']} and {', '.join(merged)}")
    scope = inc["scope"]
    label = f"{phase_label(phase)}:\n  {incident_line(inc)}"
    upstreams = set(map(bare_upstream, scope["upstreams"]))
    allowed = set(phase["upstreams"]) | set(phase.get("upstream_aliases", []))
    assert upstreams <= allowed, label
    if not phase["upstreams"]:
        assert not upstreams, label
    assert sorted(scope["hosts"]) == sorted(phase["hosts"]), label
    assert scope["routes"], label
    for route in scope["routes"]:
        assert any(route.startswith(p) for p in phase["route_prefixes"]), label
        # Routes are templates: no raw ids or UUIDs in them.
        assert not UUID_RE.search(route), label
        assert not re.search(r"/\d+(/|$)", route), label
    codes = inc["status"]
    main = sum(codes.get(c, 0) for c in phase["expected_status"])
    assert main >= 0.9 * inc["errors"], label
    assert 0 < inc["errors"] <= inc["requests"], label
    assert ts(inc["start"]) <= ts(inc["end"]), label


def check_phase_scopes(doc, timeline):
    for phase in incident_phases(timeline):
        check_phase_scope(doc, timeline, phase)


def load_traffic():
    """examples/nginx/traffic.py as a module: the scenarios and what each proxy answers."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("example_traffic", EXAMPLES / "traffic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scenarios_of(proxy):
    """[(name, cause)] of the scenarios generate.sh plays for a proxy, in order."""
    traffic = load_traffic()
    skipped = {s["name"] for s in traffic.PROXIES[proxy]["skipped"]}
    return [(s["name"], s["cause"]) for s in traffic.SCENARIOS if s["name"] not in skipped]


def scenario_params(proxy, names, wrong_now):
    """pytest params named `proxy-scenario`, one per scenario; those in `wrong_now`
    ({name: what faultline says now}) are strict xfails, so that a fix shows as XPASS."""
    import pytest

    params = []
    for name in names:
        marks = ()
        if name in wrong_now:
            marks = pytest.mark.xfail(strict=True, reason=f"faultline says {wrong_now[name]}")
        params.append(pytest.param(name, id=f"{proxy}-{name}", marks=marks))
    return params


def run_generator(script, out, env, timeout=600):
    """Run a generate.sh into `out` with --quick; fail the test with its output if it fails."""
    import pytest

    proc = subprocess.Popen(["bash", str(script), str(out), "--quick"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()                      # its trap stops the proxy and the backends
        stdout, stderr = proc.communicate(timeout=60)
        pytest.fail(f"{script} took over {timeout} s\n{stdout.decode(errors='replace')}"
                    f"\n{stderr.decode(errors='replace')}")
    assert proc.returncode == 0, (
        f"{script} failed ({proc.returncode})\n--- stdout ---\n"
        f"{stdout.decode(errors='replace')}\n--- stderr ---\n"
        f"{stderr.decode(errors='replace')}")
    with open(Path(out) / "timeline.json") as f:
        return json.load(f)


def check_incident_basics(doc):
    ids = [i["id"] for i in doc["incidents"]]
    assert len(ids) == len(set(ids)), f"duplicate incident ids: {ids}"
    starts = [ts(i["start"]) for i in doc["incidents"]]
    assert starts == sorted(starts), "incidents are not ordered by start"
    for inc in doc["incidents"]:
        start = dt.datetime.fromisoformat(inc["start"]).astimezone(dt.timezone.utc)
        assert inc["id"].startswith("inc-" + start.strftime("%Y%m%dT%H%M%S") + "-"), (
            f"id does not carry the UTC start: {incident_line(inc)}")


def check_evidence_points_at_lines(doc, files):
    """Every evidence line number of a known input is a real line of that input."""
    texts = {Path(f).name: Path(f).read_bytes().splitlines() for f in files}
    for inc in doc["incidents"]:
        for ev in inc["diagnosis"]["evidence"]:
            lines = texts.get(Path(ev["source"]).name)
            if lines is None:
                continue
            assert 1 <= ev["line"] <= len(lines), f"evidence {ev} of {incident_line(inc)}"
