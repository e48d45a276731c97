"""Real nginx, started by the test: generate fresh logs with the fault timeline, analyse them.

Runs examples/nginx/generate.sh --quick (about 5 minutes: eleven Python backends, one of
them HTTPS, nginx in a private prefix, scripted traffic through ten fault scenarios), then
`faultline analyze` over the access, error and application logs. Under CI=true a missing
nginx fails the test.

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
    EXAMPLES,
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

PROXY = "nginx"
SCENARIOS = scenarios_of(PROXY)
NAMES = [name for name, _ in SCENARIOS]

# Scenarios whose cause faultline gets wrong today, with what it says instead.
WRONG_NOW = {}


@pytest.fixture(scope="module")
def live(nginx_bin, tmp_path_factory):
    out = tmp_path_factory.mktemp("live-nginx")
    timeline = run_generator(EXAMPLES / "generate.sh", out, dict(os.environ, NGINX=nginx_bin))
    return out, timeline


@pytest.fixture(scope="module")
def live_report(faultline, live):
    out, _ = live
    doc, _ = faultline.analyze_json(out / "access.log", out / "error.log", out / "app.log")
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
    addrs = [timeline["nginx"]] + [b["addr"] for b in timeline["backends"].values()]
    assert not [a for a in addrs if _listening(a)], "processes of generate.sh still listen"


def test_timeline_plays_every_scenario(live):
    _, timeline = live
    assert [(p["name"], p["expected_cause"]) for p in incident_phases(timeline)] == SCENARIOS
    assert timeline["skipped"] == []
    # Quiet healthy traffic between the incident phases.
    phases = timeline["phases"]
    for before, after in zip(phases, phases[1:]):
        if before["kind"] == after["kind"] == "incident":
            pytest.fail(f"{before['name']} and {after['name']} have no quiet phase between them")
        if before["kind"] == "healthy" and after["kind"] == "incident" and before["name"] != "warmup":
            assert before["end"] - before["start"] >= 14.9, before


def test_live_logs_are_real_nginx_output(live):
    out, timeline = live
    errors = (out / "error.log").read_text()
    for phase in incident_phases(timeline):
        for text in phase["error_log"]:
            assert text in errors, (phase["name"], text)
        # generate.sh counted them inside the phase's window.
        assert all(phase["observed_error_log"].values()), phase
        assert all(phase["observed_app_log"].values()), phase
        expected, possible = set(phase["expected_status"]), set(phase["possible_status"])
        assert expected <= set(phase["observed_5xx"]) <= expected | possible, phase
    assert count_statuses(out / "access.log").keys() >= {"200", "500", "502", "503", "504"}
    app = (out / "app.log").read_text()
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \+0000 ERROR \[users-\d\] ", app, re.M)
    assert "sqlalchemy.exc.TimeoutError: QueuePool limit of size 1 overflow 0 reached" in app


def test_live_report(live, live_report, validate):
    out, _ = live
    validate(live_report)
    access = input_named(live_report, "access.log")
    assert (access["kind"], access["format"], access["malformed"]) == ("access", "nginx", 0)
    assert input_named(live_report, "error.log")["kind"] == "error"
    assert input_named(live_report, "app.log")["kind"] == "app"
    assert live_report["totals"]["by_status"] == count_statuses(out / "access.log")


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
