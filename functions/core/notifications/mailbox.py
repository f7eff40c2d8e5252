"""What a local AWS emulator captured instead of sending (the developer outbox).

Only the ``local`` stage uses it (GET /dev/outbox, `make outbox`): moto keeps sent
mail and SMS and shows them under /moto-api/data.json; LocalStack under /_aws/ses
and /_aws/sns/sms-messages. Plain HTTP to the emulator, nothing of devstack/: the
local launcher may plug in a faster reader (`use_reader`) for an emulator running
in its own process.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

Captured = dict[str, list[dict[str, Any]]]
Reader = Callable[[str], Captured]

_reader: Reader | None = None


def use_reader(reader: Reader | None) -> None:
    global _reader
    _reader = reader


def captured(endpoint: str) -> Captured:
    return (_reader or read_over_http)(endpoint)


def read_over_http(endpoint: str) -> Captured:
    if not endpoint.startswith(("http://127.0.0.1", "http://localhost")):
        raise ValueError("the developer outbox reads a local emulator only")
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=60) as resp:  # noqa: S310
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
    with urllib.request.urlopen(f"{endpoint}/_aws/ses", timeout=10) as resp:  # noqa: S310
        ses = json.load(resp).get("messages", [])
    with urllib.request.urlopen(f"{endpoint}/_aws/sns/sms-messages", timeout=10) as resp:  # noqa: S310
        sms_by_number = json.load(resp).get("sms_messages", {})
    return {
        "emails": [{"to": m.get("Destination", {}).get("ToAddresses", []),
                    "subject": m.get("Subject", ""),
                    "body": (m.get("Body") or {}).get("text_part") or "",
                    "source": m.get("Source", "")} for m in ses],
        "sms": [{"to": number, "message": m.get("Message", "")}
                for number, items in sms_by_number.items() for m in items],
    }
