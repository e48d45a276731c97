"""`/metrics` as Prometheus users meet it: `promtool check metrics` (Debian's prometheus
package) accepts the exposition, the OpenMetrics one parses with `prometheus_client`'s strict
OpenMetrics parser, gauges of known labels stay at 0 rather than vanish, and a real
Prometheus scrapes a running `faultline serve` fed with the bundled example logs and answers
queries over what it scraped."""

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from helpers import EXAMPLES, REPO
from test_serve import Daemon, config, free_port


def need(name):
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed (CI installs Debian's prometheus package)")
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture
def daemon(faultline, tmp_path):
    logs = {n: tmp_path / n for n in ("access.log", "error.log")}
    for n, p in logs.items():
        p.write_bytes((EXAMPLES / n).read_bytes())
    cfg, port = config(tmp_path, [([str(logs["access.log"])], None),
                                  ([str(logs["error.log"])], "error")])
    d = Daemon(faultline, cfg, port)
    d.wait_ready()
    want = sum(1 for _ in open(logs["access.log"], "rb"))
    d.wait_for("every line counted", lambda: d.totals()["requests"] == want)
    yield d
    d.proc.kill()
    d.proc.wait()


def scrape(port, accept=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if accept:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.headers["content-type"], r.read().decode()


def test_promtool_accepts_the_exposition_and_counts_match_the_report(daemon):
    promtool = need("promtool")
    kind, text = scrape(daemon.port)
    assert kind.startswith("text/plain; version=0.0.4")
    check = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    totals = daemon.totals()
    for code, n in totals["by_status"].items():
        assert f'faultline_http_requests_total{{code="{int(code)}"}} {n}' in text, code
    assert "faultline_http_request_duration_seconds_bucket{route=" in text
    assert 'faultline_input_lines_read_total{input="' in text
    kind, om = scrape(daemon.port, "application/openmetrics-text; version=1.0.0")
    assert kind.startswith("application/openmetrics-text")
    assert om.endswith("# EOF\n")
    # promtool reads only the text format (it takes an OpenMetrics counter family, named
    # without `_total`, for a family without help): the next test parses OpenMetrics.


def test_the_openmetrics_exposition_parses_and_counts_match_the_text_one(daemon):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    _, om = scrape(daemon.port, "application/openmetrics-text; version=1.0.0")
    families = {f.name: f for f in text_string_to_metric_families(om)}
    assert families["faultline_http_requests"].type == "counter"
    assert families["faultline_http_request_duration_seconds"].type == "histogram"
    got = {s.labels["code"]: s.value for s in families["faultline_http_requests"].samples
           if s.name == "faultline_http_requests_total"}
    assert got == {str(int(c)): n for c, n in daemon.totals()["by_status"].items()}
    for name in ("faultline_open_incidents", "faultline_alerts", "faultline_commits",
                 "faultline_input_lines_read", "faultline_store_bytes"):
        assert name in families, name


def contract_causes():
    schema = json.loads((REPO / "schema" / "report-v1.schema.json").read_text())
    return schema["$defs"]["cause"]["enum"]


def gauge(text, name):
    """{labels as a tuple of pairs: value} of one family's samples in the text format."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) + 1:].rsplit("} ", 1)
            pairs = tuple(tuple(p.split("=", 1)) for p in labels.split('",'))
            out[tuple((k, v.strip('"')) for k, v in pairs)] = float(value)
    return out


def test_gauges_of_known_labels_are_0_rather_than_missing(daemon):
    """Every cause of the contract has an open-incidents series, and the configured rule
    (the default `incident`, severity `page`) a pending and a firing one, so that a series
    does not vanish when the last incident resolves (Prometheus would keep its last value
    for five minutes)."""
    daemon.wait_for("every incident resolved", lambda: (lambda inc: inc and all(
        i["state"] == "resolved" for i in inc))(daemon.get("/api/v1/incidents")["incidents"]))
    # The metrics follow the commits and the alerts the ticks: the next ones show all quiet.
    quiet = [(("state", s), ("alertname", "incident"), ("severity", "page"))
             for s in ("pending", "firing")]

    def all_zero():
        text = scrape(daemon.port)[1]
        values = list(gauge(text, "faultline_open_incidents").values())
        values += [gauge(text, "faultline_alerts").get(k) for k in quiet]
        return text if all(v == 0 for v in values) else None

    text = daemon.wait_for("no open incident and no alert in /metrics", all_zero)
    open_by_cause = gauge(text, "faultline_open_incidents")
    assert set(open_by_cause) == {(("cause", c),) for c in contract_causes()}, open_by_cause
    alerts = gauge(text, "faultline_alerts")
    assert all(alerts.get(k) == 0 for k in quiet), alerts


def test_a_real_prometheus_scrapes_it(daemon, tmp_path):
    prometheus = need("prometheus")
    port = free_port()
    (tmp_path / "prom.yml").write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n  - job_name: faultline\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{daemon.port}']\n")
    proc = subprocess.Popen(
        [prometheus, f"--config.file={tmp_path / 'prom.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "prom.err", "wb"))

    def query(q):
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                return json.load(r)["data"]["result"]
        except OSError:
            return []

    try:
        deadline = time.monotonic() + 40
        up = []
        while time.monotonic() < deadline:
            up = query('up{job="faultline"} == 1')
            got = query('sum(faultline_http_requests_total{code=~"5.."})')
            if up and got:
                break
            time.sleep(0.5)
        assert up, (tmp_path / "prom.err").read_text()[-2000:]
        fives = sum(n for c, n in daemon.totals()["by_status"].items() if c.startswith("5"))
        assert float(got[0]["value"][1]) == fives
        routes = query("count(faultline_route_requests_total)")
        assert float(routes[0]["value"][1]) >= 3
    finally:
        proc.terminate()
        proc.wait()


def test_5xx_by_code_of_one_host_match_the_log_in_the_series_top_and_metrics(daemon):
    """The per-host breakdown a user filters the dashboard by: what the access log holds
    for each host, code by code, in `/api/v1/series?host=`, `/api/v1/top?by=host` and
    `faultline_host_server_errors_total{host=,code=}`."""
    want = {}
    for line in (EXAMPLES / "access.log").read_bytes().splitlines():
        status = line.split(b'" ', 2)[1][:3].decode()  # after the request line
        host = line.rsplit(b'"', 2)[1].decode()
        if status.startswith("5"):
            want.setdefault(host, {}).setdefault(status, 0)
            want[host][status] += 1
    assert len(want) >= 2 and all(len(c) >= 2 for c in want.values()), want
    _, text = scrape(daemon.port)
    top = {r["name"]: r for r in daemon.get("/api/v1/top?by=host&limit=100")["items"]}
    for host, codes in want.items():
        series = daemon.get("/api/v1/series?" + urllib.parse.urlencode({"host": host}))
        got = {}
        for p in series["points"]:
            assert sum(p["by_code"].values()) == p["errors_5xx"], p
            for code, n in p["by_code"].items():
                got[code] = got.get(code, 0) + n
        assert got == codes, host
        assert top[host]["by_code"] == codes, host
        for code, n in codes.items():
            assert f'faultline_host_server_errors_total{{host="{host}",code="{code}"}} {n}' \
                in text, (host, code)
