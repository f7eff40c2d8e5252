"""The envelope: ECIES (SEC 1, X9.63 KDF, AES-256-CBC, HMAC-SHA-256) then ECDSA.

Wire form (docs/meter-protocol.md): a JSON object
    {"v":1|2, "type", "sender", "rcpt", "epk", "iv", "ct", "mac", "sig"}
Versions 1 and 2 share the envelope; ``v`` (bound into the KDF and the signature) says which
payload schemas apply, and the payload's own ``v`` must equal it.
- rcpt: key id of the recipient public key the message is encrypted to;
- KDF SharedInfo: canonical JSON of {"rcpt","sender","type","v"}, binding the header;
- mac = HMAC-SHA-256(mac_key, epk || iv || ct);
- sig = ECDSA-SHA-256 by the sender over canonical JSON of every field except "sig".
"""

from __future__ import annotations

import hmac
import operator
import os
import re
import weakref
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple, NoReturn

from .encoding import (
    b64u_decode,
    b64u_decode_all,
    b64u_encode,
    canonical_json,
    encode_validated_flat,
    strict_json_object,
)
from .errors import BadMac, BadSignature, InvalidPayload, MalformedEnvelope, UnsupportedVersion
from .keys import PrivateKey, PublicKey, key_id, key_id_of_bytes, load_public_key
from .payloads import (
    ID_PATTERN,
    MESSAGE_TYPES,
    METER_SENT_TYPES,
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    canonical_read_request,
    parse_canonical_reading,
    parse_canonical_reading_v2,
    validate_payload,
)
from .primitives import (
    BLOCK_LEN,
    IV_LEN,
    MAC_LEN,
    SIGNATURE_LEN,
    aes_cbc_decrypt,
    aes_cbc_encrypt,
    check_signature_encoding,
    derive_keys,
    ecdh_x,
    ephemeral_public_key,
    hmac_sha256,
    new_ephemeral_secret,
    sign_compact,
    verify_compact,
)

MAX_ENVELOPE_BYTES = 8192
MAX_PLAINTEXT_BYTES = 4096
EPK_LEN = 33  # compressed point
# Longest ct field: PKCS#7 adds at most one block; base64url needs 4 chars per 3 bytes.
_MAX_CT_CHARS = -(-(MAX_PLAINTEXT_BYTES + 16) * 4 // 3)
ENVELOPE_FIELDS = frozenset({"v", "type", "sender", "rcpt", "epk", "iv", "ct", "mac", "sig"})
_envelope_texts = operator.itemgetter("ct", "epk", "iv", "mac", "rcpt", "sender", "sig", "type")
_KEY_ID_PATTERN = re.compile(r"[0-9a-f]{16}")
_B64U_TEXT = "[A-Za-z0-9_-]*"
# An envelope in its canonical wire form (section 5: what conforming senders send) whose
# strings are plain ASCII (so each matched text IS the member's value) and whose header is
# as _check_version_and_fields() requires. See _parse_canonical().
_CANONICAL_ENVELOPE = re.compile(
    f'{{"ct":"({_B64U_TEXT})","epk":"({_B64U_TEXT})","iv":"({_B64U_TEXT})",'
    f'"mac":"({_B64U_TEXT})","rcpt":"({_KEY_ID_PATTERN.pattern})",'
    f'"sender":"({ID_PATTERN.pattern})","sig":"({_B64U_TEXT})",'
    f'"type":"({"|".join(MESSAGE_TYPES)})","v":([{"".join(map(str, SUPPORTED_VERSIONS))}])}}'
)
_FIELD_LENGTHS = (EPK_LEN, IV_LEN, MAC_LEN, SIGNATURE_LEN)  # of epk, iv, mac, sig

PublicKeyLike = PublicKey | bytes


class Envelope(NamedTuple):
    """A structurally valid envelope: fields decoded, nothing authenticated yet."""

    msg_type: str
    sender: str
    rcpt: str
    epk: bytes
    epk_key: PublicKey
    iv: bytes
    ct: bytes
    mac: bytes
    sig: bytes
    signed: bytes  # the exact bytes the signature must cover
    wire: Mapping[str, Any]
    version: int = PROTOCOL_VERSION  # the envelope's v (1 or 2)


class OpenedMessage(NamedTuple):
    """An authenticated, decrypted and schema-checked message."""

    msg_type: str
    sender: str
    payload: dict[str, Any]
    sender_key_index: int  # which candidate sender key verified: 0 = current, 1 = previous...
    recipient_key_id: str


# ---------------------------------------------------------------- shared definitions


def shared_info(msg_type: str, sender: str, rcpt: str, version: int = PROTOCOL_VERSION
                ) -> bytes:
    """KDF SharedInfo: canonical JSON of {"rcpt","sender","type","v"}.

    A change to the header changes the derived keys, so the MAC fails. The values come
    from format-checked fields (ids, hex, type names) that JSON never escapes, so a
    template gives exactly the canonical bytes (a unit test compares with canonical_json).
    """
    return f'{{"rcpt":"{rcpt}","sender":"{sender}","type":"{msg_type}","v":{version}}}'.encode()


def signed_bytes(wire: Mapping[str, Any]) -> bytes:
    """What the sender signs: canonical JSON of the envelope without its "sig" field."""
    return canonical_json({name: value for name, value in wire.items() if name != "sig"})


def _envelope_text_of_checked(wire: Mapping[str, Any]) -> str:
    """Canonical JSON of a format-checked envelope, sig included (nothing to escape)."""
    return (
        f'{{"ct":"{wire["ct"]}","epk":"{wire["epk"]}","iv":"{wire["iv"]}",'
        f'"mac":"{wire["mac"]}","rcpt":"{wire["rcpt"]}","sender":"{wire["sender"]}",'
        f'"sig":"{wire["sig"]}","type":"{wire["type"]}","v":{wire["v"]}}}'
    )


def _signed_bytes_of_checked(wire: Mapping[str, Any]) -> bytes:
    """signed_bytes() for a format-checked envelope (base64url, ids, hex: nothing to escape)."""
    return (
        f'{{"ct":"{wire["ct"]}","epk":"{wire["epk"]}","iv":"{wire["iv"]}",'
        f'"mac":"{wire["mac"]}","rcpt":"{wire["rcpt"]}","sender":"{wire["sender"]}",'
        f'"type":"{wire["type"]}","v":{wire["v"]}}}'
    ).encode()


def envelope_to_bytes(envelope: Mapping[str, Any]) -> bytes:
    """The bytes to put on the wire (canonical JSON, so test vectors are exact)."""
    if (
        envelope.keys() == ENVELOPE_FIELDS
        and type(envelope["v"]) is int
        and set(map(type, _envelope_texts(envelope))) == {str}
    ):
        # Such as seal() makes: the template is the canonical JSON when the result has the
        # canonical-envelope form, whose values hold nothing JSON would escape.
        text = _envelope_text_of_checked(envelope)
        if _CANONICAL_ENVELOPE.fullmatch(text):
            return text.encode()
    return canonical_json(dict(envelope))


# ---------------------------------------------------------------- sealing


def seal(
    payload: Mapping[str, Any],
    *,
    msg_type: str,
    recipient_pub: PublicKeyLike,
    sender_priv: PrivateKey,
    sender_id: str,
) -> dict[str, Any]:
    """Encrypt ``payload`` to ``recipient_pub`` and sign the envelope as ``sender_id``."""
    return seal_with_fixed_randomness(
        payload,
        msg_type=msg_type,
        recipient_pub=recipient_pub,
        sender_priv=sender_priv,
        sender_id=sender_id,
        ephemeral_secret=new_ephemeral_secret(),
        iv=os.urandom(IV_LEN),
    )


def seal_to_bytes(
    payload: Mapping[str, Any],
    *,
    msg_type: str,
    recipient_pub: PublicKeyLike,
    sender_priv: PrivateKey,
    sender_id: str,
) -> bytes:
    """``envelope_to_bytes(seal(...))`` for a caller that only sends the envelope.

    seal() checks or encodes every value itself (ids, hex, base64url: nothing to escape), so
    the template is the canonical JSON without envelope_to_bytes() checking it again.
    """
    wire = seal(
        payload,
        msg_type=msg_type,
        recipient_pub=recipient_pub,
        sender_priv=sender_priv,
        sender_id=sender_id,
    )
    return _envelope_text_of_checked(wire).encode()


def seal_with_fixed_randomness(
    payload: Mapping[str, Any],
    *,
    msg_type: str,
    recipient_pub: PublicKeyLike,
    sender_priv: PrivateKey,
    sender_id: str,
    ephemeral_secret: bytes,
    iv: bytes,
) -> dict[str, Any]:
    """``seal`` with the ephemeral key and IV given. Only for test vectors: reusing either
    across messages breaks confidentiality."""
    plaintext = _checked_plaintext(payload, msg_type, sender_id)
    version = payload["v"]  # checked: a supported version
    if len(iv) != IV_LEN:
        raise ValueError("iv must be 16 bytes")
    recipient = _as_public_key(recipient_pub)
    # Valid key bytes are the compressed encoding the key id hashes: no need to re-serialize.
    rcpt = key_id_of_bytes(recipient_pub) if isinstance(recipient_pub, bytes) else key_id(recipient)
    epk = ephemeral_public_key(ephemeral_secret)
    enc_key, mac_key = derive_keys(
        ecdh_x(ephemeral_secret, recipient), shared_info(msg_type, sender_id, rcpt, version)
    )
    ciphertext = aes_cbc_encrypt(enc_key, iv, plaintext)
    wire: dict[str, Any] = {
        "v": version,
        "type": msg_type,
        "sender": sender_id,
        "rcpt": rcpt,
        "epk": b64u_encode(epk),
        "iv": b64u_encode(iv),
        "ct": b64u_encode(ciphertext),
        "mac": b64u_encode(hmac_sha256(mac_key, epk + iv + ciphertext)),
    }
    # Every value above is an id, hex or base64url: the template is the canonical form.
    wire["sig"] = b64u_encode(sign_compact(sender_priv, _signed_bytes_of_checked(wire)))
    return wire


def _checked_plaintext(payload: Mapping[str, Any], msg_type: str, sender_id: str) -> bytes:
    """Refuse to send what a conforming receiver would refuse."""
    if not isinstance(sender_id, str) or not ID_PATTERN.fullmatch(sender_id):
        raise ValueError(f"invalid sender id {sender_id!r}")
    # Read requests, the bulk of what the server seals, are checked and written in one go.
    plaintext = canonical_read_request(payload) if msg_type == "read_request" else None
    if plaintext is None:
        validate_payload(msg_type, payload)
        if msg_type in METER_SENT_TYPES and payload["meter_id"] != sender_id:
            raise InvalidPayload("sender_mismatch", "a meter message must name its sender meter")
        # The schema admits only strings and safe integers: canonical_json's type walk
        # would find nothing more to refuse, so the payload goes straight to the encoder.
        plaintext = encode_validated_flat(payload)
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise InvalidPayload("payload_too_large", f"payload exceeds {MAX_PLAINTEXT_BYTES} bytes")
    return plaintext


# ---------------------------------------------------------------- parsing


def parse_envelope(data: bytes | str | Mapping[str, Any]) -> Envelope:
    """Check size, JSON, version and field formats; decode the binary fields.

    Raw bytes/str are limited to MAX_ENVELOPE_BYTES before parsing. A mapping (for example
    a body already parsed by the web framework) is bounded by the per-field limits.
    """
    if not isinstance(data, bytes | str):
        wire: Mapping[str, Any] = data  # an already parsed body
        _check_version_and_fields(wire)
        return _decode_fields(wire)
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > MAX_ENVELOPE_BYTES:
        raise MalformedEnvelope("too_large", f"envelope exceeds {MAX_ENVELOPE_BYTES} bytes")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise MalformedEnvelope("bad_json", "envelope is not UTF-8") from exc
    envelope = _parse_canonical(text)
    if envelope is not None:
        return envelope
    wire = strict_json_object(text, what="envelope")
    _check_version_and_fields(wire)
    return _decode_fields(wire)


def _parse_canonical(text: str) -> Envelope | None:
    """The envelope if ``text`` is a valid one in canonical form, else None.

    A shortcut for what conforming senders send: one pattern match, one decoding call. It
    accepts nothing the general path (strict JSON, _check_version_and_fields(),
    _decode_fields()) would refuse and gives the same Envelope; anything else, valid or not,
    gets None and goes the general way, which names what is wrong. A unit test compares them.
    """
    match = _CANONICAL_ENVELOPE.fullmatch(text)
    if match is None:
        return None
    ct_text, epk_text, iv_text, mac_text, rcpt, sender, sig_text, msg_type, v_text = (
        match.groups())
    version = int(v_text)
    if len(ct_text) > _MAX_CT_CHARS:
        return None
    decoded = b64u_decode_all(ct_text, epk_text, iv_text, mac_text, sig_text)
    if decoded is None:
        return None
    ct, epk, iv, mac, sig = decoded
    if (
        not ct
        or len(ct) % BLOCK_LEN
        or (len(epk), len(iv), len(mac), len(sig)) != _FIELD_LENGTHS
        or epk[0] not in (2, 3)
    ):
        return None
    try:
        epk_key = PublicKey(epk)  # validates the point (x on the curve)
    except ValueError:
        return None
    wire = {"ct": ct_text, "epk": epk_text, "iv": iv_text, "mac": mac_text, "rcpt": rcpt,
            "sender": sender, "sig": sig_text, "type": msg_type, "v": version}
    signed = (
        f'{{"ct":"{ct_text}","epk":"{epk_text}","iv":"{iv_text}","mac":"{mac_text}",'
        f'"rcpt":"{rcpt}","sender":"{sender}","type":"{msg_type}","v":{version}}}'
    ).encode()
    # tuple.__new__ is what Envelope(...) runs, minus a Python-level call per message.
    return tuple.__new__(Envelope, (msg_type, sender, rcpt, epk, epk_key, iv, ct, mac, sig,
                                    signed, wire, version))


def _decode_fields(wire: Mapping[str, Any]) -> Envelope:
    """Decode the binary fields of a header-checked envelope, in the documented order."""
    epk = b64u_decode(wire["epk"], field="epk", length=EPK_LEN)
    epk_key = load_public_key(epk)
    iv = b64u_decode(wire["iv"], field="iv", length=IV_LEN)
    ct = _decode_ciphertext(wire["ct"])
    mac = b64u_decode(wire["mac"], field="mac", length=MAC_LEN)
    sig = b64u_decode(wire["sig"], field="sig", length=SIGNATURE_LEN)
    signed = _signed_bytes_of_checked(wire)
    return Envelope(wire["type"], wire["sender"], wire["rcpt"], epk, epk_key, iv, ct, mac, sig,
                    signed, wire, wire["v"])


def _check_version_and_fields(wire: Mapping[str, Any]) -> None:
    # The version is checked first so a future format fails as "unsupported_version".
    if "v" not in wire:
        raise MalformedEnvelope("missing_field", "envelope lacks v")
    if type(wire["v"]) is not int or wire["v"] not in SUPPORTED_VERSIONS:
        raise UnsupportedVersion("unsupported_version", f"envelope v={wire['v']!r}")
    if wire.keys() != ENVELOPE_FIELDS:
        _raise_field_set_error(wire.keys())
    if wire["type"] not in MESSAGE_TYPES:
        raise MalformedEnvelope("unknown_type", f"unknown message type {wire['type']!r}")
    if not isinstance(wire["sender"], str) or not ID_PATTERN.fullmatch(wire["sender"]):
        raise MalformedEnvelope("bad_field", "sender is not a valid id")
    if not isinstance(wire["rcpt"], str) or not _KEY_ID_PATTERN.fullmatch(wire["rcpt"]):
        raise MalformedEnvelope("bad_field", "rcpt is not a key id")


def _raise_field_set_error(present: Collection[str]) -> None:
    missing = ENVELOPE_FIELDS - set(present)
    if missing:
        raise MalformedEnvelope("missing_field", f"envelope lacks {sorted(missing)}")
    unknown = set(present) - ENVELOPE_FIELDS
    raise MalformedEnvelope("unknown_field", f"envelope has unknown {sorted(unknown)}")


def _decode_ciphertext(text: Any) -> bytes:
    if isinstance(text, str) and len(text) > _MAX_CT_CHARS:
        raise MalformedEnvelope("too_large", "ciphertext too long")
    ciphertext = b64u_decode(text, field="ct")
    if not ciphertext or len(ciphertext) % 16:
        raise MalformedEnvelope("bad_field_length", "ct must be a non-empty multiple of 16 bytes")
    return ciphertext


# ---------------------------------------------------------------- opening


def open_envelope(
    envelope: Envelope | bytes | str | Mapping[str, Any],
    *,
    recipient_priv: PrivateKey | Sequence[PrivateKey],
    sender_pub: PublicKeyLike | Sequence[PublicKeyLike],
    expect_type: str | Collection[str] | None = None,
) -> OpenedMessage:
    """Authenticate, then decrypt. Order: structure, type, signature, MAC, decrypt, schema.

    ``sender_pub``: the key(s) on record for ``envelope.sender`` (current first, then keys
    still in their rotation grace period). Never pass a key taken from the message itself.
    ``recipient_priv``: own key(s); the one whose key id equals ``rcpt`` is used.
    """
    env = envelope if isinstance(envelope, Envelope) else parse_envelope(envelope)
    msg_type, sender, rcpt, epk, epk_key, iv, ct, mac, sig, signed, _, version = env
    if expect_type is not None and msg_type not in (
        (expect_type,) if isinstance(expect_type, str) else expect_type
    ):
        raise MalformedEnvelope("unexpected_type", f"{msg_type!r} not accepted here")
    if isinstance(sender_pub, PublicKey):  # the usual case: one key on record
        if not verify_compact(sender_pub, sig, signed):
            _raise_bad_signature(sig)
        signer_index = 0
    else:
        signer_index = verify_envelope_signature(env, sender_pub)
    recipient = _select_recipient(rcpt, recipient_priv)
    enc_key, mac_key = derive_keys(ecdh_x(recipient, epk_key),
                                   shared_info(msg_type, sender, rcpt, version))
    if not hmac.compare_digest(hmac_sha256(mac_key, epk + iv + ct), mac):
        raise BadMac("bad_mac", "HMAC over epk||iv||ct does not verify")
    plaintext = aes_cbc_decrypt(enc_key, iv, ct)
    # Strict parsing and the schema matter; the formatting does not (the MAC authenticates
    # the bytes), so canonical is what senders send, not what receivers demand. Canonical
    # readings, the bulk of the traffic, take a shortcut to the same result.
    payload = None
    if msg_type == "reading":
        payload = (parse_canonical_reading(plaintext) if version == PROTOCOL_VERSION
                   else parse_canonical_reading_v2(plaintext))
    if payload is None:
        payload = strict_json_object(plaintext, what="payload")
        validate_payload(msg_type, payload, version)
    if msg_type in METER_SENT_TYPES and payload["meter_id"] != sender:
        raise InvalidPayload("sender_mismatch", "payload meter_id differs from envelope sender")
    return tuple.__new__(OpenedMessage, (msg_type, sender, payload, signer_index, rcpt))


def verify_envelope_signature(
    envelope: Envelope, sender_pub: PublicKeyLike | Sequence[PublicKeyLike]
) -> int:
    """Index of the first candidate key that verifies the signature; BadSignature if none."""
    candidates = (sender_pub,) if isinstance(sender_pub, PublicKey | bytes) else sender_pub
    for index, candidate in enumerate(candidates):
        key = candidate if isinstance(candidate, PublicKey) else load_public_key(candidate)
        if verify_compact(key, envelope.sig, envelope.signed):
            return index
    _raise_bad_signature(envelope.sig)


def _raise_bad_signature(signature: bytes) -> NoReturn:
    # libsecp256k1 accepts only well-formed low-S signatures; say why this one failed.
    check_signature_encoding(signature)
    raise BadSignature("bad_signature", "no key on record for the sender verifies the signature")


def _select_recipient(rcpt: str, own_keys: PrivateKey | Sequence[PrivateKey]) -> PrivateKey:
    for key in (own_keys,) if isinstance(own_keys, PrivateKey) else own_keys:
        if (_OWN_KEY_IDS.get(id(key)) or _remember_key_id(key)) == rcpt:
            return key
    # Encrypted to a key we do not hold: the MAC cannot verify with any of ours.
    raise BadMac("unknown_recipient", f"message is encrypted to key {rcpt}")


# Key ids of our own few, long-lived keys, needed for every message: computed once per key
# object, and forgotten when the object goes (so its id() cannot be reused meanwhile).
_OWN_KEY_IDS: dict[int, str] = {}


def _remember_key_id(key: PrivateKey) -> str:
    key_id_text = _OWN_KEY_IDS[id(key)] = key_id(key)
    weakref.finalize(key, _OWN_KEY_IDS.pop, id(key), None)
    return key_id_text


def _as_public_key(key: PublicKeyLike) -> PublicKey:
    return key if isinstance(key, PublicKey) else load_public_key(key)
