"""Device-facing routes: where meters post their signed, encrypted readings.

Public: a meter authenticates by its signature (with the key on record), not by a session.
Every refusal gets the same answer, 400 {"error": "rejected"} (413 for an oversized body),
so a sender learns nothing about which check failed; the reason is recorded for admins
(GET /admin/meter-rejections).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalice import Blueprint, Response
from pydantic import BaseModel

from functions.api.http import ROUTES, Access, json_response, route
from functions.core.crypto import MAX_ENVELOPE_BYTES
from functions.core.meters.intake import ReadingRejected, WireEnvelope, receive_reading

bp = Blueprint(__name__)
READINGS_PATH = "/device/readings"


class ReadingAccepted(BaseModel):
    status: str
    type: str


def _source_ip(request: Any) -> str | None:
    identity = (request.context or {}).get("identity") or {}
    ip = identity.get("sourceIp")
    return str(ip)[:64] if ip else None


def _raw_body(request: Any) -> bytes:
    raw = request.raw_body
    return raw.encode("utf-8") if isinstance(raw, str) else (raw or b"")


@route(bp, READINGS_PATH, methods=["POST"], access=Access.PUBLIC, response=ReadingAccepted,
       status=202, max_body=MAX_ENVELOPE_BYTES,
       summary="A meter's reading: a v1 envelope (docs/meter-protocol.md), at most 8 KiB")
def post_reading() -> Response:
    request = bp.current_request
    body = _raw_body(request)
    try:
        accepted = receive_reading(body, _source_ip(request))
    except ReadingRejected as rejection:
        if rejection.status == 413:
            return json_response({"error": "payload_too_large"}, 413)
        return json_response({"error": "rejected"}, 400)
    return json_response(ReadingAccepted(status="accepted", type=accepted.msg_type), 202)


# The body is parsed by the service (strictly, byte for byte), not by route(); describe it
# in /openapi.json all the same.
ROUTES[:] = [replace(doc, body=WireEnvelope) if doc.path == READINGS_PATH else doc
             for doc in ROUTES]
