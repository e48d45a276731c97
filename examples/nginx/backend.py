#!/usr/bin/env python3
"""A small application server that nginx proxies to in the example setup.

One process serves one loopback port. It answers the routes of the two example
sites (api.example.test and shop.example.test) with small JSON or HTML bodies
and a few milliseconds of simulated work.

Faults are switched on and off at run time through a control endpoint that is
reached directly on the backend's port (never through nginx, so it does not
appear in the access log):

    POST   /__fault   {"route": "/api/search", "delay": 3.0}
    POST   /__fault   {"route": "/api/users/*/orders", "error_rate": 0.4}
    DELETE /__fault   clears every fault

`route` is a glob over the request path (without the query string).
A fault with `delay` sleeps before answering (nginx's proxy_read_timeout is
shorter, so nginx answers 504); a fault with `error_rate` fails that share of
requests with an unhandled exception, answered as 500 (nginx logs nothing for
it: the upstream answered).

Standard library only.
"""

import argparse
import fnmatch
import json
import random
import re
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class Faults:
    """The faults currently switched on, shared by all handler threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def set(self, fault):
        with self._lock:
            self._faults = [f for f in self._faults if f["route"] != fault["route"]]
            self._faults.append(fault)

    def clear(self):
        with self._lock:
            self._faults = []

    def match(self, path):
        with self._lock:
            for fault in self._faults:
                if fnmatch.fnmatchcase(path, fault["route"]):
                    return dict(fault)
        return None

    def snapshot(self):
        with self._lock:
            return list(self._faults)


class OrderSerializationError(Exception):
    pass


def serialize_orders(user_id, rng):
    """The handler that breaks in incident C: a field the new code expects is missing."""
    orders = []
    for n in range(rng.randint(0, 4)):
        order = {"id": user_id * 10 + n, "total": round(rng.uniform(5, 400), 2)}
        if rng.random() < 0.5:
            order["currency"] = "EUR"
        orders.append(order)
    return [{"id": o["id"], "total": f'{o["total"]} {o["currency"]}'} for o in orders]


class Handler(BaseHTTPRequestHandler):
    server_version = "shopd/2.3.1"
    sys_version = ""

    # -- plumbing ---------------------------------------------------------
    def log_message(self, fmt, *args):  # the proxy keeps the access log
        pass

    def _send(self, status, body, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        data = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Backend", self.server.name)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # nginx gave up on us (proxy_read_timeout) and closed the connection.
            pass

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # -- control ----------------------------------------------------------
    def _control(self):
        if self.command == "DELETE":
            self.server.faults.clear()
        elif self.command == "POST":
            fault = json.loads(self._read_body() or b"{}")
            if "route" not in fault:
                return self._send(400, {"error": "route is required"})
            self.server.faults.set(fault)
        return self._send(200, {"faults": self.server.faults.snapshot()})

    # -- application ------------------------------------------------------
    def _dispatch(self):
        url = urlsplit(self.path)
        path = url.path
        if path == "/__fault":
            return self._control()

        fault = self.server.faults.match(path)
        rng = random.Random()
        if fault and fault.get("delay"):
            time.sleep(float(fault["delay"]))
        else:
            time.sleep(rng.uniform(0.003, 0.045))

        if fault and rng.random() < float(fault.get("error_rate", 0)):
            return self._fail(path, fault)

        if self.command == "POST":
            self._read_body()
        return self._route(path, parse_qs(url.query), rng)

    def _fail(self, path, fault):
        try:
            m = re.match(r"^/api/users/(\d+)/orders$", path)
            serialize_orders(int(m.group(1)) if m else 0, random.Random(0))
            raise OrderSerializationError(fault.get("message", "handler failed"))
        except Exception:
            sys.stderr.write(
                time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
                + f" ERROR [{self.server.name}] unhandled exception in {self.command} {path}\n"
                + traceback.format_exc()
            )
            sys.stderr.flush()
        return self._send(500, {"error": "internal server error"})

    def _route(self, path, query, rng):
        m = re.match(r"^/api/users/(\d+)(/orders)?$", path)
        if m:
            user_id = int(m.group(1))
            if user_id >= 900000:
                return self._send(404, {"error": "user not found"})
            if m.group(2):
                orders = [{"id": user_id * 10 + n, "total": round(rng.uniform(5, 400), 2),
                           "currency": "EUR"} for n in range(rng.randint(0, 4))]
                return self._send(200, {"user": user_id, "orders": orders})
            return self._send(200, {"id": user_id, "name": f"user{user_id}", "tier": "gold"})

        m = re.match(rf"^/api/carts/({UUID_RE})(/items)?$", path)
        if m:
            if self.command == "POST":
                return self._send(201, {"cart": m.group(1), "added": 1})
            return self._send(200, {"cart": m.group(1), "items": rng.randint(0, 6)})

        if path == "/api/search":
            q = (query.get("q") or [""])[0]
            hits = [{"sku": f"SKU-{rng.randint(10000, 99999)}"} for _ in range(rng.randint(0, 8))]
            return self._send(200, {"q": q, "hits": hits})

        if path in ("/shop/", "/shop/cart"):
            return self._send(200, "<html><body>shop</body></html>" + " " * rng.randint(0, 4000),
                              "text/html")
        m = re.match(r"^/shop/products/([a-z0-9-]+)$", path)
        if m:
            if m.group(1).startswith("discontinued-"):
                return self._send(404, "<html><body>not found</body></html>", "text/html")
            return self._send(200, "<html><body>product</body></html>" + " " * rng.randint(0, 9000),
                              "text/html")
        if path.startswith("/shop/category/"):
            return self._send(200, "<html><body>category</body></html>" + " " * rng.randint(0, 6000),
                              "text/html")
        if path.startswith("/shop/static/"):
            return self._send(200, "/* bundle */" + " " * 2048, "application/javascript")
        return self._send(404, {"error": "no such route"})

    do_GET = do_POST = do_DELETE = do_HEAD = lambda self: self._dispatch()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client (nginx) that hung up is not worth a traceback on stderr.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--name", default="backend")
    args = ap.parse_args()
    server = Server((args.host, args.port), Handler)
    server.name = args.name
    server.faults = Faults()
    sys.stderr.write(f"{args.name} listening on {args.host}:{args.port}\n")
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
