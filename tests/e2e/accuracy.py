#!/usr/bin/env python3
"""How many fault scenarios faultline diagnoses right: `right / total` per proxy.

    python3 tests/e2e/accuracy.py TIMELINE REPORT [TIMELINE REPORT ...] [--json]
    python3 tests/e2e/accuracy.py --examples [--json]

TIMELINE is a timeline.json written by examples/*/generate.sh, REPORT the output of
`faultline analyze --output json` over the logs of the same run. With --examples it runs
the faultline binary (FAULTLINE_BIN, default target/debug/faultline) over the committed
logs of examples/nginx and examples/apache itself.

A scenario is diagnosed right when at least one incident covers its window, and every
incident that does names the timeline's expected_cause and covers no other scenario's
window (helpers.diagnosis_verdict, the rule of the end-to-end tests' cause checks).
Scenarios a proxy cannot produce are listed as skipped, outside the total.

Standard library only.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import (  # noqa: E402
    APACHE_EXAMPLES,
    APACHE_LOG_FORMAT,
    EXAMPLES,
    REPO,
    diagnosis_verdict,
    incident_phases,
)


def score(timeline, report):
    """{"proxy", "mode", "right", "total", "scenarios": [...], "skipped": [...]}."""
    rows = []
    for phase in incident_phases(timeline):
        right, why = diagnosis_verdict(report, timeline, phase)
        rows.append({"name": phase["name"], "expected": phase["expected_cause"],
                     "right": right, "got": why})
    proxy = timeline.get("proxy") or ("apache" if "apache" in timeline else "nginx")
    return {"proxy": proxy, "mode": timeline.get("mode"),
            "right": sum(r["right"] for r in rows), "total": len(rows), "scenarios": rows,
            "skipped": timeline.get("skipped", [])}


def analyze_examples():
    """(timeline, report) of the committed nginx and Apache examples."""
    binary = Path(os.environ.get("FAULTLINE_BIN", "target/debug/faultline"))
    if not binary.is_absolute():
        binary = REPO / binary
    pairs = []
    for d, extra in ((EXAMPLES, []), (APACHE_EXAMPLES, ["--log-format", APACHE_LOG_FORMAT])):
        logs = [d / n for n in ("access.log", "error.log", "app.log") if (d / n).exists()]
        proc = subprocess.run([str(binary), "analyze", "--output", "json", *extra, *logs],
                              capture_output=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            sys.exit(f"accuracy.py: {binary} exited {proc.returncode} on {d}:\n"
                     + proc.stderr.decode(errors="replace"))
        with open(d / "timeline.json") as f:
            pairs.append((json.load(f), json.loads(proc.stdout)))
    return pairs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", help="TIMELINE REPORT pairs")
    ap.add_argument("--examples", action="store_true",
                    help="analyse the committed examples with FAULTLINE_BIN")
    ap.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = ap.parse_args()
    if args.examples == bool(args.files) or len(args.files) % 2:
        ap.error("give TIMELINE REPORT pairs, or --examples")
    if args.examples:
        pairs = analyze_examples()
    else:
        pairs = []
        for tl, rep in zip(args.files[::2], args.files[1::2]):
            with open(tl) as f, open(rep) as g:
                pairs.append((json.load(f), json.load(g)))

    scores = [score(tl, rep) for tl, rep in pairs]
    if args.json:
        json.dump({"proxies": scores, "right": sum(s["right"] for s in scores),
                   "total": sum(s["total"] for s in scores)}, sys.stdout, indent=2)
        print()
        return
    for s in scores:
        print(f"{s['proxy']} ({s['mode']}): {s['right']}/{s['total']} scenarios diagnosed right")
        for r in s["scenarios"]:
            verdict = "ok   " if r["right"] else "WRONG"
            detail = r["expected"] if r["right"] else f"expected {r['expected']}, got {r['got']}"
            print(f"  {verdict} {r['name']:<19} {detail}")
        for sk in s["skipped"]:
            print(f"  skip  {sk['name']:<19} {sk['why']}")
    if len(scores) > 1:
        print(f"all: {sum(s['right'] for s in scores)}/{sum(s['total'] for s in scores)}")


if __name__ == "__main__":
    main()
