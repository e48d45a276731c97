"""Real nginx, started by the test: generate fresh logs with the incident timeline, analyse them.

Runs examples/nginx/generate.sh --quick (about 75 s: seven Python backends, nginx in a
private prefix, scripted traffic). Under CI=true a missing nginx fails the test.
"""

import json
import os
import socket
import subprocess

import pytest

from helpers import (
    EXAMPLES,
    check_incident_basics,
    check_no_stray_incidents,
    check_phase_causes,
    check_phase_scopes,
    count_statuses,
    input_named,
)


@pytest.fixture(scope="module")
def live(nginx_bin, tmp_path_factory):
    out = tmp_path_factory.mktemp("live-nginx")
    env = dict(os.environ, NGINX=nginx_bin)
    proc = subprocess.Popen(
        ["bash", str(EXAMPLES / "generate.sh"), str(out), "--quick"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    try:
        stdout, stderr = proc.communicate(timeout=400)
    except subprocess.TimeoutExpired:
        proc.terminate()                      # its trap stops nginx and the backends
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
    doc, _ = faultline.analyze_json(out / "access.log", out / "error.log")
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


def test_live_logs_are_real_nginx_output(live):
    out, _ = live
    errors = (out / "error.log").read_text()
    assert "connect() failed (111: Connection refused) while connecting to upstream" in errors
    assert "upstream timed out (110: Connection timed out)" in errors
    assert count_statuses(out / "access.log").keys() >= {"200", "500", "502", "504"}


def test_live_report(live, live_report, validate):
    out, _ = live
    validate(live_report)
    access = input_named(live_report, "access.log")
    assert (access["kind"], access["format"], access["malformed"]) == ("access", "nginx", 0)
    assert input_named(live_report, "error.log")["kind"] == "error"
    assert live_report["totals"]["by_status"] == count_statuses(out / "access.log")


def test_live_phase_causes(live, live_report):
    _, timeline = live
    check_phase_causes(live_report, timeline)
    check_no_stray_incidents(live_report, timeline)
    check_incident_basics(live_report)


def test_live_phase_scopes(live, live_report):
    _, timeline = live
    check_phase_scopes(live_report, timeline)
