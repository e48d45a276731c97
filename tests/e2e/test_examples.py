"""The committed example (real nginx output, examples/nginx/) analysed as a user would:
access, error and application logs together.

Ten fault scenarios, each its own incident phase of timeline.json with the contract cause
faultline should name. Each scenario has its own tests (ids `nginx-<scenario>`): an
incident covers its window, names the cause, has the scenario's scope, and cites the
proxy's or the application's log lines. Checks that faultline does not pass yet are strict
xfails (WRONG_NOW, NO_EVIDENCE_NOW), so that a fix shows as XPASS and its entry is removed.
"""

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from helpers import (
    EXAMPLES,
    by_class,
    check_evidence_points_at_lines,
    check_incident_basics,
    check_no_stray_incidents,
    check_phase_cause,
    check_phase_has_incident,
    check_phase_scope,
    count_statuses,
    incident_phases,
    incidents_text,
    input_named,
    phase_incident,
    phase_incidents,
    phase_named,
    scenario_params,
    scenarios_of,
    ts,
)

PROXY = "nginx"
ACCESS = EXAMPLES / "access.log"
ERROR = EXAMPLES / "error.log"
APP = EXAMPLES / "app.log"
LOGS = [ACCESS, ERROR, APP]
with open(EXAMPLES / "timeline.json") as _f:
    TIMELINE = json.load(_f)
NAMES = [p["name"] for p in incident_phases(TIMELINE)]
ERROR_LOG_PHASES = [p["name"] for p in incident_phases(TIMELINE) if p["error_log"]]
APP_LOG_PHASES = [p["name"] for p in incident_phases(TIMELINE) if p["app_log"]]

# Scenarios whose cause faultline gets wrong on these logs today, with what it says instead.
WRONG_NOW = {}
# Scenarios whose incident does not cite the proxy's / the application's lines yet.
NO_ERROR_LOG_EVIDENCE_NOW = {}
NO_APP_LOG_EVIDENCE_NOW = {}

APP_RECORD = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \+0000 (\w+) \[([\w-]+)\] ")


def by_name(names, wrong, reason):
    return [pytest.param(n, id=f"{PROXY}-{n}",
                         marks=pytest.mark.xfail(strict=True, reason=f"{reason}: {wrong[n]}")
                         if n in wrong else ()) for n in names]


@pytest.fixture(scope="module")
def timeline():
    return TIMELINE


@pytest.fixture(scope="module")
def report(faultline):
    doc, _ = faultline.analyze_json(*LOGS)
    return doc


# -- the committed logs are what the README and timeline.json say (no parser involved) -----

def test_timeline_plays_every_scenario(timeline):
    assert timeline["mode"] == "full"
    assert [(p["name"], p["expected_cause"]) for p in incident_phases(timeline)] == \
        scenarios_of(PROXY)
    assert timeline["skipped"] == []


def test_each_phase_shows_what_nginx_answered(timeline):
    # generate.sh counted the 5xx of every phase into timeline.json, and checked them.
    for phase in timeline["phases"]:
        got = phase["observed_5xx"]
        if phase["kind"] == "healthy":
            assert got == {}, phase["name"]
            continue
        assert set(phase["expected_status"]) <= set(got) <= set(
            phase["expected_status"]) | set(phase["possible_status"]), phase["name"]
    counted = sum(sum(p["observed_5xx"].values()) for p in timeline["phases"])
    assert counted == sum(n for c, n in count_statuses(ACCESS).items() if c.startswith("5"))


def test_error_and_app_logs_hold_each_phase_lines(timeline):
    errors = ERROR.read_text()
    app = APP.read_text()
    for phase in incident_phases(timeline):
        for text in phase["error_log"]:
            assert text in errors, (phase["name"], text)
        for text in phase["app_log"]:
            assert text in app, (phase["name"], text)
        assert all(phase["observed_error_log"].values()), phase["name"]
        assert all(phase["observed_app_log"].values()), phase["name"]


def test_app_log_is_in_time_order_with_whole_tracebacks():
    times, records, current = [], [], None
    for line in APP.read_text().splitlines():
        m = APP_RECORD.match(line)
        if m:
            times.append(m.group(1))
            current = [line]
            records.append(current)
        else:
            assert current is not None, line
            current.append(line)
    assert times == sorted(times)
    errors = [r for r in records if " ERROR " in r[0]]
    assert errors
    for rec in errors:
        # Each traceback is whole: it starts right after its record's first line and ends
        # with the exception line, before the next record.
        assert rec[1] == "Traceback (most recent call last):", rec[:3]
        assert re.match(r"^(KeyError|sqlalchemy\.exc\.TimeoutError): ", rec[-1]), rec[-3:]


# -- faultline's report ----------------------------------------------------------------------

def test_report_matches_schema(report, validate):
    validate(report)
    assert report["version"] == 1


def test_inputs_are_detected(report):
    access = input_named(report, "access.log")
    assert access["kind"] == "access"
    assert access["format"] == "nginx"
    lines = len(ACCESS.read_bytes().splitlines())
    assert access["lines"] == lines
    assert access["parsed"] == lines, access
    assert access["malformed"] == 0, access
    assert "error" not in access

    error = input_named(report, "error.log")
    assert error["kind"] == "error"
    assert error["lines"] == len(ERROR.read_bytes().splitlines())
    assert error["malformed"] == 0, error

    app = input_named(report, "app.log")
    assert app["kind"] == "app"
    assert app["lines"] == len(APP.read_bytes().splitlines())


def test_totals_equal_a_regex_count(report):
    expected = count_statuses(ACCESS)
    totals = report["totals"]
    assert totals["by_status"] == expected
    assert totals["requests"] == sum(expected.values()) == len(ACCESS.read_bytes().splitlines())
    assert totals["by_class"] == by_class(expected)
    five = sum(n for code, n in expected.items() if code.startswith("5"))
    assert totals["server_error_rate"] == pytest.approx(five / totals["requests"], rel=1e-3)


def test_window_spans_the_log(report):
    first = ACCESS.read_text().splitlines()[0]
    last = ACCESS.read_text().splitlines()[-1]
    stamp = re.compile(r"\[(\d{2})/(\w{3})/(\d{4}):(\d{2}:\d{2}:\d{2}) ([+-]\d{4})\]")

    def epoch(line):
        return dt.datetime.strptime(" ".join(stamp.search(line).groups()),
                                    "%d %b %Y %H:%M:%S %z").timestamp()

    assert ts(report["window"]["start"]) <= epoch(first)
    assert ts(report["window"]["end"]) >= epoch(last)


@pytest.mark.parametrize("name", by_name(NAMES, {}, ""))
def test_incident(report, timeline, name):
    check_phase_has_incident(report, phase_named(timeline, name))


@pytest.mark.parametrize("name", scenario_params(PROXY, NAMES, WRONG_NOW))
def test_cause(report, timeline, name):
    check_phase_cause(report, timeline, phase_named(timeline, name))


@pytest.mark.parametrize("name", by_name(NAMES, {}, ""))
def test_scope(report, timeline, name):
    check_phase_scope(report, timeline, phase_named(timeline, name))


def test_no_incident_outside_the_phases(report, timeline):
    check_no_stray_incidents(report, timeline)


def test_incident_ids_and_order(report):
    check_incident_basics(report)


def test_incident_state_follows_the_closing_rule(report, timeline):
    # A bad second looks back 10 s, and an incident closes after 10 s without one (its
    # scopes here see 20 good responses well within 10 s). So an incident whose last 5xx is
    # more than ~20 s before the end of the input is resolved, and one whose last 5xx is
    # less than 10 s before it (none here: the tail is 20 s) is still open.
    end = ts(report["window"]["end"])
    for phase in incident_phases(timeline):
        for inc in phase_incidents(report, phase):
            quiet = end - ts(inc["end"])
            if quiet > 23:
                assert inc["state"] == "resolved", (quiet, incidents_text(report))
            elif quiet < 10:
                assert inc["state"] == "open", (quiet, incidents_text(report))


# The error-log lines joined to an incident are cited by file and line, with their signature.
@pytest.mark.parametrize("name", by_name(ERROR_LOG_PHASES, NO_ERROR_LOG_EVIDENCE_NOW,
                                         "no error.log evidence yet"))
def test_evidence_cites_the_error_log(report, timeline, name):
    phase = phase_named(timeline, name)
    inc = phase_incident(report, phase)
    lines = ERROR.read_text().splitlines()
    cited = [ev for ev in inc["diagnosis"]["evidence"] if Path(ev["source"]).name == "error.log"]
    assert cited, f"no error.log evidence in {inc['diagnosis']}"
    assert any(text in lines[ev["line"] - 1] for ev in cited for text in phase["error_log"]
               if 1 <= ev["line"] <= len(lines)), cited
    assert all(ev["signature"] for ev in cited), cited
    check_evidence_points_at_lines(report, LOGS)


# The application's tracebacks are cited from app.log (the proxy logged nothing for them).
@pytest.mark.parametrize("name", by_name(APP_LOG_PHASES, NO_APP_LOG_EVIDENCE_NOW,
                                         "no app.log evidence yet"))
def test_evidence_cites_the_app_log(report, timeline, name):
    phase = phase_named(timeline, name)
    inc = phase_incident(report, phase)
    lines = APP.read_text().splitlines()
    cited = [ev for ev in inc["diagnosis"]["evidence"] if Path(ev["source"]).name == "app.log"]
    assert cited, f"no app.log evidence in {inc['diagnosis']}"
    for ev in cited:
        assert 1 <= ev["line"] <= len(lines), ev
    check_evidence_points_at_lines(report, LOGS)
    assert not [ev for ev in inc["diagnosis"]["evidence"]
                if Path(ev["source"]).name == "error.log"], inc["diagnosis"]["evidence"]


def test_fail_on_incident_exits_1(faultline):
    proc = faultline.run("analyze", "--output", "json", "--fail-on", "incident", *LOGS)
    assert proc.returncode == 1, proc.stderr.decode(errors="replace")
    assert json.loads(proc.stdout)["incidents"], "the report is still printed"


def test_fail_on_incident_exits_0_on_the_healthy_warmup(faultline, timeline, tmp_path):
    warmup = phase_named(timeline, "warmup")
    stamp = re.compile(rb"\[([^\]]+)\]")
    healthy = []
    for line in ACCESS.read_bytes().splitlines(keepends=True):
        t = dt.datetime.strptime(stamp.search(line).group(1).decode(), "%d/%b/%Y:%H:%M:%S %z")
        if t.timestamp() < warmup["end"] - 1:
            healthy.append(line)
    assert len(healthy) > 100
    path = tmp_path / "access.log"
    path.write_bytes(b"".join(healthy))
    proc = faultline.run("analyze", "--output", "json", "--fail-on", "incident", path)
    assert proc.returncode == 0, proc.stdout.decode(errors="replace")[:3000]
    assert json.loads(proc.stdout)["incidents"] == []


def test_output_file_equals_stdout(faultline, report, tmp_path):
    out = tmp_path / "report.json"
    proc = faultline.run("analyze", "--output", "json", "-o", out, *LOGS)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    doc = json.loads(out.read_text())
    for d in (doc, report):
        d.pop("generated_at")
    assert doc == report


def test_terminal_output_names_each_cause_without_escape_codes(faultline, report):
    proc = faultline.run("analyze", "--output", "terminal", *LOGS,
                         env={"NO_COLOR": "1", "TERM": "xterm-256color"})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert b"\x1b" not in proc.stdout, "escape codes in output that is not a terminal"
    text = proc.stdout.decode()
    for inc in report["incidents"]:
        cause = inc["diagnosis"]["cause"]
        spelled = {cause, cause.replace("_", " "), cause.replace("_", "-")}
        assert any(s in text for s in spelled), f"terminal output does not mention {cause}"
