#!/usr/bin/env python3
"""Check that the logs of a generate.sh run show what its timeline.json promised, and
record what they show in it.

    check_logs.py OUTDIR

OUTDIR holds access.log, error.log, app.log and timeline.json (written by traffic.py).
For every phase it counts the 5xx of the access log (observed_5xx) and, for every incident
phase, the error-log and app-log lines that hold each text the phase lists
(observed_error_log, observed_app_log), and writes these counts into timeline.json. It
fails (exit 1, with every problem listed) when an incident phase lacks one of its expected
statuses (at least 3 of each) or one of its error-log or app-log texts inside its window,
or when a healthy phase has a 5xx.

Times: nginx stamps an access-log line when the request completes, Apache (%t) when it
was received; both with one-second resolution. An Apache line's completion is its %t plus
its %D (the request's duration), so that a request received before a fault and failed by
it counts with the fault. A 5xx belongs to an incident phase from 1 s
before its start to GRACE_S after its end (the 504s of a 3 s stall end 2 s after the
fault; a pool whose servers all failed stays out for fail_timeout/retry = 5 s); otherwise
to the healthy phase around it. Error-log and app-log times are read in the offset of the
access log.

Standard library only.
"""

import collections
import datetime as dt
import json
import re
import sys
from pathlib import Path

GRACE_S = 6.0
MIN_PER_STATUS = 3

ACCESS_RE = re.compile(rb'^\S+ \S+ \S+ \[([^\]]+)\] "(?:[^"\\]|\\.)*" (\d{3}) ')
# After the status: bytes, referer, user agent, then the duration (Apache's %D, in µs).
DURATION_RE = re.compile(rb'\S+ "(?:[^"\\]|\\.)*" "(?:[^"\\]|\\.)*" (\d+)(?:\s|$)')
NGINX_ERROR_TIME = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) ")
APACHE_ERROR_TIME = re.compile(r"^\[\w{3} (\w{3} \d\d \d\d:\d\d:\d\d)\.(\d+) (\d{4})\]")
APP_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ([+-]\d{4}) ")


def access_5xx(path, received_at=False):
    """(time, status, line) of every 5xx; with received_at (Apache's %t), the time is moved to
    the request's completion by its %D when the line has one."""
    out, tz = [], None
    with open(path, "rb") as f:
        for line in f:
            m = ACCESS_RE.match(line)
            if not m:
                continue
            t = dt.datetime.strptime(m.group(1).decode(), "%d/%b/%Y:%H:%M:%S %z")
            tz = tz or t.tzinfo
            if m.group(2).startswith(b"5"):
                at = t.timestamp()
                d = DURATION_RE.match(line, m.end()) if received_at else None
                if d:
                    at += int(d.group(1)) / 1e6
                out.append((at, m.group(2).decode(), line[:300].decode(errors="replace")))
    return out, tz or dt.timezone.utc


def error_lines(path, tz):
    """(time, line) of every error-log line (nginx's or Apache's layout)."""
    out = []
    for line in Path(path).read_text(errors="replace").splitlines():
        m = NGINX_ERROR_TIME.match(line)
        if m:
            t = dt.datetime.strptime(m.group(1), "%Y/%m/%d %H:%M:%S").replace(tzinfo=tz)
            out.append((t.timestamp(), line))
            continue
        m = APACHE_ERROR_TIME.match(line)
        if m:
            t = dt.datetime.strptime(f"{m.group(1)} {m.group(3)}", "%b %d %H:%M:%S %Y")
            out.append((t.replace(tzinfo=tz).timestamp() + float("0." + m.group(2)), line))
    return out


def app_records(path):
    """(time, whole record) of every app-log record (a line with a time and what follows)."""
    out = []
    if not Path(path).exists():
        return out
    for line in Path(path).read_text(errors="replace").splitlines():
        m = APP_TIME.match(line)
        if m:
            t = dt.datetime.strptime(" ".join((m.group(1), m.group(3))), "%Y-%m-%d %H:%M:%S %z")
            out.append([t.timestamp() + int(m.group(2)) / 1000, line])
        elif out:
            out[-1][1] += "\n" + line
    return out


def main():
    out = Path(sys.argv[1])
    with open(out / "timeline.json") as f:
        doc = json.load(f)
    phases = doc["phases"]
    incidents = [p for p in phases if p["kind"] == "incident"]
    fives, tz = access_5xx(out / "access.log", received_at=doc.get("proxy") == "apache")
    errors = error_lines(out / "error.log", tz)
    app = app_records(out / "app.log")

    counts = {p["name"]: collections.Counter() for p in phases}
    strays = collections.defaultdict(list)
    for t, code, line in fives:
        phase = next((p for p in incidents if p["start"] - 1 <= t <= p["end"] + GRACE_S), None)
        phase = phase or next((p for p in phases if t + 1 > p["start"] and t < p["end"]), None)
        if phase:
            counts[phase["name"]][code] += 1
            if phase["kind"] == "healthy":
                strays[phase["name"]].append(line.rstrip())

    bad = []
    for p in phases:
        got = counts[p["name"]]
        p["observed_5xx"] = dict(sorted(got.items()))
        if p["kind"] == "healthy":
            if got:
                shown = "\n  ".join(strays[p["name"]][:5])
                bad.append(f"healthy phase {p['name']} has 5xx: {dict(got)}, such as\n  {shown}")
            continue
        for code in p["expected_status"]:
            if got[code] < MIN_PER_STATUS:
                bad.append(f"phase {p['name']}: expected {p['expected_status']} "
                           f"(at least {MIN_PER_STATUS} of each), saw {dict(got)}")
        lo, hi = p["start"] - 2, p["end"] + GRACE_S + 2
        seen = {}
        for text in p["error_log"]:
            seen[text] = sum(1 for t, line in errors if lo <= t <= hi and text in line)
            if not seen[text]:
                bad.append(f"phase {p['name']}: error.log has no line with {text!r} "
                           f"between {p['start_utc']} and its end")
        p["observed_error_log"] = seen
        seen = {}
        for text in p.get("app_log", []):
            seen[text] = sum(1 for t, rec in app if lo <= t <= hi and text in rec)
            if not seen[text]:
                bad.append(f"phase {p['name']}: app.log has no record with {text!r} "
                           f"between {p['start_utc']} and its end")
        p["observed_app_log"] = seen

    with open(out / "timeline.json", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    if bad:
        sys.exit("generate.sh: the logs do not show what the timeline promised:\n  "
                 + "\n  ".join(bad))
    for p in incidents:
        print(f"  {p['name']:<18} {p['expected_cause']:<19} 5xx {p['observed_5xx']}")


if __name__ == "__main__":
    main()
