"""The embedded AWS emulator: moto's server, bound to 127.0.0.1 only."""

from __future__ import annotations

import json
import logging
import socket
import urllib.request
from typing import Any

from moto.server import ThreadedMotoServer

from devstack.moto_patches import serialize_dynamodb


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Emulators started in this process: their captured mail is read from memory,
# not through /moto-api/data.json (which serialises every object moto holds and
# grows slow as a test session piles up data).
_IN_PROCESS: set[str] = set()


class Emulator:
    def __init__(self, port: int = 5000) -> None:
        self.port = port or free_port()
        serialize_dynamodb()  # moto's transactions are not isolated from concurrent writes
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Emulator:
        # moto's werkzeug logs every request; the platform's own logs are what matter.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.server.start()
        _IN_PROCESS.add(self.url)
        return self

    def stop(self) -> None:
        _IN_PROCESS.discard(self.url)
        self.server.stop()


def captured_messages(endpoint: str) -> dict[str, list[dict[str, Any]]]:
    """Emails (SES) and SMS (SNS) the emulator kept instead of sending.

    moto exposes them under /moto-api/data.json; LocalStack under /_aws/ses and
    /_aws/sns/sms-messages.
    """
    if endpoint.rstrip("/") in _IN_PROCESS:
        return _captured_in_memory()
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=60) as resp:
            data = json.load(resp)
        emails = [{"to": m.get("destinations", {}).get("ToAddresses", []),
                   "subject": m.get("subject", ""), "body": m.get("body", ""),
                   "source": m.get("source", "")}
                  for m in data.get("ses", {}).get("Message", [])]
        sms = [{"to": m["phone_number"], "message": m["message"]}
               for m in data.get("sns", {}).get("SMS", [])]
        return {"emails": emails, "sms": sms}
    except urllib.error.HTTPError:
        pass
    with urllib.request.urlopen(f"{endpoint}/_aws/ses", timeout=10) as resp:
        ses = json.load(resp).get("messages", [])
    with urllib.request.urlopen(f"{endpoint}/_aws/sns/sms-messages", timeout=10) as resp:
        sms_by_number = json.load(resp).get("sms_messages", {})
    return {
        "emails": [{"to": m.get("Destination", {}).get("ToAddresses", []),
                    "subject": m.get("Subject", ""),
                    "body": (m.get("Body") or {}).get("text_part") or "",
                    "source": m.get("Source", "")} for m in ses],
        "sms": [{"to": number, "message": m.get("Message", "")}
                for number, items in sms_by_number.items() for m in items],
    }


def _captured_in_memory() -> dict[str, list[dict[str, Any]]]:
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    emails = [{"to": m.destinations.get("ToAddresses", []), "subject": m.subject,
               "body": m.body, "source": m.source}
              for regions in ses_backends.values() for backend in regions.values()
              for m in list(backend.sent_messages) if hasattr(m, "subject")]
    sms = [{"to": number, "message": text}
           for regions in sns_backends.values() for backend in regions.values()
           for number, text in list(backend.sms_messages.values())]
    return {"emails": emails, "sms": sms}
