"""Serve the Chalice app over HTTP on 127.0.0.1 (what `chalice local` does),
in-process so tests and `make run` share one adapter.

One difference from stock `chalice local` is deliberate: an authorizer that
fails with "Unauthorized" answers 401, as API Gateway does, instead of
dropping the connection.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalDevServer,
    LocalGatewayException,
    ThreadedHTTPServer,
)

from functions.api.http import (
    GATEWAY_ERROR_CODES,
    SECURITY_HEADERS,
    UNAUTHORIZED_BODY,
    Unauthenticated,
)
from functions.core.settings import get_settings


def gateway_error_body(status: int, body: bytes | None) -> bytes:
    """The gateway's own answer in the API's one error body (as infra's gateway response
    templates write it): {"error", "message"}."""
    try:
        message = str(json.loads(body or b"{}").get("message") or "")
    except (ValueError, AttributeError):
        message = ""
    code = GATEWAY_ERROR_CODES.get(status, "bad_request" if status < 500 else "internal")
    return json.dumps({"error": code, "message": message or code}).encode()


class GatewayLikeHandler(ChaliceRequestHandler):
    def _generic_handle(self) -> None:
        try:
            super()._generic_handle()
        except Unauthenticated:
            body = json.dumps(UNAUTHORIZED_BODY).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            # As the API Gateway UNAUTHORIZED gateway response must: the portal can read it.
            self.send_header("Access-Control-Allow-Origin", get_settings().portal_origin)
            self.send_header("Content-Length", str(len(body)))
            for name, value in SECURITY_HEADERS.items():  # as infra's gateway responses
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    def _send_error_response(self, error: LocalGatewayException) -> None:
        # The gateway's own answers (no token, unknown route), as infra's DEFAULT_4XX
        # gateway response sends them: readable by the portal, with the security headers.
        error.headers = {"Access-Control-Allow-Origin": get_settings().portal_origin,
                         **SECURITY_HEADERS, **(error.headers or {})}
        error.body = gateway_error_body(error.CODE, error.body)
        super()._send_error_response(error)

    # The base class binds do_GET etc. to *its* _generic_handle; rebind to ours.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the app logs structured JSON itself


def make_server(app: Chalice, host: str = "127.0.0.1", port: int = 8000) -> LocalDevServer:
    config = Config.create(chalice_stage="local", app_name=app.app_name)
    # What chalice.local.create_local_server does: give the app thread-local requests.
    if not isinstance(app, LocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=GatewayLikeHandler,
                          server_cls=ThreadedHTTPServer)


class ApiThread:
    def __init__(self, app: Chalice, host: str = "127.0.0.1", port: int = 8000) -> None:
        self.server = make_server(app, host, port)
        self.port = self.server.server.server_address[1]
        self.thread = threading.Thread(target=self.server.server.serve_forever, daemon=True,
                                       name="api")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server.server_close()
