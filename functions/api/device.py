"""Device-facing routes: where meters post their signed, encrypted readings.

Public: a meter authenticates by its signature (with the key on record), not by a session.
Every refusal gets the same answer, 400 {"error": "rejected", "message": ...} (413 for an
oversized body, 415 for a body that is not application/json: REFUSALS), so a sender learns
nothing about which check failed; the reason is recorded for admins
(GET /admin/meter-rejections), 413 and 415 included. The route accepts every Content-Type
so that the service refuses (and records) the wrong ones itself, in the same body shape
(docs/meter-protocol.md section 12).
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
# The API's one error body, with a fixed text per status: nothing about which check failed.
REFUSALS: dict[int, dict[str, str]] = {
    400: {"error": "rejected", "message": "The reading was not accepted."},
    413: {"error": "payload_too_large",
          "message": f"A reading is at most {MAX_ENVELOPE_BYTES} bytes."},
    415: {"error": "unsupported_media_type",
          "message": "A reading is sent as application/json."},
}


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
       status=202, max_body=MAX_ENVELOPE_BYTES, content_types=["*/*"],
       summary="A meter's reading: a v1 or v2 envelope (docs/meter-protocol.md), at most "
               "8 KiB, Content-Type application/json")
def post_reading() -> Response:
    request = bp.current_request
    body = _raw_body(request)
    try:
        accepted = receive_reading(body, _source_ip(request),
                                   content_type=request.headers.get("content-type"))
    except ReadingRejected as rejection:
        status = rejection.status if rejection.status in REFUSALS else 400
        return json_response(REFUSALS[status], status)
    return json_response(ReadingAccepted(status="accepted", type=accepted.msg_type), 202)


# The body is parsed by the service (strictly, byte for byte), not by route(); describe it
# in /openapi.json all the same.
ROUTES[:] = [replace(doc, body=WireEnvelope) if doc.path == READINGS_PATH else doc
             for doc in ROUTES]
