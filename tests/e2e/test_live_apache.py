"""Real Apache httpd, started by the test: generate fresh logs with the incident timeline,
analyse them.

Runs examples/apache/generate.sh --quick (about 80 s: seven Python backends, Apache with
mod_proxy_balancer from a private directory, scripted traffic). Under CI=true a missing
Apache fails the test.
"""

import json
import os
import re
import socket
import subprocess

import pytest

from helpers import (
    APACHE_EXAMPLES,
    APACHE_LOG_FORMAT,
    APACHE_STATUS_RE,
    check_incident_basics,
    check_no_stray_incidents,
    check_phase_causes,
    check_phase_scopes,
    count_statuses,
    incident_phases,
    input_named,
)


@pytest.fixture(scope="module")
def live(apache_bin, tmp_path_factory):
    out = tmp_path_factory.mktemp("live-apache")
    env = dict(os.environ, APACHE=apache_bin)
    proc = subprocess.Popen(
        ["bash", str(APACHE_EXAMPLES / "generate.sh"), str(out), "--quick"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    try:
        stdout, stderr = proc.communicate(timeout=400)
    except subprocess.TimeoutExpired:
        proc.terminate()                      # its trap stops Apache and the backends
        stdout, stderr = proc.communicate(timeout=60)
        pytest.fail(f"generate.sh took over 400 s\n{stdout.decode(errors='replace')}"
                    f"\n{stderr.decode(errors='replace')}")
    assert proc.returncode == 0, (
        f"generate.sh failed ({proc.returncode})\n--- stdout ---\n"
        f"{stdout.decode(errors='replace')}\n--- stderr ---\n"
        f"{stderr.decode(errors='replace')}")
    with open(out / "timeline.json") as f:
        timeline = json.load(f)
    return out, timeline


@pytest.fixture(scope="module")
def live_report(faultline, live):
    out, _ = live
    doc, _ = faultline.analyze_json(out / "access.log", out / "error.log",
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


def test_live_logs_are_real_apache_output(live):
    out, timeline = live
    errors = (out / "error.log").read_text()
    assert re.search(r"\(111\)Connection refused: AH00957: http: attempt to connect to "
                     r"127\.0\.0\.1:\d+", errors)
    assert re.search(r"\(70007\)The timeout specified has expired: .*AH01102: error reading "
                     r"status line from remote server", errors)
    assert count_statuses(out / "access.log", APACHE_STATUS_RE).keys() >= {
        "200", "500", "502", "503"}
    # What Apache answered in each phase (generate.sh counts it into timeline.json).
    for phase in incident_phases(timeline):
        assert set(phase["observed_5xx"]) == set(phase["expected_status"]), phase
    assert [p["expected_status"] for p in incident_phases(timeline)] == [
        ["503"], ["502"], ["500"]]


def test_live_report(live, live_report, validate):
    out, _ = live
    validate(live_report)
    access = input_named(live_report, "access.log")
    assert (access["kind"], access["format"], access["malformed"]) == ("access", "apache", 0)
    assert input_named(live_report, "error.log")["kind"] == "error"
    assert live_report["totals"]["by_status"] == count_statuses(out / "access.log",
                                                                APACHE_STATUS_RE)


@pytest.mark.parametrize("phase_name, cause", [
    ("A", "upstream_down"), ("B", "upstream_timeout"), ("C", "app_error")])
def test_live_phase_maps_to_its_cause(live, live_report, phase_name, cause):
    _, timeline = live
    phase = next(p for p in timeline["phases"] if p["name"] == phase_name)
    assert phase["expected_cause"] == cause
    check_phase_causes(live_report, {"phases": [phase]})


def test_live_no_other_incidents(live, live_report):
    _, timeline = live
    check_no_stray_incidents(live_report, timeline)
    check_incident_basics(live_report)


def test_live_phase_scopes(live, live_report):
    _, timeline = live
    check_phase_scopes(live_report, timeline)
