"""Meter side of the secure channel: an independent implementation of protocols v1 and v2.

Specification: docs/meter-protocol.md. This module deliberately shares no code with the
server (functions/core/crypto): it uses the pure-Python ``ecdsa`` package for secp256k1
(ECDH by point multiplication, RFC 6979 ECDSA), ``pyaes`` for AES-256-CBC with PKCS#7
done here, and the standard library for SHA-256, HMAC, base64url and JSON parsing. The
test vectors check that both implementations produce and accept the same bytes.

Pure Python is not constant-time; this is a reference and simulator, and meter firmware
must use a side-channel-hardened library for its long-term key.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import os
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeAlias

import pyaes
from ecdsa import BadSignatureError, SECP256k1, SigningKey, VerifyingKey
from ecdsa.ellipticcurve import INFINITY, PointJacobi
from ecdsa.util import sigdecode_string, sigencode_string

PROTOCOL_VERSION = 1
PROTOCOL_V2 = 2
SUPPORTED_VERSIONS = (1, 2)
MAX_TOD_ZONES = 8
MAX_ENVELOPE_BYTES = 8192
MAX_PLAINTEXT_BYTES = 4096
MAX_SAFE_INTEGER = 2**53 - 1
CLOCK_SKEW = timedelta(minutes=5)
MAX_REQUEST_TTL = timedelta(days=7)
SERVER_SENDER_ID = "server"

_P = SECP256k1.curve.p()
_N = SECP256k1.order
_HALF_N = _N // 2
_BLOCK = 16


# ================================================================ errors (same reasons as server)


class CryptoError(Exception):
    default_reason = "crypto_error"

    def __init__(self, reason: str | None = None, detail: str = "") -> None:
        self.reason = reason or self.default_reason
        self.detail = detail
        super().__init__(f"{self.reason}: {detail}" if detail else self.reason)


class InvalidKey(CryptoError):
    default_reason = "invalid_key"


class MalformedEnvelope(CryptoError):
    default_reason = "malformed_envelope"


class UnsupportedVersion(MalformedEnvelope):
    default_reason = "unsupported_version"


class InvalidPayload(MalformedEnvelope):
    default_reason = "invalid_payload"


class BadSignature(CryptoError):
    default_reason = "bad_signature"


class BadMac(CryptoError):
    default_reason = "bad_mac"


class ReplayRejected(CryptoError):
    default_reason = "replay_rejected"


class StatementRejected(CryptoError):
    default_reason = "bad_statement"


# ================================================================ base64url and canonical JSON

_B64U_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64U_INDEX = {char: index for index, char in enumerate(_B64U_ALPHABET)}
_B64U_PATTERN = re.compile(r"[A-Za-z0-9_-]*")
_STANDARD_TO_URL = str.maketrans("+/", "-_")
_URL_TO_STANDARD = str.maketrans("-_", "+/")


def b64u_encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode().rstrip("=").translate(_STANDARD_TO_URL)


def b64u_decode(text: object, *, field: str, length: int | None = None) -> bytes:
    """Strict unpadded base64url: the unused low bits of the last character must be zero."""
    if not isinstance(text, str) or _B64U_PATTERN.fullmatch(text) is None:
        raise MalformedEnvelope("bad_base64", f"{field} is not base64url")
    tail = len(text) % 4
    if tail == 1:
        raise MalformedEnvelope("bad_base64", f"{field} has an impossible length")
    unused_bits_mask = {0: 0, 2: 0x0F, 3: 0x03}[tail]
    if text and _B64U_INDEX[text[-1]] & unused_bits_mask:
        raise MalformedEnvelope("bad_base64", f"{field} is not canonical base64url")
    standard = text.translate(_URL_TO_STANDARD) + "=" * ((4 - tail) % 4)
    data = binascii.a2b_base64(standard)
    if length is not None and len(data) != length:
        raise MalformedEnvelope("bad_field_length", f"{field} must decode to {length} bytes")
    return data


_JSON_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _encode_string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _JSON_SHORT_ESCAPES:
            out.append(_JSON_SHORT_ESCAPES[char])
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            raise InvalidPayload("non_canonical_value", "lone surrogate in string")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _encode_value(value: object) -> str:
    if isinstance(value, str):
        return _encode_string(value)
    if type(value) is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise InvalidPayload("non_canonical_value", "integer out of range")
        return str(value)
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise InvalidPayload("non_canonical_value", "object keys must be strings")
        members = (f"{_encode_string(key)}:{_encode_value(value[key])}" for key in sorted(value))
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode_value(item) for item in value) + "]"
    raise InvalidPayload("non_canonical_value", f"{type(value).__name__} is not allowed")


def canonical_json(obj: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8; only objects, arrays, strings and safe integers."""
    if not isinstance(obj, Mapping):
        raise InvalidPayload("non_canonical_value", "top level must be an object")
    return _encode_value(dict(obj)).encode("utf-8")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_non_integers(text: str) -> Any:
    raise ValueError(f"number {text!r} is not an integer")


def _parse_json_object(raw: bytes | str, *, what: str) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        obj = json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_float=_no_non_integers,
            parse_constant=_no_non_integers,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedEnvelope("bad_json", f"{what}: {exc}") from exc
    if not isinstance(obj, dict):
        raise MalformedEnvelope("bad_json", f"{what} is not a JSON object")
    return obj


# ================================================================ keys

KeyLike: TypeAlias = "SigningKey | VerifyingKey | bytes"


def generate_private_key() -> SigningKey:
    return SigningKey.generate(curve=SECP256k1, hashfunc=hashlib.sha256)


def load_private_key(data: str | bytes) -> SigningKey:
    """32 raw bytes, 64 hex digits or unpadded base64url; the scalar must be in [1, n-1]."""
    if isinstance(data, bytes):
        raw = data
    elif len(data.strip()) == 64:
        try:
            raw = bytes.fromhex(data.strip())
        except ValueError as exc:
            raise InvalidKey("privkey_encoding", "bad hex") from exc
    else:
        try:
            raw = b64u_decode(data.strip(), field="private key")
        except MalformedEnvelope as exc:
            raise InvalidKey("privkey_encoding", "bad base64url") from exc
    if len(raw) != 32:
        raise InvalidKey("privkey_encoding", "private key must be 32 bytes")
    if not 1 <= int.from_bytes(raw, "big") < _N:
        raise InvalidKey("privkey_range", "scalar must be in [1, n-1]")
    return SigningKey.from_string(raw, curve=SECP256k1, hashfunc=hashlib.sha256)


def private_key_hex(key: SigningKey) -> str:
    return bytes(key.to_string()).hex()


def private_key_b64(key: SigningKey) -> str:
    return b64u_encode(key.to_string())


def load_public_key(data: bytes) -> VerifyingKey:
    """Decompress and validate a 33-byte SEC 1 point: x < p and x^3 + 7 a square mod p."""
    if not isinstance(data, bytes) or len(data) != 33:
        raise InvalidKey("pubkey_length", "public key must be 33 bytes (compressed SEC 1)")
    if data[0] not in (2, 3):
        raise InvalidKey("pubkey_prefix", f"prefix 0x{data[0]:02x} is not 0x02 or 0x03")
    x = int.from_bytes(data[1:], "big")
    if x >= _P:
        raise InvalidKey("pubkey_not_on_curve", "x is not below the field prime")
    y_squared = (pow(x, 3, _P) + 7) % _P
    y = pow(y_squared, (_P + 1) // 4, _P)  # square root, valid because p = 3 mod 4
    if y * y % _P != y_squared:
        raise InvalidKey("pubkey_not_on_curve", "x^3 + 7 is not a square mod p")
    if y & 1 != data[0] & 1:
        y = _P - y
    point = PointJacobi(SECP256k1.curve, x, y, 1, _N)
    return VerifyingKey.from_public_point(point, curve=SECP256k1, hashfunc=hashlib.sha256)


def load_public_key_b64(text: str) -> VerifyingKey:
    try:
        return load_public_key(b64u_decode(text, field="public key"))
    except MalformedEnvelope as exc:
        raise InvalidKey("pubkey_encoding", "public key is not base64url") from exc


def public_key_bytes(key: KeyLike) -> bytes:
    if isinstance(key, SigningKey):
        key = key.get_verifying_key()
    if isinstance(key, VerifyingKey):
        return bytes(key.to_string("compressed"))
    return public_key_bytes(load_public_key(key))


def public_key_b64(key: KeyLike) -> str:
    return b64u_encode(public_key_bytes(key))


def key_id(key: KeyLike) -> str:
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]


# ================================================================ primitives


def ecdh_x(secret: int, peer: VerifyingKey) -> bytes:
    """x coordinate of secret * peer (the SEC 1 ECDH shared secret), 32 bytes big-endian."""
    shared = peer.pubkey.point * secret
    if shared == INFINITY:
        raise InvalidKey("pubkey_not_on_curve", "shared point is infinity")
    return int(shared.x()).to_bytes(32, "big")


def x963_kdf(shared_secret: bytes, length: int, shared_info: bytes = b"") -> bytes:
    output = b""
    counter = 1
    while len(output) < length:
        output += hashlib.sha256(shared_secret + counter.to_bytes(4, "big") + shared_info).digest()
        counter += 1
    return output[:length]


def _aes_cbc(key: bytes, iv: bytes, data: bytes, *, encrypt: bool) -> bytes:
    mode = pyaes.AESModeOfOperationCBC(key, iv=iv)
    step = mode.encrypt if encrypt else mode.decrypt
    return b"".join(step(data[i : i + _BLOCK]) for i in range(0, len(data), _BLOCK))


def aes_cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    pad = _BLOCK - len(plaintext) % _BLOCK
    return _aes_cbc(key, iv, plaintext + bytes([pad]) * pad, encrypt=True)


def aes_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    padded = _aes_cbc(key, iv, ciphertext, encrypt=False)
    pad = padded[-1]
    if not 1 <= pad <= _BLOCK or padded[-pad:] != bytes([pad]) * pad:
        raise MalformedEnvelope("bad_padding", "invalid PKCS#7 padding")
    return padded[:-pad]


def sign_compact(key: SigningKey, message: bytes) -> bytes:
    """RFC 6979 ECDSA/SHA-256 as r||s, with s replaced by n - s when above n/2 (low-S)."""
    signature = key.sign_deterministic(message, hashfunc=hashlib.sha256, sigencode=sigencode_string)
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if s > _HALF_N:
        s = _N - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_compact(key: VerifyingKey, signature: bytes, message: bytes) -> bool:
    try:
        return bool(
            key.verify(signature, message, hashfunc=hashlib.sha256, sigdecode=sigdecode_string)
        )
    except BadSignatureError:
        return False


def _check_signature_encoding(signature: bytes) -> None:
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (0 < r < _N and 0 < s < _N):
        raise BadSignature("sig_encoding", "r or s out of range")
    if s > _HALF_N:
        raise BadSignature("sig_high_s", "s above n/2")


# ================================================================ payloads

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_ERROR_CODE = re.compile(r"[a-z0-9_]{1,64}")
_METER_TYPES = ("reading", "error", "command_ack")  # what a meter signs: meter_id = sender
RELAY_OPERATIONS = ("disconnect", "reconnect")
RELAY_STATES = ("connected", "disconnected")
MAX_COMMAND_TTL = timedelta(days=1)


def parse_timestamp(text: str) -> datetime:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ValueError(f"not YYYY-MM-DDTHH:MM:SSZ: {text!r}")
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def format_timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_timestamp(value: Any) -> bool:
    try:
        parse_timestamp(value)
    except (TypeError, ValueError):
        return False
    return True


def _is_nonce(value: Any) -> bool:
    try:
        b64u_decode(value, field="nonce", length=32)
    except MalformedEnvelope:
        return False
    return True


def _matches(pattern: re.Pattern[str]) -> Any:
    return lambda value: isinstance(value, str) and pattern.fullmatch(value) is not None


def _is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_SAFE_INTEGER


def _is_url(value: Any) -> bool:
    """http(s) URL of printable ASCII without spaces, at most 512 characters."""
    if not isinstance(value, str) or len(value) > 512:
        return False
    for scheme in ("https://", "http://"):
        if value.startswith(scheme):
            rest = value[len(scheme) :]
            return bool(rest) and all("!" <= char <= "~" for char in rest)
    return False


def _is_zones(value: Any) -> bool:
    return (isinstance(value, list) and 1 <= len(value) <= MAX_TOD_ZONES
            and all(_is_count(item) for item in value))


_SCHEMAS: dict[str, dict[str, Any]] = {
    "read_request": {
        "v": _is_count,
        "nonce": _is_nonce,
        "run_id": _matches(_ID),
        "meter_id": _matches(_ID),
        "period": _matches(_PERIOD),
        "issued_at": _is_timestamp,
        "expires_at": _is_timestamp,
        "reply_to": _is_url,
    },
    "reading": {
        "v": _is_count,
        "nonce": _is_nonce,
        "run_id": _matches(_ID),
        "meter_id": _matches(_ID),
        "counter": _is_count,
        "register_wh": _is_count,
        "read_at": _is_timestamp,
    },
    "error": {
        "v": _is_count,
        "nonce": _is_nonce,
        "meter_id": _matches(_ID),
        "code": _matches(_ERROR_CODE),
        "message": lambda value: isinstance(value, str)
        and len(value) <= 256
        and value.isprintable(),
    },
}


_SCHEMAS_V2: dict[str, dict[str, Any]] = {
    "read_request": {**_SCHEMAS["read_request"], "billing_at": _is_timestamp},
    "reading": {
        "v": _is_count,
        "nonce": _is_nonce,
        "run_id": _matches(_ID),
        "meter_id": _matches(_ID),
        "counter": _is_count,
        "read_at": _is_timestamp,
        "source": lambda value: value in ("snapshot", "live"),
        "snapshot_at": _is_timestamp,
        "import_wh": _is_count,
        "export_wh": _is_count,
        "tod_wh": _is_zones,
        "md_w": _is_count,
        "md_at": _is_timestamp,
    },
    "error": _SCHEMAS["error"],
    # Remote disconnect/reconnect (section 8.5): v2 only.
    "command": {
        "v": _is_count,
        "command_id": _matches(_ID),
        "nonce": _is_nonce,
        "meter_id": _matches(_ID),
        "operation": lambda value: isinstance(value, str) and value in RELAY_OPERATIONS,
        "issued_at": _is_timestamp,
        "expires_at": _is_timestamp,
    },
    "command_ack": {
        "v": _is_count,
        "command_id": _matches(_ID),
        "nonce": _is_nonce,
        "meter_id": _matches(_ID),
        "relay": lambda value: isinstance(value, str) and value in RELAY_STATES,
        "acted_at": _is_timestamp,
    },
}
_SCHEMAS_BY_VERSION = {1: _SCHEMAS, 2: _SCHEMAS_V2}
_ALL_TYPES = {t for schemas in _SCHEMAS_BY_VERSION.values() for t in schemas}


def validate_payload(msg_type: str, payload: Mapping[str, Any],
                     envelope_version: int | None = None) -> None:
    if msg_type not in _ALL_TYPES:
        raise MalformedEnvelope("unknown_type", f"unknown message type {msg_type!r}")
    version = payload.get("v")
    if (type(version) is not int or version not in _SCHEMAS_BY_VERSION
            or (envelope_version is not None and version != envelope_version)
            or msg_type not in _SCHEMAS_BY_VERSION[version]):
        raise UnsupportedVersion("unsupported_version", "payload v is not the envelope's")
    schema = _SCHEMAS_BY_VERSION[version][msg_type]
    if set(schema) - set(payload):
        raise InvalidPayload("payload_missing_field", f"{msg_type} lacks fields")
    if set(payload) - set(schema):
        raise InvalidPayload("payload_unknown_field", f"{msg_type} has unknown fields")
    for name, check in schema.items():
        if not check(payload[name]):
            raise InvalidPayload("payload_bad_field", f"{msg_type}.{name} is invalid")


def make_reading(
    request: Mapping[str, Any], *, counter: int, register_wh: int, read_at: datetime
) -> dict[str, Any]:
    """The answer to a checked read request; ``counter`` must exceed every earlier one."""
    return {
        "v": PROTOCOL_VERSION,
        "nonce": request["nonce"],
        "run_id": request["run_id"],
        "meter_id": request["meter_id"],
        "counter": counter,
        "register_wh": register_wh,
        "read_at": format_timestamp(read_at),
    }


def make_reading_v2(request: Mapping[str, Any], *, counter: int, read_at: datetime,
                    source: str, snapshot_at: datetime, import_wh: int, export_wh: int,
                    tod_wh: Sequence[int], md_w: int, md_at: datetime) -> dict[str, Any]:
    """The version 2 answer: the billing snapshot latched at the request's billing_at
    (source "snapshot"), or the live registers when there is none (source "live")."""
    return {
        "v": PROTOCOL_V2,
        "nonce": request["nonce"],
        "run_id": request["run_id"],
        "meter_id": request["meter_id"],
        "counter": counter,
        "read_at": format_timestamp(read_at),
        "source": source,
        "snapshot_at": format_timestamp(snapshot_at),
        "import_wh": import_wh,
        "export_wh": export_wh,
        "tod_wh": list(tod_wh),
        "md_w": md_w,
        "md_at": format_timestamp(md_at),
    }


def make_error(nonce: str, *, meter_id: str, code: str, message: str,
               version: int = PROTOCOL_VERSION) -> dict[str, Any]:
    """An error answer, in the version of the request it answers."""
    return {"v": version, "nonce": nonce, "meter_id": meter_id, "code": code,
            "message": message}


def make_command_ack(command: Mapping[str, Any], *, relay: str,
                     acted_at: datetime) -> dict[str, Any]:
    """The meter's acknowledgement of a command: its relay state after acting on it."""
    return {"v": PROTOCOL_V2, "command_id": command["command_id"], "nonce": command["nonce"],
            "meter_id": command["meter_id"], "relay": relay,
            "acted_at": format_timestamp(acted_at)}


def check_command(command: Mapping[str, Any], *, meter_id: str, now: datetime,
                  seen_nonces: Collection[str], last_issued_at: str | None) -> None:
    """Before acting on a relay command (section 9.4): this meter, a sane and current
    validity window, a nonce never seen, and not older than the last command obeyed."""
    if command["meter_id"] != meter_id:
        raise ReplayRejected("meter_mismatch", "command is for another meter")
    issued = parse_timestamp(command["issued_at"])
    expires = parse_timestamp(command["expires_at"])
    if expires <= issued or expires - issued > MAX_COMMAND_TTL:
        raise ReplayRejected("bad_validity_window", "validity window empty or too long")
    if now + CLOCK_SKEW < issued:
        raise ReplayRejected("request_not_yet_valid", "issued_at is in the future")
    if now > expires:
        raise ReplayRejected("request_expired", "command expired")
    if command["nonce"] in seen_nonces:
        raise ReplayRejected("command_replayed", "this command was received before")
    if last_issued_at is not None and issued < parse_timestamp(last_issued_at):
        raise ReplayRejected("command_superseded", "older than the last command obeyed")


def check_read_request(request: Mapping[str, Any], *, meter_id: str, now: datetime) -> None:
    """Before answering: the request names this meter and is inside its validity window."""
    if request["meter_id"] != meter_id:
        raise ReplayRejected("meter_mismatch", "request is for another meter")
    issued = parse_timestamp(request["issued_at"])
    expires = parse_timestamp(request["expires_at"])
    if expires <= issued or expires - issued > MAX_REQUEST_TTL:
        raise ReplayRejected("bad_validity_window", "validity window empty or too long")
    if now + CLOCK_SKEW < issued:
        raise ReplayRejected("request_not_yet_valid", "issued_at is in the future")
    if now > expires:
        raise ReplayRejected("request_expired", "request expired")


# ================================================================ envelope

_ENVELOPE_FIELDS = {"v", "type", "sender", "rcpt", "epk", "iv", "ct", "mac", "sig"}
_MAX_CT_CHARS = -(-(MAX_PLAINTEXT_BYTES + _BLOCK) * 4 // 3)


class Envelope(NamedTuple):
    msg_type: str
    sender: str
    rcpt: str
    epk: bytes
    epk_key: VerifyingKey
    iv: bytes
    ct: bytes
    mac: bytes
    sig: bytes
    signed: bytes
    wire: Mapping[str, Any]


class OpenedMessage(NamedTuple):
    msg_type: str
    sender: str
    payload: dict[str, Any]
    sender_key_index: int
    recipient_key_id: str


def _shared_info(msg_type: str, sender: str, rcpt: str, version: int = PROTOCOL_VERSION) -> bytes:
    return canonical_json({"v": version, "type": msg_type, "sender": sender, "rcpt": rcpt})


def _signed_bytes(wire: Mapping[str, Any]) -> bytes:
    return canonical_json({key: value for key, value in wire.items() if key != "sig"})


def envelope_to_bytes(envelope: Mapping[str, Any]) -> bytes:
    return canonical_json(envelope)


def seal(
    payload: Mapping[str, Any],
    *,
    msg_type: str,
    recipient_pub: VerifyingKey | bytes,
    sender_priv: SigningKey,
    sender_id: str,
) -> dict[str, Any]:
    """Encrypt ``payload`` to ``recipient_pub`` with a fresh ephemeral key; sign as sender."""
    ephemeral = SigningKey.generate(curve=SECP256k1)
    return seal_with_fixed_randomness(
        payload,
        msg_type=msg_type,
        recipient_pub=recipient_pub,
        sender_priv=sender_priv,
        sender_id=sender_id,
        ephemeral_secret=bytes(ephemeral.to_string()),
        iv=os.urandom(_BLOCK),
    )


def seal_with_fixed_randomness(
    payload: Mapping[str, Any],
    *,
    msg_type: str,
    recipient_pub: VerifyingKey | bytes,
    sender_priv: SigningKey,
    sender_id: str,
    ephemeral_secret: bytes,
    iv: bytes,
) -> dict[str, Any]:
    """``seal`` with given ephemeral key and IV. Test vectors only: never reuse them."""
    if not _ID.fullmatch(sender_id):
        raise ValueError(f"invalid sender id {sender_id!r}")
    validate_payload(msg_type, payload)
    if msg_type in _METER_TYPES and payload["meter_id"] != sender_id:
        raise InvalidPayload("sender_mismatch", "payload meter_id differs from sender id")
    plaintext = canonical_json(payload)
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise InvalidPayload("payload_too_large", "payload too large")
    recipient = recipient_pub if isinstance(recipient_pub, VerifyingKey) else load_public_key(
        recipient_pub
    )
    rcpt = key_id(recipient)
    ephemeral = load_private_key(ephemeral_secret)
    epk = public_key_bytes(ephemeral)
    shared = ecdh_x(ephemeral.privkey.secret_multiplier, recipient)
    version = payload["v"]
    okm = x963_kdf(shared, 64, _shared_info(msg_type, sender_id, rcpt, version))
    ciphertext = aes_cbc_encrypt(okm[:32], iv, plaintext)
    mac = hmac.new(okm[32:], epk + iv + ciphertext, hashlib.sha256).digest()
    wire: dict[str, Any] = {
        "v": version,
        "type": msg_type,
        "sender": sender_id,
        "rcpt": rcpt,
        "epk": b64u_encode(epk),
        "iv": b64u_encode(iv),
        "ct": b64u_encode(ciphertext),
        "mac": b64u_encode(mac),
    }
    wire["sig"] = b64u_encode(sign_compact(sender_priv, _signed_bytes(wire)))
    return wire


def parse_envelope(data: bytes | str | Mapping[str, Any]) -> Envelope:
    """Size, strict JSON, version first, then exact field set and field formats."""
    if isinstance(data, Mapping):
        wire = data
    else:
        size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
        if size > MAX_ENVELOPE_BYTES:
            raise MalformedEnvelope("too_large", "envelope larger than 8 KiB")
        wire = _parse_json_object(data, what="envelope")
    if "v" not in wire:
        raise MalformedEnvelope("missing_field", "envelope lacks v")
    if type(wire["v"]) is not int or wire["v"] not in SUPPORTED_VERSIONS:
        raise UnsupportedVersion("unsupported_version", "envelope v must be 1 or 2")
    if _ENVELOPE_FIELDS - set(wire):
        raise MalformedEnvelope("missing_field", "envelope lacks fields")
    if set(wire) - _ENVELOPE_FIELDS:
        raise MalformedEnvelope("unknown_field", "envelope has unknown fields")
    if not isinstance(wire["type"], str) or wire["type"] not in _ALL_TYPES:
        raise MalformedEnvelope("unknown_type", f"unknown message type {wire['type']!r}")
    if not isinstance(wire["sender"], str) or not _ID.fullmatch(wire["sender"]):
        raise MalformedEnvelope("bad_field", "sender is not a valid id")
    if not isinstance(wire["rcpt"], str) or not _KEY_ID.fullmatch(wire["rcpt"]):
        raise MalformedEnvelope("bad_field", "rcpt is not a key id")
    epk = b64u_decode(wire["epk"], field="epk", length=33)
    epk_key = load_public_key(epk)
    iv = b64u_decode(wire["iv"], field="iv", length=16)
    if isinstance(wire["ct"], str) and len(wire["ct"]) > _MAX_CT_CHARS:
        raise MalformedEnvelope("too_large", "ciphertext too long")
    ciphertext = b64u_decode(wire["ct"], field="ct")
    if not ciphertext or len(ciphertext) % _BLOCK:
        raise MalformedEnvelope("bad_field_length", "ct must be a non-empty multiple of 16")
    return Envelope(
        msg_type=wire["type"],
        sender=wire["sender"],
        rcpt=wire["rcpt"],
        epk=epk,
        epk_key=epk_key,
        iv=iv,
        ct=ciphertext,
        mac=b64u_decode(wire["mac"], field="mac", length=32),
        sig=b64u_decode(wire["sig"], field="sig", length=64),
        signed=_signed_bytes(wire),
        wire=wire,
    )


def open_envelope(
    envelope: Envelope | bytes | str | Mapping[str, Any],
    *,
    recipient_priv: SigningKey | Sequence[SigningKey],
    sender_pub: VerifyingKey | bytes | Sequence[VerifyingKey | bytes],
    expect_type: str | Collection[str] | None = None,
) -> OpenedMessage:
    """Verify signature (keys on record, current first), then MAC, then decrypt and check."""
    env = envelope if isinstance(envelope, Envelope) else parse_envelope(envelope)
    if expect_type is not None:
        allowed = (expect_type,) if isinstance(expect_type, str) else expect_type
        if env.msg_type not in allowed:
            raise MalformedEnvelope("unexpected_type", f"{env.msg_type!r} not accepted here")
    signer_index = _verify_signature(env, sender_pub)
    own_key = _select_recipient(env.rcpt, recipient_priv)
    shared = ecdh_x(own_key.privkey.secret_multiplier, env.epk_key)
    version = env.wire["v"]
    okm = x963_kdf(shared, 64, _shared_info(env.msg_type, env.sender, env.rcpt, version))
    expected_mac = hmac.new(okm[32:], env.epk + env.iv + env.ct, hashlib.sha256).digest()
    if not hmac.compare_digest(expected_mac, env.mac):
        raise BadMac("bad_mac", "HMAC over epk||iv||ct does not verify")
    plaintext = aes_cbc_decrypt(okm[:32], env.iv, env.ct)
    payload = _parse_json_object(plaintext, what="payload")  # strict; formatting is free
    validate_payload(env.msg_type, payload, version)
    if env.msg_type in _METER_TYPES and payload["meter_id"] != env.sender:
        raise InvalidPayload("sender_mismatch", "payload meter_id differs from sender")
    return OpenedMessage(env.msg_type, env.sender, payload, signer_index, env.rcpt)


def _verify_signature(
    env: Envelope, sender_pub: VerifyingKey | bytes | Sequence[VerifyingKey | bytes]
) -> int:
    _check_signature_encoding(env.sig)
    candidates = [sender_pub] if isinstance(sender_pub, VerifyingKey | bytes) else sender_pub
    for index, candidate in enumerate(candidates):
        key = candidate if isinstance(candidate, VerifyingKey) else load_public_key(candidate)
        if verify_compact(key, env.sig, env.signed):
            return index
    raise BadSignature("bad_signature", "no key on record verifies the signature")


def _select_recipient(rcpt: str, own: SigningKey | Sequence[SigningKey]) -> SigningKey:
    for key in [own] if isinstance(own, SigningKey) else own:
        if key_id(key) == rcpt:
            return key
    raise BadMac("unknown_recipient", f"message is encrypted to key {rcpt}")


# ================================================================ root-signed key statements
#
# Section 10 of docs/meter-protocol.md: a server key is trusted only if provisioned or
# endorsed by a ROOT key the meter was provisioned with; a root-signed revocation removes a
# server key for good. The online server key cannot endorse anything.

STATEMENT_VERSION = 2
_STATEMENT_MEMBERS = {
    "server_key_endorsement": {"type", "v", "key", "key_id", "replaces_key_id",
                               "replaces_until", "issued_at", "signer_key_id", "sig"},
    "server_key_revocation": {"type", "v", "key_id", "issued_at", "signer_key_id", "sig"},
}


def check_statement(statement: Any, root_keys: Mapping[str, VerifyingKey], now: datetime
                    ) -> dict[str, Any]:
    """A well-formed statement signed by one of ``root_keys`` (key id -> key), not issued in
    the future; else a CryptoError with the reason (same order as the specification)."""
    if not isinstance(statement, dict):
        raise StatementRejected("bad_statement", "not an object")
    members = _STATEMENT_MEMBERS.get(statement.get("type"))  # type: ignore[arg-type]
    if members is None or set(statement) != members:
        raise StatementRejected("bad_statement", "unknown type or member set")
    if type(statement["v"]) is not int or statement["v"] != STATEMENT_VERSION:
        raise StatementRejected("bad_statement", "v must be 2")
    for name in ("key_id", "replaces_key_id", "signer_key_id"):
        if name in statement and not _matches(_KEY_ID)(statement[name]):
            raise StatementRejected("bad_statement", f"{name} is not a key id")
    for name in ("issued_at", "replaces_until"):
        if name in statement and not _is_timestamp(statement[name]):
            raise StatementRejected("bad_statement", f"{name} is not a time")
    try:
        signature = b64u_decode(statement["sig"], field="sig", length=64)
    except MalformedEnvelope as error:
        raise StatementRejected("bad_statement", "sig is not 64 bytes of base64url") from error
    signer = root_keys.get(statement["signer_key_id"])
    if signer is None:
        raise StatementRejected("untrusted_signer", "signer is not a provisioned root key")
    _check_signature_encoding(signature)
    unsigned = {name: value for name, value in statement.items() if name != "sig"}
    if not verify_compact(signer, signature, canonical_json(unsigned)):
        raise BadSignature("bad_signature", "statement signature does not verify")
    issued_at = parse_timestamp(statement["issued_at"])
    if statement["type"] == "server_key_endorsement":
        try:
            raw = b64u_decode(statement["key"], field="key")
        except MalformedEnvelope as error:
            raise InvalidKey("pubkey_encoding", "key is not base64url") from error
        if key_id(load_public_key(raw)) != statement["key_id"]:
            raise StatementRejected("key_id_mismatch", "key_id does not name the key")
        if parse_timestamp(statement["replaces_until"]) < issued_at:
            raise StatementRejected("bad_statement", "replaces_until before issued_at")
    if issued_at > now + CLOCK_SKEW:
        raise StatementRejected("statement_not_yet_valid", "issued in the future")
    return statement


def decode_statements_header(value: str) -> tuple[list[Any], list[Any]]:
    """(endorsements, revocations) carried by X-Server-Key-Endorsements."""
    try:
        data = _parse_json_object(b64u_decode(value, field="header"), what="header")
    except MalformedEnvelope as error:
        raise StatementRejected("bad_statement", "header is not base64url JSON") from error
    if set(data) != {"endorsements", "revocations"}:
        raise StatementRejected("bad_statement", "header members")
    endorsements, revocations = data["endorsements"], data["revocations"]
    if not (isinstance(endorsements, list) and isinstance(revocations, list)
            and len(endorsements) <= 16 and len(revocations) <= 16):
        raise StatementRejected("bad_statement", "header lists")
    return endorsements, revocations


def apply_statements(trust: dict[str, Any], endorsements: Sequence[Any],
                     revocations: Sequence[Any], now: datetime) -> dict[str, Any]:
    """The meter's trust after a header's statements: revocations first, then endorsements
    in order; an invalid, stale or revoked-key statement is ignored (noted in "ignored").

    ``trust`` = {"server_keys": [[b64u, key id, accept_until or None], ...] (current first),
    "root_keys": [b64u, ...], "max_overlap_seconds": int, "revoked": [key id, ...],
    "newest_endorsement_at": time or None}. Returns a new dict of the same shape plus
    "ignored": [[index, reason], ...] (index in revocations + endorsements)."""
    roots = {key_id(k): k for k in (load_public_key_b64(text) for text in trust["root_keys"])}
    keys = [list(item) for item in trust["server_keys"]]
    revoked = list(trust["revoked"])
    newest = trust["newest_endorsement_at"]
    overlap = timedelta(seconds=trust["max_overlap_seconds"])
    ignored = []
    statements = [("server_key_revocation", r) for r in revocations]
    statements += [("server_key_endorsement", e) for e in endorsements]
    for index, (expected, item) in enumerate(statements):
        try:
            statement = check_statement(item, roots, now)
            if statement["type"] != expected:
                raise StatementRejected("bad_statement", "statement in the wrong list")
            if expected == "server_key_revocation":
                if statement["key_id"] not in revoked:
                    revoked.append(statement["key_id"])
                keys = [k for k in keys if k[1] != statement["key_id"]]
                continue
            if statement["key_id"] in revoked:
                raise StatementRejected("key_revoked", "endorses a revoked key")
            issued = parse_timestamp(statement["issued_at"])
            if newest is not None and issued <= parse_timestamp(newest):
                raise StatementRejected("statement_stale", "older than what is trusted")
            limit = min(parse_timestamp(statement["replaces_until"]), issued + overlap)
            kept = []
            for public, kid, until in keys:
                if kid == statement["key_id"]:
                    continue
                if kid == statement["replaces_key_id"] or until is None:
                    until = format_timestamp(limit if until is None
                                             else min(parse_timestamp(until), limit))
                kept.append([public, kid, until])
            keys = [[statement["key"], statement["key_id"], None], *kept]
            newest = statement["issued_at"]
        except CryptoError as error:
            ignored.append([index, error.reason])
    return {"server_keys": keys, "root_keys": list(trust["root_keys"]),
            "max_overlap_seconds": trust["max_overlap_seconds"], "revoked": revoked,
            "newest_endorsement_at": newest, "ignored": ignored}
