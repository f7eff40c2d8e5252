"""Byte and JSON encodings of the meter protocol: strict base64url and canonical JSON."""

from __future__ import annotations

import binascii
import json
from typing import Any

from .errors import InvalidPayload, MalformedEnvelope

# Integers must survive a round trip through any JSON implementation (IEEE double).
MAX_SAFE_INTEGER = 2**53 - 1

_URL_TO_STD = bytes.maketrans(b"-_", b"+/")
_STD_TO_URL = bytes.maketrans(b"+/", b"-_")

_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def b64u_encode(data: bytes) -> str:
    """base64url (RFC 4648 section 5) without padding."""
    return binascii.b2a_base64(data, newline=False).translate(_STD_TO_URL).rstrip(b"=").decode()


def b64u_decode(text: object, *, field: str, length: int | None = None) -> bytes:
    """Decode strict base64url: no padding, no foreign characters, canonical trailing bits.

    Re-encoding and comparing rejects every non-canonical spelling at once, so one byte
    string has exactly one accepted text form.
    """
    if not isinstance(text, str):
        raise MalformedEnvelope("bad_base64", f"{field} is not a string")
    try:
        encoded = text.encode("ascii")
        padding = b"=" * (-len(encoded) % 4)
        data = binascii.a2b_base64(encoded.translate(_URL_TO_STD) + padding, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedEnvelope("bad_base64", f"{field} is not base64url") from exc
    if binascii.b2a_base64(data, newline=False).translate(_STD_TO_URL).rstrip(b"=") != encoded:
        raise MalformedEnvelope("bad_base64", f"{field} is not canonical unpadded base64url")
    if length is not None and len(data) != length:
        raise MalformedEnvelope("bad_field_length", f"{field} must decode to {length} bytes")
    return data


def _is_plain_scalar(value: object) -> bool:
    """A str, or an int (not bool) in the safe range: the common, flat case, checked fast."""
    if type(value) is str:
        return True
    return type(value) is int and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER


def _check_canonical_value(value: object) -> None:
    """Allow only objects, arrays, strings and safe integers (no float, bool or null)."""
    if _is_plain_scalar(value) or isinstance(value, str):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidPayload("non_canonical_value", f"object key {key!r} is not a string")
            if not _is_plain_scalar(item):
                _check_canonical_value(item)
    elif isinstance(value, list):
        for item in value:
            _check_canonical_value(item)
    elif type(value) is int:
        raise InvalidPayload("non_canonical_value", f"integer {value} out of range")
    else:
        raise InvalidPayload("non_canonical_value", f"{type(value).__name__} is not allowed")


def canonical_json(obj: dict[str, Any]) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, UTF-8, integers and strings only."""
    if not isinstance(obj, dict):
        raise InvalidPayload("non_canonical_value", "top level must be an object")
    _check_canonical_value(obj)
    try:
        return _ENCODER.encode(obj).encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate has no UTF-8 form
        raise InvalidPayload("non_canonical_value", "string is not valid Unicode") from exc


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate object key")
    return result


def _reject_number(text: str) -> Any:
    raise ValueError(f"non-integer number {text!r}")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_reject_duplicates,
    parse_float=_reject_number,
    parse_constant=_reject_number,
)


def strict_json_object(raw: bytes | str, *, what: str) -> dict[str, Any]:
    """Parse a JSON object from UTF-8: no duplicate keys, no floats, no NaN/Infinity."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        obj = _DECODER.decode(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedEnvelope("bad_json", f"{what} is not strict JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise MalformedEnvelope("bad_json", f"{what} is not a JSON object")
    return obj
