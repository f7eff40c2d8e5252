"""Payloads carried inside envelopes (protocol v1), their schema checks and replay rules.

The payload is the decrypted plaintext (canonical JSON). Each message type has a fixed set
of fields; unknown or missing fields are refused, so a new field means a new version.
"""

from __future__ import annotations

import hmac
import operator
import os
import re
from collections.abc import Callable, Mapping, Set
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypedDict

from .encoding import MAX_SAFE_INTEGER, b64u_encode
from .errors import InvalidPayload, MalformedEnvelope, ReplayRejected, UnsupportedVersion

PROTOCOL_VERSION = 1
NONCE_LEN = 32
MAX_REPLY_TO_LEN = 512
MAX_ERROR_MESSAGE_LEN = 256
CLOCK_SKEW = timedelta(minutes=5)
MAX_REQUEST_TTL = timedelta(days=7)

MsgType = Literal["read_request", "reading", "error"]
MESSAGE_TYPES: tuple[MsgType, ...] = ("read_request", "reading", "error")
# Which side sends which type: readings and errors come from meters, requests from the server.
METER_MESSAGE_TYPES: tuple[MsgType, ...] = ("reading", "error")

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_TIMESTAMP_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_PERIOD_PATTERN = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_ERROR_CODE_PATTERN = re.compile(r"[a-z0-9_]{1,64}")
_URL_PATTERN = re.compile(r"https?://[!-~]+")  # printable ASCII, no spaces
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class ReadRequest(TypedDict):
    v: int
    nonce: str
    run_id: str
    meter_id: str
    period: str
    issued_at: str
    expires_at: str
    reply_to: str


class Reading(TypedDict):
    v: int
    nonce: str
    run_id: str
    meter_id: str
    counter: int
    register_wh: int
    read_at: str


class ErrorReport(TypedDict):
    v: int
    nonce: str
    meter_id: str
    code: str
    message: str


# ---------------------------------------------------------------- timestamps


def format_timestamp(moment: datetime) -> str:
    """UTC, whole seconds, ISO 8601 with a Z suffix: 2025-01-31T10:00:00Z."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    if not _TIMESTAMP_PATTERN.fullmatch(text):
        raise ValueError(f"not a UTC timestamp YYYY-MM-DDTHH:MM:SSZ: {text!r}")
    return datetime.fromisoformat(text)  # the pattern above already pinned the format


# ---------------------------------------------------------------- field checks

FieldCheck = Callable[[Any], bool]


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


# 32 bytes = 43 base64url characters; the last one carries 4 bits and 2 zero bits.
_NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")


def _is_nonce(value: Any) -> bool:
    return isinstance(value, str) and _NONCE_PATTERN.fullmatch(value) is not None


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_timestamp(value)
    except ValueError:
        return False
    return True


def _is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_SAFE_INTEGER


def _is_period(value: Any) -> bool:
    return isinstance(value, str) and _PERIOD_PATTERN.fullmatch(value) is not None


def _is_url(value: Any) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= MAX_REPLY_TO_LEN
        and _URL_PATTERN.fullmatch(value) is not None
    )


def _is_error_code(value: Any) -> bool:
    return isinstance(value, str) and _ERROR_CODE_PATTERN.fullmatch(value) is not None


def _is_error_message(value: Any) -> bool:
    # Printable only: no control characters for logs and admin pages, no lone surrogates.
    return isinstance(value, str) and len(value) <= MAX_ERROR_MESSAGE_LEN and value.isprintable()


def _is_version(value: Any) -> bool:
    return type(value) is int


SCHEMAS: dict[str, dict[str, FieldCheck]] = {
    "read_request": {
        "v": _is_version,
        "nonce": _is_nonce,
        "run_id": _is_id,
        "meter_id": _is_id,
        "period": _is_period,
        "issued_at": _is_timestamp,
        "expires_at": _is_timestamp,
        "reply_to": _is_url,
    },
    "reading": {
        "v": _is_version,
        "nonce": _is_nonce,
        "run_id": _is_id,
        "meter_id": _is_id,
        "counter": _is_count,
        "register_wh": _is_count,
        "read_at": _is_timestamp,
    },
    "error": {
        "v": _is_version,
        "nonce": _is_nonce,
        "meter_id": _is_id,
        "code": _is_error_code,
        "message": _is_error_message,
    },
}


_READ_REQUEST_KEYS = SCHEMAS["read_request"].keys()
# The checks after the version, in schema order (the version is checked first, by itself).
_FIELD_CHECKS = {
    msg_type: tuple((name, check) for name, check in schema.items() if name != "v")
    for msg_type, schema in SCHEMAS.items()
}


def validate_payload(msg_type: str, payload: Mapping[str, Any]) -> None:
    """Check a payload against the schema of its type; raises InvalidPayload/UnsupportedVersion."""
    schema = SCHEMAS.get(msg_type)
    if schema is None:
        raise MalformedEnvelope("unknown_type", f"unknown message type {msg_type!r}")
    version = payload.get("v")
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise UnsupportedVersion("unsupported_version", "payload v must be 1")
    if payload.keys() != schema.keys():
        _raise_field_set_error(msg_type, schema.keys(), payload.keys())
    for name, check in _FIELD_CHECKS[msg_type]:
        if not check(payload[name]):
            raise InvalidPayload("payload_bad_field", f"{msg_type}.{name} is invalid")


# A reading in the canonical encoding that conforming meters send (sorted keys, no spaces,
# strings that need no escaping, plain decimal integers). The field patterns are the very
# ones validate_payload applies, so a match leaves only what a pattern cannot say: the
# integer range and the calendar date of read_at. Any other text, valid or not, goes to
# the strict JSON parser and validate_payload, which accept the same readings.
_DECIMAL = "0|[1-9][0-9]{0,15}"
_CANONICAL_READING = re.compile(
    f'{{"counter":(?P<counter>{_DECIMAL}),"meter_id":"(?P<meter_id>{ID_PATTERN.pattern})",'
    f'"nonce":"(?P<nonce>{_NONCE_PATTERN.pattern})",'
    f'"read_at":"(?P<read_at>{_TIMESTAMP_PATTERN.pattern})",'
    f'"register_wh":(?P<register_wh>{_DECIMAL}),"run_id":"(?P<run_id>{ID_PATTERN.pattern})",'
    f'"v":{PROTOCOL_VERSION}}}'
)


def parse_canonical_reading(plaintext: bytes) -> dict[str, Any] | None:
    """The valid reading ``plaintext`` encodes canonically, or None (then parse it strictly)."""
    try:
        match = _CANONICAL_READING.fullmatch(plaintext.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    if match is None:
        return None
    counter_text, meter_id, nonce, read_at, register_text, run_id = match.groups()
    counter, register_wh = int(counter_text), int(register_text)
    if counter > MAX_SAFE_INTEGER or register_wh > MAX_SAFE_INTEGER:
        return None
    try:
        datetime.fromisoformat(read_at)  # the pattern pinned the format, not the date
    except ValueError:
        return None
    return {"counter": counter, "meter_id": meter_id, "nonce": nonce, "read_at": read_at,
            "register_wh": register_wh, "run_id": run_id, "v": PROTOCOL_VERSION}


# A valid read request in canonical form. The value patterns are validate_payload()'s own,
# except that reply_to also excludes '"' and '\\', the two printable characters JSON escapes.
_CANONICAL_READ_REQUEST = re.compile(
    f'{{"expires_at":"{_TIMESTAMP_PATTERN.pattern}","issued_at":"{_TIMESTAMP_PATTERN.pattern}",'
    f'"meter_id":"{ID_PATTERN.pattern}","nonce":"{_NONCE_PATTERN.pattern}",'
    f'"period":"{_PERIOD_PATTERN.pattern}","reply_to":"https?://[!#-\\[\\]-~]+",'
    f'"run_id":"{ID_PATTERN.pattern}","v":{PROTOCOL_VERSION}}}'
)
_READ_REQUEST_TEXTS = operator.itemgetter(
    "expires_at", "issued_at", "meter_id", "nonce", "period", "reply_to", "run_id"
)


def canonical_read_request(request: Mapping[str, Any]) -> bytes | None:
    """The canonical plaintext of ``request`` if it is a valid read request, else None (then
    validate_payload() names what is wrong, or the general encoder writes it).

    The members go into a template in canonical order; one pattern match then checks every
    value as validate_payload() would, and that none needs escaping (a value with a quote
    would add quotes the pattern does not allow). Unit tests compare with the general path.
    """
    if request.keys() != _READ_REQUEST_KEYS or type(request["v"]) is not int:
        return None
    texts = _READ_REQUEST_TEXTS(request)
    if set(map(type, texts)) != {str} or len(texts[5]) > MAX_REPLY_TO_LEN:
        return None
    expires_at, issued_at, meter_id, nonce, period, reply_to, run_id = texts
    text = (
        f'{{"expires_at":"{expires_at}","issued_at":"{issued_at}","meter_id":"{meter_id}",'
        f'"nonce":"{nonce}","period":"{period}","reply_to":"{reply_to}","run_id":"{run_id}",'
        f'"v":{request["v"]}}}'
    )
    if _CANONICAL_READ_REQUEST.fullmatch(text) is None:
        return None
    try:
        datetime.fromisoformat(expires_at)  # the pattern pinned the format, not the date
        datetime.fromisoformat(issued_at)
    except ValueError:
        return None
    return text.encode()


def _raise_field_set_error(msg_type: str, expected: Set[str], present: Set[str]) -> None:
    missing = expected - present
    if missing:
        raise InvalidPayload("payload_missing_field", f"{msg_type} lacks {sorted(missing)}")
    unknown = present - expected
    raise InvalidPayload("payload_unknown_field", f"{msg_type} has unknown {sorted(unknown)}")


# ---------------------------------------------------------------- builders


def new_nonce() -> str:
    """256 bits from the OS CSPRNG, unpadded base64url (43 characters)."""
    return b64u_encode(os.urandom(NONCE_LEN))


def new_read_request(
    *,
    run_id: str,
    meter_id: str,
    period: str,
    reply_to: str,
    now: datetime,
    ttl: timedelta,
) -> ReadRequest:
    """A read request with a fresh nonce, valid from ``now`` for ``ttl``."""
    if not timedelta(0) < ttl <= MAX_REQUEST_TTL:
        raise ValueError("ttl must be positive and at most MAX_REQUEST_TTL")
    request: ReadRequest = {
        "v": PROTOCOL_VERSION,
        "nonce": new_nonce(),
        "run_id": run_id,
        "meter_id": meter_id,
        "period": period,
        "issued_at": format_timestamp(now),
        "expires_at": format_timestamp(now + ttl),
        "reply_to": reply_to,
    }
    validate_payload("read_request", request)
    return request


# ---------------------------------------------------------------- replay rules


def check_read_request(request: Mapping[str, Any], *, meter_id: str, now: datetime) -> None:
    """What a meter checks before answering an authentic request (raises ReplayRejected)."""
    if request["meter_id"] != meter_id:
        raise ReplayRejected("meter_mismatch", "request is for another meter")
    issued = parse_timestamp(request["issued_at"])
    expires = parse_timestamp(request["expires_at"])
    if expires <= issued or expires - issued > MAX_REQUEST_TTL:
        raise ReplayRejected("bad_validity_window", "expires_at must follow issued_at by <= 7 days")
    if now + CLOCK_SKEW < issued:
        raise ReplayRejected("request_not_yet_valid", "issued_at is in the future")
    if now > expires:
        raise ReplayRejected("request_expired", "request expired")


def check_reading(
    reading: Mapping[str, Any],
    *,
    request: Mapping[str, Any],
    now: datetime,
    last_counter: int | None,
) -> None:
    """What the server checks before the conditional write that consumes ``request``.

    ``request`` is the outstanding request the server stored for this meter and nonce;
    ``last_counter`` is the counter of the meter's last accepted message (None if none).
    The single use of the request is enforced by the caller's conditional write.
    """
    if reading["meter_id"] != request["meter_id"]:
        raise ReplayRejected("meter_mismatch", "reading is from another meter")
    if not hmac.compare_digest(reading["nonce"], request["nonce"]):
        raise ReplayRejected("nonce_mismatch", "reading does not answer this request")
    if reading["run_id"] != request["run_id"]:
        raise ReplayRejected("run_mismatch", "reading names another billing run")
    if now > parse_timestamp(request["expires_at"]):
        raise ReplayRejected("request_expired", "reading arrived after the request expired")
    if last_counter is not None and reading["counter"] <= last_counter:
        raise ReplayRejected("counter_replay", "counter not above the last accepted counter")
    read_at = parse_timestamp(reading["read_at"])
    if read_at > now + CLOCK_SKEW:
        raise ReplayRejected("read_in_future", "read_at is in the future")
    if read_at + CLOCK_SKEW < parse_timestamp(request["issued_at"]):
        raise ReplayRejected("read_before_request", "read_at precedes the request")
