"""The embedded AWS emulator: moto's server, bound to 127.0.0.1 only."""

from __future__ import annotations

import logging
import socket
from typing import Any

from moto.server import ThreadedMotoServer

from devstack.moto_patches import serialize_dynamodb, serialize_sqs_deletes
from functions.core.notifications import mailbox
from functions.core.notifications.mailbox import read_over_http


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
        serialize_sqs_deletes()  # moto's deletes can drop a message sent meanwhile
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Emulator:
        # moto's werkzeug logs every request; the platform's own logs are what matter.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.server.start()
        _IN_PROCESS.add(self.url)
        # GET /dev/outbox in this process reads the captured mail from memory too.
        mailbox.use_reader(captured_messages)
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
    return read_over_http(endpoint)


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
