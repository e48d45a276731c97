"""Helpers of the end-to-end suite: running faultline, counting logs, checking incidents."""

import collections
import datetime as dt
import json
import os
import re
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
# second before the phase started, and the 504s of a slow backend end proxy_read_timeout
# after the fault was removed.
START_SLACK_S = 1.5
END_SLACK_S = 4.5


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


def phase_incident(doc, phase):
    """The one incident reported for a timeline phase (asserts there is exactly one)."""
    found = [i for i in doc["incidents"] if overlaps(i, phase["start"], phase["end"])]
    assert len(found) == 1, (
        f"phase {phase['name']} ({phase['start_utc']} .. {phase['end_utc']}, "
        f"{phase['description']}): expected exactly one incident, got {len(found)}; "
        f"all incidents:\n{incidents_text(doc)}")
    return found[0]


def check_phase_causes(doc, timeline):
    for phase in incident_phases(timeline):
        inc = phase_incident(doc, phase)
        assert inc["diagnosis"]["cause"] == phase["expected_cause"], (
            f"phase {phase['name']} ({phase['description']}): expected cause "
            f"{phase['expected_cause']}, got:\n  {incident_line(inc)}")


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


def check_phase_scopes(doc, timeline):
    for phase in incident_phases(timeline):
        inc = phase_incident(doc, phase)
        scope = inc["scope"]
        label = f"phase {phase['name']}: {incident_line(inc)}"
        assert sorted(map(bare_upstream, scope["upstreams"])) == sorted(phase["upstreams"]), label
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
