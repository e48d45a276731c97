"""Alert rules and what mutes them, in the running daemon: ratios (of every 5xx or of some
codes), silent inputs, parse health and degraded upstreams raise alerts from what the
logs show; maintenance windows and inhibition keep them quiet. The traffic, the webhook
receiver and the config are those of test_alerts.py."""

import datetime as dt
import json
import re
import time

from helpers import EXAMPLES, STATUS_RE, phase_named
from test_alerts import (  # noqa: F401 (fixtures)
    MONTHS,
    ROUTE_NOW,
    access_line,
    firing,
    receivers,
    serve,
    traffic,
    webhook,
    write_config,
)
from test_serve import daemons  # noqa: F401 (fixture)


def test_a_maintenance_window_mutes_matching_alerts(
        faultline, tmp_path, traffic, receivers, daemons):
    hook = receivers()
    now = time.time()
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    cfg, port = write_config(tmp_path, webhook(hook.url) + ROUTE_NOW + f"""
[[maintenance]]
name = "db migration"
matchers = ['host="api.example.com"']
from = "{iso(now - 3600)}"
to = "{iso(now + 3600)}"
""")
    d = serve(faultline, cfg, port, daemons)
    traffic.start()
    time.sleep(3)
    traffic.planned_503s()
    got = d.wait_for("the alert muted by the window", lambda: [
        a for a in d.get("/api/v1/alerts")["alerts"]
        if a.get("muted") == {"by": "maintenance", "what": "db migration"}])
    # The diagnosis knows the 503s were planned.
    assert got[0]["labels"]["cause"] == "maintenance", got[0]
    inc = d.get(f"/api/v1/incidents/{got[0]['details']['incident']}")
    assert inc["diagnosis"]["cause"] == "maintenance"
    assert 'maintenance window "db migration"' in inc["diagnosis"]["reasons"][0]
    time.sleep(1)
    assert hook.payloads() == []


def test_a_weekly_maintenance_window_in_a_named_time_zone_mutes_matching_alerts(
        faultline, tmp_path, traffic, receivers, daemons):
    from zoneinfo import ZoneInfo

    # India is 5 h 30 ahead of UTC: a window read in the wrong zone would not be open now.
    zone = "Asia/Kolkata"
    began = dt.datetime.now(ZoneInfo(zone)) - dt.timedelta(minutes=30)
    hook = receivers()
    cfg, port = write_config(tmp_path, webhook(hook.url) + ROUTE_NOW + f"""
[[maintenance]]
name = "weekly deploy"
matchers = ['host="api.example.com"']
tz = "{zone}"
days = ["{began.strftime('%a').lower()}"]
start = "{began.strftime('%H:%M')}"
duration = "1h"
""")
    d = serve(faultline, cfg, port, daemons)
    traffic.start()
    time.sleep(3)
    traffic.burst()
    d.wait_for("the alert muted by the weekly window", lambda: [
        a for a in d.get("/api/v1/alerts")["alerts"]
        if a.get("muted") == {"by": "maintenance", "what": "weekly deploy"}])
    time.sleep(1)
    assert firing(hook.payloads()) == [], "inside the window: nobody paged"


def test_ratio_input_silence_and_inhibition_rules(
        faultline, tmp_path, traffic, receivers, daemons):
    hook = receivers()
    quiet = tmp_path / "quiet.log"
    quiet.write_text(access_line(int(time.time()), 200, "/"))
    # As with Alertmanager, a group_wait lets an inhibiting alert of another rule arrive
    # before the alerts it mutes are sent (rules become true in different ticks).
    route = ROUTE_NOW.replace('group_wait = "0s"', 'group_wait = "3s"')
    cfg, port = write_config(tmp_path, webhook(hook.url) + route + f"""
[[source]]
paths = ["{quiet}"]

[[rule]]
name = "incident"
on = "incident"

[[rule]]
name = "route-5xx-ratio"
on = "ratio"
by = "route"
threshold = 0.05
min_requests = 20
window = "1m"
severity = "warning"

[[rule]]
name = "log-silent"
on = "input_silent"
after = "3s"
inputs = ['input=~".*/quiet[.]log"']

[[inhibit]]
source = ['alertname="incident"']
target = ['alertname="route-5xx-ratio"']
equal = ["route"]
""")
    d = serve(faultline, cfg, port, daemons)
    traffic.start()
    # A log that stops being written is noticed.
    silent = hook.wait("the silent input", lambda ps: [
        a for p in firing(ps) for a in p["alerts"] if a["labels"]["alertname"] == "log-silent"],
        daemon=d)
    assert silent[0]["labels"]["input"] == str(quiet)
    assert "no new line" in silent[0]["annotations"]["summary"]
    time.sleep(1)
    traffic.burst()
    # The ratio rule fires too, but the incident of the same route inhibits it.
    ratio = d.wait_for("the ratio alert", lambda: [
        a for a in d.get("/api/v1/alerts")["alerts"]
        if a["labels"]["alertname"] == "route-5xx-ratio" and a.get("muted")], timeout=40)
    assert ratio[0]["labels"]["route"] == "/api/orders/{id}"
    assert ratio[0]["muted"]["by"] == "inhibited"
    assert "5xx ratio" in ratio[0]["details"]["summary"]
    names = lambda ps: [a["labels"]["alertname"] for p in firing(ps) for a in p["alerts"]]
    hook.wait("the incident page", lambda ps: "incident" in names(ps), daemon=d)
    assert "route-5xx-ratio" not in names(hook.payloads())


def test_a_log_whose_format_changes_raises_parse_health(
        faultline, tmp_path, traffic, receivers, daemons):
    hook = receivers()
    cfg, port = write_config(tmp_path, webhook(hook.url) + ROUTE_NOW + """
[[rule]]
name = "format-changed"
on = "parse_health"
threshold = 0.2
min_lines = 50
window = "1m"
""")
    d = serve(faultline, cfg, port, daemons)
    traffic.start()
    time.sleep(2)
    # Someone switched the log format: lines that no longer parse.
    with open(traffic.access, "a") as f:
        f.write("".join(f"{time.time():.3f} GET /api/items/{i} 200 0.020\n" for i in range(300)))
    got = hook.wait("the parse-health page", lambda ps: [
        a for p in firing(ps) for a in p["alerts"]
        if a["labels"]["alertname"] == "format-changed"], daemon=d)
    assert got[0]["labels"]["input"] == str(traffic.access)
    assert "could not be parsed" in got[0]["annotations"]["summary"]


ACCESS_TIME = re.compile(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d) \+0000\]")
ERROR_TIME = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) ")


def replay_example_phase(name, access, error):
    """Appends the lines nginx wrote during a scenario of examples/nginx (from 5 s before it
    to its last 5xx), moved in time so that the last 5xx is now: real lines, fresh enough
    to page. Returns the phase."""
    timeline = json.loads((EXAMPLES / "timeline.json").read_text())
    phase = phase_named(timeline, name)
    utc = dt.timezone.utc

    def access_time(line):
        m = ACCESS_TIME.search(line)
        return m and dt.datetime.strptime(m[1], "%d/%b/%Y:%H:%M:%S").replace(tzinfo=utc)

    def error_time(line):
        m = ERROR_TIME.match(line)
        return m and dt.datetime.strptime(m[1], "%Y/%m/%d %H:%M:%S").replace(tzinfo=utc)

    start = dt.datetime.fromtimestamp(phase["start"] - 5, utc)
    end = dt.datetime.fromtimestamp(phase["end"], utc)
    lines = [(access_time(l), l) for l in (EXAMPLES / "access.log").read_text().splitlines(True)]
    lines = [(t, l) for t, l in lines if t and start <= t <= end]
    last = max(t for t, l in lines if STATUS_RE.match(l.encode())[1].startswith(b"5"))
    shift = dt.datetime.now(utc).replace(microsecond=0) - last
    errors = [(error_time(l), l) for l in (EXAMPLES / "error.log").read_text().splitlines(True)]
    with open(error, "a") as f:
        f.writelines(ERROR_TIME.sub((t + shift).strftime("%Y/%m/%d %H:%M:%S "), l, count=1)
                     for t, l in errors if t and start <= t <= last)
    with open(access, "a") as f:
        f.writelines(ACCESS_TIME.sub((t + shift).strftime("[%d/%b/%Y:%H:%M:%S +0000]"), l, count=1)
                     for t, l in lines if t <= last)
    return phase


def test_a_tls_failure_incident_inhibits_the_502_ratio_of_its_upstream(
        faultline, tmp_path, traffic, receivers, daemons):
    hook = receivers()
    route = ROUTE_NOW.replace('group_wait = "0s"', 'group_wait = "3s"')
    cfg, port = write_config(tmp_path, webhook(hook.url) + route + """
[[rule]]
name = "incident"
on = "incident"

[[rule]]
name = "upstream-502-ratio"
on = "ratio"
by = "upstream"
codes = [502]
threshold = 0.5
min_requests = 5
window = "1m"
severity = "warning"

[[inhibit]]
source = ['cause="tls_failure"']
target = ['alertname="upstream-502-ratio"']
equal = ["upstream"]
""")
    d = serve(faultline, cfg, port, daemons)
    # The upstream's certificate expired: nginx answered 502 to every checkout.
    phase = replay_example_phase("tls_expired", traffic.access, traffic.error)
    traffic.start()
    ratio = d.wait_for("the 502-ratio alert", lambda: [
        a for a in d.get("/api/v1/alerts")["alerts"]
        if a["labels"]["alertname"] == "upstream-502-ratio" and a.get("muted")], timeout=40)[0]
    assert ratio["labels"]["upstream"] == phase["upstreams"][0], ratio
    assert ratio["details"]["summary"].startswith("502 ratio"), ratio
    assert ratio["muted"]["by"] == "inhibited", ratio
    incident = [a for a in d.get("/api/v1/alerts")["alerts"]
                if a["fingerprint"] == ratio["muted"]["what"]]
    assert incident and incident[0]["labels"]["cause"] == "tls_failure", incident
    assert incident[0]["labels"]["upstream"] == ratio["labels"]["upstream"]
    names = lambda ps: [a["labels"]["alertname"] for p in firing(ps) for a in p["alerts"]]
    hook.wait("the tls_failure page", lambda ps: "incident" in names(ps), daemon=d)
    assert "upstream-502-ratio" not in names(hook.payloads())


def failed_over_line(t, path, host="api.example.com"):
    """A request nginx sent to a server that answered 502, then to the next one, which
    answered: the client got its 200 and saw nothing."""
    tm = time.gmtime(t)
    stamp = (f"{tm.tm_mday:02d}/{MONTHS[tm.tm_mon - 1]}/{tm.tm_year}:"
             f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000")
    return (f'203.0.113.7 - - [{stamp}] "GET {path} HTTP/1.1" 200 120 "-" "e2e/1.0" '
            f'0.022 0.001, 0.020 10.0.2.11:8080, 10.0.2.12:8080 502, 200 "{host}"\n')


def test_a_degraded_upstream_pages_though_clients_saw_no_error(
        faultline, tmp_path, traffic, receivers, daemons):
    hook = receivers()
    cfg, port = write_config(tmp_path, webhook(hook.url) + ROUTE_NOW + """
[[rule]]
name = "upstream-degraded"
on = "degraded_upstream"
""")
    d = serve(faultline, cfg, port, daemons)
    traffic.start()
    time.sleep(2)
    now = int(time.time())
    with open(traffic.access, "a") as f:
        f.write("".join(failed_over_line(now, f"/api/items/{i}") for i in range(12)))
    got = hook.wait("the degraded-upstream page", lambda ps: [
        a for p in firing(ps) for a in p["alerts"]
        if a["labels"]["alertname"] == "upstream-degraded"], daemon=d)[0]
    assert got["labels"]["rule"] == "degraded_upstream" and got["labels"]["severity"] == "warning"
    assert got["labels"]["upstream"] == "10.0.2.11:8080", got["labels"]
    assert got["labels"]["host"] == "api.example.com", got["labels"]
    assert got["annotations"]["summary"], got
    assert not [i for i in d.get("/api/v1/incidents")["incidents"]], "clients saw no 5xx"
