"""One HTTP server (127.0.0.1 only) hosting many meters, each at its own URL.

    POST /meters/<serial>/read-requests   a read request envelope (from the platform), or a
                                          relay command (answered with its signed ack)
    GET  /meters                          every meter's status (control)
    GET  /meters/<serial>                 one meter's status (control)
    POST /meters/<serial>/provision       {"meter_id", "server_public_keys", "reading_url"?,
                                           "root_public_keys"?, "max_key_overlap_seconds"?,
                                           "tod_zone_starts"?} (the provisioning config)
    POST /meters/<serial>/config          {"behaviour"?, "register_wh"?, "daily_kwh"?}
    GET  /health

The control routes stand for what an installer does on site with physical access; the
server listens on the loopback interface only.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from device_client import crypto
from device_client.meter import Meter

MAX_BODY = crypto.MAX_ENVELOPE_BYTES
_METER_PATH = re.compile(r"^/meters/([A-Za-z0-9][A-Za-z0-9._:-]{0,63})(/[a-z-]+)?$")


class MeterHost:
    def __init__(self, meters: list[Meter], port: int = 0, host: str = "127.0.0.1") -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the simulator listens on the loopback interface only")
        self.meters = {m.serial: m for m in meters}
        self.httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def url(self, serial: str) -> str:
        return f"http://127.0.0.1:{self.port}/meters/{serial}/read-requests"

    def start(self) -> MeterHost:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       name="meter-host")
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        host = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "device-client/1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes | None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    return None
                return self.rfile.read(length)

            def do_GET(self) -> None:
                if self.path == "/health":
                    return self._send(200, {"status": "ok", "meters": len(host.meters)})
                if self.path == "/meters":
                    return self._send(200, [m.status() for m in host.meters.values()])
                meter, action = host._route(self.path)
                if meter is None or action:
                    return self._send(404, {"error": "not_found"})
                return self._send(200, meter.status())

            def do_POST(self) -> None:
                meter, action = host._route(self.path)
                if meter is None:
                    return self._send(404, {"error": "not_found"})
                body = self._body()
                if body is None:
                    return self._send(413, {"error": "too_large"})
                if action == "/read-requests":
                    # One endpoint for what the server sends; a relay command (v2) is
                    # answered at once with the meter's signed acknowledgement.
                    handle = (meter.handle_command if _is_command(body)
                              else meter.handle_read_request)
                    status, answer = handle(body, dict(self.headers.items()))
                    return self._send(status, answer)
                try:
                    data = json.loads(body or b"{}")
                    if action == "/provision":
                        meter.provision(
                            str(data["meter_id"]), list(data["server_public_keys"]),
                            data.get("reading_url"),
                            root_public_keys=data.get("root_public_keys"),
                            max_key_overlap_seconds=data.get("max_key_overlap_seconds"),
                            tod_zone_starts=data.get("tod_zone_starts"))
                    elif action == "/config":
                        meter.configure(dict(data))
                    else:
                        return self._send(404, {"error": "not_found"})
                except (ValueError, KeyError, TypeError, crypto.CryptoError) as error:
                    return self._send(400, {"error": "invalid", "message": str(error)})
                return self._send(200, meter.status())

        return Handler

    def _route(self, path: str) -> tuple[Meter | None, str | None]:
        match = _METER_PATH.match(unquote(path.split("?", 1)[0]))
        if not match:
            return None, None
        return self.meters.get(match.group(1)), match.group(2)


def _is_command(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("type") == "command"
