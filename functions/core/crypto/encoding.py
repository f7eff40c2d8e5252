"""Byte and JSON encodings of the meter protocol: strict base64url and canonical JSON."""

from __future__ import annotations

import binascii
import json
import json.scanner
from collections.abc import Mapping
from typing import Any

from .errors import InvalidPayload, MalformedEnvelope

# Integers must survive a round trip through any JSON implementation (IEEE double).
MAX_SAFE_INTEGER = 2**53 - 1

# Decoding table: base64url's "-" and "_" become "+" and "/"; the standard alphabet's own
# "+", "/" and "=" become "*", which strict a2b_base64 refuses like any foreign character.
_URL_TO_STD = bytes.maketrans(b"-_+/=", b"+/***")
_STD_TO_URL = bytes.maketrans(b"+/", b"-_")
# Padding that completes a base64url text of each length mod 4 (1 is invalid whatever follows).
_PADDING = (b"", b"===", b"==", b"=")
# By text length mod 4, the characters a last character may be: the unused low bits must be
# zero (length = 2 leaves 4 unused bits, length = 3 leaves 2, length = 0 none).
_B64U_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_CANONICAL_LAST: tuple[frozenset[str], ...] = (
    frozenset(_B64U_ALPHABET),
    frozenset(),
    frozenset(_B64U_ALPHABET[::16]),
    frozenset(_B64U_ALPHABET[::4]),
)

_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def b64u_encode(data: bytes) -> str:
    """base64url (RFC 4648 section 5) without padding."""
    return binascii.b2a_base64(data, newline=False).translate(_STD_TO_URL).rstrip(b"=").decode()


def b64u_decode(text: object, *, field: str, length: int | None = None) -> bytes:
    """Decode strict base64url: no padding, no foreign characters, canonical trailing bits.

    One byte string has exactly one accepted text form: besides the alphabet (checked by
    strict a2b_base64 after the translation above), the unused low bits of the last
    character must be zero. A unit test compares this with re-encoding and comparing.
    """
    if not isinstance(text, str):
        raise MalformedEnvelope("bad_base64", f"{field} is not a string")
    tail = len(text) % 4
    try:
        data = binascii.a2b_base64(
            text.encode("ascii").translate(_URL_TO_STD) + _PADDING[tail], strict_mode=True
        )
    except (binascii.Error, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise MalformedEnvelope("bad_base64", f"{field} is not base64url") from exc
    if text and text[-1] not in _CANONICAL_LAST[tail]:
        raise MalformedEnvelope("bad_base64", f"{field} is not canonical unpadded base64url")
    if length is not None and len(data) != length:
        raise MalformedEnvelope("bad_field_length", f"{field} must decode to {length} bytes")
    return data


def b64u_decode_all(*texts: str) -> list[bytes] | None:
    """Decode several texts at once if b64u_decode() accepts every one, else None."""
    decoded = []
    try:
        for text in texts:
            tail = len(text) % 4
            if text and text[-1] not in _CANONICAL_LAST[tail]:
                return None
            decoded.append(
                binascii.a2b_base64(
                    text.encode("ascii").translate(_URL_TO_STD) + _PADDING[tail],
                    strict_mode=True,
                )
            )
    except (binascii.Error, ValueError):
        return None
    return decoded


def _check_canonical_value(value: object) -> None:
    """Allow only objects, arrays, strings and safe integers (no float, bool or null)."""
    if isinstance(value, str):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidPayload("non_canonical_value", f"object key {key!r} is not a string")
            # The flat case (string or safe integer) inline: the protocol has no other.
            if type(item) is not str and not (
                type(item) is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER
            ):
                _check_canonical_value(item)
    elif isinstance(value, list):
        for item in value:
            _check_canonical_value(item)
    elif type(value) is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
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


def encode_validated_flat(obj: Mapping[str, Any]) -> bytes:
    """canonical_json() of an object whose values a schema already limited to strings and
    safe integers (validate_payload): the same bytes, without re-checking the types."""
    try:
        return _ENCODER.encode(obj if type(obj) is dict else dict(obj)).encode("utf-8")
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


# The C scanner behind _DECODER.decode(), with the same hooks and strictness.
_SCAN_ONCE = json.scanner.make_scanner(_DECODER)  # type: ignore[arg-type]  # (stub too narrow)


def _strict_loads(text: str) -> Any:
    """_DECODER.decode(text); a value with nothing around it skips decode's Python wrapper."""
    try:
        obj, end = _SCAN_ONCE(text, 0)
    except StopIteration:  # leading whitespace or no value: decode() reports or skips it
        end = -1
    if end == len(text):
        return obj
    return _DECODER.decode(text)  # whitespace around the value, or trailing data to refuse


def strict_json_object(raw: bytes | str, *, what: str) -> dict[str, Any]:
    """Parse a JSON object from UTF-8: no duplicate keys, no floats, no NaN/Infinity."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        obj = _strict_loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedEnvelope("bad_json", f"{what} is not strict JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise MalformedEnvelope("bad_json", f"{what} is not a JSON object")
    return obj
