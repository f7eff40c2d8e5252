"""secp256k1 keys for the server side, backed by libsecp256k1 through coincurve.

Formats (docs/meter-protocol.md, "Key formats"):
- private key: 32-byte big-endian scalar in [1, n-1], as 64 hex digits or unpadded base64url;
- public key: 33-byte compressed SEC 1 point (0x02/0x03 || x), as unpadded base64url;
- key id: first 8 bytes of SHA-256(compressed public key), 16 lowercase hex digits.
"""

from __future__ import annotations

import binascii
import hashlib

from coincurve import PrivateKey, PublicKey

from .encoding import b64u_decode, b64u_encode
from .errors import InvalidKey, MalformedEnvelope

__all__ = [
    "PrivateKey",
    "PublicKey",
    "generate_private_key",
    "key_id",
    "load_private_key",
    "load_public_key",
    "load_public_key_b64",
    "private_key_b64",
    "private_key_hex",
    "public_key_b64",
    "public_key_bytes",
]

COMPRESSED_PUBLIC_KEY_LEN = 33
PRIVATE_KEY_LEN = 32
_COMPRESSED_PREFIXES = (0x02, 0x03)

KeyLike = PrivateKey | PublicKey | bytes


def generate_private_key() -> PrivateKey:
    """A fresh key from the OS CSPRNG (coincurve rejects out-of-range scalars)."""
    return PrivateKey()


def load_private_key(data: str | bytes) -> PrivateKey:
    """Load a private key from 32 raw bytes, 64 hex digits or unpadded base64url."""
    raw = _private_key_raw(data)
    try:
        return PrivateKey(raw)
    except ValueError as exc:
        raise InvalidKey("privkey_range", "scalar must be in [1, n-1]") from exc


def _private_key_raw(data: str | bytes) -> bytes:
    if isinstance(data, bytes):
        if len(data) != PRIVATE_KEY_LEN:
            raise InvalidKey("privkey_encoding", "raw private key must be 32 bytes")
        return data
    text = data.strip()
    try:
        if len(text) == 2 * PRIVATE_KEY_LEN:
            return binascii.unhexlify(text)
        return b64u_decode(text, field="private key", length=PRIVATE_KEY_LEN)
    except (binascii.Error, ValueError, MalformedEnvelope) as exc:
        raise InvalidKey("privkey_encoding", "expected 64 hex digits or base64url") from exc


def private_key_hex(key: PrivateKey) -> str:
    return key.secret.hex()


def private_key_b64(key: PrivateKey) -> str:
    return b64u_encode(key.secret)


def load_public_key(data: bytes) -> PublicKey:
    """Parse and validate a 33-byte compressed point; anything else raises InvalidKey.

    Only the compressed form is accepted: a single encoding per key keeps key ids and
    signed bytes unambiguous. libsecp256k1 checks x < p and that x^3 + 7 is a square mod p.
    """
    if not isinstance(data, bytes) or len(data) != COMPRESSED_PUBLIC_KEY_LEN:
        raise InvalidKey("pubkey_length", "public key must be 33 bytes (compressed SEC 1)")
    if data[0] not in _COMPRESSED_PREFIXES:
        # 0x00 (infinity), 0x04/0x06/0x07 (uncompressed/hybrid) and garbage all land here.
        raise InvalidKey("pubkey_prefix", f"prefix 0x{data[0]:02x} is not 0x02 or 0x03")
    try:
        return PublicKey(data)
    except ValueError as exc:
        raise InvalidKey("pubkey_not_on_curve", "x is not the abscissa of a curve point") from exc


def load_public_key_b64(text: str) -> PublicKey:
    try:
        raw = b64u_decode(text, field="public key")
    except MalformedEnvelope as exc:
        raise InvalidKey("pubkey_encoding", "public key is not unpadded base64url") from exc
    return load_public_key(raw)


def public_key_bytes(key: KeyLike) -> bytes:
    """The 33-byte compressed encoding of a key (a private key gives its public key)."""
    if isinstance(key, PrivateKey):
        return key.public_key.format(compressed=True)
    if isinstance(key, PublicKey):
        return key.format(compressed=True)
    return load_public_key(key).format(compressed=True)


def public_key_b64(key: KeyLike) -> str:
    return b64u_encode(public_key_bytes(key))


def key_id(key: KeyLike) -> str:
    """Short public identifier of a key; selects a key, never authenticates anything."""
    return key_id_of_bytes(public_key_bytes(key))


def key_id_of_bytes(compressed: bytes) -> str:
    """key_id() of a public key given as its (already validated) 33-byte compressed form."""
    return hashlib.sha256(compressed).digest()[:8].hex()
