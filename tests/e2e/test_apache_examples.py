"""The committed Apache example (real Apache httpd output, examples/apache/) analysed as a user
would: with the LogFormat of its config passed as --log-format, and the error and application
logs beside the access log.

The same backends, traffic and faults as examples/nginx (less rate_limit_burst: Apache has
no request rate limit), behind mod_proxy_balancer; Apache answers them differently (503
when the connection is refused, 502 when the read timeout fires, 500 when TLS to the
backend fails), and the causes must come out the same. Each scenario has its own tests
(ids `apache-<scenario>`); checks that faultline does not pass yet are strict xfails
(WRONG_NOW, NO_EVIDENCE_NOW), so that a fix shows as XPASS and its entry is removed.
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

PROXY = "apache"
ACCESS = APACHE_EXAMPLES / "access.log"
ERROR = APACHE_EXAMPLES / "error.log"
APP = APACHE_EXAMPLES / "app.log"
LOGS = [ACCESS, ERROR, APP]
with open(APACHE_EXAMPLES / "timeline.json") as _f:
    TIMELINE = json.load(_f)
NAMES = [p["name"] for p in incident_phases(TIMELINE)]
ERROR_LOG_PHASES = [p["name"] for p in incident_phases(TIMELINE) if p["error_log"]]
APP_LOG_PHASES = [p["name"] for p in incident_phases(TIMELINE) if p["app_log"]]

# Scenarios whose cause faultline gets wrong on these logs today, with what it says instead.
WRONG_NOW = {}
# Scenarios whose incident does not cite the proxy's / the application's lines yet.
NO_ERROR_LOG_EVIDENCE_NOW = {}
NO_APP_LOG_EVIDENCE_NOW = {}

# %h %l %u [%t] "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D "%{BALANCER_WORKER_NAME}e" "%{Host}i"
LINE_RE = re.compile(
    rb'^\S+ \S+ \S+ \[([^\]]+)\] "(?:[^"\\]|\\.)*" (\d{3}) \S+ "(?:[^"\\]|\\.)*" '
    rb'"(?:[^"\\]|\\.)*" (\d+) "([^"]*)" "([^"]*)"$')


def by_name(names, wrong, reason):
    return [pytest.param(n, id=f"{PROXY}-{n}",
                         marks=pytest.mark.xfail(strict=True, reason=f"{reason}: {wrong[n]}")
                         if n in wrong else ()) for n in names]


@pytest.fixture(scope="module")
def timeline():
    return TIMELINE


@pytest.fixture(scope="module")
def report(faultline):
    doc, _ = faultline.analyze_json(*LOGS, extra=("--log-format", APACHE_LOG_FORMAT))
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


def in_phase(t, phase, grace=6.0):
    """%t (one-second resolution, the time a request came in) falls in the phase, or within
    `grace` after it (a pool whose members all failed stays out for retry=5 s)."""
    return t + 1 > phase["start"] and t < phase["end"] + grace


# -- the committed logs are what the README and timeline.json say (no parser involved) -----

def test_timeline_plays_every_scenario_apache_can(timeline):
    assert timeline["mode"] == "full"
    assert [(p["name"], p["expected_cause"]) for p in incident_phases(timeline)] == \
        scenarios_of(PROXY)
    assert [s["name"] for s in timeline["skipped"]] == ["rate_limit_burst"]


def test_each_phase_shows_what_apache_answered(timeline):
    lines = access_lines()
    fives = [x for x in lines if x[1].startswith("5")]
    phases = {p["name"]: p for p in incident_phases(timeline)}
    assert {n: p["expected_status"] for n, p in phases.items()} == {
        "backend_killed": ["503"], "pool_down": ["503"], "backend_hangs": ["502"],
        "oversized_header": ["502"], "app_exception": ["500"], "maintenance": ["503"],
        "db_pool_exhausted": ["500"], "connection_reset": ["502"], "tls_expired": ["500"]}
    for phase in phases.values():
        got = [x for x in fives if in_phase(x[0], phase)]
        codes = {x[1] for x in got}
        assert set(phase["expected_status"]) <= codes <= set(phase["expected_status"]) | set(
            phase["possible_status"]), (phase["name"], codes)
        workers = {x[3] for x in got} - {"-"}
        assert {w.split("://", 1)[1] for w in workers} <= set(phase["upstreams"]), phase["name"]
        assert {x[4] for x in got} == set(phase["hosts"]), phase["name"]
        assert sum(phase["observed_5xx"].values()) == len(got), phase["name"]
    # Every 5xx of the log belongs to one of the scripted phases.
    assert len(fives) == sum(sum(p["observed_5xx"].values()) for p in phases.values())

    def durations(name, code):
        return [x[2] for x in fives if x[1] == code and in_phase(x[0], phases[name])]

    assert max(durations("backend_killed", "503")) < 0.05, "a refused connection fails at once"
    assert all(1.99 <= d < 2.2 for d in durations("backend_hangs", "502")), \
        "ProxyTimeout 2 fires after 2 s"
    assert max(durations("app_exception", "500")) < 0.5, "the application fails fast"
    assert all(0.19 <= d < 0.5 for d in durations("db_pool_exhausted", "500")), \
        "the QueuePool gives up after its 0.2 s timeout"
    # The proxy answered maintenance itself: no balancer member.
    assert {x[3] for x in fives if in_phase(x[0], phases["maintenance"])} == {"-"}


def test_error_log_holds_each_phase_lines(timeline):
    errors = ERROR.read_text()
    for phase in incident_phases(timeline):
        for text in phase["error_log"]:
            assert text in errors, (phase["name"], text)
        assert all(phase["observed_error_log"].values()), phase["name"]
        assert all(phase["observed_app_log"].values()), phase["name"]
    assert phase_named(timeline, "app_exception")["error_log"] == []
    assert phase_named(timeline, "maintenance")["error_log"] == []
    # mod_ssl as a client: no warning about its build or a missing session cache.
    assert "AH01882" not in errors and "AH01873" not in errors


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
    app = input_named(report, "app.log")
    assert app["kind"] == "app"
    assert app["lines"] == len(APP.read_bytes().splitlines())


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
    # %D gives latencies: the search route holds the 2 s timeouts of backend_hangs.
    search = [r for r in report["top"]["routes"] if r["route"].startswith("/api/search")]
    assert search, report["top"]["routes"]
    assert search[0]["p99_ms"] is not None and search[0]["p99_ms"] >= 1900, search


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
    # A bad second looks back 10 s, and an incident closes after 10 s without one. So an
    # incident whose last 5xx is more than ~20 s before the end of the input is resolved,
    # and one whose last 5xx is less than 10 s before it is still open.
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


def test_evidence_points_at_real_lines(report):
    for inc in report["incidents"]:
        assert inc["diagnosis"]["evidence"], incidents_text(report)
    check_evidence_points_at_lines(report, LOGS)


def test_terminal_output_names_each_cause(faultline, report):
    proc = faultline.run("analyze", "--output", "terminal", "--log-format", APACHE_LOG_FORMAT,
                         *LOGS, env={"NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    text = proc.stdout.decode()
    for inc in report["incidents"]:
        cause = inc["diagnosis"]["cause"]
        spelled = {cause, cause.replace("_", " "), cause.replace("_", "-")}
        assert any(s in text for s in spelled), f"terminal output does not mention {cause}"
    assert Path(ACCESS).name in text
