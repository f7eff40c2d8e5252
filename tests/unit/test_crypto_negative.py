"""Envelopes both implementations must refuse, each with the same exception and reason.

Envelopes are built with the server implementation (or by hand, for plaintexts no
conforming sender would produce) and opened by each implementation in turn.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import device_client.crypto as meter
import functions.core.crypto as server
from functions.core.crypto import envelope as server_envelope
from functions.core.crypto import primitives as server_primitives

SERVER_HEX = "11" * 32
METER_HEX = "22" * 32
OTHER_HEX = "33" * 32
METER_ID = "MTR-000001"
NONCE = server.b64u_encode(bytes(range(32)))
READING: dict[str, Any] = {
    "v": 1,
    "nonce": NONCE,
    "run_id": "run-1",
    "meter_id": METER_ID,
    "counter": 3,
    "register_wh": 1000,
    "read_at": "2025-02-01T00:00:00Z",
}

IMPLS = pytest.mark.parametrize("impl", [server, meter], ids=["server", "meter"])


def _skey(hex_key: str) -> server.PrivateKey:
    return server.load_private_key(hex_key)


def _sealed_reading(payload: dict[str, Any] | None = None) -> dict[str, Any]:
    return server.seal(
        payload or READING,
        msg_type="reading",
        recipient_pub=server.public_key_bytes(_skey(SERVER_HEX)),
        sender_priv=_skey(METER_HEX),
        sender_id=METER_ID,
    )


def _resign(wire: dict[str, Any], signer_hex: str = METER_HEX) -> dict[str, Any]:
    wire = {name: value for name, value in wire.items() if name != "sig"}
    signed = server_envelope.signed_bytes(wire)
    signature = server_primitives.sign_compact(_skey(signer_hex), signed)
    return {**wire, "sig": server.b64u_encode(signature)}


def _flip_bit(field_b64: str, byte_index: int = 0) -> str:
    data = bytearray(server.b64u_decode(field_b64, field="test"))
    data[byte_index] ^= 0x01
    return server.b64u_encode(bytes(data))


def _raw_seal(
    plaintext: bytes,
    *,
    msg_type: str = "reading",
    sender_id: str = METER_ID,
    pad: bool = True,
) -> dict[str, Any]:
    """An envelope around arbitrary plaintext bytes, correctly encrypted, MACed and signed."""
    recipient = server.load_public_key(server.public_key_bytes(_skey(SERVER_HEX)))
    rcpt = server.key_id(recipient)
    secret = server_primitives.new_ephemeral_secret()
    epk = server_primitives.ephemeral_public_key(secret)
    iv = os.urandom(16)
    enc_key, mac_key = server_primitives.derive_keys(
        server_primitives.ecdh_x(secret, recipient),
        server_envelope.shared_info(msg_type, sender_id, rcpt),
    )
    if pad:
        ciphertext = server_primitives.aes_cbc_encrypt(enc_key, iv, plaintext)
    else:
        encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
        ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    wire = {
        "v": 1,
        "type": msg_type,
        "sender": sender_id,
        "rcpt": rcpt,
        "epk": server.b64u_encode(epk),
        "iv": server.b64u_encode(iv),
        "ct": server.b64u_encode(ciphertext),
        "mac": server.b64u_encode(server_primitives.hmac_sha256(mac_key, epk + iv + ciphertext)),
    }
    return _resign(wire)


def _open(impl: Any, data: Any, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "recipient_priv": impl.load_private_key(SERVER_HEX),
        "sender_pub": impl.public_key_bytes(impl.load_private_key(METER_HEX)),
    }
    arguments.update(overrides)
    if isinstance(data, dict):
        data = json.dumps(data).encode()
    return impl.open_envelope(data, **arguments)


def _refused(impl: Any, data: Any, error: str, reason: str, **overrides: Any) -> None:
    with pytest.raises(getattr(impl, error)) as caught:
        _open(impl, data, **overrides)
    assert caught.value.reason == reason


@IMPLS
def test_the_baseline_envelope_opens(impl: Any) -> None:
    """Every refusal below is a small change to an envelope that opens."""
    assert _open(impl, _sealed_reading()).payload == READING
    assert _open(impl, _raw_seal(server.canonical_json(READING))).payload == READING


# ---------------------------------------------------------------- tampering


@IMPLS
@pytest.mark.parametrize("field", ["ct", "mac", "iv", "epk", "rcpt", "sender", "type"])
def test_any_change_to_a_signed_field_breaks_the_signature(impl: Any, field: str) -> None:
    wire = _sealed_reading()
    changes = {
        "ct": _flip_bit(wire["ct"]),
        "mac": _flip_bit(wire["mac"]),
        "iv": _flip_bit(wire["iv"]),
        "epk": server.public_key_b64(_skey(OTHER_HEX)),
        "rcpt": "0" * 16,
        "sender": "MTR-000002",
        "type": "error",
    }
    _refused(impl, {**wire, field: changes[field]}, "BadSignature", "bad_signature")


@IMPLS
@pytest.mark.parametrize("field", ["ct", "mac", "iv"])
def test_tampering_by_a_signer_is_caught_by_the_mac(impl: Any, field: str) -> None:
    """Even with a valid signature over the altered envelope, the MAC refuses it."""
    wire = _sealed_reading()
    byte_index = {"ct": 5, "mac": 31, "iv": 15}[field]
    tampered = _resign({**wire, field: _flip_bit(wire[field], byte_index)})
    _refused(impl, tampered, "BadMac", "bad_mac")


@IMPLS
def test_header_is_bound_by_the_kdf(impl: Any) -> None:
    """Another meter re-signing this ciphertext under its own id gets a MAC failure."""
    other_id = "MTR-000002"
    stolen = _resign({**_sealed_reading(), "sender": other_id}, OTHER_HEX)
    other_pub = impl.public_key_bytes(impl.load_private_key(OTHER_HEX))
    _refused(impl, stolen, "BadMac", "bad_mac", sender_pub=other_pub)


@IMPLS
def test_tampered_signature(impl: Any) -> None:
    wire = _sealed_reading()
    _refused(impl, {**wire, "sig": _flip_bit(wire["sig"], 10)}, "BadSignature", "bad_signature")


@IMPLS
def test_wrong_sender_key_on_record(impl: Any) -> None:
    other_pub = impl.public_key_bytes(impl.load_private_key(OTHER_HEX))
    _refused(impl, _sealed_reading(), "BadSignature", "bad_signature", sender_pub=other_pub)


@IMPLS
def test_signature_made_by_another_key(impl: Any) -> None:
    forged = _resign(_sealed_reading(), OTHER_HEX)
    _refused(impl, forged, "BadSignature", "bad_signature")


@IMPLS
def test_high_s_signature_is_refused_although_mathematically_valid(impl: Any) -> None:
    wire = _sealed_reading()
    signature = server.b64u_decode(wire["sig"], field="sig")
    s = int.from_bytes(signature[32:], "big")
    high = signature[:32] + (server_primitives.CURVE_ORDER - s).to_bytes(32, "big")
    _refused(impl, {**wire, "sig": server.b64u_encode(high)}, "BadSignature", "sig_high_s")


@IMPLS
@pytest.mark.parametrize(
    ("signature", "error", "reason"),
    [
        (bytes(64), "BadSignature", "sig_encoding"),  # r = s = 0
        (b"\xff" * 64, "BadSignature", "sig_encoding"),  # r, s >= n
        (bytes(63), "MalformedEnvelope", "bad_field_length"),
        (bytes(70), "MalformedEnvelope", "bad_field_length"),
    ],
)
def test_malformed_signatures(impl: Any, signature: bytes, error: str, reason: str) -> None:
    wire = {**_sealed_reading(), "sig": server.b64u_encode(signature)}
    _refused(impl, wire, error, reason)


@IMPLS
def test_rotation_list_without_the_signing_key(impl: Any) -> None:
    keys = [impl.public_key_bytes(impl.load_private_key(h)) for h in (OTHER_HEX, "44" * 32)]
    _refused(impl, _sealed_reading(), "BadSignature", "bad_signature", sender_pub=keys)


# ---------------------------------------------------------------- recipient


@IMPLS
def test_envelope_for_another_recipient_key(impl: Any) -> None:
    _refused(
        impl,
        _sealed_reading(),
        "BadMac",
        "unknown_recipient",
        recipient_priv=impl.load_private_key(OTHER_HEX),
    )


@IMPLS
def test_wrong_recipient_key_fails_the_mac(impl: Any) -> None:
    """rcpt pointed at the other key: that key's ECDH gives other keys, so the MAC fails."""
    other = impl.load_private_key(OTHER_HEX)
    redirected = _resign({**_sealed_reading(), "rcpt": impl.key_id(other)})
    _refused(impl, redirected, "BadMac", "bad_mac", recipient_priv=other)


@IMPLS
def test_mac_is_checked_before_any_decryption(impl: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    module = server_envelope if impl is server else meter

    def must_not_decrypt(*_args: Any) -> bytes:
        raise AssertionError("decrypted before the MAC was verified")

    wire = _sealed_reading()
    tampered = _resign({**wire, "mac": _flip_bit(wire["mac"])})
    monkeypatch.setattr(module, "aes_cbc_decrypt", must_not_decrypt)
    _refused(impl, tampered, "BadMac", "bad_mac")


@IMPLS
def test_signature_is_checked_before_ecdh(impl: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    module = server_envelope if impl is server else meter

    def must_not_ecdh(*_args: Any) -> bytes:
        raise AssertionError("ECDH with our key on an unauthenticated message")

    forged = _resign(_sealed_reading(), OTHER_HEX)
    monkeypatch.setattr(module, "ecdh_x", must_not_ecdh)
    _refused(impl, forged, "BadSignature", "bad_signature")


# ---------------------------------------------------------------- ephemeral key


@IMPLS
@pytest.mark.parametrize(
    ("epk", "error", "reason"),
    [
        (b"\x02" + (5).to_bytes(32, "big"), "InvalidKey", "pubkey_not_on_curve"),
        (b"\x03" + b"\xff" * 32, "InvalidKey", "pubkey_not_on_curve"),  # x >= p
        (b"\x00" * 33, "InvalidKey", "pubkey_prefix"),  # infinity
        (b"\x04" + b"\x11" * 32, "InvalidKey", "pubkey_prefix"),
        (b"\x02" + b"\x11" * 31, "MalformedEnvelope", "bad_field_length"),
        (b"\x04" + b"\x11" * 64, "MalformedEnvelope", "bad_field_length"),
        (b"\x00", "MalformedEnvelope", "bad_field_length"),
    ],
)
def test_invalid_ephemeral_keys(impl: Any, epk: bytes, error: str, reason: str) -> None:
    wire = _resign({**_sealed_reading(), "epk": server.b64u_encode(epk)})
    _refused(impl, wire, error, reason)


# ---------------------------------------------------------------- encoding and structure


@IMPLS
@pytest.mark.parametrize(
    "bad_ct",
    [
        "***",
        "AAAAAAAAAAAAAAAAAAAAAA==",  # padding
        "AAAAAAAAAAAAAAAAAAAA+/",  # standard alphabet
        "AAAAAAAAAAAAAAAAAAAAAB",  # non-zero unused bits
        "AAAAA",  # impossible length
        "AAAA AAAA",
        12345,
    ],
)
def test_malformed_base64(impl: Any, bad_ct: Any) -> None:
    _refused(impl, {**_sealed_reading(), "ct": bad_ct}, "MalformedEnvelope", "bad_base64")


@IMPLS
@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2, 3]",
        b'"just a string"',
        b"\xff\xfe{}",
        b'{"v": 1, "v": 1}',
        b'{"v": 1.0}',
        b'{"v": NaN}',
        b'{"v": 1e0}',
        b"",
    ],
)
def test_malformed_json(impl: Any, body: bytes) -> None:
    _refused(impl, body, "MalformedEnvelope", "bad_json")


@IMPLS
def test_duplicate_member_in_a_real_envelope(impl: Any) -> None:
    body = server.envelope_to_bytes(_sealed_reading())
    doubled = body[:-1] + b',"sender":"MTR-000002"}'
    _refused(impl, doubled, "MalformedEnvelope", "bad_json")


@IMPLS
@pytest.mark.parametrize("version", [3, 0, "1", True, None])
def test_unknown_version(impl: Any, version: Any) -> None:
    _refused(impl, {**_sealed_reading(), "v": version}, "UnsupportedVersion", "unsupported_version")


@IMPLS
def test_unknown_version_is_reported_before_other_problems(impl: Any) -> None:
    _refused(impl, {"v": 3, "something": "else"}, "UnsupportedVersion", "unsupported_version")


@IMPLS
def test_missing_and_unknown_members(impl: Any) -> None:
    wire = _sealed_reading()
    without_mac = {name: value for name, value in wire.items() if name != "mac"}
    _refused(impl, without_mac, "MalformedEnvelope", "missing_field")
    _refused(impl, {"sig": wire["sig"]}, "MalformedEnvelope", "missing_field")
    _refused(impl, {**wire, "extra": "x"}, "MalformedEnvelope", "unknown_field")


@IMPLS
def test_unknown_and_unexpected_types(impl: Any) -> None:
    wire = _sealed_reading()
    _refused(impl, {**wire, "type": "invoice"}, "MalformedEnvelope", "unknown_type")
    _refused(impl, wire, "MalformedEnvelope", "unexpected_type", expect_type="read_request")


@IMPLS
@pytest.mark.parametrize(
    ("field", "value"),
    [("sender", "bad id with spaces"), ("sender", ""), ("rcpt", "XYZ"), ("rcpt", 5)],
)
def test_bad_header_fields(impl: Any, field: str, value: Any) -> None:
    _refused(impl, {**_sealed_reading(), field: value}, "MalformedEnvelope", "bad_field")


@IMPLS
def test_oversized_envelope(impl: Any) -> None:
    body = server.envelope_to_bytes(_sealed_reading())
    padded = body[:-1] + b', "pad": "' + b"x" * (server.MAX_ENVELOPE_BYTES - len(body)) + b'"}'
    assert len(padded) > server.MAX_ENVELOPE_BYTES
    _refused(impl, padded, "MalformedEnvelope", "too_large")
    # a body just under the limit gets past the size check (and fails later, on "pad")
    _refused(impl, padded[:-30] + b'"}', "MalformedEnvelope", "unknown_field")


@IMPLS
def test_oversized_ciphertext_in_an_already_parsed_body(impl: Any) -> None:
    wire = {**_sealed_reading(), "ct": "A" * 6000}
    with pytest.raises(impl.MalformedEnvelope) as caught:
        impl.open_envelope(
            wire,
            recipient_priv=impl.load_private_key(SERVER_HEX),
            sender_pub=impl.public_key_bytes(impl.load_private_key(METER_HEX)),
        )
    assert caught.value.reason == "too_large"


@IMPLS
def test_ciphertext_not_whole_blocks(impl: Any) -> None:
    wire = {**_sealed_reading(), "ct": server.b64u_encode(bytes(17))}
    _refused(impl, wire, "MalformedEnvelope", "bad_field_length")


# ---------------------------------------------------------------- plaintext


@IMPLS
@pytest.mark.parametrize(
    ("plaintext", "error", "reason"),
    [
        (b"[1,2]", "MalformedEnvelope", "bad_json"),
        (b"\xff\xff", "MalformedEnvelope", "bad_json"),
        (
            server.canonical_json(READING)[:-1] + b',"counter":4}',
            "MalformedEnvelope",
            "bad_json",
        ),
        (
            server.canonical_json(READING).replace(b'"counter":3', b'"counter":3.5'),
            "MalformedEnvelope",
            "bad_json",
        ),
        (
            server.canonical_json(READING).replace(b'"counter":3', b'"counter":true'),
            "InvalidPayload",
            "payload_bad_field",
        ),
        (
            server.canonical_json(READING).replace(b'"v":1', b'"v":2'),
            "UnsupportedVersion",
            "unsupported_version",
        ),
        (
            server.canonical_json({k: v for k, v in READING.items() if k != "read_at"}),
            "InvalidPayload",
            "payload_missing_field",
        ),
        (
            server.canonical_json({**READING, "tariff": "x"}),
            "InvalidPayload",
            "payload_unknown_field",
        ),
        (
            server.canonical_json({**READING, "meter_id": "MTR-000002"}),
            "InvalidPayload",
            "sender_mismatch",
        ),
    ],
)
def test_bad_plaintexts_behind_a_valid_mac(
    impl: Any, plaintext: bytes, error: str, reason: str
) -> None:
    _refused(impl, _raw_seal(plaintext), error, reason)


@IMPLS
def test_receivers_do_not_demand_canonical_plaintext(impl: Any) -> None:
    """Formatting of the (MACed) plaintext carries no meaning; strict parsing does."""
    pretty = json.dumps(READING, indent=2).encode()
    assert _open(impl, _raw_seal(pretty)).payload == READING


@IMPLS
def test_bad_padding_behind_a_valid_mac(impl: Any) -> None:
    block_aligned = server.canonical_json(READING)
    block_aligned += b" " * (-len(block_aligned) % 16)
    _refused(impl, _raw_seal(block_aligned, pad=False), "MalformedEnvelope", "bad_padding")


@IMPLS
def test_sealing_refuses_what_a_receiver_would_refuse(impl: Any) -> None:
    sender = impl.load_private_key(METER_HEX)
    recipient = impl.public_key_bytes(impl.load_private_key(SERVER_HEX))
    cases = [
        ({**READING, "meter_id": "MTR-000002"}, "sender_mismatch"),
        ({**READING, "counter": 1.0}, "payload_bad_field"),
        ({**READING, "extra": 1}, "payload_unknown_field"),
    ]
    for payload, reason in cases:
        with pytest.raises(impl.CryptoError) as caught:
            impl.seal(
                payload,
                msg_type="reading",
                recipient_pub=recipient,
                sender_priv=sender,
                sender_id=METER_ID,
            )
        assert caught.value.reason == reason
    with pytest.raises(ValueError, match="sender id"):
        impl.seal(
            READING, msg_type="reading", recipient_pub=recipient, sender_priv=sender, sender_id=""
        )
