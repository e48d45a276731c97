#!/usr/bin/env python3
"""Drive traffic through the example proxy and play the scripted fault timeline.

Started by generate.sh once the proxy (nginx, or Apache httpd with --proxy apache; see
examples/apache) and the backends are up. It sends a steady, seeded mix of requests for
two virtual hosts through the proxy from a pool of threads, plus a health check every
second, while its main thread plays the timeline: a healthy warm-up, then one incident
phase per fault scenario (SCENARIOS) with quiet healthy traffic between them, and a
healthy tail. It writes timeline.json with the wall-clock window of every phase, the
contract cause the analysis should name, and what the proxy is expected to answer and
to write in its error log.

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
import ssl
import subprocess
import threading
import time
import uuid

API = "api.example.test"
SHOP = "shop.example.test"

# Seconds per phase: (full, quick). Every incident phase is followed by a quiet one.
DURATIONS = {
    "warmup": (30, 12),
    "incident": (20, 12),
    "quiet": (20, 15),
    "tail": (20, 8),
}
RATE = (14.0, 40.0)            # requests/s of the background mix: (full, quick)

SLOW_DELAY = 3.0               # > proxy_read_timeout 2s (nginx), ProxyTimeout 2 (Apache)
ERROR_RATE = 0.4
DB_HOLD = 1.5                  # s the slow stock query keeps its pooled connection
                               # (< the proxy's 2 s read timeout)
BIG_HEADER = 16384             # bytes of Set-Cookie: > nginx's 4k proxy_buffer_size,
                               # > Apache's 8192-byte ResponseFieldSize
SCRAPER = ("198.51.100.23", "Scrapy/2.11.2 (+https://scrapy.org)")
SCRAPER_RATE = 20.0            # searches/s of the scraper: limit_req allows 5/s, burst 10

# The scenarios, in the order they are played: the two hosts take turns (also without
# rate_limit_burst, which Apache cannot play), so that no two incidents in a row share a
# host or an upstream. For each: the contract cause, what breaks and where. What each proxy
# answers and logs is in PROXIES.
SCENARIOS = [
    {"name": "rate_limit_burst", "cause": "rate_limited",
     "description": f"a scraper ({SCRAPER[0]}) sends {SCRAPER_RATE:g} searches/s, above the "
                    "proxy's limit of 5/s with a burst of 10",
     "hosts": [API], "route_prefixes": ["/api/search"], "backends": []},
    {"name": "pool_down", "cause": "upstream_down",
     "description": "both servers of the shop pool killed (connection refused, then no live "
                    "server left), then restarted",
     "hosts": [SHOP], "route_prefixes": ["/shop/"], "backends": ["shop-1", "shop-2"]},
    {"name": "backend_killed", "cause": "upstream_down",
     "description": "carts backend process killed (connection refused), then restarted",
     "hosts": [API], "route_prefixes": ["/api/carts/"], "backends": ["carts-1"]},
    {"name": "oversized_header", "cause": "upstream_protocol",
     "description": f"GET /shop/account answers with a {BIG_HEADER // 1024} KiB Set-Cookie header",
     "hosts": [SHOP], "route_prefixes": ["/shop/account"], "backends": ["account-1"]},
    {"name": "backend_hangs", "cause": "upstream_timeout",
     "description": f"search-1 answers /api/search after {SLOW_DELAY:g} s, past the proxy's "
                    "2 s read timeout",
     "hosts": [API], "route_prefixes": ["/api/search"], "backends": ["search-1"]},
    {"name": "connection_reset", "cause": "upstream_reset",
     "description": "the reviews backend drops every connection before its answer is complete: "
                    "in turn a TCP reset without an answer, and a close in the middle of the "
                    "response header",
     "hosts": [SHOP], "route_prefixes": ["/shop/reviews/"], "backends": ["reviews-1"]},
    {"name": "app_exception", "cause": "app_error",
     "description": f"GET /api/users/{{id}}/orders raises KeyError: 'currency' for "
                    f"{ERROR_RATE:.0%} of requests on both users backends (traceback in app.log)",
     "hosts": [API], "route_prefixes": ["/api/users/"], "backends": ["users-1", "users-2"],
     "app_log": ["ERROR [users-", "Traceback (most recent call last):",
                 "KeyError: 'currency'"]},
    {"name": "tls_expired", "cause": "tls_failure",
     "description": "the payments backend (HTTPS, behind /shop/checkout/) serves a certificate "
                    "that expired 30 days ago; the proxy verifies upstream certificates",
     "hosts": [SHOP], "route_prefixes": ["/shop/checkout/"], "backends": ["payments-1"]},
    {"name": "db_pool_exhausted", "cause": "dependency_failure",
     "description": f"the stock query of /api/inventory/{{sku}} holds its pooled connection "
                    f"{DB_HOLD:g} s; concurrent requests time out waiting for the QueuePool "
                    "(size 1, overflow 0, timeout 0.2 s) and answer 500 (traceback in app.log)",
     "hosts": [API], "route_prefixes": ["/api/inventory/"], "backends": ["inventory-1"],
     "app_log": ["ERROR [inventory-1]",
                 "sqlalchemy.exc.TimeoutError: QueuePool limit of size 1 overflow 0 reached, "
                 "connection timed out, timeout 0.20"]},
    {"name": "maintenance", "cause": "maintenance",
     "description": "shop.example.test switched into maintenance (flag file): the proxy "
                    "answers 503 itself",
     "hosts": [SHOP], "route_prefixes": ["/"], "backends": []},
]

# How each proxy is set up, what it answers in each incident phase and what its error log
# shows (all seen in its real logs). "error_log" lists text the proxy's error log holds for
# the phase; "possible_status" are statuses a few requests may get besides the expected
# ones (Apache answers 502 to a request in flight when its backend is killed: the
# connection is reset); "upstream_aliases" are upstream names besides the backends'
# addresses that the access log may show for the phase's errors.
PROXIES = {
    "nginx": {
        "timeout": ("proxy_read_timeout_s", 2.0),
        "note": "start/end are the moments the fault was switched on and off; nginx logs a "
                "request when it completes, so the 504s of backend_hangs are logged up to "
                "proxy_read_timeout after the end, and after pool_down nginx keeps the shop "
                "servers out for fail_timeout (5 s) after their last failure",
        "skipped": [],
        "backend_killed": {
            "fault": "kill -9 of the only server of pool carts_api (proxy_next_upstream off)",
            "expected_status": ["502"],
            "error_log": ["connect() failed (111: Connection refused) while connecting to "
                          "upstream"]},
        "backend_hangs": {
            "fault": "search-1 sleeps 3 s on /api/search; pool search_api, location with "
                     "proxy_next_upstream off",
            "expected_status": ["504"],
            "error_log": ["upstream timed out (110: Connection timed out) while reading "
                          "response header from upstream"]},
        "app_exception": {
            "fault": "unhandled KeyError in the orders serializer of pool users_api",
            "expected_status": ["500"], "error_log": []},
        "pool_down": {
            "fault": "kill -9 of shop-1 and shop-2, the two servers of pool shop_web "
                     "(max_fails=1 fail_timeout=5s)",
            "expected_status": ["502"],
            "error_log": ["connect() failed (111: Connection refused) while connecting to "
                          "upstream",
                          "no live upstreams while connecting to upstream"],
            "upstream_aliases": ["shop_web"]},
        "db_pool_exhausted": {
            "fault": "inventory-1 holds its only pooled database connection 1.5 s per request",
            "expected_status": ["500"], "error_log": []},
        "oversized_header": {
            "fault": "account-1 sends a 16 KiB Set-Cookie; proxy_buffer_size is 4k",
            "expected_status": ["502"],
            "error_log": ["upstream sent too big header while reading response header from "
                          "upstream"]},
        "connection_reset": {
            "fault": "reviews-1 closes connections with SO_LINGER 0 (RST) or after half a "
                     "response header",
            "expected_status": ["502"],
            "error_log": ["recv() failed (104: Connection reset by peer) while reading "
                          "response header from upstream",
                          "upstream prematurely closed connection while reading response "
                          "header from upstream"]},
        "tls_expired": {
            "fault": "payments-1 switched to expired.crt; proxy_ssl_verify on with the "
                     "internal CA as proxy_ssl_trusted_certificate",
            "expected_status": ["502"],
            "error_log": ["upstream SSL certificate verify error: (10:certificate has "
                          "expired) while SSL handshaking to upstream"]},
        "rate_limit_burst": {
            "fault": "limit_req zone=search (5r/s per client address) burst=10 nodelay, "
                     "limit_req_status 503",
            "expected_status": ["503"],
            "error_log": ["limiting requests, excess: ", 'by zone "search", client: '
                          + SCRAPER[0]]},
        "maintenance": {
            "fault": "flag file run/shop.maintenance, checked by `if (-f ...) { return 503; }` "
                     "in the shop server block",
            "expected_status": ["503"], "error_log": []},
    },
    "apache": {
        "timeout": ("proxy_timeout_s", 2.0),
        "note": "start/end are the moments the fault was switched on and off; Apache's %t is "
                "the time a request was received, so every 5xx of a phase carries a time "
                "inside it (the lines are written at completion, up to 2 s out of order); "
                "after pool_down the shop members stay in error state for retry=5 s",
        "skipped": [
            {"name": "rate_limit_burst", "cause": "rate_limited",
             "why": "Apache httpd 2.4 has no per-client request-rate limit of its own "
                    "(mod_ratelimit limits bandwidth; mod_evasive and mod_qos are third-party "
                    "modules)"}],
        "backend_killed": {
            "fault": "kill -9 of the only member of balancer://carts_api",
            "expected_status": ["503"], "possible_status": ["502"],
            "error_log": ["(111)Connection refused: AH00957: http: attempt to connect to",
                          "AH01114: HTTP: failed to make connection to backend"]},
        "backend_hangs": {
            "fault": "search-1 sleeps 3 s on /api/search; balancer://search_api does not "
                     "fail over after a read timeout",
            "expected_status": ["502"],
            "error_log": ["(70007)The timeout specified has expired",
                          "AH01102: error reading status line from remote server",
                          "AH00898: Error reading from remote server"]},
        "app_exception": {
            "fault": "unhandled KeyError in the orders serializer of balancer://users_api",
            "expected_status": ["500"], "error_log": []},
        "pool_down": {
            "fault": "kill -9 of both members of balancer://shop_web (retry=5, "
                     "forcerecovery=off)",
            "expected_status": ["503"], "possible_status": ["502"],
            "error_log": ["(111)Connection refused: AH00957: http: attempt to connect to",
                          "AH01170: balancer://shop_web: All workers are in error state"]},
        "db_pool_exhausted": {
            "fault": "inventory-1 holds its only pooled database connection 1.5 s per request",
            "expected_status": ["500"], "error_log": []},
        "oversized_header": {
            "fault": "account-1 sends a 16 KiB Set-Cookie; mod_proxy_http's ResponseFieldSize "
                     "is 8192 bytes",
            "expected_status": ["502"],
            "error_log": ["AH10124: header size is over the limit allowed by "
                          "ResponseFieldSize (8192 bytes)",
                          "AH01106: bad HTTP/1.0 header returned by /shop/account (GET)"]},
        "connection_reset": {
            "fault": "reviews-1 closes connections with SO_LINGER 0 (RST) or after half a "
                     "response header",
            "expected_status": ["502"],
            "error_log": ["(104)Connection reset by peer: ",
                          "AH01102: error reading status line from remote server",
                          "(70014)End of file found: ",
                          "AH10404: Error reading headers from backend"]},
        "tls_expired": {
            "fault": "payments-1 switched to expired.crt; SSLProxyVerify require, "
                     "SSLProxyCheckPeerExpire on, the internal CA as SSLProxyCACertificateFile",
            "expected_status": ["500"],
            "error_log": ["AH02039: Certificate Verification: Error (10): certificate has "
                          "expired",
                          "AH00898: Error during SSL Handshake with remote server"]},
        "maintenance": {
            "fault": "flag file run/shop.maintenance, checked by mod_rewrite (RewriteCond -f, "
                     "RewriteRule ^ - [R=503,L]) in the shop virtual host",
            "expected_status": ["503"], "error_log": []},
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
    if r < 13:
        host, method, target = API, "GET", f"/api/users/{rng.randint(1000, 99999)}"
    elif r < 24:
        host, method, target = API, "GET", f"/api/users/{rng.randint(1000, 99999)}/orders"
    elif r < 33:
        host, method, target = API, "GET", f"/api/carts/{rng.choice(carts)}"
    elif r < 36:
        host, method, target = API, "POST", f"/api/carts/{rng.choice(carts)}/items"
        body = json.dumps({"sku": f"SKU-{rng.randint(10000, 10399)}", "qty": rng.randint(1, 3)})
        headers["Content-Type"] = "application/json"
    elif r < 46:
        q = rng.choice(SEARCH_TERMS)
        target = f"/api/search?q={q}" + (f"&page={rng.randint(2, 5)}" if rng.random() < 0.2 else "")
        host, method = API, "GET"
    elif r < 54:
        host, method, target = API, "GET", f"/api/inventory/SKU-{rng.randint(10000, 10399)}"
    elif r < 59:
        host, method, target = SHOP, "GET", f"/shop/reviews/{rng.randint(1000, 9999)}"
        headers["Referer"] = f"https://{SHOP}/shop/products/{rng.choice(PRODUCTS)}"
    elif r < 64:
        host, method, target = SHOP, "GET", f"/shop/checkout/{rng.choice(carts)}"
        headers["Referer"] = f"https://{SHOP}/shop/cart"
    elif r < 76:
        slug = f"{rng.choice(PRODUCTS)}-{rng.randint(1000, 99999)}"
        host, method, target = SHOP, "GET", f"/shop/products/{slug}"
        headers["Referer"] = f"https://{SHOP}/shop/category/{rng.choice(CATEGORIES)}"
    elif r < 82:
        host, method, target = SHOP, "GET", f"/shop/category/{rng.choice(CATEGORIES)}"
        headers["Referer"] = f"https://{SHOP}/shop/"
    elif r < 86:
        host, method, target = SHOP, "GET", "/shop/"
    elif r < 90:
        host, method, target = SHOP, "GET", "/shop/static/app.3f9c2e1b.js"
        headers["Referer"] = f"https://{SHOP}/shop/"
    elif r < 94:
        host, method, target = SHOP, "GET", "/shop/account"
        headers["Referer"] = f"https://{SHOP}/shop/"
    elif r < 95.5:
        host, method, target = SHOP, "GET", "/shop"                   # 301 -> /shop/
    elif r < 96.5:
        host, method, target = SHOP, "GET", "/robots.txt"            # static file
    elif r < 97.3:
        host, method, target = SHOP, "GET", "/favicon.ico"           # 404 from the proxy
    elif r < 98.1:
        host, method = SHOP, "GET"                                   # 404 from the app
        target = f"/shop/products/discontinued-{rng.randint(100, 999)}"
    elif r < 98.8:
        host, method, target = API, "GET", f"/api/users/{rng.randint(900000, 999999)}"  # 404
    else:
        host, method = API, "GET"                                    # scanner, 404
        target = rng.choice(["/wp-login.php", "/.env", "/admin/config.php", "/.git/config"])
        headers["User-Agent"] = "Mozilla/5.0 zgrab/0.x"
    headers["Host"] = host
    if rng.random() < 0.85:
        # Most clients here close after one request; the rest leave the proxy to close an
        # idle keep-alive connection (an [info] line in nginx's error log).
        headers["Connection"] = "close"
    return method, target, headers, body


class Traffic:
    def __init__(self, port, rate, seed, workers=64):
        self.port = port
        self.rate = rate
        self.rng = random.Random(seed)
        self.clients = Clients(self.rng)
        self.carts = [str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) for _ in range(400)]
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.seen = {}
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

    def burst(self, seconds, rate, addr, ua):
        """One client sending `rate` searches/s for `seconds` (in the caller's thread)."""
        rng = random.Random(addr)
        headers = {"Host": API, "User-Agent": ua, "X-Forwarded-For": addr, "Accept": "*/*",
                   "Connection": "close"}
        end = time.monotonic() + seconds
        next_t = time.monotonic()
        while next_t < end and not self.stop.is_set():
            target = f"/api/search?q={rng.choice(SEARCH_TERMS)}&page={rng.randint(1, 40)}"
            self.pool.submit(self._one, "GET", target, dict(headers), None)
            self.sent += 1
            next_t += 1.0 / rate
            time.sleep(max(0.0, next_t - time.monotonic()))

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
        self.run_dir = run_dir
        with open(os.path.join(run_dir, "backends.json")) as f:
            spec = json.load(f)
        self.by_name = {b["name"]: b for b in spec["backends"]}

    def addr(self, name):
        return f"127.0.0.1:{self.by_name[name]['port']}"

    def control(self, name, method, fault=None):
        b = self.by_name[name]
        if b["tls"]:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE      # the control channel, not the proxy's hop
            conn = http.client.HTTPSConnection("127.0.0.1", b["port"], timeout=5, context=ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", b["port"], timeout=5)
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
        proc = subprocess.Popen(b["argv"], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
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


def fault_actions(name, backends, traffic):
    """(begin, during, end) of a scenario: callables that switch its fault on and off;
    `during(seconds)` runs for the phase (sleeps, or sends the scraper's burst)."""
    ctl = backends.control
    flag = os.path.join(backends.run_dir, "shop.maintenance")

    def sleep(seconds):
        time.sleep(seconds)

    def set_fault(backend_names, fault):
        return (lambda: [ctl(n, "POST", fault) for n in backend_names],
                lambda: [ctl(n, "DELETE") for n in backend_names])

    if name == "backend_killed":
        begin, end = (lambda: backends.kill("carts-1")), (lambda: backends.restart("carts-1"))
    elif name == "backend_hangs":
        begin, end = set_fault(["search-1"], {"route": "/api/search", "delay": SLOW_DELAY})
    elif name == "app_exception":
        begin, end = set_fault(["users-1", "users-2"],
                               {"route": "/api/users/*/orders", "error_rate": ERROR_RATE})
    elif name == "pool_down":
        begin = lambda: [backends.kill(n) for n in ("shop-1", "shop-2")]  # noqa: E731
        end = lambda: [backends.restart(n) for n in ("shop-1", "shop-2")]  # noqa: E731
    elif name == "db_pool_exhausted":
        begin, end = set_fault(["inventory-1"], {"route": "/api/inventory/*", "db_hold": DB_HOLD})
    elif name == "oversized_header":
        begin, end = set_fault(["account-1"], {"route": "/shop/account", "big_header": BIG_HEADER})
    elif name == "connection_reset":
        begin, end = set_fault(["reviews-1"], {"route": "/shop/reviews/*", "abort": "mixed"})
    elif name == "tls_expired":
        begin, end = set_fault(["payments-1"], {"tls": "expired"})
    elif name == "rate_limit_burst":
        begin, end = (lambda: None), (lambda: None)
        return begin, (lambda s: traffic.burst(s, SCRAPER_RATE, *SCRAPER)), end
    elif name == "maintenance":
        begin = lambda: open(flag, "w").close()  # noqa: E731
        end = lambda: os.unlink(flag)  # noqa: E731
    else:
        raise ValueError(name)
    return begin, sleep, end


def play(args):
    quick = args.quick
    proxy = PROXIES[args.proxy]
    dur = {k: v[1] if quick else v[0] for k, v in DURATIONS.items()}
    skipped = {s["name"] for s in proxy["skipped"]}
    scenarios = [s for s in SCENARIOS if s["name"] not in skipped]
    if args.only:
        scenarios = [s for s in scenarios if s["name"] in args.only.split(",")]
    backends = Backends(args.run_dir)
    traffic = Traffic(args.port, args.rate or RATE[1 if quick else 0], args.seed)
    phases = []

    def healthy(name, seconds):
        log(f"{name}: healthy for {seconds}s")
        start = time.time()
        time.sleep(seconds)
        phases.append({"name": name, "kind": "healthy", "expected_cause": None,
                       "start": start, "end": time.time()})

    def incident(scenario, seconds):
        name = scenario["name"]
        begin, during, end = fault_actions(name, backends, traffic)
        log(f"{name}: {scenario['description']}, for {seconds}s")
        # The phase starts when the fault is set off, not once it is in place: killing a
        # pool waits for its ports to close, and requests fail meanwhile.
        start = time.time()
        begin()
        during(seconds)
        end()
        phase = {"name": name, "kind": "incident", "start": start, "end": time.time(),
                 "expected_cause": scenario["cause"], "description": scenario["description"],
                 **proxy[name],
                 "hosts": scenario["hosts"], "route_prefixes": scenario["route_prefixes"],
                 "upstreams": [backends.addr(b) for b in scenario["backends"]],
                 "backends": scenario["backends"],
                 "app_log": scenario.get("app_log", [])}
        phase.setdefault("possible_status", [])
        phase.setdefault("upstream_aliases", [])
        phases.append(phase)
        log(f"{name}: over")

    traffic.start()
    try:
        healthy("warmup", dur["warmup"])
        for n, scenario in enumerate(scenarios, 1):
            incident(scenario, dur["incident"])
            if n < len(scenarios):
                healthy(f"quiet_{n}", dur["quiet"])
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
        "proxy": args.proxy,
        "rate_per_s": traffic.rate,
        "seed": args.seed,
        proxy["timeout"][0]: proxy["timeout"][1],
        "note": proxy["note"],
        args.proxy: f"127.0.0.1:{args.port}",
        "hosts": [API, SHOP],
        "backends": {n: {"pool": b["pool"], "addr": f"127.0.0.1:{b['port']}",
                         "scheme": "https" if b["tls"] else "http"}
                     for n, b in backends.by_name.items()},
        "scenarios": [s["name"] for s in scenarios],
        "skipped": proxy["skipped"],
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
    ap.add_argument("--quick", action="store_true",
                    help="shorter phases (12 s per incident, 15 s between)")
    ap.add_argument("--only", help="play only these scenarios (comma-separated names)")
    ap.add_argument("--rate", type=float, help="requests/s (default 14, 40 with --quick)")
    ap.add_argument("--seed", type=int, default=20241124)
    play(ap.parse_args())


if __name__ == "__main__":
    main()
