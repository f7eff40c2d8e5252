"""Serve the built portal (site/) on 127.0.0.1, as S3 static hosting would."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from frontend.headers import PORTAL_HEADERS


class QuietHandler(SimpleHTTPRequestHandler):
    """Static files with the headers CloudFront adds in the cloud (frontend/headers.py)."""

    def end_headers(self) -> None:
        for name, value in PORTAL_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class StaticSite:
    def __init__(self, root: Path, port: int = 8080) -> None:
        handler = functools.partial(QuietHandler, directory=str(root))
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="site")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StaticSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
