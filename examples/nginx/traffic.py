#!/usr/bin/env python3
"""Drive traffic through the example proxy and play the scripted incident timeline.

Started by generate.sh once the proxy (nginx, or Apache httpd with --proxy apache;
see examples/apache) and the backends are up. It sends a steady,
seeded mix of requests for two virtual hosts through the proxy from a pool of
threads, plus a health check every second, while its main thread plays the
timeline: healthy warm-up, incident A (a backend process is killed), recovery,
incident B (a backend stalls on one route), recovery, incident C (one route
fails with application errors), healthy tail. It writes timeline.json with the
wall-clock window of every phase and the cause the analysis should name.

Standard library only.
"""

import argparse
import concurrent.futures
import datetime as dt
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))

API = "api.example.test"
SHOP = "shop.example.test"

# Seconds per phase: (full, quick).
DURATIONS = {
    "warmup": (40, 12),
    "A": (25, 12),
    "recovery_1": (20, 10),
    "B": (25, 12),
    "recovery_2": (20, 10),
    "C": (25, 12),
    "tail": (15, 6),
}

SLOW_DELAY = 3.0        # > proxy_read_timeout 2s (nginx), ProxyTimeout 2 (Apache)
ERROR_RATE = 0.4

# How each proxy is set up and what it answers in the incident phases (seen in its real
# logs). Apache's mod_proxy_http answers a read timeout with 502, not 504, and a refused
# connection with 503. "error_log" lists what the proxy's error log shows for the phase.
PROXIES = {
    "nginx": {
        "timeout": ("proxy_read_timeout_s", 2.0),
        "note": "start/end are the moments the fault was switched on and off; 504s of B are "
                "logged up to proxy_read_timeout after its end (nginx logs at completion)",
        "A": {"fault": "kill -9 of the only server of pool carts_api "
                       "(proxy_next_upstream off)",
              "expected_status": ["502"]},
        "B": {"description": f"search-1 answers /api/search after {SLOW_DELAY}s "
                             "(proxy_read_timeout 2s)",
              "fault": "search-1 sleeps 3 s on /api/search; pool search_api, location with "
                       "proxy_next_upstream off",
              "expected_status": ["504"]},
        "C": {"fault": "unhandled exception in the orders handler of pool users_api",
              "expected_status": ["500"]},
    },
    "apache": {
        "timeout": ("proxy_timeout_s", 2.0),
        "note": "start/end are the moments the fault was switched on and off; Apache's %t is "
                "the time a request was received, so every 5xx of a phase carries a time "
                "inside it (the lines are written at completion, up to 2 s out of order)",
        "A": {"fault": "kill -9 of the only member of balancer://carts_api",
              "expected_status": ["503"],
              "error_log": ["(111)Connection refused: AH00957: http: attempt to connect to",
                            "AH01114: HTTP: failed to make connection to backend"]},
        "B": {"description": f"search-1 answers /api/search after {SLOW_DELAY}s "
                             "(ProxyTimeout 2, member timeout=2)",
              "fault": "search-1 sleeps 3 s on /api/search; balancer://search_api does not "
                       "fail over after a read timeout",
              "expected_status": ["502"],
              "error_log": ["(70007)The timeout specified has expired",
                            "AH01102: error reading status line from remote server",
                            "AH00898: Error reading from remote server"]},
        "C": {"fault": "unhandled exception in the orders handler of balancer://users_api",
              "expected_status": ["500"],
              "error_log": []},
    },
}

USER_AGENTS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36", 40),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4 Safari/605.1.15", 18),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", 10),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 14),
    ("shopapp-android/5.12.0 (okhttp/4.12.0)", 12),
    ("python-requests/2.31.0", 4),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 2),
]

PRODUCTS = ["oak-desk", "walnut-shelf", "linen-throw", "wool-rug", "desk-lamp", "steel-stool",
            "ceramic-mug", "glass-vase", "cotton-towel", "bamboo-tray"]
CATEGORIES = ["furniture", "lighting", "kitchen", "textiles", "decor"]
SEARCH_TERMS = ["desk", "lamp", "oak+desk", "rug", "mug", "vase", "towel", "shelf", "chair"]


def utc(ts):
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="milliseconds")


class Clients:
    """A fixed population of clients (documentation address ranges), Zipf-like popularity."""

    def __init__(self, rng, n=240):
        self.clients = []
        uas = [u for u, _ in USER_AGENTS]
        ua_w = [w for _, w in USER_AGENTS]
        for i in range(n):
            r = rng.random()
            if r < 0.35:
                addr = f"192.0.2.{rng.randint(1, 254)}"
            elif r < 0.65:
                addr = f"198.51.100.{rng.randint(1, 254)}"
            elif r < 0.85:
                addr = f"203.0.113.{rng.randint(1, 254)}"
            else:
                addr = f"2001:db8:{rng.randint(1, 0xffff):x}::{rng.randint(1, 0xffff):x}"
            self.clients.append((addr, rng.choices(uas, ua_w)[0]))
        self.weights = [1.0 / (i + 1) ** 0.8 for i in range(n)]

    def pick(self, rng):
        return rng.choices(self.clients, self.weights)[0]


def make_request(rng, clients, carts):
    """One request of the background mix: (method, host, target, headers, body)."""
    addr, ua = clients.pick(rng)
    headers = {"User-Agent": ua, "X-Forwarded-For": addr, "Accept": "*/*"}
    r = rng.random() * 100
    body = None
    if r < 17:
        host, method, target = API, "GET", f"/api/users/{rng.randint(1000, 99999)}"
    elif r < 31:
        host, method, target = API, "GET", f"/api/users/{rng.randint(1000, 99999)}/orders"
    elif r < 43:
        host, method, target = API, "GET", f"/api/carts/{rng.choice(carts)}"
    elif r < 47:
        host, method, target = API, "POST", f"/api/carts/{rng.choice(carts)}/items"
        body = json.dumps({"sku": f"SKU-{rng.randint(10000, 99999)}", "qty": rng.randint(1, 3)})
        headers["Content-Type"] = "application/json"
    elif r < 59:
        q = rng.choice(SEARCH_TERMS)
        target = f"/api/search?q={q}" + (f"&page={rng.randint(2, 5)}" if rng.random() < 0.2 else "")
        host, method = API, "GET"
    elif r < 77:
        slug = f"{rng.choice(PRODUCTS)}-{rng.randint(1000, 99999)}"
        host, method, target = SHOP, "GET", f"/shop/products/{slug}"
        headers["Referer"] = f"https://{SHOP}/shop/category/{rng.choice(CATEGORIES)}"
    elif r < 84:
        host, method, target = SHOP, "GET", f"/shop/category/{rng.choice(CATEGORIES)}"
        headers["Referer"] = f"https://{SHOP}/shop/"
    elif r < 89:
        host, method, target = SHOP, "GET", "/shop/"
    elif r < 94:
        host, method, target = SHOP, "GET", "/shop/static/app.3f9c2e1b.js"
        headers["Referer"] = f"https://{SHOP}/shop/"
    elif r < 95.5:
        host, method, target = SHOP, "GET", "/shop"                   # 301 -> /shop/
    elif r < 96.5:
        host, method, target = SHOP, "GET", "/robots.txt"            # static file, nginx
    elif r < 97.3:
        host, method, target = SHOP, "GET", "/favicon.ico"           # 404, nginx open() failed
    elif r < 98.1:
        host, method = SHOP, "GET"                                   # 404 from the app
        target = f"/shop/products/discontinued-{rng.randint(100, 999)}"
    elif r < 98.8:
        host, method, target = API, "GET", f"/api/users/{rng.randint(900000, 999999)}"  # 404
    else:
        host, method = API, "GET"                                    # scanner, 404 from nginx
        target = rng.choice(["/wp-login.php", "/.env", "/admin/config.php", "/.git/config"])
        headers["User-Agent"] = "Mozilla/5.0 zgrab/0.x"
    headers["Host"] = host
    if rng.random() < 0.85:
        # Most clients here close after one request; the rest leave nginx to close an
        # idle keep-alive connection (an [info] line in the error log).
        headers["Connection"] = "close"
    return method, target, headers, body


class Traffic:
    def __init__(self, port, rate, seed, workers=48):
        self.port = port
        self.rate = rate
        self.rng = random.Random(seed)
        self.clients = Clients(self.rng)
        self.carts = [str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) for _ in range(400)]
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.seen = {}
        self.failures = 0
        self.sent = 0

    def _one(self, method, target, headers, body):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            key = str(resp.status)
        except (OSError, http.client.HTTPException):
            key = "client_error"
        finally:
            conn.close()
        with self.lock:
            self.seen[key] = self.seen.get(key, 0) + 1

    def _dispatch(self):
        next_t = time.monotonic()
        while not self.stop.is_set():
            next_t += self.rng.expovariate(self.rate)
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            req = make_request(self.rng, self.clients, self.carts)
            self.pool.submit(self._one, *req)
            self.sent += 1

    def _health(self):
        headers = {"Host": API, "User-Agent": "kube-probe/1.29", "Connection": "close"}
        while not self.stop.wait(1.0):
            self.pool.submit(self._one, "GET", "/healthz", headers, None)

    def start(self):
        self.threads = [threading.Thread(target=self._dispatch, daemon=True),
                        threading.Thread(target=self._health, daemon=True)]
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()
        self.pool.shutdown(wait=True)


class Backends:
    """The backend processes that generate.sh started (run/backends.json)."""

    def __init__(self, run_dir):
        with open(os.path.join(run_dir, "backends.json")) as f:
            spec = json.load(f)
        self.by_name = {b["name"]: b for b in spec["backends"]}

    def addr(self, name):
        return f"127.0.0.1:{self.by_name[name]['port']}"

    def control(self, name, method, fault=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.by_name[name]["port"], timeout=5)
        body = json.dumps(fault) if fault else None
        conn.request(method, "/__fault", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        conn.close()
        if resp.status != 200:
            raise RuntimeError(f"control {method} on {name} answered {resp.status}")

    def kill(self, name):
        b = self.by_name[name]
        with open(b["pidfile"]) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGKILL)          # a crash, not a graceful stop
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self._listening(b["port"]):
            time.sleep(0.02)

    def restart(self, name):
        b = self.by_name[name]
        log = open(b["log"], "ab")
        proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "backend.py"), "--port", str(b["port"]),
             "--name", name],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        with open(b["pidfile"], "w") as f:
            f.write(f"{proc.pid}\n")
        deadline = time.monotonic() + 10
        while not self._listening(b["port"]):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{name} did not come back on port {b['port']}")
            time.sleep(0.02)

    @staticmethod
    def _listening(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False


def play(args):
    quick = args.quick
    proxy = PROXIES[args.proxy]
    dur = {k: v[1] if quick else v[0] for k, v in DURATIONS.items()}
    backends = Backends(args.run_dir)
    traffic = Traffic(args.port, args.rate or (40.0 if quick else 24.0), args.seed)
    phases = []

    def healthy(name, seconds):
        log(f"{name}: healthy for {seconds}s")
        start = time.time()
        time.sleep(seconds)
        phases.append({"name": name, "kind": "healthy", "expected_cause": None,
                       "start": start, "end": time.time()})

    def incident(name, seconds, begin, end, **expect):
        log(f"{name}: {expect['description']}, for {seconds}s")
        begin()
        start = time.time()
        time.sleep(seconds)
        end()
        phases.append({"name": name, "kind": "incident", "start": start, "end": time.time(),
                       **expect})
        log(f"{name}: over")

    traffic.start()
    try:
        healthy("warmup", dur["warmup"])
        incident(
            "A", dur["A"],
            lambda: backends.kill("carts-1"), lambda: backends.restart("carts-1"),
            expected_cause="upstream_down",
            description="carts backend process killed (connection refused), then restarted",
            **proxy["A"], hosts=[API], route_prefixes=["/api/carts/"],
            upstreams=[backends.addr("carts-1")])
        healthy("recovery_1", dur["recovery_1"])
        incident(
            "B", dur["B"],
            lambda: backends.control("search-1", "POST",
                                     {"route": "/api/search", "delay": SLOW_DELAY}),
            lambda: backends.control("search-1", "DELETE"),
            expected_cause="upstream_timeout",
            **proxy["B"], hosts=[API], route_prefixes=["/api/search"],
            upstreams=[backends.addr("search-1")])
        healthy("recovery_2", dur["recovery_2"])
        fault_c = {"route": "/api/users/*/orders", "error_rate": ERROR_RATE,
                   "message": "KeyError: 'currency' in serialize_orders"}
        incident(
            "C", dur["C"],
            lambda: [backends.control(n, "POST", fault_c) for n in ("users-1", "users-2")],
            lambda: [backends.control(n, "DELETE") for n in ("users-1", "users-2")],
            expected_cause="app_error",
            description=f"GET /api/users/{{id}}/orders fails with 500 for {ERROR_RATE:.0%} "
                        "of requests on both users backends",
            **proxy["C"], hosts=[API], route_prefixes=["/api/users/"],
            upstreams=[backends.addr("users-1"), backends.addr("users-2")])
        healthy("tail", dur["tail"])
    finally:
        traffic.finish()

    for p in phases:
        p["start"] = round(p["start"], 3)
        p["end"] = round(p["end"], 3)
        p["start_utc"] = utc(p["start"])
        p["end_utc"] = utc(p["end"])
    doc = {
        "mode": "quick" if quick else "full",
        "rate_per_s": traffic.rate,
        "seed": args.seed,
        proxy["timeout"][0]: proxy["timeout"][1],
        "note": proxy["note"],
        args.proxy: f"127.0.0.1:{args.port}",
        "hosts": [API, SHOP],
        "backends": {n: {"pool": b["pool"], "addr": f"127.0.0.1:{b['port']}"}
                     for n, b in backends.by_name.items()},
        "requests_sent": traffic.sent,
        "client_status_counts": dict(sorted(traffic.seen.items())),
        "phases": phases,
    }
    with open(args.timeline, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    log(f"sent {traffic.sent} requests (+ health checks); client saw {doc['client_status_counts']}")


def log(msg):
    print(f"[traffic {dt.datetime.now(dt.timezone.utc):%H:%M:%S}] {msg}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True, help="the proxy's loopback port")
    ap.add_argument("--proxy", choices=sorted(PROXIES), default="nginx",
                    help="which proxy generate.sh started (phase statuses, timeline keys)")
    ap.add_argument("--run-dir", required=True, help="where generate.sh wrote backends.json")
    ap.add_argument("--timeline", required=True, help="timeline.json to write")
    ap.add_argument("--quick", action="store_true", help="shorter phases (~75 s in all)")
    ap.add_argument("--rate", type=float, help="requests/s (default 24, 40 with --quick)")
    ap.add_argument("--seed", type=int, default=20241124)
    play(ap.parse_args())


if __name__ == "__main__":
    main()
