"""Meters that take every read request and never answer: one local HTTP server
that accepts any POST with 202. The fleet-scale bench and the tests of large runs
point their meters' endpoints here, so the fan-out really delivers (sealed,
signed requests over HTTP) without a meter simulator's cost per meter."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Accept(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass  # one line per request would drown the bench's output


class SilentFleet:
    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> SilentFleet:
        threading.Thread(target=self.server.serve_forever, daemon=True,
                         name="silent-fleet").start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
