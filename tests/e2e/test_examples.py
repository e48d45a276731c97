"""The committed example (real nginx output, examples/nginx/) analysed as a user would."""

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
    check_phase_causes,
    check_phase_scopes,
    count_statuses,
    incident_phases,
    incidents_text,
    input_named,
    phase_incident,
    ts,
)

ACCESS = EXAMPLES / "access.log"
ERROR = EXAMPLES / "error.log"


@pytest.fixture(scope="module")
def timeline():
    with open(EXAMPLES / "timeline.json") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def report(faultline):
    doc, _ = faultline.analyze_json(ACCESS, ERROR)
    return doc


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
        import datetime as dt
        return dt.datetime.strptime(" ".join(stamp.search(line).groups()),
                                    "%d %b %Y %H:%M:%S %z").timestamp()

    assert ts(report["window"]["start"]) <= epoch(first)
    assert ts(report["window"]["end"]) >= epoch(last)


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
    # A bad second looks back 10 s, and an incident closes after 10 s without one (its
    # scopes here see 20 good responses well within 10 s). So an incident whose last 5xx is
    # more than ~20 s before the end of the input is resolved; one closer is still open:
    # C, followed by the 15 s healthy tail.
    end = ts(report["window"]["end"])
    for phase in incident_phases(timeline):
        inc = phase_incident(report, phase)
        quiet = end - ts(inc["end"])
        if quiet > 23:
            assert inc["state"] == "resolved", (quiet, incidents_text(report))
        elif quiet < 19:
            assert inc["state"] == "open", (quiet, incidents_text(report))


# The error-log lines joined to an incident are cited by file and line, with their signature.
@pytest.mark.parametrize("phase_name, needle", [
    ("A", "connect() failed (111: Connection refused)"),
    ("B", "upstream timed out (110: Connection timed out)"),
])
def test_evidence_cites_the_error_log(report, timeline, phase_name, needle):
    phase = next(p for p in timeline["phases"] if p["name"] == phase_name)
    inc = phase_incident(report, phase)
    lines = ERROR.read_text().splitlines()
    cited = [ev for ev in inc["diagnosis"]["evidence"] if Path(ev["source"]).name == "error.log"]
    assert cited, f"no error.log evidence in {inc['diagnosis']}"
    assert any(needle in lines[ev["line"] - 1] for ev in cited
               if 1 <= ev["line"] <= len(lines)), cited
    assert all(ev["signature"] for ev in cited), cited
    check_evidence_points_at_lines(report, [ACCESS, ERROR])


def test_application_errors_have_no_error_log_evidence(report, timeline):
    phase = next(p for p in timeline["phases"] if p["name"] == "C")
    inc = phase_incident(report, phase)
    assert not [ev for ev in inc["diagnosis"]["evidence"]
                if Path(ev["source"]).name == "error.log"], inc["diagnosis"]["evidence"]


def test_fail_on_incident_exits_1(faultline):
    proc = faultline.run("analyze", "--output", "json", "--fail-on", "incident", ACCESS, ERROR)
    assert proc.returncode == 1, proc.stderr.decode(errors="replace")
    assert json.loads(proc.stdout)["incidents"], "the report is still printed"


def test_fail_on_incident_exits_0_on_the_healthy_warmup(faultline, timeline, tmp_path):
    warmup = next(p for p in timeline["phases"] if p["name"] == "warmup")
    stamp = re.compile(rb"\[([^\]]+)\]")
    import datetime as dt
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
    proc = faultline.run("analyze", "--output", "json", "-o", out, ACCESS, ERROR)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    doc = json.loads(out.read_text())
    for d in (doc, report):
        d.pop("generated_at")
    assert doc == report


def test_terminal_output_names_each_cause_without_escape_codes(faultline, report):
    proc = faultline.run("analyze", "--output", "terminal", ACCESS, ERROR,
                         env={"NO_COLOR": "1", "TERM": "xterm-256color"})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert b"\x1b" not in proc.stdout, "escape codes in output that is not a terminal"
    text = proc.stdout.decode()
    for inc in report["incidents"]:
        cause = inc["diagnosis"]["cause"]
        spelled = {cause, cause.replace("_", " "), cause.replace("_", "-")}
        assert any(s in text for s in spelled), f"terminal output does not mention {cause}"

