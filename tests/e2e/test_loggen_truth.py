"""Counts and incidents against the ground truth of the project's log generator (tools/loggen).

loggen writes 200 000 nginx access-log lines, the matching error log and a truth file of
what it injected; faultline must count every status exactly and find the injected
incidents, from the plain files and from gzip-compressed ones alike.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from helpers import REPO, describe, incident_line, incidents_text, ts

LINES = 200_000
MANIFEST = REPO / "tools" / "loggen" / "Cargo.toml"

# The default schedule's incidents that faultline must diagnose, and the causes it may name
# (loggen's kinds mapped to the contract's causes).
EXPECTED = {
    "INC-2": ("upstream_refused", {"upstream_down"}),
    "INC-3": ("upstream_timeout", {"upstream_timeout"}),
    "INC-4": ("overload", {"overload", "rate_limited"}),
    "INC-5": ("deploy_500", {"app_error"}),
}
# Failed attempts that retries hid from clients: a finding, not an incident.
DEGRADED = {"INC-1": "upstream_partial"}


@pytest.fixture(scope="session")
def loggen():
    """The loggen binary: LOGGEN_BIN if set, else built once from tools/loggen."""
    if os.environ.get("LOGGEN_BIN"):
        path = Path(os.environ["LOGGEN_BIN"])
        assert path.is_file(), f"LOGGEN_BIN={path} does not exist"
        return path
    target = REPO / "tools" / "loggen" / "target"
    proc = subprocess.run(
        ["cargo", "build", "--release", "--locked", "--manifest-path", str(MANIFEST),
         "--target-dir", str(target)],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=1800,
    )
    assert proc.returncode == 0, describe(proc, "building tools/loggen failed")
    return target / "release" / "loggen"


@pytest.fixture(scope="session")
def generated(loggen, tmp_path_factory):
    """{'plain': (access, error, truth), 'gz': (...)} from the same seed."""
    out = tmp_path_factory.mktemp("loggen")
    sets = {}
    for name, suffix in (("plain", ".log"), ("gz", ".log.gz")):
        access = out / f"access-{name}{suffix}"
        error = out / f"error-{name}{suffix}"
        truth = out / f"truth-{name}.json"
        proc = subprocess.run(
            [str(loggen), "-n", str(LINES), "-o", str(access), "--error-log", str(error),
             "--truth", str(truth), "-q"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=600,
        )
        assert proc.returncode == 0, describe(proc, "loggen failed")
        with open(truth) as f:
            sets[name] = (access, error, json.load(f))
    return sets


@pytest.fixture(scope="session")
def reports(faultline, generated):
    out = {}
    for name, (access, error, _) in generated.items():
        doc, _ = faultline.analyze_json(access, error)
        out[name] = doc
    return out


@pytest.mark.parametrize("variant", ["plain", "gz"])
def test_status_counts_equal_the_truth(reports, generated, variant, validate):
    truth = generated[variant][2]
    doc = reports[variant]
    validate(doc)
    expected = {code: n for code, n in truth["stats"]["status"].items() if n}
    assert doc["totals"]["by_status"] == expected
    assert doc["totals"]["requests"] == LINES == sum(expected.values())
    five = truth["stats"]["status_5xx_total"]
    assert sum(n for c, n in doc["totals"]["by_status"].items() if c[0] == "5") == five


@pytest.mark.parametrize("variant", ["plain", "gz"])
def test_every_line_is_read(reports, variant):
    access = next(i for i in reports[variant]["inputs"] if i["kind"] == "access")
    assert access["lines"] == LINES
    assert access["parsed"] + access["malformed"] == LINES
    assert access["format"] == "nginx"


@pytest.mark.parametrize("variant", ["plain", "gz"])
@pytest.mark.parametrize("inc_id", sorted(EXPECTED))
def test_injected_incident_is_found_with_its_cause(reports, generated, variant, inc_id):
    kind, cause = EXPECTED[inc_id]
    truth = next(i for i in generated[variant][2]["incidents"] if i["id"] == inc_id)
    assert truth["kind"] == kind
    lo = min(truth["start_epoch"], ts(truth["first_affected"])) - 2
    hi = max(truth["end_epoch"], ts(truth["last_affected"])) + 2
    doc = reports[variant]
    overlapping = [i for i in doc["incidents"] if ts(i["start"]) <= hi and ts(i["end"]) >= lo]
    assert any(i["diagnosis"]["cause"] in cause for i in overlapping), (
        f"{inc_id} ({kind}, {truth['start']} .. {truth['end']}, scope {truth['scope']}) "
        f"should be reported as {cause}; overlapping:\n"
        + ("\n".join("  " + incident_line(i) for i in overlapping) or "  (none)")
        + f"\nall incidents:\n{incidents_text(doc)}")


def test_compression_does_not_change_the_analysis(reports):
    plain, gz = reports["plain"], reports["gz"]
    assert [i["id"] for i in gz["incidents"]] == [i["id"] for i in plain["incidents"]]
    assert gz["totals"] == plain["totals"]


@pytest.mark.parametrize("variant", ["plain", "gz"])
@pytest.mark.parametrize("inc_id", sorted(DEGRADED))
def test_hidden_failures_are_a_degraded_upstream_finding(reports, generated, variant, inc_id):
    truth = next(i for i in generated[variant][2]["incidents"] if i["id"] == inc_id)
    assert truth["kind"] == DEGRADED[inc_id]
    lo = min(truth["start_epoch"], ts(truth["first_affected"])) - 2
    hi = max(truth["end_epoch"], ts(truth["last_affected"])) + 2
    doc = reports[variant]
    found = [f for f in doc["findings"] if f["kind"] == "degraded_upstream"
             and ts(f["start"]) <= hi and ts(f["end"]) >= lo]
    assert found, f"no degraded_upstream finding in {truth['start']} .. {truth['end']}: {doc['findings']}"
    servers = set(truth["scope"]["servers"])
    assert any(set(f["scope"]["upstreams"]) & servers for f in found), found
    # The error log's refused connections are cited as evidence.
    assert any(e.get("signature") == "nginx.upstream.connect_refused"
               for f in found for e in f["evidence"]), found
