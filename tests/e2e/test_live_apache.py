"""Real Apache httpd, started by the test: generate fresh logs with the fault timeline,
analyse them.

Runs examples/apache/generate.sh --quick (about 4.5 minutes: eleven Python backends, one
of them HTTPS, Apache with mod_proxy_balancer, mod_ssl and mod_rewrite from a private
directory, scripted traffic through nine fault scenarios: Apache has no request rate
limit, so the nginx example's rate_limit_burst is skipped), then `faultline analyze`
with the example's LogFormat over the access, error and application logs. Under CI=true
a missing Apache fails the test.

Each scenario has its own tests: an incident covers its window (test_incident), the
incident names the contract cause (test_cause), its scope is the scenario's
(test_scope). Cause checks that faultline does not pass yet are strict xfails listed in
WRONG_NOW, so that a fix shows as XPASS and its entry is removed.
"""

import os
import re
import socket

import pytest

from helpers import (
    APACHE_EXAMPLES,
    APACHE_LOG_FORMAT,
    APACHE_STATUS_RE,
    check_incident_basics,
    check_no_stray_incidents,
    check_phase_cause,
    check_phase_has_incident,
    check_phase_scope,
    count_statuses,
    incident_phases,
    input_named,
    phase_named,
    run_generator,
    scenario_params,
    scenarios_of,
)

PROXY = "apache"
SCENARIOS = scenarios_of(PROXY)
NAMES = [name for name, _ in SCENARIOS]

# Scenarios whose cause faultline gets wrong today, with what it says instead.
WRONG_NOW = {}


@pytest.fixture(scope="module")
def live(apache_bin, tmp_path_factory):
    out = tmp_path_factory.mktemp("live-apache")
    timeline = run_generator(APACHE_EXAMPLES / "generate.sh", out,
                             dict(os.environ, APACHE=apache_bin))
    return out, timeline


@pytest.fixture(scope="module")
def live_report(faultline, live):
    out, _ = live
    doc, _ = faultline.analyze_json(out / "access.log", out / "error.log", out / "app.log",
                                    extra=("--log-format", APACHE_LOG_FORMAT))
    return doc


def _listening(addr):
    host, port = addr.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def test_generator_leaves_nothing_running(live):
    _, timeline = live
    addrs = [timeline["apache"]] + [b["addr"] for b in timeline["backends"].values()]
    assert not [a for a in addrs if _listening(a)], "processes of generate.sh still listen"


def test_timeline_plays_every_scenario_apache_can(live):
    _, timeline = live
    assert [(p["name"], p["expected_cause"]) for p in incident_phases(timeline)] == SCENARIOS
    assert [s["name"] for s in timeline["skipped"]] == ["rate_limit_burst"]
    assert "rate limit" in timeline["skipped"][0]["why"]


def test_live_logs_are_real_apache_output(live):
    out, timeline = live
    errors = (out / "error.log").read_text()
    assert re.search(r"\(111\)Connection refused: AH00957: http: attempt to connect to "
                     r"127\.0\.0\.1:\d+", errors)
    assert re.search(r"\(70007\)The timeout specified has expired: .*AH01102: error reading "
                     r"status line from remote server", errors)
    assert re.search(r"\[ssl:error\] .*AH02039: Certificate Verification: Error \(10\): "
                     r"certificate has expired", errors)
    for phase in incident_phases(timeline):
        for text in phase["error_log"]:
            assert text in errors, (phase["name"], text)
        assert all(phase["observed_error_log"].values()), phase
        assert all(phase["observed_app_log"].values()), phase
        # What Apache answered in each phase (generate.sh counts it into timeline.json).
        expected, possible = set(phase["expected_status"]), set(phase["possible_status"])
        assert expected <= set(phase["observed_5xx"]) <= expected | possible, phase
    assert {p["name"]: p["expected_status"] for p in incident_phases(timeline)} == {
        "backend_killed": ["503"], "pool_down": ["503"], "backend_hangs": ["502"],
        "oversized_header": ["502"], "app_exception": ["500"], "maintenance": ["503"],
        "db_pool_exhausted": ["500"], "connection_reset": ["502"], "tls_expired": ["500"]}
    assert count_statuses(out / "access.log", APACHE_STATUS_RE).keys() >= {
        "200", "500", "502", "503"}


def test_live_report(live, live_report, validate):
    out, _ = live
    validate(live_report)
    access = input_named(live_report, "access.log")
    assert (access["kind"], access["format"], access["malformed"]) == ("access", "apache", 0)
    assert input_named(live_report, "error.log")["kind"] == "error"
    assert input_named(live_report, "app.log")["kind"] == "app"
    assert live_report["totals"]["by_status"] == count_statuses(out / "access.log",
                                                                APACHE_STATUS_RE)


@pytest.mark.parametrize("name", [pytest.param(n, id=f"{PROXY}-{n}") for n in NAMES])
def test_incident(live, live_report, name):
    _, timeline = live
    check_phase_has_incident(live_report, phase_named(timeline, name))


@pytest.mark.parametrize("name", scenario_params(PROXY, NAMES, WRONG_NOW))
def test_cause(live, live_report, name):
    _, timeline = live
    check_phase_cause(live_report, timeline, phase_named(timeline, name))


@pytest.mark.parametrize("name", [pytest.param(n, id=f"{PROXY}-{n}") for n in NAMES])
def test_scope(live, live_report, name):
    _, timeline = live
    check_phase_scope(live_report, timeline, phase_named(timeline, name))


def test_no_incident_in_the_healthy_stretches(live, live_report):
    _, timeline = live
    check_no_stray_incidents(live_report, timeline)
    check_incident_basics(live_report)
