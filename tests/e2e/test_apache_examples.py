"""The committed Apache example (real Apache httpd output, examples/apache/) analysed as a user
would: with the LogFormat of its config passed as --log-format.

The same backends, traffic and faults as examples/nginx, behind mod_proxy_balancer; Apache
answers them differently (503 when the connection is refused, 502 when the read timeout
fires), and the causes must come out the same.
"""

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from helpers import (
    APACHE_EXAMPLES,
    APACHE_LOG_FORMAT,
    APACHE_STATUS_RE,
    by_class,
    check_evidence_points_at_lines,
    check_incident_basics,
    check_no_stray_incidents,
    check_phase_causes,
    check_phase_scopes,
    count_statuses,
    incident_phases,
    incidents_text,
    input_named,
    phase_incident,
    ts,
)

ACCESS = APACHE_EXAMPLES / "access.log"
ERROR = APACHE_EXAMPLES / "error.log"

# %h %l %u [%t] "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D "%{BALANCER_WORKER_NAME}e" "%{Host}i"
LINE_RE = re.compile(
    rb'^\S+ \S+ \S+ \[([^\]]+)\] "(?:[^"\\]|\\.)*" (\d{3}) \S+ "(?:[^"\\]|\\.)*" '
    rb'"(?:[^"\\]|\\.)*" (\d+) "([^"]*)" "([^"]*)"$')
# Apache's error log: [Tue Nov 24 23:57:56.010901 2026] [proxy:error] [pid …] …, local time.
ERROR_TIME_RE = re.compile(r"^\[\w{3} (\w{3} \d{2} \d{2}:\d{2}:\d{2})\.\d+ (\d{4})\]")


@pytest.fixture(scope="module")
def timeline():
    with open(APACHE_EXAMPLES / "timeline.json") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def report(faultline):
    doc, _ = faultline.analyze_json(ACCESS, ERROR, extra=("--log-format", APACHE_LOG_FORMAT))
    return doc


def access_lines():
    """(epoch of %t, status, %D in seconds, worker, host) of every access-log line."""
    out = []
    for line in ACCESS.read_bytes().splitlines():
        m = LINE_RE.match(line)
        assert m, f"not the example's LogFormat: {line[:300]!r}"
        t = dt.datetime.strptime(m.group(1).decode(), "%d/%b/%Y:%H:%M:%S %z").timestamp()
        out.append((t, m.group(2).decode(), int(m.group(3)) / 1e6, m.group(4).decode(),
                    m.group(5).decode()))
    return out


def in_phase(t, phase):
    """%t has one-second resolution: the line's second overlaps the phase."""
    return t + 1 > phase["start"] and t < phase["end"]


# -- the committed logs are what the README and timeline.json say (no parser involved) -----

def test_each_phase_shows_what_apache_answered(timeline):
    lines = access_lines()
    fives = [x for x in lines if x[1].startswith("5")]
    phases = incident_phases(timeline)
    assert [p["expected_status"] for p in phases] == [["503"], ["502"], ["500"]]
    for phase in phases:
        got = [x for x in fives if in_phase(x[0], phase)]
        codes = {x[1] for x in got}
        assert codes == set(phase["expected_status"]), (phase["name"], codes)
        assert {x[3] for x in got} <= {"http://" + u for u in phase["upstreams"]}, phase["name"]
        assert {x[4] for x in got} == set(phase["hosts"]), phase["name"]
        assert dict(phase["observed_5xx"]) == {c: len(got) for c in codes}, phase["name"]
    # Every 5xx of the log belongs to one of the scripted phases.
    assert len(fives) == sum(sum(p["observed_5xx"].values()) for p in phases)

    a, b, c = phases
    refused = [x[2] for x in fives if in_phase(x[0], a)]
    timed_out = [x[2] for x in fives if in_phase(x[0], b)]
    app = [x[2] for x in fives if in_phase(x[0], c)]
    assert max(refused) < 0.05, "a refused connection is answered at once"
    assert all(1.99 <= d < 2.2 for d in timed_out), "ProxyTimeout 2 fires after 2 s"
    assert max(app) < 0.5, "the application fails fast"


def test_error_log_holds_the_proxy_errors_of_a_and_b(timeline):
    phases = {p["name"]: p for p in timeline["phases"]}
    offset = dt.datetime.strptime(
        re.search(rb"\[([^\]]+)\]", ACCESS.read_bytes()).group(1).decode(),
        "%d/%b/%Y:%H:%M:%S %z").tzinfo
    seen = {}
    for line in ERROR.read_text().splitlines():
        m = ERROR_TIME_RE.match(line)
        assert m, line
        t = dt.datetime.strptime(" ".join(m.groups()), "%b %d %H:%M:%S %Y")
        t = t.replace(tzinfo=offset).timestamp()
        for needle in ("AH00957", "AH01114", "AH01102", "AH00898"):
            if needle in line:
                seen.setdefault(needle, []).append(t)
    for name, needles in (("A", ("AH00957", "AH01114")), ("B", ("AH01102", "AH00898"))):
        phase = phases[name]
        for needle in needles:
            assert seen.get(needle), f"no {needle} in error.log"
            # B's lines are written when the 2 s timeout fires, after the request came in.
            assert all(phase["start"] - 1 <= t <= phase["end"] + 3 for t in seen[needle]), (
                name, needle)
        for text in phase["error_log"]:
            assert text in ERROR.read_text(), text
    assert phases["C"]["error_log"] == []


# -- faultline's report ----------------------------------------------------------------------

def test_report_matches_schema(report, validate):
    validate(report)
    assert report["version"] == 1


def test_inputs_are_detected(report):
    access = input_named(report, "access.log")
    assert access["kind"] == "access"
    assert access["format"] == "apache"
    lines = len(ACCESS.read_bytes().splitlines())
    assert access["lines"] == lines
    assert access["parsed"] == lines, access
    assert access["malformed"] == 0, access
    assert "error" not in access


def test_error_log_is_recognised(report):
    error = input_named(report, "error.log")
    assert error["kind"] == "error"
    assert error["lines"] == len(ERROR.read_bytes().splitlines())
    assert error["malformed"] == 0, error


def test_totals_equal_a_regex_count(report):
    expected = count_statuses(ACCESS, APACHE_STATUS_RE)
    totals = report["totals"]
    assert totals["by_status"] == expected
    assert totals["requests"] == sum(expected.values()) == len(ACCESS.read_bytes().splitlines())
    assert totals["by_class"] == by_class(expected)
    five = sum(n for code, n in expected.items() if code.startswith("5"))
    assert totals["server_error_rate"] == pytest.approx(five / totals["requests"], rel=1e-3)


def test_window_spans_the_log(report):
    # Apache writes a line when the request completes, stamped with the time it came in:
    # the first and last lines are not the earliest and latest times.
    times = [x[0] for x in access_lines()]
    assert ts(report["window"]["start"]) <= min(times)
    assert ts(report["window"]["end"]) >= max(times)


def test_timing_is_read(report):
    # %D gives latencies: the search route holds the 2 s timeouts of B.
    search = [r for r in report["top"]["routes"] if r["route"].startswith("/api/search")]
    assert search, report["top"]["routes"]
    assert search[0]["p99_ms"] is not None and search[0]["p99_ms"] >= 1900, search


def test_one_incident_per_phase_with_the_expected_cause(report, timeline):
    assert len(incident_phases(timeline)) == 3
    check_phase_causes(report, timeline)


def test_no_incident_outside_the_phases(report, timeline):
    check_no_stray_incidents(report, timeline)
    assert len(report["incidents"]) == 3, incidents_text(report)


def test_incident_scopes(report, timeline):
    check_phase_scopes(report, timeline)


def test_incident_ids_and_order(report):
    check_incident_basics(report)


def test_incident_state_follows_the_closing_rule(report, timeline):
    # A bad second looks back 10 s, and an incident closes after 10 s without one. So an
    # incident whose last 5xx is more than ~20 s before the end of the input is resolved (A
    # and B), and one whose last 5xx is less than 10 s before it is still open. C ends
    # between the two: its last 500s are sparse, so whether it closed within the 15 s tail
    # depends on when its last bad second was.
    end = ts(report["window"]["end"])
    for phase in incident_phases(timeline):
        inc = phase_incident(report, phase)
        quiet = end - ts(inc["end"])
        if quiet > 23:
            assert inc["state"] == "resolved", (quiet, incidents_text(report))
        elif quiet < 10:
            assert inc["state"] == "open", (quiet, incidents_text(report))
        if phase["name"] in ("A", "B"):
            assert inc["state"] == "resolved", incidents_text(report)


def test_evidence_points_at_real_lines(report):
    for inc in report["incidents"]:
        assert inc["diagnosis"]["evidence"], incidents_text(report)
    check_evidence_points_at_lines(report, [ACCESS, ERROR])


def test_terminal_output_names_each_cause(faultline, report):
    proc = faultline.run("analyze", "--output", "terminal", "--log-format", APACHE_LOG_FORMAT,
                         ACCESS, ERROR, env={"NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    text = proc.stdout.decode()
    for inc in report["incidents"]:
        cause = inc["diagnosis"]["cause"]
        spelled = {cause, cause.replace("_", " "), cause.replace("_", "-")}
        assert any(s in text for s in spelled), f"terminal output does not mention {cause}"
    assert Path(ACCESS).name in text
