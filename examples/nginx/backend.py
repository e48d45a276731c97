#!/usr/bin/env python3
"""A small application server that the proxy (nginx or Apache httpd) forwards to in the
example setup.

One process serves one loopback port. It answers the routes of the two example sites
(api.example.test and shop.example.test) with small JSON or HTML bodies and a few
milliseconds of simulated work, and writes its own application log (--app-log): Python
`logging` lines such as

    2026-11-25 01:02:03,456 +0000 ERROR [users-1] shopd.views: Exception on ...
    Traceback (most recent call last):
      ...

Faults are switched on and off at run time through a control endpoint that is reached
directly on the backend's port (never through the proxy, so it does not appear in the
access log):

    POST   /__fault   {"route": "/api/search", "delay": 3.0}
    POST   /__fault   {"route": "/api/users/*/orders", "error_rate": 0.4}
    POST   /__fault   {"route": "/api/inventory/*", "db_hold": 1.0}
    POST   /__fault   {"route": "/shop/reviews/*", "abort": "reset"}
    POST   /__fault   {"route": "/shop/account", "big_header": 16384}
    POST   /__fault   {"tls": "expired"}
    DELETE /__fault   clears every fault (and serves the valid certificate again)

`route` is a glob over the request path (without the query string).

* `delay`: sleep before answering (longer than the proxy's read timeout).
* `error_rate`: that share of requests runs the orders serializer on records without a
  currency; the KeyError is unhandled, logged with its traceback, answered as 500.
* `db_hold`: the inventory handler holds its database connection that many seconds (a
  slow query). The process has a SQLAlchemy QueuePool of one connection without overflow
  and a 0.2 s checkout timeout (--db), so concurrent requests fail with the real
  sqlalchemy.exc.TimeoutError, logged with its traceback and answered as 500.
* `abort`: the connection is dropped before an answer: "reset" closes it with a TCP RST,
  "eof" sends the status line and part of the header and closes it, "mixed" alternates
  the two, "truncate" sends the whole header with a Content-Length and half the body.
* `big_header`: the answer carries a Set-Cookie header of that many bytes.
* `tls`: with --tls-dir, new connections are served with the expired certificate
  (expired.crt) instead of the valid one (valid.crt).

Standard library only, except SQLAlchemy for --db.
"""

import argparse
import fnmatch
import itertools
import json
import logging
import os
import random
import re
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

log = logging.getLogger("shopd.views")
server_log = logging.getLogger("shopd.server")
db_log = logging.getLogger("shopd.db")


class AppLogFormatter(logging.Formatter):
    """`2026-11-25 01:02:03,456 +0000 LEVEL [name] logger: message`, UTC, traceback after."""

    converter = time.gmtime

    def __init__(self, name):
        super().__init__(f"%(asctime)s %(levelname)s [{name}] %(name)s: %(message)s")

    def formatTime(self, record, datefmt=None):
        ct = self.converter(record.created)
        return (time.strftime("%Y-%m-%d %H:%M:%S", ct) + f",{int(record.msecs):03d} "
                + time.strftime("%z", ct))


def setup_logging(name, path):
    handler = logging.FileHandler(path) if path else logging.StreamHandler(sys.stderr)
    handler.setFormatter(AppLogFormatter(name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


class Faults:
    """The faults currently switched on, shared by all handler threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self.tls = "valid"

    def set(self, fault):
        with self._lock:
            if "tls" in fault:
                self.tls = fault["tls"]
            if "route" in fault:
                self._faults = [f for f in self._faults if f["route"] != fault["route"]]
                self._faults.append(fault)

    def clear(self):
        with self._lock:
            self._faults = []
            self.tls = "valid"

    def match(self, path):
        with self._lock:
            for fault in self._faults:
                if fnmatch.fnmatchcase(path, fault["route"]):
                    return dict(fault)
        return None

    def snapshot(self):
        with self._lock:
            return {"faults": list(self._faults), "tls": self.tls}


def serialize_orders(orders):
    """The orders serializer: since the last release it expects a currency on every order."""
    return [{"id": o["id"], "total": f'{o["total"]:.2f} {o["currency"]}'} for o in orders]


def load_orders(user_id, rng, legacy):
    """Orders of a user; `legacy` ones (imported before currencies existed) have none."""
    orders = []
    for n in range(rng.randint(1, 4)):
        order = {"id": user_id * 10 + n, "total": round(rng.uniform(5, 400), 2)}
        if not legacy or n % 2:
            order["currency"] = "EUR"
        orders.append(order)
    return orders


class Database:
    """The inventory database: sqlite behind a SQLAlchemy QueuePool of one connection."""

    def __init__(self, path, pool_timeout):
        try:
            import sqlalchemy
            from sqlalchemy.pool import QueuePool
        except ImportError:
            sys.exit("backend.py: --db needs SQLAlchemy (pip install SQLAlchemy, or "
                     "pip install -r tests/e2e/requirements.txt)")
        self.sa = sqlalchemy
        self.engine = sqlalchemy.create_engine(
            f"sqlite:///{path}", poolclass=QueuePool, pool_size=1, max_overflow=0,
            pool_timeout=pool_timeout, connect_args={"check_same_thread": False})
        rng = random.Random(7)
        with self.engine.begin() as conn:
            conn.execute(sqlalchemy.text(
                "CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, qty INTEGER, "
                "warehouse TEXT)"))
            conn.execute(sqlalchemy.text("DELETE FROM stock"))
            conn.execute(
                sqlalchemy.text("INSERT INTO stock VALUES (:sku, :qty, :wh)"),
                [{"sku": f"SKU-{n}", "qty": rng.randint(0, 80), "wh": rng.choice("ABC")}
                 for n in range(10000, 10400)])
        db_log.info("database %s: QueuePool size=1 max_overflow=0 timeout=%.2f s",
                    os.path.basename(path), pool_timeout)

    def stock(self, sku, hold):
        with self.engine.connect() as conn:
            row = conn.execute(self.sa.text(
                "SELECT qty, warehouse FROM stock WHERE sku = :sku"), {"sku": sku}).first()
            if hold:
                time.sleep(hold)       # the slow query: the connection stays checked out
            return row


class Handler(BaseHTTPRequestHandler):
    server_version = "shopd/2.3.1"
    sys_version = ""

    # -- plumbing ---------------------------------------------------------
    def log_message(self, fmt, *args):  # the proxy keeps the access log
        pass

    def _send(self, status, body, ctype="application/json", extra=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        data = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Backend", self.server.name)
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            # The proxy gave up on us (its read timeout) and closed the connection.
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
            if "route" not in fault and "tls" not in fault:
                return self._send(400, {"error": "route or tls is required"})
            if fault.get("tls") not in (None, *self.server.contexts):
                return self._send(400, {"error": "no such certificate"})
            self.server.faults.set(fault)
        return self._send(200, self.server.faults.snapshot())

    # -- faults that break the connection ---------------------------------
    def _abort(self, mode):
        if mode == "mixed":
            mode = "reset" if next(self.server.abort_turn) % 2 else "eof"
        sock = self.connection
        try:
            if mode == "reset":
                # SO_LINGER with a zero timeout: close() sends a RST instead of a FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif mode == "eof":
                self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n")
                self.wfile.flush()
            elif mode == "truncate":
                self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 2048\r\n\r\n" + b"[" + b"0," * 500)
                self.wfile.flush()
            sock.close()
        except OSError:
            pass
        self.close_connection = True

    # -- application ------------------------------------------------------
    def _dispatch(self):
        url = urlsplit(self.path)
        path = url.path
        if path == "/__fault":
            return self._control()

        fault = self.server.faults.match(path) or {}
        rng = random.Random()
        if fault.get("abort"):
            return self._abort(fault["abort"])
        time.sleep(float(fault["delay"]) if fault.get("delay") else rng.uniform(0.003, 0.045))
        if self.command == "POST":
            self._read_body()
        try:
            return self._route(path, parse_qs(url.query), rng, fault)
        except Exception:
            # What a web framework does with an exception the view did not handle.
            rid = self.headers.get("X-Request-Id")
            log.exception("Exception on %s [%s]%s", path, self.command,
                          f" request_id={rid}" if rid else "")
            return self._send(500, {"error": "internal server error"})

    def _route(self, path, query, rng, fault):
        extra = []
        if fault.get("big_header"):
            extra.append(("Set-Cookie", "cart_state=" + "x" * int(fault["big_header"])
                          + "; Path=/; HttpOnly"))

        m = re.match(r"^/api/users/(\d+)(/orders)?$", path)
        if m:
            user_id = int(m.group(1))
            if user_id >= 900000:
                return self._send(404, {"error": "user not found"})
            if m.group(2):
                legacy = rng.random() < float(fault.get("error_rate", 0))
                orders = serialize_orders(load_orders(user_id, rng, legacy))
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

        m = re.match(r"^/api/inventory/(SKU-\d+)$", path)
        if m and self.server.db:
            row = self.server.db.stock(m.group(1), float(fault.get("db_hold", 0)))
            if row is None:
                return self._send(404, {"error": "unknown sku"})
            return self._send(200, {"sku": m.group(1), "qty": row[0], "warehouse": row[1]})

        m = re.match(r"^/shop/reviews/(\d+)$", path)
        if m:
            reviews = [{"stars": rng.randint(1, 5), "text": "fine " * rng.randint(1, 40)}
                       for _ in range(rng.randint(0, 6))]
            return self._send(200, {"product": int(m.group(1)), "reviews": reviews})

        m = re.match(rf"^/shop/checkout/({UUID_RE})$", path)
        if m:
            return self._send(200, {"payment": m.group(1),
                                    "state": rng.choice(["authorized", "captured", "settled"])})

        if path == "/shop/account":
            return self._send(200, "<html><body>account</body></html>" + " " * rng.randint(0, 3000),
                              "text/html", extra)
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
    request_queue_size = 128

    def finish_request(self, request, client_address):
        if not self.contexts:
            return super().finish_request(request, client_address)
        # TLS: the handshake runs in the request's thread, with the certificate in force
        # when the connection came in.
        ctx = self.contexts[self.faults.tls]
        request.settimeout(10)
        try:
            conn = ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLEOFError, ConnectionResetError):
            return          # connected and went away without a handshake: a port probe
        except (ssl.SSLError, OSError) as e:
            server_log.warning("TLS handshake with %s:%d failed: %s", *client_address[:2], e)
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            conn.close()

    def handle_error(self, request, client_address):
        # A client (the proxy) that hung up is not worth a traceback.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError, ssl.SSLError)):
            server_log.exception("error while serving %s:%d", *client_address[:2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--name", default="backend")
    ap.add_argument("--app-log", help="the application log (appended to; default stderr)")
    ap.add_argument("--db", help="sqlite file of the inventory database (needs SQLAlchemy)")
    ap.add_argument("--db-pool-timeout", type=float, default=0.2)
    ap.add_argument("--tls-dir", help="serve HTTPS with valid.crt/.key (and expired.crt/.key "
                                      "when switched) from this directory")
    args = ap.parse_args()
    setup_logging(args.name, args.app_log)

    contexts = {}
    if args.tls_dir:
        for which in ("valid", "expired"):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.path.join(args.tls_dir, f"{which}.crt"),
                                os.path.join(args.tls_dir, f"{which}.key"))
            contexts[which] = ctx
    db = Database(args.db, args.db_pool_timeout) if args.db else None

    server = Server((args.host, args.port), Handler)
    server.name = args.name
    server.faults = Faults()
    server.contexts = contexts
    server.db = db
    server.abort_turn = itertools.count()
    server_log.info("listening on %s:%d (%s)", args.host, args.port,
                    "https" if contexts else "http")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
