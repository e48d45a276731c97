#!/usr/bin/env python3
"""Benchmarks of `faultline serve` (not run in CI; figures go in the README).

  python3 bench/serve.py throughput [--lines 2000000]   # sustained tail rate, store on
  python3 bench/serve.py latency [--lateness 5s]        # line written -> incident open in the API
  python3 bench/serve.py alert-latency                  # line written -> webhook received (group_wait 0)
  python3 bench/serve.py rss [--minutes 10]             # RSS at 10k lines/s, rotation every minute

Uses target/release/faultline (FAULTLINE_BIN to override) and loggen for the throughput
file. Each prints one Markdown table row."""

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FL = os.environ.get("FAULTLINE_BIN", str(REPO / "target/release/faultline"))
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp, paths, extra="", tables=""):
    port = free_port()
    cfg = Path(tmp) / "faultline.toml"
    cfg.write_text(f'[serve]\nlisten = "127.0.0.1:{port}"\nstate = "state.db"\n{extra}\n'
                   f'[[source]]\npaths = {json.dumps(paths)}\n{tables}')
    err = open(Path(tmp) / "serve.err", "wb")
    proc = subprocess.Popen([FL, "serve", "--config", str(cfg)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=err)
    for _ in range(200):
        try:
            get(port, "/healthz")
            return proc, port
        except OSError:
            time.sleep(0.05)
    sys.exit("serve did not start: " + (Path(tmp) / "serve.err").read_text())


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return json.loads(r.read())


def proc_stat(pid):
    """(cpu seconds, rss MiB) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / tick
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return cpu, rss


def line(t, status, path, upstream="10.0.2.11:8080", host="api.example.com"):
    tm = time.gmtime(t)
    stamp = f"{tm.tm_mday:02d}/{MONTHS[tm.tm_mon - 1]}/{tm.tm_year}:{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000"
    up = "0.000" if status == 502 else "0.020"
    return (f'203.0.113.7 - - [{stamp}] "GET {path} HTTP/1.1" {status} 120 "-" "bench/1.0" '
            f'{up} {up} {upstream} {status} "{host}"\n')


def throughput(args):
    log = Path(args.file) if args.file else None
    if log is None:
        log = Path(f"/var/tmp/faultline-bench/serve-{args.lines}.log")
        if not log.exists():
            log.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["cargo", "build", "--release", "-q", "--manifest-path",
                            str(REPO / "tools/loggen/Cargo.toml")], check=True)
            with open(log, "wb") as f:
                subprocess.run([str(REPO / "tools/loggen/target/release/loggen"), "--lines",
                                str(args.lines)], stdout=f, check=True)
    n = sum(1 for _ in open(log, "rb"))
    subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        proc, port = start(tmp, [str(log)], 'start_at = "beginning"\n')
        while get(port, "/api/v1/report")["totals"]["requests"] < n:
            time.sleep(0.05)
        wall = time.monotonic() - t0
        cpu, rss = proc_stat(proc.pid)
        size = get(port, "/api/v1/status")["store_bytes"] / 2**20
        proc.terminate()
        proc.wait()
    print("| lines | wall s | lines/s | CPU s | RSS MiB | store MiB |")
    print("|---|---|---|---|---|---|")
    print(f"| {n} | {wall:.2f} | {n / wall / 1e3:.0f} k | {cpu:.2f} | {rss:.0f} | {size:.1f} |")


class Writer:
    """Healthy traffic at `rate` lines/s with the current time; bursts on request."""

    def __init__(self, path, rate):
        self.path, self.rate = path, rate
        self.f = open(path, "ab", buffering=0)

    def tick(self, t, seconds=0.1):
        n = int(self.rate * seconds)
        self.f.write("".join(line(t, 200, f"/api/items/{i % 50}") for i in range(n)).encode())

    def rotate(self):
        self.f.close()
        os.replace(self.path, str(self.path) + ".1")
        self.f = open(self.path, "ab", buffering=0)


def latency(args):
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "access.log"
        log.touch()
        proc, port = start(tmp, [str(log)], f'lateness = "{args.lateness}"\npoll = "{args.poll}"\n')
        w = Writer(log, args.rate)
        samples = []
        next_burst = time.time() + 20  # a baseline first
        known = set()
        while len(samples) < args.bursts:
            now = time.time()
            w.tick(int(now))
            if now >= next_burst:
                route = f"/api/bench{len(samples)}/{rng.randint(0, 1 << 30)}"
                burst = "".join(line(int(now), 502, route) for _ in range(10)).encode()
                written = time.monotonic()
                w.f.write(burst)
                while True:
                    incs = get(port, "/api/v1/incidents")["incidents"]
                    new = [i for i in incs if i["id"] not in known and i["state"] == "open"]
                    if new:
                        samples.append(time.monotonic() - written)
                        known.update(i["id"] for i in incs)
                        break
                    w.tick(int(time.time()), 0.02)
                    time.sleep(0.02)
                    if time.monotonic() - written > 30:
                        sys.exit("no incident within 30 s")
                next_burst = time.time() + rng.uniform(2, 4)
            time.sleep(0.1)
        proc.terminate()
        proc.wait()
    samples.sort()
    q = lambda p: samples[min(len(samples) - 1, int(p * len(samples)))]
    print("| lateness | poll | rate | bursts | p50 s | p99 s | max s |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.lateness} | {args.poll} | {args.rate}/s | {len(samples)} | {q(0.5):.2f} | {q(0.99):.2f} | {samples[-1]:.2f} |")


def rss(args):
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "access.log"
        log.touch()
        proc, port = start(tmp, [str(log)])
        w = Writer(log, args.rate)
        t0 = time.monotonic()
        points, last_rot, written = [], t0, 0
        while time.monotonic() - t0 < args.minutes * 60:
            w.tick(int(time.time()))
            written += int(args.rate * 0.1)
            if time.monotonic() - last_rot >= 60:
                w.rotate()
                last_rot = time.monotonic()
            if not points or time.monotonic() - points[-1][0] >= 10:
                points.append((time.monotonic(), proc_stat(proc.pid)[1]))
            time.sleep(0.1)
        time.sleep(3)
        counted = get(port, "/api/v1/report")["totals"]["requests"]
        cpu, _ = proc_stat(proc.pid)
        proc.terminate()
        proc.wait()
    rs = [r for _, r in points]
    warm = rs[len(rs) // 10:]
    print("| minutes | rate | RSS after 1 min | min | max | end | CPU s | lines written | counted |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.minutes} | {args.rate}/s | {rs[min(6, len(rs) - 1)]:.0f} | {min(warm):.0f} | "
          f"{max(warm):.0f} | {rs[-1]:.0f} | {cpu:.0f} | {written} | {counted} |")


def alert_latency(args):
    """Line written -> webhook received, with group_wait 0: one new incident (and alert,
    each its own group) per burst."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            got.append((time.monotonic(), body))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/hook"
    extra = (f'lateness = "{args.lateness}"\npoll = "{args.poll}"\n\n'
             f'[[receiver]]\nname = "hook"\ntype = "webhook"\nurl = "{url}"\n\n'
             '[route]\nreceiver = "hook"\ngroup_by = ["..."]\ngroup_wait = "0s"\n'
             'group_interval = "1m"\n')
    rng = random.Random(5)
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "access.log"
        log.touch()
        serve_keys, tables = extra.split("\n\n", 1)
        proc, port = start(tmp, [str(log)], serve_keys, tables)
        w = Writer(log, args.rate)
        next_burst = time.time() + 20  # a baseline first
        while len(samples) < args.bursts:
            now = time.time()
            w.tick(int(now))
            if now >= next_burst:
                n = len(samples)
                route = f"/api/bench{n}/{rng.randint(0, 1 << 30)}"
                # Its own host and upstream: bursts that share neither are separate incidents.
                burst = "".join(line(int(now), 502, route, f"10.0.3.{n}:8080", f"b{n}.example")
                                for _ in range(10)).encode()
                written = time.monotonic()
                w.f.write(burst)
                want = f"/api/bench{n}/"
                while True:
                    hit = [t for t, b in list(got) if b["status"] == "firing" and any(
                        a["labels"].get("route", "").startswith(want) for a in b["alerts"])]
                    if hit:
                        samples.append(hit[0] - written)
                        break
                    w.tick(int(time.time()), 0.02)
                    time.sleep(0.02)
                    if time.monotonic() - written > 30:
                        sys.exit(f"no webhook within 30 s ({len(got)} received: "
                                 f"{json.dumps(got)[:600]}): " + json.dumps(
                            get(port, "/api/v1/notifications"))[:1500] + "\n" +
                            (Path(tmp) / "serve.err").read_text()[-2000:])
                next_burst = time.time() + rng.uniform(2, 4)
            time.sleep(0.1)
        proc.terminate()
        proc.wait()
    srv.shutdown()
    samples.sort()
    q = lambda p: samples[min(len(samples) - 1, int(p * len(samples)))]
    print("| lateness | poll | rate | bursts | p50 s | p99 s | max s |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.lateness} | {args.poll} | {args.rate}/s | {len(samples)} | {q(0.5):.2f} | {q(0.99):.2f} | {samples[-1]:.2f} |")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--lines", type=int, default=2_000_000)
    t.add_argument("--file")
    l = sub.add_parser("latency")
    l.add_argument("--lateness", default="5s")
    l.add_argument("--poll", default="50ms")
    l.add_argument("--rate", type=int, default=10_000)
    l.add_argument("--bursts", type=int, default=30)
    a = sub.add_parser("alert-latency")
    a.add_argument("--lateness", default="0s")
    a.add_argument("--poll", default="50ms")
    a.add_argument("--rate", type=int, default=10_000)
    a.add_argument("--bursts", type=int, default=30)
    r = sub.add_parser("rss")
    r.add_argument("--minutes", type=float, default=10)
    r.add_argument("--rate", type=int, default=10_000)
    args = ap.parse_args()
    {"throughput": throughput, "latency": latency, "alert-latency": alert_latency,
     "rss": rss}[args.what](args)


if __name__ == "__main__":
    main()
