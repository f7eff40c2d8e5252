"""Payloads carried inside envelopes (protocol v1 and v2), their schema checks and replay
rules.

The payload is the decrypted plaintext (canonical JSON). Each (version, message type) has a
fixed set of fields; unknown or missing fields are refused, so a new field means a new
version. A payload's ``v`` equals its envelope's. Version 2 adds the billing date to the
read request and answers it with the meter's billing snapshot (import, export, time-of-day
zones, maximum demand), docs/meter-protocol.md section 8.
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

PROTOCOL_VERSION = 1  # the first version; every version below is still spoken
PROTOCOL_V2 = 2
SUPPORTED_VERSIONS: tuple[int, ...] = (1, 2)
MAX_TOD_ZONES = 8
SNAPSHOT_SOURCES = ("snapshot", "live")
NONCE_LEN = 32
MAX_REPLY_TO_LEN = 512
MAX_ERROR_MESSAGE_LEN = 256
CLOCK_SKEW = timedelta(minutes=5)
MAX_REQUEST_TTL = timedelta(days=7)

MsgType = Literal["read_request", "reading", "error", "command", "command_ack"]
MESSAGE_TYPES: tuple[MsgType, ...] = ("read_request", "reading", "error", "command",
                                      "command_ack")
# Which side sends which type: readings and errors come from meters, requests from the server.
# (The answers to read requests, which the reading endpoint takes.)
METER_MESSAGE_TYPES: tuple[MsgType, ...] = ("reading", "error")
# Everything a meter signs, whose meter_id must be the envelope's sender: also the
# acknowledgement of a relay command (v2, section 8.5), the answer to a command's POST.
METER_SENT_TYPES: tuple[MsgType, ...] = ("reading", "error", "command_ack")
RELAY_OPERATIONS = ("disconnect", "reconnect")
RELAY_STATES = ("connected", "disconnected")
MAX_COMMAND_TTL = timedelta(days=1)

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


class ReadRequestV2(ReadRequest):
    billing_at: str  # the billing date's 00:00 IST, as a UTC time


class ReadingV2(TypedDict):
    v: int
    nonce: str
    run_id: str
    meter_id: str
    counter: int
    read_at: str
    source: str  # "snapshot" (latched at billing_at) | "live" (no snapshot for that date)
    snapshot_at: str  # when the registers below were latched
    import_wh: int
    export_wh: int
    tod_wh: list[int]  # cumulative Wh per time-of-day zone, zone 1 first
    md_w: int  # maximum demand of the billing period, W
    md_at: str  # end of the demand integration period in which md_w occurred


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


def _is_source(value: Any) -> bool:
    return value in SNAPSHOT_SOURCES and isinstance(value, str)


def _is_zone_list(value: Any) -> bool:
    return (type(value) is list and 1 <= len(value) <= MAX_TOD_ZONES
            and all(_is_count(item) for item in value))


def _is_operation(value: Any) -> bool:
    return isinstance(value, str) and value in RELAY_OPERATIONS


def _is_relay_state(value: Any) -> bool:
    return isinstance(value, str) and value in RELAY_STATES


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


# Version 2: the request names the billing date; the reading carries the billing snapshot.
SCHEMAS_V2: dict[str, dict[str, FieldCheck]] = {
    "read_request": {**SCHEMAS["read_request"], "billing_at": _is_timestamp},
    "reading": {
        "v": _is_version,
        "nonce": _is_nonce,
        "run_id": _is_id,
        "meter_id": _is_id,
        "counter": _is_count,
        "read_at": _is_timestamp,
        "source": _is_source,
        "snapshot_at": _is_timestamp,
        "import_wh": _is_count,
        "export_wh": _is_count,
        "tod_wh": _is_zone_list,
        "md_w": _is_count,
        "md_at": _is_timestamp,
    },
    "error": SCHEMAS["error"],
    # Remote disconnect/reconnect (prepaid): the server's command and the meter's signed
    # acknowledgement with its relay state, version 2 only (docs/meter-protocol.md 8.5).
    "command": {
        "v": _is_version,
        "command_id": _is_id,
        "nonce": _is_nonce,
        "meter_id": _is_id,
        "operation": _is_operation,
        "issued_at": _is_timestamp,
        "expires_at": _is_timestamp,
    },
    "command_ack": {
        "v": _is_version,
        "command_id": _is_id,
        "nonce": _is_nonce,
        "meter_id": _is_id,
        "relay": _is_relay_state,
        "acted_at": _is_timestamp,
    },
}
SCHEMAS_BY_VERSION: dict[int, dict[str, dict[str, FieldCheck]]] = {1: SCHEMAS, 2: SCHEMAS_V2}

_READ_REQUEST_KEYS = SCHEMAS["read_request"].keys()
_READ_REQUEST_V2_KEYS = SCHEMAS_V2["read_request"].keys()
# The checks after the version, in schema order (the version is checked first, by itself).
_FIELD_CHECKS = {
    (version, msg_type): tuple((name, check) for name, check in schema.items() if name != "v")
    for version, schemas in SCHEMAS_BY_VERSION.items() for msg_type, schema in schemas.items()
}


def validate_payload(msg_type: str, payload: Mapping[str, Any], version: int | None = None
                     ) -> None:
    """Check a payload against the schema of its type and version; raises
    InvalidPayload/UnsupportedVersion. ``version``: the envelope's, which the payload's ``v``
    must equal (None: any supported version)."""
    if msg_type not in MESSAGE_TYPES:
        raise MalformedEnvelope("unknown_type", f"unknown message type {msg_type!r}")
    payload_version = payload.get("v")
    if (type(payload_version) is not int or payload_version not in SCHEMAS_BY_VERSION
            or (version is not None and payload_version != version)
            or msg_type not in SCHEMAS_BY_VERSION[payload_version]):
        raise UnsupportedVersion("unsupported_version",
                                 f"payload v={payload_version!r} (envelope v={version!r})")
    schema = SCHEMAS_BY_VERSION[payload_version][msg_type]
    if payload.keys() != schema.keys():
        _raise_field_set_error(msg_type, schema.keys(), payload.keys())
    for name, check in _FIELD_CHECKS[(payload_version, msg_type)]:
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
_REQUEST_BODY_PATTERN = (
    f'"expires_at":"{_TIMESTAMP_PATTERN.pattern}","issued_at":"{_TIMESTAMP_PATTERN.pattern}",'
    f'"meter_id":"{ID_PATTERN.pattern}","nonce":"{_NONCE_PATTERN.pattern}",'
    f'"period":"{_PERIOD_PATTERN.pattern}","reply_to":"https?://[!#-\\[\\]-~]+",'
    f'"run_id":"{ID_PATTERN.pattern}"'
)
_CANONICAL_READ_REQUEST = re.compile(f'{{{_REQUEST_BODY_PATTERN},"v":1}}')
_CANONICAL_READ_REQUEST_V2 = re.compile(
    f'{{"billing_at":"{_TIMESTAMP_PATTERN.pattern}",{_REQUEST_BODY_PATTERN},"v":2}}')
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
    keys = request.keys()
    times: tuple[str, ...]
    if keys == _READ_REQUEST_KEYS:
        pattern, head, times = _CANONICAL_READ_REQUEST, "{", ()
    elif keys == _READ_REQUEST_V2_KEYS and type(request["billing_at"]) is str:
        billing_at = request["billing_at"]
        pattern, head, times = _CANONICAL_READ_REQUEST_V2, f'{{"billing_at":"{billing_at}",', (
            billing_at,)
    else:
        return None
    if type(request["v"]) is not int:
        return None
    texts = _READ_REQUEST_TEXTS(request)
    if set(map(type, texts)) != {str} or len(texts[5]) > MAX_REPLY_TO_LEN:
        return None
    expires_at, issued_at, meter_id, nonce, period, reply_to, run_id = texts
    text = (
        f'{head}"expires_at":"{expires_at}","issued_at":"{issued_at}","meter_id":"{meter_id}",'
        f'"nonce":"{nonce}","period":"{period}","reply_to":"{reply_to}","run_id":"{run_id}",'
        f'"v":{request["v"]}}}'
    )
    if pattern.fullmatch(text) is None:
        return None
    try:
        for moment in (expires_at, issued_at, *times):
            datetime.fromisoformat(moment)  # the pattern pinned the format, not the date
    except ValueError:
        return None
    return text.encode()


# A v2 reading in canonical form (keys in code-point order), as conforming meters send it.
_CANONICAL_READING_V2 = re.compile(
    f'{{"counter":({_DECIMAL}),"export_wh":({_DECIMAL}),"import_wh":({_DECIMAL}),'
    f'"md_at":"({_TIMESTAMP_PATTERN.pattern})","md_w":({_DECIMAL}),'
    f'"meter_id":"({ID_PATTERN.pattern})","nonce":"({_NONCE_PATTERN.pattern})",'
    f'"read_at":"({_TIMESTAMP_PATTERN.pattern})","run_id":"({ID_PATTERN.pattern})",'
    f'"snapshot_at":"({_TIMESTAMP_PATTERN.pattern})","source":"(snapshot|live)",'
    f'"tod_wh":\\[((?:{_DECIMAL})(?:,(?:{_DECIMAL})){{0,{MAX_TOD_ZONES - 1}}})\\],"v":2}}'
)


def parse_canonical_reading_v2(plaintext: bytes) -> dict[str, Any] | None:
    """parse_canonical_reading() for version 2: the valid reading or None."""
    try:
        match = _CANONICAL_READING_V2.fullmatch(plaintext.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    if match is None:
        return None
    (counter, export_wh, import_wh, md_at, md_w, meter_id, nonce, read_at, run_id,
     snapshot_at, source, zones) = match.groups()
    numbers = [int(counter), int(export_wh), int(import_wh), int(md_w)]
    tod_wh = [int(zone) for zone in zones.split(",")]
    if max(*numbers, *tod_wh) > MAX_SAFE_INTEGER:
        return None
    try:
        for moment in (md_at, read_at, snapshot_at):
            datetime.fromisoformat(moment)
    except ValueError:
        return None
    return {"counter": numbers[0], "export_wh": numbers[1], "import_wh": numbers[2],
            "md_at": md_at, "md_w": numbers[3], "meter_id": meter_id, "nonce": nonce,
            "read_at": read_at, "run_id": run_id, "snapshot_at": snapshot_at,
            "source": source, "tod_wh": tod_wh, "v": PROTOCOL_V2}


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
    billing_at: datetime | None = None,
) -> ReadRequest:
    """A read request with a fresh nonce, valid from ``now`` for ``ttl``: version 1, or
    version 2 (asking for the billing snapshot latched at ``billing_at``) if that is given."""
    if not timedelta(0) < ttl <= MAX_REQUEST_TTL:
        raise ValueError("ttl must be positive and at most MAX_REQUEST_TTL")
    request: dict[str, Any] = {} if billing_at is None else {
        "billing_at": format_timestamp(billing_at)}
    request |= {
        "v": PROTOCOL_VERSION if billing_at is None else PROTOCOL_V2,
        "nonce": new_nonce(),
        "run_id": run_id,
        "meter_id": meter_id,
        "period": period,
        "issued_at": format_timestamp(now),
        "expires_at": format_timestamp(now + ttl),
        "reply_to": reply_to,
    }
    validate_payload("read_request", request)
    return request  # type: ignore[return-value]  # a ReadRequest or a ReadRequestV2


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
