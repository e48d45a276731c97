#!/usr/bin/env python3
"""A reverse proxy for working on the dashboard without rebuilding the binary, and for
checking it under a path prefix: serves crates/serve/assets from disk under PREFIX with the
daemon's headers (its strict CSP included) and passes every other request under PREFIX to
the daemon, streams (the live updates) included.

    python3 tests/browser/devproxy.py --daemon http://127.0.0.1:9790 --listen 127.0.0.1:9800 \\
        --prefix /faultline/
    node tests/browser/check.mjs http://127.0.0.1:9800/faultline/ /tmp/shots TOKEN
"""

import argparse
import http.client
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "crates" / "serve" / "assets"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8"}
# The same policy as crates/serve/src/assets.rs.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-authenticate", "host"}


def handler(daemon, prefix):
    target = urllib.parse.urlsplit(daemon)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _asset(self, name):
            path = ASSETS / name
            if "/" in name or not path.is_file():
                return self._send(404, b"no such file", "text/plain")
            self._send(200, path.read_bytes(), TYPES.get(path.suffix, "application/octet-stream"),
                       {"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
                        "X-Content-Type-Options": "nosniff"})

        def _send(self, status, body, kind, headers=None):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _proxy(self, rest):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn.request(self.command, "/" + rest, body=body, headers=headers)
            r = conn.getresponse()
            self.send_response(r.status)
            streamed = r.getheader("Content-Length") is None
            for k, v in r.getheaders():
                if k.lower() not in HOP:
                    self.send_header(k, v)
            if streamed:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                while True:
                    chunk = r.read1(65536) if streamed else r.read()
                    if not chunk:
                        break
                    if streamed:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    else:
                        self.wfile.write(chunk)
                        break
                if streamed:
                    self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                conn.close()

        def _route(self):
            path = urllib.parse.urlsplit(self.path)
            if not path.path.startswith(prefix):
                return self._send(404, b"outside the prefix", "text/plain")
            rest = path.path[len(prefix):]
            if self.command == "GET" and rest in ("", "index.html"):
                return self._asset("index.html")
            if self.command == "GET" and rest.startswith("assets/"):
                return self._asset(rest[len("assets/"):])
            self._proxy(rest + (f"?{path.query}" if path.query else ""))

        do_GET = do_POST = do_DELETE = do_PUT = _route

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--daemon", required=True, help="the daemon's base URL")
    ap.add_argument("--listen", default="127.0.0.1:9800")
    ap.add_argument("--prefix", default="/faultline/")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    prefix = "/" + a.prefix.strip("/") + "/" if a.prefix.strip("/") else "/"
    server = ThreadingHTTPServer((host, int(port)), handler(a.daemon, prefix))
    server.daemon_threads = True
    print(f"http://{a.listen}{prefix} -> {a.daemon}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
