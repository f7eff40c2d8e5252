"""Exceptions of the meter channel.

Every exception carries a machine ``reason`` (a short snake_case string) that callers record
with a rejected message. Callers answer the peer with a generic error and keep the specific
reason for the logs and the admin; the reasons are listed in docs/meter-protocol.md.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class: a message, key or payload was refused."""

    default_reason = "crypto_error"

    def __init__(self, reason: str | None = None, detail: str = "") -> None:
        self.reason = reason or self.default_reason
        self.detail = detail
        super().__init__(f"{self.reason}: {detail}" if detail else self.reason)


class InvalidKey(CryptoError):
    """A key could not be decoded or is not a valid secp256k1 key."""

    default_reason = "invalid_key"


class MalformedEnvelope(CryptoError):
    """The envelope or its plaintext does not follow the wire format."""

    default_reason = "malformed_envelope"


class UnsupportedVersion(MalformedEnvelope):
    """The envelope or payload announces a version this code does not speak."""

    default_reason = "unsupported_version"


class InvalidPayload(MalformedEnvelope):
    """The decrypted payload does not match the schema of its message type."""

    default_reason = "invalid_payload"


class BadSignature(CryptoError):
    """The ECDSA signature is malformed, high-S, or not made by any key on record."""

    default_reason = "bad_signature"


class BadMac(CryptoError):
    """The HMAC over the ciphertext did not verify (tampering or wrong recipient key)."""

    default_reason = "bad_mac"


class ReplayRejected(CryptoError):
    """An authentic message that is stale, replayed or does not answer the open request."""

    default_reason = "replay_rejected"


class StatementRejected(CryptoError):
    """A signed key-management statement (endorsement, revocation) that must be ignored."""

    default_reason = "bad_statement"
